/**
 * What `npm run e2e` and `npm run bench:e2e` share: the toolchain (e2e/build.sh, cached), a Pulumi home with the
 * built plugins and a file backend in a temporary directory, the local control plane (e2e/cluster.sh), a copy of
 * the project to run the engine in, and small wrappers that run pulumi and kubectl with that environment.
 */
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { findOnPath } from "../lib/path-lookup";

export const PROJECT_DIR = path.resolve(__dirname, "..");

/** A failure with a message for the user (printed without a stack trace). */
export class E2eError extends Error {}

export interface Engine {
    readonly tmp: string;
    readonly logs: string;
    /** Environment for pulumi and kubectl: PULUMI_HOME, the file backend, the passphrase, KUBECONFIG, PATH. */
    readonly env: NodeJS.ProcessEnv;
    readonly pulumi: string;
    readonly kubectl: string;
    /** Where the pulumi binary came from, for the summary. */
    readonly pulumiSource: string;
    readonly buildSeconds: number;
    readonly clusterSeconds: number;
    /** Stops the control plane (keeping its state dir when asked). */
    stop(keepState: boolean): void;
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Wall time of a synchronous body, in seconds. */
export function timed(body: () => void): number {
    const started = process.hrtime.bigint();
    body();
    return Number(process.hrtime.bigint() - started) / 1e9;
}

export function log(message: string): void {
    process.stderr.write(`e2e: ${message}\n`);
}

interface RunOptions {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutSec?: number;
    /** Appends the command and its output to this file. */
    log?: string;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): SpawnSyncReturns<string> {
    const r = spawnSync(cmd, args, {
        cwd: opts.cwd ?? PROJECT_DIR,
        env: opts.env ?? process.env,
        encoding: "utf8",
        timeout: (opts.timeoutSec ?? 900) * 1000,
        maxBuffer: 256 * 1024 * 1024,
    });
    if (opts.log !== undefined) {
        fs.appendFileSync(opts.log, `$ ${cmd} ${args.join(" ")}\n${r.stdout ?? ""}${r.stderr ?? ""}\n(exit ${String(r.status)}${r.signal !== null ? `, ${r.signal}` : ""})\n\n`);
    }
    if (r.error !== undefined) {
        throw new E2eError(`cannot run ${cmd}: ${r.error.message}`);
    }
    return r;
}

export function tail(text: string, lines = 40): string {
    return text.trim().split("\n").slice(-lines).join("\n");
}

/** Runs a command that must succeed; on failure the error carries the tail of its output. */
export function must(cmd: string, args: readonly string[], opts: RunOptions = {}): string {
    const r = run(cmd, args, opts);
    if (r.status !== 0) {
        throw new E2eError(`${path.basename(cmd)} ${args.join(" ")} failed (exit ${String(r.status)}${r.signal !== null ? `, ${r.signal}` : ""}):\n${tail(`${r.stdout}\n${r.stderr}`)}`);
    }
    return r.stdout;
}

/**
 * Runs one of e2e's own scripts; on failure only its own one-line error (the last line it wrote that names
 * itself), since each script says in one line what is wrong (no Go, a port in use, a module the proxy refuses).
 */
function script(name: string, args: readonly string[], opts: RunOptions): string {
    const r = run("bash", [path.join(PROJECT_DIR, "e2e", name), ...args], opts);
    if (r.status !== 0) {
        const own = r.stderr
            .split("\n")
            .filter((l) => /error|not found|in use|refuse|failed|missing/i.test(l))
            .pop();
        const what = own?.trim() ?? tail(r.stderr, 5);
        const command = ["e2e/" + name, ...args].join(" ");
        throw new E2eError(`${what.startsWith(`e2e/${name}`) ? "" : `${command}: `}${what}${opts.log !== undefined ? ` (log: ${opts.log})` : ""}`);
    }
    return r.stdout;
}

/** `KEY=value` lines a build script printed. */
export function parseKv(text: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const line of text.split("\n")) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
        if (m !== null) {
            out.set(m[1], m[2]);
        }
    }
    return out;
}

/** Copies the working tree (tracked and untracked, not ignored) and links the installed dependencies. */
export function copyProject(dest: string): void {
    const files = must("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: PROJECT_DIR })
        .split("\0")
        .filter((f) => f !== "" && !f.startsWith("images/") && !f.startsWith(".github/") && fs.existsSync(path.join(PROJECT_DIR, f)));
    for (const f of files) {
        const to = path.join(dest, f);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.copyFileSync(path.join(PROJECT_DIR, f), to);
    }
    for (const dir of ["node_modules", "policy/node_modules"]) {
        if (!fs.existsSync(path.join(PROJECT_DIR, dir))) {
            throw new E2eError(`${dir} is missing: run npm run setup first`);
        }
        fs.symlinkSync(path.join(PROJECT_DIR, dir), path.join(dest, dir), "dir");
    }
}

/**
 * Builds (or finds) the toolchain, installs the plugins into a fresh PULUMI_HOME, starts the control plane and
 * pre-creates `volumes` static PersistentVolumes for each StorageClass named. Stop it with `engine.stop()`.
 */
export function startEngine(tmp: string, volumes: { storageClasses: readonly string[]; count: number; size: string }): Engine {
    const logs = path.join(tmp, "logs");
    fs.mkdirSync(logs, { recursive: true });
    const buildStarted = Date.now();
    log("building the toolchain (cached: nothing to do after the first run)");
    const built = parseKv(script("build.sh", [], { timeoutSec: 5400, log: path.join(logs, "build.log") }));
    const pulumiBinDir = built.get("PULUMI_BIN_DIR");
    const clusterBinDir = built.get("CLUSTER_BIN_DIR");
    if (pulumiBinDir === undefined || clusterBinDir === undefined) {
        throw new E2eError("e2e/build.sh did not report PULUMI_BIN_DIR and CLUSTER_BIN_DIR");
    }
    const userPulumi = process.env["HERD_E2E_PULUMI"] ?? findOnPath("pulumi");
    const pulumiBin = userPulumi ?? path.join(pulumiBinDir, "pulumi");
    const buildSeconds = (Date.now() - buildStarted) / 1000;

    const env: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: `${pulumiBinDir}${path.delimiter}${clusterBinDir}${path.delimiter}${process.env["PATH"] ?? ""}`,
        PULUMI_HOME: path.join(tmp, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: randomBytes(24).toString("base64url"),
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        KUBECONFIG: path.join(tmp, "cluster", "kubeconfig"),
        PULUMI_CONFIG: undefined,
        PULUMI_CONFIG_SECRET_KEYS: undefined,
    };
    fs.mkdirSync(path.join(tmp, "state"), { recursive: true });
    script("build-pulumi.sh", ["install-plugins"], { env: { ...env, PULUMI_BIN: pulumiBin }, log: path.join(logs, "build.log") });

    const clusterEnv: NodeJS.ProcessEnv = { ...process.env, HERD_E2E_DIR: path.join(tmp, "cluster") };
    const clusterStarted = Date.now();
    script("cluster.sh", ["start"], { env: clusterEnv, timeoutSec: 600, log: path.join(logs, "cluster.log") });
    const stop = (keepState: boolean) => {
        run("bash", [path.join(PROJECT_DIR, "e2e", "cluster.sh"), "stop", ...(keepState ? ["--keep"] : [])], { env: clusterEnv });
    };
    try {
        for (const storageClass of volumes.storageClasses) {
            script("cluster.sh", ["pv", storageClass, String(volumes.count), volumes.size], { env: clusterEnv, log: path.join(logs, "cluster.log") });
        }
    } catch (err) {
        stop(true);
        throw err;
    }
    return {
        tmp,
        logs,
        env,
        pulumi: pulumiBin,
        kubectl: path.join(clusterBinDir, "kubectl"),
        pulumiSource: userPulumi !== undefined ? `your ${userPulumi}` : `built, in ${pulumiBinDir}`,
        buildSeconds,
        clusterSeconds: (Date.now() - clusterStarted) / 1000,
        stop,
    };
}

/** Runs pulumi in a project directory with the engine's environment (non-interactive); throws on failure. */
export function pulumi(engine: Engine, project: string, args: readonly string[], opts: { timeoutSec?: number; allowFail?: boolean } = {}): SpawnSyncReturns<string> {
    const r = run(engine.pulumi, [...args, "--non-interactive"], { env: engine.env, cwd: project, timeoutSec: opts.timeoutSec ?? 1200, log: path.join(engine.logs, "pulumi.log") });
    if (r.status !== 0 && opts.allowFail !== true) {
        throw new E2eError(`pulumi ${args.join(" ")} failed (exit ${String(r.status)}):\n${tail(`${r.stdout}\n${r.stderr}`, 60)}`);
    }
    return r;
}

export function kubectl(engine: Engine, args: readonly string[]): string {
    return must(engine.kubectl, args, { env: engine.env, log: path.join(engine.logs, "kubectl.log"), timeoutSec: 300 });
}

/** Every plaintext secret in a `pulumi stack export --show-secrets` document. */
export function secretPlaintexts(exported: unknown, into: Set<string>): void {
    if (Array.isArray(exported)) {
        exported.forEach((x) => secretPlaintexts(x, into));
        return;
    }
    if (typeof exported !== "object" || exported === null) {
        return;
    }
    const o = exported as Record<string, unknown>;
    if (o["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270" && typeof o["plaintext"] === "string") {
        const collect = (v: unknown) => {
            if (typeof v === "string" && v.length >= 8) {
                into.add(v);
            } else if (typeof v === "object" && v !== null) {
                Object.values(v).forEach(collect);
            }
        };
        try {
            collect(JSON.parse(o["plaintext"]) as unknown);
        } catch {
            collect(o["plaintext"]);
        }
        return;
    }
    Object.values(o).forEach((v) => secretPlaintexts(v, into));
}

/**
 * The warnings a run ends with: its Diagnostics section (what the API server's admission, e.g. Pod Security, and the
 * providers report), plus any Pod Security or deprecation warning anywhere. The progress lines of the provider's
 * await logic ("[MinimumReplicasUnavailable] ..." while pods start) are not warnings about the objects.
 */
export function lastingWarnings(output: string): string[] {
    const lines = output.split("\n");
    const start = lines.findIndex((l) => /^Diagnostics:/.test(l));
    const out: string[] = [];
    if (start !== -1) {
        for (const l of lines.slice(start + 1)) {
            if (/^(Resources|Outputs|Policies|Policy Packs run|Duration):/.test(l)) {
                break;
            }
            if (/warning/i.test(l)) {
                out.push(l.trim());
            }
        }
    }
    for (const l of lines) {
        if (/would violate PodSecurity|is deprecated|unknown field/i.test(l) && !out.includes(l.trim())) {
            out.push(l.trim());
        }
    }
    return out;
}
