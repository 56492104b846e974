/**
 * The VPC: a public and a private subnet in each of `zoneCount` availability zones, an internet gateway for the
 * public subnets, and NAT (one per zone, or a single one) for the private subnets' egress. Nodes live only in the
 * private subnets; the public ones hold the NAT gateways and the internet-facing load balancer.
 *
 * Two VPC endpoints keep the backup upload off the internet and let its NetworkPolicy name addresses: an S3 gateway
 * endpoint on the private subnets' route tables (S3 in the region is then routed to the addresses of its prefix
 * list, `cidrBlocks`) and an STS interface endpoint with private DNS (sts.<region>.amazonaws.com resolves to its
 * addresses in the private subnets), for the IRSA token exchange.
 */
import * as aws from "./sdk";
import type { AwsConfig } from "../../config";
import type { ExposureSources } from "../contract";
import { AwsContext, awsOpts } from "./common";

export interface SubnetLayout {
    /** One CIDR per zone, by zone index. */
    readonly public: readonly string[];
    readonly private: readonly string[];
}

const MAX_ZONES = 6;

/**
 * Carves the VPC block into subnets, by zone index, so that adding a zone never moves an existing subnet:
 * the block is split in eighths; eighths 0-5 are the private subnets (pods take VPC addresses with the VPC CNI, so
 * they get the room: a /19 each from a /16), eighth 6 is left free, and eighth 7 is split in eighths again for the
 * public subnets (a /22 each from a /16: NAT gateways and load-balancer nodes only).
 */
export function subnetLayout(vpcCidr: string, zoneCount: number): SubnetLayout {
    const [address, bits] = vpcCidr.split("/");
    const prefix = Number(bits);
    if (!Number.isInteger(zoneCount) || zoneCount < 1 || zoneCount > MAX_ZONES) {
        throw new Error(`subnetLayout: expected 1 to ${MAX_ZONES} zones, got ${zoneCount}`);
    }
    if (!(prefix >= 8 && prefix <= 20)) {
        throw new Error(`subnetLayout: expected a VPC block from /8 to /20, got ${vpcCidr}`);
    }
    const base = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const eighth = 2 ** (32 - prefix - 3);
    const publicSize = eighth / 8;
    const dotted = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
    const zones = [...Array(zoneCount).keys()];
    return {
        private: zones.map((i) => `${dotted(base + i * eighth)}/${prefix + 3}`),
        public: zones.map((i) => `${dotted(base + 7 * eighth + i * publicSize)}/${prefix + 6}`),
    };
}

/** The first `zoneCount` zones of the region; an error naming the key if the region has fewer. */
export function pickZones(available: readonly string[], zoneCount: number, region: string): string[] {
    if (available.length < zoneCount) {
        throw new Error(
            `herd:awsZoneCount is ${zoneCount}, but region ${region} has only ${available.length} available zones (${available.join(", ")})`,
        );
    }
    return available.slice(0, zoneCount);
}

/**
 * Who may reach nginx behind the NLB: the internet, but not the pods (with the VPC CNI their addresses are the private
 * subnets'). The NLB's instance targets keep the client's address (externalTrafficPolicy Local), and its health
 * checks go to kube-proxy's health port on the node, not to nginx, so nothing the NLB needs comes from those blocks.
 */
export function loadBalancerSources(privateCidrs: readonly string[]): ExposureSources {
    return [{ ipBlock: { cidr: "0.0.0.0/0", except: [...privateCidrs] } }];
}

export interface Network {
    readonly vpc: aws.ec2.Vpc;
    readonly publicSubnets: readonly aws.ec2.Subnet[];
    readonly privateSubnets: readonly aws.ec2.Subnet[];
    readonly natGateways: readonly aws.ec2.NatGateway[];
    /** The S3 gateway endpoint: its `cidrBlocks` are where S3 in the region answers. */
    readonly s3Endpoint: aws.ec2.VpcEndpoint;
    /** The STS interface endpoint (private DNS), with its network interfaces in the private subnets. */
    readonly stsEndpoint: aws.ec2.VpcEndpoint;
    /** The private subnets' blocks (by zone): where pods, nodes and the STS endpoint's addresses are. */
    readonly privateCidrs: readonly string[];
}

export function createNetwork(ctx: AwsContext, cfg: AwsConfig, clusterName: string): Network {
    const { name, prefix } = ctx;
    const layout = subnetLayout(cfg.vpcCidr, cfg.zoneCount);
    // Standard zones only (no Local or Wavelength Zones), in AWS's stable order.
    const zoneNames = aws
        .getAvailabilityZonesOutput(
            { state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] },
            { parent: ctx.parent, provider: ctx.provider },
        )
        .names.apply((names) => pickZones(names, cfg.zoneCount, cfg.region));
    // This VPC exists for this one cluster: "owned" tells the cloud controller the subnets are its alone.
    const clusterTag = { [`kubernetes.io/cluster/${clusterName}`]: "owned" };

    const vpc = new aws.ec2.Vpc(
        `${name}-vpc`,
        {
            cidrBlock: cfg.vpcCidr,
            // Both required for the EKS private API endpoint to resolve inside the VPC.
            enableDnsSupport: true,
            enableDnsHostnames: true,
            tags: { Name: `${prefix}-vpc` },
        },
        awsOpts(ctx),
    );
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { Name: `${prefix}-igw` } }, awsOpts(ctx));

    const publicRoutes = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: vpc.id, tags: { Name: `${prefix}-public` } }, awsOpts(ctx));
    new aws.ec2.Route(
        `${name}-public-default-route`,
        { routeTableId: publicRoutes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
        awsOpts(ctx),
    );

    const publicSubnets = layout.public.map((cidrBlock, i) => {
        const subnet = new aws.ec2.Subnet(
            `${name}-public-${i}`,
            {
                vpcId: vpc.id,
                cidrBlock,
                availabilityZone: zoneNames.apply((zones) => zones[i]),
                // Nothing herd launches here needs a public address of its own (NAT and NLB bring theirs).
                mapPublicIpOnLaunch: false,
                tags: { Name: `${prefix}-public-${i}`, "kubernetes.io/role/elb": "1", ...clusterTag },
            },
            awsOpts(ctx),
        );
        new aws.ec2.RouteTableAssociation(`${name}-public-${i}-rt-assoc`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, awsOpts(ctx));
        return subnet;
    });

    const natCount = cfg.natGateways === "perZone" ? cfg.zoneCount : 1;
    const natGateways = publicSubnets.slice(0, natCount).map((subnet, i) => {
        const eip = new aws.ec2.Eip(`${name}-nat-${i}-ip`, { domain: "vpc", tags: { Name: `${prefix}-nat-${i}` } }, awsOpts(ctx));
        return new aws.ec2.NatGateway(
            `${name}-nat-${i}`,
            { allocationId: eip.id, subnetId: subnet.id, connectivityType: "public", tags: { Name: `${prefix}-nat-${i}` } },
            awsOpts(ctx, { dependsOn: [igw] }),
        );
    });

    const privateRouteTables: aws.ec2.RouteTable[] = [];
    const privateSubnets = layout.private.map((cidrBlock, i) => {
        const subnet = new aws.ec2.Subnet(
            `${name}-private-${i}`,
            {
                vpcId: vpc.id,
                cidrBlock,
                availabilityZone: zoneNames.apply((zones) => zones[i]),
                mapPublicIpOnLaunch: false,
                tags: { Name: `${prefix}-private-${i}`, "kubernetes.io/role/internal-elb": "1", ...clusterTag },
            },
            awsOpts(ctx),
        );
        // Each zone routes through its own NAT gateway, so one zone's outage does not cut the others' egress;
        // with a single gateway, every zone routes through it.
        const routes = new aws.ec2.RouteTable(`${name}-private-${i}-rt`, { vpcId: vpc.id, tags: { Name: `${prefix}-private-${i}` } }, awsOpts(ctx));
        new aws.ec2.Route(
            `${name}-private-${i}-default-route`,
            { routeTableId: routes.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: natGateways[natCount === 1 ? 0 : i].id },
            awsOpts(ctx),
        );
        new aws.ec2.RouteTableAssociation(`${name}-private-${i}-rt-assoc`, { subnetId: subnet.id, routeTableId: routes.id }, awsOpts(ctx));
        privateRouteTables.push(routes);
        return subnet;
    });

    const s3Endpoint = new aws.ec2.VpcEndpoint(
        `${name}-s3-endpoint`,
        {
            vpcId: vpc.id,
            serviceName: `com.amazonaws.${cfg.region}.s3`,
            vpcEndpointType: "Gateway",
            // The private subnets only: nodes and pods live there (ECR's image layers come from S3 too, so no
            // endpoint policy narrows which buckets).
            routeTableIds: privateRouteTables.map((t) => t.id),
            tags: { Name: `${prefix}-s3` },
        },
        awsOpts(ctx),
    );
    const stsSecurityGroup = new aws.ec2.SecurityGroup(
        `${name}-sts-endpoint`,
        {
            vpcId: vpc.id,
            description: "HTTPS to the STS VPC endpoint from the private subnets",
            ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: [...layout.private], description: "IRSA token exchange" }],
            tags: { Name: `${prefix}-sts-endpoint` },
        },
        awsOpts(ctx),
    );
    const stsEndpoint = new aws.ec2.VpcEndpoint(
        `${name}-sts-endpoint`,
        {
            vpcId: vpc.id,
            serviceName: `com.amazonaws.${cfg.region}.sts`,
            vpcEndpointType: "Interface",
            privateDnsEnabled: true,
            subnetIds: privateSubnets.map((s) => s.id),
            securityGroupIds: [stsSecurityGroup.id],
            tags: { Name: `${prefix}-sts` },
        },
        awsOpts(ctx),
    );

    return { vpc, publicSubnets, privateSubnets, natGateways, s3Endpoint, stsEndpoint, privateCidrs: layout.private };
}
