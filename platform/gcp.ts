/**
 * GCP: a GKE cluster herd creates, with Artifact Registry, pd-balanced storage and a GCS backup bucket.
 * Not built yet: the stack's config keys validate, then the platform refuses to run with a clear error, before any
 * resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HerdConfig } from "../config";
import type { Platform } from "./index";

export function createGcpPlatform(cfg: HerdConfig & { platform: "gcp" }): Platform {
    throw new pulumi.ResourceError(
        `platform gcp is not implemented yet: the stack's configuration is valid (project ${cfg.gcp.project}, ` +
            `region ${cfg.gcp.region}), but herd cannot create the GKE cluster until platform/gcp.ts is built. ` +
            "Use platform onprem for now.",
        undefined,
        true,
    );
}
