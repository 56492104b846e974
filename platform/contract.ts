/**
 * The Platform contract: everything that differs between clouds, behind one interface (types only; the
 * implementations in aws/, gcp/ and onprem import this file, and platform/index.ts picks one).
 *
 * `createPlatform(cfg)` returns the Kubernetes provider every workload uses plus the capabilities components need
 * (storage class, where images come from, how traffic gets in, where backups go and how a backup job gets
 * permission to write there). Components never ask which cloud they run on; they receive these as plain args.
 */
import type * as k8s from "../lib/k8s";
import type * as pulumi from "@pulumi/pulumi";
import type { HerdConfig } from "../config";

/** Credentials @pulumi/docker uses to push. */
export interface RegistryAccess {
    /** host[:port] that `docker login` talks to. */
    readonly server: pulumi.Input<string>;
    readonly username: pulumi.Input<string>;
    /** Always a secret Output. */
    readonly password: pulumi.Input<string>;
}

/** Where herd's images come from: the api and frontend, and the herd PostgreSQL image (images/postgres, pgBackRest). */
export type ImageSource =
    | {
          /** Build images/ and push them to the platform's registry; deploy by digest. */
          readonly kind: "build";
          readonly registry: RegistryAccess;
          /** Full repository names (no tag), e.g. `123.dkr.ecr.eu-west-1.amazonaws.com/herd-api`. */
          readonly repositories: { readonly api: pulumi.Input<string>; readonly frontend: pulumi.Input<string>; readonly postgres: pulumi.Input<string> };
      }
    | {
          /** Prebuilt, pinned references (onprem): nothing is built. */
          readonly kind: "prebuilt";
          readonly api: string;
          readonly frontend: string;
          /** The herd PostgreSQL image (herd:postgresImage). */
          readonly postgres: string;
      };

/** What the front end hands a platform's `companions` hook: where the objects beside its Ingress go. */
export interface ExposureCompanionArgs {
    /** The front end's name: the Ingress's and Service's `metadata.name`, and the prefix of child resource names. */
    readonly name: string;
    /** The app namespace (an Output of the Namespace resource, so the objects wait for it). */
    readonly namespace: pulumi.Input<string>;
    readonly labels: Readonly<Record<string, string>>;
    /** The front end: the objects' parent, from which they take its Kubernetes provider. */
    readonly parent: pulumi.Resource;
}

/**
 * Who may open connections to nginx's ports (the front end's NetworkPolicy ingress `from`): the ingress controller's
 * namespace, a cloud's front ends and health checkers by address, or outside the cluster (0.0.0.0/0 except the pod
 * ranges). Undefined: no source is named (anyone, in or outside the cluster, may connect).
 */
export type ExposureSources = readonly k8s.types.input.networking.v1.NetworkPolicyPeer[];

/** How traffic from outside reaches the front end. */
export type Exposure =
    | {
          readonly kind: "ingress";
          /** Who reaches nginx: the controller's pods or the cloud's proxies. @default anyone (no source named) */
          readonly sources?: ExposureSources;
          /** `spec.ingressClassName`; undefined: the controller is chosen by an annotation (GKE's reads only that). */
          readonly className: string | undefined;
          readonly annotations: Readonly<Record<string, pulumi.Input<string>>>;
          /** Annotations of the Service behind the Ingress (container-native load balancing, ...). @default none */
          readonly serviceAnnotations?: Readonly<Record<string, string>>;
          /**
           * CIDR blocks of the proxies requests pass through on their way to nginx, each appending the address it
           * received the request from to X-Forwarded-For: the controller's pods, a cloud's front ends and the
           * address it appends. nginx trusts X-Forwarded-For from these only (TRUSTED_PROXY_CIDRS), so rate limits
           * count per client. A load balancer keeps the client's address (externalTrafficPolicy Local): none there.
           * @default none
           */
          readonly trustedProxies?: readonly pulumi.Input<string>[];
          /**
           * The platform's load balancer ends HTTPS for `hostname` with a certificate the cloud manages, and redirects
           * plain HTTP itself; the Ingress then has no `spec.tls`. `companions` creates the objects in the app
           * namespace that the Ingress must name (a managed certificate, a front-end config) and returns the Ingress
           * annotations that name them. Undefined: TLS, if any, is the front end's (`spec.tls` from its settings).
           */
          readonly https?: {
              readonly hostname: string;
              readonly companions: (args: ExposureCompanionArgs) => Readonly<Record<string, pulumi.Input<string>>>;
          };
      }
    | {
          readonly kind: "loadBalancer";
          /** Who reaches nginx: clients outside the cluster, by address. @default anyone (no source named) */
          readonly sources?: ExposureSources;
          readonly annotations: Readonly<Record<string, pulumi.Input<string>>>;
          /** Which field of `status.loadBalancer.ingress[0]` carries the address on this platform. */
          readonly reportsAddressAs: "ip" | "hostname";
          /**
           * The load balancer ends TLS for `hostname` on port 443 (its annotations carry the certificate) and sends
           * the plain stream to nginx's app port; its port 80 goes to nginx's redirect port, which answers 308 to
           * https. `publish` is handed the load balancer's reported address once the Service has one (a DNS record
           * for the host). Undefined: port 80 to the app, plain HTTP.
           */
          readonly https?: {
              readonly hostname: string;
              readonly publish?: (address: pulumi.Output<string>) => void;
          };
      };

/**
 * How finished dumps leave the cluster for an object store: the container a backup job runs after its dump, as data,
 * so a component builds it without knowing which store it is.
 */
export interface BackupUploader {
    /** The image with the store's client, pinned. */
    readonly image: string;
    /**
     * A script for `/bin/sh -c` that uploads every finished dump, the files `/backup/*.dump` (mounted read-only), to
     * `$BUCKET` under the key prefix `$PREFIX` (both set by the component, with `HOME=/tmp`, the only writable place,
     * and the identity binding's env). It lists or prunes too where the store has no expiry of its own.
     */
    readonly script: string;
    /** The bucket the script writes to, handed to it as `$BUCKET`. */
    readonly bucket: pulumi.Input<string>;
    /** Further env the script needs (region, endpoint, client settings); nothing the identity binding also sets. */
    readonly env: readonly k8s.types.input.core.v1.EnvVar[];
    /** Egress the upload needs beyond DNS: the store's endpoint, a metadata server that hands out tokens, ... */
    readonly egress: readonly k8s.types.input.networking.v1.NetworkPolicyEgressRule[];
}

/** Where backups are written. */
export type BackupStore =
    | {
          /** An object store: dumps are written to a scratch volume and uploaded (the store's lifecycle expires them). */
          readonly kind: "objectStore";
          readonly uploader: BackupUploader;
      }
    | {
          /** No object store: backups go to a PersistentVolume in the cluster, and the job prunes them. */
          readonly kind: "volume";
          readonly storageClassName: pulumi.Input<string>;
      };

/** What a backup job's ServiceAccount and pods need to be allowed to write to the backup store. */
export interface IdentityBinding {
    /** Annotations for the Kubernetes ServiceAccount (IRSA role ARN, GKE service account, ...). */
    readonly serviceAccountAnnotations: Readonly<Record<string, pulumi.Input<string>>>;
    /** Extra env for the job's containers; credentials only ever through `secretKeyRef`. */
    readonly env: readonly k8s.types.input.core.v1.EnvVar[];
}

/** The workload-identity hook: grants one Kubernetes ServiceAccount write access to the backup store. */
export interface WorkloadIdentity {
    bind(args: {
        /** Logical name for any cloud resources the grant needs. */
        readonly name: string;
        /** The ServiceAccount's namespace (an Output of the Namespace resource, so the grant waits for it). */
        readonly namespace: pulumi.Input<string>;
        readonly serviceAccountName: string;
        readonly parent: pulumi.Resource;
    }): IdentityBinding;
}

type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/**
 * A store in which a data component keeps a repository that its own tool manages (pgBackRest's WAL archive and
 * backups, Elasticsearch snapshots): the tool reads, writes, overwrites and deletes under its prefix, and the store
 * has NO expiry rule there (the tool's own retention applies; an expiry rule would delete files the repository still
 * refers to, and corrupt it).
 */
export type RepositoryStore =
    | {
          readonly kind: "s3";
          readonly bucket: pulumi.Input<string>;
          readonly region: string;
          /** Key prefix, no leading slash, ending in "/": `<purpose>/` (components append `<namespace>/<name>/`). */
          readonly prefix: string;
          /** S3-compatible endpoint URL (onprem); undefined: AWS S3. */
          readonly endpoint?: string;
          /** Web identity (IRSA on aws): the audience of the projected token; undefined: no token. */
          readonly webIdentityAudience?: string;
          /** onprem: Secret (app namespace) with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; undefined: web identity. */
          readonly credentialsSecret?: string;
          /** Egress the tool needs to reach the store (and its token service), beyond DNS. */
          readonly egress: readonly EgressRule[];
      }
    | {
          readonly kind: "gcs";
          readonly bucket: pulumi.Input<string>;
          /** Object name prefix, ending in "/": `<purpose>/` (components append `<namespace>/<name>/`). */
          readonly prefix: string;
          /** Egress to the GCS API and the metadata server that hands out Workload Identity tokens. */
          readonly egress: readonly EgressRule[];
      }
    | {
          /** No object store: a volume in the cluster, mounted by the component's pods. */
          readonly kind: "volume";
          readonly storageClassName: pulumi.Input<string>;
          /** ReadWriteMany when the configured class offers it (several pods mount it), else ReadWriteOnce. */
          readonly accessMode: "ReadWriteOnce" | "ReadWriteMany";
      };

/** The tools that keep a repository in the platform's store; each gets its own prefix and its own grant. */
export type RepositoryPurpose = "pgbackrest" | "elasticsearch";

/** Where one tool keeps its repository, and how its pods get the right to. */
export interface RepositoryAccess {
    readonly store: RepositoryStore;
    /**
     * Grants a ServiceAccount read/write/delete under store.prefix (an IRSA role, a GCP service account with a prefix
     * condition); on a volume or with keys, a binding with no annotations.
     */
    readonly identity: WorkloadIdentity;
}

/**
 * What every platform hands components. Each implementation builds it as one object (its ComponentResource's
 * `platform` field), and `createPlatform(cfg)` returns that object.
 */
export interface Platform {
    readonly name: HerdConfig["platform"];
    /** The provider every Kubernetes workload is created with. */
    readonly provider: k8s.Provider;
    /**
     * The provider for Kubernetes Secrets: the same as `provider`, except when onprem renders manifests to a
     * directory, where Secrets are rendered to a separate, clearly marked directory kept out of the handoff bundle.
     */
    readonly secretsProvider: k8s.Provider;
    /** StorageClass for every data volume: Retain, expandable, WaitForFirstConsumer. */
    readonly storageClassName: pulumi.Output<string>;
    readonly images: ImageSource;
    readonly exposure: Exposure;
    readonly backupStore: BackupStore;
    readonly workloadIdentity: WorkloadIdentity;
    /**
     * Where the component for `purpose` keeps its repository (every platform offers one: a bucket prefix with its
     * own grant, or a volume on onprem without a bucket).
     */
    repository(purpose: RepositoryPurpose): RepositoryAccess;
    /** Stack outputs that describe the platform (cluster, registry, bucket, ...). Secrets stay secret Outputs. */
    readonly outputs: Readonly<Record<string, pulumi.Input<unknown>>>;
}

/**
 * How every Kubernetes provider herd creates is set up, on every platform:
 * - server-side apply;
 * - ConfigMaps and Secrets updated in place when their data changes, not replaced. A replaced one has a fixed name,
 *   so it is deleted first, and the engine then asks every resource that took a value from it (as its old state
 *   records, even after the program stops doing so) whether it must be replaced too: for a protected StatefulSet
 *   that is a refused `pulumi up`. `npm run e2e:preview` found this on the upgrade to issue 17 (a changed
 *   elasticsearch.yml, then the StatefulSet `elastic`). The servers' pod templates carry checksums of what they read
 *   at start (herd.dev/*, checksum/config), so a change still rolls them.
 */
export const K8S_PROVIDER_SETTINGS = { enableServerSideApply: true, enableConfigMapMutable: true, enableSecretMutable: true } as const;
