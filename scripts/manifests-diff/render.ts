/** Git, the base's worktree and the two renderings (each tree's own manifests command), compared into one diff. */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import type { Json } from "../diff-types";
import { diffManifests, diffResources, indexObjects, resourceKeys, summarize } from "./diff";
import type { ManifestsDiff } from "./types";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export class DiffError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DiffError";
    }
}

function git(args: readonly string[], cwd: string): { ok: boolean; stdout: string; stderr: string } {
    const r = spawnSync("git", args, { cwd, encoding: "utf8" });
    if (r.error !== undefined) {
        throw new DiffError(`cannot run git: ${r.error.message}`);
    }
    return { ok: r.status === 0, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** Whether a path (relative to the repository root, posix separators) exists in a commit. */
function existsIn(commit: string, repoPath: string, cwd: string): boolean {
    return git(["cat-file", "-e", `${commit}:${repoPath}`], cwd).ok;
}

interface Rendering {
    readonly manifests: Json[];
    readonly resources: Json[];
}

const EMPTY: Rendering = { manifests: [], resources: [] };

/** Runs `npm run --silent manifests` in a project directory (that tree's own command) and reads what it wrote. */
function render(projectDir: string, stack: string, configFile: string | undefined, out: string, side: string): Promise<Rendering> {
    const args = ["run", "--silent", "manifests", "--", "--stack", stack, "--out", out];
    if (configFile !== undefined) {
        args.push("--config-file", configFile);
    }
    const env = { ...process.env };
    delete env["PULUMI_CONFIG"];
    delete env["PULUMI_CONFIG_SECRET_KEYS"];
    return new Promise((resolve, reject) => {
        const child = spawn("npm", args, { cwd: projectDir, env, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stdout.on("data", () => undefined);
        child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString("utf8");
        });
        child.on("error", (err) => reject(new DiffError(`${side}: cannot run npm: ${err.message}`)));
        child.on("close", (code) => {
            if (code !== 0) {
                reject(new DiffError(`the manifests command failed on the ${side} (exit ${String(code)}):\n${stderr.trim()}`));
                return;
            }
            try {
                const yamlText = fs.readFileSync(path.join(out, "manifests.yaml"), "utf8");
                const manifests = parseAllDocuments(yamlText)
                    .map((d) => d.toJS() as Json)
                    .filter((m) => m !== null);
                const resources = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as Json[];
                resolve({ manifests, resources });
            } catch (err) {
                reject(new DiffError(`cannot read what the manifests command wrote for the ${side}: ${(err as Error).message}`));
            }
        });
    });
}

function isInside(dir: string, file: string): boolean {
    const rel = path.relative(dir, file);
    return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

export interface DiffOptions {
    readonly stack: string;
    readonly base: string;
    readonly configFile?: string;
    /** The project (working tree) to compare; defaults to the one this script belongs to. */
    readonly projectDir?: string;
    /** Receives progress lines (the command prints them on stderr). */
    readonly progress?: (line: string) => void;
}

/** Computes the diff; throws DiffError for anything the user can fix. Always removes the worktree it creates. */
export async function manifestsDiff(opts: DiffOptions): Promise<ManifestsDiff> {
    const projectDir = fs.realpathSync(opts.projectDir ?? PROJECT_DIR);
    const top = git(["rev-parse", "--show-toplevel"], projectDir);
    if (!top.ok) {
        throw new DiffError(`${projectDir} is not inside a git repository: ${top.stderr}`);
    }
    const repoRoot = fs.realpathSync(top.stdout);
    const projectRel = path.relative(repoRoot, projectDir).split(path.sep).join("/");
    const inRepo = (p: string) => (projectRel === "" ? p : `${projectRel}/${p}`);

    const resolved = git(["rev-parse", "--verify", "--quiet", `${opts.base}^{commit}`], projectDir);
    if (!resolved.ok || resolved.stdout === "") {
        throw new DiffError(
            `unknown git ref '${opts.base}': no such commit in ${repoRoot} (in a shallow clone, fetch it first, e.g. actions/checkout with fetch-depth: 0)`,
        );
    }
    const commit = resolved.stdout;
    const started = Date.now();

    const basePackage = git(["show", `${commit}:${inRepo("package.json")}`], projectDir);
    let baseHasCommand = false;
    if (basePackage.ok && existsIn(commit, inRepo("scripts/manifests.ts"), projectDir)) {
        try {
            const scripts = (JSON.parse(basePackage.stdout) as { scripts?: Record<string, unknown> }).scripts ?? {};
            baseHasCommand = typeof scripts["manifests"] === "string";
        } catch {
            baseHasCommand = false;
        }
    }
    if (!baseHasCommand) {
        throw new DiffError(
            `the base ${opts.base} (${commit.slice(0, 12)}) has no manifests command (scripts/manifests.ts and the 'manifests' script in package.json), so there is nothing to compare with: choose a newer base`,
        );
    }
    if (!fs.existsSync(path.join(projectDir, "node_modules"))) {
        throw new DiffError(`${projectDir}/node_modules does not exist: run npm ci first (the base reuses it)`);
    }

    // Which config file each side reads.
    const notes: string[] = [];
    let headConfig: string | undefined;
    let baseConfig: (treeProject: string) => string | undefined = () => undefined;
    let baseHasStack = true;
    let headHasStack = true;
    if (opts.configFile !== undefined) {
        const abs = path.resolve(opts.configFile);
        if (!fs.existsSync(abs)) {
            throw new DiffError(`--config-file ${opts.configFile}: ${abs} does not exist`);
        }
        headConfig = abs;
        const real = fs.realpathSync(abs);
        if (isInside(projectDir, real)) {
            const rel = path.relative(projectDir, real).split(path.sep).join("/");
            baseConfig = (treeProject) => path.join(treeProject, rel);
            baseHasStack = existsIn(commit, inRepo(rel), projectDir);
            if (!baseHasStack) {
                notes.push(`${rel} does not exist in the base: every object is new`);
            }
        } else {
            baseConfig = () => abs;
        }
    } else {
        const file = `Pulumi.${opts.stack}.yaml`;
        headHasStack = fs.existsSync(path.join(projectDir, file));
        baseHasStack = existsIn(commit, inRepo(file), projectDir);
        if (!headHasStack && !baseHasStack) {
            throw new DiffError(`no stack file for stack '${opts.stack}': ${file} exists neither in the working tree nor in the base`);
        }
        if (!baseHasStack) {
            notes.push(`${file} does not exist in the base: every object is new`);
        }
        if (!headHasStack) {
            notes.push(`${file} does not exist in the working tree: every object is removed`);
        }
    }

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "herd-manifests-diff-"));
    const tree = path.join(tmp, "base");
    const treeProject = path.join(tree, ...(projectRel === "" ? [] : projectRel.split("/")));
    const link = path.join(treeProject, "node_modules");
    let worktreeAdded = false;
    const cleanup = () => {
        // The symlink goes first, so nothing below can ever reach the real node_modules through it.
        try {
            if (fs.lstatSync(link).isSymbolicLink()) {
                fs.unlinkSync(link);
            }
        } catch {
            // not created
        }
        if (worktreeAdded) {
            if (!git(["worktree", "remove", "--force", tree], projectDir).ok) {
                fs.rmSync(tree, { recursive: true, force: true });
                git(["worktree", "prune"], projectDir);
            }
            worktreeAdded = false;
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    };
    const onSignal = (signal: NodeJS.Signals) => {
        cleanup();
        process.exit(signal === "SIGINT" ? 130 : 143);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
        const sides = [baseHasStack ? `base ${opts.base} (${commit.slice(0, 12)})` : "", headHasStack ? "the working tree" : ""].filter((x) => x !== "");
        opts.progress?.(`rendering stack ${opts.stack} at ${sides.join(" and ")}...`);
        let base: Promise<Rendering> = Promise.resolve(EMPTY);
        if (baseHasStack) {
            const added = git(["worktree", "add", "--detach", tree, commit], projectDir);
            if (!added.ok) {
                throw new DiffError(`git worktree add failed: ${added.stderr}`);
            }
            worktreeAdded = true;
            fs.symlinkSync(path.join(projectDir, "node_modules"), link, "dir");
            base = render(treeProject, opts.stack, baseConfig(treeProject), path.join(tmp, "out-base"), `base ${opts.base}`);
        }
        const head: Promise<Rendering> = headHasStack
            ? render(projectDir, opts.stack, headConfig, path.join(tmp, "out-head"), "working tree")
            : Promise.resolve(EMPTY);
        // Both renderings run at once; wait for both before cleaning up, even when one fails.
        const [b, h] = await Promise.allSettled([base, head]);
        if (b.status === "rejected") {
            throw b.reason;
        }
        if (h.status === "rejected") {
            throw h.reason;
        }
        const objects = diffManifests(b.value.manifests, h.value.manifests, { before: b.value.resources, after: h.value.resources });
        const resources = diffResources(b.value.resources, h.value.resources);
        const changes = [objects, resources].some((d) => d.added.length + d.removed.length + d.changed.length > 0);
        const compared = {
            objects: new Set([...indexObjects(b.value.manifests).keys(), ...indexObjects(h.value.manifests).keys()]).size,
            resources: new Set([...resourceKeys(b.value.resources), ...resourceKeys(h.value.resources)]).size,
        };
        opts.progress?.(
            `compared ${compared.objects} objects and ${compared.resources} resources in ${((Date.now() - started) / 1000).toFixed(1)}s`,
        );
        return {
            stack: opts.stack,
            base: { ref: opts.base, commit },
            head: "working tree",
            objects,
            resources,
            notes,
            changes,
            compared,
            summary: summarize(objects),
        };
    } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        cleanup();
    }
}
