/**
 * The parts of @pulumi/gcp herd uses, imported one service at a time; imported as `gcp`, this module reads like the
 * package's root, but the root's index.js loads every one of its ~150 service modules before the program can start.
 * A service's own index.js registers its resource module, so resource references the engine returns still come back
 * as live resources. A service herd starts using is added here.
 */
export * as artifactregistry from "@pulumi/gcp/artifactregistry";
export * as compute from "@pulumi/gcp/compute";
export * as container from "@pulumi/gcp/container";
export * as organizations from "@pulumi/gcp/organizations";
export * as projects from "@pulumi/gcp/projects";
export * as serviceaccount from "@pulumi/gcp/serviceaccount";
export * as storage from "@pulumi/gcp/storage";
export { Provider } from "@pulumi/gcp/provider";
export type * as types from "@pulumi/gcp/types";
