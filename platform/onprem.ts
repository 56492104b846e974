/**
 * onprem: an existing cluster the customer runs. herd creates no cluster; it takes a kubeconfig (or the ambient
 * context), a StorageClass (given, or created from a provisioner), a registry (or prebuilt images), and optionally
 * renders every object to YAML instead of applying it.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import type { HerdConfig, OnpremConfig } from "../config";
import { recommendedLabels } from "../lib/labels";
import { endpointPort, s3Uploader } from "./s3-uploader";
import type { Exposure, IdentityBinding, ImageSource, Platform, RepositoryAccess, RepositoryPurpose } from "./contract";
import { repositoryPrefix, volumeRepository } from "./repository";

export type OnpremStackConfig = HerdConfig & { platform: "onprem" };

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
                enableServerSideApply: true,
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
                          enableServerSideApply: true,
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
                ? { kind: "ingress", className: onprem.ingressClass, annotations: {} }
                : { kind: "loadBalancer", annotations: {}, reportsAddressAs: "ip" };

        const backup = onprem.backup;
        this.platform = {
            name: "onprem",
            provider,
            secretsProvider,
            storageClassName,
            images,
            exposure,
            backupStore:
                backup.mode === "s3"
                    ? { kind: "objectStore", uploader: s3Uploader(backup.bucket, backup.region, backup.endpoint) }
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
            egress: [{ ports: [{ protocol: "TCP", port: endpointPort(backup.endpoint) }] }],
        },
        identity,
    };
}

/** The onprem platform, built like the other two (platform/index.ts picks one). */
export function createOnpremPlatform(cfg: OnpremStackConfig): Platform {
    return new OnpremPlatform("onprem", cfg).platform;
}
