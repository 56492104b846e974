/**
 * `npm run images`: every image a stack deploys, how it is pinned, where the cluster pulls it from with
 * herd:imageRegistryMirror, and the copy script for skopeo or crane. (tests/images.test.ts is about herd's own images.)
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { main, USAGE } from "../scripts/images";
import { runInProcess, tempDir, writeStackFile } from "./helpers";

const MIRROR = "registry.customer.internal:5000/mirror";
const run = (args: string[]) => runInProcess(USAGE, main, args);

/** Copy lines of a script: [source, target] with "$MIRROR" spelled out. */
function copies(script: string, mirror: string): [string, string][] {
    return [...script.matchAll(/^copy '([^']+)' "\$MIRROR"\/'([^']+)'$/gm)].map((m) => [m[1] ?? "", `${mirror}/${m[2] ?? ""}`]);
}

describe("npm run images", () => {
    it("--help prints the usage (exit 0); a missing --stack, a bad --tool or --mirror is a usage error (exit 2)", async () => {
        const help = await run(["--help"]);
        assert.equal(help.status, 0);
        assert.match(help.stdout, /^usage: npm run --silent images -- --stack <name>/);
        assert.equal((await run([])).status, 2);
        const tool = await run(["--stack", "onprem", "--tool", "docker"]);
        assert.equal(tool.status, 2);
        assert.match(tool.stderr, /--tool: expected one of skopeo, crane, got "docker"/);
        const mirror = await run(["--stack", "onprem", "--mirror", "https://mirror.internal"]);
        assert.equal(mirror.status, 2);
        assert.match(mirror.stderr, /--mirror: expected a registry location such as .*, got "https:\/\/mirror\.internal"/);
    });
    it("an unknown stack: exit 1, nothing written", async () => {
        const out = path.join(tempDir(), "out");
        const r = await run(["--stack", "nope", "--out", out]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /no stack file for stack 'nope'/);
        assert.equal(fs.existsSync(out), false);
    });
    it("aws with --mirror: lists each image with its pinning and target, and writes images.txt and a skopeo script", async () => {
        const out = path.join(tempDir(), "out");
        const r = await run(["--stack", "aws", "--mirror", MIRROR, "--out", out]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /redis:7\.4\.11-bookworm {2}\[tag-only\]\n {4}-> registry\.customer\.internal:5000\/mirror\/library\/redis:7\.4\.11-bookworm\n {4}used by StatefulSet herd\/redis redis/);
        assert.match(r.stdout, /registry\.k8s\.io\/autoscaling\/cluster-autoscaler:v\d+\.\d+\.\d+ {2}\[tag-only\]\n {4}-> registry\.customer\.internal:5000\/mirror\/autoscaling\/cluster-autoscaler/);
        // herd's own images: built and pushed to ECR by `pulumi up`, deployed by digest, never mirrored.
        assert.match(r.stdout, /<computed:Repository\.aws-api-repo\.repositoryUrl>@<computed:digest-of-api:h-[0-9a-f]+> {2}\[built-by-herd\]\n {4}used by Deployment herd\/api api/);
        const txt = fs.readFileSync(path.join(out, "images.txt"), "utf8");
        const rows = txt.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split("\t"));
        assert.ok(rows.every((row) => row.length === 4), "source, pulled-as, pinning, used-by");
        assert.deepEqual(rows.find((row) => row[0] === "docker.elastic.co/elasticsearch/elasticsearch:8.17.4")?.slice(1, 3), [`${MIRROR}/elasticsearch/elasticsearch:8.17.4`, "tag-only"]);
        const script = fs.readFileSync(path.join(out, "mirror-images.sh"), "utf8");
        assert.equal(fs.statSync(path.join(out, "mirror-images.sh")).mode & 0o777, 0o755);
        assert.match(script, /^#!\/bin\/sh\n/);
        assert.match(script, /^set -eu$/m);
        assert.match(script, /skopeo copy --all "docker:\/\/\$1" "docker:\/\/\$2"/);
        assert.doesNotMatch(script, /password|--creds|PASSWORD/);
        // Exactly the mirrored images, fully qualified, each to the target the cluster pulls.
        const mirrored = rows.filter((row) => row[2] !== "built-by-herd").map((row) => row[1]).sort();
        assert.deepEqual(copies(script, MIRROR).map((c) => c[1]).sort(), mirrored);
        assert.ok(copies(script, MIRROR).some(([src]) => src === "docker.io/library/redis:7.4.11-bookworm"));
        assert.equal(spawnSync("sh", ["-n", path.join(out, "mirror-images.sh")]).status, 0, "the script parses");
    });
    it("the e2e stack's app images pinned by digest are copied to that digest; crane on request", async () => {
        const out = path.join(tempDir(), "out");
        const r = await run(["--stack", "onprem", "--config-file", "e2e/stack.yaml", "--mirror", MIRROR, "--tool", "crane", "--out", out]);
        assert.equal(r.status, 0, r.stderr);
        const script = fs.readFileSync(path.join(out, "mirror-images.sh"), "utf8");
        assert.match(script, /crane copy "\$1" "\$2"/);
        const d = "1".repeat(64);
        assert.ok(copies(script, MIRROR).some(([src, dst]) => src === `registry.e2e.invalid/herd/api@sha256:${d}` && dst === `${MIRROR}/herd/api@sha256:${d}`));
        assert.match(fs.readFileSync(path.join(out, "images.txt"), "utf8"), new RegExp(`registry\\.e2e\\.invalid/herd/api@sha256:${d}\\t${MIRROR.replace(/\./g, "\\.")}/herd/api@sha256:${d}\\tdigest\\t`));
    });
    it("a stack with the key set lists its own mirror; without one the script needs the mirror as its argument", async () => {
        const file = writeStackFile({ "herd:platform": "onprem", "herd:storageClass": "fast", "herd:registry": "registry.example.com:5000/herd", "herd:imageRegistryMirror": MIRROR });
        const withKey = path.join(tempDir(), "with");
        assert.equal((await run(["--stack", "test", "--config-file", file, "--out", withKey])).status, 0);
        const keyed = fs.readFileSync(path.join(withKey, "mirror-images.sh"), "utf8");
        assert.match(keyed, new RegExp(`^MIRROR="\\$\\{1:-${MIRROR.replace(/\./g, "\\.")}\\}"$`, "m"));
        // herd builds and pushes api, frontend and postgres to herd:registry: not copied.
        assert.ok(copies(keyed, MIRROR).every(([src]) => !src.startsWith("registry.example.com:5000/")));

        const bare = path.join(tempDir(), "bare");
        assert.equal((await run(["--stack", "onprem", "--out", bare])).status, 0);
        const script = fs.readFileSync(path.join(bare, "mirror-images.sh"), "utf8");
        assert.match(script, /^MIRROR="\$\{1:\?usage: mirror-images\.sh <mirror/m);
        assert.ok(copies(script, "M").some(([src, dst]) => src === "docker.io/library/redis:7.4.11-bookworm" && dst === "M/library/redis:7.4.11-bookworm"));
        // Run for real without an argument: it stops before copying anything.
        const noArg = spawnSync("sh", [path.join(bare, "mirror-images.sh")], { encoding: "utf8" });
        assert.notEqual(noArg.status, 0);
        assert.match(noArg.stderr, /usage: mirror-images\.sh <mirror/);
        // And where the tool is missing, it says so (exit 127) before copying anything.
        const noTool = spawnSync("/bin/sh", [path.join(bare, "mirror-images.sh"), MIRROR], { encoding: "utf8", env: { PATH: "/nonexistent" } });
        assert.equal(noTool.status, 127);
        assert.match(noTool.stderr, /mirror-images\.sh: skopeo is not installed/);
    });
});
