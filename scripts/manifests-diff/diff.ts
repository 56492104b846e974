/**
 * Pure diffing of two renderings: Kubernetes objects (keyed by apiVersion/kind/namespace/name, paired through their
 * Pulumi resources, classified update or REPLACE, marked when protect refuses) and the other resources.
 */
import type { FieldChange, Json } from "../diff-types";
import { classify, ProviderFlags } from "../immutable-fields";
import type { ObjectChange, ObjectRef, ObjectsDiff, Protection, ResourceRef, SetDiff, Summary } from "./types";
import { diffValues, isObject } from "./values";

function diffSets<Ref extends { readonly id: string }>(
    before: ReadonlyMap<string, { ref: Ref; value: Json }>,
    after: ReadonlyMap<string, { ref: Ref; value: Json }>,
): SetDiff<Ref> {
    const added: Ref[] = [];
    const removed: Ref[] = [];
    const changed: (Ref & { fields: FieldChange[] })[] = [];
    for (const [key, b] of before) {
        const a = after.get(key);
        if (a === undefined) {
            removed.push(b.ref);
            continue;
        }
        const fields = diffValues(b.value, a.value);
        if (fields.length > 0) {
            changed.push({ ...a.ref, fields });
        }
    }
    for (const [key, a] of after) {
        if (!before.has(key)) {
            added.push(a.ref);
        }
    }
    return { added, removed, changed };
}

interface ManifestLike {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
}

const objectKey = (apiVersion: string, kind: string, namespace: string, name: string) => `${apiVersion}/${kind}/${namespace}/${name}`;

/** Keys every object by apiVersion/kind/namespace/name (a repeated key, which the API server would refuse, gets #2). */
export function indexObjects(manifests: readonly Json[]): Map<string, { ref: ObjectRef; value: Json }> {
    const out = new Map<string, { ref: ObjectRef; value: Json }>();
    for (const value of manifests) {
        const m = value as ManifestLike;
        const str = (v: unknown) => (typeof v === "string" ? v : "");
        const apiVersion = str(m.apiVersion);
        const kind = str(m.kind);
        const namespace = str(m.metadata?.namespace);
        const name = str(m.metadata?.name);
        let key = objectKey(apiVersion, kind, namespace, name);
        for (let n = 2; out.has(key); n++) {
            key = `${objectKey(apiVersion, kind, namespace, name)}#${n}`;
        }
        const id = `${apiVersion} ${kind} ${namespace === "" ? "" : `${namespace}/`}${name}`;
        out.set(key, { ref: { apiVersion, kind, namespace, name, id }, value });
    }
    return out;
}

/** The Pulumi resource (in resources.json) that creates a Kubernetes object. */
export interface ObjectOwner {
    /** `type name`, e.g. `kubernetes:apps/v1:StatefulSet postgres`. */
    readonly resource: string;
    readonly protect: boolean;
    /** What its Kubernetes provider allows. */
    readonly provider: ProviderFlags;
}

const isTrue = (v: Json | undefined) => v === true || v === "true";

/**
 * Maps each Kubernetes resource of a resources.json to the object it creates (by its type token, e.g.
 * `kubernetes:apps/v1:StatefulSet` -> apps/v1 StatefulSet, and inputs.metadata.name/namespace), keyed like the objects.
 */
export function objectOwners(resources: readonly Json[]): Map<string, ObjectOwner> {
    const providers = new Map<string, ProviderFlags>();
    for (const r of resources) {
        const e = r as RecordedLike;
        if (e.type === "pulumi:providers:kubernetes" && typeof e.name === "string") {
            const inputs = isObject(e.inputs) ? e.inputs : {};
            providers.set(e.name, {
                enableSecretMutable: isTrue(inputs["enableSecretMutable"]),
                enableConfigMapMutable: isTrue(inputs["enableConfigMapMutable"]),
            });
        }
    }
    const out = new Map<string, ObjectOwner>();
    for (const r of resources) {
        const e = r as RecordedLike;
        const type = typeof e.type === "string" ? e.type : "";
        const token = /^kubernetes:([^/:]+)\/([^/:]+):([A-Za-z0-9]+)$/.exec(type);
        if (token === null || typeof e.name !== "string") {
            continue;
        }
        const [, group, version, kind] = token;
        const metadata = isObject(e.inputs) && isObject(e.inputs["metadata"]) ? e.inputs["metadata"] : {};
        const name = metadata["name"];
        if (typeof name !== "string") {
            continue; // auto-named: the object cannot be matched by name
        }
        const namespace = typeof metadata["namespace"] === "string" ? metadata["namespace"] : "";
        const options = isObject(e.options) ? e.options : {};
        const provider = typeof options["provider"] === "string" ? providers.get(options["provider"]) : undefined;
        out.set(objectKey(group === "core" ? version : `${group}/${version}`, kind, namespace, name), {
            resource: `${type} ${e.name}`,
            protect: options["protect"] === true,
            provider: provider ?? {},
        });
    }
    return out;
}

export const RESIZE_README = 'see README "Resizing a volume"';

/** Whether every forcing field is a storage size in a StatefulSet's volumeClaimTemplates. */
export function onlyClaimSizes(forcing: readonly string[]): boolean {
    return forcing.length > 0 && forcing.every((f) => /^spec\.volumeClaimTemplates\[[^\]]+\]\.spec\.resources\.requests\.storage$/.test(f));
}

/** What to do about a replacement that protect refuses. */
export function protectedReplaceHint(ref: ObjectRef, forcing: readonly string[], after: Json = null): string {
    if (onlyClaimSizes(forcing)) {
        // The claims a StatefulSet made are named <template>-<statefulset>-<ordinal>.
        const spec = isObject(after) && isObject(after["spec"]) ? after["spec"] : {};
        const templates = Array.isArray(spec["volumeClaimTemplates"]) ? spec["volumeClaimTemplates"] : [];
        const templateName = (i: number): string => {
            const t = templates[i];
            const name = isObject(t) && isObject(t["metadata"]) ? t["metadata"]["name"] : undefined;
            return typeof name === "string" ? name : "<template>";
        };
        const claims = [...new Set(forcing.map((f) => templateName(Number(/\[(\d+)\]/.exec(f)?.[1] ?? "-1"))))]
            .map((t) => `${t}-${ref.name}-<ordinal>`)
            .join(", ");
        return (
            `grow the existing claims (${claims}) in place instead with kubectl -n ${ref.namespace === "" ? "<namespace>" : ref.namespace} patch pvc, ` +
            `and keep the template's size as it was (volumes grow, never shrink); ${RESIZE_README}`
        );
    }
    return "keep these fields as they are, or lift protection deliberately (after securing the data) in a reviewed change of its own";
}

/**
 * Compares two renderings' objects. With both sides' resources.json, an object whose Pulumi resource stays the same
 * while its key (apiVersion/kind/namespace/name) changes is one changed object (pulumi replaces it), not a removal and
 * an addition; and each change says whether protect (in the base) refuses it.
 */
export function diffManifests(
    before: readonly Json[],
    after: readonly Json[],
    resources: { readonly before: readonly Json[]; readonly after: readonly Json[] } = { before: [], after: [] },
): ObjectsDiff {
    const b = indexObjects(before);
    const a = indexObjects(after);
    const ownersBefore = objectOwners(resources.before);
    const ownersAfter = objectOwners(resources.after);
    const protection = (key: string): Protection => {
        const owner = ownersBefore.get(key);
        return owner === undefined ? { protected: false } : { protected: owner.protect, resource: owner.resource };
    };

    // Which base key each working-tree key is compared with: the same key, or the same Pulumi resource's object.
    const pairs: [string, string][] = [];
    const byResource = new Map<string, string>();
    for (const key of b.keys()) {
        const owner = ownersBefore.get(key);
        if (!a.has(key) && owner !== undefined) {
            byResource.set(owner.resource, key);
        }
    }
    const pairedBefore = new Set<string>();
    const added: ObjectRef[] = [];
    for (const key of a.keys()) {
        if (b.has(key)) {
            pairs.push([key, key]);
            continue;
        }
        const owner = ownersAfter.get(key);
        const previous = owner === undefined ? undefined : byResource.get(owner.resource);
        if (previous !== undefined && !pairedBefore.has(previous)) {
            pairedBefore.add(previous);
            pairs.push([previous, key]);
        } else {
            added.push(a.get(key)!.ref);
        }
    }
    const removed = [...b.keys()].filter((k) => !a.has(k) && !pairedBefore.has(k)).map((k) => ({ ...b.get(k)!.ref, ...protection(k) }));

    const changed: ObjectChange[] = [];
    for (const [beforeKey, afterKey] of pairs) {
        const old = b.get(beforeKey)!;
        const now = a.get(afterKey)!;
        const fields = diffValues(old.value, now.value);
        if (fields.length === 0) {
            continue;
        }
        const { action, forcing, rejected } = classify(old.value, now.value, fields, ownersAfter.get(afterKey)?.provider ?? {});
        const prot = protection(beforeKey);
        changed.push({
            ...now.ref,
            ...prot,
            fields,
            action,
            forcing,
            rejected,
            ...(beforeKey === afterKey ? {} : { previousId: old.ref.id }),
            ...(action === "replace" && prot.protected ? { hint: protectedReplaceHint(now.ref, forcing, now.value) } : {}),
        });
    }
    return { added, removed, changed };
}

/** The counts a reader (and the text output's last line) needs. */
export function summarize(objects: ObjectsDiff): Summary {
    const replaced = objects.changed.filter((c) => c.action === "replace");
    return {
        added: objects.added.length,
        removed: objects.removed.length,
        updated: objects.changed.length - replaced.length,
        replaced: replaced.length,
        protectedReplaced: replaced.filter((c) => c.protected).length,
        protectedRemoved: objects.removed.filter((r) => r.protected).length,
        rejected: objects.changed.filter((c) => c.action === "update" && c.rejected.length > 0).length,
    };
}

interface RecordedLike {
    type?: unknown;
    name?: unknown;
    parent?: unknown;
    inputs?: Json;
    options?: Json;
}

const isKubernetesObject = (type: string) => type.startsWith("kubernetes:");

/** What is compared of a resources.json entry: a Kubernetes resource's options (its content is an object), else all. */
function indexResources(resources: readonly Json[], kubernetes: boolean): Map<string, { ref: ResourceRef; value: Json }> {
    const out = new Map<string, { ref: ResourceRef; value: Json }>();
    for (const value of resources) {
        const r = value as RecordedLike;
        const type = typeof r.type === "string" ? r.type : "";
        const name = typeof r.name === "string" ? r.name : "";
        if (isKubernetesObject(type) !== kubernetes) {
            continue;
        }
        let key = `${type}::${name}`;
        for (let n = 2; out.has(key); n++) {
            key = `${type}::${name}#${n}`;
        }
        const compared: Json = kubernetes
            ? { options: r.options ?? null }
            : { parent: typeof r.parent === "string" ? r.parent : null, inputs: r.inputs ?? null, options: r.options ?? null };
        out.set(key, { ref: { type, name, id: `${type} ${name}` }, value: compared });
    }
    return out;
}

export function resourceKeys(resources: readonly Json[]): string[] {
    return [...indexResources(resources, false).keys(), ...indexResources(resources, true).keys()];
}

export function diffResources(before: readonly Json[], after: readonly Json[]): SetDiff<ResourceRef> {
    const others = diffSets(indexResources(before, false), indexResources(after, false));
    // Kubernetes resources appear and disappear as objects; here only their options (protect, ...) are compared.
    const kubernetes = diffSets(indexResources(before, true), indexResources(after, true));
    return { added: others.added, removed: others.removed, changed: [...others.changed, ...kubernetes.changed] };
}
