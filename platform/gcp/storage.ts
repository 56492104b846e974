/**
 * Storage for data volumes: herd's StorageClass on GKE's PD CSI driver (pd-balanced, Retain, expandable,
 * WaitForFirstConsumer; regional persistent disks unless herd:gcpRegionalDisks is false), made the cluster's only
 * default class.
 */
import * as k8s from "../../lib/k8s";
import type * as pulumi from "@pulumi/pulumi";
import { KEYS } from "../../config";
import { recommendedLabels } from "../../lib/labels";

/** The class herd creates for data volumes, and the class GKE ships as the cluster default. */
export const GKE_STORAGE_CLASS_NAME = "herd-pd-balanced";
export const GKE_DEFAULT_STORAGE_CLASS = "standard-rwo";
export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
/** The PD CSI driver's parameter that makes a disk regional: replicated synchronously in two zones of the region. */
export const REGIONAL_PD = "regional-pd";

/**
 * herd's StorageClass on GKE: pd-balanced through the PD CSI driver, Retain, expandable, bound where the pod lands,
 * and the cluster's default (GKE's own default is switched off beside it: see createStorage).
 *
 * Regional (`replication-type: regional-pd`): herd's cluster and node pool are regional, so the scheduler may put a
 * data pod in any zone; a zonal disk pins that pod to its disk's zone for good (a zone outage, or a full zone on a
 * drain, leaves it Pending), while a regional disk lives in two zones and attaches in either. WaitForFirstConsumer
 * lets the provisioner pick the pod's zone plus one more; with no allowedTopologies, that second zone is any of the
 * cluster's, which is what GKE documents for regional clusters. The class keeps its name either way, so switching
 * does not touch the StatefulSets' claim templates; it changes only volumes created afterwards.
 */
export function gkeStorageClassArgs(regionalDisks: boolean): k8s.storage.v1.StorageClassArgs {
    return {
        metadata: {
            name: GKE_STORAGE_CLASS_NAME,
            labels: recommendedLabels({ name: "storage", instance: GKE_STORAGE_CLASS_NAME, component: "storage-class" }),
            annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" },
        },
        provisioner: "pd.csi.storage.gke.io",
        parameters: regionalDisks ? { type: "pd-balanced", "replication-type": REGIONAL_PD } : { type: "pd-balanced" },
        reclaimPolicy: "Retain",
        allowVolumeExpansion: true,
        volumeBindingMode: "WaitForFirstConsumer",
    };
}

/**
 * herd's StorageClass, and exactly one default class: herd's. GKE creates standard-rwo as the default and never
 * reconciles it back (its addon manager only ensures the object exists), so herd switches its default flag off, once
 * herd's own class is in place. `patchForce` takes the annotation over from GKE's field manager.
 *
 * `regionalDisks` is the stack's herd:gcpRegionalDisks (GcpConfig.regionalDisks); left out, the key's default.
 */
export function createStorage(
    name: string,
    provider: k8s.Provider,
    parent: pulumi.Resource,
    regionalDisks: boolean = KEYS.gcpRegionalDisks.default,
): k8s.storage.v1.StorageClass {
    const storageClass = new k8s.storage.v1.StorageClass(`${name}-storage`, gkeStorageClassArgs(regionalDisks), { parent, provider });
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
