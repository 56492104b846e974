/**
 * AWS: the EKS control plane (secrets encryption, audit logs, no world-open endpoint), ECR scanning, and S3 buckets
 * that are encrypted and never public.
 *
 * herd's EKS cluster is pulumi-eks's remote component `eks:index:Cluster`; the policy engine analyzes a component's
 * inputs as well as those of the `aws:eks/cluster:Cluster` it creates inside, so both are checked, each by its own
 * field names (platform/aws/cluster.ts sets encryptionConfigKeyArn, enabledClusterLogTypes, endpointPublicAccess and
 * publicAccessCidrs on the component).
 */
import type { Finding, ResourceRule, ResourceView, StackRule } from "./define";
import { at, known, Props, record, records, show, strings, text } from "./values";

/** Control-plane log types that must reach CloudWatch. */
export const REQUIRED_CONTROL_PLANE_LOGS: readonly string[] = ["api", "audit", "authenticator"];
const WORLD = ["0.0.0.0/0", "::/0"];

const EKS_COMPONENT = "eks:index:Cluster";
const EKS_CLUSTER = "aws:eks/cluster:Cluster";

/** True when the value is set, or is computed during a preview (a KMS key's ARN before the key exists). */
function present(read: () => unknown): boolean {
    const v = known(read);
    return !v.known || (v.value !== undefined && v.value !== null && v.value !== "");
}

function endpointProblems(label: string, publicAccess: unknown, cidrs: unknown, fields: { access: string; cidrs: string }): string[] {
    if (publicAccess === false) {
        return [];
    }
    const list = strings(cidrs);
    const open = list.length === 0 ? "no CIDRs (EKS then allows 0.0.0.0/0)" : list.filter((c) => WORLD.includes(c)).join(", ");
    if (list.length > 0 && open === "") {
        return [];
    }
    return [
        `${label}: the public API endpoint (${fields.access} ${show(publicAccess)}${publicAccess === undefined ? ", which defaults to true" : ""}) is open to the world: ${fields.cidrs} has ${open}. ` +
            `List only your CI runners' and VPN's CIDRs in herd:apiAccessCidrs, or leave it empty for a private endpoint; a world-open endpoint needs herd:apiAccessFromAnywhere and a reviewed policy exception`,
    ];
}

function logProblems(label: string, field: string, value: unknown): string[] {
    const enabled = strings(value);
    const missing = REQUIRED_CONTROL_PLANE_LOGS.filter((t) => !enabled.includes(t));
    return missing.length === 0 ? [] : [`${label}: ${field} lacks ${missing.join(", ")}: enable ${REQUIRED_CONTROL_PLANE_LOGS.join(", ")} (CONTROL_PLANE_LOG_TYPES in platform/aws/cluster.ts)`];
}

export function eksProblems(r: Pick<ResourceView, "type" | "name" | "props">): string[] {
    const p = r.props;
    const label = `EKS cluster ${text(p["name"]) ?? r.name}`;
    if (r.type === EKS_COMPONENT) {
        return [
            ...(present(() => p["encryptionConfigKeyArn"])
                ? []
                : [`${label}: encryptionConfigKeyArn is not set: give a customer-managed KMS key (rotated) so Kubernetes Secrets are envelope-encrypted`]),
            ...logProblems(label, "enabledClusterLogTypes", p["enabledClusterLogTypes"]),
            ...endpointProblems(label, p["endpointPublicAccess"], p["publicAccessCidrs"], { access: "endpointPublicAccess", cidrs: "publicAccessCidrs" }),
        ];
    }
    // A single block in @pulumi/aws 6 and 7; a list in older versions.
    const single = record(p["encryptionConfig"]);
    const configs: Props[] = single !== undefined ? [single] : records(p["encryptionConfig"]);
    const encrypted = configs.some((c) => strings(c["resources"]).includes("secrets") && present(() => at(c, "provider", "keyArn")));
    return [
        ...(encrypted ? [] : [`${label}: encryptionConfig does not encrypt "secrets" with a KMS key: set encryptionConfig { provider: { keyArn }, resources: ["secrets"] }`]),
        ...logProblems(label, "enabledClusterLogTypes", p["enabledClusterLogTypes"]),
        ...endpointProblems(label, at(p, "vpcConfig", "endpointPublicAccess"), at(p, "vpcConfig", "publicAccessCidrs"), {
            access: "vpcConfig.endpointPublicAccess",
            cidrs: "vpcConfig.publicAccessCidrs",
        }),
    ];
}

export const eksClusterHardening: ResourceRule = {
    kind: "resource",
    name: "eks-cluster-hardening",
    description:
        "An EKS cluster envelope-encrypts Kubernetes Secrets with a KMS key, sends the api, audit and authenticator " +
        "control-plane logs to CloudWatch, and has no API endpoint open to the whole internet (public access with no " +
        "CIDRs, or with 0.0.0.0/0).",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediation:
        "Create the cluster through platform/aws/cluster.ts: encryptionConfigKeyArn from a rotated KMS key, " +
        "enabledClusterLogTypes [api, audit, authenticator], and endpointAccess(herd:apiAccessCidrs) (private endpoint when " +
        "no CIDRs are listed). Opening the endpoint to 0.0.0.0/0 takes herd:apiAccessFromAnywhere and a reviewed policy exception.",
    appliesTo: (type) => type === EKS_COMPONENT || type === EKS_CLUSTER,
    check: (r) => eksProblems(r),
};

export const ecrScanOnPush: ResourceRule = {
    kind: "resource",
    name: "ecr-scan-on-push",
    description: "Every ECR repository scans each image for known vulnerabilities when it is pushed.",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediation: "Set imageScanningConfiguration: { scanOnPush: true } on the aws.ecr.Repository (platform/aws/registry.ts does).",
    appliesTo: (type) => type === "aws:ecr/repository:Repository",
    check: (r) =>
        at(r.props, "imageScanningConfiguration", "scanOnPush") === true
            ? []
            : [
                  `ECR repository ${text(r.props["name"]) ?? r.name}: imageScanningConfiguration.scanOnPush is ${show(at(r.props, "imageScanningConfiguration", "scanOnPush"))}: set it to true`,
              ],
};

const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
const ENCRYPTION_TYPES = [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
];
const PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock";
export const PUBLIC_ACCESS_FLAGS: readonly string[] = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

/**
 * Whether a bucket-level resource (encryption, public access block) belongs to a bucket: its `bucket` input came
 * from the bucket (property dependencies, which the engine records even before the name is known), or equals the
 * bucket's name. Undefined when that cannot be told yet (preview).
 */
function belongsTo(child: ResourceView, bucket: ResourceView): boolean | undefined {
    if ((child.propertyDependencies["bucket"] ?? []).includes(bucket.urn)) {
        return true;
    }
    const childBucket = known(() => text(child.props["bucket"]));
    const names = known(() => [text(bucket.props["bucket"]), text(bucket.props["id"])].filter((n): n is string => n !== undefined));
    if (!childBucket.known || !names.known) {
        return undefined;
    }
    return childBucket.value !== undefined && names.value.includes(childBucket.value);
}

/** For each bucket, whether some resource satisfying `ok` belongs to it; buckets that cannot be decided are left out. */
function bucketsLacking(resources: readonly ResourceView[], childTypes: readonly string[], ok: (child: ResourceView) => boolean): ResourceView[] {
    const children = resources.filter((r) => childTypes.includes(r.type));
    return resources
        .filter((r) => BUCKET_TYPES.includes(r.type))
        .filter((bucket) => {
            const links = children.map((c) => ({ link: belongsTo(c, bucket), ok: known(() => ok(c)) }));
            // A child of this bucket whose settings are not known yet (preview) is given the benefit of the doubt.
            if (links.some(({ link, ok: good }) => link === true && (!good.known || good.value))) {
                return false;
            }
            // An unlinked child whose bucket is not known yet may be this bucket's: decide during `pulumi up`.
            return !links.some(({ link }) => link === undefined);
        });
}

function bucketLabel(b: ResourceView): string {
    const name = known(() => text(b.props["bucket"]));
    return `S3 bucket ${b.name}${name.known && name.value !== undefined ? ` (${name.value})` : ""}`;
}

export const s3BucketEncryption: StackRule = {
    kind: "stack",
    name: "s3-bucket-encryption",
    description:
        "Every S3 bucket has its own BucketServerSideEncryptionConfiguration with a default encryption algorithm " +
        "(SSE-KMS with herd's key for backups), rather than relying on whatever the account's default is.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediation:
        "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket (bucket: bucket.id, rules: [{ " +
        "applyServerSideEncryptionByDefault: { sseAlgorithm: \"aws:kms\", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }]), " +
        "as platform/aws/backups.ts does.",
    appliesTo: (type) => BUCKET_TYPES.includes(type),
    check: (resources): Finding[] =>
        bucketsLacking(resources, ENCRYPTION_TYPES, (c) =>
            records(c.props["rules"]).some((rule) => (text(at(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")) ?? "") !== ""),
        ).map((b) => ({
            subject: b,
            message: `${bucketLabel(b)}: no BucketServerSideEncryptionConfiguration with an sseAlgorithm belongs to it: add one (bucket: <bucket>.id, sseAlgorithm "aws:kms" with a customer-managed key)`,
        })),
};

function blocksAll(r: ResourceView): boolean {
    return PUBLIC_ACCESS_FLAGS.every((f) => r.props[f] === true);
}

export const s3PublicAccessBlock: StackRule = {
    kind: "stack",
    name: "s3-public-access-block",
    description:
        "Every S3 bucket has a BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and " +
        "restrictPublicBuckets all true (or the stack sets an AccountPublicAccessBlock with all four), so no ACL or " +
        "policy can ever make it public.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediation:
        "Add an aws.s3.BucketPublicAccessBlock for the bucket with all four flags true (platform/aws/backups.ts does).",
    appliesTo: (type) => BUCKET_TYPES.includes(type),
    check: (resources): Finding[] => {
        if (resources.some((r) => r.type === ACCOUNT_PUBLIC_ACCESS_BLOCK && blocksAll(r))) {
            return [];
        }
        return bucketsLacking(resources, [PUBLIC_ACCESS_BLOCK], blocksAll).map((b) => ({
            subject: b,
            message: `${bucketLabel(b)}: no BucketPublicAccessBlock with ${PUBLIC_ACCESS_FLAGS.join(", ")} all true belongs to it: add one`,
        }));
    },
};
