/**
 * Errors and their messages: the one `ConfigError` that lists every problem, the did-you-mean for unknown and
 * misplaced keys, and how a given value is shown (never a secret's).
 */
import * as pulumi from "@pulumi/pulumi";
import { KEY_NAMES, KEYS, type KeyName, type KeySpec, NAMESPACE, qualified } from "./keys";

export interface ConfigProblem {
    /** Fully qualified key, e.g. `herd:namespace`. */
    readonly key: string;
    readonly message: string;
}

/** Every problem in the stack's configuration, in one error. */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly problems: readonly ConfigProblem[],
        stack: string,
    ) {
        super(
            `Stack '${stack}' has ${problems.length} configuration problem${problems.length === 1 ? "" : "s"}:\n` +
                problems.map((p) => `  - ${p.key}: ${p.message}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** Levenshtein distance, for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
    const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diag = prev[0];
        prev[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const up = prev[j];
            prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
            diag = up;
        }
    }
    return prev[b.length];
}

function suggest(unknown: string): KeyName | undefined {
    const lower = unknown.toLowerCase();
    let best: { key: KeyName; distance: number } | undefined;
    for (const key of KEY_NAMES) {
        const distance = key.toLowerCase() === lower ? 0 : editDistance(lower, key.toLowerCase());
        if (best === undefined || distance < best.distance) {
            best = { key, distance };
        }
    }
    return best !== undefined && best.distance <= Math.max(2, Math.floor(unknown.length / 3)) ? best.key : undefined;
}

export const isKeyName = (name: string): name is KeyName => Object.prototype.hasOwnProperty.call(KEYS, name);

/**
 * Namespaces of the providers herd uses (package.json) and Pulumi's own: their keys belong to them, never to herd.
 * Any other namespace is checked for a key herd could have meant.
 */
export const PROVIDER_NAMESPACES: ReadonlySet<string> = new Set(["aws", "gcp", "kubernetes", "random", "tls", "docker", "eks", "pulumi"]);

/** A `herd:` key herd does not read, with the key its did-you-mean names. */
export function unknownKey(name: string): { problem: ConfigProblem; meant: KeyName | undefined } {
    const hint = suggest(name);
    const message = `unknown key${hint !== undefined ? `; did you mean ${qualified(hint)}?` : ""} (herd reads only the keys listed in Pulumi.yaml)`;
    return { problem: { key: qualified(name), message }, meant: hint };
}

/**
 * A key outside `herd:` that herd could have meant: its namespace is a near miss of `herd` (`herdd`, `hrd`), or its
 * name is a herd key in a namespace no provider owns (`app:ingressClass`). Returns the problem and the key its
 * did-you-mean names; undefined when the key is someone else's.
 */
export function misplacedKey(namespace: string, name: string): { problem: ConfigProblem; meant: KeyName | undefined } | undefined {
    if (PROVIDER_NAMESPACES.has(namespace)) {
        return undefined;
    }
    const nearHerd = editDistance(namespace.toLowerCase(), NAMESPACE) <= 2;
    if (!nearHerd && !isKeyName(name)) {
        return undefined;
    }
    const hint = isKeyName(name) ? name : suggest(name);
    const key = namespace === "" ? name : `${namespace}:${name}`;
    const where =
        namespace === ""
            ? "a key without a namespace"
            : nearHerd
              ? `unknown namespace "${namespace}"`
              : `"${namespace}" is not herd's namespace nor a provider's`;
    const message =
        hint !== undefined
            ? `${where}; did you mean ${qualified(hint)}? (herd reads only herd: keys)`
            : `${where}, and "${name}" is not a herd key either (herd reads only the herd: keys listed in Pulumi.yaml)`;
    return { problem: { key, message }, meant: hint };
}

/**
 * What was given, for a message: strings quoted, numbers and lists as written, truncated, and never the value of
 * a secret.
 */
export function describeGiven(value: unknown, secret: boolean): string {
    if (value === undefined) {
        return "nothing";
    }
    if (secret) {
        return "a value (not shown: secret)";
    }
    const shown = JSON.stringify(value);
    return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

/**
 * "<expected>, got <given>". A schema's message says only what was expected; when it already carries a detail of
 * what it found (cron: "..., got 4 fields"), that detail follows the value instead of a second "got".
 */
export function withGiven(message: string, given: string): string {
    const m = /^(.*), got (.+)$/s.exec(message);
    return m === null ? `${message}, got ${given}` : `${m[1]}, got ${given} (${m[2]})`;
}

/**
 * Decodes the raw text of a value for the "got" part of a message: arrays arrive as JSON, and an integer key's
 * number-like text is shown as the number it is (`got 0`, not `got "0"`). Everything else is the string it is.
 */
export function decodeForMessage(spec: KeySpec, raw: string): unknown {
    if (spec.type === "array") {
        try {
            return JSON.parse(raw) as unknown;
        } catch {
            return raw;
        }
    }
    if (spec.type === "integer" && /^\s*-?\d+(\.\d+)?\s*$/.test(raw)) {
        return Number(raw);
    }
    return raw;
}
