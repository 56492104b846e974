/**
 * `npm run handoff`: the bundle a customer's operator is handed. It must never carry a secret, whatever the source
 * of the outputs (offline evaluation, a recorded `pulumi stack output --json`, the Pulumi CLI, an export made with
 * --show-secrets), and its runbook must tell the operator how to reach every credential and how to restore. The
 * command runs in-process, and as a process of its own where the CLI is the point.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { markComputed } from "../offline/mocks";
import { buildHandoff, findLeaks, looksLikeCredential, REDACTED, sanitizeOutputs } from "../scripts/handoff";
import { evaluateStack } from "../offline/evaluate";
import { DEFAULT_OFFLINE_SECRET, OFFLINE_SECRETS } from "../offline/stack-config";
import { CommandResult, MINIMAL_ONPREM, PROJECT_DIR, runCommand, runScript, tempDir, writeStackFile } from "./helpers";

const FIXTURE = path.join(PROJECT_DIR, "tests", "fixtures", "handoff", "aws-stack-output.json");
const STACKS = fs
    .readdirSync(PROJECT_DIR)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();

/** Built at run time, so no credential-shaped literal sits in the repository. */
const PEM_HEADER = `-----BEGIN ${"RSA"} PRIVATE KEY-----`;
const FAKE_TOKEN = "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eQ";
const FAKE_KEY_DATA = Buffer.from(`${PEM_HEADER}\nMIIEowIBAAKCAQEAherdtestonlynotakey\n-----END RSA PRIVATE KEY-----\n`).toString("base64");

/** Every file of a bundle, by name. */
function readBundle(dir: string): Record<string, string> {
    return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
}

/** Asserts that no file holds a secret: the stack's own secret values, private keys, kubeconfig credentials. */
function assertNoSecret(files: Record<string, string>, secretValues: readonly string[], what: string): void {
    const needles = [
        ...secretValues.filter((s) => s.length >= 6),
        DEFAULT_OFFLINE_SECRET,
        ...Object.values(OFFLINE_SECRETS),
        "offline-token-not-a-credential",
        "BEGIN RSA PRIVATE KEY",
        "PRIVATE KEY-----",
        "client-key-data",
        "client-certificate-data",
        "certificate-authority-data",
        "get-token",
        FAKE_TOKEN,
        FAKE_KEY_DATA,
    ];
    for (const [name, text] of Object.entries(files)) {
        for (const needle of needles) {
            assert.ok(!text.includes(needle), `${what}: ${name} holds a secret (${needle.length} chars starting ${JSON.stringify(needle.slice(0, 6))})`);
        }
        assert.doesNotMatch(text, /\bkind:\s*Config\b|"kind"\s*:\s*"Config"/, `${what}: ${name} holds a kubeconfig`);
    }
}

function assertRunbook(runbook: string, outputs: Record<string, unknown>, stack: string): void {
    const data = outputs["data"] as Record<string, Record<string, unknown>>;
    const app = outputs["app"] as Record<string, unknown>;
    const ns = String(app["namespace"]);
    for (const section of ["## 1. Connect to the cluster", "## 2. Endpoints", "## 3. Credentials", "## 4. Backups and restore", "## 5. Scaling", "## 6. Upgrades", "## 7. When something fails"]) {
        assert.ok(runbook.includes(section), `${stack}: runbook has "${section}"`);
    }
    // Every data service's Secret, with the command that reads its password (never the value).
    for (const service of ["postgres", "redis", "elasticsearch"]) {
        const { secretName, passwordKey } = data[service];
        assert.ok(
            runbook.includes(`kubectl -n ${ns} get secret ${String(secretName)} -o jsonpath='{.data.${String(passwordKey)}}' | base64 -d`),
            `${stack}: runbook shows how to read ${service}'s password from ${String(secretName)}`,
        );
    }
    assert.match(runbook, new RegExp(`\\./restore-postgres\\.sh --namespace ${ns} --name postgres \\S+\\.dump`), `${stack}: the restore command`);
    assert.ok(runbook.includes(String(app["url"])), `${stack}: the app's URL`);
    assert.ok(runbook.includes(String(app["apiInternalUrl"])), `${stack}: the API's in-cluster URL`);
    assert.ok(runbook.includes(`${ns} get cronjob postgres-backup`), `${stack}: the backup CronJob's history`);
    for (const key of ["herd:apiReplicas", "herd:apiMaxReplicas", "herd:frontendReplicas", "herd:elasticReplicas"]) {
        assert.ok(runbook.includes(key), `${stack}: scaling names ${key}`);
    }
    for (const check of ["get pods", "get events", "describe pvc", "get networkpolicy", "--previous", "Readiness probe failed"]) {
        assert.ok(runbook.includes(check), `${stack}: troubleshooting covers ${check}`);
    }
    assert.ok(runbook.includes("patch pvc data-postgres-0"), `${stack}: the volume resize path`);
}

function assertGroupedOutputs(outputs: Record<string, unknown>, stack: string): void {
    for (const group of ["platform", "app", "images", "data"]) {
        assert.equal(typeof outputs[group], "object", `${stack}: outputs.json has ${group}`);
    }
    assert.deepEqual(Object.keys(outputs["data"] as object).sort(), ["elasticsearch", "postgres", "redis"]);
}

describe("the handoff command", () => {
    for (const stack of STACKS) {
        it(`builds ${stack}'s bundle offline, with no secret in any file`, async () => {
            const evaluation = await evaluateStack({ stack });
            const out = path.join(tempDir(), stack);
            const result = await buildHandoff({ stack, out, offline: true, now: new Date("2026-11-27T12:00:00Z") });
            assert.deepEqual(fs.readdirSync(out).sort(), ["RUNBOOK.md", "images.txt", "manifests.yaml", "mirror-images.sh", "outputs.json", "restore-postgres.sh"]);
            assert.deepEqual(result.redacted, [], "the harness had already redacted every secret");

            const files = readBundle(out);
            assertNoSecret(files, evaluation.secretValues, stack);

            const outputs = JSON.parse(files["outputs.json"]) as Record<string, unknown>;
            assert.deepEqual(outputs, JSON.parse(markComputed(JSON.stringify(evaluation.outputs))), "outputs.json is the stack's outputs, as redacted");
            // Offline, what only `pulumi up` can know is a placeholder, never a made-up value that looks real.
            assert.doesNotMatch(files["outputs.json"], /sha256:[0-9a-f]{64}|\b203\.0\.113\.|elb\.amazonaws\.com|\b123456789012\b/, `${stack}: no made-up value`);
            assert.match(JSON.stringify(outputs["images"]), /@<computed:digest-of-api:h-[0-9a-f]{16}>/, `${stack}: image digests are placeholders`);
            assert.match(files["manifests.yaml"], /^# herd: Kubernetes objects of stack /, `${stack}: manifests.yaml says it was rendered offline`);
            assertGroupedOutputs(outputs, stack);
            const platform = outputs["platform"] as Record<string, unknown>;
            if (platform["platform"] === "aws" || platform["platform"] === "gcp") {
                assert.equal(platform["kubeconfig"], REDACTED);
            }

            assertRunbook(files["RUNBOOK.md"], outputs, stack);
            assert.match(files["RUNBOOK.md"], /\*\*Built offline\.\*\*/);
            assert.match(files["RUNBOOK.md"], /Generated 2026-11-27T12:00:00Z from the program and Pulumi\.\w+\.yaml, evaluated offline/);
            assert.match(files["manifests.yaml"], /kind: StatefulSet/);
            assert.equal(files["restore-postgres.sh"], fs.readFileSync(path.join(PROJECT_DIR, "scripts", "restore-postgres.sh"), "utf8"));
            assert.equal(fs.statSync(path.join(out, "restore-postgres.sh")).mode & 0o111, 0o111, "the script is executable");

            if (platform["platform"] === "aws") {
                assert.ok(files["RUNBOOK.md"].includes(`aws s3 ls s3://${String(platform["backupBucket"])}/postgres/herd/postgres/`));
                assert.ok(files["RUNBOOK.md"].includes(`aws eks update-kubeconfig --region ${String(platform["region"])} --name ${String(platform["clusterName"])}`));
            }
            if (platform["platform"] === "gcp") {
                assert.ok(files["RUNBOOK.md"].includes(`gcloud storage ls gs://${String(platform["backupBucket"])}/postgres/herd/postgres/`));
            }
        });
    }

    it("works as a command (its own process): handoff --stack aws --out <dir> --offline", () => {
        const out = path.join(tempDir(), "cli");
        const r = runScript("handoff", ["--stack", "aws", "--out", out, "--offline"]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /herd handoff --stack aws: outputs\.json, RUNBOOK\.md, restore-postgres\.sh, manifests\.yaml, images\.txt, mirror-images\.sh ->/);
        assertNoSecret(readBundle(out), [], "cli");
    });

    it("builds a bundle from a recorded `pulumi stack output --json` (--outputs-file), with no secret", async () => {
        const out = path.join(tempDir(), "recorded");
        const result = await buildHandoff({ stack: "aws", out, outputsFile: FIXTURE });
        // aws applies to a cluster rather than rendering files: the cluster, not a rendering, is the reference.
        assert.deepEqual(fs.readdirSync(out).sort(), ["RUNBOOK.md", "images.txt", "mirror-images.sh", "outputs.json", "restore-postgres.sh"]);
        assert.deepEqual(result.redacted, []);
        const files = readBundle(out);
        assertNoSecret(files, [], "recorded");
        const fixture = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Record<string, unknown>;
        assert.deepEqual(JSON.parse(files["outputs.json"]), fixture);
        assertGroupedOutputs(fixture, "recorded");
        assertRunbook(files["RUNBOOK.md"], fixture, "recorded");
        assert.doesNotMatch(files["RUNBOOK.md"], /Built offline/);
        assert.match(files["RUNBOOK.md"], /from the outputs file aws-stack-output\.json/);
        assert.ok(files["RUNBOOK.md"].includes("aws s3 ls s3://herd-aws-backups-20261127101455123400000001/postgres/herd/postgres/"));
    });

    it("an outputs file exported with --show-secrets: the credentials are replaced and the operator is warned", async () => {
        const fixture = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Record<string, Record<string, unknown>>;
        const kubeconfig = [
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- name: herd-aws",
            "  cluster: {server: 'https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com', certificate-authority-data: Q0EK}",
            "users:",
            "- name: admin",
            `  user: {token: ${FAKE_TOKEN}, client-key-data: ${FAKE_KEY_DATA}}`,
            "",
        ].join("\n");
        fixture["platform"]["kubeconfig"] = kubeconfig;
        fixture["platform"]["registryPassword"] = FAKE_TOKEN;
        fixture["platform"]["signingKey"] = `${PEM_HEADER}\nMIIEherd\n-----END RSA PRIVATE KEY-----\n`;
        const file = path.join(tempDir(), "clear.json");
        fs.writeFileSync(file, JSON.stringify(fixture));

        const out = path.join(tempDir(), "clear");
        const r = await runCommand("handoff", ["--stack", "aws", "--out", out, "--outputs-file", file]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /warning: the outputs held 3 value\(s\) in clear \(platform\.kubeconfig, platform\.registryPassword, platform\.signingKey\)/);
        assert.doesNotMatch(r.stderr, new RegExp(FAKE_TOKEN), "the warning names the fields, never the values");
        const files = readBundle(out);
        assertNoSecret(files, [kubeconfig, FAKE_TOKEN], "show-secrets export");
        const platform = (JSON.parse(files["outputs.json"]) as Record<string, Record<string, unknown>>)["platform"];
        assert.equal(platform["kubeconfig"], REDACTED);
        assert.equal(platform["registryPassword"], REDACTED);
        assert.equal(platform["signingKey"], REDACTED);
        assert.equal(platform["clusterName"], "herd-aws", "everything else is kept");
    });

    it("with a Pulumi CLI on PATH: runs `pulumi stack output --json --stack <name>`, never with --show-secrets; --offline skips it", async () => {
        const bin = tempDir();
        const calls = path.join(bin, "calls.txt");
        fs.writeFileSync(
            path.join(bin, "pulumi"),
            ["#!/bin/sh", `printf '%s\\n' "$*" >> '${calls}'`, `cat '${FIXTURE}'`, ""].join("\n"),
            { mode: 0o755 },
        );
        // In-process: the fake CLI is first on this process's PATH for the duration of each call.
        const run = async (args: string[]): Promise<CommandResult> => {
            const saved = process.env["PATH"] ?? "";
            process.env["PATH"] = `${bin}${path.delimiter}${saved}`;
            try {
                return await runCommand("handoff", args);
            } finally {
                process.env["PATH"] = saved;
            }
        };

        const out = path.join(tempDir(), "from-cli");
        const r = await run(["--stack", "aws", "--out", out]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(fs.readFileSync(calls, "utf8"), "stack output --json --stack aws\n");
        const files = readBundle(out);
        assertNoSecret(files, [], "from the CLI");
        assert.match(files["RUNBOOK.md"], /from `pulumi stack output --json --stack aws`/);
        assert.deepEqual(JSON.parse(files["outputs.json"]), JSON.parse(fs.readFileSync(FIXTURE, "utf8")));

        const offline = await run(["--stack", "onprem", "--out", path.join(tempDir(), "offline"), "--offline"]);
        assert.equal(offline.status, 0, offline.stderr);
        assert.equal(fs.readFileSync(calls, "utf8"), "stack output --json --stack aws\n", "--offline never calls the CLI");
    });

    it("a stack that renders YAML (herd:renderDirectory) gets the manifests and the apply order, whatever the source", async () => {
        const configFile = writeStackFile({
            ...MINIMAL_ONPREM,
            "herd:renderDirectory": "out/herd-yaml",
            "herd:apiImage": `r.example.com/api@sha256:${"a".repeat(64)}`,
            "herd:frontendImage": `r.example.com/frontend@sha256:${"b".repeat(64)}`,
            "herd:postgresImage": `r.example.com/postgres@sha256:${"c".repeat(64)}`,
        });
        const offline = path.join(tempDir(), "render-offline");
        await buildHandoff({ stack: "render", configFile, out: offline, offline: true });
        // The same stack's outputs as the CLI would give them (recorded from the offline bundle).
        const out = path.join(tempDir(), "render");
        const result = await buildHandoff({ stack: "render", configFile, out, outputsFile: path.join(offline, "outputs.json") });
        assert.deepEqual(fs.readdirSync(out).sort(), ["RUNBOOK.md", "images.txt", "manifests.yaml", "mirror-images.sh", "outputs.json", "restore-postgres.sh"]);
        assert.match(result.notes.join("\n"), /manifests\.yaml was rendered offline/);
        const files = readBundle(out);
        assertNoSecret(files, [], "render");
        assert.ok(files["RUNBOOK.md"].includes("kubectl apply -R -f out/herd-yaml\n  kubectl apply -R -f out/herd-yaml.secrets"));
        assert.match(files["RUNBOOK.md"], /This stack deploys prebuilt images pinned by digest/);
        assert.match(files["manifests.yaml"], /kind: Secret[\s\S]*<redacted>/);
    });

    it("errors: usage exits 2 (its own process); an unreadable outputs file exits 1 and writes nothing", async () => {
        assert.equal(runScript("handoff", ["--stack", "aws"]).status, 2);
        const out = path.join(tempDir(), "none");
        const r = await runCommand("handoff", ["--stack", "aws", "--out", out, "--outputs-file", path.join(out, "missing.json")]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /cannot read --outputs-file .*missing\.json: ENOENT/);
        assert.equal(fs.existsSync(out), false);
    });
});

describe("keeping secrets out of the bundle", () => {
    it("replaces credential fields and credential-shaped text, and keeps the names of secrets", () => {
        const { value, redacted } = sanitizeOutputs({
            platform: { kubeconfig: "apiVersion: v1\nkind: Config\nusers: []\n", clusterName: "c" },
            data: { postgres: { secretName: "postgres-credentials", passwordKey: "password", password: "hunter22", apiToken: "t0ken" } },
            backupCredentialsSecret: "herd-backup-s3",
            tls: [{ key: `${PEM_HEADER}\nabc\n` }],
            masked: REDACTED,
            empty: { token: "" },
        });
        assert.deepEqual(value, {
            platform: { kubeconfig: REDACTED, clusterName: "c" },
            data: { postgres: { secretName: "postgres-credentials", passwordKey: "password", password: REDACTED, apiToken: REDACTED } },
            backupCredentialsSecret: "herd-backup-s3",
            tls: [{ key: REDACTED }],
            masked: REDACTED,
            empty: { token: "" },
        });
        assert.deepEqual(redacted, ["platform.kubeconfig", "data.postgres.password", "data.postgres.apiToken", "tls[0].key"]);
    });

    it("knows a credential when it sees one", () => {
        assert.equal(looksLikeCredential(`${PEM_HEADER}\n`), true);
        assert.equal(looksLikeCredential("apiVersion: v1\nkind: Config\nusers:\n- name: x\n"), true);
        assert.equal(looksLikeCredential("http://api.herd.svc.cluster.local:8000"), false);
        assert.equal(looksLikeCredential("kind: ConfigMap"), false);
    });

    it("refuses a bundle that holds a secret value", () => {
        assert.deepEqual(findLeaks({ "a.md": "fine", "b.json": "the password is s3cr3t-value" }, ["s3cr3t-value"]), ["b.json: contains a secret value of the stack"]);
        assert.deepEqual(findLeaks({ "c.yaml": PEM_HEADER }, []), ["c.yaml: contains a private key"]);
    });
});

describe("the images in the bundle (air-gapped installs, issue 16)", () => {
    it("images.txt and mirror-images.sh come from the program and stack file, even when the outputs come from a file", async () => {
        const file = writeStackFile({ ...MINIMAL_ONPREM, "herd:imageRegistryMirror": "registry.customer.internal:5000/mirror" });
        const out = path.join(tempDir(), "bundle");
        const result = await buildHandoff({ stack: "test", out, configFile: file, outputsFile: FIXTURE, now: new Date("2026-11-27T12:00:00Z") });
        assert.ok(result.files.includes("images.txt") && result.files.includes("mirror-images.sh"));
        const files = readBundle(out);
        assertNoSecret(files, [], "images");
        assert.match(files["images.txt"], /^redis:7\.4\.11-bookworm\tregistry\.customer\.internal:5000\/mirror\/library\/redis:7\.4\.11-bookworm\ttag-only\tStatefulSet herd\/redis redis$/m);
        assert.match(files["mirror-images.sh"], /^copy 'docker\.io\/library\/redis:7\.4\.11-bookworm' "\$MIRROR"\/'library\/redis:7\.4\.11-bookworm'$/m);
        assert.equal(fs.statSync(path.join(out, "mirror-images.sh")).mode & 0o777, 0o755);
    });
    it("a stack whose config cannot be read here: the bundle is written without them, and says why", async () => {
        const out = path.join(tempDir(), "bundle");
        const result = await buildHandoff({ stack: "not-here", out, outputsFile: FIXTURE, now: new Date("2026-11-27T12:00:00Z") });
        assert.ok(!result.files.includes("images.txt"));
        assert.ok(result.notes.some((n) => n.includes("images.txt and mirror-images.sh were left out")));
    });
});
