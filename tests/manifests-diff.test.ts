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
import { classify, REPLACE_RULES } from "../scripts/immutable-fields";
import {
    DiffOptions,
    diffManifests,
    diffResources,
    diffValues,
    formatText,
    Json,
    lineDiff,
    main,
    ManifestsDiff,
    manifestsDiff,
    summarize,
    summaryLine,
    USAGE,
} from "../scripts/manifests-diff";
import { UsageError } from "../scripts/cli";
import { CommandResult, PROJECT_DIR, runInProcess, runScript, tempDir } from "./helpers";

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

/**
 * Runs the command on the synthetic repository in-process, as `npm run --silent manifests-diff -- <args>` would there
 * (the repository holds this command's files as they are now): exit code, stdout and stderr as the CLI prints them.
 * Each tree's own manifests command still renders it.
 */
function diff(repo: string, args: string[]): Promise<CommandResult> {
    return runInProcess(USAGE, (argv, io) => main(argv, { ...io, diff: (opts: DiffOptions) => manifestsDiff({ ...opts, projectDir: repo }) }), args);
}

/** The same as a process of its own, inside the synthetic repository (node directly, as its package.json wires it). */
function diffCli(repo: string, args: string[]): CommandResult {
    return runScript("manifests-diff", args, { cwd: repo });
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
        for (const f of ["package.json", "scripts/manifests-diff.ts", "scripts/manifests-diff", "scripts/immutable-fields.ts", "scripts/diff-types.ts"]) {
            fs.cpSync(path.join(PROJECT_DIR, f), path.join(repo, f), { recursive: true });
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

    it("one changed key shows exactly the objects and fields it changes, and nothing else (its own process)", () => {
        const r = diffCli(repo, ["--stack", "onprem", "--base", "HEAD~1", "--format", "json"]);
        assert.equal(r.status, 0, r.stderr);
        // stdout is the JSON alone (it parses); progress went to stderr.
        const result = JSON.parse(r.stdout) as ManifestsDiff;
        assert.match(r.stderr, /^manifests-diff: rendering stack onprem at base HEAD~1 \([0-9a-f]{12}\) and the working tree\.\.\.$/m);
        // Every rendered object of the stack (the count follows the program; the summary line says the same number).
        assert.ok(result.compared.objects > 30, `compared ${result.compared.objects} objects`);
        assert.match(r.stderr, new RegExp(`^manifests-diff: compared ${result.compared.objects} objects and \\d+ resources in \\d+\\.\\ds$`, "m"));
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
        assert.equal(result.objects.changed[0].action, "update", "container memory is updated in place");
        assert.deepEqual(result.objects.changed[0].forcing, []);
        assert.equal(result.objects.changed[0].protected, true, "redis is protected, which an update does not mind");
        assert.equal(result.summary.replaced, 0);
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

    it("no change: says so and exits 0 (with --exit-code too)", async () => {
        const r = await diff(repo, ["--stack", "onprem", "--base", "HEAD", "--exit-code"]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^no changes$/m);
        assert.doesNotMatch(r.stdout, /Kubernetes objects:/);
        assert.equal(worktrees().length, 1);
    });

    it("an unknown ref is an error that names it, and leaves nothing behind", async () => {
        const r = await diff(repo, ["--stack", "onprem", "--base", "no-such-branch"]);
        assert.equal(r.status, 1);
        assert.equal((await diff(repo, ["--stack", "onprem", "--base", "no-such-branch", "--exit-code"])).status, 1, "1 with --exit-code too");
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /unknown git ref 'no-such-branch'/);
        assert.equal(worktrees().length, 1);
    });

    it("a base whose manifests command fails is an error, and the worktree is removed all the same", async () => {
        const r = await diff(repo, ["--stack", "onprem", "--base", brokenCommit]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /the manifests command failed on the base/);
        assert.match(r.stderr, /herd:redisMemory/, "the base's own error is shown");
        assert.equal(worktrees().length, 1);
        assert.equal(fs.existsSync(path.join(repo, ".git", "worktrees")) ? fs.readdirSync(path.join(repo, ".git", "worktrees")).length : 0, 0);
    });

    it("a base without the manifests command says so", async () => {
        const emptyTree = git(["hash-object", "-t", "tree", "-w", "--stdin"], repo);
        const orphan = git(["commit-tree", emptyTree, "-m", "before herd"], repo);
        const r = await diff(repo, ["--stack", "onprem", "--base", orphan]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /has no manifests command/);
        assert.equal(worktrees().length, 1);
    });

    it("usage errors exit 2 and print the usage", async () => {
        const r = await diff(repo, ["--stack", "onprem"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /--base is required\nusage: npm run --silent manifests-diff/);
        assert.equal((await diff(repo, ["--stack", "onprem", "--base", "HEAD", "--format", "xml"])).status, 2);
    });

    it("with --exit-code a usage error exits 1, since 2 means changes", async () => {
        const r = await diff(repo, ["--stack", "onprem", "--exit-code"]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /--base is required\nusage: npm run --silent manifests-diff/);
        assert.equal((await diff(repo, ["--stack", "onprem", "--base", "HEAD", "--format", "xml", "--exit-code"])).status, 1);
    });

    it("a bigger PostgreSQL volume is a REPLACE that protect refuses, said so, and --exit-code exits 2", async () => {
        // The change under review sits in the working tree: a larger herd:postgresStorageSize.
        const stackFile = path.join(repo, "Pulumi.onprem.yaml");
        const original = fs.readFileSync(stackFile, "utf8");
        setConfig(stackFile, "herd:postgresStorageSize", "50Gi");
        let r: CommandResult;
        try {
            r = await diff(repo, ["--stack", "onprem", "--base", "HEAD", "--format", "json", "--exit-code"]);
        } finally {
            fs.writeFileSync(stackFile, original);
        }
        assert.equal(r.status, 2, r.stderr);
        const result = JSON.parse(r.stdout) as ManifestsDiff;
        assert.match(r.stderr, /^manifests-diff: rendering stack onprem at base HEAD /m);
        const postgres = result.objects.changed.find((o) => o.id === "apps/v1 StatefulSet herd/postgres");
        assert.ok(postgres !== undefined, JSON.stringify(result.objects.changed.map((o) => o.id)));
        assert.equal(postgres.action, "replace");
        assert.deepEqual(postgres.forcing, ["spec.volumeClaimTemplates[0].spec.resources.requests.storage"]);
        assert.equal(postgres.protected, true);
        assert.equal(postgres.resource, "kubernetes:apps/v1:StatefulSet postgres");
        assert.match(postgres.hint ?? "", /data-postgres-<ordinal>.*patch pvc/);
        assert.equal(result.summary.protectedReplaced, 1);

        const text = formatText(result);
        assert.match(text, /^ {2}REPLACE apps\/v1 StatefulSet herd\/postgres \(protected: pulumi up will refuse; see README "Resizing a volume"\)$/m);
        assert.match(text, /^ {6}~ spec\.volumeClaimTemplates\[0\]\.spec\.resources\.requests\.storage: "20Gi" -> "50Gi" {3}\[forces replacement\]$/m);
        assert.match(text, /^Summary: .*\b1 to replace \(1 protected: pulumi up will refuse them\)/m);
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

// ---------------------------------------------------------------------------------------------------------------
// REPLACE: pulumi-kubernetes' force-new table (scripts/immutable-fields.ts), field by field.

type Obj = { [key: string]: Json };

/** Sets a value at a dot path (numbers index lists) inside a test object. */
function set(o: Json, dotPath: string, value: Json): void {
    const keys = dotPath.split(".");
    let at: Json = o;
    for (const k of keys.slice(0, -1)) {
        at = Array.isArray(at) ? at[Number(k)] : (at as Obj)[k];
    }
    const last = keys[keys.length - 1];
    if (Array.isArray(at)) {
        at[Number(last)] = value;
    } else {
        (at as Obj)[last] = value;
    }
}

function obj(apiVersion: string, kind: string, rest: Obj, name = "x", namespace: string | undefined = "herd"): Obj {
    return { apiVersion, kind, metadata: { name, ...(namespace === undefined ? {} : { namespace }) }, ...rest };
}

/** A change made by `edit` on a copy of `before`, classified through diffManifests like the command does. */
function change(before: Obj, edit: (o: Obj & { spec: Obj }) => void, resources: Json[] = []) {
    const after = structuredClone(before) as Obj & { spec: Obj };
    edit(after);
    const d = diffManifests([before], [after], { before: resources, after: resources });
    assert.equal(d.changed.length, 1, "one changed object");
    return d.changed[0];
}

const podTemplate: Obj = { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "c", image: "c:1" }] } };
const statefulSet = obj("apps/v1", "StatefulSet", {
    spec: {
        serviceName: "x-headless",
        podManagementPolicy: "OrderedReady",
        revisionHistoryLimit: 10,
        replicas: 1,
        selector: { matchLabels: { app: "x" } },
        template: podTemplate,
        volumeClaimTemplates: [
            { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } } },
        ],
    },
});
const deployment = obj("apps/v1", "Deployment", { spec: { replicas: 2, selector: { matchLabels: { app: "x" } }, template: podTemplate } });
const job = obj("batch/v1", "Job", { spec: { completions: 1, parallelism: 1, backoffLimit: 3, template: podTemplate } });
const claim = obj("v1", "PersistentVolumeClaim", {
    spec: { accessModes: ["ReadWriteOnce"], storageClassName: "fast", resources: { requests: { storage: "5Gi" } } },
});
const storageClass = obj(
    "storage.k8s.io/v1",
    "StorageClass",
    { provisioner: "ebs.csi.aws.com", parameters: { type: "gp3" }, reclaimPolicy: "Retain", volumeBindingMode: "WaitForFirstConsumer", allowVolumeExpansion: true },
    "x",
    undefined,
);
const service = obj("v1", "Service", { spec: { type: "ClusterIP", clusterIP: "10.0.0.1", ports: [{ name: "http", port: 80 }] } });
const secret = obj("v1", "Secret", { type: "Opaque", data: { a: "[redacted]" } });
const configMap = obj("v1", "ConfigMap", { data: { a: "1" } });
const pdb = (apiVersion: string) => obj(apiVersion, "PodDisruptionBudget", { spec: { maxUnavailable: 1, selector: { matchLabels: { app: "x" } } } });
const roleBinding = obj("rbac.authorization.k8s.io/v1", "RoleBinding", { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "a" }, subjects: [] });

describe("what forces a replacement (pulumi-kubernetes' force-new table)", () => {
    const replaces: [string, Obj, (o: Obj & { spec: Obj }) => void, string][] = [
        ["StatefulSet spec.volumeClaimTemplates", statefulSet, (o) => set(o, "spec.volumeClaimTemplates.0.spec.resources.requests.storage", "50Gi"), "spec.volumeClaimTemplates[0].spec.resources.requests.storage"],
        ["StatefulSet spec.selector", statefulSet, (o) => set(o, "spec.selector.matchLabels.tier", "db"), "spec.selector.matchLabels.tier"],
        ["StatefulSet spec.serviceName", statefulSet, (o) => (o.spec.serviceName = "other"), "spec.serviceName"],
        ["StatefulSet spec.podManagementPolicy", statefulSet, (o) => (o.spec.podManagementPolicy = "Parallel"), "spec.podManagementPolicy"],
        ["StatefulSet spec.revisionHistoryLimit", statefulSet, (o) => (o.spec.revisionHistoryLimit = 3), "spec.revisionHistoryLimit"],
        ["Deployment spec.selector", deployment, (o) => set(o, "spec.selector.matchLabels.app", "y"), "spec.selector.matchLabels.app"],
        ["Job spec.template", job, (o) => set(o, "spec.template.spec.containers.0.image", "c:2"), "spec.template.spec.containers[name=c].image"],
        ["Job spec.selector", job, (o) => (o.spec.selector = { matchLabels: { app: "x" } }), "spec.selector"],
        ["Job spec.completions", job, (o) => (o.spec.completions = 2), "spec.completions"],
        ["Job spec.parallelism", job, (o) => (o.spec.parallelism = 2), "spec.parallelism"],
        ["PersistentVolumeClaim spec.storageClassName", claim, (o) => (o.spec.storageClassName = "slow"), "spec.storageClassName"],
        ["PersistentVolumeClaim spec.accessModes", claim, (o) => (o.spec.accessModes = ["ReadWriteMany"]), "spec.accessModes[0]"],
        ["PersistentVolumeClaim spec.selector", claim, (o) => (o.spec.selector = { matchLabels: { disk: "a" } }), "spec.selector"],
        ["PersistentVolumeClaim spec.volumeName", claim, (o) => (o.spec.volumeName = "pv-1"), "spec.volumeName"],
        ["StorageClass provisioner", storageClass, (o) => (o["provisioner"] = "pd.csi.storage.gke.io"), "provisioner"],
        ["StorageClass parameters", storageClass, (o) => (o["parameters"] = { type: "io2" }), "parameters.type"],
        ["Service spec.clusterIP", service, (o) => (o.spec.clusterIP = "None"), "spec.clusterIP"],
        ["Secret type", secret, (o) => (o["type"] = "kubernetes.io/tls"), "type"],
        ["Secret data (a key added; values are redacted)", secret, (o) => set(o, "data.b", "[redacted]"), "data.b"],
        ["Secret stringData", secret, (o) => (o["stringData"] = { c: "x" }), "stringData"],
        ["ConfigMap data", configMap, (o) => set(o, "data.a", "2"), "data.a"],
        ["ConfigMap binaryData", configMap, (o) => (o["binaryData"] = { b: "AA==" }), "binaryData"],
        ["policy/v1beta1 PodDisruptionBudget spec", pdb("policy/v1beta1"), (o) => (o.spec.maxUnavailable = 2), "spec.maxUnavailable"],
        ["RoleBinding roleRef", roleBinding, (o) => set(o, "roleRef.name", "b"), "roleRef.name"],
    ];
    for (const [what, before, edit, path] of replaces) {
        it(`REPLACE: ${what}`, () => {
            const c = change(before, edit);
            assert.equal(c.action, "replace");
            assert.deepEqual(c.forcing, [path]);
        });
    }

    const updates: [string, Obj, (o: Obj & { spec: Obj }) => void][] = [
        ["StatefulSet replicas and pod template", statefulSet, (o) => { o.spec.replicas = 3; set(o, "spec.template.spec.containers.0.image", "c:2"); }],
        ["Deployment pod template", deployment, (o) => set(o, "spec.template.spec.containers.0.image", "c:2")],
        ["Job backoffLimit", job, (o) => (o.spec.backoffLimit = 6)],
        ["PersistentVolumeClaim growing resources.requests", claim, (o) => set(o, "spec.resources.requests.storage", "10Gi")],
        ["StorageClass allowVolumeExpansion", storageClass, (o) => (o["allowVolumeExpansion"] = false)],
        ["Service spec.type (not in pulumi-kubernetes' table)", service, (o) => (o.spec.type = "LoadBalancer")],
        ["policy/v1 PodDisruptionBudget spec (only v1beta1 replaces)", pdb("policy/v1"), (o) => (o.spec.maxUnavailable = 2)],
        ["labels", deployment, (o) => set(o, "metadata.labels", { tier: "web" })],
    ];
    for (const [what, before, edit] of updates) {
        it(`update: ${what}`, () => {
            const c = change(before, edit);
            assert.equal(c.action, "update");
            assert.deepEqual(c.forcing, []);
            assert.deepEqual(c.rejected, []);
        });
    }

    it("StorageClass reclaimPolicy and volumeBindingMode: no replacement, but the API server refuses the update", () => {
        const c = change(storageClass, (o) => {
            o["reclaimPolicy"] = "Delete";
            o["volumeBindingMode"] = "Immediate";
        });
        assert.equal(c.action, "update");
        assert.deepEqual(c.rejected, ["reclaimPolicy", "volumeBindingMode"]);
        const d = { added: [], removed: [], changed: [c] };
        assert.equal(summarize(d).rejected, 1);
        assert.match(formatText(fakeDiff(d)), /^ {6}~ reclaimPolicy: "Retain" -> "Delete" {3}\[the API server refuses this change\]$/m);
    });

    it("Secret and ConfigMap content: mutable only when the provider allows it and the object is not immutable", () => {
        const mutable = { enableSecretMutable: true, enableConfigMapMutable: true };
        const addKey = (o: Json): Json => ({ ...(o as Obj), data: { ...((o as Obj)["data"] as Obj), b: "2" } });
        for (const o of [secret, configMap]) {
            assert.equal(classify(o, addKey(o), diffValues(o, addKey(o)), {}).action, "replace", `${String(o["kind"])}, default provider`);
            assert.equal(classify(o, addKey(o), diffValues(o, addKey(o)), mutable).action, "update", `${String(o["kind"])}, mutable`);
            const frozen = { ...(addKey(o) as Obj), immutable: true };
            assert.equal(classify(o, frozen, diffValues(o, frozen), mutable).action, "replace", `${String(o["kind"])}, immutable`);
        }
        // A mutable Secret still replaces for its type.
        const tls = { ...secret, type: "kubernetes.io/tls" };
        assert.deepEqual(classify(secret, tls, diffValues(secret, tls), mutable).forcing, ["type"]);
        // Once immutable, the API server refuses to make it mutable again.
        const frozen = { ...configMap, immutable: true };
        const thawed = { ...configMap, immutable: false };
        assert.deepEqual(classify(frozen, thawed, diffValues(frozen, thawed), mutable).rejected, ["immutable"]);

        // The provider's flags come from resources.json (the object's resource names its provider).
        const resources: Json[] = [
            { type: "pulumi:providers:kubernetes", name: "k8s", parent: null, inputs: { enableConfigMapMutable: "true" }, options: {} },
            { type: "kubernetes:core/v1:ConfigMap", name: "cm", parent: null, inputs: { metadata: { name: "x", namespace: "herd" } }, options: { provider: "k8s" } },
        ];
        assert.equal(change(configMap, (o) => set(o, "data.a", "2"), resources).action, "update");
        assert.equal(change(configMap, (o) => set(o, "data.a", "2")).action, "replace");
    });

    it("metadata.name or namespace of the same Pulumi resource: one object to replace; without resources.json, removed + added", () => {
        const owner = (name: string, namespace: string): Json => ({
            type: "kubernetes:apps/v1:Deployment",
            name: "web",
            parent: null,
            inputs: { metadata: { name, namespace } },
            options: { protect: false },
        });
        const renamed = obj("apps/v1", "Deployment", deployment as Obj, "y");
        Object.assign(renamed, { metadata: { name: "y", namespace: "herd" } });
        const d = diffManifests([deployment], [renamed], { before: [owner("x", "herd")], after: [owner("y", "herd")] });
        assert.deepEqual([d.added, d.removed], [[], []]);
        assert.equal(d.changed[0].action, "replace");
        assert.deepEqual(d.changed[0].forcing, ["metadata.name"]);
        assert.equal(d.changed[0].previousId, "apps/v1 Deployment herd/x");
        assert.match(formatText(fakeDiff(d)), /^ {2}REPLACE apps\/v1 Deployment herd\/y \(was apps\/v1 Deployment herd\/x\)$/m);

        const moved = { ...deployment, metadata: { name: "x", namespace: "other" } };
        const m = diffManifests([deployment], [moved], { before: [owner("x", "herd")], after: [owner("x", "other")] });
        assert.deepEqual(m.changed[0].forcing, ["metadata.namespace"]);

        const plain = diffManifests([deployment], [renamed]);
        assert.deepEqual([plain.removed.map((r) => r.id), plain.added.map((r) => r.id), plain.changed], [["apps/v1 Deployment herd/x"], ["apps/v1 Deployment herd/y"], []]);
        // A new apiVersion is a new Pulumi type: removed + added as well.
        const v2 = diffManifests([pdb("policy/v1beta1")], [pdb("policy/v1")]);
        assert.deepEqual([v2.removed.length, v2.added.length], [1, 1]);
    });

    it("every apiVersion in the table is written as Kubernetes writes it", () => {
        for (const apiVersion of Object.keys(REPLACE_RULES)) {
            assert.match(apiVersion, /^(v1|[a-z0-9.]+\/v\d+(alpha\d+|beta\d+)?)$/);
        }
    });
});

/** A whole ManifestsDiff around an objects diff (for formatText). */
function fakeDiff(objects: ReturnType<typeof diffManifests>): ManifestsDiff {
    return {
        stack: "onprem",
        base: { ref: "main", commit: "0123456789abcdef0123" },
        head: "working tree",
        objects,
        resources: { added: [], removed: [], changed: [] },
        notes: [],
        changes: true,
        compared: { objects: 1, resources: 1 },
        summary: summarize(objects),
    };
}

describe("protect: what pulumi up will refuse", () => {
    const resource = (type: string, name: string, metadataName: string, protect: boolean): Json => ({
        type,
        name,
        parent: null,
        inputs: { metadata: { name: metadataName, namespace: "herd" } },
        options: { protect },
    });
    const resources: Json[] = [
        resource("kubernetes:apps/v1:StatefulSet", "postgres", "x", true),
        resource("kubernetes:apps/v1:Deployment", "web", "x", false),
        resource("kubernetes:core/v1:Secret", "credentials", "x", true),
    ];

    it("a protected object's replacement is marked, with what to do; the summary counts it", () => {
        const grow = change(statefulSet, (o) => set(o, "spec.volumeClaimTemplates.0.spec.resources.requests.storage", "50Gi"), resources);
        assert.equal(grow.protected, true);
        assert.equal(grow.resource, "kubernetes:apps/v1:StatefulSet postgres");
        assert.match(grow.hint ?? "", /grow the existing claims \(data-x-<ordinal>\) in place instead with kubectl -n herd patch pvc/);
        assert.match(grow.hint ?? "", /README "Resizing a volume"/);

        const rename = change(statefulSet, (o) => (o.spec.serviceName = "other"), resources);
        assert.match(rename.hint ?? "", /lift protection deliberately/);

        const web = change(deployment, (o) => set(o, "spec.selector.matchLabels.app", "y"), resources);
        assert.equal(web.protected, false);
        assert.equal(web.hint, undefined);

        const d = { added: [], removed: [], changed: [grow, rename, web] };
        const text = formatText(fakeDiff(d));
        assert.match(text, /^ {2}REPLACE apps\/v1 StatefulSet herd\/x \(protected: pulumi up will refuse; see README "Resizing a volume"\)$/m);
        assert.match(text, /^ {2}REPLACE apps\/v1 StatefulSet herd\/x \(protected: pulumi up will refuse\)$/m);
        assert.match(text, /^ {2}REPLACE apps\/v1 Deployment herd\/x$/m);
        assert.match(text, /^ {6}hint: grow the existing claims/m);
        assert.match(text, /^ {6}~ spec\.serviceName: "x-headless" -> "other" {3}\[forces replacement\]$/m);
        assert.match(text, /^Kubernetes objects: 3 changed \(3 to replace\)$/m);
        assert.equal(summaryLine(summarize(d)), "Summary: 0 to add, 0 to remove, 0 to update, 3 to replace (2 protected: pulumi up will refuse them)");
        assert.match(text, /^Summary: 0 to add, 0 to remove, 0 to update, 3 to replace \(2 protected: pulumi up will refuse them\)$/m);
    });

    it("a protected object's removal is marked too; an update of a protected object is not", () => {
        const d = diffManifests([secret, deployment], [], { before: resources, after: [] });
        assert.deepEqual(d.removed.map((r) => [r.id, r.protected]), [["v1 Secret herd/x", true], ["apps/v1 Deployment herd/x", false]]);
        const text = formatText(fakeDiff(d));
        assert.match(text, /^ {2}- v1 Secret herd\/x \(protected: pulumi up will refuse to delete it; lift protection deliberately first\)$/m);
        assert.match(text, /^ {2}- apps\/v1 Deployment herd\/x$/m);
        assert.equal(summaryLine(summarize(d)), "Summary: 0 to add, 2 to remove, 0 to update, 0 to replace, 1 protected removal (pulumi up will refuse it)");

        const scale = change(statefulSet, (o) => (o.spec.replicas = 3), resources);
        assert.equal(scale.action, "update");
        assert.match(formatText(fakeDiff({ added: [], removed: [], changed: [scale] })), /^ {2}~ apps\/v1 StatefulSet herd\/x$/m);
    });

    it("JSON carries action, forcing fields and protection", () => {
        const grow = change(statefulSet, (o) => (o.spec.podManagementPolicy = "Parallel"), resources);
        const json = JSON.parse(JSON.stringify(fakeDiff({ added: [], removed: [], changed: [grow] }))) as ManifestsDiff;
        const c = json.objects.changed[0];
        assert.deepEqual([c.action, c.forcing, c.protected], ["replace", ["spec.podManagementPolicy"], true]);
        assert.deepEqual(json.summary, { added: 0, removed: 0, updated: 0, replaced: 1, protectedReplaced: 1, protectedRemoved: 0, rejected: 0 });
    });
});

describe("main: exit codes and output streams", () => {
    const run = async (argv: string[], result: ManifestsDiff | Error) => {
        const out: string[] = [];
        const err: string[] = [];
        const calls: DiffOptions[] = [];
        const code = await main(argv, {
            stdout: (t) => out.push(t),
            stderr: (t) => err.push(t),
            diff: (opts) => {
                calls.push(opts);
                opts.progress?.("rendering stack onprem at base main (0123456789ab) and the working tree...");
                if (result instanceof Error) {
                    return Promise.reject(result);
                }
                opts.progress?.("compared 1 objects and 1 resources in 0.1s");
                return Promise.resolve(result);
            },
        });
        return { code, stdout: out.join(""), stderr: err.join(""), calls };
    };
    const changed = fakeDiff(diffManifests([deployment], [{ ...deployment, spec: { ...(deployment["spec"] as Obj), replicas: 3 } }]));
    const unchanged: ManifestsDiff = { ...fakeDiff({ added: [], removed: [], changed: [] }), changes: false };

    it("without --exit-code: 0 with or without changes; an error is 1", async () => {
        assert.equal((await run(["--stack", "onprem", "--base", "main"], changed)).code, 0);
        assert.equal((await run(["--stack", "onprem", "--base", "main"], unchanged)).code, 0);
        const { DiffError } = await import("../scripts/manifests-diff");
        const failed = await run(["--stack", "onprem", "--base", "nope"], new DiffError("unknown git ref 'nope'"));
        assert.deepEqual([failed.code, failed.stdout], [1, ""]);
        assert.match(failed.stderr, /herd manifests-diff --stack onprem: unknown git ref 'nope'/);
    });

    it("with --exit-code: 0 no changes, 2 changes, 1 errors, usage errors included", async () => {
        assert.equal((await run(["--stack", "onprem", "--base", "main", "--exit-code"], unchanged)).code, 0);
        assert.equal((await run(["--stack", "onprem", "--base", "main", "--exit-code"], changed)).code, 2);
        assert.equal((await run(["--stack", "onprem", "--base", "main", "--exit-code"], new Error("boom"))).code, 1);
        const usage = await run(["--stack", "onprem", "--exit-code"], changed);
        assert.deepEqual([usage.code, usage.stdout, usage.calls.length], [1, "", 0]);
        assert.match(usage.stderr, /--base is required\nusage: npm run --silent manifests-diff .*\[--exit-code\]/);
        assert.equal((await run(["--stack", "onprem", "--base", "main", "--format", "xml", "--exit-code"], changed)).code, 1);
        // Without --exit-code a usage error stays runCli's (exit 2).
        await assert.rejects(run(["--stack", "onprem"], changed), UsageError);
    });

    it("progress goes to stderr, stdout holds only the diff (JSON parses)", async () => {
        const r = await run(["--stack", "onprem", "--base", "main", "--format", "json"], changed);
        assert.deepEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(changed)));
        assert.match(r.stderr, /^manifests-diff: rendering stack onprem at base main \(0123456789ab\) and the working tree\.\.\.$/m);
        assert.match(r.stderr, /^manifests-diff: compared 1 objects and 1 resources in 0\.1s$/m);
        assert.doesNotMatch(r.stdout, /manifests-diff:/);
    });
});
