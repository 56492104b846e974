/**
 * The GKE cluster: regional and private, VPC-native, Workload Identity on, Dataplane V2, shielded nodes, with the
 * public endpoint open to the configured CIDRs only (or off); its nodes in one separately managed, autoscaled pool
 * that runs as a dedicated least-privilege service account; and the kubeconfig (gke-gcloud-auth-plugin) to reach it.
 */
import * as gcp from "./sdk";
import * as pulumi from "@pulumi/pulumi";
import type { GcpConfig } from "../../config";
import { GcpOpts, gcpId, roleSlug, serviceAccountId } from "./common";
import { Network, PODS_RANGE, SERVICES_RANGE } from "./network";
import { type WaitMinutes, waitOptions } from "../../lib/waits";
import { type MaintenanceExclusion, type MaintenanceWindow, recurringWindow } from "../../config/gcp-maintenance";

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
export const GKE_AUTH_PLUGIN = "gke-gcloud-auth-plugin";

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
 * GKE's maintenance policy: the weekly window (config/gcp-maintenance.ts renders it as a first occurrence and an
 * RRULE, in UTC) and the exclusions, each with its scope. No window days: no policy at all, GKE's default of
 * maintaining at any time (the config refuses exclusions without a window).
 */
export function maintenancePolicy(
    window: MaintenanceWindow,
    exclusions: readonly MaintenanceExclusion[],
): gcp.types.input.container.ClusterMaintenancePolicy | undefined {
    const recurring = recurringWindow(window);
    if (recurring === undefined) {
        return undefined;
    }
    return {
        recurringWindow: recurring,
        maintenanceExclusions: exclusions.map((e) => ({
            exclusionName: e.name,
            startTime: e.start,
            endTime: e.end,
            exclusionOptions: { scope: e.scope },
        })),
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

export function createNodeServiceAccount(name: string, stack: string, cfg: GcpConfig, opts: GcpOpts): gcp.serviceaccount.Account {
    const account = new gcp.serviceaccount.Account(
        `${name}-node-sa`,
        {
            accountId: serviceAccountId(stack, "nodes"),
            displayName: `herd ${stack}: GKE nodes`,
            description: "Least-privilege identity of herd's GKE nodes (logs, metrics, image pulls from herd's repository).",
        },
        opts,
    );
    for (const role of NODE_PROJECT_ROLES) {
        new gcp.projects.IAMMember(
            `${name}-node-sa-${roleSlug(role)}`,
            { project: cfg.project, role, member: pulumi.interpolate`serviceAccount:${account.email}` },
            opts,
        );
    }
    return account;
}

export function createCluster(
    name: string,
    stack: string,
    c: GcpConfig,
    net: Network,
    nodeAccount: gcp.serviceaccount.Account,
    opts: GcpOpts,
    waits: WaitMinutes,
): gcp.container.Cluster {
    return new gcp.container.Cluster(
        `${name}-cluster`,
        {
            name: gcpId(["herd", stack], 40),
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
            // When GKE may upgrade the control plane and nodes on its own (herd:gcpMaintenance*).
            maintenancePolicy: maintenancePolicy(c.maintenance.window, c.maintenance.exclusions),
            ...controlPlaneAccess(c.apiAccessCidrs, c.network.masterCidr),
            addonsConfig: {
                gcePersistentDiskCsiDriverConfig: { enabled: true },
                // Backs the backend service-based load balancers LoadBalancer Services get.
                httpLoadBalancing: { disabled: false },
            },
        },
        // nodeConfig describes the default pool, which is deleted right after creation: a later change to it must
        // not touch (or, for some fields, replace) the cluster.
        { ...opts, ignoreChanges: ["nodeConfig"], ...waitOptions("cluster", waits) },
    );
}

export function createNodePool(
    name: string,
    cfg: GcpConfig,
    gke: gcp.container.Cluster,
    nodeAccount: gcp.serviceaccount.Account,
    opts: GcpOpts,
    waits: WaitMinutes,
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
        { ...opts, ignoreChanges: ["initialNodeCount"], ...waitOptions("cluster", waits) },
    );
}

/** The cluster's kubeconfig, always secret. With the public endpoint off, it points at the private endpoint. */
export function clusterKubeconfig(cfg: GcpConfig, gke: gcp.container.Cluster): pulumi.Output<string> {
    const endpoint = cfg.apiAccessCidrs.length === 0 ? gke.privateClusterConfig.privateEndpoint : gke.endpoint;
    return pulumi.secret(
        pulumi
            .all([gke.name, endpoint, gke.masterAuth.clusterCaCertificate])
            .apply(([clusterName, host, caCertificate]) =>
                gkeKubeconfig({ project: cfg.project, location: cfg.region, clusterName, endpoint: host, caCertificate }),
            ),
    );
}
