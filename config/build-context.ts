/**
 * What every platform's cross-field rules read (the values that passed validation) and how they report a problem,
 * plus the cluster settings both clouds share.
 */
import { describeGiven, decodeForMessage, type ConfigProblem } from "./errors";
import { KEYS, type KeyName, type KeySpec, qualified } from "./keys";
import type { ClusterConfig, RawConfig } from "./types";

export interface BuildContext {
    /** The values that passed validation (a list with malformed entries: its valid ones). */
    readonly v: Partial<Record<KeyName, unknown>>;
    readonly raw: RawConfig;
    /** Every problem so far; the rules append to it. */
    readonly problems: ConfigProblem[];
    /** A string key's value; "" when unset or unsettled. */
    readonly str: (key: KeyName) => string;
    /** An integer key's value; NaN when unsettled. */
    readonly num: (key: KeyName) => number;
    /** A string key's value; undefined when empty (not set). */
    readonly set: (key: KeyName) => string | undefined;
    /** What the stack gave for a key, as written (a list in full, even when only its valid entries are in `v`). */
    readonly written: (key: KeyName) => string;
    /**
     * Reports a cross-field problem on `key`; `reads` are the other keys whose values decided it. When any of them
     * is unsettled the rule saw a stand-in ("" or NaN) instead of the user's value, so it says nothing: the problem
     * that left the value unknown is already reported, once.
     */
    readonly problem: (key: KeyName, message: string, ...reads: KeyName[]) => void;
}

/** `unsettled`: the keys whose value a problem already reported left unknown. */
export function buildContext(
    v: Partial<Record<KeyName, unknown>>,
    unsettled: ReadonlySet<KeyName>,
    raw: RawConfig,
    problems: ConfigProblem[],
): BuildContext {
    const str = (key: KeyName): string => (typeof v[key] === "string" ? (v[key] as string) : "");
    const num = (key: KeyName): number => (typeof v[key] === "number" ? (v[key] as number) : Number.NaN);
    const set = (key: KeyName): string | undefined => (str(key) === "" ? undefined : str(key));
    const written = (key: KeyName): string => {
        const spec: KeySpec = KEYS[key];
        const text = raw.values[qualified(key)];
        return describeGiven(text === undefined ? v[key] : decodeForMessage(spec, text), spec.secret === true);
    };
    const problem = (key: KeyName, message: string, ...reads: KeyName[]) => {
        if (![key, ...reads].some((k) => unsettled.has(k))) {
            problems.push({ key: qualified(key), message });
        }
    };
    return { v, raw, problems, str, num, set, written, problem };
}

/** The settings both clouds' clusters share, with the API-exposure rule. */
export function clusterConfig({ v, str, problem, written }: BuildContext): ClusterConfig | undefined {
    // The entries that are valid CIDRs, even when another entry is malformed (that one is reported on its own).
    const cidrs = (v.apiAccessCidrs as string[] | undefined) ?? [];
    const open = cidrs.filter((c) => c.endsWith("/0"));
    if (open.length > 0 && v.apiAccessFromAnywhere !== true) {
        problem(
            "apiAccessCidrs",
            `expected the CIDRs that may reach the Kubernetes API; ${open.join(", ")} opens it to the whole internet, which needs herd:apiAccessFromAnywhere set to true; got ${written("apiAccessCidrs")}`,
            "apiAccessFromAnywhere",
        );
        return undefined;
    }
    return { kubernetesVersion: str("kubernetesVersion"), apiAccessCidrs: cidrs };
}
