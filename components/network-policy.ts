/**
 * NetworkPolicy building blocks every component uses: egress to the cluster DNS, a peer by pod labels, and a
 * policy that admits only the listed ingress and egress.
 */
import * as k8s from "../lib/k8s";
import type { Scope } from "./data-tier";

type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type NetworkPolicyEgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
type NetworkPolicyIngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;

/** Egress to the cluster's DNS (kube-dns / CoreDNS in kube-system) on port 53. */
export const DNS_EGRESS: NetworkPolicyEgressRule = {
    to: [
        {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
            podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
        },
    ],
    ports: [
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
    ],
};

/** Pods in this namespace carrying all of `labels`. */
export function podsWith(labels: Readonly<Record<string, string>>): NetworkPolicyPeer {
    return { podSelector: { matchLabels: { ...labels } } };
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
