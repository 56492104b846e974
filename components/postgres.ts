/**
 * PostgresStateful: one PostgreSQL primary in a StatefulSet that keeps its data through replacements, restarts and
 * `pulumi destroy`, with settings derived from its memory, a restricted pod, probes that ask the server itself, a
 * fast clean shutdown, and nightly pg_dump backups to the platform's object store (or a backup volume).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { BackupStore, WorkloadIdentity } from "../platform/contract";
import { cronProblem } from "../lib/cron";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import { MiB, parseQuantity, toMegabytesSetting } from "../lib/quantity";
import {
    credentials,
    dataScope,
    DataComponentArgs,
    DataEndpoint,
    disruptionBudget,
    safeStatefulSetFields,
    Scope,
    serviceHost,
    services,
} from "./data-tier";
import { DNS_EGRESS, networkPolicy, podsWith } from "./network-policy";
import { checkDataSizing, throwIfProblems } from "./validation";
import { numberDefault, stringDefault } from "../config";

/** PostgreSQL 16, the official image (Debian), pinned. It runs as the `postgres` user, UID/GID 999. */
export const POSTGRES_IMAGE = "postgres:16.9-bookworm";
export const POSTGRES_UID = 999;
const PORT = 5432;

export interface PostgresBackupArgs {
    /** Cron schedule of the backup job. */
    readonly schedule: string;
    /** Days a backup is kept: the bucket's rule on a cloud store, pruning by the job on a backup volume. */
    readonly retentionDays: number;
    /** Where dumps go (the platform's store). */
    readonly store: BackupStore;
    /** How the job gets permission to write there (the platform's hook). */
    readonly identity: WorkloadIdentity;
    /** Size of the backup volume when the store is a volume. @default "50Gi" */
    readonly volumeSize?: string;
}

export interface PostgresStatefulArgs extends DataComponentArgs {
    /** Data volume size; can grow later, never shrink. @default "20Gi" */
    readonly storageSize?: string;
    /** Memory request and limit; shared_buffers and effective_cache_size derive from it. @default "2Gi" */
    readonly memory?: string;
    /** CPU request (limit: twice this). @default "500m" */
    readonly cpu?: string;
    /** max_connections. @default 100 */
    readonly maxConnections?: number;
    /** Database created at first start. @default "herd" */
    readonly database?: string;
    /** Owner of that database. @default "herd" */
    readonly user?: string;
    /** @default POSTGRES_IMAGE */
    readonly image?: string;
    /** Backups; undefined: none (herd's stacks always configure them). */
    readonly backup?: PostgresBackupArgs;
}

export interface PostgresResolved {
    readonly storageSize: string;
    readonly memory: string;
    readonly cpu: string;
    readonly maxConnections: number;
    readonly database: string;
    readonly user: string;
    readonly image: string;
    readonly protect: boolean;
    readonly backupVolumeSize: string;
}

/** Every default, in one place. */
export function postgresDefaults(args: PostgresStatefulArgs): PostgresResolved {
    return {
        storageSize: args.storageSize ?? stringDefault("postgresStorageSize"),
        memory: args.memory ?? stringDefault("postgresMemory"),
        cpu: args.cpu ?? stringDefault("postgresCpu"),
        maxConnections: args.maxConnections ?? numberDefault("postgresMaxConnections"),
        database: args.database ?? "herd",
        user: args.user ?? "herd",
        image: args.image ?? POSTGRES_IMAGE,
        protect: args.protect ?? true,
        backupVolumeSize: args.backup?.volumeSize ?? stringDefault("backupVolumeSize"),
    };
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Every problem with the arguments, as "field: expected ..., got ...". */
export function postgresProblems(r: PostgresResolved, backup: PostgresBackupArgs | undefined): string[] {
    const problems = checkDataSizing({ storageSize: r.storageSize, memory: r.memory, minMemoryBytes: 256 * MiB, minMemoryText: "256Mi", cpu: r.cpu });
    if (!Number.isInteger(r.maxConnections) || r.maxConnections < 10) {
        problems.push(`maxConnections: expected a whole number of at least 10, got ${r.maxConnections}`);
    }
    for (const [field, value] of [["database", r.database], ["user", r.user]] as const) {
        if (!IDENTIFIER.test(value)) {
            problems.push(`${field}: expected a lowercase SQL identifier (letters, digits, _), got ${JSON.stringify(value)}`);
        }
    }
    if (r.user === "postgres") {
        problems.push('user: expected an application user, not the superuser "postgres"');
    }
    if (backup !== undefined) {
        const cron = cronProblem(backup.schedule);
        if (cron !== undefined) {
            problems.push(`backup.schedule: ${cron}`);
        }
        if (!Number.isInteger(backup.retentionDays) || backup.retentionDays < 1) {
            problems.push(`backup.retentionDays: expected a whole number of days, at least 1, got ${backup.retentionDays}`);
        }
        const size = parseQuantity(r.backupVolumeSize);
        if (size === undefined || size <= 0) {
            problems.push(`backup.volumeSize: expected a Kubernetes quantity such as 50Gi, got ${JSON.stringify(r.backupVolumeSize)}`);
        }
    }
    return problems;
}

/** Server settings derived from the memory limit: a quarter for shared buffers, three quarters expected as cache. */
export function postgresSettings(memory: string, maxConnections: number): Record<string, string> {
    const bytes = parseQuantity(memory) ?? 0;
    return {
        max_connections: String(maxConnections),
        shared_buffers: toMegabytesSetting(bytes * 0.25),
        effective_cache_size: toMegabytesSetting(bytes * 0.75),
        maintenance_work_mem: toMegabytesSetting(Math.min(bytes / 16, 2 * 1024 * MiB)),
        // The data volume is the durable copy: never trade it for speed.
        fsync: "on",
        synchronous_commit: "on",
        full_page_writes: "on",
        password_encryption: "scram-sha-256",
        listen_addresses: "*",
    };
}

/**
 * The backup job's dump step: a custom-format pg_dump into $BACKUP_DIR, named by time; prints the file name.
 * Reads connection settings from PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD (the password from the Secret).
 */
export function dumpScript(name: string): string {
    return [
        "set -eu",
        `file="$BACKUP_DIR/${name}-$(date -u +%Y%m%dT%H%M%SZ).dump"`,
        'pg_dump --format=custom --no-owner --no-privileges --file="$file.partial"',
        // Only a complete dump gets its final name: an interrupted job never leaves something that looks restorable.
        'mv "$file.partial" "$file"',
        'echo "$file"',
    ].join("\n");
}

/** Pruning on a backup volume: dumps older than the retention go. */
export function pruneScript(retentionDays: number): string {
    return `find "$BACKUP_DIR" -maxdepth 1 -type f -name '*.dump' -mtime +${retentionDays - 1} -print -delete`;
}

/** Object-store key prefix of this component's dumps. */
export function backupPrefix(namespace: pulumi.Input<string>, name: string): pulumi.Output<string> {
    return pulumi.interpolate`postgres/${namespace}/${name}/`;
}

export class PostgresStateful extends pulumi.ComponentResource implements DataEndpoint {
    readonly host: pulumi.Output<string>;
    readonly port = PORT;
    readonly secretName: pulumi.Output<string>;
    readonly passwordKey = "password";
    readonly user: string;
    readonly database: string;
    /** Name of the StatefulSet (fixed: `<name>`). */
    readonly statefulSetName: pulumi.Output<string>;
    readonly podSelector: Readonly<Record<string, string>>;

    constructor(name: string, args: PostgresStatefulArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:PostgresStateful", name, {}, opts);
        const r = postgresDefaults(args);
        throwIfProblems("PostgresStateful", name, postgresProblems(r, args.backup), this);

        const scope = dataScope(this, name, { name: "postgres", component: "database" }, args, r.protect);
        const { labels, selector } = scope;
        this.podSelector = selector;

        const { secret } = credentials(scope, { username: r.user, database: r.database }, this.passwordKey);
        const { client } = services(scope, [{ name: "postgres", port: PORT }]);
        const env: k8s.types.input.core.v1.EnvVar[] = [
            { name: "POSTGRES_USER", value: r.user },
            { name: "POSTGRES_DB", value: r.database },
            { name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: this.passwordKey } } },
            // A subdirectory: the volume's root may hold lost+found, which initdb refuses.
            { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
            { name: "PGUSER", value: r.user },
            { name: "PGDATABASE", value: r.database },
        ];
        const settings = postgresSettings(r.memory, r.maxConnections);
        const socket = ["-h", "/var/run/postgresql"];
        const isReady = ["pg_isready", "-h", "127.0.0.1", "-p", String(PORT)];

        const statefulSet = new k8s.apps.v1.StatefulSet(
            name,
            {
                metadata: { name, namespace: args.namespace, labels },
                spec: {
                    ...safeStatefulSetFields(scope, args.storageClassName, r.storageSize),
                    replicas: 1,
                    podManagementPolicy: "OrderedReady",
                    updateStrategy: { type: "RollingUpdate" },
                    template: {
                        metadata: { labels: { ...labels } },
                        spec: {
                            securityContext: restrictedPodSecurityContext(POSTGRES_UID),
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            // preStop asks for a fast shutdown (the default SIGTERM means "smart": wait for every
                            // client to leave); the grace period covers the checkpoint that follows.
                            terminationGracePeriodSeconds: 120,
                            containers: [
                                {
                                    name: "postgres",
                                    image: r.image,
                                    args: Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
                                    env,
                                    ports: [{ name: "postgres", containerPort: PORT, protocol: "TCP" }],
                                    resources: resourceRequirements({ cpu: r.cpu, memory: r.memory }),
                                    securityContext: restrictedContainerSecurityContext(),
                                    volumeMounts: [
                                        { name: "data", mountPath: "/var/lib/postgresql/data" },
                                        { name: "run", mountPath: "/var/run/postgresql" },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                    // Up to 10 minutes to start: first initdb, or crash recovery of a large database.
                                    // On TCP, not the socket: during initdb the image runs a socket-only temporary server.
                                    startupProbe: { exec: { command: isReady }, periodSeconds: 5, failureThreshold: 120, timeoutSeconds: 5 },
                                    // Ready when it accepts connections on the network, as clients reach it.
                                    readinessProbe: {
                                        exec: { command: isReady },
                                        periodSeconds: 10,
                                        timeoutSeconds: 5,
                                        failureThreshold: 3,
                                    },
                                    // Alive when it answers a query (a hung server still accepts TCP).
                                    livenessProbe: {
                                        exec: { command: ["psql", ...socket, "-tAc", "SELECT 1"] },
                                        periodSeconds: 15,
                                        timeoutSeconds: 10,
                                        failureThreshold: 6,
                                    },
                                    lifecycle: {
                                        preStop: { exec: { command: ["/bin/sh", "-c", 'pg_ctl stop -D "$PGDATA" -m fast -w -t 100 || true'] } },
                                    },
                                },
                            ],
                            volumes: [scratchVolume("run", "16Mi"), scratchVolume("tmp", "256Mi")],
                        },
                    },
                },
            },
            { parent: this, protect: r.protect },
        );

        disruptionBudget(scope, 1);
        const backupLabels = { ...selectorLabels({ name: "postgres-backup", instance: name }) };
        networkPolicy(
            scope,
            name,
            selector,
            [{ from: [podsWith(args.clientLabels), podsWith(backupLabels)], ports: [{ protocol: "TCP", port: PORT }] }],
            // The server needs no network of its own; it only answers.
            [],
        );

        if (args.backup !== undefined) {
            createBackup(scope, r, args, args.backup, secret, client, backupLabels, this.passwordKey);
        }

        this.host = serviceHost(client);
        this.secretName = secret.metadata.name;
        this.user = r.user;
        this.database = r.database;
        this.statefulSetName = statefulSet.metadata.name;
        this.registerOutputs({ host: this.host, port: this.port, secretName: this.secretName, user: this.user, database: this.database });
    }
}

/** The nightly backup: a CronJob that dumps, then uploads (or keeps the dump on a backup volume and prunes). */
function createBackup(
    scope: Scope,
    r: PostgresResolved,
    args: PostgresStatefulArgs,
    backup: PostgresBackupArgs,
    secret: k8s.core.v1.Secret,
    client: k8s.core.v1.Service,
    backupLabels: Readonly<Record<string, string>>,
    passwordKey: string,
): void {
    const name = `${scope.name}-backup`;
    const labels = { ...recommendedLabels({ name: "postgres-backup", instance: scope.name, component: "backup" }), ...backupLabels };
    const namespace = args.namespace;
    const store = backup.store;

    const binding = backup.identity.bind({ name, namespace, serviceAccountName: name, parent: scope.parent });
    const serviceAccount = new k8s.core.v1.ServiceAccount(
        name,
        { metadata: { name, namespace, labels, annotations: { ...binding.serviceAccountAnnotations } }, automountServiceAccountToken: false },
        { parent: scope.parent },
    );

    const dumpEnv: k8s.types.input.core.v1.EnvVar[] = [
        { name: "PGHOST", value: client.metadata.name },
        { name: "PGPORT", value: String(PORT) },
        { name: "PGUSER", value: r.user },
        { name: "PGDATABASE", value: r.database },
        { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: passwordKey } } },
        { name: "BACKUP_DIR", value: "/backup" },
    ];
    const container = (c: k8s.types.input.core.v1.Container): k8s.types.input.core.v1.Container => ({
        resources: resourceRequirements({ cpu: "100m", memory: "256Mi" }),
        securityContext: restrictedContainerSecurityContext(),
        ...c,
    });
    const dump = container({
        name: "dump",
        image: r.image,
        command: ["/bin/sh", "-c", dumpScript(scope.name)],
        env: dumpEnv,
        volumeMounts: [
            { name: "backup", mountPath: "/backup" },
            { name: "tmp", mountPath: "/tmp" },
        ],
    });

    const prefix = backupPrefix(namespace, scope.name);
    let initContainers: k8s.types.input.core.v1.Container[] = [];
    let containers: k8s.types.input.core.v1.Container[];
    let backupVolume: k8s.types.input.core.v1.Volume;
    const egress: k8s.types.input.networking.v1.NetworkPolicyEgressRule[] = [
        DNS_EGRESS,
        { to: [podsWith(scope.selector)], ports: [{ protocol: "TCP", port: PORT }] },
    ];
    if (store.kind === "objectStore") {
        // The platform's uploader, as data: this component names no store. Each variable is set once: the identity
        // binding's and the uploader's env are disjoint by contract, and a repeat is refused.
        const uploader = store.uploader;
        initContainers = [dump];
        containers = [
            container({
                name: "upload",
                image: uploader.image,
                command: ["/bin/sh", "-c", uploader.script],
                env: uniqueEnv(name, [
                    { name: "HOME", value: "/tmp" },
                    ...binding.env,
                    { name: "BUCKET", value: uploader.bucket },
                    { name: "PREFIX", value: prefix },
                    ...uploader.env,
                ]),
                volumeMounts: [
                    { name: "backup", mountPath: "/backup", readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                ],
            }),
        ];
        backupVolume = { name: "backup", emptyDir: { sizeLimit: r.storageSize } };
        egress.push(...uploader.egress);
    } else {
        const claim = new k8s.core.v1.PersistentVolumeClaim(
            `${scope.name}-backups`,
            {
                // Nothing to wait for: the class binds a claim when its first pod (the first backup Job) is
                // scheduled. pulumi-kubernetes waits for a WaitForFirstConsumer claim to be exactly Pending, so
                // one already Bound (a new `up` after a teardown that kept it) timed out after 5 minutes in the
                // e2e run.
                metadata: { name: `${scope.name}-backups`, namespace, labels, annotations: { "pulumi.com/skipAwait": "true" } },
                spec: {
                    accessModes: ["ReadWriteOnce"],
                    storageClassName: store.storageClassName,
                    resources: { requests: { storage: r.backupVolumeSize } },
                },
            },
            // Backups outlive the stack: `pulumi destroy` (once protection is lifted) leaves the claim, so its
            // volume stays bound and a new `up` finds the old dumps (the e2e teardown proved a deleted claim
            // strands its Retain volume as Released).
            { parent: scope.parent, protect: r.protect, retainOnDelete: true },
        );
        containers = [{ ...dump, command: ["/bin/sh", "-c", `${dumpScript(scope.name)}\n${pruneScript(backup.retentionDays)}`] }];
        backupVolume = { name: "backup", persistentVolumeClaim: { claimName: claim.metadata.name } };
    }

    new k8s.batch.v1.CronJob(
        name,
        {
            metadata: { name, namespace, labels },
            spec: {
                schedule: backup.schedule,
                concurrencyPolicy: "Forbid",
                startingDeadlineSeconds: 3600,
                successfulJobsHistoryLimit: 3,
                failedJobsHistoryLimit: 3,
                jobTemplate: {
                    metadata: { labels },
                    spec: {
                        backoffLimit: 2,
                        activeDeadlineSeconds: 6 * 3600,
                        ttlSecondsAfterFinished: 7 * 24 * 3600,
                        template: {
                            metadata: { labels },
                            spec: {
                                serviceAccountName: serviceAccount.metadata.name,
                                automountServiceAccountToken: false,
                                restartPolicy: "Never",
                                securityContext: restrictedPodSecurityContext(POSTGRES_UID),
                                initContainers,
                                containers,
                                volumes: [backupVolume, scratchVolume("tmp", "256Mi")],
                            },
                        },
                    },
                },
            },
        },
        { parent: scope.parent },
    );

    networkPolicy(scope, name, backupLabels, [], egress);
}

/** An env list as is, once every name is known to appear only once (a repeat is a platform bug, not something to merge). */
export function uniqueEnv(owner: string, env: readonly k8s.types.input.core.v1.EnvVar[]): k8s.types.input.core.v1.EnvVar[] {
    const names = env.map((e) => String(e.name));
    const repeated = names.filter((n, i) => names.indexOf(n) !== i);
    if (repeated.length > 0) {
        throw new Error(`${owner}: env ${[...new Set(repeated)].join(", ")} set more than once (identity binding and backup uploader overlap)`);
    }
    return [...env];
}
