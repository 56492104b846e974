/**
 * The app's namespace: Pod Security "restricted" enforced (and audited and warned), so the cluster itself refuses a
 * pod that drifts from herd's secure defaults; and default-deny NetworkPolicy, so it refuses traffic no policy opens.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import { MANAGED_BY, PART_OF } from "../lib/labels";
import { createNamespacePolicies } from "./default-deny";
import { type ClusterDnsConfig, DEFAULT_CLUSTER_DNS } from "./network-policy";

export const POD_SECURITY_LEVEL = "restricted";

export function appNamespaceArgs(name: string): k8s.core.v1.NamespaceArgs {
    return {
        metadata: {
            // A fixed name: every component addresses the namespace by it, and it is never auto-suffixed.
            name,
            labels: {
                "pod-security.kubernetes.io/enforce": POD_SECURITY_LEVEL,
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": POD_SECURITY_LEVEL,
                "pod-security.kubernetes.io/warn": POD_SECURITY_LEVEL,
                "app.kubernetes.io/part-of": PART_OF,
                "app.kubernetes.io/managed-by": MANAGED_BY,
            },
        },
    };
}

/**
 * Creates the namespace, closed from the start: its default-deny NetworkPolicy and the one opening every pod shares,
 * DNS to `clusterDns` (components/default-deny.ts). `retainOnDelete`: deleting a namespace deletes every
 * PersistentVolumeClaim in it, so `pulumi destroy` leaves it (and the data) in place; remove it with kubectl when that
 * is really meant.
 */
export function createAppNamespace(
    name: string,
    provider: k8s.Provider,
    parent?: pulumi.Resource,
    /** @default config keys `dnsNamespace`, `dnsPodLabels`, `dnsPort` (kube-system, k8s-app=kube-dns, 53) */
    clusterDns: ClusterDnsConfig = DEFAULT_CLUSTER_DNS,
): k8s.core.v1.Namespace {
    const namespace = new k8s.core.v1.Namespace("namespace", appNamespaceArgs(name), { provider, parent, retainOnDelete: true });
    createNamespacePolicies(namespace.metadata.name, { provider, parent: namespace }, clusterDns);
    return namespace;
}
