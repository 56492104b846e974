/**
 * A component's defaults, resolved once: each component states a table (optional field -> its default, most of them
 * a config key's, read with stringDefault/numberDefault) and gets back its arguments with those fields filled in.
 * The resolved type follows from the component's Args type, so a field's type is written once.
 */

/** The fields K of Args, each required and never undefined: what a component works with once defaults are applied. */
export type Resolved<Args, K extends keyof Args> = { readonly [P in K]-?: Exclude<Args[P], undefined> };

/**
 * The fields named in `defaults`, each the argument when given (even "", 0 or false: `??`, never `||`, so validation
 * sees what the caller wrote) and the table's default otherwise.
 */
export function withDefaults<Args, K extends keyof Args>(args: Args, defaults: Resolved<Args, K>): Resolved<Args, K> {
    const resolved: Partial<Record<K, unknown>> = {};
    for (const key of Object.keys(defaults) as K[]) {
        resolved[key] = args[key] ?? defaults[key];
    }
    return resolved as Resolved<Args, K>;
}
