/** gcp: the GKE cluster herd creates, its network ranges, node pool and Artifact Registry. */
import { type BuildContext, clusterConfig } from "./build-context";
import type { KeyName } from "./keys";
import { cidrProblem, cidrsOverlap } from "./schemas";
import type { CommonConfig, GcpConfig, HerdConfig } from "./types";

/** The gcp settings and their cross-field rules; undefined when a required one is missing or a rule failed. */
export function buildGcp(ctx: BuildContext, common: CommonConfig): HerdConfig | undefined {
    const { v, str, num, set, problem } = ctx;
    const project = set("gcpProject");
    const region = set("gcpRegion");
    if (project === undefined) {
        problem("gcpProject", "required on platform gcp: expected a GCP project ID, got nothing");
    }
    if (region === undefined) {
        problem("gcpRegion", "required on platform gcp: expected a GCP region such as europe-west1, got nothing");
    }
    const nodes = { machineType: str("gcpNodeMachineType"), minPerZone: num("gcpNodeMinPerZone"), maxPerZone: num("gcpNodeMaxPerZone") };
    if (nodes.minPerZone > nodes.maxPerZone) {
        problem("gcpNodeMinPerZone", `expected at most herd:gcpNodeMaxPerZone (${nodes.maxPerZone}), got ${nodes.minPerZone}`, "gcpNodeMaxPerZone");
    }
    const network = { subnetCidr: str("gcpSubnetCidr"), podsCidr: str("gcpPodsCidr"), servicesCidr: str("gcpServicesCidr"), masterCidr: str("gcpMasterCidr") };
    const ranges = Object.entries({ gcpSubnetCidr: network.subnetCidr, gcpPodsCidr: network.podsCidr, gcpServicesCidr: network.servicesCidr, gcpMasterCidr: network.masterCidr });
    for (let i = 0; i < ranges.length; i++) {
        for (let j = i + 1; j < ranges.length; j++) {
            const [a, b] = [ranges[i], ranges[j]] as [[KeyName, string], [KeyName, string]];
            if (cidrProblem(a[1]) === undefined && cidrProblem(b[1]) === undefined && cidrsOverlap(a[1], b[1])) {
                problem(b[0], `expected a range that does not overlap herd:${a[0]} (${a[1]}), got ${JSON.stringify(b[1])}`, a[0]);
            }
        }
    }
    const cluster = clusterConfig(ctx);
    if (project === undefined || region === undefined || cluster === undefined) {
        return undefined;
    }
    return {
        ...common,
        platform: "gcp",
        gcp: {
            ...cluster,
            project,
            region,
            releaseChannel: str("gcpReleaseChannel") as GcpConfig["releaseChannel"],
            deletionProtection: v.gcpDeletionProtection === true,
            network,
            nodes,
        },
    };
}
