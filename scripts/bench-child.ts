/**
 * Child process of scripts/bench.ts: loads and runs herd's program for one stack, as `pulumi up` would, under the
 * offline mocks standing in for the engine.
 *   herd mode:    node --require ./ts-register.cjs scripts/bench-child.ts <stack>   (main.cjs's loader)
 *   default mode: node scripts/bench-pulumi-default.cjs <stack>   (Pulumi's ts-node registration, then this file)
 * The stack's config arrives as the Pulumi language host hands it to a program: PULUMI_CONFIG (JSON) and
 * PULUMI_CONFIG_SECRET_KEYS, set by the parent, so the child parses no YAML. Nothing is recorded or resolved beyond
 * what the program does itself (offline/evaluate.ts's recording is the harness's work, not the program's); the only
 * extra is the mocks' acceptance of error hooks, which the SDK's mock monitor lacks.
 * On exit it writes a BenchReport (JSON) to fd 3, which the parent opens as a pipe.
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { RecordingMocks } from "../offline/mocks";
import { acceptErrorHooks } from "../offline/registrations";

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

async function run(stack: string): Promise<void> {
    await pulumi.runtime.setMocks(new RecordingMocks(), "herd", stack, false);
    acceptErrorHooks();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require("../index.ts") as () => Promise<Record<string, unknown>>;
    await pulumi.runtime.runInPulumiStack(program);
}

const stack = process.argv[2];
if (stack === undefined || process.env["PULUMI_CONFIG"] === undefined) {
    process.stderr.write("usage: PULUMI_CONFIG=<json> bench-child.ts <stack> (scripts/bench.ts sets the config)\n");
    process.exitCode = 2;
} else {
    run(stack).then(
        () => undefined,
        (err: unknown) => {
            error = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
            process.exitCode = 1;
        },
    );
}
