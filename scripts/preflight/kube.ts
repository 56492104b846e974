/**
 * How preflight and the support bundle talk to the cluster: the operator's own kubectl (found on PATH or named with
 * --kubectl), with the kubeconfig and context the stack uses. kubectl handles every kubeconfig auth method (exec
 * plugins, OIDC, client certificates), so herd needs no client library of its own. Tests put recorded outputs behind
 * the same interface.
 */
import { spawnSync } from "node:child_process";
import { findOnPath } from "../../lib/path-lookup";
import { CliError } from "../cli";

/** What one kubectl call returned. */
export interface KubeResult {
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs kubectl with the given arguments (and stdin); the connection flags are added by the implementation. */
export interface Kube {
    run(args: readonly string[], input?: string): KubeResult;
    /** How the cluster was reached, for the report: the kubeconfig and context in words. */
    readonly describe: string;
}

export interface KubectlOptions {
    /** The kubectl binary (a path or a name on PATH); default `kubectl`. */
    readonly kubectl?: string;
    /** A kubeconfig file; undefined: kubectl's own (KUBECONFIG or ~/.kube/config), as the program does. */
    readonly kubeconfig?: string;
    /** A context of that kubeconfig; undefined: its current context. */
    readonly context?: string;
    /** Per-request timeout, seconds. @default 20 */
    readonly timeoutSeconds?: number;
}

/** Resolves the kubectl binary or throws a one-line CliError saying what to install. */
export function findKubectl(given: string | undefined): string {
    const name = given ?? "kubectl";
    const found = name.includes("/") ? name : findOnPath(name);
    if (found === undefined) {
        throw new CliError(
            `${name} not found on PATH: install kubectl (https://kubernetes.io/docs/tasks/tools/, within one minor version of the cluster) or name it with --kubectl <path>`,
        );
    }
    const probe = spawnSync(found, ["version", "--client", "-o", "json"], { encoding: "utf8", timeout: 20_000 });
    if (probe.error !== undefined || probe.status !== 0) {
        throw new CliError(`--kubectl ${found}: cannot run it (${probe.error?.message ?? probe.stderr.trim().split("\n")[0] ?? `exit ${String(probe.status)}`})`);
    }
    return found;
}

/** The real thing: spawns kubectl for every call. */
export function kubectl(opts: KubectlOptions): Kube {
    const bin = findKubectl(opts.kubectl);
    const timeout = opts.timeoutSeconds ?? 20;
    const global = [
        ...(opts.kubeconfig !== undefined ? ["--kubeconfig", opts.kubeconfig] : []),
        ...(opts.context !== undefined ? ["--context", opts.context] : []),
        `--request-timeout=${timeout}s`,
    ];
    const where = `${opts.kubeconfig !== undefined ? "the given kubeconfig" : "kubectl's own kubeconfig (KUBECONFIG or ~/.kube/config)"}, ${
        opts.context !== undefined ? `context ${opts.context}` : "its current context"
    }`;
    return {
        describe: where,
        run(args, input) {
            const r = spawnSync(bin, [...global, ...args], {
                encoding: "utf8",
                input,
                timeout: (timeout + 40) * 1000,
                maxBuffer: 512 * 1024 * 1024,
                env: { ...process.env },
            });
            if (r.error !== undefined) {
                return { status: 127, stdout: "", stderr: `cannot run ${bin}: ${r.error.message}` };
            }
            return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
        },
    };
}

/** The outcome of a `kubectl get ... -o json`, sorted into what a check decides on. */
export type Got<T> =
    | { readonly kind: "found"; readonly value: T }
    | { readonly kind: "absent" }
    | { readonly kind: "forbidden"; readonly message: string }
    | { readonly kind: "error"; readonly message: string };

/** The first line of kubectl's error, without its "Error from server (...)" prefix noise. */
export function firstLine(text: string): string {
    return (text.trim().split("\n").find((l) => l.trim() !== "") ?? "").trim().slice(0, 300);
}

/** `kubectl <args> -o json`, parsed; NotFound and Forbidden told apart from other errors. */
export function getJson<T>(kube: Kube, args: readonly string[]): Got<T> {
    const r = kube.run([...args, "-o", "json"]);
    if (r.status !== 0) {
        const message = firstLine(r.stderr);
        if (/\(NotFound\)/.test(r.stderr)) {
            return { kind: "absent" };
        }
        if (/\(Forbidden\)|forbidden/i.test(r.stderr)) {
            return { kind: "forbidden", message };
        }
        if (/\bnot found\b/i.test(r.stderr) && !/the server could not find the requested resource/i.test(r.stderr)) {
            return { kind: "absent" };
        }
        return { kind: "error", message: message === "" ? `kubectl exited ${r.status}` : message };
    }
    try {
        return { kind: "found", value: JSON.parse(r.stdout) as T };
    } catch (err) {
        return { kind: "error", message: `kubectl printed something that is not JSON: ${(err as Error).message}` };
    }
}

/** Metadata every object has (what the checks read of it). */
export interface ObjectMeta {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly uid?: string;
}

export interface KubeList<T> {
    readonly items: readonly T[];
}
