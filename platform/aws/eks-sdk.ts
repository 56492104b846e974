/**
 * The parts of @pulumi/eks herd uses. Its index.js loads its cluster mixins, which load @pulumi/aws's root index and
 * with it every AWS service module (see ./sdk.ts); the Cluster component and the enums alone load neither. herd
 * receives no references to eks resources, so the index's resource-module registration is not needed.
 */
export { Cluster } from "@pulumi/eks/cluster";
export { AuthenticationMode } from "@pulumi/eks/types/enums";
