/**
 * The backup bucket and who may write to it.
 *
 * The bucket: regional, uniform bucket-level access, public access prevented, versioned, and lifecycle rules that
 * expire the PostgreSQL dumps (`postgres/`) after the retention period, and every noncurrent version a few days
 * later. The repositories beside the dumps (`pgbackrest/`, `elasticsearch/`: ../repository.ts) have no age rule:
 * their tool's own retention deletes what it no longer needs. A `pulumi destroy` leaves the bucket in place
 * (retainOnDelete): backups must outlive the stack that made them.
 *
 * `bindBackupWriter` gives one Kubernetes ServiceAccount, through Workload Identity, a Google service account that
 * may create and read objects in that bucket only: no delete and no overwrite, so a compromised job cannot erase
 * history. `bindRepositoryWriter` gives a repository tool's ServiceAccount its own Google service account, allowed to
 * read, write and delete objects under its prefix only.
 */
import * as gcp from "./sdk";
import * as pulumi from "@pulumi/pulumi";
import type { GcpConfig } from "../../config";
import type { BackupUploader, IdentityBinding, RepositoryAccess, RepositoryPurpose } from "../contract";
import { DUMP_PREFIX, repositoryPrefix } from "../repository";
import { GcpOpts, roleSlug, serviceAccountId, workloadIdentityMember } from "./common";
import { PRIVATE_GOOGLE_APIS_CIDR } from "./network";
import type * as k8s from "../../lib/k8s";

type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

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
/** The uploader of a GCS store's backup job, pinned. */
export const GCLOUD_IMAGE = "google/cloud-sdk:499.0.0-slim";
/** GKE's metadata server, which hands out Workload Identity tokens: the addresses a token request goes to. */
export const GKE_METADATA_SERVER_EGRESS: readonly { readonly cidr: string; readonly port: number }[] = [
    { cidr: "169.254.169.254/32", port: 80 },
    { cidr: "169.254.169.252/32", port: 988 },
];

/**
 * How a pod reaches the GCS API: "privateGoogleApis" once herd's VPC resolves googleapis.com to
 * private.googleapis.com (./network.ts `createPrivateGoogleApis`), so HTTPS to those four addresses only; "anyAddress"
 * without that zone (storage.googleapis.com then resolves to Google's public ranges, too wide and changing to list).
 */
export type GcsApiPath = "privateGoogleApis" | "anyAddress";

/** Egress to the GCS API by `path`, and to the metadata server that hands out Workload Identity tokens. */
export function gcsEgress(path: GcsApiPath): EgressRule[] {
    return [
        { ...(path === "privateGoogleApis" ? { to: [{ ipBlock: { cidr: PRIVATE_GOOGLE_APIS_CIDR } }] } : {}), ports: [{ protocol: "TCP", port: 443 }] },
        ...GKE_METADATA_SERVER_EGRESS.map(({ cidr, port }) => ({ to: [{ ipBlock: { cidr } }], ports: [{ protocol: "TCP", port }] })),
    ];
}

/**
 * A backup job's upload to the GCS bucket with gcloud, through Workload Identity (HTTPS to the API, tokens from the
 * metadata server). Expiry is the bucket's lifecycle rules, so nothing is pruned here.
 */
export function gcsUploader(bucket: pulumi.Input<string>, path: GcsApiPath = "anyAddress"): BackupUploader {
    return {
        image: GCLOUD_IMAGE,
        script: 'set -eu\nfor f in /backup/*.dump; do gcloud storage cp --no-user-output-enabled "$f" "gs://$BUCKET/$PREFIX$(basename "$f")"; done',
        bucket,
        env: [{ name: "CLOUDSDK_CONFIG", value: "/tmp/gcloud" }],
        egress: gcsEgress(path),
    };
}
export const WORKLOAD_IDENTITY_USER_ROLE = "roles/iam.workloadIdentityUser";
/** Days a replaced or expired backup stays recoverable as a noncurrent version before it is deleted. */
export const NONCURRENT_VERSION_DAYS = 7;

/**
 * Dumps expire after `retentionDays`. The bucket is versioned, so expiring (or overwriting) a live object keeps it
 * as a noncurrent version; those are deleted `NONCURRENT_VERSION_DAYS` later, which is the window to undo a mistake.
 */
export function backupLifecycleRules(retentionDays: number): gcp.types.input.storage.BucketLifecycleRule[] {
    return [
        // The dumps only: an age rule under a repository's prefix would corrupt it.
        { action: { type: "Delete" }, condition: { age: retentionDays, withState: "LIVE", matchesPrefixes: [DUMP_PREFIX] } },
        { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: NONCURRENT_VERSION_DAYS, withState: "ARCHIVED" } },
    ];
}

export function createBackupBucket(name: string, cfg: GcpConfig, retentionDays: number, protect: boolean, opts: GcpOpts): gcp.storage.Bucket {
    return new gcp.storage.Bucket(
        `${name}-backups`,
        {
            location: cfg.region,
            storageClass: "STANDARD",
            uniformBucketLevelAccess: true,
            publicAccessPrevention: "enforced",
            versioning: { enabled: true },
            lifecycleRules: backupLifecycleRules(retentionDays),
            forceDestroy: false,
        },
        // It holds the backups. `protect` (herd:protectData, on unless a stack is throwaway) stops a replacement or
        // `pulumi destroy` from dropping it; `retainOnDelete`, always on, means that even an unprotected destroy only
        // forgets the bucket and leaves the backups in place (the lifecycle rules still expire them, so an orphaned
        // bucket empties itself). Delete it by hand when that is really meant.
        { ...opts, protect, retainOnDelete: true },
    );
}

/** What binding one Kubernetes ServiceAccount to a Google service account of its own takes. */
type WriterArgs = Parameters<typeof bindBackupWriter>[0];

/**
 * A Google service account for one Kubernetes ServiceAccount, and the Workload Identity grant that lets that
 * ServiceAccount act as it; the caller grants it what it may do. Created under the caller's parent.
 */
function workloadServiceAccount(args: WriterArgs, description: pulumi.Input<string>): gcp.serviceaccount.Account {
    const on: GcpOpts = { parent: args.parent, provider: args.provider };
    const account = new gcp.serviceaccount.Account(
        `${args.name}-gsa`,
        { accountId: serviceAccountId(args.stack, args.name), displayName: `herd ${args.stack}: ${args.name}`, description },
        on,
    );
    new gcp.serviceaccount.IAMMember(
        `${args.name}-workload-identity`,
        {
            serviceAccountId: account.name,
            role: WORKLOAD_IDENTITY_USER_ROLE,
            member: pulumi
                .output(args.namespace)
                .apply((namespace) => workloadIdentityMember(args.project, namespace, args.serviceAccountName)),
        },
        // The identity pool <project>.svc.id.goog exists only once a cluster with Workload Identity does; before
        // that, IAM refuses the member.
        { ...on, dependsOn: [args.cluster] },
    );
    return account;
}

/**
 * A Google service account for one backup job, allowed to write to (and read from) the backup bucket only, and the
 * Workload Identity grant that lets the job's Kubernetes ServiceAccount act as it. Created under the caller's parent.
 */
export function bindBackupWriter(args: {
    readonly name: string;
    readonly namespace: pulumi.Input<string>;
    readonly serviceAccountName: string;
    readonly parent: pulumi.Resource;
    readonly stack: string;
    readonly project: string;
    readonly bucket: gcp.storage.Bucket;
    readonly cluster: gcp.container.Cluster;
    readonly provider: gcp.Provider;
}): IdentityBinding {
    const on: GcpOpts = { parent: args.parent, provider: args.provider };
    const account = workloadServiceAccount(args, pulumi.interpolate`Writes backups for ${args.namespace}/${args.serviceAccountName} (Workload Identity).`);
    const member = pulumi.interpolate`serviceAccount:${account.email}`;
    for (const role of BACKUP_BUCKET_ROLES) {
        new gcp.storage.BucketIAMMember(`${args.name}-gsa-${roleSlug(role)}`, { bucket: args.bucket.name, role, member }, on);
    }
    return {
        serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": account.email },
        env: BACKUP_UPLOAD_ENV.map((e) => ({ ...e })),
    };
}

/** What a repository's tool may do under its prefix: its retention deletes and overwrites objects. */
export const REPOSITORY_ROLE = "roles/storage.objectAdmin";

/**
 * The IAM condition of a repository tool's grant: objects under `<purpose>/` only. Listing is checked on the bucket
 * itself (`storage.objects.list` has no object name), so the condition admits the bucket too: the tool can list
 * names elsewhere, never read, write or delete an object outside its prefix.
 */
export function repositoryCondition(bucket: string, purpose: RepositoryPurpose): { title: string; description: string; expression: string } {
    return {
        title: `herd-${purpose}-prefix`,
        description: `Objects under ${repositoryPrefix(purpose)} only (and listing the bucket)`,
        expression: `resource.type == "storage.googleapis.com/Bucket" || resource.name.startsWith("projects/_/buckets/${bucket}/objects/${repositoryPrefix(purpose)}")`,
    };
}

/**
 * A Google service account for one ServiceAccount of the tool that keeps the `purpose` repository: objectAdmin on the
 * bucket under a prefix condition, and the Workload Identity grant. Created under the caller's parent.
 */
export function bindRepositoryWriter(args: WriterArgs & { readonly purpose: RepositoryPurpose }): IdentityBinding {
    const on: GcpOpts = { parent: args.parent, provider: args.provider };
    const account = workloadServiceAccount(
        args,
        pulumi.interpolate`Keeps the ${args.purpose} repository of ${args.namespace}/${args.serviceAccountName} (Workload Identity).`,
    );
    new gcp.storage.BucketIAMMember(
        `${args.name}-gsa-${roleSlug(REPOSITORY_ROLE)}`,
        {
            bucket: args.bucket.name,
            role: REPOSITORY_ROLE,
            member: pulumi.interpolate`serviceAccount:${account.email}`,
            condition: args.bucket.name.apply((bucket) => repositoryCondition(bucket, args.purpose)),
        },
        on,
    );
    return { serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": account.email }, env: [] };
}

/** The `purpose` repository in the backup bucket: its prefix, the GCS uploader's egress, a service account per binding. */
export function gcsRepository(
    purpose: RepositoryPurpose,
    bind: Omit<Parameters<typeof bindRepositoryWriter>[0], "purpose" | "name" | "namespace" | "serviceAccountName" | "parent">,
    path: GcsApiPath = "anyAddress",
): RepositoryAccess {
    return {
        store: { kind: "gcs", bucket: bind.bucket.name, prefix: repositoryPrefix(purpose), egress: gcsEgress(path) },
        identity: { bind: (args) => bindRepositoryWriter({ ...args, ...bind, purpose }) },
    };
}
