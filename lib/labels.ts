/** Kubernetes recommended labels (app.kubernetes.io/*), the same on every object herd creates. */
export const PART_OF = "herd";
export const MANAGED_BY = "pulumi";

export interface LabelArgs {
    /** The application's name, e.g. `postgres`. */
    readonly name: string;
    /** This instance of it, e.g. the component's resource name. */
    readonly instance: string;
    /** Its role in the architecture, e.g. `database`. */
    readonly component: string;
}

export function recommendedLabels(args: LabelArgs): Record<string, string> {
    return {
        "app.kubernetes.io/name": args.name,
        "app.kubernetes.io/instance": args.instance,
        "app.kubernetes.io/component": args.component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    };
}

/** The stable subset used in selectors (selectors are immutable: never put a version or config value here). */
export function selectorLabels(args: Pick<LabelArgs, "name" | "instance">): Record<string, string> {
    return {
        "app.kubernetes.io/name": args.name,
        "app.kubernetes.io/instance": args.instance,
    };
}
