/**
 * npm run e2e [-- --keep] : herd's main job for real. The Pulumi CLI, its Node.js language host and the kubernetes,
 * random and tls provider plugins (built from Go modules by e2e/build-pulumi.sh, or the user's own `pulumi` when one
 * is on PATH), a local Kubernetes control plane with fake nodes (e2e/cluster.sh), a file backend and a passphrase
 * secrets provider in a temporary directory, and the onprem stack (e2e/stack.yaml) taken through:
 *   0. npm run preflight: passes, then each blocker fails (e2e/preflight-steps.ts)
 *   1. preview --diff with the policy pack       5. a replacement of PostgreSQL refused by protect, nothing changed
 *   2. up: every resource created and ready;      6. outputs -> handoff bundle, no secret in it or in the export;
 *      the hardening as applied (hardening-steps)
 *   3. a second preview with no changes              npm run support-bundle: logs and events, no secret value
 *   4. a change previewed, saved as a plan, applied with --plan
 *   7. teardown as the README says; the claims survive and re-bind
 *   8. the render-to-directory mode, applied with kubectl --dry-run=server
 *   9. the customer takes over the stack in backend B (transfer-steps)
 * (each in e2e/steps.ts, on the cluster reads of e2e/cluster-state.ts) and a summary: resources created, the time of
 * each step, the changes on the second preview (must be 0). This file is the runner: options, steps in order, summary.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { E2eError, Engine, log, startEngine } from "./engine";
import { Outcome, setUpStack, STEPS } from "./steps";

const USAGE = `usage: npm run e2e [-- --keep]

Builds (cached) the Pulumi CLI, its Node.js language host, the kubernetes/random/tls plugins and a local Kubernetes
control plane from Go modules, then applies the onprem stack (e2e/stack.yaml) to it with the real engine: preflight
(passing, then each blocker failing), preview with the policy pack, up, a no-change preview, a plan-locked change, a
refused replacement, the handoff and a support bundle, teardown and re-up, and the render-to-directory mode.
Everything runs on 127.0.0.1 in a temporary directory.

  --keep       keep the temporary directory and leave the control plane running (prints how to reach it)
  -h, --help   this text

env: HERD_E2E_CACHE (build cache, default ~/.cache/herd-e2e), HERD_E2E_PORT_BASE (default 16400),
     HERD_E2E_PULUMI (a pulumi binary to use instead of the one on PATH or the built one)`;

interface StepResult {
    readonly name: string;
    readonly seconds: number;
    readonly detail: string;
}

const steps: StepResult[] = [];

async function step(name: string, body: () => string | Promise<string>): Promise<void> {
    log(`step ${steps.length + 1}: ${name}`);
    const started = Date.now();
    const detail = await body();
    const seconds = (Date.now() - started) / 1000;
    steps.push({ name, seconds, detail });
    log(`  ok in ${seconds.toFixed(1)} s${detail !== "" ? `: ${detail}` : ""}`);
}

/** The closing summary: every step with its time and detail, then the totals and the pass line. */
function summary(outcome: Outcome, totalSeconds: number, logs: string | undefined): string {
    const lines = [
        "",
        "herd e2e: the onprem stack applied with the real engine to a local control plane",
        ...steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${s.name.padEnd(92)} ${s.seconds.toFixed(1).padStart(7)} s${s.detail !== "" ? `\n      ${s.detail}` : ""}`),
        `  resources created by the first up: ${outcome.created}`,
        "  changes on the second preview: 0",
        `  total ${totalSeconds.toFixed(0)} s; logs in ${logs ?? "(removed; run with --keep to keep them)"}`,
        "e2e: 1 passed, 0 failed",
    ];
    return `${lines.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
    }
    const unknown = argv.filter((a) => a !== "--keep");
    if (unknown.length > 0) {
        process.stderr.write(`npm run e2e: unknown option ${unknown[0]}\n${USAGE}\n`);
        return 2;
    }
    const keep = argv.includes("--keep");
    const started = Date.now();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "herd-e2e-"));
    const logs = path.join(tmp, "logs");
    let engine: Engine | undefined;
    let failed = false;
    try {
        engine = startEngine(tmp, { storageClasses: ["herd-retain"], count: 8, size: "5Gi" });
        steps.push({ name: "toolchain (build or cache)", seconds: engine.buildSeconds, detail: `pulumi: ${engine.pulumiSource}` });
        steps.push({ name: "control plane up (etcd, apiserver, controllers, scheduler, kwok)", seconds: engine.clusterSeconds, detail: "" });

        const ctx = setUpStack(tmp, engine);
        const outcome: Outcome = { created: 0 };
        for (const s of STEPS) {
            await step(s.name, () => s.run(ctx, outcome));
        }
        process.stdout.write(summary(outcome, (Date.now() - started) / 1000, keep ? logs : undefined));
        return 0;
    } catch (err) {
        const message = err instanceof E2eError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
        process.stderr.write(`\ne2e: FAILED at step ${steps.length + 1}: ${message}\ne2e: logs kept in ${logs}\n`);
        process.stdout.write("e2e: 0 passed, 1 failed\n");
        failed = true;
        return 1;
    } finally {
        if (engine !== undefined && !keep) {
            // On failure the control plane's logs stay beside the others.
            engine.stop(failed);
        }
        if (!keep && !failed) {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
        if (keep && engine !== undefined) {
            log(`kept ${tmp}; the control plane is still running: KUBECONFIG=${path.join(tmp, "cluster", "kubeconfig")} (stop it with HERD_E2E_DIR=${path.join(tmp, "cluster")} e2e/cluster.sh stop)`);
        }
    }
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exit(1);
    },
);
