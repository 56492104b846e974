/**
 * herd:imageRegistryMirror for everything the program deploys, at one place: a Pulumi resource transform, registered
 * once before any resource (index.ts), that rewrites the `image` of every container, init container and ephemeral
 * container of every pod template of every Kubernetes workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * ReplicationController, Job, CronJob, PodTemplate, and their Patch forms), whichever component made it and whenever
 * it was added: a new sidecar needs no call to any helper. The rewrite is lib/image-mirror.ts's rule.
 *
 * What the transform cannot see, because it is not a pod template of a resource: images inside a Helm release's
 * values (platform/aws/addons.ts rewrites those with the same rule) and objects a Helm chart renders.
 *
 * The engine hands a transform the resource's properties after serialization: plain values, secrets as Pulumi's
 * secret wrappers (an array holding a secret is wrapped whole), unknowns as a marker during preview. Each is passed
 * through; an image that is not a known string is left as it is.
 */
import * as pulumi from "@pulumi/pulumi";
import { claimTarget, mirrorImage } from "./image-mirror";

/** Where the pod spec sits in each workload kind. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
    Pod: ["spec"],
    PodTemplate: ["template", "spec"],
    Deployment: ["spec", "template", "spec"],
    StatefulSet: ["spec", "template", "spec"],
    DaemonSet: ["spec", "template", "spec"],
    ReplicaSet: ["spec", "template", "spec"],
    ReplicationController: ["spec", "template", "spec"],
    Job: ["spec", "template", "spec"],
    CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};
const CONTAINER_LISTS = ["initContainers", "containers", "ephemeralContainers"] as const;

/** The path to the pod spec for a Pulumi type token (`kubernetes:apps/v1:Deployment`), or undefined for any other. */
export function podSpecPath(type: string): readonly string[] | undefined {
    const m = /^kubernetes:[^:]+:([A-Za-z]+?)(Patch)?$/.exec(type);
    return m === null ? undefined : POD_SPEC_PATHS[m[1] ?? ""];
}

type Rewrite = (image: string) => pulumi.Input<string>;

function isSecretWrapper(v: unknown): v is Record<string, unknown> & { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
        return false;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    return proto === Object.prototype || proto === null;
}

/** Applies `f` to the value inside an Output or a secret wrapper (kept around the result), or to the value itself. */
function lift(v: unknown, f: (plain: unknown) => unknown): unknown {
    if (pulumi.Output.isInstance(v)) {
        return (v as pulumi.Output<unknown>).apply((inner) => lift(inner, f));
    }
    if (isSecretWrapper(v)) {
        return { ...v, value: lift(v.value, f) };
    }
    return f(v);
}

/** A copy of `v` with `f` applied at `path` (objects along the way copied, nothing else touched). */
function update(v: unknown, path: readonly string[], f: (target: Record<string, unknown>) => unknown): unknown {
    return lift(v, (plain) => {
        if (!isPlainObject(plain)) {
            return plain;
        }
        if (path.length === 0) {
            return f(plain);
        }
        const [head, ...rest] = path as [string, ...string[]];
        return head in plain ? { ...plain, [head]: update(plain[head], rest, f) } : plain;
    });
}

/** The pod spec with every container's image rewritten. */
function rewritePodSpec(spec: Record<string, unknown>, rewrite: Rewrite): Record<string, unknown> {
    const out = { ...spec };
    for (const list of CONTAINER_LISTS) {
        if (!(list in out)) {
            continue;
        }
        out[list] = lift(out[list], (containers) =>
            Array.isArray(containers)
                ? containers.map((c) => update(c, [], (container) => ("image" in container ? { ...container, image: lift(container["image"], (img) => (typeof img === "string" ? rewrite(img) : img)) } : container)))
                : containers,
        );
    }
    return out;
}

/**
 * The properties of a resource of type `type` with every pod template image rewritten, or undefined when the type
 * has no pod template (the resource is then left alone).
 */
export function rewritePodImages(type: string, props: Record<string, unknown>, rewrite: Rewrite): Record<string, unknown> | undefined {
    const path = podSpecPath(type);
    if (path === undefined) {
        return undefined;
    }
    return update(props, path, (spec) => rewritePodSpec(spec, rewrite)) as Record<string, unknown>;
}

/**
 * The transform for herd:imageRegistryMirror `location`. `keep` gives the registries whose images stay (the stack's
 * own registry, which may only be known as an Output, e.g. ECR's); it is called when a resource is transformed, once
 * the platform exists. Two sources that would meet at one target fail the deployment, naming both.
 */
export function imageMirrorTransform(location: string, keep: () => readonly pulumi.Input<string>[]): pulumi.ResourceTransform {
    const seen = new Map<string, string>();
    const target = (image: string, kept: readonly string[]): string => {
        const to = mirrorImage(image, { location, keep: kept });
        claimTarget(seen, image, to);
        return to;
    };
    return (args) => {
        const registries = keep();
        const plain = registries.every((r): r is string => typeof r === "string");
        const rewrite: Rewrite = plain ? (image) => target(image, registries) : (image) => pulumi.all([...registries]).apply((kept: string[]) => target(image, kept));
        const props = rewritePodImages(args.type, args.props as Record<string, unknown>, rewrite);
        return props === undefined ? undefined : { props, opts: args.opts };
    };
}
