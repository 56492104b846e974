/**
 * Which changes to a Kubernetes object make `pulumi up` replace it instead of updating it in place, and which the API
 * server refuses outright. Used by manifests-diff to mark changes as REPLACE.
 *
 * REPLACE_RULES encodes pulumi-kubernetes' own "force new" table (provider v4, the version herd uses: 4.34):
 * `forceNew` and `kubeProvider.forceNewProperties` in pulumi/pulumi-kubernetes provider/pkg/provider/diff.go. Its
 * Diff (provider/pkg/provider/provider.go) marks a change for replacement when the changed path lies at or under one
 * of the kind's paths (or is a parent whose value contains one); `.metadata.name` and `.metadata.namespace` force a
 * replacement for every kind. Encoded here by hand (not copied) for the kinds herd deploys and a few neighbours;
 * kinds not listed (CronJob, Ingress, NetworkPolicy, HorizontalPodAutoscaler, ServiceAccount, Namespace, Role,
 * policy/v1 PodDisruptionBudget, ...) update in place except for their name and namespace. Notable details of that
 * table:
 *   - policy/v1beta1 PodDisruptionBudget replaces on any `.spec` change, policy/v1 (what herd uses) does not;
 *   - Service replaces only for `.spec.clusterIP` (not `.spec.type`);
 *   - StatefulSet replaces for `.spec.revisionHistoryLimit` too, although the API server would accept it;
 *   - Secret `.type`, `.data`, `.stringData` and ConfigMap `.data`, `.binaryData` replace unless the provider sets
 *     `enableSecretMutable` / `enableConfigMapMutable` (both off by default) and the new object is not `immutable`;
 *     a mutable Secret still replaces for `.type`.
 *
 * REJECTED_RULES are fields the API server itself refuses to change (its validation of updates) but pulumi-kubernetes
 * does not replace for: `pulumi up` sends the update and fails with "field is immutable".
 */
import type { FieldChange, Json } from "./diff-types";

/** `apiVersion` (e.g. `apps/v1`, `v1`) -> kind -> paths (dot-separated keys; a list's items are crossed implicitly). */
type Table = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

const STATEFUL_SET = ["spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"];
const SELECTOR_ONLY = ["spec.selector"];
const JOB = ["spec.completions", "spec.parallelism", "spec.selector", "spec.template"];
const ROLE_BINDING = ["roleRef"];
const PERSISTENT_VOLUME_SOURCES = [
    "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume", "flocker",
    "gcePersistentDisk", "glusterfs", "hostPath", "iscsi", "local", "nfs", "photonPersistentDisk", "portworxVolume",
    "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume",
].map((s) => `spec.${s}`);

/** pulumi-kubernetes' force-new table (provider/pkg/provider/diff.go), besides metadata.name/namespace. */
export const REPLACE_RULES: Table = {
    "apps/v1beta1": { StatefulSet: STATEFUL_SET },
    "apps/v1beta2": { DaemonSet: SELECTOR_ONLY, Deployment: SELECTOR_ONLY, StatefulSet: STATEFUL_SET },
    "apps/v1": { DaemonSet: SELECTOR_ONLY, Deployment: SELECTOR_ONLY, StatefulSet: STATEFUL_SET },
    v1: {
        PersistentVolume: PERSISTENT_VOLUME_SOURCES,
        PersistentVolumeClaim: ["spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"],
        ResourceQuota: ["spec.scopes"],
        Secret: ["type"],
        Service: ["spec.clusterIP"],
    },
    "policy/v1beta1": { PodDisruptionBudget: ["spec"] },
    "rbac.authorization.k8s.io/v1alpha1": { ClusterRoleBinding: ROLE_BINDING, RoleBinding: ROLE_BINDING },
    "rbac.authorization.k8s.io/v1beta1": { ClusterRoleBinding: ROLE_BINDING, RoleBinding: ROLE_BINDING },
    "rbac.authorization.k8s.io/v1": { ClusterRoleBinding: ROLE_BINDING, RoleBinding: ROLE_BINDING },
    "storage.k8s.io/v1": { StorageClass: ["parameters", "provisioner"] },
    "batch/v1beta1": { Job: JOB },
    "batch/v1": { Job: JOB },
    "batch/v2alpha1": { Job: JOB },
};

/** Every kind: the object's identity (pulumi-kubernetes' metadataForceNewProperties; kind/apiVersion for safety). */
export const IDENTITY_PATHS: readonly string[] = ["apiVersion", "kind", "metadata.name", "metadata.namespace"];

/** Secret and ConfigMap content, immutable for pulumi-kubernetes unless the provider allows mutation. */
export const SECRET_CONTENT: readonly string[] = ["type", "stringData", "data"];
export const CONFIG_MAP_CONTENT: readonly string[] = ["binaryData", "data"];

/**
 * Fields the API server refuses to change in place (ValidateStorageClassUpdate, ValidatePersistentVolumeClaimUpdate)
 * and pulumi-kubernetes does not replace for. PVC: every spec field but `resources.requests` (which may grow when
 * the class allows expansion) and `volumeAttributesClassName`; those it replaces for are in REPLACE_RULES.
 */
export const REJECTED_RULES: Table = {
    "storage.k8s.io/v1": { StorageClass: ["reclaimPolicy", "volumeBindingMode"] },
    v1: { PersistentVolumeClaim: ["spec.dataSource", "spec.dataSourceRef", "spec.resources.limits", "spec.volumeMode"] },
};

/** What the object's Kubernetes provider allows (its `enableSecretMutable` / `enableConfigMapMutable`). */
export interface ProviderFlags {
    readonly enableSecretMutable?: boolean;
    readonly enableConfigMapMutable?: boolean;
}

export interface Classification {
    /** `replace` when any changed field forces a replacement. */
    readonly action: "update" | "replace";
    /** The changed fields (paths as in FieldChange) that force the replacement. */
    readonly forcing: readonly string[];
    /** The changed fields the API server refuses to change (pulumi up fails on them). */
    readonly rejected: readonly string[];
}

type Segment = { readonly key: string } | { readonly index: true };

/** Splits a FieldChange path (`a.b[0].c[name=x]["odd.key"]`) into keys and list items. */
export function parsePath(p: string): Segment[] {
    const out: Segment[] = [];
    const re = /\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[name=([^\]]*)\]|\[("(?:[^"\\]|\\.)*")\]/gy;
    let m: RegExpExecArray | null;
    while (re.lastIndex < p.length && (m = re.exec(p)) !== null) {
        if (m[1] !== undefined) {
            out.push({ key: m[1] });
        } else if (m[4] !== undefined) {
            out.push({ key: JSON.parse(m[4]) as string });
        } else {
            out.push({ index: true });
        }
    }
    return out;
}

/** The keys of a path, list items left out (rules never name an index). */
const keysOf = (segments: readonly Segment[]): string[] => segments.flatMap((s) => ("key" in s ? [s.key] : []));

function isObject(v: Json | undefined): v is { [key: string]: Json } {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Whether a value holds the given keys below it (a list holds them when any item does). */
function contains(value: Json | undefined, keys: readonly string[]): boolean {
    if (keys.length === 0) {
        return value !== undefined;
    }
    if (Array.isArray(value)) {
        return value.some((item) => contains(item, keys));
    }
    return isObject(value) && Object.prototype.hasOwnProperty.call(value, keys[0]) && contains(value[keys[0]], keys.slice(1));
}

/** Whether a change at `field` touches `rule`: at or under it, or above it with a value that holds it. */
export function touches(field: FieldChange, rule: string): boolean {
    const f = keysOf(parsePath(field.path));
    const r = rule.split(".");
    const common = Math.min(f.length, r.length);
    for (let i = 0; i < common; i++) {
        if (f[i] !== r[i]) {
            return false;
        }
    }
    if (f.length >= r.length) {
        return true;
    }
    const rest = r.slice(f.length);
    return contains(field.before, rest) || contains(field.after, rest);
}

function str(v: Json | undefined): string {
    return typeof v === "string" ? v : "";
}

/** The paths that force a replacement of an object like `after` (pulumi-kubernetes decides by the new inputs). */
export function replacePaths(after: Json, provider: ProviderFlags = {}): string[] {
    const o = isObject(after) ? after : {};
    const apiVersion = str(o["apiVersion"]);
    const kind = str(o["kind"]);
    const immutable = o["immutable"] === true;
    const paths = [...IDENTITY_PATHS, ...(REPLACE_RULES[apiVersion]?.[kind] ?? [])];
    if (apiVersion === "v1" && kind === "Secret" && (provider.enableSecretMutable !== true || immutable)) {
        paths.push(...SECRET_CONTENT);
    }
    if (apiVersion === "v1" && kind === "ConfigMap" && (provider.enableConfigMapMutable !== true || immutable)) {
        paths.push(...CONFIG_MAP_CONTENT);
    }
    return paths;
}

/** Decides update or replace for a changed object from its changed fields; lists the forcing and refused ones. */
export function classify(before: Json, after: Json, fields: readonly FieldChange[], provider: ProviderFlags = {}): Classification {
    const forcingRules = replacePaths(after, provider);
    const b = isObject(before) ? before : {};
    const a = isObject(after) ? after : {};
    const rejectedRules = [...(REJECTED_RULES[str(a["apiVersion"])]?.[str(a["kind"])] ?? [])];
    // Once a Secret or ConfigMap is immutable, the API server refuses to make it mutable again.
    if (b["immutable"] === true && (a["kind"] === "Secret" || a["kind"] === "ConfigMap")) {
        rejectedRules.push("immutable");
    }
    const forcing = fields.filter((f) => forcingRules.some((r) => touches(f, r))).map((f) => f.path);
    const rejected = fields
        .filter((f) => !forcing.includes(f.path) && rejectedRules.some((r) => touches(f, r)))
        .map((f) => f.path);
    return { action: forcing.length > 0 ? "replace" : "update", forcing, rejected };
}
