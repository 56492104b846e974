/**
 * Mock answers for GCP: cluster endpoints and CA, and the invokes the GCP platform makes.
 * `gcpState` returns undefined for types it does not know, and the generic cloud answer is used.
 */
import * as pulumi from "@pulumi/pulumi";
import { physicalName, region, State, suffix, wrapSecret } from "./mock-values";

export function gcpState(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } | undefined {
    if (!args.type.startsWith("gcp:")) {
        return undefined;
    }
    const inputs = (args.inputs ?? {}) as State;
    const physical = physicalName(args);
    const state: State = { name: physical, ...inputs };
    switch (args.type) {
        case "gcp:container/cluster:Cluster": {
            state["endpoint"] = `34.${parseInt(suffix(args.name, 2), 16)}.${parseInt(suffix(`${args.name}x`, 2), 16)}.10`;
            state["masterAuth"] = { clusterCaCertificate: Buffer.from(`MOCK-CA-${args.name}`).toString("base64") };
            break;
        }
    }
    return { id: physical, state };
}

/** Realistic answers for the invokes the GCP platform makes. */
export const GCP_INVOKES: Readonly<Record<string, (inputs: State) => State>> = {
    "gcp:organizations/getClientConfig:getClientConfig": () => ({
        accessToken: wrapSecret("offline-gcp-access-token"),
        project: pulumi.runtime.allConfig()["herd:gcpProject"] ?? "offline-project",
        region: region(),
        id: "offline",
    }),
};
