/**
 * `npm run bench:e2e -- --base <git-ref>`: the first `pulumi up` of the onprem stack, the commit `ref` against the
 * working tree, on the local control plane with the real engine. On kwok a pod is ready the moment it is scheduled,
 * which would hide what a chain of waiting resources costs; here every pod takes `--pod-delay` seconds to become
 * ready (and a Job's pod as long to complete), as real images take time to pull and start.
 *
 * Rounds alternate which side goes first; each run is a fresh stack in its own namespace and StorageClass, its
 * transpile cache warmed by a preview first, so both sides are timed alike. Prints each round, the medians and the
 * ratio, with the longest chain of waiting resources the engine recorded for each side.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { engineWaitChain } from "./cluster-state";
import { copyProject, E2eError, Engine, log, median, must, PROJECT_DIR, pulumi, run, timed } from "./engine";

export type Side = "base" | "head";

export interface BaseBenchOptions {
    readonly ref: string;
    readonly runs: number;
    /** Seconds each pod takes to become ready. */
    readonly podDelaySeconds: number;
}

/** The storage classes a run needs PersistentVolumes for (one per run: each stack creates its own class). */
export function baseBenchStorageClasses(runs: number): string[] {
    return (["base", "head"] as const).flatMap((side) => Array.from({ length: runs }, (_, i) => storageClass(side, i)));
}

const storageClass = (side: Side, i: number) => `herd-bench-${side}-${i + 1}`;

/** The commit named, resolved here so that a typo fails before anything starts. */
export function resolveRef(ref: string): string {
    const r = run("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { cwd: PROJECT_DIR });
    if (r.status !== 0 || r.stdout.trim() === "") {
        throw new E2eError(`--base: expected a commit of this repository (a branch, tag or hash), got ${JSON.stringify(ref)}`);
    }
    return r.stdout.trim();
}

/** A copy of the commit's tree with the installed dependencies linked, as copyProject does for the working tree. */
function exportCommit(commit: string, dest: string): void {
    fs.mkdirSync(dest, { recursive: true });
    must("bash", ["-c", 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', "export", PROJECT_DIR, commit, dest]);
    for (const dir of ["node_modules", "policy/node_modules"]) {
        fs.symlinkSync(path.join(PROJECT_DIR, dir), path.join(dest, dir), "dir");
    }
}

/** Runs the comparison on a started engine; returns the report to print. */
export function benchAgainstBase(engine: Engine, opts: BaseBenchOptions): string {
    const commit = resolveRef(opts.ref);
    const projects: Record<Side, string> = { base: path.join(engine.tmp, "project-base"), head: path.join(engine.tmp, "project-head") };
    exportCommit(commit, projects.base);
    copyProject(projects.head);
    const env = (side: Side): Engine => ({
        ...engine,
        env: { ...engine.env, HERD_TS_CACHE_DIR: path.join(engine.tmp, `cache-${side}`), HERD_CODE_CACHE_DIR: path.join(engine.tmp, `code-cache-${side}`) },
    });

    const stack = (side: Side, i: number): string => {
        const name = `bench-${side}-${i + 1}`;
        const yaml = fs
            .readFileSync(path.join(projects[side], "e2e", "stack.yaml"), "utf8")
            .replace(/^(\s+herd:namespace:).*$/m, `$1 herd-${side}-${i + 1}`)
            .replace(/^(\s+herd:storageClass:).*$/m, `$1 ${storageClass(side, i)}`);
        fs.writeFileSync(path.join(projects[side], `Pulumi.${name}.yaml`), yaml);
        pulumi(env(side), projects[side], ["stack", "init", name, "--secrets-provider", "passphrase"]);
        return name;
    };

    const times: Record<Side, number[]> = { base: [], head: [] };
    const chains: Record<Side, string> = { base: "", head: "" };
    for (let i = 0; i < opts.runs; i++) {
        const order: Side[] = i % 2 === 0 ? ["base", "head"] : ["head", "base"];
        for (const side of order) {
            const name = stack(side, i);
            // Warms the side's transpile cache and plugin start-up, so the up times only the deployment.
            pulumi(env(side), projects[side], ["preview", "--stack", name]);
            const seconds = timed(() => pulumi(env(side), projects[side], ["up", "--yes", "--skip-preview", "--stack", name], { timeoutSec: 1800 }));
            times[side].push(seconds);
            const chain = engineWaitChain({ tmp: engine.tmp, project: projects[side], engine: env(side) }, name);
            chains[side] = `${chain.length}: ${chain.map((l) => l.key.split("::")[1]).join(" -> ")}`;
            log(`round ${i + 1}/${opts.runs}: ${side} up ${seconds.toFixed(1)} s (wait chain ${chains[side]})`);
        }
    }

    const date = new Date().toISOString().slice(0, 10);
    const [b, h] = [median(times.base), median(times.head)];
    return [
        "",
        `herd bench:e2e --base: first pulumi up of the onprem stack, ${opts.ref} (${commit.slice(0, 12)}) vs the working tree, ${date}`,
        `  pods take ${opts.podDelaySeconds} s to become ready (kwok stage delay); ${opts.runs} round(s), alternating which side goes first`,
        ...times.base.map((t, i) => `  round ${i + 1}: base ${t.toFixed(1)} s, head ${(times.head[i] ?? 0).toFixed(1)} s, head/base ${((times.head[i] ?? 0) / t).toFixed(2)}`),
        `  median: base ${b.toFixed(1)} s, head ${h.toFixed(1)} s, head/base ${(h / b).toFixed(2)}`,
        `  longest wait chain the engine recorded: base ${chains.base}`,
        `                                          head ${chains.head}`,
    ].join("\n");
}
