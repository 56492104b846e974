/**
 * The typed result of reading a stack's configuration (`HerdConfig`, one variant per platform) and the raw input
 * the parser reads it from.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { WaitMinutes } from "../lib/waits";
import type { MaintenanceExclusion, MaintenanceWindow } from "./gcp-maintenance";

export interface RegistryConfig {
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
        | { readonly mode: "build"; readonly registry: RegistryConfig }
        | {
              readonly mode: "prebuilt";
              readonly api: string;
              readonly frontend: string;
              /** The herd PostgreSQL image (images/postgres), prebuilt like the other two. */
              readonly postgres: string;
          };
    readonly ingressClass: string | undefined;
    /** herd:ingressControllerNamespace: with an ingress class, the only namespace whose pods may reach the front end. */
    readonly ingressControllerNamespace: string;
    readonly backup:
        | { readonly mode: "volume" }
        | {
              readonly mode: "s3";
              readonly bucket: string;
              readonly endpoint: string | undefined;
              readonly region: string;
              readonly credentialsSecret: string;
              /** herd:backupEndpointCidrs: the store's addresses; empty: the endpoint's IP literal, or any address. */
              readonly endpointCidrs: readonly string[];
          };
    readonly renderDirectory: string | undefined;
    /** A ReadWriteMany StorageClass for repositories on a volume (no backup bucket); undefined: the data class, RWO. */
    readonly repositoryStorageClass: string | undefined;
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
    readonly nodes: {
        readonly instanceType: string;
        readonly min: number;
        readonly desired: number;
        readonly max: number;
        /** Root volume of each node, GiB (gp3, encrypted). */
        readonly diskGiB: number;
        /** updateConfig.maxUnavailablePercentage of the node group. */
        readonly maxUnavailablePercent: number;
        /** Who changes the node count between min and max: the cluster autoscaler, or nobody. */
        readonly autoscaling: "cluster-autoscaler" | "off";
    };
    /** The EKS upgrade policy's support type. */
    readonly supportType: "STANDARD" | "EXTENDED";
    /** Days CloudWatch keeps the control-plane logs (one of CLOUDWATCH_RETENTION_DAYS). */
    readonly controlPlaneLogRetentionDays: number;
    /** IAM principals given cluster-admin through EKS access entries (besides the cluster's creator). */
    readonly adminPrincipalArns: readonly string[];
    readonly ecrKeepImages: number;
    /** HTTPS at the NLB for publicHostname; undefined: no publicHostname, plain HTTP on the NLB's own name. */
    readonly https: AwsHttpsConfig | undefined;
    /** herd:imageRegistryMirror again (present only when set), for the images in Helm releases' values (no pod template the program's transform sees). */
    readonly imageRegistryMirror?: string;
}

/** aws HTTPS: the host and where its ACM certificate comes from. */
export interface AwsHttpsConfig {
    readonly hostname: string;
    readonly certificate:
        | { readonly mode: "dns"; readonly hostedZoneId: string }
        | { readonly mode: "arn"; readonly arn: string };
}

/** gcp HTTPS: the host (a Google-managed certificate) and the Cloud DNS zone to write its record in. */
export interface GcpHttpsConfig {
    readonly hostname: string;
    /** Cloud DNS managed zone; undefined: the user points the host at the static IP. */
    readonly dnsZone: string | undefined;
}

export interface GcpConfig extends ClusterConfig {
    readonly project: string;
    readonly region: string;
    readonly releaseChannel: "RAPID" | "REGULAR" | "STABLE" | "EXTENDED";
    readonly deletionProtection: boolean;
    readonly network: { readonly subnetCidr: string; readonly podsCidr: string; readonly servicesCidr: string; readonly masterCidr: string };
    readonly nodes: { readonly machineType: string; readonly minPerZone: number; readonly maxPerZone: number };
    /** When GKE may upgrade on its own: the weekly window (no days: any time) and the exclusions. */
    readonly maintenance: { readonly window: MaintenanceWindow; readonly exclusions: readonly MaintenanceExclusion[] };
    /** Artifact Registry cleanup: versions kept per image, and days an untagged version (beyond those) stays. */
    readonly registry: { readonly keepImages: number; readonly untaggedDays: number };
    /** Data volumes on regional persistent disks (two zones) instead of zonal ones. */
    readonly regionalDisks: boolean;
    /** HTTPS through a GKE Ingress for publicHostname; undefined: no publicHostname, plain HTTP on a LoadBalancer. */
    readonly https: GcpHttpsConfig | undefined;
}

/** The app tier's settings. */
export interface AppConfig {
    readonly api: { readonly replicas: number; readonly maxReplicas: number; readonly cpuTargetPercent: number; readonly cpu: string; readonly memory: string };
    readonly frontend: { readonly replicas: number };
    /** Host name and certificate of the way in; undefined: the load balancer's own address over HTTP. */
    readonly publicHostname: string | undefined;
    readonly tls: { readonly mode: "none" } | { readonly mode: "secret"; readonly secretName: string } | { readonly mode: "issuer"; readonly clusterIssuer: string };
    /** Strict-Transport-Security max-age (herd:hstsMaxAgeSeconds), sent only over HTTPS; 0: no header. */
    readonly hstsMaxAgeSeconds: number;
    /** Sign-in to the API (herd:adminUsername, herd:apiSessionHours, herd:apiReadsRequireSignIn); the password is generated. */
    readonly auth: { readonly adminUsername: string; readonly sessionHours: number; readonly readsRequireSignIn: boolean };
    /** nginx's limits per client address (herd:apiRateLimitPerSecond, herd:apiRateLimitBurst, herd:loginRateLimitPerMinute). */
    readonly rateLimits: { readonly apiPerSecond: number; readonly apiBurst: number; readonly loginPerMinute: number };
    /** herd:trustedProxyCidrs: undefined: the platform's exposure decides; [] ([none] in the stack): trust no proxy. */
    readonly trustedProxyCidrs: readonly string[] | undefined;
}

/** Prometheus metrics and herd's alert rules (README "### Metrics", "### Alerts"). */
export interface MonitoringConfig {
    /** herd:metrics: the API's metrics port, the exporters and the alert rules; false: none of them. */
    readonly enabled: boolean;
    /** herd:prometheusOperator: PodMonitors and a PrometheusRule; false: scrape annotations and a rules ConfigMap. */
    readonly prometheusOperator: boolean;
    /** herd:monitoringNamespace: the namespace whose pods may scrape the metrics ports. */
    readonly namespace: string;
    readonly alerts: { readonly api5xxPercent: number; readonly apiLatencyP95Ms: number; readonly runbookUrl: string };
}

/** The data tier's settings, the same on every platform. */
export interface DataConfig {
    readonly protect: boolean;
    readonly backup: {
        readonly schedule: string;
        readonly retentionDays: number;
        readonly volumeSize: string;
        /** The dump job's scratch space before upload; undefined: the data volume's size. */
        readonly scratchSize: string | undefined;
    };
    readonly postgres: {
        readonly storageSize: string;
        readonly memory: string;
        readonly cpu: string;
        readonly maxConnections: number;
        /** Continuous WAL archiving and pgBackRest's backups (the repository: Platform.repository("pgbackrest")). */
        readonly archive: {
            /** archive_timeout, seconds. */
            readonly timeoutSeconds: number;
            readonly fullBackupSchedule: string;
            readonly diffBackupSchedule: string;
            /** repo1-retention-full. */
            readonly fullBackupsKept: number;
            /** The repository volume's size, when the platform's repository is a volume (onprem without a bucket). */
            readonly volumeSize: string;
        };
    };
    readonly redis: {
        readonly storageSize: string;
        readonly memory: string;
        readonly cpu: string;
        readonly evictionPolicy: string;
        readonly appendOnly: boolean;
    };
    readonly elastic: {
        readonly replicas: number;
        readonly storageSize: string;
        readonly memory: string;
        readonly cpu: string;
        /** Snapshots to Platform.repository("elasticsearch"); undefined: off. */
        readonly snapshots: ElasticSnapshotsConfig | undefined;
    };
}

/** herd:elasticSnapshot* (ElasticCluster's `snapshots` settings). */
export interface ElasticSnapshotsConfig {
    readonly intervalMinutes: number;
    readonly retentionDays: number;
    readonly minCount: number;
    readonly maxCount: number;
    /** The repository volume's size, when the platform's repository is a volume (onprem without a bucket). */
    readonly volumeSize: string;
    /**
     * Set when the stack asked for snapshots but its repository cannot hold them (onprem: a ReadWriteOnce volume and
     * several nodes): why, for `pulumi up` to warn with. Snapshots are then not configured.
     */
    readonly unavailable?: string;
}

/** What every platform's config holds (config/index.ts does not export it: a `HerdConfig` always has its platform). */
export interface CommonConfig {
    /** The Pulumi stack name. */
    readonly stack: string;
    readonly namespace: string;
    readonly data: DataConfig;
    readonly app: AppConfig;
    /** How long `pulumi up` waits for each kind of thing to become ready (lib/waits.ts sizes each resource's). */
    readonly waits: WaitMinutes;
    /** herd:imageRegistryMirror, host[:port][/path]: where every image is pulled from instead; undefined: off. */
    readonly imageRegistryMirror: string | undefined;
    readonly monitoring: MonitoringConfig;
    /** The cluster's DNS pods, the one place every herd pod may send DNS queries (herd:dnsNamespace, dnsPodLabels, dnsPort). */
    readonly clusterDns: ClusterDnsConfig;
}

/** Where the cluster's DNS pods are: the namespace-wide DNS NetworkPolicy's peer and port. */
export interface ClusterDnsConfig {
    readonly namespace: string;
    readonly podLabels: Readonly<Record<string, string>>;
    /** The pods' own port (UDP and TCP). */
    readonly port: number;
}

export type HerdConfig = CommonConfig &
    (
        | { readonly platform: "onprem"; readonly onprem: OnpremConfig }
        | { readonly platform: "aws"; readonly aws: AwsConfig }
        | { readonly platform: "gcp"; readonly gcp: GcpConfig }
    );

export interface RawConfig {
    /** The stack's config values for every namespace, as Pulumi passes them: `{"herd:namespace": "herd", ...}`. */
    readonly values: Readonly<Record<string, string>>;
    /** Fully qualified keys whose values were set with --secret. */
    readonly secretKeys: ReadonlySet<string>;
    readonly stack: string;
}
