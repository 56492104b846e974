/**
 * Mock answers for AWS and pulumi-eks: ids shaped like AWS's (vpc-…, subnet-…), ARNs, cluster endpoints, OIDC
 * issuers, ECR repository URLs, and the invokes the AWS platform makes.
 * `awsState` returns undefined for types it does not know, and the generic cloud answer is used.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ACCOUNT_ID, physicalName, Placement, State, suffix, wrapSecret } from "./mock-values";

/** An EC2-style id: `<prefix>-` and 17 hex digits, deterministic per resource. */
function ec2Id(prefix: string, args: pulumi.runtime.MockResourceArgs): string {
    return `${prefix}-${suffix(`${args.type}::${args.name}`, 17)}`;
}

/** A UUID-shaped id (KMS key ids), deterministic per resource. */
function uuid(seed: string): string {
    const h = suffix(seed, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The id EKS gives a cluster (upper-case hex), which also names its OIDC issuer. */
function eksId(clusterName: string): string {
    return suffix(`eks:${clusterName}`, 32).toUpperCase();
}

/** EC2 resources whose id is `<prefix>-<hex>`. */
const EC2_PREFIXES: Readonly<Record<string, string>> = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/route:Route": "r",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
};

/** What pulumi-eks's Cluster component reports, shaped like the real outputs herd reads. */
function eksClusterComponentState(args: pulumi.runtime.MockResourceArgs, region: string): State {
    const inputs = (args.inputs ?? {}) as State;
    const name = typeof inputs["name"] === "string" ? inputs["name"] : `${args.name}-eksCluster-${suffix(args.name, 7)}`;
    const id = eksId(name);
    const endpoint = `https://${id}.gr7.${region}.eks.amazonaws.com`;
    const caData = Buffer.from(`-----BEGIN CERTIFICATE-----\nMOCK-${name}\n-----END CERTIFICATE-----\n`).toString("base64");
    const issuerHost = `oidc.eks.${region}.amazonaws.com/id/${id}`;
    const clusterSecurityGroupId = `sg-${suffix(`cluster-sg:${name}`, 17)}`;
    // pulumi-eks's kubeconfig: exec auth through `aws eks get-token`, no credential inside. Not marked secret by
    // pulumi-eks itself; herd must mark it.
    const kubeconfig = {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "kubernetes", cluster: { server: endpoint, "certificate-authority-data": caData } }],
        contexts: [{ name: "aws", context: { cluster: "kubernetes", user: "aws" } }],
        "current-context": "aws",
        users: [
            {
                name: "aws",
                user: {
                    exec: {
                        apiVersion: "client.authentication.k8s.io/v1beta1",
                        command: "aws",
                        args: ["--region", region, "eks", "get-token", "--cluster-name", name, "--output", "json"],
                        env: [{ name: "KUBERNETES_EXEC_INFO", value: '{"apiVersion": "client.authentication.k8s.io/v1beta1"}' }],
                    },
                },
            },
        ],
    };
    return {
        eksCluster: {
            name,
            arn: `arn:aws:eks:${region}:${ACCOUNT_ID}:cluster/${name}`,
            endpoint,
            version: inputs["version"],
            status: "ACTIVE",
            certificateAuthority: { data: caData },
            identities: [{ oidcs: [{ issuer: `https://${issuerHost}` }] }],
            vpcConfig: {
                clusterSecurityGroupId,
                vpcId: inputs["vpcId"],
                subnetIds: inputs["privateSubnetIds"] ?? inputs["subnetIds"],
                endpointPrivateAccess: inputs["endpointPrivateAccess"],
                endpointPublicAccess: inputs["endpointPublicAccess"],
                publicAccessCidrs: inputs["publicAccessCidrs"],
            },
        },
        kubeconfig,
        kubeconfigJson: JSON.stringify(kubeconfig),
        clusterSecurityGroupId,
        nodeSecurityGroupId: clusterSecurityGroupId,
        oidcProviderArn: inputs["createOidcProvider"] === true ? `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${issuerHost}` : "",
        oidcProviderUrl: `https://${issuerHost}`,
        oidcIssuer: issuerHost,
        defaultNodeGroupAsgName: "",
        fargateProfileId: "",
        fargateProfileStatus: "",
        autoModeNodeRoleName: "",
    };
}

/** The answer for an AWS resource (or pulumi-eks's Cluster) in the region it lands in; undefined for other types. */
export function awsState(args: pulumi.runtime.MockResourceArgs, { region }: Placement): { id: string | undefined; state: State } | undefined {
    const inputs = (args.inputs ?? {}) as State;
    if (args.type === "eks:index:Cluster") {
        return { id: undefined, state: eksClusterComponentState(args, region) };
    }
    const physical = physicalName(args);
    const state: State = { name: physical, ...inputs };
    const [pkg, module] = args.type.split(":");
    if (pkg !== "aws") {
        return undefined;
    }
    const service = (module ?? "").split("/")[0];
    state["arn"] = `arn:aws:${service}:${region}:${ACCOUNT_ID}:${args.type.split(":").pop()?.toLowerCase()}/${String(state["name"])}`;
    let id = physical;
    const ec2Prefix = EC2_PREFIXES[args.type];
    if (ec2Prefix !== undefined) {
        id = ec2Id(ec2Prefix, args);
        state["arn"] = `arn:aws:ec2:${region}:${ACCOUNT_ID}:${(args.type.split(":").pop() ?? "").replace(/[A-Z]/g, (c, i: number) => `${i === 0 ? "" : "-"}${c.toLowerCase()}`)}/${id}`;
    }
    switch (args.type) {
        case "aws:eks/cluster:Cluster": {
            const clusterId = suffix(`eks:${args.name}`, 32).toUpperCase();
            state["endpoint"] = `https://${clusterId}.gr7.${region}.eks.amazonaws.com`;
            state["certificateAuthority"] = { data: Buffer.from(`-----BEGIN CERTIFICATE-----\nMOCK-${args.name}\n-----END CERTIFICATE-----\n`).toString("base64") };
            state["identities"] = [{ oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/${clusterId}` }] }];
            state["status"] = "ACTIVE";
            break;
        }
        case "aws:eks/nodeGroup:NodeGroup":
            state["nodeGroupName"] = inputs["nodeGroupName"] ?? physical;
            state["arn"] = `arn:aws:eks:${region}:${ACCOUNT_ID}:nodegroup/${String(inputs["clusterName"])}/${physical}/${uuid(physical)}`;
            state["status"] = "ACTIVE";
            id = `${String(inputs["clusterName"])}:${physical}`;
            break;
        case "aws:eks/addon:Addon":
            state["arn"] = `arn:aws:eks:${region}:${ACCOUNT_ID}:addon/${String(inputs["clusterName"])}/${String(inputs["addonName"])}/${uuid(args.name)}`;
            state["addonVersion"] = inputs["addonVersion"] ?? "v1.0.0-eksbuild.1";
            id = `${String(inputs["clusterName"])}:${String(inputs["addonName"])}`;
            break;
        case "aws:ec2/launchTemplate:LaunchTemplate":
            state["latestVersion"] = 1;
            state["defaultVersion"] = 1;
            break;
        case "aws:ec2/eip:Eip":
            state["allocationId"] = id;
            state["publicIp"] = `198.51.100.${parseInt(suffix(args.name, 2), 16) % 250}`;
            break;
        case "aws:ec2/vpcEndpoint:VpcEndpoint":
            // A Gateway endpoint reports its service's prefix list and that list's address ranges (documentation
            // ranges here); an Interface endpoint has neither, only network interfaces in its subnets.
            state["prefixListId"] = inputs["vpcEndpointType"] === "Gateway" ? `pl-${suffix(`pl:${args.name}`, 8)}` : "";
            state["cidrBlocks"] = inputs["vpcEndpointType"] === "Gateway" ? ["198.51.100.0/24", "203.0.113.0/24"] : [];
            state["state"] = "available";
            break;
        case "aws:ec2/vpc:Vpc":
            state["defaultSecurityGroupId"] = `sg-${suffix(`default:${args.name}`, 17)}`;
            state["mainRouteTableId"] = `rtb-${suffix(`main:${args.name}`, 17)}`;
            break;
        case "aws:iam/role:Role":
            // IAM is global: no region in the ARN.
            state["name"] = inputs["name"] ?? physical;
            state["arn"] = `arn:aws:iam::${ACCOUNT_ID}:role/${String(state["name"])}`;
            state["uniqueId"] = `AROA${suffix(args.name, 17).toUpperCase()}`;
            id = String(state["name"]);
            break;
        case "aws:iam/rolePolicy:RolePolicy":
        case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            id = `${String(inputs["role"])}-${suffix(args.name, 12)}`;
            break;
        case "aws:kms/key:Key": {
            const keyId = uuid(`kms:${args.name}`);
            state["keyId"] = keyId;
            state["arn"] = `arn:aws:kms:${region}:${ACCOUNT_ID}:key/${keyId}`;
            id = keyId;
            break;
        }
        case "aws:s3/bucket:Bucket": {
            // Auto-named from bucketPrefix (or the resource name) with a suffix, as the provider does; S3 ARNs are global.
            const prefix = typeof inputs["bucketPrefix"] === "string" ? inputs["bucketPrefix"] : `${args.name}-`;
            const bucket = typeof inputs["bucket"] === "string" ? inputs["bucket"] : `${prefix}${suffix(`bucket:${args.name}`, 26)}`;
            state["bucket"] = bucket;
            state["arn"] = `arn:aws:s3:::${bucket}`;
            state["bucketDomainName"] = `${bucket}.s3.amazonaws.com`;
            state["bucketRegionalDomainName"] = `${bucket}.s3.${region}.amazonaws.com`;
            state["region"] = region;
            id = bucket;
            break;
        }
        case "aws:ecr/repository:Repository": {
            const repoName = typeof inputs["name"] === "string" ? inputs["name"] : physical;
            state["name"] = repoName;
            state["registryId"] = ACCOUNT_ID;
            state["repositoryUrl"] = `${ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com/${repoName}`;
            state["arn"] = `arn:aws:ecr:${region}:${ACCOUNT_ID}:repository/${repoName}`;
            id = repoName;
            break;
        }
        case "aws:acm/certificate:Certificate": {
            // ACM asks for one CNAME per name, under the name itself, pointing into acm-validations.aws.
            const domain = String(inputs["domainName"]);
            const token = suffix(`acm:${args.name}`, 32);
            state["arn"] = `arn:aws:acm:${region}:${ACCOUNT_ID}:certificate/${uuid(`acm:${args.name}`)}`;
            state["status"] = "PENDING_VALIDATION";
            state["domainValidationOptions"] = [
                {
                    domainName: domain,
                    resourceRecordName: `_${token}.${domain}.`,
                    resourceRecordType: "CNAME",
                    resourceRecordValue: `_${suffix(`acm-value:${args.name}`, 32)}.mhbtsbpdnt.acm-validations.aws.`,
                },
            ];
            id = String(state["arn"]);
            break;
        }
        case "aws:acm/certificateValidation:CertificateValidation":
            id = String(inputs["certificateArn"]);
            break;
        case "aws:route53/record:Record":
            state["fqdn"] = String(inputs["name"]).replace(/\.$/, "");
            id = `${String(inputs["zoneId"])}_${String(state["fqdn"])}_${String(inputs["type"])}`;
            break;
        case "aws:cloudwatch/logGroup:LogGroup": {
            const logGroup = typeof inputs["name"] === "string" ? inputs["name"] : physical;
            state["name"] = logGroup;
            state["arn"] = `arn:aws:logs:${region}:${ACCOUNT_ID}:log-group:${logGroup}`;
            id = logGroup;
            break;
        }
    }
    return { id, state };
}

/** Default add-on versions EKS answers for a Kubernetes version (shape of `aws eks describe-addon-versions`). */
const ADDON_VERSIONS: Readonly<Record<string, string>> = {
    "aws-ebs-csi-driver": "v1.48.0-eksbuild.2",
    coredns: "v1.12.2-eksbuild.4",
    "kube-proxy": "v1.33.3-eksbuild.6",
    "metrics-server": "v0.8.0-eksbuild.2",
    "vpc-cni": "v1.20.1-eksbuild.3",
};

/** Realistic answers for the invokes the AWS platform makes. */
export const AWS_INVOKES: Readonly<Record<string, (inputs: State, placement: Placement) => State>> = {
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({
        accountId: ACCOUNT_ID,
        arn: `arn:aws:iam::${ACCOUNT_ID}:user/offline`,
        userId: "AIDAOFFLINEHARNESS",
        id: ACCOUNT_ID,
    }),
    // The canonical hosted zone of the region's load balancers (for Route 53 alias records); a made-up id offline.
    "aws:lb/getHostedZoneId:getHostedZoneId": (inputs, { region }) => ({
        id: `Z${suffix(`elb:${region}:${String(inputs["loadBalancerType"] ?? "application")}`, 13).toUpperCase()}`,
        loadBalancerType: inputs["loadBalancerType"],
        region,
    }),
    "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com", id: "aws", reverseDnsPrefix: "com.amazonaws" }),
    "aws:index/getRegion:getRegion": (_inputs, { region }) => ({ name: region, region, id: region }),
    "aws:index/getAvailabilityZones:getAvailabilityZones": (_inputs, { region }) => ({
        names: ["a", "b", "c"].map((z) => `${region}${z}`),
        zoneIds: ["1", "2", "3"].map((z) => `euw1-az${z}`),
        id: region,
    }),
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": (_inputs, { region }) => ({
        userName: "AWS",
        password: wrapSecret("offline-ecr-token"),
        authorizationToken: wrapSecret(Buffer.from("AWS:offline-ecr-token").toString("base64")),
        proxyEndpoint: `https://${ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com`,
        id: region,
    }),
    "aws:eks/getAddonVersion:getAddonVersion": (inputs, { region }) => {
        const addonName = String(inputs["addonName"]);
        const version = ADDON_VERSIONS[addonName];
        if (version === undefined) {
            throw new Error(`the offline harness knows no version of the EKS add-on ${JSON.stringify(addonName)}; add it to ADDON_VERSIONS`);
        }
        return { addonName, kubernetesVersion: inputs["kubernetesVersion"], mostRecent: inputs["mostRecent"], region, version, id: addonName };
    },
};
