/**
 * The ONE place that reads stack configuration; this file is its door (`loadConfig` and the public API).
 *
 * Every `herd:` key is declared once, in `KEYS` (config/keys.ts): its Pulumi.yaml type, its default, its
 * description and the zod schema that validates it (built from config/schemas.ts). `loadConfig()` reads the stack's
 * raw values, validates all of them (config/parse.ts) and the rules that span several keys (config/build*.ts), and
 * either returns one typed `HerdConfig` (config/types.ts) or throws one `ConfigError` (config/errors.ts) listing
 * every problem: the key, what was expected and what was given. Unknown `herd:` keys are problems too, with a
 * did-you-mean suggestion, so a typo is never silently ignored.
 *
 * Pulumi.yaml declares the same keys; `tests/config-schema.test.ts` proves the two agree.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "./parse";
import type { HerdConfig } from "./types";

export { ConfigError, editDistance, PROVIDER_NAMESPACES } from "./errors";
export type { ConfigProblem } from "./errors";
export { KEY_NAMES, KEYS, NAMESPACE, PLATFORMS, numberDefault, qualified, stringDefault, waitBudgets } from "./keys";
export type { DeclaredType, KeyName, KeySpec, PlatformName } from "./keys";
export { parseConfig } from "./parse";
export { cidrProblem, cidrsOverlap, PINNED_IMAGE } from "./schemas";
export type { AppConfig, AwsConfig, ClusterConfig, DataConfig, ElasticSnapshotsConfig, GcpConfig, HerdConfig, OnpremConfig, RawConfig, RegistryConfig } from "./types";

/**
 * Reads this stack's configuration from the Pulumi runtime and validates it. The only reader of stack config.
 */
export function loadConfig(): HerdConfig {
    // `isConfigSecret` is exported by the runtime module but missing from its type declarations; fall back to the
    // environment variable the CLI sets (a JSON array of secret keys) if a future SDK drops it.
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    const values = pulumi.runtime.allConfig();
    const secretKeys = new Set<string>();
    const fromEnv = process.env["PULUMI_CONFIG_SECRET_KEYS"];
    for (const key of Object.keys(values)) {
        if (runtime.isConfigSecret?.(key) === true) {
            secretKeys.add(key);
        }
    }
    if (runtime.isConfigSecret === undefined && fromEnv !== undefined) {
        for (const key of JSON.parse(fromEnv) as string[]) {
            secretKeys.add(key);
        }
    }
    return parseConfig({ values, secretKeys, stack: pulumi.getStack() });
}
