/**
 * Reads a stack's configuration the way the Pulumi CLI hands it to a program: the stack file's `config:` values as
 * strings (structured values as JSON text), project-level defaults from Pulumi.yaml for keys the stack leaves out,
 * and the list of keys that were set with --secret.
 *
 * Offline there is no passphrase or cloud KMS, so a `secure:` value cannot be decrypted: it becomes a realistic
 * stand-in (below) or the value a test passes in `secrets`, and stays marked secret.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

export const PROJECT_DIR = path.resolve(__dirname, "..");

/** Stand-ins for secrets the harness cannot decrypt. Shaped like the real thing so validation takes its real path. */
export const OFFLINE_SECRETS: Readonly<Record<string, string>> = {
    "herd:kubeconfig": [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: offline",
        "  cluster: {server: 'https://192.0.2.10:6443', certificate-authority-data: T0ZGTElORQ==}",
        "contexts:",
        "- name: offline",
        "  context: {cluster: offline, user: offline}",
        "current-context: offline",
        "users:",
        "- name: offline",
        "  user: {token: offline-token-not-a-credential}",
        "",
    ].join("\n"),
};
export const DEFAULT_OFFLINE_SECRET = "offline-secret-value-not-a-credential";

export interface StackConfigOptions {
    /** Stack name; the file is `Pulumi.<stack>.yaml` in the project directory unless `configFile` is given. */
    readonly stack: string;
    readonly configFile?: string;
    /**
     * `--config-file` as the user typed it, for messages, when the command resolved `configFile` against the user's
     * directory (npm run starts scripts in the project directory). Default: `configFile`.
     */
    readonly configFileAsGiven?: string;
    readonly projectDir?: string;
    /** Plaintext for secret keys, by fully qualified key (tests use this to play the decrypted value). */
    readonly secrets?: Readonly<Record<string, string>>;
    /** Values set over the file's, by fully qualified key (`npm run images --mirror`); "" is a string key's "not set". */
    readonly overrides?: Readonly<Record<string, string>>;
}

export interface StackConfig {
    readonly project: string;
    readonly stack: string;
    readonly file: string;
    readonly values: Record<string, string>;
    readonly secretKeys: Set<string>;
}

/** A stack or project file that cannot be read at all (as opposed to config values that fail validation). */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

type Yaml = unknown;

function isRecord(v: Yaml): v is Record<string, Yaml> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function readYamlFile(file: string): Yaml {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new StackFileError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
        return parseYaml(text) as Yaml;
    } catch (err) {
        throw new StackFileError(`${file} is not valid YAML: ${(err as Error).message}`);
    }
}

/** Replaces `{secure: ...}` anywhere in a value; reports whether there was one. */
function resolveSecure(value: Yaml, key: string, secrets: Readonly<Record<string, string>>): { value: Yaml; secret: boolean } {
    if (isRecord(value) && Object.keys(value).length === 1 && typeof value["secure"] === "string") {
        return { value: secrets[key] ?? OFFLINE_SECRETS[key] ?? DEFAULT_OFFLINE_SECRET, secret: true };
    }
    if (Array.isArray(value)) {
        let secret = false;
        const items = value.map((item) => {
            const r = resolveSecure(item, key, secrets);
            secret ||= r.secret;
            return r.value;
        });
        return { value: items, secret };
    }
    if (isRecord(value)) {
        let secret = false;
        const out: Record<string, Yaml> = {};
        for (const [k, v] of Object.entries(value)) {
            const r = resolveSecure(v, key, secrets);
            secret ||= r.secret;
            out[k] = r.value;
        }
        return { value: out, secret };
    }
    return { value, secret: false };
}

/** How the CLI passes a value: scalars as text, structured values as JSON. */
function asConfigText(value: Yaml): string {
    if (value === null || value === undefined) {
        return "";
    }
    if (typeof value === "string") {
        return value;
    }
    if (typeof value === "number" || typeof value === "boolean") {
        return String(value);
    }
    return JSON.stringify(value);
}

export function readProject(projectDir: string = PROJECT_DIR): { name: string; config: Record<string, Yaml> } {
    const project = readYamlFile(path.join(projectDir, "Pulumi.yaml"));
    if (!isRecord(project) || typeof project["name"] !== "string") {
        throw new StackFileError(`${path.join(projectDir, "Pulumi.yaml")} has no project name`);
    }
    const config = project["config"];
    return { name: project["name"], config: isRecord(config) ? config : {} };
}

/** The stacks that have a stack file (`Pulumi.<stack>.yaml`) in the project directory, sorted. */
export function stacksIn(projectDir: string = PROJECT_DIR): string[] {
    let entries: string[];
    try {
        entries = fs.readdirSync(projectDir);
    } catch {
        return [];
    }
    return entries
        .map((name) => /^Pulumi\.(.+)\.ya?ml$/.exec(name)?.[1])
        .filter((stack): stack is string => stack !== undefined)
        .sort();
}

/**
 * The stack file to read, or a StackFileError that says what to do: a `--config-file` that names no file says so
 * with the absolute path it looked at; a stack with no file lists the stacks that have one.
 */
export function stackFilePath(opts: Pick<StackConfigOptions, "stack" | "configFile" | "configFileAsGiven" | "projectDir">): string {
    const projectDir = opts.projectDir ?? PROJECT_DIR;
    if (opts.configFile !== undefined) {
        const file = path.resolve(opts.configFile);
        const shown = opts.configFileAsGiven ?? opts.configFile;
        // The absolute path in parentheses says where it looked, unless that is what the user typed.
        const where = shown === file ? "" : ` (${file})`;
        if (!fs.existsSync(file)) {
            throw new StackFileError(`--config-file ${shown}: no such file${where}`);
        }
        if (!fs.statSync(file).isFile()) {
            throw new StackFileError(`--config-file ${shown}: not a file${where}`);
        }
        return file;
    }
    const name = `Pulumi.${opts.stack}.yaml`;
    const file = path.resolve(projectDir, name);
    if (!fs.existsSync(file)) {
        const stacks = stacksIn(projectDir);
        throw new StackFileError(
            `no stack file for stack '${opts.stack}': ${name} does not exist in ${path.resolve(projectDir)}; ` +
                (stacks.length > 0 ? `the stacks here are: ${stacks.join(", ")}` : "there are no Pulumi.<stack>.yaml files here"),
        );
    }
    return file;
}

/**
 * A stack file key as the CLI hands it to the program: a bare key gets the project's namespace (`ingressClass` ->
 * `herd:ingressClass`, as pulumi's stackConfigNamespacedWithProject does), and the old `<ns>:config:<name>` form
 * becomes `<ns>:<name>` (pulumi's config.ParseKey).
 */
export function qualifyKey(key: string, project: string): string {
    const parts = key.split(":");
    if (parts.length === 1) {
        return `${project}:${key}`;
    }
    if (parts.length === 3 && parts[1] === "config") {
        return `${parts[0]}:${parts[2]}`;
    }
    return key;
}

export function readStackConfig(opts: StackConfigOptions): StackConfig {
    const projectDir = opts.projectDir ?? PROJECT_DIR;
    const project = readProject(projectDir);
    const file = stackFilePath({ ...opts, projectDir });
    const doc = readYamlFile(file);
    if (doc !== null && !isRecord(doc)) {
        throw new StackFileError(`${file}: expected a mapping with a 'config:' key at the top`);
    }
    const config = doc === null ? {} : (doc["config"] ?? {});
    if (!isRecord(config)) {
        throw new StackFileError(`${file}: 'config' must be a mapping of keys to values`);
    }

    const values: Record<string, string> = {};
    const secretKeys = new Set<string>();
    for (const [key, raw] of Object.entries(config)) {
        const fullKey = qualifyKey(key, project.name);
        const resolved = resolveSecure(raw, fullKey, opts.secrets ?? {});
        values[fullKey] = asConfigText(resolved.value);
        if (resolved.secret) {
            secretKeys.add(fullKey);
        }
    }

    // Project-level defaults apply to keys the stack does not set (what `pulumi up` does before the program runs).
    for (const [key, decl] of Object.entries(project.config)) {
        const fullKey = qualifyKey(key, project.name);
        if (fullKey in values) {
            continue;
        }
        const fallback = isRecord(decl) ? (decl["default"] ?? decl["value"]) : decl;
        if (fallback !== undefined) {
            values[fullKey] = asConfigText(fallback);
        }
    }
    for (const [key, value] of Object.entries(opts.overrides ?? {})) {
        values[key] = value;
        secretKeys.delete(key);
    }
    return { project: project.name, stack: opts.stack, file, values, secretKeys };
}
