/** Runs every preflight check in order and renders the report: a table for people, JSON for machines. */
import { checkIngress, checkNamespace, checkNetworkPolicy, checkPodSecurity, checkRegistry, checkStorage, checkVersion, CheckResult, listPods, PreflightTarget } from "./checks";
import type { Kube } from "./kube";
import { probeRegistries, RegistryAnswer } from "./registry";

export interface PreflightReport {
    readonly stack: string;
    readonly namespace: string;
    readonly cluster: string;
    readonly checks: readonly CheckResult[];
    /** How many checks failed: each is a blocker. */
    readonly blockers: number;
    readonly warnings: number;
}

export interface RunOptions {
    /** The registry's answers, for tests; default: probe each host over HTTPS. */
    readonly probe?: (hosts: readonly string[]) => Promise<ReadonlyMap<string, RegistryAnswer>>;
    readonly retryDelayMs?: number;
}

/** Every check; when the API server cannot be reached, only that and the registry (which needs no cluster). */
export async function runPreflight(kube: Kube, target: PreflightTarget, opts: RunOptions = {}): Promise<PreflightReport> {
    const registryAnswers = (opts.probe ?? probeRegistries)(target.registryHosts);
    const version = checkVersion(kube);
    const checks: CheckResult[] = [version.result];
    if (version.reachable) {
        const pods = listPods(kube);
        checks.push(
            checkNamespace(kube, target),
            checkStorage(kube, target),
            checkIngress(kube, target, pods),
            checkPodSecurity(kube, target, { retryDelayMs: opts.retryDelayMs }),
            checkNetworkPolicy(pods),
        );
    }
    checks.push(checkRegistry(target, await registryAnswers));
    return {
        stack: target.stack,
        namespace: target.namespace,
        cluster: kube.describe,
        checks,
        blockers: checks.filter((c) => c.status === "fail").length,
        warnings: checks.filter((c) => c.status === "warn").length,
    };
}

const MARK: Readonly<Record<CheckResult["status"], string>> = { pass: "PASS", warn: "WARN", fail: "FAIL" };

/** The report as a table: one row per check, then a verdict line. */
export function renderTable(report: PreflightReport): string {
    const width = Math.max(...report.checks.map((c) => c.title.length), "CHECK".length);
    const lines = [
        `herd preflight: stack ${report.stack}, namespace ${report.namespace}, cluster from ${report.cluster}`,
        "",
        `${"CHECK".padEnd(width)}  RESULT  WHAT WAS FOUND / WHAT TO DO`,
        ...report.checks.map((c) => `${c.title.padEnd(width)}  ${MARK[c.status].padEnd(6)}  ${c.detail}`),
        "",
        report.blockers > 0
            ? `${report.blockers} blocker(s): fix each FAIL before pulumi up.${report.warnings > 0 ? ` ${report.warnings} warning(s).` : ""}`
            : `no blocker${report.warnings > 0 ? `; ${report.warnings} warning(s) to read` : ""}: the cluster is ready for pulumi up.`,
    ];
    return `${lines.join("\n")}\n`;
}

export function renderJson(report: PreflightReport): string {
    return `${JSON.stringify(report, null, 2)}\n`;
}
