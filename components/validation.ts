/**
 * Validation every component shares: a problem is an `InputPropertyErrorDetails` (the property's path, nested with
 * dots as in `backup.schedule`, and the reason), the sizing checks (replicas, memory and CPU for any workload; a data
 * component adds its storage size), and the one error that lists every problem.
 */
import * as pulumi from "@pulumi/pulumi";
import type { InputPropertyErrorDetails } from "@pulumi/pulumi";
import { parseQuantity } from "../lib/quantity";

/** One problem with a component's arguments: which property (e.g. `memory`, `backup.schedule`) and why. */
export type Problem = InputPropertyErrorDetails;

export function problem(propertyPath: string, reason: string): Problem {
    return { propertyPath, reason };
}

/** A problem as one line: "path: reason". */
export function problemText(p: Problem): string {
    return `${p.propertyPath}: ${p.reason}`;
}

/**
 * A component's arguments are invalid: the message lists every problem, one a line, and `errors` holds them as
 * property paths and reasons for a program to read (as pulumi's InputPropertiesError does). No stack trace: the
 * message says it all.
 */
export class InvalidArgumentsError extends pulumi.ResourceError {
    readonly errors: readonly Problem[];

    constructor(component: string, name: string, errors: readonly Problem[], resource?: pulumi.Resource) {
        super(`${component} ${JSON.stringify(name)}: invalid arguments:\n${errors.map((p) => `  - ${problemText(p)}`).join("\n")}`, resource, true);
        this.errors = errors;
    }
}

/** Throws one InvalidArgumentsError listing every problem, naming the component and each property. */
export function throwIfProblems(component: string, name: string, problems: readonly Problem[], resource?: pulumi.Resource): void {
    if (problems.length > 0) {
        throw new InvalidArgumentsError(component, name, problems, resource);
    }
}

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
export function replicasProblems(replicas: number | undefined): Problem[] {
    if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1)) {
        return [problem("replicas", `expected a whole number of at least 1, got ${replicas}`)];
    }
    return [];
}

/** Problems with a data volume's size: a positive Kubernetes quantity. */
export function storageSizeProblems(storageSize: string): Problem[] {
    const storage = parseQuantity(storageSize);
    if (storage === undefined || storage <= 0) {
        return [problem("storageSize", `expected a Kubernetes quantity such as 20Gi, got ${JSON.stringify(storageSize)}`)];
    }
    return [];
}

/** Problems with the memory and CPU of a container. */
function resourceProblems(fields: SizingFields): Problem[] {
    const problems: Problem[] = [];
    const memory = parseQuantity(fields.memory);
    if (memory === undefined) {
        problems.push(problem("memory", `expected a Kubernetes quantity such as 2Gi, got ${JSON.stringify(fields.memory)}`));
    } else if (memory < fields.minMemoryBytes) {
        problems.push(problem("memory", `expected at least ${fields.minMemoryText}, got ${JSON.stringify(fields.memory)}`));
    }
    const cpu = /^\d+(\.\d+)?m?$/.test(fields.cpu) ? parseQuantity(fields.cpu) : undefined;
    if (cpu === undefined || cpu <= 0) {
        problems.push(problem("cpu", `expected a CPU quantity such as 500m, got ${JSON.stringify(fields.cpu)}`));
    }
    return problems;
}

/** A workload's sizing problems: replicas, memory, cpu. */
export function checkSizing(fields: SizingFields): Problem[] {
    return [...replicasProblems(fields.replicas), ...resourceProblems(fields)];
}

/** A data component's sizing problems: replicas, storageSize, memory, cpu (in that order). */
export function checkDataSizing(fields: DataSizingFields): Problem[] {
    return [...replicasProblems(fields.replicas), ...storageSizeProblems(fields.storageSize), ...resourceProblems(fields)];
}
