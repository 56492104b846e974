/**
 * The backup bucket and who may write to it.
 *
 * The bucket: regional, uniform bucket-level access, public access prevented, versioned, and lifecycle rules that
 * expire backups after the retention period (and their noncurrent versions a few days later). A `pulumi destroy`
 * leaves it in place (retainOnDelete): backups must outlive the stack that made them.
 *
 * `bindBackupWriter` gives one Kubernetes ServiceAccount, through Workload Identity, a Google service account that
 * may create and read objects in that bucket only: no delete and no overwrite, so a compromised job cannot erase
 * history.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { GcpConfig } from "../../config";
import type { BackupUploader, IdentityBinding } from "../contract";
import { GcpOpts, roleSlug, serviceAccountId, workloadIdentityMember } from "./common";

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
 * A backup job's upload to the GCS bucket with gcloud, through Workload Identity (HTTPS to the API, tokens from the
 * metadata server). Expiry is the bucket's lifecycle rules, so nothing is pruned here.
 */
export function gcsUploader(bucket: pulumi.Input<string>): BackupUploader {
    return {
        image: GCLOUD_IMAGE,
        script: 'set -eu\nfor f in /backup/*.dump; do gcloud storage cp --no-user-output-enabled "$f" "gs://$BUCKET/$PREFIX$(basename "$f")"; done',
        bucket,
        env: [{ name: "CLOUDSDK_CONFIG", value: "/tmp/gcloud" }],
        egress: [
            { ports: [{ protocol: "TCP", port: 443 }] },
            ...GKE_METADATA_SERVER_EGRESS.map(({ cidr, port }) => ({ to: [{ ipBlock: { cidr } }], ports: [{ protocol: "TCP", port }] })),
        ],
    };
}
export const WORKLOAD_IDENTITY_USER_ROLE = "roles/iam.workloadIdentityUser";
/** Days a replaced or expired backup stays recoverable as a noncurrent version before it is deleted. */
export const NONCURRENT_VERSION_DAYS = 7;

/**
 * Backups expire after `retentionDays`. The bucket is versioned, so expiring (or overwriting) a live object keeps it
 * as a noncurrent version; those are deleted `NONCURRENT_VERSION_DAYS` later, which is the window to undo a mistake.
 */
export function backupLifecycleRules(retentionDays: number): gcp.types.input.storage.BucketLifecycleRule[] {
    return [
        { action: { type: "Delete" }, condition: { age: retentionDays, withState: "LIVE" } },
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
    const account = new gcp.serviceaccount.Account(
        `${args.name}-gsa`,
        {
            accountId: serviceAccountId(args.stack, args.name),
            displayName: `herd ${args.stack}: ${args.name}`,
            description: pulumi.interpolate`Writes backups for ${args.namespace}/${args.serviceAccountName} (Workload Identity).`,
        },
        on,
    );
    const member = pulumi.interpolate`serviceAccount:${account.email}`;
    for (const role of BACKUP_BUCKET_ROLES) {
        new gcp.storage.BucketIAMMember(`${args.name}-gsa-${roleSlug(role)}`, { bucket: args.bucket.name, role, member }, on);
    }
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
    return {
        serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": account.email },
        env: BACKUP_UPLOAD_ENV.map((e) => ({ ...e })),
    };
}
