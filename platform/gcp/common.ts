/**
 * What every piece of the GCP platform shares: the options every child is created with (parent and the explicit
 * provider), and the pure naming helpers: GCP ids, service account ids, role slugs, labels and the Workload Identity
 * principal.
 */
import { createHash } from "node:crypto";
import type * as gcp from "./sdk";
import type * as pulumi from "@pulumi/pulumi";
import { MANAGED_BY, PART_OF } from "../../lib/labels";

/** Options for a GCP child: `opts` always carries the parent and the explicit GCP provider. */
export type GcpOpts = pulumi.CustomResourceOptions & { readonly provider: gcp.Provider };

/**
 * A GCP identifier from parts: lowercase letters, digits and '-', starting with a letter, at most `maxLength`
 * characters. Too long, it is cut and given a short hash of the full value, so two long names stay distinct and the
 * same input always gives the same id (ids are immutable: a changed id replaces the resource).
 */
export function gcpId(parts: readonly string[], maxLength: number): string {
    let slug = parts
        .join("-")
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/-+/g, "-")
        .replace(/^-+|-+$/g, "");
    if (!/^[a-z]/.test(slug)) {
        slug = `h-${slug}`;
    }
    if (slug.length <= maxLength) {
        return slug;
    }
    const hash = createHash("sha256").update(slug).digest("hex").slice(0, 6);
    return `${slug.slice(0, maxLength - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

/** A service account id (6-30 characters) for one role in one stack, e.g. herd-gcp-nodes. */
export function serviceAccountId(stack: string, role: string): string {
    return gcpId(["herd", stack, role], 30);
}

/** A role as a resource-name fragment: roles/storage.objectCreator -> storage-object-creator. */
export function roleSlug(role: string): string {
    return role
        .replace(/^roles\//, "")
        .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
        .replace(/[^A-Za-z0-9]+/g, "-")
        .toLowerCase();
}

/** A label value GCP accepts: lowercase letters, digits, '_' and '-', at most 63 characters. */
export function labelValue(v: string): string {
    return v.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").slice(0, 63);
}

/** Labels the provider puts on every GCP resource that takes labels. */
export function defaultLabels(stack: string): Record<string, string> {
    return { "part-of": PART_OF, "managed-by": MANAGED_BY, stack: labelValue(stack) };
}

/** The Workload Identity principal of one Kubernetes ServiceAccount. */
export function workloadIdentityMember(project: string, namespace: string, serviceAccountName: string): string {
    return `serviceAccount:${project}.svc.id.goog[${namespace}/${serviceAccountName}]`;
}
