/**
 * `npm run handoff -- --stack <name> --transfer`: the stack handed over for the customer to run `pulumi up` with their
 * own secrets. Nothing here changes the vendor's stack: the Pulumi CLI only reads it (`stack export`, `config`); the
 * re-keying happens on a copy in a private temporary file backend:
 *   1. vendor:  `pulumi stack export` (encrypted), `stack export --show-secrets` and `config --show-secrets --json`
 *               (every secret's plaintext, kept in memory to search the bundle for);
 *   2. copy:    `pulumi stack init` + `stack import` in a temporary file backend with the stack's config file, then
 *               `pulumi stack change-secrets-provider <the customer's>` (the vendor's key decrypts, the customer's
 *               encrypts: their passphrase on stdin, or their KMS/Vault key);
 *   3. customer: with the customer's key only, `stack export` (the bundle's state), `stack export --show-secrets`
 *               (every secret must come back, the same values) and the re-encrypted config file;
 *   4. vendor's passphrase: in another temporary backend, the bundle's state and config file with the vendor's
 *               passphrase alone: decrypting must fail.
 * Any failure throws HandoffError; the temporary directory is removed whatever happens.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HandoffError } from "./sources";
import { providerArg, secretsInConfig, secretsInExport, SECRET_SIG, SECRET_SIG_KEY, type SecretsProviderChoice } from "./transfer-checks";

/** The variables through which Pulumi reads a passphrase: never passed on to a step that must not have it. */
const PASSPHRASE_VARS = ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"] as const;

export interface TransferRequest {
    /** The stack as the vendor's CLI names it (org/project/stack on Pulumi Cloud). */
    readonly stack: string;
    /** Its last part: the stack the customer creates, and its file Pulumi.<stackName>.yaml. */
    readonly stackName: string;
    readonly provider: SecretsProviderChoice;
    /** The customer's passphrase (for --secrets-provider passphrase). */
    readonly customerPassphrase: string | undefined;
    /** The pulumi binary. */
    readonly pulumi: string;
    /** The project directory (Pulumi.yaml and the stack's config file). */
    readonly projectDir: string;
    /** The vendor's environment: their backend, their passphrase (or KMS credentials). */
    readonly env: NodeJS.ProcessEnv;
}

export interface TransferResult {
    /** The bundle's files from the transfer: the state and the stack's config file, both for the customer's key. */
    readonly files: Record<string, string>;
    /** Secret values in the state and the config that were re-encrypted for the customer. */
    readonly secretsRekeyed: number;
    /** Every plaintext secret (to search the whole bundle for before it is written). */
    readonly secrets: ReadonlySet<string>;
    /** The vendor's secrets provider type (`passphrase`, `cloud`). */
    readonly vendorProvider: string;
    /** What the vendor's passphrase check found, in words. */
    readonly vendorPassphraseCheck: string;
    readonly stateFile: string;
    readonly configFile: string;
}

interface Run {
    readonly cwd: string;
    readonly env: NodeJS.ProcessEnv;
    readonly input?: string;
}

/** Runs pulumi non-interactively; returns its result (never prints anything itself). */
function pulumiRun(req: TransferRequest, args: readonly string[], run: Run): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(req.pulumi, [...args, "--non-interactive"], {
        cwd: run.cwd,
        env: run.env,
        input: run.input ?? "",
        encoding: "utf8",
        timeout: 600_000,
        maxBuffer: 512 * 1024 * 1024,
    });
    if (r.error !== undefined) {
        throw new HandoffError(`cannot run ${req.pulumi}: ${r.error.message}`);
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The last lines of pulumi's own error output (it never prints a secret's value in an error). */
function why(r: { stdout: string; stderr: string }): string {
    const text = `${r.stderr}\n${r.stdout}`.trim().split("\n").filter((l) => l.trim() !== "");
    return text.slice(-4).join("\n    ");
}

function must(req: TransferRequest, what: string, args: readonly string[], run: Run): string {
    const r = pulumiRun(req, args, run);
    if (r.status !== 0) {
        throw new HandoffError(`${what}: pulumi ${args.join(" ")} failed (exit ${String(r.status)}):\n    ${why(r)}`);
    }
    return r.stdout;
}

function parseJson(text: string, what: string): unknown {
    try {
        return JSON.parse(text) as unknown;
    } catch (err) {
        throw new HandoffError(`${what} printed something that is not JSON: ${(err as Error).message}`);
    }
}

/** The number of values marked secret in a deployment (encrypted or not). */
export function countSecretValues(exported: unknown): number {
    if (Array.isArray(exported)) {
        return exported.reduce((n: number, x) => n + countSecretValues(x), 0);
    }
    if (typeof exported !== "object" || exported === null) {
        return 0;
    }
    const o = exported as Record<string, unknown>;
    if (o[SECRET_SIG_KEY] === SECRET_SIG) {
        return 1;
    }
    return Object.values(o).reduce((n: number, v) => n + countSecretValues(v), 0);
}

/** The number of `secure:` values in a stack config file. */
export function countSecureConfig(configText: string): number {
    return (configText.match(/^\s*secure:\s*\S/gm) ?? []).length;
}

/** `secrets_providers` of an export: its type, and the URL of a KMS/Vault key. */
function vendorProvider(exported: unknown): { type: string; url: string | undefined } {
    const deployment = (exported as { deployment?: { secrets_providers?: { type?: unknown; state?: { url?: unknown } } } }).deployment;
    const sp = deployment?.secrets_providers;
    const type = typeof sp?.type === "string" ? sp.type : "none";
    return { type, url: typeof sp?.state?.url === "string" ? sp.state.url : undefined };
}

/** The environment of a scratch backend: none of the vendor's backend or passphrase, plus `extra`. */
function scratchEnv(base: NodeJS.ProcessEnv, dir: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...base };
    for (const v of [...PASSPHRASE_VARS, "PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS"]) {
        delete env[v];
    }
    return {
        ...env,
        PULUMI_HOME: path.join(dir, "home"),
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        ...extra,
    };
}

/** A project directory for a scratch backend: the project's Pulumi.yaml and, when given, the stack's config file. */
function scratchProject(req: TransferRequest, dir: string, configText: string | undefined): string {
    const project = path.join(dir, "project");
    fs.mkdirSync(path.join(dir, "state"), { recursive: true });
    fs.mkdirSync(path.join(dir, "home"), { recursive: true });
    fs.mkdirSync(project, { recursive: true });
    fs.copyFileSync(path.join(req.projectDir, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    if (configText !== undefined) {
        fs.writeFileSync(path.join(project, `Pulumi.${req.stackName}.yaml`), configText, { mode: 0o600 });
    }
    return project;
}

/** The vendor's passphrase variables, as set in their environment. */
function vendorPassphraseEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const out: NodeJS.ProcessEnv = {};
    for (const v of PASSPHRASE_VARS) {
        if (env[v] !== undefined && env[v] !== "") {
            out[v] = env[v];
        }
    }
    return out;
}

export interface VendorPassphraseTry {
    readonly pulumi: string;
    readonly projectDir: string;
    readonly stackName: string;
    /** The bundle's state (a `pulumi stack export`) and its stack config file. */
    readonly state: string;
    readonly config: string;
    /** The vendor's PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE. */
    readonly vendorEnv: NodeJS.ProcessEnv;
    /** Every plaintext secret: what the vendor's passphrase must not reveal. */
    readonly secrets: ReadonlySet<string>;
    /** The environment the CLI otherwise runs with (PATH and the like). */
    readonly baseEnv: NodeJS.ProcessEnv;
}

/**
 * Tries to open the bundle with the vendor's passphrase alone, in a scratch backend: import the state, put the
 * config file beside it, and ask for every secret (`stack export --show-secrets`, `config --show-secrets`). Returns
 * the problems (empty: neither opens). A try that fails for any reason other than the passphrase is a problem too:
 * the check must actually have been made.
 */
export function tryVendorPassphrase(t: VendorPassphraseTry): string[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herd-vendor-check-"));
    const req: TransferRequest = {
        stack: t.stackName,
        stackName: t.stackName,
        provider: { kind: "passphrase" },
        customerPassphrase: undefined,
        pulumi: t.pulumi,
        projectDir: t.projectDir,
        env: t.baseEnv,
    };
    const wrongKey = /passphrase|decrypt/i;
    const problems: string[] = [];
    try {
        const project = scratchProject(req, dir, undefined);
        const env = scratchEnv(t.baseEnv, dir, vendorPassphraseEnv(t.vendorEnv));
        const run = { cwd: project, env };
        must(req, "trying the vendor's passphrase on the bundle (a scratch stack)", ["stack", "init", t.stackName, "--secrets-provider", "passphrase"], run);
        const stateFile = path.join(dir, "state.json");
        fs.writeFileSync(stateFile, t.state, { mode: 0o600 });
        const imported = pulumiRun(req, ["stack", "import", "--stack", t.stackName, "--file", stateFile], run);
        if (imported.status !== 0 && !wrongKey.test(why(imported))) {
            problems.push(`could not try the vendor's passphrase on the state: pulumi stack import failed:\n    ${why(imported)}`);
        } else if (imported.status === 0) {
            const opened = pulumiRun(req, ["stack", "export", "--show-secrets", "--stack", t.stackName], run);
            if (opened.status === 0) {
                const found = secretsInExport(parseJson(opened.stdout, "pulumi stack export --show-secrets"));
                if ([...found].some((s) => t.secrets.has(s)) || countSecretValues(parseJson(t.state, "the bundle's state")) > 0) {
                    problems.push("the bundle's state opens with the vendor's passphrase alone (its secrets are still encrypted for the vendor)");
                }
            } else if (!wrongKey.test(why(opened))) {
                problems.push(`could not try the vendor's passphrase on the state: pulumi stack export --show-secrets failed:\n    ${why(opened)}`);
            }
        }
        if (countSecureConfig(t.config) > 0) {
            fs.writeFileSync(path.join(project, `Pulumi.${t.stackName}.yaml`), t.config, { mode: 0o600 });
            const config = pulumiRun(req, ["config", "--show-secrets", "--json", "--stack", t.stackName], run);
            if (config.status === 0) {
                problems.push(`the bundle's Pulumi.${t.stackName}.yaml opens with the vendor's passphrase alone (its secure values are still encrypted for the vendor)`);
            } else if (!wrongKey.test(why(config))) {
                problems.push(`could not try the vendor's passphrase on Pulumi.${t.stackName}.yaml: pulumi config --show-secrets failed:\n    ${why(config)}`);
            }
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    return problems;
}

/** Re-keys a copy of the stack for the customer and returns the bundle's state and config file (see the header). */
export function transferStack(req: TransferRequest): TransferResult {
    const vendorConfigPath = path.join(req.projectDir, `Pulumi.${req.stackName}.yaml`);
    let vendorConfig: string;
    try {
        vendorConfig = fs.readFileSync(vendorConfigPath, "utf8");
    } catch (err) {
        throw new HandoffError(`cannot read the stack's config file ${vendorConfigPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const vendorRun: Run = { cwd: req.projectDir, env: req.env };
    const vendorPass = vendorPassphraseEnv(req.env);
    if (req.customerPassphrase !== undefined && req.env["PULUMI_CONFIG_PASSPHRASE"] === req.customerPassphrase) {
        throw new HandoffError("the customer's passphrase is the vendor's own (PULUMI_CONFIG_PASSPHRASE): ask the customer for theirs");
    }

    // 1. The vendor's stack, read only.
    const encrypted = must(req, `reading stack ${req.stack}`, ["stack", "export", "--stack", req.stack], vendorRun);
    const exported = parseJson(encrypted, "pulumi stack export");
    const vendor = vendorProvider(exported);
    if (vendor.type === "service") {
        throw new HandoffError(
            `stack ${req.stack} keeps its secrets with Pulumi Cloud (secrets provider "service"), which a copy outside Pulumi Cloud cannot decrypt: move it to a passphrase or a KMS key first (pulumi stack change-secrets-provider), then transfer`,
        );
    }
    const shown = parseJson(must(req, `reading stack ${req.stack}'s secrets`, ["stack", "export", "--show-secrets", "--stack", req.stack], vendorRun), "pulumi stack export --show-secrets");
    const secrets = secretsInExport(shown);
    const configShown = parseJson(must(req, `reading stack ${req.stack}'s config`, ["config", "--show-secrets", "--json", "--stack", req.stack], vendorRun), "pulumi config --json");
    secretsInConfig(configShown, secrets);
    const secretsRekeyed = countSecretValues(shown) + countSecureConfig(vendorConfig);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herd-transfer-"));
    try {
        // 2. The copy, re-keyed.
        const project = scratchProject(req, dir, vendorConfig);
        const vendorFile = path.join(dir, "vendor-state.json");
        fs.writeFileSync(vendorFile, encrypted, { mode: 0o600 });
        const asVendor: Run = { cwd: project, env: scratchEnv(req.env, dir, vendorPass) };
        const initProvider = vendor.type === "cloud" && vendor.url !== undefined ? vendor.url : "passphrase";
        must(req, "copying the stack (a temporary file backend)", ["stack", "init", req.stackName, "--secrets-provider", initProvider], asVendor);
        must(req, "copying the stack (a temporary file backend)", ["stack", "import", "--stack", req.stackName, "--file", vendorFile], asVendor);
        const target = providerArg(req.provider);
        // passphrase -> passphrase is a rotation: the old passphrase from the environment, the new one from stdin.
        // Any other old provider: a new passphrase is read from PULUMI_CONFIG_PASSPHRASE.
        const rotate = req.provider.kind === "passphrase" && initProvider === "passphrase";
        const rekeyEnv =
            req.provider.kind === "passphrase" && !rotate ? scratchEnv(req.env, dir, { PULUMI_CONFIG_PASSPHRASE: req.customerPassphrase }) : asVendor.env;
        must(req, `re-keying the copy to ${req.provider.kind === "passphrase" ? "the customer's passphrase" : target}`, ["stack", "change-secrets-provider", "--stack", req.stackName, target], {
            cwd: project,
            env: rekeyEnv,
            input: rotate ? `${req.customerPassphrase ?? ""}\n` : "",
        });

        // 3. With the customer's key only.
        const asCustomer: Run = {
            cwd: project,
            env: scratchEnv(req.env, dir, req.provider.kind === "passphrase" ? { PULUMI_CONFIG_PASSPHRASE: req.customerPassphrase } : {}),
        };
        const state = must(req, "exporting the re-keyed copy", ["stack", "export", "--stack", req.stackName], asCustomer);
        const reopened = secretsInExport(parseJson(must(req, "opening the re-keyed copy with the customer's key", ["stack", "export", "--show-secrets", "--stack", req.stackName], asCustomer), "pulumi stack export --show-secrets"));
        secretsInConfig(parseJson(must(req, "opening the re-keyed config with the customer's key", ["config", "--show-secrets", "--json", "--stack", req.stackName], asCustomer), "pulumi config --json"), reopened);
        const lost = [...secrets].filter((s) => !reopened.has(s)).length;
        if (lost > 0) {
            throw new HandoffError(`the re-keyed copy does not give back ${lost} of the stack's ${secrets.size} secret values with the customer's key`);
        }
        const config = fs.readFileSync(path.join(project, `Pulumi.${req.stackName}.yaml`), "utf8");
        const stateFile = "state.json";
        const configFile = `Pulumi.${req.stackName}.yaml`;

        // 4. The vendor's passphrase alone must open nothing.
        let vendorPassphraseCheck: string;
        if (vendor.type !== "passphrase") {
            vendorPassphraseCheck = `not applicable: the stack's secrets were under ${vendor.type === "cloud" ? (vendor.url ?? "a KMS key") : "no provider"}, not a passphrase`;
        } else if (Object.keys(vendorPass).length === 0) {
            throw new HandoffError("cannot try the vendor's passphrase on the bundle: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) as for any pulumi command on this stack");
        } else {
            const problems = tryVendorPassphrase({ pulumi: req.pulumi, projectDir: req.projectDir, stackName: req.stackName, state, config, vendorEnv: req.env, secrets, baseEnv: req.env });
            if (problems.length > 0) {
                throw new HandoffError(`refusing to write the bundle:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
            }
            vendorPassphraseCheck = `tried: opens neither ${stateFile} nor ${configFile}`;
        }
        return { files: { [stateFile]: state, [configFile]: config }, secretsRekeyed, secrets, vendorProvider: vendor.type, vendorPassphraseCheck, stateFile, configFile };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
