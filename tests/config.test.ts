/**
 * Every config rule: defaults, overrides, each validation error naming its key, all problems in one error, unknown
 * keys with suggestions, and secrets that stay secret.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, editDistance, KEYS, KEY_NAMES } from "../config";
import { readStackConfig, StackFileError } from "../offline/stack-config";
import { inspect, keysOf, MINIMAL_ONPREM, parse, PROJECT_DIR, problemsOf, tempDir, writeStackFile } from "./helpers";

const AWS = { "herd:platform": "aws", "herd:awsRegion": "eu-west-1" };
const GCP = { "herd:platform": "gcp", "herd:gcpProject": "acme-prod-1", "herd:gcpRegion": "europe-west1" };
const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n";

function onprem(extra: Record<string, string> = {}) {
    const cfg = parse({ ...MINIMAL_ONPREM, ...extra }, Object.keys(extra).filter((k) => k === "herd:kubeconfig" || k === "herd:registryPassword"));
    assert.equal(cfg.platform, "onprem");
    return cfg.onprem;
}

describe("defaults", () => {
    it("namespace defaults to herd", () => {
        assert.equal(parse({ ...MINIMAL_ONPREM }).namespace, "herd");
    });
    it("onprem uses the ambient kube context when no kubeconfig or context is given", () => {
        const o = onprem();
        assert.equal(o.kubeconfig, undefined);
        assert.equal(o.kubeContext, undefined);
    });
    it("backups go to a volume when no bucket is configured", () => {
        assert.deepEqual(onprem().backup, { mode: "volume" });
    });
    it("the front end is exposed by a LoadBalancer Service when no ingress class is given", () => {
        assert.equal(onprem().ingressClass, undefined);
    });
    it("nothing is rendered to a directory unless asked", () => {
        assert.equal(onprem().renderDirectory, undefined);
    });
    it("a StorageClass herd creates is called herd-retain unless named", () => {
        const o = parse({ "herd:platform": "onprem", "herd:storageProvisioner": "driver.longhorn.io", "herd:registry": "r.example.com/herd" });
        assert.equal(o.platform === "onprem" && o.onprem.storage.mode === "create" && o.onprem.storage.className, "herd-retain");
    });
    it("a provisioner may have a prefix, as the API server allows (kubernetes.io/no-provisioner for local volumes)", () => {
        for (const provisioner of ["kubernetes.io/no-provisioner", "rbd.csi.ceph.com", "example.com/Local_Disk.v2"]) {
            const o = parse({ "herd:platform": "onprem", "herd:storageProvisioner": provisioner, "herd:registry": "r.example.com/herd" });
            assert.equal(o.platform === "onprem" && o.onprem.storage.mode === "create" && o.onprem.storage.provisioner, provisioner);
        }
    });
    it("the dump's scratch space: unset by default (the component then uses the data volume's size), or as given", () => {
        assert.equal(parse(MINIMAL_ONPREM).data.backup.scratchSize, undefined);
        assert.equal(parse({ ...MINIMAL_ONPREM, "herd:backupScratchSize": "120Gi" }).data.backup.scratchSize, "120Gi");
    });
    it("an S3 backup store defaults to region us-east-1 and AWS's own endpoint", () => {
        const o = onprem({ "herd:backupBucket": "herd-backups", "herd:backupCredentialsSecret": "s3-creds" });
        assert.deepEqual(o.backup, { mode: "s3", bucket: "herd-backups", endpoint: undefined, region: "us-east-1", credentialsSecret: "s3-creds", endpointCidrs: [] });
    });
    it("keys of other platforms left at their defaults are accepted (the CLI fills every declared default in)", () => {
        const defaults = Object.fromEntries(
            KEY_NAMES.filter((k) => KEYS[k].default !== undefined).map((k) => {
                const d = KEYS[k].default;
                return [`herd:${k}`, Array.isArray(d) ? JSON.stringify(d) : String(d)];
            }),
        );
        assert.doesNotThrow(() => parse({ ...defaults, ...MINIMAL_ONPREM }));
    });
});

const data0 = () => parse({ ...MINIMAL_ONPREM }).data;

describe("data tier", () => {
    it("defaults: protected, nightly backups kept 30 days, production-sized servers", () => {
        assert.deepEqual(parse({ ...MINIMAL_ONPREM }).data, {
            protect: true,
            backup: { schedule: "0 3 * * *", retentionDays: 30, volumeSize: "50Gi", scratchSize: undefined },
            postgres: {
                storageSize: "20Gi",
                memory: "2Gi",
                cpu: "500m",
                maxConnections: 100,
                archive: { timeoutSeconds: 60, fullBackupSchedule: "0 2 * * 0", diffBackupSchedule: "0 2 * * 1-6", fullBackupsKept: 4, volumeSize: "50Gi" },
            },
            redis: { storageSize: "5Gi", memory: "512Mi", cpu: "250m", evictionPolicy: "allkeys-lru", appendOnly: true },
            elastic: {
                replicas: 3,
                storageSize: "30Gi",
                memory: "2Gi",
                cpu: "1",
                // MINIMAL_ONPREM: no bucket, no shared class, 3 nodes: on by default, but with nowhere to go (see below).
                snapshots: { intervalMinutes: 30, retentionDays: 7, minCount: 5, maxCount: 500, volumeSize: "20Gi", unavailable: data0().elastic.snapshots?.unavailable },
            },
        });
    });
    it("snapshots default on, every 30 minutes, kept 7 days (5 at least, 500 at most), where the platform can hold them", () => {
        const aws = parse({ ...AWS }).data.elastic.snapshots;
        assert.deepEqual(aws, { intervalMinutes: 30, retentionDays: 7, minCount: 5, maxCount: 500, volumeSize: "20Gi" });
        const gcp = parse({ ...GCP }).data.elastic.snapshots;
        assert.equal(gcp?.unavailable, undefined);
        assert.equal(parse({ ...MINIMAL_ONPREM, "herd:elasticReplicas": "1" }).data.elastic.snapshots?.unavailable, undefined, "one node: a ReadWriteOnce volume serves it");
        assert.equal(parse({ ...MINIMAL_ONPREM, "herd:repositoryStorageClass": "cephfs" }).data.elastic.snapshots?.unavailable, undefined, "a shared class");
        assert.equal(
            parse({ ...MINIMAL_ONPREM, "herd:backupBucket": "b-1", "herd:backupCredentialsSecret": "c" }).data.elastic.snapshots?.unavailable,
            undefined,
            "a bucket",
        );
    });
    it("snapshots on onprem with several nodes and only a ReadWriteOnce volume: off, with a reason that names the keys to set", () => {
        const reason = parse({ ...MINIMAL_ONPREM }).data.elastic.snapshots?.unavailable ?? "";
        assert.match(reason, /Elasticsearch snapshots are OFF: with 3 nodes \(herd:elasticReplicas\)/);
        for (const key of ["herd:backupBucket", "herd:repositoryStorageClass", "herd:elasticSnapshots"]) {
            assert.ok(reason.includes(key), `names ${key}`);
        }
    });
    it("herd:elasticSnapshots false: no snapshots at all", () => {
        assert.equal(parse({ ...AWS, "herd:elasticSnapshots": "false" }).data.elastic.snapshots, undefined);
    });
    it("PostgreSQL archiving and snapshot settings follow config", () => {
        const data = parse({
            ...MINIMAL_ONPREM,
            "herd:postgresArchiveTimeoutSeconds": "30",
            "herd:postgresFullBackupSchedule": "0 1 * * 6",
            "herd:postgresDiffBackupSchedule": "0 1 * * 0-5",
            "herd:postgresFullBackupsKept": "2",
            "herd:postgresArchiveVolumeSize": "200Gi",
            "herd:elasticReplicas": "1",
            "herd:elasticSnapshotIntervalMinutes": "120",
            "herd:elasticSnapshotRetentionDays": "30",
            "herd:elasticSnapshotMinCount": "10",
            "herd:elasticSnapshotMaxCount": "1000",
            "herd:elasticSnapshotVolumeSize": "100Gi",
        }).data;
        assert.deepEqual(data.postgres.archive, { timeoutSeconds: 30, fullBackupSchedule: "0 1 * * 6", diffBackupSchedule: "0 1 * * 0-5", fullBackupsKept: 2, volumeSize: "200Gi" });
        assert.deepEqual(data.elastic.snapshots, { intervalMinutes: 120, retentionDays: 30, minCount: 10, maxCount: 1000, volumeSize: "100Gi" });
    });
    it("onprem repositories: the data class unless herd:repositoryStorageClass names a shared one", () => {
        assert.equal(onprem().repositoryStorageClass, undefined);
        assert.equal(onprem({ "herd:repositoryStorageClass": "cephfs" }).repositoryStorageClass, "cephfs");
    });
    it("prebuilt images carry the PostgreSQL image too", () => {
        const o = parse({
            "herd:platform": "onprem",
            "herd:storageClass": "x",
            "herd:apiImage": "registry.example.com/herd/api:1.4.2",
            "herd:frontendImage": "registry.example.com/herd/frontend:1.4.2",
            "herd:postgresImage": "registry.example.com/herd/postgres:1.4.2",
        });
        assert.ok(o.platform === "onprem" && o.onprem.images.mode === "prebuilt");
        assert.equal(o.onprem.images.postgres, "registry.example.com/herd/postgres:1.4.2");
    });
    it("overrides", () => {
        const data = parse({
            ...MINIMAL_ONPREM,
            "herd:protectData": "false",
            "herd:backupSchedule": "*/30 1-5 * * 1,3,5",
            "herd:backupRetentionDays": "7",
            "herd:backupVolumeSize": "200Gi",
            "herd:postgresStorageSize": "100Gi",
            "herd:postgresMemory": "8Gi",
            "herd:postgresCpu": "2",
            "herd:postgresMaxConnections": "300",
            "herd:redisStorageSize": "1Gi",
            "herd:redisMemory": "256Mi",
            "herd:redisCpu": "100m",
            "herd:redisEvictionPolicy": "volatile-ttl",
            "herd:redisAppendOnly": "false",
            "herd:elasticReplicas": "1",
            "herd:elasticStorageSize": "10Gi",
            "herd:elasticMemory": "1Gi",
            "herd:elasticCpu": "500m",
        }).data;
        assert.deepEqual(data, {
            protect: false,
            backup: { schedule: "*/30 1-5 * * 1,3,5", retentionDays: 7, volumeSize: "200Gi", scratchSize: undefined },
            postgres: {
                storageSize: "100Gi",
                memory: "8Gi",
                cpu: "2",
                maxConnections: 300,
                archive: { timeoutSeconds: 60, fullBackupSchedule: "0 2 * * 0", diffBackupSchedule: "0 2 * * 1-6", fullBackupsKept: 4, volumeSize: "50Gi" },
            },
            redis: { storageSize: "1Gi", memory: "256Mi", cpu: "100m", evictionPolicy: "volatile-ttl", appendOnly: false },
            elastic: { replicas: 1, storageSize: "10Gi", memory: "1Gi", cpu: "500m", snapshots: { intervalMinutes: 30, retentionDays: 7, minCount: 5, maxCount: 500, volumeSize: "20Gi" } },
        });
    });
    it("cron macros are accepted", () => {
        assert.equal(parse({ ...MINIMAL_ONPREM, "herd:backupSchedule": "@daily" }).data.backup.schedule, "@daily");
    });
});

/** The sign-in, rate-limit and proxy settings when unset (their own tests: "sign-in, rate limits and trusted proxies"). */
const SIGN_IN_AND_LIMIT_DEFAULTS = {
    auth: { adminUsername: "admin", sessionHours: 12, readsRequireSignIn: false },
    rateLimits: { apiPerSecond: 20, apiBurst: 40, loginPerMinute: 10 },
    trustedProxyCidrs: undefined,
};

describe("app tier", () => {
    it("defaults: two API pods scaling to six at 70% CPU, two front-end pods, no host name, no TLS", () => {
        assert.deepEqual(parse({ ...MINIMAL_ONPREM }).app, {
            api: { replicas: 2, maxReplicas: 6, cpuTargetPercent: 70, cpu: "250m", memory: "768Mi" },
            frontend: { replicas: 2 },
            publicHostname: undefined,
            tls: { mode: "none" },
            hstsMaxAgeSeconds: 31536000,
            ...SIGN_IN_AND_LIMIT_DEFAULTS,
        });
    });
    it("overrides, with a certificate from a Secret or from cert-manager", () => {
        const app = parse({
            ...MINIMAL_ONPREM,
            "herd:apiReplicas": "3",
            "herd:apiMaxReplicas": "12",
            "herd:apiCpuTargetPercent": "60",
            "herd:apiCpu": "1",
            "herd:apiMemory": "1Gi",
            "herd:frontendReplicas": "4",
            "herd:ingressClass": "nginx",
            "herd:publicHostname": "shop.example.com",
            "herd:tlsSecretName": "shop-tls",
        }).app;
        assert.deepEqual(app, {
            api: { replicas: 3, maxReplicas: 12, cpuTargetPercent: 60, cpu: "1", memory: "1Gi" },
            frontend: { replicas: 4 },
            publicHostname: "shop.example.com",
            tls: { mode: "secret", secretName: "shop-tls" },
            hstsMaxAgeSeconds: 31536000,
            ...SIGN_IN_AND_LIMIT_DEFAULTS,
        });
        const issuer = parse({ ...MINIMAL_ONPREM, "herd:ingressClass": "nginx", "herd:publicHostname": "shop.example.com", "herd:tlsClusterIssuer": "letsencrypt" }).app.tls;
        assert.deepEqual(issuer, { mode: "issuer", clusterIssuer: "letsencrypt" });
    });
});

describe("overrides", () => {
    it("namespace", () => assert.equal(parse({ ...MINIMAL_ONPREM, "herd:namespace": "shop-prod" }).namespace, "shop-prod"));
    it("kube context", () => assert.equal(onprem({ "herd:kubeContext": "customer-prod" }).kubeContext, "customer-prod"));
    it("an existing storage class", () => assert.deepEqual(onprem().storage, { mode: "existing", className: "fast-ssd" }));
    it("a storage class herd creates, with parameters", () => {
        const o = parse({
            "herd:platform": "onprem",
            "herd:storageProvisioner": "driver.longhorn.io",
            "herd:storageClass": "herd-data",
            "herd:storageParameters": JSON.stringify(["numberOfReplicas=3", "fsType=ext4"]),
            "herd:registry": "r.example.com/herd",
        });
        assert.ok(o.platform === "onprem");
        assert.deepEqual(o.onprem.storage, {
            mode: "create",
            className: "herd-data",
            provisioner: "driver.longhorn.io",
            parameters: { numberOfReplicas: "3", fsType: "ext4" },
        });
    });
    it("a registry: push location, login server and credentials", async () => {
        const o = onprem({ "herd:registryUsername": "ci", "herd:registryPassword": "s3cret-token" });
        assert.ok(o.images.mode === "build");
        assert.equal(o.images.registry.location, "registry.example.com:5000/herd");
        assert.equal(o.images.registry.server, "registry.example.com:5000");
        assert.equal(o.images.registry.username, "ci");
        assert.deepEqual(await inspect(o.images.registry.password), { value: "s3cret-token", secret: true });
    });
    it("prebuilt images instead of a registry", () => {
        const api = `registry.example.com/herd/api@sha256:${"a".repeat(64)}`;
        const postgres = `registry.example.com/herd/postgres@sha256:${"c".repeat(64)}`;
        const o = parse({ "herd:platform": "onprem", "herd:storageClass": "x", "herd:apiImage": api, "herd:frontendImage": "registry.example.com/herd/frontend:1.4.2", "herd:postgresImage": postgres });
        assert.ok(o.platform === "onprem");
        assert.deepEqual(o.onprem.images, { mode: "prebuilt", api, frontend: "registry.example.com/herd/frontend:1.4.2", postgres });
    });
    it("ingress class, S3-compatible backups and render directory", () => {
        const o = onprem({
            "herd:ingressClass": "nginx",
            "herd:publicHostname": "shop.example.com",
            "herd:backupBucket": "herd-backups",
            "herd:backupEndpoint": "https://minio.example.com",
            "herd:backupRegion": "eu-central-1",
            "herd:backupCredentialsSecret": "backup-s3",
            "herd:renderDirectory": "./rendered",
        });
        assert.equal(o.ingressClass, "nginx");
        assert.deepEqual(o.backup, { mode: "s3", bucket: "herd-backups", endpoint: "https://minio.example.com", region: "eu-central-1", credentialsSecret: "backup-s3", endpointCidrs: [] });
        assert.equal(o.renderDirectory, "./rendered");
    });
    it("aws: defaults for everything but the region", () => {
        const aws = parse({ "herd:platform": "aws", "herd:awsRegion": "eu-west-1" });
        assert.deepEqual(aws.platform === "aws" && aws.aws, {
            region: "eu-west-1",
            kubernetesVersion: "1.33",
            apiAccessCidrs: [],
            zoneCount: 3,
            vpcCidr: "10.0.0.0/16",
            natGateways: "perZone",
            nodes: { instanceType: "m6i.large", min: 3, desired: 3, max: 6, diskGiB: 50, maxUnavailablePercent: 33, autoscaling: "cluster-autoscaler" },
            supportType: "STANDARD",
            controlPlaneLogRetentionDays: 90,
            adminPrincipalArns: [],
            ecrKeepImages: 30,
            https: undefined,
        });
    });
    it("aws: every key overridden", () => {
        const aws = parse({
            "herd:platform": "aws",
            "herd:awsRegion": "us-east-2",
            "herd:kubernetesVersion": "1.32",
            "herd:apiAccessCidrs": '["203.0.113.0/24"]',
            "herd:backupRetentionDays": "90",
            "herd:awsZoneCount": "2",
            "herd:awsVpcCidr": "10.50.0.0/16",
            "herd:awsNatGateways": "single",
            "herd:awsNodeInstanceType": "t3.xlarge",
            "herd:awsNodeMin": "2",
            "herd:awsNodeDesired": "4",
            "herd:awsNodeMax": "10",
            "herd:awsNodeDiskGiB": "120",
            "herd:awsNodeMaxUnavailablePercent": "50",
            "herd:awsNodeAutoscaling": "off",
            "herd:awsUpgradeSupportType": "EXTENDED",
            "herd:awsControlPlaneLogRetentionDays": "365",
            "herd:awsAdminPrincipalArns": '["arn:aws:iam::123456789012:role/platform-admins","arn:aws:iam::123456789012:user/ops/alice"]',
            "herd:ecrKeepImages": "5",
        });
        assert.deepEqual(aws.platform === "aws" && aws.aws, {
            region: "us-east-2",
            kubernetesVersion: "1.32",
            apiAccessCidrs: ["203.0.113.0/24"],
            zoneCount: 2,
            vpcCidr: "10.50.0.0/16",
            natGateways: "single",
            nodes: { instanceType: "t3.xlarge", min: 2, desired: 4, max: 10, diskGiB: 120, maxUnavailablePercent: 50, autoscaling: "off" },
            supportType: "EXTENDED",
            controlPlaneLogRetentionDays: 365,
            adminPrincipalArns: ["arn:aws:iam::123456789012:role/platform-admins", "arn:aws:iam::123456789012:user/ops/alice"],
            ecrKeepImages: 5,
            https: undefined,
        });
    });
    it("gcp: defaults for everything but project and region", () => {
        const gcp = parse({ "herd:platform": "gcp", "herd:gcpProject": "acme-prod-1", "herd:gcpRegion": "europe-west1" });
        assert.deepEqual(gcp.platform === "gcp" && gcp.gcp, {
            project: "acme-prod-1",
            region: "europe-west1",
            kubernetesVersion: "1.33",
            apiAccessCidrs: [],
            releaseChannel: "REGULAR",
            deletionProtection: true,
            network: { subnetCidr: "10.10.0.0/20", podsCidr: "10.20.0.0/14", servicesCidr: "10.24.0.0/20", masterCidr: "172.16.0.0/28" },
            nodes: { machineType: "e2-standard-4", minPerZone: 1, maxPerZone: 3 },
            maintenance: { window: { start: "00:00", hours: 8, days: ["SA", "SU"] }, exclusions: [] },
            registry: { keepImages: 30, untaggedDays: 7 },
            regionalDisks: true,
            https: undefined,
        });
    });
    it("gcp: every key overridden", () => {
        const gcp = parse({
            "herd:platform": "gcp",
            "herd:gcpProject": "acme-prod-1",
            "herd:gcpRegion": "us-central1",
            "herd:gcpReleaseChannel": "STABLE",
            "herd:gcpDeletionProtection": "false",
            "herd:gcpSubnetCidr": "10.100.0.0/20",
            "herd:gcpPodsCidr": "10.104.0.0/14",
            "herd:gcpServicesCidr": "10.108.0.0/20",
            "herd:gcpMasterCidr": "172.16.8.0/28",
            "herd:gcpNodeMachineType": "n2-standard-8",
            "herd:gcpNodeMinPerZone": "0",
            "herd:gcpNodeMaxPerZone": "5",
            "herd:apiAccessCidrs": '["0.0.0.0/0"]',
            "herd:apiAccessFromAnywhere": "true",
        });
        assert.ok(gcp.platform === "gcp");
        assert.equal(gcp.gcp.releaseChannel, "STABLE");
        assert.equal(gcp.gcp.deletionProtection, false);
        assert.deepEqual(gcp.gcp.network, { subnetCidr: "10.100.0.0/20", podsCidr: "10.104.0.0/14", servicesCidr: "10.108.0.0/20", masterCidr: "172.16.8.0/28" });
        assert.deepEqual(gcp.gcp.nodes, { machineType: "n2-standard-8", minPerZone: 0, maxPerZone: 5 });
        assert.deepEqual(gcp.gcp.apiAccessCidrs, ["0.0.0.0/0"], "open to the internet only with the explicit opt-in");
    });
});

describe("secrets", () => {
    it("the kubeconfig is read as a secret and stays a secret Output", async () => {
        const o = onprem({ "herd:kubeconfig": KUBECONFIG });
        assert.ok(o.kubeconfig !== undefined);
        assert.deepEqual(await inspect(o.kubeconfig), { value: KUBECONFIG, secret: true });
    });
    it("a secret key set in plaintext is rejected, naming the key and the command to fix it", () => {
        const err = problemsOf({ ...MINIMAL_ONPREM, "herd:kubeconfig": KUBECONFIG });
        assert.deepEqual(keysOf(err), ["herd:kubeconfig"]);
        assert.match(err.message, /pulumi config set --secret herd:kubeconfig/);
    });
    it("a malformed secret is reported without printing its value", () => {
        const err = problemsOf({ ...MINIMAL_ONPREM, "herd:kubeconfig": "hunter2-not-a-kubeconfig" }, ["herd:kubeconfig"]);
        assert.deepEqual(keysOf(err), ["herd:kubeconfig"]);
        assert.match(err.message, /kubeconfig file/);
        assert.doesNotMatch(err.message, /hunter2/);
    });
    it("registryPassword must be a secret", () => {
        const err = problemsOf({ ...MINIMAL_ONPREM, "herd:registryUsername": "ci", "herd:registryPassword": "pw" });
        assert.deepEqual(keysOf(err), ["herd:registryPassword"]);
    });
});

describe("validation errors name the key, what was expected and what was given", () => {
    const cases: { name: string; values: Record<string, string>; key: string; expected: RegExp; secret?: string[] }[] = [
        { name: "missing platform", values: { "herd:storageClass": "x" }, key: "herd:platform", expected: /required: expected one of aws, gcp, onprem, got nothing/ },
        { name: "unknown platform", values: { "herd:platform": "azure" }, key: "herd:platform", expected: /expected one of aws, gcp, onprem, got "azure"/ },
        { name: "namespace not a DNS label", values: { ...MINIMAL_ONPREM, "herd:namespace": "Shop_Prod" }, key: "herd:namespace", expected: /lowercase.*got "Shop_Prod"/ },
        { name: "namespace too long", values: { ...MINIMAL_ONPREM, "herd:namespace": "a".repeat(64) }, key: "herd:namespace", expected: /at most 63/ },
        { name: "a context beside renderDirectory", values: { ...MINIMAL_ONPREM, "herd:renderDirectory": "out/onprem", "herd:kubeContext": "prod" }, key: "herd:kubeContext", expected: /not used with herd:renderDirectory \(rendering talks to no cluster\): expected it unset, got "prod"/ },
        { name: "provisioner not a qualified name", values: { ...MINIMAL_ONPREM, "herd:storageProvisioner": "Longhorn Driver" }, key: "herd:storageProvisioner", expected: /expected a provisioner name such as driver\.longhorn\.io or kubernetes\.io\/no-provisioner \(\[prefix\/\]name\), got "Longhorn Driver"/ },
        { name: "storage class name invalid", values: { ...MINIMAL_ONPREM, "herd:storageClass": "Fast SSD" }, key: "herd:storageClass", expected: /StorageClass name.*got "Fast SSD"/ },
        { name: "storageParameters not a list", values: { ...MINIMAL_ONPREM, "herd:storageProvisioner": "p.example.com", "herd:storageParameters": "numberOfReplicas=3" }, key: "herd:storageParameters", expected: /expected a list of strings/ },
        { name: "storageParameters item not key=value", values: { ...MINIMAL_ONPREM, "herd:storageProvisioner": "p.example.com", "herd:storageParameters": '["ok=1","broken"]' }, key: "herd:storageParameters[1]", expected: /expected key=value, got "broken"/ },
        { name: "storageParameters item not a string", values: { ...MINIMAL_ONPREM, "herd:storageProvisioner": "p.example.com", "herd:storageParameters": "[3]" }, key: "herd:storageParameters[0]", expected: /expected a string, got 3/ },
        { name: "registry with a scheme", values: { ...MINIMAL_ONPREM, "herd:registry": "https://registry.example.com" }, key: "herd:registry", expected: /no scheme.*got "https:\/\/registry.example.com"/ },
        { name: "prebuilt image tagged latest", values: { "herd:platform": "onprem", "herd:storageClass": "x", "herd:apiImage": "registry.example.com/herd/api:latest", "herd:frontendImage": "registry.example.com/herd/frontend:1.0" }, key: "herd:apiImage", expected: /pinned|registry and path/ },
        { name: "prebuilt image untagged", values: { "herd:platform": "onprem", "herd:storageClass": "x", "herd:apiImage": "registry.example.com/herd/api:1.0", "herd:frontendImage": "registry.example.com/herd/frontend" }, key: "herd:frontendImage", expected: /pinned by tag or digest/ },
        { name: "only one prebuilt image", values: { "herd:platform": "onprem", "herd:storageClass": "x", "herd:apiImage": "registry.example.com/herd/api:1.0" }, key: "herd:frontendImage", expected: /both herd:apiImage and herd:frontendImage/ },
        { name: "prebuilt images without the PostgreSQL image", values: { "herd:platform": "onprem", "herd:storageClass": "x", "herd:apiImage": "registry.example.com/herd/api:1.0", "herd:frontendImage": "registry.example.com/herd/frontend:1.0" }, key: "herd:postgresImage", expected: /expected a prebuilt herd PostgreSQL image .* with herd:apiImage and herd:frontendImage .*got nothing/ },
        { name: "a PostgreSQL image beside a registry", values: { ...MINIMAL_ONPREM, "herd:postgresImage": "registry.example.com/herd/postgres:1.0" }, key: "herd:postgresImage", expected: /only used with prebuilt images .*herd builds the PostgreSQL image; expected it unset, got "registry.example.com\/herd\/postgres:1.0"/ },
        { name: "a PostgreSQL image not pinned", values: { "herd:platform": "onprem", "herd:storageClass": "x", "herd:apiImage": "registry.example.com/herd/api:1.0", "herd:frontendImage": "registry.example.com/herd/frontend:1.0", "herd:postgresImage": "registry.example.com/herd/postgres:latest" }, key: "herd:postgresImage", expected: /pinned|registry and path/ },
        { name: "a PostgreSQL image on aws (herd builds it)", values: { ...AWS, "herd:postgresImage": "registry.example.com/herd/postgres:1.0" }, key: "herd:postgresImage", expected: /applies only to platform onprem/ },
        { name: "a snapshot interval that drifts", values: { ...AWS, "herd:elasticSnapshotIntervalMinutes": "45" }, key: "herd:elasticSnapshotIntervalMinutes", expected: /divide an hour .* or whole hours that divide a day .*, got 45/ },
        { name: "a snapshot interval of zero", values: { ...AWS, "herd:elasticSnapshotIntervalMinutes": "0" }, key: "herd:elasticSnapshotIntervalMinutes", expected: /from 1 to 1440, got 0/ },
        { name: "snapshots kept no days", values: { ...AWS, "herd:elasticSnapshotRetentionDays": "0" }, key: "herd:elasticSnapshotRetentionDays", expected: /from 1 to 3650, got 0/ },
        { name: "no snapshot always kept", values: { ...AWS, "herd:elasticSnapshotMinCount": "0" }, key: "herd:elasticSnapshotMinCount", expected: /from 1 to 10000, got 0/ },
        { name: "fewer snapshots at most than at least", values: { ...AWS, "herd:elasticSnapshotMinCount": "10", "herd:elasticSnapshotMaxCount": "5" }, key: "herd:elasticSnapshotMaxCount", expected: /at least herd:elasticSnapshotMinCount \(10\), got 5/ },
        { name: "snapshots not a boolean", values: { ...AWS, "herd:elasticSnapshots": "yes" }, key: "herd:elasticSnapshots", expected: /true or false, got "yes"/ },
        { name: "a snapshot volume too small", values: { ...MINIMAL_ONPREM, "herd:elasticSnapshotVolumeSize": "500Mi" }, key: "herd:elasticSnapshotVolumeSize", expected: /at least 1Gi/ },
        { name: "a snapshot volume size on aws (S3 holds them)", values: { ...AWS, "herd:elasticSnapshotVolumeSize": "50Gi" }, key: "herd:elasticSnapshotVolumeSize", expected: /applies only to platform onprem/ },
        { name: "an S3 endpoint with a path, with snapshots on", values: { ...MINIMAL_ONPREM, "herd:backupBucket": "b-1", "herd:backupCredentialsSecret": "c", "herd:backupEndpoint": "https://s3.example.com/minio" }, key: "herd:backupEndpoint", expected: /Elasticsearch snapshots .*no path, got "https:\/\/s3.example.com\/minio"/ },
        { name: "a shared repository class beside a bucket", values: { ...MINIMAL_ONPREM, "herd:backupBucket": "b-1", "herd:backupCredentialsSecret": "c", "herd:repositoryStorageClass": "cephfs" }, key: "herd:repositoryStorageClass", expected: /only used without herd:backupBucket .*expected it unset, got "cephfs"/ },
        { name: "a scratch size that is no quantity", values: { ...MINIMAL_ONPREM, "herd:backupScratchSize": "lots" }, key: "herd:backupScratchSize", expected: /got "lots"/ },
        { name: "a plain-http S3 endpoint (pgBackRest speaks TLS only)", values: { ...MINIMAL_ONPREM, "herd:backupBucket": "b-1", "herd:backupCredentialsSecret": "c", "herd:backupEndpoint": "http://minio.example.com:9000" }, key: "herd:backupEndpoint", expected: /pgBackRest\) reaches the store over TLS only: expected an https:\/\/ URL, got "http:\/\/minio.example.com:9000"/ },
        { name: "a repository class that is not a name", values: { ...MINIMAL_ONPREM, "herd:repositoryStorageClass": "Ceph FS" }, key: "herd:repositoryStorageClass", expected: /StorageClass name.*got "Ceph FS"/ },
        { name: "an archive timeout of zero", values: { ...AWS, "herd:postgresArchiveTimeoutSeconds": "0" }, key: "herd:postgresArchiveTimeoutSeconds", expected: /from 1 to 3600, got 0/ },
        { name: "an archive timeout over an hour", values: { ...AWS, "herd:postgresArchiveTimeoutSeconds": "7200" }, key: "herd:postgresArchiveTimeoutSeconds", expected: /from 1 to 3600, got 7200/ },
        { name: "a full backup schedule that is not cron", values: { ...AWS, "herd:postgresFullBackupSchedule": "weekly" }, key: "herd:postgresFullBackupSchedule", expected: /cron schedule of 5 fields/ },
        { name: "a differential backup schedule out of range", values: { ...AWS, "herd:postgresDiffBackupSchedule": "0 25 * * *" }, key: "herd:postgresDiffBackupSchedule", expected: /hour field "25" is not valid/ },
        { name: "no full backup kept", values: { ...AWS, "herd:postgresFullBackupsKept": "0" }, key: "herd:postgresFullBackupsKept", expected: /from 1 to 1000, got 0/ },
        { name: "an archive volume too small", values: { ...MINIMAL_ONPREM, "herd:postgresArchiveVolumeSize": "100Mi" }, key: "herd:postgresArchiveVolumeSize", expected: /at least 1Gi/ },
        { name: "an archive volume size on gcp (GCS holds it)", values: { ...GCP, "herd:postgresArchiveVolumeSize": "10Gi" }, key: "herd:postgresArchiveVolumeSize", expected: /applies only to platform onprem/ },
        { name: "neither registry nor prebuilt images", values: { "herd:platform": "onprem", "herd:storageClass": "x" }, key: "herd:registry", expected: /got neither/ },
        { name: "neither storage class nor provisioner", values: { "herd:platform": "onprem", "herd:registry": "r.example.com/herd" }, key: "herd:storageClass", expected: /existing StorageClass.*got neither/ },
        { name: "parameters for an existing class", values: { ...MINIMAL_ONPREM, "herd:storageParameters": '["a=b"]' }, key: "herd:storageParameters", expected: /only used with herd:storageProvisioner/ },
        { name: "registry username without password", values: { ...MINIMAL_ONPREM, "herd:registryUsername": "ci" }, key: "herd:registryPassword", expected: /expected a password/ },
        { name: "registry password without username", values: { ...MINIMAL_ONPREM, "herd:registryPassword": "pw" }, secret: ["herd:registryPassword"], key: "herd:registryUsername", expected: /expected a username/ },
        { name: "backup bucket without credentials", values: { ...MINIMAL_ONPREM, "herd:backupBucket": "herd-backups" }, key: "herd:backupCredentialsSecret", expected: /required with herd:backupBucket/ },
        { name: "backup endpoint without bucket", values: { ...MINIMAL_ONPREM, "herd:backupEndpoint": "https://minio.example.com" }, key: "herd:backupEndpoint", expected: /only used with herd:backupBucket/ },
        { name: "backup endpoint not http(s)", values: { ...MINIMAL_ONPREM, "herd:backupBucket": "b-1", "herd:backupCredentialsSecret": "c", "herd:backupEndpoint": "ftp://minio" }, key: "herd:backupEndpoint", expected: /http\(s\) URL, got "ftp:\/\/minio"/ },
        { name: "bad bucket name", values: { ...MINIMAL_ONPREM, "herd:backupBucket": "Herd_Backups", "herd:backupCredentialsSecret": "c" }, key: "herd:backupBucket", expected: /bucket name/ },
        { name: "a key of another platform", values: { ...MINIMAL_ONPREM, "herd:awsRegion": "eu-west-1" }, key: "herd:awsRegion", expected: /applies only to platform aws, but this stack's platform is onprem/ },
        { name: "an onprem key on aws", values: { "herd:platform": "aws", "herd:awsRegion": "eu-west-1", "herd:storageClass": "gp2" }, key: "herd:storageClass", expected: /applies only to platform onprem/ },
        { name: "aws without a region", values: { "herd:platform": "aws" }, key: "herd:awsRegion", expected: /required on platform aws/ },
        { name: "malformed aws region", values: { "herd:platform": "aws", "herd:awsRegion": "Ireland" }, key: "herd:awsRegion", expected: /AWS region.*got "Ireland"/ },
        { name: "fewer than 2 zones", values: { ...AWS, "herd:awsZoneCount": "1" }, key: "herd:awsZoneCount", expected: /from 2 to 6, got 1$/ },
        { name: "zones not a number", values: { ...AWS, "herd:awsZoneCount": "three" }, key: "herd:awsZoneCount", expected: /expected a whole number, got "three"/ },
        { name: "node min above max", values: { ...AWS, "herd:awsNodeMin": "5", "herd:awsNodeMax": "3", "herd:awsNodeDesired": "4" }, key: "herd:awsNodeMin", expected: /at most herd:awsNodeMax \(3\), got 5/ },
        { name: "desired outside min..max", values: { ...AWS, "herd:awsNodeDesired": "9" }, key: "herd:awsNodeDesired", expected: /from herd:awsNodeMin \(3\) to herd:awsNodeMax \(6\), got 9/ },
        { name: "malformed VPC CIDR", values: { ...AWS, "herd:awsVpcCidr": "10.0.0/16" }, key: "herd:awsVpcCidr", expected: /IPv4 CIDR block.*got "10.0.0\/16"/ },
        { name: "CIDR with host bits set", values: { ...AWS, "herd:awsVpcCidr": "10.0.3.0/16" }, key: "herd:awsVpcCidr", expected: /host bits clear \(did you mean 10.0.0.0\/16\?\)/ },
        { name: "VPC too small", values: { ...AWS, "herd:awsVpcCidr": "10.0.0.0/24" }, key: "herd:awsVpcCidr", expected: /\/20 or larger/ },
        { name: "octet out of range", values: { ...AWS, "herd:apiAccessCidrs": '["300.1.2.0/24"]' }, key: "herd:apiAccessCidrs[0]", expected: /IPv4 CIDR block.*got "300.1.2.0\/24"/ },
        { name: "API open to the internet without opt-in", values: { ...AWS, "herd:apiAccessCidrs": '["10.0.0.0/8","0.0.0.0/0"]' }, key: "herd:apiAccessCidrs", expected: /0.0.0.0\/0 opens it to the whole internet.*apiAccessFromAnywhere/ },
        { name: "opt-in not a boolean", values: { ...AWS, "herd:apiAccessFromAnywhere": "yes" }, key: "herd:apiAccessFromAnywhere", expected: /expected true or false, got "yes"/ },
        { name: "unknown NAT mode", values: { ...AWS, "herd:awsNatGateways": "none" }, key: "herd:awsNatGateways", expected: /one of perZone, single, got "none"/ },
        { name: "bad instance type", values: { ...AWS, "herd:awsNodeInstanceType": "large" }, key: "herd:awsNodeInstanceType", expected: /EC2 instance type/ },
        { name: "bad Kubernetes version", values: { ...AWS, "herd:kubernetesVersion": "1.33.2" }, key: "herd:kubernetesVersion", expected: /minor version.*got "1.33.2"/ },
        { name: "retention not positive", values: { ...AWS, "herd:backupRetentionDays": "0" }, key: "herd:backupRetentionDays", expected: /from 1 to 3650/ },
        { name: "unknown release channel", values: { ...GCP, "herd:gcpReleaseChannel": "NIGHTLY" }, key: "herd:gcpReleaseChannel", expected: /one of RAPID, REGULAR, STABLE, EXTENDED, got "NIGHTLY"/ },
        { name: "gcp node min above max", values: { ...GCP, "herd:gcpNodeMinPerZone": "4" }, key: "herd:gcpNodeMinPerZone", expected: /at most herd:gcpNodeMaxPerZone \(3\), got 4/ },
        { name: "overlapping gcp ranges", values: { ...GCP, "herd:gcpServicesCidr": "10.21.0.0/20" }, key: "herd:gcpServicesCidr", expected: /does not overlap herd:gcpPodsCidr/ },
        { name: "master range not /28", values: { ...GCP, "herd:gcpMasterCidr": "172.16.0.0/24" }, key: "herd:gcpMasterCidr", expected: /\/28 block/ },
        { name: "deletion protection not a boolean", values: { ...GCP, "herd:gcpDeletionProtection": "on" }, key: "herd:gcpDeletionProtection", expected: /expected true or false/ },
        { name: "storage size Kubernetes cannot parse", values: { ...MINIMAL_ONPREM, "herd:postgresStorageSize": "20 GB" }, key: "herd:postgresStorageSize", expected: /Kubernetes quantity such as 512Mi or 20Gi, got "20 GB"/ },
        { name: "storage size with a bad suffix", values: { ...MINIMAL_ONPREM, "herd:elasticStorageSize": "30GiB" }, key: "herd:elasticStorageSize", expected: /Kubernetes quantity/ },
        { name: "Elasticsearch under 1Gi", values: { ...MINIMAL_ONPREM, "herd:elasticMemory": "512Mi" }, key: "herd:elasticMemory", expected: /at least 1Gi.*got "512Mi"/ },
        { name: "PostgreSQL under 256Mi", values: { ...MINIMAL_ONPREM, "herd:postgresMemory": "128Mi" }, key: "herd:postgresMemory", expected: /at least 256Mi/ },
        { name: "CPU not a quantity", values: { ...MINIMAL_ONPREM, "herd:redisCpu": "fast" }, key: "herd:redisCpu", expected: /CPU quantity such as 500m/ },
        { name: "malformed cron: fields", values: { ...MINIMAL_ONPREM, "herd:backupSchedule": "0 3 * *" }, key: "herd:backupSchedule", expected: /5 fields.*, got "0 3 \* \*" \(4 fields\)$/ },
        { name: "malformed cron: range", values: { ...MINIMAL_ONPREM, "herd:backupSchedule": "0 25 * * *" }, key: "herd:backupSchedule", expected: /the hour field "25" is not valid/ },
        { name: "malformed cron: text", values: { ...MINIMAL_ONPREM, "herd:backupSchedule": "every night" }, key: "herd:backupSchedule", expected: /cron schedule/ },
        { name: "unknown eviction policy", values: { ...MINIMAL_ONPREM, "herd:redisEvictionPolicy": "lru" }, key: "herd:redisEvictionPolicy", expected: /one of noeviction, allkeys-lru.*got "lru"/ },
        { name: "zero Elasticsearch nodes", values: { ...MINIMAL_ONPREM, "herd:elasticReplicas": "0" }, key: "herd:elasticReplicas", expected: /from 1 to 15/ },
        { name: "two Elasticsearch nodes", values: { ...MINIMAL_ONPREM, "herd:elasticReplicas": "2" }, key: "herd:elasticReplicas", expected: /losing either one stops the cluster/ },
        { name: "max_connections too low", values: { ...MINIMAL_ONPREM, "herd:postgresMaxConnections": "5" }, key: "herd:postgresMaxConnections", expected: /from 10 to 5000/ },
        { name: "protectData not a boolean", values: { ...MINIMAL_ONPREM, "herd:protectData": "no" }, key: "herd:protectData", expected: /true or false/ },
        { name: "autoscaler ceiling below the floor", values: { ...MINIMAL_ONPREM, "herd:apiReplicas": "4", "herd:apiMaxReplicas": "2" }, key: "herd:apiMaxReplicas", expected: /at least herd:apiReplicas \(4\), got 2/ },
        { name: "a certificate Secret on a cloud (its load balancer ends HTTPS itself)", values: { "herd:platform": "aws", "herd:awsRegion": "eu-west-1", "herd:publicHostname": "a.example.com", "herd:awsHostedZoneId": "Z0123456789ABCDEFGHIJ", "herd:tlsSecretName": "t" }, key: "herd:tlsSecretName", expected: /onprem only\): on aws, herd:publicHostname turns HTTPS on/ },
        { name: "both a TLS Secret and an issuer", values: { ...MINIMAL_ONPREM, "herd:ingressClass": "nginx", "herd:publicHostname": "a.example.com", "herd:tlsSecretName": "t", "herd:tlsClusterIssuer": "i" }, key: "herd:tlsClusterIssuer", expected: /not both/ },
        { name: "a certificate without a host name", values: { ...MINIMAL_ONPREM, "herd:tlsSecretName": "t" }, key: "herd:publicHostname", expected: /required with herd:tlsSecretName/ },
        { name: "an ingress class without a host name", values: { ...MINIMAL_ONPREM, "herd:ingressClass": "nginx" }, key: "herd:publicHostname", expected: /required with herd:ingressClass/ },
        { name: "host name not a DNS name", values: { ...MINIMAL_ONPREM, "herd:publicHostname": "https://shop" }, key: "herd:publicHostname", expected: /host name/ },
        { name: "API memory too small", values: { ...MINIMAL_ONPREM, "herd:apiMemory": "64Mi" }, key: "herd:apiMemory", expected: /at least 128Mi/ },
        { name: "a wait budget of zero minutes", values: { ...MINIMAL_ONPREM, "herd:waitAppMinutes": "0" }, key: "herd:waitAppMinutes", expected: /whole number from 1 to 240, got 0/ },
        { name: "a wait budget that is not a number", values: { ...MINIMAL_ONPREM, "herd:waitDataMinutes": "15m" }, key: "herd:waitDataMinutes", expected: /expected a whole number, got "15m"/ },
        { name: "a cluster wait on a stack with no cluster to wait for", values: { ...MINIMAL_ONPREM, "herd:waitClusterMinutes": "60" }, key: "herd:waitClusterMinutes", expected: /aws, gcp/ },
        { name: "gcp without a project", values: { "herd:platform": "gcp", "herd:gcpRegion": "europe-west1" }, key: "herd:gcpProject", expected: /required on platform gcp/ },
        { name: "malformed gcp project", values: { "herd:platform": "gcp", "herd:gcpProject": "ACME", "herd:gcpRegion": "europe-west1" }, key: "herd:gcpProject", expected: /project ID.*got "ACME"/ },
        { name: "malformed gcp region", values: { "herd:platform": "gcp", "herd:gcpProject": "acme-prod", "herd:gcpRegion": "europe" }, key: "herd:gcpRegion", expected: /GCP region.*got "europe"/ },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const err = problemsOf(c.values, c.secret);
            assert.ok(keysOf(err).includes(c.key), `expected ${c.key} among ${JSON.stringify(keysOf(err))}`);
            const problem = err.problems.find((p) => p.key === c.key);
            assert.match(problem?.message ?? "", c.expected);
            assert.ok(err.message.includes(`${c.key}: `), "the message names the key");
            for (const p of err.problems) {
                assert.ok((p.message.match(/\bgot\b/g) ?? []).length <= 1, `"got" more than once in ${p.key}: ${p.message}`);
            }
        });
    }
});

describe("unknown keys", () => {
    it("a typo is an error with a did-you-mean suggestion", () => {
        const err = problemsOf({ ...MINIMAL_ONPREM, "herd:namepsace": "shop" });
        assert.deepEqual(keysOf(err), ["herd:namepsace"]);
        assert.match(err.message, /unknown key; did you mean herd:namespace\?/);
    });
    it("a wrong case is caught too", () => {
        assert.match(problemsOf({ ...MINIMAL_ONPREM, "herd:StorageClass": "x" }).message, /did you mean herd:storageClass\?/);
    });
    it("a key unlike any other gets no suggestion but is still an error", () => {
        const err = problemsOf({ ...MINIMAL_ONPREM, "herd:enableTelemetry": "true" });
        assert.deepEqual(keysOf(err), ["herd:enableTelemetry"]);
        assert.doesNotMatch(err.message, /did you mean/);
    });
    it("other namespaces belong to their providers and are left alone", () => {
        assert.doesNotThrow(() => parse({ ...MINIMAL_ONPREM, "kubernetes:enableServerSideApply": "true", "aws:region": "eu-west-1" }));
    });
    it("edit distance", () => {
        assert.equal(editDistance("namepsace", "namespace"), 2);
        assert.equal(editDistance("", "abc"), 3);
        assert.equal(editDistance("same", "same"), 0);
    });
});

describe("all problems at once", () => {
    it("one error lists every problem, each naming its key", () => {
        const err = problemsOf({
            "herd:platform": "onprem",
            "herd:namespace": "Bad_NS",
            "herd:platfrom": "onprem",
            "herd:storageParameters": '["x"]',
            "herd:apiImage": "nginx",
            "herd:awsRegion": "eu-west-1",
        });
        assert.ok(err instanceof ConfigError);
        const keys = keysOf(err);
        for (const key of ["herd:namespace", "herd:platfrom", "herd:storageParameters[0]", "herd:apiImage", "herd:awsRegion"]) {
            assert.ok(keys.includes(key), `${key} missing from ${JSON.stringify(keys)}`);
        }
        assert.match(err.message, new RegExp(`^Stack 'test' has ${err.problems.length} configuration problems:`));
        assert.equal(err.message.split("\n").length, err.problems.length + 1);
    });
});

/** Every problem as the user reads it: `<key>: <message>`. */
function lines(values: Record<string, string>, secret: string[] = []): string[] {
    return problemsOf(values, secret).problems.map((p) => `${p.key}: ${p.message}`);
}

const OPEN_API = 'expected the CIDRs that may reach the Kubernetes API; 0.0.0.0/0 opens it to the whole internet, which needs herd:apiAccessFromAnywhere set to true';

describe("every problem, once, and only real ones (issue 10)", () => {
    describe("a malformed list entry does not hide a problem with the others", () => {
        for (const [platform, base] of [["aws", AWS], ["gcp", GCP]] as const) {
            it(`${platform}: a malformed CIDR and 0.0.0.0/0 without the opt-in are reported together`, () => {
                assert.deepEqual(lines({ ...base, "herd:apiAccessCidrs": '["0.0.0.0/0","10.0.0.300/8"]' }), [
                    'herd:apiAccessCidrs[1]: expected an IPv4 CIDR block such as 10.0.0.0/16, got "10.0.0.300/8"',
                    `herd:apiAccessCidrs: ${OPEN_API}; got ["0.0.0.0/0","10.0.0.300/8"]`,
                ]);
            });
        }
        it("with the opt-in, only the malformed entry", () => {
            assert.deepEqual(lines({ ...AWS, "herd:apiAccessCidrs": '["0.0.0.0/0","10.0.0.300/8"]', "herd:apiAccessFromAnywhere": "true" }), [
                'herd:apiAccessCidrs[1]: expected an IPv4 CIDR block such as 10.0.0.0/16, got "10.0.0.300/8"',
            ]);
        });
        it("an opt-in that is not a boolean is the one problem: whether 0.0.0.0/0 is allowed is not known", () => {
            assert.deepEqual(lines({ ...AWS, "herd:apiAccessCidrs": '["0.0.0.0/0"]', "herd:apiAccessFromAnywhere": "yes" }), [
                'herd:apiAccessFromAnywhere: expected true or false, got "yes"',
            ]);
        });
        it("storage parameters: a malformed entry and parameters without a provisioner", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:storageParameters": '["a=b","broken"]' }), [
                'herd:storageParameters[1]: expected key=value, got "broken"',
                'herd:storageParameters: only used with herd:storageProvisioner (herd does not change an existing StorageClass): expected no parameters without a provisioner, got ["a=b","broken"]',
            ]);
        });
    });

    describe("a misspelled key is one problem, not also one about the key it meant", () => {
        const typo = (wrong: string, right: string) =>
            `herd:${wrong}: unknown key; did you mean herd:${right}? (herd reads only the keys listed in Pulumi.yaml)`;
        it("onprem: herd:ingresClass with a certificate does not also say the certificate needs herd:ingressClass", () => {
            assert.deepEqual(
                lines({ ...MINIMAL_ONPREM, "herd:ingresClass": "nginx", "herd:publicHostname": "shop.example.com", "herd:tlsSecretName": "shop-tls" }),
                [typo("ingresClass", "ingressClass")],
            );
        });
        it("onprem: herd:regsitry does not also say there is neither a registry nor prebuilt images", () => {
            assert.deepEqual(lines({ "herd:platform": "onprem", "herd:storageClass": "fast-ssd", "herd:regsitry": "r.example.com/herd" }), [typo("regsitry", "registry")]);
        });
        it("onprem: herd:storageProvisoner does not also say there is neither a class nor a provisioner", () => {
            assert.deepEqual(lines({ "herd:platform": "onprem", "herd:registry": "r.example.com/herd", "herd:storageProvisoner": "driver.longhorn.io" }), [
                typo("storageProvisoner", "storageProvisioner"),
            ]);
        });
        it("onprem: herd:backupBuckt does not also say the credentials Secret needs a bucket", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:backupBuckt": "herd-backups", "herd:backupCredentialsSecret": "s3" }), [typo("backupBuckt", "backupBucket")]);
        });
        it("aws: herd:awsRegoin does not also say herd:awsRegion is required", () => {
            assert.deepEqual(lines({ "herd:platform": "aws", "herd:awsRegoin": "eu-west-1" }), [typo("awsRegoin", "awsRegion")]);
        });
        it("herd:platfrom does not also say herd:platform is required", () => {
            assert.deepEqual(lines({ "herd:platfrom": "onprem", "herd:storageClass": "x" }), [typo("platfrom", "platform")]);
        });
        it("a problem that does not depend on the misspelled key is still reported: a certificate needs a host name", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:ingresClass": "nginx", "herd:tlsSecretName": "shop-tls" }), [
                typo("ingresClass", "ingressClass"),
                "herd:publicHostname: expected the host name the certificate is for (required with herd:tlsSecretName), got nothing",
            ]);
        });
        it("when the meant key is set as well, its own rules still apply", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:ingressClass": "nginx", "herd:ingresClass": "nginx" }), [
                typo("ingresClass", "ingressClass"),
                "herd:publicHostname: expected the host name the Ingress serves (required with herd:ingressClass), got nothing",
            ]);
        });
        it("a host name needed for two reasons is one problem", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:ingressClass": "nginx", "herd:tlsSecretName": "shop-tls" }), [
                "herd:publicHostname: expected the host name the Ingress serves (required with herd:ingressClass and herd:tlsSecretName), got nothing",
            ]);
        });
    });

    describe("a malformed value is not also reported as missing", () => {
        it("aws: a GCP region in herd:awsRegion", () => {
            assert.deepEqual(lines({ "herd:platform": "aws", "herd:awsRegion": "europe-west1" }), [
                'herd:awsRegion: expected an AWS region such as eu-west-1, got "europe-west1"',
            ]);
        });
        it("gcp: a malformed project and region", () => {
            assert.deepEqual(lines({ "herd:platform": "gcp", "herd:gcpProject": "ACME", "herd:gcpRegion": "europe" }), [
                `herd:gcpProject: expected a GCP project ID (6-30 lowercase letters, digits, '-'), got "ACME"`,
                'herd:gcpRegion: expected a GCP region such as europe-west1, got "europe"',
            ]);
        });
        it("onprem: a malformed storage class, host name and credentials Secret", () => {
            assert.deepEqual(
                lines({
                    "herd:platform": "onprem",
                    "herd:registry": "r.example.com/herd",
                    "herd:storageClass": "Fast SSD",
                    "herd:ingressClass": "nginx",
                    "herd:publicHostname": "https://shop",
                    "herd:backupBucket": "herd-backups",
                    "herd:backupCredentialsSecret": "S3_Creds",
                }),
                [
                    `herd:storageClass: expected a StorageClass name: a DNS subdomain (lowercase letters, digits, '-' and '.'), got "Fast SSD"`,
                    `herd:backupCredentialsSecret: expected a Secret name: a DNS subdomain (lowercase letters, digits, '-' and '.'), got "S3_Creds"`,
                    `herd:publicHostname: expected a host name such as shop.example.com: a DNS subdomain (lowercase letters, digits, '-' and '.'), got "https://shop"`,
                ],
            );
        });
        it("onprem: a plaintext registry password is not also a missing one", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:registryUsername": "ci", "herd:registryPassword": "pw" }), [
                "herd:registryPassword: expected a secret value (pulumi config set --secret herd:registryPassword ...), got a plaintext value",
            ]);
        });
        it("a key of another platform is reported once, as such, whatever its value", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:awsRegion": "Ireland" }), [
                `herd:awsRegion: applies only to platform aws, but this stack's platform is onprem: expected it removed, got "Ireland"`,
            ]);
        });
    });

    describe("keys outside herd: that herd could have meant", () => {
        it("a namespace that is a near miss of herd, with and without a herd key", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "hrd:namespace": "shop", "herdd:foo": "x", "Herd:namespace": "shop" }), [
                'hrd:namespace: unknown namespace "hrd"; did you mean herd:namespace? (herd reads only herd: keys)',
                'herdd:foo: unknown namespace "herdd", and "foo" is not a herd key either (herd reads only the herd: keys listed in Pulumi.yaml)',
                'Herd:namespace: unknown namespace "Herd"; did you mean herd:namespace? (herd reads only herd: keys)',
            ]);
        });
        it("a herd key in a namespace no provider owns", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "app:ingressClass": "nginx", "app:publicHostname": "shop.example.com" }), [
                `app:ingressClass: "app" is not herd's namespace nor a provider's; did you mean herd:ingressClass? (herd reads only herd: keys)`,
                `app:publicHostname: "app" is not herd's namespace nor a provider's; did you mean herd:publicHostname? (herd reads only herd: keys)`,
            ]);
        });
        it("a misplaced key is one problem, not also one about the key it meant", () => {
            assert.deepEqual(lines({ "herd:platform": "onprem", "herd:storageClass": "fast-ssd", "hrd:registry": "r.example.com/herd" }), [
                'hrd:registry: unknown namespace "hrd"; did you mean herd:registry? (herd reads only herd: keys)',
            ]);
        });
        it("providers' keys are theirs, even when named like a herd key", () => {
            assert.doesNotThrow(() =>
                parse({ ...MINIMAL_ONPREM, "kubernetes:namespace": "x", "aws:region": "eu-west-1", "gcp:region": "europe-west1", "pulumi:tags": "{}", "random:x": "y" }),
            );
        });
        it("a bare key in a stack file is the project's (herd:), as the CLI reads it; a bare typo is an unknown herd: key", () => {
            const raw = readStackConfig({ stack: "test", configFile: writeStackFile({ platform: "onprem", storageClass: "fast-ssd", registry: "r.example.com/herd", ingresClass: "nginx" }) });
            assert.equal(raw.values["herd:storageClass"], "fast-ssd");
            assert.deepEqual(lines(raw.values), [
                "herd:ingresClass: unknown key; did you mean herd:ingressClass? (herd reads only the keys listed in Pulumi.yaml)",
            ]);
        });
        it("the old <namespace>:config:<name> form is read as <namespace>:<name>, as the CLI reads it", () => {
            const raw = readStackConfig({ stack: "test", configFile: writeStackFile({ "herd:config:platform": "onprem", "herd:storageClass": "x", "herd:registry": "r.example.com/herd" }) });
            assert.equal(raw.values["herd:platform"], "onprem");
        });
    });

    describe("what was given is shown as written", () => {
        it("numbers as numbers, strings quoted", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:elasticReplicas": "0", "herd:apiReplicas": "-1", "herd:frontendReplicas": "two", "herd:elasticCpu": "0" }), [
                "herd:elasticReplicas: expected a whole number from 1 to 15, got 0",
                'herd:elasticCpu: expected a CPU quantity such as 500m or 2, got "0"',
                "herd:apiReplicas: expected a whole number from 1 to 100, got -1",
                'herd:frontendReplicas: expected a whole number, got "two"',
            ]);
        });
        it("a number on the wrong platform", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:awsZoneCount": "5" }), [
                "herd:awsZoneCount: applies only to platform aws, but this stack's platform is onprem: expected it removed, got 5",
            ]);
        });
        it("a mapping or list given for a string is shown as data, not as escaped JSON text", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:namespace": '["a","b"]' }), ['herd:namespace: expected a string, got a list: ["a","b"]']);
        });
        it("a message never says got twice: cron's field count follows the value", () => {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:backupSchedule": "0 3 * *" }), [
                'herd:backupSchedule: expected a cron schedule of 5 fields (minute hour day-of-month month day-of-week) such as "0 3 * * *", got "0 3 * *" (4 fields)',
            ]);
        });
        it("a certificate on a cloud says what was given", () => {
            assert.deepEqual(lines({ ...AWS, "herd:publicHostname": "a.example.com", "herd:awsHostedZoneId": "Z0123456789ABCDEFGHIJ", "herd:tlsSecretName": "shop-tls" }), [
                'herd:tlsSecretName: expected no certificate key on platform aws (onprem only): on aws, herd:publicHostname turns HTTPS on with a certificate the cloud manages (set herd:awsHostedZoneId, or herd:awsCertificateArn for a certificate you have); got "shop-tls"',
            ]);
        });
    });

    describe("the offline commands' stack file errors", () => {
        it("an unknown stack lists the stacks that exist", () => {
            assert.throws(() => readStackConfig({ stack: "nosuch" }), (err: Error) => {
                assert.ok(err instanceof StackFileError);
                assert.equal(err.message, `no stack file for stack 'nosuch': Pulumi.nosuch.yaml does not exist in ${PROJECT_DIR}; the stacks here are: aws, gcp, onprem`);
                return true;
            });
        });
        it("the stacks listed are the project directory's Pulumi.<stack>.yaml files", () => {
            const dir = tempDir();
            fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), "config: {}\n");
            fs.writeFileSync(path.join(dir, "Pulumi.dev.yml"), "config: {}\n");
            assert.throws(() => readStackConfig({ stack: "prod", projectDir: dir }), {
                message: `no stack file for stack 'prod': Pulumi.prod.yaml does not exist in ${dir}; the stacks here are: dev, staging`,
            });
        });
        it("a --config-file that names no file says so, with the absolute path", () => {
            const missing = path.join("no-such-dir", "Pulumi.x.yaml");
            assert.throws(() => readStackConfig({ stack: "aws", configFile: missing }), (err: Error) => {
                assert.ok(err instanceof StackFileError);
                assert.equal(err.message, `--config-file ${missing}: no such file (${path.resolve(missing)})`);
                assert.doesNotMatch(err.message, /pass --config-file/);
                return true;
            });
        });
        it("a command that resolved --config-file against the user's directory still shows what the user typed", () => {
            const abs = path.join(tempDir(), "Pulumi.x.yaml");
            assert.throws(() => readStackConfig({ stack: "aws", configFile: abs, configFileAsGiven: "Pulumi.x.yaml" }), {
                message: `--config-file Pulumi.x.yaml: no such file (${abs})`,
            });
            assert.throws(() => readStackConfig({ stack: "aws", configFile: abs }), { message: `--config-file ${abs}: no such file` });
        });
        it("a --config-file that is a directory says so", () => {
            const dir = tempDir();
            assert.throws(() => readStackConfig({ stack: "aws", configFile: dir }), { message: `--config-file ${dir}: not a file` });
        });
    });
});

describe("aws: node autoscaling, upgrades, node disk, log retention, admin access entries (issue 15)", () => {
    const aws = (extra: Record<string, string>) => {
        const cfg = parse({ ...AWS, ...extra });
        assert.ok(cfg.platform === "aws");
        return cfg.aws;
    };
    const problems = (extra: Record<string, string>) => lines({ ...AWS, ...extra });

    it("defaults: cluster-autoscaler on, STANDARD support, a third of the nodes at a time, 50 GiB disks, 90 days of logs, no extra admins", () => {
        const a = aws({});
        assert.equal(a.nodes.autoscaling, "cluster-autoscaler");
        assert.equal(a.supportType, "STANDARD");
        assert.equal(a.nodes.maxUnavailablePercent, 33);
        assert.equal(a.nodes.diskGiB, 50);
        assert.equal(a.controlPlaneLogRetentionDays, 90);
        assert.deepEqual(a.adminPrincipalArns, []);
    });
    it("awsNodeAutoscaling: cluster-autoscaler or off, nothing else", () => {
        assert.equal(aws({ "herd:awsNodeAutoscaling": "off" }).nodes.autoscaling, "off");
        assert.deepEqual(problems({ "herd:awsNodeAutoscaling": "karpenter" }), ['herd:awsNodeAutoscaling: expected one of cluster-autoscaler, off, got "karpenter"']);
    });
    it("awsNodeAutoscaling: cluster-autoscaler only for a Kubernetes version herd pins an autoscaler release for", () => {
        assert.equal(aws({ "herd:kubernetesVersion": "1.28" }).nodes.autoscaling, "cluster-autoscaler");
        assert.equal(aws({ "herd:kubernetesVersion": "1.35" }).nodes.autoscaling, "cluster-autoscaler");
        assert.deepEqual(problems({ "herd:kubernetesVersion": "1.37" }), [
            "herd:awsNodeAutoscaling: cluster-autoscaler must match the cluster's Kubernetes minor version: expected herd:kubernetesVersion from 1.28, 1.29, 1.30, 1.31, 1.32, 1.33, 1.34, 1.35 (the releases herd pins), or herd:awsNodeAutoscaling off; got kubernetesVersion 1.37",
        ]);
        assert.equal(aws({ "herd:kubernetesVersion": "1.37", "herd:awsNodeAutoscaling": "off" }).kubernetesVersion, "1.37");
        // A malformed version is reported once, on its own key.
        assert.deepEqual(keysOf(problemsOf({ ...AWS, "herd:kubernetesVersion": "1.3" })), ["herd:kubernetesVersion"]);
    });
    it("awsUpgradeSupportType: STANDARD or EXTENDED", () => {
        assert.equal(aws({ "herd:awsUpgradeSupportType": "EXTENDED" }).supportType, "EXTENDED");
        assert.deepEqual(problems({ "herd:awsUpgradeSupportType": "standard" }), ['herd:awsUpgradeSupportType: expected one of STANDARD, EXTENDED, got "standard"']);
    });
    it("awsNodeMaxUnavailablePercent: 1 to 100", () => {
        assert.equal(aws({ "herd:awsNodeMaxUnavailablePercent": "100" }).nodes.maxUnavailablePercent, 100);
        assert.deepEqual(problems({ "herd:awsNodeMaxUnavailablePercent": "0" }), ["herd:awsNodeMaxUnavailablePercent: expected a whole number from 1 to 100, got 0"]);
        assert.deepEqual(problems({ "herd:awsNodeMaxUnavailablePercent": "33%" }), ['herd:awsNodeMaxUnavailablePercent: expected a whole number, got "33%"']);
    });
    it("awsNodeDiskGiB: at least the AMI's 20 GiB, at most gp3's 16 TiB", () => {
        assert.equal(aws({ "herd:awsNodeDiskGiB": "20" }).nodes.diskGiB, 20);
        assert.deepEqual(problems({ "herd:awsNodeDiskGiB": "10" }), ["herd:awsNodeDiskGiB: expected a whole number from 20 to 16384, got 10"]);
        assert.deepEqual(problems({ "herd:awsNodeDiskGiB": "50Gi" }), ['herd:awsNodeDiskGiB: expected a whole number, got "50Gi"']);
    });
    it("awsControlPlaneLogRetentionDays: only a period CloudWatch accepts, never 'forever'", () => {
        assert.equal(aws({ "herd:awsControlPlaneLogRetentionDays": "731" }).controlPlaneLogRetentionDays, 731);
        const expected = "expected a CloudWatch retention period: one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653";
        assert.deepEqual(problems({ "herd:awsControlPlaneLogRetentionDays": "100" }), [`herd:awsControlPlaneLogRetentionDays: ${expected}, got 100`]);
        assert.deepEqual(problems({ "herd:awsControlPlaneLogRetentionDays": "0" }), [`herd:awsControlPlaneLogRetentionDays: ${expected}, got 0`]);
        assert.deepEqual(problems({ "herd:awsControlPlaneLogRetentionDays": "ninety" }), ['herd:awsControlPlaneLogRetentionDays: expected a whole number, got "ninety"']);
    });
    it("awsAdminPrincipalArns: IAM role and user ARNs, paths allowed", () => {
        const arns = ["arn:aws:iam::123456789012:role/platform-admins", "arn:aws:iam::123456789012:role/teams/ops/OnCall", "arn:aws:iam::210987654321:user/alice"];
        assert.deepEqual(aws({ "herd:awsAdminPrincipalArns": JSON.stringify(arns) }).adminPrincipalArns, arns);
    });
    it("awsAdminPrincipalArns: a session, a group, a malformed ARN or a non-list is refused, naming the entry", () => {
        const wrong = "expected an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admins (not an assumed-role session or a group)";
        for (const arn of [
            "arn:aws:sts::123456789012:assumed-role/admins/alice",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam::12345:role/admins",
            "platform-admins",
        ]) {
            const found = problems({ "herd:awsAdminPrincipalArns": JSON.stringify([arn]) });
            assert.equal(found.length, 1, arn);
            assert.match(found[0], /^herd:awsAdminPrincipalArns/);
            assert.ok(found[0].includes(wrong) && found[0].includes(arn), found[0]);
        }
        assert.deepEqual(keysOf(problemsOf({ ...AWS, "herd:awsAdminPrincipalArns": "arn:aws:iam::123456789012:role/a" })), ["herd:awsAdminPrincipalArns"]);
    });
    it("awsAdminPrincipalArns: each once, and in the region's partition", () => {
        const arn = "arn:aws:iam::123456789012:role/platform-admins";
        assert.deepEqual(problems({ "herd:awsAdminPrincipalArns": JSON.stringify([arn, arn]) }), [
            `herd:awsAdminPrincipalArns: expected each ARN once (one access entry per principal), got ${arn} more than once`,
        ]);
        assert.deepEqual(problems({ "herd:awsAdminPrincipalArns": JSON.stringify(["arn:aws-cn:iam::123456789012:role/a"]) }), [
            "herd:awsAdminPrincipalArns: expected ARNs in partition aws (that of region eu-west-1), got arn:aws-cn:iam::123456789012:role/a",
        ]);
        assert.deepEqual(aws({ "herd:awsRegion": "cn-north-1", "herd:awsAdminPrincipalArns": '["arn:aws-cn:iam::123456789012:role/a"]' }).adminPrincipalArns, ["arn:aws-cn:iam::123456789012:role/a"]);
    });
    it("the new aws keys are refused on other platforms", () => {
        assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:awsNodeAutoscaling": "off" }), [
            'herd:awsNodeAutoscaling: applies only to platform aws, but this stack\'s platform is onprem: expected it removed, got "off"',
        ]);
    });
});

describe("gcp: maintenance window and exclusions, registry cleanup, regional disks (issue 15)", () => {
    const gcpOf = (extra: Record<string, string>) => {
        const cfg = parse({ ...GCP, ...extra });
        assert.ok(cfg.platform === "gcp");
        return cfg.gcp;
    };
    it("defaults: a weekend night window (Saturday and Sunday 00:00-08:00 UTC), no exclusions, 30 images, 7 days, regional disks", () => {
        const g = gcpOf({});
        assert.deepEqual(g.maintenance, { window: { start: "00:00", hours: 8, days: ["SA", "SU"] }, exclusions: [] });
        assert.deepEqual(g.registry, { keepImages: 30, untaggedDays: 7 });
        assert.equal(g.regionalDisks, true);
    });
    it("every key overridden", () => {
        const g = gcpOf({
            "herd:gcpMaintenanceStart": "22:30",
            "herd:gcpMaintenanceHours": "4",
            "herd:gcpMaintenanceDays": '["MO","WE","FR"]',
            "herd:gcpMaintenanceExclusions": '["black-friday,2025-11-27T00:00:00Z,2025-12-02T00:00:00Z,NO_UPGRADES","freeze-1-34,2026-01-01T00:00:00Z,2026-06-30T00:00:00Z,NO_MINOR_UPGRADES"]',
            "herd:gcpRegistryKeepImages": "5",
            "herd:gcpRegistryUntaggedDays": "1",
            "herd:gcpRegionalDisks": "false",
        });
        assert.deepEqual(g.maintenance, {
            window: { start: "22:30", hours: 4, days: ["MO", "WE", "FR"] },
            exclusions: [
                { name: "black-friday", start: "2025-11-27T00:00:00Z", end: "2025-12-02T00:00:00Z", scope: "NO_UPGRADES" },
                { name: "freeze-1-34", start: "2026-01-01T00:00:00Z", end: "2026-06-30T00:00:00Z", scope: "NO_MINOR_UPGRADES" },
            ],
        });
        assert.deepEqual(g.registry, { keepImages: 5, untaggedDays: 1 });
        assert.equal(g.regionalDisks, false);
    });
    it("no window days: no window (GKE may maintain at any time)", () => {
        assert.deepEqual(gcpOf({ "herd:gcpMaintenanceDays": "[]" }).maintenance.window.days, []);
    });
    it("GKE's 48 hours in any 32 days: one day of 8 h is refused, one day of 12 h or four days of 4 h pass", () => {
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceDays": '["SU"]' }), [
            "herd:gcpMaintenanceHours: expected a window that leaves GKE at least 48 hours for maintenance in any 32 days (GKE refuses less): 1 day(s) a week (herd:gcpMaintenanceDays) of 8 h guarantee only 32 h; lengthen the window or add days, got 8",
        ]);
        assert.equal(gcpOf({ "herd:gcpMaintenanceDays": '["SU"]', "herd:gcpMaintenanceHours": "12" }).maintenance.window.hours, 12);
        assert.equal(gcpOf({ "herd:gcpMaintenanceDays": '["MO","TU","WE","TH"]', "herd:gcpMaintenanceHours": "4" }).maintenance.window.days.length, 4);
    });
    it("a window shorter than 4 hours (GKE ignores it) or longer than a day is refused", () => {
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceHours": "3" }), ["herd:gcpMaintenanceHours: expected a whole number from 4 to 24, got 3"]);
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceHours": "25" }), ["herd:gcpMaintenanceHours: expected a whole number from 4 to 24, got 25"]);
    });
    it("a start that is not HH:MM, a day that is not a day, a day given twice", () => {
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceStart": "1am" }), ['herd:gcpMaintenanceStart: expected a time of day HH:MM in UTC, such as 00:00 or 22:30, got "1am"']);
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceStart": "24:00" }), ['herd:gcpMaintenanceStart: expected a time of day HH:MM in UTC, such as 00:00 or 22:30, got "24:00"']);
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceDays": '["SA","Sunday"]' }), [
            'herd:gcpMaintenanceDays[1]: expected one of MO, TU, WE, TH, FR, SA, SU, got "Sunday"',
        ]);
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceDays": '["SA","SU","SA"]' }), [
            'herd:gcpMaintenanceDays: expected each day once, got ["SA","SU","SA"] (SA more than once)',
        ]);
    });
    it("each exclusion: its format, its times in UTC, end after start, its scope, NO_UPGRADES at most 30 days", () => {
        const bad = (entry: string) => lines({ ...GCP, "herd:gcpMaintenanceExclusions": JSON.stringify([entry]) });
        const format = 'expected "name,start,end,scope" such as "black-friday,2025-11-27T00:00:00Z,2025-12-02T00:00:00Z,NO_UPGRADES"';
        assert.deepEqual(bad("black-friday,2025-11-27T00:00:00Z,NO_UPGRADES"), [
            `herd:gcpMaintenanceExclusions[0]: ${format} (4 fields separated by commas), got "black-friday,2025-11-27T00:00:00Z,NO_UPGRADES"`,
        ]);
        assert.deepEqual(bad("Black Friday,2025-11-27T00:00:00Z,2025-12-02T00:00:00Z,NO_UPGRADES"), [
            `herd:gcpMaintenanceExclusions[0]: ${format}: the name in lowercase letters, digits and '-' (at most 63), got "Black Friday,2025-11-27T00:00:00Z,2025-12-02T00:00:00Z,NO_UPGRADES"`,
        ]);
        for (const time of ["2025-11-27T00:00:00+01:00", "2025-11-27", "2025-02-30T00:00:00Z"]) {
            assert.deepEqual(bad(`x,${time},2025-12-02T00:00:00Z,NO_UPGRADES`), [
                `herd:gcpMaintenanceExclusions[0]: ${format}: start and end as RFC 3339 times in UTC, YYYY-MM-DDTHH:MM:SSZ, got "x,${time},2025-12-02T00:00:00Z,NO_UPGRADES"`,
            ]);
        }
        assert.deepEqual(bad("x,2025-12-02T00:00:00Z,2025-11-27T00:00:00Z,NO_UPGRADES"), [
            'herd:gcpMaintenanceExclusions[0]: expected an exclusion whose end comes after its start, got "x,2025-12-02T00:00:00Z,2025-11-27T00:00:00Z,NO_UPGRADES"',
        ]);
        assert.deepEqual(bad("x,2025-11-27T00:00:00Z,2025-12-02T00:00:00Z,NO_PATCHES"), [
            `herd:gcpMaintenanceExclusions[0]: ${format}: the scope one of NO_UPGRADES, NO_MINOR_UPGRADES, NO_MINOR_OR_NODE_UPGRADES, got "x,2025-11-27T00:00:00Z,2025-12-02T00:00:00Z,NO_PATCHES"`,
        ]);
        assert.deepEqual(bad("x,2025-11-01T00:00:00Z,2025-12-15T12:00:00Z,NO_UPGRADES"), [
            'herd:gcpMaintenanceExclusions[0]: expected a NO_UPGRADES exclusion of at most 30 days (GKE\'s limit; NO_MINOR_UPGRADES or NO_MINOR_OR_NODE_UPGRADES may last longer), got "x,2025-11-01T00:00:00Z,2025-12-15T12:00:00Z,NO_UPGRADES" (44.5 days)',
        ]);
        // Exactly 30 days passes; a longer freeze of minor versions passes.
        assert.equal(gcpOf({ "herd:gcpMaintenanceExclusions": '["x,2025-11-01T00:00:00Z,2025-12-01T00:00:00Z,NO_UPGRADES"]' }).maintenance.exclusions.length, 1);
        assert.equal(gcpOf({ "herd:gcpMaintenanceExclusions": '["x,2025-11-01T00:00:00Z,2026-03-01T00:00:00Z,NO_MINOR_OR_NODE_UPGRADES"]' }).maintenance.exclusions.length, 1);
    });
    it("across exclusions: distinct names, at most 3 NO_UPGRADES, and none without a window", () => {
        const entry = (name: string, month: number, scope = "NO_UPGRADES") =>
            `${name},2026-${String(month).padStart(2, "0")}-01T00:00:00Z,2026-${String(month).padStart(2, "0")}-05T00:00:00Z,${scope}`;
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceExclusions": JSON.stringify([entry("a", 1), entry("a", 2)]) }), [
            'herd:gcpMaintenanceExclusions: expected a distinct name for each exclusion (GKE keys them by name), got "a" more than once',
        ]);
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceExclusions": JSON.stringify([entry("a", 1), entry("b", 2), entry("c", 3), entry("d", 4)]) }), [
            "herd:gcpMaintenanceExclusions: expected at most 3 NO_UPGRADES exclusions (GKE's limit on that scope; NO_MINOR_UPGRADES still lets patches through), got 4",
        ]);
        assert.equal(gcpOf({ "herd:gcpMaintenanceExclusions": JSON.stringify([entry("a", 1), entry("b", 2), entry("c", 3), entry("d", 4, "NO_MINOR_UPGRADES")]) }).maintenance.exclusions.length, 4);
        const many = Array.from({ length: 21 }, (_, i) => entry(`m${i}`, (i % 12) + 1, "NO_MINOR_UPGRADES"));
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceExclusions": JSON.stringify(many) }), [
            "herd:gcpMaintenanceExclusions: expected at most 20 exclusions (GKE's limit per cluster), got 21",
        ]);
        assert.deepEqual(lines({ ...GCP, "herd:gcpMaintenanceDays": "[]", "herd:gcpMaintenanceExclusions": JSON.stringify([entry("a", 1)]) }), [
            `herd:gcpMaintenanceExclusions: expected no exclusions while herd:gcpMaintenanceDays is empty (exclusions carve time out of a maintenance window; give the window days), got ${JSON.stringify([entry("a", 1)])}`,
        ]);
    });
    it("registry cleanup and disks: bad values name the key", () => {
        assert.deepEqual(lines({ ...GCP, "herd:gcpRegistryKeepImages": "0" }), ["herd:gcpRegistryKeepImages: expected a whole number from 1 to 1000, got 0"]);
        assert.deepEqual(lines({ ...GCP, "herd:gcpRegistryUntaggedDays": "400" }), ["herd:gcpRegistryUntaggedDays: expected a whole number from 1 to 365, got 400"]);
        assert.deepEqual(lines({ ...GCP, "herd:gcpRegionalDisks": "yes" }), ['herd:gcpRegionalDisks: expected true or false, got "yes"']);
    });
    it("the gcp keys are refused on another platform", () => {
        assert.deepEqual(lines({ ...AWS, "herd:gcpRegionalDisks": "false" }), [
            `herd:gcpRegionalDisks: applies only to platform gcp, but this stack's platform is aws: expected it removed, got "false"`,
        ]);
    });
});

describe("HTTPS on aws and gcp, and HSTS (issue 15)", () => {
    const ZONE = "Z0123456789ABCDEFGHIJ";
    const ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
    const HOST = { "herd:publicHostname": "shop.example.com" };

    it("defaults: no host name, no HTTPS on either cloud; HSTS a year wherever the site is HTTPS", () => {
        const aws = parse(AWS);
        assert.equal(aws.platform === "aws" && aws.aws.https, undefined);
        const gcp = parse(GCP);
        assert.equal(gcp.platform === "gcp" && gcp.gcp.https, undefined);
        assert.equal(aws.app.hstsMaxAgeSeconds, 31536000);
        assert.equal(parse({ ...AWS, "herd:hstsMaxAgeSeconds": "0" }).app.hstsMaxAgeSeconds, 0);
    });
    it("aws: a host name with a hosted zone (herd requests the certificate) or an existing certificate's ARN", () => {
        const zone = parse({ ...AWS, ...HOST, "herd:awsHostedZoneId": ZONE });
        assert.deepEqual(zone.platform === "aws" && zone.aws.https, { hostname: "shop.example.com", certificate: { mode: "dns", hostedZoneId: ZONE } });
        const arn = parse({ ...AWS, ...HOST, "herd:awsCertificateArn": ARN });
        assert.deepEqual(arn.platform === "aws" && arn.aws.https, { hostname: "shop.example.com", certificate: { mode: "arn", arn: ARN } });
    });
    it("aws: a host name needs exactly one certificate source, and neither means anything without a host", () => {
        assert.deepEqual(lines({ ...AWS, ...HOST }), [
            "herd:publicHostname: on aws a host name is served over HTTPS: expected herd:awsHostedZoneId (the Route 53 zone of shop.example.com, where herd validates an ACM certificate) or herd:awsCertificateArn (an issued ACM certificate for it), got neither",
        ]);
        assert.deepEqual(lines({ ...AWS, ...HOST, "herd:awsHostedZoneId": ZONE, "herd:awsCertificateArn": ARN }), [
            "herd:awsCertificateArn: expected either herd:awsHostedZoneId (herd requests the certificate) or herd:awsCertificateArn (yours), not both; got both",
        ]);
        assert.deepEqual(lines({ ...AWS, "herd:awsHostedZoneId": ZONE }), [
            `herd:awsHostedZoneId: expected herd:publicHostname set as well (the certificate is for that host), got "${ZONE}" without a host name`,
        ]);
        assert.deepEqual(lines({ ...AWS, "herd:awsCertificateArn": ARN }), [
            `herd:awsCertificateArn: expected herd:publicHostname set as well (the certificate is for that host), got "${ARN}" without a host name`,
        ]);
    });
    it("aws: the certificate must be in the stack's region (a load balancer uses only its own region's)", () => {
        assert.deepEqual(lines({ ...AWS, ...HOST, "herd:awsCertificateArn": ARN.replace("eu-west-1", "us-east-1") }), [
            "herd:awsCertificateArn: expected a certificate in the stack's region eu-west-1 (a load balancer uses only certificates of its own region), got one in us-east-1",
        ]);
    });
    it("aws: malformed zone ids and ARNs name the key, what was expected and what was given", () => {
        assert.deepEqual(lines({ ...AWS, ...HOST, "herd:awsHostedZoneId": "example.com" }), [
            'herd:awsHostedZoneId: expected a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ (Z and upper-case letters or digits), got "example.com"',
        ]);
        assert.deepEqual(lines({ ...AWS, ...HOST, "herd:awsCertificateArn": "arn:aws:iam::123456789012:server-certificate/shop" }), [
            'herd:awsCertificateArn: expected an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>, got "arn:aws:iam::123456789012:server-certificate/shop"',
        ]);
    });
    it("gcp: a host name turns HTTPS on; the DNS zone is optional, and refused without a host", () => {
        const plain = parse({ ...GCP, ...HOST });
        assert.deepEqual(plain.platform === "gcp" && plain.gcp.https, { hostname: "shop.example.com", dnsZone: undefined });
        const zoned = parse({ ...GCP, ...HOST, "herd:gcpDnsZone": "example-com" });
        assert.deepEqual(zoned.platform === "gcp" && zoned.gcp.https, { hostname: "shop.example.com", dnsZone: "example-com" });
        assert.deepEqual(lines({ ...GCP, "herd:gcpDnsZone": "example-com" }), [
            'herd:gcpDnsZone: expected herd:publicHostname set as well (the zone gets that host\'s record), got "example-com" without a host name',
        ]);
        assert.deepEqual(lines({ ...GCP, ...HOST, "herd:gcpDnsZone": "example.com." }), [
            'herd:gcpDnsZone: expected a Cloud DNS managed zone name (1-63 lower-case letters, digits, \'-\', starting with a letter), got "example.com."',
        ]);
    });
    it("the cloud keys are refused on another platform", () => {
        assert.deepEqual(lines({ ...GCP, ...HOST, "herd:awsHostedZoneId": ZONE }), [
            `herd:awsHostedZoneId: applies only to platform aws, but this stack's platform is gcp: expected it removed, got "${ZONE}"`,
        ]);
        assert.deepEqual(lines({ ...AWS, ...HOST, "herd:awsHostedZoneId": ZONE, "herd:gcpDnsZone": "example-com" }), [
            `herd:gcpDnsZone: applies only to platform gcp, but this stack's platform is aws: expected it removed, got "example-com"`,
        ]);
    });
    it("the certificate keys of onprem are refused on gcp, pointing at publicHostname", () => {
        assert.deepEqual(lines({ ...GCP, ...HOST, "herd:tlsClusterIssuer": "letsencrypt" }), [
            'herd:tlsClusterIssuer: expected no certificate key on platform gcp (onprem only): on gcp, herd:publicHostname turns HTTPS on with a certificate the cloud manages; got "letsencrypt"',
        ]);
    });
    it("hstsMaxAgeSeconds: a whole number of seconds from 0 to two years", () => {
        assert.deepEqual(lines({ ...AWS, "herd:hstsMaxAgeSeconds": "-1" }), ["herd:hstsMaxAgeSeconds: expected a whole number from 0 to 63072000, got -1"]);
        assert.deepEqual(lines({ ...AWS, "herd:hstsMaxAgeSeconds": "1y" }), ['herd:hstsMaxAgeSeconds: expected a whole number, got "1y"']);
    });
});

describe("imageRegistryMirror (air-gapped installs, issue 16)", () => {
    it("defaults to off on every platform; a registry location is taken as given, on every platform", () => {
        assert.equal(parse({ ...MINIMAL_ONPREM }).imageRegistryMirror, undefined);
        for (const base of [MINIMAL_ONPREM, AWS, GCP]) {
            const cfg = parse({ ...base, "herd:imageRegistryMirror": "registry.customer.internal:5000/mirror" });
            assert.equal(cfg.imageRegistryMirror, "registry.customer.internal:5000/mirror", cfg.platform);
        }
        const aws = parse({ ...AWS, "herd:imageRegistryMirror": "mirror.internal" });
        // The aws add-ons (a Helm release's values) read it from the platform's settings.
        assert.equal(aws.platform === "aws" && aws.aws.imageRegistryMirror, "mirror.internal");
    });
    it("a scheme, a tag or upper case is refused, naming the key, what was expected and what was given", () => {
        for (const bad of ["https://registry.customer.internal/mirror", "registry.customer.internal/mirror:1", "Registry.Internal/mirror"]) {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:imageRegistryMirror": bad }), [
                `herd:imageRegistryMirror: expected a registry location such as registry.example.com:5000/herd (host[:port][/path], no scheme or tag), got ${JSON.stringify(bad)}`,
            ]);
        }
    });
});

describe("metrics and alerts (issue 16)", () => {
    it("default on every platform: metrics on, annotations (no Operator), namespace monitoring, 5% and 1000 ms, README.md", () => {
        for (const base of [MINIMAL_ONPREM, AWS, GCP]) {
            assert.deepEqual(parse({ ...base }).monitoring, {
                enabled: true,
                prometheusOperator: false,
                namespace: "monitoring",
                alerts: { api5xxPercent: 5, apiLatencyP95Ms: 1000, runbookUrl: "README.md" },
            });
        }
    });
    it("every key overrides its default", () => {
        const cfg = parse({
            ...MINIMAL_ONPREM,
            "herd:metrics": "false",
            "herd:prometheusOperator": "true",
            "herd:monitoringNamespace": "observability",
            "herd:alertApi5xxPercent": "2",
            "herd:alertApiLatencyMs": "250",
            "herd:alertRunbookUrl": "https://git.example.com/ops/herd/-/blob/main/README.md",
        });
        assert.deepEqual(cfg.monitoring, {
            enabled: false,
            prometheusOperator: true,
            namespace: "observability",
            alerts: { api5xxPercent: 2, apiLatencyP95Ms: 250, runbookUrl: "https://git.example.com/ops/herd/-/blob/main/README.md" },
        });
    });
    it("a bad value is refused, naming the key, what was expected and what was given", () => {
        const cases: [string, string, string][] = [
            ["herd:metrics", "maybe", 'herd:metrics: expected true or false, got "maybe"'],
            ["herd:prometheusOperator", "1", 'herd:prometheusOperator: expected true or false, got "1"'],
            ["herd:monitoringNamespace", "Monitoring", "herd:monitoringNamespace: expected a namespace name: lowercase letters, digits and '-', starting and ending alphanumeric, got \"Monitoring\""],
            ["herd:alertApi5xxPercent", "0", "herd:alertApi5xxPercent: expected a whole number from 1 to 100, got 0"],
            ["herd:alertApi5xxPercent", "5.5", "herd:alertApi5xxPercent: expected a whole number, got 5.5"],
            ["herd:alertApiLatencyMs", "5", "herd:alertApiLatencyMs: expected a whole number from 10 to 30000, got 5"],
            ["herd:alertRunbookUrl", "my runbook", 'herd:alertRunbookUrl: expected a URL or path without spaces, got "my runbook"'],
        ];
        for (const [key, value, expected] of cases) {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, [key]: value }), [expected], `${key}=${value}`);
        }
    });
});

describe("sign-in, rate limits and trusted proxies (issue 17)", () => {
    it("defaults: user admin, 12-hour sessions, public reads, 20/s with a burst of 40, 10 sign-ins a minute, the platform's proxies", () => {
        const app = parse({ ...MINIMAL_ONPREM }).app;
        assert.deepEqual(app.auth, { adminUsername: "admin", sessionHours: 12, readsRequireSignIn: false });
        assert.deepEqual(app.rateLimits, { apiPerSecond: 20, apiBurst: 40, loginPerMinute: 10 });
        assert.equal(app.trustedProxyCidrs, undefined, "unset: the platform's exposure decides");
    });
    it("every key overrides its default; [none] trusts no proxy", () => {
        const app = parse({
            ...MINIMAL_ONPREM,
            "herd:adminUsername": "ops@example.com",
            "herd:apiSessionHours": "168",
            "herd:apiReadsRequireSignIn": "true",
            "herd:apiRateLimitPerSecond": "5",
            "herd:apiRateLimitBurst": "0",
            "herd:loginRateLimitPerMinute": "3",
            "herd:trustedProxyCidrs": '["10.20.0.0/16","192.0.2.7/32"]',
        }).app;
        assert.deepEqual(app.auth, { adminUsername: "ops@example.com", sessionHours: 168, readsRequireSignIn: true });
        assert.deepEqual(app.rateLimits, { apiPerSecond: 5, apiBurst: 0, loginPerMinute: 3 });
        assert.deepEqual(app.trustedProxyCidrs, ["10.20.0.0/16", "192.0.2.7/32"]);
        assert.deepEqual(parse({ ...MINIMAL_ONPREM, "herd:trustedProxyCidrs": '["none"]' }).app.trustedProxyCidrs, []);
        assert.equal(parse({ ...MINIMAL_ONPREM, "herd:trustedProxyCidrs": "[]" }).app.trustedProxyCidrs, undefined);
    });
    it("a bad value is refused, naming the key, what was expected and what was given", () => {
        const cases: [string, string, string][] = [
            ["herd:adminUsername", "ad:min", "herd:adminUsername: expected a user name of 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit, got \"ad:min\""],
            ["herd:adminUsername", "", "herd:adminUsername: expected a user name of 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit, got \"\""],
            ["herd:apiSessionHours", "0", "herd:apiSessionHours: expected a whole number from 1 to 168, got 0"],
            ["herd:apiSessionHours", "169", "herd:apiSessionHours: expected a whole number from 1 to 168, got 169"],
            ["herd:apiReadsRequireSignIn", "yes", 'herd:apiReadsRequireSignIn: expected true or false, got "yes"'],
            ["herd:apiRateLimitPerSecond", "0", "herd:apiRateLimitPerSecond: expected a whole number from 1 to 10000, got 0"],
            ["herd:apiRateLimitPerSecond", "10001", "herd:apiRateLimitPerSecond: expected a whole number from 1 to 10000, got 10001"],
            ["herd:apiRateLimitBurst", "-1", "herd:apiRateLimitBurst: expected a whole number from 0 to 100000, got -1"],
            ["herd:loginRateLimitPerMinute", "0", "herd:loginRateLimitPerMinute: expected a whole number from 1 to 1000, got 0"],
            ["herd:trustedProxyCidrs", '["10.0.0.1/8"]', 'herd:trustedProxyCidrs[0]: expected a CIDR block with its host bits clear (did you mean 10.0.0.0/8?), or none alone to trust no proxy, got "10.0.0.1/8"'],
            ["herd:trustedProxyCidrs", '["10.0.0.0/8","proxy.example.com"]', 'herd:trustedProxyCidrs[1]: expected an IPv4 CIDR block such as 10.0.0.0/16, or none alone to trust no proxy, got "proxy.example.com"'],
        ];
        for (const [key, value, expected] of cases) {
            assert.deepEqual(lines({ ...MINIMAL_ONPREM, [key]: value }), [expected], `${key}=${value}`);
        }
        assert.deepEqual(lines({ ...MINIMAL_ONPREM, "herd:trustedProxyCidrs": '["none","10.0.0.0/8"]' }), [
            'herd:trustedProxyCidrs: expected either CIDR blocks or none alone (trust no proxy), not both, got ["none","10.0.0.0/8"]',
        ]);
    });
});

describe("network policy keys (DNS pods, ingress controller, backup store addresses)", () => {
    const S3 = { "herd:backupBucket": "herd-backups", "herd:backupCredentialsSecret": "herd-backup-s3" };
    it("defaults: kube-dns in kube-system on 53, the ingress-nginx namespace, no store CIDRs", () => {
        const cfg = parse({ ...MINIMAL_ONPREM, ...S3 });
        assert.deepEqual(cfg.clusterDns, { namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" }, port: 53 });
        assert.ok(cfg.platform === "onprem");
        assert.equal(cfg.onprem.ingressControllerNamespace, "ingress-nginx");
        assert.deepEqual(cfg.onprem.backup.mode === "s3" ? cfg.onprem.backup.endpointCidrs : undefined, []);
    });
    it("every key overrides its default (OpenShift's DNS; another controller; the store's blocks)", () => {
        const cfg = parse({
            ...MINIMAL_ONPREM,
            ...S3,
            "herd:dnsNamespace": "openshift-dns",
            "herd:dnsPodLabels": '["dns.operator.openshift.io/daemonset-dns=default"]',
            "herd:dnsPort": "5353",
            "herd:ingressClass": "traefik",
            "herd:publicHostname": "herd.example.com",
            "herd:ingressControllerNamespace": "traefik",
            "herd:backupEndpointCidrs": '["192.0.2.0/28","198.51.100.9/32"]',
        });
        assert.deepEqual(cfg.clusterDns, { namespace: "openshift-dns", podLabels: { "dns.operator.openshift.io/daemonset-dns": "default" }, port: 5353 });
        assert.ok(cfg.platform === "onprem");
        assert.equal(cfg.onprem.ingressControllerNamespace, "traefik");
        assert.deepEqual(cfg.onprem.backup.mode === "s3" ? cfg.onprem.backup.endpointCidrs : undefined, ["192.0.2.0/28", "198.51.100.9/32"]);
    });
    it("a bad value is refused, naming the key, what was expected and what was given", () => {
        const cases: [Record<string, string>, string][] = [
            [{ "herd:dnsNamespace": "Kube_System" }, 'herd:dnsNamespace: expected a namespace name'],
            [{ "herd:dnsPodLabels": '["k8s-app"]' }, 'herd:dnsPodLabels[0]: expected a Kubernetes label as key=value, e.g. k8s-app=kube-dns, got "k8s-app"'],
            [{ "herd:dnsPodLabels": "[]" }, "herd:dnsPodLabels: expected at least one label=value (none would let DNS queries go to every pod of dnsNamespace), got []"],
            [{ "herd:dnsPort": "0" }, "herd:dnsPort: expected a whole number from 1 to 65535, got 0"],
            [{ "herd:dnsPort": "70000" }, "herd:dnsPort: expected a whole number from 1 to 65535, got 70000"],
            [{ "herd:ingressControllerNamespace": "traefik" }, 'herd:ingressControllerNamespace: only used with herd:ingressClass (a LoadBalancer Service is reached from outside the cluster): expected it unset without an ingress class, got "traefik"'],
            [{ ...S3, "herd:backupEndpointCidrs": '["192.0.2.1/24"]' }, 'herd:backupEndpointCidrs[0]: expected a CIDR block with its host bits clear (did you mean 192.0.2.0/24?), got "192.0.2.1/24"'],
            [{ ...S3, "herd:backupEndpointCidrs": '["0.0.0.0/0"]' }, 'herd:backupEndpointCidrs[0]: expected the store\'s own addresses, not every address (/0), got "0.0.0.0/0"'],
            [{ "herd:backupEndpointCidrs": '["192.0.2.0/24"]' }, 'herd:backupEndpointCidrs: only used with herd:backupBucket (the store backups go to): expected it unset without a bucket, got ["192.0.2.0/24"]'],
        ];
        for (const [values, expected] of cases) {
            const got = lines({ ...MINIMAL_ONPREM, ...values });
            assert.equal(got.length, 1, `${JSON.stringify(values)}: ${got.join(" | ")}`);
            assert.ok(got[0].startsWith(expected), `${JSON.stringify(values)}: ${got[0]}`);
        }
    });
});
