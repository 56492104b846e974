/**
 * Validation every component shares: the sizing checks (replicas, memory and CPU for any workload; a data
 * component adds its storage size) as "field: expected ..., got ..." problems, and the one ResourceError that lists
 * them.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseQuantity } from "../lib/quantity";

/** What a workload's sizing check looks at. */
export interface SizingFields {
    /** Checked when given. */
    readonly replicas?: number;
    readonly memory: string;
    readonly minMemoryBytes: number;
    readonly minMemoryText: string;
    readonly cpu: string;
}

/** What a data component's sizing check looks at: a workload's, plus the size of its data volume. */
export interface DataSizingFields extends SizingFields {
    readonly storageSize: string;
}

/** Problems with a replica count, when there is one: a whole number of at least 1. */
export function replicasProblems(replicas: number | undefined): string[] {
    if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1)) {
        return [`replicas: expected a whole number of at least 1, got ${replicas}`];
    }
    return [];
}

/** Problems with a data volume's size: a positive Kubernetes quantity. */
export function storageSizeProblems(storageSize: string): string[] {
    const storage = parseQuantity(storageSize);
    if (storage === undefined || storage <= 0) {
        return [`storageSize: expected a Kubernetes quantity such as 20Gi, got ${JSON.stringify(storageSize)}`];
    }
    return [];
}

/** Problems with the memory and CPU of a container. */
function resourceProblems(fields: SizingFields): string[] {
    const problems: string[] = [];
    const memory = parseQuantity(fields.memory);
    if (memory === undefined) {
        problems.push(`memory: expected a Kubernetes quantity such as 2Gi, got ${JSON.stringify(fields.memory)}`);
    } else if (memory < fields.minMemoryBytes) {
        problems.push(`memory: expected at least ${fields.minMemoryText}, got ${JSON.stringify(fields.memory)}`);
    }
    const cpu = /^\d+(\.\d+)?m?$/.test(fields.cpu) ? parseQuantity(fields.cpu) : undefined;
    if (cpu === undefined || cpu <= 0) {
        problems.push(`cpu: expected a CPU quantity such as 500m, got ${JSON.stringify(fields.cpu)}`);
    }
    return problems;
}

/** A workload's sizing problems: replicas, memory, cpu. */
export function checkSizing(fields: SizingFields): string[] {
    return [...replicasProblems(fields.replicas), ...resourceProblems(fields)];
}

/** A data component's sizing problems: replicas, storageSize, memory, cpu (in that order). */
export function checkDataSizing(fields: DataSizingFields): string[] {
    return [...replicasProblems(fields.replicas), ...storageSizeProblems(fields.storageSize), ...resourceProblems(fields)];
}

/** Throws one ResourceError listing every problem, naming the component and each field. */
export function throwIfProblems(component: string, name: string, problems: readonly string[], resource?: pulumi.Resource): void {
    if (problems.length > 0) {
        throw new pulumi.ResourceError(`${component} ${JSON.stringify(name)}: invalid arguments:\n${problems.map((p) => `  - ${p}`).join("\n")}`, resource, true);
    }
}
