/**
 * The support bundle's redaction: every value of every Secret in herd's namespace, as kubectl reads it (decoded), in
 * base64 as the API serves it, and each long line of a multi-line value (a PEM block, a config file), is replaced by
 * [REDACTED] in every file before anything is written. Two exceptions, both counted in the manifest: values shorter
 * than MIN_SECRET_LENGTH (a port or a "true" would be redacted everywhere), and the values of CLEAR_KEYS, account and
 * database names that herd itself writes in clear into pod specs and rendered manifests (ELASTICSEARCH_USERNAME):
 * redacting them would hide every mention of "herd" and "elastic" (the namespace, pod and file names) and leave a
 * bundle nobody can read, while no credential is in them.
 */
export const REDACTED = "[REDACTED]";
export const MIN_SECRET_LENGTH = 4;
/** Secret keys whose values are names, not credentials: kept in clear. */
export const CLEAR_KEYS: readonly string[] = ["username", "database"];

interface SecretJson {
    readonly metadata: { readonly name: string };
    readonly type?: string;
    readonly data?: Readonly<Record<string, string>>;
    readonly stringData?: Readonly<Record<string, string>>;
}

export interface SecretValues {
    /** What to search for, longest first (so a value is replaced before any part of it). */
    readonly needles: readonly string[];
    /** Secret name, type and key names: what the bundle may say about them. */
    readonly summary: readonly string[];
    readonly values: number;
    readonly tooShort: number;
    /** Values of CLEAR_KEYS, kept in clear. */
    readonly clear: number;
}

/** The values of every Secret in a `kubectl get secrets -o json` list, and the forms they may appear in. */
export function secretValues(list: { readonly items: readonly SecretJson[] }): SecretValues {
    const needles = new Set<string>();
    const summary: string[] = [];
    let values = 0;
    let tooShort = 0;
    let clear = 0;
    const add = (key: string, plain: string, encoded: string | undefined) => {
        values++;
        if (CLEAR_KEYS.includes(key)) {
            clear++;
            return;
        }
        if (plain.length < MIN_SECRET_LENGTH) {
            tooShort++;
            return;
        }
        needles.add(plain);
        needles.add(encoded ?? Buffer.from(plain, "utf8").toString("base64"));
        const lines = plain.split(/\r?\n/).map((l) => l.trim());
        if (lines.length > 1) {
            lines.filter((l) => l.length >= 8).forEach((l) => needles.add(l));
        }
        // The same value with a trailing newline trimmed, as logs often print it.
        if (plain.trim().length >= MIN_SECRET_LENGTH) {
            needles.add(plain.trim());
        }
    };
    for (const s of list.items) {
        const keys = [...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})];
        summary.push(`${s.metadata.name}\t${s.type ?? "Opaque"}\tkeys: ${keys.length > 0 ? keys.join(", ") : "(none)"}`);
        for (const [key, encoded] of Object.entries(s.data ?? {})) {
            add(key, Buffer.from(encoded, "base64").toString("utf8"), encoded);
        }
        for (const [key, plain] of Object.entries(s.stringData ?? {})) {
            add(key, plain, undefined);
        }
    }
    return { needles: [...needles].sort((a, b) => b.length - a.length), summary, values, tooShort, clear };
}

/** Replaces every needle in the text. */
export function redact(text: string, needles: readonly string[]): { text: string; replaced: number } {
    let replaced = 0;
    let out = text;
    for (const n of needles) {
        if (out.includes(n)) {
            const parts = out.split(n);
            replaced += parts.length - 1;
            out = parts.join(REDACTED);
        }
    }
    return { text: out, replaced };
}

/** Files that still hold a needle (after redaction there must be none). */
export function leaks(files: Readonly<Record<string, string>>, needles: readonly string[]): string[] {
    return Object.entries(files)
        .filter(([, text]) => needles.some((n) => text.includes(n)))
        .map(([name]) => name);
}
