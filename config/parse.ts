/**
 * Parsing: sorts the stack's raw values into herd's keys and the problems of unknown or misplaced ones, validates
 * each key against its schema, then hands the valid values to the platform's cross-field rules (config/build.ts).
 */
import { z } from "zod";
import { build } from "./build";
import { ConfigError, type ConfigProblem, decodeForMessage, describeGiven, isKeyName, misplacedKey, unknownKey, withGiven } from "./errors";
import { KEY_NAMES, KEYS, type KeyName, type KeySpec, NAMESPACE, type PlatformName, qualified } from "./keys";
import type { HerdConfig, RawConfig } from "./types";

function at(value: unknown, path: readonly PropertyKey[]): unknown {
    let cur = value;
    for (const p of path) {
        if (cur === null || typeof cur !== "object") {
            return undefined;
        }
        cur = (cur as Record<PropertyKey, unknown>)[p];
    }
    return cur;
}

/**
 * Validates raw stack configuration and builds the typed config. Pure: tests call it directly.
 * Throws `ConfigError` with every problem found, each once: a problem is reported where it starts (a misspelled
 * key, a malformed value, a key on the wrong platform), and the rules that span several keys stay silent about a
 * key whose value that problem left unknown (no "required" for a value that was given but malformed, no "needs
 * herd:ingressClass" when herd:ingresClass was written).
 */
export function parseConfig(raw: RawConfig): HerdConfig {
    const problems: ConfigProblem[] = [];
    const given: Partial<Record<KeyName, string>> = {};
    /** Keys a misspelled or misplaced key's did-you-mean names. */
    const meantKeys = new Set<KeyName>();

    for (const [fullKey, value] of Object.entries(raw.values)) {
        const colon = fullKey.indexOf(":");
        const namespace = fullKey.slice(0, Math.max(colon, 0));
        const name = fullKey.slice(colon + 1);
        if (namespace === NAMESPACE && isKeyName(name)) {
            given[name] = value;
            continue;
        }
        // undefined: another namespace's key (aws:, kubernetes:, ...), which belongs to its provider.
        const unknown = namespace === NAMESPACE ? unknownKey(name) : misplacedKey(namespace, name);
        if (unknown !== undefined) {
            problems.push(unknown.problem);
            if (unknown.meant !== undefined) {
                meantKeys.add(unknown.meant);
            }
        }
    }

    /**
     * Keys whose value is not known because a problem above is about them: given but malformed, or the
     * did-you-mean of a misspelled key and not set themselves (the value went to the typo). Rules that read one
     * report nothing: the user fixes the first problem and the rule then sees the real value.
     */
    const unsettled = new Set<KeyName>([...meantKeys].filter((k) => given[k] === undefined));

    // The platform decides which keys apply, so it is read first.
    const platformResult = given.platform === undefined ? undefined : KEYS.platform.schema.safeParse(given.platform);
    const platform = platformResult?.success === true ? (platformResult.data as PlatformName) : undefined;

    // Per-key validation.
    const values: Partial<Record<KeyName, unknown>> = {};
    for (const key of KEY_NAMES) {
        const spec: KeySpec = KEYS[key];
        const secret = spec.secret === true;
        const value = given[key];
        if (platform !== undefined && spec.platforms !== undefined && !spec.platforms.includes(platform) && value !== undefined) {
            // A key only another platform reads must not be set (to a non-default value: the CLI fills declared
            // defaults in). Whether it is well-formed does not matter: the one fix is to remove it.
            if (value !== defaultAsRaw(spec)) {
                problems.push({
                    key: qualified(key),
                    message: `applies only to platform ${spec.platforms.join(", ")}, but this stack's platform is ${platform}: expected it removed, got ${describeGiven(decodeForMessage(spec, value), secret)}`,
                });
                continue;
            }
            // The default, as the CLI fills it in: read like an unset key below.
        }
        const rawValue = value ?? defaultAsRaw(spec);
        if (rawValue === undefined) {
            if (!unsettled.has(key)) {
                // (When a misspelled key holds the value, its did-you-mean is the one problem to report.)
                problems.push({ key: qualified(key), message: `required: ${expectation(spec)}, got nothing` });
            }
            unsettled.add(key);
            continue;
        }
        if (secret && rawValue !== "" && !raw.secretKeys.has(qualified(key))) {
            problems.push({
                key: qualified(key),
                message: `expected a secret value (pulumi config set --secret ${qualified(key)} ...), got a plaintext value`,
            });
            unsettled.add(key);
            continue;
        }
        const structured = structuredKind(rawValue);
        if (spec.type === "string" && spec.acceptsDocument !== true && structured !== undefined) {
            // The CLI hands a mapping or list written in the stack file to the program as JSON text.
            problems.push({ key: qualified(key), message: `expected a string, got a ${structured}: ${describeGiven(JSON.parse(rawValue) as unknown, secret)}` });
            unsettled.add(key);
            continue;
        }
        const result = spec.schema.safeParse(rawValue);
        if (result.success) {
            values[key] = result.data;
            continue;
        }
        const decoded = decodeForMessage(spec, rawValue);
        for (const issue of result.error.issues) {
            const sub = issue.path.length > 0 ? `[${issue.path.map(String).join("][")}]` : "";
            const got = issue.path.length > 0 ? at(decoded, issue.path) : decoded;
            problems.push({
                key: `${qualified(key)}${sub}`,
                message: withGiven(issue.message !== "" ? issue.message : expectation(spec), describeGiven(got, secret)),
            });
        }
        const badItems = new Set(result.error.issues.map((issue) => issue.path[0]));
        if (Array.isArray(decoded) && [...badItems].every((i) => typeof i === "number")) {
            // A list whose only problems are some of its entries: the rest are known, and the rules that span keys
            // still check them (0.0.0.0/0 is reported even while another entry is malformed).
            values[key] = decoded.filter((_, i) => !badItems.has(i));
        } else {
            unsettled.add(key);
        }
    }

    const built = platform === undefined ? undefined : build(platform, values, unsettled, raw, problems);
    if (problems.length > 0 || built === undefined) {
        throw new ConfigError(problems, raw.stack);
    }
    return built;
}

/** "mapping" or "list" when the raw text is a JSON object or array (how the CLI passes structured values). */
function structuredKind(raw: string): "mapping" | "list" | undefined {
    const t = raw.trim();
    if (!(t.startsWith("{") || t.startsWith("["))) {
        return undefined;
    }
    try {
        const v = JSON.parse(t) as unknown;
        return Array.isArray(v) ? "list" : typeof v === "object" && v !== null ? "mapping" : undefined;
    } catch {
        return undefined;
    }
}

function defaultAsRaw(spec: KeySpec): string | undefined {
    if (spec.default === undefined) {
        return undefined;
    }
    return Array.isArray(spec.default) ? JSON.stringify(spec.default) : String(spec.default);
}

function expectation(spec: KeySpec): string {
    if (spec.schema instanceof z.ZodEnum) {
        return `expected one of ${(spec.schema.options as string[]).join(", ")}`;
    }
    return `expected ${spec.type === "array" ? "a list" : `a ${spec.type}`}`;
}
