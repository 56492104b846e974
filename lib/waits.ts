/**
 * How long each waiting resource may wait, sized by what it waits for, and what a user sees when it doesn't make it.
 *
 * The engine waits for some resources to become ready before it counts them created (pulumi-kubernetes' await
 * rules: workloads, Jobs, Services with a selector, Ingresses; clusters, node groups and image builds on the
 * clouds). herd gives every one an explicit `customTimeouts`, computed here from six budgets the stack config sets
 * (`herd:wait*Minutes`), and an error hook that names what was awaited, what to check and which key to raise.
 *
 * A resource's clock starts when the engine creates it, so a resource created early that waits for pods made late
 * gets the budgets of everything before those pods: the API's Service is created at once but its endpoints come
 * only after the image build, PostgreSQL, the migration and the rollout.
 */
import * as pulumi from "@pulumi/pulumi";

/** The budgets, in minutes, each a `herd:wait<Name>Minutes` config key. */
export interface WaitMinutes {
    /** A data server (PostgreSQL, Redis, Elasticsearch): volume, image pull, start-up, recovery. */
    readonly data: number;
    /** The migration itself, once PostgreSQL accepts connections. */
    readonly migration: number;
    /** A rollout of the API or the front end, once its inputs exist. */
    readonly app: number;
    /** Building and pushing an image. */
    readonly images: number;
    /** The ingress controller or the cloud's load balancer publishing an address. */
    readonly ingress: number;
    /** A managed control plane or node group coming up (aws, gcp). */
    readonly cluster: number;
}

/** Everything herd waits for, with the budgets its clock covers. */
const AWAITED = {
    dataServer: { covers: ["data"], awaits: "the data server's pods to be ready", check: "kubectl -n <namespace> describe statefulset <name>; kubectl -n <namespace> get pvc,pods", key: "data" },
    dataService: { covers: ["data"], awaits: "the data server's pods behind its Service to be ready", check: "kubectl -n <namespace> get pods,pvc -l app.kubernetes.io/instance=<name>", key: "data" },
    elasticSetup: {
        covers: ["data"],
        awaits: "Elasticsearch to answer and the setup Job to create the API's user and role and register the snapshot repository and policy",
        check: "kubectl -n <namespace> logs job/<name>",
        key: "data",
    },
    elasticShrink: {
        covers: ["data"],
        awaits: "the shrink Job to move every shard off the Elasticsearch nodes that leave",
        check: "kubectl -n <namespace> logs job/<name>",
        key: "data",
    },
    migration: {
        covers: ["data", "migration"],
        awaits: "PostgreSQL to accept connections and the migration Job to complete",
        check: "kubectl -n <namespace> logs job/<name> --all-containers",
        key: "migration",
    },
    apiRollout: { covers: ["app"], awaits: "the API's pods to be ready", check: "kubectl -n <namespace> describe deployment <name>; kubectl -n <namespace> logs deployment/<name>", key: "app" },
    apiService: {
        covers: ["images", "data", "migration", "app"],
        awaits: "ready API pods behind the Service (after the image build, PostgreSQL, the migration and the rollout)",
        check: "kubectl -n <namespace> get pods -l app.kubernetes.io/instance=<name>",
        key: "app",
    },
    frontendRollout: { covers: ["app"], awaits: "the front end's pods to be ready", check: "kubectl -n <namespace> describe deployment <name>", key: "app" },
    frontendService: {
        covers: ["images", "app"],
        awaits: "ready front-end pods behind the Service (after the image build and the rollout)",
        check: "kubectl -n <namespace> get pods -l app.kubernetes.io/instance=<name>",
        key: "app",
    },
    loadBalancer: {
        covers: ["images", "app", "ingress"],
        awaits: "the cloud's load balancer to publish an address and ready front-end pods behind it",
        check: "kubectl -n <namespace> describe service <name> (its events name the load balancer's problem)",
        key: "ingress",
    },
    ingress: {
        covers: ["images", "app", "ingress"],
        awaits: "the ingress controller to publish an address and ready front-end pods behind it",
        check: "kubectl -n <namespace> describe ingress <name>; is the ingress controller of its class running?",
        key: "ingress",
    },
    imageBuild: { covers: ["images"], awaits: "the image to build and push", check: "the build output above; can this machine reach the registry?", key: "images" },
    cluster: { covers: ["cluster"], awaits: "the managed control plane or node group to come up", check: "the cloud console's events for the cluster", key: "cluster" },
} as const satisfies Record<string, { covers: readonly (keyof WaitMinutes)[]; awaits: string; check: string; key: keyof WaitMinutes }>;

export type Awaited = keyof typeof AWAITED;

/** The config key that raises a budget. */
export function waitKey(budget: keyof WaitMinutes): string {
    return `herd:wait${budget[0].toUpperCase()}${budget.slice(1)}Minutes`;
}

/** Minutes a resource of this kind may wait: the sum of the budgets its clock covers. */
export function waitMinutes(kind: Awaited, budgets: WaitMinutes): number {
    return AWAITED[kind].covers.reduce((sum, b) => sum + budgets[b], 0);
}

/** The message an error hook prints for a resource that did not become ready. */
export function waitFailureMessage(kind: Awaited, budgets: WaitMinutes, failed: { readonly type: string; readonly name: string; readonly namespace?: string; readonly errors: readonly string[] }): string {
    const spec = AWAITED[kind];
    const timedOut = failed.errors.some((e) => /timeout|timed out|deadline/i.test(e));
    const check = spec.check.replace(/<namespace>/g, failed.namespace ?? "<namespace>").replace(/<name>/g, failed.name);
    const why = timedOut ? `did not become ready within ${waitMinutes(kind, budgets)} min` : "failed";
    return [
        `herd: ${failed.type} "${failed.name}" ${why}: it waits for ${spec.awaits}.`,
        `  check: ${check}`,
        timedOut ? `  if it is only slow, raise ${waitKey(spec.key)} (now ${budgets[spec.key]}) with pulumi config set, then pulumi up again.` : "",
    ]
        .filter((l) => l !== "")
        .join("\n");
}

/** One error hook per kind and per engine connection (hooks are registered with the engine by name). */
const hooks = new WeakMap<object, Map<string, pulumi.ErrorHook>>();
/** Stands for "no engine connection yet" as a key of `hooks`. */
const NO_MONITOR = {};

function errorHook(kind: Awaited, budgets: WaitMinutes): pulumi.ErrorHook {
    const monitor = pulumi.runtime.getMonitor() ?? NO_MONITOR;
    const known = hooks.get(monitor) ?? new Map<string, pulumi.ErrorHook>();
    hooks.set(monitor, known);
    const name = `herd-wait-${kind}-${waitMinutes(kind, budgets)}m`;
    const existing = known.get(name);
    if (existing !== undefined) {
        return existing;
    }
    const hook = new pulumi.ErrorHook(name, (args) => {
        const metadata = (args.newInputs?.["metadata"] ?? {}) as { name?: unknown; namespace?: unknown };
        const namespace = typeof metadata.namespace === "string" ? metadata.namespace : undefined;
        const name = typeof metadata.name === "string" ? metadata.name : args.name;
        pulumi.log.error(waitFailureMessage(kind, budgets, { type: args.type, name, namespace, errors: args.errors }));
        return false;
    });
    known.set(name, hook);
    return hook;
}

/** Resource options for a resource that waits: its timeouts and the hook that explains a failure. */
export function waitOptions(kind: Awaited, budgets: WaitMinutes): Pick<pulumi.CustomResourceOptions, "customTimeouts" | "hooks"> {
    const limit = `${waitMinutes(kind, budgets)}m`;
    return { customTimeouts: { create: limit, update: limit }, hooks: { onError: [errorHook(kind, budgets)] } };
}
