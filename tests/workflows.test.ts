/**
 * The delivery workflows (.github/workflows) and their shared setup action hold the promises the README makes:
 * previews on pull requests (an offline diff for forks), up with the saved plan on main, a nightly drift check,
 * minimal permissions, pinned actions, secrets never inside a script, and one matrix entry per stack file.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { listStacks } from "../scripts/stacks";
import { PROJECT_DIR } from "./helpers";

type Yaml = unknown;
type Mapping = Record<string, Yaml>;

const WORKFLOWS_DIR = path.join(PROJECT_DIR, ".github", "workflows");
const ACTIONS_DIR = path.join(PROJECT_DIR, ".github", "actions");

function isMap(v: Yaml): v is Mapping {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function map(v: Yaml, what: string): Mapping {
    assert.ok(isMap(v), `${what}: expected a mapping`);
    return v;
}

function list(v: Yaml, what: string): Yaml[] {
    assert.ok(Array.isArray(v), `${what}: expected a list`);
    return v;
}

interface FileDoc {
    readonly file: string;
    readonly text: string;
    readonly doc: Mapping;
}

function load(file: string): FileDoc {
    const text = fs.readFileSync(file, "utf8");
    return { file: path.relative(PROJECT_DIR, file), text, doc: map(parse(text, { uniqueKeys: true }) as Yaml, file) };
}

const workflowFiles = fs.existsSync(WORKFLOWS_DIR)
    ? fs
          .readdirSync(WORKFLOWS_DIR)
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => path.join(WORKFLOWS_DIR, f))
    : [];
const actionFiles = fs.existsSync(ACTIONS_DIR)
    ? fs
          .readdirSync(ACTIONS_DIR)
          .map((d) => path.join(ACTIONS_DIR, d, "action.yml"))
          .filter((f) => fs.existsSync(f))
    : [];
const workflows = new Map(workflowFiles.map((f) => [path.basename(f), load(f)] as const));
const actions = actionFiles.map(load);

function workflow(name: string): FileDoc {
    const w = workflows.get(name);
    assert.ok(w !== undefined, `.github/workflows/${name} exists`);
    return w;
}

function jobs(w: FileDoc): [string, Mapping][] {
    return Object.entries(map(w.doc["jobs"], `${w.file} jobs`)).map(([id, j]) => [id, map(j, `${w.file} job ${id}`)]);
}

function job(w: FileDoc, id: string): Mapping {
    return map(map(w.doc["jobs"], `${w.file} jobs`)[id], `${w.file} job ${id}`);
}

function steps(j: Mapping, what: string): Mapping[] {
    return list(j["steps"], `${what} steps`).map((s, i) => map(s, `${what} step ${i}`));
}

/** Every step of every workflow job and of every composite action, with where it is. */
function allSteps(): { where: string; step: Mapping }[] {
    const out: { where: string; step: Mapping }[] = [];
    for (const w of workflows.values()) {
        for (const [id, j] of jobs(w)) {
            if (j["steps"] !== undefined) {
                steps(j, `${w.file} ${id}`).forEach((step, i) => out.push({ where: `${w.file} ${id} step ${i}`, step }));
            }
        }
    }
    for (const a of actions) {
        steps(map(a.doc["runs"], `${a.file} runs`), a.file).forEach((step, i) => out.push({ where: `${a.file} step ${i}`, step }));
    }
    return out;
}

/** The stacks and their platforms, from the Pulumi.<stack>.yaml files present. */
function stackFiles(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of fs.readdirSync(PROJECT_DIR)) {
        const m = /^Pulumi\.(.+)\.yaml$/.exec(f);
        if (m === null) {
            continue;
        }
        const config = map(map(parse(fs.readFileSync(path.join(PROJECT_DIR, f), "utf8")) as Yaml, f)["config"], `${f} config`);
        out[m[1]] = String(config["herd:platform"]);
    }
    return out;
}

const STACKS_MATRIX = "${{ fromJSON(needs.stacks.outputs.matrix) }}";

/** Whether a job runs once per stack: its matrix is the one the `stacks` job computes from the stack files. */
function perStack(j: Mapping): boolean {
    const strategy = j["strategy"];
    if (!isMap(strategy)) {
        return false;
    }
    assert.equal(strategy["matrix"], STACKS_MATRIX, "a matrix is always the stacks job's list, never written by hand");
    return true;
}

/** Every string value in a document, with its path. */
function strings(v: Yaml, at: string[] = []): { at: string[]; value: string }[] {
    if (typeof v === "string") {
        return [{ at, value: v }];
    }
    if (Array.isArray(v)) {
        return v.flatMap((x, i) => strings(x, [...at, String(i)]));
    }
    if (isMap(v)) {
        return Object.entries(v).flatMap(([k, x]) => strings(x, [...at, k]));
    }
    return [];
}

const PINNED = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.\/-]+)@([0-9a-f]{40}|v\d+\.\d+\.\d+)$/;

describe("delivery workflows", () => {
    it("every workflow and the setup action parse as YAML, and the expected files exist", () => {
        assert.deepEqual([...workflows.keys()].sort(), ["preview-comment.yml", "preview.yml", "up.yml"]);
        assert.deepEqual(
            actions.map((a) => a.file),
            [path.join(".github", "actions", "herd-setup", "action.yml")],
        );
        for (const w of workflows.values()) {
            assert.equal(typeof w.doc["name"], "string", `${w.file} has a name`);
            assert.ok(jobs(w).length > 0, `${w.file} has jobs`);
        }
        assert.equal(map(actions[0].doc["runs"], "runs")["using"], "composite");
    });

    it("triggers: pull requests for previews; push to main, by hand and nightly for up; the preview run for comments", () => {
        assert.deepEqual(Object.keys(map(workflow("preview.yml").doc["on"], "preview on")), ["pull_request"]);
        assert.deepEqual(map(map(workflow("preview.yml").doc["on"], "on")["pull_request"], "pull_request")["branches"], ["main"]);

        const on = map(workflow("up.yml").doc["on"], "up on");
        assert.deepEqual(Object.keys(on).sort(), ["push", "schedule", "workflow_dispatch"]);
        assert.deepEqual(map(on["push"], "push")["branches"], ["main"]);
        const cron = map(list(on["schedule"], "schedule")[0], "schedule entry")["cron"];
        assert.match(String(cron), /^\d+ \d+ \* \* \*$/, "a daily cron");
        const mode = map(map(map(on["workflow_dispatch"], "dispatch")["inputs"], "inputs")["mode"], "mode");
        assert.deepEqual(mode["options"], ["up", "drift"]);

        const comment = map(workflow("preview-comment.yml").doc["on"], "comment on");
        assert.deepEqual(Object.keys(comment), ["workflow_run"]);
        assert.deepEqual(map(comment["workflow_run"], "workflow_run")["workflows"], ["preview"]);
    });

    it("permissions: none at the top, and each job asks only for what it uses", () => {
        const allowed: Record<string, Record<string, string>> = {
            "preview.yml": {},
            "up.yml": {},
            "preview-comment.yml": {},
        };
        for (const w of workflows.values()) {
            assert.deepEqual(w.doc["permissions"], {}, `${w.file}: top-level permissions: {}`);
            for (const [id, j] of jobs(w)) {
                const perms = map(j["permissions"], `${w.file} ${id} permissions`);
                assert.equal(perms["contents"] === "write", false, `${w.file} ${id}: no contents: write`);
                for (const [scope, level] of Object.entries(perms)) {
                    assert.ok(level === "read" || level === "write", `${w.file} ${id}: ${scope}: ${String(level)}`);
                }
                const usesOidc = steps(j, id).some((s) => s["uses"] === "./.github/actions/herd-setup");
                assert.equal(perms["id-token"] === "write", usesOidc, `${w.file} ${id}: id-token: write exactly where OIDC is used`);
                allowed[path.basename(w.file)][id] = Object.entries(perms)
                    .map(([k, v]) => `${k}:${String(v)}`)
                    .sort()
                    .join(" ");
            }
        }
        assert.deepEqual(allowed, {
            "preview.yml": {
                stacks: "contents:read",
                test: "contents:read",
                preview: "contents:read id-token:write pull-requests:write",
                offline: "contents:read",
                "engine-preview": "contents:read",
            },
            "up.yml": {
                stacks: "contents:read",
                test: "contents:read",
                plan: "contents:read id-token:write",
                apply: "contents:read id-token:write",
                drift: "contents:read id-token:write issues:write",
            },
            "preview-comment.yml": { comment: "actions:read pull-requests:write", "engine-comment": "actions:read pull-requests:write" },
        });
    });

    it("every action is pinned (a commit SHA with its version beside it, or an exact vX.Y.Z), the same pin everywhere", () => {
        const seen = new Map<string, string>();
        let count = 0;
        for (const { where, step } of allSteps()) {
            const uses = step["uses"];
            if (uses === undefined) {
                continue;
            }
            count++;
            assert.equal(typeof uses, "string");
            const ref = String(uses);
            if (ref.startsWith("./")) {
                assert.ok(fs.existsSync(path.join(PROJECT_DIR, ref, "action.yml")), `${where}: ${ref} exists`);
                continue;
            }
            const m = PINNED.exec(ref);
            assert.ok(m !== null, `${where}: ${ref} is pinned to a commit SHA or an exact vX.Y.Z (never a branch or a major tag)`);
            assert.doesNotMatch(ref, /@(main|master|v\d+)$/);
            const [, action, pin] = m;
            const previous = seen.get(action);
            assert.ok(previous === undefined || previous === pin, `${where}: ${action} pinned the same way everywhere`);
            seen.set(action, pin);
        }
        assert.ok(count >= 10);
        // The version each SHA stands for is written beside it, so a reviewer (and Dependabot) can read it.
        for (const f of [...workflows.values(), ...actions]) {
            for (const line of f.text.split("\n")) {
                const m = /uses:\s*(\S+@[0-9a-f]{40})(.*)$/.exec(line);
                if (m !== null) {
                    assert.match(m[2], /^ # v\d+\.\d+\.\d+$/, `${f.file}: ${m[1]} has its # vX.Y.Z comment`);
                }
            }
        }
        assert.deepEqual([...seen.keys()].sort(), [
            "actions/cache/restore",
            "actions/cache/save",
            "actions/checkout",
            "actions/download-artifact",
            "actions/github-script",
            "actions/setup-node",
            "actions/upload-artifact",
            "aws-actions/configure-aws-credentials",
            "google-github-actions/auth",
            "google-github-actions/setup-gcloud",
            "pulumi/actions",
        ]);
    });

    it("no expression inside any run: script (values, secrets above all, reach scripts through env:)", () => {
        for (const { where, step } of allSteps()) {
            if (typeof step["run"] === "string") {
                assert.doesNotMatch(step["run"], /\$\{\{/, `${where}: run: has no \${{ }} (use env:)`);
            }
        }
        // And a secret appears only as the value of an env: or with: entry, nowhere else (not in if:, not in names).
        for (const f of [...workflows.values(), ...actions]) {
            for (const s of strings(f.doc)) {
                if (/\$\{\{[^}]*\bsecrets\./.test(s.value)) {
                    const parent = s.at[s.at.length - 2];
                    assert.ok(parent === "env" || parent === "with", `${f.file} ${s.at.join(".")}: secrets only in env: or with:`);
                }
            }
        }
        // The setup action hands its inputs to scripts through env: too.
        const setup = actions[0];
        for (const [i, step] of steps(map(setup.doc["runs"], "runs"), setup.file).entries()) {
            if (typeof step["run"] === "string") {
                assert.doesNotMatch(step["run"], /inputs\./, `${setup.file} step ${i}: inputs reach the script through env:`);
            }
        }
    });

    it("every matrix is the stacks job's list of the stack files, so copying a stack file adds a stack", () => {
        let matrices = 0;
        for (const w of workflows.values()) {
            const hasPerStack = [...jobs(w)].some(([, j]) => perStack(j));
            if (!hasPerStack) {
                continue;
            }
            const stacksJob = job(w, "stacks");
            const run = steps(stacksJob, `${w.file} stacks`)
                .map((st) => st["run"])
                .filter((r): r is string => typeof r === "string")
                .join("\n");
            assert.match(run, /npm run --silent stacks -- --github-matrix/, `${w.file}: the stacks job lists the stack files`);
            for (const [id, j] of jobs(w)) {
                if (!perStack(j)) {
                    continue;
                }
                matrices++;
                const needs = j["needs"];
                assert.ok(needs === "stacks" || (Array.isArray(needs) && needs.includes("stacks")), `${w.file} ${id}: needs the stacks job`);
            }
        }
        assert.equal(matrices, 5, "preview, offline, plan, apply and drift each run per stack");
    });

    it("npm run stacks lists every stack file with its herd:platform, a copied one included", () => {
        const stacks = stackFiles();
        assert.deepEqual(
            Object.fromEntries(listStacks(PROJECT_DIR).map((e) => [e.stack, e.platform])),
            stacks,
            "the stack files and their platforms",
        );
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "herd-stacks-"));
        try {
            for (const f of Object.keys(stacks)) {
                fs.copyFileSync(path.join(PROJECT_DIR, `Pulumi.${f}.yaml`), path.join(tmp, `Pulumi.${f}.yaml`));
            }
            fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.onprem.yaml"), path.join(tmp, "Pulumi.customer-b.yaml"));
            assert.deepEqual(
                listStacks(tmp).map((e) => `${e.stack}=${e.platform}`),
                ["aws=aws", "customer-b=onprem", "gcp=gcp", "onprem=onprem"],
            );
            fs.writeFileSync(path.join(tmp, "Pulumi.broken.yaml"), "config:\n  herd:platform: azure\n");
            assert.throws(() => listStacks(tmp), /Pulumi\.broken\.yaml: herd:platform: expected one of aws, gcp, onprem, got "azure"/);
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    it("concurrency: one group per stack; previews cancel superseded runs, nothing in up.yml is ever cancelled", () => {
        for (const w of workflows.values()) {
            for (const [id, j] of jobs(w)) {
                if (!perStack(j)) {
                    continue;
                }
                const c = map(j["concurrency"], `${w.file} ${id} concurrency`);
                assert.match(String(c["group"]), /\$\{\{ matrix\.stack \}\}/, `${w.file} ${id}: concurrency group per stack`);
            }
        }
        for (const id of ["preview", "offline"]) {
            const c = map(job(workflow("preview.yml"), id)["concurrency"], id);
            assert.equal(c["group"], "preview-${{ matrix.stack }}-${{ github.ref }}");
            assert.equal(c["cancel-in-progress"], true);
        }
        const up = workflow("up.yml");
        assert.equal(map(up.doc["concurrency"], "up concurrency")["cancel-in-progress"], false);
        for (const [id, j] of jobs(up)) {
            if (j["concurrency"] !== undefined) {
                assert.equal(map(j["concurrency"], id)["cancel-in-progress"], false, `up.yml ${id}: never cancelled`);
            }
        }
        assert.equal(map(job(up, "apply")["concurrency"], "apply")["group"], "up-${{ matrix.stack }}");
        // Deploy runs and drift checks queue separately, so a waiting drift check never replaces a waiting deployment.
        assert.match(String(map(up.doc["concurrency"], "c")["group"]), /'drift'.*'deploy'/);
    });

    it("pull requests from this repository get pulumi preview with the policy pack, on the PR and in the summary", () => {
        const w = workflow("preview.yml");
        const preview = job(w, "preview");
        assert.match(String(preview["if"]), /head\.repo\.full_name == github\.repository/);
        assert.deepEqual(preview["needs"], ["test", "stacks"]);
        assert.equal(preview["environment"], "${{ matrix.stack }}-preview");
        const s = steps(preview, "preview");
        const setup = s.find((x) => x["uses"] === "./.github/actions/herd-setup");
        assert.equal(map(setup?.["with"], "setup with")["policy"], "true", "npm ci --prefix policy before the preview");
        const action = s.find((x) => String(x["uses"]).startsWith("pulumi/actions@"));
        const withs = map(action?.["with"], "pulumi/actions with");
        assert.equal(withs["command"], "preview");
        assert.match(String(withs["stack-name"]), /\$\{\{ matrix\.stack \}\}$/);
        assert.equal(withs["comment-on-pr"], true);
        assert.equal(withs["comment-on-summary"], true);
        assert.equal(withs["diff"], true);
        assert.equal(withs["policyPacks"], "policy");
        assert.equal(withs["work-dir"], "./");
        assert.match(String(withs["cloud-url"]), /vars\.PULUMI_BACKEND_URL/);

        const test = steps(job(w, "test"), "test");
        assert.ok(test.some((x) => x["run"] === "bash .ci/run"), "the tests run through .ci/run");
        assert.ok(test.some((x) => String(x["uses"]).startsWith("actions/setup-node@") && map(x["with"], "w")["node-version"] === "20"));
    });

    it("forks (and Dependabot) get the tests and the offline manifests diff, commented by a workflow that runs no PR code", () => {
        const w = workflow("preview.yml");
        const offline = job(w, "offline");
        assert.match(String(offline["if"]), /head\.repo\.full_name != github\.repository/);
        assert.match(String(offline["if"]), /dependabot\[bot\]/);
        assert.deepEqual(offline["needs"], ["test", "stacks"], "the tests run for forks too");
        assert.equal(offline["environment"], undefined, "no environment, no secrets");
        const s = steps(offline, "offline");
        const checkout = s.find((x) => String(x["uses"]).startsWith("actions/checkout@"));
        assert.equal(map(checkout?.["with"], "checkout with")["fetch-depth"], 0, "the base commit is fetched");
        const diff = s.find((x) => typeof x["run"] === "string" && x["run"].includes("manifests-diff"));
        assert.ok(diff !== undefined, "the offline job runs manifests-diff");
        assert.match(String(diff["run"]), /npm run --silent manifests-diff -- --stack "\$STACK" --base "\$BASE_SHA"/);
        assert.equal(map(diff["env"], "diff env")["BASE_SHA"], "${{ github.event.pull_request.base.sha }}");
        assert.match(String(diff["run"]), /GITHUB_STEP_SUMMARY/);
        assert.ok(s.some((x) => String(x["uses"]).startsWith("actions/upload-artifact@")), "the diff is kept for the comment");

        const c = workflow("preview-comment.yml");
        const comment = job(c, "comment");
        assert.match(String(comment["if"]), /head_repository\.full_name != github\.repository/);
        const cs = steps(comment, "comment");
        assert.ok(!cs.some((x) => String(x["uses"]).startsWith("actions/checkout@")), "the commenter checks nothing out");
        assert.ok(!cs.some((x) => x["run"] !== undefined), "and runs no script of the pull request");
        const script = String(map(cs.find((x) => String(x["uses"]).startsWith("actions/github-script@"))?.["with"], "script with")["script"]);
        assert.match(script, /no cloud `pulumi preview`/i);
        assert.match(script, /pulls\.get/, "the PR number is checked against the run's head commit");
        assert.match(script, /createComment/);
    });

    it("every pull request, forks included, gets the engine preview of the onprem stack: no secret, a cached toolchain, the Markdown kept", () => {
        const w = workflow("preview.yml");
        const engine = job(w, "engine-preview");
        assert.equal(engine["name"], "engine preview (onprem)");
        assert.equal(engine["if"], undefined, "no condition: forks and Dependabot too");
        assert.equal(engine["environment"], undefined, "no environment");
        assert.deepEqual(engine["permissions"], { contents: "read" });
        assert.doesNotMatch(JSON.stringify(engine), /secrets\.|vars\./, "it reads no secret and no variable");
        const timeout = Number(engine["timeout-minutes"]);
        assert.ok(timeout >= 45 && timeout <= 90, `a cold toolchain build (~32 min) fits, a hung run is stopped: ${timeout}`);
        assert.equal(map(engine["concurrency"], "concurrency")["cancel-in-progress"], true);
        const go = String(map(engine["env"], "engine env")["GOTOOLCHAIN"]);
        assert.match(go, /^go1\.\d+\.\d+$/, "the Go toolchain is pinned");
        const s = steps(engine, "engine-preview");
        const checkout = s.find((x) => String(x["uses"]).startsWith("actions/checkout@"));
        assert.equal(map(checkout?.["with"], "checkout with")["fetch-depth"], 0, "the base commit is fetched");

        // The toolchain cache: restored, keyed by what pins the versions, saved right after the build.
        const restoreAt = s.findIndex((x) => String(x["uses"]).startsWith("actions/cache/restore@"));
        const buildAt = s.findIndex((x) => x["run"] === "bash e2e/build.sh > /dev/null");
        const saveAt = s.findIndex((x) => String(x["uses"]).startsWith("actions/cache/save@"));
        const previewAt = s.findIndex((x) => String(x["run"]).includes("npm run --silent e2e:preview"));
        assert.ok(restoreAt >= 0 && restoreAt < buildAt && buildAt < saveAt && saveAt < previewAt, "restore, build, save, then the preview");
        const restore = map(s[restoreAt]["with"], "restore with");
        assert.equal(restore["path"], "~/.cache/herd-e2e");
        const key = String(restore["key"]);
        assert.match(key, /^herd-e2e-\$\{\{ runner\.os \}\}-\$\{\{ env\.GOTOOLCHAIN \}\}-\$\{\{ hashFiles\(/);
        for (const pinned of ["e2e/build.sh", "e2e/build-pulumi.sh", "e2e/build-cluster.sh", "e2e/pulumi/**/go.mod", "e2e/pulumi/**/go.sum", "e2e/cluster/**/go.mod", "e2e/cluster/**/go.sum"]) {
            assert.ok(key.includes(`'${pinned}'`), `the cache key covers ${pinned}`);
            const files = pinned.includes("**") ? [] : [pinned];
            files.forEach((f) => assert.ok(fs.existsSync(path.join(PROJECT_DIR, f)), `${f} exists`));
        }
        assert.match(fs.readFileSync(path.join(PROJECT_DIR, "e2e", "build-pulumi.sh"), "utf8"), /^PULUMI_VERSION=3\.248\.0$/m, "the versions are pinned in the hashed scripts");
        assert.equal(String(restore["restore-keys"]).trim(), "herd-e2e-${{ runner.os }}-${{ env.GOTOOLCHAIN }}-");
        const save = s[saveAt];
        assert.equal(map(save["with"], "save with")["key"], "${{ steps.toolchain-cache.outputs.cache-primary-key }}");
        assert.match(String(save["if"]), /steps\.toolchain\.outcome == 'success'/);

        const preview = s[previewAt];
        assert.match(String(preview["run"]), /npm run --silent e2e:preview -- --base "\$BASE_SHA" --out engine-preview/);
        assert.equal(map(preview["env"], "preview env")["BASE_SHA"], "${{ github.event.pull_request.base.sha }}");
        assert.match(String(preview["run"]), /comment\.json/, "the pull request and head sha for the commenter");
        assert.match(String(preview["run"]), /case "\$rc" in 0\) status=ok ;; 3\) status=preview-failed ;; \*\) status=failed ;; esac/, "exit 3 (up would fail) is told apart from a run that could not start");
        assert.match(String(preview["run"]), /\[ "\$rc" = 0 \]$/m, "and either fails the check");
        assert.match(String(preview["run"]), /GITHUB_STEP_SUMMARY/);
        const upload = s.find((x) => String(x["uses"]).startsWith("actions/upload-artifact@"));
        assert.equal(upload?.["if"], "always()", "kept even when the preview fails, so the reason is posted");
        assert.deepEqual({ name: map(upload?.["with"], "upload with")["name"], path: map(upload?.["with"], "upload with")["path"] }, { name: "engine-preview", path: "engine-preview/" });
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { scripts: Record<string, string> };
        assert.equal(pkg.scripts["e2e:preview"], "tsx e2e/pr-preview.ts");

        // Posted for forks and this repository's branches alike, by a job that runs none of the pull request's code.
        const c = workflow("preview-comment.yml");
        const comment = job(c, "engine-comment");
        assert.equal(comment["if"], "github.event.workflow_run.event == 'pull_request'");
        const cs = steps(comment, "engine-comment");
        assert.ok(!cs.some((x) => String(x["uses"]).startsWith("actions/checkout@") || x["run"] !== undefined), "no checkout, no script of the pull request");
        assert.equal(map(cs.find((x) => String(x["uses"]).startsWith("actions/download-artifact@"))?.["with"], "download with")["name"], "engine-preview");
        const script = String(map(cs.find((x) => String(x["uses"]).startsWith("actions/github-script@"))?.["with"], "script with")["script"]);
        assert.match(script, /pulls\.get/, "the PR number is checked against the run's head commit");
        assert.match(script, /<!-- herd-engine-preview -->/, "its own marker, beside the offline diff's");
        assert.match(script, /updateComment/, "one comment, updated in place");
        assert.match(script, /@\\u200b/, "@mentions from the pull request's Markdown are defused");
    });

    it("main: preview --save-plan, the plan kept and summarised, then up --plan behind the stack's environment, one stack at a time", () => {
        const w = workflow("up.yml");
        const plan = job(w, "plan");
        const planSteps = steps(plan, "plan");
        const preview = planSteps.find((x) => String(x["run"]).includes("pulumi preview"));
        assert.match(String(preview?.["run"]), /pulumi preview --stack "\$STACK" --policy-pack policy --save-plan plan\.json/);
        assert.ok(planSteps.some((x) => String(x["run"]).includes("GITHUB_STEP_SUMMARY") && String(x["run"]).includes("plan.json")), "the plan is shown in the summary");
        const upload = planSteps.find((x) => String(x["uses"]).startsWith("actions/upload-artifact@"));
        assert.match(String(map(upload?.["with"], "upload with")["path"]), /plan\.json/);
        assert.equal(map(upload?.["with"], "upload with")["name"], "plan-${{ matrix.stack }}");

        const apply = job(w, "apply");
        assert.deepEqual(apply["needs"], ["plan", "stacks"]);
        assert.equal(apply["environment"], "${{ matrix.stack }}");
        const strategy = map(apply["strategy"], "apply strategy");
        assert.equal(strategy["max-parallel"], 1);
        assert.equal(strategy["fail-fast"], true);
        const applySteps = steps(apply, "apply");
        const download = applySteps.findIndex((x) => String(x["uses"]).startsWith("actions/download-artifact@"));
        const up = applySteps.findIndex((x) => String(x["run"]).includes("pulumi up"));
        assert.ok(download >= 0 && up > download, "the saved plan is downloaded before pulumi up");
        assert.equal(map(applySteps[download]["with"], "download with")["name"], "plan-${{ matrix.stack }}");
        assert.match(String(applySteps[up]["run"]), /pulumi up --stack "\$STACK" --policy-pack policy --plan plan\/plan\.json --yes/);
        assert.doesNotMatch(String(applySteps[up]["run"]), /--skip-preview|--refresh/);
    });

    it("the nightly drift check runs preview --refresh --expect-no-changes per stack and fails visibly", () => {
        const w = workflow("up.yml");
        const drift = job(w, "drift");
        assert.match(String(drift["if"]), /github\.event_name == 'schedule'/);
        assert.equal(map(drift["strategy"], "drift strategy")["fail-fast"], false, "every stack is checked");
        const s = steps(drift, "drift");
        const check = s.find((x) => String(x["run"]).includes("--expect-no-changes"));
        assert.match(String(check?.["run"]), /pulumi preview --stack "\$STACK" --refresh --expect-no-changes/);
        assert.match(String(check?.["run"]), /set -o pipefail/, "a drift fails the job, tee notwithstanding");
        const issue = s.find((x) => String(x["uses"]).startsWith("actions/github-script@"));
        assert.match(String(map(issue?.["with"], "issue with")["script"]), /issues\.create/);
        // The deploy jobs do not run at night, and the drift job does not run on push.
        assert.match(String(job(w, "test")["if"]), /github\.event_name == 'push'/);
    });

    it("the Pulumi CLI the workflows install is the version of @pulumi/pulumi in package.json; Node is 20", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { dependencies: Record<string, string> };
        for (const name of ["preview.yml", "up.yml"]) {
            assert.equal(map(workflow(name).doc["env"], `${name} env`)["PULUMI_VERSION"], pkg.dependencies["@pulumi/pulumi"]);
        }
        const setupNode = steps(map(actions[0].doc["runs"], "runs"), "setup").find((x) => String(x["uses"]).startsWith("actions/setup-node@"));
        assert.equal(map(setupNode?.["with"], "setup-node with")["node-version"], "20");
        assert.equal(map(setupNode?.["with"], "setup-node with")["cache"], "npm");
    });

    it("every job has a timeout and every checkout keeps no credentials", () => {
        for (const w of workflows.values()) {
            for (const [id, j] of jobs(w)) {
                assert.equal(typeof j["timeout-minutes"], "number", `${w.file} ${id}: timeout-minutes`);
            }
        }
        for (const { where, step } of allSteps()) {
            if (String(step["uses"]).startsWith("actions/checkout@")) {
                assert.equal(map(step["with"], `${where} with`)["persist-credentials"], false, `${where}: persist-credentials: false`);
            }
        }
    });
});
