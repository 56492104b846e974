/**
 * npm run --silent manifests -- --stack <name> [--config-file <path>] --out <dir>
 *
 * Evaluates herd for one stack offline (Pulumi mocks: no CLI, network or credentials) and writes
 *   <dir>/manifests.yaml   every Kubernetes object, multi-document, schema-validated, Secret data redacted, values
 *                          only `pulumi up` can know shown as <computed:...> placeholders (listed in its header)
 *   <dir>/resources.json   [{type, name, parent, inputs, ...}] for every resource, secret values redacted, the same
 *                          placeholders
 * Invalid config, an invalid manifest or an unusable --out: exit 1, every problem printed, nothing written.
 */
import { evaluateStack } from "../offline/evaluate";
import { buildManifests, renderOfflineYaml } from "../offline/manifests";
import { markComputed } from "../offline/mocks";
import { checkOutDir, CliError, CliIo, parseCli, PROCESS_IO, runCli, userPath, writeFilesAtomically } from "./cli";

export const USAGE = `usage: npm run --silent manifests -- --stack <name> [--config-file <path>] --out <dir>

Evaluates the program for one stack offline (Pulumi's mocks: no CLI, cloud, cluster or credentials) and writes
  <dir>/manifests.yaml   every Kubernetes object (Secret data redacted; engine-assigned values as <computed:...>)
  <dir>/resources.json   every resource with its inputs and options (secrets redacted)

  --stack <name>         the stack: reads Pulumi.<name>.yaml in the project
  --config-file <path>   read this file instead (same format as a Pulumi.<stack>.yaml)
  --out <dir>            where to write (created if needed; relative to where you run the command)
  -h, --help             this text`;

/** The command; tests run it in-process through runMain(USAGE, () => main(argv, io), io). */
export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
    const args = parseCli(argv, { stack: { type: "string" }, "config-file": { type: "string" }, out: { type: "string" } }, ["stack", "out"]);
    const stack = args.stack ?? "";
    const out = userPath(args.out ?? "");
    const configFile = args["config-file"] === undefined ? undefined : userPath(args["config-file"]);
    // An unusable --out fails before the ~1 s evaluation, not after.
    checkOutDir("--out", out);

    let files: Record<string, string>;
    let counts: { objects: number; resources: number };
    try {
        const evaluation = await evaluateStack({ stack, configFile, configFileAsGiven: args["config-file"] });
        const { redacted } = buildManifests(evaluation);
        files = {
            "manifests.yaml": renderOfflineYaml(redacted, { stack, configFile: configFile ?? `Pulumi.${stack}.yaml` }),
            "resources.json": markComputed(`${JSON.stringify(evaluation.resources, null, 2)}\n`),
        };
        counts = { objects: redacted.length, resources: evaluation.resources.length };
        // Belt and braces: no secret's plaintext may reach the files.
        for (const secret of evaluation.secretValues) {
            if (secret.length >= 6 && Object.values(files).some((text) => text.includes(secret))) {
                throw new Error("refusing to write: a secret value would appear in the output (this is a herd bug)");
            }
        }
    } catch (err) {
        throw new CliError(`herd manifests --stack ${stack}: ${(err as Error).message}`);
    }

    writeFilesAtomically("--out", out, files);
    io.stderr(`herd manifests --stack ${stack}: ${counts.objects} Kubernetes objects, ${counts.resources} resources -> ${out}\n`);
    return 0;
}

if (require.main === module) {
    runCli(USAGE, () => main(process.argv.slice(2)));
}
