/**
 * `npm run manifests-diff`: the offline diff a fork's pull request gets instead of a cloud preview. End to end in a
 * synthetic git repository (this project's committed files, its node_modules symlinked, two commits that change
 * exactly one config key), plus the pure diffing on its own.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { diffManifests, diffResources, diffValues, formatText, Json, lineDiff, ManifestsDiff } from "../scripts/manifests-diff";
import { CommandResult, PROJECT_DIR, tempDir } from "./helpers";

const GIT_ENV = {
    GIT_AUTHOR_NAME: "herd test",
    GIT_AUTHOR_EMAIL: "test@herd.invalid",
    GIT_COMMITTER_NAME: "herd test",
    GIT_COMMITTER_EMAIL: "test@herd.invalid",
    GIT_CONFIG_NOSYSTEM: "1",
};

function git(args: string[], cwd: string): string {
    const r = spawnSync("git", ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", ...args], {
        cwd,
        encoding: "utf8",
        env: { ...process.env, ...GIT_ENV },
    });
    assert.equal(r.status, 0, `git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
}

/** Runs `npm run --silent manifests-diff -- <args>` inside the synthetic repository, as a user would there. */
function diff(repo: string, args: string[]): CommandResult {
    const r = spawnSync("npm", ["run", "--silent", "manifests-diff", "--", ...args], {
        cwd: repo,
        encoding: "utf8",
        env: { ...process.env, PULUMI_CONFIG: undefined, PULUMI_CONFIG_SECRET_KEYS: undefined },
        timeout: 120_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Sets one key in a stack file (parsed and written back, so the file's layout does not matter). */
function setConfig(file: string, key: string, value: string): void {
    const doc = parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    doc.config[key] = value;
    fs.writeFileSync(file, stringify(doc));
}

const isGitCheckout = spawnSync("git", ["rev-parse", "--verify", "HEAD"], { cwd: PROJECT_DIR }).status === 0;

describe("npm run manifests-diff (in a synthetic git repository)", { skip: isGitCheckout ? false : "not a git checkout" }, () => {
    let repo = "";
    let baseCommit = "";
    let brokenCommit = "";

    before(() => {
        repo = path.join(tempDir("herd-manifests-diff-test-"), "repo");
        fs.mkdirSync(repo);
        // The project's committed files (never node_modules), plus this command's own files as they are now.
        const archive = spawnSync("git", ["archive", "--format=tar", "HEAD"], { cwd: PROJECT_DIR, maxBuffer: 512 * 1024 * 1024 });
        assert.equal(archive.status, 0, String(archive.stderr));
        const untar = spawnSync("tar", ["-x", "-C", repo], { input: archive.stdout });
        assert.equal(untar.status, 0, String(untar.stderr));
        for (const f of ["package.json", "scripts/manifests-diff.ts"]) {
            fs.copyFileSync(path.join(PROJECT_DIR, f), path.join(repo, f));
        }
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(repo, "node_modules"), "dir");

        git(["init", "-q"], repo);
        fs.appendFileSync(path.join(repo, ".git", "info", "exclude"), "node_modules\n");
        git(["add", "-A"], repo);
        git(["commit", "-q", "-m", "base"], repo);
        baseCommit = git(["rev-parse", "HEAD"], repo);

        // A side branch whose stack file is invalid: the base's manifests command fails there.
        git(["switch", "-q", "-c", "broken"], repo);
        setConfig(path.join(repo, "Pulumi.onprem.yaml"), "herd:redisMemory", "lots");
        git(["commit", "-q", "-am", "broken config"], repo);
        brokenCommit = git(["rev-parse", "HEAD"], repo);
        git(["switch", "-q", "main"], repo);

        // The change under review: exactly one key.
        setConfig(path.join(repo, "Pulumi.onprem.yaml"), "herd:redisMemory", "768Mi");
        git(["commit", "-q", "-am", "redis: 768Mi"], repo);
    });

    const worktrees = () => git(["worktree", "list", "--porcelain"], repo).split("\n").filter((l) => l.startsWith("worktree "));

    it("one changed key shows exactly the objects and fields it changes, and nothing else", () => {
        const r = diff(repo, ["--stack", "onprem", "--base", "HEAD~1", "--format", "json"]);
        assert.equal(r.status, 0, r.stderr);
        const result = JSON.parse(r.stdout) as ManifestsDiff;
        assert.equal(result.stack, "onprem");
        assert.deepEqual(result.base, { ref: "HEAD~1", commit: baseCommit });
        assert.equal(result.changes, true);
        assert.deepEqual(result.notes, []);

        // herd:redisMemory sizes the Redis container (request = limit) and its redis.conf (maxmemory). redis.conf
        // lives in the Secret redis-config, whose values the manifests command redacts, so that Secret shows no
        // change; the pod template's checksum of the config does, which is what rolls the pod.
        assert.deepEqual(result.objects.added, []);
        assert.deepEqual(result.objects.removed, []);
        assert.deepEqual(
            result.objects.changed.map((o) => o.id),
            ["apps/v1 StatefulSet herd/redis"],
        );
        const fields = result.objects.changed[0].fields;
        assert.deepEqual(
            fields.map((f) => f.path),
            [
                'spec.template.metadata.annotations["checksum/config"]',
                "spec.template.spec.containers[name=redis].resources.limits.memory",
                "spec.template.spec.containers[name=redis].resources.requests.memory",
            ],
        );
        for (const f of fields) {
            assert.equal(f.change, "changed");
            assert.notEqual(f.before, f.after);
        }
        assert.match(String(fields[0].after), /^[0-9a-f]{64}$/);
        assert.equal(fields[1].after, "768Mi");
        assert.equal(fields[2].after, "768Mi");
        assert.equal(fields[1].before, fields[2].before, "request = limit before, too");

        // No cloud or component resource changes, and no resource option.
        assert.deepEqual(result.resources, { added: [], removed: [], changed: [] });

        // The text form says the same, readably.
        const text = formatText(result);
        assert.match(text, /^herd manifests diff: stack onprem, base HEAD~1 \([0-9a-f]{12}\) -> working tree$/m);
        assert.match(text, /^Kubernetes objects: 1 changed$/m);
        assert.match(text, /^ {2}~ apps\/v1 StatefulSet herd\/redis$/m);
        assert.ok(text.includes(`      ~ spec.template.spec.containers[name=redis].resources.limits.memory: ${JSON.stringify(fields[1].before)} -> "768Mi"`));
        assert.match(text, /^Other resources \(resources\.json\): no changes$/m);

        assert.deepEqual(worktrees(), [`worktree ${fs.realpathSync(repo)}`], "the base's worktree is gone");
    });

    it("no change: says so and exits 0", () => {
        const r = diff(repo, ["--stack", "onprem", "--base", "HEAD"]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^no changes$/m);
        assert.doesNotMatch(r.stdout, /Kubernetes objects:/);
        assert.equal(worktrees().length, 1);
    });

    it("an unknown ref is an error that names it, and leaves nothing behind", () => {
        const r = diff(repo, ["--stack", "onprem", "--base", "no-such-branch"]);
        assert.equal(r.status, 1);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /unknown git ref 'no-such-branch'/);
        assert.equal(worktrees().length, 1);
    });

    it("a base whose manifests command fails is an error, and the worktree is removed all the same", () => {
        const r = diff(repo, ["--stack", "onprem", "--base", brokenCommit]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /the manifests command failed on the base/);
        assert.match(r.stderr, /herd:redisMemory/, "the base's own error is shown");
        assert.equal(worktrees().length, 1);
        assert.equal(fs.existsSync(path.join(repo, ".git", "worktrees")) ? fs.readdirSync(path.join(repo, ".git", "worktrees")).length : 0, 0);
    });

    it("a base without the manifests command says so", () => {
        const emptyTree = git(["hash-object", "-t", "tree", "-w", "--stdin"], repo);
        const orphan = git(["commit-tree", emptyTree, "-m", "before herd"], repo);
        const r = diff(repo, ["--stack", "onprem", "--base", orphan]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /has no manifests command/);
        assert.equal(worktrees().length, 1);
    });

    it("usage errors exit 2 and print the usage", () => {
        const r = diff(repo, ["--stack", "onprem"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /--base is required\nusage: npm run --silent manifests-diff/);
        assert.equal(diff(repo, ["--stack", "onprem", "--base", "HEAD", "--format", "xml"]).status, 2);
    });
});

describe("diffing", () => {
    it("matches list items by name, so an inserted container or env var is one change, not many", () => {
        const before: Json = { containers: [{ name: "a", image: "x:1", env: [{ name: "A", value: "1" }] }] };
        const after: Json = {
            containers: [
                { name: "sidecar", image: "s:1" },
                { name: "a", image: "x:2", env: [{ name: "B", value: "2" }, { name: "A", value: "1" }] },
            ],
        };
        assert.deepEqual(diffValues(before, after), [
            { path: "containers[name=a].image", change: "changed", before: "x:1", after: "x:2" },
            { path: "containers[name=a].env[name=B]", change: "added", after: { name: "B", value: "2" } },
            { path: "containers[name=sidecar]", change: "added", after: { name: "sidecar", image: "s:1" } },
        ]);
    });

    it("compares other lists item by item, or whole when their length changes; odd keys are quoted", () => {
        assert.deepEqual(diffValues({ args: ["--a", "1"] }, { args: ["--a", "2"] }), [{ path: "args[1]", change: "changed", before: "1", after: "2" }]);
        assert.deepEqual(diffValues({ args: ["--a"] }, { args: ["--a", "--b"] }), [{ path: "args", change: "changed", before: ["--a"], after: ["--a", "--b"] }]);
        assert.deepEqual(diffValues({ labels: { "app.kubernetes.io/name": "x" } }, { labels: {} }), [
            { path: 'labels["app.kubernetes.io/name"]', change: "removed", before: "x" },
        ]);
        assert.deepEqual(diffValues({ a: 1 }, { a: 1 }), []);
    });

    it("keys objects by apiVersion/kind/namespace/name and resources by type and name", () => {
        const svc = (ns: string, port: number): Json => ({ apiVersion: "v1", kind: "Service", metadata: { name: "api", namespace: ns }, spec: { ports: [{ port }] } });
        const d = diffManifests([svc("a", 80), svc("b", 80)], [svc("a", 8080), svc("c", 80)]);
        assert.deepEqual(d.added.map((o) => o.id), ["v1 Service c/api"]);
        assert.deepEqual(d.removed.map((o) => o.id), ["v1 Service b/api"]);
        assert.deepEqual(d.changed.map((o) => [o.id, o.fields.map((f) => f.path)]), [["v1 Service a/api", ["spec.ports[0].port"]]]);

        const r = (type: string, protect: boolean, size: number): Json => ({ type, name: "x", parent: null, inputs: { size }, options: { protect } });
        const rd = diffResources([r("aws:s3/bucket:Bucket", true, 1), r("kubernetes:apps/v1:StatefulSet", true, 1)], [r("aws:s3/bucket:Bucket", true, 2), r("kubernetes:apps/v1:StatefulSet", false, 2)]);
        assert.deepEqual(rd.changed.map((c) => [c.id, c.fields.map((f) => f.path)]), [
            ["aws:s3/bucket:Bucket x", ["inputs.size"]],
            // A Kubernetes resource's content is compared as an object; here only its options.
            ["kubernetes:apps/v1:StatefulSet x", ["options.protect"]],
        ]);
    });

    it("shows a multi-line value as the lines that changed", () => {
        assert.deepEqual(lineDiff("a\nb\nc\n", "a\nB\nc\nd\n"), ["- b", "+ B", "+ d"]);
    });
});
