/**
 * Services: one way in. Nothing is published on every node's ports, and only the front end gets a load balancer.
 */
import type { ResourceRule } from "./define";
import { describe, isKind } from "./k8s";
import { at, list, stringMap, text } from "./values";

/**
 * The labels that mark herd's way in: the Frontend component's Service (components/frontend.ts) carries them in its
 * metadata.labels and its spec.selector (recommendedLabels / selectorLabels with name "frontend"). A LoadBalancer
 * Service is allowed only when both carry every one of these, i.e. it is labelled as, and routes to, the front end.
 */
export const LOAD_BALANCER_ALLOWED_LABELS: Readonly<Record<string, string>> = { "app.kubernetes.io/name": "frontend" };

function carries(labels: Readonly<Record<string, string>>): boolean {
    return Object.entries(LOAD_BALANCER_ALLOWED_LABELS).every(([k, v]) => labels[k] === v);
}

const WANTED = Object.entries(LOAD_BALANCER_ALLOWED_LABELS)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");

export const serviceExposure: ResourceRule = {
    kind: "resource",
    name: "service-exposure",
    description:
        "No Service of type NodePort, and no externalIPs: they publish a port on nodes, around the load balancer and its " +
        `firewall. A LoadBalancer Service only for the way in: the front end's, which carries ${WANTED} in its labels and its selector.`,
    enforcementLevel: "mandatory",
    severity: "high",
    remediation:
        "Use type ClusterIP for everything inside the cluster; expose the app only through the Frontend component (an " +
        "Ingress, or its LoadBalancer Service). Anything else that must be reachable from outside needs a reviewed exception.",
    appliesTo: (type) => isKind(type, ["Service"], ["core"]),
    check: (r) => {
        const label = describe(r.type, r.props, r.name);
        const type = text(at(r.props, "spec", "type")) ?? "ClusterIP";
        const problems: string[] = [];
        if (type === "NodePort") {
            problems.push(`${label}: spec.type is NodePort, which opens the port on every node: use ClusterIP (and the front end's Ingress or LoadBalancer to reach it from outside)`);
        }
        if (type === "LoadBalancer") {
            const labels = stringMap(at(r.props, "metadata", "labels"));
            const selector = stringMap(at(r.props, "spec", "selector"));
            if (!carries(labels) || !carries(selector)) {
                problems.push(
                    `${label}: spec.type is LoadBalancer, but only the front end's Service may be (${WANTED} in metadata.labels and spec.selector; ` +
                        `got labels ${JSON.stringify(labels)}, selector ${JSON.stringify(selector)}): use ClusterIP and route through the front end`,
                );
            }
        }
        if (list(at(r.props, "spec", "externalIPs")).length > 0) {
            problems.push(`${label}: spec.externalIPs is set, which accepts traffic for those addresses on every node: remove it`);
        }
        return problems;
    },
};
