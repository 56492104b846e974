/**
 * The engine preview's pull-request comment (scripts/preview-comment.ts), fed the engine's own recorded output
 * (tests/fixtures/preview-comment: real `pulumi preview --json`, its policy events and its text diff), and the
 * command's argument and base checks (e2e/pr-preview.ts) that need no engine.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { headStackFile, parseArgs, policyEventsOf, resolveBase } from "../e2e/pr-preview";
import { buildPreviewComment, CommentInput, PreviewDigest, protectedRefusals, showValue } from "../scripts/preview-comment";
import { PROJECT_DIR } from "./helpers";

const FIXTURES = path.join(PROJECT_DIR, "tests", "fixtures", "preview-comment");
const BASE = { ref: "HEAD", commit: "02dbf1526ac93a55fd375458cbf5b7e163a1a386" };

function recorded(name: string, previewExitCode: number): CommentInput {
    const dir = path.join(FIXTURES, name);
    return {
        digest: JSON.parse(fs.readFileSync(path.join(dir, "preview.json"), "utf8")) as PreviewDigest,
        policyEvents: policyEventsOf(fs.readFileSync(path.join(dir, "events.jsonl"), "utf8")),
        textDiff: fs.readFileSync(path.join(dir, "preview.txt"), "utf8"),
        previewExitCode,
        base: BASE,
        timings: { baseUpSeconds: 16, headPreviewSeconds: 25 },
    };
}

/** Where each heading (or marker) starts; -1 when absent. */
function at(text: string, ...marks: string[]): number[] {
    return marks.map((m) => text.indexOf(m));
}

function assertInOrder(text: string, marks: string[]): void {
    const positions = at(text, ...marks);
    marks.forEach((m, i) => assert.ok(positions[i] >= 0, `${m} is in the comment`));
    for (let i = 1; i < positions.length; i++) {
        assert.ok(positions[i - 1] < positions[i], `${marks[i - 1]} comes before ${marks[i]}`);
    }
}

/** The lead (everything before the folded diff). */
function lead(text: string): string {
    return text.slice(0, text.indexOf("<details>"));
}

describe("engine preview comment: replacements, deletions, updates, creates (recorded, preview passed)", () => {
    const text = buildPreviewComment(recorded("replace-delete", 0));

    it("leads with one line counting what the engine will do", () => {
        const lines = text.split("\n").filter((l) => l.trim() !== "");
        assert.equal(lines[0], "## Engine preview: the onprem stack on a local control plane");
        assert.equal(lines[1], "**1 to create · 2 to update · 1 to replace · 2 to delete** (83 unchanged)");
        assert.doesNotMatch(text, /\[!WARNING\]|\[!CAUTION\]/, "a passing preview with nothing protected touched raises no alarm");
    });

    it("replacements first with the property that forces them (old -> new), then deletions, policy, updates, creates, the folded diff", () => {
        assertInOrder(text, ["### Replacements and deletions", "- **replace** `kubernetes:batch/v1:Job` **api-migrate**", "- **delete** `kubernetes:core/v1:ConfigMap` **herd-alerts**", "### Policy violations", "### Updates", "### Creates", "<details>"]);
        const replace = text.split("\n").find((l) => l.includes("**api-migrate**")) ?? "";
        assert.match(replace, /forced by `spec\.template\.spec\.containers\[0\]\.image`: `"registry\.e2e\.invalid\/herd\/api@sha256:1{64}"` → `"registry\.e2e\.invalid\/herd\/api@sha256:5{64}"`/);
        assert.match(replace, /`spec\.template\.spec\.initContainers\[0\]\.image`/, "every forcing property is named");
        assert.match(text, /- \*\*update\*\* `kubernetes:apps\/v1:Deployment` \*\*frontend\*\*: `spec\.replicas`/);
        assert.match(text, /- \*\*update\*\* `kubernetes:apps\/v1:Deployment` \*\*api\*\*: `spec\.template\.spec\.containers\[0\]\.image`/);
        assert.match(text, /- \*\*create\*\* `kubernetes:core\/v1:ConfigMap` \*\*scratch-note\*\*/);
    });

    it("advisory policy events are listed with the policy, the resource and what is wrong", () => {
        assert.match(text, /### Policy violations \(0 mandatory, 1 advisory\)/);
        assert.match(text, /- \*\*advisory\*\* `policy-exceptions` \(herd-guardrails\) on `kubernetes:networking\.k8s\.io\/v1:Ingress` \*\*frontend\*\*\n  - Ingress herd\/frontend: exception to public-endpoint-tls granted/);
    });

    it("the engine's full text diff is folded in <details>, whole, in a fence that closes", () => {
        const details = text.slice(text.indexOf("<details>"), text.indexOf("</details>"));
        assert.match(details, /<summary>The full diff \(<code>pulumi preview --diff<\/code>\)<\/summary>/);
        const diff = fs.readFileSync(path.join(FIXTURES, "replace-delete", "preview.txt"), "utf8").trimEnd();
        assert.ok(details.includes(diff), "the whole diff, untouched");
        assert.match(details, /\n```diff\n[\s\S]*\n```\n/);
        assert.ok(text.length < 65536);
    });
});

describe("engine preview comment: a protected replacement and mandatory policy violations (recorded, preview failed)", () => {
    const input = recorded("protected-replace", 1);
    const text = buildPreviewComment(input);

    it("says loudly, before any list, that up will fail on the protected StatefulSet", () => {
        assert.match(text.split("\n")[2], /^\*\*1 to create · 1 to update · 1 to replace · 0 to delete\*\* · 🛑 \*\*1 refused: protected\*\*/);
        assertInOrder(text, ["> [!WARNING]", "> [!CAUTION]", "### Replacements and deletions"]);
        assert.match(text, /> \*\*The engine's preview failed\*\* \(exit 1\): 9 mandatory policy violations \(below\)\. `pulumi up` of this change would stop the same way\. The engine stops at its first error, so the lists below may be incomplete\./);
        assert.match(text, /> \*\*`pulumi up` of this change will fail\*\*: it would replace `kubernetes:apps\/v1:StatefulSet` \*\*redis\*\*, which is protected/);
    });

    it("lists the refused replacement first, then the protected section with the API server's reason", () => {
        assertInOrder(text, ["- **replace** `kubernetes:apps/v1:StatefulSet` **redis** — 🛑 **protected: up will fail**", "- **replace** `kubernetes:batch/v1:Job` **api-migrate**", "### Protected resources this change touches", "### Policy violations"]);
        assert.match(text, /npm run manifests-diff -- --stack onprem --base 02dbf1526ac9` names the field that forces it/);
        const section = text.slice(text.indexOf("### Protected resources"), text.indexOf("### Policy violations"));
        assert.match(section, /🛑 `kubernetes:apps\/v1:StatefulSet` \*\*redis\*\*: \*\*replace\*\* — `pulumi up` refuses this and fails/);
        assert.match(section, /the engine: Preview failed: .*StatefulSet\.apps "redis" is invalid: spec: Forbidden/);
    });

    it("policy violations: mandatory before advisory, one entry per policy and resource, each problem named", () => {
        assert.match(text, /### Policy violations \(9 mandatory, 3 advisory\)/);
        const section = text.slice(text.indexOf("### Policy violations"), text.indexOf("### Errors"));
        const levels = [...section.matchAll(/^- \*\*(mandatory|advisory)\*\* `([a-z-]+)`/gm)].map((m) => `${m[1]} ${m[2]}`);
        assert.deepEqual(levels, [
            "mandatory pod-security-restricted",
            "mandatory read-only-root-filesystem",
            "mandatory container-resources",
            "mandatory readiness-probe",
            "advisory recommended-labels",
            "advisory policy-exceptions",
        ]);
        assert.match(section, /container-resources` \(herd-guardrails\) on `kubernetes:apps\/v1:Deployment` \*\*scratch-echo\*\*\n(  - .*\n){2}  - Deployment herd\/scratch-echo: container "echo": spec\.template\.spec\.containers\[0\]\.resources\.limits\.memory is not set/);
        assert.doesNotMatch(section, /Every container and init container requests CPU/, "the policy's description stays in the full diff, not in every line");
    });

    it("the engine's other errors are listed once; the refusal itself is not repeated there", () => {
        const section = text.slice(text.indexOf("### Errors"), text.indexOf("### Updates"));
        assert.doesNotMatch(section, /marked for protection/);
        assert.match(section, /Preview failed: resource .*redis/);
    });

    it("protectedRefusals reads the engine's refusal from the recorded diagnostics", () => {
        assert.deepEqual(
            protectedRefusals(input.digest.diagnostics ?? []).map((r) => `${r.change} ${r.type} ${r.name}`),
            ["replace kubernetes:apps/v1:StatefulSet redis"],
        );
    });
});

describe("engine preview comment: GitHub's comment limit", () => {
    it("cuts the folded diff first, saying so, and keeps every lead section", () => {
        const full = buildPreviewComment(recorded("protected-replace", 1));
        const text = buildPreviewComment({ ...recorded("protected-replace", 1), maxChars: 12000 });
        assert.ok(text.length <= 12000, `${text.length} characters`);
        assert.equal(lead(text), lead(full), "the lead is whole");
        assert.match(text, /… cut here \(\d+ of \d+ characters shown, GitHub's comment limit\): the whole diff is preview\.txt in the run's engine-preview artifact/);
        assert.match(text, /\n```\n\n<\/details>/, "the fence and <details> still close");
    });

    it("a diff far over 65,536 characters: the default keeps the comment under the limit", () => {
        const input = recorded("replace-delete", 0);
        const text = buildPreviewComment({ ...input, textDiff: input.textDiff.repeat(20) });
        assert.ok(input.textDiff.length * 20 > 200000);
        assert.ok(text.length <= 60000, `${text.length} characters`);
        assert.match(text, /cut here/);
    });

    it("long lists of updates are capped with a count once the diff is gone, and a lead too long alone is cut with a note", () => {
        const input = recorded("replace-delete", 0);
        const steps = input.digest.steps ?? [];
        const update = steps.find((s) => s.op === "update" && s.urn.endsWith("::frontend"));
        assert.ok(update !== undefined);
        const many = Array.from({ length: 600 }, (_, i) => ({ ...update, urn: `${update.urn}-${i}` }));
        const text = buildPreviewComment({ ...input, digest: { ...input.digest, steps: [...steps, ...many] }, maxChars: 30000 });
        assert.ok(text.length <= 30000);
        assert.match(text, /- … and \d+ more updates \(all of them are in the full diff below and in the run's engine-preview artifact\)/);
        const tiny = buildPreviewComment({ ...input, maxChars: 1500 });
        assert.ok(tiny.length <= 1500);
        assert.match(tiny, /the comment is cut here \(GitHub's comment limit\)/);
        assert.ok(tiny.startsWith("## Engine preview"), "the summary line survives");
    });
});

describe("engine preview comment: secrets", () => {
    it("values the engine masked stay [secret]; a Kubernetes Secret's data is [secret] whatever the state holds", () => {
        assert.equal(showValue("kubernetes:core/v1:ConfigMap", "data.password", "[secret]"), "[secret]");
        assert.equal(showValue("kubernetes:core/v1:Secret", "stringData.password", "hunter2-plaintext"), "[secret]");
        assert.equal(showValue("kubernetes:core/v1:Secret", "data", { a: "b" }), "[secret]");
        assert.equal(showValue("kubernetes:core/v1:ConfigMap", "data.note", "x"), '"x"');
    });

    it("a replaced Secret from the recorded run (its type and values swapped in) shows no value", () => {
        const input = recorded("replace-delete", 0);
        const steps = (input.digest.steps ?? []).map((s) =>
            s.op === "replace"
                ? {
                      ...s,
                      detailedDiff: { "stringData.password": { kind: "update-replace" } },
                      oldState: { ...s.oldState, type: "kubernetes:core/v1:Secret", inputs: { stringData: { password: "old-plaintext-value" } } },
                      newState: { ...s.newState, type: "kubernetes:core/v1:Secret", inputs: { stringData: { password: "[secret]" } } },
                  }
                : s,
        );
        const text = buildPreviewComment({ ...input, digest: { ...input.digest, steps } });
        assert.match(text, /forced by `stringData\.password`: `\[secret\]` → `\[secret\]`/);
        assert.doesNotMatch(text, /old-plaintext-value/);
    });
});

describe("npm run e2e:preview: arguments, base and stack file (no engine needed)", () => {
    it("--help, a missing --base, an unknown option and an option without its value", () => {
        assert.equal(parseArgs(["--help"]), undefined);
        assert.deepEqual(parseArgs(["--base", "origin/main"]), { base: "origin/main", out: "engine-preview", keep: false });
        assert.deepEqual(parseArgs(["--base", "abc", "--out", "x", "--keep"]), { base: "abc", out: "x", keep: true });
        assert.throws(() => parseArgs([]), /--base <git ref> is required/);
        assert.throws(() => parseArgs(["--base", "x", "--frob"]), /unknown option '--frob'/);
        assert.throws(() => parseArgs(["--base"]), /--base: expected a value, got nothing/);
        assert.throws(() => parseArgs(["--base", "x", "--out", "--keep"]), /--out: expected a value, got '--keep'/);
    });

    it("the command answers --help and a usage error exits 2 naming the option", () => {
        const tsx = path.join(PROJECT_DIR, "node_modules", ".bin", "tsx");
        const help = spawnSync(tsx, ["e2e/pr-preview.ts", "--help"], { cwd: PROJECT_DIR, encoding: "utf8" });
        assert.equal(help.status, 0);
        assert.match(help.stdout, /^usage: npm run e2e:preview -- --base <git ref>/);
        const bad = spawnSync(tsx, ["e2e/pr-preview.ts"], { cwd: PROJECT_DIR, encoding: "utf8" });
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /--base <git ref> is required/);
    });

    it("a ref that does not resolve, and a base from before e2e/stack.yaml existed, are refused in one sentence", () => {
        assert.throws(() => resolveBase("no-such-ref-anywhere"), /--base no-such-ref-anywhere: no such commit in this repository/);
        const first = spawnSync("git", ["log", "--diff-filter=A", "--format=%H", "--reverse", "--", "e2e/stack.yaml"], { cwd: PROJECT_DIR, encoding: "utf8" }).stdout.split("\n")[0];
        assert.match(first, /^[0-9a-f]{40}$/);
        assert.throws(
            () => resolveBase(`${first}~1`),
            new RegExp(`has no e2e/stack\\.yaml, so there is no engine stack to apply it with: the engine preview starts from the first commit that has one \\(${first.slice(0, 7)}`),
        );
        assert.equal(resolveBase(first), first);
    });

    it("the head's stack file is the head's config with the salt stack init wrote for the base", () => {
        const base = "encryptionsalt: v1:abc:def\nconfig:\n  herd:redisStorageSize: 1Gi\n";
        assert.equal(headStackFile("config:\n  herd:redisStorageSize: 2Gi\n", base), "encryptionsalt: v1:abc:def\nconfig:\n  herd:redisStorageSize: 2Gi\n");
        assert.equal(headStackFile("encryptionsalt: other\nconfig: {}\n", base), "encryptionsalt: v1:abc:def\nconfig: {}\n");
        assert.equal(headStackFile("config: {}\n", "config: {}\n"), "config: {}\n");
    });

    it("policy events are read from the recorded event log; other events are skipped", () => {
        const events = policyEventsOf(fs.readFileSync(path.join(FIXTURES, "protected-replace", "events.jsonl"), "utf8"));
        assert.equal(events.length, 12);
        assert.equal(events.filter((e) => e.enforcementLevel === "mandatory").length, 9);
        assert.deepEqual(policyEventsOf('{"sequence":1,"diagnosticEvent":{"message":"x"}}\n\n'), []);
    });
});
