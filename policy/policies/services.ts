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

/** Annotations that put a certificate on a GKE Ingress's load balancer (Google-managed, or uploaded beforehand). */
const GKE_CERTIFICATE_ANNOTATIONS = ["networking.gke.io/managed-certificates", "ingress.gcp.kubernetes.io/pre-shared-cert"];
/** The AWS load balancer controllers' annotation that terminates TLS on the NLB/CLB with an ACM certificate. */
export const AWS_CERTIFICATE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert";

export const publicEndpointTls: ResourceRule = {
    kind: "resource",
    name: "public-endpoint-tls",
    description:
        "The way in terminates TLS: an Ingress has a certificate (spec.tls, or a GKE managed or pre-shared certificate), " +
        "and a LoadBalancer Service has one on its load balancer (an ACM certificate on AWS). Plain HTTP takes an explicit, " +
        "reasoned exception, which herd writes itself only when the stack's config asks for no certificate.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediation:
        "Set herd:publicHostname (with herd:awsHostedZoneId or herd:awsCertificateArn on aws; a Google-managed certificate " +
        "on gcp), or herd:tlsSecretName / herd:tlsClusterIssuer on onprem.",
    appliesTo: (type) => isKind(type, ["Service"], ["core"]) || isKind(type, ["Ingress"], ["networking.k8s.io"]),
    check: (r) => {
        const label = describe(r.type, r.props, r.name);
        const annotations = stringMap(at(r.props, "metadata", "annotations"));
        if (isKind(r.type, ["Ingress"], ["networking.k8s.io"])) {
            const tls = list(at(r.props, "spec", "tls")).length > 0;
            const gke = GKE_CERTIFICATE_ANNOTATIONS.some((a) => (annotations[a] ?? "") !== "");
            return tls || gke ? [] : [`${label}: serves plain HTTP: no spec.tls and no certificate annotation (${GKE_CERTIFICATE_ANNOTATIONS.join(", ")})`];
        }
        if ((text(at(r.props, "spec", "type")) ?? "ClusterIP") !== "LoadBalancer") {
            return [];
        }
        return (annotations[AWS_CERTIFICATE_ANNOTATION] ?? "") !== ""
            ? []
            : [`${label}: its load balancer serves plain HTTP: no certificate (${AWS_CERTIFICATE_ANNOTATION}) on it`];
    },
};
