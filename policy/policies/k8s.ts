/**
 * Kubernetes helpers shared by the rules: reading pulumi-kubernetes type tokens, finding the pod template of any
 * workload, enumerating containers, and label-selector semantics (matchLabels + matchExpressions).
 */
import { at, known, knownAt, knownStringMap, list, Props, record, records, stringMap, text } from "./values";

export interface KubeType {
    /** `core` for the core group, as pulumi-kubernetes spells it. */
    readonly group: string;
    readonly version: string;
    readonly kind: string;
}

/**
 * The group, version and kind of a pulumi-kubernetes type token (`kubernetes:apps/v1:Deployment`). Undefined for
 * anything else, and for Patch and List types: a `StorageClassPatch` edits an object herd does not own.
 */
export function kubeType(type: string): KubeType | undefined {
    const m = /^kubernetes:([a-z0-9.-]+)\/([a-z0-9]+):([A-Za-z0-9]+)$/.exec(type);
    if (m === null || /(Patch|List)$/.test(m[3])) {
        return undefined;
    }
    return { group: m[1], version: m[2], kind: m[3] };
}

/** True when the token is a Kubernetes object of one of the given kinds in one of the given API groups. */
export function isKind(type: string, kinds: readonly string[], groups: readonly string[]): boolean {
    const t = kubeType(type);
    return t !== undefined && kinds.includes(t.kind) && groups.includes(t.group);
}

/** Workload kinds and where their pod template lives. */
const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
    Pod: [],
    Deployment: ["spec", "template"],
    StatefulSet: ["spec", "template"],
    DaemonSet: ["spec", "template"],
    ReplicaSet: ["spec", "template"],
    ReplicationController: ["spec", "template"],
    Job: ["spec", "template"],
    CronJob: ["spec", "jobTemplate", "spec", "template"],
};
/** API groups those kinds live in (current and retired versions alike). */
const WORKLOAD_GROUPS = ["core", "apps", "extensions", "batch"];

export const WORKLOAD_KINDS: readonly string[] = Object.keys(TEMPLATE_PATHS);
/** Workloads whose containers run until stopped (a Job's and a CronJob's run to completion). */
export const LONG_RUNNING_KINDS: readonly string[] = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"];

export function isWorkload(type: string): boolean {
    return isKind(type, WORKLOAD_KINDS, WORKLOAD_GROUPS);
}

export interface PodTemplate {
    readonly kind: string;
    /** Labels of the pods it makes. */
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
    readonly spec: Props;
    /** Dotted path of the pod spec in the object, for messages: `spec.template.spec`. */
    readonly specPath: string;
    /** Dotted path of the pod template's metadata. */
    readonly metadataPath: string;
}

/** The pod template of a workload (a Pod is its own template); undefined for anything else. */
export function podTemplate(type: string, props: Props): PodTemplate | undefined {
    const t = kubeType(type);
    if (t === undefined || !isWorkload(type)) {
        return undefined;
    }
    const path = TEMPLATE_PATHS[t.kind];
    const template = path.length === 0 ? props : record(at(props, ...path));
    const prefix = path.length === 0 ? "" : `${path.join(".")}.`;
    return {
        kind: t.kind,
        labels: stringMap(at(template, "metadata", "labels")),
        annotations: knownStringMap(knownAt(template, "metadata", "annotations")),
        spec: record(template?.["spec"]) ?? {},
        specPath: `${prefix}spec`,
        metadataPath: `${prefix}metadata`,
    };
}

export type ContainerKind = "containers" | "initContainers" | "ephemeralContainers";

export interface ContainerRef {
    readonly container: Props;
    readonly list: ContainerKind;
    readonly name: string;
    /** For messages: `init container "config"`. */
    readonly label: string;
    /** Dotted path of the container in the object: `spec.template.spec.containers[0]`. */
    readonly path: string;
}

const CONTAINER_LABEL: Readonly<Record<ContainerKind, string>> = {
    containers: "container",
    initContainers: "init container",
    ephemeralContainers: "ephemeral container",
};

/** The containers of a pod template, from the given lists (containers and init containers unless told). */
export function containersOf(t: PodTemplate, lists: readonly ContainerKind[] = ["containers", "initContainers"]): ContainerRef[] {
    return lists.flatMap((l) =>
        records(t.spec[l]).map((container, i) => {
            const name = text(container["name"]) ?? `#${i}`;
            return { container, list: l, name, label: `${CONTAINER_LABEL[l]} "${name}"`, path: `${t.specPath}.${l}[${i}]` };
        }),
    );
}

/** The object's `kind namespace/name` for messages (the Pulumi resource name when metadata.name is not set yet). */
export function describe(type: string, props: Props, resourceName: string): string {
    const kind = kubeType(type)?.kind ?? type;
    // Either may be computed during a preview (a namespace created in the same run): fall back, never fail.
    const name = known(() => text(at(props, "metadata", "name")));
    const ns = known(() => text(at(props, "metadata", "namespace")));
    const nsPart = !ns.known ? "(namespace not known yet)/" : ns.value !== undefined ? `${ns.value}/` : "";
    return `${kind} ${nsPart}${(name.known ? name.value : undefined) ?? resourceName}`;
}

export function metadataName(props: Props): string | undefined {
    return text(at(props, "metadata", "name"));
}

/**
 * The namespace an object lives in, qualified by its provider (two clusters can both have a namespace "herd").
 * An object without metadata.namespace lives in its provider's default namespace.
 */
export function namespaceKey(props: Props, providerUrn: string | undefined): string {
    return `${providerUrn ?? ""}|${text(at(props, "metadata", "namespace")) ?? "(provider default)"}`;
}

/**
 * Label selector semantics (metav1.LabelSelector): every matchLabels pair and every matchExpressions requirement
 * must hold; an empty selector `{}` selects everything; a missing (null) selector selects nothing.
 */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
    const s = record(selector);
    if (s === undefined) {
        return false;
    }
    for (const [k, v] of Object.entries(stringMap(s["matchLabels"]))) {
        if (labels[k] !== v) {
            return false;
        }
    }
    for (const e of records(s["matchExpressions"])) {
        const key = text(e["key"]) ?? "";
        const values = list(e["values"]).filter((x): x is string => typeof x === "string");
        const has = Object.prototype.hasOwnProperty.call(labels, key);
        switch (text(e["operator"])) {
            case "In":
                if (!has || !values.includes(labels[key])) {
                    return false;
                }
                break;
            case "NotIn":
                if (has && values.includes(labels[key])) {
                    return false;
                }
                break;
            case "Exists":
                if (!has) {
                    return false;
                }
                break;
            case "DoesNotExist":
                if (has) {
                    return false;
                }
                break;
            default:
                // An operator the API would reject: select nothing rather than guess.
                return false;
        }
    }
    return true;
}
