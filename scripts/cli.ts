/**
 * What herd's command-line scripts share: strict flag parsing with the usage on any mistake (exit 2), `--help`
 * (usage on stdout, exit 0), paths resolved where the user stands, output directories checked before anything is
 * written and files written whole or not at all, and a runner that turns main's result into the exit code (an
 * unexpected throw: exit 1), in-process (runMain, which tests call) or as the process's exit (runCli).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs, ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values<T extends Options> = ReturnType<typeof parseArgs<{ options: T; strict: true }>>["values"];

/** A mistake in how the command was called: printed with the usage, exit 2. */
export class UsageError extends Error {}

/** `--help` or `-h` was given: the usage goes to stdout and the command exits 0. */
export class HelpRequested extends Error {}

/** A problem the user can fix (a path, a file): one line, exit 1, no stack trace. */
export class CliError extends Error {}

/** Parses `argv` strictly; every flag in `required` must be given (and not empty). `--help`/`-h` wins over all. */
export function parseCli<T extends Options>(argv: string[], options: T, required: readonly (keyof T & string)[]): Values<T> {
    if (argv.some((a) => a === "--help" || a === "-h")) {
        throw new HelpRequested();
    }
    let values: Values<T>;
    try {
        values = parseArgs({ args: argv, options, strict: true }).values as Values<T>;
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
    const given = values as Record<string, unknown>;
    const missing = required.filter((k) => given[k] === undefined || given[k] === "");
    if (missing.length > 0) {
        throw new UsageError(`${missing.map((k) => `--${k}`).join(" and ")} ${missing.length === 1 ? "is" : "are"} required`);
    }
    return values;
}

/**
 * A path the user typed, made absolute against the directory they ran the command in. `npm run` starts scripts in
 * the project directory and records the user's own directory in INIT_CWD.
 */
export function userPath(p: string): string {
    return path.resolve(process.env["INIT_CWD"] ?? process.cwd(), p);
}

/** Filesystems no output can go to (and where a recursive mkdir would never return). */
const PSEUDO_ROOTS = ["/proc", "/sys", "/dev"];

/**
 * Checks that `dir` can hold the command's output, without creating anything: an existing directory we may write
 * to, or a path whose nearest existing ancestor is such a directory. Throws CliError naming the path and why.
 */
export function checkOutDir(flag: string, dir: string): void {
    const shown = `${flag} ${dir}`;
    if (PSEUDO_ROOTS.some((root) => dir === root || dir.startsWith(`${root}/`))) {
        throw new CliError(`${shown}: cannot write there (${dir.split("/")[1] === "dev" ? "device" : "kernel"} filesystem); choose a directory on disk`);
    }
    let cur = dir;
    for (;;) {
        let st: fs.Stats | undefined;
        try {
            st = fs.statSync(cur);
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code !== "ENOENT" && code !== "ENOTDIR") {
                throw new CliError(`${shown}: cannot use ${cur}: ${code ?? String(err)}`);
            }
        }
        if (st !== undefined) {
            if (!st.isDirectory()) {
                throw new CliError(
                    cur === dir ? `${shown}: exists and is not a directory` : `${shown}: ${cur} is a file, so no directory can be created under it`,
                );
            }
            try {
                fs.accessSync(cur, fs.constants.W_OK | fs.constants.X_OK);
            } catch {
                throw new CliError(`${shown}: ${cur === dir ? "the directory" : cur} is not writable`);
            }
            return;
        }
        const parent = path.dirname(cur);
        if (parent === cur) {
            throw new CliError(`${shown}: no existing parent directory`);
        }
        cur = parent;
    }
}

/**
 * Writes every file into `dir` (created if needed) all or nothing: each file goes to a temporary name first and is
 * renamed into place only when all were written; on failure the temporaries, and any directory this call created,
 * are removed. Throws CliError naming the path and why.
 */
export function writeFilesAtomically(flag: string, dir: string, files: Readonly<Record<string, string>>, modes: Readonly<Record<string, number>> = {}): void {
    checkOutDir(flag, dir);
    const created: string[] = [];
    for (let cur = dir; !fs.existsSync(cur); cur = path.dirname(cur)) {
        created.unshift(cur);
    }
    const temps: string[] = [];
    try {
        for (const d of created) {
            fs.mkdirSync(d);
        }
        const staged: [string, string][] = [];
        for (const [name, text] of Object.entries(files)) {
            const target = path.join(dir, name);
            const temp = `${target}.tmp-${process.pid}`;
            temps.push(temp);
            fs.writeFileSync(temp, text, { mode: modes[name] ?? 0o644 });
            staged.push([temp, target]);
        }
        for (const [temp, target] of staged) {
            fs.renameSync(temp, target);
        }
    } catch (err) {
        for (const t of temps) {
            fs.rmSync(t, { force: true });
        }
        for (const d of [...created].reverse()) {
            fs.rmSync(d, { recursive: true, force: true });
        }
        const e = err as NodeJS.ErrnoException;
        throw new CliError(`${flag} ${dir}: cannot write: ${e.code ?? ""}${e.code !== undefined ? " " : ""}${e.message.replace(/^[A-Z]+: /, "")}`);
    }
}

/** Where a command writes: the process's stdout and stderr, or (in tests) anything that collects the text. */
export interface CliIo {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
}

export const PROCESS_IO: CliIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
};

/**
 * Runs a command's main and resolves to its exit code, printing what runCli prints: `--help` the usage on stdout (0),
 * a UsageError its message and the usage (2), a CliError its one line (1), anything else its stack (1).
 */
export async function runMain(usage: string, main: () => Promise<number>, io: CliIo = PROCESS_IO): Promise<number> {
    try {
        return await main();
    } catch (err: unknown) {
        if (err instanceof HelpRequested) {
            io.stdout(`${usage}\n`);
            return 0;
        }
        if (err instanceof UsageError) {
            io.stderr(`${err.message}\n${usage}\n`);
            return 2;
        }
        if (err instanceof CliError) {
            io.stderr(`${err.message}\n`);
            return 1;
        }
        io.stderr(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        return 1;
    }
}

/** Runs a command's main and exits with its code; a UsageError prints the usage and exits 2. */
export function runCli(usage: string, main: () => Promise<number>): void {
    void runMain(usage, main).then((code) => process.exit(code));
}
