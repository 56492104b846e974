/** Small helpers shared by the tests: temp stack files, config parsing from a map, running a command (in-process or as the CLI). */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { ConfigError, HerdConfig, parseConfig } from "../config";
import { PROJECT_DIR } from "../offline/stack-config";
import { CliIo, runMain } from "../scripts/cli";

export { PROJECT_DIR };

/** A fresh temp directory, removed when the process exits. */
export function tempDir(prefix = "herd-test-"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
}

/** Writes a stack file with the given `config:` mapping (keys as written in the file) and returns its path. */
export function writeStackFile(config: Record<string, unknown>, dir: string = tempDir()): string {
    const file = path.join(dir, "Pulumi.test.yaml");
    fs.writeFileSync(file, stringify({ config }));
    return file;
}

/** A valid minimal onprem config (as raw key/values), to which a test adds or overrides keys. */
export const MINIMAL_ONPREM: Readonly<Record<string, string>> = {
    "herd:platform": "onprem",
    "herd:storageClass": "fast-ssd",
    "herd:registry": "registry.example.com:5000/herd",
};

/** Parses raw values; `secret` lists the keys set with --secret. */
export function parse(values: Record<string, string>, secret: string[] = []): HerdConfig {
    return parseConfig({ values, secretKeys: new Set(secret), stack: "test" });
}

/** Parses and returns the ConfigError (fails if parsing succeeds). */
export function problemsOf(values: Record<string, string>, secret: string[] = []): ConfigError {
    try {
        parse(values, secret);
    } catch (err) {
        if (err instanceof ConfigError) {
            return err;
        }
        throw err;
    }
    throw new Error(`expected a ConfigError for ${JSON.stringify(values)}`);
}

/** The keys a ConfigError names. */
export function keysOf(err: ConfigError): string[] {
    return err.problems.map((p) => p.key);
}

export interface CommandResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * The file package.json's `<script>` runs (every command is wired as `tsx <file>`); fails when the wiring is
 * anything else, so the CLI tests below still prove what `npm run <script>` starts.
 */
export function scriptFile(script: string): string {
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { scripts: Record<string, string> };
    const wiring = pkg.scripts[script];
    const file = /^tsx (\S+)$/.exec(wiring ?? "")?.[1];
    if (file === undefined) {
        throw new Error(`package.json: the ${script} script should be \`tsx <file>\`, is ${JSON.stringify(wiring)}`);
    }
    return file;
}

/**
 * Runs a command as its own process, as `npm run --silent <script> -- <args>` would, but through node directly
 * (`node --import tsx <file>`: npm adds ~0.4 s a call). For tests of the CLI itself: exit codes, --help, what reaches
 * stdout and stderr. Everything else runs the command in-process (runCommand).
 */
export function runScript(script: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CommandResult {
    const result = spawnSync(process.execPath, ["--import", "tsx", scriptFile(script), ...args], {
        cwd: opts.cwd ?? PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env, PULUMI_CONFIG: undefined, PULUMI_CONFIG_SECRET_KEYS: undefined, ...opts.env },
        timeout: 120_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The commands that run in-process, loaded only when used (they import @pulumi/pulumi). */
const IN_PROCESS = {
    manifests: () => import("../scripts/manifests"),
    handoff: () => import("../scripts/handoff"),
} as const;

/**
 * Runs a command's main in this process with the exit code, usage and one-line errors exactly as its CLI prints them
 * (runMain), stdout and stderr collected. Pulumi's runtime is global: await each call before the next.
 */
export async function runInProcess(usage: string, main: (argv: string[], io: CliIo) => Promise<number>, args: string[]): Promise<CommandResult> {
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
        stdout: (text) => {
            stdout += text;
        },
        stderr: (text) => {
            stderr += text;
        },
    };
    const status = await runMain(usage, () => main(args, io), io);
    return { status, stdout, stderr };
}

/** Runs `npm run --silent <script> -- <args>` in this process (runInProcess). */
export async function runCommand(script: keyof typeof IN_PROCESS, args: string[]): Promise<CommandResult> {
    const { USAGE, main } = await IN_PROCESS[script]();
    return runInProcess(USAGE, main, args);
}

/** Resolves an Output's value and secretness (for asserting that secrets stay secret). */
export async function inspect<T>(output: import("@pulumi/pulumi").Output<T>): Promise<{ value: T; secret: boolean }> {
    const pulumi = await import("@pulumi/pulumi");
    const value = await new Promise<T>((resolve) => output.apply((v) => resolve(v)));
    return { value, secret: await pulumi.isSecret(output) };
}
