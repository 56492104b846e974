/**
 * npm run --silent manifests-diff -- --stack <name> --base <git-ref> [--config-file <path>] [--format text|json] [--exit-code]
 *
 * Which Kubernetes objects, and which of their fields, a change makes to a stack: offline, with no CLI, cloud or
 * credentials (what a pull request from a fork gets instead of a `pulumi preview`).
 *
 * The base commit is checked out into a temporary git worktree (`git worktree add --detach`) that reuses this
 * project's node_modules through a symlink (nothing is installed), and the `manifests` command runs in both trees:
 * the base's own command on the base, this tree's on the working tree, same stack, same config-file semantics. The
 * two renderings are compared:
 *   - Kubernetes objects (manifests.yaml), keyed by apiVersion/kind/namespace/name: added, removed, and changed with
 *     the path of every changed field and its value before -> after;
 *   - every other resource (resources.json: cloud resources, providers, components), keyed by type and name: inputs
 *     and resource options (protect, retainOnDelete, ...); for Kubernetes resources only their options, since their
 *     content is already compared as objects.
 * Secret values are redacted by the manifests command before they reach this script, so none can be printed; a change
 * inside a Secret's data therefore does not show (its keys do).
 *
 * A changed object is an update, or a REPLACE when a changed field is one pulumi-kubernetes replaces the object for
 * (its own table, encoded in immutable-fields.ts; the fields are named, json: "action": "replace" and "forcing"). A
 * replacement or removal of an object whose Pulumi resource is `protect`ed in the base's resources.json is marked:
 * pulumi up will refuse it (with a hint what to do). An object whose Pulumi resource stays while its name changes is
 * one replaced object; without resources.json a renamed object is a removal plus an addition. The text output ends with
 * the counts: "N to replace (M protected: pulumi up will refuse them)".
 *
 * Progress (what is rendered, how long it took) goes to stderr; stdout holds only the diff, so --format json stays
 * parseable.
 *
 * Exit 0 whether or not there are changes ("no changes" is printed when there are none); 1 on an error (unknown ref,
 * a base without the manifests command, a rendering that fails); 2 on a usage error. With --exit-code: 0 no changes,
 * 2 changes, 1 an error, usage errors included (they print the usage and exit 1, so 2 always means changes). The
 * worktree is removed afterwards, also on failure or interruption.
 *
 * --config-file: a file inside this project is read from each tree (so a change to it shows); a file outside it is
 * used as is for both. Without it each tree uses its own Pulumi.<stack>.yaml. A stack file missing on one side
 * makes every object of the other side added (or removed).
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { parseCli, runCli, UsageError, userPath } from "./cli";
import type { FieldChange, Json } from "./diff-types";
import { classify, ProviderFlags } from "./immutable-fields";

const PROJECT_DIR = path.resolve(__dirname, "..");
const USAGE = `usage: npm run --silent manifests-diff -- --stack <name> --base <git-ref> [--config-file <path>] [--format text|json] [--exit-code]

Shows offline (no CLI, cloud or credentials) what the working tree changes in a stack's Kubernetes objects and other
resources compared with <git-ref>: every changed field, REPLACE for changes that force a replacement, and whether
protect will refuse it. Progress goes to stderr; stdout is the diff.

  --stack <name>         the stack (Pulumi.<name>.yaml)
  --base <git-ref>       the commit to compare with (a branch, tag or sha)
  --config-file <path>   read this stack file instead (relative to where you run the command)
  --format text|json     text (default) or JSON
  --exit-code            exit 0 when nothing changes, 2 when something does, 1 on an error
  -h, --help             this text`;

// ---------------------------------------------------------------------------------------------------------------
// Pure diffing (exported for tests).

export type { FieldChange, Json } from "./diff-types";

export interface ObjectRef {
    readonly apiVersion: string;
    readonly kind: string;
    /** Empty for cluster-scoped objects. */
    readonly namespace: string;
    readonly name: string;
    /** `apiVersion kind namespace/name`, how the text output names it. */
    readonly id: string;
}

export interface ResourceRef {
    readonly type: string;
    readonly name: string;
    /** `type name`. */
    readonly id: string;
}

export interface SetDiff<Ref> {
    readonly added: readonly Ref[];
    readonly removed: readonly Ref[];
    readonly changed: readonly (Ref & { readonly fields: readonly FieldChange[] })[];
}

/** What protects an object in the base: the `protect` option of the Pulumi resource that owns it. */
export interface Protection {
    /** True when the base's resources.json marks the object's resource `protect`: pulumi up refuses to delete it. */
    readonly protected: boolean;
    /** `type name` of that resource, when resources.json has it. */
    readonly resource?: string;
}

export interface ObjectChange extends ObjectRef, Protection {
    readonly fields: readonly FieldChange[];
    /** `replace` when a changed field forces pulumi-kubernetes to replace the object (see immutable-fields.ts). */
    readonly action: "update" | "replace";
    /** The changed fields that force the replacement. */
    readonly forcing: readonly string[];
    /** Changed fields the API server refuses to change in place and pulumi-kubernetes does not replace for. */
    readonly rejected: readonly string[];
    /** The object's id in the base when it differs (the same Pulumi resource renamed the object). */
    readonly previousId?: string;
    /** What to do about a replacement that protect refuses. */
    readonly hint?: string;
}

export interface ObjectsDiff {
    readonly added: readonly ObjectRef[];
    readonly removed: readonly (ObjectRef & Protection)[];
    readonly changed: readonly ObjectChange[];
}

export interface Summary {
    readonly added: number;
    readonly removed: number;
    readonly updated: number;
    readonly replaced: number;
    /** Replacements and removals that protect refuses. */
    readonly protectedReplaced: number;
    readonly protectedRemoved: number;
    /** Updates the API server refuses. */
    readonly rejected: number;
}

export interface ManifestsDiff {
    readonly stack: string;
    readonly base: { readonly ref: string; readonly commit: string };
    /** What the base is compared with. */
    readonly head: "working tree";
    readonly objects: ObjectsDiff;
    readonly resources: SetDiff<ResourceRef>;
    /** Notes about the comparison (a stack file missing on one side, ...). */
    readonly notes: readonly string[];
    readonly changes: boolean;
    /** How many distinct objects and resources the two renderings hold together. */
    readonly compared: { readonly objects: number; readonly resources: number };
    readonly summary: Summary;
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
    if (a === b) {
        return true;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
        return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
    }
    if (isObject(a) && isObject(b)) {
        const ka = Object.keys(a);
        const kb = Object.keys(b);
        return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
    }
    return false;
}

function fieldPath(parent: string, key: string): string {
    if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) {
        return parent === "" ? key : `${parent}.${key}`;
    }
    return `${parent}[${JSON.stringify(key)}]`;
}

/** The `name` of every element when all are objects with a distinct string name (containers, env, ports, volumes). */
function namesOf(list: readonly Json[]): string[] | undefined {
    const names: string[] = [];
    for (const item of list) {
        const name = isObject(item) ? item["name"] : undefined;
        if (typeof name !== "string") {
            return undefined;
        }
        names.push(name);
    }
    return new Set(names).size === names.length ? names : undefined;
}

/**
 * Every field that differs between two values, as paths. Lists whose items all carry a distinct `name` are matched
 * by name (`containers[name=redis]`), so an insertion does not make every later item look changed; other lists of
 * the same length are compared item by item; lists of different lengths are reported whole.
 */
export function diffValues(before: Json | undefined, after: Json | undefined, at = ""): FieldChange[] {
    if (deepEqual(before, after)) {
        return [];
    }
    if (before === undefined) {
        return [{ path: at, change: "added", after }];
    }
    if (after === undefined) {
        return [{ path: at, change: "removed", before }];
    }
    if (isObject(before) && isObject(after)) {
        const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !Object.prototype.hasOwnProperty.call(before, k))];
        return keys.flatMap((k) => diffValues(before[k], after[k], fieldPath(at, k)));
    }
    if (Array.isArray(before) && Array.isArray(after)) {
        const beforeNames = namesOf(before);
        const afterNames = namesOf(after);
        if (beforeNames !== undefined && afterNames !== undefined) {
            const names = [...beforeNames, ...afterNames.filter((n) => !beforeNames.includes(n))];
            return names.flatMap((n) =>
                diffValues(before[beforeNames.indexOf(n)], after[afterNames.indexOf(n)], `${at}[name=${n}]`),
            );
        }
        if (before.length === after.length) {
            return before.flatMap((item, i) => diffValues(item, after[i], `${at}[${i}]`));
        }
    }
    return [{ path: at, change: "changed", before, after }];
}

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
function indexObjects(manifests: readonly Json[]): Map<string, { ref: ObjectRef; value: Json }> {
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

const RESIZE_README = 'see README "Resizing a volume"';

/** Whether every forcing field is a storage size in a StatefulSet's volumeClaimTemplates. */
function onlyClaimSizes(forcing: readonly string[]): boolean {
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

function resourceKeys(resources: readonly Json[]): string[] {
    return [...indexResources(resources, false).keys(), ...indexResources(resources, true).keys()];
}

export function diffResources(before: readonly Json[], after: readonly Json[]): SetDiff<ResourceRef> {
    const others = diffSets(indexResources(before, false), indexResources(after, false));
    // Kubernetes resources appear and disappear as objects; here only their options (protect, ...) are compared.
    const kubernetes = diffSets(indexResources(before, true), indexResources(after, true));
    return { added: others.added, removed: others.removed, changed: [...others.changed, ...kubernetes.changed] };
}

// ---------------------------------------------------------------------------------------------------------------
// Text output.

const MAX_VALUE = 160;

function show(v: Json | undefined): string {
    if (v === undefined) {
        return "(absent)";
    }
    const text = JSON.stringify(v);
    return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** The changed lines of two multi-line strings (longest common subsequence), `-`/`+` prefixed. */
export function lineDiff(before: string, after: string, limit = 40): string[] {
    const a = before.split("\n");
    const b = after.split("\n");
    const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
    for (let i = a.length - 1; i >= 0; i--) {
        for (let j = b.length - 1; j >= 0; j--) {
            lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
        }
    }
    const out: string[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
        if (i < a.length && j < b.length && a[i] === b[j]) {
            i++;
            j++;
        } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
            out.push(`- ${a[i++]}`);
        } else {
            out.push(`+ ${b[j++]}`);
        }
    }
    return out.length > limit ? [...out.slice(0, limit), `… ${out.length - limit} more changed lines`] : out;
}

function fieldLines(f: FieldChange, indent: string, mark = ""): string[] {
    const label = f.path === "" ? "(whole value)" : f.path;
    if (f.change === "added") {
        return [`${indent}+ ${label}: ${show(f.after)}${mark}`];
    }
    if (f.change === "removed") {
        return [`${indent}- ${label}: ${show(f.before)}${mark}`];
    }
    if (typeof f.before === "string" && typeof f.after === "string" && (f.before.includes("\n") || f.after.includes("\n"))) {
        return [`${indent}~ ${label}:${mark}`, ...lineDiff(f.before, f.after).map((l) => `${indent}    ${l}`)];
    }
    return [`${indent}~ ${label}: ${show(f.before)} -> ${show(f.after)}${mark}`];
}

function count(d: { readonly added: readonly unknown[]; readonly removed: readonly unknown[]; readonly changed: readonly unknown[] }, replaced = 0): string {
    const parts = [
        d.added.length > 0 ? `${d.added.length} added` : "",
        d.removed.length > 0 ? `${d.removed.length} removed` : "",
        d.changed.length > 0 ? `${d.changed.length} changed${replaced > 0 ? ` (${replaced} to replace)` : ""}` : "",
    ].filter((p) => p !== "");
    return parts.length === 0 ? "no changes" : parts.join(", ");
}

function section<Ref extends { readonly id: string }>(title: string, d: SetDiff<Ref>): string[] {
    const lines = [`${title}: ${count(d)}`];
    for (const r of d.added) {
        lines.push(`  + ${r.id}`);
    }
    for (const r of d.removed) {
        lines.push(`  - ${r.id}`);
    }
    for (const r of d.changed) {
        lines.push(`  ~ ${r.id}`, ...r.fields.flatMap((f) => fieldLines(f, "      ")));
    }
    return lines;
}

const FORCES = "   [forces replacement]";
const REFUSED = "   [the API server refuses this change]";

function objectsSection(d: ObjectsDiff): string[] {
    const lines = [`Kubernetes objects: ${count(d, d.changed.filter((c) => c.action === "replace").length)}`];
    for (const r of d.added) {
        lines.push(`  + ${r.id}`);
    }
    for (const r of d.removed) {
        lines.push(`  - ${r.id}${r.protected ? " (protected: pulumi up will refuse to delete it; lift protection deliberately first)" : ""}`);
    }
    for (const c of d.changed) {
        const renamed = c.previousId === undefined ? "" : ` (was ${c.previousId})`;
        if (c.action === "replace") {
            const why = c.protected ? ` (protected: pulumi up will refuse${onlyClaimSizes(c.forcing) ? `; ${RESIZE_README}` : ""})` : "";
            lines.push(`  REPLACE ${c.id}${renamed}${why}`);
        } else {
            lines.push(`  ~ ${c.id}${renamed}${c.rejected.length > 0 ? " (pulumi up will fail: the API server refuses to change a field marked below)" : ""}`);
        }
        lines.push(
            ...c.fields.flatMap((f) => fieldLines(f, "      ", c.forcing.includes(f.path) ? FORCES : c.rejected.includes(f.path) ? REFUSED : "")),
        );
        if (c.hint !== undefined) {
            lines.push(`      hint: ${c.hint}`);
        }
    }
    return lines;
}

/** The last line: what pulumi up would do to the objects, and what protect or the API server would stop. */
export function summaryLine(s: Summary): string {
    const parts = [`${s.added} to add`, `${s.removed} to remove`, `${s.updated} to update`];
    parts.push(`${s.replaced} to replace${s.protectedReplaced > 0 ? ` (${s.protectedReplaced} protected: pulumi up will refuse them)` : ""}`);
    if (s.protectedRemoved > 0) {
        parts.push(`${s.protectedRemoved} protected removal${s.protectedRemoved === 1 ? "" : "s"} (pulumi up will refuse ${s.protectedRemoved === 1 ? "it" : "them"})`);
    }
    if (s.rejected > 0) {
        parts.push(`${s.rejected} update${s.rejected === 1 ? "" : "s"} the API server will refuse`);
    }
    return `Summary: ${parts.join(", ")}`;
}

export function formatText(diff: ManifestsDiff): string {
    const lines = [
        `herd manifests diff: stack ${diff.stack}, base ${diff.base.ref} (${diff.base.commit.slice(0, 12)}) -> ${diff.head}`,
        ...diff.notes.map((n) => `note: ${n}`),
        "",
    ];
    if (!diff.changes) {
        lines.push("no changes");
    } else {
        lines.push(
            ...objectsSection(diff.objects),
            "",
            ...section("Other resources (resources.json)", diff.resources),
            "",
            summaryLine(diff.summary),
        );
    }
    lines.push(
        "",
        "Secret values are redacted in both renderings, so a change inside a Secret's data does not show here (its keys do; " +
            "pulumi-kubernetes replaces a Secret whose data changes).",
    );
    return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// Git, worktree and the two renderings.

export class DiffError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DiffError";
    }
}

function git(args: readonly string[], cwd: string): { ok: boolean; stdout: string; stderr: string } {
    const r = spawnSync("git", args, { cwd, encoding: "utf8" });
    if (r.error !== undefined) {
        throw new DiffError(`cannot run git: ${r.error.message}`);
    }
    return { ok: r.status === 0, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** Whether a path (relative to the repository root, posix separators) exists in a commit. */
function existsIn(commit: string, repoPath: string, cwd: string): boolean {
    return git(["cat-file", "-e", `${commit}:${repoPath}`], cwd).ok;
}

interface Rendering {
    readonly manifests: Json[];
    readonly resources: Json[];
}

const EMPTY: Rendering = { manifests: [], resources: [] };

/** Runs `npm run --silent manifests` in a project directory (that tree's own command) and reads what it wrote. */
function render(projectDir: string, stack: string, configFile: string | undefined, out: string, side: string): Promise<Rendering> {
    const args = ["run", "--silent", "manifests", "--", "--stack", stack, "--out", out];
    if (configFile !== undefined) {
        args.push("--config-file", configFile);
    }
    const env = { ...process.env };
    delete env["PULUMI_CONFIG"];
    delete env["PULUMI_CONFIG_SECRET_KEYS"];
    return new Promise((resolve, reject) => {
        const child = spawn("npm", args, { cwd: projectDir, env, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stdout.on("data", () => undefined);
        child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString("utf8");
        });
        child.on("error", (err) => reject(new DiffError(`${side}: cannot run npm: ${err.message}`)));
        child.on("close", (code) => {
            if (code !== 0) {
                reject(new DiffError(`the manifests command failed on the ${side} (exit ${String(code)}):\n${stderr.trim()}`));
                return;
            }
            try {
                const yamlText = fs.readFileSync(path.join(out, "manifests.yaml"), "utf8");
                const manifests = parseAllDocuments(yamlText)
                    .map((d) => d.toJS() as Json)
                    .filter((m) => m !== null);
                const resources = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as Json[];
                resolve({ manifests, resources });
            } catch (err) {
                reject(new DiffError(`cannot read what the manifests command wrote for the ${side}: ${(err as Error).message}`));
            }
        });
    });
}

function isInside(dir: string, file: string): boolean {
    const rel = path.relative(dir, file);
    return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

export interface DiffOptions {
    readonly stack: string;
    readonly base: string;
    readonly configFile?: string;
    /** The project (working tree) to compare; defaults to the one this script belongs to. */
    readonly projectDir?: string;
    /** Receives progress lines (the command prints them on stderr). */
    readonly progress?: (line: string) => void;
}

/** Computes the diff; throws DiffError for anything the user can fix. Always removes the worktree it creates. */
export async function manifestsDiff(opts: DiffOptions): Promise<ManifestsDiff> {
    const projectDir = fs.realpathSync(opts.projectDir ?? PROJECT_DIR);
    const top = git(["rev-parse", "--show-toplevel"], projectDir);
    if (!top.ok) {
        throw new DiffError(`${projectDir} is not inside a git repository: ${top.stderr}`);
    }
    const repoRoot = fs.realpathSync(top.stdout);
    const projectRel = path.relative(repoRoot, projectDir).split(path.sep).join("/");
    const inRepo = (p: string) => (projectRel === "" ? p : `${projectRel}/${p}`);

    const resolved = git(["rev-parse", "--verify", "--quiet", `${opts.base}^{commit}`], projectDir);
    if (!resolved.ok || resolved.stdout === "") {
        throw new DiffError(
            `unknown git ref '${opts.base}': no such commit in ${repoRoot} (in a shallow clone, fetch it first, e.g. actions/checkout with fetch-depth: 0)`,
        );
    }
    const commit = resolved.stdout;
    const started = Date.now();

    const basePackage = git(["show", `${commit}:${inRepo("package.json")}`], projectDir);
    let baseHasCommand = false;
    if (basePackage.ok && existsIn(commit, inRepo("scripts/manifests.ts"), projectDir)) {
        try {
            const scripts = (JSON.parse(basePackage.stdout) as { scripts?: Record<string, unknown> }).scripts ?? {};
            baseHasCommand = typeof scripts["manifests"] === "string";
        } catch {
            baseHasCommand = false;
        }
    }
    if (!baseHasCommand) {
        throw new DiffError(
            `the base ${opts.base} (${commit.slice(0, 12)}) has no manifests command (scripts/manifests.ts and the 'manifests' script in package.json), so there is nothing to compare with: choose a newer base`,
        );
    }
    if (!fs.existsSync(path.join(projectDir, "node_modules"))) {
        throw new DiffError(`${projectDir}/node_modules does not exist: run npm ci first (the base reuses it)`);
    }

    // Which config file each side reads.
    const notes: string[] = [];
    let headConfig: string | undefined;
    let baseConfig: (treeProject: string) => string | undefined = () => undefined;
    let baseHasStack = true;
    let headHasStack = true;
    if (opts.configFile !== undefined) {
        const abs = path.resolve(opts.configFile);
        if (!fs.existsSync(abs)) {
            throw new DiffError(`--config-file ${opts.configFile}: ${abs} does not exist`);
        }
        headConfig = abs;
        const real = fs.realpathSync(abs);
        if (isInside(projectDir, real)) {
            const rel = path.relative(projectDir, real).split(path.sep).join("/");
            baseConfig = (treeProject) => path.join(treeProject, rel);
            baseHasStack = existsIn(commit, inRepo(rel), projectDir);
            if (!baseHasStack) {
                notes.push(`${rel} does not exist in the base: every object is new`);
            }
        } else {
            baseConfig = () => abs;
        }
    } else {
        const file = `Pulumi.${opts.stack}.yaml`;
        headHasStack = fs.existsSync(path.join(projectDir, file));
        baseHasStack = existsIn(commit, inRepo(file), projectDir);
        if (!headHasStack && !baseHasStack) {
            throw new DiffError(`no stack file for stack '${opts.stack}': ${file} exists neither in the working tree nor in the base`);
        }
        if (!baseHasStack) {
            notes.push(`${file} does not exist in the base: every object is new`);
        }
        if (!headHasStack) {
            notes.push(`${file} does not exist in the working tree: every object is removed`);
        }
    }

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "herd-manifests-diff-"));
    const tree = path.join(tmp, "base");
    const treeProject = path.join(tree, ...(projectRel === "" ? [] : projectRel.split("/")));
    const link = path.join(treeProject, "node_modules");
    let worktreeAdded = false;
    const cleanup = () => {
        // The symlink goes first, so nothing below can ever reach the real node_modules through it.
        try {
            if (fs.lstatSync(link).isSymbolicLink()) {
                fs.unlinkSync(link);
            }
        } catch {
            // not created
        }
        if (worktreeAdded) {
            if (!git(["worktree", "remove", "--force", tree], projectDir).ok) {
                fs.rmSync(tree, { recursive: true, force: true });
                git(["worktree", "prune"], projectDir);
            }
            worktreeAdded = false;
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    };
    const onSignal = (signal: NodeJS.Signals) => {
        cleanup();
        process.exit(signal === "SIGINT" ? 130 : 143);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
        const sides = [baseHasStack ? `base ${opts.base} (${commit.slice(0, 12)})` : "", headHasStack ? "the working tree" : ""].filter((x) => x !== "");
        opts.progress?.(`rendering stack ${opts.stack} at ${sides.join(" and ")}...`);
        let base: Promise<Rendering> = Promise.resolve(EMPTY);
        if (baseHasStack) {
            const added = git(["worktree", "add", "--detach", tree, commit], projectDir);
            if (!added.ok) {
                throw new DiffError(`git worktree add failed: ${added.stderr}`);
            }
            worktreeAdded = true;
            fs.symlinkSync(path.join(projectDir, "node_modules"), link, "dir");
            base = render(treeProject, opts.stack, baseConfig(treeProject), path.join(tmp, "out-base"), `base ${opts.base}`);
        }
        const head: Promise<Rendering> = headHasStack
            ? render(projectDir, opts.stack, headConfig, path.join(tmp, "out-head"), "working tree")
            : Promise.resolve(EMPTY);
        // Both renderings run at once; wait for both before cleaning up, even when one fails.
        const [b, h] = await Promise.allSettled([base, head]);
        if (b.status === "rejected") {
            throw b.reason;
        }
        if (h.status === "rejected") {
            throw h.reason;
        }
        const objects = diffManifests(b.value.manifests, h.value.manifests, { before: b.value.resources, after: h.value.resources });
        const resources = diffResources(b.value.resources, h.value.resources);
        const changes = [objects, resources].some((d) => d.added.length + d.removed.length + d.changed.length > 0);
        const compared = {
            objects: new Set([...indexObjects(b.value.manifests).keys(), ...indexObjects(h.value.manifests).keys()]).size,
            resources: new Set([...resourceKeys(b.value.resources), ...resourceKeys(h.value.resources)]).size,
        };
        opts.progress?.(
            `compared ${compared.objects} objects and ${compared.resources} resources in ${((Date.now() - started) / 1000).toFixed(1)}s`,
        );
        return {
            stack: opts.stack,
            base: { ref: opts.base, commit },
            head: "working tree",
            objects,
            resources,
            notes,
            changes,
            compared,
            summary: summarize(objects),
        };
    } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        cleanup();
    }
}

/** What the command exits with: with --exit-code, 2 means "there are changes", so a usage error is 1 instead of 2. */
export const EXIT = { ok: 0, changes: 2, error: 1 } as const;

export interface MainIo {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
    /** Replaces the real computation (tests). */
    readonly diff?: (opts: DiffOptions) => Promise<ManifestsDiff>;
}

const processIo: MainIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
};

export async function main(argv: string[], io: MainIo = processIo): Promise<number> {
    const exitCode = argv.includes("--exit-code");
    let args;
    let format: string;
    try {
        args = parseCli(
            argv,
            {
                stack: { type: "string" },
                base: { type: "string" },
                "config-file": { type: "string" },
                format: { type: "string" },
                "exit-code": { type: "boolean" },
            },
            ["stack", "base"],
        );
        format = args.format ?? "text";
        if (format !== "text" && format !== "json") {
            throw new UsageError(`--format must be text or json, got ${JSON.stringify(format)}`);
        }
    } catch (err) {
        if (exitCode && err instanceof UsageError) {
            // runCli would exit 2, which --exit-code reserves for "there are changes".
            io.stderr(`${err.message}\n${USAGE}\n`);
            return EXIT.error;
        }
        throw err;
    }
    const stack = args.stack ?? "";
    try {
        const diff = await (io.diff ?? manifestsDiff)({
            stack,
            base: args.base ?? "",
            configFile: args["config-file"] === undefined ? undefined : userPath(args["config-file"]),
            progress: (line) => io.stderr(`manifests-diff: ${line}\n`),
        });
        io.stdout(format === "json" ? `${JSON.stringify(diff, null, 2)}\n` : formatText(diff));
        return exitCode && diff.changes ? EXIT.changes : EXIT.ok;
    } catch (err) {
        io.stderr(`herd manifests-diff --stack ${stack}: ${err instanceof DiffError ? err.message : String(err)}\n`);
        return EXIT.error;
    }
}

if (require.main === module) {
    runCli(USAGE, () => main(process.argv.slice(2)));
}
