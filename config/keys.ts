/**
 * Every `herd:` key, declared once: its Pulumi.yaml type, its default, its description and the zod schema that
 * validates it. Pulumi.yaml declares the same keys; `tests/config-schema.test.ts` proves the two agree.
 *
 * This file is longer than the others on purpose: `KEYS` is one declaration, a table with one entry per key, and
 * splitting it would scatter the order Pulumi.yaml and the README's reference follow.
 */
import type { z } from "zod";
import { GiB, MiB } from "../lib/quantity";
import type { WaitMinutes } from "../lib/waits";
import { MAX_WINDOW_HOURS, MIN_WINDOW_HOURS, parseExclusion, START_TIME, WEEKDAYS } from "./gcp-maintenance";
import {
    boolean,
    bytes,
    cidr,
    cidrProblem,
    cpu,
    cron,
    dnsLabel,
    dnsSubdomain,
    integer,
    keyValue,
    kubeconfigDocument,
    KUBERNETES_VERSION,
    oneOf,
    optional,
    optionalText,
    pinnedImage,
    provisionerName,
    registryLocation,
    string,
    stringArray,
    text,
} from "./schemas";

export const NAMESPACE = "herd";
export const PLATFORMS: ["aws", "gcp", "onprem"] = ["aws", "gcp", "onprem"];
export type PlatformName = (typeof PLATFORMS)[number];

/** Snapshot intervals that divide an hour or a day evenly (a cron step would otherwise drift at each boundary). */
export const SNAPSHOT_INTERVALS: readonly number[] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440];

/** The retention periods CloudWatch Logs accepts, in days (0, never expire, is not offered). */
export const CLOUDWATCH_RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** An IAM role or user ARN in any partition (paths allowed), as EKS access entries take them. */
export const IAM_PRINCIPAL_ARN = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** herd:trustedProxyCidrs's word for "trust no proxy", as the list's only entry (an empty list is the platform's default). */
export const NO_TRUSTED_PROXY = "none";

/** A list of IPv4 CIDR blocks, or exactly [none]. */
const trustedProxyList = stringArray(
    string().superRefine((v, ctx) => {
        const problem = v === NO_TRUSTED_PROXY ? undefined : cidrProblem(v);
        if (problem !== undefined) {
            ctx.addIssue({ code: "custom", message: `${problem}, or ${NO_TRUSTED_PROXY} alone to trust no proxy` });
        }
    }),
).superRefine((list, ctx) => {
    if (list.includes(NO_TRUSTED_PROXY) && list.length > 1) {
        ctx.addIssue({ code: "custom", message: `expected either CIDR blocks or ${NO_TRUSTED_PROXY} alone (trust no proxy), not both` });
    }
});

/** A Kubernetes label key (optional DNS-subdomain prefix and '/') and value, as key=value. */
const LABEL_PAIR = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?=([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** herd:dnsPodLabels: at least one label=value (none would select every pod of the DNS namespace). */
const dnsPodLabelList = stringArray(
    string().regex(LABEL_PAIR, "expected a Kubernetes label as key=value, e.g. k8s-app=kube-dns"),
).refine((list) => list.length > 0, "expected at least one label=value (none would let DNS queries go to every pod of dnsNamespace)");

/** herd:backupEndpointCidrs: the store's IPv4 blocks (a /0 would be no narrowing at all). */
const endpointCidrList = stringArray(
    string().superRefine((v, ctx) => {
        const problem = cidrProblem(v) ?? (v.endsWith("/0") ? "expected the store's own addresses, not every address (/0)" : undefined);
        if (problem !== undefined) {
            ctx.addIssue({ code: "custom", message: problem });
        }
    }),
);

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
    dnsNamespace: {
        type: "string",
        default: "kube-system",
        description:
            "The namespace the cluster's DNS pods run in: the one place herd's pods may send DNS queries (herd's namespace is default-deny: the rest stays closed). OpenShift: openshift-dns.",
        schema: dnsLabel("a namespace name"),
    },
    dnsPodLabels: {
        type: "array",
        default: ["k8s-app=kube-dns"],
        description:
            "Labels (key=value) of the cluster's DNS pods in dnsNamespace; all must match. OpenShift: [dns.operator.openshift.io/daemonset-dns=default].",
        schema: dnsPodLabelList,
    },
    dnsPort: {
        type: "integer",
        default: 53,
        description:
            "The port the DNS pods themselves listen on (UDP and TCP; the pod's port, not the kube-dns Service's, is what the cluster checks). OpenShift: 5353.",
        schema: integer(1, 65535),
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
    postgresImage: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description:
            "onprem: prebuilt herd PostgreSQL image (images/postgres: PostgreSQL with pgBackRest), pinned by tag or digest. Required with apiImage and frontendImage (such stacks build nothing); with a registry herd builds it.",
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
    ingressControllerNamespace: {
        type: "string",
        default: "ingress-nginx",
        platforms: ["onprem"],
        description:
            "onprem with ingressClass: the namespace the ingress controller's pods run in, the only pods that may reach the front end.",
        schema: dnsLabel("a namespace name"),
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
        description: "onprem: https:// endpoint URL of the S3-compatible store (e.g. https://minio.example.com; pgBackRest speaks TLS only). Empty: AWS S3.",
        schema: optional(string().regex(/^https?:\/\/[^\s/?#]+[^\s]*$/, "expected an http(s) URL")),
    },
    backupEndpointCidrs: {
        type: "array",
        default: [],
        platforms: ["onprem"],
        description:
            "onprem with backupBucket: the IPv4 blocks the object store answers on (e.g. [192.0.2.10/32]), the only addresses backup, pgBackRest and snapshot pods may reach on its port. Empty: the endpoint's address when it is an IP literal; for a host name, any address on that port (a preview warns).",
        schema: endpointCidrList,
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
    repositoryStorageClass: {
        type: "string",
        default: "",
        platforms: ["onprem"],
        description:
            "onprem without herd:backupBucket: a ReadWriteMany StorageClass (NFS, CephFS, Longhorn RWX) for the pgBackRest and Elasticsearch snapshot repositories, which several pods mount. Empty: the data StorageClass, ReadWriteOnce (Elasticsearch snapshots then need elasticReplicas 1).",
        schema: optional(dnsSubdomain("a StorageClass name")),
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
    backupScratchSize: {
        type: "string",
        default: "",
        platforms: ["aws", "gcp", "onprem"],
        description:
            "Scratch space of the PostgreSQL dump job before it uploads to the bucket (an emptyDir on the node). Empty: herd:postgresStorageSize. Raise it when you grow the data volume by hand; the job refuses to start a dump that cannot fit.",
        schema: optional(bytes("a scratch size", GiB, "1Gi")),
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
    postgresArchiveTimeoutSeconds: {
        type: "integer",
        default: 60,
        description:
            "PostgreSQL archive_timeout: at most this many seconds of committed writes are not yet in the WAL archive (the recovery point after losing the volume).",
        schema: integer(1, 3600),
    },
    postgresFullBackupSchedule: {
        type: "string",
        default: "0 2 * * 0",
        description: "Cron schedule of pgBackRest's full backup (cluster time zone, normally UTC).",
        schema: cron(),
    },
    postgresDiffBackupSchedule: {
        type: "string",
        default: "0 2 * * 1-6",
        description: "Cron schedule of pgBackRest's differential backup (changes since the last full one).",
        schema: cron(),
    },
    postgresFullBackupsKept: {
        type: "integer",
        default: 4,
        description:
            "Full pgBackRest backups kept, with the differential backups and WAL that go with them: how far back a point-in-time restore can go (4 weekly fulls: about 4 weeks).",
        schema: integer(1, 1000),
    },
    postgresArchiveVolumeSize: {
        type: "string",
        default: "50Gi",
        platforms: ["onprem"],
        description: "onprem without herd:backupBucket: size of the volume that holds pgBackRest's WAL archive and backups.",
        schema: bytes("a volume size", GiB, "1Gi"),
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
    elasticSnapshots: {
        type: "boolean",
        default: true,
        description:
            "Elasticsearch snapshots to the platform's backup store on a schedule (a snapshot repository and lifecycle policy). onprem without backupBucket or repositoryStorageClass: only with elasticReplicas 1; with more nodes they stay off and pulumi up warns (see README, Backup repositories).",
        schema: boolean(),
    },
    elasticSnapshotIntervalMinutes: {
        type: "integer",
        default: 30,
        description: "Minutes between Elasticsearch snapshots: a divisor of an hour (1-60) or whole hours dividing a day (120-1440).",
        schema: integer(1, 1440).refine(
            (m) => SNAPSHOT_INTERVALS.includes(m),
            "expected minutes that divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60) or whole hours that divide a day (120, 180, 240, 360, 480, 720, 1440)",
        ),
    },
    elasticSnapshotRetentionDays: {
        type: "integer",
        default: 7,
        description: "Days an Elasticsearch snapshot is kept (elasticSnapshotMinCount are kept however old).",
        schema: integer(1, 3650),
    },
    elasticSnapshotMinCount: {
        type: "integer",
        default: 5,
        description: "Elasticsearch snapshots always kept, however old.",
        schema: integer(1, 10000),
    },
    elasticSnapshotMaxCount: {
        type: "integer",
        default: 500,
        description: "Elasticsearch snapshots kept at most (7 days every 30 minutes is 336); at least elasticSnapshotMinCount.",
        schema: integer(1, 10000),
    },
    elasticSnapshotVolumeSize: {
        type: "string",
        default: "20Gi",
        platforms: ["onprem"],
        description: "onprem without herd:backupBucket: size of the volume Elasticsearch snapshots are written to.",
        schema: bytes("a volume size", GiB, "1Gi"),
    },

    // --- waits: how long `pulumi up` waits for each thing to become ready -----------------------------------------
    waitDataMinutes: {
        type: "integer",
        default: 15,
        description: "Minutes a data server (PostgreSQL, Redis, Elasticsearch) may take to become ready: volume, image pull, start-up.",
        schema: integer(1, 240),
    },
    waitMigrationMinutes: {
        type: "integer",
        default: 10,
        description: "Minutes the database migration may run once PostgreSQL accepts connections (the Job's deadline adds waitDataMinutes).",
        schema: integer(1, 240),
    },
    waitAppMinutes: {
        type: "integer",
        default: 10,
        description: "Minutes a rollout of the API or the front end may take once its image and the migration are done.",
        schema: integer(1, 240),
    },
    waitImagesMinutes: {
        type: "integer",
        default: 20,
        description: "Minutes building and pushing an image may take (stacks that build images).",
        schema: integer(1, 240),
    },
    waitIngressMinutes: {
        type: "integer",
        default: 15,
        description: "Minutes the ingress controller or the cloud's load balancer may take to publish an address.",
        schema: integer(1, 240),
    },
    waitClusterMinutes: {
        type: "integer",
        default: 40,
        description: "Minutes the EKS/GKE control plane, a node group or a cluster add-on may take to come up.",
        platforms: ["aws", "gcp"],
        schema: integer(5, 240),
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
            "Host name the app is served on (e.g. shop.example.com). Required with an ingress class. On aws and gcp it turns HTTPS on (a certificate herd has the cloud manage; aws also needs awsHostedZoneId or awsCertificateArn); empty: the load balancer's own address over plain HTTP.",
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
    hstsMaxAgeSeconds: {
        type: "integer",
        default: 31536000,
        description:
            "Strict-Transport-Security max-age in seconds: how long browsers keep to HTTPS once they have seen the site over it. Sent only when the app is served over HTTPS (aws or gcp with publicHostname, onprem with a certificate). 0: no HSTS header.",
        schema: integer(0, 63072000),
    },
    adminUsername: {
        type: "string",
        default: "admin",
        description:
            "The API's admin user name: the one login that may add and delete items. Its password is generated (app.adminPassword, a secret stack output: pulumi stack output --show-secrets app).",
        // No ':' (HTTP Basic splits user and password at the first one), no spaces.
        schema: string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, "expected a user name of 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"),
    },
    apiSessionHours: {
        type: "integer",
        default: 12,
        description: "How long a sign-in lasts, in hours (the session cookie's Max-Age).",
        schema: integer(1, 168),
    },
    apiReadsRequireSignIn: {
        type: "boolean",
        default: false,
        description: "true: reading items needs sign-in too. false: anyone who reaches the site may read; adding and deleting always need sign-in.",
        schema: boolean(),
    },
    apiRateLimitPerSecond: {
        type: "integer",
        default: 20,
        description: "Requests per second nginx lets each client address make to /api (beyond the burst, answered 429 with Retry-After).",
        schema: integer(1, 10000),
    },
    apiRateLimitBurst: {
        type: "integer",
        default: 40,
        description: "Requests a client may make to /api above apiRateLimitPerSecond before nginx answers 429 (a page load's parallel requests).",
        schema: integer(0, 100000),
    },
    loginRateLimitPerMinute: {
        type: "integer",
        default: 10,
        description: "Sign-in attempts (POST /api/auth/login) per minute nginx lets each client address make: the brake on password guessing.",
        schema: integer(1, 1000),
    },
    trustedProxyCidrs: {
        type: "array",
        default: [],
        description:
            "Addresses of the proxies in front of nginx whose X-Forwarded-For names the client, for rate limits per client (e.g. 10.0.0.0/8). Empty: the platform's (aws and gcp load balancers: none, they keep the client's address; gcp Ingress: Google's front ends and the Ingress's address; onprem Ingress: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16). [none]: trust no proxy.",
        schema: trustedProxyList,
    },

    // --- metrics and alerts: every platform ---------------------------------------------------------------------
    metrics: {
        type: "boolean",
        default: true,
        description:
            "Prometheus metrics: the API's on port 9102, and an exporter beside PostgreSQL (9187), Redis (9121) and Elasticsearch (9114), each reachable only from monitoringNamespace; plus herd's alert rules. false: none of these.",
        schema: boolean(),
    },
    prometheusOperator: {
        type: "boolean",
        default: false,
        description:
            "The cluster runs the Prometheus Operator (kube-prometheus-stack): herd creates PodMonitors and a PrometheusRule. false: pods carry prometheus.io/scrape, port and path annotations and the rules are a plain rules file in the ConfigMap herd-alerts.",
        schema: boolean(),
    },
    monitoringNamespace: {
        type: "string",
        default: "monitoring",
        description: "The namespace Prometheus runs in: the only one whose pods may reach the metrics ports.",
        schema: dnsLabel("a namespace name"),
    },
    alertApi5xxPercent: {
        type: "integer",
        default: 5,
        description: "HerdApiErrors fires when more than this percentage of the API's requests (probes not counted) are answered with a 5xx for 10 minutes.",
        schema: integer(1, 100),
    },
    alertApiLatencyMs: {
        type: "integer",
        default: 1000,
        description: "HerdApiSlow fires when the API's 95th percentile request duration (probes not counted) stays above this many milliseconds for 10 minutes.",
        schema: integer(10, 30000),
    },
    alertRunbookUrl: {
        type: "string",
        default: "README.md",
        description:
            "Where operators read herd's README (e.g. https://git.example.com/ops/herd/-/blob/main/README.md): each alert's runbook_url is this plus #<alert name in lower case>, its entry under Alerts.",
        schema: string().regex(/^\S+$/, "expected a URL or path without spaces"),
    },
    imageRegistryMirror: {
        type: "string",
        default: "",
        description:
            "Air-gapped installs: the registry every image herd deploys is pulled from instead, as host[:port][/path] (e.g. registry.customer.internal:5000/mirror). An image becomes <mirror>/<its path without its registry host>, tag and digest kept (docker.io/library/postgres:16.9-bookworm -> <mirror>/library/postgres:16.9-bookworm; postgres:16 is docker.io/library/postgres:16); images on the mirror's host or in the registry herd pushes its builds to stay as they are. `npm run images` lists them and writes the copy script. Empty: each image comes from its own registry.",
        schema: optional(registryLocation),
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
        description:
            "aws: nodes the managed node group starts with (between awsNodeMin and awsNodeMax); with awsNodeAutoscaling the autoscaler owns the count afterwards.",
        schema: integer(1, 450),
    },
    awsNodeMax: {
        type: "integer",
        default: 6,
        platforms: ["aws"],
        description: "aws: maximum nodes in the managed node group (with awsNodeAutoscaling, the autoscaler adds nodes up to this).",
        schema: integer(1, 450),
    },
    awsNodeDiskGiB: {
        type: "integer",
        default: 50,
        platforms: ["aws"],
        description: "aws: root volume of each node in GiB (gp3, encrypted): the images, logs and emptyDir scratch of the pods on it.",
        schema: integer(20, 16384),
    },
    awsNodeMaxUnavailablePercent: {
        type: "integer",
        default: 33,
        platforms: ["aws"],
        description:
            "aws: percentage of the node group replaced at a time when its nodes are updated (Kubernetes upgrade, new AMI, launch template change); at least one node.",
        schema: integer(1, 100),
    },
    awsNodeAutoscaling: {
        type: "string",
        default: "cluster-autoscaler",
        platforms: ["aws"],
        description:
            "aws: cluster-autoscaler (adds nodes up to awsNodeMax when pods cannot be scheduled, removes idle ones down to awsNodeMin) or off (the node group keeps awsNodeDesired nodes).",
        schema: oneOf(["cluster-autoscaler", "off"]),
    },
    awsUpgradeSupportType: {
        type: "string",
        default: "STANDARD",
        platforms: ["aws"],
        description:
            "aws: EKS support policy: STANDARD (at the end of standard support EKS upgrades the control plane itself) or EXTENDED (up to 12 more months on the old version, billed extra per cluster hour).",
        schema: oneOf(["STANDARD", "EXTENDED"]),
    },
    awsControlPlaneLogRetentionDays: {
        type: "integer",
        default: 90,
        platforms: ["aws"],
        description: "aws: days CloudWatch keeps the EKS control-plane logs (api, audit, authenticator): a CloudWatch retention period.",
        schema: string()
            .regex(/^\s*\d+\s*$/, "expected a whole number")
            .transform(Number)
            .refine((days) => CLOUDWATCH_RETENTION_DAYS.includes(days), `expected a CloudWatch retention period: one of ${CLOUDWATCH_RETENTION_DAYS.join(", ")}`),
    },
    awsAdminPrincipalArns: {
        type: "array",
        default: [],
        platforms: ["aws"],
        description:
            "aws: IAM role and user ARNs given cluster-admin on EKS through access entries (AmazonEKSClusterAdminPolicy, cluster scope), besides whoever creates the cluster.",
        schema: stringArray(
            string().regex(
                IAM_PRINCIPAL_ARN,
                "expected an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admins (not an assumed-role session or a group)",
            ),
        ),
    },
    ecrKeepImages: {
        type: "integer",
        default: 30,
        platforms: ["aws"],
        description: "aws: images each ECR repository keeps; older ones are expired by a lifecycle policy.",
        schema: integer(1, 1000),
    },
    awsHostedZoneId: {
        type: "string",
        default: "",
        platforms: ["aws"],
        description:
            "aws: ID of the Route 53 public hosted zone of publicHostname (e.g. Z0123456789ABCDEFGHIJ): herd requests an ACM certificate for the host, validates it by DNS in this zone and points the host at the load balancer. Or use awsCertificateArn.",
        schema: optional(string().regex(/^Z[A-Z0-9]{1,31}$/, "expected a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ (Z and upper-case letters or digits)")),
    },
    awsCertificateArn: {
        type: "string",
        default: "",
        platforms: ["aws"],
        description:
            "aws: ARN of an issued ACM certificate for publicHostname, in the stack's region (instead of awsHostedZoneId); herd then writes no DNS record: point the host at the load balancer yourself.",
        schema: optional(
            string().regex(
                /^arn:aws(-[a-z]+)*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
                "expected an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>",
            ),
        ),
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
    gcpMaintenanceStart: {
        type: "string",
        default: "00:00",
        platforms: ["gcp"],
        description: "gcp: start of GKE's weekly maintenance window, HH:MM in UTC (automatic upgrades happen only inside the window).",
        schema: string().regex(START_TIME, "expected a time of day HH:MM in UTC, such as 00:00 or 22:30"),
    },
    gcpMaintenanceHours: {
        type: "integer",
        default: 8,
        platforms: ["gcp"],
        description: `gcp: length of each maintenance window in hours (${MIN_WINDOW_HOURS}-${MAX_WINDOW_HOURS}: GKE counts only stretches of at least ${MIN_WINDOW_HOURS} h); with gcpMaintenanceDays it must give at least 48 h in any 32 days.`,
        schema: integer(MIN_WINDOW_HOURS, MAX_WINDOW_HOURS),
    },
    gcpMaintenanceDays: {
        type: "array",
        default: ["SA", "SU"],
        platforms: ["gcp"],
        description: "gcp: days (UTC) the maintenance window starts on: MO TU WE TH FR SA SU. Empty: no window (GKE maintains at any time).",
        schema: stringArray(oneOf([...WEEKDAYS])),
    },
    gcpMaintenanceExclusions: {
        type: "array",
        default: [],
        platforms: ["gcp"],
        description:
            'gcp: times GKE must not upgrade, each "name,start,end,scope" (times in UTC, e.g. "black-friday,2025-11-27T00:00:00Z,2025-12-02T00:00:00Z,NO_UPGRADES"); scope NO_UPGRADES (at most 30 days, at most 3), NO_MINOR_UPGRADES or NO_MINOR_OR_NODE_UPGRADES.',
        schema: stringArray(
            string().superRefine((v, ctx) => {
                const parsed = parseExclusion(v);
                if ("problem" in parsed) {
                    ctx.addIssue({ code: "custom", message: parsed.problem });
                }
            }),
        ),
    },
    gcpRegistryKeepImages: {
        type: "integer",
        default: 30,
        platforms: ["gcp"],
        description: "gcp: versions of each image herd's Artifact Registry repository keeps; older ones are deleted by its cleanup policy.",
        schema: integer(1, 1000),
    },
    gcpRegistryUntaggedDays: {
        type: "integer",
        default: 7,
        platforms: ["gcp"],
        description: "gcp: days an untagged image version stays in herd's Artifact Registry repository (unless among the newest kept).",
        schema: integer(1, 365),
    },
    gcpRegionalDisks: {
        type: "boolean",
        default: true,
        platforms: ["gcp"],
        description:
            "gcp: data volumes are regional persistent disks, replicated in two zones, so a data pod can restart in the other zone (twice the disk cost); false: zonal disks, a pod stays in its volume's zone.",
        schema: boolean(),
    },
    gcpDnsZone: {
        type: "string",
        default: "",
        platforms: ["gcp"],
        description:
            "gcp: name of the Cloud DNS managed zone of publicHostname (in gcpProject): herd writes the host's A record to the load balancer's static IP. Empty: point the host at the IP in the stack outputs yourself.",
        schema: optional(string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, "expected a Cloud DNS managed zone name (1-63 lower-case letters, digits, '-', starting with a letter)")),
    },
} as const satisfies Record<string, KeySpec>;

export type KeyName = keyof typeof KEYS;
export const KEY_NAMES = Object.keys(KEYS) as KeyName[];

/** The `herd:`-qualified name of a key, as users write it. */
export const qualified = (key: string): string => `${NAMESPACE}:${key}`;

/**
 * A key's default as a string or a number, for a component's own default: one value, declared once in KEYS, used by
 * Pulumi.yaml (generated and tested), the README table and every component that takes the setting as an argument.
 */
export function stringDefault(key: KeyName): string {
    const value = (KEYS[key] as KeySpec).default;
    if (typeof value !== "string") {
        throw new Error(`herd:${key} has no string default (this is a herd bug)`);
    }
    return value;
}

export function numberDefault(key: KeyName): number {
    const value = (KEYS[key] as KeySpec).default;
    if (typeof value !== "number") {
        throw new Error(`herd:${key} has no number default (this is a herd bug)`);
    }
    return value;
}

/** The wait budgets, each read with `read` (a stack's values, or the defaults: `waitBudgets(numberDefault)`). */
export function waitBudgets(read: (key: KeyName) => number): WaitMinutes {
    return {
        data: read("waitDataMinutes"),
        migration: read("waitMigrationMinutes"),
        app: read("waitAppMinutes"),
        images: read("waitImagesMinutes"),
        ingress: read("waitIngressMinutes"),
        cluster: read("waitClusterMinutes"),
    };
}
