/**
 * What the transfer of a stack to its customer checks before anything is written, and the choices it reads:
 *   - the customer's secrets provider (`passphrase`, or the URL of their KMS or Vault key);
 *   - every secret the stack holds, in plaintext, from the vendor's `pulumi stack export --show-secrets` and
 *     `pulumi config --show-secrets --json`, so that no file of the bundle can be written holding one.
 * Pure functions: the Pulumi CLI is driven from ./transfer.
 */

/** The marker Pulumi puts on a secret value in a deployment (sdk/go/common/resource/sig). */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * Secret values shorter than this are not searched for: a 4-character secret would match ordinary text. Generated
 * passwords and keys are far longer; the count of shorter ones is reported.
 */
export const MIN_SEARCHED_SECRET = 8;

/** The URL schemes of the secrets providers `pulumi stack change-secrets-provider` accepts besides `passphrase`. */
export const PROVIDER_SCHEMES = ["awskms", "azurekeyvault", "gcpkms", "hashivault"] as const;

export type SecretsProviderChoice = { readonly kind: "passphrase" } | { readonly kind: "url"; readonly scheme: (typeof PROVIDER_SCHEMES)[number]; readonly url: string };

/** A problem the user can fix in how the command was called (exit 2 with the usage). */
export class TransferUsageError extends Error {}

/** `--secrets-provider`: `passphrase`, or a key URL of a scheme Pulumi knows. Throws naming what was given. */
export function parseSecretsProvider(value: string | undefined): SecretsProviderChoice {
    const given = value ?? "passphrase";
    if (given === "passphrase") {
        return { kind: "passphrase" };
    }
    const m = /^([a-z][a-z0-9+.-]*):\/\/(.+)$/i.exec(given);
    const scheme = m?.[1].toLowerCase();
    const known = PROVIDER_SCHEMES.find((s) => s === scheme);
    if (m === null || known === undefined) {
        const expected = `"passphrase" or a key URL (${PROVIDER_SCHEMES.map((s) => `${s}://...`).join(", ")})`;
        const shown = m === null ? JSON.stringify(given) : `the scheme "${m[1]}" (${JSON.stringify(given)})`;
        throw new TransferUsageError(`--secrets-provider: expected ${expected}, got ${shown}`);
    }
    return { kind: "url", scheme: known, url: given };
}

/** How the provider is named to `pulumi stack init` / `change-secrets-provider`. */
export function providerArg(choice: SecretsProviderChoice): string {
    return choice.kind === "passphrase" ? "passphrase" : choice.url;
}

/** Every string inside a decoded secret value (a secret may hold an object, e.g. a kubeconfig or a map). */
function collectStrings(value: unknown, into: Set<string>): void {
    if (typeof value === "string") {
        into.add(value);
    } else if (Array.isArray(value)) {
        value.forEach((v) => collectStrings(v, into));
    } else if (typeof value === "object" && value !== null) {
        Object.values(value).forEach((v) => collectStrings(v, into));
    }
}

/**
 * Every plaintext secret in a `pulumi stack export --show-secrets` document: the values of the objects marked as
 * secrets (their `plaintext` is JSON: each string inside it counts; a text that is not JSON counts as a whole).
 */
export function secretsInExport(exported: unknown, into: Set<string> = new Set()): Set<string> {
    if (Array.isArray(exported)) {
        exported.forEach((x) => secretsInExport(x, into));
        return into;
    }
    if (typeof exported !== "object" || exported === null) {
        return into;
    }
    const o = exported as Record<string, unknown>;
    if (o[SECRET_SIG_KEY] === SECRET_SIG && typeof o["plaintext"] === "string") {
        const text = o["plaintext"];
        try {
            collectStrings(JSON.parse(text) as unknown, into);
        } catch {
            // not JSON: the text itself is the secret
            into.add(text);
        }
        return into;
    }
    Object.values(o).forEach((v) => secretsInExport(v, into));
    return into;
}

/** The secret values of `pulumi config --show-secrets --json`: `{ "<key>": { "value": ..., "secret": true } }`. */
export function secretsInConfig(config: unknown, into: Set<string> = new Set()): Set<string> {
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        return into;
    }
    for (const entry of Object.values(config as Record<string, unknown>)) {
        if (typeof entry === "object" && entry !== null && (entry as Record<string, unknown>)["secret"] === true) {
            const e = entry as Record<string, unknown>;
            collectStrings(e["objectValue"] ?? e["value"], into);
            if (typeof e["value"] === "string") {
                try {
                    collectStrings(JSON.parse(e["value"]) as unknown, into);
                } catch {
                    // a plain string value
                }
            }
        }
    }
    return into;
}

/** The forms a secret could take in a file: as is, base64 (Kubernetes Secret data), JSON-escaped. */
function forms(secret: string): string[] {
    const out = new Set([secret, Buffer.from(secret, "utf8").toString("base64"), JSON.stringify(secret).slice(1, -1)]);
    return [...out];
}

export interface PlaintextCheck {
    /** One line per file that holds a secret: the file and which secret (by position), never the value. */
    readonly problems: string[];
    /** Secrets searched for. */
    readonly searched: number;
    /** Secrets too short to search for (fewer than MIN_SEARCHED_SECRET characters). */
    readonly tooShort: number;
}

/** Searches every file for every secret (as is, base64, JSON-escaped). */
export function findPlaintextSecrets(files: Readonly<Record<string, string>>, secrets: Iterable<string>): PlaintextCheck {
    const all = [...new Set(secrets)];
    const searched = all.filter((s) => s.length >= MIN_SEARCHED_SECRET).sort((a, b) => a.length - b.length);
    const problems: string[] = [];
    for (const [name, text] of Object.entries(files)) {
        const hits = searched.map((s, i) => (forms(s).some((f) => text.includes(f)) ? i + 1 : 0)).filter((i) => i > 0);
        if (hits.length > 0) {
            problems.push(`${name}: holds ${hits.length} of the stack's secret values in plaintext (secret #${hits.join(", #")} of ${searched.length}, ${searched[hits[0] - 1].length} characters)`);
        }
    }
    return { problems, searched: searched.length, tooShort: all.length - searched.length };
}

/** The ciphertexts a bundle's state or stack config file holds (what a passphrase must not open). */
export function countCiphertexts(files: Readonly<Record<string, string>>): number {
    let n = 0;
    for (const text of Object.values(files)) {
        n += (text.match(/"ciphertext"\s*:/g) ?? []).length + (text.match(/^\s*secure:\s*\S/gm) ?? []).length;
    }
    return n;
}
