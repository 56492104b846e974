/**
 * The ONE place that reads stack configuration.
 *
 * Every `herd:` key is declared once, in `KEYS` below: its Pulumi.yaml type, its default, its description and the
 * zod schema that validates it. `loadConfig()` reads the stack's raw values, validates all of them (and the rules
 * that span several keys), and either returns one typed `HerdConfig` or throws one `ConfigError` listing every
 * problem: the key, what was expected and what was given. Unknown `herd:` keys are problems too, with a
 * did-you-mean suggestion, so a typo is never silently ignored.
 *
 * Pulumi.yaml declares the same keys; `tests/config-schema.test.ts` proves the two agree.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { cronProblem } from "./lib/cron";
import { GiB, MiB, parseQuantity } from "./lib/quantity";

export const NAMESPACE = "herd";
export const PLATFORMS: ["aws", "gcp", "onprem"] = ["aws", "gcp", "onprem"];
export type PlatformName = (typeof PLATFORMS)[number];

/** How a key is declared in Pulumi.yaml (`config:` block). */
export type DeclaredType = "string" | "integer" | "boolean" | "array";

export interface KeySpec {
    /** Pulumi.yaml type. Arrays are arrays of strings. */
    readonly type: DeclaredType;
    /**
     * The default, exactly as Pulumi.yaml declares it. `undefined` means the key is required and has no default.
     * For optional strings the default is `""`, which means "not set" (Pulumi.yaml cannot declare an optional key
     * without a default: the CLI then demands a value).
     */
    readonly default: string | number | boolean | readonly string[] | undefined;
    readonly description: string;
    /** The value is a credential: it must be set with `pulumi config set --secret` and stays a secret Output. */
    readonly secret?: boolean;
    /** Platforms that read this key; a non-default value on another platform is an error. Absent: all platforms. */
    readonly platforms?: readonly PlatformName[];
    /** Validates the raw string Pulumi hands the program (arrays arrive as JSON text). */
    readonly schema: z.ZodType;
    /** A string key whose value may itself be a JSON document (a kubeconfig); others reject mappings and lists. */
    readonly acceptsDocument?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks for the per-key schemas. Messages say what was expected; the formatter adds what was given.

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Every string schema starts here, so a value of the wrong type says so plainly. */
const string = () => z.string({ invalid_type_error: "expected a string", required_error: "expected a string" });
const text = () => string();
const optionalText = () => string().trim();
const oneOf = <T extends [string, ...string[]]>(values: T) =>
    z.enum(values, { errorMap: () => ({ message: `expected one of ${values.join(", ")}` }) });
type StringSchema = z.ZodType<string, z.ZodTypeDef, string>;
/** Empty means "not set"; anything else must satisfy `inner`. */
const optional = (inner: StringSchema) =>
    string().superRefine((value, ctx) => {
        if (value === "") {
            return;
        }
        const result = inner.safeParse(value);
        if (!result.success) {
            for (const issue of result.error.issues) {
                ctx.addIssue({ code: z.ZodIssueCode.custom, message: issue.message, path: issue.path });
            }
        }
    });

const dnsLabel = (what: string) =>
    string()
        .max(63, `expected ${what}: at most 63 characters`)
        .regex(DNS_LABEL, `expected ${what}: lowercase letters, digits and '-', starting and ending alphanumeric`);

const dnsSubdomain = (what: string) =>
    string()
        .max(253, `expected ${what}: at most 253 characters`)
        .regex(DNS_SUBDOMAIN, `expected ${what}: a DNS subdomain (lowercase letters, digits, '-' and '.')`);

/**
 * A StorageClass provisioner: a Kubernetes qualified name, `[prefix/]name` with a DNS-subdomain prefix and a name of
 * at most 63 characters (`driver.longhorn.io`, `rbd.csi.ceph.com`, `kubernetes.io/no-provisioner`), as the API
 * server validates it.
 */
const provisionerName = string().regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    "expected a provisioner name such as driver.longhorn.io or kubernetes.io/no-provisioner ([prefix/]name)",
);

/** A registry location: host[:port][/path], no scheme, no tag. */
const registryLocation = string()
    .regex(
        /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
        "expected a registry location such as registry.example.com:5000/herd (host[:port][/path], no scheme or tag)",
    );

/** An image reference pinned by digest or by an explicit tag other than `latest`. */
export const PINNED_IMAGE =
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)+(:(?!latest$)[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const pinnedImage = string()
    .regex(PINNED_IMAGE, "expected an image reference with registry and path, e.g. registry.example.com/herd/api:1.4.2")
    .refine((v) => /@sha256:[a-f0-9]{64}$/.test(v) || /:[\w][\w.-]*$/.test(v.replace(/^[^/]*\//, "")), {
        message: "expected an image pinned by tag or digest (never untagged or 'latest')",
    });

/** A kubeconfig document (YAML or JSON) with clusters, contexts and users. */
const kubeconfigDocument = string().refine((v) => {
    try {
        // Loaded on demand: only stacks with a kubeconfig pay for the YAML parser at start-up.
        const { parse } = require("yaml") as typeof import("yaml");
        const doc = parse(v) as unknown;
        if (typeof doc !== "object" || doc === null) {
            return false;
        }
        const d = doc as Record<string, unknown>;
        return Array.isArray(d["clusters"]) && Array.isArray(d["contexts"]) && Array.isArray(d["users"]);
    } catch {
        return false;
    }
}, "expected the contents of a kubeconfig file (YAML or JSON with clusters, contexts and users)");

const keyValue = string()
    .regex(/^[A-Za-z0-9][-A-Za-z0-9_./]*=.*$/, "expected key=value");

/** JSON text (how Pulumi passes arrays) decoded into an array of strings each validated by `item`. */
const stringArray = (item: StringSchema) =>
    string()
        .transform((raw, ctx) => {
            try {
                return JSON.parse(raw) as unknown;
            } catch {
                ctx.addIssue({ code: z.ZodIssueCode.custom, message: "expected a list of strings (YAML sequence)" });
                return z.NEVER;
            }
        })
        .pipe(z.array(item, { invalid_type_error: "expected a list of strings (YAML sequence)" }));

/** An integer in [min, max], from the text Pulumi passes. */
const integer = (min: number, max: number) =>
    string()
        .regex(/^\s*-?\d+\s*$/, "expected a whole number")
        .transform(Number)
        .pipe(
            z
                .number()
                .int()
                .min(min, `expected a whole number from ${min} to ${max}`)
                .max(max, `expected a whole number from ${min} to ${max}`),
        );

/** true or false, from the text Pulumi passes. */
const boolean = () =>
    string()
        .regex(/^(true|false)$/, "expected true or false")
        .transform((v) => v === "true");

/** An IPv4 CIDR block with its host bits clear, e.g. 10.0.0.0/16. */
export function cidrProblem(v: string): string | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
    const octets = m?.slice(1, 5).map(Number) ?? [];
    const prefix = Number(m?.[5]);
    if (m === null || octets.some((o) => o > 255) || prefix > 32) {
        return "expected an IPv4 CIDR block such as 10.0.0.0/16";
    }
    const address = octets.reduce((acc, o) => acc * 256 + o, 0);
    const size = 2 ** (32 - prefix);
    if (address % size !== 0) {
        const network = address - (address % size);
        const dotted = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".");
        return `expected a CIDR block with its host bits clear (did you mean ${dotted}/${prefix}?)`;
    }
    return undefined;
}
const cidr = () =>
    string().superRefine((v, ctx) => {
        const problem = cidrProblem(v);
        if (problem !== undefined) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
        }
    });
const KUBERNETES_VERSION = /^1\.(2[89]|3\d)$/;

/** A Kubernetes quantity of bytes of at least `minBytes` (e.g. "20Gi"). */
const bytes = (what: string, minBytes: number, minText: string) =>
    string().superRefine((v, ctx) => {
        const value = parseQuantity(v);
        if (value === undefined || !Number.isFinite(value)) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected ${what} as a Kubernetes quantity such as 512Mi or 20Gi` });
        } else if (value < minBytes) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected at least ${minText} (${what})` });
        }
    });

/** A CPU quantity such as "500m" or "2". */
const cpu = () =>
    string().superRefine((v, ctx) => {
        const value = /^\d+(\.\d+)?m?$/.test(v) ? parseQuantity(v) : undefined;
        if (value === undefined || value <= 0) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: "expected a CPU quantity such as 500m or 2" });
        }
    });

const cron = () =>
    string().superRefine((v, ctx) => {
        const problem = cronProblem(v);
        if (problem !== undefined) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
        }
    });

// ---------------------------------------------------------------------------------------------------------------
// The keys. Order here is the order of Pulumi.yaml and of the README's reference.

export const KEYS = {
    platform: {
        type: "string",
        default: undefined,
        description: "Where this stack runs: aws (EKS it creates), gcp (GKE it creates) or onprem (an existing cluster). Required.",
        schema: oneOf(PLATFORMS),
    },
    namespace: {
        type: "string",
        default: "herd",
        description: "Kubernetes namespace for the app; herd creates it with Pod Security 'restricted' enforced.",
        schema: dnsLabel("a namespace name"),
    },

    // --- onprem -------------------------------------------------------------------------------------------------
    kubeconfig: {
        type: "string",
        default: "",
        secret: true,
        acceptsDocument: true,
        platforms: ["onprem"],
        description:
            "onprem: contents of the kubeconfig for the target cluster (set with --secret). Empty: the ambient context (KUBECONFIG or ~/.kube/config).",
        schema: optional(kubeconfigDocument),
    },
    kubeContext: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description: "onprem: kubeconfig context to use. Empty: the kubeconfig's current context.",
        schema: optionalText(),
    },
    storageClass: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description:
            "onprem: StorageClass for data volumes. Without storageProvisioner it must already exist; with it, herd creates it under this name (empty: herd-retain).",
        schema: optional(dnsSubdomain("a StorageClass name")),
    },
    storageProvisioner: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description:
            "onprem: CSI provisioner (e.g. driver.longhorn.io). When set, herd creates a StorageClass with Retain, volume expansion and WaitForFirstConsumer.",
        schema: optional(provisionerName),
    },
    storageParameters: {
        type: "array",
        default: [],
        platforms: ["onprem"],
        description: "onprem: parameters for the StorageClass herd creates, as key=value strings.",
        schema: stringArray(keyValue),
    },
    registry: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description:
            "onprem: registry herd pushes the api and frontend images to, as host[:port][/path]. Not needed when apiImage and frontendImage are set.",
        schema: optional(registryLocation),
    },
    registryUsername: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description: "onprem: username for the registry.",
        schema: optionalText(),
    },
    registryPassword: {
        type: "string",
        default: "",
        secret: true,
        platforms: ["onprem"],
        description: "onprem: password or token for the registry (set with --secret).",
        schema: text(),
    },
    apiImage: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description: "onprem: prebuilt API image, pinned by tag or digest. Set with frontendImage to skip building images.",
        schema: optional(pinnedImage),
    },
    frontendImage: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description: "onprem: prebuilt front-end image, pinned by tag or digest. Set with apiImage to skip building images.",
        schema: optional(pinnedImage),
    },
    ingressClass: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description:
            "onprem: IngressClass that exposes the front end (e.g. nginx). Empty: a LoadBalancer Service (MetalLB, kube-vip) that reports an IP.",
        schema: optional(dnsSubdomain("an IngressClass name")),
    },
    backupBucket: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description: "onprem: S3-compatible bucket for backups. Empty: backups go to a volume in the cluster.",
        schema: optional(
            string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected a bucket name (3-63 lowercase letters, digits, '.', '-')"),
        ),
    },
    backupEndpoint: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description: "onprem: endpoint URL of the S3-compatible store (e.g. https://minio.example.com). Empty: AWS S3.",
        schema: optional(string().regex(/^https?:\/\/[^\s/?#]+[^\s]*$/, "expected an http(s) URL")),
    },
    backupRegion: {
        type: "string",
        default: "us-east-1",
        platforms: ["onprem"],
        description: "onprem: region of the S3-compatible store.",
        schema: string().regex(/^[a-z0-9-]+$/, "expected a region name such as us-east-1"),
    },
    backupCredentialsSecret: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description:
            "onprem: name of a Secret you create in the app namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the backup bucket.",
        schema: optional(dnsSubdomain("a Secret name")),
    },
    renderDirectory: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description:
            "onprem: render every Kubernetes object as YAML into this directory instead of applying it (air-gapped handoff; see README).",
        schema: optionalText().refine((v) => !v.includes("\0"), "expected a directory path"),
    },

    // --- data tier: every platform ------------------------------------------------------------------------------
    protectData: {
        type: "boolean",
        default: true,
        description:
            "Protect what holds data (StatefulSets, their credentials, backup buckets) so neither a replacement nor pulumi destroy can drop it. Turn off only for throwaway stacks.",
        schema: boolean(),
    },
    backupSchedule: {
        type: "string",
        default: "0 3 * * *",
        description: "Cron schedule of the PostgreSQL backup job (cluster time zone, normally UTC).",
        schema: cron(),
    },
    backupRetentionDays: {
        type: "integer",
        default: 30,
        description: "Days a backup is kept: the bucket's expiry rule on aws and gcp, the backup job's pruning on a backup volume.",
        schema: integer(1, 3650),
    },
    backupVolumeSize: {
        type: "string",
        default: "50Gi",
        platforms: ["onprem"],
        description: "onprem without herd:backupBucket: size of the volume PostgreSQL backups are written to.",
        schema: bytes("a volume size", GiB, "1Gi"),
    },
    postgresStorageSize: {
        type: "string",
        default: "20Gi",
        description: "PostgreSQL data volume size (can grow later, never shrink: see README, Resizing a volume).",
        schema: bytes("a volume size", GiB, "1Gi"),
    },
    postgresMemory: {
        type: "string",
        default: "2Gi",
        description: "PostgreSQL memory request and limit; shared_buffers (25%) and effective_cache_size (75%) derive from it.",
        schema: bytes("a memory size", 256 * MiB, "256Mi"),
    },
    postgresCpu: {
        type: "string",
        default: "500m",
        description: "PostgreSQL CPU request (the limit is twice this).",
        schema: cpu(),
    },
    postgresMaxConnections: {
        type: "integer",
        default: 100,
        description: "PostgreSQL max_connections.",
        schema: integer(10, 5000),
    },
    redisMemory: {
        type: "string",
        default: "512Mi",
        description: "Redis memory request and limit; maxmemory is 75% of it, leaving room for fork-based persistence.",
        schema: bytes("a memory size", 64 * MiB, "64Mi"),
    },
    redisCpu: {
        type: "string",
        default: "250m",
        description: "Redis CPU request (the limit is twice this).",
        schema: cpu(),
    },
    redisStorageSize: {
        type: "string",
        default: "5Gi",
        description: "Redis data volume size (append-only file and snapshots).",
        schema: bytes("a volume size", 256 * MiB, "256Mi"),
    },
    redisEvictionPolicy: {
        type: "string",
        default: "allkeys-lru",
        description: "Redis maxmemory-policy: what Redis evicts when full.",
        schema: oneOf(["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]),
    },
    redisAppendOnly: {
        type: "boolean",
        default: true,
        description: "Redis append-only persistence (fsync every second); false keeps periodic snapshots only.",
        schema: boolean(),
    },
    elasticReplicas: {
        type: "integer",
        default: 3,
        description: "Elasticsearch nodes (each master-eligible and data). 1 is allowed for a small on-prem install; 2 cannot keep a quorum, so use 1 or 3+.",
        schema: integer(1, 15),
    },
    elasticMemory: {
        type: "string",
        default: "2Gi",
        description: "Elasticsearch memory request and limit per node; the JVM heap is half of it.",
        schema: bytes("a memory size", GiB, "1Gi (Elasticsearch needs a 512m heap at least)"),
    },
    elasticCpu: {
        type: "string",
        default: "1",
        description: "Elasticsearch CPU request per node (the limit is twice this).",
        schema: cpu(),
    },
    elasticStorageSize: {
        type: "string",
        default: "30Gi",
        description: "Elasticsearch data volume size per node.",
        schema: bytes("a volume size", GiB, "1Gi"),
    },

    // --- app tier: every platform -------------------------------------------------------------------------------
    apiReplicas: {
        type: "integer",
        default: 2,
        description: "API pods to start with (and the autoscaler's floor: the HPA scales between apiReplicas and apiMaxReplicas).",
        schema: integer(1, 100),
    },
    apiMaxReplicas: {
        type: "integer",
        default: 6,
        description: "Most API pods the autoscaler may run.",
        schema: integer(1, 200),
    },
    apiCpuTargetPercent: {
        type: "integer",
        default: 70,
        description: "Average CPU use, as a percentage of the request, at which the API scales out.",
        schema: integer(10, 100),
    },
    apiCpu: {
        type: "string",
        default: "250m",
        description: "API CPU request per pod (the limit is twice this).",
        schema: cpu(),
    },
    apiMemory: {
        type: "string",
        default: "768Mi",
        description: "API memory request and limit per pod.",
        schema: bytes("a memory size", 128 * MiB, "128Mi"),
    },
    frontendReplicas: {
        type: "integer",
        default: 2,
        description: "Front-end (nginx) pods.",
        schema: integer(1, 100),
    },
    publicHostname: {
        type: "string",
        default: "",
        description:
            "Host name the app is served on (e.g. shop.example.com). Required with an ingress class; with a LoadBalancer, empty means the load balancer's own address.",
        schema: optional(dnsSubdomain("a host name such as shop.example.com")),
    },
    tlsSecretName: {
        type: "string",
        default: "",
        description: "TLS certificate for publicHostname: a kubernetes.io/tls Secret you create in the app namespace.",
        schema: optional(dnsSubdomain("a Secret name")),
    },
    tlsClusterIssuer: {
        type: "string",
        default: "",
        description: "TLS certificate for publicHostname from this cert-manager ClusterIssuer (instead of tlsSecretName).",
        schema: optional(dnsSubdomain("a ClusterIssuer name")),
    },

    // --- aws and gcp: the cluster herd creates ----------------------------------------------------------------
    kubernetesVersion: {
        type: "string",
        default: "1.33",
        platforms: ["aws", "gcp"],
        description: "aws, gcp: Kubernetes minor version of the cluster herd creates (e.g. 1.33).",
        schema: string().regex(KUBERNETES_VERSION, "expected a Kubernetes minor version from 1.28 to 1.39, e.g. 1.33"),
    },
    apiAccessCidrs: {
        type: "array",
        default: [],
        platforms: ["aws", "gcp"],
        description:
            "aws, gcp: CIDR blocks allowed to reach the Kubernetes API (your CI runners, VPN). Empty: the API endpoint is private (reachable only from inside the network).",
        schema: stringArray(cidr()),
    },
    apiAccessFromAnywhere: {
        type: "boolean",
        default: false,
        platforms: ["aws", "gcp"],
        description: "aws, gcp: explicit opt-in required before apiAccessCidrs may contain 0.0.0.0/0.",
        schema: boolean(),
    },
    // --- aws ----------------------------------------------------------------------------------------------------
    awsRegion: {
        type: "string",
        default: "",
        platforms: ["aws"],
        description: "aws: region to create the EKS cluster in (e.g. eu-west-1). Required on aws.",
        schema: optional(string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "expected an AWS region such as eu-west-1")),
    },
    awsZoneCount: {
        type: "integer",
        default: 3,
        platforms: ["aws"],
        description: "aws: availability zones the VPC and nodes span (at least 2).",
        schema: integer(2, 6),
    },
    awsVpcCidr: {
        type: "string",
        default: "10.0.0.0/16",
        platforms: ["aws"],
        description: "aws: CIDR block of the VPC herd creates; split into a public and a private subnet per zone.",
        schema: cidr().refine((v) => Number(v.split("/")[1]) <= 20, "expected a block of /20 or larger (room for 2 subnets in each of up to 6 zones)"),
    },
    awsNatGateways: {
        type: "string",
        default: "perZone",
        platforms: ["aws"],
        description:
            "aws: perZone (a NAT gateway in every zone: a zone outage does not cut the others' egress) or single (one gateway: cheaper, one zone's failure cuts all egress).",
        schema: oneOf(["perZone", "single"]),
    },
    awsNodeInstanceType: {
        type: "string",
        default: "m6i.large",
        platforms: ["aws"],
        description: "aws: EC2 instance type of the managed node group.",
        schema: string().regex(/^[a-z][a-z0-9-]*\.[0-9]*[a-z]+$/, "expected an EC2 instance type such as m6i.large"),
    },
    awsNodeMin: {
        type: "integer",
        default: 3,
        platforms: ["aws"],
        description: "aws: minimum nodes in the managed node group.",
        schema: integer(1, 450),
    },
    awsNodeDesired: {
        type: "integer",
        default: 3,
        platforms: ["aws"],
        description: "aws: nodes the managed node group starts with (between awsNodeMin and awsNodeMax).",
        schema: integer(1, 450),
    },
    awsNodeMax: {
        type: "integer",
        default: 6,
        platforms: ["aws"],
        description: "aws: maximum nodes in the managed node group.",
        schema: integer(1, 450),
    },
    ecrKeepImages: {
        type: "integer",
        default: 30,
        platforms: ["aws"],
        description: "aws: images each ECR repository keeps; older ones are expired by a lifecycle policy.",
        schema: integer(1, 1000),
    },

    // --- gcp ----------------------------------------------------------------------------------------------------
    gcpProject: {
        type: "string",
        default: "",
        platforms: ["gcp"],
        description: "gcp: project ID to create the GKE cluster in. Required on gcp.",
        schema: optional(
            string().regex(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/, "expected a GCP project ID (6-30 lowercase letters, digits, '-')"),
        ),
    },
    gcpRegion: {
        type: "string",
        default: "",
        platforms: ["gcp"],
        description: "gcp: region for the regional GKE cluster (e.g. europe-west1). Required on gcp.",
        schema: optional(string().regex(/^[a-z]+-[a-z]+\d+$/, "expected a GCP region such as europe-west1")),
    },
    gcpReleaseChannel: {
        type: "string",
        default: "REGULAR",
        platforms: ["gcp"],
        description: "gcp: GKE release channel: RAPID, REGULAR, STABLE or EXTENDED.",
        schema: oneOf(["RAPID", "REGULAR", "STABLE", "EXTENDED"]),
    },
    gcpDeletionProtection: {
        type: "boolean",
        default: true,
        platforms: ["gcp"],
        description: "gcp: refuse to delete the GKE cluster (set false, pulumi up, then destroy).",
        schema: boolean(),
    },
    gcpSubnetCidr: {
        type: "string",
        default: "10.10.0.0/20",
        platforms: ["gcp"],
        description: "gcp: primary range of the subnet (nodes).",
        schema: cidr(),
    },
    gcpPodsCidr: {
        type: "string",
        default: "10.20.0.0/14",
        platforms: ["gcp"],
        description: "gcp: secondary range for pods.",
        schema: cidr(),
    },
    gcpServicesCidr: {
        type: "string",
        default: "10.24.0.0/20",
        platforms: ["gcp"],
        description: "gcp: secondary range for Services.",
        schema: cidr(),
    },
    gcpMasterCidr: {
        type: "string",
        default: "172.16.0.0/28",
        platforms: ["gcp"],
        description: "gcp: /28 range for the private control plane's endpoint.",
        schema: cidr().refine((v) => v.endsWith("/28"), "expected a /28 block (GKE requires it)"),
    },
    gcpNodeMachineType: {
        type: "string",
        default: "e2-standard-4",
        platforms: ["gcp"],
        description: "gcp: machine type of the node pool.",
        schema: string().regex(/^[a-z][a-z0-9]*-[a-z0-9-]+$/, "expected a machine type such as e2-standard-4"),
    },
    gcpNodeMinPerZone: {
        type: "integer",
        default: 1,
        platforms: ["gcp"],
        description: "gcp: minimum nodes per zone (the regional pool spans the region's zones).",
        schema: integer(0, 1000),
    },
    gcpNodeMaxPerZone: {
        type: "integer",
        default: 3,
        platforms: ["gcp"],
        description: "gcp: maximum nodes per zone.",
        schema: integer(1, 1000),
    },
} as const satisfies Record<string, KeySpec>;

export type KeyName = keyof typeof KEYS;
export const KEY_NAMES = Object.keys(KEYS) as KeyName[];

/** The `herd:`-qualified name of a key, as users write it. */
export const qualified = (key: string): string => `${NAMESPACE}:${key}`;

// ---------------------------------------------------------------------------------------------------------------
// The typed result.

export interface Registry {
    /** host[:port][/path]; images are `${location}/api` and `${location}/frontend`. */
    readonly location: string;
    /** host[:port]: what `docker login` talks to. */
    readonly server: string;
    readonly username: string;
    readonly password: pulumi.Output<string>;
}

export interface OnpremConfig {
    /** Kubeconfig contents (secret); undefined: the ambient context. */
    readonly kubeconfig: pulumi.Output<string> | undefined;
    readonly kubeContext: string | undefined;
    readonly storage:
        | { readonly mode: "existing"; readonly className: string }
        | {
              readonly mode: "create";
              readonly className: string;
              readonly provisioner: string;
              readonly parameters: Readonly<Record<string, string>>;
          };
    readonly images:
        | { readonly mode: "build"; readonly registry: Registry }
        | { readonly mode: "prebuilt"; readonly api: string; readonly frontend: string };
    readonly ingressClass: string | undefined;
    readonly backup:
        | { readonly mode: "volume" }
        | {
              readonly mode: "s3";
              readonly bucket: string;
              readonly endpoint: string | undefined;
              readonly region: string;
              readonly credentialsSecret: string;
          };
    readonly renderDirectory: string | undefined;
}

/** What both clouds' clusters share. */
export interface ClusterConfig {
    readonly kubernetesVersion: string;
    /** CIDRs that may reach the API endpoint; empty: private endpoint only. */
    readonly apiAccessCidrs: readonly string[];
}

export interface AwsConfig extends ClusterConfig {
    readonly region: string;
    readonly zoneCount: number;
    readonly vpcCidr: string;
    readonly natGateways: "perZone" | "single";
    readonly nodes: { readonly instanceType: string; readonly min: number; readonly desired: number; readonly max: number };
    readonly ecrKeepImages: number;
}

export interface GcpConfig extends ClusterConfig {
    readonly project: string;
    readonly region: string;
    readonly releaseChannel: "RAPID" | "REGULAR" | "STABLE" | "EXTENDED";
    readonly deletionProtection: boolean;
    readonly network: { readonly subnetCidr: string; readonly podsCidr: string; readonly servicesCidr: string; readonly masterCidr: string };
    readonly nodes: { readonly machineType: string; readonly minPerZone: number; readonly maxPerZone: number };
}

/** The data tier's settings, the same on every platform. */
/** The app tier's settings. */
export interface AppConfig {
    readonly api: { readonly replicas: number; readonly maxReplicas: number; readonly cpuTargetPercent: number; readonly cpu: string; readonly memory: string };
    readonly frontend: { readonly replicas: number };
    /** Host name and certificate of the way in; undefined: the load balancer's own address over HTTP. */
    readonly publicHostname: string | undefined;
    readonly tls: { readonly mode: "none" } | { readonly mode: "secret"; readonly secretName: string } | { readonly mode: "issuer"; readonly clusterIssuer: string };
}

export interface DataConfig {
    readonly protect: boolean;
    readonly backup: { readonly schedule: string; readonly retentionDays: number; readonly volumeSize: string };
    readonly postgres: { readonly storageSize: string; readonly memory: string; readonly cpu: string; readonly maxConnections: number };
    readonly redis: {
        readonly storageSize: string;
        readonly memory: string;
        readonly cpu: string;
        readonly evictionPolicy: string;
        readonly appendOnly: boolean;
    };
    readonly elastic: { readonly replicas: number; readonly storageSize: string; readonly memory: string; readonly cpu: string };
}

interface CommonConfig {
    /** The Pulumi stack name. */
    readonly stack: string;
    readonly namespace: string;
    readonly data: DataConfig;
    readonly app: AppConfig;
}

export type HerdConfig = CommonConfig &
    (
        | { readonly platform: "onprem"; readonly onprem: OnpremConfig }
        | { readonly platform: "aws"; readonly aws: AwsConfig }
        | { readonly platform: "gcp"; readonly gcp: GcpConfig }
    );

// ---------------------------------------------------------------------------------------------------------------
// Errors.

export interface ConfigProblem {
    /** Fully qualified key, e.g. `herd:namespace`. */
    readonly key: string;
    readonly message: string;
}

/** Every problem in the stack's configuration, in one error. */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly problems: readonly ConfigProblem[],
        stack: string,
    ) {
        super(
            `Stack '${stack}' has ${problems.length} configuration problem${problems.length === 1 ? "" : "s"}:\n` +
                problems.map((p) => `  - ${p.key}: ${p.message}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** Levenshtein distance, for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
    const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diag = prev[0];
        prev[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const up = prev[j];
            prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
            diag = up;
        }
    }
    return prev[b.length];
}

function suggest(unknown: string): KeyName | undefined {
    const lower = unknown.toLowerCase();
    let best: { key: KeyName; distance: number } | undefined;
    for (const key of KEY_NAMES) {
        const distance = key.toLowerCase() === lower ? 0 : editDistance(lower, key.toLowerCase());
        if (best === undefined || distance < best.distance) {
            best = { key, distance };
        }
    }
    return best !== undefined && best.distance <= Math.max(2, Math.floor(unknown.length / 3)) ? best.key : undefined;
}

const isKeyName = (name: string): name is KeyName => Object.prototype.hasOwnProperty.call(KEYS, name);

/**
 * Namespaces of the providers herd uses (package.json) and Pulumi's own: their keys belong to them, never to herd.
 * Any other namespace is checked for a key herd could have meant.
 */
export const PROVIDER_NAMESPACES: ReadonlySet<string> = new Set(["aws", "gcp", "kubernetes", "random", "tls", "docker", "eks", "pulumi"]);

/** A `herd:` key herd does not read, with the key its did-you-mean names. */
function unknownKey(name: string): { problem: ConfigProblem; meant: KeyName | undefined } {
    const hint = suggest(name);
    const message = `unknown key${hint !== undefined ? `; did you mean ${qualified(hint)}?` : ""} (herd reads only the keys listed in Pulumi.yaml)`;
    return { problem: { key: qualified(name), message }, meant: hint };
}

/**
 * A key outside `herd:` that herd could have meant: its namespace is a near miss of `herd` (`herdd`, `hrd`), or its
 * name is a herd key in a namespace no provider owns (`app:ingressClass`). Returns the problem and the key its
 * did-you-mean names; undefined when the key is someone else's.
 */
function misplacedKey(namespace: string, name: string): { problem: ConfigProblem; meant: KeyName | undefined } | undefined {
    if (PROVIDER_NAMESPACES.has(namespace)) {
        return undefined;
    }
    const nearHerd = editDistance(namespace.toLowerCase(), NAMESPACE) <= 2;
    if (!nearHerd && !isKeyName(name)) {
        return undefined;
    }
    const hint = isKeyName(name) ? name : suggest(name);
    const key = namespace === "" ? name : `${namespace}:${name}`;
    const where =
        namespace === ""
            ? "a key without a namespace"
            : nearHerd
              ? `unknown namespace "${namespace}"`
              : `"${namespace}" is not herd's namespace nor a provider's`;
    const message =
        hint !== undefined
            ? `${where}; did you mean ${qualified(hint)}? (herd reads only herd: keys)`
            : `${where}, and "${name}" is not a herd key either (herd reads only the herd: keys listed in Pulumi.yaml)`;
    return { problem: { key, message }, meant: hint };
}

/**
 * What was given, for a message: strings quoted, numbers and lists as written, truncated, and never the value of
 * a secret.
 */
function describeGiven(value: unknown, secret: boolean): string {
    if (value === undefined) {
        return "nothing";
    }
    if (secret) {
        return "a value (not shown: secret)";
    }
    const shown = JSON.stringify(value);
    return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

/**
 * "<expected>, got <given>". A schema's message says only what was expected; when it already carries a detail of
 * what it found (cron: "..., got 4 fields"), that detail follows the value instead of a second "got".
 */
function withGiven(message: string, given: string): string {
    const m = /^(.*), got (.+)$/s.exec(message);
    return m === null ? `${message}, got ${given}` : `${m[1]}, got ${given} (${m[2]})`;
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing.

export interface RawConfig {
    /** The stack's config values for every namespace, as Pulumi passes them: `{"herd:namespace": "herd", ...}`. */
    readonly values: Readonly<Record<string, string>>;
    /** Fully qualified keys whose values were set with --secret. */
    readonly secretKeys: ReadonlySet<string>;
    readonly stack: string;
}

/**
 * Decodes the raw text of a value for the "got" part of a message: arrays arrive as JSON, and an integer key's
 * number-like text is shown as the number it is (`got 0`, not `got "0"`). Everything else is the string it is.
 */
function decodeForMessage(spec: KeySpec, raw: string): unknown {
    if (spec.type === "array") {
        try {
            return JSON.parse(raw) as unknown;
        } catch {
            return raw;
        }
    }
    if (spec.type === "integer" && /^\s*-?\d+(\.\d+)?\s*$/.test(raw)) {
        return Number(raw);
    }
    return raw;
}

function at(value: unknown, path: readonly PropertyKey[]): unknown {
    let cur = value;
    for (const p of path) {
        if (cur === null || typeof cur !== "object") {
            return undefined;
        }
        cur = (cur as Record<PropertyKey, unknown>)[p];
    }
    return cur;
}

/**
 * Validates raw stack configuration and builds the typed config. Pure: tests call it directly.
 * Throws `ConfigError` with every problem found, each once: a problem is reported where it starts (a misspelled
 * key, a malformed value, a key on the wrong platform), and the rules that span several keys stay silent about a
 * key whose value that problem left unknown (no "required" for a value that was given but malformed, no "needs
 * herd:ingressClass" when herd:ingresClass was written).
 */
export function parseConfig(raw: RawConfig): HerdConfig {
    const problems: ConfigProblem[] = [];
    const given: Partial<Record<KeyName, string>> = {};
    /** Keys a misspelled or misplaced key's did-you-mean names. */
    const meantKeys = new Set<KeyName>();

    for (const [fullKey, value] of Object.entries(raw.values)) {
        const colon = fullKey.indexOf(":");
        const namespace = fullKey.slice(0, Math.max(colon, 0));
        const name = fullKey.slice(colon + 1);
        if (namespace === NAMESPACE && isKeyName(name)) {
            given[name] = value;
            continue;
        }
        // undefined: another namespace's key (aws:, kubernetes:, ...), which belongs to its provider.
        const unknown = namespace === NAMESPACE ? unknownKey(name) : misplacedKey(namespace, name);
        if (unknown !== undefined) {
            problems.push(unknown.problem);
            if (unknown.meant !== undefined) {
                meantKeys.add(unknown.meant);
            }
        }
    }

    /**
     * Keys whose value is not known because a problem above is about them: given but malformed, or the
     * did-you-mean of a misspelled key and not set themselves (the value went to the typo). Rules that read one
     * report nothing: the user fixes the first problem and the rule then sees the real value.
     */
    const unsettled = new Set<KeyName>([...meantKeys].filter((k) => given[k] === undefined));

    // The platform decides which keys apply, so it is read first.
    const platformResult = given.platform === undefined ? undefined : KEYS.platform.schema.safeParse(given.platform);
    const platform = platformResult?.success === true ? (platformResult.data as PlatformName) : undefined;

    // Per-key validation.
    const values: Partial<Record<KeyName, unknown>> = {};
    for (const key of KEY_NAMES) {
        const spec: KeySpec = KEYS[key];
        const secret = spec.secret === true;
        const value = given[key];
        if (platform !== undefined && spec.platforms !== undefined && !spec.platforms.includes(platform) && value !== undefined) {
            // A key only another platform reads must not be set (to a non-default value: the CLI fills declared
            // defaults in). Whether it is well-formed does not matter: the one fix is to remove it.
            if (value !== defaultAsRaw(spec)) {
                problems.push({
                    key: qualified(key),
                    message: `applies only to platform ${spec.platforms.join(", ")}, but this stack's platform is ${platform}: expected it removed, got ${describeGiven(decodeForMessage(spec, value), secret)}`,
                });
                continue;
            }
            // The default, as the CLI fills it in: read like an unset key below.
        }
        const rawValue = value ?? defaultAsRaw(spec);
        if (rawValue === undefined) {
            if (!unsettled.has(key)) {
                // (When a misspelled key holds the value, its did-you-mean is the one problem to report.)
                problems.push({ key: qualified(key), message: `required: ${expectation(spec)}, got nothing` });
            }
            unsettled.add(key);
            continue;
        }
        if (secret && rawValue !== "" && !raw.secretKeys.has(qualified(key))) {
            problems.push({
                key: qualified(key),
                message: `expected a secret value (pulumi config set --secret ${qualified(key)} ...), got a plaintext value`,
            });
            unsettled.add(key);
            continue;
        }
        const structured = structuredKind(rawValue);
        if (spec.type === "string" && spec.acceptsDocument !== true && structured !== undefined) {
            // The CLI hands a mapping or list written in the stack file to the program as JSON text.
            problems.push({ key: qualified(key), message: `expected a string, got a ${structured}: ${describeGiven(JSON.parse(rawValue) as unknown, secret)}` });
            unsettled.add(key);
            continue;
        }
        const result = spec.schema.safeParse(rawValue);
        if (result.success) {
            values[key] = result.data;
            continue;
        }
        const decoded = decodeForMessage(spec, rawValue);
        for (const issue of result.error.issues) {
            const sub = issue.path.length > 0 ? `[${issue.path.map(String).join("][")}]` : "";
            const got = issue.path.length > 0 ? at(decoded, issue.path) : decoded;
            problems.push({
                key: `${qualified(key)}${sub}`,
                message: withGiven(issue.message !== "" ? issue.message : expectation(spec), describeGiven(got, secret)),
            });
        }
        const badItems = new Set(result.error.issues.map((issue) => issue.path[0]));
        if (Array.isArray(decoded) && [...badItems].every((i) => typeof i === "number")) {
            // A list whose only problems are some of its entries: the rest are known, and the rules that span keys
            // still check them (0.0.0.0/0 is reported even while another entry is malformed).
            values[key] = decoded.filter((_, i) => !badItems.has(i));
        } else {
            unsettled.add(key);
        }
    }

    const built = platform === undefined ? undefined : build(platform, values, unsettled, raw, problems);
    if (problems.length > 0 || built === undefined) {
        throw new ConfigError(problems, raw.stack);
    }
    return built;
}

/** "mapping" or "list" when the raw text is a JSON object or array (how the CLI passes structured values). */
function structuredKind(raw: string): "mapping" | "list" | undefined {
    const t = raw.trim();
    if (!(t.startsWith("{") || t.startsWith("["))) {
        return undefined;
    }
    try {
        const v = JSON.parse(t) as unknown;
        return Array.isArray(v) ? "list" : typeof v === "object" && v !== null ? "mapping" : undefined;
    } catch {
        return undefined;
    }
}

function defaultAsRaw(spec: KeySpec): string | undefined {
    if (spec.default === undefined) {
        return undefined;
    }
    return Array.isArray(spec.default) ? JSON.stringify(spec.default) : String(spec.default);
}

function expectation(spec: KeySpec): string {
    if (spec.schema instanceof z.ZodEnum) {
        return `expected one of ${(spec.schema.options as string[]).join(", ")}`;
    }
    return `expected ${spec.type === "array" ? "a list" : `a ${spec.type}`}`;
}

/**
 * Cross-field rules and the typed result for one platform. `v` holds the values that passed validation (a list with
 * malformed entries: its valid ones); `unsettled` the keys whose value a problem already reported left unknown.
 */
function build(
    platform: PlatformName,
    v: Partial<Record<KeyName, unknown>>,
    unsettled: ReadonlySet<KeyName>,
    raw: RawConfig,
    problems: ConfigProblem[],
): HerdConfig | undefined {
    const str = (key: KeyName): string => (typeof v[key] === "string" ? (v[key] as string) : "");
    const num = (key: KeyName): number => (typeof v[key] === "number" ? (v[key] as number) : Number.NaN);
    const set = (key: KeyName): string | undefined => (str(key) === "" ? undefined : str(key));
    /** What the stack gave for a key, as written (a list in full, even when only its valid entries are in `v`). */
    const written = (key: KeyName): string => {
        const spec: KeySpec = KEYS[key];
        const text = raw.values[qualified(key)];
        return describeGiven(text === undefined ? v[key] : decodeForMessage(spec, text), spec.secret === true);
    };
    /**
     * Reports a cross-field problem on `key`; `reads` are the other keys whose values decided it. When any of them
     * is unsettled the rule saw a stand-in ("" or NaN) instead of the user's value, so it says nothing: the problem
     * that left the value unknown is already reported, once.
     */
    const problem = (key: KeyName, message: string, ...reads: KeyName[]) => {
        if (![key, ...reads].some((k) => unsettled.has(k))) {
            problems.push({ key: qualified(key), message });
        }
    };
    if (num("elasticReplicas") === 2) {
        problem("elasticReplicas", "expected 1 (a single node) or 3 or more: with 2 nodes, losing either one stops the cluster; got 2");
    }
    if (num("apiMaxReplicas") < num("apiReplicas")) {
        problem("apiMaxReplicas", `expected at least herd:apiReplicas (${num("apiReplicas")}), got ${num("apiMaxReplicas")}`, "apiReplicas");
    }
    const hostname = set("publicHostname");
    const tlsSecret = set("tlsSecretName");
    const issuer = set("tlsClusterIssuer");
    const certificateKey: KeyName = tlsSecret !== undefined ? "tlsSecretName" : "tlsClusterIssuer";
    if (tlsSecret !== undefined && issuer !== undefined) {
        problem("tlsClusterIssuer", "expected either herd:tlsSecretName or herd:tlsClusterIssuer, not both; got both", "tlsSecretName");
    }
    if (tlsSecret !== undefined || issuer !== undefined) {
        if (platform !== "onprem") {
            problem(
                certificateKey,
                `expected no certificate on platform ${platform}: a certificate needs an Ingress to terminate TLS, and the ${platform} load balancer passes TCP through (only onprem with herd:ingressClass has one); got ${describeGiven(tlsSecret ?? issuer, false)}`,
            );
        } else if (set("ingressClass") === undefined) {
            problem(
                certificateKey,
                `a certificate needs an Ingress to terminate TLS: expected herd:ingressClass set as well, got ${describeGiven(tlsSecret ?? issuer, false)} without an ingress class`,
                "ingressClass",
            );
        }
    }
    // One problem for a missing host name, however many settings need it.
    const ingress = platform === "onprem" ? set("ingressClass") : undefined;
    const needHost: KeyName[] = [
        ...(ingress !== undefined ? (["ingressClass"] as const) : []),
        ...(tlsSecret !== undefined || issuer !== undefined ? [certificateKey] : []),
    ];
    if (hostname === undefined && needHost.length > 0) {
        problem(
            "publicHostname",
            `expected the host name ${ingress !== undefined ? "the Ingress serves" : "the certificate is for"} (required with ${needHost.map(qualified).join(" and ")}), got nothing`,
        );
    }
    const common: CommonConfig = {
        stack: raw.stack,
        namespace: str("namespace"),
        app: {
            api: {
                replicas: num("apiReplicas"),
                maxReplicas: num("apiMaxReplicas"),
                cpuTargetPercent: num("apiCpuTargetPercent"),
                cpu: str("apiCpu"),
                memory: str("apiMemory"),
            },
            frontend: { replicas: num("frontendReplicas") },
            publicHostname: hostname,
            tls:
                tlsSecret !== undefined
                    ? { mode: "secret", secretName: tlsSecret }
                    : issuer !== undefined
                      ? { mode: "issuer", clusterIssuer: issuer }
                      : { mode: "none" },
        },
        data: {
            protect: v.protectData !== false,
            backup: { schedule: str("backupSchedule"), retentionDays: num("backupRetentionDays"), volumeSize: str("backupVolumeSize") },
            postgres: {
                storageSize: str("postgresStorageSize"),
                memory: str("postgresMemory"),
                cpu: str("postgresCpu"),
                maxConnections: num("postgresMaxConnections"),
            },
            redis: {
                storageSize: str("redisStorageSize"),
                memory: str("redisMemory"),
                cpu: str("redisCpu"),
                evictionPolicy: str("redisEvictionPolicy"),
                appendOnly: v.redisAppendOnly !== false,
            },
            elastic: {
                replicas: num("elasticReplicas"),
                storageSize: str("elasticStorageSize"),
                memory: str("elasticMemory"),
                cpu: str("elasticCpu"),
            },
        },
    };

    switch (platform) {
        case "onprem": {
            const secretValue = (key: KeyName) => pulumi.secret(raw.values[qualified(key)] ?? "");

            const className = set("storageClass");
            const provisioner = set("storageProvisioner");
            const parameters = (v.storageParameters as string[] | undefined) ?? [];
            let storage: OnpremConfig["storage"] | undefined;
            if (provisioner !== undefined) {
                storage = {
                    mode: "create",
                    className: className ?? "herd-retain",
                    provisioner,
                    parameters: Object.fromEntries(parameters.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
                };
            } else if (className !== undefined) {
                storage = { mode: "existing", className };
                if (parameters.length > 0) {
                    problem(
                        "storageParameters",
                        `only used with herd:storageProvisioner (herd does not change an existing StorageClass): expected no parameters without a provisioner, got ${written("storageParameters")}`,
                        "storageProvisioner",
                    );
                }
            } else {
                problem(
                    "storageClass",
                    "expected the name of an existing StorageClass, or set herd:storageProvisioner so herd creates one; got neither",
                    "storageProvisioner",
                );
            }

            const location = set("registry");
            const apiImage = set("apiImage");
            const frontendImage = set("frontendImage");
            let images: OnpremConfig["images"] | undefined;
            if (apiImage !== undefined && frontendImage !== undefined) {
                images = { mode: "prebuilt", api: apiImage, frontend: frontendImage };
            } else if (apiImage !== undefined || frontendImage !== undefined) {
                problem(
                    apiImage === undefined ? "apiImage" : "frontendImage",
                    `expected both herd:apiImage and herd:frontendImage (prebuilt images) or neither, got only ${apiImage === undefined ? "herd:frontendImage" : "herd:apiImage"}`,
                    "apiImage",
                    "frontendImage",
                );
            } else if (location !== undefined) {
                const username = str("registryUsername");
                const hasPassword = (raw.values[qualified("registryPassword")] ?? "") !== "";
                if (username === "" && hasPassword) {
                    // (Whether a password was given is known even when it was given in plaintext: no `reads`.)
                    problem("registryUsername", "expected a username to go with herd:registryPassword, got nothing");
                }
                if (username !== "" && !hasPassword) {
                    problem("registryPassword", "expected a password (set with --secret) to go with herd:registryUsername, got nothing", "registryUsername");
                }
                images = {
                    mode: "build",
                    registry: { location, server: location.split("/")[0], username, password: secretValue("registryPassword") },
                };
            } else {
                problem(
                    "registry",
                    "expected a registry to push built images to, or prebuilt images in herd:apiImage and herd:frontendImage; got neither",
                    "apiImage",
                    "frontendImage",
                );
            }

            const bucket = set("backupBucket");
            let backup: OnpremConfig["backup"] = { mode: "volume" };
            if (bucket !== undefined) {
                const credentialsSecret = set("backupCredentialsSecret");
                if (credentialsSecret === undefined) {
                    problem(
                        "backupCredentialsSecret",
                        "expected the name of the Secret holding the backup bucket's credentials (required with herd:backupBucket), got nothing",
                        "backupBucket",
                    );
                }
                backup = {
                    mode: "s3",
                    bucket,
                    endpoint: set("backupEndpoint"),
                    region: str("backupRegion"),
                    credentialsSecret: credentialsSecret ?? "",
                };
            } else {
                for (const key of ["backupEndpoint", "backupCredentialsSecret"] as const) {
                    if (set(key) !== undefined) {
                        problem(key, `only used with herd:backupBucket: expected it unset without a bucket, got ${describeGiven(str(key), false)}`, "backupBucket");
                    }
                }
            }

            const kubeconfigRaw = raw.values[qualified("kubeconfig")] ?? "";
            if (set("renderDirectory") !== undefined) {
                // Rendering talks to no cluster; pulumi-kubernetes refuses a cluster setting beside it.
                if (kubeconfigRaw !== "") {
                    problem("kubeconfig", "not used with herd:renderDirectory (rendering talks to no cluster): expected it unset, got a value (not shown: secret)", "renderDirectory");
                }
                if (set("kubeContext") !== undefined) {
                    problem("kubeContext", `not used with herd:renderDirectory (rendering talks to no cluster): expected it unset, got ${describeGiven(str("kubeContext"), false)}`, "renderDirectory");
                }
            }
            if (storage === undefined || images === undefined || problems.length > 0) {
                return undefined;
            }
            return {
                ...common,
                platform,
                onprem: {
                    kubeconfig: kubeconfigRaw === "" ? undefined : pulumi.secret(kubeconfigRaw),
                    kubeContext: set("kubeContext"),
                    storage,
                    images,
                    ingressClass: set("ingressClass"),
                    backup,
                    renderDirectory: set("renderDirectory"),
                },
            };
        }
        case "aws": {
            const region = set("awsRegion");
            if (region === undefined) {
                problem("awsRegion", "required on platform aws: expected an AWS region such as eu-west-1, got nothing");
            }
            const nodes = { instanceType: str("awsNodeInstanceType"), min: num("awsNodeMin"), desired: num("awsNodeDesired"), max: num("awsNodeMax") };
            if (nodes.min > nodes.max) {
                problem("awsNodeMin", `expected at most herd:awsNodeMax (${nodes.max}), got ${nodes.min}`, "awsNodeMax");
            } else if (nodes.desired < nodes.min || nodes.desired > nodes.max) {
                problem(
                    "awsNodeDesired",
                    `expected a count from herd:awsNodeMin (${nodes.min}) to herd:awsNodeMax (${nodes.max}), got ${nodes.desired}`,
                    "awsNodeMin",
                    "awsNodeMax",
                );
            }
            const cluster = clusterConfig();
            if (region === undefined || cluster === undefined) {
                return undefined;
            }
            return {
                ...common,
                platform,
                aws: {
                    ...cluster,
                    region,
                    zoneCount: num("awsZoneCount"),
                    vpcCidr: str("awsVpcCidr"),
                    natGateways: str("awsNatGateways") as AwsConfig["natGateways"],
                    nodes,
                    ecrKeepImages: num("ecrKeepImages"),
                },
            };
        }
        case "gcp": {
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
            const cluster = clusterConfig();
            if (project === undefined || region === undefined || cluster === undefined) {
                return undefined;
            }
            return {
                ...common,
                platform,
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
    }

    /** The settings both clouds' clusters share, with the API-exposure rule. */
    function clusterConfig(): ClusterConfig | undefined {
        // The entries that are valid CIDRs, even when another entry is malformed (that one is reported on its own).
        const cidrs = (v.apiAccessCidrs as string[] | undefined) ?? [];
        const open = cidrs.filter((c) => c.endsWith("/0"));
        if (open.length > 0 && v.apiAccessFromAnywhere !== true) {
            problem(
                "apiAccessCidrs",
                `expected the CIDRs that may reach the Kubernetes API; ${open.join(", ")} opens it to the whole internet, which needs herd:apiAccessFromAnywhere set to true; got ${written("apiAccessCidrs")}`,
                "apiAccessFromAnywhere",
            );
            return undefined;
        }
        return { kubernetesVersion: str("kubernetesVersion"), apiAccessCidrs: cidrs };
    }
}

/** Whether two valid IPv4 CIDR blocks share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
    const range = (c: string): [number, number] => {
        const [ip, bits] = c.split("/");
        const start = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
        return [start, start + 2 ** (32 - Number(bits)) - 1];
    };
    const [a0, a1] = range(a);
    const [b0, b1] = range(b);
    return a0 <= b1 && b0 <= a1;
}

/**
 * Reads this stack's configuration from the Pulumi runtime and validates it. The only reader of stack config.
 */
export function loadConfig(): HerdConfig {
    // `isConfigSecret` is exported by the runtime module but missing from its type declarations; fall back to the
    // environment variable the CLI sets (a JSON array of secret keys) if a future SDK drops it.
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    const values = pulumi.runtime.allConfig();
    const secretKeys = new Set<string>();
    const fromEnv = process.env["PULUMI_CONFIG_SECRET_KEYS"];
    for (const key of Object.keys(values)) {
        if (runtime.isConfigSecret?.(key) === true) {
            secretKeys.add(key);
        }
    }
    if (runtime.isConfigSecret === undefined && fromEnv !== undefined) {
        for (const key of JSON.parse(fromEnv) as string[]) {
            secretKeys.add(key);
        }
    }
    return parseConfig({ values, secretKeys, stack: pulumi.getStack() });
}
