/**
 * aws: an EKS cluster herd creates, in a VPC it creates, with ECR for images, gp3 (EBS CSI) for data, an S3 bucket
 * for backups and IRSA for the backup job's identity. Every AWS resource and invoke goes through one explicit
 * provider for the configured region, so the stack never depends on an ambient aws:region; the provider's default
 * tags mark everything as herd's.
 *
 * The pieces live in platform/aws/: network (VPC, subnets, NAT), cluster (EKS, nodes), storage (EBS CSI,
 * StorageClass), registry (ECR) and backups (S3, IRSA). This module loads @pulumi/aws and @pulumi/eks (~300 ms), so
 * platform/index.ts requires it only on stacks whose platform is aws.
 */
import * as aws from "./aws/sdk";
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import type { HerdConfig } from "../config";
import { MANAGED_BY, PART_OF } from "../lib/labels";
import { createS3BackupBucket, bindBackupIdentity, s3Repository, s3Uploader, uploaderEgress } from "./aws/backups";
import { createCluster } from "./aws/cluster";
import { createAddons } from "./aws/addons";
import { createAwsHttps, nlbHttpsExposure } from "./aws/https";
import { AwsContext, physicalPrefix } from "./aws/common";
import { createNetwork, loadBalancerSources } from "./aws/network";
import { createRegistry } from "./aws/registry";
import { createStorage } from "./aws/storage";
import { type Exposure, K8S_PROVIDER_SETTINGS, type Platform } from "./contract";

export type AwsStackConfig = HerdConfig & { platform: "aws" };

/** Tags on every AWS resource herd creates (the provider's default tags). */
export function awsDefaultTags(stack: string): Record<string, string> {
    return { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": MANAGED_BY, "herd:stack": stack };
}

/**
 * How the front end is exposed: a LoadBalancer Service that the cluster's built-in AWS cloud controller turns into an
 * internet-facing Network Load Balancer (instance targets) in the public subnets. herd does not install the AWS Load
 * Balancer Controller; the scheme annotation is what that controller reads, so the NLB stays internet-facing if one is
 * added later (the built-in controller is internet-facing unless told `aws-load-balancer-internal`).
 */
export function nlbExposure(tags: Readonly<Record<string, string>>): Extract<Exposure, { kind: "loadBalancer" }> {
    return {
        kind: "loadBalancer",
        annotations: {
            "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
            "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": Object.entries(tags)
                .map(([k, v]) => `${k}=${v}`)
                .join(","),
        },
        reportsAddressAs: "hostname",
    };
}

export class AwsPlatform extends pulumi.ComponentResource {
    /** What components receive: the contract, built once the pieces exist. */
    readonly platform: Platform;
    /** The provider every AWS resource of this stack uses. */
    readonly awsProvider: aws.Provider;
    readonly clusterName: pulumi.Output<string>;
    /** Secret: exec-based (`aws eks get-token`), so it holds no credential, but it maps the cluster. */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, cfg: AwsStackConfig, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:AwsPlatform", name, {}, opts);
        const settings = cfg.aws;
        const tags = awsDefaultTags(cfg.stack);

        this.awsProvider = new aws.Provider(`${name}-provider`, { region: settings.region, defaultTags: { tags } }, { parent: this });
        const partition = aws.getPartitionOutput({}, { parent: this, provider: this.awsProvider });
        const prefix = physicalPrefix(pulumi.getProject(), cfg.stack);
        const ctx: AwsContext = {
            name,
            parent: this,
            provider: this.awsProvider,
            prefix,
            region: settings.region,
            partition: partition.partition,
            waits: cfg.waits,
            dnsSuffix: partition.dnsSuffix,
            tags,
        };

        // The cluster's name is fixed (herd-<stack>): the subnets carry it in their discovery tags before it exists.
        const network = createNetwork(ctx, settings, prefix);
        const cluster = createCluster(ctx, settings, network, prefix);
        this.clusterName = cluster.clusterName;
        this.kubeconfig = cluster.kubeconfig;

        const provider = new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: cluster.kubeconfig, ...K8S_PROVIDER_SETTINGS },
            // Workloads wait for nodes to run on and DNS to resolve with: links 2 and 3 of the aws stack's wait chain
            // (tests/wait-chain.test.ts). Without nodes nothing schedules; without CoreDNS nginx cannot resolve the
            // API's name at start and would crash-loop with a growing back-off, costing more than the wait.
            // And for the VPC CNI's NetworkPolicy enforcement: no pod starts unguarded.
            { parent: this, dependsOn: [cluster.nodeGroup, cluster.coredns, cluster.vpcCni] },
        );
        const storage = createStorage(ctx, settings, cluster, provider);
        // metrics-server for the API's autoscaler, and node autoscaling (herd:awsNodeAutoscaling).
        createAddons(ctx, settings, cluster, provider);
        const storageClassName = storage.storageClass.metadata.name;

        const registry = createRegistry(ctx, settings.ecrKeepImages);
        const repositories = {
            api: registry.repositories.api.repositoryUrl,
            frontend: registry.repositories.frontend.repositoryUrl,
            postgres: registry.repositories.postgres.repositoryUrl,
        };
        const backups = createS3BackupBucket(ctx, cfg.data.backup.retentionDays, cfg.data.protect);
        // With a host name, TLS ends at the NLB with an ACM certificate (platform/aws/https.ts); without, plain HTTP.
        const https = settings.https === undefined ? undefined : createAwsHttps(ctx, settings.https);
        // From outside the VPC's pod and node ranges only: the NLB keeps the client's address (instance targets,
        // externalTrafficPolicy Local), and its health checks go to kube-proxy's port on the node, not to the pods.
        const exposure: Exposure = {
            ...(https === undefined ? nlbExposure(tags) : nlbHttpsExposure(nlbExposure(tags), https)),
            sources: loadBalancerSources(network.privateCidrs),
        };

        this.platform = {
            name: "aws",
            provider,
            secretsProvider: provider,
            storageClassName,
            images: { kind: "build", registry: registry.access, repositories },
            exposure,
            backupStore: { kind: "objectStore", uploader: s3Uploader(backups.bucket.bucket, settings.region, undefined, uploaderEgress(network)) },
            workloadIdentity: { bind: (args) => bindBackupIdentity(ctx, backups, cluster, args) },
            repository: (purpose) => s3Repository(ctx, backups, cluster, purpose),
            outputs: {
                platform: "aws",
                region: settings.region,
                clusterName: this.clusterName,
                kubeconfig: this.kubeconfig,
                storageClass: storageClassName,
                registry: repositories,
                backupBucket: backups.bucket.bucket,
                exposure: "loadBalancer (nlb)",
                // With a host name: TLS on 443 and a redirect on 80; the host, the certificate, who writes the DNS.
                ...(https === undefined ? {} : { https: https.outputs }),
            },
        };
        this.registerOutputs({ clusterName: this.clusterName, storageClassName, backupBucket: backups.bucket.bucket });
    }
}

export function createAwsPlatform(cfg: AwsStackConfig): Platform {
    return new AwsPlatform("aws", cfg).platform;
}
