/**
 * What preflight and the support bundle take from the stack: its validated config (through config/, the one reader),
 * reduced to what the checks need, and the cluster connection the program would use (herd:kubeconfig and
 * herd:kubeContext, or kubectl's own kubeconfig when the stack names none).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { HerdConfig } from "../../config";
import { findOnPath } from "../../lib/path-lookup";
import { CliError, userPath } from "../cli";
import { Kube, kubectl } from "./kube";
import type { PreflightTarget } from "./checks";
import { registryHost } from "../../lib/image-mirror";
import { registryHostOf } from "./registry";

/** The command-line options that name the stack and reach its cluster, shared by preflight and support-bundle. */
export const TARGET_CLI_OPTIONS = {
    stack: { type: "string" },
    kubeconfig: { type: "string" },
    context: { type: "string" },
    kubectl: { type: "string" },
    "config-file": { type: "string" },
} as const;

export interface StackTarget {
    readonly target: PreflightTarget;
    /** A kubeconfig file for kubectl (undefined: kubectl's own), and how it was found. */
    readonly kubeconfig: string | undefined;
    readonly context: string | undefined;
    /** Removes any temporary kubeconfig written for this run. */
    readonly cleanup: () => void;
}

export interface TargetOptions {
    readonly stack: string;
    readonly configFile?: string;
    readonly configFileAsGiven?: string;
    /** --kubeconfig and --context: they win over the stack's. */
    readonly kubeconfig?: string;
    readonly context?: string;
    readonly projectDir?: string;
}

/** The checks' view of an onprem config. */
export function targetOf(stack: string, cfg: HerdConfig): PreflightTarget {
    if (cfg.platform !== "onprem") {
        throw new CliError(
            `stack ${stack} is platform ${cfg.platform}: herd creates that cluster itself, so there is nothing to check before pulumi up; preflight is for onprem stacks (an existing cluster)`,
        );
    }
    const o = cfg.onprem;
    const registryHosts =
        o.images.mode === "build"
            ? [o.images.registry.server]
            : [o.images.api, o.images.frontend, o.images.postgres].filter((i) => i !== "").map(registryHostOf);
    // With herd:imageRegistryMirror every other image (PostgreSQL, Redis, Elasticsearch, the backup tools) comes from
    // the mirror: the nodes must reach it as well.
    if (cfg.imageRegistryMirror !== undefined) {
        registryHosts.push(registryHost(cfg.imageRegistryMirror));
    }
    return {
        stack,
        namespace: cfg.namespace,
        storage: o.storage.mode === "existing" ? { mode: "existing", className: o.storage.className } : { mode: "create", className: o.storage.className, provisioner: o.storage.provisioner },
        repositoryStorageClass: o.repositoryStorageClass,
        ingressClass: o.ingressClass,
        registryHosts: [...new Set(registryHosts)],
    };
}

/**
 * Reads and validates the stack's config and works out the connection. The secret herd:kubeconfig cannot be
 * decrypted offline: with the Pulumi CLI on PATH it is read with `pulumi config get` (the stack's passphrase or KMS
 * as usual), else --kubeconfig must be given.
 */
export async function readTarget(opts: TargetOptions): Promise<StackTarget> {
    // Loaded lazily: @pulumi/pulumi (under config/) costs a second to import; --help and usage errors skip it.
    const { readStackConfig, StackFileError } = await import("../../offline/stack-config");
    const { parseConfig, ConfigError } = await import("../../config");
    let cfg: HerdConfig;
    let stackKubeconfig = "";
    try {
        const raw = readStackConfig({ stack: opts.stack, configFile: opts.configFile, configFileAsGiven: opts.configFileAsGiven, projectDir: opts.projectDir });
        stackKubeconfig = raw.values["herd:kubeconfig"] ?? "";
        cfg = parseConfig({ values: raw.values, secretKeys: raw.secretKeys, stack: opts.stack });
    } catch (err) {
        if (err instanceof StackFileError || err instanceof ConfigError) {
            throw new CliError(`stack ${opts.stack}: ${err.message}`);
        }
        throw err;
    }
    const target = targetOf(opts.stack, cfg);
    if (cfg.platform === "onprem" && cfg.onprem.renderDirectory !== undefined) {
        throw new CliError(
            `stack ${opts.stack} renders YAML to ${cfg.onprem.renderDirectory} (herd:renderDirectory) and talks to no cluster: run preflight against the cluster the YAML is applied to, with --config-file pointing at a stack file for it`,
        );
    }
    const context = opts.context ?? (cfg.platform === "onprem" ? cfg.onprem.kubeContext : undefined);
    if (opts.kubeconfig !== undefined) {
        if (!fs.existsSync(opts.kubeconfig)) {
            throw new CliError(`--kubeconfig ${opts.kubeconfig}: no such file`);
        }
        return { target, kubeconfig: opts.kubeconfig, context, cleanup: () => undefined };
    }
    if (stackKubeconfig === "") {
        return { target, kubeconfig: undefined, context, cleanup: () => undefined };
    }
    // config/ refuses herd:kubeconfig in plaintext, so a value here is a secret only the Pulumi CLI can decrypt.
    const pulumi = findOnPath("pulumi");
    const configFileArgs = opts.configFile !== undefined ? ["--config-file", opts.configFile] : [];
    const r =
        pulumi === undefined
            ? undefined
            : spawnSync(pulumi, ["config", "get", "herd:kubeconfig", "--stack", opts.stack, ...configFileArgs], {
                  cwd: opts.projectDir ?? path.resolve(__dirname, "..", ".."),
                  encoding: "utf8",
                  timeout: 60_000,
              });
    if (r === undefined || r.error !== undefined || r.status !== 0 || r.stdout.trim() === "") {
        const why = r === undefined ? "the Pulumi CLI is not on PATH" : `pulumi config get herd:kubeconfig failed: ${(r.error?.message ?? r.stderr).trim().split("\n")[0]}`;
        throw new CliError(
            `stack ${opts.stack} sets herd:kubeconfig as a secret, which cannot be decrypted here (${why}); save it with \`pulumi config get herd:kubeconfig --stack ${opts.stack} > kubeconfig.yaml\` and pass --kubeconfig kubeconfig.yaml`,
        );
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herd-kubeconfig-"));
    const file = path.join(dir, "kubeconfig");
    fs.writeFileSync(file, r.stdout, { mode: 0o600 });
    return { target, kubeconfig: file, context, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The values of TARGET_CLI_OPTIONS as parseCli gives them. */
export interface TargetCliValues {
    readonly stack?: string;
    readonly "config-file"?: string;
    readonly kubeconfig?: string;
    readonly context?: string;
    readonly kubectl?: string;
}

/**
 * The stack's target and a kubectl for its cluster, from the shared command-line options (paths as the user gave
 * them, relative to where they ran npm). The caller runs `resolved.cleanup()` when done.
 */
export async function connect(args: TargetCliValues): Promise<{ readonly resolved: StackTarget; readonly kube: Kube }> {
    const given = args["config-file"];
    const resolved = await readTarget({
        stack: args.stack ?? "",
        configFile: given === undefined ? undefined : userPath(given),
        configFileAsGiven: given,
        kubeconfig: args.kubeconfig === undefined ? undefined : userPath(args.kubeconfig),
        context: args.context,
    });
    try {
        const tool = args.kubectl?.includes("/") === true ? userPath(args.kubectl) : args.kubectl;
        return { resolved, kube: kubectl({ kubectl: tool, kubeconfig: resolved.kubeconfig, context: resolved.context }) };
    } catch (err) {
        resolved.cleanup();
        throw err;
    }
}
