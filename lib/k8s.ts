/**
 * The parts of @pulumi/kubernetes herd uses, imported as `k8s` where the package's root was, and used the same way.
 * The root's index.js loads every API group at every version (admissionregistration to storagemigration, ~110
 * modules) and the Helm, YAML and Kustomize helpers (with js-yaml and glob) before the program can start; herd needs
 * eight groups. A group's index.js registers its resource modules, so references to its resources still come back as
 * live resources. A group herd starts using is added here.
 */
export * as apps from "@pulumi/kubernetes/apps";
export * as autoscaling from "@pulumi/kubernetes/autoscaling";
export * as batch from "@pulumi/kubernetes/batch";
export * as core from "@pulumi/kubernetes/core";
export * as networking from "@pulumi/kubernetes/networking";
export * as policy from "@pulumi/kubernetes/policy";
export * as rbac from "@pulumi/kubernetes/rbac";
export * as storage from "@pulumi/kubernetes/storage";
export { Provider } from "@pulumi/kubernetes/provider";
export type * as types from "@pulumi/kubernetes/types";
