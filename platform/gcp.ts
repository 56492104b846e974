/**
 * GCP: a regional, private GKE cluster herd creates, with its VPC and Cloud NAT, Artifact Registry, a pd-balanced
 * StorageClass that keeps its disks, and a GCS bucket for backups that a backup job reaches through Workload Identity.
 *
 * Every GCP resource is created with one explicit `gcp.Provider` (project and region from the stack's config, never
 * the ambient gcloud settings), which also stamps default labels on everything that takes labels.
 *
 * Pure pieces (names, the control-plane access rule, node config, lifecycle rules, the kubeconfig) are exported
 * functions, so tests check them directly; the class only wires resources together.
 */
import { createHash } from "node:crypto";
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { GcpConfig, HerdConfig } from "../config";
import { MANAGED_BY, PART_OF, recommendedLabels } from "../lib/labels";
import type { BackupStore, Exposure, IdentityBinding, ImageSource, Platform, WorkloadIdentity } from "./contract";

export type GcpStackConfig = HerdConfig & { platform: "gcp" };

/** Secondary ranges of the subnet: the cluster finds its pod and Service ranges by these names. */
export const PODS_RANGE = "pods";
export const SERVICES_RANGE = "services";
/** Node and Workload Identity API access is governed by IAM, not by legacy access scopes. */
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
/**
 * The node service account's project roles. Google's least-privilege role for GKE nodes: it carries exactly what
 * node system components need (log writing, metric writing and reading, resource metadata, autoscaling metrics)
 * and Google keeps it current; it replaces the hand-kept list logging.logWriter, monitoring.metricWriter,
 * monitoring.viewer, stackdriver.resourceMetadata.writer and autoscaling.metricsWriter. Pulling images is granted
 * separately, on herd's repository only.
 */
export const NODE_PROJECT_ROLES = ["roles/container.defaultNodeServiceAccount"] as const;
export const REGISTRY_READER_ROLE = "roles/artifactregistry.reader";
/**
 * What a backup job may do on the backup bucket, and nowhere else: create objects and read them back (for a
 * restore). No delete and no overwrite (an overwrite needs delete), so a compromised pod cannot destroy backups;
 * expiry is the bucket's lifecycle rules' job.
 */
export const BACKUP_BUCKET_ROLES = ["roles/storage.objectCreator", "roles/storage.objectViewer"] as const;
/**
 * Env for a backup job's containers: with create-only rights, gcloud's parallel composite uploads (used for files
 * over 150 MiB) would fail, since they delete their temporary parts; a single-stream upload needs no delete.
 */
export const BACKUP_UPLOAD_ENV: readonly { readonly name: string; readonly value: string }[] = [
    { name: "CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED", value: "False" },
];
export const WORKLOAD_IDENTITY_USER_ROLE = "roles/iam.workloadIdentityUser";
/** Days a replaced or expired backup stays recoverable as a noncurrent version before it is deleted. */
export const NONCURRENT_VERSION_DAYS = 7;
/** The class herd creates for data volumes, and the class GKE ships as the cluster default. */
export const STORAGE_CLASS_NAME = "herd-pd-balanced";
export const GKE_DEFAULT_STORAGE_CLASS = "standard-rwo";
export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
/** External LoadBalancer Services get a backend service-based passthrough NLB (GKE's recommendation over the
 * legacy target-pool NLB); it still reports an IP. */
export const LOAD_BALANCER_ANNOTATIONS: Readonly<Record<string, string>> = { "cloud.google.com/l4-rbs": "enabled" };
export const GKE_AUTH_PLUGIN = "gke-gcloud-auth-plugin";

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers.

/**
 * A GCP identifier from parts: lowercase letters, digits and '-', starting with a letter, at most `maxLength`
 * characters. Too long, it is cut and given a short hash of the full value, so two long names stay distinct and the
 * same input always gives the same id (ids are immutable: a changed id replaces the resource).
 */
export function gcpId(parts: readonly string[], maxLength: number): string {
    let slug = parts
        .join("-")
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/-+/g, "-")
        .replace(/^-+|-+$/g, "");
    if (!/^[a-z]/.test(slug)) {
        slug = `h-${slug}`;
    }
    if (slug.length <= maxLength) {
        return slug;
    }
    const hash = createHash("sha256").update(slug).digest("hex").slice(0, 6);
    return `${slug.slice(0, maxLength - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

/** A service account id (6-30 characters) for one role in one stack, e.g. herd-gcp-nodes. */
export function serviceAccountId(stack: string, role: string): string {
    return gcpId(["herd", stack, role], 30);
}

/** A role as a resource-name fragment: roles/storage.objectCreator -> storage-object-creator. */
export function roleSlug(role: string): string {
    return role
        .replace(/^roles\//, "")
        .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
        .replace(/[^A-Za-z0-9]+/g, "-")
        .toLowerCase();
}

/** A label value GCP accepts: lowercase letters, digits, '_' and '-', at most 63 characters. */
export function labelValue(v: string): string {
    return v.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").slice(0, 63);
}

/** Labels the provider puts on every GCP resource that takes labels. */
export function defaultLabels(stack: string): Record<string, string> {
    return { "part-of": PART_OF, "managed-by": MANAGED_BY, stack: labelValue(stack) };
}

/** The Workload Identity principal of one Kubernetes ServiceAccount. */
export function workloadIdentityMember(project: string, namespace: string, serviceAccountName: string): string {
    return `serviceAccount:${project}.svc.id.goog[${namespace}/${serviceAccountName}]`;
}

/** The Artifact Registry host for Docker repositories in a region. */
export function registryHost(region: string): string {
    return `${region}-docker.pkg.dev`;
}

/**
 * Who may reach the control plane. Nodes are always private. With CIDRs, the public endpoint accepts exactly those
 * (and not, as GKE otherwise allows, any Google Cloud public IP); with none, the public endpoint is off and the API
 * is reachable only from inside the VPC.
 */
export function controlPlaneAccess(
    apiAccessCidrs: readonly string[],
    masterCidr: string,
): Pick<gcp.container.ClusterArgs, "privateClusterConfig" | "masterAuthorizedNetworksConfig"> {
    return {
        privateClusterConfig: {
            enablePrivateNodes: true,
            enablePrivateEndpoint: apiAccessCidrs.length === 0,
            masterIpv4CidrBlock: masterCidr,
        },
        masterAuthorizedNetworksConfig: {
            cidrBlocks: apiAccessCidrs.map((cidrBlock, i) => ({ cidrBlock, displayName: `herd-apiAccessCidrs-${i}` })),
            gcpPublicCidrsAccessEnabled: false,
        },
    };
}

/**
 * How every node runs: as the dedicated node service account (never the Compute Engine default one), with
 * permissions from IAM alone, the GKE metadata server (pods get only their Workload Identity, never the node's),
 * secure boot and integrity monitoring.
 */
export function nodeConfig(machineType: string, serviceAccountEmail: pulumi.Input<string>): gcp.types.input.container.NodePoolNodeConfig {
    return {
        machineType,
        serviceAccount: serviceAccountEmail,
        oauthScopes: [CLOUD_PLATFORM_SCOPE],
        workloadMetadataConfig: { mode: "GKE_METADATA" },
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        imageType: "COS_CONTAINERD",
        diskType: "pd-balanced",
        diskSizeGb: 100,
        metadata: { "disable-legacy-endpoints": "true" },
    };
}

/**
 * Backups expire after `retentionDays`. The bucket is versioned, so expiring (or overwriting) a live object keeps it
 * as a noncurrent version; those are deleted `NONCURRENT_VERSION_DAYS` later, which is the window to undo a mistake.
 */
export function backupLifecycleRules(retentionDays: number): gcp.types.input.storage.BucketLifecycleRule[] {
    return [
        { action: { type: "Delete" }, condition: { age: retentionDays, withState: "LIVE" } },
        { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: NONCURRENT_VERSION_DAYS, withState: "ARCHIVED" } },
    ];
}

/** herd's StorageClass on GKE: pd-balanced through the PD CSI driver, Retain, expandable, bound where the pod lands,
 * and the cluster's default (GKE's own default is switched off beside it: see GcpPlatform). */
export function gkeStorageClassArgs(): k8s.storage.v1.StorageClassArgs {
    return {
        metadata: {
            name: STORAGE_CLASS_NAME,
            labels: recommendedLabels({ name: "storage", instance: STORAGE_CLASS_NAME, component: "storage-class" }),
            annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" },
        },
        provisioner: "pd.csi.storage.gke.io",
        parameters: { type: "pd-balanced" },
        reclaimPolicy: "Retain",
        allowVolumeExpansion: true,
        volumeBindingMode: "WaitForFirstConsumer",
    };
}

export interface GkeKubeconfigArgs {
    readonly project: string;
    readonly location: string;
    readonly clusterName: string;
    /** The cluster's endpoint IP (private when the public endpoint is off). */
    readonly endpoint: string;
    /** Base64 PEM of the cluster CA, as GKE reports it. */
    readonly caCertificate: string;
}

/**
 * A kubeconfig (JSON, which every kubeconfig reader accepts) that authenticates with gke-gcloud-auth-plugin: short
 * lived tokens from the caller's Google credentials, no static secret in the file. Names follow gcloud's
 * `gke_<project>_<location>_<cluster>`.
 */
export function gkeKubeconfig(args: GkeKubeconfigArgs): string {
    const id = `gke_${args.project}_${args.location}_${args.clusterName}`;
    return JSON.stringify(
        {
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: id, cluster: { server: `https://${args.endpoint}`, "certificate-authority-data": args.caCertificate } }],
            contexts: [{ name: id, context: { cluster: id, user: id } }],
            "current-context": id,
            users: [
                {
                    name: id,
                    user: {
                        exec: {
                            apiVersion: "client.authentication.k8s.io/v1beta1",
                            command: GKE_AUTH_PLUGIN,
                            args: [],
                            installHint:
                                "Install gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin, or your OS package): " +
                                "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin",
                            provideClusterInfo: true,
                        },
                    },
                },
            ],
        },
        null,
        2,
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Resources, one small function per concern. `opts` always carries the parent and the explicit GCP provider.

type Opts = pulumi.CustomResourceOptions & { readonly provider: gcp.Provider };

function network(name: string, cfg: GcpConfig, opts: Opts): { network: gcp.compute.Network; subnet: gcp.compute.Subnetwork } {
    const vpc = new gcp.compute.Network(`${name}-network`, { autoCreateSubnetworks: false, routingMode: "REGIONAL" }, opts);
    const subnet = new gcp.compute.Subnetwork(
        `${name}-subnet`,
        {
            network: vpc.id,
            region: cfg.region,
            ipCidrRange: cfg.network.subnetCidr,
            secondaryIpRanges: [
                { rangeName: PODS_RANGE, ipCidrRange: cfg.network.podsCidr },
                { rangeName: SERVICES_RANGE, ipCidrRange: cfg.network.servicesCidr },
            ],
            // Private nodes reach Google APIs (Artifact Registry, GCS, logging) without a public IP.
            privateIpGoogleAccess: true,
        },
        opts,
    );
    const router = new gcp.compute.Router(`${name}-router`, { network: vpc.id, region: cfg.region }, opts);
    // Egress for private nodes and pods: NAT for herd's subnet only (all its ranges), so a subnet someone adds to the
    // VPC later does not silently get internet egress. Only errors are logged (translations would be noise and cost).
    new gcp.compute.RouterNat(
        `${name}-nat`,
        {
            router: router.name,
            region: cfg.region,
            natIpAllocateOption: "AUTO_ONLY",
            sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
            subnetworks: [{ name: subnet.id, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
            logConfig: { enable: true, filter: "ERRORS_ONLY" },
        },
        opts,
    );
    return { network: vpc, subnet };
}

function nodeServiceAccount(name: string, cfg: GcpStackConfig, opts: Opts): gcp.serviceaccount.Account {
    const account = new gcp.serviceaccount.Account(
        `${name}-node-sa`,
        {
            accountId: serviceAccountId(cfg.stack, "nodes"),
            displayName: `herd ${cfg.stack}: GKE nodes`,
            description: "Least-privilege identity of herd's GKE nodes (logs, metrics, image pulls from herd's repository).",
        },
        opts,
    );
    for (const role of NODE_PROJECT_ROLES) {
        new gcp.projects.IAMMember(
            `${name}-node-sa-${roleSlug(role)}`,
            { project: cfg.gcp.project, role, member: pulumi.interpolate`serviceAccount:${account.email}` },
            opts,
        );
    }
    return account;
}

function cluster(
    name: string,
    cfg: GcpStackConfig,
    net: { network: gcp.compute.Network; subnet: gcp.compute.Subnetwork },
    nodeAccount: gcp.serviceaccount.Account,
    opts: Opts,
): gcp.container.Cluster {
    const c = cfg.gcp;
    return new gcp.container.Cluster(
        `${name}-cluster`,
        {
            name: gcpId(["herd", cfg.stack], 40),
            location: c.region,
            network: net.network.id,
            subnetwork: net.subnet.id,
            networkingMode: "VPC_NATIVE",
            ipAllocationPolicy: { clusterSecondaryRangeName: PODS_RANGE, servicesSecondaryRangeName: SERVICES_RANGE },
            // Nodes live in a separately managed pool; GKE still needs a default pool to create the cluster, which
            // runs (briefly) as herd's node service account too, never as the Compute Engine default one.
            removeDefaultNodePool: true,
            initialNodeCount: 1,
            nodeConfig: nodeConfig(c.nodes.machineType, nodeAccount.email),
            minMasterVersion: c.kubernetesVersion,
            releaseChannel: { channel: c.releaseChannel },
            workloadIdentityConfig: { workloadPool: `${c.project}.svc.id.goog` },
            // Dataplane V2 (eBPF): enforces NetworkPolicy without the Calico add-on.
            datapathProvider: "ADVANCED_DATAPATH",
            enableShieldedNodes: true,
            deletionProtection: c.deletionProtection,
            ...controlPlaneAccess(c.apiAccessCidrs, c.network.masterCidr),
            addonsConfig: {
                gcePersistentDiskCsiDriverConfig: { enabled: true },
                // Backs the backend service-based load balancers LoadBalancer Services get.
                httpLoadBalancing: { disabled: false },
            },
        },
        // nodeConfig describes the default pool, which is deleted right after creation: a later change to it must
        // not touch (or, for some fields, replace) the cluster.
        { ...opts, ignoreChanges: ["nodeConfig"] },
    );
}

function nodePool(
    name: string,
    cfg: GcpConfig,
    gke: gcp.container.Cluster,
    nodeAccount: gcp.serviceaccount.Account,
    opts: Opts,
): gcp.container.NodePool {
    return new gcp.container.NodePool(
        `${name}-nodes`,
        {
            cluster: gke.id,
            location: cfg.region,
            // Per zone, used only at creation (a change would replace the pool); the autoscaler owns the size after.
            initialNodeCount: Math.max(1, cfg.nodes.minPerZone),
            autoscaling: { minNodeCount: cfg.nodes.minPerZone, maxNodeCount: cfg.nodes.maxPerZone, locationPolicy: "BALANCED" },
            management: { autoRepair: true, autoUpgrade: true },
            // Surge upgrades: a new node joins before an old one drains, so capacity never drops.
            upgradeSettings: { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 },
            nodeConfig: nodeConfig(cfg.nodes.machineType, nodeAccount.email),
        },
        { ...opts, ignoreChanges: ["initialNodeCount"] },
    );
}

function registry(name: string, cfg: GcpStackConfig, nodeAccount: gcp.serviceaccount.Account, opts: Opts): gcp.artifactregistry.Repository {
    const repo = new gcp.artifactregistry.Repository(
        `${name}-registry`,
        {
            repositoryId: gcpId(["herd", cfg.stack], 63),
            location: cfg.gcp.region,
            format: "DOCKER",
            description: `herd ${cfg.stack}: api and frontend images`,
        },
        opts,
    );
    new gcp.artifactregistry.RepositoryIamMember(
        `${name}-node-sa-registry-reader`,
        {
            project: cfg.gcp.project,
            location: repo.location,
            repository: repo.repositoryId,
            role: REGISTRY_READER_ROLE,
            member: pulumi.interpolate`serviceAccount:${nodeAccount.email}`,
        },
        opts,
    );
    return repo;
}

function backupBucket(name: string, cfg: GcpStackConfig, opts: Opts): gcp.storage.Bucket {
    return new gcp.storage.Bucket(
        `${name}-backups`,
        {
            location: cfg.gcp.region,
            storageClass: "STANDARD",
            uniformBucketLevelAccess: true,
            publicAccessPrevention: "enforced",
            versioning: { enabled: true },
            lifecycleRules: backupLifecycleRules(cfg.data.backup.retentionDays),
            forceDestroy: false,
        },
        // It holds the backups. `protect` (herd:protectData, on unless a stack is throwaway) stops a replacement or
        // `pulumi destroy` from dropping it; `retainOnDelete`, always on, means that even an unprotected destroy only
        // forgets the bucket and leaves the backups in place (the lifecycle rules still expire them, so an orphaned
        // bucket empties itself). Delete it by hand when that is really meant.
        { ...opts, protect: cfg.data.protect, retainOnDelete: true },
    );
}

/** Images are built and pushed to herd's repository as whoever runs `pulumi up`: an OAuth access token of theirs
 * (valid about an hour, enough for a run's pushes), always secret. */
function imageSource(cfg: GcpConfig, repo: gcp.artifactregistry.Repository, opts: Opts): Extract<ImageSource, { kind: "build" }> {
    const host = registryHost(cfg.region);
    const repoPath = pulumi.interpolate`${host}/${cfg.project}/${repo.repositoryId}`;
    const client = gcp.organizations.getClientConfigOutput(opts);
    return {
        kind: "build",
        registry: { server: host, username: "oauth2accesstoken", password: pulumi.secret(client.accessToken) },
        repositories: { api: pulumi.interpolate`${repoPath}/api`, frontend: pulumi.interpolate`${repoPath}/frontend` },
    };
}

/**
 * herd's StorageClass, and exactly one default class: herd's. GKE creates standard-rwo as the default and never
 * reconciles it back (its addon manager only ensures the object exists), so herd switches its default flag off, once
 * herd's own class is in place. `patchForce` takes the annotation over from GKE's field manager.
 */
function storage(name: string, provider: k8s.Provider, parent: pulumi.Resource): k8s.storage.v1.StorageClass {
    const storageClass = new k8s.storage.v1.StorageClass(`${name}-storage`, gkeStorageClassArgs(), { parent, provider });
    new k8s.storage.v1.StorageClassPatch(
        `${name}-gke-default-storage`,
        {
            metadata: {
                name: GKE_DEFAULT_STORAGE_CLASS,
                annotations: { [DEFAULT_CLASS_ANNOTATION]: "false", "pulumi.com/patchForce": "true" },
            },
        },
        { parent, provider, dependsOn: [storageClass] },
    );
    return storageClass;
}

/** The cluster's kubeconfig, always secret. With the public endpoint off, it points at the private endpoint. */
function kubeconfig(cfg: GcpConfig, gke: gcp.container.Cluster): pulumi.Output<string> {
    const endpoint = cfg.apiAccessCidrs.length === 0 ? gke.privateClusterConfig.privateEndpoint : gke.endpoint;
    return pulumi.secret(
        pulumi
            .all([gke.name, endpoint, gke.masterAuth.clusterCaCertificate])
            .apply(([clusterName, host, caCertificate]) =>
                gkeKubeconfig({ project: cfg.project, location: cfg.region, clusterName, endpoint: host, caCertificate }),
            ),
    );
}

// ---------------------------------------------------------------------------------------------------------------

export class GcpPlatform extends pulumi.ComponentResource implements Platform {
    readonly name = "gcp" as const;
    readonly provider: k8s.Provider;
    readonly secretsProvider: k8s.Provider;
    readonly storageClassName: pulumi.Output<string>;
    readonly images: ImageSource;
    readonly exposure: Exposure;
    readonly backupStore: BackupStore;
    readonly workloadIdentity: WorkloadIdentity;
    readonly outputs: Readonly<Record<string, pulumi.Input<unknown>>>;
    /** Kubeconfig for the cluster (gke-gcloud-auth-plugin); always a secret. */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, cfg: GcpStackConfig, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:GcpPlatform", name, {}, opts);
        const c = cfg.gcp;

        const gcpProvider = new gcp.Provider(
            `${name}-provider`,
            { project: c.project, region: c.region, defaultLabels: defaultLabels(cfg.stack) },
            { parent: this },
        );
        const on: Opts = { parent: this, provider: gcpProvider };

        const net = network(name, c, on);
        const nodeAccount = nodeServiceAccount(name, cfg, on);
        const gke = cluster(name, cfg, net, nodeAccount, on);
        const pool = nodePool(name, c, gke, nodeAccount, on);
        const repo = registry(name, cfg, nodeAccount, on);
        const bucket = backupBucket(name, cfg, on);

        this.kubeconfig = kubeconfig(c, gke);
        // Depends on the node pool so that workloads are created once there are nodes to run them.
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: this.kubeconfig, enableServerSideApply: true },
            { parent: this, dependsOn: [pool] },
        );
        this.secretsProvider = this.provider;

        const storageClass = storage(name, this.provider, this);
        this.storageClassName = storageClass.metadata.name;

        const images = imageSource(c, repo, on);
        this.images = images;
        this.exposure = { kind: "loadBalancer", annotations: { ...LOAD_BALANCER_ANNOTATIONS }, reportsAddressAs: "ip" };
        this.backupStore = { kind: "gcs", bucket: bucket.name };
        this.workloadIdentity = { bind: (args) => bindBackupWriter({ ...args, cfg, bucket, cluster: gke, provider: gcpProvider }) };

        this.outputs = {
            platform: "gcp",
            project: c.project,
            region: c.region,
            clusterName: gke.name,
            kubeconfig: this.kubeconfig,
            storageClass: this.storageClassName,
            registry: images.repositories,
            backupBucket: bucket.name,
        };
        this.registerOutputs({ clusterName: gke.name, kubeconfig: this.kubeconfig, storageClassName: this.storageClassName });
    }
}

/**
 * A Google service account for one backup job, allowed to write to (and read from) the backup bucket only, and the
 * Workload Identity grant that lets the job's Kubernetes ServiceAccount act as it. Created under the caller's parent.
 */
function bindBackupWriter(args: {
    readonly name: string;
    readonly namespace: pulumi.Input<string>;
    readonly serviceAccountName: string;
    readonly parent: pulumi.Resource;
    readonly cfg: GcpStackConfig;
    readonly bucket: gcp.storage.Bucket;
    readonly cluster: gcp.container.Cluster;
    readonly provider: gcp.Provider;
}): IdentityBinding {
    const on: Opts = { parent: args.parent, provider: args.provider };
    const account = new gcp.serviceaccount.Account(
        `${args.name}-gsa`,
        {
            accountId: serviceAccountId(args.cfg.stack, args.name),
            displayName: `herd ${args.cfg.stack}: ${args.name}`,
            description: pulumi.interpolate`Writes backups for ${args.namespace}/${args.serviceAccountName} (Workload Identity).`,
        },
        on,
    );
    const member = pulumi.interpolate`serviceAccount:${account.email}`;
    for (const role of BACKUP_BUCKET_ROLES) {
        new gcp.storage.BucketIAMMember(`${args.name}-gsa-${roleSlug(role)}`, { bucket: args.bucket.name, role, member }, on);
    }
    new gcp.serviceaccount.IAMMember(
        `${args.name}-workload-identity`,
        {
            serviceAccountId: account.name,
            role: WORKLOAD_IDENTITY_USER_ROLE,
            member: pulumi
                .output(args.namespace)
                .apply((namespace) => workloadIdentityMember(args.cfg.gcp.project, namespace, args.serviceAccountName)),
        },
        // The identity pool <project>.svc.id.goog exists only once a cluster with Workload Identity does; before
        // that, IAM refuses the member.
        { ...on, dependsOn: [args.cluster] },
    );
    return {
        serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": account.email },
        env: BACKUP_UPLOAD_ENV.map((e) => ({ ...e })),
    };
}

/** Builds the GCP platform. Kept as a function: platform/index.ts loads this module (and @pulumi/gcp) lazily. */
export function createGcpPlatform(cfg: GcpStackConfig): Platform {
    return new GcpPlatform("gcp", cfg);
}
