/**
 * The onprem platform, evaluated through the whole program under mocks: kubeconfig vs ambient context, storage
 * class given vs created, registry vs prebuilt images, render to a directory, and the app namespace.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "../config";
import { s3Uploader } from "../platform/s3-uploader";
import type { Platform } from "../platform/contract";
import { OnpremPlatform } from "../platform/onprem";
import { evaluateStack, evaluateUnderMocks, Evaluation, RecordedResource } from "../offline/evaluate";
import { buildManifests } from "../offline/manifests";
import { inspect, writeStackFile } from "./helpers";

const BASE = {
    "herd:platform": "onprem",
    "herd:storageClass": "fast-ssd",
    "herd:registry": "registry.example.com:5000/herd",
};
const KUBECONFIG =
    "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://10.0.0.1:6443'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: tok-9f8e7d6c5b4a}\n";

async function evaluate(config: Record<string, unknown>, secrets: Record<string, string> = {}): Promise<Evaluation> {
    return evaluateStack({ stack: "test", configFile: writeStackFile(config), secrets });
}

function one(e: Evaluation, type: string): RecordedResource {
    const found = e.resources.filter((r) => r.type === type);
    assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
    return found[0];
}

const PROVIDER = "pulumi:providers:kubernetes";

describe("kubernetes provider", () => {
    it("uses the ambient context when no kubeconfig is configured", async () => {
        const e = await evaluate(BASE);
        const provider = one(e, PROVIDER);
        assert.equal(provider.inputs["kubeconfig"], undefined);
        assert.equal(provider.inputs["context"], undefined);
        assert.equal(provider.parent, "onprem");
    });
    it("passes a configured context", async () => {
        const provider = one(await evaluate({ ...BASE, "herd:kubeContext": "customer-prod" }), PROVIDER);
        assert.equal(provider.inputs["context"], "customer-prod");
    });
    it("takes a secret kubeconfig, which stays secret in everything recorded", async () => {
        const e = await evaluate({ ...BASE, "herd:kubeconfig": { secure: "v1:ciphertext" } }, { "herd:kubeconfig": KUBECONFIG });
        assert.equal(one(e, PROVIDER).inputs["kubeconfig"], "[secret]");
        const everything = JSON.stringify(e.resources) + JSON.stringify(e.outputs);
        assert.ok(!everything.includes("tok-9f8e7d6c5b4a"), "the kubeconfig's token leaked");
    });
    it("every workload uses the platform's provider; without rendering there is no second one", async () => {
        const e = await evaluate(BASE);
        for (const r of e.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
            assert.equal(r.options.provider, "onprem-k8s", `${r.type} ${r.name}`);
        }
        assert.equal(e.resources.filter((r) => r.type === PROVIDER).length, 1);
    });
    it("renders to a directory when asked (Pulumi's air-gapped handoff)", async () => {
        const e = await evaluate({ ...BASE, "herd:renderDirectory": "rendered/onprem" });
        const provider = e.resources.find((r) => r.type === PROVIDER && r.name === "onprem-k8s");
        assert.equal(provider?.inputs["renderYamlToDirectory"], "rendered/onprem");
        // No cluster setting beside it, not even the KUBECONFIG of whoever runs pulumi up (the provider refuses it).
        const previous = process.env["KUBECONFIG"];
        process.env["KUBECONFIG"] = "/home/operator/.kube/config";
        try {
            const again = await evaluate({ ...BASE, "herd:renderDirectory": "rendered/onprem" });
            for (const p of again.resources.filter((r) => r.type === PROVIDER)) {
                assert.equal(p.inputs["kubeconfig"], "", `${p.name}: kubeconfig is empty when rendering`);
                assert.equal(p.inputs["context"], undefined, `${p.name}: no context when rendering`);
            }
        } finally {
            if (previous === undefined) {
                delete process.env["KUBECONFIG"];
            } else {
                process.env["KUBECONFIG"] = previous;
            }
        }
    });
    it("when rendering, Secrets go to their own directory beside the bundle, never into it", async () => {
        const e = await evaluate({ ...BASE, "herd:renderDirectory": "rendered/onprem/" });
        const secretsProvider = e.resources.find((r) => r.type === PROVIDER && r.name === "onprem-k8s-secrets");
        assert.equal(secretsProvider?.inputs["renderYamlToDirectory"], "rendered/onprem.secrets");
        const secrets = e.resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
        assert.ok(secrets.length >= 3, "postgres, redis and elasticsearch hold Secrets");
        for (const r of e.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
            assert.equal(r.options.provider, r.type === "kubernetes:core/v1:Secret" ? "onprem-k8s-secrets" : "onprem-k8s", `${r.type} ${r.name}`);
        }
        assert.equal((e.outputs["platform"] as Record<string, unknown>)["secretsRenderDirectory"], "rendered/onprem.secrets");
    });
    it("applies to the cluster when not rendering", async () => {
        assert.equal(one(await evaluate(BASE), PROVIDER).inputs["renderYamlToDirectory"], undefined);
    });
});

describe("storage class", () => {
    it("uses a given class and creates none", async () => {
        const e = await evaluate(BASE);
        assert.equal(e.resources.filter((r) => r.type.endsWith(":StorageClass")).length, 0);
        assert.equal((e.outputs["platform"] as Record<string, unknown>)["storageClass"], "fast-ssd");
    });
    it("creates one from a provisioner: Retain, expandable, WaitForFirstConsumer", async () => {
        const e = await evaluate({
            ...BASE,
            "herd:storageClass": "herd-data",
            "herd:storageProvisioner": "driver.longhorn.io",
            "herd:storageParameters": ["numberOfReplicas=3"],
        });
        const sc = one(e, "kubernetes:storage.k8s.io/v1:StorageClass");
        assert.equal((sc.inputs["metadata"] as Record<string, unknown>)["name"], "herd-data");
        assert.equal(sc.inputs["provisioner"], "driver.longhorn.io");
        assert.equal(sc.inputs["reclaimPolicy"], "Retain");
        assert.equal(sc.inputs["allowVolumeExpansion"], true);
        assert.equal(sc.inputs["volumeBindingMode"], "WaitForFirstConsumer");
        assert.deepEqual(sc.inputs["parameters"], { numberOfReplicas: "3" });
        assert.equal((e.outputs["platform"] as Record<string, unknown>)["storageClass"], "herd-data");
    });
});

describe("the app namespace", () => {
    it("has a fixed name, Pod Security restricted enforced, and survives destroy", async () => {
        const e = await evaluate({ ...BASE, "herd:namespace": "shop" });
        const ns = one(e, "kubernetes:core/v1:Namespace");
        const labels = (ns.inputs["metadata"] as { labels: Record<string, string>; name: string }).labels;
        assert.equal((ns.inputs["metadata"] as { name: string }).name, "shop");
        assert.equal(labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert.equal(labels["pod-security.kubernetes.io/warn"], "restricted");
        assert.equal(labels["pod-security.kubernetes.io/audit"], "restricted");
        assert.equal(ns.options.retainOnDelete, true);
        const manifests = buildManifests(e).manifests;
        assert.ok(manifests.some((m) => m.kind === "Namespace" && m.metadata.name === "shop"));
    });
});

/** Builds the platform directly under mocks to inspect the capabilities it hands components. */
async function platformFor(values: Record<string, string>, secretKeys: string[] = []): Promise<Platform> {
    const cfg = parseConfig({ values, secretKeys: new Set(secretKeys), stack: "unit" });
    assert.ok(cfg.platform === "onprem");
    const run = await evaluateUnderMocks(() => new OnpremPlatform("onprem", cfg));
    if (run.error !== undefined) {
        throw run.error;
    }
    assert.ok(run.value !== undefined);
    return run.value.platform;
}

describe("capabilities", () => {
    it("a registry: images are built and pushed there, with the configured credentials", async () => {
        const p = await platformFor({ ...BASE, "herd:registryUsername": "ci", "herd:registryPassword": "pw-123" }, ["herd:registryPassword"]);
        assert.ok(p.images.kind === "build");
        assert.deepEqual(p.images.repositories, {
            api: "registry.example.com:5000/herd/api",
            frontend: "registry.example.com:5000/herd/frontend",
            postgres: "registry.example.com:5000/herd/postgres",
        });
        assert.equal(p.images.registry.server, "registry.example.com:5000");
        assert.deepEqual(await inspect(pulumi.output(p.images.registry.password)), { value: "pw-123", secret: true });
    });
    it("prebuilt images: nothing is built, the pinned refs are used as given", async () => {
        const p = await platformFor({
            "herd:platform": "onprem",
            "herd:storageClass": "x",
            "herd:apiImage": "registry.example.com/herd/api:2.0.1",
            "herd:frontendImage": "registry.example.com/herd/frontend:2.0.1",
            "herd:postgresImage": "registry.example.com/herd/postgres:2.0.1",
        });
        assert.deepEqual(p.images, {
            kind: "prebuilt",
            api: "registry.example.com/herd/api:2.0.1",
            frontend: "registry.example.com/herd/frontend:2.0.1",
            postgres: "registry.example.com/herd/postgres:2.0.1",
        });
    });
    it("exposure: an ingress class, or a LoadBalancer that reports an IP", async () => {
        assert.deepEqual((await platformFor({ ...BASE, "herd:ingressClass": "nginx", "herd:publicHostname": "shop.example.com" })).exposure, {
            kind: "ingress",
            className: "nginx",
            annotations: {},
            // The controller's pods, somewhere in the private ranges: nginx takes the client from their X-Forwarded-For.
            trustedProxies: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
            // Only the ingress controller's namespace reaches nginx.
            sources: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }],
        });
        assert.deepEqual((await platformFor(BASE)).exposure, {
            kind: "loadBalancer",
            annotations: {},
            reportsAddressAs: "ip",
            sources: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
        });
    });
    it("backups: a volume on the data storage class when no bucket is configured", async () => {
        const p = await platformFor(BASE);
        assert.equal(p.backupStore.kind, "volume");
        assert.equal(p.backupStore.kind === "volume" && (await inspect(pulumi.output(p.backupStore.storageClassName))).value, "fast-ssd");
        // Any resource will do as the parent: onprem's bind creates nothing.
        assert.deepEqual(p.workloadIdentity.bind({ name: "b", namespace: "herd", serviceAccountName: "backup", parent: p.provider }), { serviceAccountAnnotations: {}, env: [] });
    });
    it("backups: an S3-compatible bucket, credentials only through secretKeyRef", async () => {
        const p = await platformFor({
            ...BASE,
            "herd:backupBucket": "herd-backups",
            "herd:backupEndpoint": "https://minio.example.com",
            "herd:backupCredentialsSecret": "backup-s3",
        });
        assert.deepEqual(p.backupStore, { kind: "objectStore", uploader: s3Uploader("herd-backups", "us-east-1", "https://minio.example.com") });
        assert.ok(p.backupStore.kind === "objectStore");
        assert.deepEqual(p.backupStore.uploader.env, [
            { name: "AWS_REGION", value: "us-east-1" },
            { name: "AWS_ENDPOINT_URL", value: "https://minio.example.com" },
        ]);
        const binding = p.workloadIdentity.bind({ name: "b", namespace: "herd", serviceAccountName: "backup", parent: p.provider });
        const byName = Object.fromEntries(binding.env.map((e) => [e.name, e]));
        for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
            assert.deepEqual(byName[key].valueFrom, { secretKeyRef: { name: "backup-s3", key } });
            assert.equal(byName[key].value, undefined, "never a literal");
        }
        assert.deepEqual(Object.keys(byName), ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], "region and endpoint are the uploader's, not set twice");
    });
    it("backup uploader without an endpoint talks to AWS S3 itself", () => {
        const uploader = s3Uploader("b", "eu-west-1", undefined);
        assert.equal(uploader.env.some((e) => e.name === "AWS_ENDPOINT_URL"), false);
        assert.deepEqual(uploader.egress, [{ ports: [{ protocol: "TCP", port: 443 }] }]);
    });
});

describe("repositories (pgBackRest, Elasticsearch snapshots)", () => {
    it("without a bucket: a ReadWriteOnce volume on the data StorageClass; the binding adds nothing", async () => {
        const p = await platformFor(BASE);
        for (const purpose of ["pgbackrest", "elasticsearch"] as const) {
            const { store, identity } = p.repository(purpose);
            assert.ok(store.kind === "volume");
            assert.equal(store.accessMode, "ReadWriteOnce");
            assert.equal((await inspect(pulumi.output(store.storageClassName))).value, "fast-ssd");
            assert.deepEqual(identity.bind({ name: "r", namespace: "herd", serviceAccountName: "r", parent: p.provider }), { serviceAccountAnnotations: {}, env: [] });
        }
    });
    it("without a bucket, with herd:repositoryStorageClass: a ReadWriteMany volume of that class", async () => {
        const p = await platformFor({ ...BASE, "herd:repositoryStorageClass": "cephfs" });
        assert.deepEqual(p.repository("elasticsearch").store, { kind: "volume", storageClassName: "cephfs", accessMode: "ReadWriteMany" });
    });
    it("with a bucket: under <purpose>/ in it, the customer's keys from their Secret, egress to the endpoint's port", async () => {
        const p = await platformFor({
            ...BASE,
            "herd:backupBucket": "herd-backups",
            "herd:backupEndpoint": "https://minio.example.com:9000",
            "herd:backupRegion": "eu-central-1",
            "herd:backupCredentialsSecret": "backup-s3",
        });
        assert.deepEqual(p.repository("pgbackrest").store, {
            kind: "s3",
            bucket: "herd-backups",
            region: "eu-central-1",
            prefix: "pgbackrest/",
            endpoint: "https://minio.example.com:9000",
            credentialsSecret: "backup-s3",
            egress: [{ ports: [{ protocol: "TCP", port: 9000 }] }],
        });
        const es = p.repository("elasticsearch").store;
        assert.ok(es.kind === "s3");
        assert.equal(es.prefix, "elasticsearch/");
        assert.equal(es.webIdentityAudience, undefined, "no web identity on a customer's cluster");
    });
});

describe("Elasticsearch snapshots through the program (onprem)", () => {
    type Manifest = { kind: string; metadata: { name: string }; spec?: Record<string, unknown> };
    const manifestsOf = (e: Evaluation) => buildManifests(e).manifests as unknown as Manifest[];
    const setupEnv = (e: Evaluation): Record<string, string | undefined> => {
        const job = manifestsOf(e).find((m) => m.kind === "Job" && m.metadata.name === "elastic-setup") as unknown as {
            spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
        };
        return Object.fromEntries(job.spec.template.spec.containers[0].env.map((v) => [v.name, v.value]));
    };
    it("one node, no bucket: a file-system repository on a ReadWriteOnce volume of herd:elasticSnapshotVolumeSize, kept on destroy", async () => {
        const e = await evaluate({ ...BASE, "herd:elasticReplicas": 1, "herd:elasticSnapshotVolumeSize": "8Gi", "herd:elasticSnapshotIntervalMinutes": 15 });
        const claim = e.resources.find((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim" && r.name === "elastic-snapshots");
        assert.ok(claim !== undefined, "the snapshot volume's claim");
        assert.deepEqual((claim.inputs["spec"] as Record<string, unknown>)["accessModes"], ["ReadWriteOnce"]);
        assert.equal((claim.inputs["spec"] as { storageClassName: string }).storageClassName, "fast-ssd");
        assert.deepEqual((claim.inputs["spec"] as { resources: unknown }).resources, { requests: { storage: "8Gi" } });
        assert.equal(claim.options.retainOnDelete, true);
        assert.equal(claim.options.protect, true);
        const env = setupEnv(e);
        assert.deepEqual(JSON.parse(String(env["REPOSITORY_JSON"])), { type: "fs", settings: { location: "/mnt/snapshots", compress: true } });
        assert.equal((JSON.parse(String(env["SLM_JSON"])) as { schedule: string }).schedule, "0 0/15 * * * ?");
    });
    it("three nodes, no bucket, no shared class: snapshots stay off (pulumi up warns) and nothing is half-configured", async () => {
        const warnings: string[] = [];
        const original = console.warn;
        console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(" "));
        let e: Evaluation;
        try {
            e = await evaluate(BASE);
        } finally {
            console.warn = original;
        }
        assert.ok(
            warnings.some((w) => /Elasticsearch snapshots are OFF: with 3 nodes .*herd:backupBucket .*herd:repositoryStorageClass .*herd:elasticSnapshots/.test(w)),
            `the warning pulumi up prints, naming the keys; got ${JSON.stringify(warnings)}`,
        );
        assert.equal(e.resources.some((r) => r.name === "elastic-snapshots"), false, "no claim, no identity");
        assert.equal(setupEnv(e)["SNAPSHOT_REPOSITORY"], undefined, "no repository registered");
    });
    it("three nodes with herd:repositoryStorageClass: a ReadWriteMany volume every node mounts", async () => {
        const e = await evaluate({ ...BASE, "herd:repositoryStorageClass": "cephfs" });
        const claim = e.resources.find((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim" && r.name === "elastic-snapshots");
        assert.deepEqual((claim?.inputs["spec"] as Record<string, unknown>)["accessModes"], ["ReadWriteMany"]);
        assert.equal((claim?.inputs["spec"] as { storageClassName: string }).storageClassName, "cephfs");
    });
    it("a bucket: an s3 repository under elasticsearch/, at the endpoint, with the customer's keys in the keystore", async () => {
        const e = await evaluate({
            ...BASE,
            "herd:backupBucket": "herd-backups",
            "herd:backupEndpoint": "https://minio.example.com",
            "herd:backupCredentialsSecret": "backup-s3",
            "herd:elasticSnapshotRetentionDays": 14,
            "herd:elasticSnapshotMinCount": 3,
            "herd:elasticSnapshotMaxCount": 100,
        });
        const env = setupEnv(e);
        assert.deepEqual(JSON.parse(String(env["REPOSITORY_JSON"])), {
            type: "s3",
            settings: { bucket: "herd-backups", base_path: "elasticsearch/herd/elastic", client: "default", compress: true },
        });
        assert.deepEqual((JSON.parse(String(env["SLM_JSON"])) as { retention: unknown }).retention, { expire_after: "14d", min_count: 3, max_count: 100 });
        const sts = manifestsOf(e).find((m) => m.kind === "StatefulSet" && m.metadata.name === "elastic") as unknown as {
            spec: { template: { spec: { initContainers: { name: string; env: { name: string; valueFrom?: unknown }[] }[] } } };
        };
        const init = sts.spec.template.spec.initContainers.find((c) => c.name === "config");
        assert.deepEqual(init?.env.find((v) => v.name === "AWS_SECRET_ACCESS_KEY")?.valueFrom, { secretKeyRef: { name: "backup-s3", key: "AWS_SECRET_ACCESS_KEY" } });
    });
    it("herd:elasticSnapshots false: no repository, whatever the store", async () => {
        const e = await evaluate({ ...BASE, "herd:elasticReplicas": 1, "herd:elasticSnapshots": false });
        assert.equal(e.resources.some((r) => r.name === "elastic-snapshots"), false);
        assert.equal(setupEnv(e)["SNAPSHOT_REPOSITORY"], undefined);
    });
    it("exports the admin Secret's name, for the restore procedure", async () => {
        const e = await evaluate(BASE);
        assert.equal(((e.outputs["data"] as Record<string, Record<string, unknown>>)["elasticsearch"])["adminSecretName"], "elastic-credentials");
    });
});

