/**
 * The whole program, per stack file, evaluated offline: what every stack must promise, then what each platform adds.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { evaluateStack, Evaluation } from "../offline/evaluate";
import { buildManifests, Manifest } from "../offline/manifests";
import { parseQuantity } from "../lib/quantity";

type Container = {
    name: string;
    env?: { name: string; value?: string; valueFrom?: unknown }[];
    securityContext?: Record<string, unknown>;
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    readinessProbe?: unknown;
    args?: string[];
    command?: string[];
};
type PodSpec = { containers: Container[]; initContainers?: Container[]; securityContext?: Record<string, unknown>; serviceAccountName?: string };

/** The pod template of a workload, whatever its kind. */
function podSpec(m: Manifest): PodSpec | undefined {
    const spec = m["spec"] as Record<string, unknown> | undefined;
    switch (m.kind) {
        case "StatefulSet":
        case "Deployment":
        case "Job":
            return (spec?.["template"] as { spec: PodSpec }).spec;
        case "CronJob":
            return (spec?.["jobTemplate"] as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
        default:
            return undefined;
    }
}

const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|_KEY$|^KEY$)/i;

/** Where each stack file's Elasticsearch snapshots go (repository type, base path or location). */
const STACKS = [
    {
        stack: "onprem",
        configFile: undefined,
        storageClass: "herd-retain",
        provider: "onprem-k8s",
        snapshots: { type: "s3", at: "elasticsearch/herd/elastic" },
        // The customer's S3-compatible store, with their keys.
        pitr: { PGBACKREST_REPO1_TYPE: "s3", PGBACKREST_REPO1_PATH: "/pgbackrest/herd/postgres", PGBACKREST_REPO1_S3_KEY_TYPE: "shared", PGBACKREST_REPO1_S3_URI_STYLE: "path" },
    },
    {
        stack: "aws",
        configFile: undefined,
        storageClass: "herd-gp3",
        provider: "aws-k8s",
        snapshots: { type: "s3", at: "elasticsearch/herd/elastic" },
        pitr: { PGBACKREST_REPO1_TYPE: "s3", PGBACKREST_REPO1_PATH: "/pgbackrest/herd/postgres", PGBACKREST_REPO1_S3_KEY_TYPE: "web-id", PGBACKREST_REPO1_S3_ENDPOINT: "s3.eu-west-1.amazonaws.com" },
    },
    {
        stack: "gcp",
        configFile: undefined,
        storageClass: "herd-pd-balanced",
        provider: "gcp-k8s",
        snapshots: { type: "gcs", at: "elasticsearch/herd/elastic" },
        pitr: { PGBACKREST_REPO1_TYPE: "gcs", PGBACKREST_REPO1_PATH: "/pgbackrest/herd/postgres", PGBACKREST_REPO1_GCS_KEY_TYPE: "auto" },
    },
    {
        stack: "onprem",
        configFile: "e2e/stack.yaml",
        storageClass: "herd-retain",
        provider: "onprem-k8s",
        snapshots: { type: "fs", at: "/mnt/snapshots" },
        pitr: { PGBACKREST_REPO1_TYPE: "posix", PGBACKREST_REPO1_PATH: "/var/lib/pgbackrest" },
    },
] as const;

for (const s of STACKS) {
    describe(`stack ${s.stack}${s.configFile !== undefined ? ` (${s.configFile})` : ""}`, () => {
        let e: Evaluation;
        let manifests: readonly Manifest[];
        before(async () => {
            e = await evaluateStack({ stack: s.stack, configFile: s.configFile });
            manifests = buildManifests(e).manifests; // throws on any schema error
        });

        it("renders schema-valid manifests into the restricted app namespace", () => {
            const ns = manifests.find((m) => m.kind === "Namespace");
            assert.equal(ns?.metadata.name, "herd");
            assert.equal((ns?.metadata["labels"] as Record<string, string>)["pod-security.kubernetes.io/enforce"], "restricted");
            for (const m of manifests.filter((x) => !["Namespace", "StorageClass"].includes(x.kind))) {
                assert.equal(m.metadata.namespace, "herd", `${m.kind} ${m.metadata.name}`);
            }
        });

        it("deploys PostgreSQL, Redis and Elasticsearch as StatefulSets that keep their volumes", () => {
            const sets = manifests.filter((m) => m.kind === "StatefulSet");
            assert.deepEqual(sets.map((m) => m.metadata.name).sort(), ["elastic", "postgres", "redis"]);
            for (const sts of sets) {
                const spec = sts["spec"] as { persistentVolumeClaimRetentionPolicy: unknown; serviceName: string; volumeClaimTemplates: { spec: { storageClassName: string } }[] };
                assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
                assert.equal(spec.serviceName, `${sts.metadata.name}-headless`);
                assert.equal(spec.volumeClaimTemplates[0].spec.storageClassName, s.storageClass);
                const recorded = e.resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet" && r.name === sts.metadata.name);
                assert.equal(recorded?.options.protect, true, `${sts.metadata.name} protected`);
            }
        });

        it("every Kubernetes object goes through the platform's provider", () => {
            for (const r of e.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
                assert.equal(r.options.provider, s.provider, `${r.type} ${r.name}`);
            }
        });

        it("every pod is restricted, sized, and gets secrets only by reference", () => {
            for (const m of manifests) {
                const pod = podSpec(m);
                if (pod === undefined) {
                    continue;
                }
                const where = `${m.kind} ${m.metadata.name}`;
                assert.equal(pod.securityContext?.["runAsNonRoot"], true, where);
                assert.deepEqual(pod.securityContext?.["seccompProfile"], { type: "RuntimeDefault" }, where);
                for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
                    const at = `${where} container ${c.name}`;
                    assert.equal(c.securityContext?.["allowPrivilegeEscalation"], false, at);
                    assert.equal(c.securityContext?.["readOnlyRootFilesystem"], true, at);
                    assert.deepEqual(c.securityContext?.["capabilities"], { drop: ["ALL"] }, at);
                    assert.notEqual(c.securityContext?.["privileged"], true, at);
                    assert.ok(c.resources?.requests?.["cpu"] !== undefined && c.resources.requests["memory"] !== undefined, `${at}: requests`);
                    assert.ok(c.resources?.limits?.["memory"] !== undefined, `${at}: memory limit`);
                    const names = (c.env ?? []).map((x) => x.name);
                    assert.equal(new Set(names).size, names.length, `${at}: duplicate env names ${names.join(",")}`);
                    for (const v of c.env ?? []) {
                        assert.ok(!(SECRET_NAME.test(v.name) && v.value !== undefined), `${at}: ${v.name} is a literal`);
                    }
                }
                if (m.kind !== "CronJob" && m.kind !== "Job") {
                    for (const c of pod.containers) {
                        assert.ok(c.readinessProbe !== undefined, `${where} container ${c.name}: readiness probe`);
                    }
                }
            }
        });

        it("no generated or configured secret appears in plain text in anything recorded or exported", () => {
            const everything = JSON.stringify(e.resources) + JSON.stringify(e.outputs);
            for (const secret of e.secretValues.filter((v) => v.length >= 8)) {
                assert.ok(!everything.includes(secret), "a secret leaked");
            }
            const manifestsWithoutSecrets = JSON.stringify(manifests.filter((m) => m.kind !== "Secret"));
            for (const secret of e.secretValues.filter((v) => v.length >= 12)) {
                assert.ok(!manifestsWithoutSecrets.includes(secret), "a secret value outside a Secret");
            }
        });

        it("exports the data tier's contract for the API and handoff", () => {
            const data = e.outputs["data"] as Record<string, Record<string, unknown>>;
            assert.deepEqual(data["postgres"], {
                host: "postgres.herd.svc.cluster.local",
                port: 5432,
                secretName: "postgres-app-credentials",
                user: "herd_app",
                database: "herd",
                passwordKey: "password",
                backupSchedule: "0 3 * * *",
                fullBackupSchedule: "0 2 * * 0",
                diffBackupSchedule: "0 2 * * 1-6",
            });
            assert.deepEqual(data["redis"], { host: "redis.herd.svc.cluster.local", port: 6379, secretName: "redis-credentials", passwordKey: "password" });
            assert.equal(data["elasticsearch"]?.["url"], "https://elastic.herd.svc.cluster.local:9200");
            assert.equal(data["elasticsearch"]?.["secretName"], "elastic-api-credentials");
        });

        it("PostgreSQL runs the herd PostgreSQL image and archives WAL into pgBackRest's repository on the platform's store", () => {
            const images = e.outputs["images"] as Record<string, string>;
            const sts = manifests.find((m) => m.kind === "StatefulSet" && m.metadata.name === "postgres") as Manifest;
            const server = podSpec(sts)?.containers.find((c) => c.name === "postgres");
            assert.equal(String((server as Record<string, unknown> | undefined)?.["image"]), images["postgres"]);
            assert.match(images["postgres"] ?? "", /\/postgres@sha256:[0-9a-f]{64}$/);
            assert.ok(server?.args?.includes("archive_mode=on"));
            assert.ok(server?.args?.includes("archive_timeout=60"));
            const config = manifests.find((m) => m.kind === "ConfigMap" && m.metadata.name === "postgres-pgbackrest")?.["data"] as Record<string, string>;
            for (const [key, value] of Object.entries(s.pitr)) {
                assert.equal(config[key], value, key);
            }
            assert.equal(config["PGBACKREST_REPO1_RETENTION_FULL"], "4");
            for (const name of ["postgres-pitr-full", "postgres-pitr-diff", "postgres-pitr-restore"]) {
                assert.ok(manifests.some((m) => m.kind === "CronJob" && m.metadata.name === name), name);
            }
            assert.equal(
                manifests.some((m) => m.kind === "PersistentVolumeClaim" && m.metadata.name === "postgres-pgbackrest"),
                s.pitr.PGBACKREST_REPO1_TYPE === "posix",
                "a repository volume exactly when the store is a volume",
            );
        });

        it("deploys the API by digest after its migration Job, and the front end behind the platform's way in", () => {
            const api = manifests.find((m) => m.kind === "Deployment" && m.metadata.name === "api");
            const fe = manifests.find((m) => m.kind === "Deployment" && m.metadata.name === "frontend");
            assert.ok(api !== undefined && fe !== undefined);
            for (const d of [api, fe]) {
                assert.match(String(podSpec(d)?.containers[0]?.["image" as keyof Container]), /@sha256:[0-9a-f]{64}$/);
            }
            const migrate = e.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name === "api-migrate");
            assert.ok(migrate !== undefined);
            // After its migration; after the sign-in Secret and the CA, which it names as fixed strings (replacement-safety).
            assert.deepEqual(e.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === "api")?.options.dependsOn, ["api-migrate", "api-auth", "herd-ca"]);
            const env = podSpec(api)?.containers[0]?.env ?? [];
            assert.deepEqual(env.find((v) => v.name === "DATABASE_PASSWORD")?.valueFrom, { secretKeyRef: { name: "postgres-app-credentials", key: "password" } });
            assert.ok(manifests.some((m) => m.kind === "HorizontalPodAutoscaler" && m.metadata.name === "api"));
            const way = manifests.find((m) => (m.kind === "Ingress" || (m.kind === "Service" && (m["spec"] as { type?: string }).type === "LoadBalancer")) && m.metadata.name === "frontend");
            assert.ok(way !== undefined, "a way in");
            const app = e.outputs["app"] as Record<string, string>;
            assert.match(app["url"], /^https?:\/\/\S+$/);
        });

        it("backs PostgreSQL up on a schedule through the platform's store", () => {
            const cron = manifests.find((m) => m.kind === "CronJob" && m.metadata.name === "postgres-backup");
            assert.ok(cron !== undefined);
            assert.equal((cron["spec"] as { schedule: string }).schedule, "0 3 * * *");
        });

        it("snapshots Elasticsearch every 30 minutes, kept 7 days, into the platform's repository", () => {
            const setup = manifests.find((m) => m.kind === "Job" && m.metadata.name === "elastic-setup");
            assert.ok(setup !== undefined);
            const env = Object.fromEntries((podSpec(setup)?.containers[0]?.env ?? []).map((v) => [v.name, v.value]));
            const repository = JSON.parse(String(env["REPOSITORY_JSON"])) as { type: string; settings: Record<string, unknown> };
            assert.equal(repository.type, s.snapshots.type);
            assert.equal(repository.settings[s.snapshots.type === "fs" ? "location" : "base_path"], s.snapshots.at);
            const policy = JSON.parse(String(env["SLM_JSON"])) as { schedule: string; retention: Record<string, unknown> };
            assert.equal(policy.schedule, "0 0/30 * * * ?");
            assert.deepEqual(policy.retention, { expire_after: "7d", min_count: 5, max_count: 500 });
            const sts = manifests.find((m) => m.kind === "StatefulSet" && m.metadata.name === "elastic");
            assert.ok(sts !== undefined);
            const yml = manifests.find((m) => m.kind === "ConfigMap" && m.metadata.name === "elastic-config");
            const settings = String((yml?.["data"] as Record<string, string> | undefined)?.["elasticsearch.yml"] ?? "");
            // Written by lib/flat-yaml.ts, which must write what the yaml package writes (tests/flat-yaml.test.ts).
            assert.equal(stringifyYaml(parseYaml(settings), { lineWidth: 0 }), settings, "elasticsearch.yml as the yaml package writes it");
            if (s.snapshots.type === "fs") {
                assert.match(settings, /path\.repo/, "a file-system repository is declared to every node");
            } else {
                assert.equal(podSpec(sts)?.serviceAccountName, "elastic", "the nodes' own ServiceAccount, bound to the store's identity");
            }
            assert.equal((e.outputs["data"] as Record<string, Record<string, unknown>>)["elasticsearch"]?.["adminSecretName"], "elastic-credentials");
        });

        it("no PodDisruptionBudget stalls a node drain, and a replicated data tier keeps its quorum", () => {
            const budgets = manifests.filter((m) => m.kind === "PodDisruptionBudget");
            for (const name of ["postgres", "redis", "elastic"]) {
                assert.ok(budgets.some((b) => b.metadata.name === name), `a budget for ${name}`);
            }
            for (const pdb of budgets) {
                const spec = pdb["spec"] as { minAvailable?: number | string; maxUnavailable?: number | string; selector: { matchLabels: Record<string, string> } };
                const selected = manifests.filter((m) => {
                    const labels = (m["spec"] as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template?.metadata?.labels ?? {};
                    return ["StatefulSet", "Deployment"].includes(m.kind) && Object.entries(spec.selector.matchLabels).every(([k, v]) => labels[k] === v);
                });
                assert.equal(selected.length, 1, `PodDisruptionBudget ${pdb.metadata.name} selects exactly one workload`);
                const workload = selected[0];
                const replicas = (workload["spec"] as { replicas?: number }).replicas ?? 1;
                const allowed = disruptionsAllowed(spec, replicas);
                const what = `PodDisruptionBudget ${pdb.metadata.name} (${workload.kind} ${workload.metadata.name}, ${replicas} replica${replicas === 1 ? "" : "s"})`;
                assert.ok(allowed >= 1, `${what} allows ${allowed} disruptions: a node drain would stall on it`);
                if (workload.kind === "StatefulSet" && replicas > 1) {
                    const quorum = Math.floor(replicas / 2) + 1;
                    assert.ok(allowed <= replicas - quorum, `${what} allows ${allowed} disruptions: more than the ${replicas - quorum} a quorum of ${quorum} survives`);
                }
            }
        });
    });
}

/**
 * How many of `replicas` healthy pods a budget lets a drain evict at once, by the disruption controller's rules
 * (percentages round up).
 */
function disruptionsAllowed(spec: { minAvailable?: number | string; maxUnavailable?: number | string }, replicas: number): number {
    const count = (v: number | string): number => (typeof v === "number" ? v : Math.ceil((parseInt(v, 10) * replicas) / 100));
    if (spec.maxUnavailable !== undefined) {
        return Math.min(replicas, count(spec.maxUnavailable));
    }
    return Math.max(0, replicas - count(spec.minAvailable ?? 1));
}

describe("e2e/stack.yaml fits the local control plane's volumes", () => {
    it("every claim binds to one of the 8 static 5Gi PersistentVolumes e2e/run.ts creates", async () => {
        const e = await evaluateStack({ stack: "onprem", configFile: "e2e/stack.yaml" });
        const manifests = buildManifests(e).manifests;
        const claims: { name: string; size: string }[] = [];
        for (const m of manifests) {
            if (m.kind === "PersistentVolumeClaim") {
                claims.push({ name: m.metadata.name, size: String((m["spec"] as { resources: { requests: { storage: string } } }).resources.requests.storage) });
            }
            if (m.kind === "StatefulSet") {
                const spec = m["spec"] as { replicas?: number; volumeClaimTemplates?: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[] };
                for (let i = 0; i < (spec.replicas ?? 1); i++) {
                    for (const t of spec.volumeClaimTemplates ?? []) {
                        claims.push({ name: `${t.metadata.name}-${m.metadata.name}-${i}`, size: t.spec.resources.requests.storage });
                    }
                }
            }
        }
        assert.ok(claims.length <= 8, `${claims.length} claims: ${claims.map((c) => c.name).join(", ")}`);
        for (const c of claims) {
            assert.ok((parseQuantity(c.size) ?? Infinity) <= 5 * 1024 ** 3, `${c.name} asks for ${c.size}, more than a 5Gi volume`);
        }
        assert.ok(claims.some((c) => c.name === "elastic-snapshots"), "the snapshot volume is among them");
    });
});

describe("platform specifics", () => {
    it("aws: the backup job's ServiceAccount carries its IRSA role; the kubeconfig output is secret", async () => {
        const e = await evaluateStack({ stack: "aws" });
        const sa = buildManifests(e).manifests.find((m) => m.kind === "ServiceAccount" && m.metadata.name === "postgres-backup");
        assert.match(String((sa?.metadata["annotations"] as Record<string, string>)["eks.amazonaws.com/role-arn"]), /^arn:aws:iam::123456789012:role\//);
        assert.equal((e.outputs["platform"] as Record<string, unknown>)["kubeconfig"], "[secret]");
    });
    it("aws: the PostgreSQL pod's own ServiceAccount carries the pgBackRest IRSA role, and the pod its web identity token", async () => {
        const e = await evaluateStack({ stack: "aws" });
        const manifests = buildManifests(e).manifests;
        const sa = manifests.find((m) => m.kind === "ServiceAccount" && m.metadata.name === "postgres");
        assert.match(String((sa?.metadata["annotations"] as Record<string, string>)["eks.amazonaws.com/role-arn"]), /^arn:aws:iam::123456789012:role\//);
        const role = e.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === "postgres-pgbackrest-policy");
        assert.match(String(role?.inputs["policy"]), /pgbackrest\/\*/);
        const pod = podSpec(manifests.find((m) => m.kind === "StatefulSet" && m.metadata.name === "postgres") as Manifest) as PodSpec & { volumes: { name: string }[] };
        assert.equal(pod.serviceAccountName, "postgres");
        assert.ok(pod.containers[0].env?.some((v) => v.name === "AWS_ROLE_ARN"));
        assert.ok(pod.volumes.some((v) => v.name === "web-identity"));
    });
    it("gcp: the PostgreSQL pod's own ServiceAccount is bound to a Google service account for the pgBackRest prefix", async () => {
        const e = await evaluateStack({ stack: "gcp" });
        const sa = buildManifests(e).manifests.find((m) => m.kind === "ServiceAccount" && m.metadata.name === "postgres");
        assert.match(String((sa?.metadata["annotations"] as Record<string, string>)["iam.gke.io/gcp-service-account"]), /@acme-herd-prod\.iam\.gserviceaccount\.com$/);
    });
    it("gcp: the backup job's ServiceAccount is bound to a Google service account; the kubeconfig output is secret", async () => {
        const e = await evaluateStack({ stack: "gcp" });
        const sa = buildManifests(e).manifests.find((m) => m.kind === "ServiceAccount" && m.metadata.name === "postgres-backup");
        assert.match(String((sa?.metadata["annotations"] as Record<string, string>)["iam.gke.io/gcp-service-account"]), /@acme-herd-prod\.iam\.gserviceaccount\.com$/);
        assert.equal((e.outputs["platform"] as Record<string, unknown>)["kubeconfig"], "[secret]");
    });
    it("onprem: backups to the customer's S3-compatible store with credentials from the Secret they created", async () => {
        const e = await evaluateStack({ stack: "onprem" });
        const manifests = buildManifests(e).manifests;
        const cron = manifests.find((m) => m.kind === "CronJob" && m.metadata.name === "postgres-backup");
        const pod = podSpec(cron as Manifest) as PodSpec;
        const env = pod.containers[0].env ?? [];
        // pgBackRest's archive in the same store, with the same keys.
        const server = podSpec(manifests.find((m) => m.kind === "StatefulSet" && m.metadata.name === "postgres") as Manifest)?.containers[0].env ?? [];
        assert.deepEqual(server.find((x) => x.name === "PGBACKREST_REPO1_S3_KEY_SECRET")?.valueFrom, { secretKeyRef: { name: "herd-backup-s3", key: "AWS_SECRET_ACCESS_KEY" } });
        assert.deepEqual(env.find((x) => x.name === "AWS_SECRET_ACCESS_KEY")?.valueFrom, { secretKeyRef: { name: "herd-backup-s3", key: "AWS_SECRET_ACCESS_KEY" } });
        assert.equal(env.find((x) => x.name === "AWS_ENDPOINT_URL")?.value, "https://minio.customer.internal");
    });
    it("onprem: the platform and namespace outputs describe the customer's cluster", async () => {
        const e = await evaluateStack({ stack: "onprem" });
        assert.deepEqual(e.outputs["app"], {
            url: "https://shop.customer.internal",
            apiInternalUrl: "http://api.herd.svc.cluster.local:8000",
            namespace: "herd",
            adminUsername: "admin",
            adminPassword: "[secret]",
            adminSecretName: "api-auth",
        });
        const images = e.outputs["images"] as Record<string, string>;
        assert.match(images["api"], /^registry\.customer\.internal:5000\/herd\/api@sha256:[0-9a-f]{64}$/);
        assert.match(images["frontend"], /^registry\.customer\.internal:5000\/herd\/frontend@sha256:[0-9a-f]{64}$/);
        assert.match(images["postgres"], /^registry\.customer\.internal:5000\/herd\/postgres@sha256:[0-9a-f]{64}$/);
        assert.deepEqual(e.outputs["platform"], {
            platform: "onprem",
            kubeContext: "customer-prod",
            storageClass: "herd-retain",
            images: "registry.customer.internal:5000/herd",
            exposure: "ingress (nginx)",
            backups: "s3://herd-backups",
            renderDirectory: "",
            secretsRenderDirectory: "",
        });
    });
});
