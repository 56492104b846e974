/**
 * How a backup job uploads to S3 or an S3-compatible store with the AWS CLI: used by the aws platform and by onprem
 * with an S3-compatible store. Kept apart from platform/aws/ so that onprem does not load @pulumi/aws (~150 ms of
 * every start) for a container image and a script.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { BackupUploader } from "./contract";

/** The uploader of an S3 (or S3-compatible) store's backup job, pinned. */
export const AWS_CLI_IMAGE = "amazon/aws-cli:2.17.0";

/** The TCP port of an object-store endpoint URL (443 for AWS S3 itself). */
export function endpointPort(endpoint: string | undefined): number {
    if (endpoint === undefined) {
        return 443;
    }
    const url = new URL(endpoint);
    return url.port !== "" ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
}

/**
 * A backup job's upload to an S3 bucket with the AWS CLI: on AWS itself (endpoint undefined) or an S3-compatible
 * store (the onprem platform). Expiry is the bucket's lifecycle rule, so nothing is pruned here.
 */
export function s3Uploader(bucket: pulumi.Input<string>, region: pulumi.Input<string>, endpoint: string | undefined): BackupUploader {
    return {
        image: AWS_CLI_IMAGE,
        script: 'set -eu\nfor f in /backup/*.dump; do aws s3 cp --only-show-errors "$f" "s3://$BUCKET/$PREFIX$(basename "$f")"; done',
        bucket,
        env: [{ name: "AWS_REGION", value: region }, ...(endpoint !== undefined ? [{ name: "AWS_ENDPOINT_URL", value: endpoint }] : [])],
        egress: [{ ports: [{ protocol: "TCP", port: endpointPort(endpoint) }] }],
    };
}
