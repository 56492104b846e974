/**
 * Typed readers for the plain JSON a policy receives (`args.props` is `Record<string, any>` in @pulumi/policy).
 * Every rule reads through these, so no rule touches `any`.
 *
 * During `pulumi preview` some values are not known yet; @pulumi/policy hands props wrapped in a proxy that throws
 * an `UnknownValueError` when such a value is read. Resource rules let it propagate: the SDK then reports "can't run
 * policy during preview" (advisory) and the rule runs for real during `pulumi up`, when every input is known.
 * Stack rules use `known()` per resource, so one unknown value does not stop the whole stack check.
 */

export type Props = Readonly<Record<string, unknown>>;

/** The value as an object (not an array), or undefined. */
export function record(v: unknown): Props | undefined {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Props) : undefined;
}

/** The value as an array, or an empty one. */
export function list(v: unknown): readonly unknown[] {
    return Array.isArray(v) ? v : [];
}

/** The objects of an array (other elements dropped). */
export function records(v: unknown): Props[] {
    return list(v)
        .map(record)
        .filter((r): r is Props => r !== undefined);
}

export function text(v: unknown): string | undefined {
    return typeof v === "string" ? v : undefined;
}

/** The strings of an array (other elements dropped). */
export function strings(v: unknown): string[] {
    return list(v).filter((s): s is string => typeof s === "string");
}

/** The value at a path of object keys, or undefined as soon as one step is missing. */
export function at(v: unknown, ...path: readonly string[]): unknown {
    let cur: unknown = v;
    for (const key of path) {
        const r = record(cur);
        if (r === undefined) {
            return undefined;
        }
        cur = r[key];
    }
    return cur;
}

/** Like `at`, but undefined when the value (or one on the way) is not known yet (preview). */
export function knownAt(v: unknown, ...path: readonly string[]): unknown {
    const r = known(() => at(v, ...path));
    return r.known ? r.value : undefined;
}

/** A string map (labels, annotations, matchLabels): non-string values dropped. */
export function stringMap(v: unknown): Record<string, string> {
    const r = record(v);
    if (r === undefined) {
        return {};
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(r)) {
        if (typeof x === "string") {
            out[k] = x;
        }
    }
    return out;
}

/**
 * A string map of which only the known entries are kept (annotations, where one value may be computed during a
 * preview, e.g. an IAM role ARN, while the others are plain).
 */
export function knownStringMap(v: unknown): Record<string, string> {
    const r = record(v);
    const out: Record<string, string> = {};
    for (const k of r === undefined ? [] : Object.keys(r)) {
        const x = known(() => r?.[k]);
        if (x.known && typeof x.value === "string") {
            out[k] = x.value;
        }
    }
    return out;
}

/** True for @pulumi/policy's UnknownValueError (a value that is computed only during `pulumi up`). */
export function isUnknownValueError(err: unknown): boolean {
    // Detected by shape: this module imports nothing from @pulumi/policy at run time.
    return err instanceof Error && "unknownTypeSentinel" in err;
}

/** Runs `read`; undefined when it touched a value that is not known yet (preview). Other errors propagate. */
export function known<T>(read: () => T): { readonly known: true; readonly value: T } | { readonly known: false } {
    try {
        return { known: true, value: read() };
    } catch (err) {
        if (isUnknownValueError(err)) {
            return { known: false };
        }
        throw err;
    }
}

/** JSON-ish rendering of a value for a message (never used for values that may be secret). */
export function show(v: unknown): string {
    return v === undefined ? "unset" : JSON.stringify(v);
}
