/**
 * PostgresStateful's point-in-time recovery with pgBackRest (the tools: images/postgres; the server settings:
 * postgres-archive.ts):
 * - the server archives every WAL segment into the platform's pgBackRest repository (an S3 or GCS prefix, or a
 *   volume `<name>-pgbackrest`), with its own ServiceAccount bound to the repository's identity;
 * - two CronJobs, `<name>-pitr-full` and `<name>-pitr-diff`, run `herd-pg-backup full|diff` INSIDE the PostgreSQL
 *   pod through `kubectl exec` (the data directory and the socket are there), with a ServiceAccount that may only
 *   exec into `<name>-0`; a Job `<name>-pitr-first` takes the first full backup once the server is up;
 * - a suspended CronJob `<name>-pitr-restore` holds the restore pod (the server's image, repository settings,
 *   volumes, ServiceAccount and security), which scripts/restore-postgres.sh --pitr starts with
 *   `kubectl create job --from=cronjob/<name>-pitr-restore` once the StatefulSet is at 0.
 *
 * pgBackRest is configured only by PGBACKREST_* variables. The repository's settings that are not secret are in a
 * ConfigMap `<name>-pgbackrest` the server and the restore read with envFrom (one place; its hash is on the pod
 * template, so a change rolls the server); keys come from the customer's Secret through secretKeyRef.
 */
import { createHash } from "node:crypto";
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import type { RepositoryStore } from "../platform/contract";
import type { Scope } from "./data-tier";
import { DNS_EGRESS, networkPolicy } from "./network-policy";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import { archiveServerEnv, PGBACKREST_STANZA } from "./postgres-archive";
import { backupCronJobSpec, uniqueEnv } from "./postgres-backup";
import type { ArchiveResolved } from "./postgres-settings";
import { POSTGRES_UID } from "./postgres-settings";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** The server's data directory (PGDATA): a subdirectory of the volume, whose root may hold lost+found. */
export const PGDATA = "/var/lib/postgresql/data/pgdata";
/** Where a volume repository is mounted (the server and the restore pod). */
export const PGBACKREST_VOLUME_PATH = "/var/lib/pgbackrest";
/** Where the projected web identity token is mounted (S3 with web identity: IRSA on aws). */
export const WEB_IDENTITY_DIR = "/var/run/secrets/herd/aws";
export const WEB_IDENTITY_TOKEN_FILE = `${WEB_IDENTITY_DIR}/token`;

/**
 * kubectl for the backup CronJobs: Kubernetes' own image, at the minor of the clusters herd creates
 * (herd:kubernetesVersion defaults to 1.33; kubectl talks to servers one minor either side). Patch 1.33.3 is a
 * release this repository already resolves (k8s.io/kubectl v0.33.3 in e2e/'s go.sum); the image's existence at
 * that tag was not checked from here (no registry access). It runs `/bin/kubectl` (where the image keeps it) with no
 * shell. UID 65532: the image is distroless and runs as anyone.
 */
export const KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.33.3";
export const KUBECTL_UID = 65532;

/** The ConfigMap key and name the restore reads its target from (scripts/restore-postgres.sh --pitr writes it). */
export function restoreTargetConfigMap(name: string): string {
    return `${name}-pitr-target`;
}

/**
 * The repository's path: in an object store `/<prefix><namespace>/<name>` (the prefix is the platform's
 * `pgbackrest/`, whose grant covers nothing else); on a volume its mount point.
 */
export function repositoryPath(store: RepositoryStore, namespace: string, name: string): string {
    return store.kind === "volume" ? PGBACKREST_VOLUME_PATH : `/${store.prefix}${namespace}/${name}`;
}

/**
 * pgBackRest's repository settings (PGBACKREST_* variables), split into what is not secret (`config`, for the
 * ConfigMap) and what comes from a Secret (`secretEnv`).
 */
export function repositorySettings(
    store: RepositoryStore,
    path: string,
    bucket: string | undefined,
    fullBackupsKept: number,
): { config: Record<string, string>; secretEnv: EnvVar[] } {
    const config: Record<string, string> = {
        PGBACKREST_STANZA: PGBACKREST_STANZA,
        PGBACKREST_REPO1_PATH: path,
        PGBACKREST_REPO1_RETENTION_FULL: String(fullBackupsKept),
    };
    switch (store.kind) {
        case "volume":
            config["PGBACKREST_REPO1_TYPE"] = "posix";
            break;
        case "gcs":
            // `auto`: the pod's Google service account through Workload Identity (the metadata server).
            Object.assign(config, { PGBACKREST_REPO1_TYPE: "gcs", PGBACKREST_REPO1_GCS_BUCKET: bucket ?? "", PGBACKREST_REPO1_GCS_KEY_TYPE: "auto" });
            break;
        case "s3": {
            Object.assign(config, { PGBACKREST_REPO1_TYPE: "s3", PGBACKREST_REPO1_S3_BUCKET: bucket ?? "", PGBACKREST_REPO1_S3_REGION: store.region });
            if (store.endpoint !== undefined) {
                // An S3-compatible store: its host, its port when it has one, bucket names in the path.
                const url = new URL(store.endpoint);
                config["PGBACKREST_REPO1_S3_ENDPOINT"] = url.hostname;
                if (url.port !== "") {
                    config["PGBACKREST_REPO1_STORAGE_PORT"] = url.port;
                }
                config["PGBACKREST_REPO1_S3_URI_STYLE"] = "path";
            } else {
                config["PGBACKREST_REPO1_S3_ENDPOINT"] = `s3.${store.region}.amazonaws.com`;
            }
            if (store.credentialsSecret !== undefined) {
                config["PGBACKREST_REPO1_S3_KEY_TYPE"] = "shared";
            } else if (store.webIdentityAudience !== undefined) {
                // pgBackRest reads AWS_ROLE_ARN (the identity binding's env) and this token file.
                config["PGBACKREST_REPO1_S3_KEY_TYPE"] = "web-id";
                config["AWS_WEB_IDENTITY_TOKEN_FILE"] = WEB_IDENTITY_TOKEN_FILE;
            } else {
                config["PGBACKREST_REPO1_S3_KEY_TYPE"] = "auto";
            }
            break;
        }
    }
    return { config, secretEnv: repositorySecretEnv(store) };
}

/** The store's keys for pgBackRest, from the customer's Secret (S3 with `credentialsSecret`); none otherwise. */
export function repositorySecretEnv(store: RepositoryStore): EnvVar[] {
    if (store.kind !== "s3" || store.credentialsSecret === undefined) {
        return [];
    }
    const secret = store.credentialsSecret;
    return [
        { name: "PGBACKREST_REPO1_S3_KEY", valueFrom: { secretKeyRef: { name: secret, key: "AWS_ACCESS_KEY_ID" } } },
        { name: "PGBACKREST_REPO1_S3_KEY_SECRET", valueFrom: { secretKeyRef: { name: secret, key: "AWS_SECRET_ACCESS_KEY" } } },
    ];
}

/** What the PostgreSQL pod (and the restore pod, which is the same pod stopped) gets for archiving. */
export interface ArchivePod {
    readonly serviceAccountName: pulumi.Output<string>;
    /** PGBACKREST_PG1_PATH (archiveServerEnv), the store's keys from their Secret, the identity binding's env. */
    readonly env: EnvVar[];
    readonly envFrom: k8s.types.input.core.v1.EnvFromSource[];
    readonly volumes: k8s.types.input.core.v1.Volume[];
    readonly mounts: k8s.types.input.core.v1.VolumeMount[];
    /** The ConfigMap's hash, for the pod template: a change of repository settings restarts the server. */
    readonly configHash: pulumi.Output<string>;
    /** What the server's StatefulSet orders itself after (`dependsOn`): the settings ConfigMap, named as a fixed string. */
    readonly dependsOn: pulumi.Resource[];
    readonly egress: EgressRule[];
}

/** Creates the server's side of archiving (ServiceAccount and binding, the settings ConfigMap, a volume repository's claim). */
export function createArchive(scope: Scope, a: ArchiveResolved): ArchivePod {
    const name = scope.name;
    const store = a.repository.store;
    const labels = { ...scope.labels };
    const binding = a.repository.identity.bind({ name: `${name}-pgbackrest`, namespace: scope.namespace, serviceAccountName: name, parent: scope.parent });
    const account = new k8s.core.v1.ServiceAccount(
        name,
        // No API token: S3 web identity uses its own projected token (below), GCS the metadata server, keys a Secret.
        { metadata: { name, namespace: scope.namespace, labels, annotations: { ...binding.serviceAccountAnnotations } }, automountServiceAccountToken: false },
        { parent: scope.parent },
    );
    const bucket = store.kind === "volume" ? pulumi.output<string | undefined>(undefined) : pulumi.output<string>(store.bucket);
    const settings = pulumi
        .all([pulumi.output(scope.namespace), bucket])
        .apply(([ns, b]) => repositorySettings(store, repositoryPath(store, ns, name), b, a.fullBackupsKept));
    const config = new k8s.core.v1.ConfigMap(
        `${name}-pgbackrest`,
        { metadata: { name: `${name}-pgbackrest`, namespace: scope.namespace, labels }, data: settings.apply((s) => s.config) },
        { parent: scope.parent },
    );
    const volumes: k8s.types.input.core.v1.Volume[] = [];
    const mounts: k8s.types.input.core.v1.VolumeMount[] = [];
    if (store.kind === "s3" && store.credentialsSecret === undefined && store.webIdentityAudience !== undefined) {
        volumes.push({
            name: "web-identity",
            projected: { sources: [{ serviceAccountToken: { audience: store.webIdentityAudience, expirationSeconds: 86400, path: "token" } }] },
        });
        mounts.push({ name: "web-identity", mountPath: WEB_IDENTITY_DIR, readOnly: true });
    }
    if (store.kind === "volume") {
        const claim = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-pgbackrest`,
            {
                // Bound when the PostgreSQL pod first mounts it (WaitForFirstConsumer): nothing to wait for, as the
                // dump volume. Only the PostgreSQL pod (or the restore pod, while the server is stopped) mounts it.
                metadata: { name: `${name}-pgbackrest`, namespace: scope.namespace, labels, annotations: { "pulumi.com/skipAwait": "true" } },
                spec: { accessModes: [store.accessMode], storageClassName: store.storageClassName, resources: { requests: { storage: a.volumeSize } } },
            },
            // The WAL archive and backups outlive the stack, as the dumps do.
            { parent: scope.parent, protect: scope.protect, retainOnDelete: true },
        );
        volumes.push({ name: "pgbackrest", persistentVolumeClaim: { claimName: claim.metadata.name } });
        mounts.push({ name: "pgbackrest", mountPath: PGBACKREST_VOLUME_PATH });
    }
    // The server's data directory for archive_command (the stanza is the ConfigMap's), the store's keys, the binding's env.
    const env: EnvVar[] = uniqueEnv(name, [
        { name: "PGBACKREST_PG1_PATH", value: archiveServerEnv(PGDATA)["PGBACKREST_PG1_PATH"] },
        ...repositorySecretEnv(store),
        ...binding.env,
    ]);
    return {
        serviceAccountName: account.metadata.name,
        env,
        // By its fixed name, and hashed from the settings themselves, not from the ConfigMap's outputs: the protected
        // StatefulSet must take no property from an object that could be replaced (tests/replacement-safety.test.ts).
        envFrom: [{ configMapRef: { name: `${name}-pgbackrest` } }],
        volumes,
        mounts,
        // Keys sorted, as the ConfigMap's data comes back from the engine: the same hash as before this was changed.
        configHash: settings.apply((s) => createHash("sha256").update(JSON.stringify(Object.fromEntries(Object.entries(s.config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))).digest("hex").slice(0, 16)),
        dependsOn: [config],
        egress: store.kind === "volume" ? [] : [DNS_EGRESS, ...store.egress],
    };
}

/** The argv of a backup CronJob's container: `herd-pg-backup <kind>` inside the PostgreSQL container of `<name>-0`. */
export function backupExecCommand(name: string, kind: "full" | "diff"): string[] {
    return ["/bin/kubectl", "exec", `${name}-0`, "-c", "postgres", "--", "herd-pg-backup", kind];
}

/**
 * The restore pod's script: `herd-pg-restore`, to the target in $TARGET when there is one (from the ConfigMap the
 * restore script writes), else to the latest archived WAL.
 */
export const RESTORE_SCRIPT = ['set -eu', 'if [ -n "${TARGET:-}" ]; then exec herd-pg-restore --target "$TARGET"; fi', "exec herd-pg-restore"].join("\n");

/** The server pod's parts the restore pod repeats. */
export interface ServerPod {
    readonly image: pulumi.Input<string>;
    readonly env: EnvVar[];
    readonly archive: ArchivePod;
    /** The StatefulSet: the first backup is created once it is ready. */
    readonly statefulSet: pulumi.Resource;
}

/** The labels of the backup CronJobs' pods (their NetworkPolicy selects them). */
export function pitrBackupLabels(name: string): Record<string, string> {
    return { ...selectorLabels({ name: "postgres-pitr", instance: name }) };
}

/** The labels of the restore pod. */
export function pitrRestoreLabels(name: string): Record<string, string> {
    return { ...selectorLabels({ name: "postgres-pitr-restore", instance: name }) };
}

/**
 * The scheduled backups (two CronJobs, a ServiceAccount allowed only to exec into `<name>-0`, a NetworkPolicy) and
 * the suspended restore CronJob.
 */
export function createPitrJobs(scope: Scope, a: ArchiveResolved, server: ServerPod): void {
    const name = scope.name;
    const namespace = scope.namespace;
    const jobName = `${name}-pitr`;
    const selector = pitrBackupLabels(name);
    const labels = { ...recommendedLabels({ name: "postgres-pitr", instance: name, component: "backup" }), ...selector };

    const account = new k8s.core.v1.ServiceAccount(jobName, { metadata: { name: jobName, namespace, labels }, automountServiceAccountToken: false }, { parent: scope.parent });
    // Only what `kubectl exec <name>-0` needs: read that pod, open an exec session in it. Nothing else, no other pod.
    // pods/exec needs both verbs: `create` for an exec over SPDY (a POST; and, from Kubernetes 1.35, for every
    // exec), `get` for one over WebSocket (a GET upgrade), which kubectl 1.31 and newer use first. Both mean the
    // same thing here: exec into this one pod.
    const role = new k8s.rbac.v1.Role(
        jobName,
        {
            metadata: { name: jobName, namespace, labels },
            rules: [
                { apiGroups: [""], resources: ["pods"], resourceNames: [`${name}-0`], verbs: ["get"] },
                { apiGroups: [""], resources: ["pods/exec"], resourceNames: [`${name}-0`], verbs: ["get", "create"] },
            ],
        },
        { parent: scope.parent },
    );
    new k8s.rbac.v1.RoleBinding(
        jobName,
        {
            metadata: { name: jobName, namespace, labels },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace }],
        },
        { parent: scope.parent },
    );

    // The pod of every backup run: kubectl, with this ServiceAccount's token, opening one exec session.
    const backupPod = (kind: "full" | "diff"): k8s.types.input.core.v1.PodTemplateSpec => ({
        metadata: { labels },
        spec: {
            serviceAccountName: account.metadata.name,
            // kubectl authenticates with the ServiceAccount's token: this pod needs it.
            automountServiceAccountToken: true,
            restartPolicy: "Never",
            securityContext: restrictedPodSecurityContext(KUBECTL_UID),
            containers: [
                {
                    name: "backup",
                    image: KUBECTL_IMAGE,
                    command: backupExecCommand(name, kind),
                    // kubectl's discovery cache.
                    env: [{ name: "HOME", value: "/tmp" }],
                    resources: resourceRequirements({ cpu: "50m", memory: "64Mi" }),
                    securityContext: restrictedContainerSecurityContext(),
                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                },
            ],
            volumes: [scratchVolume("tmp", "64Mi")],
        },
    });
    for (const kind of ["full", "diff"] as const) {
        const cronName = `${name}-pitr-${kind}`;
        new k8s.batch.v1.CronJob(
            cronName,
            {
                metadata: { name: cronName, namespace, labels },
                // A full and a diff never run at once either: pgBackRest's own lock refuses the second.
                spec: backupCronJobSpec({
                    schedule: kind === "full" ? a.fullSchedule : a.diffSchedule,
                    labels,
                    activeDeadlineSeconds: 12 * 3600,
                    template: backupPod(kind),
                }),
            },
            { parent: scope.parent },
        );
    }
    // The first full backup, as soon as the server is up: it creates the stanza, without which every archive_command
    // fails and PostgreSQL keeps all WAL on its volume until the first scheduled backup (up to a week). Not awaited
    // (an `up` does not wait for a backup). Created once the StatefulSet is ready; should the pod not be (a restart),
    // kubectl exec fails and the Job retries with its back-off (10 s doubling to 6 min, 10 attempts). No TTL: a deleted Job would be
    // created again, with another full backup, at the next `up` after a refresh.
    const first = `${name}-pitr-first`;
    new k8s.batch.v1.Job(
        first,
        {
            metadata: { name: first, namespace, labels, annotations: { "pulumi.com/skipAwait": "true" } },
            spec: { backoffLimit: 10, activeDeadlineSeconds: 12 * 3600, template: backupPod("full") },
        },
        { parent: scope.parent, dependsOn: [server.statefulSet] },
    );
    // DNS and the API server, nothing else. The API server cannot be named more narrowly: it is no pod a selector
    // could match, its address is the cloud's (EKS, GKE) or the customer's, and the `kubernetes` Service's
    // ClusterIP is rewritten to that address before most CNIs apply policy; 443 (EKS, GKE) and 6443 (kubeadm).
    networkPolicy(scope, jobName, selector, [], [DNS_EGRESS, { ports: [{ protocol: "TCP", port: 443 }, { protocol: "TCP", port: 6443 }] }]);

    // The restore pod: the server's container stopped, with the same image, env, volumes and ServiceAccount, and
    // the data volume of `<name>-0`. Suspended: it runs only as `kubectl create job --from=cronjob/<name>-pitr-restore`.
    const restoreName = `${name}-pitr-restore`;
    const restoreSelector = pitrRestoreLabels(name);
    const restoreLabels = { ...recommendedLabels({ name: "postgres-pitr-restore", instance: name, component: "restore" }), ...restoreSelector };
    new k8s.batch.v1.CronJob(
        restoreName,
        {
            metadata: { name: restoreName, namespace, labels: restoreLabels },
            spec: {
                // Never on a schedule (a valid one is required): 31 February does not come.
                schedule: "0 0 31 2 *",
                suspend: true,
                concurrencyPolicy: "Forbid",
                successfulJobsHistoryLimit: 1,
                failedJobsHistoryLimit: 1,
                jobTemplate: {
                    metadata: { labels: restoreLabels },
                    spec: {
                        // One attempt: a failed restore is for a person to read (the script prints its log).
                        backoffLimit: 0,
                        activeDeadlineSeconds: 24 * 3600,
                        template: {
                            metadata: { labels: restoreLabels },
                            spec: {
                                serviceAccountName: server.archive.serviceAccountName,
                                automountServiceAccountToken: false,
                                restartPolicy: "Never",
                                securityContext: restrictedPodSecurityContext(POSTGRES_UID),
                                containers: [
                                    {
                                        name: "restore",
                                        image: server.image,
                                        command: ["/bin/sh", "-c", RESTORE_SCRIPT],
                                        env: [
                                            ...server.env,
                                            { name: "TARGET", valueFrom: { configMapKeyRef: { name: restoreTargetConfigMap(name), key: "target", optional: true } } },
                                        ],
                                        envFrom: server.archive.envFrom,
                                        resources: resourceRequirements({ cpu: "500m", memory: "512Mi" }),
                                        securityContext: restrictedContainerSecurityContext(),
                                        volumeMounts: [
                                            { name: "data", mountPath: "/var/lib/postgresql/data" },
                                            { name: "tmp", mountPath: "/tmp" },
                                            ...server.archive.mounts,
                                        ],
                                    },
                                ],
                                volumes: [
                                    // The StatefulSet's claim of its only pod (volumeClaimTemplate `data`).
                                    { name: "data", persistentVolumeClaim: { claimName: `data-${name}-0` } },
                                    scratchVolume("tmp", "256Mi"),
                                    ...server.archive.volumes,
                                ],
                            },
                        },
                    },
                },
            },
        },
        { parent: scope.parent },
    );
    networkPolicy(scope, restoreName, restoreSelector, [], server.archive.egress);
}
