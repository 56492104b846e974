/**
 * npm run --silent handoff -- --stack <name> --out <dir> [--offline] [--outputs-file <path>] [--config-file <path>]
 *
 * Builds the bundle a customer's operator is handed for one stack:
 *   <dir>/outputs.json          the stack outputs, grouped (platform, app, images, data), with no secret value anywhere
 *   <dir>/RUNBOOK.md            endpoints, how to fetch credentials (the commands, never the values), backups and
 *                               restore, scaling, upgrades, and what to check when something fails
 *   <dir>/restore-postgres.sh   the restore script the runbook refers to
 *   <dir>/manifests.yaml        every Kubernetes object, Secret data redacted: offline, or when the stack renders
 *                               YAML to a directory (herd:renderDirectory) instead of applying it
 *   <dir>/images.txt            every image the stack deploys, how it is pinned, and where the cluster pulls it from
 *   <dir>/mirror-images.sh      copies those images into the registry mirror with skopeo (`npm run images`; always
 *                               from the program and stack file evaluated offline, whatever the outputs' source)
 *
 * Where the outputs come from, first match wins:
 *   --outputs-file <path>   a file written by `pulumi stack output --json` (recorded elsewhere, or by the customer);
 *   the Pulumi CLI          `pulumi stack output --json --stack <name>` when `pulumi` is on PATH and --offline is not
 *                           given (never --show-secrets: the CLI masks secrets as "[secret]");
 *   offline                 the program evaluated under the harness's mocks (no CLI, cloud or credentials): real names,
 *                           ports, schedules and secret names, <computed:...> placeholders for what only `pulumi up` knows.
 * Whatever the source, values that look like credentials (a kubeconfig, a private key, a password or token field) are
 * replaced by "[secret]" before anything is written, and every file is checked for the stack's secret values before
 * the bundle is written at all.
 *
 * Exit 0 on success; 1 on an error (nothing is written); 2 on a usage error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkOutDir, CliError, CliIo, parseCli, PROCESS_IO, runCli, userPath, writeFilesAtomically } from "./cli";
import { obj } from "./handoff/outputs";
import { findLeaks, sanitizeOutputs } from "./handoff/redaction";
import { renderRunbook } from "./handoff/runbook";
import { HandoffError, PROJECT_DIR, readHerdConfig, readStackOutputs } from "./handoff/sources";
import { renderImagesText, renderMirrorScript, stackImages } from "./images";

export type { DataService } from "./handoff/outputs";
export { findLeaks, looksLikeCredential, REDACTED, sanitizeOutputs } from "./handoff/redaction";
export { renderRunbook, type RunbookInput } from "./handoff/runbook";

export const USAGE = `usage: npm run --silent handoff -- --stack <name> --out <dir> [--offline] [--outputs-file <path>] [--config-file <path>]

Writes the bundle a customer's operator is handed for one stack: RUNBOOK.md, outputs.json (no secret value),
restore-postgres.sh, images.txt and mirror-images.sh (the images it deploys, and their copy into a registry
mirror), and manifests.yaml when built offline or when the stack renders YAML.

  --stack <name>           the stack (Pulumi.<name>.yaml; org/project/stack for a Pulumi Cloud stack)
  --out <dir>              where to write (created if needed; relative to where you run the command)
  --outputs-file <path>    outputs from \`pulumi stack output --json\` instead of asking the CLI
  --offline                build from the program under mocks (placeholders for what only \`pulumi up\` knows)
  --config-file <path>     read this stack file instead of Pulumi.<stack>.yaml
  -h, --help               this text`;
export interface HandoffOptions {
    readonly stack: string;
    readonly out: string;
    readonly offline?: boolean;
    readonly outputsFile?: string;
    readonly configFile?: string;
    /** For tests: a fixed timestamp. */
    readonly now?: Date;
}

export interface HandoffResult {
    readonly files: readonly string[];
    readonly source: string;
    readonly redacted: readonly string[];
    readonly notes: readonly string[];
}

/** Builds the bundle; throws HandoffError (nothing written) on any problem. */
export async function buildHandoff(opts: HandoffOptions): Promise<HandoffResult> {
    const notes: string[] = [];
    // A Pulumi Cloud stack may be named org/project/stack; the stack file is Pulumi.<stack>.yaml.
    const stackFileName = opts.stack.split("/").pop() ?? opts.stack;
    const config = await readHerdConfig(stackFileName, opts.configFile, notes);
    const renders = config?.platform === "onprem" && config.onprem.renderDirectory !== undefined;
    const { outputs, source, offline, secretValues, manifests } = await readStackOutputs(
        { stack: opts.stack, stackFileName, offline: opts.offline, outputsFile: opts.outputsFile, configFile: opts.configFile, renders },
        notes,
    );

    const clean = sanitizeOutputs(outputs);
    const runbook = renderRunbook({
        stack: opts.stack,
        source,
        offline,
        outputs: obj(clean.value),
        config,
        hasManifests: manifests !== undefined,
        generatedAt: (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    });

    const files: Record<string, string> = {
        "outputs.json": `${JSON.stringify(clean.value, null, 2)}\n`,
        "RUNBOOK.md": runbook,
        "restore-postgres.sh": fs.readFileSync(path.join(PROJECT_DIR, "scripts", "restore-postgres.sh"), "utf8"),
    };
    if (manifests !== undefined) {
        files["manifests.yaml"] = manifests;
    }
    // The images come from the program and the stack file (what `pulumi up` deploys), not from the outputs.
    if (config !== undefined) {
        try {
            const images = await stackImages({ stack: stackFileName, configFile: opts.configFile });
            files["images.txt"] = renderImagesText(images);
            files["mirror-images.sh"] = renderMirrorScript(images, "skopeo");
        } catch (err) {
            throw new HandoffError(`cannot list the stack's images: ${(err as Error).message}`);
        }
    } else {
        notes.push("images.txt and mirror-images.sh were left out: they need the stack's config (run `npm run images` where it can be read)");
    }
    const leaks = findLeaks(files, secretValues);
    if (leaks.length > 0) {
        throw new HandoffError(`refusing to write the bundle (this is a herd bug):\n${leaks.map((l) => `  - ${l}`).join("\n")}`);
    }

    try {
        writeFilesAtomically("--out", opts.out, files, { "restore-postgres.sh": 0o755, "mirror-images.sh": 0o755 });
    } catch (err) {
        throw new HandoffError((err as Error).message);
    }
    return { files: Object.keys(files), source, redacted: clean.redacted, notes };
}

/** The command; tests run it in-process through runMain(USAGE, () => main(argv, io), io). */
export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
    const args = parseCli(
        argv,
        {
            stack: { type: "string" },
            out: { type: "string" },
            offline: { type: "boolean" },
            "outputs-file": { type: "string" },
            "config-file": { type: "string" },
        },
        ["stack", "out"],
    );
    const stack = args.stack ?? "";
    const out = userPath(args.out ?? "");
    const resolve = (p: string | undefined) => (p === undefined ? undefined : userPath(p));
    checkOutDir("--out", out);
    try {
        const result = await buildHandoff({
            stack: stack,
            out: out,
            offline: args.offline,
            outputsFile: resolve(args["outputs-file"]),
            configFile: resolve(args["config-file"]),
        });
        for (const note of result.notes) {
            io.stderr(`note: ${note}\n`);
        }
        if (result.redacted.length > 0) {
            io.stderr(
                `warning: the outputs held ${result.redacted.length} value(s) in clear (${result.redacted.join(", ")}); they were replaced by "[secret]". Export outputs with \`pulumi stack output --json\`, without --show-secrets.\n`,
            );
        }
        io.stderr(`herd handoff --stack ${stack}: ${result.files.join(", ")} -> ${out} (from ${result.source})\n`);
        return 0;
    } catch (err) {
        if (err instanceof HandoffError || err instanceof CliError) {
            io.stderr(`herd handoff --stack ${stack}: ${err.message}\n`);
            return 1;
        }
        throw err;
    }
}

if (require.main === module) {
    runCli(USAGE, () => main(process.argv.slice(2)));
}
