/**
 * NetworkPolicy building blocks every component uses: egress to the cluster DNS, a peer by pod labels, and a
 * policy that admits only the listed ingress and egress. herd's namespace starts closed (components/default-deny.ts:
 * every pod denied both ways, DNS the one namespace-wide opening); these per-workload policies open each edge.
 */
import * as k8s from "../lib/k8s";
import type { HerdConfig } from "../config";
import type { Scope } from "./data-tier";

type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type NetworkPolicyEgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
type NetworkPolicyIngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
/** Where the cluster's DNS pods are (herd:dnsNamespace, dnsPodLabels, dnsPort). */
export type ClusterDnsConfig = HerdConfig["clusterDns"];

/** The label every Kubernetes namespace carries with its own name (set by the API server since 1.22). */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** The DNS pods of most clusters (kube-dns / CoreDNS in kube-system on port 53): the config keys' defaults. */
export const DEFAULT_CLUSTER_DNS: ClusterDnsConfig = { namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" }, port: 53 };

/** Egress to the cluster's DNS pods on their port, UDP and TCP. */
export function dnsEgress(dns: ClusterDnsConfig): NetworkPolicyEgressRule {
    return {
        to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: dns.namespace } }, podSelector: { matchLabels: { ...dns.podLabels } } }],
        ports: [
            { protocol: "UDP", port: dns.port },
            { protocol: "TCP", port: dns.port },
        ],
    };
}

/**
 * Egress to kube-dns in kube-system on port 53. Superseded by the namespace's DNS policy (default-deny.ts), which
 * follows herd:dnsNamespace/dnsPodLabels/dnsPort for every pod; still listed by components so that each policy
 * reads complete on its own. On a cluster whose DNS is elsewhere it matches nothing, and opens nothing.
 */
export const DNS_EGRESS: NetworkPolicyEgressRule = dnsEgress(DEFAULT_CLUSTER_DNS);

/** Pods in this namespace carrying all of `labels`. */
export function podsWith(labels: Readonly<Record<string, string>>): NetworkPolicyPeer {
    return { podSelector: { matchLabels: { ...labels } } };
}

/** Every pod of the namespace named `name`. */
export function namespaceNamed(name: string): NetworkPolicyPeer {
    return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: name } } };
}

/** Addresses as NetworkPolicy peers: each block (or an address as /32) by ipBlock. */
export function ipBlocks(cidrs: readonly string[], except?: readonly string[]): NetworkPolicyPeer[] {
    return cidrs.map((cidr) => ({ ipBlock: { cidr, ...(except !== undefined && except.length > 0 ? { except: [...except] } : {}) } }));
}

/** A NetworkPolicy for the component's pods: only the listed ingress and egress, nothing else. */
export function networkPolicy(
    scope: Pick<Scope, "parent" | "namespace" | "labels">,
    name: string,
    podLabels: Readonly<Record<string, string>>,
    ingress: readonly NetworkPolicyIngressRule[],
    egress: readonly NetworkPolicyEgressRule[],
): k8s.networking.v1.NetworkPolicy {
    return new k8s.networking.v1.NetworkPolicy(
        name,
        {
            metadata: { name, namespace: scope.namespace, labels: { ...scope.labels } },
            spec: {
                podSelector: { matchLabels: { ...podLabels } },
                policyTypes: ["Ingress", "Egress"],
                ingress: [...ingress],
                egress: [...egress],
            },
        },
        { parent: scope.parent },
    );
}
