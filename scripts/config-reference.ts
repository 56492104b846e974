/**
 * npm run --silent config-reference [-- --yaml | --markdown]
 *
 * Prints the `config:` block of Pulumi.yaml, or the README's config reference table, from the one declaration of
 * every key in config/keys.ts. Tests fail when Pulumi.yaml or the README disagree with it; this prints what they should say.
 */
import { KEYS, KEY_NAMES, KeySpec } from "../config";
import { parseCli, runCli, UsageError } from "./cli";

function yamlScalar(v: string | number | boolean): string {
    return typeof v === "string" ? JSON.stringify(v) : String(v);
}

export function configYaml(): string {
    const lines = ["config:"];
    for (const key of KEY_NAMES) {
        const spec: KeySpec = KEYS[key];
        lines.push(`  ${key}:`);
        lines.push(`    type: ${spec.type}`);
        if (spec.type === "array") {
            lines.push("    items:", "      type: string");
        }
        lines.push(`    description: ${JSON.stringify(spec.description)}`);
        if (spec.default !== undefined) {
            lines.push(`    default: ${Array.isArray(spec.default) ? JSON.stringify(spec.default) : yamlScalar(spec.default as string | number | boolean)}`);
        }
    }
    return `${lines.join("\n")}\n`;
}

export function formatDefault(spec: KeySpec): string {
    if (spec.default === undefined) {
        return "required";
    }
    if (Array.isArray(spec.default)) {
        return spec.default.length === 0 ? "`[]`" : `\`${JSON.stringify(spec.default)}\``;
    }
    return spec.default === "" ? "not set" : `\`${String(spec.default)}\``;
}

export function configMarkdown(): string {
    const rows = ["| key | type | default | platforms | description |", "|---|---|---|---|---|"];
    for (const key of KEY_NAMES) {
        const spec: KeySpec = KEYS[key];
        const type = `${spec.type}${spec.secret === true ? " (secret)" : ""}`;
        rows.push(
            `| \`herd:${key}\` | ${type} | ${formatDefault(spec)} | ${(spec.platforms ?? ["all"]).join(", ")} | ${spec.description.replace(/\|/g, "\\|")} |`,
        );
    }
    return `${rows.join("\n")}\n`;
}

const USAGE = `usage: npm run --silent config-reference [-- --yaml | --markdown]

Prints every herd: config key from its one declaration in config/keys.ts:
  --yaml       the config: block of Pulumi.yaml (default)
  --markdown   the README's config reference table
  -h, --help   this text`;

if (require.main === module) {
    runCli(USAGE, async () => {
        const args = parseCli(process.argv.slice(2), { yaml: { type: "boolean" }, markdown: { type: "boolean" } }, []);
        if (args.yaml === true && args.markdown === true) {
            throw new UsageError("--yaml and --markdown: choose one");
        }
        process.stdout.write(args.markdown === true ? configMarkdown() : configYaml());
        return 0;
    });
}
