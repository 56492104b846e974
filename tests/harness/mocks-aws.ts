/**
 * Mock answers for AWS and pulumi-eks: ARNs, cluster endpoints, OIDC issuers, and the invokes the AWS platform makes.
 * `awsState` returns undefined for types it does not know, and the generic cloud answer is used.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ACCOUNT_ID, physicalName, region, State, suffix, wrapSecret } from "./mock-values";

export function awsState(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } | undefined {
    const inputs = (args.inputs ?? {}) as State;
    const physical = physicalName(args);
    const state: State = { name: physical, ...inputs };
    const [pkg, module] = args.type.split(":");
    if (pkg === "aws") {
        const service = (module ?? "").split("/")[0];
        state["arn"] = `arn:aws:${service}:${region()}:${ACCOUNT_ID}:${args.type.split(":").pop()?.toLowerCase()}/${String(state["name"])}`;
    }
    switch (args.type) {
        case "aws:eks/cluster:Cluster": {
            const id = suffix(`eks:${args.name}`, 32).toUpperCase();
            state["endpoint"] = `https://${id}.gr7.${region()}.eks.amazonaws.com`;
            state["certificateAuthority"] = { data: Buffer.from(`-----BEGIN CERTIFICATE-----\nMOCK-${args.name}\n-----END CERTIFICATE-----\n`).toString("base64") };
            state["identities"] = [{ oidcs: [{ issuer: `https://oidc.eks.${region()}.amazonaws.com/id/${id}` }] }];
            state["status"] = "ACTIVE";
            break;
        }
        default:
            if (pkg !== "aws") {
                return undefined;
            }
    }
    return { id: physical, state };
}

/** Realistic answers for the invokes the AWS platform makes. */
export const AWS_INVOKES: Readonly<Record<string, (inputs: State) => State>> = {
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({
        accountId: ACCOUNT_ID,
        arn: `arn:aws:iam::${ACCOUNT_ID}:user/offline`,
        userId: "AIDAOFFLINEHARNESS",
        id: ACCOUNT_ID,
    }),
    "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" }),
    "aws:index/getRegion:getRegion": () => ({ name: region(), region: region(), id: region() }),
    "aws:index/getAvailabilityZones:getAvailabilityZones": () => ({
        names: ["a", "b", "c"].map((z) => `${region()}${z}`),
        zoneIds: ["1", "2", "3"].map((z) => `euw1-az${z}`),
        id: region(),
    }),
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": () => ({
        userName: "AWS",
        password: wrapSecret("offline-ecr-token"),
        authorizationToken: wrapSecret(Buffer.from("AWS:offline-ecr-token").toString("base64")),
        proxyEndpoint: `https://${ACCOUNT_ID}.dkr.ecr.${region()}.amazonaws.com`,
        id: region(),
    }),
};
