/**
 * Advisory: lists every exception granted by annotation on a Kubernetes object (and any such annotation that names
 * no policy of this pack), so a preview shows reviewers what is exempt and why. Exceptions in the pack's config live
 * in the reviewed config file itself.
 */
import { EXCEPTION_ANNOTATION_PREFIX, MIN_REASON_LENGTH, ResourceRule } from "./define";
import { describe, kubeType } from "./k8s";
import { knownAt, knownStringMap } from "./values";

/** Builds the rule once the names of every policy are known (see index.ts). */
export function exceptionReport(policyNames: readonly string[]): ResourceRule {
    return {
        kind: "resource",
        name: "policy-exceptions",
        description:
            `Advisory: reports each exception granted by a ${EXCEPTION_ANNOTATION_PREFIX}<policy> annotation, with its reason, ` +
            "and annotations that name no policy of this pack.",
        enforcementLevel: "advisory",
        severity: "low",
        remediation: "Nothing to fix: this lists exceptions for review. Remove an annotation once its reason no longer holds.",
        appliesTo: (type) => kubeType(type) !== undefined,
        exemptible: false,
        check: (r) => {
            const label = describe(r.type, r.props, r.name);
            return Object.entries(knownStringMap(knownAt(r.props, "metadata", "annotations")))
                .filter(([key]) => key.startsWith(EXCEPTION_ANNOTATION_PREFIX))
                .map(([key, reason]) => {
                    const policy = key.slice(EXCEPTION_ANNOTATION_PREFIX.length);
                    if (!policyNames.includes(policy)) {
                        return `${label}: annotation ${key} names no policy of this pack (policies: ${policyNames.join(", ")}): fix the name or remove it`;
                    }
                    return reason.trim().length >= MIN_REASON_LENGTH
                        ? `${label}: exception to ${policy} granted: ${reason.trim()}`
                        : `${label}: exception to ${policy} is not granted: its reason must say why in at least ${MIN_REASON_LENGTH} characters`;
                });
        },
    };
}
