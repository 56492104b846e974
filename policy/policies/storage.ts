/**
 * Data safety: what holds data survives a replacement, a scale-down and `pulumi destroy`.
 */
import type { ResourceRule } from "./define";
import { describe, isKind } from "./k8s";
import { at, records, show, text } from "./values";

export const statefulSetDataSafety: ResourceRule = {
    kind: "resource",
    name: "statefulset-data-safety",
    description:
        "A StatefulSet with volumeClaimTemplates keeps its data: persistentVolumeClaimRetentionPolicy is Retain for both " +
        "whenDeleted and whenScaled (set explicitly), every volumeClaimTemplate names its storageClassName (never the " +
        "cluster's default of the day), and the resource is protected (Pulumi's `protect` option) so neither a replacement " +
        "nor `pulumi destroy` can drop it.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediation:
        "Use safeStatefulSetFields() from components/data-tier.ts (retention Retain/Retain, storageClassName from the " +
        "platform) and create the StatefulSet with { protect: true } (herd:protectData, on by default). A throwaway stack " +
        "that turns protection off needs a reviewed exception (policy/README.md).",
    appliesTo: (type) => isKind(type, ["StatefulSet"], ["apps"]),
    check: (r) => {
        const templates = records(at(r.props, "spec", "volumeClaimTemplates"));
        if (templates.length === 0) {
            // No claims: nothing here outlives its pods.
            return [];
        }
        const label = describe(r.type, r.props, r.name);
        const problems: string[] = [];
        for (const field of ["whenDeleted", "whenScaled"]) {
            const value = at(r.props, "spec", "persistentVolumeClaimRetentionPolicy", field);
            if (value !== "Retain") {
                problems.push(`${label}: spec.persistentVolumeClaimRetentionPolicy.${field} is ${show(value)}: set it to "Retain" explicitly, so its volumes outlive a ${field === "whenDeleted" ? "deletion" : "scale-down"}`);
            }
        }
        templates.forEach((t, i) => {
            const claim = text(at(t, "metadata", "name")) ?? `#${i}`;
            const storageClass = at(t, "spec", "storageClassName");
            if (typeof storageClass !== "string" || storageClass === "") {
                problems.push(`${label}: spec.volumeClaimTemplates[${i}] ("${claim}") has storageClassName ${show(storageClass)}: name the platform's StorageClass (Retain, expandable) explicitly`);
            }
        });
        if (!r.protect) {
            problems.push(`${label}: the resource is not protected: create it with the resource option { protect: true } (herd:protectData) so a replacement or destroy cannot drop its data`);
        }
        return problems;
    },
};

export const storageClassRetain: ResourceRule = {
    kind: "resource",
    name: "storage-class-retain",
    description:
        "Every StorageClass herd creates keeps volumes after their claims are deleted (reclaimPolicy Retain) and lets " +
        "them grow (allowVolumeExpansion true). Patches of classes herd does not own (StorageClassPatch) are not checked.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediation: "Set reclaimPolicy: \"Retain\" and allowVolumeExpansion: true on the StorageClass (Kubernetes defaults to Delete and no expansion).",
    appliesTo: (type) => isKind(type, ["StorageClass"], ["storage.k8s.io"]),
    check: (r) => {
        const label = describe(r.type, r.props, r.name);
        const problems: string[] = [];
        if (r.props["reclaimPolicy"] !== "Retain") {
            problems.push(`${label}: reclaimPolicy is ${show(r.props["reclaimPolicy"])}${r.props["reclaimPolicy"] === undefined ? " (Kubernetes defaults to Delete)" : ""}: set it to "Retain" so a deleted claim leaves its volume and data behind`);
        }
        if (r.props["allowVolumeExpansion"] !== true) {
            problems.push(`${label}: allowVolumeExpansion is ${show(r.props["allowVolumeExpansion"])}: set it to true so a full volume can grow in place`);
        }
        return problems;
    },
};
