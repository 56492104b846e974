/**
 * PostgresStateful: defaults, overrides, validation errors, and what the recorded resources promise a user —
 * the StatefulSet keeps its volumes, the password never appears in plain text, backups reach the platform's store
 * through its identity, and the pod is locked down.
 */
import assert from "node:assert/strict";
import type { MetricsOptions } from "../components/metrics";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import {
    backupPrefix,
    POSTGRES_IMAGE,
    PostgresBackupArgs,
    postgresDefaults,
    postgresProblems,
    postgresSettings,
    PostgresStateful,
    PostgresStatefulArgs,
    ROLES_SYNC_INTERVAL_SECONDS,
    rolesDriftSql,
    rolesSql,
    rolesSyncScript,
    uniqueEnv,
} from "../components/postgres";
import type { BackupStore, IdentityBinding } from "../platform/contract";
import { AWS_CLI_IMAGE, endpointPort, s3Uploader } from "../platform/s3-uploader";
import { GCLOUD_IMAGE, gcsUploader } from "../platform/gcp/backups";
import { evaluateProgram, Evaluation, RecordedResource } from "../offline/evaluate";
import { buildManifests, Manifest } from "../offline/manifests";
import { InvalidArgumentsError, problemText } from "../components/validation";
import { inspect } from "./helpers";
import { InternalCa } from "../components/internal-ca";

const CLIENTS = { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "api" };
// Metrics off here: these tests are about the server; the exporter, its role and its NetworkPolicy rule are tested
// with metrics on in tests/metrics.test.ts (every stack) and below ("metrics: the exporter sidecar").
const BASE: PostgresStatefulArgs & { readonly metrics?: MetricsOptions } = { namespace: "herd", storageClassName: "fast-ssd", clientLabels: CLIENTS, metrics: { enabled: false } };

function backup(store: BackupStore, binding: IdentityBinding = { serviceAccountAnnotations: {}, env: [] }): PostgresBackupArgs {
    return { schedule: "0 3 * * *", retentionDays: 14, store, identity: { bind: () => binding } };
}

async function render(args: Partial<PostgresStatefulArgs> = {}): Promise<{ e: Evaluation; manifests: readonly Manifest[]; pg: PostgresStateful }> {
    let pg: PostgresStateful | undefined;
    const e = await evaluateProgram(() => {
        pg = new PostgresStateful("postgres", { ...BASE, ca: new InternalCa("herd-ca", { namespace: "herd" }), ...args });
        return {};
    });
    assert.ok(pg !== undefined);
    return { e, manifests: buildManifests(e).manifests, pg };
}

function find(manifests: readonly Manifest[], kind: string, name?: string): Manifest {
    const m = manifests.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
    assert.ok(m !== undefined, `${kind} ${name ?? ""} not found`);
    return m;
}

function resource(e: Evaluation, type: string, name: string): RecordedResource {
    const r = e.resources.find((x) => x.type === type && x.name === name);
    assert.ok(r !== undefined, `${type} ${name} not recorded`);
    return r;
}

type PodSpec = { containers: Record<string, unknown>[]; initContainers?: Record<string, unknown>[]; securityContext: Record<string, unknown>; volumes: Record<string, unknown>[] } & Record<string, unknown>;
const podSpec = (sts: Manifest) => (sts["spec"] as { template: { spec: PodSpec } }).template.spec;
const container = (sts: Manifest) => podSpec(sts).containers[0] as Record<string, unknown> & { env: { name: string; value?: string; valueFrom?: unknown }[]; args: string[] };

describe("defaults", () => {
    const d = postgresDefaults(BASE);
    it("20Gi of storage", () => assert.equal(d.storageSize, "20Gi"));
    it("2Gi of memory and half a CPU", () => assert.deepEqual([d.memory, d.cpu], ["2Gi", "500m"]));
    it("100 connections", () => assert.equal(d.maxConnections, 100));
    it("database herd; roles herd_app (the API), herd_owner (migrations), herd_backup; the image's superuser herd", () =>
        assert.deepEqual([d.database, d.user, d.ownerUser, d.backupUser, d.superuser], ["herd", "herd_app", "herd_owner", "herd_backup", "herd"]));
    it("the pinned PostgreSQL 16 image", () => {
        assert.equal(d.image, POSTGRES_IMAGE);
        assert.match(POSTGRES_IMAGE, /^postgres:16\.\d+-bookworm$/);
    });
    it("data protected", () => assert.equal(d.protect, true));
    it("a 50Gi backup volume when backups go to a volume", () => assert.equal(d.backupVolumeSize, "50Gi"));
    it("a dump's scratch space before upload as large as the data volume (20Gi)", () => assert.equal(d.backupScratchSize, "20Gi"));
    it("the scratch space follows a larger data volume when not set", () =>
        assert.equal(postgresDefaults({ ...BASE, storageSize: "80Gi" }).backupScratchSize, "80Gi"));
});

describe("overrides", () => {
    it("every field", () => {
        const d = postgresDefaults({
            ...BASE,
            storageSize: "100Gi",
            memory: "8Gi",
            cpu: "2",
            maxConnections: 300,
            database: "shop",
            user: "shop_app",
            ownerUser: "shop_owner",
            backupUser: "shop_backup",
            superuser: "postgres",
            image: "postgres:16.4-bookworm",
            protect: false,
            backup: { ...backup({ kind: "volume", storageClassName: "x" }), volumeSize: "200Gi", scratchSize: "150Gi" },
        });
        assert.deepEqual(d, {
            storageSize: "100Gi",
            memory: "8Gi",
            cpu: "2",
            maxConnections: 300,
            database: "shop",
            user: "shop_app",
            ownerUser: "shop_owner",
            backupUser: "shop_backup",
            superuser: "postgres",
            image: "postgres:16.4-bookworm",
            protect: false,
            backupVolumeSize: "200Gi",
            backupScratchSize: "150Gi",
            // Archiving's own defaults and overrides: tests/postgres-pitr.test.ts.
            archive: undefined,
        });
    });
    it("settings follow the memory limit", () => {
        assert.deepEqual(
            { ...postgresSettings("8Gi", 300) },
            {
                max_connections: "300",
                shared_buffers: "2048MB",
                effective_cache_size: "6144MB",
                maintenance_work_mem: "512MB",
                fsync: "on",
                synchronous_commit: "on",
                full_page_writes: "on",
                password_encryption: "scram-sha-256",
                listen_addresses: "*",
            },
        );
    });
    it("protect: false leaves the StatefulSet unprotected (for throwaway stacks)", async () => {
        const { e } = await render({ protect: false });
        assert.equal(resource(e, "kubernetes:apps/v1:StatefulSet", "postgres").options.protect, false);
    });
});

describe("validation errors name the field", () => {
    const cases: [string, Partial<PostgresStatefulArgs>, RegExp][] = [
        ["storage size", { storageSize: "20 gigs" }, /storageSize: expected a Kubernetes quantity such as 20Gi, got "20 gigs"/],
        ["memory too small", { memory: "128Mi" }, /memory: expected at least 256Mi, got "128Mi"/],
        ["memory unparseable", { memory: "lots" }, /memory: expected a Kubernetes quantity/],
        ["cpu", { cpu: "-1" }, /cpu: expected a CPU quantity such as 500m, got "-1"/],
        ["max connections", { maxConnections: 3 }, /maxConnections: expected a whole number of at least 10, got 3/],
        ["database name", { database: "Shop-DB" }, /database: expected a lowercase SQL identifier.*got "Shop-DB"/],
        ["the app role named postgres", { user: "postgres" }, /user: expected a role of its own, not "postgres" \(the conventional superuser\)/],
        ["the app role is the superuser", { user: "herd" }, /user: expected a role of its own, got "herd", which is already superuser/],
        ["two roles the same", { backupUser: "herd_owner" }, /backupUser: expected a role of its own, got "herd_owner", which is already ownerUser/],
        ["owner role name", { ownerUser: "Owner" }, /ownerUser: expected a lowercase SQL identifier.*got "Owner"/],
        ["reserved pg_ prefix", { backupUser: "pg_backup" }, /backupUser: expected a role name not starting with pg_ \(reserved by PostgreSQL\), got "pg_backup"/],
        ["superuser name", { superuser: "root-user" }, /superuser: expected a lowercase SQL identifier.*got "root-user"/],
        ["cron", { backup: { ...backup({ kind: "volume", storageClassName: "x" }), schedule: "nightly" } }, /backup\.schedule: expected a cron schedule of 5 fields/],
        ["retention", { backup: { ...backup({ kind: "volume", storageClassName: "x" }), retentionDays: 0 } }, /backup\.retentionDays: expected a whole number of days, at least 1, got 0/],
        ["backup volume size", { backup: { ...backup({ kind: "volume", storageClassName: "x" }), volumeSize: "big" } }, /backup\.volumeSize: expected a Kubernetes quantity/],
    ];
    for (const [what, args, expected] of cases) {
        it(what, () => {
            const r = postgresDefaults({ ...BASE, ...args });
            assert.match(postgresProblems(r, args.backup).map(problemText).join("\n"), expected);
        });
    }
    it("the component refuses bad arguments with one error listing every problem, before creating anything", async () => {
        await assert.rejects(
            evaluateProgram(() => {
                new PostgresStateful("postgres", { ...BASE, ca: new InternalCa("herd-ca", { namespace: "herd" }), memory: "1Mi", maxConnections: 1 });
                return {};
            }),
            (err: Error) => {
                assert.match(err.message, /PostgresStateful "postgres": invalid arguments:\n {2}- memory: .*\n {2}- maxConnections: /);
                assert.ok(err instanceof InvalidArgumentsError);
                assert.deepEqual(err.errors.map((p) => p.propertyPath), ["memory", "maxConnections"]);
                return true;
            },
        );
    });
    it("a backup's problems carry their nested property path (backup.schedule, .retentionDays, .volumeSize, .scratchSize)", async () => {
        const bad = { ...backup({ kind: "volume", storageClassName: "x" }), schedule: "nightly", retentionDays: 0, volumeSize: "big", scratchSize: "roomy" };
        await assert.rejects(
            evaluateProgram(() => {
                new PostgresStateful("postgres", { ...BASE, ca: new InternalCa("herd-ca", { namespace: "herd" }), backup: bad });
                return {};
            }),
            (err: Error) => {
                assert.ok(err instanceof InvalidArgumentsError);
                assert.deepEqual(err.errors.map((p) => p.propertyPath), ["backup.schedule", "backup.retentionDays", "backup.volumeSize", "backup.scratchSize"]);
                assert.match(err.errors[0].reason, /^expected a cron schedule of 5 fields/);
                assert.equal(err.errors[3].reason, 'expected a Kubernetes quantity such as 20Gi, got "roomy"');
                assert.equal(err.message, `PostgresStateful "postgres": invalid arguments:\n${err.errors.map((p) => `  - ${p.propertyPath}: ${p.reason}`).join("\n")}`);
                return true;
            },
        );
    });
});

describe("the StatefulSet keeps its data", () => {
    it("fixed name, headless serviceName, claims on the given class, Retain/Retain, protected", async () => {
        const { e, manifests } = await render();
        const sts = find(manifests, "StatefulSet", "postgres");
        const spec = sts["spec"] as Record<string, unknown> & { volumeClaimTemplates: Manifest[] };
        assert.equal(spec["serviceName"], "postgres-headless");
        assert.deepEqual(spec["persistentVolumeClaimRetentionPolicy"], { whenDeleted: "Retain", whenScaled: "Retain" });
        assert.deepEqual(spec.volumeClaimTemplates[0]["spec"], { accessModes: ["ReadWriteOnce"], storageClassName: "fast-ssd", resources: { requests: { storage: "20Gi" } } });
        assert.equal(resource(e, "kubernetes:apps/v1:StatefulSet", "postgres").options.protect, true);
        assert.equal(resource(e, "kubernetes:core/v1:Secret", "postgres-credentials").options.protect, true);
        assert.equal(resource(e, "random:index/randomPassword:RandomPassword", "postgres-password").options.protect, true);
        const headless = find(manifests, "Service", "postgres-headless")["spec"] as Record<string, unknown>;
        assert.equal(headless["clusterIP"], "None");
    });
    it("PGDATA is a subdirectory of the volume", async () => {
        const { manifests } = await render();
        const c = container(find(manifests, "StatefulSet"));
        assert.equal(c.env.find((x) => x.name === "PGDATA")?.value, "/var/lib/postgresql/data/pgdata");
        assert.deepEqual((c["volumeMounts"] as { name: string; mountPath: string }[]).find((m) => m.name === "data"), { name: "data", mountPath: "/var/lib/postgresql/data" });
    });
    it("immutable fields do not change with sizing (changing them would force a replacement)", async () => {
        const a = find((await render()).manifests, "StatefulSet")["spec"] as Record<string, unknown>;
        const b = find((await render({ memory: "8Gi", cpu: "2", maxConnections: 400 })).manifests, "StatefulSet")["spec"] as Record<string, unknown>;
        for (const field of ["serviceName", "selector", "volumeClaimTemplates", "podManagementPolicy"]) {
            assert.deepEqual(a[field], b[field], field);
        }
    });
    it("a disruption budget that lets a node drain evict the single primary (a short, planned outage)", async () => {
        const { manifests } = await render();
        const pdb = find(manifests, "PodDisruptionBudget", "postgres")["spec"] as Record<string, unknown>;
        assert.equal(pdb["maxUnavailable"], 1);
        assert.equal(pdb["minAvailable"], undefined);
        assert.equal(pdb["unhealthyPodEvictionPolicy"], "AlwaysAllow");
        assert.deepEqual(pdb["selector"], (find(manifests, "StatefulSet")["spec"] as Record<string, unknown>)["selector"]);
    });
    it("fast, clean shutdown: preStop asks for a fast stop within the grace period", async () => {
        const sts = find((await render()).manifests, "StatefulSet");
        assert.equal(podSpec(sts)["terminationGracePeriodSeconds"], 120);
        assert.match(JSON.stringify(container(sts)["lifecycle"]), /pg_ctl stop -D \\"\$PGDATA\\" -m fast -w -t 100/);
    });
});

describe("credentials", () => {
    it("four generated passwords (the superuser's and each role's), each in its own protected Secret, never in plain text elsewhere", async () => {
        const { e, manifests } = await render({ backup: backup({ kind: "volume", storageClassName: "fast-ssd" }) });
        const c = container(find(manifests, "StatefulSet"));
        assert.deepEqual(c.env.find((x) => x.name === "POSTGRES_PASSWORD")?.valueFrom, { secretKeyRef: { name: "postgres-credentials", key: "password" } });
        const passwords = e.secretValues.filter((v) => v.length === 32);
        assert.equal(new Set(passwords).size, 4, "the generated passwords are known to the harness, all different");
        // The credentials' Secrets, and the server certificate's (tests/internal-tls.test.ts).
        const secrets = manifests.filter((x) => x.kind === "Secret" && x.metadata.name !== "postgres-tls");
        assert.deepEqual(secrets.map((x) => x.metadata.name).sort(), ["postgres-app-credentials", "postgres-backup-credentials", "postgres-credentials", "postgres-owner-credentials"]);
        for (const password of passwords) {
            for (const m of manifests.filter((x) => x.kind !== "Secret")) {
                assert.ok(!JSON.stringify(m).includes(password), `${m.kind} ${m.metadata.name} contains a password`);
            }
            assert.equal(secrets.filter((x) => JSON.stringify(x).includes(password)).length, 1, "each password in exactly one Secret");
            assert.ok(!JSON.stringify(e.resources).includes(password), "recorded inputs are redacted");
        }
        for (const [secret, username] of [["postgres-credentials", "herd"], ["postgres-owner-credentials", "herd_owner"], ["postgres-app-credentials", "herd_app"], ["postgres-backup-credentials", "herd_backup"]]) {
            assert.equal((find(manifests, "Secret", secret)["stringData"] as Record<string, string>)["username"], username);
            assert.equal(resource(e, "kubernetes:core/v1:Secret", secret).options.protect, true, `${secret} protected with the data`);
            assert.equal(resource(e, "random:index/randomPassword:RandomPassword", secret.replace("credentials", "password")).options.protect, true);
        }
    });
    it("the outputs give consumers the app role's login, the owner's for migrations, and never a password", async () => {
        const { pg } = await render();
        assert.equal((await inspect(pg.host)).value, "postgres.herd.svc.cluster.local");
        assert.equal(pg.port, 5432);
        assert.equal((await inspect(pg.secretName)).value, "postgres-app-credentials");
        assert.deepEqual([pg.passwordKey, pg.user, pg.database], ["password", "herd_app", "herd"]);
        assert.deepEqual([pg.owner.user, (await inspect(pg.owner.secretName)).value, pg.owner.passwordKey], ["herd_owner", "postgres-owner-credentials", "password"]);
    });
    it("no workload but the server's own container references the superuser's Secret", async () => {
        const { manifests } = await render({ backup: backup({ kind: "volume", storageClassName: "fast-ssd" }) });
        const refs = manifests
            .filter((m) => m.kind !== "Secret")
            .flatMap((m) => [...JSON.stringify(m).matchAll(/"name":"postgres-credentials"/g)].map(() => `${m.kind}/${m.metadata.name}`));
        assert.deepEqual(refs, ["StatefulSet/postgres"]);
        const envRefs = container(find(manifests, "StatefulSet")).env.filter((x) => JSON.stringify(x.valueFrom ?? {}).includes("postgres-credentials")).map((x) => x.name);
        assert.deepEqual(envRefs, ["POSTGRES_PASSWORD"], "only initdb's POSTGRES_PASSWORD");
    });
});

describe("the pod is locked down", () => {
    it("restricted security context on the pod and every container, requests and limits", async () => {
        const { manifests } = await render();
        for (const m of manifests.filter((x) => x.kind === "StatefulSet" || x.kind === "CronJob")) {
            const spec = m.kind === "CronJob" ? ((m["spec"] as { jobTemplate: { spec: { template: { spec: PodSpec } } } }).jobTemplate.spec.template.spec) : podSpec(m);
            assert.deepEqual(
                { runAsNonRoot: spec.securityContext["runAsNonRoot"], runAsUser: spec.securityContext["runAsUser"], fsGroup: spec.securityContext["fsGroup"], seccomp: spec.securityContext["seccompProfile"] },
                { runAsNonRoot: true, runAsUser: 999, fsGroup: 999, seccomp: { type: "RuntimeDefault" } },
            );
            for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
                const sc = c["securityContext"] as Record<string, unknown>;
                assert.equal(sc["readOnlyRootFilesystem"], true, `${String(c["name"])}`);
                assert.equal(sc["allowPrivilegeEscalation"], false);
                assert.deepEqual(sc["capabilities"], { drop: ["ALL"] });
                const res = c["resources"] as { requests: Record<string, string>; limits: Record<string, string> };
                assert.ok(res.requests["cpu"] !== undefined && res.requests["memory"] !== undefined && res.limits["memory"] !== undefined);
            }
        }
    });
    it("probes ask the server: pg_isready on TCP to start and be ready, a real query to stay alive", async () => {
        const c = container(find((await render()).manifests, "StatefulSet"));
        const cmd = (probe: string) => ((c[probe] as { exec: { command: string[] } }).exec.command).join(" ");
        assert.equal(cmd("startupProbe"), "pg_isready -h 127.0.0.1 -p 5432");
        assert.equal(cmd("readinessProbe"), "pg_isready -h 127.0.0.1 -p 5432");
        assert.equal(cmd("livenessProbe"), "psql -h /var/run/postgresql -tAc SELECT 1");
    });
    it("settings derived from memory are passed as server arguments", async () => {
        const c = container(find((await render({ memory: "4Gi" })).manifests, "StatefulSet"));
        assert.ok(c.args.includes("shared_buffers=1024MB"));
        assert.ok(c.args.includes("effective_cache_size=3072MB"));
    });
    it("NetworkPolicy: ingress only from the client pods and the backup job, on 5432; no egress", async () => {
        const np = find((await render()).manifests, "NetworkPolicy", "postgres")["spec"] as Record<string, unknown>;
        assert.deepEqual(np["policyTypes"], ["Ingress", "Egress"]);
        assert.deepEqual(np["egress"], []);
        assert.deepEqual(np["ingress"], [
            {
                from: [
                    { podSelector: { matchLabels: CLIENTS } },
                    { podSelector: { matchLabels: { "app.kubernetes.io/name": "postgres-backup", "app.kubernetes.io/instance": "postgres" } } },
                ],
                ports: [{ protocol: "TCP", port: 5432 }],
            },
        ]);
    });
});

describe("roles: created and kept in step by a sidecar in the server's pod", () => {
    const roles = (sts: Manifest) => podSpec(sts).containers.find((c) => c["name"] === "roles") as Record<string, unknown> & { env: { name: string; value?: string }[] };
    const FILES = { owner: "/etc/herd/postgres-role-passwords/owner", app: "/etc/herd/postgres-role-passwords/app", backup: "/etc/herd/postgres-role-passwords/backup" };

    it("the ConfigMap holds the generated SQL for the configured names, and no password", async () => {
        const { e, manifests } = await render({ user: "shop_app", ownerUser: "shop_owner", backupUser: "shop_backup", database: "shop" });
        const data = find(manifests, "ConfigMap", "postgres-roles")["data"] as Record<string, string>;
        const names = { database: "shop", owner: "shop_owner", app: "shop_app", backup: "shop_backup" };
        assert.equal(data["apply.sql"], rolesSql(names, FILES));
        assert.equal(data["drift.sql"], rolesDriftSql(names));
        for (const password of e.secretValues) {
            assert.ok(!JSON.stringify(data).includes(password));
        }
    });
    it("the sidecar: the server's image, the superuser over the socket only, the roles' passwords as files, ready once in step", async () => {
        const sts = find((await render()).manifests, "StatefulSet");
        const c = roles(sts);
        assert.equal(c["image"], POSTGRES_IMAGE);
        assert.deepEqual(c["command"], ["/bin/sh", "-c", rolesSyncScript({ sqlDir: "/etc/herd/postgres-roles", passwords: FILES, readyFile: "/tmp/roles-in-step" })]);
        assert.deepEqual(Object.fromEntries(c.env.map((x) => [x.name, x.value])), {
            PGHOST: "/var/run/postgresql",
            PGPORT: "5432",
            PGUSER: "herd",
            PGDATABASE: "herd",
            ROLES_INTERVAL: String(ROLES_SYNC_INTERVAL_SECONDS),
            HOME: "/tmp",
        });
        assert.ok(c.env.every((x) => x.value !== undefined), "no secret in its env: the socket needs none");
        assert.deepEqual((c["readinessProbe"] as { exec: unknown }).exec, { command: ["test", "-f", "/tmp/roles-in-step"] });
        const mounts = Object.fromEntries((c["volumeMounts"] as { name: string; mountPath: string }[]).map((m) => [m.name, m.mountPath]));
        assert.deepEqual(mounts, { run: "/var/run/postgresql", "roles-sql": "/etc/herd/postgres-roles", "role-passwords": "/etc/herd/postgres-role-passwords", "roles-tmp": "/tmp" });
        const passwords = podSpec(sts).volumes.find((v) => v["name"] === "role-passwords") as { projected: { defaultMode: number; sources: { secret: { name: string; items: unknown[] } }[] } };
        assert.equal(passwords.projected.defaultMode, 0o440);
        assert.deepEqual(
            passwords.projected.sources.map((x) => [x.secret.name, x.secret.items]),
            [
                ["postgres-owner-credentials", [{ key: "password", path: "owner" }]],
                ["postgres-app-credentials", [{ key: "password", path: "app" }]],
                ["postgres-backup-credentials", [{ key: "password", path: "backup" }]],
            ],
        );
        assert.deepEqual(podSpec(sts).volumes.find((v) => v["name"] === "roles-sql"), { name: "roles-sql", configMap: { name: "postgres-roles", defaultMode: 0o444 } });
    });
    it("renaming a role changes the ConfigMap and the Secrets, not the pod template: the server does not restart", async () => {
        const a = find((await render()).manifests, "StatefulSet")["spec"];
        const b = find((await render({ user: "shop_app", ownerUser: "shop_owner", backupUser: "shop_backup" })).manifests, "StatefulSet")["spec"];
        assert.deepEqual(a, b);
    });
});

describe("backups", () => {
    type Job = { schedule: string; concurrencyPolicy: string; jobTemplate: { spec: { template: { spec: PodSpec } } } };
    const job = (manifests: readonly Manifest[]) => find(manifests, "CronJob", "postgres-backup")["spec"] as Job;

    it("none unless asked", async () => {
        const { manifests } = await render();
        assert.equal(manifests.some((m) => m.kind === "CronJob"), false);
    });
    it("S3 via the platform's identity: dump, then upload with the role's annotation on the ServiceAccount", async () => {
        const { manifests } = await render({
            backup: backup(
                { kind: "objectStore", uploader: s3Uploader("herd-backups-abc", "eu-west-1", undefined) },
                { serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/backup" }, env: [] },
            ),
        });
        const j = job(manifests);
        assert.equal(j.schedule, "0 3 * * *");
        assert.equal(j.concurrencyPolicy, "Forbid");
        const pod = j.jobTemplate.spec.template.spec;
        assert.equal(pod["serviceAccountName"], "postgres-backup");
        assert.equal((pod.initContainers ?? [])[0]?.["image"], POSTGRES_IMAGE, "pg_dump of the same major version");
        assert.equal(pod.containers[0]["image"], AWS_CLI_IMAGE);
        assert.match(JSON.stringify(pod.containers[0]["command"]), /aws s3 cp/);
        const env = pod.containers[0]["env"] as { name: string; value?: string }[];
        assert.equal(env.find((x) => x.name === "BUCKET")?.value, "herd-backups-abc");
        assert.equal(env.find((x) => x.name === "PREFIX")?.value, "postgres/herd/postgres/");
        assert.deepEqual(env.map((x) => x.name), ["HOME", "BUCKET", "PREFIX", "AWS_REGION"], "each variable once");
        const sa = find(manifests, "ServiceAccount", "postgres-backup");
        assert.deepEqual((sa.metadata["annotations"] as Record<string, string>)["eks.amazonaws.com/role-arn"], "arn:aws:iam::123456789012:role/backup");
        const dumpEnv = (pod.initContainers ?? [])[0]?.["env"] as { name: string; valueFrom?: unknown }[];
        assert.deepEqual(dumpEnv.find((x) => x.name === "PGPASSWORD")?.valueFrom, { secretKeyRef: { name: "postgres-backup-credentials", key: "password" } });
        assert.equal((dumpEnv as { name: string; value?: string }[]).find((x) => x.name === "PGUSER")?.value, "herd_backup", "pg_dump as the read-only backup role");
    });
    it("the dump's scratch space before upload: an emptyDir of backup.scratchSize, whose limit the dump checks its room against", async () => {
        const scratchOf = async (scratchSize: string | undefined, storageSize = "20Gi") => {
            const store = { kind: "objectStore" as const, uploader: s3Uploader("b", "eu-west-1", undefined) };
            const { manifests } = await render({ storageSize, backup: { ...backup(store), ...(scratchSize === undefined ? {} : { scratchSize }) } });
            const pod = job(manifests).jobTemplate.spec.template.spec;
            const volume = (pod["volumes"] as { name: string; emptyDir?: { sizeLimit?: string } }[]).find((v) => v.name === "backup");
            const env = (pod.initContainers ?? [])[0]?.["env"] as { name: string; value?: string }[];
            return { limit: volume?.emptyDir?.sizeLimit, bytes: env.find((x) => x.name === "SCRATCH_LIMIT_BYTES")?.value, key: env.find((x) => x.name === "ROOM_SETTING")?.value };
        };
        assert.deepEqual(await scratchOf(undefined), { limit: "20Gi", bytes: String(20 * 1024 ** 3), key: "backupScratchSize" });
        assert.deepEqual(await scratchOf(undefined, "64Gi"), { limit: "64Gi", bytes: String(64 * 1024 ** 3), key: "backupScratchSize" });
        assert.deepEqual(await scratchOf("100Gi"), { limit: "100Gi", bytes: String(100 * 1024 ** 3), key: "backupScratchSize" });
    });
    it("on a backup volume the dump's room is the volume's free space, and the key to raise is backupVolumeSize", async () => {
        const { manifests } = await render({ backup: backup({ kind: "volume", storageClassName: "x" }) });
        const env = job(manifests).jobTemplate.spec.template.spec.containers[0]?.["env"] as { name: string; value?: string }[];
        assert.equal(env.find((x) => x.name === "ROOM_SETTING")?.value, "backupVolumeSize");
        assert.equal(env.find((x) => x.name === "SCRATCH_LIMIT_BYTES"), undefined);
    });
    it("an S3-compatible endpoint on-prem: credentials from the customer's Secret, egress to its port", async () => {
        const { manifests } = await render({
            backup: backup(
                { kind: "objectStore", uploader: s3Uploader("b", "us-east-1", "http://minio.storage:9000") },
                { serviceAccountAnnotations: {}, env: [{ name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "s3", key: "AWS_ACCESS_KEY_ID" } } }] },
            ),
        });
        const env = job(manifests).jobTemplate.spec.template.spec.containers[0]["env"] as { name: string; value?: string; valueFrom?: unknown }[];
        assert.equal(env.find((x) => x.name === "AWS_ENDPOINT_URL")?.value, "http://minio.storage:9000");
        assert.deepEqual(env.find((x) => x.name === "AWS_ACCESS_KEY_ID")?.valueFrom, { secretKeyRef: { name: "s3", key: "AWS_ACCESS_KEY_ID" } });
        const np = find(manifests, "NetworkPolicy", "postgres-backup")["spec"] as { egress: { ports: { port: number }[] }[] };
        assert.ok(np.egress.some((r) => r.ports.some((p) => p.port === 9000)));
    });
    it("GCS via Workload Identity: gcloud upload, egress to the metadata server", async () => {
        const { manifests } = await render({
            backup: backup({ kind: "objectStore", uploader: gcsUploader("herd-backups") }, { serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": "backup@p.iam.gserviceaccount.com" }, env: [] }),
        });
        const pod = job(manifests).jobTemplate.spec.template.spec;
        assert.equal(pod.containers[0]["image"], GCLOUD_IMAGE);
        assert.match(JSON.stringify(pod.containers[0]["command"]), /gcloud storage cp/);
        const np = JSON.stringify(find(manifests, "NetworkPolicy", "postgres-backup")["spec"]);
        assert.match(np, /169\.254\.169\.254\/32/);
    });
    it("a volume: a protected claim, dumps written there and pruned after the retention", async () => {
        const { e, manifests } = await render({ backup: backup({ kind: "volume", storageClassName: "fast-ssd" }) });
        const claim = find(manifests, "PersistentVolumeClaim", "postgres-backups")["spec"] as Record<string, unknown>;
        assert.deepEqual(claim["resources"], { requests: { storage: "50Gi" } });
        assert.equal(resource(e, "kubernetes:core/v1:PersistentVolumeClaim", "postgres-backups").options.protect, true);
        // A claim that binds on first use has nothing to wait for, and one already Bound must not hang `up`.
        const claimMeta = find(manifests, "PersistentVolumeClaim", "postgres-backups")["metadata"] as { annotations?: Record<string, string> };
        assert.equal(claimMeta.annotations?.["pulumi.com/skipAwait"], "true");
        // pulumi destroy leaves the backups in place even when protection is lifted (found by the e2e teardown).
        assert.equal(resource(e, "kubernetes:core/v1:PersistentVolumeClaim", "postgres-backups").options.retainOnDelete, true);
        const pod = job(manifests).jobTemplate.spec.template.spec;
        assert.match(JSON.stringify(pod.containers[0]["command"]), /-mtime \+13 -print -delete/);
        assert.deepEqual(pod.volumes.find((v) => v["name"] === "backup")?.["persistentVolumeClaim"], { claimName: "postgres-backups" });
    });
    it("the backup pods may reach only DNS, the database and the store", async () => {
        const { manifests } = await render({ backup: backup({ kind: "volume", storageClassName: "fast-ssd" }) });
        const np = find(manifests, "NetworkPolicy", "postgres-backup")["spec"] as { ingress: unknown[]; egress: { ports: { port: number }[] }[] };
        assert.deepEqual(np.ingress, []);
        assert.deepEqual(np.egress.map((r) => r.ports.map((p) => p.port)), [[53, 53], [5432]]);
    });
    it("endpoint ports and key prefixes", async () => {
        assert.equal(endpointPort(undefined), 443);
        assert.equal(endpointPort("https://minio.example.com"), 443);
        assert.equal(endpointPort("http://minio:9000"), 9000);
        assert.equal((await inspect(backupPrefix(pulumi.output("shop"), "pg"))).value, "postgres/shop/pg/");
    });
});

describe("the backup container's env", () => {
    it("a name set twice (identity binding and uploader overlapping) is refused, naming it, not merged silently", () => {
        assert.throws(
            () => uniqueEnv("postgres-backup", [{ name: "AWS_REGION", value: "eu-west-1" }, { name: "BUCKET", value: "b" }, { name: "AWS_REGION", value: "us-east-1" }]),
            /postgres-backup: env AWS_REGION set more than once/,
        );
        assert.deepEqual(uniqueEnv("x", [{ name: "A", value: "1" }]), [{ name: "A", value: "1" }]);
    });
});
