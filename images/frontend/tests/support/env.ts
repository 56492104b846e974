/**
 * Where things are, and what to do when a binary a real-process test needs is missing:
 * skip with the reason on a developer's machine, fail in CI (CI=true), never pass silently.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's test-support helpers (/tests/services/postgres.ts): one implementation of each. */
export { freePort, IS_ROOT } from "../../../../tests/services/postgres";

/** images/frontend */
export const FRONTEND_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** images/api (built by its own setup.sh; read, never edited, from here) */
export const API_DIR = path.resolve(FRONTEND_DIR, "..", "api");
export const NGINX_DIR = path.join(FRONTEND_DIR, "nginx");

export const IN_CI = process.env["CI"] === "true";

/** Absolute path of a command on PATH (or an absolute path that exists), else undefined. */
export function which(command: string): string | undefined {
    if (path.isAbsolute(command)) {
        return fs.existsSync(command) ? command : undefined;
    }
    const found = spawnSync("sh", ["-c", `command -v "${command}"`], { encoding: "utf8" }).stdout.trim();
    return found === "" ? undefined : found;
}

/**
 * The reason a test cannot run (joined problems), or undefined when it can. In CI a reason is a failure: this throws.
 * Use the result as node:test's `skip` option.
 */
export function skipUnlessAvailable(what: string, problems: (string | undefined)[]): string | undefined {
    const found = problems.filter((p): p is string => p !== undefined);
    if (found.length === 0) {
        return undefined;
    }
    const reason = `${what} cannot run here: ${found.join("; ")}`;
    if (IN_CI) {
        throw new Error(`CI must run this (CI=true): ${reason}`);
    }
    return reason;
}

export function missingCommand(command: string, install: string): string | undefined {
    return which(command) === undefined ? `${command} is not installed (${install})` : undefined;
}
