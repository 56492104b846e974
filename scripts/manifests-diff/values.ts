/** Pure diffing of two JSON values into the paths of the fields that differ. */
import type { FieldChange, Json } from "../diff-types";

export function isObject(v: Json | undefined): v is { [key: string]: Json } {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
    if (a === b) {
        return true;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
        return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
    }
    if (isObject(a) && isObject(b)) {
        const ka = Object.keys(a);
        const kb = Object.keys(b);
        return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
    }
    return false;
}

function fieldPath(parent: string, key: string): string {
    if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) {
        return parent === "" ? key : `${parent}.${key}`;
    }
    return `${parent}[${JSON.stringify(key)}]`;
}

/** The `name` of every element when all are objects with a distinct string name (containers, env, ports, volumes). */
function namesOf(list: readonly Json[]): string[] | undefined {
    const names: string[] = [];
    for (const item of list) {
        const name = isObject(item) ? item["name"] : undefined;
        if (typeof name !== "string") {
            return undefined;
        }
        names.push(name);
    }
    return new Set(names).size === names.length ? names : undefined;
}

/**
 * Every field that differs between two values, as paths. Lists whose items all carry a distinct `name` are matched
 * by name (`containers[name=redis]`), so an insertion does not make every later item look changed; other lists of
 * the same length are compared item by item; lists of different lengths are reported whole.
 */
export function diffValues(before: Json | undefined, after: Json | undefined, at = ""): FieldChange[] {
    if (deepEqual(before, after)) {
        return [];
    }
    if (before === undefined) {
        return [{ path: at, change: "added", after }];
    }
    if (after === undefined) {
        return [{ path: at, change: "removed", before }];
    }
    if (isObject(before) && isObject(after)) {
        const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !Object.prototype.hasOwnProperty.call(before, k))];
        return keys.flatMap((k) => diffValues(before[k], after[k], fieldPath(at, k)));
    }
    if (Array.isArray(before) && Array.isArray(after)) {
        const beforeNames = namesOf(before);
        const afterNames = namesOf(after);
        if (beforeNames !== undefined && afterNames !== undefined) {
            const names = [...beforeNames, ...afterNames.filter((n) => !beforeNames.includes(n))];
            return names.flatMap((n) =>
                diffValues(before[beforeNames.indexOf(n)], after[afterNames.indexOf(n)], `${at}[name=${n}]`),
            );
        }
        if (before.length === after.length) {
            return before.flatMap((item, i) => diffValues(item, after[i], `${at}[${i}]`));
        }
    }
    return [{ path: at, change: "changed", before, after }];
}
