/**
 * herd's guardrails: every rule, and the CrossGuard policies made from them.
 *
 * Importing this module has no side effects and loads nothing from @pulumi/policy at run time (types only), so tests
 * import it directly; only policy/index.ts constructs the PolicyPack (which starts the analyzer server).
 */
import type { Policies } from "@pulumi/policy";
import { addonsPinned, eksNetworkPolicyEnforced } from "./addons";
import { eksClusterHardening, ecrScanOnPush, s3BucketEncryption, s3PublicAccessBlock } from "./aws";
import { containerResources, imagePinned, noLiteralSecretEnv, readinessProbe } from "./containers";
import { Rule, toPolicy } from "./define";
import { exceptionReport } from "./exceptions";
import { gkeHardening } from "./gcp";
import { recommendedLabels } from "./labels";
import { podSecurityRestricted, readOnlyRootFilesystem } from "./pod-security";
import { publicEndpointTls, serviceExposure } from "./services";
import { networkPolicyCoverage, podDisruptionBudget, replicaSpread } from "./stack";
import { statefulSetDataSafety, storageClassRetain } from "./storage";

export const PACK_NAME = "herd-guardrails";
export const PACK_DESCRIPTION =
    "herd's guardrails: Pod Security 'restricted' and herd's workload rules, data safety, one way in over TLS, pinned add-ons, and hardened EKS (NetworkPolicy enforced), ECR, S3 and GKE.";

const CHECKS: readonly Rule[] = [
    podSecurityRestricted,
    readOnlyRootFilesystem,
    containerResources,
    readinessProbe,
    imagePinned,
    noLiteralSecretEnv,
    podDisruptionBudget,
    networkPolicyCoverage,
    statefulSetDataSafety,
    storageClassRetain,
    serviceExposure,
    publicEndpointTls,
    eksClusterHardening,
    ecrScanOnPush,
    s3BucketEncryption,
    s3PublicAccessBlock,
    gkeHardening,
    addonsPinned,
    eksNetworkPolicyEnforced,
    recommendedLabels,
    replicaSpread,
];

/** Every rule, in the order the pack runs them; the last one reports annotation exceptions of the others. */
export const RULES: readonly Rule[] = [...CHECKS, exceptionReport(CHECKS.map((r) => r.name))];

/** The policies the pack runs. */
export const policies: Policies = RULES.map(toPolicy);

export { EXCEPTION_ANNOTATION_PREFIX, EXCEPTIONS_SCHEMA, MIN_REASON_LENGTH, exceptionFor, namesResource } from "./define";
export type { ExceptionDecision, Finding, ResourceRule, ResourceView, Rule, StackRule } from "./define";
export { LOAD_BALANCER_ALLOWED_LABELS } from "./services";
export { imageProblem, secretLikeName, urlWithCredentials } from "./containers";
export { selectorMatches, podTemplate } from "./k8s";
export { RECOMMENDED_LABELS } from "./labels";
export { ALLOWED_VOLUME_TYPES, SAFE_SYSCTLS } from "./pod-security";
export { REQUIRED_CONTROL_PLANE_LOGS } from "./aws";
export type {
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
