/**
 * Cluster add-ons: every one pinned to an exact version from a trusted source, and on EKS the VPC CNI enforcing
 * NetworkPolicy (without it, every NetworkPolicy herd writes is accepted by the API server and does nothing).
 */
import type { Finding, ResourceRule, ResourceView, StackRule } from "./define";
import { at, known, show, text } from "./values";

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
const HELM_CHART = "kubernetes:helm.sh/v4:Chart";
const EKS_ADDON = "aws:eks/addon:Addon";
const EKS_COMPONENT = "eks:index:Cluster";
const EKS_CLUSTER = "aws:eks/cluster:Cluster";
const EKS_VPC_CNI_COMPONENT = "eks:index:VpcCniAddon";

/** An exact chart version: semver with an optional pre-release or build, no range (^, ~, >=, x, *). */
export const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** Problems of a Helm release or chart: its version exact, its repository reached over TLS (or an OCI registry). */
function chartProblems(r: ResourceView): string[] {
    const label = `Helm ${r.type === HELM_RELEASE ? "release" : "chart"} ${text(r.props["name"]) ?? r.name}`;
    const problems: string[] = [];
    const version = known(() => text(r.props["version"]));
    if (version.known && (version.value === undefined || !EXACT_VERSION.test(version.value))) {
        problems.push(
            `${label}: version is ${show(version.value)}: pin the chart to an exact version (e.g. "9.46.6"), or every preview may install something new`,
        );
    }
    const chart = known(() => text(r.props["chart"]));
    const repo = known(() => text(at(r.props, "repositoryOpts", "repo")));
    if (chart.known && repo.known) {
        // A repository over TLS or an OCI registry; without a repository, an oci:// or https:// chart URL, or a chart
        // vendored in the project (a path). A bare name would resolve through whatever `helm repo add` ran locally.
        const source = repo.value ?? chart.value ?? "";
        const trusted = /^(https|oci):\/\//.test(source) || (repo.value === undefined && /^(\.{0,2}\/)/.test(source));
        if (!trusted) {
            problems.push(
                `${label}: the chart comes from ${show(source)}: fetch it from an https:// repository (repositoryOpts.repo) or an oci:// registry`,
            );
        }
    }
    return problems;
}

export const addonsPinned: ResourceRule = {
    kind: "resource",
    name: "addons-pinned",
    description:
        "Every cluster add-on is pinned: a Helm release or chart to an exact chart version from an https:// repository " +
        "or an oci:// registry, and an EKS add-on to an explicit addonVersion (herd resolves the default one for the " +
        "cluster's Kubernetes version at preview, so an upgrade moves it and the preview shows it).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediation:
        "Set version on the k8s.helm.v3.Release (an exact version, not a range) and repositoryOpts.repo to an https:// URL; " +
        "set addonVersion on the aws.eks.Addon (platform/aws/cluster.ts's addonVersion() gives the default for the cluster's version).",
    appliesTo: (type) => type === HELM_RELEASE || type === HELM_CHART || type === EKS_ADDON,
    check: (r) => {
        if (r.type !== EKS_ADDON) {
            return chartProblems(r);
        }
        const version = known(() => text(r.props["addonVersion"]));
        return version.known && (version.value === undefined || version.value === "")
            ? [`EKS add-on ${text(r.props["addonName"]) ?? r.name}: addonVersion is not set, so EKS picks one and changes it behind the program's back: set it`]
            : [];
    },
};

/** Whether the add-on's configurationValues (a JSON document) turn NetworkPolicy enforcement on; undefined: unknown yet. */
function vpcCniEnforces(configurationValues: unknown): boolean | undefined {
    const raw = known(() => text(configurationValues));
    if (!raw.known) {
        return undefined;
    }
    try {
        const doc = JSON.parse(raw.value ?? "{}") as Record<string, unknown>;
        const v = doc["enableNetworkPolicy"];
        return v === true || v === "true";
    } catch {
        return false;
    }
}

function isVpcCni(r: ResourceView): boolean {
    return r.type === EKS_ADDON && text(r.props["addonName"]) === "vpc-cni";
}

export const eksNetworkPolicyEnforced: StackRule = {
    kind: "stack",
    name: "eks-network-policy-enforced",
    description:
        "An EKS cluster enforces NetworkPolicy: its VPC CNI add-on runs with enableNetworkPolicy \"true\" (the network " +
        "policy agent). Without it the API server accepts every NetworkPolicy and nothing enforces them.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediation:
        "Manage the vpc-cni add-on with configurationValues {\"enableNetworkPolicy\": \"true\"} (platform/aws/cluster.ts does), " +
        "or set vpcCniOptions.enableNetworkPolicy on the eks.Cluster.",
    appliesTo: (type) => [EKS_COMPONENT, EKS_CLUSTER, EKS_ADDON, EKS_VPC_CNI_COMPONENT].includes(type),
    check: (resources): Finding[] => {
        const clusters = resources.filter((r) => r.type === EKS_COMPONENT || (r.type === EKS_CLUSTER && !resources.some((c) => c.type === EKS_COMPONENT)));
        if (clusters.length === 0) {
            return [];
        }
        const findings: Finding[] = [];
        const cnis = resources.filter(isVpcCni);
        for (const cni of cnis) {
            if (vpcCniEnforces(cni.props["configurationValues"]) === false) {
                findings.push({
                    subject: cni,
                    message: `EKS add-on vpc-cni (${cni.name}): configurationValues ${show(text(cni.props["configurationValues"]))} does not set "enableNetworkPolicy": "true": NetworkPolicies would not be enforced`,
                });
            }
        }
        const enforced =
            cnis.some((c) => vpcCniEnforces(c.props["configurationValues"]) !== false) ||
            resources.some((r) => r.type === EKS_VPC_CNI_COMPONENT && r.props["enableNetworkPolicy"] === true) ||
            resources.some((r) => r.type === EKS_COMPONENT && at(r.props, "vpcCniOptions", "enableNetworkPolicy") === true);
        if (!enforced && findings.length === 0) {
            for (const cluster of clusters) {
                findings.push({
                    subject: cluster,
                    message: `EKS cluster ${text(cluster.props["name"]) ?? cluster.name}: no vpc-cni add-on with "enableNetworkPolicy": "true" in the stack, so its NetworkPolicies are not enforced: manage the vpc-cni add-on with that setting`,
                });
            }
        }
        return findings;
    },
};
