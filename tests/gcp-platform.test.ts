/**
 * The GCP platform, evaluated through the whole program under mocks (Pulumi.gcp.yaml and config variants), plus its
 * pure pieces (names, control-plane access, the kubeconfig) tested directly. Each test asserts a property that
 * matters on the recorded inputs and options, not a snapshot.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { KEYS, parseConfig } from "../config";
import { GcpPlatform } from "../platform/gcp";
import { BACKUP_BUCKET_ROLES, GCLOUD_IMAGE, REPOSITORY_ROLE, repositoryCondition } from "../platform/gcp/backups";
import { controlPlaneAccess, gkeKubeconfig, maintenancePolicy, NODE_PROJECT_ROLES } from "../platform/gcp/cluster";
import { registryCleanupPolicies } from "../platform/gcp/registry";
import { gkeStorageClassArgs } from "../platform/gcp/storage";
import { guaranteedAvailabilityHours, recurringWindow } from "../config/gcp-maintenance";
import { gcpId, serviceAccountId } from "../platform/gcp/common";
import type { IdentityBinding, Platform } from "../platform/contract";
import { evaluateStack, evaluateUnderMocks, Evaluation, RecordedResource } from "../offline/evaluate";
import { buildManifests } from "../offline/manifests";
import { ProviderPlacements, RecordingMocks } from "../offline/mocks";
import { gcpState as answerGcp } from "../offline/mocks-gcp";
import { inspect, runCommand, tempDir, writeStackFile } from "./helpers";

type Inputs = Record<string, unknown>;

const BASE = {
    "herd:platform": "gcp",
    "herd:gcpProject": "acme-test-1234",
    "herd:gcpRegion": "us-central1",
    "herd:apiAccessCidrs": ["198.51.100.0/24"],
};

/** The stack file's project and region (Pulumi.gcp.yaml). */
const PROJECT = "acme-herd-prod";
const REGION = "europe-west1";
const NODE_SA_EMAIL = `herd-gcp-nodes@${PROJECT}.iam.gserviceaccount.com`;

let stackEvaluation: Promise<Evaluation> | undefined;
/** Pulumi.gcp.yaml, evaluated once and shared by the tests that read it. */
function gcpStack(): Promise<Evaluation> {
    stackEvaluation ??= evaluateStack({ stack: "gcp" });
    return stackEvaluation;
}

async function evaluate(config: Record<string, unknown>): Promise<Evaluation> {
    await gcpStack().catch(() => undefined); // one evaluation at a time per process
    return evaluateStack({ stack: "test", configFile: writeStackFile(config) });
}

function all(e: Evaluation, type: string): RecordedResource[] {
    return e.resources.filter((r) => r.type === type);
}

function one(e: Evaluation, type: string, name?: string): RecordedResource {
    const found = all(e, type).filter((r) => name === undefined || r.name === name);
    assert.equal(found.length, 1, `expected one ${type}${name === undefined ? "" : ` named ${name}`}, found ${found.length}`);
    return found[0];
}

/** A nested input, e.g. at(cluster, "privateClusterConfig", "enablePrivateNodes"). */
function at(r: RecordedResource | Inputs, ...keys: string[]): unknown {
    let v: unknown = "inputs" in r && "type" in r ? (r as RecordedResource).inputs : r;
    for (const k of keys) {
        v = (v as Inputs | undefined)?.[k];
    }
    return v;
}

/** Provider inputs reach the engine as strings (JSON for structured values). */
function providerInput(r: RecordedResource, key: string): unknown {
    const v = r.inputs[key];
    if (typeof v !== "string") {
        return v;
    }
    try {
        return JSON.parse(v) as unknown;
    } catch {
        return v;
    }
}

const CLUSTER = "gcp:container/cluster:Cluster";
const NODE_POOL = "gcp:container/nodePool:NodePool";
const ACCOUNT = "gcp:serviceaccount/account:Account";
const PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember";
const BUCKET = "gcp:storage/bucket:Bucket";
const BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember";
const SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember";
const STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass";
const STORAGE_CLASS_PATCH = "kubernetes:storage.k8s.io/v1:StorageClassPatch";

describe("gcp stack: provider, names and parents", () => {
    it("builds one GcpPlatform component named gcp", async () => {
        const component = one(await gcpStack(), "herd:index:GcpPlatform");
        assert.equal(component.name, "gcp");
        assert.equal(component.parent, null);
    });
    it("has one explicit GCP provider with the configured project and region, and default labels", async () => {
        const provider = one(await gcpStack(), "pulumi:providers:gcp");
        assert.equal(provider.name, "gcp-provider");
        assert.equal(provider.parent, "gcp");
        assert.equal(provider.inputs["project"], PROJECT);
        assert.equal(provider.inputs["region"], REGION);
        assert.deepEqual(providerInput(provider, "defaultLabels"), { "part-of": "herd", "managed-by": "pulumi", stack: "gcp" });
    });
    it("creates every GCP resource with that provider, never ambient config", async () => {
        const e = await gcpStack();
        const cloud = e.resources.filter((r) => r.type.startsWith("gcp:"));
        assert.ok(cloud.length >= 10);
        for (const r of cloud) {
            assert.equal(r.options.provider, "gcp-provider", `${r.type} ${r.name}`);
        }
    });
    it("names every child gcp-<role> under the component, each once (stable names: nothing is replaced needlessly)", async () => {
        const e = await gcpStack();
        const platform = e.resources.filter((r) => r.parent === "gcp");
        assert.deepEqual(platform.map((r) => `${r.type}::${r.name}`).sort(), [
            "gcp:artifactregistry/repository:Repository::gcp-registry",
            "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember::gcp-node-sa-registry-reader",
            "gcp:compute/globalAddress:GlobalAddress::gcp-https-address",
            "gcp:compute/network:Network::gcp-network",
            "gcp:compute/route:Route::gcp-private-google-apis",
            "gcp:compute/router:Router::gcp-router",
            "gcp:compute/routerNat:RouterNat::gcp-nat",
            "gcp:compute/sSLPolicy:SSLPolicy::gcp-https-ssl-policy",
            "gcp:compute/subnetwork:Subnetwork::gcp-subnet",
            "gcp:container/cluster:Cluster::gcp-cluster",
            "gcp:container/nodePool:NodePool::gcp-nodes",
            "gcp:dns/managedZone:ManagedZone::gcp-googleapis",
            "gcp:dns/recordSet:RecordSet::gcp-googleapis-private",
            "gcp:dns/recordSet:RecordSet::gcp-googleapis-wildcard",
            "gcp:dns/recordSet:RecordSet::gcp-https-record",
            "gcp:projects/iAMMember:IAMMember::gcp-node-sa-container-default-node-service-account",
            "gcp:serviceaccount/account:Account::gcp-node-sa",
            "gcp:storage/bucket:Bucket::gcp-backups",
            "kubernetes:storage.k8s.io/v1:StorageClass::gcp-storage",
            "kubernetes:storage.k8s.io/v1:StorageClassPatch::gcp-gke-default-storage",
            "pulumi:providers:gcp::gcp-provider",
            "pulumi:providers:kubernetes::gcp-k8s",
        ]);
        const keys = e.resources.map((r) => `${r.type}::${r.name}`);
        assert.equal(new Set(keys).size, keys.length, "duplicate resources");
    });
});

describe("gcp network", () => {
    it("is a custom-mode VPC with one regional subnet: node, pod and Service ranges from config, private Google access", async () => {
        const e = await evaluate({
            ...BASE,
            "herd:gcpSubnetCidr": "10.50.0.0/20",
            "herd:gcpPodsCidr": "10.64.0.0/14",
            "herd:gcpServicesCidr": "10.68.0.0/20",
        });
        const network = one(e, "gcp:compute/network:Network");
        assert.equal(network.inputs["autoCreateSubnetworks"], false);
        const subnet = one(e, "gcp:compute/subnetwork:Subnetwork");
        assert.equal(subnet.inputs["region"], "us-central1");
        assert.match(String(subnet.inputs["network"]), /^projects\/acme-test-1234\/global\/networks\/gcp-network-/);
        assert.equal(subnet.inputs["ipCidrRange"], "10.50.0.0/20");
        assert.deepEqual(subnet.inputs["secondaryIpRanges"], [
            { rangeName: "pods", ipCidrRange: "10.64.0.0/14" },
            { rangeName: "services", ipCidrRange: "10.68.0.0/20" },
        ]);
        assert.equal(subnet.inputs["privateIpGoogleAccess"], true);
    });
    it("gives private nodes egress through Cloud NAT on a Cloud Router, for herd's subnet (all its ranges), logging errors", async () => {
        const e = await gcpStack();
        const router = one(e, "gcp:compute/router:Router");
        assert.equal(router.inputs["region"], REGION);
        assert.equal(router.inputs["network"], at(one(e, "gcp:compute/subnetwork:Subnetwork"), "network"));
        const nat = one(e, "gcp:compute/routerNat:RouterNat");
        assert.match(String(nat.inputs["router"]), /^gcp-router-/);
        assert.equal(nat.inputs["region"], REGION);
        assert.equal(nat.inputs["natIpAllocateOption"], "AUTO_ONLY");
        assert.equal(nat.inputs["sourceSubnetworkIpRangesToNat"], "LIST_OF_SUBNETWORKS");
        const subnetId = e.records.find((r) => r.type === "gcp:compute/subnetwork:Subnetwork")?.id;
        assert.deepEqual(nat.inputs["subnetworks"], [{ name: subnetId, sourceIpRangesToNats: ["ALL_IP_RANGES"] }]);
        assert.deepEqual(nat.inputs["logConfig"], { enable: true, filter: "ERRORS_ONLY" });
    });
});

describe("gcp cluster", () => {
    it("is regional, in herd's VPC and subnet, VPC-native on the subnet's secondary ranges", async () => {
        const e = await gcpStack();
        const cluster = one(e, CLUSTER);
        const subnet = one(e, "gcp:compute/subnetwork:Subnetwork");
        assert.equal(cluster.inputs["location"], REGION);
        assert.equal(cluster.inputs["network"], subnet.inputs["network"]);
        assert.equal(cluster.inputs["subnetwork"], e.records.find((r) => r.type === "gcp:compute/subnetwork:Subnetwork")?.id);
        assert.equal(cluster.inputs["networkingMode"], "VPC_NATIVE");
        const ranges = (subnet.inputs["secondaryIpRanges"] as { rangeName: string }[]).map((r) => r.rangeName);
        assert.deepEqual(cluster.inputs["ipAllocationPolicy"], { clusterSecondaryRangeName: ranges[0], servicesSecondaryRangeName: ranges[1] });
        assert.equal(cluster.inputs["name"], "herd-gcp");
    });
    it("removes the default node pool (created with one node, as GKE requires)", async () => {
        const cluster = one(await gcpStack(), CLUSTER);
        assert.equal(cluster.inputs["removeDefaultNodePool"], true);
        assert.equal(cluster.inputs["initialNodeCount"], 1);
        assert.deepEqual(cluster.options.ignoreChanges, ["nodeConfig"], "the removed default pool's config never forces a change");
    });
    it("the short-lived default pool also runs as the dedicated node service account", async () => {
        const cluster = one(await gcpStack(), CLUSTER);
        assert.equal(at(cluster, "nodeConfig", "serviceAccount"), NODE_SA_EMAIL);
        assert.equal(at(cluster, "nodeConfig", "workloadMetadataConfig", "mode"), "GKE_METADATA");
    });
    it("has Workload Identity, Dataplane V2, shielded nodes and the configured version", async () => {
        const cluster = one(await gcpStack(), CLUSTER);
        assert.deepEqual(cluster.inputs["workloadIdentityConfig"], { workloadPool: `${PROJECT}.svc.id.goog` });
        assert.equal(cluster.inputs["datapathProvider"], "ADVANCED_DATAPATH");
        assert.equal(cluster.inputs["networkPolicy"], undefined, "Dataplane V2 enforces NetworkPolicy; the Calico add-on must stay off");
        assert.equal(cluster.inputs["enableShieldedNodes"], true);
        assert.equal(cluster.inputs["minMasterVersion"], "1.33");
        assert.deepEqual(cluster.inputs["releaseChannel"], { channel: "REGULAR" });
        assert.equal(at(cluster, "addonsConfig", "gcePersistentDiskCsiDriverConfig", "enabled"), true);
    });
    it("takes the release channel and Kubernetes version from config", async () => {
        const cluster = one(await evaluate({ ...BASE, "herd:gcpReleaseChannel": "STABLE", "herd:kubernetesVersion": "1.32" }), CLUSTER);
        assert.deepEqual(cluster.inputs["releaseChannel"], { channel: "STABLE" });
        assert.equal(cluster.inputs["minMasterVersion"], "1.32");
        assert.deepEqual(cluster.inputs["workloadIdentityConfig"], { workloadPool: "acme-test-1234.svc.id.goog" });
    });
    it("has private nodes, the configured control-plane range, and exactly the configured API CIDRs", async () => {
        const e = await evaluate({ ...BASE, "herd:apiAccessCidrs": ["198.51.100.0/24", "192.0.2.16/28"], "herd:gcpMasterCidr": "172.16.8.0/28" });
        const cluster = one(e, CLUSTER);
        assert.deepEqual(cluster.inputs["privateClusterConfig"], {
            enablePrivateNodes: true,
            enablePrivateEndpoint: false,
            masterIpv4CidrBlock: "172.16.8.0/28",
        });
        const man = cluster.inputs["masterAuthorizedNetworksConfig"] as { cidrBlocks: { cidrBlock: string }[]; gcpPublicCidrsAccessEnabled: boolean };
        assert.deepEqual(man.cidrBlocks.map((b) => b.cidrBlock), ["198.51.100.0/24", "192.0.2.16/28"]);
        assert.equal(man.gcpPublicCidrsAccessEnabled, false, "not every Google Cloud public IP");
    });
    it("with no API CIDRs, makes the endpoint private with no public access at all", async () => {
        const e = await evaluate({ ...BASE, "herd:apiAccessCidrs": [] });
        const cluster = one(e, CLUSTER);
        assert.equal(at(cluster, "privateClusterConfig", "enablePrivateEndpoint"), true);
        assert.equal(at(cluster, "privateClusterConfig", "enablePrivateNodes"), true);
        assert.deepEqual(at(cluster, "masterAuthorizedNetworksConfig", "cidrBlocks"), []);
        assert.equal(at(cluster, "masterAuthorizedNetworksConfig", "gcpPublicCidrsAccessEnabled"), false);
    });
    it("deletion protection follows config", async () => {
        assert.equal(one(await gcpStack(), CLUSTER).inputs["deletionProtection"], true);
        assert.equal(one(await evaluate({ ...BASE, "herd:gcpDeletionProtection": false }), CLUSTER).inputs["deletionProtection"], false);
    });
});

describe("gcp nodes", () => {
    it("are a separately managed regional pool on the cluster, autoscaled per zone from config", async () => {
        const e = await evaluate({ ...BASE, "herd:gcpNodeMinPerZone": 2, "herd:gcpNodeMaxPerZone": 5, "herd:gcpNodeMachineType": "n2-standard-8" });
        const pool = one(e, NODE_POOL);
        assert.equal(pool.inputs["cluster"], e.records.find((r) => r.type === CLUSTER)?.id);
        assert.equal(pool.inputs["location"], "us-central1");
        assert.equal(at(pool, "autoscaling", "minNodeCount"), 2);
        assert.equal(at(pool, "autoscaling", "maxNodeCount"), 5);
        assert.equal(at(pool, "autoscaling", "totalMinNodeCount"), undefined, "limits are per zone");
        assert.equal(at(pool, "nodeConfig", "machineType"), "n2-standard-8");
        assert.equal(pool.inputs["initialNodeCount"], 2);
        assert.deepEqual(pool.options.ignoreChanges, ["initialNodeCount"], "the autoscaler owns the size; a new minimum never replaces the pool");
    });
    it("are repaired and upgraded automatically, with surge upgrades", async () => {
        const pool = one(await gcpStack(), NODE_POOL);
        assert.deepEqual(pool.inputs["management"], { autoRepair: true, autoUpgrade: true });
        assert.equal(at(pool, "upgradeSettings", "maxUnavailable"), 0);
    });
    it("use the GKE metadata server, secure boot and integrity monitoring, and IAM-governed scopes", async () => {
        const pool = one(await gcpStack(), NODE_POOL);
        assert.deepEqual(at(pool, "nodeConfig", "workloadMetadataConfig"), { mode: "GKE_METADATA" });
        assert.deepEqual(at(pool, "nodeConfig", "shieldedInstanceConfig"), { enableSecureBoot: true, enableIntegrityMonitoring: true });
        assert.deepEqual(at(pool, "nodeConfig", "oauthScopes"), ["https://www.googleapis.com/auth/cloud-platform"]);
    });
    it("run as a dedicated node service account, never the Compute Engine default one", async () => {
        const e = await gcpStack();
        const sa = one(e, ACCOUNT, "gcp-node-sa");
        assert.equal(sa.inputs["accountId"], "herd-gcp-nodes");
        const email = String(at(one(e, NODE_POOL), "nodeConfig", "serviceAccount"));
        assert.equal(email, NODE_SA_EMAIL);
        assert.doesNotMatch(email, /^default$|-compute@developer\.gserviceaccount\.com$/);
    });
    it("their service account has only Google's least-privilege node role in the project, and reads only herd's repository", async () => {
        const e = await gcpStack();
        const member = `serviceAccount:${NODE_SA_EMAIL}`;
        const projectRoles = all(e, PROJECT_MEMBER).filter((r) => r.inputs["member"] === member);
        assert.deepEqual(projectRoles.map((r) => r.inputs["role"]), [...NODE_PROJECT_ROLES]);
        assert.deepEqual(NODE_PROJECT_ROLES, ["roles/container.defaultNodeServiceAccount"]);
        for (const r of projectRoles) {
            assert.equal(r.inputs["project"], PROJECT);
        }
        const reader = one(e, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember");
        assert.equal(reader.inputs["role"], "roles/artifactregistry.reader");
        assert.equal(reader.inputs["member"], member);
        assert.equal(reader.inputs["repository"], "herd-gcp");
        assert.equal(reader.inputs["location"], REGION);
        const everyRole = e.resources.filter((r) => /IamMember|IAMMember/.test(r.type)).map((r) => String(r.inputs["role"]));
        assert.ok(!everyRole.some((role) => /^roles\/(owner|editor|viewer)$/.test(role)), `no basic roles: ${everyRole.join(", ")}`);
    });
});

/**
 * Builds the platform directly under mocks, recording the invokes it makes (and through which provider). `inside`
 * runs in the same stack, after the platform is built (to call bind()); `before` runs first (to watch registrations).
 * `config` is the stack config the run sees (by default the values the platform is built from).
 */
async function platformFor(
    values: Record<string, string>,
    inside?: (platform: Platform) => void,
    before?: () => void,
    config: Record<string, string> = values,
): Promise<{ component: GcpPlatform; platform: Platform; mocks: CallRecordingMocks }> {
    const cfg = parseConfig({ values, secretKeys: new Set(), stack: "unit" });
    assert.ok(cfg.platform === "gcp");
    const mocks = new CallRecordingMocks();
    // The stack's config as the program would see it; the mocks answer for the project and region of the provider used.
    const run = await evaluateUnderMocks(
        () => {
            before?.();
            const component = new GcpPlatform("gcp", cfg);
            inside?.(component.platform);
            return component;
        },
        { config, mocks },
    );
    if (run.error !== undefined) {
        throw run.error;
    }
    assert.ok(run.value !== undefined);
    return { component: run.value, platform: run.value.platform, mocks };
}

class CallRecordingMocks extends RecordingMocks {
    readonly calls: pulumi.runtime.MockCallArgs[] = [];
    override call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        this.calls.push(args);
        return super.call(args);
    }
}

const UNIT = { "herd:platform": "gcp", "herd:gcpProject": "acme-unit-1234", "herd:gcpRegion": "asia-east1", "herd:apiAccessCidrs": "[]" };

describe("gcp registry", () => {
    it("is an Artifact Registry Docker repository in the region", async () => {
        const repo = one(await gcpStack(), "gcp:artifactregistry/repository:Repository");
        assert.equal(repo.inputs["format"], "DOCKER");
        assert.equal(repo.inputs["location"], REGION);
        assert.equal(repo.inputs["repositoryId"], "herd-gcp");
    });
    it("images are built and pushed there with the caller's access token, which stays secret", async () => {
        const { platform, mocks } = await platformFor(UNIT);
        assert.ok(platform.images.kind === "build");
        assert.equal(platform.images.registry.server, "asia-east1-docker.pkg.dev");
        assert.equal(platform.images.registry.username, "oauth2accesstoken");
        assert.deepEqual(await inspect(pulumi.output(platform.images.registry.password)), { value: "offline-gcp-access-token", secret: true });
        assert.equal((await inspect(pulumi.output(platform.images.repositories.api))).value, "asia-east1-docker.pkg.dev/acme-unit-1234/herd-unit/api");
        assert.equal(
            (await inspect(pulumi.output(platform.images.repositories.frontend))).value,
            "asia-east1-docker.pkg.dev/acme-unit-1234/herd-unit/frontend",
        );
        assert.equal((await inspect(pulumi.output(platform.images.repositories.postgres))).value, "asia-east1-docker.pkg.dev/acme-unit-1234/herd-unit/postgres");
        const clientConfig = mocks.calls.filter((c) => c.token === "gcp:organizations/getClientConfig:getClientConfig");
        assert.equal(clientConfig.length, 1);
        assert.match(String(clientConfig[0].provider), /::gcp-provider::/, "the token comes through herd's provider, not ambient config");
    });
    it("no secret's plaintext (the access token, any generated secret) reaches recorded resources or outputs", async () => {
        const e = await gcpStack();
        const everything = JSON.stringify(e.resources) + JSON.stringify(e.outputs);
        for (const secret of ["offline-gcp-access-token", ...e.secretValues]) {
            assert.ok(!everything.includes(secret), `${secret} leaked`);
        }
        assert.equal(one(e, "pulumi:providers:kubernetes").inputs["kubeconfig"], "[secret]");
    });
});

describe("gcp storage class", () => {
    it("is pd-balanced on the PD CSI driver, regional by default: Retain, expandable, WaitForFirstConsumer, and the default class", async () => {
        const e = await gcpStack();
        const sc = one(e, STORAGE_CLASS);
        assert.equal(at(sc, "metadata", "name"), "herd-pd-balanced");
        assert.equal(sc.inputs["provisioner"], "pd.csi.storage.gke.io");
        assert.deepEqual(sc.inputs["parameters"], { type: "pd-balanced", "replication-type": "regional-pd" }, "a data pod can restart in a second zone");
        assert.equal(sc.inputs["allowedTopologies"], undefined, "regional cluster: the pod's zone plus any other of the cluster's (GKE's documented default)");
        assert.equal(sc.inputs["reclaimPolicy"], "Retain");
        assert.equal(sc.inputs["allowVolumeExpansion"], true);
        assert.equal(sc.inputs["volumeBindingMode"], "WaitForFirstConsumer");
        assert.equal(at(sc, "metadata", "annotations", "storageclass.kubernetes.io/is-default-class"), "true");
        assert.equal((e.outputs["platform"] as Inputs)["storageClass"], "herd-pd-balanced");
    });
    it("leaves exactly one default: GKE's standard-rwo is switched off, after herd's class exists", async () => {
        const e = await gcpStack();
        const patch = one(e, STORAGE_CLASS_PATCH);
        assert.equal(at(patch, "metadata", "name"), "standard-rwo");
        assert.equal(at(patch, "metadata", "annotations", "storageclass.kubernetes.io/is-default-class"), "false");
        assert.equal(at(patch, "metadata", "annotations", "pulumi.com/patchForce"), "true");
        assert.deepEqual(patch.options.dependsOn, ["gcp-storage"]);
        const defaults = e.resources.filter(
            (r) => r.type.startsWith("kubernetes:storage.k8s.io/v1:StorageClass") && at(r, "metadata", "annotations", "storageclass.kubernetes.io/is-default-class") === "true",
        );
        assert.deepEqual(defaults.map((r) => at(r, "metadata", "name")), ["herd-pd-balanced"]);
    });
    it("the platform hands components the class's name", async () => {
        const { platform } = await platformFor(UNIT);
        assert.equal((await inspect(platform.storageClassName)).value, "herd-pd-balanced");
    });
});

describe("gcp repositories (pgBackRest, Elasticsearch snapshots)", () => {
    it("each purpose gets its own prefix in the backup bucket, with the GCS uploader's egress", async () => {
        const { platform } = await platformFor(UNIT);
        for (const purpose of ["pgbackrest", "elasticsearch"] as const) {
            const store = platform.repository(purpose).store;
            assert.ok(store.kind === "gcs");
            assert.equal(store.prefix, `${purpose}/`);
            assert.match(String((await inspect(pulumi.output(store.bucket))).value), /^gcp-backups-[0-9a-f]{7}$/);
            assert.match(JSON.stringify(store.egress), /169\.254\.169\.254\/32/, "Workload Identity tokens from the metadata server");
            assert.match(JSON.stringify(store.egress), /"port":443/);
        }
    });
    it("bind(): a Google service account with objectAdmin conditioned on its prefix, bound by Workload Identity", async () => {
        let binding: IdentityBinding | undefined;
        const { mocks } = await platformFor(UNIT, (platform) => {
            const parent = new pulumi.ComponentResource("herd:index:Test", "db");
            binding = platform.repository("pgbackrest").identity.bind({ name: "db-archive", namespace: "shop", serviceAccountName: "db", parent });
        });
        assert.ok(binding !== undefined);
        const email = "herd-unit-db-archive@acme-unit-1234.iam.gserviceaccount.com";
        assert.equal((await inspect(pulumi.output(binding.serviceAccountAnnotations["iam.gke.io/gcp-service-account"]))).value, email);
        assert.deepEqual(binding.env, []);
        const recorded = (type: string) => mocks.records.filter((r) => r.type === type && r.name.startsWith("db-archive"));
        const bucketName = String(mocks.records.find((r) => r.type === BUCKET)?.id);
        const grants = recorded(BUCKET_MEMBER);
        assert.equal(grants.length, 1, "one grant, conditioned");
        assert.equal(grants[0].inputs["role"], "roles/storage.objectAdmin");
        assert.equal(grants[0].inputs["member"], `serviceAccount:${email}`);
        const condition = grants[0].inputs["condition"] as Inputs;
        assert.equal(
            condition["expression"],
            `resource.type == "storage.googleapis.com/Bucket" || resource.name.startsWith("projects/_/buckets/${bucketName}/objects/pgbackrest/")`,
            "objects under pgbackrest/ only (the bucket itself for listing)",
        );
        assert.equal(condition["title"], "herd-pgbackrest-prefix");
        assert.match(String(grants[0].id), /\/herd-pgbackrest-prefix$/, "the mock answers a conditional grant as its own binding, as GCP does");
        assert.equal(recorded(PROJECT_MEMBER).length, 0, "no project-wide grant");
        const [wi] = recorded(SA_MEMBER);
        assert.equal(wi.inputs["member"], "serviceAccount:acme-unit-1234.svc.id.goog[shop/db]");
    });
    it("repositoryCondition: pure, the purpose's prefix", () => {
        assert.match(repositoryCondition("b", "elasticsearch").expression, /startsWith\("projects\/_\/buckets\/b\/objects\/elasticsearch\/"\)/);
        assert.equal(REPOSITORY_ROLE, "roles/storage.objectAdmin");
    });
    it("the stack: Elasticsearch snapshots to gcs under elasticsearch/, through its own service account", async () => {
        const e = await gcpStack();
        const grant = one(e, BUCKET_MEMBER, "elastic-snapshots-gsa-storage-object-admin");
        assert.equal(grant.parent, "elastic");
        assert.match(String((grant.inputs["condition"] as Inputs)["expression"]), /objects\/elasticsearch\/"\)$/);
        const { manifests } = buildManifests(e);
        const sa = manifests.find((m) => m.kind === "ServiceAccount" && m.metadata.name === "elastic");
        assert.match(String((sa?.metadata["annotations"] as Record<string, string>)["iam.gke.io/gcp-service-account"]), /^herd-gcp-elastic-snapshots@/);
        const job = manifests.find((m) => m.kind === "Job" && m.metadata.name === "elastic-setup") as unknown as {
            spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
        };
        const env = Object.fromEntries(job.spec.template.spec.containers[0].env.map((v) => [v.name, v.value]));
        const repository = JSON.parse(String(env["REPOSITORY_JSON"])) as { type: string; settings: Inputs };
        assert.equal(repository.type, "gcs");
        assert.equal(repository.settings["base_path"], "elasticsearch/herd/elastic");
    });
});

describe("gcp backups", () => {
    it("go to a private, versioned regional bucket whose objects expire after the configured days", async () => {
        const e = await evaluate({ ...BASE, "herd:backupRetentionDays": 14 });
        const bucket = one(e, BUCKET);
        assert.equal(bucket.inputs["location"], "us-central1");
        assert.equal(bucket.inputs["uniformBucketLevelAccess"], true);
        assert.equal(bucket.inputs["publicAccessPrevention"], "enforced");
        assert.deepEqual(bucket.inputs["versioning"], { enabled: true });
        assert.equal(bucket.inputs["forceDestroy"], false);
        const rules = bucket.inputs["lifecycleRules"] as { action: { type: string }; condition: Inputs }[];
        const aging = rules.filter((r) => r.condition["age"] !== undefined);
        assert.deepEqual(aging, [{ action: { type: "Delete" }, condition: { age: 14, withState: "LIVE", matchesPrefixes: ["postgres/"] } }], "the dumps only: an age rule on a repository would corrupt it");
        assert.ok(rules.every((r) => r.condition["age"] === undefined || JSON.stringify(r.condition["matchesPrefixes"]) === '["postgres/"]'));
        const noncurrent = rules.find((r) => r.condition["daysSinceNoncurrentTime"] !== undefined);
        assert.equal(noncurrent?.action.type, "Delete");
        assert.equal(noncurrent?.condition["withState"], "ARCHIVED");
    });
    it("the bucket is protected with the data, and never deleted with the stack", async () => {
        const bucket = one(await gcpStack(), BUCKET);
        assert.equal(bucket.options.protect, true, "herd:protectData defaults to true");
        assert.equal(bucket.options.retainOnDelete, true);
        assert.equal(at(bucket, "lifecycleRules", "0", "condition", "age"), 30);
        const throwaway = one(await evaluate({ ...BASE, "herd:protectData": false }), BUCKET);
        assert.equal(throwaway.options.protect, false);
        assert.equal(throwaway.options.retainOnDelete, true, "even unprotected, destroy leaves the backups in place");
    });
    it("the backup store is that bucket", async () => {
        const e = await gcpStack();
        const { platform } = await platformFor(UNIT);
        assert.ok(platform.backupStore.kind === "objectStore");
        const uploader = platform.backupStore.uploader;
        assert.equal(uploader.image, GCLOUD_IMAGE);
        assert.match(uploader.script, /gcloud storage cp/);
        assert.match(JSON.stringify(uploader.egress), /169\.254\.169\.254\/32/, "Workload Identity tokens from the metadata server");
        assert.match(String((await inspect(pulumi.output(uploader.bucket))).value), /^gcp-backups-[0-9a-f]{7}$/);
        assert.match(String((e.outputs["platform"] as Inputs)["backupBucket"]), /^gcp-backups-[0-9a-f]{7}$/);
    });
    it("bind(): a Google service account under the caller, writing to that bucket only, bound by Workload Identity", async () => {
        let binding: IdentityBinding | undefined;
        const { mocks } = await platformFor(UNIT, (platform) => {
            const parent = new pulumi.ComponentResource("herd:index:PostgresBackup", "postgres-backup");
            binding = platform.workloadIdentity.bind({ name: "postgres-backup", namespace: "shop", serviceAccountName: "pg-backup", parent });
        });
        assert.ok(binding !== undefined);
        const email = "herd-unit-postgres-backup@acme-unit-1234.iam.gserviceaccount.com";
        assert.ok(binding.env.every((e) => e.valueFrom === undefined && !/KEY|TOKEN|SECRET|PASSWORD/.test(String(e.name))), "no credential in env");
        assert.deepEqual(binding.env, [{ name: "CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED", value: "False" }], "uploads need no delete right");
        assert.deepEqual(Object.keys(binding.serviceAccountAnnotations), ["iam.gke.io/gcp-service-account"]);
        assert.equal((await inspect(pulumi.output(binding.serviceAccountAnnotations["iam.gke.io/gcp-service-account"]))).value, email);

        const recorded = (type: string) => mocks.records.filter((r) => r.type === type && r.name.startsWith("postgres-backup"));
        const [gsa] = recorded(ACCOUNT);
        assert.equal(gsa.inputs["accountId"], "herd-unit-postgres-backup");
        const bucketName = mocks.records.find((r) => r.type === BUCKET)?.id;
        const grants = recorded(BUCKET_MEMBER);
        assert.deepEqual(grants.map((g) => g.inputs["role"]).sort(), [...BACKUP_BUCKET_ROLES].sort());
        assert.deepEqual(BACKUP_BUCKET_ROLES, ["roles/storage.objectCreator", "roles/storage.objectViewer"], "no delete, no admin");
        for (const g of grants) {
            assert.equal(g.inputs["bucket"], bucketName);
            assert.equal(g.inputs["member"], `serviceAccount:${email}`);
        }
        assert.equal(recorded(PROJECT_MEMBER).length, 0, "no project-wide grant");
        const [wi] = recorded(SA_MEMBER);
        assert.equal(wi.inputs["role"], "roles/iam.workloadIdentityUser");
        assert.equal(wi.inputs["member"], "serviceAccount:acme-unit-1234.svc.id.goog[shop/pg-backup]");
        assert.equal(wi.inputs["serviceAccountId"], `projects/acme-unit-1234/serviceAccounts/${email}`);
    });
    it("bind(): resources are children of the given parent, through herd's provider, and wait for the identity pool", async () => {
        const children: { name: string; opts: pulumi.ResourceOptions }[] = [];
        let parent: pulumi.ComponentResource | undefined;
        let provider: pulumi.ProviderResource | undefined;
        let cluster: pulumi.Resource | undefined;
        await platformFor(
            UNIT,
            (platform) => {
                parent = new pulumi.ComponentResource("herd:index:PostgresBackup", "pg");
                platform.workloadIdentity.bind({ name: "pg", namespace: "herd", serviceAccountName: "backup", parent });
            },
            () =>
                pulumi.runtime.registerStackTransformation((args) => {
                    if (args.type === "pulumi:providers:gcp") {
                        provider = args.resource as pulumi.ProviderResource;
                    }
                    if (args.type === CLUSTER) {
                        cluster = args.resource;
                    }
                    if (args.name.startsWith("pg-")) {
                        children.push({ name: args.name, opts: args.opts });
                    }
                    return undefined;
                }),
        );
        assert.ok(provider !== undefined && cluster !== undefined);
        assert.deepEqual(children.map((c) => c.name).sort(), ["pg-gsa", "pg-gsa-storage-object-creator", "pg-gsa-storage-object-viewer", "pg-workload-identity"]);
        for (const c of children) {
            assert.equal(c.opts.parent, parent, `${c.name} is a child of the given parent`);
            assert.equal((c.opts as pulumi.CustomResourceOptions).provider, provider, `${c.name} uses herd's GCP provider`);
        }
        const wi = children.find((c) => c.name === "pg-workload-identity");
        assert.deepEqual([wi?.opts.dependsOn].flat(), [cluster], "waits for the cluster (and so its identity pool)");
    });
});

describe("gcp kubeconfig and Kubernetes provider", () => {
    const args = { project: "p-123456", location: "europe-west4", clusterName: "herd-prod", endpoint: "34.1.2.3", caCertificate: "Q0EtREFUQQ==" };
    it("the kubeconfig authenticates with gke-gcloud-auth-plugin, with no static credential", () => {
        const doc = JSON.parse(gkeKubeconfig(args)) as {
            clusters: { name: string; cluster: Record<string, string> }[];
            contexts: { name: string; context: Record<string, string> }[];
            users: { name: string; user: Record<string, unknown> }[];
            "current-context": string;
        };
        const id = "gke_p-123456_europe-west4_herd-prod";
        assert.deepEqual(doc.clusters, [{ name: id, cluster: { server: "https://34.1.2.3", "certificate-authority-data": "Q0EtREFUQQ==" } }]);
        assert.deepEqual(doc.contexts, [{ name: id, context: { cluster: id, user: id } }]);
        assert.equal(doc["current-context"], id);
        assert.equal(doc.users.length, 1);
        const exec = doc.users[0].user["exec"] as Record<string, unknown>;
        assert.equal(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert.equal(exec["command"], "gke-gcloud-auth-plugin");
        assert.equal(exec["provideClusterInfo"], true);
        assert.match(String(exec["installHint"]), /gke-gcloud-auth-plugin/);
        assert.deepEqual(Object.keys(doc.users[0].user), ["exec"], "no token, password or client key");
    });
    it("the platform's kubeconfig is a secret built from the cluster's private endpoint and CA when the API is private", async () => {
        const { component, mocks } = await platformFor(UNIT);
        const { value, secret } = await inspect(component.kubeconfig);
        assert.equal(secret, true);
        const cluster = mocks.records.find((r) => r.type === CLUSTER);
        const masterAuth = cluster?.state["masterAuth"] as { clusterCaCertificate: string };
        const privateEndpoint = (cluster?.state["privateClusterConfig"] as { privateEndpoint: string }).privateEndpoint;
        assert.equal(privateEndpoint, "172.16.0.2");
        assert.equal(
            value,
            gkeKubeconfig({
                project: "acme-unit-1234",
                location: "asia-east1",
                clusterName: "herd-unit",
                endpoint: privateEndpoint,
                caCertificate: masterAuth.clusterCaCertificate,
            }),
        );
    });
    it("with API CIDRs, the kubeconfig points at the public endpoint", async () => {
        const { component, mocks } = await platformFor({ ...UNIT, "herd:apiAccessCidrs": '["198.51.100.0/24"]' });
        const endpoint = String(mocks.records.find((r) => r.type === CLUSTER)?.state["endpoint"]);
        assert.match(endpoint, /^34\./);
        const doc = JSON.parse((await inspect(component.kubeconfig)).value) as { clusters: { cluster: { server: string } }[] };
        assert.equal(doc.clusters[0].cluster.server, `https://${endpoint}`);
    });
    it("the Kubernetes provider uses it (secret), with server-side apply, once the nodes exist", async () => {
        const provider = one(await gcpStack(), "pulumi:providers:kubernetes");
        assert.equal(provider.name, "gcp-k8s");
        assert.equal(provider.parent, "gcp");
        assert.equal(provider.inputs["kubeconfig"], "[secret]");
        assert.equal(providerInput(provider, "enableServerSideApply"), true);
        assert.deepEqual(provider.options.dependsOn, ["gcp-nodes"]);
    });
    it("every Kubernetes resource uses that provider (explicitly, or inherited from its component)", async () => {
        const e = await gcpStack();
        assert.equal(all(e, "pulumi:providers:kubernetes").length, 1, "one Kubernetes provider in the stack");
        const kube = e.resources.filter((r) => r.type.startsWith("kubernetes:"));
        assert.ok(kube.length >= 3);
        // The harness records the provider each resource really uses, explicit or handed down by its component.
        for (const r of kube) {
            assert.equal(r.options.provider, "gcp-k8s", `${r.type} ${r.name}`);
        }
    });
});

describe("gcp regional disks (herd:gcpRegionalDisks)", () => {
    it("false: zonal pd-balanced disks, same class name (claim templates untouched), still WaitForFirstConsumer", async () => {
        const sc = one(await evaluate({ ...BASE, "herd:gcpRegionalDisks": false }), STORAGE_CLASS);
        // Needs platform/gcp.ts to pass the stack's setting: createStorage(name, provider, this, c.regionalDisks).
        assert.deepEqual(sc.inputs["parameters"], { type: "pd-balanced" }, "platform/gcp.ts must pass c.regionalDisks to createStorage");
        assert.equal(at(sc, "metadata", "name"), "herd-pd-balanced");
        assert.equal(sc.inputs["volumeBindingMode"], "WaitForFirstConsumer");
    });
    it("the pure class args: regional adds only replication-type; nothing else about the class changes", () => {
        const regional = gkeStorageClassArgs(true);
        const zonal = gkeStorageClassArgs(false);
        assert.deepEqual(regional.parameters, { type: "pd-balanced", "replication-type": "regional-pd" });
        assert.deepEqual({ ...regional, parameters: undefined }, { ...zonal, parameters: undefined });
    });
    it("every data StatefulSet claims its volumes from that class", async () => {
        const { manifests } = buildManifests(await gcpStack());
        const sets = manifests.filter((m) => m.kind === "StatefulSet") as unknown as { metadata: { name: string }; spec: { volumeClaimTemplates?: { spec: { storageClassName?: string } }[] } }[];
        const claimed = sets.flatMap((s) => (s.spec.volumeClaimTemplates ?? []).map((t) => `${s.metadata.name}:${t.spec.storageClassName}`));
        assert.ok(claimed.length >= 3, claimed.join(", "));
        for (const c of claimed) {
            assert.match(c, /:herd-pd-balanced$/);
        }
    });
});

describe("gcp maintenance policy (herd:gcpMaintenance*)", () => {
    it("default: a weekly window Saturday and Sunday 00:00-08:00 UTC, as GKE's recurringWindow in Zulu times, no exclusions", async () => {
        const policy = at(one(await gcpStack(), CLUSTER), "maintenancePolicy") as Inputs;
        assert.deepEqual(policy, {
            recurringWindow: { startTime: "2025-01-11T00:00:00Z", endTime: "2025-01-11T08:00:00Z", recurrence: "FREQ=WEEKLY;BYDAY=SA,SU" },
            maintenanceExclusions: [],
        });
        assert.equal(new Date("2025-01-11T00:00:00Z").getUTCDay(), 6, "the first occurrence is itself a Saturday (RFC 5545: DTSTART in the rule)");
    });
    it("takes the window and the exclusions, each with its scope, from config", async () => {
        const cluster = one(
            await evaluate({
                ...BASE,
                "herd:gcpMaintenanceStart": "22:30",
                "herd:gcpMaintenanceHours": 6,
                "herd:gcpMaintenanceDays": ["FR", "TU"],
                "herd:gcpMaintenanceExclusions": [
                    "black-friday,2025-11-27T00:00:00Z,2025-12-02T00:00:00Z,NO_UPGRADES",
                    "hold-1-33,2026-01-05T00:00:00Z,2026-05-01T00:00:00Z,NO_MINOR_OR_NODE_UPGRADES",
                ],
            }),
            CLUSTER,
        );
        assert.deepEqual(at(cluster, "maintenancePolicy"), {
            // Crosses midnight: the end is the next day; the first occurrence is a Tuesday, the earlier of the days.
            recurringWindow: { startTime: "2025-01-07T22:30:00Z", endTime: "2025-01-08T04:30:00Z", recurrence: "FREQ=WEEKLY;BYDAY=TU,FR" },
            maintenanceExclusions: [
                { exclusionName: "black-friday", startTime: "2025-11-27T00:00:00Z", endTime: "2025-12-02T00:00:00Z", exclusionOptions: { scope: "NO_UPGRADES" } },
                { exclusionName: "hold-1-33", startTime: "2026-01-05T00:00:00Z", endTime: "2026-05-01T00:00:00Z", exclusionOptions: { scope: "NO_MINOR_OR_NODE_UPGRADES" } },
            ],
        });
    });
    it("no window days: no maintenance policy at all (GKE's default: any time)", async () => {
        assert.equal(at(one(await evaluate({ ...BASE, "herd:gcpMaintenanceDays": [] }), CLUSTER), "maintenancePolicy"), undefined);
    });
    it("the same config always renders the same window (no diff on every run)", () => {
        const w = { start: "03:15", hours: 5, days: ["SU", "WE"] as const };
        assert.deepEqual(recurringWindow({ ...w, days: [...w.days] }), recurringWindow({ ...w, days: ["WE", "SU"] }));
        assert.deepEqual(recurringWindow({ ...w, days: [...w.days] }), { startTime: "2025-01-08T03:15:00Z", endTime: "2025-01-08T08:15:00Z", recurrence: "FREQ=WEEKLY;BYDAY=WE,SU" });
        assert.deepEqual(maintenancePolicy({ start: "00:00", hours: 8, days: [] }, []), undefined);
    });
    it("GKE's availability rule, as herd counts it: whole occurrences in any 32 days", () => {
        assert.equal(guaranteedAvailabilityHours({ hours: 8, days: ["SA", "SU"] }), 64);
        assert.equal(guaranteedAvailabilityHours({ hours: 12, days: ["SU"] }), 48);
        assert.equal(guaranteedAvailabilityHours({ hours: 8, days: ["SU"] }), 32);
    });
    it("surge upgrades on the node pool: one extra node, none taken away, automatic upgrades on (inside the window)", async () => {
        const pool = one(await gcpStack(), NODE_POOL);
        assert.deepEqual(pool.inputs["upgradeSettings"], { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 });
        assert.equal(at(pool, "management", "autoUpgrade"), true);
        assert.deepEqual(at(one(await gcpStack(), CLUSTER), "releaseChannel"), { channel: "REGULAR" }, "a release channel: the NO_MINOR scopes need one");
    });
});

describe("gcp registry cleanup (herd:gcpRegistryKeepImages, herd:gcpRegistryUntaggedDays)", () => {
    it("default: keep the newest 30 versions of each image, delete untagged ones after 7 days and tagged ones beyond those; not a dry run", async () => {
        const repo = one(await gcpStack(), "gcp:artifactregistry/repository:Repository");
        assert.equal(repo.inputs["cleanupPolicyDryRun"], false);
        assert.deepEqual(repo.inputs["cleanupPolicies"], [
            { id: "keep-newest", action: "KEEP", mostRecentVersions: { keepCount: 30 } },
            { id: "delete-untagged", action: "DELETE", condition: { tagState: "UNTAGGED", olderThan: "604800s" } },
            { id: "delete-tagged-beyond-newest", action: "DELETE", condition: { tagState: "TAGGED" } },
        ]);
    });
    it("takes both numbers from config", async () => {
        const repo = one(await evaluate({ ...BASE, "herd:gcpRegistryKeepImages": 5, "herd:gcpRegistryUntaggedDays": 1 }), "gcp:artifactregistry/repository:Repository");
        assert.deepEqual(repo.inputs["cleanupPolicies"], registryCleanupPolicies(5, 1));
        assert.deepEqual(registryCleanupPolicies(5, 1)[0], { id: "keep-newest", action: "KEEP", mostRecentVersions: { keepCount: 5 } });
        assert.deepEqual(registryCleanupPolicies(5, 1)[1]?.condition, { tagState: "UNTAGGED", olderThan: "86400s" });
    });
    it("keeps as many as ECR keeps on aws by default", () => {
        assert.equal(KEYS.gcpRegistryKeepImages.default, KEYS.ecrKeepImages.default);
    });
});

describe("gcp: what enforces NetworkPolicy and what feeds the autoscaler", () => {
    it("Dataplane V2 (ADVANCED_DATAPATH) enforces herd's NetworkPolicies: no Calico add-on, no network-policy config beside it", async () => {
        const e = await gcpStack();
        const cluster = one(e, CLUSTER);
        assert.equal(cluster.inputs["datapathProvider"], "ADVANCED_DATAPATH");
        assert.equal(cluster.inputs["networkPolicy"], undefined);
        assert.equal(at(cluster, "addonsConfig", "networkPolicyConfig"), undefined);
        const { manifests } = buildManifests(e);
        type Policy = { metadata: { name: string }; spec: { podSelector: { matchLabels?: Record<string, string> }; policyTypes?: string[] } };
        const policies = manifests.filter((m) => m.kind === "NetworkPolicy") as unknown as Policy[];
        for (const p of policies) {
            assert.deepEqual(p.spec.policyTypes, ["Ingress", "Egress"], `${p.metadata.name}: all else denied both ways`);
        }
        // Every long-running workload is selected by a policy, so with an enforcing dataplane nothing runs unfenced.
        type Workload = { kind: string; metadata: { name: string }; spec: { template: { metadata: { labels: Record<string, string> } } } };
        const workloads = manifests.filter((m) => m.kind === "Deployment" || m.kind === "StatefulSet") as unknown as Workload[];
        assert.ok(workloads.length >= 5);
        for (const w of workloads) {
            const labels = w.spec.template.metadata.labels;
            const selected = policies.some((p) => Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v));
            assert.ok(selected, `${w.kind} ${w.metadata.name} is selected by a NetworkPolicy`);
        }
    });
    it("the API's HorizontalPodAutoscaler uses only CPU (metrics.k8s.io, served by GKE's own metrics-server); herd installs no metrics server or adapter", async () => {
        const e = await gcpStack();
        const { manifests } = buildManifests(e);
        const hpas = manifests.filter((m) => m.kind === "HorizontalPodAutoscaler") as unknown as { spec: { metrics: { type: string; resource?: { name: string } }[] } }[];
        assert.equal(hpas.length, 1);
        assert.deepEqual(hpas[0]?.spec.metrics.map((m) => `${m.type}:${m.resource?.name ?? ""}`), ["Resource:cpu"], "no Pods/Object/External metrics that would need an adapter");
        assert.ok(!manifests.some((m) => m.kind === "APIService"), "no APIService: metrics.k8s.io stays GKE's");
        assert.ok(!manifests.some((m) => /metrics-server|prometheus-adapter/.test(m.metadata.name)), "no metrics server of herd's own");
    });
});

describe("gcp capabilities and outputs", () => {
    it("exposure: a LoadBalancer (backend service-based passthrough NLB) that reports an IP", async () => {
        const { platform } = await platformFor(UNIT);
        assert.deepEqual(platform.exposure, {
            kind: "loadBalancer",
            annotations: { "cloud.google.com/l4-rbs": "enabled" },
            reportsAddressAs: "ip",
            // From outside the cluster's pod range: the client's own address arrives (externalTrafficPolicy Local).
            sources: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.20.0.0/14"] } }],
        });
        assert.equal(platform.name, "gcp");
    });
    it("exports the cluster, project, region, registry and backup bucket", async () => {
        const out = (await gcpStack()).outputs["platform"] as Inputs;
        assert.equal(out["platform"], "gcp");
        assert.equal(out["clusterName"], "herd-gcp");
        assert.equal(out["project"], PROJECT);
        assert.equal(out["region"], REGION);
        assert.deepEqual(out["registry"], {
            api: `${REGION}-docker.pkg.dev/${PROJECT}/herd-gcp/api`,
            frontend: `${REGION}-docker.pkg.dev/${PROJECT}/herd-gcp/frontend`,
            postgres: `${REGION}-docker.pkg.dev/${PROJECT}/herd-gcp/postgres`,
        });
        assert.match(String(out["backupBucket"]), /^gcp-backups-[0-9a-f]{7}$/);
    });
    it("exports the kubeconfig as a secret", async () => {
        // Checked on the platform's own outputs: the harness reads stack outputs back as plain values, which loses
        // per-field secretness (see the note in the report).
        const { platform } = await platformFor(UNIT);
        const kubeconfig = platform.outputs["kubeconfig"];
        assert.ok(pulumi.Output.isInstance(kubeconfig));
        const { value, secret } = await inspect(kubeconfig as pulumi.Output<string>);
        assert.equal(secret, true);
        assert.match(value, /gke-gcloud-auth-plugin/);
    });
    it("evaluates to schema-valid manifests", async () => {
        const { manifests } = buildManifests(await gcpStack());
        assert.deepEqual(
            manifests.filter((m) => m.kind === "StorageClass").map((m) => m.metadata.name),
            ["herd-pd-balanced"],
            "GKE's standard-rwo is patched, not redefined",
        );
        assert.ok(manifests.some((m) => m.kind === "Namespace"));
    });
    it("the manifests command writes the gcp stack offline", async () => {
        const out = path.join(tempDir(), "gcp");
        const result = await runCommand("manifests", ["--stack", "gcp", "--out", out]);
        assert.equal(result.status, 0, result.stderr);
        assert.match(fs.readFileSync(path.join(out, "manifests.yaml"), "utf8"), /provisioner: pd\.csi\.storage\.gke\.io/);
        const resources = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as { type: string }[];
        assert.ok(resources.some((r) => r.type === CLUSTER));
    });
});

describe("gcp pure helpers", () => {
    it("ids are valid GCP ids: lowercase, start with a letter, within the limit, stable", () => {
        assert.equal(serviceAccountId("gcp", "nodes"), "herd-gcp-nodes");
        assert.equal(gcpId(["herd", "Prod_EU"], 40), "herd-prod-eu");
        const long = serviceAccountId("production-europe-west", "postgres-backup");
        assert.ok(long.length <= 30, long);
        assert.match(long, /^[a-z]([-a-z0-9]{4,28}[a-z0-9])$/);
        assert.equal(long, serviceAccountId("production-europe-west", "postgres-backup"), "deterministic");
        assert.notEqual(long, serviceAccountId("production-europe-west", "postgres-backups"), "distinct for distinct inputs");
    });
    it("control-plane access: CIDRs keep a restricted public endpoint; none makes it private", () => {
        const open = controlPlaneAccess(["10.1.0.0/16"], "172.16.0.0/28");
        assert.deepEqual(open.privateClusterConfig, { enablePrivateNodes: true, enablePrivateEndpoint: false, masterIpv4CidrBlock: "172.16.0.0/28" });
        const closed = controlPlaneAccess([], "172.16.0.0/28");
        assert.equal((closed.privateClusterConfig as { enablePrivateEndpoint: boolean }).enablePrivateEndpoint, true);
        assert.deepEqual((closed.masterAuthorizedNetworksConfig as { cidrBlocks: unknown[] }).cidrBlocks, []);
    });
    it("the mocks answer like GCP, and a GCP resource they do not know fails loudly", () => {
        // No provider: each resource lands where its own inputs say.
        const gcpState = (args: pulumi.runtime.MockResourceArgs) => answerGcp(args, new ProviderPlacements().of(args));
        const account = gcpState({ type: ACCOUNT, name: "x", inputs: { accountId: "herd-x-y", project: "p-123456" } });
        assert.equal(account?.state["email"], "herd-x-y@p-123456.iam.gserviceaccount.com");
        assert.equal(account?.id, "projects/p-123456/serviceAccounts/herd-x-y@p-123456.iam.gserviceaccount.com");
        assert.equal(gcpState({ type: "aws:s3/bucketV2:BucketV2", name: "b", inputs: {} }), undefined, "not ours");
        assert.throws(
            () => gcpState({ type: "gcp:sql/databaseInstance:DatabaseInstance", name: "db", inputs: {} }),
            /no mock for the GCP resource gcp:sql\/databaseInstance:DatabaseInstance/,
        );
    });
});

describe("the mocks answer for the provider's project and region", () => {
    it("a project and region set only on the provider (no herd: key in the config the mocks see) reach ids and URLs", async () => {
        const values = { ...UNIT, "herd:gcpProject": "acme-provider-only-42", "herd:gcpRegion": "europe-north1" };
        const { platform, mocks } = await platformFor(values, undefined, undefined, {});
        assert.deepEqual(pulumi.runtime.allConfig(), {}, "the mocks could not have read the project from config");
        assert.ok(platform.images.kind === "build");
        assert.equal((await inspect(pulumi.output(platform.images.repositories.api))).value, "europe-north1-docker.pkg.dev/acme-provider-only-42/herd-unit/api");
        const network = mocks.records.find((r) => r.type === "gcp:compute/network:Network");
        assert.match(String(network?.id), /^projects\/acme-provider-only-42\/global\/networks\//);
        const nodes = mocks.records.find((r) => r.type === ACCOUNT && r.name === "gcp-node-sa");
        assert.match(String(nodes?.state["email"]), /@acme-provider-only-42\.iam\.gserviceaccount\.com$/);
        const pool = mocks.records.find((r) => r.type === "gcp:container/nodePool:NodePool");
        assert.match(JSON.stringify(pool?.state["instanceGroupUrls"]), /\/zones\/europe-north1-a\//, "the region too, where no input names it");
        assert.ok(!JSON.stringify(mocks.records).includes("offline-project"), "no made-up project anywhere");
    });
});
