/**
 * herd's namespace starts closed: a default-deny NetworkPolicy selects every pod (those herd creates and any anyone
 * adds later) for both directions and admits nothing, so a pod can talk only along the edges some other policy opens
 * (NetworkPolicies add up: a connection is allowed when any policy selecting the pod allows it). Beside it, the one
 * opening every pod shares: DNS queries to the cluster's DNS pods (herd:dnsNamespace, dnsPodLabels, dnsPort), kept
 * here so that the DNS location is configured in one place.
 */
import * as k8s from "../lib/k8s";
import type * as pulumi from "@pulumi/pulumi";
import { type ClusterDnsConfig, DEFAULT_CLUSTER_DNS, dnsEgress } from "./network-policy";
import { MANAGED_BY, PART_OF } from "../lib/labels";

/** The default-deny policy's name in herd's namespace. */
export const DEFAULT_DENY_NAME = "default-deny";
/** The namespace-wide DNS opening's name. */
export const CLUSTER_DNS_POLICY_NAME = "cluster-dns";

const LABELS = { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": MANAGED_BY };

/** Every pod, both directions, no rule: nothing in or out until a policy opens it. */
export function defaultDenySpec(): k8s.types.input.networking.v1.NetworkPolicySpec {
    return { podSelector: {}, policyTypes: ["Ingress", "Egress"] };
}

/**
 * Every pod may query the cluster's DNS pods (what the names lead to is each workload's policy). Both directions are
 * declared, like every herd policy, and no ingress rule: it admits nothing in.
 */
export function clusterDnsSpec(dns: ClusterDnsConfig): k8s.types.input.networking.v1.NetworkPolicySpec {
    return { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [], egress: [dnsEgress(dns)] };
}

/** Creates both policies in `namespace`, with the namespace's provider, under `parent` (the Namespace). */
export function createNamespacePolicies(
    namespace: pulumi.Input<string>,
    opts: { readonly provider: k8s.Provider; readonly parent: pulumi.Resource },
    dns: ClusterDnsConfig = DEFAULT_CLUSTER_DNS,
): { readonly defaultDeny: k8s.networking.v1.NetworkPolicy; readonly clusterDns: k8s.networking.v1.NetworkPolicy } {
    const policy = (name: string, spec: k8s.types.input.networking.v1.NetworkPolicySpec) =>
        new k8s.networking.v1.NetworkPolicy(name, { metadata: { name, namespace, labels: { ...LABELS } }, spec }, { provider: opts.provider, parent: opts.parent });
    return { defaultDeny: policy(DEFAULT_DENY_NAME, defaultDenySpec()), clusterDns: policy(CLUSTER_DNS_POLICY_NAME, clusterDnsSpec(dns)) };
}
