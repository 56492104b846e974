/**
 * npm run --silent stacks [-- --github-matrix]
 *
 * The stacks of this project: one per Pulumi.<stack>.yaml file at its root, with the platform its herd:platform
 * names. The workflows build their matrices from this, so adding a stack is copying a stack file and nothing else.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PLATFORMS } from "../config/keys";
import { PROJECT_DIR, stacksIn } from "../offline/stack-config";
import { CliError, parseCli, runCli } from "./cli";


const USAGE = `usage: npm run --silent stacks [-- --github-matrix]

Lists the stacks (one per Pulumi.<stack>.yaml) and each one's herd:platform.
  --github-matrix   print {"include":[{"stack":...,"platform":...}]} for a GitHub Actions matrix
  -h, --help        this text`;

export interface StackEntry {
    readonly stack: string;
    readonly platform: string;
}

/** Every stack file in `dir`, sorted by name; a file without a valid herd:platform is an error naming it. */
export function listStacks(dir: string = PROJECT_DIR): StackEntry[] {
    const files = stacksIn(dir).map((stack) => ({ stack, file: fs.existsSync(path.join(dir, `Pulumi.${stack}.yaml`)) ? `Pulumi.${stack}.yaml` : `Pulumi.${stack}.yml` }));
    const problems: string[] = [];
    const stacks: StackEntry[] = [];
    for (const { stack, file } of files) {
        let platform: unknown;
        try {
            const doc = parse(fs.readFileSync(path.join(dir, file), "utf8")) as { config?: Record<string, unknown> } | null;
            platform = doc?.config?.["herd:platform"];
        } catch (err) {
            problems.push(`${file}: not valid YAML: ${(err as Error).message.split("\n")[0]}`);
            continue;
        }
        if (typeof platform !== "string" || !(PLATFORMS as readonly string[]).includes(platform)) {
            problems.push(`${file}: herd:platform: expected one of ${PLATFORMS.join(", ")}, got ${platform === undefined ? "nothing" : JSON.stringify(platform)}`);
            continue;
        }
        stacks.push({ stack, platform });
    }
    if (problems.length > 0) {
        throw new CliError(`herd stacks: ${problems.join("; ")}`);
    }
    if (stacks.length === 0) {
        throw new CliError(`herd stacks: no Pulumi.<stack>.yaml file in ${dir}`);
    }
    return stacks;
}

if (require.main === module) {
    runCli(USAGE, async () => {
        const args = parseCli(process.argv.slice(2), { "github-matrix": { type: "boolean" } }, []);
        const stacks = listStacks();
        process.stdout.write(
            args["github-matrix"] === true
                ? `${JSON.stringify({ include: stacks })}\n`
                : `${stacks.map((s) => `${s.stack.padEnd(12)} ${s.platform}`).join("\n")}\n`,
        );
        return 0;
    });
}
