/**
 * Child process of scripts/bench.ts: evaluates herd for the stack named in argv[2], as `pulumi up` would load it.
 *   herd mode:    node --require ./ts-register.cjs scripts/bench-child.ts <stack>   (main.cjs's loader)
 *   default mode: node scripts/bench-pulumi-default.cjs <stack>   (Pulumi's ts-node registration, then this file)
 * On exit it writes a BenchReport (JSON) to fd 3, which the parent opens as a pipe.
 */
import * as fs from "node:fs";
import { evaluateStack } from "../offline/evaluate";

export interface BenchReport {
    /** process.resourceUsage().maxRSS at exit, in KiB. */
    readonly maxRssKb: number;
    /** CPU time of the whole process (user + system, every thread) at exit, in ms: less disturbed than wall-clock
     * time by other work on a shared machine. */
    readonly cpuMs: number;
    /** First line of the evaluation's error; null when it succeeded (or when the process died some other way). */
    readonly error: string | null;
}

let error: string | null = null;
process.on("exit", () => {
    const usage = process.resourceUsage();
    const report: BenchReport = { maxRssKb: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, error };
    fs.writeSync(3, JSON.stringify(report));
});

const stack = process.argv[2];
if (stack === undefined) {
    process.stderr.write("usage: bench-child.ts <stack>\n");
    process.exitCode = 2;
} else {
    evaluateStack({ stack }).then(
        () => undefined,
        (err: unknown) => {
            error = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
            process.exitCode = 1;
        },
    );
}
