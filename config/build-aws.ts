/** aws: the EKS cluster herd creates, its VPC, node group and ECR repositories. */
import { type BuildContext, clusterConfig } from "./build-context";
import type { AwsConfig, CommonConfig, HerdConfig } from "./types";

/** The aws settings and their cross-field rules; undefined when a required one is missing or a rule failed. */
export function buildAws(ctx: BuildContext, common: CommonConfig): HerdConfig | undefined {
    const { str, num, set, problem } = ctx;
    const region = set("awsRegion");
    if (region === undefined) {
        problem("awsRegion", "required on platform aws: expected an AWS region such as eu-west-1, got nothing");
    }
    const nodes = { instanceType: str("awsNodeInstanceType"), min: num("awsNodeMin"), desired: num("awsNodeDesired"), max: num("awsNodeMax") };
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
    const cluster = clusterConfig(ctx);
    if (region === undefined || cluster === undefined) {
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
            ecrKeepImages: num("ecrKeepImages"),
        },
    };
}
