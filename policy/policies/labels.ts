/**
 * Advisory: Kubernetes recommended labels (app.kubernetes.io/*) on every workload and its pod template, so tools,
 * dashboards and selectors can tell what each object is, which instance, and who manages it.
 */
import type { ResourceRule } from "./define";
import { describe, isWorkload, PodTemplate, podTemplate } from "./k8s";
import { at, stringMap } from "./values";

export const RECOMMENDED_LABELS: readonly string[] = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
];

function missing(labels: Readonly<Record<string, string>>): string[] {
    return RECOMMENDED_LABELS.filter((l) => (labels[l] ?? "") === "");
}

export const recommendedLabels: ResourceRule = {
    kind: "resource",
    name: "recommended-labels",
    description:
        "Advisory: every workload and its pod template carry the Kubernetes recommended labels app.kubernetes.io/name, " +
        "instance, component, part-of and managed-by.",
    enforcementLevel: "advisory",
    severity: "low",
    remediation: "Label the object and its pod template with recommendedLabels({ name, instance, component }) from components/labels.ts.",
    appliesTo: isWorkload,
    check: (r) => {
        const label = describe(r.type, r.props, r.name);
        const template = podTemplate(r.type, r.props) as PodTemplate;
        const problems: string[] = [];
        const own = missing(stringMap(at(r.props, "metadata", "labels")));
        if (own.length > 0) {
            problems.push(`${label}: metadata.labels lack ${own.join(", ")}: add them`);
        }
        if (template.metadataPath !== "metadata") {
            const pods = missing(template.labels);
            if (pods.length > 0) {
                problems.push(`${label}: ${template.metadataPath}.labels lack ${pods.join(", ")}: add them`);
            }
        }
        return problems;
    },
};
