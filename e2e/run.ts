/**
 * npm run e2e [-- --keep] : herd's main job for real. The Pulumi CLI, its Node.js language host and the kubernetes,
 * random and tls provider plugins (built from Go modules by e2e/build-pulumi.sh, or the user's own `pulumi` when one
 * is on PATH), a local Kubernetes control plane with fake nodes (e2e/cluster.sh), a file backend and a passphrase
 * secrets provider in a temporary directory, and the onprem stack (e2e/stack.yaml) taken through:
 *   1. preview --diff with the policy pack       5. a replacement of PostgreSQL refused by protect, nothing changed
 *   2. up: every resource created and ready       6. outputs -> handoff bundle, no secret in it or in the export
 *   3. a second preview with no changes           7. teardown as the README says; the claims survive and re-bind
 *   4. a change previewed, saved as a plan, applied with --plan
 *   8. the render-to-directory mode, applied with kubectl --dry-run=server
 * and a summary: resources created, the time of each step, the changes on the second preview (must be 0).
 */
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { copyProject, E2eError, Engine, kubectl as kubectlIn, lastingWarnings, log, must, PROJECT_DIR, pulumi as pulumiIn, secretPlaintexts, startEngine, tail } from "./engine";

const STACK = "e2e";
const RENDER_STACK = "e2e-render";

const USAGE = `usage: npm run e2e [-- --keep]

Builds (cached) the Pulumi CLI, its Node.js language host, the kubernetes/random/tls plugins and a local Kubernetes
control plane from Go modules, then applies the onprem stack (e2e/stack.yaml) to it with the real engine: preview
with the policy pack, up, a no-change preview, a plan-locked change, a refused replacement, the handoff, teardown
and re-up, and the render-to-directory mode. Everything runs on 127.0.0.1 in a temporary directory.

  --keep       keep the temporary directory and leave the control plane running (prints how to reach it)
  -h, --help   this text

env: HERD_E2E_CACHE (build cache, default ~/.cache/herd-e2e), HERD_E2E_PORT_BASE (default 16400),
     HERD_E2E_PULUMI (a pulumi binary to use instead of the one on PATH or the built one)`;

/** The engine and the project copy it runs in. */
interface Ctx {
    readonly tmp: string;
    readonly project: string;
    readonly engine: Engine;
}

interface StepResult {
    readonly name: string;
    readonly seconds: number;
    readonly detail: string;
}

const steps: StepResult[] = [];

function pulumi(ctx: Ctx, args: readonly string[], opts: { timeoutSec?: number; allowFail?: boolean } = {}): SpawnSyncReturns<string> {
    return pulumiIn(ctx.engine, ctx.project, args, opts);
}

function kubectl(ctx: Ctx, args: readonly string[]): string {
    return kubectlIn(ctx.engine, args);
}

function kubectlJson<T>(ctx: Ctx, args: readonly string[]): T {
    return JSON.parse(kubectl(ctx, [...args, "-o", "json"])) as T;
}

async function step(name: string, body: () => string | Promise<string>): Promise<void> {
    log(`step ${steps.length + 1}: ${name}`);
    const started = Date.now();
    const detail = await body();
    const seconds = (Date.now() - started) / 1000;
    steps.push({ name, seconds, detail });
    log(`  ok in ${seconds.toFixed(1)} s${detail !== "" ? `: ${detail}` : ""}`);
}

interface K8sList<T> {
    items: T[];
}
interface Meta {
    metadata: { name: string; uid: string; namespace?: string };
}
type Pvc = Meta & { status: { phase: string }; spec: { volumeName?: string } };
type Workload = Meta & { spec: { replicas?: number }; status: { readyReplicas?: number; availableReplicas?: number } };

function pvcs(ctx: Ctx): Pvc[] {
    return kubectlJson<K8sList<Pvc>>(ctx, ["-n", "herd", "get", "pvc"]).items;
}

function assertReady(ctx: Ctx): string {
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
function waitFor(seconds: number, condition: () => boolean): boolean {
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

function resourceCount(ctx: Ctx, stack: string): number {
    const exported = JSON.parse(pulumi(ctx, ["stack", "export", "--stack", stack]).stdout) as { deployment?: { resources?: unknown[] } };
    return exported.deployment?.resources?.length ?? 0;
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

        const project = path.join(tmp, "project");
        copyProject(project);
        fs.copyFileSync(path.join(PROJECT_DIR, "e2e", "stack.yaml"), path.join(project, `Pulumi.${STACK}.yaml`));
        const ctx: Ctx = { tmp, project, engine };
        pulumi(ctx, ["version"]);
        pulumi(ctx, ["stack", "init", STACK, "--secrets-provider", "passphrase"]);

        await step("pulumi preview --diff --policy-pack policy", () => {
            const r = pulumi(ctx, ["preview", "--diff", "--stack", STACK, "--policy-pack", "policy"]);
            if (/mandatory/.test(r.stdout) && !/0 mandatory/.test(r.stdout) && /violation/i.test(r.stdout)) {
                throw new E2eError(`policy violations in the preview:\n${tail(r.stdout)}`);
            }
            const creates = /\+ (\d+) to create/.exec(r.stdout)?.[1] ?? "?";
            return `${creates} to create, no mandatory policy violation`;
        });

        let created = 0;
        await step("pulumi up --yes", () => {
            const r = pulumi(ctx, ["up", "--yes", "--skip-preview", "--stack", STACK]);
            const warnings = lastingWarnings(`${r.stdout}\n${r.stderr}`);
            if (warnings.length > 0) {
                throw new E2eError(`pulumi up ended with warnings (Pod Security admission, the API server or a provider):\n${warnings.join("\n")}`);
            }
            created = resourceCount(ctx, STACK);
            return `${created} resources in the state; ${assertReady(ctx)}; migration Job complete: ${kubectl(ctx, ["-n", "herd", "get", "job", "api-migrate", "-o", "jsonpath={.status.succeeded}"])}`;
        });

        await step("pulumi preview --expect-no-changes (no perpetual diff)", () => {
            const r = pulumi(ctx, ["preview", "--diff", "--expect-no-changes", "--stack", STACK], { allowFail: true });
            if (r.status !== 0) {
                throw new E2eError(`the second preview has changes (a perpetual diff):\n${tail(r.stdout, 80)}`);
            }
            return "0 changes";
        });

        await step("a change previewed, saved as a plan, applied with --plan", () => {
            pulumi(ctx, ["config", "set", "--stack", STACK, "herd:apiReplicas", "3"]);
            pulumi(ctx, ["config", "set", "--stack", STACK, "herd:frontendReplicas", "3"]);
            const plan = path.join(tmp, "plan.json");
            const preview = pulumi(ctx, ["preview", "--diff", "--stack", STACK, "--save-plan", plan]);
            pulumi(ctx, ["up", "--yes", "--stack", STACK, "--plan", plan]);
            // herd:apiReplicas is the autoscaler's floor (the HPA owns the Deployment's replicas): the HPA controller
            // scales the API up within its sync period (15 s). The front end's replicas are the Deployment's own.
            const fe = kubectl(ctx, ["-n", "herd", "get", "deployment", "frontend", "-o", "jsonpath={.status.readyReplicas}"]);
            const api = waitFor(60, () => kubectl(ctx, ["-n", "herd", "get", "deployment", "api", "-o", "jsonpath={.status.readyReplicas}"]) === "3");
            if (!api || fe !== "3") {
                throw new E2eError(`after up --plan: api ready ${api ? "3" : "not 3 within 60 s"}, frontend ready ${fe} (expected 3 and 3)`);
            }
            return `${/~ (\d+) to update/.exec(preview.stdout)?.[1] ?? "?"} to update; frontend 3 ready at once, api scaled to 3 by its HPA`;
        });

        await step("a replacement of PostgreSQL is refused by protect; nothing changes", () => {
            const before = kubectlJson<Meta>(ctx, ["-n", "herd", "get", "statefulset", "postgres"]).metadata.uid;
            pulumi(ctx, ["config", "set", "--stack", STACK, "herd:postgresStorageSize", "4Gi"]);
            const r = pulumi(ctx, ["up", "--yes", "--stack", STACK], { allowFail: true });
            pulumi(ctx, ["config", "set", "--stack", STACK, "herd:postgresStorageSize", "2Gi"]);
            if (r.status === 0) {
                throw new E2eError("pulumi up replaced the protected PostgreSQL StatefulSet");
            }
            const text = `${r.stdout}\n${r.stderr}`;
            const refusal = text.split("\n").find((l) => /protect/i.test(l)) ?? "";
            if (refusal === "") {
                throw new E2eError(`pulumi up failed, but not because of protect:\n${tail(text)}`);
            }
            const after = kubectlJson<Meta>(ctx, ["-n", "herd", "get", "statefulset", "postgres"]).metadata.uid;
            if (after !== before) {
                throw new E2eError("the PostgreSQL StatefulSet was re-created");
            }
            const check = pulumi(ctx, ["preview", "--expect-no-changes", "--stack", STACK], { allowFail: true });
            if (check.status !== 0) {
                throw new E2eError(`after the refused change the stack is not back to no changes:\n${tail(check.stdout)}`);
            }
            return `refused: ${refusal.trim().slice(0, 160)}`;
        });

        await step("stack outputs -> handoff bundle; no secret in it or in the state", () => {
            const outputsFile = path.join(tmp, "outputs.json");
            fs.writeFileSync(outputsFile, pulumi(ctx, ["stack", "output", "--json", "--stack", STACK]).stdout);
            const bundle = path.join(tmp, "handoff");
            must("npm", ["run", "--silent", "handoff", "--", "--stack", STACK, "--outputs-file", outputsFile, "--out", bundle], { cwd: ctx.project, env: ctx.engine.env, log: path.join(ctx.engine.logs, "handoff.log") });
            const secrets = new Set<string>();
            secretPlaintexts(JSON.parse(pulumi(ctx, ["stack", "export", "--show-secrets", "--stack", STACK]).stdout) as unknown, secrets);
            if (secrets.size < 3) {
                throw new E2eError(`expected the generated passwords among the state's secrets, found ${secrets.size}`);
            }
            const exported = pulumi(ctx, ["stack", "export", "--stack", STACK]).stdout;
            const files = fs.readdirSync(bundle).map((f) => [f, fs.readFileSync(path.join(bundle, f), "utf8")] as const);
            for (const s of secrets) {
                if (exported.includes(s)) {
                    throw new E2eError("pulumi stack export holds a secret in plaintext");
                }
                for (const [f, text] of files) {
                    if (text.includes(s)) {
                        throw new E2eError(`the handoff bundle's ${f} holds a secret value`);
                    }
                }
            }
            const outputs = JSON.parse(fs.readFileSync(path.join(bundle, "outputs.json"), "utf8")) as { app?: { url?: string } };
            return `bundle: ${files.map(([f]) => f).join(", ")}; app.url ${outputs.app?.url ?? "?"}; ${secrets.size} secrets, none in plaintext`;
        });

        await step("teardown as the README says; namespace, claims and volumes stay; a new up re-binds them", () => {
            const before = new Map(pvcs(ctx).map((c) => [c.metadata.name, c.metadata.uid]));
            const boundBefore = new Set(pvcs(ctx).filter((c) => c.status.phase === "Bound").map((c) => c.metadata.name));
            pulumi(ctx, ["config", "set", "--stack", STACK, "herd:protectData", "false"]);
            const exceptions = path.join(tmp, "policy-exceptions.json");
            const reason = "e2e: throwaway stack on the local control plane, torn down by the test itself";
            fs.writeFileSync(
                exceptions,
                JSON.stringify({
                    "statefulset-data-safety": {
                        exceptions: ["postgres", "redis", "elastic"].map((n) => ({ resource: `kubernetes:apps/v1:StatefulSet::${n}`, reason })),
                    },
                }),
            );
            pulumi(ctx, ["up", "--yes", "--stack", STACK, "--policy-pack", "policy", "--policy-pack-config", exceptions]);
            pulumi(ctx, ["destroy", "--yes", "--stack", STACK]);
            kubectl(ctx, ["get", "namespace", "herd"]);
            const after = pvcs(ctx);
            const lost = [...before.keys()].filter((n) => !after.some((c) => c.metadata.name === n && c.metadata.uid === before.get(n)));
            if (lost.length > 0) {
                throw new E2eError(`pulumi destroy deleted claims: ${lost.join(", ")}`);
            }
            const pvs = kubectlJson<K8sList<Meta & { status: { phase: string } }>>(ctx, ["get", "pv"]).items.filter((v) => v.status.phase === "Bound");
            pulumi(ctx, ["config", "set", "--stack", STACK, "herd:protectData", "true"]);
            pulumi(ctx, ["up", "--yes", "--skip-preview", "--stack", STACK]);
            const again = pvcs(ctx);
            const same = [...before.keys()].filter((n) => again.some((c) => c.metadata.name === n && c.metadata.uid === before.get(n)));
            const rebound = [...boundBefore].filter((n) => again.some((c) => c.metadata.name === n && c.status.phase === "Bound"));
            if (same.length !== before.size || rebound.length !== boundBefore.size || again.length !== before.size) {
                throw new E2eError(
                    `after a new up: ${same.length} of ${before.size} claims are the same ones, ${rebound.length} of ${boundBefore.size} Bound again, ${again.length} claims in all`,
                );
            }
            return `namespace and ${before.size} claims kept (${pvs.length} volumes Bound); the new up uses the same ${same.length} claims; ${assertReady(ctx)}`;
        });

        await step("render-to-directory: pulumi up writes YAML; kubectl apply --dry-run=server accepts it", () => {
            const rendered = path.join(tmp, "rendered");
            const config = fs.readFileSync(path.join(PROJECT_DIR, "e2e", "stack.yaml"), "utf8") + `  herd:renderDirectory: ${rendered}\n`;
            fs.writeFileSync(path.join(project, `Pulumi.${RENDER_STACK}.yaml`), config);
            pulumi(ctx, ["stack", "init", RENDER_STACK, "--secrets-provider", "passphrase"]);
            pulumi(ctx, ["up", "--yes", "--skip-preview", "--stack", RENDER_STACK]);
            const count = (dir: string) => must("find", [dir, "-name", "*.yaml"]).trim().split("\n").filter((l) => l !== "").length;
            const objects = count(rendered);
            const secretObjects = count(`${rendered}.secrets`);
            kubectl(ctx, ["apply", "--dry-run=server", "-R", "-f", rendered]);
            kubectl(ctx, ["apply", "--dry-run=server", "-R", "-f", `${rendered}.secrets`]);
            // Rendering created nothing in a cluster: the stack's state is all there is to remove.
            pulumi(ctx, ["stack", "rm", "--yes", "--force", "--stack", RENDER_STACK]);
            return `${objects} objects and ${secretObjects} Secrets rendered, accepted by the API server (dry run)`;
        });

        const total = (Date.now() - started) / 1000;
        const lines = [
            "",
            "herd e2e: the onprem stack applied with the real engine to a local control plane",
            ...steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${s.name.padEnd(92)} ${s.seconds.toFixed(1).padStart(7)} s${s.detail !== "" ? `\n      ${s.detail}` : ""}`),
            `  resources created by the first up: ${created}`,
            "  changes on the second preview: 0",
            `  total ${total.toFixed(0)} s; logs in ${keep ? logs : "(removed; run with --keep to keep them)"}`,
            "e2e: 1 passed, 0 failed",
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
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
