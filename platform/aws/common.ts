/**
 * What every piece of the AWS platform shares: where children hang (parent, explicit provider), the physical-name
 * prefix humans look things up by, and the IAM documents more than one piece writes (IRSA trust).
 */
import * as aws from "./sdk";
import * as pulumi from "@pulumi/pulumi";
import type { WaitMinutes } from "../../lib/waits";

export interface AwsContext {
    /** Logical-name prefix: every child is `${name}-<role>`. */
    readonly name: string;
    /** The component every child is created under. */
    readonly parent: pulumi.Resource;
    /** The explicit provider every AWS resource and invoke uses, so nothing depends on an ambient aws:region. */
    readonly provider: aws.Provider;
    /** Physical-name prefix for what people look up by name (cluster, repositories, bucket): `herd-<stack>`. */
    readonly prefix: string;
    readonly region: string;
    /** `aws`, `aws-cn` or `aws-us-gov`, for AWS-managed policy ARNs. */
    readonly partition: pulumi.Output<string>;
    /** `amazonaws.com` (or `amazonaws.com.cn`), for service endpoints in policy conditions. */
    readonly dnsSuffix: pulumi.Output<string>;
    /** How long the cluster, node group and add-ons may take to come up (lib/waits.ts). */
    readonly waits: WaitMinutes;
    /** The tags the provider puts on every AWS resource (for what it cannot reach, such as instances a node group launches). */
    readonly tags: Readonly<Record<string, string>>;
}

/** Options for an AWS child: under the context's parent, with the explicit provider. */
export function awsOpts(ctx: AwsContext, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return { parent: ctx.parent, provider: ctx.provider, ...extra };
}

/**
 * `herd-<stack>`, reduced to what every name it prefixes accepts (EKS cluster, ECR repository path, S3 bucket
 * prefix): lowercase letters, digits and single hyphens, at most 28 characters (S3 allows
 * a 37-character bucket prefix, and `-backups-` follows). Derived from project and stack only,
 * so it never changes under a running stack (renaming any of these resources replaces it).
 */
export function physicalPrefix(project: string, stack: string): string {
    const clean = `${project}-${stack}`
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+|-+$/g, "");
    return clean.slice(0, 28).replace(/-+$/, "");
}

/** The ARN of an AWS-managed policy, e.g. `service-role/AmazonEBSCSIDriverPolicy`, in the stack's partition. */
export function managedPolicyArn(ctx: AwsContext, path: string): pulumi.Output<string> {
    return pulumi.interpolate`arn:${ctx.partition}:iam::aws:policy/${path}`;
}

/**
 * Trust policy for IAM roles for service accounts (IRSA): only the one Kubernetes ServiceAccount
 * `system:serviceaccount:<namespace>:<serviceAccount>` may assume the role, through the cluster's OIDC provider, with
 * a token minted for STS (`aud`). Both conditions are exact matches (StringEquals), never wildcards.
 */
export function irsaTrustPolicy(
    oidcProviderArn: pulumi.Input<string>,
    oidcIssuer: pulumi.Input<string>,
    namespace: pulumi.Input<string>,
    serviceAccount: pulumi.Input<string>,
): pulumi.Output<string> {
    return pulumi.all([oidcProviderArn, oidcIssuer, namespace, serviceAccount]).apply(([arn, issuer, ns, sa]) => {
        const host = issuer.replace(/^https:\/\//, "");
        return JSON.stringify({
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { Federated: arn },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: {
                        StringEquals: {
                            [`${host}:sub`]: `system:serviceaccount:${ns}:${sa}`,
                            [`${host}:aud`]: "sts.amazonaws.com",
                        },
                    },
                },
            ],
        });
    });
}
