/**
 * The AWS platform, evaluated through the whole program under mocks (Pulumi.aws.yaml and config variants), plus its
 * pure pieces (subnet layout, endpoint access, AMI type, names, policies) tested directly. Each test asserts a property
 * that matters on the recorded inputs and options, not a snapshot.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { KEYS, parseConfig } from "../config";
import { AwsPlatform, nlbExposure } from "../platform/aws";
import { AWS_CLI_IMAGE, backupAccessPolicy, BACKUP_KEY_ACTIONS, BACKUP_OBJECT_ACTIONS, REPOSITORY_NONCURRENT_DAYS, REPOSITORY_OBJECT_ACTIONS, repositoryAccessPolicy } from "../platform/aws/backups";
import { DUMP_PREFIX } from "../platform/repository";
import { backupPrefix } from "../components/postgres-backup";
import type { IdentityBinding, Platform } from "../platform/contract";
import { adminAccessEntries, amiTypeFor, CONTROL_PLANE_LOG_TYPES, endpointAccess, NODE_METADATA_OPTIONS } from "../platform/aws/cluster";
import {
    CLUSTER_AUTOSCALER_CHART,
    CLUSTER_AUTOSCALER_READ_ACTIONS,
    CLUSTER_AUTOSCALER_WRITE_ACTIONS,
    clusterAutoscalerImageTag,
    clusterAutoscalerPolicy,
} from "../platform/aws/addons";
import { CLUSTER_AUTOSCALER_IMAGE_TAGS } from "../config/build-aws";
import { physicalPrefix } from "../platform/aws/common";
import { pickZones, subnetLayout } from "../platform/aws/network";
import { ecrLifecyclePolicy } from "../platform/aws/registry";
import { evaluateStack, evaluateUnderMocks, Evaluation, RecordedResource } from "../offline/evaluate";
import type { MockRecord } from "../offline/mocks";
import { buildManifests } from "../offline/manifests";
import { inspect, PROJECT_DIR, runCommand, tempDir, writeStackFile } from "./helpers";

type Inputs = Record<string, unknown>;

const T = {
    provider: "pulumi:providers:aws",
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    igw: "aws:ec2/internetGateway:InternetGateway",
    nat: "aws:ec2/natGateway:NatGateway",
    eip: "aws:ec2/eip:Eip",
    routeTable: "aws:ec2/routeTable:RouteTable",
    route: "aws:ec2/route:Route",
    association: "aws:ec2/routeTableAssociation:RouteTableAssociation",
    eks: "eks:index:Cluster",
    kms: "aws:kms/key:Key",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    nodeGroup: "aws:eks/nodeGroup:NodeGroup",
    addon: "aws:eks/addon:Addon",
    release: "kubernetes:helm.sh/v3:Release",
    storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
    k8sProvider: "pulumi:providers:kubernetes",
    repo: "aws:ecr/repository:Repository",
    ecrLifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    bucket: "aws:s3/bucket:Bucket",
    publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    bucketLifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
} as const;

/** A minimal aws stack (raw key/values as a stack file writes them). */
const BASE = { "herd:platform": "aws", "herd:awsRegion": "eu-west-1" };

let stackFile: Promise<Evaluation> | undefined;
/** Pulumi.aws.yaml, evaluated once and shared by the tests that only read it. */
const awsStack = (): Promise<Evaluation> => (stackFile ??= evaluateStack({ stack: "aws" }));
const variant = (config: Record<string, unknown>): Promise<Evaluation> => evaluateStack({ stack: "test", configFile: writeStackFile({ ...BASE, ...config }) });

function all(e: Evaluation, type: string): RecordedResource[] {
    return e.resources.filter((r) => r.type === type);
}
function one(e: Evaluation, type: string, name?: string): RecordedResource {
    const found = all(e, type).filter((r) => name === undefined || r.name === name);
    assert.equal(found.length, 1, `expected one ${type}${name === undefined ? "" : ` named ${name}`}, found ${found.length}`);
    return found[0];
}
/** What the mock answered for a resource (its id and state: ARNs, ids). */
function answer(e: Evaluation, type: string, name: string): { id: string; state: Inputs } {
    const record = e.records.find((r) => r.type === type && r.name === name);
    assert.ok(record !== undefined, `no record of ${type} ${name}`);
    return { id: String(record.id), state: record.state };
}
const idOf = (e: Evaluation, type: string, name: string): string => answer(e, type, name).id;
const arnOf = (e: Evaluation, type: string, name: string): string => String(answer(e, type, name).state["arn"]);
const json = (v: unknown): Inputs => JSON.parse(String(v)) as Inputs;
const subnets = (e: Evaluation, kind: "public" | "private") =>
    all(e, T.subnet)
        .filter((s) => s.name.startsWith(`aws-${kind}-`))
        .sort((a, b) => a.name.localeCompare(b.name));
const subnetIds = (e: Evaluation, kind: "public" | "private") => subnets(e, kind).map((s) => idOf(e, T.subnet, s.name));
const platformOutputs = (e: Evaluation) => e.outputs["platform"] as Inputs;

describe("pure pieces", () => {
    it("subnet layout: private /19s and public /22s from a /16, disjoint and inside the VPC", () => {
        const layout = subnetLayout("10.0.0.0/16", 3);
        assert.deepEqual(layout.private, ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]);
        assert.deepEqual(layout.public, ["10.0.224.0/22", "10.0.228.0/22", "10.0.232.0/22"]);
        const six = subnetLayout("10.0.0.0/16", 6);
        const all6 = [...six.private, ...six.public];
        const range = (c: string) => {
            const [ip, bits] = c.split("/");
            const start = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
            return [start, start + 2 ** (32 - Number(bits)) - 1];
        };
        for (let i = 0; i < all6.length; i++) {
            const [a0, a1] = range(all6[i]);
            assert.ok(a0 >= range("10.0.0.0/16")[0] && a1 <= range("10.0.0.0/16")[1], `${all6[i]} inside the VPC`);
            for (let j = i + 1; j < all6.length; j++) {
                const [b0, b1] = range(all6[j]);
                assert.ok(a1 < b0 || b1 < a0, `${all6[i]} and ${all6[j]} overlap`);
            }
        }
    });
    it("subnet layout: adding a zone never moves an existing subnet; the smallest VPC still fits six zones", () => {
        const two = subnetLayout("172.16.0.0/16", 2);
        const three = subnetLayout("172.16.0.0/16", 3);
        assert.deepEqual(three.private.slice(0, 2), two.private);
        assert.deepEqual(three.public.slice(0, 2), two.public);
        const small = subnetLayout("10.1.16.0/20", 6);
        assert.equal(small.private[5], "10.1.26.0/23");
        assert.equal(small.public[5], "10.1.31.64/26");
        assert.throws(() => subnetLayout("10.0.0.0/16", 7), /1 to 6 zones/);
    });
    it("zones: the region's first N; more than it has fails loudly, naming the key", () => {
        assert.deepEqual(pickZones(["eu-west-1a", "eu-west-1b", "eu-west-1c"], 2, "eu-west-1"), ["eu-west-1a", "eu-west-1b"]);
        // Checked when the zones are known (an Output): the subnets' inputs fail with this message.
        assert.throws(() => pickZones(["eu-west-1a", "eu-west-1b", "eu-west-1c"], 4, "eu-west-1"), /herd:awsZoneCount is 4, but region eu-west-1 has only 3 available zones/);
    });
    it("endpoint access: private always; public only with CIDRs, and then exactly those", () => {
        assert.deepEqual(endpointAccess([]), { endpointPrivateAccess: true, endpointPublicAccess: false, publicAccessCidrs: undefined });
        assert.deepEqual(endpointAccess(["198.51.100.0/24"]), { endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ["198.51.100.0/24"] });
    });
    it("AMI type: AL2023, ARM for Graviton families only", () => {
        for (const t of ["m7g.large", "c6gn.xlarge", "r8gd.2xlarge", "t4g.medium", "a1.large", "g5g.xlarge"]) {
            assert.equal(amiTypeFor(t), "AL2023_ARM_64_STANDARD", t);
        }
        for (const t of ["m6i.large", "g5.xlarge", "c7a.large", "m7i-flex.large", "inf2.xlarge"]) {
            assert.equal(amiTypeFor(t), "AL2023_x86_64_STANDARD", t);
        }
    });
    it("physical prefix: herd-<stack>, lowercase, safe for EKS, ECR and S3, short enough for a bucket prefix", () => {
        assert.equal(physicalPrefix("herd", "aws"), "herd-aws");
        assert.equal(physicalPrefix("herd", "Prod_EU.west"), "herd-prod-eu-west");
        const long = physicalPrefix("herd", "a-very-long-stack-name-for-production-europe");
        assert.ok(long.length <= 28 && !long.endsWith("-"), long);
        assert.ok(`${long}-backups-`.length <= 37, "S3 bucketPrefix limit");
    });
    it("ECR lifecycle: expire everything beyond the newest N", () => {
        const policy = json(ecrLifecyclePolicy(12)) as { rules: { selection: Inputs; action: Inputs }[] };
        assert.equal(policy.rules.length, 1);
        assert.deepEqual(policy.rules[0].selection, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 12 });
        assert.deepEqual(policy.rules[0].action, { type: "expire" });
    });
    it("backup policy: no deletes, one bucket, its key only through S3", () => {
        const policy = json(backupAccessPolicy("arn:aws:s3:::b", "arn:aws:kms:eu-west-1:1:key/k", "s3.eu-west-1.amazonaws.com"));
        const actions = (policy["Statement"] as { Action: string[] }[]).flatMap((s) => s.Action);
        assert.ok(!actions.some((a) => /Delete|\*|PutBucket|PutObjectAcl/.test(a)), actions.join(", "));
        assert.ok(BACKUP_OBJECT_ACTIONS.includes("s3:PutObject") && BACKUP_OBJECT_ACTIONS.includes("s3:GetObject"));
        assert.deepEqual([...BACKUP_KEY_ACTIONS].sort(), ["kms:Decrypt", "kms:GenerateDataKey"]);
    });
    it("exposure: an internet-facing NLB that reports a hostname, tagged as herd's", () => {
        const exposure = nlbExposure({ "app.kubernetes.io/part-of": "herd", "herd:stack": "prod" });
        assert.ok(exposure.kind === "loadBalancer");
        assert.equal(exposure.reportsAddressAs, "hostname");
        assert.equal(exposure.annotations["service.beta.kubernetes.io/aws-load-balancer-type"], "nlb");
        assert.equal(exposure.annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internet-facing");
        assert.equal(exposure.annotations["service.beta.kubernetes.io/aws-load-balancer-internal"], undefined);
        assert.equal(exposure.annotations["service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"], "app.kubernetes.io/part-of=herd,herd:stack=prod");
    });
});

describe("stack aws (Pulumi.aws.yaml): provider and tags", () => {
    it("one explicit AWS provider for the configured region, with herd's default tags", async () => {
        const e = await awsStack();
        const platform = one(e, "herd:index:AwsPlatform", "aws");
        assert.equal(platform.parent, null);
        const provider = one(e, T.provider);
        assert.equal(provider.name, "aws-provider");
        assert.equal(provider.parent, "aws");
        assert.equal(provider.inputs["region"], "eu-west-1");
        assert.deepEqual(json(provider.inputs["defaultTags"]), {
            tags: { "app.kubernetes.io/part-of": "herd", "app.kubernetes.io/managed-by": "pulumi", "herd:stack": "aws" },
        });
    });
    it("every AWS resource uses that provider; the platform's own are its children, named aws-<role>", async () => {
        const e = await awsStack();
        const awsResources = e.resources.filter((r) => r.type.startsWith("aws:"));
        assert.ok(awsResources.length > 40);
        for (const r of awsResources) {
            assert.equal(r.options.provider, "aws-provider", `${r.type} ${r.name}`);
            if (r.parent === "aws") {
                assert.match(r.name, /^aws-/);
            }
        }
    });
});

describe("stack aws: network", () => {
    it("a VPC with DNS on (the private API endpoint needs it), a public and a private subnet in each of 3 zones", async () => {
        const e = await awsStack();
        const vpc = one(e, T.vpc);
        assert.equal(vpc.inputs["cidrBlock"], "10.0.0.0/16");
        assert.equal(vpc.inputs["enableDnsSupport"], true);
        assert.equal(vpc.inputs["enableDnsHostnames"], true);
        const layout = subnetLayout("10.0.0.0/16", 3);
        for (const kind of ["public", "private"] as const) {
            const list = subnets(e, kind);
            assert.deepEqual(list.map((s) => s.inputs["cidrBlock"]), layout[kind]);
            assert.deepEqual(list.map((s) => s.inputs["availabilityZone"]), ["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
            for (const s of list) {
                assert.equal(s.inputs["vpcId"], idOf(e, T.vpc, "aws-vpc"));
                assert.equal(s.inputs["mapPublicIpOnLaunch"], false);
            }
        }
    });
    it("ELB discovery tags: public for internet-facing, private for internal, and the cluster's ownership", async () => {
        const e = await awsStack();
        for (const s of subnets(e, "public")) {
            const tags = s.inputs["tags"] as Record<string, string>;
            assert.equal(tags["kubernetes.io/role/elb"], "1");
            assert.equal(tags["kubernetes.io/role/internal-elb"], undefined);
            assert.equal(tags["kubernetes.io/cluster/herd-aws"], "owned");
        }
        for (const s of subnets(e, "private")) {
            const tags = s.inputs["tags"] as Record<string, string>;
            assert.equal(tags["kubernetes.io/role/internal-elb"], "1");
            assert.equal(tags["kubernetes.io/role/elb"], undefined);
            assert.equal(tags["kubernetes.io/cluster/herd-aws"], "owned");
        }
    });
    it("public subnets route to the internet gateway", async () => {
        const e = await awsStack();
        const publicRt = idOf(e, T.routeTable, "aws-public-rt");
        const route = one(e, T.route, "aws-public-default-route");
        assert.deepEqual([route.inputs["routeTableId"], route.inputs["destinationCidrBlock"], route.inputs["gatewayId"]], [publicRt, "0.0.0.0/0", idOf(e, T.igw, "aws-igw")]);
        for (const [i, id] of subnetIds(e, "public").entries()) {
            const assoc = one(e, T.association, `aws-public-${i}-rt-assoc`);
            assert.deepEqual([assoc.inputs["subnetId"], assoc.inputs["routeTableId"]], [id, publicRt]);
        }
    });
    it("perZone NAT: a gateway in each zone's public subnet, and each private subnet routes through its own zone's", async () => {
        const e = await awsStack();
        const publicIds = subnetIds(e, "public");
        const privateIds = subnetIds(e, "private");
        assert.equal(all(e, T.nat).length, 3);
        assert.equal(all(e, T.eip).length, 3);
        for (let i = 0; i < 3; i++) {
            const nat = one(e, T.nat, `aws-nat-${i}`);
            assert.equal(nat.inputs["subnetId"], publicIds[i]);
            assert.equal(nat.inputs["allocationId"], idOf(e, T.eip, `aws-nat-${i}-ip`));
            assert.deepEqual(nat.options.dependsOn, ["aws-igw"]);
            const route = one(e, T.route, `aws-private-${i}-default-route`);
            assert.equal(route.inputs["natGatewayId"], idOf(e, T.nat, `aws-nat-${i}`));
            assert.equal(route.inputs["destinationCidrBlock"], "0.0.0.0/0");
            assert.equal(route.inputs["gatewayId"], undefined, "private subnets never route straight to the internet gateway");
            const rt = idOf(e, T.routeTable, `aws-private-${i}-rt`);
            assert.equal(route.inputs["routeTableId"], rt);
            const assoc = one(e, T.association, `aws-private-${i}-rt-assoc`);
            assert.deepEqual([assoc.inputs["subnetId"], assoc.inputs["routeTableId"]], [privateIds[i], rt]);
        }
    });
});

describe("stack aws: EKS cluster", () => {
    it("pulumi-eks Cluster: fixed name, configured version, no default node group, API auth mode, OIDC provider", async () => {
        const e = await awsStack();
        const cluster = one(e, T.eks, "aws-eks");
        assert.equal(cluster.parent, "aws");
        assert.equal(cluster.inputs["name"], "herd-aws");
        assert.equal(cluster.inputs["version"], "1.33");
        assert.equal(cluster.inputs["skipDefaultNodeGroup"], true);
        assert.equal(cluster.inputs["authenticationMode"], "API");
        assert.equal(cluster.inputs["createOidcProvider"], true);
        assert.equal(cluster.inputs["storageClasses"], undefined, "the in-tree gp2 provisioner is not used");
        assert.equal(cluster.inputs["vpcId"], idOf(e, T.vpc, "aws-vpc"));
    });
    it("control plane and nodes only in the private subnets", async () => {
        const e = await awsStack();
        const cluster = one(e, T.eks);
        assert.deepEqual(cluster.inputs["privateSubnetIds"], subnetIds(e, "private"));
        assert.equal(cluster.inputs["publicSubnetIds"], undefined);
        assert.equal(cluster.inputs["subnetIds"], undefined);
        assert.equal(cluster.inputs["nodeAssociatePublicIpAddress"], false);
        const nodes = one(e, T.nodeGroup, "aws-nodes");
        assert.deepEqual(nodes.inputs["subnetIds"], subnetIds(e, "private"));
        const publicIds = new Set(subnetIds(e, "public"));
        assert.ok(!(nodes.inputs["subnetIds"] as string[]).some((id) => publicIds.has(id)));
    });
    it("Secrets envelope-encrypted with a rotated KMS key", async () => {
        const e = await awsStack();
        const key = one(e, T.kms, "aws-secrets-key");
        assert.equal(key.inputs["enableKeyRotation"], true);
        assert.equal(one(e, T.eks).inputs["encryptionConfigKeyArn"], arnOf(e, T.kms, "aws-secrets-key"));
    });
    it("control-plane logs include api, audit and authenticator, into a log group with a retention", async () => {
        const e = await awsStack();
        const cluster = one(e, T.eks);
        const logs = cluster.inputs["enabledClusterLogTypes"] as string[];
        for (const t of ["api", "audit", "authenticator"]) {
            assert.ok(logs.includes(t), t);
        }
        assert.deepEqual(logs, [...CONTROL_PLANE_LOG_TYPES]);
        const group = one(e, T.logGroup);
        assert.equal(group.inputs["name"], "/aws/eks/herd-aws/cluster");
        assert.equal(group.inputs["retentionInDays"], 90, "herd:awsControlPlaneLogRetentionDays' default");
        assert.deepEqual(cluster.options.dependsOn, [group.name], "created before EKS would create it without expiry");
        assert.deepEqual(cluster.inputs["clusterTags"], { "herd:control-plane-logs": "/aws/eks/herd-aws/cluster" }, "an input, so the cluster inside waits too");
    });
    it("API endpoint: private on, public limited to exactly the configured CIDRs", async () => {
        const cluster = one(await awsStack(), T.eks);
        assert.equal(cluster.inputs["endpointPrivateAccess"], true);
        assert.equal(cluster.inputs["endpointPublicAccess"], true);
        assert.deepEqual(cluster.inputs["publicAccessCidrs"], ["203.0.113.0/24", "198.51.100.17/32"]);
    });
    it("managed node group: configured instance type and sizes, AL2023, follows the cluster version", async () => {
        const e = await awsStack();
        const nodes = one(e, T.nodeGroup, "aws-nodes");
        assert.equal(nodes.inputs["clusterName"], "herd-aws");
        assert.deepEqual(nodes.inputs["instanceTypes"], ["m6i.large"]);
        assert.deepEqual(nodes.inputs["scalingConfig"], { minSize: 3, desiredSize: 3, maxSize: 6 });
        assert.equal(nodes.inputs["amiType"], "AL2023_x86_64_STANDARD");
        assert.equal(nodes.inputs["version"], "1.33");
        assert.equal(nodes.inputs["nodeRoleArn"], arnOf(e, T.role, "aws-node-role"));
    });
    it("nodes require IMDSv2 with a hop limit of 1 and encrypt their root volume", async () => {
        const e = await awsStack();
        const template = one(e, T.launchTemplate, "aws-node-template");
        const metadata = template.inputs["metadataOptions"] as Inputs;
        assert.equal(metadata["httpTokens"], "required");
        assert.equal(metadata["httpPutResponseHopLimit"], 1);
        assert.equal(metadata["httpEndpoint"], "enabled");
        assert.deepEqual(metadata, { ...NODE_METADATA_OPTIONS });
        const root = (template.inputs["blockDeviceMappings"] as { ebs: Inputs }[])[0].ebs;
        assert.equal(root["encrypted"], "true");
        assert.equal(root["volumeType"], "gp3");
        assert.equal(root["volumeSize"], 50, "herd:awsNodeDiskGiB's default");
        assert.equal(template.inputs["vpcSecurityGroupIds"], undefined, "EKS attaches the cluster security group");
        const nodes = one(e, T.nodeGroup, "aws-nodes");
        assert.deepEqual(nodes.inputs["launchTemplate"], { id: idOf(e, T.launchTemplate, "aws-node-template"), version: "1" });
    });
    it("node role: join, CNI and ECR pull policies only, attached before the nodes", async () => {
        const e = await awsStack();
        const role = one(e, T.role, "aws-node-role");
        const trust = json(role.inputs["assumeRolePolicy"]) as { Statement: { Principal: Inputs; Action: string }[] };
        assert.deepEqual(trust.Statement.map((s) => [s.Principal["Service"], s.Action]), [["ec2.amazonaws.com", "sts:AssumeRole"]]);
        const attached = all(e, T.attachment).filter((a) => a.name.startsWith("aws-node-"));
        assert.deepEqual(
            attached.map((a) => a.inputs["policyArn"]).sort(),
            ["AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"].map((p) => `arn:aws:iam::aws:policy/${p}`),
        );
        assert.deepEqual([...one(e, T.nodeGroup).options.dependsOn].sort(), attached.map((a) => a.name).sort());
    });
    it("CoreDNS as an add-on once there are nodes", async () => {
        const e = await awsStack();
        const coredns = one(e, T.addon, "aws-coredns");
        assert.equal(coredns.inputs["addonName"], "coredns");
        assert.equal(coredns.inputs["clusterName"], "herd-aws");
        assert.match(String(coredns.inputs["addonVersion"]), /^v\d+\.\d+\.\d+-eksbuild\.\d+$/);
        assert.deepEqual(coredns.options.dependsOn, ["aws-nodes"]);
    });
});

describe("stack aws: storage", () => {
    it("EBS CSI driver add-on with its own IRSA role, trusted only for kube-system:ebs-csi-controller-sa", async () => {
        const e = await awsStack();
        const addon = one(e, T.addon, "aws-ebs-csi");
        assert.equal(addon.inputs["addonName"], "aws-ebs-csi-driver");
        assert.equal(addon.inputs["clusterName"], "herd-aws");
        assert.equal(addon.inputs["serviceAccountRoleArn"], arnOf(e, T.role, "aws-ebs-csi-role"));
        assert.ok(addon.options.dependsOn.includes("aws-nodes"));

        const eks = answer(e, T.eks, "aws-eks").state;
        const issuer = String(eks["oidcIssuer"]);
        const trust = json(one(e, T.role, "aws-ebs-csi-role").inputs["assumeRolePolicy"]) as { Statement: Inputs[] };
        assert.equal(trust.Statement.length, 1);
        assert.deepEqual(trust.Statement[0], {
            Effect: "Allow",
            Principal: { Federated: eks["oidcProviderArn"] },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: {
                    [`${issuer}:sub`]: "system:serviceaccount:kube-system:ebs-csi-controller-sa",
                    [`${issuer}:aud`]: "sts.amazonaws.com",
                },
            },
        });
        const policy = one(e, T.attachment, "aws-ebs-csi-policy");
        assert.equal(policy.inputs["policyArn"], "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy");
        assert.equal(policy.inputs["role"], answer(e, T.role, "aws-ebs-csi-role").state["name"]);
    });
    it("StorageClass: default, ebs.csi.aws.com gp3 encrypted, Retain, expandable, WaitForFirstConsumer, after the add-on", async () => {
        const e = await awsStack();
        const sc = one(e, T.storageClass);
        const metadata = sc.inputs["metadata"] as { name: string; annotations: Record<string, string> };
        assert.equal(metadata.name, "herd-gp3");
        assert.equal(metadata.annotations["storageclass.kubernetes.io/is-default-class"], "true");
        assert.equal(sc.inputs["provisioner"], "ebs.csi.aws.com");
        const parameters = sc.inputs["parameters"] as Record<string, string>;
        assert.equal(parameters["type"], "gp3");
        assert.equal(parameters["encrypted"], "true");
        assert.equal(sc.inputs["reclaimPolicy"], "Retain");
        assert.equal(sc.inputs["allowVolumeExpansion"], true);
        assert.equal(sc.inputs["volumeBindingMode"], "WaitForFirstConsumer");
        assert.deepEqual(sc.options.dependsOn, ["aws-ebs-csi"]);
        assert.equal(sc.options.provider, "aws-k8s");
        assert.equal(platformOutputs(e)["storageClass"], "herd-gp3");
    });
});

describe("stack aws: registry", () => {
    it("ECR repositories for api, frontend and postgres: scanned on push, immutable tags, the newest N images kept", async () => {
        const e = await awsStack();
        const repos = all(e, T.repo);
        assert.deepEqual(repos.map((r) => r.inputs["name"]).sort(), ["herd-aws/api", "herd-aws/frontend", "herd-aws/postgres"]);
        for (const repo of repos) {
            assert.deepEqual(repo.inputs["imageScanningConfiguration"], { scanOnPush: true });
            assert.equal(repo.inputs["imageTagMutability"], "IMMUTABLE");
        }
        const lifecycles = all(e, T.ecrLifecycle);
        assert.deepEqual(lifecycles.map((l) => l.inputs["repository"]).sort(), ["herd-aws/api", "herd-aws/frontend", "herd-aws/postgres"]);
        for (const l of lifecycles) {
            const rule = (json(l.inputs["policy"]) as { rules: { selection: Inputs }[] }).rules[0];
            assert.equal(rule.selection["countNumber"], 30);
        }
        assert.deepEqual(platformOutputs(e)["registry"], {
            api: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/herd-aws/api",
            frontend: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/herd-aws/frontend",
            postgres: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/herd-aws/postgres",
        });
    });
});

describe("stack aws: backups", () => {
    it("the bucket and its key survive a destroy (retainOnDelete), and so do its protections", async () => {
        const e = await awsStack();
        const bucket = one(e, T.bucket, "aws-backups");
        assert.equal(bucket.options.retainOnDelete, true);
        assert.equal(bucket.inputs["forceDestroy"], false);
        assert.equal(bucket.inputs["bucketPrefix"], "herd-aws-backups-");
        assert.equal(one(e, T.kms, "aws-backup-key").options.retainOnDelete, true);
        assert.equal(one(e, T.kms, "aws-backup-key").inputs["enableKeyRotation"], true);
        for (const type of [T.publicAccess, T.ownership, T.encryption, T.versioning, T.bucketPolicy]) {
            assert.equal(one(e, type).options.retainOnDelete, true, type);
        }
        assert.equal(one(e, T.bucketLifecycle).options.retainOnDelete, false, "what a destroy leaves behind stops expiring");
    });
    it("all public access blocked, bucket owner enforced, TLS only", async () => {
        const e = await awsStack();
        const bucketId = idOf(e, T.bucket, "aws-backups");
        const block = one(e, T.publicAccess);
        assert.equal(block.inputs["bucket"], bucketId);
        for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) {
            assert.equal(block.inputs[flag], true, flag);
        }
        assert.deepEqual(one(e, T.ownership).inputs["rule"], { objectOwnership: "BucketOwnerEnforced" });
        const policy = json(one(e, T.bucketPolicy).inputs["policy"]) as { Statement: Inputs[] };
        assert.deepEqual(policy.Statement.map((s) => [s["Effect"], s["Condition"]]), [["Deny", { Bool: { "aws:SecureTransport": "false" } }]]);
    });
    it("encrypted with its own KMS key (S3 bucket key on), versioned", async () => {
        const e = await awsStack();
        const rule = (one(e, T.encryption).inputs["rules"] as Inputs[])[0];
        assert.deepEqual(rule, {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: arnOf(e, T.kms, "aws-backup-key") },
            bucketKeyEnabled: true,
        });
        assert.deepEqual(one(e, T.versioning).inputs["versioningConfiguration"], { status: "Enabled" });
    });
    it("dumps (postgres/) and their old versions expire after herd:backupRetentionDays; nothing else expires", async () => {
        const e = await variant({ "herd:backupRetentionDays": 45 });
        const rules = one(e, T.bucketLifecycle).inputs["rules"] as Inputs[];
        assert.ok(rules.every((r) => r["status"] === "Enabled"));
        const expiring = rules.filter((r) => r["expiration"] !== undefined);
        assert.equal(expiring.length, 1, "one rule expires current objects");
        assert.deepEqual(expiring[0]["filter"], { prefix: "postgres/" }, "the dumps' prefix only, never the whole bucket");
        assert.deepEqual(expiring[0]["expiration"], { days: 45 });
        assert.deepEqual(expiring[0]["noncurrentVersionExpiration"], { noncurrentDays: 45 });
        assert.deepEqual(one(e, T.bucketLifecycle).options.dependsOn, ["aws-backups-versioning"]);
    });
    it("the repositories (pgbackrest/, elasticsearch/) never expire by rule: only what their tool deleted or overwrote goes", async () => {
        const e = await awsStack();
        const rules = one(e, T.bucketLifecycle).inputs["rules"] as Inputs[];
        for (const prefix of ["pgbackrest/", "elasticsearch/"]) {
            const rule = rules.find((r) => (r["filter"] as Inputs)["prefix"] === prefix);
            assert.ok(rule !== undefined, `a rule for ${prefix}`);
            assert.equal(rule["expiration"], undefined, `${prefix}: no expiry of current objects (it would corrupt the repository)`);
            assert.deepEqual(rule["noncurrentVersionExpiration"], { noncurrentDays: REPOSITORY_NONCURRENT_DAYS });
            assert.deepEqual(rule["abortIncompleteMultipartUpload"], { daysAfterInitiation: 7 });
        }
        assert.deepEqual(
            rules.map((r) => (r["filter"] as Inputs)["prefix"]),
            ["postgres/", "pgbackrest/", "elasticsearch/"],
            "no rule applies to the whole bucket",
        );
    });
    it("the pg_dump prefix the lifecycle rule expires is the one the backup job writes under", async () => {
        assert.equal(DUMP_PREFIX, "postgres/");
        assert.equal((await inspect(backupPrefix("herd", "postgres"))).value.startsWith(DUMP_PREFIX), true);
    });
    it("Elasticsearch's snapshot role: its ServiceAccount only; read, write and delete under elasticsearch/ only", async () => {
        const e = await awsStack();
        const role = one(e, T.role, "elastic-snapshots-role");
        assert.equal(role.parent, "elastic", "created under the component that asked for it");
        assert.equal(role.options.provider, "aws-provider");
        const issuer = String(answer(e, T.eks, "aws-eks").state["oidcIssuer"]);
        const trust = json(role.inputs["assumeRolePolicy"]) as { Statement: { Condition: { StringEquals: Inputs } }[] };
        assert.equal(trust.Statement[0].Condition.StringEquals[`${issuer}:sub`], "system:serviceaccount:herd:elastic");

        const bucketArn = arnOf(e, T.bucket, "aws-backups");
        const statements = (json(one(e, T.rolePolicy, "elastic-snapshots-policy").inputs["policy"]) as { Statement: { Action: string[]; Resource: string; Condition?: Inputs }[] }).Statement;
        assert.deepEqual(
            statements.map((s) => [s.Action, s.Resource, s.Condition]),
            [
                [["s3:ListBucket"], bucketArn, { StringLike: { "s3:prefix": ["elasticsearch/*"] } }],
                [["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], `${bucketArn}/elasticsearch/*`, undefined],
                [["kms:GenerateDataKey", "kms:Decrypt"], arnOf(e, T.kms, "aws-backup-key"), { StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } }],
            ],
        );
        const deleting = statements.filter((s) => s.Action.includes("s3:DeleteObject")).map((s) => s.Resource);
        assert.deepEqual(deleting, [`${bucketArn}/elasticsearch/*`], "delete only under its own prefix: not the dumps, not pgbackrest/");
        // The dump job's grant is unchanged: no delete anywhere.
        const dump = (json(one(e, T.rolePolicy, "postgres-backup-policy").inputs["policy"]) as { Statement: { Action: string[] }[] }).Statement;
        assert.ok(dump.every((s) => !s.Action.includes("s3:DeleteObject")));
    });
    it("the Elasticsearch StatefulSet snapshots to the bucket under elasticsearch/ with a web identity token", async () => {
        const e = await awsStack();
        const { manifests } = buildManifests(e);
        const sts = manifests.find((m) => m.kind === "StatefulSet" && m.metadata.name === "elastic") as unknown as {
            spec: { template: { spec: { serviceAccountName: string; volumes: Inputs[]; containers: { name: string; env: { name: string; value?: string }[] }[] } } };
        };
        const pod = sts.spec.template.spec;
        assert.equal(pod.serviceAccountName, "elastic");
        const server = pod.containers.find((c) => c.name === "elasticsearch");
        assert.equal(server?.env.find((v) => v.name === "AWS_ROLE_ARN")?.value, arnOf(e, T.role, "elastic-snapshots-role"));
        const token = pod.volumes.find((v) => v["name"] === "web-identity") as { projected: { sources: { serviceAccountToken: Inputs }[] } } | undefined;
        assert.equal(token?.projected.sources[0].serviceAccountToken["audience"], "sts.amazonaws.com");
        const sa = manifests.find((m) => m.kind === "ServiceAccount" && m.metadata.name === "elastic");
        assert.equal((sa?.metadata["annotations"] as Record<string, string>)["eks.amazonaws.com/role-arn"], arnOf(e, T.role, "elastic-snapshots-role"));
        const job = manifests.find((m) => m.kind === "Job" && m.metadata.name === "elastic-setup") as unknown as {
            spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
        };
        const env = Object.fromEntries(job.spec.template.spec.containers[0].env.map((v) => [v.name, v.value]));
        const repository = JSON.parse(String(env["REPOSITORY_JSON"])) as { type: string; settings: Inputs };
        assert.equal(repository.type, "s3");
        assert.equal(repository.settings["base_path"], "elasticsearch/herd/elastic");
        assert.equal(repository.settings["bucket"], idOf(e, T.bucket, "aws-backups"));
        assert.equal((JSON.parse(String(env["SLM_JSON"])) as { schedule: string }).schedule, "0 0/30 * * * ?");
    });
    it("the backup job's role (via the data tier): trusted for its ServiceAccount only, least privilege on the bucket", async () => {
        const e = await awsStack();
        const role = one(e, T.role, "postgres-backup-role");
        assert.equal(role.parent, "postgres", "created under the component that asked for it");
        assert.equal(role.options.provider, "aws-provider");
        const eks = answer(e, T.eks, "aws-eks").state;
        const issuer = String(eks["oidcIssuer"]);
        const trust = json(role.inputs["assumeRolePolicy"]) as { Statement: { Principal: Inputs; Condition: { StringEquals: Inputs } }[] };
        assert.equal(trust.Statement.length, 1);
        assert.deepEqual(trust.Statement[0].Principal, { Federated: eks["oidcProviderArn"] });
        assert.deepEqual(trust.Statement[0].Condition, {
            StringEquals: { [`${issuer}:sub`]: "system:serviceaccount:herd:postgres-backup", [`${issuer}:aud`]: "sts.amazonaws.com" },
        });

        const policy = one(e, T.rolePolicy, "postgres-backup-policy");
        assert.equal(policy.inputs["role"], answer(e, T.role, "postgres-backup-role").state["name"]);
        const bucketArn = arnOf(e, T.bucket, "aws-backups");
        const statements = (json(policy.inputs["policy"]) as { Statement: { Action: string[]; Resource: string; Condition?: Inputs }[] }).Statement;
        assert.deepEqual(
            statements.map((s) => [s.Action, s.Resource]),
            [
                [["s3:ListBucket"], bucketArn],
                [["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], `${bucketArn}/*`],
                [["kms:GenerateDataKey", "kms:Decrypt"], arnOf(e, T.kms, "aws-backup-key")],
            ],
        );
        assert.deepEqual(statements[2].Condition, { StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } });

        const sa = buildManifests(e).manifests.find((m) => m.kind === "ServiceAccount" && m.metadata.name === "postgres-backup");
        assert.equal((sa?.metadata["annotations"] as Record<string, string>)["eks.amazonaws.com/role-arn"], arnOf(e, T.role, "postgres-backup-role"));
    });
});

describe("stack aws: Kubernetes provider, outputs and secrets", () => {
    it("the provider takes the cluster's kubeconfig as a secret, uses server-side apply, and waits for nodes and DNS", async () => {
        const e = await awsStack();
        const provider = one(e, T.k8sProvider);
        assert.equal(provider.name, "aws-k8s");
        assert.equal(provider.parent, "aws");
        assert.equal(provider.inputs["kubeconfig"], "[secret]");
        assert.ok(provider.inputs["enableServerSideApply"] === true || provider.inputs["enableServerSideApply"] === "true");
        assert.deepEqual([...provider.options.dependsOn].sort(), ["aws-coredns", "aws-nodes", "aws-vpc-cni"]);
    });
    it("every Kubernetes resource uses the cluster's provider", async () => {
        const e = await awsStack();
        const k8sResources = e.resources.filter((r) => r.type.startsWith("kubernetes:"));
        assert.ok(k8sResources.length >= 2);
        for (const r of k8sResources) {
            assert.equal(r.options.provider, "aws-k8s", `${r.type} ${r.name}`);
        }
    });
    it("outputs: cluster, region, registry, bucket; the platform's kubeconfig output is a secret Output", async () => {
        const e = await awsStack();
        const outputs = platformOutputs(e);
        assert.equal(outputs["platform"], "aws");
        assert.equal(outputs["region"], "eu-west-1");
        assert.equal(outputs["clusterName"], "herd-aws");
        assert.equal(outputs["backupBucket"], idOf(e, T.bucket, "aws-backups"));
        assert.match(String(outputs["backupBucket"]), /^herd-aws-backups-[0-9a-f]+$/);
        assert.equal(outputs["exposure"], "loadBalancer (nlb)");
        const { platform } = await platformFor({});
        const kubeconfig = platform.outputs["kubeconfig"];
        assert.ok(pulumi.Output.isInstance(kubeconfig));
        assert.equal((await inspect(kubeconfig as pulumi.Output<string>)).secret, true);
    });
    it("the kubeconfig stack output reads back as [secret]", async () => {
        assert.equal(platformOutputs(await awsStack())["kubeconfig"], "[secret]");
    });
    it("no secret's plaintext reaches a recorded resource or an output", async () => {
        const e = await awsStack();
        const everything = JSON.stringify(e.resources) + JSON.stringify(e.outputs);
        assert.ok(e.secretValues.length > 0);
        for (const secret of e.secretValues) {
            assert.ok(!everything.includes(secret), `a secret leaked: ${secret.slice(0, 12)}...`);
        }
        assert.ok(!everything.includes("get-token"), "the kubeconfig leaked");
        assert.ok(!everything.includes("offline-ecr-token"), "the ECR token leaked");
    });
    it("builds schema-valid manifests", async () => {
        const e = await awsStack();
        const { manifests } = buildManifests(e);
        assert.ok(manifests.some((m) => m.kind === "StorageClass" && m.metadata.name === "herd-gp3"));
        assert.ok(manifests.some((m) => m.kind === "Namespace" && m.metadata.name === "herd"));
    });
    it("the manifests command --stack aws exits 0 and writes both files", async () => {
        const out = path.join(tempDir(), "aws");
        const result = await runCommand("manifests", ["--stack", "aws", "--out", out]);
        assert.equal(result.status, 0, result.stderr);
        assert.ok(fs.existsSync(path.join(out, "manifests.yaml")));
        const resources = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as { type: string }[];
        assert.ok(resources.some((r) => r.type === T.eks));
    });
});

describe("stack aws: NetworkPolicy enforcement, metrics, node autoscaling, upgrades, admin access (issue 15)", () => {
    /** Every setting of issue 15 away from its default, autoscaling off. */
    let changed: Promise<Evaluation> | undefined;
    const changedStack = (): Promise<Evaluation> =>
        (changed ??= variant({
            "herd:awsNodeAutoscaling": "off",
            "herd:awsUpgradeSupportType": "EXTENDED",
            "herd:awsNodeMaxUnavailablePercent": 50,
            "herd:awsNodeDiskGiB": 120,
            "herd:awsControlPlaneLogRetentionDays": 365,
            "herd:awsAdminPrincipalArns": ["arn:aws:iam::123456789012:role/platform-admins", "arn:aws:iam::210987654321:user/ops/alice"],
        }));

    it("the VPC CNI enforces NetworkPolicies: herd's vpc-cni add-on with the network policy agent on, whatever else the stack sets", async () => {
        for (const e of [await awsStack(), await changedStack()]) {
            const cni = one(e, T.addon, "aws-vpc-cni");
            assert.equal(cni.inputs["addonName"], "vpc-cni");
            assert.equal(cni.inputs["clusterName"], e === (await awsStack()) ? "herd-aws" : "herd-test");
            assert.deepEqual(json(cni.inputs["configurationValues"]), { enableNetworkPolicy: "true" });
            assert.match(String(cni.inputs["addonVersion"]), /^v\d+\.\d+\.\d+-eksbuild\.\d+$/);
            assert.equal(cni.inputs["resolveConflictsOnCreate"], "OVERWRITE", "adopts the CNI EKS bootstrapped");
            assert.equal(cni.inputs["preserve"], true, "removing the resource never removes pod networking");
            const cluster = one(e, T.eks);
            assert.equal(cluster.inputs["useDefaultVpcCni"], true, "pulumi-eks adds no second vpc-cni add-on");
            assert.equal(cluster.inputs["vpcCniOptions"], undefined);
            // Workloads (everything on the cluster's provider) start only once it is configured.
            assert.ok(one(e, T.k8sProvider).options.dependsOn.includes("aws-vpc-cni"));
        }
        // No key can turn it off: none mentions network policies or the CNI.
        assert.deepEqual(Object.keys(KEYS).filter((k) => /network ?polic|cni/i.test(`${k} ${(KEYS as Record<string, { description: string }>)[k].description}`)), []);
        // ...and there are policies for it to enforce.
        assert.ok(buildManifests(await awsStack()).manifests.filter((m) => m.kind === "NetworkPolicy").length >= 6);
    });
    it("the API's HorizontalPodAutoscaler has metrics: the metrics-server add-on, at EKS's default version, once there are nodes", async () => {
        const e = await awsStack();
        assert.ok(buildManifests(e).manifests.some((m) => m.kind === "HorizontalPodAutoscaler"));
        const addon = one(e, T.addon, "aws-metrics-server");
        assert.equal(addon.inputs["addonName"], "metrics-server");
        assert.equal(addon.inputs["clusterName"], "herd-aws");
        assert.match(String(addon.inputs["addonVersion"]), /^v\d+\.\d+\.\d+-eksbuild\.\d+$/);
        assert.equal(addon.inputs["serviceAccountRoleArn"], undefined, "it calls no AWS API: no role");
        assert.deepEqual(addon.options.dependsOn, ["aws-nodes"]);
        assert.equal(addon.options.customTimeouts?.create, "40m");
        assert.equal(one(await changedStack(), T.addon, "aws-metrics-server").inputs["addonName"], "metrics-server", "with autoscaling off too");
    });
    it("cluster-autoscaler (default): the pinned chart from the autoscaler project, in kube-system, an image of the cluster's minor version", async () => {
        const e = await awsStack();
        const release = one(e, T.release, "aws-cluster-autoscaler");
        assert.equal(release.parent, "aws");
        assert.equal(release.options.provider, "aws-k8s");
        assert.equal(release.inputs["chart"], "cluster-autoscaler");
        assert.equal(release.inputs["version"], CLUSTER_AUTOSCALER_CHART.version);
        assert.match(String(release.inputs["version"]), /^\d+\.\d+\.\d+$/, "an exact chart version, never a range");
        assert.deepEqual(release.inputs["repositoryOpts"], { repo: "https://kubernetes.github.io/autoscaler" });
        assert.equal(release.inputs["namespace"], "kube-system");
        assert.equal(release.inputs["name"], "cluster-autoscaler");
        assert.equal(release.inputs["atomic"], true);
        const values = release.inputs["values"] as Inputs;
        assert.deepEqual(values["image"], { repository: "registry.k8s.io/autoscaling/cluster-autoscaler", tag: "v1.33.6", pullPolicy: "IfNotPresent" });
        assert.equal(values["cloudProvider"], "aws");
        assert.equal(values["awsRegion"], "eu-west-1");
        assert.deepEqual(values["autoDiscovery"], { clusterName: "herd-aws" }, "finds the groups tagged for this cluster");
        assert.equal((values["extraArgs"] as Inputs)["skip-nodes-with-local-storage"], false, "emptyDir scratch does not pin a node");
        assert.equal(release.inputs["timeout"], 40 * 60);
        assert.equal(release.options.customTimeouts?.create, "40m");
    });
    it("cluster-autoscaler runs restricted: non-root, RuntimeDefault seccomp, no capabilities, read-only root, requests and limits", async () => {
        const values = one(await awsStack(), T.release).inputs["values"] as Inputs;
        assert.deepEqual(values["securityContext"], { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } });
        assert.deepEqual(values["containerSecurityContext"], {
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
        });
        const resources = values["resources"] as { requests: Inputs; limits: Inputs };
        assert.deepEqual(resources.requests, { cpu: "100m", memory: "600Mi" });
        assert.deepEqual(resources.limits, { cpu: "200m", memory: "600Mi" });
    });
    it("cluster-autoscaler's IRSA role: trusted for kube-system:cluster-autoscaler only, annotated on the chart's ServiceAccount", async () => {
        const e = await awsStack();
        const eks = answer(e, T.eks, "aws-eks").state;
        const issuer = String(eks["oidcIssuer"]);
        const trust = json(one(e, T.role, "aws-cluster-autoscaler-role").inputs["assumeRolePolicy"]) as { Statement: Inputs[] };
        assert.deepEqual(trust.Statement, [
            {
                Effect: "Allow",
                Principal: { Federated: eks["oidcProviderArn"] },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: { StringEquals: { [`${issuer}:sub`]: "system:serviceaccount:kube-system:cluster-autoscaler", [`${issuer}:aud`]: "sts.amazonaws.com" } },
            },
        ]);
        const values = one(e, T.release).inputs["values"] as { rbac: { serviceAccount: Inputs } };
        assert.equal(values.rbac.serviceAccount["name"], "cluster-autoscaler");
        assert.equal(values.rbac.serviceAccount["create"], true);
        assert.deepEqual(values.rbac.serviceAccount["annotations"], { "eks.amazonaws.com/role-arn": arnOf(e, T.role, "aws-cluster-autoscaler-role") });
        assert.deepEqual(one(e, T.release).options.dependsOn, ["aws-cluster-autoscaler-policy"], "permissions before its first scan");
    });
    it("cluster-autoscaler's policy: reads, its own node group, and resizing only groups tagged for this cluster", async () => {
        const e = await awsStack();
        const policy = one(e, T.rolePolicy, "aws-cluster-autoscaler-policy");
        assert.equal(policy.inputs["role"], answer(e, T.role, "aws-cluster-autoscaler-role").state["name"]);
        const statements = (json(policy.inputs["policy"]) as { Statement: { Action: string[]; Resource: string; Condition?: Inputs }[] }).Statement;
        assert.deepEqual(
            statements.map((s) => [s.Action, s.Resource, s.Condition]),
            [
                [[...CLUSTER_AUTOSCALER_READ_ACTIONS], "*", undefined],
                [["eks:DescribeNodegroup"], arnOf(e, T.nodeGroup, "aws-nodes"), undefined],
                [
                    ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "arn:aws:autoscaling:eu-west-1:*:autoScalingGroup:*:autoScalingGroupName/*",
                    { StringEquals: { "aws:ResourceTag/k8s.io/cluster-autoscaler/herd-aws": "owned", "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true" } },
                ],
            ],
        );
        const unscoped = statements.filter((s) => s.Resource === "*").flatMap((s) => s.Action);
        assert.ok(unscoped.every((a) => /:(Describe|Get)/.test(a)), `only reads on every resource: ${unscoped.join(", ")}`);
        assert.ok(!statements.some((s) => s.Action.some((a) => a.includes("*"))), "no wildcard actions");
    });
    it("with the autoscaler the node count is its own: pulumi up does not reset desiredSize; without it, pulumi does", async () => {
        assert.deepEqual(one(await awsStack(), T.nodeGroup).options.ignoreChanges, ["scalingConfig.desiredSize"]);
        const off = await changedStack();
        assert.deepEqual(one(off, T.nodeGroup).options.ignoreChanges, []);
        assert.deepEqual(all(off, T.release), [], "awsNodeAutoscaling off: no autoscaler");
        assert.equal(off.resources.filter((r) => r.name.includes("cluster-autoscaler")).length, 0, "nor its role and policy");
    });
    it("the autoscaler's image follows herd:kubernetesVersion", async () => {
        const e = await variant({ "herd:kubernetesVersion": "1.31" });
        assert.equal(((one(e, T.release).inputs["values"] as Inputs)["image"] as Inputs)["tag"], "v1.31.5");
        assert.equal(one(e, T.eks).inputs["version"], "1.31");
    });
    it("upgrades: STANDARD support said explicitly (EKS's default is the billed EXTENDED), a third of the nodes at a time", async () => {
        const e = await awsStack();
        assert.deepEqual(one(e, T.eks).inputs["upgradePolicy"], { supportType: "STANDARD" });
        assert.deepEqual(one(e, T.nodeGroup).inputs["updateConfig"], { maxUnavailablePercentage: 33 });
        const changedOne = await changedStack();
        assert.deepEqual(one(changedOne, T.eks).inputs["upgradePolicy"], { supportType: "EXTENDED" });
        assert.deepEqual(one(changedOne, T.nodeGroup).inputs["updateConfig"], { maxUnavailablePercentage: 50 });
    });
    it("node disk size and control-plane log retention follow config", async () => {
        const e = await changedStack();
        const root = (one(e, T.launchTemplate).inputs["blockDeviceMappings"] as { ebs: Inputs }[])[0].ebs;
        assert.deepEqual(root, { volumeSize: 120, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" });
        assert.equal(one(e, T.logGroup).inputs["retentionInDays"], 365);
    });
    it("admin principals: none by default (the creator's own entry only); each listed ARN a cluster-scoped cluster-admin access entry", async () => {
        assert.deepEqual(one(await awsStack(), T.eks).inputs["accessEntries"], {});
        const entries = one(await changedStack(), T.eks).inputs["accessEntries"] as Record<string, Inputs>;
        const admin = { policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", accessScope: { type: "cluster" } };
        assert.deepEqual(entries, {
            "admin-123456789012-role-platform-admins": { principalArn: "arn:aws:iam::123456789012:role/platform-admins", accessPolicies: { admin } },
            "admin-210987654321-user-ops-alice": { principalArn: "arn:aws:iam::210987654321:user/ops/alice", accessPolicies: { admin } },
        });
        assert.equal(one(await changedStack(), T.eks).inputs["authenticationMode"], "API");
    });
    it("pure: an access entry's key depends on its ARN only, not on its place in the list", () => {
        const a = "arn:aws:iam::123456789012:role/a";
        const b = "arn:aws:iam::123456789012:role/b";
        assert.deepEqual(Object.keys(adminAccessEntries([a, b], "p")).sort(), Object.keys(adminAccessEntries([b, a], "p")).sort());
        assert.deepEqual(Object.keys(adminAccessEntries([b], "p")), Object.keys(adminAccessEntries([a, b], "p")).filter((k) => k.endsWith("-b")));
    });
    it("pure: each pinned autoscaler image is of its own Kubernetes minor; an unpinned minor is a herd bug, said so", () => {
        for (const [minor, tag] of Object.entries(CLUSTER_AUTOSCALER_IMAGE_TAGS)) {
            assert.match(tag, new RegExp(`^v${minor.replace(".", "\\.")}\\.\\d+$`), minor);
            assert.equal(clusterAutoscalerImageTag(minor), tag);
        }
        assert.throws(() => clusterAutoscalerImageTag("1.39"), /no cluster-autoscaler release is pinned for Kubernetes 1\.39/);
    });
    it("pure: the autoscaler's policy names the cluster and partition it is given", () => {
        const policy = json(clusterAutoscalerPolicy("herd-prod", "arn:aws-cn:eks:cn-north-1:1:nodegroup/herd-prod/ng/x", "aws-cn", "cn-north-1")) as { Statement: { Action: string[]; Resource: string; Condition?: { StringEquals: Inputs } }[] };
        const scale = policy.Statement.find((s) => s.Action.includes("autoscaling:SetDesiredCapacity"));
        assert.equal(scale?.Resource, "arn:aws-cn:autoscaling:cn-north-1:*:autoScalingGroup:*:autoScalingGroupName/*");
        assert.deepEqual(Object.keys(scale?.Condition?.StringEquals ?? {}), ["aws:ResourceTag/k8s.io/cluster-autoscaler/herd-prod", "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled"]);
        assert.deepEqual(scale?.Action, [...CLUSTER_AUTOSCALER_WRITE_ACTIONS]);
    });
});

describe("config variants", () => {
    it("no apiAccessCidrs: the public endpoint is off and no CIDR is passed", async () => {
        const cluster = one(await variant({ "herd:apiAccessCidrs": [] }), T.eks);
        assert.equal(cluster.inputs["endpointPrivateAccess"], true);
        assert.equal(cluster.inputs["endpointPublicAccess"], false);
        assert.equal(cluster.inputs["publicAccessCidrs"], undefined);
    });
    it("0.0.0.0/0 reaches the endpoint only when the user opted in, and then exactly as configured", async () => {
        const cluster = one(await variant({ "herd:apiAccessCidrs": ["0.0.0.0/0"], "herd:apiAccessFromAnywhere": true }), T.eks);
        assert.deepEqual(cluster.inputs["publicAccessCidrs"], ["0.0.0.0/0"]);
        await assert.rejects(variant({ "herd:apiAccessCidrs": ["0.0.0.0/0"] }), /apiAccessFromAnywhere/);
    });
    it("single NAT: one gateway (and address), every private subnet routes through it", async () => {
        const e = await variant({ "herd:awsNatGateways": "single" });
        assert.equal(all(e, T.nat).length, 1);
        assert.equal(all(e, T.eip).length, 1);
        const nat = idOf(e, T.nat, "aws-nat-0");
        assert.equal(one(e, T.nat).inputs["subnetId"], subnetIds(e, "public")[0]);
        const routes = all(e, T.route).filter((r) => r.name.startsWith("aws-private-"));
        assert.equal(routes.length, 3);
        for (const r of routes) {
            assert.equal(r.inputs["natGatewayId"], nat);
        }
    });
    it("zoneCount 2: 2 public + 2 private subnets in the first two zones, nodes across both private ones", async () => {
        const e = await variant({ "herd:awsZoneCount": 2, "herd:awsVpcCidr": "10.20.0.0/20" });
        assert.equal(subnets(e, "public").length, 2);
        assert.equal(subnets(e, "private").length, 2);
        assert.equal(all(e, T.subnet).length, 4);
        assert.deepEqual(subnets(e, "private").map((s) => s.inputs["availabilityZone"]), ["eu-west-1a", "eu-west-1b"]);
        assert.deepEqual(subnets(e, "private").map((s) => s.inputs["cidrBlock"]), ["10.20.0.0/23", "10.20.2.0/23"]);
        assert.equal(all(e, T.nat).length, 2);
        assert.deepEqual(one(e, T.nodeGroup).inputs["subnetIds"], subnetIds(e, "private"));
        assert.deepEqual(one(e, T.eks).inputs["privateSubnetIds"], subnetIds(e, "private"));
    });
    it("nodes, version, region and ECR retention follow config; Graviton gets an ARM AMI", async () => {
        const e = await variant({
            "herd:awsRegion": "us-east-2",
            "herd:kubernetesVersion": "1.32",
            "herd:awsNodeInstanceType": "m7g.xlarge",
            "herd:awsNodeMin": 2,
            "herd:awsNodeDesired": 4,
            "herd:awsNodeMax": 10,
            "herd:ecrKeepImages": 5,
        });
        assert.equal(one(e, T.provider).inputs["region"], "us-east-2");
        assert.equal(one(e, T.eks).inputs["version"], "1.32");
        const nodes = one(e, T.nodeGroup);
        assert.deepEqual(nodes.inputs["scalingConfig"], { minSize: 2, desiredSize: 4, maxSize: 10 });
        assert.equal(nodes.inputs["amiType"], "AL2023_ARM_64_STANDARD");
        assert.equal(nodes.inputs["version"], "1.32");
        for (const l of all(e, T.ecrLifecycle)) {
            assert.equal((json(l.inputs["policy"]) as { rules: { selection: Inputs }[] }).rules[0].selection["countNumber"], 5);
        }
        assert.equal(platformOutputs(e)["region"], "us-east-2");
        assert.equal(platformOutputs(e)["clusterName"], "herd-test");
        assert.deepEqual(json(one(e, T.provider).inputs["defaultTags"])["tags"], {
            "app.kubernetes.io/part-of": "herd",
            "app.kubernetes.io/managed-by": "pulumi",
            "herd:stack": "test",
        });
    });
});

interface Built {
    readonly component: AwsPlatform;
    /** What components receive. */
    readonly platform: Platform;
    /** Options each resource was registered with, by `type::name` (what the recorded options leave out). */
    readonly options: ReadonlyMap<string, pulumi.CustomResourceOptions>;
    readonly records: readonly MockRecord[];
}

/**
 * Builds the platform directly under mocks to inspect the capabilities it hands components. `config` is the stack
 * config the run sees (by default the values the platform is built from).
 */
async function platformFor(values: Record<string, string>, use?: (p: AwsPlatform) => void, config?: Record<string, string>): Promise<Built> {
    const raw = { ...BASE, ...values };
    const cfg = parseConfig({ values: raw, secretKeys: new Set(), stack: "unit" });
    assert.ok(cfg.platform === "aws");
    // The stack's config as the program would see it; the mocks answer for the region of the provider used.
    const run = await evaluateUnderMocks(
        () => {
            const platform = new AwsPlatform("aws", cfg);
            use?.(platform);
            return platform;
        },
        { config: config ?? raw },
    );
    if (run.error !== undefined) {
        throw run.error;
    }
    assert.ok(run.value !== undefined);
    return { component: run.value, platform: run.value.platform, options: run.options, records: run.mocks.records };
}

describe("capabilities handed to components", () => {
    it("pulumi-eks gets the explicit AWS provider, so its resources never use an ambient region", async () => {
        const { component, options } = await platformFor({});
        assert.equal(options.get("eks:index:Cluster::aws-eks")?.provider, component.awsProvider);
        assert.equal(options.get("eks:index:Cluster::aws-eks")?.parent, component);
    });
    it("images: built and pushed to the ECR repositories with a token that stays secret", async () => {
        const { platform } = await platformFor({});
        assert.ok(platform.images.kind === "build");
        assert.deepEqual(await inspect(pulumi.output(platform.images.repositories.api)), {
            value: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/herd-unit/api",
            secret: false,
        });
        assert.equal((await inspect(pulumi.output(platform.images.repositories.frontend))).value, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/herd-unit/frontend");
        assert.equal((await inspect(pulumi.output(platform.images.repositories.postgres))).value, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/herd-unit/postgres");
        assert.equal((await inspect(pulumi.output(platform.images.registry.server))).value, "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
        assert.equal((await inspect(pulumi.output(platform.images.registry.username))).value, "AWS");
        assert.deepEqual(await inspect(pulumi.output(platform.images.registry.password)), { value: "offline-ecr-token", secret: true });
    });
    it("exposure, storage class and backup store", async () => {
        const { component, platform } = await platformFor({});
        assert.deepEqual(platform.exposure, {
            ...nlbExposure({ "app.kubernetes.io/part-of": "herd", "app.kubernetes.io/managed-by": "pulumi", "herd:stack": "unit" }),
            // nginx is reached from outside the VPC's private subnets only (where the nodes and pods are).
            sources: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"] } }],
        });
        assert.equal((await inspect(platform.storageClassName)).value, "herd-gp3");
        assert.ok(platform.backupStore.kind === "objectStore");
        const uploader = platform.backupStore.uploader;
        assert.equal(uploader.image, AWS_CLI_IMAGE);
        assert.match(uploader.script, /aws s3 cp/);
        assert.deepEqual(uploader.env, [{ name: "AWS_REGION", value: "eu-west-1" }], "the region once, no endpoint: AWS S3 itself");
        // Only the S3 gateway endpoint's prefix-list ranges (the mock's) and the STS interface endpoint in the
        // private subnets, on 443.
        const egress = await Promise.all(uploader.egress.map(async (rule) => ({ to: (await inspect(pulumi.output(rule.to))).value, ports: rule.ports })));
        const https = [{ protocol: "TCP", port: 443 }];
        assert.deepEqual(egress, [
            { to: [{ ipBlock: { cidr: "198.51.100.0/24" } }, { ipBlock: { cidr: "203.0.113.0/24" } }], ports: https },
            { to: ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"].map((cidr) => ({ ipBlock: { cidr } })), ports: https },
        ]);
        assert.match(String((await inspect(pulumi.output(uploader.bucket))).value), /^herd-unit-backups-/);
        const kubeconfig = await inspect(component.kubeconfig);
        assert.equal(kubeconfig.secret, true);
        assert.match(kubeconfig.value, /"get-token"/);
    });
    it("bind: a role under the caller's parent, annotated on the ServiceAccount, with the region in env", async () => {
        let binding: IdentityBinding | undefined;
        let owner: pulumi.ComponentResource | undefined;
        const { component, options } = await platformFor({}, (p) => {
            owner = new pulumi.ComponentResource("herd:index:Test", "search");
            binding = p.platform.workloadIdentity.bind({ name: "search-backup", namespace: pulumi.output("shop"), serviceAccountName: "search-backup", parent: owner });
        });
        assert.ok(binding !== undefined);
        const role = options.get("aws:iam/role:Role::search-backup-role");
        assert.equal(role?.parent, owner);
        assert.equal(role?.provider, component.awsProvider);
        assert.equal(options.get("aws:iam/rolePolicy:RolePolicy::search-backup-policy")?.parent, owner);
        assert.match(String((await inspect(pulumi.output(binding.serviceAccountAnnotations["eks.amazonaws.com/role-arn"]))).value), /^arn:aws:iam::123456789012:role\/search-backup-role-/);
        assert.deepEqual(binding.env, [], "AWS_REGION is the uploader's, not set twice");
    });
    it("repository: each purpose its own prefix in the backup bucket, HTTPS, web identity; a role per binding", async () => {
        let binding: IdentityBinding | undefined;
        let owner: pulumi.ComponentResource | undefined;
        const { platform, options } = await platformFor({}, (p) => {
            owner = new pulumi.ComponentResource("herd:index:Test", "db");
            binding = p.platform.repository("pgbackrest").identity.bind({ name: "db-archive", namespace: pulumi.output("shop"), serviceAccountName: "db", parent: owner });
        });
        for (const purpose of ["pgbackrest", "elasticsearch"] as const) {
            const store = platform.repository(purpose).store;
            assert.ok(store.kind === "s3");
            assert.equal(store.prefix, `${purpose}/`);
            assert.equal(store.region, "eu-west-1");
            assert.equal(store.endpoint, undefined, "AWS S3 itself");
            assert.equal(store.webIdentityAudience, "sts.amazonaws.com");
            assert.equal(store.credentialsSecret, undefined);
            assert.deepEqual(store.egress, [{ ports: [{ protocol: "TCP", port: 443 }] }]);
            assert.match(String((await inspect(pulumi.output(store.bucket))).value), /^herd-unit-backups-/, "the backup bucket");
        }
        assert.ok(binding !== undefined);
        assert.equal(options.get("aws:iam/role:Role::db-archive-role")?.parent, owner);
        const arn = String((await inspect(pulumi.output(binding.serviceAccountAnnotations["eks.amazonaws.com/role-arn"]))).value);
        assert.match(arn, /^arn:aws:iam::123456789012:role\/db-archive-role-/);
        assert.equal((await inspect(pulumi.output(binding.env.find((v) => v.name === "AWS_ROLE_ARN")?.value ?? ""))).value, arn, "the tools read the role from AWS_ROLE_ARN");
    });
    it("repository policy: pure, per purpose", () => {
        const policy = JSON.parse(repositoryAccessPolicy("arn:aws:s3:::b", "arn:aws:kms:k", "s3.eu-west-1.amazonaws.com", "pgbackrest")) as { Statement: { Action: string[]; Resource: string; Condition?: Inputs }[] };
        assert.deepEqual(policy.Statement[0].Condition, { StringLike: { "s3:prefix": ["pgbackrest/*"] } });
        assert.equal(policy.Statement[1].Resource, "arn:aws:s3:::b/pgbackrest/*");
        assert.deepEqual(REPOSITORY_OBJECT_ACTIONS, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]);
        assert.ok(policy.Statement.every((s) => s.Resource !== "arn:aws:s3:::b/*"), "never the whole bucket's objects");
    });
});

describe("the mocks answer for the provider's region", () => {
    it("a region set only on the provider (no herd: key in the config the mocks see) reaches ARNs, URLs and zones", async () => {
        const { platform, records } = await platformFor({ "herd:awsRegion": "eu-central-1" }, undefined, {});
        assert.deepEqual(pulumi.runtime.allConfig(), {}, "the mocks could not have read the region from config");
        assert.ok(platform.images.kind === "build");
        assert.equal((await inspect(pulumi.output(platform.images.repositories.api))).value, "123456789012.dkr.ecr.eu-central-1.amazonaws.com/herd-unit/api");
        assert.equal((await inspect(pulumi.output(platform.images.registry.server))).value, "123456789012.dkr.ecr.eu-central-1.amazonaws.com");
        const state = (type: string) => records.find((r) => r.type === type)?.state ?? {};
        assert.match(String(state(T.kms)["arn"]), /^arn:aws:kms:eu-central-1:/);
        assert.match(String(state(T.eks)["oidcIssuer"]), /^oidc\.eks\.eu-central-1\.amazonaws\.com\//, "pulumi-eks's component too");
        const zones = records.filter((r) => r.type === T.subnet).map((r) => r.inputs["availabilityZone"]);
        assert.ok(zones.length > 0 && zones.every((z) => /^eu-central-1[abc]$/.test(String(z))), "invokes answer for their provider");
        assert.ok(!JSON.stringify(records).includes("eu-west-1"), "no other region anywhere");
    });
    it("nothing in offline/ reads a herd: key for the region or project", () => {
        const dir = path.join(PROJECT_DIR, "offline");
        for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
            const source = fs.readFileSync(path.join(dir, file), "utf8");
            assert.doesNotMatch(source, /herd:(awsRegion|gcpRegion|gcpProject)|allConfig\(\)\s*\[/, file);
        }
    });
});
