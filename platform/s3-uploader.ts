/**
 * How a backup job uploads to S3 or an S3-compatible store with the AWS CLI: used by the aws platform and by onprem
 * with an S3-compatible store. Kept apart from platform/aws/ so that onprem does not load @pulumi/aws (~150 ms of
 * every start) for a container image and a script.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as k8s from "../lib/k8s";
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

type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;

/**
 * Egress to an object store on `port`: to the `to` peers (the store's addresses), or, with none known, to any
 * address on that port (the caller says so where it can: onprem warns at preview).
 */
export function objectStoreEgress(port: number, to?: pulumi.Input<pulumi.Input<NetworkPolicyPeer>[]>): EgressRule[] {
    return [{ ...(to !== undefined ? { to } : {}), ports: [{ protocol: "TCP", port }] }];
}

/**
 * A backup job's upload to an S3 bucket with the AWS CLI: on AWS itself (endpoint undefined) or an S3-compatible
 * store (the onprem platform). Expiry is the bucket's lifecycle rule, so nothing is pruned here. `egress`: where the
 * upload may connect (the store's addresses; and on AWS, STS for the web identity token); @default any address on
 * the endpoint's port.
 */
export function s3Uploader(
    bucket: pulumi.Input<string>,
    region: pulumi.Input<string>,
    endpoint: string | undefined,
    egress: readonly EgressRule[] = objectStoreEgress(endpointPort(endpoint)),
): BackupUploader {
    return {
        image: AWS_CLI_IMAGE,
        script: 'set -eu\nfor f in /backup/*.dump; do aws s3 cp --only-show-errors "$f" "s3://$BUCKET/$PREFIX$(basename "$f")"; done',
        bucket,
        env: [{ name: "AWS_REGION", value: region }, ...(endpoint !== undefined ? [{ name: "AWS_ENDPOINT_URL", value: endpoint }] : [])],
        egress: [...egress],
    };
}
