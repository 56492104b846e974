/**
 * AWS: an EKS cluster herd creates, with ECR, gp3 storage and an S3 backup bucket.
 * Not built yet: the stack's config keys validate, then the platform refuses to run with a clear error, before any
 * resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HerdConfig } from "../config";
import type { Platform } from "./index";

export function createAwsPlatform(cfg: HerdConfig & { platform: "aws" }): Platform {
    throw new pulumi.ResourceError(
        `platform aws is not implemented yet: the stack's configuration is valid (region ${cfg.aws.region}), ` +
            "but herd cannot create the EKS cluster until platform/aws.ts is built. Use platform onprem for now.",
        undefined,
        true,
    );
}
