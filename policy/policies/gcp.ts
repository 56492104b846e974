/**
 * GCP: a GKE cluster and its node pools run private nodes, under Workload Identity, shielded, on a release channel,
 * as a dedicated service account (never the Compute Engine default one), with no control plane open to the world.
 */
import type { ResourceRule, ResourceView } from "./define";
import { at, known, records, show, text } from "./values";

const GKE_CLUSTER = "gcp:container/cluster:Cluster";
const GKE_NODE_POOL = "gcp:container/nodePool:NodePool";
export const RELEASE_CHANNELS: readonly string[] = ["RAPID", "REGULAR", "STABLE", "EXTENDED"];
const WORLD = ["0.0.0.0/0", "::/0"];

/**
 * Why a node service account is not acceptable: unset (GKE then uses the Compute Engine default account, which has
 * Editor on the project), "default", or the default account by name.
 */
export function defaultServiceAccountProblem(field: string, read: () => unknown): string | undefined {
    const v = known(() => text(read()));
    if (!v.known) {
        // Computed during preview: the email of a service account the stack creates.
        return undefined;
    }
    const email = v.value ?? "";
    if (email === "" || email === "default" || /-compute@developer\.gserviceaccount\.com$/.test(email)) {
        return `${field} is ${email === "" ? "unset, so GKE uses the Compute Engine default service account" : JSON.stringify(email)}: set it to a dedicated, least-privilege service account (roles/container.defaultNodeServiceAccount)`;
    }
    return undefined;
}

/** Problems of a node config (the cluster's default pool, an inline pool, or a NodePool resource). */
function nodeConfigProblems(path: string, nodeConfig: unknown): string[] {
    const problems: string[] = [];
    const sa = defaultServiceAccountProblem(`${path}.serviceAccount`, () => at(nodeConfig, "serviceAccount"));
    if (sa !== undefined) {
        problems.push(sa);
    }
    const mode = text(at(nodeConfig, "workloadMetadataConfig", "mode"));
    if (mode !== undefined && mode !== "GKE_METADATA") {
        problems.push(`${path}.workloadMetadataConfig.mode is ${JSON.stringify(mode)}: set it to "GKE_METADATA" so pods get their Workload Identity, never the node's`);
    }
    if (at(nodeConfig, "shieldedInstanceConfig", "enableIntegrityMonitoring") === false) {
        problems.push(`${path}.shieldedInstanceConfig.enableIntegrityMonitoring is false: remove it or set it to true`);
    }
    return problems;
}

function clusterProblems(r: Pick<ResourceView, "name" | "props">): string[] {
    const p = r.props;
    const label = `GKE cluster ${text(p["name"]) ?? r.name}`;
    const problems: string[] = [];
    if (at(p, "privateClusterConfig", "enablePrivateNodes") !== true) {
        problems.push(`privateClusterConfig.enablePrivateNodes is ${show(at(p, "privateClusterConfig", "enablePrivateNodes"))}: set it to true (nodes without public IPs; egress through Cloud NAT)`);
    }
    const pool = known(() => text(at(p, "workloadIdentityConfig", "workloadPool")));
    if (pool.known && (pool.value ?? "") === "") {
        problems.push(`workloadIdentityConfig.workloadPool is not set: set it to "<project>.svc.id.goog" to enable Workload Identity`);
    }
    if (p["enableShieldedNodes"] === false) {
        problems.push("enableShieldedNodes is false: remove it or set it to true (shielded GKE nodes: verified boot and node identity)");
    }
    const channel = text(at(p, "releaseChannel", "channel"));
    if (channel === undefined || !RELEASE_CHANNELS.includes(channel)) {
        problems.push(`releaseChannel.channel is ${show(channel)}: enroll the cluster in a release channel (${RELEASE_CHANNELS.join(", ")}; herd:gcpReleaseChannel)`);
    }
    if (p["enableAutopilot"] === true) {
        const sa = defaultServiceAccountProblem("clusterAutoscaling.autoProvisioningDefaults.serviceAccount", () =>
            at(p, "clusterAutoscaling", "autoProvisioningDefaults", "serviceAccount"),
        );
        if (sa !== undefined) {
            problems.push(sa);
        }
    } else {
        // The default pool (even one removed right after creation) and any inline pools.
        problems.push(...nodeConfigProblems("nodeConfig", p["nodeConfig"]));
        records(p["nodePools"]).forEach((pool, i) => problems.push(...nodeConfigProblems(`nodePools[${i}].nodeConfig`, pool["nodeConfig"])));
        if (at(p, "clusterAutoscaling", "enabled") === true) {
            const sa = defaultServiceAccountProblem("clusterAutoscaling.autoProvisioningDefaults.serviceAccount", () =>
            at(p, "clusterAutoscaling", "autoProvisioningDefaults", "serviceAccount"),
        );
            if (sa !== undefined) {
                problems.push(`${sa} (node auto-provisioning creates pools with it)`);
            }
        }
    }
    // The control plane: a public endpoint needs authorized networks, and none of them the whole internet.
    if (at(p, "privateClusterConfig", "enablePrivateEndpoint") !== true) {
        const networks = at(p, "masterAuthorizedNetworksConfig");
        const cidrs = records(at(networks, "cidrBlocks")).map((b) => text(b["cidrBlock"]) ?? "");
        if (networks === undefined || networks === null) {
            problems.push("the control plane has a public endpoint and no masterAuthorizedNetworksConfig, so any address may reach it: list your CIDRs (herd:apiAccessCidrs) or make the endpoint private");
        } else if (cidrs.some((c) => WORLD.includes(c))) {
            problems.push("masterAuthorizedNetworksConfig.cidrBlocks includes 0.0.0.0/0: list only your CI runners' and VPN's CIDRs; a world-open endpoint needs a reviewed policy exception");
        }
    }
    return problems.map((m) => `${label}: ${m}`);
}

function nodePoolProblems(r: Pick<ResourceView, "name" | "props">): string[] {
    const p = r.props;
    const label = `GKE node pool ${text(p["name"]) ?? r.name}`;
    const problems = nodeConfigProblems("nodeConfig", p["nodeConfig"]);
    if (at(p, "networkConfig", "enablePrivateNodes") === false) {
        problems.push("networkConfig.enablePrivateNodes is false: remove it (the pool then follows the cluster's private nodes)");
    }
    return problems.map((m) => `${label}: ${m}`);
}

export const gkeHardening: ResourceRule = {
    kind: "resource",
    name: "gke-cluster-hardening",
    description:
        "A GKE cluster has private nodes, Workload Identity, shielded nodes, a release channel and no control plane open " +
        "to the world; it and every node pool run as a dedicated service account, never the Compute Engine default one, " +
        "with the GKE metadata server (pods never see the node's identity).",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediation:
        "Create the cluster and pools through platform/gcp.ts: privateClusterConfig.enablePrivateNodes true, " +
        "workloadIdentityConfig.workloadPool \"<project>.svc.id.goog\", releaseChannel from herd:gcpReleaseChannel, " +
        "nodeConfig(machineType, nodeServiceAccount.email) on the cluster and every pool, masterAuthorizedNetworksConfig from herd:apiAccessCidrs.",
    appliesTo: (type) => type === GKE_CLUSTER || type === GKE_NODE_POOL,
    check: (r) => (r.type === GKE_CLUSTER ? clusterProblems(r) : nodePoolProblems(r)),
};
