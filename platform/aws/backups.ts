/**
 * The backup bucket and who may write to it.
 *
 * The bucket: SSE-KMS with its own customer-managed key (rotated yearly; reading a backup needs both S3 and KMS
 * permission, and every decrypt is in CloudTrail), versioned, all public access blocked, bucket-owner-enforced
 * (no ACLs), TLS only, and a lifecycle rule that expires the PostgreSQL dumps (`postgres/`, current and noncurrent)
 * after the retention period. The repositories beside them (`pgbackrest/`, `elasticsearch/`: see ../repository.ts)
 * never expire by rule, since their tool's own retention deletes what it no longer needs; their rules only remove
 * what the tool has already deleted or overwritten (noncurrent versions) and interrupted uploads.
 *
 * A `pulumi destroy` leaves the bucket, its key and its protections in place (retainOnDelete): backups must outlive
 * the stack that made them. Only the lifecycle rule is removed, so what a destroyed stack leaves behind stops
 * expiring until someone decides otherwise.
 *
 * `bindBackupIdentity` gives one Kubernetes ServiceAccount an IAM role (IRSA) to write and read backups: no
 * deletes (expiry is the lifecycle rule's job, so a compromised job cannot erase history) and no other bucket.
 * `bindRepositoryIdentity` gives a tool's ServiceAccount its own role, with delete, under its own prefix only.
 */
import * as aws from "./sdk";
import * as pulumi from "@pulumi/pulumi";
import type { IdentityBinding, RepositoryAccess, RepositoryPurpose } from "../contract";
import { DUMP_PREFIX, REPOSITORY_PURPOSES, repositoryPrefix } from "../repository";
import { AwsContext, awsOpts, irsaTrustPolicy } from "./common";
import type { Cluster } from "./cluster";
import type { Network } from "./network";
import type * as k8s from "../../lib/k8s";

type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

// The S3 uploader is shared with onprem's S3-compatible stores, which must not load @pulumi/aws for it.
export { AWS_CLI_IMAGE, endpointPort, s3Uploader } from "../s3-uploader";

/** Days after which an unfinished multipart upload (an interrupted backup) is cleaned up. */
export const ABORT_INCOMPLETE_UPLOAD_DAYS = 7;

/** What a backup job may do: list, write and read backups, and abort its own failed multipart uploads. */
export const BACKUP_OBJECT_ACTIONS: readonly string[] = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"];
export const BACKUP_BUCKET_ACTIONS: readonly string[] = ["s3:ListBucket"];
/** Encrypting a new object needs a data key; reading one (and completing a multipart upload) needs Decrypt. */
export const BACKUP_KEY_ACTIONS: readonly string[] = ["kms:GenerateDataKey", "kms:Decrypt"];

/** What a repository's tool may do on objects under its prefix: its retention deletes and overwrites. */
export const REPOSITORY_OBJECT_ACTIONS: readonly string[] = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];
/** Days an object a repository's tool deleted or overwrote stays recoverable (a noncurrent version). */
export const REPOSITORY_NONCURRENT_DAYS = 7;
/** The audience of the projected token a pod exchanges with STS (IRSA). */
export const STS_AUDIENCE = "sts.amazonaws.com";

/**
 * The bucket's lifecycle rules: the dumps (and only they) expire after `retentionDays`; under each repository's
 * prefix only noncurrent versions (what the tool deleted or overwrote) and interrupted uploads are removed.
 */
export function backupLifecycleRules(retentionDays: number): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
    return [
        {
            id: "expire-postgres-dumps",
            status: "Enabled",
            filter: { prefix: DUMP_PREFIX },
            expiration: { days: retentionDays },
            noncurrentVersionExpiration: { noncurrentDays: retentionDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_UPLOAD_DAYS },
        },
        ...REPOSITORY_PURPOSES.map((purpose) => ({
            id: `${purpose}-repository-cleanup`,
            status: "Enabled",
            filter: { prefix: repositoryPrefix(purpose) },
            // No `expiration`: the tool's retention decides what a current object's life is.
            noncurrentVersionExpiration: { noncurrentDays: REPOSITORY_NONCURRENT_DAYS },
            abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_UPLOAD_DAYS },
        })),
    ];
}

export interface S3BackupBucket {
    readonly bucket: aws.s3.Bucket;
    readonly key: aws.kms.Key;
}

/**
 * `protect` (herd:protectData) additionally stops a preview from replacing or deleting the bucket and its key, as
 * the data tier's StatefulSets are.
 */
export function createS3BackupBucket(ctx: AwsContext, retentionDays: number, protect: boolean): S3BackupBucket {
    const { name, prefix } = ctx;
    const keep = (extra: pulumi.CustomResourceOptions = {}) => awsOpts(ctx, { retainOnDelete: true, ...extra });

    // Deleting this key would make every backup unreadable: it is kept like the bucket.
    const key = new aws.kms.Key(
        `${name}-backup-key`,
        { description: `Encryption of herd backups in ${prefix}`, enableKeyRotation: true, deletionWindowInDays: 30 },
        keep({ protect }),
    );
    const bucket = new aws.s3.Bucket(`${name}-backups`, { bucketPrefix: `${prefix}-backups-`, forceDestroy: false }, keep({ protect }));
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
        `${name}-backups-public-access`,
        { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        keep(),
    );
    new aws.s3.BucketOwnershipControls(`${name}-backups-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, keep());
    new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-backups-encryption`,
        {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }],
        },
        keep(),
    );
    const versioning = new aws.s3.BucketVersioning(`${name}-backups-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, keep());
    new aws.s3.BucketPolicy(
        `${name}-backups-tls-only`,
        {
            bucket: bucket.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "DenyInsecureTransport",
                        Effect: "Deny",
                        Principal: "*",
                        Action: "s3:*",
                        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                        Condition: { Bool: { "aws:SecureTransport": "false" } },
                    },
                ],
            }),
        },
        keep({ dependsOn: [publicAccess] }),
    );
    // Not retained: see the module comment.
    new aws.s3.BucketLifecycleConfiguration(
        `${name}-backups-lifecycle`,
        {
            bucket: bucket.id,
            rules: backupLifecycleRules(retentionDays),
        },
        awsOpts(ctx, { dependsOn: [versioning] }),
    );
    return { bucket, key };
}

/** The least-privilege policy of a backup job's role, on one bucket and its key (used by S3 only). */
export function backupAccessPolicy(bucketArn: string, keyArn: string, s3Endpoint: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Sid: "ListBackups", Effect: "Allow", Action: [...BACKUP_BUCKET_ACTIONS], Resource: bucketArn },
            { Sid: "ReadWriteBackups", Effect: "Allow", Action: [...BACKUP_OBJECT_ACTIONS], Resource: `${bucketArn}/*` },
            {
                Sid: "UseBackupKeyThroughS3",
                Effect: "Allow",
                Action: [...BACKUP_KEY_ACTIONS],
                Resource: keyArn,
                Condition: { StringEquals: { "kms:ViaService": s3Endpoint } },
            },
        ],
    });
}

export interface BindArgs {
    readonly name: string;
    readonly namespace: pulumi.Input<string>;
    readonly serviceAccountName: string;
    readonly parent: pulumi.Resource;
}

/**
 * An IRSA role trusted by exactly one ServiceAccount, with one inline policy built from the bucket's and key's ARNs
 * and the S3 endpoint KMS sees requests from; created under the caller's component.
 */
function irsaRole(
    ctx: AwsContext,
    store: S3BackupBucket,
    cluster: Cluster,
    args: BindArgs,
    description: pulumi.Input<string>,
    policy: (bucketArn: string, keyArn: string, s3Endpoint: string) => string,
): aws.iam.Role {
    const opts = { parent: args.parent, provider: ctx.provider };
    const role = new aws.iam.Role(
        `${args.name}-role`,
        { description, assumeRolePolicy: irsaTrustPolicy(cluster.oidcProviderArn, cluster.oidcIssuer, args.namespace, args.serviceAccountName) },
        opts,
    );
    new aws.iam.RolePolicy(
        `${args.name}-policy`,
        {
            role: role.name,
            policy: pulumi
                .all([store.bucket.arn, store.key.arn, ctx.dnsSuffix])
                .apply(([bucketArn, keyArn, dnsSuffix]) => policy(bucketArn, keyArn, `s3.${ctx.region}.${dnsSuffix}`)),
        },
        opts,
    );
    return role;
}

/** An IRSA role for exactly one ServiceAccount, created under the caller's component. */
export function bindBackupIdentity(ctx: AwsContext, store: S3BackupBucket, cluster: Cluster, args: BindArgs): IdentityBinding {
    const description = pulumi.interpolate`Backups of ${args.namespace}/${args.serviceAccountName} to the herd backup bucket`;
    const role = irsaRole(ctx, store, cluster, args, description, backupAccessPolicy);
    return {
        serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": role.arn },
        // AWS_REGION is the uploader's (s3Uploader), not set twice.
        env: [],
    };
}

/**
 * The policy of a repository tool's role: read, write, overwrite and delete objects under `<purpose>/` only, list
 * only keys under it, and use the bucket's key through S3. Nothing outside the prefix: not the dumps, not the other
 * tool's repository.
 */
export function repositoryAccessPolicy(bucketArn: string, keyArn: string, s3Endpoint: string, purpose: RepositoryPurpose): string {
    const prefix = repositoryPrefix(purpose);
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ListRepository",
                Effect: "Allow",
                Action: [...BACKUP_BUCKET_ACTIONS],
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": [`${prefix}*`] } },
            },
            { Sid: "ReadWriteDeleteRepository", Effect: "Allow", Action: [...REPOSITORY_OBJECT_ACTIONS], Resource: `${bucketArn}/${prefix}*` },
            {
                Sid: "UseBackupKeyThroughS3",
                Effect: "Allow",
                Action: [...BACKUP_KEY_ACTIONS],
                Resource: keyArn,
                Condition: { StringEquals: { "kms:ViaService": s3Endpoint } },
            },
        ],
    });
}

/** An IRSA role for one ServiceAccount of the tool that keeps the `purpose` repository, under the caller's component. */
export function bindRepositoryIdentity(ctx: AwsContext, store: S3BackupBucket, cluster: Cluster, purpose: RepositoryPurpose, args: BindArgs): IdentityBinding {
    const description = pulumi.interpolate`The ${purpose} repository of ${args.namespace}/${args.serviceAccountName} in the herd backup bucket`;
    const role = irsaRole(ctx, store, cluster, args, description, (bucketArn, keyArn, s3Endpoint) =>
        repositoryAccessPolicy(bucketArn, keyArn, s3Endpoint, purpose),
    );
    return {
        serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": role.arn },
        // The tools read the role from AWS_ROLE_ARN beside the projected token (repository-s3, pgBackRest's web-id),
        // whether or not EKS's pod identity webhook also injects it.
        env: [{ name: "AWS_ROLE_ARN", value: role.arn }],
    };
}

/** An address no host has: a peer that matches nothing, for an egress rule that must not fall open. */
export const NO_ADDRESS = "0.0.0.0/32";

/**
 * Where the dump uploader (the AWS CLI, which calls STS at its regional host) may connect: S3 through the gateway
 * endpoint, at the addresses of the region's S3 prefix list, and STS through the interface endpoint, in the private
 * subnets; HTTPS only. Were the prefix list ever reported empty, the rule names an address no host has rather than
 * none (an empty `to` would mean every address): the upload then fails, visibly, instead of egress falling open.
 */
export function uploaderEgress(network: Pick<Network, "s3Endpoint" | "privateCidrs">): EgressRule[] {
    const https = [{ protocol: "TCP", port: 443 }];
    return [
        { to: network.s3Endpoint.cidrBlocks.apply((blocks) => ((blocks ?? []).length > 0 ? blocks : [NO_ADDRESS]).map((cidr) => ({ ipBlock: { cidr } }))), ports: https },
        { to: network.privateCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: https },
    ];
}

/**
 * The `purpose` repository in the backup bucket: its prefix, HTTPS to S3 and STS, and an IRSA role per binding.
 * Its egress stays HTTPS to any address: pgBackRest exchanges its web identity token at the global STS host,
 * sts.amazonaws.com, which no VPC endpoint serves and whose addresses are AWS's public ranges (the STS endpoint's
 * private DNS covers sts.<region>.amazonaws.com only); Elasticsearch's repository-s3 shares the rule until its STS
 * host is pinned to the regional one.
 */
export function s3Repository(ctx: AwsContext, store: S3BackupBucket, cluster: Cluster, purpose: RepositoryPurpose): RepositoryAccess {
    return {
        store: {
            kind: "s3",
            bucket: store.bucket.bucket,
            region: ctx.region,
            prefix: repositoryPrefix(purpose),
            webIdentityAudience: STS_AUDIENCE,
            egress: [{ ports: [{ protocol: "TCP", port: 443 }] }],
        },
        identity: { bind: (args) => bindRepositoryIdentity(ctx, store, cluster, purpose, args) },
    };
}
