/** gcp: the GKE cluster herd creates, its network ranges, node pool and Artifact Registry. */
import { type BuildContext, clusterConfig } from "./build-context";
import type { KeyName } from "./keys";
import { cidrProblem, cidrsOverlap } from "./schemas";
import type { CommonConfig, GcpConfig, HerdConfig } from "./types";
import {
    guaranteedAvailabilityHours,
    MAX_EXCLUSIONS,
    MAX_NO_UPGRADES_EXCLUSIONS,
    type MaintenanceExclusion,
    MIN_AVAILABILITY_HOURS,
    parseExclusion,
    type Weekday,
} from "./gcp-maintenance";
import { qualified } from "./keys";

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
    // HTTPS: publicHostname gets a Google-managed certificate; the DNS zone only says where herd writes its record.
    const hostname = common.app.publicHostname;
    const dnsZone = set("gcpDnsZone");
    if (dnsZone !== undefined && hostname === undefined) {
        problem("gcpDnsZone", `expected herd:publicHostname set as well (the zone gets that host's record), got ${JSON.stringify(dnsZone)} without a host name`, "publicHostname");
    }
    const maintenance = gcpMaintenance(ctx);
    const cluster = clusterConfig(ctx);
    if (project === undefined || region === undefined || cluster === undefined || (dnsZone !== undefined && hostname === undefined)) {
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
            maintenance,
            registry: { keepImages: num("gcpRegistryKeepImages"), untaggedDays: num("gcpRegistryUntaggedDays") },
            regionalDisks: v.gcpRegionalDisks === true,
            https: hostname === undefined ? undefined : { hostname, dnsZone },
        },
    };
}

/** Whether every entry of a list key passed validation (a malformed entry is reported on its own, once). */
function wholeList(ctx: BuildContext, key: KeyName): boolean {
    const text = ctx.raw.values[qualified(key)];
    if (text === undefined) {
        return true;
    }
    try {
        const given = JSON.parse(text) as unknown;
        return Array.isArray(given) && given.length === ((ctx.v[key] as unknown[] | undefined) ?? []).length;
    } catch {
        return false;
    }
}

/**
 * GKE's maintenance policy and the limits that span keys or entries: the window must leave GKE its 48 hours in any
 * 32 days, days are given once, exclusion names are distinct, and there are at most 3 NO_UPGRADES exclusions and 20
 * in all. (Each exclusion's own limits are its key's schema.) herd always enrolls the cluster in a release channel,
 * which the NO_MINOR scopes need.
 */
function gcpMaintenance(ctx: BuildContext): GcpConfig["maintenance"] {
    const { v, str, num, problem, written } = ctx;
    const given = (v.gcpMaintenanceDays as Weekday[] | undefined) ?? [];
    const days = [...new Set(given)];
    const repeated = [...new Set(given.filter((d, i) => given.indexOf(d) !== i))];
    if (repeated.length > 0) {
        problem("gcpMaintenanceDays", `expected each day once, got ${written("gcpMaintenanceDays")} (${repeated.join(", ")} more than once)`);
    }
    const hours = num("gcpMaintenanceHours");
    const available = guaranteedAvailabilityHours({ hours, days });
    if (days.length > 0 && wholeList(ctx, "gcpMaintenanceDays") && available < MIN_AVAILABILITY_HOURS) {
        problem(
            "gcpMaintenanceHours",
            `expected a window that leaves GKE at least ${MIN_AVAILABILITY_HOURS} hours for maintenance in any 32 days (GKE refuses less): ` +
                `${days.length} day(s) a week (herd:gcpMaintenanceDays) of ${hours} h guarantee only ${available} h; lengthen the window or add days, got ${hours}`,
            "gcpMaintenanceDays",
        );
    }

    const exclusions = ((v.gcpMaintenanceExclusions as string[] | undefined) ?? [])
        .map(parseExclusion)
        .filter((e): e is MaintenanceExclusion => !("problem" in e));
    const names = exclusions.map((e) => e.name);
    const twice = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
    if (twice.length > 0) {
        problem("gcpMaintenanceExclusions", `expected a distinct name for each exclusion (GKE keys them by name), got ${twice.map((n) => JSON.stringify(n)).join(", ")} more than once`);
    }
    if (exclusions.length > MAX_EXCLUSIONS) {
        problem("gcpMaintenanceExclusions", `expected at most ${MAX_EXCLUSIONS} exclusions (GKE's limit per cluster), got ${exclusions.length}`);
    }
    const noUpgrades = exclusions.filter((e) => e.scope === "NO_UPGRADES").length;
    if (noUpgrades > MAX_NO_UPGRADES_EXCLUSIONS) {
        problem(
            "gcpMaintenanceExclusions",
            `expected at most ${MAX_NO_UPGRADES_EXCLUSIONS} NO_UPGRADES exclusions (GKE's limit on that scope; NO_MINOR_UPGRADES still lets patches through), got ${noUpgrades}`,
        );
    }
    if (given.length === 0 && wholeList(ctx, "gcpMaintenanceDays") && exclusions.length > 0) {
        // The provider documents a maintenance policy as needing a window once it is given at all.
        problem(
            "gcpMaintenanceExclusions",
            `expected no exclusions while herd:gcpMaintenanceDays is empty (exclusions carve time out of a maintenance window; give the window days), got ${written("gcpMaintenanceExclusions")}`,
            "gcpMaintenanceDays",
        );
    }
    return { window: { start: str("gcpMaintenanceStart"), hours, days }, exclusions };
}
