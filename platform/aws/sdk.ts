/**
 * The parts of @pulumi/aws herd uses, imported one service at a time; imported as `aws`, this module reads like the
 * package's root, but the root's index.js loads all ~250 service modules (and the callback-function mixins for
 * Lambda, SQS, SNS, DynamoDB, ...) before the program can start, about a third of the aws stack's start-up time.
 * A service's own index.js registers its resource module, so references to its resources that the engine returns
 * (an eks.Cluster's `eksCluster`) still come back as live resources. A service herd starts using is added here.
 */
export * as cloudwatch from "@pulumi/aws/cloudwatch";
export * as ec2 from "@pulumi/aws/ec2";
export * as ecr from "@pulumi/aws/ecr";
export * as eks from "@pulumi/aws/eks";
export * as iam from "@pulumi/aws/iam";
export * as kms from "@pulumi/aws/kms";
export * as s3 from "@pulumi/aws/s3";
export { getAvailabilityZonesOutput } from "@pulumi/aws/getAvailabilityZones";
export { getPartitionOutput } from "@pulumi/aws/getPartition";
export { Provider } from "@pulumi/aws/provider";
export type * as types from "@pulumi/aws/types";
