/**
 * Where the handoff's inputs come from. The outputs, first match wins: --outputs-file (a recorded
 * `pulumi stack output --json`), the Pulumi CLI when it is on PATH and --offline is not given, or the program
 * evaluated offline under the harness's mocks. The stack's config: its stack file, when it is here and valid.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { HerdConfig } from "../../config";
import type { Evaluation } from "../../offline/evaluate";
import { obj, type Obj } from "./outputs";
import { findOnPath } from "../../lib/path-lookup";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** A problem that stops the bundle from being written, said in the user's terms. */
export class HandoffError extends Error {}

function readOutputsFile(file: string): Obj {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new HandoffError(`cannot read --outputs-file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
        const parsed = JSON.parse(text) as unknown;
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
            throw new Error("expected a JSON object");
        }
        return parsed as Obj;
    } catch (err) {
        throw new HandoffError(`--outputs-file ${file} is not what \`pulumi stack output --json\` writes: ${(err as Error).message}`);
    }
}

function cliOutputs(stack: string): Obj {
    // Never --show-secrets: the CLI prints every secret as "[secret]".
    const r = spawnSync("pulumi", ["stack", "output", "--json", "--stack", stack], { cwd: PROJECT_DIR, encoding: "utf8", timeout: 120_000 });
    if (r.error !== undefined || r.status !== 0) {
        const why = r.error?.message ?? r.stderr.trim();
        throw new HandoffError(
            `pulumi stack output --json --stack ${stack} failed: ${why}\n(log in to the stack's backend, or build the bundle with --offline or --outputs-file <path>)`,
        );
    }
    try {
        return obj(JSON.parse(r.stdout) as unknown);
    } catch (err) {
        throw new HandoffError(`pulumi stack output --json printed something that is not JSON: ${(err as Error).message}`);
    }
}

/** The stack's validated config, or undefined (with a note saying why) when it cannot be read here. */
export async function readHerdConfig(stackFileName: string, configFile: string | undefined, notes: string[]): Promise<HerdConfig | undefined> {
    // Loaded lazily: @pulumi/pulumi costs a second to import, and the CLI path may not need it.
    const { readStackConfig } = await import("../../offline/stack-config");
    const { parseConfig } = await import("../../config");
    try {
        const raw = readStackConfig({ stack: stackFileName, configFile });
        return parseConfig({ values: raw.values, secretKeys: raw.secretKeys, stack: stackFileName });
    } catch (err) {
        notes.push(`the stack's config could not be read here (${(err as Error).message.split("\n")[0]}): the runbook names the config keys without their values`);
        return undefined;
    }
}

export interface OutputsRequest {
    /** The stack as given (org/project/stack for a Pulumi Cloud stack). */
    readonly stack: string;
    /** The name of its stack file, Pulumi.<stackFileName>.yaml. */
    readonly stackFileName: string;
    readonly offline?: boolean;
    readonly outputsFile?: string;
    readonly configFile?: string;
    /** The stack renders YAML to a directory: manifests.yaml is rendered offline even when the outputs are not. */
    readonly renders: boolean;
}

export interface StackOutputs {
    /** Unsanitized outputs. */
    readonly outputs: Obj;
    /** Where they came from, in words. */
    readonly source: string;
    readonly offline: boolean;
    /** The stack's secret values, when known (offline): no file of the bundle may hold one. */
    readonly secretValues: readonly string[];
    /** manifests.yaml, when built offline or when the stack renders YAML. */
    readonly manifests: string | undefined;
}

/** The outputs from the first source that applies; notes gathers what the operator should know. */
export async function readStackOutputs(req: OutputsRequest, notes: string[]): Promise<StackOutputs> {
    // Loaded lazily: @pulumi/pulumi costs a second to import, and the CLI path may not need it.
    const { evaluateStack } = await import("../../offline/evaluate");
    const { buildManifests, renderOfflineYaml } = await import("../../offline/manifests");
    const { markComputed } = await import("../../offline/mocks");

    const evaluate = async (): Promise<Evaluation> => {
        try {
            return await evaluateStack({ stack: req.stackFileName, configFile: req.configFile });
        } catch (err) {
            throw new HandoffError(`cannot evaluate stack ${req.stackFileName} offline: ${(err as Error).message}`);
        }
    };
    const render = (evaluation: Evaluation): string =>
        renderOfflineYaml(buildManifests(evaluation).redacted, { stack: req.stackFileName, configFile: path.basename(evaluation.configFile) });

    let result: StackOutputs;
    if (req.outputsFile !== undefined) {
        const outputs = readOutputsFile(req.outputsFile);
        const source = `the outputs file ${path.basename(req.outputsFile)} (\`pulumi stack output --json\`)`;
        result = { outputs, source, offline: false, secretValues: [], manifests: undefined };
    } else if (req.offline !== true && findOnPath("pulumi") !== undefined) {
        const outputs = cliOutputs(req.stack);
        result = { outputs, source: `\`pulumi stack output --json --stack ${req.stack}\``, offline: false, secretValues: [], manifests: undefined };
    } else {
        const evaluation = await evaluate();
        result = {
            // What only `pulumi up` can know (addresses, digests, ids) is shown as <computed:...>, never a made-up value.
            outputs: JSON.parse(markComputed(JSON.stringify(evaluation.outputs))) as Obj,
            source: `the program and ${path.basename(evaluation.configFile)}, evaluated offline (no Pulumi CLI, cloud or credentials)`,
            offline: true,
            secretValues: evaluation.secretValues,
            manifests: render(evaluation),
        };
    }
    if (result.manifests === undefined && req.renders) {
        const evaluation = await evaluate();
        const manifests = render(evaluation);
        notes.push("manifests.yaml was rendered offline from this checkout's program and config, as a reference for the rendered directory");
        return { ...result, secretValues: evaluation.secretValues, manifests };
    }
    return result;
}
