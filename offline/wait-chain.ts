/**
 * The critical path of a first `pulumi up`: the longest chain of resources that each wait for readiness before the
 * next one starts, computed from the dependencies the program hands the engine (every registration's dependency
 * list and provider, as the SDK sends them) and from what waits, per pulumi-kubernetes' await rules
 * (provider/pkg/await/awaiters.go) and the cloud resources that wait for something to come up.
 *
 * A resource that does not wait still passes on its dependencies: an Ingress that depends on a Namespace that
 * depends on a node group starts after the node group.
 */

/** One registration: what the engine is told a resource waits for before it is created. */
export interface Registration {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
    /** `type::name` of everything created before it: explicit dependsOn, every Output it reads, its provider. */
    readonly dependencies: readonly string[];
}

export const keyOf = (r: { readonly type: string; readonly name: string }): string => `${r.type}::${r.name}`;

/** Cloud resources whose creation waits for something to come up (a control plane, nodes, a build). */
const CLOUD_WAITS: Readonly<Record<string, string>> = {
    "eks:index:Cluster": "the EKS control plane to become ACTIVE (pulumi-eks's component)",
    "aws:eks/cluster:Cluster": "the EKS control plane to become ACTIVE",
    "aws:eks/nodeGroup:NodeGroup": "the nodes to join the cluster",
    "aws:eks/addon:Addon": "the add-on's pods to run",
    "gcp:container/cluster:Cluster": "the GKE control plane to come up",
    "gcp:container/nodePool:NodePool": "the nodes to join the cluster",
    "docker:index/image:Image": "the image to build and push",
    "docker-build:index:Image": "the image to build and push",
};

const record = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {});

/** What a resource waits for before the engine counts it created, or undefined when it does not wait. */
export function awaitedBy(type: string, inputs: Record<string, unknown>): string | undefined {
    const cloud = CLOUD_WAITS[type];
    if (cloud !== undefined) {
        return cloud;
    }
    if (!type.startsWith("kubernetes:")) {
        return undefined;
    }
    const metadata = record(inputs["metadata"]);
    if (record(metadata["annotations"])["pulumi.com/skipAwait"] === "true") {
        return undefined;
    }
    const spec = record(inputs["spec"]);
    switch (type) {
        case "kubernetes:apps/v1:Deployment":
        case "kubernetes:apps/v1:StatefulSet":
        case "kubernetes:apps/v1:DaemonSet":
            return "its pods to be ready";
        case "kubernetes:batch/v1:Job":
            return "the Job to complete";
        case "kubernetes:core/v1:Pod":
            return "the pod to be ready";
        case "kubernetes:networking.k8s.io/v1:Ingress":
            return "the ingress controller to publish an address";
        case "kubernetes:core/v1:PersistentVolumeClaim":
            return "the claim to bind";
        case "kubernetes:core/v1:Service": {
            // No selector, headless or ExternalName: pulumi-kubernetes does not wait for endpoints.
            const selector = record(spec["selector"]);
            if (Object.keys(selector).length === 0 || spec["clusterIP"] === "None" || spec["type"] === "ExternalName") {
                return undefined;
            }
            return spec["type"] === "LoadBalancer" ? "ready endpoints and a load balancer address" : "ready endpoints (the selected pods)";
        }
        default:
            return undefined;
    }
}

export interface WaitLink {
    readonly key: string;
    /** What it waits for. */
    readonly awaits: string;
}

/**
 * The longest chain of waiting resources, first to last. Throws on a dependency cycle (the engine would refuse it
 * too) or a dependency on a resource that was never registered.
 */
export function longestWaitChain(registrations: readonly Registration[]): WaitLink[] {
    const byKey = new Map(registrations.map((r) => [keyOf(r), r] as const));
    const memo = new Map<string, WaitLink[]>();
    const visiting = new Set<string>();
    const chainTo = (key: string): WaitLink[] => {
        const known = memo.get(key);
        if (known !== undefined) {
            return known;
        }
        const r = byKey.get(key);
        if (r === undefined) {
            throw new Error(`a dependency on ${key}, which was never registered`);
        }
        if (visiting.has(key)) {
            throw new Error(`a dependency cycle through ${key}`);
        }
        visiting.add(key);
        let longest: WaitLink[] = [];
        for (const dep of new Set(r.dependencies)) {
            const chain = chainTo(dep);
            if (chain.length > longest.length) {
                longest = chain;
            }
        }
        visiting.delete(key);
        const awaits = awaitedBy(r.type, r.inputs);
        const chain = awaits === undefined ? longest : [...longest, { key, awaits }];
        memo.set(key, chain);
        return chain;
    };
    let longest: WaitLink[] = [];
    for (const key of byKey.keys()) {
        const chain = chainTo(key);
        if (chain.length > longest.length) {
            longest = chain;
        }
    }
    return longest;
}
