/**
 * GCP: a regional, private GKE cluster herd creates, with its VPC and Cloud NAT, Artifact Registry, a pd-balanced
 * StorageClass that keeps its disks, and a GCS bucket for backups that a backup job reaches through Workload Identity.
 *
 * Every GCP resource is created with one explicit `gcp.Provider` (project and region from the stack's config, never
 * the ambient gcloud settings), which also stamps default labels on everything that takes labels.
 *
 * The pieces live in platform/gcp/: common (ids, labels, options), network (VPC, subnet, Cloud NAT), cluster (GKE,
 * node pool, node service account, kubeconfig), registry (Artifact Registry), backups (GCS bucket, Workload Identity)
 * and storage (StorageClass). Their pure pieces (names, the control-plane access rule, node config, lifecycle rules,
 * the kubeconfig) are exported functions, so tests check them directly; the class only wires resources together.
 * This module loads @pulumi/gcp, so platform/index.ts requires it only on stacks whose platform is gcp.
 */
import * as gcp from "./gcp/sdk";
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import type { HerdConfig } from "../config";
import { K8S_PROVIDER_SETTINGS, type Platform } from "./contract";
import { bindBackupWriter, createBackupBucket, gcsRepository, gcsUploader } from "./gcp/backups";
import { clusterKubeconfig, createCluster, createNodePool, createNodeServiceAccount } from "./gcp/cluster";
import { defaultLabels, GcpOpts } from "./gcp/common";
import { createGcpHttps } from "./gcp/https";
import { createNetwork, createPrivateGoogleApis, loadBalancerSources } from "./gcp/network";
import { createRegistry, registryImageSource } from "./gcp/registry";
import { createStorage } from "./gcp/storage";

export type GcpStackConfig = HerdConfig & { platform: "gcp" };

/** External LoadBalancer Services get a backend service-based passthrough NLB (GKE's recommendation over the
 * legacy target-pool NLB); it still reports an IP. */
export const LOAD_BALANCER_ANNOTATIONS: Readonly<Record<string, string>> = { "cloud.google.com/l4-rbs": "enabled" };

export class GcpPlatform extends pulumi.ComponentResource {
    /** What components receive: the contract, built once the pieces exist. */
    readonly platform: Platform;
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
        const on: GcpOpts = { parent: this, provider: gcpProvider };

        const net = createNetwork(name, c, on);
        // Google APIs (Cloud Storage for the backups) through private.googleapis.com, so the backup clients' egress
        // names one /30 instead of any address on 443.
        createPrivateGoogleApis(name, net.network, on);
        const nodeAccount = createNodeServiceAccount(name, cfg.stack, c, on);
        const gke = createCluster(name, cfg.stack, c, net, nodeAccount, on, cfg.waits);
        const pool = createNodePool(name, c, gke, nodeAccount, on, cfg.waits);
        const repo = createRegistry(name, cfg.stack, c, nodeAccount, on);
        const bucket = createBackupBucket(name, c, cfg.data.backup.retentionDays, cfg.data.protect, on);

        this.kubeconfig = clusterKubeconfig(c, gke);
        // Depends on the node pool so that workloads are created once there are nodes to run them (GKE runs its
        // own DNS from the start): links 1 and 2 of the gcp stack's wait chain (tests/wait-chain.test.ts).
        const provider = new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: this.kubeconfig, ...K8S_PROVIDER_SETTINGS },
            { parent: this, dependsOn: [pool] },
        );

        const storageClass = createStorage(name, provider, this, c.regionalDisks);
        const storageClassName = storageClass.metadata.name;
        const images = registryImageSource(c, repo, on);
        // With a host name: a GKE Ingress with a Google-managed certificate (platform/gcp/https.ts); without, plain HTTP.
        const https = c.https === undefined ? undefined : createGcpHttps(name, cfg.stack, c, c.https, on);

        this.platform = {
            name: "gcp",
            provider,
            secretsProvider: provider,
            storageClassName,
            images,
            exposure: https?.exposure ?? {
                kind: "loadBalancer",
                annotations: { ...LOAD_BALANCER_ANNOTATIONS },
                reportsAddressAs: "ip",
                sources: loadBalancerSources(c.network.podsCidr),
            },
            backupStore: { kind: "objectStore", uploader: gcsUploader(bucket.name, "privateGoogleApis") },
            workloadIdentity: { bind: (args) => bindBackupWriter({ ...args, stack: cfg.stack, project: c.project, bucket, cluster: gke, provider: gcpProvider }) },
            repository: (purpose) => gcsRepository(purpose, { stack: cfg.stack, project: c.project, bucket, cluster: gke, provider: gcpProvider }, "privateGoogleApis"),
            outputs: {
                platform: "gcp",
                project: c.project,
                region: c.region,
                clusterName: gke.name,
                kubeconfig: this.kubeconfig,
                storageClass: storageClassName,
                registry: images.repositories,
                backupBucket: bucket.name,
                ...(https === undefined
                    ? {}
                    : { exposure: "ingress (gce: HTTPS with a Google-managed certificate, HTTP redirects to https)", https: https.outputs }),
            },
        };
        this.registerOutputs({ clusterName: gke.name, kubeconfig: this.kubeconfig, storageClassName });
    }
}

/** Builds the GCP platform. Kept as a function: platform/index.ts loads this module (and @pulumi/gcp) lazily. */
export function createGcpPlatform(cfg: GcpStackConfig): Platform {
    return new GcpPlatform("gcp", cfg).platform;
}
