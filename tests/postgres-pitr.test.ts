/**
 * PostgresStateful's point-in-time recovery: the archive arguments' defaults, overrides and validation errors; what
 * the rendered objects promise (the server archives into the repository with the right pgBackRest settings and
 * identity; two backup CronJobs exec into the server pod and may do nothing else; a suspended restore CronJob is
 * the server stopped); and scripts/restore-postgres.sh --pitr run end to end through a kubectl stand-in, with a real
 * Redis with herd's removed commands (no FLUSHALL: the script empties it with SCAN and UNLINK), including its failure
 * paths and bad input.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
    archiveDefaults,
    ARCHIVE_COMMAND,
    backupExecCommand,
    KUBECTL_IMAGE,
    PGBACKREST_VOLUME_PATH,
    PostgresArchiveArgs,
    postgresDefaults,
    postgresProblems,
    PostgresStateful,
    PostgresStatefulArgs,
    repositoryPath,
    repositorySettings,
    WEB_IDENTITY_TOKEN_FILE,
} from "../components/postgres";
import { problemText } from "../components/validation";
import { REDIS_DISABLED_COMMANDS } from "../components/redis-settings";
import { evaluateProgram, Evaluation } from "../offline/evaluate";
import { buildManifests, Manifest } from "../offline/manifests";
import type { IdentityBinding, RepositoryAccess, RepositoryStore } from "../platform/contract";
import { PROJECT_DIR, tempDir } from "./helpers";
import { InternalCa } from "../components/internal-ca";
import { makeTestCertificates, type TestCertificates } from "./services/test-ca";

const CLIENTS = { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "api" };
const IMAGE = "registry.example.com/herd/postgres@sha256:" + "a".repeat(64);
const BASE: PostgresStatefulArgs = { namespace: "herd", storageClassName: "fast-ssd", clientLabels: CLIENTS, image: IMAGE };
const EGRESS_443 = [{ ports: [{ protocol: "TCP", port: 443 }] }];

const S3_WEB_ID: RepositoryStore = { kind: "s3", bucket: "herd-backups", region: "eu-west-1", prefix: "pgbackrest/", webIdentityAudience: "sts.amazonaws.com", egress: EGRESS_443 };
const S3_KEYS: RepositoryStore = {
    kind: "s3",
    bucket: "herd-backups",
    region: "us-east-1",
    prefix: "pgbackrest/",
    endpoint: "https://minio.example.com:9000",
    credentialsSecret: "backup-keys",
    egress: [{ ports: [{ protocol: "TCP", port: 9000 }] }],
};
const GCS: RepositoryStore = { kind: "gcs", bucket: "herd-backups", prefix: "pgbackrest/", egress: EGRESS_443 };
const VOLUME: RepositoryStore = { kind: "volume", storageClassName: "fast-ssd", accessMode: "ReadWriteOnce" };

function repository(store: RepositoryStore, binding: IdentityBinding = { serviceAccountAnnotations: {}, env: [] }): RepositoryAccess {
    return { store, identity: { bind: () => binding } };
}
const archive = (store: RepositoryStore, extra: Partial<PostgresArchiveArgs> = {}, binding?: IdentityBinding): PostgresArchiveArgs => ({
    repository: repository(store, binding),
    ...extra,
});

async function render(args: Partial<PostgresStatefulArgs>): Promise<{ e: Evaluation; manifests: readonly Manifest[] }> {
    const e = await evaluateProgram(() => {
        new PostgresStateful("postgres", { ...BASE, ca: new InternalCa("herd-ca", { namespace: "herd" }), ...args });
        return {};
    });
    return { e, manifests: buildManifests(e).manifests };
}
function find(manifests: readonly Manifest[], kind: string, name: string): Manifest {
    const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(m !== undefined, `${kind} ${name} not found`);
    return m;
}
type Env = { name: string; value?: string; valueFrom?: Record<string, Record<string, unknown>> };
type Container = { name: string; image: string; command?: string[]; args?: string[]; env?: Env[]; envFrom?: unknown[]; volumeMounts?: { name: string; mountPath: string }[] };
type PodSpec = { containers: Container[]; volumes?: Record<string, unknown>[]; serviceAccountName?: string; automountServiceAccountToken?: boolean; securityContext: Record<string, unknown> };
const stsPod = (m: Manifest) => (m["spec"] as { template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec } }).template;
const cronPod = (m: Manifest) => (m["spec"] as { jobTemplate: { spec: { template: { spec: PodSpec } } } }).jobTemplate.spec.template.spec;
const serverContainer = (manifests: readonly Manifest[]) => stsPod(find(manifests, "StatefulSet", "postgres")).spec.containers.find((c) => c.name === "postgres") as Container;
const configData = (manifests: readonly Manifest[]) => find(manifests, "ConfigMap", "postgres-pgbackrest")["data"] as Record<string, string>;

describe("archive defaults (config keys)", () => {
    const d = archiveDefaults(archive(VOLUME));
    it("archive_timeout 60 s (postgresArchiveTimeoutSeconds)", () => assert.equal(d.archiveTimeoutSeconds, 60));
    it("a full backup on Sundays at 02:00, a differential the other days (postgresFullBackupSchedule, postgresDiffBackupSchedule)", () =>
        assert.deepEqual([d.fullSchedule, d.diffSchedule], ["0 2 * * 0", "0 2 * * 1-6"]));
    it("4 full backups kept (postgresFullBackupsKept)", () => assert.equal(d.fullBackupsKept, 4));
    it("a 50Gi repository volume (postgresArchiveVolumeSize)", () => assert.equal(d.volumeSize, "50Gi"));
    it("no archive unless asked: the component without `archive` renders no pgBackRest object", async () => {
        const { manifests } = await render({});
        assert.deepEqual(manifests.filter((m) => /pitr|pgbackrest/.test(m.metadata.name)).map((m) => m.metadata.name), []);
        assert.ok(!serverContainer(manifests).args?.some((a) => a.startsWith("archive_mode")));
    });
});

describe("archive overrides", () => {
    it("each field is taken as given", () => {
        const d = archiveDefaults(archive(VOLUME, { archiveTimeoutSeconds: 30, fullSchedule: "0 1 * * 6", diffSchedule: "0 */6 * * *", fullBackupsKept: 2, volumeSize: "10Gi" }));
        assert.deepEqual([d.archiveTimeoutSeconds, d.fullSchedule, d.diffSchedule, d.fullBackupsKept, d.volumeSize], [30, "0 1 * * 6", "0 */6 * * *", 2, "10Gi"]);
    });
    it("the timeout, schedules and retention reach the server, the CronJobs and pgBackRest", async () => {
        const { manifests } = await render({ archive: archive(VOLUME, { archiveTimeoutSeconds: 30, fullSchedule: "0 1 * * 6", diffSchedule: "0 */6 * * *", fullBackupsKept: 2, volumeSize: "10Gi" }) });
        assert.ok(serverContainer(manifests).args?.includes("archive_timeout=30"));
        assert.equal((find(manifests, "CronJob", "postgres-pitr-full")["spec"] as { schedule: string }).schedule, "0 1 * * 6");
        assert.equal((find(manifests, "CronJob", "postgres-pitr-diff")["spec"] as { schedule: string }).schedule, "0 */6 * * *");
        assert.equal(configData(manifests)["PGBACKREST_REPO1_RETENTION_FULL"], "2");
        assert.equal((find(manifests, "PersistentVolumeClaim", "postgres-pgbackrest")["spec"] as { resources: { requests: { storage: string } } }).resources.requests.storage, "10Gi");
    });
});

describe("archive validation: each error names the field, what was expected and what was given", () => {
    const cases: [string, PostgresArchiveArgs, RegExp][] = [
        ["timeout 0", archive(VOLUME, { archiveTimeoutSeconds: 0 }), /^archive\.archiveTimeoutSeconds: expected a whole number of seconds from 1 to 3600 .*got 0$/],
        ["timeout over an hour", archive(VOLUME, { archiveTimeoutSeconds: 7200 }), /^archive\.archiveTimeoutSeconds: .*got 7200$/],
        ["full schedule", archive(VOLUME, { fullSchedule: "weekly" }), /^archive\.fullSchedule: expected a cron schedule/],
        ["diff schedule", archive(VOLUME, { diffSchedule: "0 2 * *" }), /^archive\.diffSchedule: expected a cron schedule/],
        ["no full backup kept", archive(VOLUME, { fullBackupsKept: 0 }), /^archive\.fullBackupsKept: expected a whole number of full backups from 1 to 1000, got 0$/],
        ["a volume size that is no quantity", archive(VOLUME, { volumeSize: "lots" }), /^archive\.volumeSize: expected a Kubernetes quantity such as 50Gi, got "lots"$/],
        [
            "a plain-HTTP S3 endpoint (pgBackRest speaks TLS only)",
            archive({ ...S3_KEYS, endpoint: "http://minio.example.com:9000" }),
            /^archive\.repository\.store\.endpoint: expected an https:\/\/ URL .*got "http:\/\/minio\.example\.com:9000"$/,
        ],
    ];
    for (const [what, a, expected] of cases) {
        it(what, () => assert.match(postgresProblems(postgresDefaults({ ...BASE, archive: a }), undefined).map(problemText).join("\n"), expected));
    }
    it("the volume size is not checked when the repository is an object store", () =>
        assert.deepEqual(postgresProblems(postgresDefaults({ ...BASE, archive: archive(GCS, { volumeSize: "lots" }) }), undefined), []));
    it("archiving with the official image (no pgBackRest) is refused, naming `image`", () =>
        assert.match(
            postgresProblems(postgresDefaults({ ...BASE, image: undefined, archive: archive(VOLUME) }), undefined).map(problemText).join("\n"),
            /^image: expected the herd PostgreSQL image \(images\/postgres, with pgBackRest\) when archive is set, got the official postgres:16/,
        ));
    it("the component refuses them together, before creating anything", async () => {
        await assert.rejects(render({ archive: archive(VOLUME, { archiveTimeoutSeconds: 0, fullSchedule: "x" }) }), (err: Error & { errors?: { propertyPath: string }[] }) => {
            assert.deepEqual(err.errors?.map((p) => p.propertyPath), ["archive.archiveTimeoutSeconds", "archive.fullSchedule"]);
            return true;
        });
    });
});

describe("pgBackRest's repository settings, per store", () => {
    it("paths: /<prefix><namespace>/<name> in a bucket, the mount point on a volume", () => {
        assert.equal(repositoryPath(S3_WEB_ID, "shop", "postgres"), "/pgbackrest/shop/postgres");
        assert.equal(repositoryPath(VOLUME, "shop", "postgres"), PGBACKREST_VOLUME_PATH);
    });
    it("AWS S3 with web identity: the regional endpoint, key type web-id, the token file; no keys", () => {
        const s = repositorySettings(S3_WEB_ID, "/p", "b", 4);
        assert.deepEqual(s.config, {
            PGBACKREST_STANZA: "herd",
            PGBACKREST_REPO1_PATH: "/p",
            PGBACKREST_REPO1_RETENTION_FULL: "4",
            PGBACKREST_REPO1_TYPE: "s3",
            PGBACKREST_REPO1_S3_BUCKET: "b",
            PGBACKREST_REPO1_S3_REGION: "eu-west-1",
            PGBACKREST_REPO1_S3_ENDPOINT: "s3.eu-west-1.amazonaws.com",
            PGBACKREST_REPO1_S3_KEY_TYPE: "web-id",
            AWS_WEB_IDENTITY_TOKEN_FILE: WEB_IDENTITY_TOKEN_FILE,
        });
        assert.deepEqual(s.secretEnv, []);
    });
    it("an S3-compatible store with keys: its host and port, path-style, keys from the customer's Secret", () => {
        const s = repositorySettings(S3_KEYS, "/p", "b", 4);
        assert.equal(s.config["PGBACKREST_REPO1_S3_ENDPOINT"], "minio.example.com");
        assert.equal(s.config["PGBACKREST_REPO1_STORAGE_PORT"], "9000");
        assert.equal(s.config["PGBACKREST_REPO1_S3_URI_STYLE"], "path");
        assert.equal(s.config["PGBACKREST_REPO1_S3_KEY_TYPE"], "shared");
        assert.deepEqual(s.secretEnv, [
            { name: "PGBACKREST_REPO1_S3_KEY", valueFrom: { secretKeyRef: { name: "backup-keys", key: "AWS_ACCESS_KEY_ID" } } },
            { name: "PGBACKREST_REPO1_S3_KEY_SECRET", valueFrom: { secretKeyRef: { name: "backup-keys", key: "AWS_SECRET_ACCESS_KEY" } } },
        ]);
    });
    it("GCS: the bucket, key type auto (Workload Identity)", () => {
        const s = repositorySettings(GCS, "/p", "b", 4);
        assert.deepEqual([s.config["PGBACKREST_REPO1_TYPE"], s.config["PGBACKREST_REPO1_GCS_BUCKET"], s.config["PGBACKREST_REPO1_GCS_KEY_TYPE"]], ["gcs", "b", "auto"]);
    });
    it("a volume: posix", () => assert.equal(repositorySettings(VOLUME, PGBACKREST_VOLUME_PATH, undefined, 4).config["PGBACKREST_REPO1_TYPE"], "posix"));
});

describe("the server archives", () => {
    it("archive settings in the server's -c arguments, PGBACKREST_PG1_PATH = PGDATA, the repository from the ConfigMap", async () => {
        const { manifests } = await render({ archive: archive(S3_KEYS) });
        const c = serverContainer(manifests);
        assert.ok(c.args?.includes("archive_mode=on"));
        assert.ok(c.args?.includes(`archive_command=${ARCHIVE_COMMAND}`));
        assert.ok(c.args?.includes("archive_timeout=60"));
        const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
        assert.equal(env["PGBACKREST_PG1_PATH"]?.value, env["PGDATA"]?.value);
        assert.deepEqual(env["PGBACKREST_REPO1_S3_KEY_SECRET"]?.valueFrom, { secretKeyRef: { name: "backup-keys", key: "AWS_SECRET_ACCESS_KEY" } });
        assert.deepEqual(c.envFrom, [{ configMapRef: { name: "postgres-pgbackrest" } }]);
        assert.equal(configData(manifests)["PGBACKREST_REPO1_PATH"], "/pgbackrest/herd/postgres");
    });
    it("the server, the roles sidecar and the dump job run the given image", async () => {
        const { manifests } = await render({ archive: archive(VOLUME) });
        const containers = stsPod(find(manifests, "StatefulSet", "postgres")).spec.containers;
        // Every container but the metrics exporter (its own pinned image, components/metrics.ts).
        const own = containers.filter((c) => c.name !== "metrics");
        assert.ok(own.length >= 2, "the server and the roles sidecar");
        for (const c of own) {
            assert.equal(c.image, IMAGE, c.name);
        }
    });
    it("a repository settings change restarts the server (its hash is on the pod template)", async () => {
        const a = stsPod(find((await render({ archive: archive(VOLUME, { fullBackupsKept: 4 }) })).manifests, "StatefulSet", "postgres")).metadata.annotations;
        const b = stsPod(find((await render({ archive: archive(VOLUME, { fullBackupsKept: 5 }) })).manifests, "StatefulSet", "postgres")).metadata.annotations;
        assert.match(a?.["herd.dev/pgbackrest-config"] ?? "", /^[0-9a-f]{16}$/);
        assert.notEqual(a?.["herd.dev/pgbackrest-config"], b?.["herd.dev/pgbackrest-config"]);
    });
    it("its own ServiceAccount, bound through the repository's identity; no API token", async () => {
        let bound: { name: string; serviceAccountName: string } | undefined;
        const access: RepositoryAccess = {
            store: S3_WEB_ID,
            identity: {
                bind: (b) => {
                    bound = b;
                    return { serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/pg" }, env: [{ name: "AWS_ROLE_ARN", value: "arn:aws:iam::1:role/pg" }] };
                },
            },
        };
        const { manifests } = await render({ archive: { repository: access } });
        assert.deepEqual(bound && { name: bound.name, serviceAccountName: bound.serviceAccountName }, { name: "postgres-pgbackrest", serviceAccountName: "postgres" });
        const sa = find(manifests, "ServiceAccount", "postgres");
        assert.deepEqual(sa.metadata["annotations"], { "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/pg" });
        const pod = stsPod(find(manifests, "StatefulSet", "postgres")).spec;
        assert.equal(pod.serviceAccountName, "postgres");
        assert.equal(pod.automountServiceAccountToken, false);
        // Web identity: the binding's AWS_ROLE_ARN and a projected token of the store's audience, at the file pgBackRest reads.
        const c = serverContainer(manifests);
        assert.equal(c.env?.find((e) => e.name === "AWS_ROLE_ARN")?.value, "arn:aws:iam::1:role/pg");
        assert.deepEqual(pod.volumes?.find((v) => v["name"] === "web-identity"), {
            name: "web-identity",
            projected: { sources: [{ serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" } }] },
        });
        assert.equal(path.join(c.volumeMounts?.find((m) => m.name === "web-identity")?.mountPath ?? "", "token"), WEB_IDENTITY_TOKEN_FILE);
    });
    it("the server's NetworkPolicy lets it reach DNS and the store, and nothing without a store", async () => {
        const egress = async (store: RepositoryStore) =>
            ((await render({ archive: archive(store) })).manifests.find((m) => m.kind === "NetworkPolicy" && m.metadata.name === "postgres")?.["spec"] as { egress: { ports: { port: number }[] }[] }).egress;
        const s3 = await egress(S3_KEYS);
        assert.deepEqual(s3.map((r) => r.ports.map((p) => p.port)), [[53, 53], [9000]]);
        assert.deepEqual(await egress(VOLUME), []);
    });
    it("a volume repository: claim postgres-pgbackrest, mounted in the server, protected and kept on delete, not awaited", async () => {
        const { e, manifests } = await render({ archive: archive(VOLUME) });
        const claim = find(manifests, "PersistentVolumeClaim", "postgres-pgbackrest");
        assert.deepEqual(claim["spec"], { accessModes: ["ReadWriteOnce"], storageClassName: "fast-ssd", resources: { requests: { storage: "50Gi" } } });
        assert.equal((claim.metadata["annotations"] as Record<string, string>)["pulumi.com/skipAwait"], "true");
        const r = e.resources.find((x) => x.type === "kubernetes:core/v1:PersistentVolumeClaim" && x.name === "postgres-pgbackrest");
        assert.deepEqual([r?.options.protect, r?.options.retainOnDelete], [true, true]);
        assert.equal(serverContainer(manifests).volumeMounts?.find((m) => m.name === "pgbackrest")?.mountPath, PGBACKREST_VOLUME_PATH);
    });
});

describe("scheduled backups run inside the PostgreSQL pod", () => {
    let manifests: readonly Manifest[];
    before(async () => {
        manifests = (await render({ archive: archive(GCS) })).manifests;
    });
    for (const kind of ["full", "diff"] as const) {
        it(`postgres-pitr-${kind}: kubectl exec postgres-0 -c postgres -- herd-pg-backup ${kind}, pinned kubectl, Forbid, restricted`, () => {
            const cron = find(manifests, "CronJob", `postgres-pitr-${kind}`);
            assert.equal((cron["spec"] as { concurrencyPolicy: string }).concurrencyPolicy, "Forbid");
            const pod = cronPod(cron);
            assert.deepEqual(pod.containers[0]?.command, backupExecCommand("postgres", kind));
            assert.deepEqual(backupExecCommand("postgres", kind), ["/bin/kubectl", "exec", "postgres-0", "-c", "postgres", "--", "herd-pg-backup", kind]);
            assert.equal(pod.containers[0]?.image, KUBECTL_IMAGE);
            assert.match(KUBECTL_IMAGE, /^registry\.k8s\.io\/kubectl:v1\.\d+\.\d+$/);
            assert.equal(pod.serviceAccountName, "postgres-pitr");
            assert.equal(pod.automountServiceAccountToken, true);
            assert.equal(pod.securityContext["runAsNonRoot"], true);
        });
    }
    it("postgres-pitr-first takes the first full backup once the StatefulSet is ready, without making `up` wait for it", async () => {
        const { e, manifests: m } = await render({ archive: archive(GCS) });
        const job = find(m, "Job", "postgres-pitr-first");
        assert.equal((job.metadata["annotations"] as Record<string, string>)["pulumi.com/skipAwait"], "true");
        const spec = job["spec"] as { backoffLimit: number; ttlSecondsAfterFinished?: number; template: { spec: PodSpec } };
        assert.deepEqual(spec.template.spec.containers[0]?.command, backupExecCommand("postgres", "full"));
        assert.equal(spec.backoffLimit, 10);
        assert.equal(spec.ttlSecondsAfterFinished, undefined, "kept: a deleted Job would run again at the next up");
        assert.deepEqual(e.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name === "postgres-pitr-first")?.options.dependsOn, ["postgres"]);
    });
    it("its Role allows only reading the pod postgres-0 and exec into it (get: WebSocket, create: SPDY)", () => {
        assert.deepEqual(find(manifests, "Role", "postgres-pitr")["rules"], [
            { apiGroups: [""], resources: ["pods"], resourceNames: ["postgres-0"], verbs: ["get"] },
            { apiGroups: [""], resources: ["pods/exec"], resourceNames: ["postgres-0"], verbs: ["get", "create"] },
        ]);
        const binding = find(manifests, "RoleBinding", "postgres-pitr");
        assert.deepEqual(binding["subjects"], [{ kind: "ServiceAccount", name: "postgres-pitr", namespace: "herd" }]);
    });
    it("its NetworkPolicy lets it reach only DNS and the API server's ports", () => {
        const spec = find(manifests, "NetworkPolicy", "postgres-pitr")["spec"] as { ingress: unknown[]; egress: { ports: { port: number }[] }[] };
        assert.deepEqual(spec.ingress, []);
        assert.deepEqual(spec.egress.map((r) => r.ports.map((p) => p.port)), [[53, 53], [443, 6443]]);
    });
});

describe("the restore is rendered in advance, suspended", () => {
    it("postgres-pitr-restore: the server's image, repository env, ServiceAccount and security, the data volume of postgres-0, the target from a ConfigMap", async () => {
        const { manifests } = await render({ archive: archive(VOLUME) });
        const cron = find(manifests, "CronJob", "postgres-pitr-restore");
        assert.equal((cron["spec"] as { suspend: boolean }).suspend, true);
        const pod = cronPod(cron);
        const c = pod.containers[0] as Container;
        assert.equal(c.image, IMAGE);
        assert.match(c.command?.join(" ") ?? "", /herd-pg-restore --target "\$TARGET"/);
        assert.deepEqual(c.envFrom, serverContainer(manifests).envFrom);
        assert.deepEqual(c.env?.find((e) => e.name === "TARGET")?.valueFrom, { configMapKeyRef: { name: "postgres-pitr-target", key: "target", optional: true } });
        assert.equal(c.env?.find((e) => e.name === "PGBACKREST_PG1_PATH")?.value, "/var/lib/postgresql/data/pgdata");
        assert.ok(!c.env?.some((e) => e.name === "POSTGRES_PASSWORD"), "no login needed to restore files");
        assert.equal(pod.serviceAccountName, "postgres");
        assert.equal(pod.securityContext["runAsUser"], 999);
        assert.deepEqual(
            pod.volumes?.filter((v) => v["persistentVolumeClaim"] !== undefined).map((v) => v["persistentVolumeClaim"]),
            [{ claimName: "data-postgres-0" }, { claimName: "postgres-pgbackrest" }],
        );
    });
});

// ---------------------------------------------------------------------------------------------------------------
// scripts/restore-postgres.sh --pitr, end to end through a kubectl stand-in.

const SCRIPT = path.join(PROJECT_DIR, "scripts", "restore-postgres.sh");

/**
 * A stand-in for kubectl with the state the script changes (replicas, the target ConfigMap, the restore Job), which
 * logs every call, one per line, and runs `exec <redis>-0 ... redis-cli` against a real local Redis.
 */
function fakeKubectl(dir: string): string {
    const file = path.join(dir, "kubectl");
    fs.writeFileSync(
        file,
        `#!/bin/bash
set -u
echo "$*" >> "$STATE/log"
args=("$@")
while [ "\${args[0]}" = --context ] || [ "\${args[0]}" = --namespace ]; do args=("\${args[@]:2}"); done
set -- "\${args[@]}"
case "$1 \${2:-}" in
  "get cronjob") [ "\${FAKE_NO_CRONJOB:-}" = 1 ] && { echo 'Error from server (NotFound): cronjobs.batch "x" not found' >&2; exit 1; }; exit 0 ;;
  "delete configmap") rm -f "$STATE/target"; exit 0 ;;
  "create configmap") printf '%s' "\${4#--from-literal=target=}" > "$STATE/target"; exit 0 ;;
  "scale statefulset/"*) echo "\${3#--replicas=}" > "$STATE/replicas"; exit 0 ;;
  "wait --for=delete") [ "$(cat "$STATE/replicas")" = 0 ] && [ "\${FAKE_POD_STUCK:-}" != 1 ] || { echo "error: timed out waiting for the condition" >&2; exit 1; }; exit 0 ;;
  "create job")
    case "$4" in --from=cronjob/*-pitr-restore) [ "$(cat "$STATE/replicas")" = 0 ] || { echo "restore while the server runs" >&2; exit 1; }; cp "$STATE/target" "$STATE/restored-to" 2>/dev/null || echo latest > "$STATE/restored-to" ;; esac
    exit 0 ;;
  "get job")
    # The first look fails, as a busy API server's would.
    [ -e "$STATE/looked" ] || { touch "$STATE/looked"; echo "Error from server: etcdserver: request timed out" >&2; exit 1; }
    if [ "\${FAKE_RESTORE:-ok}" = ok ]; then echo "1/"; elif [ "$FAKE_RESTORE" = fail ]; then echo "/1"; else echo "/"; fi; exit 0 ;;
  "logs job/"*) echo "herd-pg-restore: ERROR: [075]: no backup set found to restore"; exit 0 ;;
  "rollout status") exit 0 ;;
  "exec deploy/"*) [ "\${FAKE_REINDEX:-ok}" = ok ] || { echo "reindex: Elasticsearch unreachable" >&2; exit 1; }; echo reindexed > "$STATE/reindexed"; exit 0 ;;
  "exec "*)
    while [ "$1" != "--" ]; do shift; done; shift
    # The in-pod command, with the redis container's REDISCLI_AUTH, against the local Redis's port, and the CA the
    # container mounts at /etc/redis/tls replaced by the test CA's file.
    ca=/etc/redis/tls/ca.crt; cmd=("$@"); for i in "\${!cmd[@]}"; do [ "\${cmd[$i]}" = 6379 ] && cmd[$i]=$FAKE_REDIS_PORT; cmd[$i]=\${cmd[$i]//"$ca"/$FAKE_REDIS_CA}; done
    REDISCLI_AUTH=$FAKE_REDIS_PASSWORD exec "\${cmd[@]}" ;;
esac
echo "fake kubectl: unexpected call: $*" >&2
exit 3
`,
        { mode: 0o755 },
    );
    return file;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
        s.on("error", reject);
    });
}

const redisMissing = spawnSync("redis-server", ["--version"]).error !== undefined ? "redis-server is not installed (apt-get install redis-server)" : undefined;
if (redisMissing !== undefined && process.env["CI"] === "true") {
    throw new Error(`CI must run the restore script's test: ${redisMissing}`);
}

describe("restore-postgres.sh --pitr, end to end through a kubectl stand-in", { skip: redisMissing }, () => {
    const PASSWORD = "redis-pass-4711";
    let redisPort = 0;
    let redisDir = "";
    let kubectl = "";
    let state = "";
    const states = tempDir();
    let certs: TestCertificates | undefined;
    const cli = (...args: string[]) =>
        spawnSync("redis-cli", ["--tls", "--cacert", certs?.caFile ?? "", "-h", "127.0.0.1", "-p", String(redisPort), ...args], {
            env: { ...process.env, REDISCLI_AUTH: PASSWORD },
            encoding: "utf8",
        }).stdout.trim();

    before(async () => {
        redisDir = tempDir();
        redisPort = await freePort();
        certs = makeTestCertificates(path.join(redisDir, "tls"));
        const started = spawnSync(
            "redis-server",
            [
                // TLS only, as herd's redis.conf has it: the restore's redis-cli must speak TLS and verify the server.
                ...["--port", "0", "--tls-port", String(redisPort), "--tls-auth-clients", "no"],
                ...["--tls-cert-file", certs.certFile, "--tls-key-file", certs.keyFile, "--tls-ca-cert-file", certs.caFile],
                ...["--bind", "127.0.0.1", "--requirepass", PASSWORD, "--daemonize", "yes", "--dir", redisDir],
                ...["--pidfile", path.join(redisDir, "redis.pid"), "--save", "", "--appendonly", "no"],
                // The commands herd's redis.conf removes (FLUSHALL among them): the restore must empty Redis without them.
                ...Object.keys(REDIS_DISABLED_COMMANDS).flatMap((command) => ["--rename-command", command, ""]),
            ],
            { encoding: "utf8" },
        );
        assert.equal(started.status, 0, started.stderr);
        for (let i = 0; i < 50 && cli("PING") !== "PONG"; i++) {
            await new Promise((r) => setTimeout(r, 100));
        }
        kubectl = fakeKubectl(tempDir());
    });
    after(() => {
        const pidFile = path.join(redisDir, "redis.pid");
        if (fs.existsSync(pidFile)) {
            process.kill(Number(fs.readFileSync(pidFile, "utf8").trim()), "SIGTERM");
        }
    });

    const run = (args: string[], env: Record<string, string> = {}, input?: string) => {
        state = fs.mkdtempSync(path.join(states, "run-"));
        fs.writeFileSync(path.join(state, "replicas"), "1");
        return spawnSync(SCRIPT, args, {
            env: { ...process.env, KUBECTL: kubectl, STATE: state, RESTORE_POLL_SECONDS: "0", FAKE_REDIS_PORT: String(redisPort), FAKE_REDIS_PASSWORD: PASSWORD, FAKE_REDIS_CA: certs?.caFile ?? "", ...env },
            encoding: "utf8",
            input,
        });
    };
    const log = () => fs.readFileSync(path.join(state, "log"), "utf8").trim().split("\n");
    const stateFile = (f: string) => (fs.existsSync(path.join(state, f)) ? fs.readFileSync(path.join(state, f), "utf8").trim() : undefined);

    it("to a time: target set, server stopped, restore job from the CronJob (a failed look retried), server started, full backup, Redis emptied, index rebuilt", () => {
        cli("SET", "item:42", "stale");
        const result = run(["--namespace", "shop", "--yes", "--pitr", "--target", "2026-11-30 14:05:00+00"]);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(stateFile("restored-to"), "2026-11-30 14:05:00+00");
        assert.equal(stateFile("replicas"), "1");
        assert.equal(stateFile("reindexed"), "reindexed");
        assert.equal(cli("DBSIZE"), "0");
        const calls = log();
        const order = [
            /^--namespace shop create configmap postgres-pitr-target --from-literal=target=2026-11-30 14:05:00\+00$/,
            /^--namespace shop scale statefulset\/postgres --replicas=0$/,
            /^--namespace shop wait --for=delete pod\/postgres-0 /,
            /^--namespace shop create job postgres-pitr-restore-\d{14} --from=cronjob\/postgres-pitr-restore$/,
            /^--namespace shop scale statefulset\/postgres --replicas=1$/,
            /^--namespace shop rollout status statefulset\/postgres /,
            /^--namespace shop create job postgres-pitr-full-\d{14} --from=cronjob\/postgres-pitr-full$/,
            /^--namespace shop exec redis-0 -c redis -- sh -c keys=\$\(redis-cli --tls --cacert \/etc\/redis\/tls\/ca\.crt -h 127\.0\.0\.1 -p "\$1" --scan\) && printf .*\| xargs .*UNLINK.* sh 6379$/,
            /^--namespace shop exec deploy\/api -c api -- python -m herd_api\.reindex$/,
        ];
        let at = 0;
        for (const re of order) {
            const i = calls.findIndex((c, j) => j >= at && re.test(c));
            assert.ok(i >= 0, `${re} not found in order in:\n${calls.join("\n")}`);
            at = i + 1;
        }
        assert.ok(!calls.some((c) => c.includes(PASSWORD)), "the Redis password is on no kubectl command line");
        assert.match(result.stderr, /restored shop\/postgres-0 to 2026-11-30 14:05:00\+00; Redis emptied, search index rebuilt/);
    });

    it("to the latest archived WAL: no target ConfigMap", () => {
        const result = run(["--yes", "--pitr"]);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(stateFile("restored-to"), "latest");
        assert.ok(!log().some((c) => c.includes("create configmap")));
        assert.ok(log().some((c) => c === "--namespace herd delete configmap postgres-pitr-target --ignore-not-found"));
    });

    it("a failed restore prints the job's log, leaves the StatefulSet at 0 and says what to do", () => {
        const result = run(["--yes", "--pitr"], { FAKE_RESTORE: "fail" });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /no backup set found to restore/);
        assert.match(result.stderr, /the restore failed \(its log is above\)\. PostgreSQL stays stopped: statefulset\/postgres is at 0 replicas\. .*scale statefulset\/postgres --replicas=1/);
        assert.equal(stateFile("replicas"), "0");
        assert.ok(!log().some((c) => c.includes("--scan")), "Redis untouched");
    });

    it("a restore that does not finish in --timeout is left running, with the StatefulSet at 0", () => {
        const result = run(["--yes", "--pitr", "--timeout", "1"], { FAKE_RESTORE: "running", RESTORE_POLL_SECONDS: "1" });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /did not finish in 1 s\. PostgreSQL stays stopped/);
        assert.equal(stateFile("replicas"), "0");
    });

    it("a pod that does not stop: no restore, the StatefulSet at 0 and what to do", () => {
        const result = run(["--yes", "--pitr"], { FAKE_POD_STUCK: "1" });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /pod postgres-0 did not stop in 21600 s; statefulset\/postgres is at 0 replicas and nothing was restored/);
        assert.ok(!log().some((c) => c.includes("create job")));
    });

    it("a failed reindex after a good restore says the database is restored and what to run", () => {
        const result = run(["--yes", "--pitr"], { FAKE_REINDEX: "fail" });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /PostgreSQL is restored and Redis emptied, but rebuilding the search index failed: run .*python -m herd_api\.reindex/);
        assert.equal(stateFile("replicas"), "1");
    });

    it("a stack without archiving: refused before anything changes", () => {
        const result = run(["--yes", "--pitr"], { FAKE_NO_CRONJOB: "1" });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /no CronJob herd\/postgres-pitr-restore: this stack has no point-in-time recovery/);
        assert.ok(!log().some((c) => c.includes("scale")));
    });

    it("without --yes it asks, and a wrong answer changes nothing", () => {
        const result = run(["--pitr"], {}, "no\n");
        assert.equal(result.status, 1);
        assert.match(result.stderr, /with its state at the latest archived WAL \(point-in-time recovery\)\.\nType the pod name to continue: restore-postgres: aborted/);
        assert.ok(!log().some((c) => c.includes("scale") || c.includes("create")));
    });

    const bad: [string, string[], RegExp, number][] = [
        ["a target without a zone", ["--pitr", "--target", "2026-11-30 14:05:00"], /--target '2026-11-30 14:05:00' is not a timestamp with zone: expected 'YYYY-MM-DD HH:MM:SS\[\.ffffff\]\+HH\[:MM\]'/, 1],
        ["a target given without --pitr", ["--target", "2026-11-30 14:05:00+00", "x.dump"], /--target is for --pitr only/, 2],
        ["--pitr with a dump SOURCE", ["--pitr", "x.dump"], /--pitr takes no SOURCE/, 2],
        ["a timeout that is no number", ["--pitr", "--timeout", "soon"], /--timeout expected whole seconds, got 'soon'/, 1],
        ["an unknown option", ["--pitr", "--fast"], /unknown option --fast/, 2],
        ["neither SOURCE nor --pitr", [], /SOURCE is required \(or --pitr\)/, 2],
    ];
    for (const [what, args, expected, status] of bad) {
        it(`refuses ${what}, before calling kubectl`, () => {
            const result = run(["--yes", ...args]);
            assert.equal(result.status, status, result.stderr);
            assert.match(result.stderr, expected);
            assert.equal(fs.existsSync(path.join(state, "log")), false);
        });
    }

    it("--help describes both modes and exits 0", () => {
        const result = run(["--help"]);
        assert.equal(result.status, 0);
        assert.match(result.stdout, /--pitr \[--target TIME\]/);
        assert.match(result.stdout, /empties the Redis cache \(every key, in <redis>-0\) and rebuilds the search index/);
    });
});
