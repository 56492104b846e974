/**
 * Builds the platform a stack's config names: `createPlatform(cfg)` returns the Kubernetes provider every workload
 * uses plus the capabilities components need (the contract, in contract.ts). Components never ask which cloud they
 * run on; they receive these as plain args.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HerdConfig } from "../config";
import type * as aws from "./aws";
import type { Platform } from "./contract";
import type * as gcp from "./gcp";
import type * as onprem from "./onprem";

export * from "./contract";

/**
 * Builds the platform the stack's config names. Each platform's module is loaded only when chosen, so a stack never
 * pays start-up time for the cloud SDKs it does not use (tests/start-up.test.ts holds it).
 */
export function createPlatform(cfg: HerdConfig): Platform {
    switch (cfg.platform) {
        case "onprem":
            return (require("./onprem") as typeof onprem).createOnpremPlatform(cfg);
        case "aws":
            return (require("./aws") as typeof aws).createAwsPlatform(cfg);
        case "gcp":
            return (require("./gcp") as typeof gcp).createGcpPlatform(cfg);
        default: {
            const unreachable: never = cfg;
            throw new pulumi.RunError(`unknown platform ${JSON.stringify((unreachable as { platform: unknown }).platform)}`);
        }
    }
}
