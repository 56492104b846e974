/** The values and field changes manifests-diff compares (shared with immutable-fields.ts, which classifies them). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface FieldChange {
    /** Where in the object, e.g. `spec.template.spec.containers[name=redis].resources.limits.memory`. */
    readonly path: string;
    readonly change: "added" | "removed" | "changed";
    /** Absent when the field was added. */
    readonly before?: Json;
    /** Absent when the field was removed. */
    readonly after?: Json;
}
