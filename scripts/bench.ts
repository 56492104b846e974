/**
 * npm run bench [-- --runs N] [--default-runs N]
 *
 * Cold-start cost of running herd the way Pulumi runs it. Every measurement is a fresh child `node` process, timed
 * from spawn to exit (wall clock); the child reports its peak RSS (process.resourceUsage().maxRSS) on fd 3 at exit.
 *   floor            node -e "require('@pulumi/pulumi')"
 *   herd             node --require ./ts-register.cjs scripts/bench-child.ts <stack>  (what Pulumi.yaml's main.cjs
 *                    does), its transpile cache filled
 *   herd (cold)      the same with an empty transpile cache (first run after a clone or an edit)
 *   tsx              node --import tsx scripts/bench-child.ts <stack>: the loader herd does not use, for comparison
 *   default (warm)   Pulumi's default `typescript: true`: vendored ts-node@7.0.1 with type-checking
 *                    (scripts/bench-pulumi-default.cjs), ts-node's on-disk output cache already filled
 *   default (cold)   the same with an empty ts-node cache, as on a fresh CI runner or after editing the program
 * A stack that fails with the expected "not implemented" error still counts (its time to fail is measured); any other
 * failure of a child means the measurement cannot run: exit 1. Missing the target is reported, not an error (exit 0).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { BenchReport } from "./bench-child";

const PROJECT_DIR = path.resolve(__dirname, "..");
const STACKS = ["onprem", "aws", "gcp"] as const;
const EXPECTED_FAILURE = /not implemented/;
const TARGET = 1.5;
const USAGE = "usage: npm run bench -- [--runs N] [--default-runs N]";

interface Sample {
    readonly ms: number;
    readonly rssMb: number;
    /** First line of the expected "not implemented" error, or null when the evaluation succeeded. */
    readonly failure: string | null;
}

interface Row {
    readonly mode: string;
    readonly stack: string;
    readonly ms: number;
    readonly rssMb: number;
    readonly failure: string | null;
}

/** Spawns one child, waits for it to exit, and checks that it measured something. */
function runOnce(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Sample> {
    return new Promise((resolve, reject) => {
        const start = performance.now();
        const child = spawn(process.execPath, args, { cwd: PROJECT_DIR, env, stdio: ["ignore", "pipe", "pipe", "pipe"] });
        let ms = 0;
        let output = "";
        let report = "";
        child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
        child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
        (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => (report += d.toString()));
        child.on("exit", () => (ms = performance.now() - start));
        child.on("error", reject);
        child.on("close", (code, signal) => {
            const fail = (why: string) =>
                reject(new Error(`node ${args.join(" ")}: ${why}\n${output.trim().split("\n").slice(-15).join("\n")}`));
            let parsed: BenchReport;
            try {
                parsed = JSON.parse(report) as BenchReport;
            } catch {
                return fail(`exited ${code ?? signal} without a report`);
            }
            const expected = parsed.error !== null && EXPECTED_FAILURE.test(parsed.error);
            if (code !== 0 && !expected) {
                return fail(`exited ${code ?? signal}${parsed.error === null ? "" : `: ${parsed.error}`}`);
            }
            resolve({ ms, rssMb: parsed.maxRssKb / 1024, failure: expected ? parsed.error : null });
        });
    });
}

function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Runs one measurement `runs` times, prints each run on stderr, and returns the medians. */
async function measure(mode: string, stack: string, runs: number, makeRun: () => Promise<Sample>): Promise<Row> {
    const samples: Sample[] = [];
    process.stderr.write(`${mode.padEnd(15)} ${stack.padEnd(7)}`);
    for (let i = 0; i < runs; i++) {
        const sample = await makeRun();
        samples.push(sample);
        process.stderr.write(` ${Math.round(sample.ms)}`);
    }
    process.stderr.write(" ms\n");
    return {
        mode,
        stack,
        ms: median(samples.map((s) => s.ms)),
        rssMb: median(samples.map((s) => s.rssMb)),
        failure: samples[0]?.failure ?? null,
    };
}

/** Default mode with its own ts-node cache directory (TS_NODE_CACHE_DIRECTORY, which ts-node 7 reads). */
function runDefault(stack: string, cacheDir: string): Promise<Sample> {
    const env = { ...process.env, TS_NODE_CACHE_DIRECTORY: cacheDir };
    return runOnce([path.join("scripts", "bench-pulumi-default.cjs"), stack], env);
}

function parsePositive(name: string, value: string | undefined, fallback: number): number {
    const n = Number(value ?? fallback);
    if (!Number.isInteger(n) || n < 1) {
        throw new Error(`--${name} must be a positive integer (got ${value})`);
    }
    return n;
}

async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(`${USAGE}\n\nTimes the program's evaluation per stack (fresh processes) against importing @pulumi/pulumi alone\nand against Pulumi's default ts-node mode, and prints the ratios measured in the same run.\n  --runs N           runs per herd measurement (default 5)\n  --default-runs N   runs of Pulumi's default mode (default 2)\n`);
        return 0;
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "herd-bench-"));
    let runs: number;
    let defaultRuns: number;
    try {
        const { values } = parseArgs({
            args: argv,
            options: { runs: { type: "string" }, "default-runs": { type: "string" } },
            strict: true,
        });
        runs = parsePositive("runs", values.runs, 5);
        defaultRuns = parsePositive("default-runs", values["default-runs"], 2);
    } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
        return 2;
    }

    const floorArgs = [
        "-e",
        "process.on('exit',()=>require('fs').writeSync(3,JSON.stringify({maxRssKb:process.resourceUsage().maxRSS,error:null})));" +
            "require('@pulumi/pulumi')",
    ];
    const child = (stack: string) => [path.join("scripts", "bench-child.ts"), stack];
    const herdArgs = (stack: string) => ["--require", "./ts-register.cjs", ...child(stack)];
    const tsxArgs = (stack: string) => ["--import", "tsx", ...child(stack)];
    const rows: Row[] = [];
    try {
        process.stderr.write(`node ${process.version}, ${os.cpus().length} CPUs; runs: ${runs} (default cold: ${defaultRuns}); one unmeasured warm-up each\n`);
        await runOnce(floorArgs);
        rows.push(await measure("floor", "-", runs, () => runOnce(floorArgs)));
        for (const stack of STACKS) {
            await runOnce(herdArgs(stack));
            rows.push(await measure("herd", stack, runs, () => runOnce(herdArgs(stack))));
        }
        let coldHerd = 0;
        for (const stack of STACKS) {
            const env = () => ({ ...process.env, HERD_TS_CACHE_DIR: path.join(tmp, `herd-cold-${coldHerd++}`) });
            rows.push(await measure("herd (cold)", stack, runs, () => runOnce(herdArgs(stack), env())));
        }
        for (const stack of STACKS) {
            await runOnce(tsxArgs(stack));
            rows.push(await measure("tsx", stack, runs, () => runOnce(tsxArgs(stack))));
        }
        const warmCache = path.join(tmp, "warm");
        for (const stack of STACKS) {
            await runDefault(stack, warmCache); // fills the cache
            rows.push(await measure("default (warm)", stack, runs, () => runDefault(stack, warmCache)));
        }
        let cold = 0;
        for (const stack of STACKS) {
            rows.push(await measure("default (cold)", stack, defaultRuns, () => runDefault(stack, path.join(tmp, `cold-${cold++}`))));
        }
    } catch (err) {
        process.stderr.write(`bench: a measurement could not run: ${(err as Error).message}\n`);
        return 1;
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }

    const floor = rows[0]?.ms ?? Number.NaN;
    const find = (mode: string, stack: string) => rows.find((r) => r.mode === mode && r.stack === stack)?.ms ?? Number.NaN;
    const x = (n: number) => `${n.toFixed(2)}x`;
    const table = [
        ["mode", "stack", "median ms", "peak RSS MB", "vs floor", "note"],
        ...rows.map((r) => {
            const note = r.failure === null ? "" : `(fails: ${r.failure.length > 60 ? `${r.failure.slice(0, 59)}…` : r.failure})`;
            return [r.mode, r.stack, r.ms.toFixed(0), r.rssMb.toFixed(0), x(r.ms / floor), note];
        }),
    ];
    const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length))) ?? [];
    const right = new Set([2, 3, 4]);
    const line = (row: readonly string[]) =>
        row.map((cell, i) => (right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd();
    const out = ["", line(table[0] ?? []), widths.map((w) => "-".repeat(w)).join("  "), ...table.slice(1).map(line), ""];
    for (const stack of STACKS) {
        const herd = find("herd", stack);
        out.push(`${stack.padEnd(7)} default(cold)/herd ${x(find("default (cold)", stack) / herd)}   default(warm)/herd ${x(find("default (warm)", stack) / herd)}`);
    }
    out.push("", `target: herd mode <= ${TARGET}x floor`);
    for (const stack of STACKS) {
        const ratio = find("herd", stack) / floor;
        out.push(`  ${stack.padEnd(7)} ${x(ratio)}  ${ratio <= TARGET ? "meets target" : "MISSES target"}`);
    }
    process.stdout.write(`${out.join("\n")}\n`);
    return 0;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
        process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
        process.exit(1);
    },
);
