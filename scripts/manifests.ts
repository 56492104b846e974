/**
 * npm run --silent manifests -- --stack <name> [--config-file <path>] --out <dir>
 *
 * Evaluates herd for one stack offline (Pulumi mocks: no CLI, network or credentials) and writes
 *   <dir>/manifests.yaml   every Kubernetes object, multi-document, schema-validated, Secret data redacted
 *   <dir>/resources.json   [{type, name, parent, inputs, ...}] for every resource, secret values redacted
 * Invalid config or an invalid manifest: exit 1, every problem printed, nothing written.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { evaluateStack } from "../tests/harness/evaluate";
import { parseCli, runCli } from "./cli";
import { buildManifests, renderYaml } from "../tests/harness/manifests";

const USAGE = "usage: npm run --silent manifests -- --stack <name> [--config-file <path>] --out <dir>";

async function main(argv: string[]): Promise<number> {
    const args = parseCli(argv, { stack: { type: "string" }, "config-file": { type: "string" }, out: { type: "string" } }, ["stack", "out"]);
    const stack = args.stack ?? "";
    const out = args.out ?? "";

    let written: { manifests: string; resources: string; objects: number; count: number };
    try {
        const evaluation = await evaluateStack({ stack: stack, configFile: args["config-file"] });
        const { redacted } = buildManifests(evaluation);
        written = {
            manifests: renderYaml(redacted),
            resources: `${JSON.stringify(evaluation.resources, null, 2)}\n`,
            objects: redacted.length,
            count: evaluation.resources.length,
        };
        // Belt and braces: no secret's plaintext may reach the files.
        for (const secret of evaluation.secretValues) {
            if (secret.length >= 6 && (written.manifests.includes(secret) || written.resources.includes(secret))) {
                throw new Error("refusing to write: a secret value would appear in the output (this is a herd bug)");
            }
        }
    } catch (err) {
        process.stderr.write(`herd manifests --stack ${stack}: ${(err as Error).message}\n`);
        return 1;
    }

    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, "manifests.yaml"), written.manifests);
    fs.writeFileSync(path.join(out, "resources.json"), written.resources);
    process.stderr.write(`herd manifests --stack ${stack}: ${written.objects} Kubernetes objects, ${written.count} resources -> ${out}\n`);
    return 0;
}

runCli(USAGE, () => main(process.argv.slice(2)));
