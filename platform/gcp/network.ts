/**
 * The VPC: one regional subnet with secondary ranges for pods and Services, private Google access, and Cloud NAT
 * (for herd's subnet only) for the private nodes' egress. `createPrivateGoogleApis` makes Google's APIs resolve inside
 * the VPC to private.googleapis.com (a private Cloud DNS zone for googleapis.com), so the pods that talk to GCS reach
 * it on four fixed addresses, which their NetworkPolicies can then name (./backups.ts `gcsEgress`).
 */
import * as dns from "@pulumi/gcp/dns";
import * as gcp from "./sdk";
import type { GcpConfig } from "../../config";
import type { GcpOpts } from "./common";
import type { ExposureSources } from "../contract";

/** Secondary ranges of the subnet: the cluster finds its pod and Service ranges by these names. */
export const PODS_RANGE = "pods";
export const SERVICES_RANGE = "services";

/**
 * private.googleapis.com: the addresses Private Google Access answers on for every Google API that supports it (GCS
 * included), reachable only from inside Google's network; documented as fixed by Google.
 */
export const PRIVATE_GOOGLE_APIS_CIDR = "199.36.153.8/30";
export const PRIVATE_GOOGLE_APIS_ADDRESSES: readonly string[] = ["199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"];

/**
 * Behind GKE's Ingress (container-native load balancing: Google's front ends connect to the pods themselves), the
 * sources are Google's front ends and health checkers, whose ranges Google documents as these two.
 */
export const GOOGLE_FRONT_END_CIDRS: readonly string[] = ["130.211.0.0/22", "35.191.0.0/16"];
export const GOOGLE_FRONT_END_SOURCES: ExposureSources = GOOGLE_FRONT_END_CIDRS.map((cidr) => ({ ipBlock: { cidr } }));

/**
 * Behind GKE's passthrough load balancer (externalTrafficPolicy Local keeps the client's address; its health checks
 * go to kube-proxy's port on the node): anyone outside the cluster, but not the pods (`podsCidr`).
 */
export function loadBalancerSources(podsCidr: string): ExposureSources {
    return [{ ipBlock: { cidr: "0.0.0.0/0", except: [podsCidr] } }];
}

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

/**
 * googleapis.com resolved privately in herd's VPC: every name under it a CNAME to private.googleapis.com, whose A
 * records are PRIVATE_GOOGLE_APIS_ADDRESSES; and a route to them through the default internet gateway (the path
 * Private Google Access takes; an explicit route keeps it if the VPC's default route is ever removed).
 */
export function createPrivateGoogleApis(name: string, vpc: gcp.compute.Network, opts: GcpOpts): void {
    const zone = new dns.ManagedZone(
        `${name}-googleapis`,
        {
            dnsName: "googleapis.com.",
            description: "googleapis.com inside herd's VPC: Google APIs on private.googleapis.com (Private Google Access)",
            visibility: "private",
            privateVisibilityConfig: { networks: [{ networkUrl: vpc.id }] },
        },
        opts,
    );
    new dns.RecordSet(
        `${name}-googleapis-private`,
        { managedZone: zone.name, name: "private.googleapis.com.", type: "A", ttl: 300, rrdatas: [...PRIVATE_GOOGLE_APIS_ADDRESSES] },
        opts,
    );
    new dns.RecordSet(
        `${name}-googleapis-wildcard`,
        { managedZone: zone.name, name: "*.googleapis.com.", type: "CNAME", ttl: 300, rrdatas: ["private.googleapis.com."] },
        opts,
    );
    new gcp.compute.Route(
        `${name}-private-google-apis`,
        {
            network: vpc.id,
            destRange: PRIVATE_GOOGLE_APIS_CIDR,
            nextHopGateway: "default-internet-gateway",
            priority: 1000,
            description: "Private Google Access to private.googleapis.com",
        },
        opts,
    );
}
