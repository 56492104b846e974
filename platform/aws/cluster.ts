/**
 * The EKS cluster: pulumi-eks's Cluster (control plane, OIDC provider for IRSA, access entries, kube-proxy and VPC CNI
 * add-ons, the CNI enforcing NetworkPolicies) with no default node group and an explicit upgrade policy, plus herd's
 * own managed node group in the private subnets (IMDSv2 only, encrypted gp3 root volumes, rolling updates a share of
 * the nodes at a time) and the CoreDNS add-on once there are nodes to run it.
 */
import * as aws from "./sdk";
import * as eks from "./eks-sdk";
import type { AccessEntryArgs } from "@pulumi/eks/types/input";
import * as pulumi from "@pulumi/pulumi";
import type { AwsConfig } from "../../config";
import { AwsContext, awsOpts, managedPolicyArn } from "./common";
import type { Network } from "./network";
import { waitOptions } from "../../lib/waits";

/** Control-plane logs sent to CloudWatch: API calls, the audit trail, and who authenticated as whom. */
export const CONTROL_PLANE_LOG_TYPES: readonly string[] = ["api", "audit", "authenticator"];

/**
 * The VPC CNI add-on's configuration: its network policy agent on. Without it EKS accepts NetworkPolicy objects and
 * enforces none of them (the CNI's default is off). Fixed, not a setting: herd's policies are part of its security
 * model. herd manages the add-on itself (pulumi-eks's own is turned off), so the setting is in herd's program, where a
 * preview, the policy pack and the offline tests see it.
 */
export const VPC_CNI_CONFIGURATION = { enableNetworkPolicy: "true" } as const;

/** The AWS-managed access policy an admin principal gets, cluster-wide. */
export const CLUSTER_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy";

/**
 * Instance metadata on nodes: IMDSv2 only (session tokens; no IMDSv1 request/response SSRF), and a hop limit of 1 so
 * the token cannot be fetched from inside a pod's network namespace. Pods therefore cannot borrow the node role's
 * credentials; every pod that needs AWS gets its own role through IRSA (the EBS CSI controller, the backup job).
 * Host-network agents (VPC CNI, kube-proxy) are one hop away and unaffected.
 */
export const NODE_METADATA_OPTIONS = {
    httpEndpoint: "enabled",
    httpTokens: "required",
    httpPutResponseHopLimit: 1,
    instanceMetadataTags: "disabled",
} as const;

/** AWS-managed policies the node role needs: join the cluster, run the VPC CNI, pull images from ECR. */
const NODE_POLICIES: Readonly<Record<string, string>> = {
    worker: "AmazonEKSWorkerNodePolicy",
    cni: "AmazonEKS_CNI_Policy",
    "ecr-pull": "AmazonEC2ContainerRegistryPullOnly",
};

export interface EndpointAccess {
    readonly endpointPrivateAccess: boolean;
    readonly endpointPublicAccess: boolean;
    readonly publicAccessCidrs: string[] | undefined;
}

/**
 * The API endpoint: always reachable privately (nodes, and anything inside the VPC); publicly only from the CIDRs the
 * stack lists, and not at all when it lists none. EKS's own default (public, 0.0.0.0/0) is never used.
 */
export function endpointAccess(cidrs: readonly string[]): EndpointAccess {
    return cidrs.length === 0
        ? { endpointPrivateAccess: true, endpointPublicAccess: false, publicAccessCidrs: undefined }
        : { endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: [...cidrs] };
}

/**
 * The node AMI type for an instance type: Amazon Linux 2023 (AL2 has no AMIs for Kubernetes 1.33 and later), on ARM
 * for Graviton families (a `g` right after the generation digit: m7g, c6gn, r8gd, t4g; and a1), x86 otherwise.
 */
export function amiTypeFor(instanceType: string): "AL2023_ARM_64_STANDARD" | "AL2023_x86_64_STANDARD" {
    const family = instanceType.split(".")[0];
    return family === "a1" || /^[a-z]+\d+g/.test(family) ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD";
}

/** The default version of an EKS add-on for the configured Kubernetes version, so an upgrade moves it along. */
export function addonVersion(ctx: AwsContext, addonName: string, kubernetesVersion: string): pulumi.Output<string> {
    return aws.eks.getAddonVersionOutput({ addonName, kubernetesVersion, mostRecent: false }, { parent: ctx.parent, provider: ctx.provider }).version;
}

/**
 * EKS access entries for herd:awsAdminPrincipalArns: cluster-admin, cluster-wide, each keyed by its ARN's account and
 * name (stable when the list is reordered or grows, unlike a position; pulumi-eks names the entry after the key).
 */
export function adminAccessEntries(arns: readonly string[], policyArn: pulumi.Input<string>): Record<string, AccessEntryArgs> {
    return Object.fromEntries(
        arns.map((principalArn) => {
            const [, , , , account, resource] = principalArn.split(":");
            const key = `admin-${account}-${resource.replace(/[^A-Za-z0-9]+/g, "-")}`;
            return [key, { principalArn, accessPolicies: { admin: { policyArn, accessScope: { type: "cluster" } } } }];
        }),
    );
}

export interface Cluster {
    readonly cluster: eks.Cluster;
    readonly clusterName: pulumi.Output<string>;
    /** For IRSA trust policies. */
    readonly oidcProviderArn: pulumi.Output<string>;
    /** The OIDC issuer without `https://`, as IRSA condition keys spell it. */
    readonly oidcIssuer: pulumi.Output<string>;
    readonly nodeGroup: aws.eks.NodeGroup;
    readonly coredns: aws.eks.Addon;
    /** The VPC CNI, enforcing NetworkPolicies: workloads wait for it. */
    readonly vpcCni: aws.eks.Addon;
    /** Always a secret Output (pulumi-eks does not mark it). */
    readonly kubeconfig: pulumi.Output<string>;
}

export function createCluster(ctx: AwsContext, cfg: AwsConfig, network: Network, clusterName: string): Cluster {
    const { name, prefix } = ctx;
    const privateSubnetIds = network.privateSubnets.map((s) => s.id);

    const secretsKey = new aws.kms.Key(
        `${name}-secrets-key`,
        {
            description: `Envelope encryption of Kubernetes Secrets in EKS cluster ${clusterName}`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
        },
        awsOpts(ctx),
    );
    // Created before the cluster (EKS would create it itself, without expiry, the moment logging is on).
    const logGroup = new aws.cloudwatch.LogGroup(
        `${name}-control-plane-logs`,
        { name: `/aws/eks/${clusterName}/cluster`, retentionInDays: cfg.controlPlaneLogRetentionDays },
        awsOpts(ctx),
    );

    const cluster = new eks.Cluster(
        `${name}-eks`,
        {
            name: clusterName,
            version: cfg.kubernetesVersion,
            vpcId: network.vpc.id,
            // Control-plane ENIs and nodes in the private subnets only; load balancers find the public subnets by tag.
            privateSubnetIds,
            nodeAssociatePublicIpAddress: false,
            // herd's managed node group below replaces pulumi-eks's self-managed default group.
            skipDefaultNodeGroup: true,
            // Nodes and control plane share the security group EKS creates (tagged for the cloud controller).
            skipDefaultSecurityGroups: true,
            // Access entries only (no aws-auth ConfigMap); the creator gets cluster admin through one, and so does
            // each of herd:awsAdminPrincipalArns.
            authenticationMode: eks.AuthenticationMode.Api,
            accessEntries: adminAccessEntries(cfg.adminPrincipalArns, pulumi.interpolate`arn:${ctx.partition}:eks::aws:cluster-access-policy/${CLUSTER_ADMIN_ACCESS_POLICY}`),
            // Said explicitly: EKS's own default is EXTENDED, which bills every hour past standard support.
            upgradePolicy: { supportType: cfg.supportType },
            // No vpc-cni add-on from pulumi-eks (the one EKS bootstraps runs until herd's below adopts it).
            useDefaultVpcCni: true,
            createOidcProvider: true,
            encryptionConfigKeyArn: secretsKey.arn,
            enabledClusterLogTypes: [...CONTROL_PLANE_LOG_TYPES],
            // Says where the logs go and, being an input, makes the EKS cluster inside the component wait for the
            // log group (a component's `dependsOn` is not guaranteed to reach what a remote component creates).
            clusterTags: { "herd:control-plane-logs": logGroup.name },
            ...endpointAccess(cfg.apiAccessCidrs),
        },
        // `provider` on a component is promoted to its providers map: every AWS resource pulumi-eks creates uses it.
        // Timeouts only: a remote component takes no error hook (its custom resources inside are pulumi-eks's).
        { parent: ctx.parent, provider: ctx.provider, dependsOn: [logGroup], customTimeouts: waitOptions("cluster", ctx.waits).customTimeouts },
    );
    const eksClusterName = cluster.eksCluster.name;

    const nodeRole = new aws.iam.Role(
        `${name}-node-role`,
        {
            description: `Nodes of EKS cluster ${clusterName}`,
            assumeRolePolicy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: pulumi.interpolate`ec2.${ctx.dnsSuffix}` }, Action: "sts:AssumeRole" }],
            }),
        },
        awsOpts(ctx),
    );
    const nodePolicies = Object.entries(NODE_POLICIES).map(
        ([role, policy]) =>
            new aws.iam.RolePolicyAttachment(`${name}-node-${role}`, { role: nodeRole.name, policyArn: managedPolicyArn(ctx, policy) }, awsOpts(ctx)),
    );

    const nodeTags = { ...ctx.tags, Name: `${prefix}-node` };
    const template = new aws.ec2.LaunchTemplate(
        `${name}-node-template`,
        {
            description: `Nodes of EKS cluster ${clusterName}: IMDSv2 only, encrypted gp3 root volume`,
            updateDefaultVersion: true,
            metadataOptions: { ...NODE_METADATA_OPTIONS },
            // No security groups here: EKS then attaches the cluster security group, which the control plane trusts.
            blockDeviceMappings: [
                {
                    deviceName: "/dev/xvda",
                    ebs: { volumeSize: cfg.nodes.diskGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
                },
            ],
            // Instances and volumes are launched by the node group's Auto Scaling group: provider tags don't reach them.
            tagSpecifications: ["instance", "volume"].map((resourceType) => ({ resourceType, tags: nodeTags })),
        },
        awsOpts(ctx),
    );

    const nodeGroup = new aws.eks.NodeGroup(
        `${name}-nodes`,
        {
            clusterName: eksClusterName,
            nodeRoleArn: nodeRole.arn,
            subnetIds: privateSubnetIds,
            instanceTypes: [cfg.nodes.instanceType],
            amiType: amiTypeFor(cfg.nodes.instanceType),
            capacityType: "ON_DEMAND",
            // Set, so that raising herd:kubernetesVersion upgrades the nodes right after the control plane.
            version: cfg.kubernetesVersion,
            scalingConfig: { minSize: cfg.nodes.min, desiredSize: cfg.nodes.desired, maxSize: cfg.nodes.max },
            // A rolling update (new Kubernetes version, AMI or launch template) replaces this share of the nodes at a
            // time, at least one; each node is drained, and the data tier's disruption budgets let one pod go at once.
            updateConfig: { maxUnavailablePercentage: cfg.nodes.maxUnavailablePercent },
            launchTemplate: { id: template.id, version: template.latestVersion.apply((v) => String(v)) },
        },
        awsOpts(ctx, {
            // The role's policies must be attached before nodes try to join, and detached only after they are gone.
            dependsOn: nodePolicies,
            // With an autoscaler the node count is its to change: a later `pulumi up` must not reset it.
            ignoreChanges: cfg.nodes.autoscaling === "off" ? [] : ["scalingConfig.desiredSize"],
            ...waitOptions("cluster", ctx.waits),
        }),
    );

    // The VPC CNI, adopting (OVERWRITE) what EKS bootstrapped, with NetworkPolicy enforcement; beside the node group,
    // not before it (nodes join with the bootstrapped CNI; the add-on then rolls its agent onto them), and before any
    // workload (the Kubernetes provider waits for it).
    const vpcCni = new aws.eks.Addon(
        `${name}-vpc-cni`,
        {
            clusterName: eksClusterName,
            addonName: "vpc-cni",
            addonVersion: addonVersion(ctx, "vpc-cni", cfg.kubernetesVersion),
            configurationValues: JSON.stringify(VPC_CNI_CONFIGURATION),
            resolveConflictsOnCreate: "OVERWRITE",
            resolveConflictsOnUpdate: "OVERWRITE",
            // Deleting the resource (a destroy, a move) must not take pod networking out of a running cluster.
            preserve: true,
        },
        awsOpts(ctx, {
            // A stack created while pulumi-eks managed the add-on: the same add-on, updated in place, not a second one.
            aliases: [{ name: `${name}-eks-vpc-cni`, parent: cluster.urn.apply((urn) => urn.replace(/::[^:]+$/, () => `$eks:index:VpcCniAddon::${name}-eks-vpc-cni`)) }],
            ...waitOptions("cluster", ctx.waits),
        }),
    );

    // pulumi-eks skips the CoreDNS add-on without its default node group, and creating it before any node exists
    // leaves it DEGRADED; so herd adds it once the node group is up.
    const coredns = new aws.eks.Addon(
        `${name}-coredns`,
        {
            clusterName: eksClusterName,
            addonName: "coredns",
            addonVersion: addonVersion(ctx, "coredns", cfg.kubernetesVersion),
            resolveConflictsOnCreate: "OVERWRITE",
            resolveConflictsOnUpdate: "OVERWRITE",
        },
        awsOpts(ctx, { dependsOn: [nodeGroup], ...waitOptions("cluster", ctx.waits) }),
    );

    return {
        cluster,
        clusterName: eksClusterName,
        oidcProviderArn: cluster.oidcProviderArn,
        oidcIssuer: cluster.oidcIssuer,
        nodeGroup,
        coredns,
        vpcCni,
        kubeconfig: pulumi.secret(cluster.kubeconfigJson),
    };
}
