/**
 * Storage for data volumes: herd's StorageClass on GKE's PD CSI driver (pd-balanced, Retain, expandable,
 * WaitForFirstConsumer), made the cluster's only default class.
 */
import * as k8s from "../../lib/k8s";
import type * as pulumi from "@pulumi/pulumi";
import { recommendedLabels } from "../../lib/labels";

/** The class herd creates for data volumes, and the class GKE ships as the cluster default. */
export const GKE_STORAGE_CLASS_NAME = "herd-pd-balanced";
export const GKE_DEFAULT_STORAGE_CLASS = "standard-rwo";
export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";

/** herd's StorageClass on GKE: pd-balanced through the PD CSI driver, Retain, expandable, bound where the pod lands,
 * and the cluster's default (GKE's own default is switched off beside it: see createStorage). */
export function gkeStorageClassArgs(): k8s.storage.v1.StorageClassArgs {
    return {
        metadata: {
            name: GKE_STORAGE_CLASS_NAME,
            labels: recommendedLabels({ name: "storage", instance: GKE_STORAGE_CLASS_NAME, component: "storage-class" }),
            annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" },
        },
        provisioner: "pd.csi.storage.gke.io",
        parameters: { type: "pd-balanced" },
        reclaimPolicy: "Retain",
        allowVolumeExpansion: true,
        volumeBindingMode: "WaitForFirstConsumer",
    };
}

/**
 * herd's StorageClass, and exactly one default class: herd's. GKE creates standard-rwo as the default and never
 * reconciles it back (its addon manager only ensures the object exists), so herd switches its default flag off, once
 * herd's own class is in place. `patchForce` takes the annotation over from GKE's field manager.
 */
export function createStorage(name: string, provider: k8s.Provider, parent: pulumi.Resource): k8s.storage.v1.StorageClass {
    const storageClass = new k8s.storage.v1.StorageClass(`${name}-storage`, gkeStorageClassArgs(), { parent, provider });
    new k8s.storage.v1.StorageClassPatch(
        `${name}-gke-default-storage`,
        {
            metadata: {
                name: GKE_DEFAULT_STORAGE_CLASS,
                annotations: { [DEFAULT_CLASS_ANNOTATION]: "false", "pulumi.com/patchForce": "true" },
            },
        },
        { parent, provider, dependsOn: [storageClass] },
    );
    return storageClass;
}
