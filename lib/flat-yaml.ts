/**
 * A flat YAML mapping (dotted keys, values that are scalars or lists of strings), written exactly as the `yaml`
 * package writes it (`stringify(map, { lineWidth: 0 })`), without loading that package (72 modules, ~30 ms of every
 * start) when every key and value is one that needs no quoting. Anything else, an empty string, a space, a
 * character YAML treats specially, a word YAML would read as a boolean or null, a number-like string, goes to the
 * package itself, so the output is always the package's. tests/flat-yaml.test.ts holds the two equal.
 */

/** A key or string value that YAML reads back as that same string when written plain (unquoted). */
const PLAIN = /^[A-Za-z_/$][\w./${}-]*(:[\w./${}-]+)*$|^\d+(\.\d+){2,}$/;
/** Words YAML 1.1 or 1.2 reads as booleans or null even when written plain. */
const RESERVED = /^(y|yes|n|no|true|false|on|off|null)$/i;

type FlatValue = string | number | boolean | readonly string[];

function plain(s: string): boolean {
    return PLAIN.test(s) && !RESERVED.test(s);
}

function scalar(v: string | number | boolean): string | undefined {
    if (typeof v === "boolean") {
        return String(v);
    }
    if (typeof v === "number") {
        return Number.isSafeInteger(v) ? String(v) : undefined;
    }
    return plain(v) ? v : undefined;
}

function fast(map: Readonly<Record<string, FlatValue>>): string | undefined {
    const lines: string[] = [];
    for (const [key, value] of Object.entries(map)) {
        if (!plain(key)) {
            return undefined;
        }
        if (Array.isArray(value)) {
            if (value.length === 0) {
                return undefined;
            }
            lines.push(`${key}:`);
            for (const item of value as readonly string[]) {
                const s = scalar(item);
                if (s === undefined) {
                    return undefined;
                }
                lines.push(`  - ${s}`);
            }
        } else {
            const s = scalar(value as string | number | boolean);
            if (s === undefined) {
                return undefined;
            }
            lines.push(`${key}: ${s}`);
        }
    }
    return `${lines.join("\n")}\n`;
}

export function flatYaml(map: Readonly<Record<string, FlatValue>>): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return fast(map) ?? (require("yaml") as typeof import("yaml")).stringify(map, { lineWidth: 0 });
}
