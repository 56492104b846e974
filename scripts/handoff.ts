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
 * --transfer hands over the stack itself (scripts/handoff/transfer.ts): on a copy in a temporary file backend, its
 * secrets are re-keyed for the customer (`pulumi stack change-secrets-provider`), and the bundle also gets
 *   <dir>/state.json            the copy's `pulumi stack export`, every secret encrypted for the customer alone
 *   <dir>/Pulumi.<stack>.yaml   the stack's config file, its secure values encrypted for the customer alone
 * and RUNBOOK.md's "Take over the stack". The customer's passphrase comes from PULUMI_CONFIG_PASSPHRASE_CUSTOMER or
 * --customer-passphrase-file, never from the command line. Before anything is written, every file is searched for
 * every secret's plaintext (from the vendor's `--show-secrets` export and config) and the vendor's passphrase is tried
 * on the state and config file: either finding refuses the bundle. The bundle is written to a temporary directory
 * beside --out and renamed into place, so --out is either the whole bundle or not there.
 *
 * Exit 0 on success; 1 on an error (nothing is written); 2 on a usage error.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { checkOutDir, CliError, CliIo, parseCli, PROCESS_IO, runCli, UsageError, userPath, writeFilesAtomically } from "./cli";
import { findOnPath } from "../lib/path-lookup";
import { obj } from "./handoff/outputs";
import { findLeaks, sanitizeOutputs } from "./handoff/redaction";
import { renderRunbook } from "./handoff/runbook";
import type { TransferInfo } from "./handoff/runbook-takeover";
import { HandoffError, PROJECT_DIR, readHerdConfig, readStackOutputs } from "./handoff/sources";
import { transferStack, type TransferResult } from "./handoff/transfer";
import { findPlaintextSecrets, parseSecretsProvider, TransferUsageError, type SecretsProviderChoice } from "./handoff/transfer-checks";
import { renderImagesText, renderMirrorScript, stackImages } from "./images";

export type { DataService } from "./handoff/outputs";
export { findLeaks, looksLikeCredential, REDACTED, sanitizeOutputs } from "./handoff/redaction";
export { renderRunbook, type RunbookInput } from "./handoff/runbook";
export { takeoverCommands } from "./handoff/runbook-takeover";
export { tryVendorPassphrase } from "./handoff/transfer";
export { findPlaintextSecrets, parseSecretsProvider, secretsInConfig, secretsInExport } from "./handoff/transfer-checks";

/** The environment variable the customer's passphrase is read from (never from the command line). */
export const CUSTOMER_PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE_CUSTOMER";

export const USAGE = `usage: npm run --silent handoff -- --stack <name> --out <dir> [--offline] [--outputs-file <path>] [--config-file <path>]
       npm run --silent handoff -- --stack <name> --out <dir> --transfer [--secrets-provider passphrase|<key URL>] [--customer-passphrase-file <path>]

Writes the bundle a customer's operator is handed for one stack: RUNBOOK.md, outputs.json (no secret value),
restore-postgres.sh, images.txt and mirror-images.sh (the images it deploys, and their copy into a registry
mirror), and manifests.yaml when built offline or when the stack renders YAML.

  --stack <name>           the stack (Pulumi.<name>.yaml; org/project/stack for a Pulumi Cloud stack)
  --out <dir>              where to write (created if needed; relative to where you run the command)
  --outputs-file <path>    outputs from \`pulumi stack output --json\` instead of asking the CLI
  --offline                build from the program under mocks (placeholders for what only \`pulumi up\` knows)
  --config-file <path>     read this stack file instead of Pulumi.<stack>.yaml
  --transfer               hand over the stack itself: its state and config file, re-keyed for the customer's secrets
                           provider on a copy (the stack itself is only read), with the take-over steps in RUNBOOK.md;
                           needs the Pulumi CLI on PATH logged in to the stack's backend, and its passphrase as usual
                           (PULUMI_CONFIG_PASSPHRASE); --out must not exist or be empty
  --secrets-provider <p>   with --transfer: "passphrase" (default) or the customer's key URL: awskms://...,
                           azurekeyvault://..., gcpkms://..., hashivault://...
  --customer-passphrase-file <path>
                           with --transfer and a passphrase: the file holding the customer's passphrase (else
                           $PULUMI_CONFIG_PASSPHRASE_CUSTOMER); a passphrase is never taken from the command line
  -h, --help               this text`;
export interface HandoffOptions {
    readonly stack: string;
    readonly out: string;
    readonly offline?: boolean;
    readonly outputsFile?: string;
    readonly configFile?: string;
    /** For tests: a fixed timestamp. */
    readonly now?: Date;
    /** Hand over the stack itself (--transfer). */
    readonly transfer?: TransferOptions;
}

export interface TransferOptions {
    readonly provider: SecretsProviderChoice;
    /** For a passphrase provider. */
    readonly customerPassphrase: string | undefined;
}

export interface HandoffResult {
    readonly files: readonly string[];
    readonly source: string;
    readonly redacted: readonly string[];
    readonly notes: readonly string[];
    /** With --transfer: the figures of the hand-over. */
    readonly transfer?: TransferFigures;
}

export interface TransferFigures {
    /** Secret values re-encrypted for the customer (state and config). */
    readonly secretsRekeyed: number;
    /** Distinct plaintexts searched for in every file, and those too short to search for. */
    readonly secretsSearched: number;
    readonly secretsTooShort: number;
    readonly vendorPassphraseCheck: string;
    readonly files: number;
    readonly bytes: number;
    readonly seconds: number;
}

/** The herd commit of this checkout, when it is a git work tree. */
function herdCommit(): string | undefined {
    const r = spawnSync("git", ["rev-parse", "HEAD"], { cwd: PROJECT_DIR, encoding: "utf8" });
    return r.status === 0 && /^[0-9a-f]{40}$/.test(r.stdout.trim()) ? r.stdout.trim() : undefined;
}

/**
 * Writes a --transfer bundle: into a new private directory beside `out`, renamed to `out` at the end (`out` must not
 * exist, or be an empty directory). On any failure nothing is left behind.
 */
function writeBundleDirectory(out: string, files: Readonly<Record<string, string>>, modes: Readonly<Record<string, number>>): void {
    if (fs.existsSync(out) && (!fs.statSync(out).isDirectory() || fs.readdirSync(out).length > 0)) {
        throw new HandoffError(`--out ${out}: must not exist or be an empty directory (a stack's state is never mixed into other files)`);
    }
    checkOutDir("--out", out);
    const parent = path.dirname(out);
    fs.mkdirSync(parent, { recursive: true });
    const staging = fs.mkdtempSync(path.join(parent, `.${path.basename(out)}.partial-`));
    try {
        for (const [name, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(staging, name), text, { mode: modes[name] ?? 0o644 });
        }
        if (fs.existsSync(out)) {
            fs.rmdirSync(out);
        }
        fs.renameSync(staging, out);
    } catch (err) {
        fs.rmSync(staging, { recursive: true, force: true });
        throw new HandoffError(`--out ${out}: cannot write: ${(err as Error).message}`);
    }
}

/** Builds the bundle; throws HandoffError (nothing written) on any problem. */
export async function buildHandoff(opts: HandoffOptions): Promise<HandoffResult> {
    const started = Date.now();
    const notes: string[] = [];
    // A Pulumi Cloud stack may be named org/project/stack; the stack file is Pulumi.<stack>.yaml.
    const stackFileName = opts.stack.split("/").pop() ?? opts.stack;
    let transferred: TransferResult | undefined;
    let transferInfo: TransferInfo | undefined;
    if (opts.transfer !== undefined) {
        if (opts.offline === true || opts.outputsFile !== undefined || opts.configFile !== undefined) {
            throw new HandoffError("--transfer reads the deployed stack through the Pulumi CLI: it takes no --offline, --outputs-file or --config-file");
        }
        const pulumi = findOnPath("pulumi");
        if (pulumi === undefined) {
            throw new HandoffError("--transfer needs the Pulumi CLI: no `pulumi` on PATH");
        }
        transferred = transferStack({
            stack: opts.stack,
            stackName: stackFileName,
            provider: opts.transfer.provider,
            customerPassphrase: opts.transfer.customerPassphrase,
            pulumi,
            projectDir: PROJECT_DIR,
            // The vendor's environment: their backend, their passphrase (or KMS credentials).
            env: process.env,
        });
        transferInfo = {
            stackName: stackFileName,
            provider: opts.transfer.provider,
            stateFile: transferred.stateFile,
            configFile: transferred.configFile,
            secretsRekeyed: transferred.secretsRekeyed,
            commit: herdCommit(),
        };
    }
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
        transfer: transferInfo,
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
    const modes: Record<string, number> = { "restore-postgres.sh": 0o755, "mirror-images.sh": 0o755 };

    if (transferred !== undefined) {
        Object.assign(files, transferred.files);
        modes[transferred.stateFile] = 0o600;
        modes[transferred.configFile] = 0o600;
        // Every file, the state and config included, against every secret the vendor's stack holds in plaintext.
        const plain = findPlaintextSecrets(files, transferred.secrets);
        if (plain.problems.length > 0) {
            throw new HandoffError(`refusing to write the bundle: a secret would be in plaintext:\n${plain.problems.map((l) => `  - ${l}`).join("\n")}`);
        }
        if (plain.tooShort > 0) {
            notes.push(`${plain.tooShort} secret value(s) shorter than 8 characters were not searched for (too short to tell from other text)`);
        }
        writeBundleDirectory(opts.out, files, modes);
        const names = Object.keys(files);
        return {
            files: names,
            source,
            redacted: clean.redacted,
            notes,
            transfer: {
                secretsRekeyed: transferred.secretsRekeyed,
                secretsSearched: plain.searched,
                secretsTooShort: plain.tooShort,
                vendorPassphraseCheck: transferred.vendorPassphraseCheck,
                files: names.length,
                bytes: names.reduce((n, f) => n + Buffer.byteLength(files[f], "utf8"), 0),
                seconds: (Date.now() - started) / 1000,
            },
        };
    }

    try {
        writeFilesAtomically("--out", opts.out, files, modes);
    } catch (err) {
        throw new HandoffError((err as Error).message);
    }
    return { files: Object.keys(files), source, redacted: clean.redacted, notes };
}

/** Flags that would put a passphrase on the command line (visible in `ps` and shell history): refused by name. */
const PASSPHRASE_ON_ARGV = /^--[\w-]*passphrase(=|$)/;

/** The customer's passphrase: from --customer-passphrase-file or $PULUMI_CONFIG_PASSPHRASE_CUSTOMER (one of them). */
export function customerPassphrase(file: string | undefined, env: NodeJS.ProcessEnv): string {
    const fromEnv = env[CUSTOMER_PASSPHRASE_ENV];
    if (file !== undefined && fromEnv !== undefined) {
        throw new UsageError(`the customer's passphrase is given twice: --customer-passphrase-file and $${CUSTOMER_PASSPHRASE_ENV}; keep one`);
    }
    if (file !== undefined) {
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (err) {
            throw new CliError(`--customer-passphrase-file ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
        const phrase = text.replace(/\r?\n$/, "");
        if (phrase === "") {
            throw new CliError(`--customer-passphrase-file ${file}: expected the customer's passphrase, got an empty file`);
        }
        return phrase;
    }
    if (fromEnv === undefined || fromEnv === "") {
        throw new UsageError(
            `--transfer with --secrets-provider passphrase needs the customer's passphrase: set $${CUSTOMER_PASSPHRASE_ENV} or give --customer-passphrase-file <path> (never on the command line)`,
        );
    }
    return fromEnv;
}

/**
 * The command; tests run it in-process through runMain(USAGE, () => main(argv, io), io). `env` is where the
 * customer's passphrase variable is read (the process's own by default).
 */
export async function main(argv: string[], io: CliIo = PROCESS_IO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
    const onArgv = argv.find((a) => PASSPHRASE_ON_ARGV.test(a));
    if (onArgv !== undefined && !argv.some((a) => a === "--help" || a === "-h")) {
        throw new UsageError(
            `${onArgv.split("=")[0]}: a passphrase is never taken from the command line (it would show in ps and your shell's history); set $${CUSTOMER_PASSPHRASE_ENV} or give --customer-passphrase-file <path>`,
        );
    }
    const args = parseCli(
        argv,
        {
            stack: { type: "string" },
            out: { type: "string" },
            offline: { type: "boolean" },
            "outputs-file": { type: "string" },
            "config-file": { type: "string" },
            transfer: { type: "boolean" },
            "secrets-provider": { type: "string" },
            "customer-passphrase-file": { type: "string" },
        },
        ["stack", "out"],
    );
    const stack = args.stack ?? "";
    const out = userPath(args.out ?? "");
    const resolve = (p: string | undefined) => (p === undefined ? undefined : userPath(p));
    let transfer: TransferOptions | undefined;
    if (args.transfer === true) {
        let provider: SecretsProviderChoice;
        try {
            provider = parseSecretsProvider(args["secrets-provider"]);
        } catch (err) {
            throw err instanceof TransferUsageError ? new UsageError(err.message) : err;
        }
        if (provider.kind === "url" && args["customer-passphrase-file"] !== undefined) {
            throw new UsageError(`--customer-passphrase-file is for --secrets-provider passphrase, not ${provider.url}`);
        }
        const phrase = provider.kind === "passphrase" ? customerPassphrase(resolve(args["customer-passphrase-file"]), env) : undefined;
        transfer = { provider, customerPassphrase: phrase };
    } else if (args["secrets-provider"] !== undefined || args["customer-passphrase-file"] !== undefined) {
        throw new UsageError(`${args["secrets-provider"] !== undefined ? "--secrets-provider" : "--customer-passphrase-file"} is only for --transfer`);
    }
    checkOutDir("--out", out);
    try {
        const result = await buildHandoff({
            stack: stack,
            out: out,
            offline: args.offline,
            outputsFile: resolve(args["outputs-file"]),
            configFile: resolve(args["config-file"]),
            transfer,
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
        const t = result.transfer;
        if (t !== undefined) {
            io.stderr(
                `herd handoff --stack ${stack} --transfer: ${t.secretsRekeyed} secret value(s) re-keyed for the customer; ${t.secretsSearched} plaintext(s) searched for in ${t.files} files (${t.bytes} bytes), none found; vendor's passphrase ${t.vendorPassphraseCheck}; ${t.seconds.toFixed(1)} s\n`,
            );
        }
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
