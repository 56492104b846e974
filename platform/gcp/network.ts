/**
 * The VPC: one regional subnet with secondary ranges for pods and Services, private Google access, and Cloud NAT
 * (for herd's subnet only) for the private nodes' egress.
 */
import * as gcp from "./sdk";
import type { GcpConfig } from "../../config";
import type { GcpOpts } from "./common";

/** Secondary ranges of the subnet: the cluster finds its pod and Service ranges by these names. */
export const PODS_RANGE = "pods";
export const SERVICES_RANGE = "services";

export interface Network {
    readonly network: gcp.compute.Network;
    readonly subnet: gcp.compute.Subnetwork;
}

export function createNetwork(name: string, cfg: GcpConfig, opts: GcpOpts): Network {
    const vpc = new gcp.compute.Network(`${name}-network`, { autoCreateSubnetworks: false, routingMode: "REGIONAL" }, opts);
    const subnet = new gcp.compute.Subnetwork(
        `${name}-subnet`,
        {
            network: vpc.id,
            region: cfg.region,
            ipCidrRange: cfg.network.subnetCidr,
            secondaryIpRanges: [
                { rangeName: PODS_RANGE, ipCidrRange: cfg.network.podsCidr },
                { rangeName: SERVICES_RANGE, ipCidrRange: cfg.network.servicesCidr },
            ],
            // Private nodes reach Google APIs (Artifact Registry, GCS, logging) without a public IP.
            privateIpGoogleAccess: true,
        },
        opts,
    );
    const router = new gcp.compute.Router(`${name}-router`, { network: vpc.id, region: cfg.region }, opts);
    // Egress for private nodes and pods: NAT for herd's subnet only (all its ranges), so a subnet someone adds to the
    // VPC later does not silently get internet egress. Only errors are logged (translations would be noise and cost).
    new gcp.compute.RouterNat(
        `${name}-nat`,
        {
            router: router.name,
            region: cfg.region,
            natIpAllocateOption: "AUTO_ONLY",
            sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
            subnetworks: [{ name: subnet.id, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
            logConfig: { enable: true, filter: "ERRORS_ONLY" },
        },
        opts,
    );
    return { network: vpc, subnet };
}
