/** The shapes manifests-diff produces: object and resource references, set diffs, the whole diff and its counts. */
import type { FieldChange } from "../diff-types";

export interface ObjectRef {
    readonly apiVersion: string;
    readonly kind: string;
    /** Empty for cluster-scoped objects. */
    readonly namespace: string;
    readonly name: string;
    /** `apiVersion kind namespace/name`, how the text output names it. */
    readonly id: string;
}

export interface ResourceRef {
    readonly type: string;
    readonly name: string;
    /** `type name`. */
    readonly id: string;
}

export interface SetDiff<Ref> {
    readonly added: readonly Ref[];
    readonly removed: readonly Ref[];
    readonly changed: readonly (Ref & { readonly fields: readonly FieldChange[] })[];
}

/** What protects an object in the base: the `protect` option of the Pulumi resource that owns it. */
export interface Protection {
    /** True when the base's resources.json marks the object's resource `protect`: pulumi up refuses to delete it. */
    readonly protected: boolean;
    /** `type name` of that resource, when resources.json has it. */
    readonly resource?: string;
}

export interface ObjectChange extends ObjectRef, Protection {
    readonly fields: readonly FieldChange[];
    /** `replace` when a changed field forces pulumi-kubernetes to replace the object (see immutable-fields.ts). */
    readonly action: "update" | "replace";
    /** The changed fields that force the replacement. */
    readonly forcing: readonly string[];
    /** Changed fields the API server refuses to change in place and pulumi-kubernetes does not replace for. */
    readonly rejected: readonly string[];
    /** The object's id in the base when it differs (the same Pulumi resource renamed the object). */
    readonly previousId?: string;
    /** What to do about a replacement that protect refuses. */
    readonly hint?: string;
}

export interface ObjectsDiff {
    readonly added: readonly ObjectRef[];
    readonly removed: readonly (ObjectRef & Protection)[];
    readonly changed: readonly ObjectChange[];
}

export interface Summary {
    readonly added: number;
    readonly removed: number;
    readonly updated: number;
    readonly replaced: number;
    /** Replacements and removals that protect refuses. */
    readonly protectedReplaced: number;
    readonly protectedRemoved: number;
    /** Updates the API server refuses. */
    readonly rejected: number;
}

export interface ManifestsDiff {
    readonly stack: string;
    readonly base: { readonly ref: string; readonly commit: string };
    /** What the base is compared with. */
    readonly head: "working tree";
    readonly objects: ObjectsDiff;
    readonly resources: SetDiff<ResourceRef>;
    /** Notes about the comparison (a stack file missing on one side, ...). */
    readonly notes: readonly string[];
    readonly changes: boolean;
    /** How many distinct objects and resources the two renderings hold together. */
    readonly compared: { readonly objects: number; readonly resources: number };
    readonly summary: Summary;
}
