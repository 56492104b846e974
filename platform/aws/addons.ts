/**
 * The cluster add-ons the app needs beyond storage: metrics-server, the EKS community add-on that serves resource
 * metrics (the API's HorizontalPodAutoscaler reads CPU from it; without it the HPA never scales), and node autoscaling:
 * cluster-autoscaler, a pinned Helm release of the Kubernetes autoscaler project's chart, with its own IRSA role that
 * may only resize and shrink this cluster's node groups. Without it the node group's min and max change nothing.
 *
 * Helm is imported here and only here (the release module alone, not the Helm package's index with its Chart and
 * YAML helpers): only the aws stack loads it.
 */
import * as aws from "./sdk";
import * as pulumi from "@pulumi/pulumi";
import { Release } from "@pulumi/kubernetes/helm/v3/release";
import type * as k8s from "../../lib/k8s";
import type { AwsConfig } from "../../config";
import { CLUSTER_AUTOSCALER_IMAGE_TAGS } from "../../config/build-aws";
import { AwsContext, awsOpts, irsaTrustPolicy } from "./common";
import { addonVersion, Cluster } from "./cluster";
import { waitMinutes, waitOptions } from "../../lib/waits";
import { mirrorRepository } from "../../lib/image-mirror";

/** The chart, pinned: its templates and defaults change only when herd changes this version. */
export const CLUSTER_AUTOSCALER_CHART = { repo: "https://kubernetes.github.io/autoscaler", chart: "cluster-autoscaler", version: "9.59.0" } as const;
export const CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler";
/** Where it runs and as whom (the IRSA trust names exactly this ServiceAccount). */
export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = { namespace: "kube-system", name: "cluster-autoscaler" } as const;
/** The user the autoscaler's process runs as (nobody): the image needs no other. */
const NOBODY = 65534;

/** The autoscaler's image tag for the cluster's Kubernetes minor version (its minor must match the cluster's). */
export function clusterAutoscalerImageTag(kubernetesVersion: string): string {
    const tag = CLUSTER_AUTOSCALER_IMAGE_TAGS[kubernetesVersion];
    if (tag === undefined) {
        // config/build-aws.ts refuses such a stack; reaching this is a herd bug.
        throw new Error(`herd:awsNodeAutoscaling: no cluster-autoscaler release is pinned for Kubernetes ${kubernetesVersion}`);
    }
    return tag;
}

/** Auto Scaling reads the autoscaler needs to find the node groups and their instances (no resource-level scoping exists for them). */
export const CLUSTER_AUTOSCALER_READ_ACTIONS: readonly string[] = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
];
/** What changes anything: only on Auto Scaling groups tagged as this cluster's and enabled for autoscaling. */
export const CLUSTER_AUTOSCALER_WRITE_ACTIONS: readonly string[] = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"];

/**
 * The autoscaler's IAM policy: reads where AWS allows no scoping; `eks:DescribeNodegroup` on herd's node group only
 * (labels and taints when it is at zero); resizing and terminating only in Auto Scaling groups of this region that
 * carry both discovery tags EKS puts on a managed node group's group (`k8s.io/cluster-autoscaler/<cluster>: owned`,
 * `k8s.io/cluster-autoscaler/enabled: true`): no other cluster's nodes, no other group in the account.
 */
export function clusterAutoscalerPolicy(clusterName: string, nodeGroupArn: string, partition: string, region: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Sid: "Discover", Effect: "Allow", Action: [...CLUSTER_AUTOSCALER_READ_ACTIONS], Resource: "*" },
            { Sid: "NodeGroup", Effect: "Allow", Action: ["eks:DescribeNodegroup"], Resource: nodeGroupArn },
            {
                Sid: "Scale",
                Effect: "Allow",
                Action: [...CLUSTER_AUTOSCALER_WRITE_ACTIONS],
                Resource: `arn:${partition}:autoscaling:${region}:*:autoScalingGroup:*:autoScalingGroupName/*`,
                Condition: {
                    StringEquals: {
                        [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned",
                        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                    },
                },
            },
        ],
    });
}

/**
 * The chart's values: AWS with auto-discovery of this cluster's tagged groups, the image for the cluster's minor
 * version, the IRSA role on its ServiceAccount, and herd's pod defaults (non-root, RuntimeDefault seccomp, no
 * capabilities, read-only root filesystem, requests and limits).
 */
export function clusterAutoscalerValues(args: {
    readonly clusterName: pulumi.Input<string>;
    readonly region: string;
    readonly roleArn: pulumi.Input<string>;
    readonly kubernetesVersion: string;
    /** herd:imageRegistryMirror: the chart's image is pulled from there (lib/image-mirror.ts's rule); undefined: from its registry. */
    readonly imageRegistryMirror?: string | undefined;
}): Record<string, unknown> {
    const mirror = args.imageRegistryMirror;
    const repository = mirror === undefined ? CLUSTER_AUTOSCALER_IMAGE : mirrorRepository(CLUSTER_AUTOSCALER_IMAGE, { location: mirror, keep: [] });
    return {
        cloudProvider: "aws",
        awsRegion: args.region,
        // Finds the groups tagged k8s.io/cluster-autoscaler/enabled and k8s.io/cluster-autoscaler/<cluster> (the
        // chart's default tags), which EKS sets on every managed node group's Auto Scaling group.
        autoDiscovery: { clusterName: args.clusterName },
        fullnameOverride: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.name,
        image: { repository, tag: clusterAutoscalerImageTag(args.kubernetesVersion), pullPolicy: "IfNotPresent" },
        rbac: {
            create: true,
            serviceAccount: {
                create: true,
                name: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.name,
                annotations: { "eks.amazonaws.com/role-arn": args.roleArn },
            },
        },
        replicaCount: 1,
        extraArgs: {
            // herd's pods write only to emptyDir scratch; the default (true) would keep every node that runs one.
            "skip-nodes-with-local-storage": false,
            expander: "least-waste",
        },
        // Never evicted to empty its own node: it would be the one to bring the cluster back.
        podAnnotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" },
        securityContext: {
            runAsNonRoot: true,
            runAsUser: NOBODY,
            runAsGroup: NOBODY,
            fsGroup: NOBODY,
            seccompProfile: { type: "RuntimeDefault" },
        },
        containerSecurityContext: {
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
        },
        resources: { requests: { cpu: "100m", memory: "600Mi" }, limits: { cpu: "200m", memory: "600Mi" } },
    };
}

export interface Addons {
    readonly metricsServer: aws.eks.Addon;
    /** Undefined with herd:awsNodeAutoscaling off. */
    readonly clusterAutoscaler: { readonly role: aws.iam.Role; readonly policy: aws.iam.RolePolicy; readonly release: Release } | undefined;
}

export function createAddons(ctx: AwsContext, cfg: AwsConfig, cluster: Cluster, provider: k8s.Provider): Addons {
    const { name } = ctx;
    const metricsServer = new aws.eks.Addon(
        `${name}-metrics-server`,
        {
            clusterName: cluster.clusterName,
            addonName: "metrics-server",
            addonVersion: addonVersion(ctx, "metrics-server", cfg.kubernetesVersion),
            resolveConflictsOnCreate: "OVERWRITE",
            resolveConflictsOnUpdate: "OVERWRITE",
        },
        // Its pods need nodes to run on.
        awsOpts(ctx, { dependsOn: [cluster.nodeGroup], ...waitOptions("cluster", ctx.waits) }),
    );
    return { metricsServer, clusterAutoscaler: cfg.nodes.autoscaling === "cluster-autoscaler" ? createClusterAutoscaler(ctx, cfg, cluster, provider) : undefined };
}

function createClusterAutoscaler(ctx: AwsContext, cfg: AwsConfig, cluster: Cluster, provider: k8s.Provider): NonNullable<Addons["clusterAutoscaler"]> {
    const { name } = ctx;
    const { namespace, name: serviceAccount } = CLUSTER_AUTOSCALER_SERVICE_ACCOUNT;
    const role = new aws.iam.Role(
        `${name}-cluster-autoscaler-role`,
        {
            description: "cluster-autoscaler (IRSA): resizes this cluster's node groups",
            assumeRolePolicy: irsaTrustPolicy(cluster.oidcProviderArn, cluster.oidcIssuer, namespace, serviceAccount),
        },
        awsOpts(ctx),
    );
    const policy = new aws.iam.RolePolicy(
        `${name}-cluster-autoscaler-policy`,
        {
            role: role.name,
            policy: pulumi
                .all([cluster.clusterName, cluster.nodeGroup.arn, ctx.partition])
                .apply(([clusterName, nodeGroupArn, partition]) => clusterAutoscalerPolicy(clusterName, nodeGroupArn, partition, ctx.region)),
        },
        awsOpts(ctx),
    );
    const release = new Release(
        `${name}-cluster-autoscaler`,
        {
            name: serviceAccount,
            namespace,
            chart: CLUSTER_AUTOSCALER_CHART.chart,
            version: CLUSTER_AUTOSCALER_CHART.version,
            repositoryOpts: { repo: CLUSTER_AUTOSCALER_CHART.repo },
            values: clusterAutoscalerValues({ clusterName: cluster.clusterName, region: ctx.region, roleArn: role.arn, kubernetesVersion: cfg.kubernetesVersion, imageRegistryMirror: cfg.imageRegistryMirror }),
            // A failed install or upgrade is rolled back, not left half-applied.
            atomic: true,
            cleanupOnFail: true,
            maxHistory: 10,
            timeout: waitMinutes("cluster", ctx.waits) * 60,
        },
        // Its first scan calls AWS at once: the role's policy comes first.
        { parent: ctx.parent, provider, dependsOn: [policy], ...waitOptions("cluster", ctx.waits) },
    );
    return { role, policy, release };
}
