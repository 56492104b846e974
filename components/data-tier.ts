/**
 * What PostgresStateful, RedisCache and ElasticCluster share: the output contract, the component's scope (labels,
 * selector, how children and Secrets are created), generated credentials in a Secret, a headless and a client
 * Service, a PodDisruptionBudget, and the StatefulSet fields that keep data safe. Each helper creates children of
 * the given component. Their NetworkPolicy helpers are in network-policy.ts, their validation in validation.ts.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import { type WaitMinutes, waitOptions } from "../lib/waits";
import { numberDefault, waitBudgets } from "../config";

/** What every data component hands its consumers (the API tier), whichever server it runs. */
export interface DataEndpoint {
    /** Cluster DNS name of the client Service, e.g. `postgres.herd.svc.cluster.local`. */
    readonly host: pulumi.Output<string>;
    readonly port: number;
    /** Name of the Kubernetes Secret holding the credentials. */
    readonly secretName: pulumi.Output<string>;
    /** Key of the password in that Secret. */
    readonly passwordKey: string;
    /** Labels of the server's pods, for a client's egress NetworkPolicy. */
    readonly podSelector: Readonly<Record<string, string>>;
}

/** Options every data component takes the same way. */
export interface DataComponentArgs {
    /**
     * Namespace to deploy into: pass the Namespace resource's `metadata.name`, so every object waits for it
     * (a component's own dependsOn does not reach its children).
     */
    readonly namespace: pulumi.Input<string>;
    /** StorageClass of the data volumes (the platform's: Retain, expandable, WaitForFirstConsumer). */
    readonly storageClassName: pulumi.Input<string>;
    /** Labels of the pods allowed to connect (ingress NetworkPolicy). */
    readonly clientLabels: Readonly<Record<string, string>>;
    /**
     * Protect the StatefulSet, its credentials and any backup volume: neither a replacement nor `pulumi destroy`
     * can remove them while set. @default config key `protectData`
     */
    readonly protect?: boolean;
    /**
     * The provider for Kubernetes Secrets (the platform's `secretsProvider`): when manifests are rendered to a
     * directory, Secrets go to a separate one so the handoff bundle holds no secret value. @default the component's
     */
    readonly secretsProvider?: k8s.Provider;
    /** How long `pulumi up` waits for the server and its Service (lib/waits.ts). @default config keys `wait*Minutes` */
    readonly waits?: WaitMinutes;
}

/** A component's context for creating its children. */
export interface Scope {
    readonly name: string;
    readonly parent: pulumi.ComponentResource;
    readonly namespace: pulumi.Input<string>;
    readonly labels: Readonly<Record<string, string>>;
    readonly selector: Readonly<Record<string, string>>;
    readonly protect: boolean;
    /** Options for a Kubernetes Secret of this component: its parent, its protection, and the secrets provider. */
    readonly secretOpts: pulumi.CustomResourceOptions;
    readonly waits: WaitMinutes;
}

/**
 * A data component's scope: its recommended labels, its (immutable, name-derived) selector, and how its children
 * and Secrets are created.
 */
export function dataScope(
    parent: pulumi.ComponentResource,
    name: string,
    app: { readonly name: string; readonly component: string },
    args: DataComponentArgs,
    protect: boolean,
): Scope {
    return {
        name,
        parent,
        namespace: args.namespace,
        labels: recommendedLabels({ name: app.name, instance: name, component: app.component }),
        selector: selectorLabels({ name: app.name, instance: name }),
        protect,
        secretOpts: secretOptions(parent, protect, args.secretsProvider),
        waits: args.waits ?? waitBudgets(numberDefault),
    };
}

/** The options every Secret a data component creates takes (see DataComponentArgs.secretsProvider). */
export function secretOptions(parent: pulumi.Resource, protect: boolean, secretsProvider: k8s.Provider | undefined): pulumi.CustomResourceOptions {
    return { parent, protect, ...(secretsProvider !== undefined ? { provider: secretsProvider } : {}) };
}

/**
 * The DNS name of the component's client Service, from its fixed name and the namespace, not from the Service's
 * outputs: a consumer (the API, its migration) must not wait for the Service, whose readiness means ready pods;
 * it waits for the server in its own way (lib/waits.ts). The name never changes, so neither does the address.
 */
export function serviceHost(scope: Pick<Scope, "name" | "namespace">): pulumi.Output<string> {
    return pulumi.interpolate`${scope.name}.${scope.namespace}.svc.cluster.local`;
}

/**
 * A generated password kept in a Secret. Both are protected with the data: a regenerated password would no longer
 * match the one stored in the data volume. A component with several logins names each (`role`): its password and
 * Secret are then `<name>-<role>-password` and `<name>-<role>-credentials`; without one, `<name>-password` and
 * `<name>-credentials`.
 */
export function credentials(
    scope: Scope,
    extra: Readonly<Record<string, pulumi.Input<string>>>,
    passwordKey: string,
    role?: string,
): { secret: k8s.core.v1.Secret; password: pulumi.Output<string> } {
    const prefix = role === undefined ? scope.name : `${scope.name}-${role}`;
    const password = new random.RandomPassword(
        `${prefix}-password`,
        // Letters and digits only: the password ends up in URLs and config files without escaping.
        { length: 32, special: false },
        { parent: scope.parent, protect: scope.protect },
    );
    const secret = new k8s.core.v1.Secret(
        `${prefix}-credentials`,
        {
            metadata: { name: `${prefix}-credentials`, namespace: scope.namespace, labels: { ...scope.labels } },
            type: "Opaque",
            stringData: { ...extra, [passwordKey]: password.result },
        },
        scope.secretOpts,
    );
    return { secret, password: password.result };
}

export interface ServicePort {
    readonly name: string;
    readonly port: number;
}

/**
 * The headless Service that gives each pod a stable DNS name (the StatefulSet's `serviceName`; it publishes pods
 * before they are ready so peers can find each other while starting) and the client Service consumers use.
 */
export function services(scope: Scope, ports: readonly ServicePort[], clientPorts: readonly ServicePort[] = ports) {
    const spec = (p: readonly ServicePort[]) => p.map((x) => ({ name: x.name, port: x.port, targetPort: x.name, protocol: "TCP" }));
    const headless = new k8s.core.v1.Service(
        `${scope.name}-headless`,
        {
            metadata: { name: `${scope.name}-headless`, namespace: scope.namespace, labels: { ...scope.labels } },
            spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: { ...scope.selector }, ports: spec(ports) },
        },
        { parent: scope.parent },
    );
    const client = new k8s.core.v1.Service(
        scope.name,
        {
            metadata: { name: scope.name, namespace: scope.namespace, labels: { ...scope.labels } },
            spec: { type: "ClusterIP", selector: { ...scope.selector }, ports: spec(clientPorts) },
        },
        // Created at once, it waits for the server's pods: the data budget.
        { parent: scope.parent, ...waitOptions("dataService", scope.waits) },
    );
    return { headless, client };
}

/**
 * A PodDisruptionBudget that lets a node drain proceed, one pod at a time: `maxUnavailable: 1` whatever the
 * replica count. A budget that allows no eviction (`minAvailable: 1` on one replica) does not keep a database up
 * through a node upgrade: it only stalls the drain. An EKS managed node group upgrade fails (PodEvictionFailure)
 * after 15 minutes of refused evictions unless forced, and a forced one deletes the pod anyway; GKE deletes it after
 * an hour. Either way the outage comes at the platform's moment instead of a planned one.
 *
 * - One replica (PostgreSQL, Redis, a single-node Elasticsearch): a drain evicts the pod; it shuts down cleanly
 *   within its grace period and the StatefulSet re-creates it on another node, where its claim
 *   (`data-<name>-0`) re-attaches. A short, planned outage of that server (typically a minute or two, longer if the
 *   volume must detach from the old node first); the data stays on the volume.
 * - Several replicas (Elasticsearch, 3 or more nodes): at most one node is down at a time. That keeps the master
 *   quorum (N - 1 ≥ floor(N/2) + 1 for N ≥ 3) and, with the default one replica per shard, a copy of every shard.
 *
 * `unhealthyPodEvictionPolicy: AlwaysAllow`: a pod that is running but not Ready serves nothing, so evicting it
 * costs no availability; without it a broken pod would hold the budget at zero and stall the drain. One eviction at a
 * time is right for every replica count, so the budget does not depend on it.
 */
export function disruptionBudget(scope: Scope): k8s.policy.v1.PodDisruptionBudget {
    return new k8s.policy.v1.PodDisruptionBudget(
        scope.name,
        {
            metadata: { name: scope.name, namespace: scope.namespace, labels: { ...scope.labels } },
            spec: { maxUnavailable: 1, unhealthyPodEvictionPolicy: "AlwaysAllow", selector: { matchLabels: { ...scope.selector } } },
        },
        { parent: scope.parent },
    );
}

/**
 * Fields of a StatefulSet spec that keep data safe. The volume claims survive the StatefulSet's deletion and
 * scale-down; `serviceName`, the selector and `volumeClaimTemplates` are immutable, so they are derived only from
 * the component's name (never from config that changes), and the StatefulSet has a fixed `metadata.name`: if it is
 * ever replaced, the new one re-attaches the same claims (`data-<name>-<ordinal>`) instead of new, empty ones.
 */
export function safeStatefulSetFields(scope: Scope, storageClassName: pulumi.Input<string>, storageSize: string) {
    return {
        serviceName: `${scope.name}-headless`,
        selector: { matchLabels: { ...scope.selector } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
        volumeClaimTemplates: [
            {
                metadata: { name: "data", labels: { ...scope.selector } },
                spec: {
                    accessModes: ["ReadWriteOnce"],
                    storageClassName,
                    resources: { requests: { storage: storageSize } },
                },
            },
        ],
    };
}

/** Spread pods over zones and nodes when there is more than one. */
export function spread(scope: Scope, replicas: number): Pick<k8s.types.input.core.v1.PodSpec, "affinity" | "topologySpreadConstraints"> {
    if (replicas <= 1) {
        return {};
    }
    return {
        topologySpreadConstraints: [
            {
                maxSkew: 1,
                topologyKey: "topology.kubernetes.io/zone",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: { matchLabels: { ...scope.selector } },
            },
        ],
        affinity: {
            podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                    { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { ...scope.selector } } },
                ],
            },
        },
    };
}
