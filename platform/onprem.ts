/**
 * onprem: an existing cluster the customer runs. herd creates no cluster; it takes a kubeconfig (or the ambient
 * context), a StorageClass (given, or created from a provisioner), a registry (or prebuilt images), and optionally
 * renders every object to YAML instead of applying it.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import type { HerdConfig, OnpremConfig } from "../config";
import { recommendedLabels } from "../lib/labels";
import { endpointPort, objectStoreEgress, s3Uploader } from "./s3-uploader";
import { type Exposure, type ExposureSources, type IdentityBinding, type ImageSource, K8S_PROVIDER_SETTINGS, type Platform, type RepositoryAccess, type RepositoryPurpose } from "./contract";
import { repositoryPrefix, volumeRepository } from "./repository";

export type OnpremStackConfig = HerdConfig & { platform: "onprem" };
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/**
 * The private IPv4 ranges (RFC 1918): where an ingress controller's pods run in a cluster herd does not know the
 * pod network of, so nginx trusts X-Forwarded-For from them behind an Ingress (herd:trustedProxyCidrs narrows it).
 */
export const PRIVATE_NETWORK_CIDRS: readonly string[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/** Behind an Ingress, the front end is reached from the controller's pods only: their namespace, by its name label. */
export function ingressControllerSources(namespace: string): ExposureSources {
    return [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } }];
}

/**
 * Behind a LoadBalancer Service (MetalLB, kube-vip; externalTrafficPolicy Local keeps the client's address), clients
 * outside the cluster: every IPv4 address. herd does not know a customer cluster's pod range, so none is excepted;
 * CNIs that match ipBlocks against outside addresses only (Cilium) keep pods out, others (Calico) let pods in too.
 */
export const LOAD_BALANCER_SOURCES: ExposureSources = [{ ipBlock: { cidr: "0.0.0.0/0" } }];

/** The StorageClass herd creates on a given provisioner: data survives its claim, volumes can grow, and binding
 * waits for the pod so the volume lands in the pod's zone. */
export function retainStorageClassArgs(storage: Extract<OnpremConfig["storage"], { mode: "create" }>): k8s.storage.v1.StorageClassArgs {
    return {
        metadata: {
            name: storage.className,
            labels: recommendedLabels({ name: "storage", instance: storage.className, component: "storage-class" }),
        },
        provisioner: storage.provisioner,
        parameters: { ...storage.parameters },
        reclaimPolicy: "Retain",
        allowVolumeExpansion: true,
        volumeBindingMode: "WaitForFirstConsumer",
    };
}

/** Where Secrets are rendered when manifests are: a sibling of the bundle, named so nobody ships it by accident. */
export function secretsRenderDirectory(renderDirectory: string): string {
    return `${renderDirectory.replace(/\/+$/, "")}.secrets`;
}

export class OnpremPlatform extends pulumi.ComponentResource {
    /** What components receive: the contract, built once the pieces exist. */
    readonly platform: Platform;

    constructor(name: string, cfg: OnpremStackConfig, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:OnpremPlatform", name, {}, opts);
        const onprem = cfg.onprem;

        // undefined: the ambient context (KUBECONFIG or ~/.kube/config), exactly as kubectl would use it. When
        // rendering, "": the SDK would otherwise fill in the KUBECONFIG of whoever runs `pulumi up`, which the
        // provider refuses beside renderYamlToDirectory (found by the e2e run).
        const kubeconfig = onprem.renderDirectory === undefined ? onprem.kubeconfig : "";
        const provider = new k8s.Provider(
            `${name}-k8s`,
            {
                kubeconfig,
                context: onprem.kubeContext,
                renderYamlToDirectory: onprem.renderDirectory,
                ...K8S_PROVIDER_SETTINGS,
            },
            { parent: this },
        );

        // Pulumi renders Secret values in plaintext. When rendering, Secrets go to their own directory beside the
        // bundle, `<renderDirectory>.secrets`, so the manifests a customer is handed hold no secret value.
        const secretsProvider =
            onprem.renderDirectory === undefined
                ? provider
                : new k8s.Provider(
                      `${name}-k8s-secrets`,
                      {
                          kubeconfig,
                          context: onprem.kubeContext,
                          renderYamlToDirectory: secretsRenderDirectory(onprem.renderDirectory),
                          ...K8S_PROVIDER_SETTINGS,
                      },
                      { parent: this },
                  );

        const storageClassName =
            onprem.storage.mode === "create"
                ? new k8s.storage.v1.StorageClass(`${name}-storage`, retainStorageClassArgs(onprem.storage), { parent: this, provider }).metadata.name
                : pulumi.output(onprem.storage.className);

        const images: ImageSource =
            onprem.images.mode === "prebuilt"
                ? { kind: "prebuilt", api: onprem.images.api, frontend: onprem.images.frontend, postgres: onprem.images.postgres }
                : {
                      kind: "build",
                      registry: {
                          server: onprem.images.registry.server,
                          username: onprem.images.registry.username,
                          password: onprem.images.registry.password,
                      },
                      repositories: {
                          api: `${onprem.images.registry.location}/api`,
                          frontend: `${onprem.images.registry.location}/frontend`,
                          postgres: `${onprem.images.registry.location}/postgres`,
                      },
                  };

        const exposure: Exposure =
            onprem.ingressClass !== undefined
                ? {
                      kind: "ingress",
                      className: onprem.ingressClass,
                      annotations: {},
                      trustedProxies: PRIVATE_NETWORK_CIDRS,
                      sources: ingressControllerSources(onprem.ingressControllerNamespace),
                  }
                : { kind: "loadBalancer", annotations: {}, reportsAddressAs: "ip", sources: LOAD_BALANCER_SOURCES };

        const backup = onprem.backup;
        const openEgress = backup.mode === "s3" ? onpremStoreEgress(backup).openBecause : undefined;
        if (openEgress !== undefined) {
            void pulumi.log.warn(openEgress, this);
        }
        this.platform = {
            name: "onprem",
            provider,
            secretsProvider,
            storageClassName,
            images,
            exposure,
            backupStore:
                backup.mode === "s3"
                    ? { kind: "objectStore", uploader: s3Uploader(backup.bucket, backup.region, backup.endpoint, onpremStoreEgress(backup).egress) }
                    : { kind: "volume", storageClassName },
            workloadIdentity: { bind: () => onpremBackupIdentity(backup) },
            repository: (purpose) => onpremRepository(purpose, backup, storageClassName, onprem.repositoryStorageClass),
            outputs: {
                platform: "onprem",
                kubeContext: onprem.kubeContext ?? "(ambient)",
                storageClass: storageClassName,
                images: onprem.images.mode === "prebuilt" ? "prebuilt" : onprem.images.registry.location,
                exposure: exposure.kind === "ingress" ? `ingress (${exposure.className})` : "loadBalancer",
                backups: backup.mode === "s3" ? `s3://${backup.bucket}` : "volume",
                renderDirectory: onprem.renderDirectory ?? "",
                secretsRenderDirectory: onprem.renderDirectory === undefined ? "" : secretsRenderDirectory(onprem.renderDirectory),
            },
        };
        this.registerOutputs({ storageClassName });
    }
}

/** On a customer's cluster there is no cloud identity: a backup job reads the bucket's keys from the Secret the
 * customer created (named in config), and only through secretKeyRef. Region and endpoint are the uploader's. */
export function onpremBackupIdentity(backup: OnpremConfig["backup"]): IdentityBinding {
    if (backup.mode === "volume") {
        return { serviceAccountAnnotations: {}, env: [] };
    }
    const fromSecret = (key: string): k8s.types.input.core.v1.EnvVar => ({
        name: key,
        valueFrom: { secretKeyRef: { name: backup.credentialsSecret, key } },
    });
    return {
        serviceAccountAnnotations: {},
        env: [
            fromSecret("AWS_ACCESS_KEY_ID"),
            fromSecret("AWS_SECRET_ACCESS_KEY"),
        ],
    };
}

/**
 * Where a tool keeps its repository on a customer's cluster: with herd:backupBucket, under `<purpose>/` in that
 * S3-compatible bucket with the customer's keys (which must allow deleting there: the tool's retention deletes);
 * without, on a volume: herd:repositoryStorageClass (ReadWriteMany) when set, else the data StorageClass
 * (ReadWriteOnce, which only one pod can mount). No cloud identity: the binding adds nothing.
 */
export function onpremRepository(
    purpose: RepositoryPurpose,
    backup: OnpremConfig["backup"],
    dataClassName: pulumi.Input<string>,
    repositoryStorageClass: string | undefined,
): RepositoryAccess {
    const identity = { bind: (): IdentityBinding => ({ serviceAccountAnnotations: {}, env: [] }) };
    if (backup.mode === "volume") {
        return { store: volumeRepository(dataClassName, repositoryStorageClass), identity };
    }
    return {
        store: {
            kind: "s3",
            bucket: backup.bucket,
            region: backup.region,
            prefix: repositoryPrefix(purpose),
            ...(backup.endpoint !== undefined ? { endpoint: backup.endpoint } : {}),
            credentialsSecret: backup.credentialsSecret,
            egress: onpremStoreEgress(backup).egress,
        },
        identity,
    };
}

/**
 * Where backup, pgBackRest and snapshot pods may connect to reach the S3-compatible store: its port, on the
 * addresses herd:backupEndpointCidrs lists, else the endpoint's own address when it is an IP literal (a /32 or
 * /128). For a host name without CIDRs herd cannot know the addresses (a NetworkPolicy takes no names): any address
 * on that port, and `openBecause` says so for a preview warning.
 */
export function onpremStoreEgress(backup: Extract<OnpremConfig["backup"], { mode: "s3" }>): {
    readonly egress: EgressRule[];
    readonly openBecause?: string;
} {
    const port = endpointPort(backup.endpoint);
    if (backup.endpointCidrs.length > 0) {
        return { egress: objectStoreEgress(port, backup.endpointCidrs.map((cidr) => ({ ipBlock: { cidr } }))) };
    }
    const host = backup.endpoint === undefined ? `s3.${backup.region}.amazonaws.com` : new URL(backup.endpoint).hostname;
    const literal = ipLiteralBlock(host);
    if (literal !== undefined) {
        return { egress: objectStoreEgress(port, [{ ipBlock: { cidr: literal } }]) };
    }
    return {
        egress: objectStoreEgress(port),
        openBecause: `herd: backup, pgBackRest and snapshot pods may connect to ANY address on port ${port}: the backup store is named by host (${host}), and a NetworkPolicy takes addresses only. Set herd:backupEndpointCidrs to the store's address blocks to narrow it.`,
    };
}

/** A host that is an IP literal, as a one-address block (IPv4 /32, IPv6 /128); undefined for a name. */
export function ipLiteralBlock(host: string): string | undefined {
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) && host.split(".").every((o) => Number(o) <= 255)) {
        return `${host}/32`;
    }
    // URL keeps IPv6 literals in brackets.
    if (/^\[[0-9a-fA-F:.]+\]$/.test(host)) {
        return `${host.slice(1, -1)}/128`;
    }
    return undefined;
}

/** The onprem platform, built like the other two (platform/index.ts picks one). */
export function createOnpremPlatform(cfg: OnpremStackConfig): Platform {
    return new OnpremPlatform("onprem", cfg).platform;
}
