/**
 * The e2e run's context (the engine and the project copy it runs in), pulumi and kubectl bound to it, and the reads
 * of the cluster's and the stack's state that the steps in e2e/steps.ts check.
 */
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import { E2eError, Engine, kubectl as kubectlIn, pulumi as pulumiIn } from "./engine";
import { urnParts } from "../offline/mock-values";
import { keyOfReference, keyOfUrn } from "../offline/registrations";
import { longestWaitChain, type WaitLink } from "../offline/wait-chain";

/** The engine and the project copy it runs in. */
export interface Ctx {
    readonly tmp: string;
    readonly project: string;
    readonly engine: Engine;
}

export function pulumi(ctx: Ctx, args: readonly string[], opts: { timeoutSec?: number; allowFail?: boolean } = {}): SpawnSyncReturns<string> {
    return pulumiIn(ctx.engine, ctx.project, args, opts);
}

export function kubectl(ctx: Ctx, args: readonly string[]): string {
    return kubectlIn(ctx.engine, args);
}

export function kubectlJson<T>(ctx: Ctx, args: readonly string[]): T {
    return JSON.parse(kubectl(ctx, [...args, "-o", "json"])) as T;
}

export interface K8sList<T> {
    items: T[];
}
export interface Meta {
    metadata: { name: string; uid: string; namespace?: string };
}
type Pvc = Meta & { status: { phase: string }; spec: { volumeName?: string } };
type Workload = Meta & { spec: { replicas?: number }; status: { readyReplicas?: number; availableReplicas?: number } };

export function pvcs(ctx: Ctx): Pvc[] {
    return kubectlJson<K8sList<Pvc>>(ctx, ["-n", "herd", "get", "pvc"]).items;
}

/** Every Deployment and StatefulSet in the namespace ready and every data claim Bound; a summary, else throws. */
export function assertReady(ctx: Ctx): string {
    const deployments = kubectlJson<K8sList<Workload>>(ctx, ["-n", "herd", "get", "deployments"]).items;
    const sets = kubectlJson<K8sList<Workload>>(ctx, ["-n", "herd", "get", "statefulsets"]).items;
    for (const w of [...deployments, ...sets]) {
        if ((w.status.readyReplicas ?? 0) !== (w.spec.replicas ?? 1)) {
            throw new E2eError(`${w.metadata.name}: ${w.status.readyReplicas ?? 0}/${w.spec.replicas ?? 1} ready after pulumi up`);
        }
    }
    // The StatefulSets' claims (data-<set>-<ordinal>) bind when their pods are scheduled. The backup volume's claim
    // waits (WaitForFirstConsumer) for the first backup Job, which is how such a class is meant to work.
    const claims = pvcs(ctx);
    const unbound = claims.filter((c) => c.metadata.name.startsWith("data-") && c.status.phase !== "Bound");
    if (unbound.length > 0) {
        throw new E2eError(`data claims not Bound: ${unbound.map((c) => c.metadata.name).join(", ")}`);
    }
    const bound = claims.filter((c) => c.status.phase === "Bound").length;
    return `${deployments.length} Deployments and ${sets.length} StatefulSets ready, ${bound} of ${claims.length} claims Bound (the rest wait for their first consumer)`;
}

/** Polls a condition once a second for up to `seconds`; whether it became true. */
export function waitFor(seconds: number, condition: () => boolean): boolean {
    const until = Date.now() + seconds * 1000;
    for (;;) {
        if (condition()) {
            return true;
        }
        if (Date.now() > until) {
            return false;
        }
        spawnSync("sleep", ["1"]);
    }
}

interface StateResource {
    readonly urn: string;
    readonly type: string;
    readonly inputs?: Record<string, unknown>;
    readonly dependencies?: string[];
    readonly provider?: string;
}

function stateResources(ctx: Ctx, stack: string): StateResource[] {
    const exported = JSON.parse(pulumi(ctx, ["stack", "export", "--stack", stack]).stdout) as { deployment?: { resources?: StateResource[] } };
    return exported.deployment?.resources ?? [];
}

export function resourceCount(ctx: Ctx, stack: string): number {
    return stateResources(ctx, stack).length;
}

/**
 * The longest chain of waiting resources as the engine recorded the dependencies in the state: the same rule
 * tests/wait-chain.test.ts applies to the offline evaluation, checked here against what the real engine saw.
 */
export function engineWaitChain(ctx: Ctx, stack: string): WaitLink[] {
    return longestWaitChain(
        stateResources(ctx, stack).map((r) => ({
            type: r.type,
            name: urnParts(r.urn)?.name ?? "",
            inputs: r.inputs ?? {},
            dependencies: [...(r.dependencies ?? []).map(keyOfUrn), ...(r.provider === undefined ? [] : [keyOfReference(r.provider)])],
        })),
    );
}
