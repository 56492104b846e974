/**
 * What herd's command-line scripts share: strict flag parsing with the usage on any mistake (exit 2), and a runner
 * that turns main's result into the exit code (an unexpected throw: exit 1).
 */
import { parseArgs, ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values<T extends Options> = ReturnType<typeof parseArgs<{ options: T; strict: true }>>["values"];

/** A mistake in how the command was called: printed with the usage, exit 2. */
export class UsageError extends Error {}

/** Parses `argv` strictly; every flag in `required` must be given (and not empty). */
export function parseCli<T extends Options>(argv: string[], options: T, required: readonly (keyof T & string)[]): Values<T> {
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

/** Runs a command's main and exits with its code; a UsageError prints the usage and exits 2. */
export function runCli(usage: string, main: () => Promise<number>): void {
    main().then(
        (code) => process.exit(code),
        (err: unknown) => {
            if (err instanceof UsageError) {
                process.stderr.write(`${err.message}\n${usage}\n`);
                process.exit(2);
            }
            process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
            process.exit(1);
        },
    );
}
