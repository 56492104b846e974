/**
 * Rules that need the whole stack: a PodDisruptionBudget for every replicated workload, NetworkPolicies around every
 * pod, and (advisory) replicas spread over nodes and zones.
 *
 * A stack rule sees resource outputs (after auto-naming). During a preview some of them may not be known yet: a
 * workload whose labels are unknown is skipped, and a workload is never reported uncovered while a PDB or
 * NetworkPolicy in its namespace is itself unknown (it might be the one that covers it); `pulumi up` checks again.
 */
import type { Finding, ResourceView, StackRule } from "./define";
import { describe, isKind, isWorkload, metadataName, namespaceKey, PodTemplate, podTemplate, selectorMatches } from "./k8s";
import { at, known, records, strings, text } from "./values";

export interface Workload {
    readonly view: ResourceView;
    readonly kind: string;
    readonly name: string | undefined;
    readonly namespace: string;
    readonly template: PodTemplate;
    /** spec.replicas (1 when unset, as Kubernetes defaults it); undefined for kinds without replicas. */
    readonly replicas: number | undefined;
    readonly label: string;
}

/** Every workload in the stack whose template can be read (unknown ones are left out). */
export function workloads(resources: readonly ResourceView[]): Workload[] {
    return resources.filter((r) => isWorkload(r.type)).flatMap((r) => {
        const read = known((): Workload => {
            const template = podTemplate(r.type, r.props) as PodTemplate;
            const replicas = at(r.props, "spec", "replicas");
            const kind = template.kind;
            return {
                view: r,
                kind,
                name: metadataName(r.props),
                namespace: namespaceKey(r.props, r.providerUrn),
                template,
                replicas: ["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"].includes(kind) ? (typeof replicas === "number" ? replicas : 1) : undefined,
                label: describe(r.type, r.props, r.name),
            };
        });
        return read.known ? [read.value] : [];
    });
}

interface Selecting<T> {
    readonly byNamespace: Map<string, T[]>;
    /** Namespaces in which some object could not be read (preview): nothing there is reported uncovered. */
    readonly undecided: Set<string>;
}

/** Objects of some kinds grouped by namespace, through `read` (which sees only known values). */
function collect<T>(resources: readonly ResourceView[], kinds: readonly string[], groups: readonly string[], read: (r: ResourceView) => T): Selecting<T> {
    const byNamespace = new Map<string, T[]>();
    const undecided = new Set<string>();
    for (const r of resources.filter((x) => isKind(x.type, kinds, groups))) {
        const ns = known(() => namespaceKey(r.props, r.providerUrn));
        const value = known(() => read(r));
        if (!ns.known) {
            // Not even its namespace is known: it could be anywhere.
            undecided.add("*");
        } else if (!value.known) {
            undecided.add(ns.value);
        } else {
            byNamespace.set(ns.value, [...(byNamespace.get(ns.value) ?? []), value.value]);
        }
    }
    return { byNamespace, undecided };
}

function isUndecided(s: Selecting<unknown>, namespace: string): boolean {
    return s.undecided.has("*") || s.undecided.has(namespace);
}

/** Workloads (kind/namespace/name) an autoscaler scales: HorizontalPodAutoscaler scaleTargetRef, any version. */
export function autoscaled(resources: readonly ResourceView[]): Set<string> {
    const targets = new Set<string>();
    for (const r of resources.filter((x) => isKind(x.type, ["HorizontalPodAutoscaler"], ["autoscaling"]))) {
        const ref = known(() => ({
            ns: namespaceKey(r.props, r.providerUrn),
            kind: text(at(r.props, "spec", "scaleTargetRef", "kind")),
            name: text(at(r.props, "spec", "scaleTargetRef", "name")),
        }));
        if (ref.known && ref.value.kind !== undefined && ref.value.name !== undefined) {
            targets.add(`${ref.value.kind}|${ref.value.ns}|${ref.value.name}`);
        }
    }
    return targets;
}

/** Workloads that run more than one pod, or that an autoscaler may scale out. */
function replicated(resources: readonly ResourceView[]): { workload: Workload; why: string }[] {
    const scaled = autoscaled(resources);
    return workloads(resources)
        .filter((w) => w.kind === "Deployment" || w.kind === "StatefulSet")
        .flatMap((w) => {
            const hpa = w.name !== undefined && scaled.has(`${w.kind}|${w.namespace}|${w.name}`);
            if (hpa) {
                return [{ workload: w, why: "a HorizontalPodAutoscaler scales it" }];
            }
            return (w.replicas ?? 1) > 1 ? [{ workload: w, why: `it runs ${w.replicas} replicas` }] : [];
        });
}

export const podDisruptionBudget: StackRule = {
    kind: "stack",
    name: "pod-disruption-budget",
    description:
        "Every Deployment or StatefulSet that runs more than one replica, or that a HorizontalPodAutoscaler targets, has " +
        "a PodDisruptionBudget in its namespace whose selector matches its pods' labels, so a node drain or upgrade never " +
        "takes all of its pods down at once.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediation:
        "Create a policy/v1 PodDisruptionBudget next to the workload, in the same namespace, with spec.selector.matchLabels " +
        "equal to the workload's selector labels and maxUnavailable: 1 (or a minAvailable that keeps a quorum).",
    appliesTo: (type) => isKind(type, ["Deployment", "StatefulSet"], ["apps", "extensions"]),
    check: (resources) => {
        const pdbs = collect(resources, ["PodDisruptionBudget"], ["policy"], (r) => at(r.props, "spec", "selector") ?? null);
        return replicated(resources).flatMap(({ workload: w, why }): Finding[] => {
            const covered = (pdbs.byNamespace.get(w.namespace) ?? []).some((selector) => selectorMatches(selector, w.template.labels));
            if (covered || isUndecided(pdbs, w.namespace)) {
                return [];
            }
            return [
                {
                    subject: w.view,
                    message:
                        `${w.label}: ${why}, but no PodDisruptionBudget in its namespace selects its pods (labels ${JSON.stringify(w.template.labels)}): ` +
                        "add a PodDisruptionBudget whose spec.selector.matchLabels are the workload's selector labels",
                },
            ];
        });
    },
};

/** The policy types a NetworkPolicy enforces: as listed, else Ingress (plus Egress when it has egress rules). */
export function policyTypes(spec: unknown): string[] {
    const listed = strings(at(spec, "policyTypes"));
    if (listed.length > 0) {
        return listed;
    }
    return at(spec, "egress") !== undefined ? ["Ingress", "Egress"] : ["Ingress"];
}

export const networkPolicyCoverage: StackRule = {
    kind: "stack",
    name: "network-policy-coverage",
    description:
        "Every pod template is selected, in its namespace, by NetworkPolicies that together enforce both Ingress and " +
        "Egress: each pod talks only to what its policies allow, in and out.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediation:
        "Add a networking.k8s.io/v1 NetworkPolicy in the workload's namespace whose spec.podSelector matches the pod " +
        "template's labels, with policyTypes [Ingress, Egress] and only the ingress and egress rules the pods need " +
        "(networkPolicy() and DNS_EGRESS in components/network-policy.ts).",
    appliesTo: isWorkload,
    check: (resources) => {
        const policies = collect(resources, ["NetworkPolicy"], ["networking.k8s.io"], (r) => ({
            selector: at(r.props, "spec", "podSelector") ?? null,
            types: policyTypes(at(r.props, "spec")),
        }));
        return workloads(resources).flatMap((w): Finding[] => {
            const types = new Set(
                (policies.byNamespace.get(w.namespace) ?? []).filter((p) => selectorMatches(p.selector, w.template.labels)).flatMap((p) => p.types),
            );
            const missing = ["Ingress", "Egress"].filter((t) => !types.has(t));
            if (missing.length === 0 || isUndecided(policies, w.namespace)) {
                return [];
            }
            return [
                {
                    subject: w.view,
                    message:
                        `${w.label}: no NetworkPolicy in its namespace enforces ${missing.join(" or ")} for its pods (labels ${JSON.stringify(w.template.labels)}): ` +
                        `add a NetworkPolicy whose spec.podSelector matches these labels with policyTypes including ${missing.join(" and ")}`,
                },
            ];
        });
    },
};

/** Whether a label selector (from a spread constraint or an anti-affinity term) selects the workload's own pods. */
function selectsOwnPods(term: unknown, labels: Readonly<Record<string, string>>): boolean {
    return selectorMatches(at(term, "labelSelector"), labels) || strings(at(term, "matchLabelKeys")).length > 0;
}

export function spreadsReplicas(t: PodTemplate): boolean {
    const spread = records(t.spec["topologySpreadConstraints"]).some((c) => selectsOwnPods(c, t.labels));
    const anti = at(t.spec, "affinity", "podAntiAffinity");
    const required = records(at(anti, "requiredDuringSchedulingIgnoredDuringExecution")).some((term) => selectsOwnPods(term, t.labels));
    const preferred = records(at(anti, "preferredDuringSchedulingIgnoredDuringExecution")).some((w) => selectsOwnPods(at(w, "podAffinityTerm"), t.labels));
    return spread || required || preferred;
}

export const replicaSpread: StackRule = {
    kind: "stack",
    name: "replica-spread",
    description:
        "Advisory: a replicated Deployment or StatefulSet (more than one replica, or autoscaled) spreads its pods with " +
        "topologySpreadConstraints or pod anti-affinity selecting its own pods, so one node or zone failure does not take " +
        "every replica.",
    enforcementLevel: "advisory",
    severity: "medium",
    remediation:
        "Add topologySpreadConstraints over topology.kubernetes.io/zone and kubernetes.io/hostname (or a podAntiAffinity " +
        "term on kubernetes.io/hostname) whose labelSelector matches the workload's own pod labels (spread() in components/data-tier.ts).",
    appliesTo: (type) => isKind(type, ["Deployment", "StatefulSet"], ["apps", "extensions"]),
    check: (resources) =>
        replicated(resources)
            .filter(({ workload: w }) => !spreadsReplicas(w.template))
            .map(({ workload: w, why }) => ({
                subject: w.view,
                message: `${w.label}: ${why}, but neither topologySpreadConstraints nor pod anti-affinity select its own pods: spread them over nodes and zones`,
            })),
};
