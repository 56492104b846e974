/**
 * The customer takes over the stack (issue 18), with the real engine: the e2e stack, applied from backend A (the
 * engine's file backend, passphrase A), is handed over with `npm run handoff -- --transfer` (re-keyed to passphrase
 * B on a copy), then taken over in backend B exactly as the bundle's RUNBOOK says (`pulumi login`, the config file,
 * `stack init`, `stack import`) with passphrase B and nothing of A's in the environment: `pulumi preview
 * --expect-no-changes` passes, and a config change applied from B reaches the cluster.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Ctx, kubectl, pulumi, waitFor } from "./cluster-state";
import { copyProject, E2eError, must, run, secretPlaintexts, tail } from "./engine";
import { takeoverCommands } from "../scripts/handoff/runbook-takeover";

const STACK = "e2e";

/** Runs pulumi in backend B: the customer's environment and program directory; throws on failure unless allowed. */
function pulumiB(ctx: Ctx, cwd: string, env: NodeJS.ProcessEnv, args: readonly string[], allowFail = false): { status: number | null; stdout: string; stderr: string } {
    const r = run(ctx.engine.pulumi, [...args, "--non-interactive"], { env, cwd, timeoutSec: 1200, log: path.join(ctx.engine.logs, "pulumi-customer.log") });
    if (r.status !== 0 && !allowFail) {
        throw new E2eError(`(backend B) pulumi ${args.join(" ")} failed (exit ${String(r.status)}):\n${tail(`${r.stdout}\n${r.stderr}`, 60)}`);
    }
    return r;
}

/** A step of e2e/steps.ts (the same shape as its Step; declared here so the two files import in one direction). */
export interface TransferStep {
    readonly name: string;
    readonly run: (ctx: Ctx) => string;
}

export const TRANSFER_STEP: TransferStep = {
    name: "the customer takes over: transfer re-keyed to passphrase B; backend B imports it, previews no change, applies a change",
    run: (ctx) => {
        const started = Date.now();
        const passA = ctx.engine.env["PULUMI_CONFIG_PASSPHRASE"] ?? "";
        const passB = randomBytes(24).toString("base64url");
        const bundle = path.join(ctx.tmp, "transfer");

        // The vendor: backend A, passphrase A; the customer's passphrase only in its own variable.
        // Its figures go to stderr, which `must` appends to the log with the command.
        must("npm", ["run", "--silent", "handoff", "--", "--stack", STACK, "--transfer", "--out", bundle], {
            cwd: ctx.project,
            env: { ...ctx.engine.env, PULUMI_CONFIG_PASSPHRASE_CUSTOMER: passB },
            log: path.join(ctx.engine.logs, "handoff-transfer.log"),
        });
        const log = fs.readFileSync(path.join(ctx.engine.logs, "handoff-transfer.log"), "utf8");
        const figures = /(\d+) secret value\(s\) re-keyed for the customer; (\d+) plaintext\(s\) searched for in (\d+) files \((\d+) bytes\), none found; vendor's passphrase (tried: [^;]+); ([\d.]+) s/.exec(log);
        if (figures === null) {
            throw new E2eError(`npm run handoff --transfer did not print its figures:\n${tail(log, 20)}`);
        }
        const files = fs.readdirSync(bundle);
        for (const f of ["state.json", `Pulumi.${STACK}.yaml`, "RUNBOOK.md", "outputs.json"]) {
            if (!files.includes(f)) {
                throw new E2eError(`the transfer bundle has no ${f} (it has ${files.join(", ")})`);
            }
        }
        // Independently of the command's own checks: no secret of backend A's state in plaintext in any file.
        const secrets = new Set<string>();
        secretPlaintexts(JSON.parse(pulumi(ctx, ["stack", "export", "--show-secrets", "--stack", STACK]).stdout) as unknown, secrets);
        for (const f of files) {
            const text = fs.readFileSync(path.join(bundle, f), "utf8");
            for (const s of secrets) {
                if (text.includes(s) || text.includes(Buffer.from(s).toString("base64"))) {
                    throw new E2eError(`the transfer bundle's ${f} holds a secret of the state in plaintext`);
                }
            }
        }

        // The customer: their own program checkout, PULUMI_HOME (the plugins linked in: no download here) and
        // backend B; passphrase B from a file; nothing of A's in the environment.
        const project = path.join(ctx.tmp, "project-b");
        copyProject(project);
        const home = path.join(ctx.tmp, "pulumi-home-b");
        fs.mkdirSync(home, { recursive: true });
        fs.symlinkSync(path.join(ctx.engine.env["PULUMI_HOME"] ?? "", "plugins"), path.join(home, "plugins"), "dir");
        const stateB = path.join(ctx.tmp, "state-b");
        fs.mkdirSync(stateB, { recursive: true });
        const passFile = path.join(ctx.tmp, "passphrase-b");
        fs.writeFileSync(passFile, `${passB}\n`, { mode: 0o600 });
        const env: NodeJS.ProcessEnv = { ...ctx.engine.env, PULUMI_HOME: home, PULUMI_CONFIG_PASSPHRASE_FILE: passFile };
        delete env["PULUMI_CONFIG_PASSPHRASE"];
        delete env["PULUMI_BACKEND_URL"];
        const leaked = Object.entries(env).filter(([, v]) => v !== undefined && passA !== "" && v.includes(passA));
        if (leaked.length > 0) {
            throw new E2eError(`backend B's environment holds passphrase A (${leaked.map(([k]) => k).join(", ")})`);
        }

        // The RUNBOOK's steps, in its order: login, the config file, init, import, preview with no changes.
        const runbook = fs.readFileSync(path.join(bundle, "RUNBOOK.md"), "utf8");
        const commands = takeoverCommands({ stackName: STACK, provider: { kind: "passphrase" }, stateFile: "state.json" }, bundle);
        const shown = takeoverCommands({ stackName: STACK, provider: { kind: "passphrase" }, stateFile: "state.json" }, "<bundle>");
        for (const argv of shown) {
            if (!runbook.includes(`pulumi ${argv.join(" ")}`)) {
                throw new E2eError(`the RUNBOOK does not show \`pulumi ${argv.join(" ")}\``);
            }
        }
        pulumiB(ctx, project, env, ["login", `file://${stateB}`]);
        fs.copyFileSync(path.join(bundle, `Pulumi.${STACK}.yaml`), path.join(project, `Pulumi.${STACK}.yaml`));
        const [init, imp, preview] = commands;
        pulumiB(ctx, project, env, init);
        pulumiB(ctx, project, env, imp);
        const previewStarted = Date.now();
        const p = pulumiB(ctx, project, env, preview, true);
        if (p.status !== 0) {
            throw new E2eError(`(backend B) the imported stack has changes (expected none):\n${tail(p.stdout, 80)}`);
        }
        const previewSeconds = (Date.now() - previewStarted) / 1000;

        // Passphrase A opens nothing in backend B.
        const asA = pulumiB(ctx, project, { ...env, PULUMI_CONFIG_PASSPHRASE_FILE: undefined, PULUMI_CONFIG_PASSPHRASE: passA }, ["stack", "export", "--show-secrets", "--stack", STACK], true);
        if (asA.status === 0) {
            throw new E2eError("(backend B) passphrase A opens the customer's state");
        }

        // A change applied from B: the front end's replicas, down to 2.
        const upStarted = Date.now();
        pulumiB(ctx, project, env, ["config", "set", "--stack", STACK, "herd:frontendReplicas", "2"]);
        pulumiB(ctx, project, env, ["up", "--yes", "--skip-preview", "--stack", STACK]);
        const ready = waitFor(60, () => kubectl(ctx, ["-n", "herd", "get", "deployment", "frontend", "-o", "jsonpath={.spec.replicas}/{.status.readyReplicas}"]) === "2/2");
        if (!ready) {
            throw new E2eError("(backend B) after up, the front end is not at 2 ready replicas within 60 s");
        }
        const after = pulumiB(ctx, project, env, ["preview", "--expect-no-changes", "--stack", STACK], true);
        if (after.status !== 0) {
            throw new E2eError(`(backend B) after the change, the stack is not at no changes:\n${tail(after.stdout, 40)}`);
        }
        const upSeconds = (Date.now() - upStarted) / 1000;
        const [, rekeyed, searched, nFiles, bytes, vendorCheck, handoffSeconds] = figures;
        return (
            `${rekeyed} secrets re-keyed to passphrase B; bundle ${nFiles} files, ${bytes} bytes, written in ${handoffSeconds} s; ${searched} plaintexts searched, none found; ` +
            `vendor's passphrase ${vendorCheck}; backend B: import + preview with 0 changes (${previewSeconds.toFixed(1)} s), frontend 3 -> 2 applied from B (${upSeconds.toFixed(1)} s); ` +
            `passphrase A in B's environment: nowhere, and it opens nothing there; total ${((Date.now() - started) / 1000).toFixed(1)} s`
        );
    },
};
