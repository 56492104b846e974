/**
 * npm run bench [-- --rounds N] [--default-runs N] [--modes LIST]
 *
 * Cold-start cost of running herd the way Pulumi runs it. Every measurement is a fresh child `node` process, timed
 * from spawn to exit (wall clock); the child reports its peak RSS (process.resourceUsage().maxRSS) on fd 3 at exit.
 *   floor            node -e "require('@pulumi/pulumi')"
 *   herd             node main.cjs's loader: node --require ./ts-register.cjs scripts/bench-child.ts <stack>, its
 *                    transpile cache filled
 *   herd (cold)      the same with empty caches, transpile and code cache (first run after a clone or an edit)
 *   herd (no code cache)  herd with HERD_CODE_CACHE=off: what ts-register.cjs's V8 code cache saves
 *   floor (code cache)    the floor loaded through ts-register.cjs, so @pulumi/pulumi gets the same code cache herd
 *                    gets: herd's own cost is herd against this one (the target is against the plain floor)
 *   tsx              node --import tsx scripts/bench-child.ts <stack>: the loader herd does not use, for comparison
 *   default (warm)   Pulumi's default `typescript: true`: vendored ts-node@7.0.1 with type-checking
 *                    (scripts/bench-pulumi-default.cjs), ts-node's on-disk output cache already filled
 *   default (cold)   the same with an empty ts-node cache, as on a fresh CI runner or after editing the program
 *
 * Paired, interleaved rounds: the machine may be shared, so its speed drifts. Each round runs ONE sample of every
 * measurement (the floor included), in a new random order, and every ratio is computed inside a round (herd/floor of
 * the same round), then summarised as the median of the per-round ratios. A ratio therefore never compares two
 * different stretches of time. (default (cold) takes ~10 s a sample, so it runs in the first --default-runs rounds
 * only; its ratios use those rounds.)
 *
 * A failing child means the measurement cannot run: exit 1. Missing the target is reported, not an error (exit 0).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { BenchReport } from "./bench-child";
import { readStackConfig } from "../offline/stack-config";

const PROJECT_DIR = path.resolve(__dirname, "..");
const STACKS = ["onprem", "aws", "gcp"] as const;
const TARGET = 1.5;
const MODES = ["herd", "herd-cold", "herd-no-code-cache", "floor-cached", "tsx", "default-warm", "default-cold"] as const;
type Mode = (typeof MODES)[number];
const LABEL: Record<Mode | "floor", string> = {
    floor: "floor",
    herd: "herd",
    "herd-cold": "herd (cold)",
    "herd-no-code-cache": "herd (no code cache)",
    "floor-cached": "floor (code cache)",
    tsx: "tsx",
    "default-warm": "default (warm)",
    "default-cold": "default (cold)",
};
const USAGE = `usage: npm run bench -- [--rounds N] [--default-runs N] [--modes ${MODES.join(",")}]`;

interface Sample {
    /** Wall-clock time from spawn to exit. */
    readonly ms: number;
    /** CPU time the child used (user + system), as it reports at exit. */
    readonly cpuMs: number;
    readonly rssMb: number;
}

/** One thing measured: the floor, or one mode on one stack. */
interface Measurement {
    readonly mode: Mode | "floor";
    readonly stack: string;
    /** Rounds it takes part in (default (cold) only in the first few). */
    readonly rounds: number;
    readonly run: () => Promise<Sample>;
    /** Unmeasured run before the first round (fills the warm caches, loads the files into the page cache). */
    readonly warmUp: boolean;
    /** Sample of each round, by round index (absent in rounds it did not take part in). */
    readonly samples: Map<number, Sample>;
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
            if (code !== 0) {
                return fail(`exited ${code ?? signal}${parsed.error === null ? "" : `: ${parsed.error}`}`);
            }
            resolve({ ms, cpuMs: parsed.cpuMs, rssMb: parsed.maxRssKb / 1024 });
        });
    });
}

/**
 * Waits (up to 60 s) for the detached child a cold run leaves behind to parse modules for the code cache
 * (ts-register.cjs verifyInBackground; it removes its verify-*.json list when done), so that it does not run during
 * the next measurement.
 */
async function backgroundDone(codeCacheDir: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    const pending = () => fs.existsSync(codeCacheDir) && fs.readdirSync(codeCacheDir).some((f) => f.startsWith("verify-") && f.endsWith(".json"));
    while (pending() && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** Quantile (linear interpolation) of a non-empty list; NaN for an empty one. */
function quantile(values: readonly number[], q: number): number {
    if (values.length === 0) {
        return Number.NaN;
    }
    const sorted = [...values].sort((a, b) => a - b);
    const at = (sorted.length - 1) * q;
    const lo = Math.floor(at);
    const hi = Math.ceil(at);
    return (sorted[lo] ?? 0) + ((sorted[hi] ?? 0) - (sorted[lo] ?? 0)) * (at - lo);
}
const median = (values: readonly number[]) => quantile(values, 0.5);

/** Ratios a/b of the rounds in which both were measured: the pairing that makes a ratio mean something. */
function pairedRatios(a: Measurement, b: Measurement, of: "ms" | "cpuMs" = "ms"): number[] {
    const ratios: number[] = [];
    for (const [round, sample] of a.samples) {
        const other = b.samples.get(round);
        if (other !== undefined) {
            ratios.push(sample[of] / other[of]);
        }
    }
    return ratios;
}

function shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
}

function parsePositive(name: string, value: string | undefined, fallback: number): number {
    const n = Number(value ?? fallback);
    if (!Number.isInteger(n) || n < 1) {
        throw new Error(`--${name} must be a positive integer (got ${value})`);
    }
    return n;
}

function parseModes(value: string | undefined): Set<Mode> {
    if (value === undefined) {
        return new Set(MODES);
    }
    const modes = value.split(",").filter((m) => m !== "" && m !== "floor");
    const unknown = modes.filter((m) => !(MODES as readonly string[]).includes(m));
    if (unknown.length > 0) {
        throw new Error(`--modes: unknown ${unknown.join(", ")} (known: ${MODES.join(", ")}; the floor always runs)`);
    }
    return new Set(modes as Mode[]);
}

async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(
            `${USAGE}\n\nTimes the program's evaluation per stack (fresh processes) against importing @pulumi/pulumi alone\n` +
                `and against Pulumi's default ts-node mode, in paired rounds: each round runs every measurement once, in random\n` +
                `order, and each ratio is the median of the ratios within a round.\n` +
                `  --rounds N         rounds (default 15); --runs N is the same\n` +
                `  --default-runs N   rounds that also run Pulumi's default mode with a cold cache (~10 s each; default 2)\n` +
                `  --modes LIST       what to measure besides the floor (default all): ${MODES.join(",")}\n`,
        );
        return 0;
    }
    let rounds: number;
    let defaultRuns: number;
    let modes: Set<Mode>;
    try {
        const { values } = parseArgs({
            args: argv,
            options: { rounds: { type: "string" }, runs: { type: "string" }, "default-runs": { type: "string" }, modes: { type: "string" } },
            strict: true,
        });
        rounds = parsePositive(values.rounds !== undefined ? "rounds" : "runs", values.rounds ?? values.runs, 15);
        defaultRuns = Math.min(rounds, parsePositive("default-runs", values["default-runs"], 2));
        modes = parseModes(values.modes);
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
        return 2;
    }

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "herd-bench-"));
    const floorArgs = [
        "-e",
        "process.on('exit',()=>{const u=process.resourceUsage();" +
            "require('fs').writeSync(3,JSON.stringify({maxRssKb:u.maxRSS,cpuMs:(u.userCPUTime+u.systemCPUTime)/1000,error:null}))});" +
            "require('@pulumi/pulumi')",
    ];
    const child = (stack: string) => [path.join("scripts", "bench-child.ts"), stack];
    /** The stack's config as the language host hands it to a program (read once here, not in every child). */
    const configEnvs = new Map<string, NodeJS.ProcessEnv>();
    const stackEnv = (stack: string): NodeJS.ProcessEnv => {
        let env = configEnvs.get(stack);
        if (env === undefined) {
            const config = readStackConfig({ stack });
            env = { ...process.env, PULUMI_CONFIG: JSON.stringify(config.values), PULUMI_CONFIG_SECRET_KEYS: JSON.stringify([...config.secretKeys]) };
            configEnvs.set(stack, env);
        }
        return env;
    };
    const herdArgs = (stack: string) => ["--require", "./ts-register.cjs", ...child(stack)];
    const tsxArgs = (stack: string) => ["--import", "tsx", ...child(stack)];
    const warmTsNodeCache = path.join(tmp, "ts-node-warm");
    let fresh = 0;
    const freshDir = (what: string) => path.join(tmp, `${what}-${fresh++}`);
    /** Default mode with its own ts-node cache directory (TS_NODE_CACHE_DIRECTORY, which ts-node 7 reads). */
    const runDefault = (stack: string, cacheDir: string) =>
        runOnce([path.join("scripts", "bench-pulumi-default.cjs"), stack], { ...stackEnv(stack), TS_NODE_CACHE_DIRECTORY: cacheDir });
    const runners: Record<Mode, (stack: string) => () => Promise<Sample>> = {
        herd: (stack) => () => runOnce(herdArgs(stack), stackEnv(stack)),
        "herd-cold": (stack) => async () => {
            const codeCache = freshDir("herd-cold-v8");
            const sample = await runOnce(herdArgs(stack), { ...stackEnv(stack), HERD_TS_CACHE_DIR: freshDir("herd-cold"), HERD_CODE_CACHE_DIR: codeCache });
            await backgroundDone(codeCache);
            return sample;
        },
        "herd-no-code-cache": (stack) => () => runOnce(herdArgs(stack), { ...stackEnv(stack), HERD_CODE_CACHE: "off" }),
        "floor-cached": () => () => runOnce(["--require", "./ts-register.cjs", ...floorArgs]),
        tsx: (stack) => () => runOnce(tsxArgs(stack), stackEnv(stack)),
        "default-warm": (stack) => () => runDefault(stack, warmTsNodeCache),
        "default-cold": (stack) => () => runDefault(stack, freshDir("ts-node-cold")),
    };
    const make = (mode: Mode | "floor", stack: string, run: () => Promise<Sample>): Measurement => ({
        mode,
        stack,
        run,
        rounds: mode === "default-cold" ? defaultRuns : rounds,
        warmUp: mode !== "herd-cold" && mode !== "default-cold",
        samples: new Map(),
    });
    const floor = make("floor", "-", () => runOnce(floorArgs));
    const measurements: Measurement[] = [floor];
    for (const mode of MODES) {
        if (modes.has(mode)) {
            const stacks = mode === "floor-cached" ? ["-"] : STACKS;
            measurements.push(...stacks.map((stack) => make(mode, stack, runners[mode](stack))));
        }
    }

    const date = new Date().toISOString().slice(0, 10);
    try {
        process.stderr.write(
            `${date}: node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ` +
                `${rounds} paired rounds (default (cold): ${modes.has("default-cold") ? defaultRuns : 0}), random order in each; one unmeasured warm-up each\n`,
        );
        for (const m of measurements.filter((m) => m.warmUp)) {
            await m.run();
        }
        for (let round = 0; round < rounds; round++) {
            const order = shuffle(measurements.filter((m) => round < m.rounds));
            for (const m of order) {
                m.samples.set(round, await m.run());
            }
            const herd = STACKS.map((stack) => measurements.find((m) => m.mode === "herd" && m.stack === stack))
                .filter((m): m is Measurement => m !== undefined)
                .map((m) => `${m.stack} ${((m.samples.get(round)?.ms ?? 0) / (floor.samples.get(round)?.ms ?? 1)).toFixed(2)}x`);
            process.stderr.write(
                `round ${String(round + 1).padStart(2)}/${rounds}: floor ${Math.round(floor.samples.get(round)?.ms ?? 0)} ms${herd.length > 0 ? `; herd ${herd.join(", ")}` : ""}\n`,
            );
        }
    } catch (err) {
        process.stderr.write(`bench: a measurement could not run: ${(err as Error).message}\n`);
        return 1;
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }

    const x = (n: number) => `${n.toFixed(2)}x`;
    const find = (mode: Mode, stack: string) => measurements.find((m) => m.mode === mode && m.stack === stack);
    const table = [
        ["mode", "stack", "rounds", "median ms", "vs floor", "(p25-p75)", "CPU ms", "CPU vs floor", "peak RSS MB"],
        ...measurements.map((m) => {
            const samples = [...m.samples.values()];
            const ratios = pairedRatios(m, floor);
            return [
                LABEL[m.mode],
                m.stack,
                String(samples.length),
                median(samples.map((s) => s.ms)).toFixed(0),
                m === floor ? "1.00x" : x(median(ratios)),
                m === floor ? "" : `${quantile(ratios, 0.25).toFixed(2)}-${quantile(ratios, 0.75).toFixed(2)}`,
                median(samples.map((s) => s.cpuMs)).toFixed(0),
                m === floor ? "1.00x" : x(median(pairedRatios(m, floor, "cpuMs"))),
                median(samples.map((s) => s.rssMb)).toFixed(0),
            ];
        }),
    ];
    const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length))) ?? [];
    const right = new Set([2, 3, 4, 5, 6, 7, 8]);
    const line = (row: readonly string[]) =>
        row.map((cell, i) => (right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd();
    const out = [
        "",
        `measured ${date}, node ${process.version}, ${os.cpus().length} CPUs, ${rounds} rounds; "vs floor": median over rounds of the ratio within a round`,
        line(table[0] ?? []),
        widths.map((w) => "-".repeat(w)).join("  "),
        ...table.slice(1).map(line),
    ];
    const herdOf = (stack: string) => find("herd", stack);
    if (modes.has("herd") && (modes.has("default-cold") || modes.has("default-warm"))) {
        out.push("");
        for (const stack of STACKS) {
            const herd = herdOf(stack);
            const vs = (mode: Mode) => {
                const m = find(mode, stack);
                return m === undefined || herd === undefined ? "-" : x(median(pairedRatios(m, herd)));
            };
            out.push(`${stack.padEnd(7)} default(cold)/herd ${vs("default-cold")}   default(warm)/herd ${vs("default-warm")}`);
        }
    }
    const floorCached = find("floor-cached", "-");
    if (modes.has("herd") && (floorCached !== undefined || modes.has("herd-no-code-cache"))) {
        out.push("");
        for (const stack of STACKS) {
            const herd = herdOf(stack);
            const noCache = find("herd-no-code-cache", stack);
            const own = herd === undefined || floorCached === undefined ? "-" : x(median(pairedRatios(herd, floorCached)));
            const saved = herd === undefined || noCache === undefined ? "-" : x(median(pairedRatios(herd, noCache)));
            out.push(`${stack.padEnd(7)} herd/floor (code cache) ${own}   herd/herd (no code cache) ${saved}`);
        }
    }
    if (modes.has("herd")) {
        out.push("", `target (${date}): herd mode <= ${TARGET}x floor (wall clock; CPU time alongside)`);
        for (const stack of STACKS) {
            const herd = herdOf(stack);
            const ratio = herd === undefined ? Number.NaN : median(pairedRatios(herd, floor));
            const cpu = herd === undefined ? Number.NaN : median(pairedRatios(herd, floor, "cpuMs"));
            out.push(`  ${stack.padEnd(7)} ${x(ratio)}  ${ratio <= TARGET ? "meets target" : "MISSES target"}   (CPU ${x(cpu)})`);
        }
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
