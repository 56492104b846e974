/**
 * Storage for data volumes: the EBS CSI driver as an EKS add-on, with its own IRSA role, and herd's default
 * StorageClass on it: gp3, encrypted, Retain, expandable, WaitForFirstConsumer (a volume is created in the zone of
 * the pod that first uses it). pulumi-eks's `storageClasses` option is not used: it targets the in-tree provisioner,
 * which cannot create gp3 volumes.
 */
import * as aws from "./sdk";
import * as k8s from "../../lib/k8s";
import type { AwsConfig } from "../../config";
import { recommendedLabels } from "../../lib/labels";
import { AwsContext, awsOpts, irsaTrustPolicy, managedPolicyArn } from "./common";
import { addonVersion, Cluster } from "./cluster";
import { waitOptions } from "../../lib/waits";

/** The StorageClass name: fixed, so claims and StatefulSets can name it and it is never auto-suffixed. */
export const AWS_STORAGE_CLASS_NAME = "herd-gp3";
export const EBS_CSI_PROVISIONER = "ebs.csi.aws.com";
/** The ServiceAccount the add-on's controller runs as (the add-on's fixed name). */
export const EBS_CSI_SERVICE_ACCOUNT = { namespace: "kube-system", name: "ebs-csi-controller-sa" } as const;

export function gp3StorageClassArgs(): k8s.storage.v1.StorageClassArgs {
    return {
        metadata: {
            name: AWS_STORAGE_CLASS_NAME,
            labels: recommendedLabels({ name: "storage", instance: AWS_STORAGE_CLASS_NAME, component: "storage-class" }),
            annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
        provisioner: EBS_CSI_PROVISIONER,
        // Encrypted with the account's aws/ebs key (AmazonEBSCSIDriverPolicy covers it; a customer key would need
        // a key policy for the driver's role as well).
        parameters: { type: "gp3", encrypted: "true", "csi.storage.k8s.io/fstype": "ext4" },
        reclaimPolicy: "Retain",
        allowVolumeExpansion: true,
        volumeBindingMode: "WaitForFirstConsumer",
    };
}

export interface Storage {
    readonly addon: aws.eks.Addon;
    readonly storageClass: k8s.storage.v1.StorageClass;
}

export function createStorage(ctx: AwsContext, cfg: AwsConfig, cluster: Cluster, provider: k8s.Provider): Storage {
    const { name } = ctx;
    const role = new aws.iam.Role(
        `${name}-ebs-csi-role`,
        {
            description: "EBS CSI driver controller (IRSA): creates, attaches and resizes the cluster's EBS volumes",
            assumeRolePolicy: irsaTrustPolicy(cluster.oidcProviderArn, cluster.oidcIssuer, EBS_CSI_SERVICE_ACCOUNT.namespace, EBS_CSI_SERVICE_ACCOUNT.name),
        },
        awsOpts(ctx),
    );
    const policy = new aws.iam.RolePolicyAttachment(
        `${name}-ebs-csi-policy`,
        { role: role.name, policyArn: managedPolicyArn(ctx, "service-role/AmazonEBSCSIDriverPolicy") },
        awsOpts(ctx),
    );
    const addon = new aws.eks.Addon(
        `${name}-ebs-csi`,
        {
            clusterName: cluster.clusterName,
            addonName: "aws-ebs-csi-driver",
            addonVersion: addonVersion(ctx, "aws-ebs-csi-driver", cfg.kubernetesVersion),
            serviceAccountRoleArn: role.arn,
            resolveConflictsOnCreate: "OVERWRITE",
            resolveConflictsOnUpdate: "OVERWRITE",
        },
        // Its controller pods need nodes to become ready, and its role's policy before they call EC2.
        awsOpts(ctx, { dependsOn: [cluster.nodeGroup, policy], ...waitOptions("cluster", ctx.waits) }),
    );
    const storageClass = new k8s.storage.v1.StorageClass(`${name}-gp3`, gp3StorageClassArgs(), {
        parent: ctx.parent,
        provider,
        // A claim on this class before the driver runs would sit Pending with no provisioner to serve it.
        dependsOn: [addon],
    });
    return { addon, storageClass };
}
