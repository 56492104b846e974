/**
 * herd's secure pod defaults in one place (Pod Security Standard "restricted" and then some): run as a fixed
 * non-root user, RuntimeDefault seccomp, every capability dropped, no privilege escalation, a read-only root
 * filesystem, and requests plus limits on every container.
 */
import type * as k8s from "../lib/k8s";

type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;
type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

/** The pod-level context for an image whose process runs as `uid` (and group `gid`, which also owns volumes). */
export function restrictedPodSecurityContext(uid: number, gid: number = uid): PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: gid,
        fsGroup: gid,
        // Re-own a volume only when its root is wrong: a large data volume is not walked on every restart.
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** The container-level context: the same on every container, init containers included. */
export function restrictedContainerSecurityContext(): SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

export interface Sizing {
    /** CPU request, e.g. "500m". The limit is twice the request: room for bursts without starving neighbours. */
    readonly cpu: string;
    /** Memory request and limit (equal: a database should never be the first to be OOM-killed for overcommit). */
    readonly memory: string;
}

export function resourceRequirements(sizing: Sizing): ResourceRequirements {
    return {
        requests: { cpu: sizing.cpu, memory: sizing.memory },
        limits: { cpu: doubleCpu(sizing.cpu), memory: sizing.memory },
    };
}

function doubleCpu(cpu: string): string {
    const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(cpu);
    if (m === null) {
        return cpu;
    }
    const millis = Number(m[1]) * (m[2] === "m" ? 1 : 1000) * 2;
    return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** An emptyDir for a path the process must write while the root filesystem stays read-only. */
export function scratchVolume(name: string, sizeLimit = "64Mi"): k8s.types.input.core.v1.Volume {
    return { name, emptyDir: { sizeLimit } };
}
