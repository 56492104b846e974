/** aws: the EKS cluster herd creates, its VPC, node group and ECR repositories. */
import { type BuildContext, clusterConfig } from "./build-context";
import type { AwsConfig, AwsHttpsConfig, CommonConfig, HerdConfig } from "./types";

/** The aws settings and their cross-field rules; undefined when a required one is missing or a rule failed. */
export function buildAws(ctx: BuildContext, common: CommonConfig): HerdConfig | undefined {
    const { str, num, set, problem } = ctx;
    const region = set("awsRegion");
    if (region === undefined) {
        problem("awsRegion", "required on platform aws: expected an AWS region such as eu-west-1, got nothing");
    }
    const nodes = {
        instanceType: str("awsNodeInstanceType"),
        min: num("awsNodeMin"),
        desired: num("awsNodeDesired"),
        max: num("awsNodeMax"),
        diskGiB: num("awsNodeDiskGiB"),
        maxUnavailablePercent: num("awsNodeMaxUnavailablePercent"),
        autoscaling: str("awsNodeAutoscaling") as AwsConfig["nodes"]["autoscaling"],
    };
    if (nodes.min > nodes.max) {
        problem("awsNodeMin", `expected at most herd:awsNodeMax (${nodes.max}), got ${nodes.min}`, "awsNodeMax");
    } else if (nodes.desired < nodes.min || nodes.desired > nodes.max) {
        problem(
            "awsNodeDesired",
            `expected a count from herd:awsNodeMin (${nodes.min}) to herd:awsNodeMax (${nodes.max}), got ${nodes.desired}`,
            "awsNodeMin",
            "awsNodeMax",
        );
    }
    if (nodes.autoscaling === "cluster-autoscaler" && CLUSTER_AUTOSCALER_IMAGE_TAGS[str("kubernetesVersion")] === undefined) {
        problem(
            "awsNodeAutoscaling",
            `cluster-autoscaler must match the cluster's Kubernetes minor version: expected herd:kubernetesVersion from ${Object.keys(CLUSTER_AUTOSCALER_IMAGE_TAGS).join(", ")} (the releases herd pins), or herd:awsNodeAutoscaling off; got kubernetesVersion ${str("kubernetesVersion")}`,
            "kubernetesVersion",
        );
    }
    const adminPrincipalArns = adminPrincipals(ctx, region);
    const https = awsHttps(ctx, common.app.publicHostname, region);
    const cluster = clusterConfig(ctx);
    if (region === undefined || cluster === undefined || https === false) {
        return undefined;
    }
    return {
        ...common,
        platform: "aws",
        aws: {
            ...cluster,
            region,
            zoneCount: num("awsZoneCount"),
            vpcCidr: str("awsVpcCidr"),
            natGateways: str("awsNatGateways") as AwsConfig["natGateways"],
            nodes,
            supportType: str("awsUpgradeSupportType") as AwsConfig["supportType"],
            controlPlaneLogRetentionDays: num("awsControlPlaneLogRetentionDays"),
            adminPrincipalArns,
            ecrKeepImages: num("ecrKeepImages"),
            https,
            ...(common.imageRegistryMirror === undefined ? {} : { imageRegistryMirror: common.imageRegistryMirror }),
        },
    };
}

/**
 * The cluster-autoscaler image for each Kubernetes minor version (its minor must match the cluster's; the newest
 * patch release of each), all run by the one pinned chart (platform/aws/addons.ts) up to its own appVersion.
 */
export const CLUSTER_AUTOSCALER_IMAGE_TAGS: Readonly<Record<string, string>> = {
    "1.28": "v1.28.7",
    "1.29": "v1.29.5",
    "1.30": "v1.30.7",
    "1.31": "v1.31.5",
    "1.32": "v1.32.7",
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
};

/** The partition an AWS region belongs to (aws-cn: cn-*, aws-us-gov: us-gov-*). */
export function partitionOf(region: string): "aws" | "aws-cn" | "aws-us-gov" {
    return region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
}

/** herd:awsAdminPrincipalArns: each once, each in the stack's partition (an access entry for another cannot exist). */
function adminPrincipals({ v, problem }: BuildContext, region: string | undefined): readonly string[] {
    const arns = (v.awsAdminPrincipalArns as string[] | undefined) ?? [];
    const repeated = arns.filter((arn, i) => arns.indexOf(arn) !== i);
    if (repeated.length > 0) {
        problem("awsAdminPrincipalArns", `expected each ARN once (one access entry per principal), got ${[...new Set(repeated)].join(", ")} more than once`);
    }
    if (region !== undefined) {
        const partition = partitionOf(region);
        const foreign = arns.filter((arn) => arn.split(":")[1] !== partition);
        if (foreign.length > 0) {
            problem("awsAdminPrincipalArns", `expected ARNs in partition ${partition} (that of region ${region}), got ${foreign.join(", ")}`, "awsRegion");
        }
    }
    return [...new Set(arns)];
}

/**
 * HTTPS on aws: publicHostname needs exactly one certificate source (a hosted zone to validate a new ACM certificate
 * in, or an existing certificate's ARN in the stack's region), and neither means anything without a host.
 * undefined: no host (plain HTTP); false: a problem was reported.
 */
function awsHttps({ set, problem }: BuildContext, hostname: string | undefined, region: string | undefined): AwsHttpsConfig | undefined | false {
    const zone = set("awsHostedZoneId");
    const arn = set("awsCertificateArn");
    if (hostname === undefined) {
        for (const [key, value] of [["awsHostedZoneId", zone], ["awsCertificateArn", arn]] as const) {
            if (value !== undefined) {
                problem(key, `expected herd:publicHostname set as well (the certificate is for that host), got ${JSON.stringify(value)} without a host name`, "publicHostname");
            }
        }
        return zone === undefined && arn === undefined ? undefined : false;
    }
    if (zone !== undefined && arn !== undefined) {
        problem("awsCertificateArn", "expected either herd:awsHostedZoneId (herd requests the certificate) or herd:awsCertificateArn (yours), not both; got both", "awsHostedZoneId");
        return false;
    }
    if (zone === undefined && arn === undefined) {
        problem(
            "publicHostname",
            `on aws a host name is served over HTTPS: expected herd:awsHostedZoneId (the Route 53 zone of ${hostname}, where herd validates an ACM certificate) or herd:awsCertificateArn (an issued ACM certificate for it), got neither`,
            "awsHostedZoneId",
            "awsCertificateArn",
        );
        return false;
    }
    if (arn !== undefined) {
        const arnRegion = arn.split(":")[3];
        if (region !== undefined && arnRegion !== region) {
            problem("awsCertificateArn", `expected a certificate in the stack's region ${region} (a load balancer uses only certificates of its own region), got one in ${arnRegion}`, "awsRegion");
            return false;
        }
        return { hostname, certificate: { mode: "arn", arn } };
    }
    return { hostname, certificate: { mode: "dns", hostedZoneId: zone as string } };
}
