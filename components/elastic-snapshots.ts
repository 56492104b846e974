/**
 * ElasticCluster's snapshots: a snapshot repository on the platform's backup store and a snapshot lifecycle (SLM)
 * policy, both registered by the setup Job (elastic-security.ts), and what the Elasticsearch pods need to reach the
 * store (a ServiceAccount bound to the store's identity, a token or keystore entries, egress, path.repo).
 *
 * Where snapshots can go:
 * - `s3`: S3 (repository-s3 is bundled in Elasticsearch 8), or an S3-compatible store at `endpoint` (path-style
 *   access). Credentials: web identity (a projected ServiceAccount token with the store's audience, which
 *   repository-s3 reads from `config/repository-s3/aws-web-identity-token-file`, with AWS_ROLE_ARN set by the
 *   platform's identity binding), or access keys from a Secret put into the Elasticsearch keystore.
 * - `gcs`: Google Cloud Storage with the pod's ambient credentials (Workload Identity through the metadata server).
 * - `volume`: a shared file-system repository on a volume mounted at the same path on every node (`path.repo`). Every
 *   node, master or data, must see the same files: with one node a ReadWriteOnce volume works; with more it must be
 *   ReadWriteMany (NFS, CephFS, Longhorn RWX, ...). A ReadWriteOnce volume with several nodes is refused: the second
 *   node's pod could not even start next to the first.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import type { RepositoryStore, WorkloadIdentity } from "../platform/contract";
import type { Scope } from "./data-tier";
import { withDefaults } from "./defaults";
import { Problem, problem } from "./validation";
import { parseQuantity } from "../lib/quantity";

type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
type EnvVar = k8s.types.input.core.v1.EnvVar;

/** The repository's name in Elasticsearch. */
export const SNAPSHOT_REPOSITORY = "herd-backups";
/** The SLM policy's name. */
export const SNAPSHOT_POLICY = "herd-snapshots";
/** Where a file-system repository is mounted in every node. */
export const FS_REPOSITORY_PATH = "/mnt/snapshots";
/** Where repository-s3 looks for a web identity token (relative to the config directory). */
export const S3_WEB_IDENTITY_DIR = "repository-s3";
export const S3_WEB_IDENTITY_FILE = "aws-web-identity-token-file";

/**
 * Where snapshots go: the platform's repository for Elasticsearch (Platform.repository("elasticsearch")), as
 * Elasticsearch's repository plugins see it. `volume` is a shared file-system repository.
 */
export type ElasticSnapshotStore = RepositoryStore;

export interface ElasticSnapshotArgs {
    readonly store: ElasticSnapshotStore;
    /**
     * Grants the cluster's ServiceAccount access to an object store (IRSA, Workload Identity). Elasticsearch needs
     * to write, read, overwrite and delete objects under its base path (SLM retention deletes old snapshots).
     * @default none: the store's own credentials (keys or ambient)
     */
    readonly identity?: WorkloadIdentity;
    /** Minutes between snapshots: divides an hour (1..60) or is whole hours dividing a day (120..1440). @default 30 */
    readonly intervalMinutes?: number;
    /** Days a snapshot is kept (SLM `expire_after`). @default 7 */
    readonly retentionDays?: number;
    /** Snapshots always kept, however old (SLM `min_count`). @default 5 */
    readonly minCount?: number;
    /** Snapshots kept at most (SLM `max_count`): 7 days every 30 minutes is 336. @default 500 */
    readonly maxCount?: number;
    /** Size of a file-system repository's volume. @default "20Gi" */
    readonly volumeSize?: string;
}

export function snapshotDefaults(args: ElasticSnapshotArgs) {
    return {
        store: args.store,
        identity: args.identity,
        ...withDefaults(args, { intervalMinutes: 30, retentionDays: 7, minCount: 5, maxCount: 500, volumeSize: "20Gi" }),
    };
}
export type SnapshotResolved = ReturnType<typeof snapshotDefaults>;

/**
 * The SLM schedule (a Quartz cron expression, seconds first) for an interval, or undefined when the interval does
 * not divide an hour or a day evenly (a cron step would then drift at every hour or day boundary).
 */
export function slmSchedule(intervalMinutes: number): string | undefined {
    if (!Number.isInteger(intervalMinutes) || intervalMinutes < 1) {
        return undefined;
    }
    if (intervalMinutes < 60) {
        return 60 % intervalMinutes === 0 ? `0 0/${intervalMinutes} * * * ?` : undefined;
    }
    if (intervalMinutes % 60 === 0 && 24 % (intervalMinutes / 60) === 0) {
        const hours = intervalMinutes / 60;
        return hours === 1 ? "0 0 * * * ?" : hours === 24 ? "0 0 0 * * ?" : `0 0 0/${hours} * * ?`;
    }
    return undefined;
}

const whole = (value: number, min: number) => Number.isInteger(value) && value >= min;

/** Every problem with the snapshot arguments, as `snapshots.<field>`. */
export function snapshotProblems(s: SnapshotResolved, replicas: number): Problem[] {
    const problems: Problem[] = [];
    if (slmSchedule(s.intervalMinutes) === undefined) {
        problems.push(
            problem(
                "snapshots.intervalMinutes",
                `expected minutes that divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60) or whole hours that divide a day (120, 180, 240, 360, 480, 720, 1440), got ${s.intervalMinutes}`,
            ),
        );
    }
    if (!whole(s.retentionDays, 1)) {
        problems.push(problem("snapshots.retentionDays", `expected a whole number of days of at least 1, got ${s.retentionDays}`));
    }
    if (!whole(s.minCount, 1)) {
        problems.push(problem("snapshots.minCount", `expected a whole number of at least 1, got ${s.minCount}`));
    }
    if (!whole(s.maxCount, 1) || (whole(s.minCount, 1) && s.maxCount < s.minCount)) {
        problems.push(problem("snapshots.maxCount", `expected a whole number of at least minCount (${s.minCount}), got ${s.maxCount}`));
    }
    if (s.store.kind === "volume") {
        const size = parseQuantity(s.volumeSize);
        if (size === undefined || size <= 0) {
            problems.push(problem("snapshots.volumeSize", `expected a Kubernetes quantity such as 20Gi, got ${JSON.stringify(s.volumeSize)}`));
        }
        if (replicas > 1 && s.store.accessMode === "ReadWriteOnce") {
            problems.push(
                problem(
                    "snapshots.store",
                    `a file-system repository must be mounted by every node: with ${replicas} nodes it needs a ReadWriteMany volume, got ReadWriteOnce (use an S3-compatible store, a ReadWriteMany storage class, or 1 node)`,
                ),
            );
        }
    }
    if (s.store.kind === "s3" && s.store.endpoint !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(s.store.endpoint)) {
        problems.push(problem("snapshots.store.endpoint", `expected an http:// or https:// URL with a host and no path, got ${JSON.stringify(s.store.endpoint)}`));
    }
    return problems;
}

/**
 * The repository's base path in an object store: the store's prefix (`elasticsearch/`, beside the PostgreSQL dumps
 * in `postgres/`, never among them), then `<namespace>/<name>`.
 */
export function snapshotBasePath(prefix: string, namespace: string, name: string): string {
    return `${prefix}${namespace}/${name}`;
}

/** The body of `PUT _snapshot/<repository>`. */
export function repositoryBody(store: ElasticSnapshotStore, bucket: string | undefined, basePath: string): { type: string; settings: Record<string, string | boolean> } {
    switch (store.kind) {
        case "s3":
        case "gcs":
            return { type: store.kind, settings: { bucket: bucket ?? "", base_path: basePath, client: "default", compress: true } };
        case "volume":
            return { type: "fs", settings: { location: FS_REPOSITORY_PATH, compress: true } };
    }
}

/** The body of `PUT _slm/policy/<policy>`: every index and the cluster state, on the schedule, with retention. */
export function slmPolicyBody(s: Pick<SnapshotResolved, "intervalMinutes" | "retentionDays" | "minCount" | "maxCount">) {
    return {
        // SLM adds a unique suffix to every name; the date makes a listing readable.
        name: "<herd-snap-{now/d}>",
        schedule: slmSchedule(s.intervalMinutes) ?? "",
        repository: SNAPSHOT_REPOSITORY,
        config: { indices: ["*"], include_global_state: true },
        retention: { expire_after: `${s.retentionDays}d`, min_count: s.minCount, max_count: s.maxCount },
    };
}

/** elasticsearch.yml settings the store needs. */
export function snapshotNodeSettings(store: ElasticSnapshotStore): Record<string, string | boolean | string[]> {
    if (store.kind === "volume") {
        return { "path.repo": [FS_REPOSITORY_PATH] };
    }
    if (store.kind === "s3" && store.endpoint !== undefined) {
        const url = new URL(store.endpoint);
        // An S3-compatible store (MinIO, Ceph, ...) at its own address, with bucket names in the path.
        return { "s3.client.default.endpoint": url.host, "s3.client.default.protocol": url.protocol.replace(":", ""), "s3.client.default.path_style_access": true };
    }
    return {};
}

/** What the setup Job and the Elasticsearch pods get when snapshots are on. */
export interface SnapshotSetup {
    /** The setup Job's env: the repository, its body, the policy and its body. */
    readonly env: EnvVar[];
    /** elasticsearch.yml additions. */
    readonly nodeSettings: Record<string, string | boolean | string[]>;
    /** The pods' ServiceAccount (bound to the store's identity), when there is one. */
    readonly serviceAccountName?: pulumi.Input<string>;
    readonly volumes: k8s.types.input.core.v1.Volume[];
    /** Mounts of the Elasticsearch container. */
    readonly mounts: k8s.types.input.core.v1.VolumeMount[];
    /** Env of the config init container: credentials it puts into the keystore. */
    readonly keystoreEnv: EnvVar[];
    /** Keystore entry -> the init container's env variable holding its value. */
    readonly keystoreEntries: Readonly<Record<string, string>>;
    /** Env of the Elasticsearch container (the identity binding's). */
    readonly serverEnv: EnvVar[];
    readonly egress: EgressRule[];
}

/**
 * Creates what snapshots need beside the StatefulSet (a ServiceAccount bound to the store's identity, or the shared
 * volume's claim) and returns the rest as data for the pods and the setup Job.
 */
export function snapshotSetup(scope: Scope, s: SnapshotResolved, protect: boolean): SnapshotSetup {
    const name = scope.name;
    const store = s.store;
    const prefix = store.kind === "volume" ? "" : store.prefix;
    const basePath = pulumi.output(scope.namespace).apply((ns) => snapshotBasePath(prefix, ns, name));
    const bucket = store.kind === "volume" ? pulumi.output<string | undefined>(undefined) : pulumi.output(store.bucket);
    const env: EnvVar[] = [
        { name: "SNAPSHOT_REPOSITORY", value: SNAPSHOT_REPOSITORY },
        { name: "REPOSITORY_JSON", value: pulumi.all([bucket, basePath]).apply(([b, p]) => JSON.stringify(repositoryBody(store, b, p))) },
        { name: "SLM_POLICY", value: SNAPSHOT_POLICY },
        { name: "SLM_JSON", value: JSON.stringify(slmPolicyBody(s)) },
    ];
    const volumes: k8s.types.input.core.v1.Volume[] = [];
    const mounts: k8s.types.input.core.v1.VolumeMount[] = [];
    let serviceAccountName: pulumi.Input<string> | undefined;
    let serverEnv: EnvVar[] = [];
    if (s.identity !== undefined && store.kind !== "volume") {
        const binding = s.identity.bind({ name: `${name}-snapshots`, namespace: scope.namespace, serviceAccountName: name, parent: scope.parent });
        const account = new k8s.core.v1.ServiceAccount(
            name,
            { metadata: { name, namespace: scope.namespace, labels: { ...scope.labels }, annotations: { ...binding.serviceAccountAnnotations } }, automountServiceAccountToken: false },
            { parent: scope.parent },
        );
        serviceAccountName = account.metadata.name;
        serverEnv = [...binding.env];
    }
    const keystoreEnv: EnvVar[] = [];
    const keystoreEntries: Record<string, string> = {};
    if (store.kind === "s3" && store.webIdentityAudience !== undefined) {
        volumes.push({
            name: "web-identity",
            projected: { sources: [{ serviceAccountToken: { audience: store.webIdentityAudience, expirationSeconds: 86400, path: S3_WEB_IDENTITY_FILE } }] },
        });
        mounts.push({ name: "web-identity", mountPath: `/usr/share/elasticsearch/config/${S3_WEB_IDENTITY_DIR}`, readOnly: true });
    }
    if (store.kind === "s3" && store.credentialsSecret !== undefined) {
        for (const [entry, key] of [
            ["s3.client.default.access_key", "AWS_ACCESS_KEY_ID"],
            ["s3.client.default.secret_key", "AWS_SECRET_ACCESS_KEY"],
        ] as const) {
            keystoreEnv.push({ name: key, valueFrom: { secretKeyRef: { name: store.credentialsSecret, key } } });
            keystoreEntries[entry] = key;
        }
    }
    if (store.kind === "volume") {
        const claim = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-snapshots`,
            {
                // WaitForFirstConsumer classes bind when the first pod mounts it: nothing to wait for here.
                metadata: { name: `${name}-snapshots`, namespace: scope.namespace, labels: { ...scope.labels }, annotations: { "pulumi.com/skipAwait": "true" } },
                spec: { accessModes: [store.accessMode], storageClassName: store.storageClassName, resources: { requests: { storage: s.volumeSize } } },
            },
            // Snapshots outlive the stack, as the PostgreSQL backup volume does.
            { parent: scope.parent, protect, retainOnDelete: true },
        );
        volumes.push({ name: "snapshots", persistentVolumeClaim: { claimName: claim.metadata.name } });
        mounts.push({ name: "snapshots", mountPath: FS_REPOSITORY_PATH });
    }
    return {
        env,
        nodeSettings: snapshotNodeSettings(store),
        serviceAccountName,
        volumes,
        mounts,
        keystoreEnv,
        keystoreEntries,
        serverEnv,
        egress: store.kind === "volume" ? [] : [...store.egress],
    };
}
