/**
 * `npm run support-bundle`: what it collects on recorded kubectl outputs (events, pods, workloads, claims, every
 * container's logs and the previous run's), that no value of any Secret in the namespace survives into any file
 * (decoded, base64, a line of a multi-line value), that a missing namespace or unreadable Secrets stop it before
 * anything is written, that the archive is a real .tar.gz (read back with the system's tar) listing itself in
 * MANIFEST.txt, and the command's usage errors.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { PreflightTarget } from "../scripts/preflight/checks";
import type { Kube, KubeResult } from "../scripts/preflight/kube";
import { leaks, redact, REDACTED, secretValues } from "../scripts/preflight/redact";
import type { PreflightReport } from "../scripts/preflight/report";
import { splitName, tarGz } from "../scripts/preflight/tar";
import { CliError } from "../scripts/cli";
import { Bundle, collectBundle, DEFAULT_TAIL, writeArchive } from "../scripts/support-bundle";
import { runScript, tempDir } from "./helpers";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const PASSWORD = "pg-Passw0rd-7f3a9c";
const PEM = ["-----BEGIN PRIVATE KEY-----", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", "-----END PRIVATE KEY-----", ""].join("\n");
const SECRETS: { items: { metadata: { name: string }; type: string; data: Record<string, string> }[] } = {
    items: [
        { metadata: { name: "postgres-credentials" }, type: "Opaque", data: { username: b64("herd_app"), database: b64("herd"), password: b64(PASSWORD), port: b64("5432"), on: b64("1") } },
        { metadata: { name: "elastic-transport" }, type: "kubernetes.io/tls", data: { "tls.key": b64(PEM) } },
    ],
};
const TARGET: PreflightTarget = {
    stack: "onprem",
    namespace: "herd",
    storage: { mode: "existing", className: "fast" },
    repositoryStorageClass: undefined,
    ingressClass: undefined,
    registryHosts: [],
};
const PODS = {
    items: [
        {
            metadata: { name: "postgres-0" },
            spec: { initContainers: [{ name: "init-perms" }], containers: [{ name: "postgres" }, { name: "exporter" }] },
            status: { containerStatuses: [{ name: "postgres", restartCount: 2 }, { name: "exporter", restartCount: 0 }] },
        },
        { metadata: { name: "api-5d9f-abc" }, spec: { containers: [{ name: "api" }] }, status: { containerStatuses: [{ name: "api", restartCount: 0 }] } },
    ],
};
const REPORT: PreflightReport = { stack: "onprem", namespace: "herd", cluster: "recorded", checks: [{ id: "kubernetes-version", title: "Kubernetes version", status: "pass", detail: "v1.34.4" }], blockers: 0, warnings: 0 };

/** A cluster whose namespace holds the Secrets and pods above; every log line leaks a secret, as a careless app might. */
function cluster(overrides: Record<string, KubeResult> = {}): Kube & { calls: string[] } {
    const calls: string[] = [];
    const ok = (stdout: string): KubeResult => ({ status: 0, stdout, stderr: "" });
    return {
        calls,
        describe: "recorded outputs",
        run(args) {
            const key = args.join(" ");
            calls.push(key);
            if (key in overrides) {
                return overrides[key];
            }
            if (key === "get namespace herd -o json") return ok(JSON.stringify({ metadata: { name: "herd" } }));
            if (key === "-n herd get secrets -o json") return ok(JSON.stringify(SECRETS));
            if (key === "-n herd get pods -o json") return ok(JSON.stringify(PODS));
            if (key.startsWith("-n herd get events --sort-by")) return ok("LAST SEEN   TYPE      REASON    OBJECT           MESSAGE\n2m          Warning   BackOff   pod/postgres-0   Back-off restarting failed container postgres\n");
            if (key.startsWith("-n herd get persistentvolumeclaims -o wide")) return { status: 0, stdout: "", stderr: "No resources found in herd namespace.\n" };
            if (key.startsWith("-n herd get pods -o yaml")) return ok(`items:\n- metadata: {name: postgres-0}\n  spec: {containers: [{env: [{name: DEBUG_PASSWORD, value: ${PASSWORD}}]}]}\n`);
            if (key.startsWith("-n herd logs ")) {
                const [, , , pod, , container] = args;
                if (key.endsWith("--previous")) return ok(`2026-11-30T10:00:00Z ${pod}/${container} previous run: FATAL password ${PASSWORD} rejected\n`);
                if (pod === "api-5d9f-abc") return { status: 1, stdout: "", stderr: `Error from server (BadRequest): container "api" in pod "api-5d9f-abc" is waiting to start: ContainerCreating\n` };
                return ok(`2026-11-30T10:00:01Z ${pod}/${container} started; key follows\n${PEM}`);
            }
            if (key.startsWith("-n herd get ") || key.startsWith("-n herd describe ")) return ok(`${key}: output with ${b64(PASSWORD)} inside\n`);
            throw new Error(`unexpected kubectl call: ${key}`);
        },
    };
}

async function collect(kube: Kube = cluster(), tail?: number): Promise<Bundle> {
    return collectBundle({ kube, target: TARGET, tail, preflight: async () => REPORT, now: new Date("2026-11-30T12:00:00Z"), herdVersion: "herd 0.1.0, commit abc123" });
}
const byName = (b: Bundle) => new Map(b.files.map((f) => [f.name.slice(b.top.length + 1), f.content]));

describe("support bundle: redaction", () => {
    it("searches for every Secret value decoded, in base64, and each long line of a multi-line value", () => {
        const s = secretValues(SECRETS);
        assert.ok(s.needles.includes(PASSWORD));
        assert.ok(s.needles.includes(b64(PASSWORD)));
        assert.ok(s.needles.includes("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"));
        assert.ok(s.needles.includes("5432"));
        assert.equal(s.values, 6);
        assert.equal(s.tooShort, 1, "a one-character value is not searched for (it would match everywhere)");
        assert.deepEqual(s.summary, ["postgres-credentials\tOpaque\tkeys: username, database, password, port, on", "elastic-transport\tkubernetes.io/tls\tkeys: tls.key"]);
    });
    it("keeps account and database names in clear (herd writes them into pod specs; \"herd\" is also the namespace)", () => {
        const s = secretValues(SECRETS);
        assert.equal(s.clear, 2);
        assert.ok(!s.needles.includes("herd_app") && !s.needles.includes("herd"));
    });
    it("replaces the longest value first, so no part of a secret remains", () => {
        const r = redact("a=secret-long-value b=secret", ["secret-long-value", "secret"].sort((x, y) => y.length - x.length));
        assert.equal(r.text, `a=${REDACTED} b=${REDACTED}`);
        assert.equal(r.replaced, 2);
        assert.deepEqual(leaks({ f: r.text }, ["secret"]), []);
    });
});

describe("support bundle: what it collects", () => {
    it("events, pods, workloads, claims, Secret names, the preflight report, and every container's log (previous runs too)", async () => {
        const b = await collect();
        const files = byName(b);
        assert.equal(b.top, "herd-support-onprem-20261130T120000Z");
        for (const f of ["MANIFEST.txt", "events.txt", "events.yaml", "pods.txt", "pods.yaml", "describe-pods.txt", "workloads.txt", "workloads.yaml", "pvcs.txt", "pvcs.yaml", "secrets.txt", "preflight.txt"]) {
            assert.ok(files.has(f), `${f} is in the bundle`);
        }
        assert.deepEqual([...files.keys()].filter((f) => f.startsWith("logs/")).sort(), [
            "logs/api-5d9f-abc/api.log",
            "logs/postgres-0/exporter.log",
            "logs/postgres-0/init-perms.log",
            "logs/postgres-0/postgres.log",
            "logs/postgres-0/postgres.previous.log",
        ]);
        assert.match(files.get("events.txt") ?? "", /BackOff +pod\/postgres-0/);
        assert.match(files.get("logs/postgres-0/postgres.previous.log") ?? "", /previous run: FATAL password \[REDACTED\] rejected/);
        assert.match(files.get("logs/api-5d9f-abc/api.log") ?? "", /^\(no log: kubectl logs answered: .*waiting to start/);
        assert.equal(files.get("pvcs.txt"), "No resources found in herd namespace.\n", "kubectl's words, not an empty file");
        assert.match(files.get("preflight.txt") ?? "", /Kubernetes version +PASS +v1\.34\.4/);
        assert.match(files.get("secrets.txt") ?? "", /postgres-credentials\tOpaque\tkeys: username, database, password, port, on/);
        assert.equal(b.containers, 4);
    });
    it("asks for the last --tail lines with timestamps; the default is 2000", async () => {
        const kube = cluster();
        await collect(kube);
        assert.ok(kube.calls.includes(`-n herd logs postgres-0 -c postgres --tail=${DEFAULT_TAIL} --timestamps`));
        assert.ok(kube.calls.includes(`-n herd logs postgres-0 -c postgres --tail=${DEFAULT_TAIL} --timestamps --previous`));
        assert.ok(!kube.calls.includes(`-n herd logs postgres-0 -c exporter --tail=${DEFAULT_TAIL} --timestamps --previous`), "no previous log for a container that never restarted");
        const small = cluster();
        await collect(small, 50);
        assert.ok(small.calls.includes("-n herd logs api-5d9f-abc -c api --tail=50 --timestamps"));
    });
    it("no Secret value in any file, in any form; MANIFEST.txt says how many were replaced and lists every file", async () => {
        const b = await collect();
        const needles = [PASSWORD, b64(PASSWORD), "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", b64(PEM)];
        for (const f of b.files) {
            for (const n of needles) {
                assert.ok(!f.content.includes(n), `${f.name} holds a secret value`);
            }
        }
        const files = byName(b);
        assert.match(files.get("pods.yaml") ?? "", /value: \[REDACTED\]/);
        const manifest = files.get("MANIFEST.txt") ?? "";
        assert.match(manifest, /^herd support bundle: stack onprem, namespace herd\n/, "the namespace's name is not a secret");
        assert.match(manifest, /herd 0\.1\.0, commit abc123/);
        assert.match(manifest, /every value of the 2 Secret\(s\) in herd \(6 values\) replaced by \[REDACTED\], \d+ time\(s\) in all; kept in clear: 2 value\(s\) of the keys username and database \(account and database names, as in herd's pod specs\); 1 value\(s\) shorter than 4 characters were not searched for/);
        for (const name of files.keys()) {
            if (name !== "MANIFEST.txt") {
                assert.match(manifest, new RegExp(`^  ${name.replace(/[.]/g, "\\.")} `, "m"), `MANIFEST.txt lists ${name}`);
            }
        }
        assert.ok(b.replaced >= 8);
    });
    it("refuses, naming the namespace, when it does not exist", async () => {
        const kube = cluster({ "get namespace herd -o json": { status: 1, stdout: "", stderr: 'Error from server (NotFound): namespaces "herd" not found\n' } });
        await assert.rejects(collect(kube), (err: Error) => err instanceof CliError && /^namespace herd \(herd:namespace of stack onprem\) does not exist on the cluster .*nothing to collect/.test(err.message));
        assert.equal(kube.calls.length, 1, "nothing else was read");
    });
    it("refuses when the Secrets cannot be read (it could not redact them)", async () => {
        const kube = cluster({ "-n herd get secrets -o json": { status: 1, stdout: "", stderr: 'Error from server (Forbidden): secrets is forbidden: User "bob" cannot list resource "secrets"\n' } });
        await assert.rejects(collect(kube), /cannot read the Secrets in herd .*the bundle redacts their values, so it needs them/);
    });
});

describe("support bundle: the archive", () => {
    const hasTar = spawnSync("tar", ["--version"]).status === 0;
    const skip = !hasTar && process.env["CI"] !== "true" ? "tar is not installed" : false;
    it("is a .tar.gz the system's tar reads back, file for file", { skip }, async () => {
        assert.ok(hasTar, "tar is not installed; CI=true: a missing binary fails instead of skipping");
        const b = await collect();
        const dir = tempDir();
        const file = path.join(dir, "out", "bundle.tar.gz");
        writeArchive(file, b, new Date("2026-11-30T12:00:00Z"));
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        const list = spawnSync("tar", ["-tzf", file], { encoding: "utf8" });
        assert.equal(list.status, 0, list.stderr);
        assert.deepEqual(list.stdout.trim().split("\n").sort(), b.files.map((f) => f.name).sort());
        const x = spawnSync("tar", ["-xzf", file, "-C", dir], { encoding: "utf8" });
        assert.equal(x.status, 0, x.stderr);
        for (const f of b.files) {
            assert.equal(fs.readFileSync(path.join(dir, f.name), "utf8"), f.content);
        }
        assert.deepEqual(fs.readdirSync(path.join(dir, "out")), ["bundle.tar.gz"], "no temporary file left");
    });
    it("keeps names longer than 100 bytes (ustar prefix)", { skip }, () => {
        const long = `herd-support-x/logs/${"p".repeat(63)}/${"c".repeat(63)}.previous.log`;
        assert.ok(long.length > 100);
        const split = splitName(long);
        assert.ok(split.name.length <= 100 && split.prefix.length <= 155);
        const dir = tempDir();
        const file = path.join(dir, "long.tar.gz");
        fs.writeFileSync(file, tarGz([{ name: long, content: "x\n" }], new Date()));
        assert.equal(spawnSync("tar", ["-tzf", file], { encoding: "utf8" }).stdout.trim(), long);
    });
    it("refuses an --out that is a directory", async () => {
        const b = await collect();
        const dir = tempDir();
        assert.throws(() => writeArchive(dir, b, new Date()), /is a directory; name the archive file/);
    });
});

describe("npm run support-bundle (the command)", () => {
    it("--help prints the usage, exit 0", () => {
        const r = runScript("support-bundle", ["--help"]);
        assert.equal(r.status, 0);
        assert.match(r.stdout, /^usage: npm run --silent support-bundle -- --stack <name>/);
        assert.match(r.stdout, /replaced by \[REDACTED\] before anything is written/);
    });
    it("bad usage: a missing --stack, an unknown flag, a --tail that is not a count, an --out that is not .tar.gz (exit 2)", () => {
        assert.match(runScript("support-bundle", []).stderr, /^--stack is required/);
        const flag = runScript("support-bundle", ["--stack", "onprem", "--since", "1h"]);
        assert.equal(flag.status, 2);
        const tail = runScript("support-bundle", ["--stack", "onprem", "--tail", "0"]);
        assert.equal(tail.status, 2);
        assert.match(tail.stderr, /^--tail: expected a whole number of log lines from 1 to 9999999, got "0"/);
        const out = runScript("support-bundle", ["--stack", "onprem", "--out", "bundle.zip"]);
        assert.equal(out.status, 2);
        assert.match(out.stderr, /^--out: expected a file name ending in \.tar\.gz or \.tgz, got bundle\.zip/);
    });
    it("an unknown stack: one line naming the stacks there are, exit 1, nothing written", () => {
        const dir = tempDir();
        const r = runScript("support-bundle", ["--stack", "nope", "--out", path.join(dir, "b.tar.gz")]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^stack nope: no stack file for stack 'nope'.*the stacks here are: aws, gcp, onprem\n$/);
        assert.deepEqual(fs.readdirSync(dir), []);
    });
});
