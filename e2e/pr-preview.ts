/**
 * npm run e2e:preview -- --base <git ref> [--out <dir>] [--keep] : the engine's own preview of a pull request.
 *
 * The base commit's program (a git worktree of <ref>, with the base's own e2e/stack.yaml and this checkout's
 * node_modules linked in) is applied with `pulumi up` to a fresh local control plane (e2e/engine.ts: the toolchain,
 * a file backend and a passphrase in a temporary directory). Then this checkout's program (the working tree, with its
 * own e2e/stack.yaml) is previewed against that same stack state with the policy pack, twice: `--json --event-log`
 * (the steps, their diffs and replace reasons, and the policy events, which the JSON digest leaves out) and `--diff`
 * (the engine's text diff). The comment builder (scripts/preview-comment.ts) turns both into Markdown.
 *
 * Writes into <out> (default engine-preview/): engine-preview.md, preview.json (the engine's digest), events.jsonl
 * (its policy events), preview.txt (the text diff), result.json (base, status, figures). Exit 0 when the engine's
 * preview passed; 3 when it ran and failed (a mandatory policy violation, a protected resource it refuses to replace or
 * delete, an error: `pulumi up` would fail the same way), with everything written; 1 when it could not run (the reason
 * in one paragraph, nothing written); 2 on a usage error.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { buildPreviewComment, PolicyEventRecord, PreviewDigest } from "../scripts/preview-comment";
import { copyProject, E2eError, Engine, kubectl, log, PROJECT_DIR, pulumi, run, startEngine, tail } from "./engine";

const STACK = "e2e";

export const USAGE = `usage: npm run e2e:preview -- --base <git ref> [--out <dir>] [--keep]

The real engine's preview of this checkout against <git ref>: the base commit's program is applied with pulumi up
(its own e2e/stack.yaml) to a fresh local control plane, then this checkout's program is previewed against that state
with the policy pack. Writes <out>/engine-preview.md (replacements and deletions first, protected resources a change
would touch, policy violations, updates, the full diff folded) and the engine's raw output beside it.

  --base <git ref>   the commit to compare with (a branch, tag or sha; in CI the pull request's base sha)
  --out <dir>        where to write (default: engine-preview)
  --keep             keep the temporary directory and leave the control plane running
  -h, --help         this text

exit: 0 the engine's preview passed; 3 it failed (pulumi up would too: the Markdown says why); 1 it could not run;
      2 a usage error

env: HERD_E2E_CACHE, HERD_E2E_PORT_BASE, HERD_E2E_PULUMI (as for npm run e2e)`;

export interface PreviewArgs {
    readonly base: string;
    readonly out: string;
    readonly keep: boolean;
}

/** Parses the command line; throws E2eError naming the option on bad input. `undefined`: --help. */
export function parseArgs(argv: readonly string[]): PreviewArgs | undefined {
    let base: string | undefined;
    let out = "engine-preview";
    let keep = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "-h" || a === "--help") {
            return undefined;
        }
        if (a === "--keep") {
            keep = true;
        } else if (a === "--base" || a === "--out") {
            const v = argv[i + 1];
            if (v === undefined || v.startsWith("--") || v === "") {
                throw new E2eError(`${a}: expected a value, got ${v === undefined ? "nothing" : `'${v}'`}`);
            }
            if (a === "--base") {
                base = v;
            } else {
                out = v;
            }
            i++;
        } else {
            throw new E2eError(`unknown option '${a}'`);
        }
    }
    if (base === undefined) {
        throw new E2eError("--base <git ref> is required (the commit to preview against, e.g. origin/main)");
    }
    return { base, out, keep };
}

function git(args: readonly string[]): { ok: boolean; out: string; err: string } {
    const r = run("git", args, { cwd: PROJECT_DIR, timeoutSec: 120 });
    return { ok: r.status === 0, out: r.stdout.trim(), err: r.stderr.trim() };
}

/** The base commit, checked: it resolves, and it has e2e/stack.yaml (the engine preview has nothing to apply before). */
export function resolveBase(ref: string): string {
    const resolved = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    if (!resolved.ok || resolved.out === "") {
        throw new E2eError(`--base ${ref}: no such commit in this repository (in a shallow clone fetch it first, e.g. actions/checkout with fetch-depth: 0)`);
    }
    const commit = resolved.out;
    if (!git(["cat-file", "-e", `${commit}:e2e/stack.yaml`]).ok) {
        const first = git(["log", "--diff-filter=A", "--format=%h", "--reverse", "--", "e2e/stack.yaml"]).out.split("\n")[0] ?? "";
        throw new E2eError(
            `--base ${ref} (${commit.slice(0, 12)}) has no e2e/stack.yaml, so there is no engine stack to apply it with: the engine preview starts from the first commit that has one${first !== "" ? ` (${first})` : ""}; choose that or a newer base`,
        );
    }
    return commit;
}

/** The StorageClass a stack file names (herd:storageClass), for the control plane's static volumes. */
function storageClassOf(stackFile: string): string {
    const doc = parse(fs.readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null;
    const v = doc?.config?.["herd:storageClass"];
    return typeof v === "string" && v !== "" ? v : "herd-retain";
}

/** A stack file for the head: the head's own config, with the encryption salt `stack init` wrote for the base. */
export function headStackFile(headConfig: string, baseStackFile: string): string {
    const salt = /^encryptionsalt:.*$/m.exec(baseStackFile)?.[0];
    const withoutSalt = headConfig.replace(/^encryptionsalt:.*\n?/m, "");
    return salt === undefined ? withoutSalt : `${salt}\n${withoutSalt}`;
}

/** Policy events from an engine event log (one JSON event per line). */
export function policyEventsOf(eventLog: string): PolicyEventRecord[] {
    const out: PolicyEventRecord[] = [];
    for (const line of eventLog.split("\n")) {
        if (line.trim() === "") {
            continue;
        }
        const e = JSON.parse(line) as { policyEvent?: PolicyEventRecord };
        if (e.policyEvent !== undefined) {
            out.push(e.policyEvent);
        }
    }
    return out;
}

interface Timings {
    toolchain: number;
    cluster: number;
    baseUp: number;
    headPreview: number;
    total: number;
}

async function main(argv: string[]): Promise<number> {
    let args: PreviewArgs | undefined;
    try {
        args = parseArgs(argv);
    } catch (err) {
        process.stderr.write(`npm run e2e:preview: ${(err as Error).message}\n${USAGE}\n`);
        return 2;
    }
    if (args === undefined) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
    }
    const started = Date.now();
    const out = path.resolve(args.out);
    // A base that does not resolve (or has no engine stack) is an answer of its own: nothing is created for it.
    let commit: string;
    try {
        commit = resolveBase(args.base);
    } catch (err) {
        process.stderr.write(`e2e:preview: ${(err as Error).message}\n`);
        return 1;
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "herd-e2e-preview-"));
    const baseTree = path.join(tmp, "base");
    let worktree = false;
    let engine: Engine | undefined;
    let failed = false;
    const cleanupTree = () => {
        for (const dir of ["node_modules", "policy/node_modules"]) {
            const link = path.join(baseTree, dir);
            try {
                if (fs.lstatSync(link).isSymbolicLink()) {
                    fs.unlinkSync(link);
                }
            } catch {
                // not linked
            }
        }
        if (worktree) {
            if (!git(["worktree", "remove", "--force", baseTree]).ok) {
                fs.rmSync(baseTree, { recursive: true, force: true });
                git(["worktree", "prune"]);
            }
            worktree = false;
        }
    };
    const onSignal = (signal: NodeJS.Signals) => {
        engine?.stop(false);
        cleanupTree();
        process.exit(signal === "SIGINT" ? 130 : 143);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
        log(`base ${args.base} = ${commit.slice(0, 12)}; head = this checkout (${PROJECT_DIR})`);
        for (const dir of ["node_modules", "policy/node_modules"]) {
            if (!fs.existsSync(path.join(PROJECT_DIR, dir))) {
                throw new E2eError(`${dir} is missing: run npm run setup (or npm ci and npm ci --prefix policy) first`);
            }
        }
        const added = git(["worktree", "add", "--detach", baseTree, commit]);
        if (!added.ok) {
            throw new E2eError(`git worktree add ${baseTree} ${commit.slice(0, 12)} failed: ${added.err}`);
        }
        worktree = true;
        for (const dir of ["node_modules", "policy/node_modules"]) {
            fs.symlinkSync(path.join(PROJECT_DIR, dir), path.join(baseTree, dir), "dir");
        }
        const baseStack = path.join(baseTree, `Pulumi.${STACK}.yaml`);
        fs.copyFileSync(path.join(baseTree, "e2e", "stack.yaml"), baseStack);

        engine = startEngine(tmp, { storageClasses: [storageClassOf(baseStack)], count: 8, size: "5Gi" });
        const ingressClass = path.join(tmp, "ingressclass-nginx.yaml");
        // What an ingress-nginx install registers on a customer's cluster (kwok's stage plays its controller).
        fs.writeFileSync(ingressClass, "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: nginx\nspec:\n  controller: k8s.io/ingress-nginx\n");
        kubectl(engine, ["apply", "-f", ingressClass]);

        log(`pulumi up of the base (${commit.slice(0, 12)})`);
        const baseStarted = Date.now();
        pulumi(engine, baseTree, ["stack", "init", STACK, "--secrets-provider", "passphrase"]);
        const up = pulumi(engine, baseTree, ["up", "--yes", "--skip-preview", "--stack", STACK], { allowFail: true, timeoutSec: 1800 });
        if (up.status !== 0) {
            throw new E2eError(
                `the base ${args.base} (${commit.slice(0, 12)}) does not apply: its own pulumi up failed on the local control plane, so there is no state to preview this change against. The engine's last lines:\n${tail(`${up.stdout}\n${up.stderr}`, 40)}`,
            );
        }
        const baseUp = (Date.now() - baseStarted) / 1000;

        // The head: this checkout's working tree, in the same backend and stack (same project name, same salt).
        const head = path.join(tmp, "head");
        copyProject(head);
        fs.writeFileSync(path.join(head, `Pulumi.${STACK}.yaml`), headStackFile(fs.readFileSync(path.join(PROJECT_DIR, "e2e", "stack.yaml"), "utf8"), fs.readFileSync(baseStack, "utf8")));
        fs.mkdirSync(out, { recursive: true });
        log("pulumi preview of this checkout against the base's state (json, then text)");
        const headStarted = Date.now();
        const eventLog = path.join(tmp, "events.jsonl");
        // --event-log is one of the CLI's debug commands (PULUMI_DEBUG_COMMANDS): the only place its policy events are.
        const debug: Engine = { ...engine, env: { ...engine.env, PULUMI_DEBUG_COMMANDS: "true" } };
        const json = pulumi(debug, head, ["preview", "--diff", "--json", "--event-log", eventLog, "--stack", STACK, "--policy-pack", "policy"], { allowFail: true });
        const text = pulumi(engine, head, ["preview", "--diff", "--stack", STACK, "--policy-pack", "policy"], { allowFail: true });
        const headPreview = (Date.now() - headStarted) / 1000;
        let digest: PreviewDigest;
        try {
            digest = JSON.parse(json.stdout) as PreviewDigest;
        } catch {
            throw new E2eError(`pulumi preview --json printed no JSON (exit ${String(json.status)}):\n${tail(`${json.stdout}\n${json.stderr}`, 40)}`);
        }
        const events = fs.existsSync(eventLog) ? fs.readFileSync(eventLog, "utf8") : "";
        const timings: Timings = { toolchain: engine.buildSeconds, cluster: engine.clusterSeconds, baseUp, headPreview, total: (Date.now() - started) / 1000 };
        fs.writeFileSync(path.join(out, "preview.json"), json.stdout);
        fs.writeFileSync(path.join(out, "events.jsonl"), events.split("\n").filter((l) => l.includes('"policyEvent"')).join("\n"));
        fs.writeFileSync(path.join(out, "preview.txt"), `${text.stdout}${text.stderr !== "" ? `\n${text.stderr}` : ""}`);
        const markdown = buildPreviewComment({
            digest,
            policyEvents: policyEventsOf(events),
            textDiff: text.stdout,
            previewExitCode: json.status ?? 1,
            base: { ref: args.base, commit },
            timings: { baseUpSeconds: baseUp, headPreviewSeconds: headPreview },
        });
        fs.writeFileSync(path.join(out, "engine-preview.md"), markdown);
        fs.writeFileSync(path.join(out, "result.json"), `${JSON.stringify({ base: commit, status: "ok", previewExitCode: json.status, changeSummary: digest.changeSummary ?? {}, timings }, null, 2)}\n`);
        process.stdout.write(
            `e2e:preview: wrote ${path.join(out, "engine-preview.md")} (${markdown.length} characters); toolchain ${timings.toolchain.toFixed(0)} s, control plane ${timings.cluster.toFixed(0)} s, base up ${baseUp.toFixed(0)} s, head preview ${headPreview.toFixed(0)} s, total ${timings.total.toFixed(0)} s\n`,
        );
        return json.status === 0 ? 0 : 3;
    } catch (err) {
        failed = true;
        const message = err instanceof E2eError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
        process.stderr.write(`\ne2e:preview: ${message}\ne2e:preview: logs kept in ${path.join(tmp, "logs")}\n`);
        return 1;
    } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        if (engine !== undefined && !args.keep) {
            engine.stop(failed);
        }
        if (!args.keep) {
            cleanupTree();
            if (!failed) {
                fs.rmSync(tmp, { recursive: true, force: true });
            }
        } else if (engine !== undefined) {
            // The stack's state is only usable with the run's passphrase: written for the one who asked to keep it
            // (mode 0600, in the run's private temp dir), so `pulumi up` of the head can follow the preview by hand.
            const envFile = path.join(tmp, "env.sh");
            const keys = ["PATH", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "KUBECONFIG", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "PULUMI_SKIP_UPDATE_CHECK"];
            const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
            fs.writeFileSync(envFile, keys.map((k) => `export ${k}=${quote(engine?.env[k] ?? "")}\n`).join(""), { mode: 0o600 });
            log(
                `kept ${tmp}; the control plane is still running. Go on by hand: . ${envFile}; cd ${path.join(tmp, "head")}; pulumi up --stack e2e ` +
                    `(stop it with HERD_E2E_DIR=${path.join(tmp, "cluster")} e2e/cluster.sh stop; remove the worktree with git worktree remove --force ${baseTree})`,
            );
        } else {
            log(`kept ${tmp}`);
        }
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err: unknown) => {
            process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
            process.exit(1);
        },
    );
}
