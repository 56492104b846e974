/**
 * npm run bench:e2e [-- --runs N] : a benchmark, not a test. Wall time of `pulumi preview` and `pulumi up` of the
 * onprem stack with the real engine on the local control plane, in herd's runtime mode (main.cjs: esbuild
 * transpile, content-addressed cache, no type-check) against Pulumi's default TypeScript mode (`typescript: true`,
 * index.ts through the vendored ts-node with type-checking), measured in the same run, with the ratios.
 *
 * Per mode, in its own namespace and StorageClass: N first previews (nothing deployed; the first with cold caches,
 * the rest warm), one `up`, then N no-change previews. Medians of the warm runs.
 *
 * With `--base <git-ref>`: the first `up` of that commit against the working tree instead (e2e/bench-base.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { baseBenchStorageClasses, benchAgainstBase, resolveRef } from "./bench-base";
import { copyProject, E2eError, Engine, log, median, PROJECT_DIR, pulumi, startEngine, timed } from "./engine";

const USAGE = `usage: npm run bench:e2e [-- --runs N] [--base <git-ref> [--pod-delay SECONDS]]

Times pulumi preview and pulumi up of the onprem stack on the local control plane (the toolchain and cluster of
npm run e2e) in herd's runtime mode against Pulumi's default TypeScript mode (ts-node with type-checking), in one
run, and prints the ratios. --runs N: previews per measurement (default 3). Takes a few minutes.

--base <git-ref>: instead, the first pulumi up of that commit against the working tree, N rounds (default 3)
alternating which goes first, each pod taking --pod-delay seconds (default 5) to become ready, as real pods do;
prints each round, the medians, the ratio and the longest chain of waiting resources of each side.`;

type Mode = "herd" | "default";

interface Timings {
    readonly coldPreview: number;
    readonly warmPreview: number;
    readonly up: number;
    readonly noChangePreview: number;
}

/** A project copy set up for one mode: its own stack file, namespace and StorageClass, its own caches. */
function prepare(engine: Engine, mode: Mode): { project: string; caches: string } {
    const project = path.join(engine.tmp, `project-${mode}`);
    copyProject(project);
    const yaml = fs.readFileSync(path.join(project, "Pulumi.yaml"), "utf8");
    if (mode === "default") {
        // What `pulumi new typescript` gives: Pulumi runs index.ts itself through ts-node, type-checking it.
        const changed = yaml
            .replace(/^main: main\.cjs$/m, "main: index.ts")
            .replace(/^(\s+)typescript: false$/m, "$1typescript: true")
            .replace(/^\s+nodeargs: .*\n/m, "");
        if (changed === yaml || !/typescript: true/.test(changed) || /nodeargs/.test(changed)) {
            throw new E2eError("Pulumi.yaml no longer has `main: main.cjs`, `typescript: false` and `nodeargs`: update e2e/bench.ts");
        }
        fs.writeFileSync(path.join(project, "Pulumi.yaml"), changed);
    }
    const stack = fs
        .readFileSync(path.join(PROJECT_DIR, "e2e", "stack.yaml"), "utf8")
        .replace(/^(\s+herd:namespace:).*$/m, `$1 herd-${mode}`)
        .replace(/^(\s+herd:storageClass:).*$/m, `$1 herd-bench-${mode}`);
    fs.writeFileSync(path.join(project, `Pulumi.bench-${mode}.yaml`), stack);
    pulumi(engine, project, ["stack", "init", `bench-${mode}`, "--secrets-provider", "passphrase"]);
    return { project, caches: path.join(engine.tmp, `caches-${mode}`) };
}

function measure(engine: Engine, mode: Mode, runs: number): Timings {
    const { project, caches } = prepare(engine, mode);
    const stack = `bench-${mode}`;
    // Each mode's caches start empty: herd's transpile and code caches (HERD_TS_CACHE_DIR, HERD_CODE_CACHE_DIR) and
    // ts-node's (TS_NODE_CACHE_DIRECTORY).
    const withCaches: Engine = {
        ...engine,
        env: {
            ...engine.env,
            HERD_TS_CACHE_DIR: path.join(caches, "herd-ts"),
            HERD_CODE_CACHE_DIR: path.join(caches, "herd-v8"),
            TS_NODE_CACHE_DIRECTORY: path.join(caches, "ts-node"),
        },
    };
    const previews: number[] = [];
    for (let i = 0; i < runs; i++) {
        previews.push(timed(() => pulumi(withCaches, project, ["preview", "--stack", stack])));
        log(`${mode}: preview ${i + 1}/${runs}: ${previews[i].toFixed(1)} s`);
    }
    const up = timed(() => pulumi(withCaches, project, ["up", "--yes", "--skip-preview", "--stack", stack]));
    log(`${mode}: up: ${up.toFixed(1)} s`);
    const again: number[] = [];
    for (let i = 0; i < runs; i++) {
        again.push(timed(() => pulumi(withCaches, project, ["preview", "--expect-no-changes", "--stack", stack])));
        log(`${mode}: no-change preview ${i + 1}/${runs}: ${again[i].toFixed(1)} s`);
    }
    return { coldPreview: previews[0], warmPreview: median(previews.slice(1).length > 0 ? previews.slice(1) : previews), up, noChangePreview: median(again) };
}

async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
    }
    let runs = 3;
    const i = argv.indexOf("--runs");
    if (i !== -1) {
        runs = Number(argv[i + 1]);
        if (!Number.isInteger(runs) || runs < 1) {
            process.stderr.write(`npm run bench:e2e: --runs must be a whole number of at least 1, got ${JSON.stringify(argv[i + 1] ?? "")}\n${USAGE}\n`);
            return 2;
        }
    }
    const valueOf = (flag: string): string | undefined => {
        const k = argv.indexOf(flag);
        return k === -1 ? undefined : (argv[k + 1] ?? "");
    };
    const withValue = ["--runs", "--base", "--pod-delay"];
    const unknown = argv.filter((a, k) => !withValue.includes(a) && !withValue.includes(argv[k - 1] ?? ""));
    if (unknown.length > 0) {
        process.stderr.write(`npm run bench:e2e: unknown option ${unknown[0]}\n${USAGE}\n`);
        return 2;
    }
    const base = valueOf("--base");
    const podDelay = Number(valueOf("--pod-delay") ?? "5");
    if (base === "" || (valueOf("--pod-delay") !== undefined && base === undefined)) {
        process.stderr.write(`npm run bench:e2e: --base needs a git ref${base === undefined ? " (--pod-delay goes with --base)" : ""}, got ${JSON.stringify(base ?? "")}\n${USAGE}\n`);
        return 2;
    }
    if (!Number.isFinite(podDelay) || podDelay < 0 || podDelay > 120) {
        process.stderr.write(`npm run bench:e2e: --pod-delay must be seconds from 0 to 120, got ${JSON.stringify(valueOf("--pod-delay"))}\n${USAGE}\n`);
        return 2;
    }
    if (base !== undefined) {
        try {
            resolveRef(base);
        } catch (err) {
            process.stderr.write(`npm run bench:e2e: ${err instanceof Error ? err.message : String(err)}\n`);
            return 2;
        }
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "herd-bench-e2e-"));
    let engine: Engine | undefined;
    try {
        if (base !== undefined) {
            process.env["HERD_E2E_POD_DELAY_MS"] = String(Math.round(podDelay * 1000));
            engine = startEngine(tmp, { storageClasses: baseBenchStorageClasses(runs), count: 6, size: "5Gi" });
            process.stdout.write(`${benchAgainstBase(engine, { ref: base, runs, podDelaySeconds: podDelay })}\n`);
            engine.stop(false);
            engine = undefined;
            fs.rmSync(tmp, { recursive: true, force: true });
            return 0;
        }
        engine = startEngine(tmp, { storageClasses: ["herd-bench-herd", "herd-bench-default"], count: 6, size: "5Gi" });
        const herd = measure(engine, "herd", runs);
        const dflt = measure(engine, "default", runs);
        const row = (label: string, h: number, d: number) => `  ${label.padEnd(42)} ${h.toFixed(1).padStart(7)} s ${d.toFixed(1).padStart(9)} s ${(d / h).toFixed(2).padStart(8)}x`;
        const lines = [
            "",
            `herd bench:e2e: the onprem stack on the local control plane, pulumi ${engine.pulumiSource}, ${runs} run(s) each (warm: median)`,
            `  ${"".padEnd(42)} ${"herd".padStart(9)} ${"default".padStart(11)} ${"default/herd".padStart(12)}`,
            row("first preview, cold transpile caches", herd.coldPreview, dflt.coldPreview),
            row("first preview, warm", herd.warmPreview, dflt.warmPreview),
            row("pulumi up (create everything)", herd.up, dflt.up),
            row("no-change preview", herd.noChangePreview, dflt.noChangePreview),
            "herd: main.cjs + ts-register (esbuild, no type-check; `npm test` type-checks). default: typescript: true, ts-node type-checking index.ts.",
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
        engine.stop(false);
        engine = undefined;
        fs.rmSync(tmp, { recursive: true, force: true });
        return 0;
    } catch (err) {
        process.stderr.write(`bench:e2e: ${err instanceof E2eError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n(logs in ${path.join(tmp, "logs")})\n`);
        return 1;
    } finally {
        engine?.stop(false);
    }
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exit(1);
    },
);
