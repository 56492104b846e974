/**
 * PostgresStateful's nightly backup: a CronJob that dumps with pg_dump, then hands the dump to the platform's
 * uploader (an object store) or keeps it on a backup volume and prunes old dumps. Its own NetworkPolicy lets it reach
 * only DNS, the database and the store.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels } from "../lib/labels";
import { parseQuantity } from "../lib/quantity";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import type { Scope } from "./data-tier";
import { DNS_EGRESS, networkPolicy, podsWith } from "./network-policy";
import { PostgresBackupArgs, PostgresResolved, PostgresStatefulArgs, POSTGRES_PORT as PORT, POSTGRES_UID } from "./postgres-settings";
import { CA_FILE, CA_MOUNT_PATH } from "./internal-ca";

/**
 * The backup job's dump step: a custom-format pg_dump into $BACKUP_DIR, named by time; prints the file name.
 * Reads connection settings from PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD (the backup role and its Secret).
 *
 * It first checks there is room: the tables' size on disk (rows and TOAST, no index: a custom-format dump holds the
 * rows, compressed, and no index) against what $BACKUP_DIR has free, or SCRATCH_LIMIT_BYTES when that is smaller
 * (an emptyDir's size limit, which `df` does not show; past it the kubelet evicts the pod with an obscure message).
 * A database grown past the room (a volume resized by hand) fails here, naming the key to raise (ROOM_SETTING).
 */
export function dumpScript(name: string): string {
    return [
        "set -eu",
        `need=$(psql -XAtc "SELECT coalesce(sum(pg_table_size(oid)), 0) FROM pg_class WHERE relkind IN ('r', 'm')")`,
        `free_kb=$(df -Pk "$BACKUP_DIR" | awk 'NR == 2 { print $4 }')`,
        "room=$((free_kb * 1024))",
        'if [ -n "${SCRATCH_LIMIT_BYTES:-}" ] && [ "$SCRATCH_LIMIT_BYTES" -lt "$room" ]; then room=$SCRATCH_LIMIT_BYTES; fi',
        'if [ "$need" -gt "$room" ]; then',
        '    echo "backup: the tables take $((need / 1048576)) MiB and $BACKUP_DIR has room for $((room / 1048576)) MiB, so the dump may not fit: raise herd:${ROOM_SETTING:-backupScratchSize}" >&2',
        "    exit 1",
        "fi",
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

/** The nightly backup: a CronJob that dumps, then uploads (or keeps the dump on a backup volume and prunes). */
export function createBackup(
    scope: Scope,
    r: PostgresResolved,
    args: PostgresStatefulArgs,
    backup: PostgresBackupArgs,
    login: { readonly user: string; readonly secret: k8s.core.v1.Secret },
    backupLabels: Readonly<Record<string, string>>,
    passwordKey: string,
    /** The internal CA's ConfigMap: pg_dump verifies the server's certificate against it (verify-full). */
    caConfigMap: pulumi.Input<string>,
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
        { name: "PGHOST", value: scope.name }, // the client Service's fixed name (data-tier.ts services())
        { name: "PGPORT", value: String(PORT) },
        // The backup role: reads everything, writes nothing (postgres-roles.ts).
        { name: "PGUSER", value: login.user },
        { name: "PGDATABASE", value: r.database },
        { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: login.secret.metadata.name, key: passwordKey } } },
        // TLS, with the server's certificate checked against herd's CA for the name dialled (pg_hba takes nothing else).
        { name: "PGSSLMODE", value: "verify-full" },
        { name: "PGSSLROOTCERT", value: CA_FILE },
        { name: "BACKUP_DIR", value: "/backup" },
        // Which key gives the dump its room: the scratch space before an upload, or the backup volume.
        { name: "ROOM_SETTING", value: store.kind === "objectStore" ? "backupScratchSize" : "backupVolumeSize" },
        ...(store.kind === "objectStore" ? [{ name: "SCRATCH_LIMIT_BYTES", value: String(parseQuantity(r.backupScratchSize) ?? 0) }] : []),
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
            { name: "internal-ca", mountPath: CA_MOUNT_PATH, readOnly: true },
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
        // Sized by herd:backupScratchSize (default: the data volume's size), not silently by the data volume's
        // original size: a volume grown by hand would outgrow it.
        backupVolume = { name: "backup", emptyDir: { sizeLimit: r.backupScratchSize } };
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
            spec: backupCronJobSpec({
                schedule: backup.schedule,
                labels,
                activeDeadlineSeconds: 6 * 3600,
                template: {
                    metadata: { labels },
                    spec: {
                        serviceAccountName: serviceAccount.metadata.name,
                        automountServiceAccountToken: false,
                        restartPolicy: "Never",
                        securityContext: restrictedPodSecurityContext(POSTGRES_UID),
                        initContainers,
                        containers,
                        volumes: [backupVolume, scratchVolume("tmp", "256Mi"), { name: "internal-ca", configMap: { name: caConfigMap, defaultMode: 0o444 } }],
                    },
                },
            }),
        },
        { parent: scope.parent },
    );

    networkPolicy(scope, name, backupLabels, [], egress);
}

/**
 * The schedule policy every PostgreSQL backup CronJob shares: never two runs at once, a missed run may still start
 * within the hour, the last three successes and failures kept, each Job retried twice and kept a week.
 */
export function backupCronJobSpec(args: {
    readonly schedule: pulumi.Input<string>;
    readonly labels: Readonly<Record<string, string>>;
    readonly activeDeadlineSeconds: number;
    readonly template: k8s.types.input.core.v1.PodTemplateSpec;
}): k8s.types.input.batch.v1.CronJobSpec {
    return {
        schedule: args.schedule,
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
            metadata: { labels: args.labels },
            spec: { backoffLimit: 2, activeDeadlineSeconds: args.activeDeadlineSeconds, ttlSecondsAfterFinished: 7 * 24 * 3600, template: args.template },
        },
    };
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
