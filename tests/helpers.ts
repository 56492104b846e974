/** Small helpers shared by the tests: temp stack files, config parsing from a map, running the CLI. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { ConfigError, HerdConfig, parseConfig } from "../config";
import { PROJECT_DIR } from "../offline/stack-config";

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

/** Runs `npm run --silent <script> -- <args>` in the project, as a user would. */
export function runScript(script: string, args: string[]): CommandResult {
    const result = spawnSync("npm", ["run", "--silent", script, "--", ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env, PULUMI_CONFIG: undefined, PULUMI_CONFIG_SECRET_KEYS: undefined },
        timeout: 120_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Resolves an Output's value and secretness (for asserting that secrets stay secret). */
export async function inspect<T>(output: import("@pulumi/pulumi").Output<T>): Promise<{ value: T; secret: boolean }> {
    const pulumi = await import("@pulumi/pulumi");
    const value = await new Promise<T>((resolve) => output.apply((v) => resolve(v)));
    return { value, secret: await pulumi.isSecret(output) };
}
