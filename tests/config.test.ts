/**
 * Every config rule: defaults, overrides, each validation error naming its key, all problems in one error, unknown
 * keys with suggestions, and secrets that stay secret.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, editDistance, KEYS, KEY_NAMES } from "../config";
import { inspect, keysOf, MINIMAL_ONPREM, parse, problemsOf } from "./helpers";

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
    it("an S3 backup store defaults to region us-east-1 and AWS's own endpoint", () => {
        const o = onprem({ "herd:backupBucket": "herd-backups", "herd:backupCredentialsSecret": "s3-creds" });
        assert.deepEqual(o.backup, { mode: "s3", bucket: "herd-backups", endpoint: undefined, region: "us-east-1", credentialsSecret: "s3-creds" });
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

describe("data tier", () => {
    it("defaults: protected, nightly backups kept 30 days, production-sized servers", () => {
        assert.deepEqual(parse({ ...MINIMAL_ONPREM }).data, {
            protect: true,
            backup: { schedule: "0 3 * * *", retentionDays: 30, volumeSize: "50Gi" },
            postgres: { storageSize: "20Gi", memory: "2Gi", cpu: "500m", maxConnections: 100 },
            redis: { storageSize: "5Gi", memory: "512Mi", cpu: "250m", evictionPolicy: "allkeys-lru", appendOnly: true },
            elastic: { replicas: 3, storageSize: "30Gi", memory: "2Gi", cpu: "1" },
        });
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
            backup: { schedule: "*/30 1-5 * * 1,3,5", retentionDays: 7, volumeSize: "200Gi" },
            postgres: { storageSize: "100Gi", memory: "8Gi", cpu: "2", maxConnections: 300 },
            redis: { storageSize: "1Gi", memory: "256Mi", cpu: "100m", evictionPolicy: "volatile-ttl", appendOnly: false },
            elastic: { replicas: 1, storageSize: "10Gi", memory: "1Gi", cpu: "500m" },
        });
    });
    it("cron macros are accepted", () => {
        assert.equal(parse({ ...MINIMAL_ONPREM, "herd:backupSchedule": "@daily" }).data.backup.schedule, "@daily");
    });
});

describe("app tier", () => {
    it("defaults: two API pods scaling to six at 70% CPU, two front-end pods, no host name, no TLS", () => {
        assert.deepEqual(parse({ ...MINIMAL_ONPREM }).app, {
            api: { replicas: 2, maxReplicas: 6, cpuTargetPercent: 70, cpu: "250m", memory: "768Mi" },
            frontend: { replicas: 2 },
            publicHostname: undefined,
            tls: { mode: "none" },
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
        const o = parse({ "herd:platform": "onprem", "herd:storageClass": "x", "herd:apiImage": api, "herd:frontendImage": "registry.example.com/herd/frontend:1.4.2" });
        assert.ok(o.platform === "onprem");
        assert.deepEqual(o.onprem.images, { mode: "prebuilt", api, frontend: "registry.example.com/herd/frontend:1.4.2" });
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
        assert.deepEqual(o.backup, { mode: "s3", bucket: "herd-backups", endpoint: "https://minio.example.com", region: "eu-central-1", credentialsSecret: "backup-s3" });
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
            nodes: { instanceType: "m6i.large", min: 3, desired: 3, max: 6 },
            ecrKeepImages: 30,
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
            "herd:ecrKeepImages": "5",
        });
        assert.deepEqual(aws.platform === "aws" && aws.aws, {
            region: "us-east-2",
            kubernetesVersion: "1.32",
            apiAccessCidrs: ["203.0.113.0/24"],
            zoneCount: 2,
            vpcCidr: "10.50.0.0/16",
            natGateways: "single",
            nodes: { instanceType: "t3.xlarge", min: 2, desired: 4, max: 10 },
            ecrKeepImages: 5,
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
        { name: "storage class name invalid", values: { ...MINIMAL_ONPREM, "herd:storageClass": "Fast SSD" }, key: "herd:storageClass", expected: /StorageClass name.*got "Fast SSD"/ },
        { name: "storageParameters not a list", values: { ...MINIMAL_ONPREM, "herd:storageProvisioner": "p.example.com", "herd:storageParameters": "numberOfReplicas=3" }, key: "herd:storageParameters", expected: /expected a list of strings/ },
        { name: "storageParameters item not key=value", values: { ...MINIMAL_ONPREM, "herd:storageProvisioner": "p.example.com", "herd:storageParameters": '["ok=1","broken"]' }, key: "herd:storageParameters[1]", expected: /expected key=value, got "broken"/ },
        { name: "storageParameters item not a string", values: { ...MINIMAL_ONPREM, "herd:storageProvisioner": "p.example.com", "herd:storageParameters": "[3]" }, key: "herd:storageParameters[0]", expected: /expected a string, got 3/ },
        { name: "registry with a scheme", values: { ...MINIMAL_ONPREM, "herd:registry": "https://registry.example.com" }, key: "herd:registry", expected: /no scheme.*got "https:\/\/registry.example.com"/ },
        { name: "prebuilt image tagged latest", values: { "herd:platform": "onprem", "herd:storageClass": "x", "herd:apiImage": "registry.example.com/herd/api:latest", "herd:frontendImage": "registry.example.com/herd/frontend:1.0" }, key: "herd:apiImage", expected: /pinned|registry and path/ },
        { name: "prebuilt image untagged", values: { "herd:platform": "onprem", "herd:storageClass": "x", "herd:apiImage": "registry.example.com/herd/api:1.0", "herd:frontendImage": "registry.example.com/herd/frontend" }, key: "herd:frontendImage", expected: /pinned by tag or digest/ },
        { name: "only one prebuilt image", values: { "herd:platform": "onprem", "herd:storageClass": "x", "herd:apiImage": "registry.example.com/herd/api:1.0" }, key: "herd:frontendImage", expected: /both herd:apiImage and herd:frontendImage/ },
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
        { name: "fewer than 2 zones", values: { ...AWS, "herd:awsZoneCount": "1" }, key: "herd:awsZoneCount", expected: /from 2 to 6, got "1"/ },
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
        { name: "malformed cron: fields", values: { ...MINIMAL_ONPREM, "herd:backupSchedule": "0 3 * *" }, key: "herd:backupSchedule", expected: /5 fields.*got 4 fields/ },
        { name: "malformed cron: range", values: { ...MINIMAL_ONPREM, "herd:backupSchedule": "0 25 * * *" }, key: "herd:backupSchedule", expected: /the hour field "25" is not valid/ },
        { name: "malformed cron: text", values: { ...MINIMAL_ONPREM, "herd:backupSchedule": "every night" }, key: "herd:backupSchedule", expected: /cron schedule/ },
        { name: "unknown eviction policy", values: { ...MINIMAL_ONPREM, "herd:redisEvictionPolicy": "lru" }, key: "herd:redisEvictionPolicy", expected: /one of noeviction, allkeys-lru.*got "lru"/ },
        { name: "zero Elasticsearch nodes", values: { ...MINIMAL_ONPREM, "herd:elasticReplicas": "0" }, key: "herd:elasticReplicas", expected: /from 1 to 15/ },
        { name: "two Elasticsearch nodes", values: { ...MINIMAL_ONPREM, "herd:elasticReplicas": "2" }, key: "herd:elasticReplicas", expected: /losing either one stops the cluster/ },
        { name: "max_connections too low", values: { ...MINIMAL_ONPREM, "herd:postgresMaxConnections": "5" }, key: "herd:postgresMaxConnections", expected: /from 10 to 5000/ },
        { name: "protectData not a boolean", values: { ...MINIMAL_ONPREM, "herd:protectData": "no" }, key: "herd:protectData", expected: /true or false/ },
        { name: "autoscaler ceiling below the floor", values: { ...MINIMAL_ONPREM, "herd:apiReplicas": "4", "herd:apiMaxReplicas": "2" }, key: "herd:apiMaxReplicas", expected: /at least herd:apiReplicas \(4\), got 2/ },
        { name: "a certificate without an Ingress to terminate it", values: { "herd:platform": "aws", "herd:awsRegion": "eu-west-1", "herd:publicHostname": "a.example.com", "herd:tlsSecretName": "t" }, key: "herd:tlsSecretName", expected: /needs an Ingress to terminate TLS/ },
        { name: "both a TLS Secret and an issuer", values: { ...MINIMAL_ONPREM, "herd:ingressClass": "nginx", "herd:publicHostname": "a.example.com", "herd:tlsSecretName": "t", "herd:tlsClusterIssuer": "i" }, key: "herd:tlsClusterIssuer", expected: /not both/ },
        { name: "a certificate without a host name", values: { ...MINIMAL_ONPREM, "herd:tlsSecretName": "t" }, key: "herd:publicHostname", expected: /required with herd:tlsSecretName/ },
        { name: "an ingress class without a host name", values: { ...MINIMAL_ONPREM, "herd:ingressClass": "nginx" }, key: "herd:publicHostname", expected: /required with herd:ingressClass/ },
        { name: "host name not a DNS name", values: { ...MINIMAL_ONPREM, "herd:publicHostname": "https://shop" }, key: "herd:publicHostname", expected: /host name/ },
        { name: "API memory too small", values: { ...MINIMAL_ONPREM, "herd:apiMemory": "64Mi" }, key: "herd:apiMemory", expected: /at least 128Mi/ },
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
