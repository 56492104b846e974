/**
 * The steps of `npm run e2e`, in order (the list in e2e/run.ts's header and e2e/README.md): each runs against the
 * onprem stack on the local control plane, checks what it must, and returns its line for the summary.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { assertReady, Ctx, engineWaitChain, K8sList, kubectl, kubectlJson, Meta, pulumi, pvcs, resourceCount, waitFor } from "./cluster-state";
import { copyProject, E2eError, Engine, lastingWarnings, must, PROJECT_DIR, secretPlaintexts, tail } from "./engine";
import { PREFLIGHT_STEPS, SUPPORT_BUNDLE_STEP } from "./preflight-steps";
import { TRANSFER_STEP } from "./transfer-steps";
import { HARDENING_STEP } from "./hardening-steps";

const STACK = "e2e";
const RENDER_STACK = "e2e-render";
/** The bound on the first `up`'s critical path (tests/wait-chain.test.ts holds every stack to it offline). */
const MAX_WAIT_CHAIN = 5;

/** What the summary reports beyond the steps' own lines. */
export interface Outcome {
    /** Resources in the state after the first up. */
    created: number;
}

export interface Step {
    readonly name: string;
    /** Runs the step; returns its detail for the summary ("" for none). Throws E2eError when a check fails. */
    readonly run: (ctx: Ctx, outcome: Outcome) => string;
}

function step(name: string, run: Step["run"]): Step {
    return { name, run };
}

/** Copies the project into tmp with the e2e stack's config and creates the stack: the context the steps run in. */
export function setUpStack(tmp: string, engine: Engine): Ctx {
    const project = path.join(tmp, "project");
    copyProject(project);
    fs.copyFileSync(path.join(PROJECT_DIR, "e2e", "stack.yaml"), path.join(project, `Pulumi.${STACK}.yaml`));
    const ctx: Ctx = { tmp, project, engine };
    pulumi(ctx, ["version"]);
    pulumi(ctx, ["stack", "init", STACK, "--secrets-provider", "passphrase"]);
    return ctx;
}

export const STEPS: readonly Step[] = [
    ...PREFLIGHT_STEPS,

    step("pulumi preview --diff --policy-pack policy", (ctx) => {
        const r = pulumi(ctx, ["preview", "--diff", "--stack", STACK, "--policy-pack", "policy"]);
        if (/mandatory/.test(r.stdout) && !/0 mandatory/.test(r.stdout) && /violation/i.test(r.stdout)) {
            throw new E2eError(`policy violations in the preview:\n${tail(r.stdout)}`);
        }
        const creates = /\+ (\d+) to create/.exec(r.stdout)?.[1] ?? "?";
        return `${creates} to create, no mandatory policy violation`;
    }),

    step("pulumi up --yes", (ctx, outcome) => {
        const r = pulumi(ctx, ["up", "--yes", "--skip-preview", "--stack", STACK]);
        const warnings = lastingWarnings(`${r.stdout}\n${r.stderr}`);
        if (warnings.length > 0) {
            throw new E2eError(`pulumi up ended with warnings (Pod Security admission, the API server or a provider):\n${warnings.join("\n")}`);
        }
        outcome.created = resourceCount(ctx, STACK);
        const chain = engineWaitChain(ctx, STACK);
        if (chain.length > MAX_WAIT_CHAIN) {
            throw new E2eError(`the engine's longest chain of waiting resources is ${chain.length} (at most ${MAX_WAIT_CHAIN}): ${chain.map((l) => l.key).join(" -> ")}`);
        }
        const ready = `${assertReady(ctx)}; migration Job complete: ${kubectl(ctx, ["-n", "herd", "get", "job", "api-migrate", "-o", "jsonpath={.status.succeeded}"])}`;
        return `${outcome.created} resources in the state; ${ready}; ${assertMirrored(ctx)}; longest wait chain in the state: ${chain.length} (${chain.map((l) => l.key.split("::")[1]).join(" -> ")})`;
    }),

    HARDENING_STEP,

    step("pulumi preview --expect-no-changes (no perpetual diff)", (ctx) => {
        const r = pulumi(ctx, ["preview", "--diff", "--expect-no-changes", "--stack", STACK], { allowFail: true });
        if (r.status !== 0) {
            throw new E2eError(`the second preview has changes (a perpetual diff):\n${tail(r.stdout, 80)}`);
        }
        return "0 changes";
    }),

    step("a change previewed, saved as a plan, applied with --plan", (ctx) => {
        pulumi(ctx, ["config", "set", "--stack", STACK, "herd:apiReplicas", "3"]);
        pulumi(ctx, ["config", "set", "--stack", STACK, "herd:frontendReplicas", "3"]);
        const plan = path.join(ctx.tmp, "plan.json");
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
    }),

    step("a replacement of PostgreSQL is refused by protect; nothing changes", (ctx) => {
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
    }),

    step("a wait that runs out explains itself: what was awaited, what to check, which key to raise", (ctx) => {
        // No node takes new pods (all cordoned), so a fourth front-end pod stays Pending and the rollout cannot
        // finish within the 1-minute budget set here.
        const nodes = kubectl(ctx, ["get", "nodes", "-o", "name"]).split("\n").filter((n) => n !== "");
        pulumi(ctx, ["config", "set", "--stack", STACK, "herd:waitAppMinutes", "1"]);
        pulumi(ctx, ["config", "set", "--stack", STACK, "herd:frontendReplicas", "4"]);
        kubectl(ctx, ["cordon", ...nodes]);
        let r;
        try {
            r = pulumi(ctx, ["up", "--yes", "--skip-preview", "--stack", STACK], { allowFail: true, timeoutSec: 600 });
        } finally {
            kubectl(ctx, ["uncordon", ...nodes]);
            pulumi(ctx, ["config", "set", "--stack", STACK, "herd:frontendReplicas", "3"]);
            pulumi(ctx, ["config", "rm", "--stack", STACK, "herd:waitAppMinutes"]);
        }
        const text = `${r.stdout}\n${r.stderr}`;
        const explained =
            /herd: kubernetes:apps\/v1:Deployment "frontend" did not become ready within 1 min: it waits for the front end's pods to be ready/.test(text) &&
            /check: kubectl -n herd describe deployment frontend/.test(text) &&
            /raise herd:waitAppMinutes \(now 1\)/.test(text);
        if (r.status === 0 || !explained) {
            throw new E2eError(`expected pulumi up to fail on the front end's rollout with herd's explanation (exit ${String(r.status)}):\n${tail(text, 40)}`);
        }
        pulumi(ctx, ["up", "--yes", "--skip-preview", "--stack", STACK]);
        assertReady(ctx);
        return "the rollout stopped after its 1-minute budget with herd's explanation; restored, all ready again";
    }),

    step("stack outputs -> handoff bundle; no secret in it or in the state", (ctx) => {
        const outputsFile = path.join(ctx.tmp, "outputs.json");
        fs.writeFileSync(outputsFile, pulumi(ctx, ["stack", "output", "--json", "--stack", STACK]).stdout);
        const bundle = path.join(ctx.tmp, "handoff");
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
    }),

    SUPPORT_BUNDLE_STEP,

    step("teardown as the README says; namespace, claims and volumes stay; a new up re-binds them", (ctx) => {
        const before = new Map(pvcs(ctx).map((c) => [c.metadata.name, c.metadata.uid]));
        const boundBefore = new Set(pvcs(ctx).filter((c) => c.status.phase === "Bound").map((c) => c.metadata.name));
        pulumi(ctx, ["config", "set", "--stack", STACK, "herd:protectData", "false"]);
        const exceptions = path.join(ctx.tmp, "policy-exceptions.json");
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
    }),

    step("render-to-directory: pulumi up writes YAML; kubectl apply --dry-run=server accepts it", (ctx) => {
        const rendered = path.join(ctx.tmp, "rendered");
        const config = fs.readFileSync(path.join(PROJECT_DIR, "e2e", "stack.yaml"), "utf8") + `  herd:renderDirectory: ${rendered}\n`;
        fs.writeFileSync(path.join(ctx.project, `Pulumi.${RENDER_STACK}.yaml`), config);
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
    }),

    // Last: backend B takes the stack over (and changes the cluster); backend A's steps are all done by then.
    TRANSFER_STEP,
];

/**
 * herd:imageRegistryMirror (e2e/stack.yaml) applied by the real engine: herd's resource transform rewrote every image
 * of every workload it created, so each pod, Job and CronJob names only the stack's registry host.
 */
function assertMirrored(ctx: Ctx): string {
    const paths = "{range .items[*]}{range .spec.containers[*]}{.image}{'\\n'}{end}{range .spec.initContainers[*]}{.image}{'\\n'}{end}{end}";
    const images = new Set(kubectl(ctx, ["-n", "herd", "get", "pods", "-o", `jsonpath=${paths}`]).split("\n").filter((i) => i !== ""));
    const cron = kubectl(ctx, ["-n", "herd", "get", "cronjobs", "-o", "jsonpath={range .items[*]}{range .spec.jobTemplate.spec.template.spec.containers[*]}{.image}{'\\n'}{end}{end}"]);
    for (const image of cron.split("\n").filter((i) => i !== "")) {
        images.add(image);
    }
    const elsewhere = [...images].filter((i) => !i.startsWith("registry.e2e.invalid/"));
    if (images.size === 0 || elsewhere.length > 0) {
        throw new E2eError(`herd:imageRegistryMirror did not reach every workload: ${elsewhere.length > 0 ? `images outside registry.e2e.invalid: ${elsewhere.join(", ")}` : "no image found"}`);
    }
    const mirrored = [...images].filter((i) => i.startsWith("registry.e2e.invalid/mirror/")).length;
    return `${images.size} distinct images, all from registry.e2e.invalid (${mirrored} through the mirror path)`;
}
