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
import {
    buildHandoff,
    CUSTOMER_PASSPHRASE_ENV,
    findLeaks,
    findPlaintextSecrets,
    looksLikeCredential,
    main as handoffMain,
    parseSecretsProvider,
    REDACTED,
    renderRunbook,
    sanitizeOutputs,
    secretsInConfig,
    secretsInExport,
    takeoverCommands,
    tryVendorPassphrase,
    USAGE,
} from "../scripts/handoff";
import { transferStack } from "../scripts/handoff/transfer";
import { runMain, type CliIo } from "../scripts/cli";
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { randomBytes } from "node:crypto";
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
        assert.ok(files["RUNBOOK.md"].includes("kubectl apply -R -f out/herd-yaml\n   kubectl apply -R -f out/herd-yaml.secrets"));
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

// ---------------------------------------------------------------------------------------------------------------
// --transfer (issue 18): the stack itself handed over, re-keyed for the customer on a copy.

/** The command in-process, with `env` as the environment its customer passphrase is read from. */
async function handoff(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
    let stdout = "";
    let stderr = "";
    const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) };
    const status = await runMain(USAGE, () => handoffMain(args, io, env), io);
    return { status, stdout, stderr };
}

describe("handoff --transfer: how it is called", () => {
    it("--help explains --transfer, the secrets provider and where the customer's passphrase comes from", async () => {
        const r = await handoff(["--transfer", "--help"]);
        assert.equal(r.status, 0);
        for (const text of ["--transfer", "--secrets-provider <p>", "awskms://", "hashivault://", "--customer-passphrase-file <path>", "$PULUMI_CONFIG_PASSPHRASE_CUSTOMER", "never taken from the command line"]) {
            assert.ok(r.stdout.includes(text), `the usage says ${text}`);
        }
    });

    it("without --out: exit 2 naming --out", async () => {
        const r = await handoff(["--stack", "onprem", "--transfer"], { [CUSTOMER_PASSPHRASE_ENV]: "customer passphrase" });
        assert.equal(r.status, 2);
        assert.match(r.stderr, /^--out is required\n/);
    });

    it("a passphrase on the command line is refused by name, and never echoed", async () => {
        for (const flag of ["--passphrase", "--customer-passphrase", "--vendor-passphrase"]) {
            for (const args of [[flag, "hunter2-on-argv"], [`${flag}=hunter2-on-argv`]]) {
                const r = await handoff(["--stack", "onprem", "--out", path.join(tempDir(), "b"), "--transfer", ...args]);
                assert.equal(r.status, 2, args.join(" "));
                assert.ok(r.stderr.startsWith(`${flag}: a passphrase is never taken from the command line`), r.stderr);
                assert.match(r.stderr, /set \$PULUMI_CONFIG_PASSPHRASE_CUSTOMER or give --customer-passphrase-file <path>/);
                assert.ok(!r.stderr.includes("hunter2-on-argv") && !r.stdout.includes("hunter2-on-argv"));
            }
        }
    });

    it("--secrets-provider: passphrase (the default) or a key URL Pulumi knows; anything else names what was given", async () => {
        assert.deepEqual(parseSecretsProvider(undefined), { kind: "passphrase" });
        assert.deepEqual(parseSecretsProvider("passphrase"), { kind: "passphrase" });
        for (const url of ["awskms://alias/herd?region=eu-west-1", "azurekeyvault://v.vault.azure.net/keys/k", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "hashivault://herd"]) {
            assert.equal(parseSecretsProvider(url).kind, "url", url);
        }
        const r = await handoff(["--stack", "onprem", "--out", path.join(tempDir(), "b"), "--transfer", "--secrets-provider", "s3://bucket/key"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /^--secrets-provider: expected "passphrase" or a key URL \(awskms:\/\/\.\.\., azurekeyvault:\/\/\.\.\., gcpkms:\/\/\.\.\., hashivault:\/\/\.\.\.\), got the scheme "s3" \("s3:\/\/bucket\/key"\)/);
        const word = await handoff(["--stack", "onprem", "--out", path.join(tempDir(), "b"), "--transfer", "--secrets-provider", "default"]);
        assert.equal(word.status, 2);
        assert.match(word.stderr, /got "default"/);
    });

    it("the customer's passphrase: from $PULUMI_CONFIG_PASSPHRASE_CUSTOMER or a file, one of them, not empty", async () => {
        const out = path.join(tempDir(), "b");
        const none = await handoff(["--stack", "onprem", "--out", out, "--transfer"]);
        assert.equal(none.status, 2);
        assert.match(none.stderr, /needs the customer's passphrase: set \$PULUMI_CONFIG_PASSPHRASE_CUSTOMER or give --customer-passphrase-file <path>/);

        const file = path.join(tempDir(), "phrase");
        fs.writeFileSync(file, "from the file\n");
        const both = await handoff(["--stack", "onprem", "--out", out, "--transfer", "--customer-passphrase-file", file], { [CUSTOMER_PASSPHRASE_ENV]: "x" });
        assert.equal(both.status, 2);
        assert.match(both.stderr, /given twice: --customer-passphrase-file and \$PULUMI_CONFIG_PASSPHRASE_CUSTOMER/);

        fs.writeFileSync(file, "\n");
        const empty = await handoff(["--stack", "onprem", "--out", out, "--transfer", "--customer-passphrase-file", file]);
        assert.equal(empty.status, 1);
        assert.match(empty.stderr, /--customer-passphrase-file .*phrase: expected the customer's passphrase, got an empty file/);

        const kms = await handoff(["--stack", "onprem", "--out", out, "--transfer", "--secrets-provider", "hashivault://herd", "--customer-passphrase-file", file]);
        assert.equal(kms.status, 2);
        assert.match(kms.stderr, /--customer-passphrase-file is for --secrets-provider passphrase, not hashivault:\/\/herd/);

        const stray = await handoff(["--stack", "onprem", "--out", out, "--secrets-provider", "passphrase"]);
        assert.equal(stray.status, 2);
        assert.match(stray.stderr, /--secrets-provider is only for --transfer/);
        assert.equal(fs.existsSync(out), false, "nothing written");
    });

    it("--transfer reads the deployed stack: no --offline or --outputs-file, and the Pulumi CLI must be on PATH", async () => {
        const env = { [CUSTOMER_PASSPHRASE_ENV]: "customer passphrase" };
        const out = path.join(tempDir(), "b");
        const offline = await handoff(["--stack", "onprem", "--out", out, "--transfer", "--offline"], env);
        assert.equal(offline.status, 1);
        assert.match(offline.stderr, /--transfer reads the deployed stack through the Pulumi CLI: it takes no --offline, --outputs-file or --config-file/);
        const saved = process.env["PATH"];
        process.env["PATH"] = tempDir();
        try {
            const r = await handoff(["--stack", "onprem", "--out", out, "--transfer"], env);
            assert.equal(r.status, 1);
            assert.match(r.stderr, /--transfer needs the Pulumi CLI: no `pulumi` on PATH/);
        } finally {
            process.env["PATH"] = saved;
        }
        assert.equal(fs.existsSync(out), false);
    });
});

describe("handoff --transfer: no secret in plaintext (a crafted export)", () => {
    const sig = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
    const exported = {
        version: 3,
        deployment: {
            resources: [
                { urn: "urn:pulumi:s::herd::random:index/randomPassword:RandomPassword::pg", outputs: { result: { ...sig, plaintext: JSON.stringify("pg-password-0123456789") }, length: 24 } },
                { urn: "urn:pulumi:s::herd::kubernetes:core/v1:Secret::redis", outputs: { data: { ...sig, plaintext: JSON.stringify({ password: "cmVkaXMtcGFzc3dvcmQ=", note: "redis-password-abcdef" }) } } },
                { urn: "urn:pulumi:s::herd::x:y:Z::short", outputs: { pin: { ...sig, plaintext: JSON.stringify("1234") } } },
                { urn: "urn:pulumi:s::herd::x:y:Z::plain", outputs: { host: "postgres.herd.svc" } },
            ],
        },
    };
    const config = { "herd:kubeconfig": { value: "apiVersion: v1\nkind: Config\nusers: [{token: kube-token-0123456789}]", secret: true }, "herd:namespace": { value: "herd", secret: false } };

    it("collects every secret of the export and the config: values inside objects too; nothing that is not secret", () => {
        const secrets = secretsInConfig(config, secretsInExport(exported));
        for (const s of ["pg-password-0123456789", "cmVkaXMtcGFzc3dvcmQ=", "redis-password-abcdef", "1234", config["herd:kubeconfig"].value]) {
            assert.ok(secrets.has(s), `collects ${s.slice(0, 12)}`);
        }
        assert.ok(!secrets.has("postgres.herd.svc") && !secrets.has("herd"));
    });

    it("finds a secret in any file, as is, base64 or JSON-escaped, names the file and never the value", () => {
        const secrets = secretsInConfig(config, secretsInExport(exported));
        const files = {
            "RUNBOOK.md": "nothing here: postgres.herd.svc, herd, 1234",
            "outputs.json": JSON.stringify({ kubeconfig: config["herd:kubeconfig"].value }),
            "state.json": `{"x": "${Buffer.from("redis-password-abcdef").toString("base64")}"}`,
            "Pulumi.s.yaml": "config:\n  herd:x: pg-password-0123456789\n",
        };
        const check = findPlaintextSecrets(files, secrets);
        assert.deepEqual(
            check.problems.map((p) => p.split(":")[0]),
            ["outputs.json", "state.json", "Pulumi.s.yaml"],
        );
        for (const p of check.problems) {
            for (const s of secrets) {
                assert.ok(s.length < 8 || !p.includes(s), "a problem never shows the value");
            }
        }
        assert.equal(check.tooShort, 1, "the 4-character secret is too short to search for, and counted");
        assert.deepEqual(findPlaintextSecrets({ "RUNBOOK.md": files["RUNBOOK.md"] }, secrets).problems, []);
    });
});

/**
 * The real Pulumi CLI: the one e2e builds (e2e/build-pulumi.sh caches it), HERD_E2E_PULUMI, or one on PATH. Skipped
 * without it locally; in CI (CI=true) a missing binary fails.
 */
function findPulumi(): string | undefined {
    const cache = process.env["HERD_E2E_CACHE"] ?? path.join(os.homedir(), ".cache", "herd-e2e");
    const candidates = [process.env["HERD_E2E_PULUMI"], path.join(cache, "bin-3.248.0", "pulumi"), path.join(cache, "pulumi-3.248.0", "pulumi")];
    for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
        candidates.push(dir === "" ? undefined : path.join(dir, "pulumi"));
    }
    return candidates.find((c): c is string => c !== undefined && fs.existsSync(c));
}
const PULUMI = findPulumi();
const NEEDS_PULUMI = { skip: PULUMI === undefined && process.env["CI"] !== "true" ? "no pulumi binary (npm run e2e builds one; or set HERD_E2E_PULUMI)" : false } as const;

/** A vendor's stack in a temp file backend with passphrase A: a secret in its config and one in its state. */
function vendorStack(): { dir: string; project: string; env: NodeJS.ProcessEnv; stateSecret: string; configSecret: string } {
    assert.ok(PULUMI !== undefined, "a pulumi binary (CI=true: it must be there)");
    const dir = tempDir("herd-vendor-");
    const project = path.join(dir, "project");
    fs.mkdirSync(project);
    fs.mkdirSync(path.join(dir, "state"));
    fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    const env: NodeJS.ProcessEnv = {
        PATH: process.env["PATH"],
        HOME: process.env["HOME"],
        PULUMI_HOME: path.join(dir, "home"),
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: `vendor-${randomBytes(12).toString("hex")}`,
        PULUMI_SKIP_UPDATE_CHECK: "true",
    };
    const run = (args: string[], input = "") => {
        const r = spawnSync(PULUMI, [...args, "--non-interactive"], { cwd: project, env, encoding: "utf8", input });
        assert.equal(r.status, 0, `pulumi ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
    };
    const stateSecret = `state-secret-${randomBytes(12).toString("hex")}`;
    const configSecret = `config-secret-${randomBytes(12).toString("hex")}`;
    run(["stack", "init", "v", "--secrets-provider", "passphrase"]);
    run(["config", "set", "--stack", "v", "herd:platform", "onprem"]);
    // The stack's own key encrypts config and state alike: a secure config value (a JSON string) is a valid state secret.
    run(["config", "set", "--secret", "--stack", "v", "herd:kubeconfig", JSON.stringify(stateSecret)]);
    const ciphertext = /secure: (\S+)/.exec(fs.readFileSync(path.join(project, "Pulumi.v.yaml"), "utf8"))?.[1];
    assert.ok(ciphertext !== undefined);
    const exported = JSON.parse(run(["stack", "export", "--stack", "v"])) as { deployment: Record<string, unknown> };
    exported.deployment["resources"] = [
        {
            urn: "urn:pulumi:v::herd::pulumi:pulumi:Stack::herd-v",
            custom: false,
            type: "pulumi:pulumi:Stack",
            outputs: { adminPassword: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext }, namespace: "herd" },
        },
    ];
    const crafted = path.join(dir, "crafted.json");
    fs.writeFileSync(crafted, JSON.stringify(exported));
    run(["stack", "import", "--stack", "v", "--file", crafted]);
    run(["config", "set", "--secret", "--stack", "v", "herd:kubeconfig", configSecret]);
    return { dir, project, env, stateSecret, configSecret };
}

describe("handoff --transfer with the real Pulumi CLI (a crafted stack)", () => {
    it("re-keys a copy for the customer: every secret opens with their passphrase alone, none with the vendor's, none in plaintext", NEEDS_PULUMI, () => {
        const v = vendorStack();
        const before = fs.readFileSync(path.join(v.project, "Pulumi.v.yaml"), "utf8");
        const customer = `customer-${randomBytes(12).toString("hex")}`;
        const result = transferStack({ stack: "v", stackName: "v", provider: { kind: "passphrase" }, customerPassphrase: customer, pulumi: PULUMI ?? "", projectDir: v.project, env: v.env });
        assert.equal(result.secretsRekeyed, 2, "the state's secret and the config's");
        assert.equal(result.vendorProvider, "passphrase");
        assert.match(result.vendorPassphraseCheck, /^tried: opens neither state\.json nor Pulumi\.v\.yaml$/);
        assert.deepEqual(Object.keys(result.files).sort(), ["Pulumi.v.yaml", "state.json"]);
        assert.ok(result.secrets.has(v.stateSecret) && result.secrets.has(v.configSecret));
        assert.deepEqual(findPlaintextSecrets(result.files, result.secrets).problems, []);
        assert.equal(fs.readFileSync(path.join(v.project, "Pulumi.v.yaml"), "utf8"), before, "the vendor's config file is untouched");
        assert.notEqual(result.files["Pulumi.v.yaml"], before);

        // The customer: a backend of their own, their passphrase only, the runbook's commands.
        const b = tempDir("herd-customer-");
        const project = path.join(b, "project");
        fs.mkdirSync(project);
        fs.mkdirSync(path.join(b, "state"));
        fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
        fs.writeFileSync(path.join(project, "Pulumi.v.yaml"), result.files["Pulumi.v.yaml"]);
        fs.writeFileSync(path.join(b, "state.json"), result.files["state.json"]);
        const env = { ...v.env, PULUMI_BACKEND_URL: `file://${path.join(b, "state")}`, PULUMI_HOME: path.join(b, "home"), PULUMI_CONFIG_PASSPHRASE: customer };
        const [init, imp] = takeoverCommands({ stackName: "v", provider: { kind: "passphrase" }, stateFile: "state.json" }, b);
        for (const args of [init, imp]) {
            const r = spawnSync(PULUMI ?? "", [...args, "--non-interactive"], { cwd: project, env, encoding: "utf8" });
            assert.equal(r.status, 0, `pulumi ${args.join(" ")}: ${r.stderr}`);
        }
        const shown = spawnSync(PULUMI ?? "", ["stack", "export", "--show-secrets", "--stack", "v"], { cwd: project, env, encoding: "utf8" });
        assert.equal(shown.status, 0, shown.stderr);
        assert.ok(secretsInExport(JSON.parse(shown.stdout)).has(v.stateSecret));
        const config = spawnSync(PULUMI ?? "", ["config", "get", "--stack", "v", "herd:kubeconfig"], { cwd: project, env, encoding: "utf8" });
        assert.equal(config.stdout.trim(), v.configSecret);
        const asVendor = spawnSync(PULUMI ?? "", ["config", "get", "--stack", "v", "herd:kubeconfig"], { cwd: project, env: { ...env, PULUMI_CONFIG_PASSPHRASE: v.env["PULUMI_CONFIG_PASSPHRASE"] }, encoding: "utf8" });
        assert.notEqual(asVendor.status, 0, "the vendor's passphrase does not open the customer's stack");
        assert.ok(!asVendor.stdout.includes(v.configSecret));
    });

    it("refuses what the vendor's passphrase still opens: the vendor's own export and config file", NEEDS_PULUMI, () => {
        const v = vendorStack();
        const state = spawnSync(PULUMI ?? "", ["stack", "export", "--stack", "v"], { cwd: v.project, env: v.env, encoding: "utf8" }).stdout;
        const problems = tryVendorPassphrase({
            pulumi: PULUMI ?? "",
            projectDir: v.project,
            stackName: "v",
            state,
            config: fs.readFileSync(path.join(v.project, "Pulumi.v.yaml"), "utf8"),
            vendorEnv: v.env,
            secrets: new Set([v.stateSecret, v.configSecret]),
            baseEnv: v.env,
        });
        assert.deepEqual(problems, [
            "the bundle's state opens with the vendor's passphrase alone (its secrets are still encrypted for the vendor)",
            "the bundle's Pulumi.v.yaml opens with the vendor's passphrase alone (its secure values are still encrypted for the vendor)",
        ]);
    });

    it("refuses the vendor's own passphrase as the customer's", NEEDS_PULUMI, () => {
        const v = vendorStack();
        assert.throws(
            () => transferStack({ stack: "v", stackName: "v", provider: { kind: "passphrase" }, customerPassphrase: v.env["PULUMI_CONFIG_PASSPHRASE"], pulumi: PULUMI ?? "", projectDir: v.project, env: v.env }),
            /the customer's passphrase is the vendor's own \(PULUMI_CONFIG_PASSPHRASE\): ask the customer for theirs/,
        );
    });
});

describe("the RUNBOOK for a take-over", () => {
    const base = {
        stack: "onprem",
        source: "`pulumi stack output --json --stack onprem`",
        offline: false,
        outputs: { app: { namespace: "herd" }, platform: { platform: "onprem" } },
        config: undefined,
        hasManifests: false,
        generatedAt: "2026-11-30T12:00:00Z",
    };

    it("--transfer: the files, and the steps in order: login, config file, passphrase, init, import, preview with no changes, up", () => {
        const runbook = renderRunbook({
            ...base,
            transfer: { stackName: "onprem", provider: { kind: "passphrase" }, stateFile: "state.json", configFile: "Pulumi.onprem.yaml", secretsRekeyed: 17, commit: "0123456789abcdef0123456789abcdef01234567" },
        });
        assert.match(runbook, /\| `state\.json` \| the stack's state \(`pulumi stack export`\), its secrets encrypted for your key alone/);
        assert.match(runbook, /\| `Pulumi\.onprem\.yaml` \| the stack's config file, its secure values encrypted for your key alone/);
        assert.match(runbook, /with its 17 secret\n {2}values encrypted for you alone/);
        assert.match(runbook, /at commit `0123456789abcdef0123456789abcdef01234567`/);
        const steps = [
            "pulumi login file:///srv/pulumi-state",
            "cp <bundle>/Pulumi.onprem.yaml .",
            "export PULUMI_CONFIG_PASSPHRASE_FILE=",
            "pulumi stack init onprem --secrets-provider passphrase",
            "pulumi stack import --stack onprem --file <bundle>/state.json",
            "pulumi preview --stack onprem --diff --expect-no-changes",
            "pulumi up --stack onprem",
        ];
        let at = runbook.indexOf("## 0. Take over the stack");
        assert.ok(at > 0 && at < runbook.indexOf("## At a glance"), "the take-over comes first");
        for (const step of steps) {
            const next = runbook.indexOf(step, at);
            assert.ok(next > at, `"${step}" follows the step before it`);
            at = next;
        }
        assert.match(runbook, /not the vendor's passphrase, not any key the vendor keeps/);
    });

    it("--transfer to a KMS key: the key's URL in stack init, and no passphrase step", () => {
        const runbook = renderRunbook({
            ...base,
            transfer: { stackName: "onprem", provider: parseSecretsProvider("awskms://alias/customer?region=eu-west-1"), stateFile: "state.json", configFile: "Pulumi.onprem.yaml", secretsRekeyed: 3, commit: undefined },
        });
        assert.ok(runbook.includes("pulumi stack init onprem --secrets-provider 'awskms://alias/customer?region=eu-west-1'"));
        assert.doesNotMatch(runbook, /PULUMI_CONFIG_PASSPHRASE/);
        assert.match(runbook, /encrypted with your key `awskms:\/\/alias\/customer\?region=eu-west-1` and nothing else/);
    });

    it("without --transfer there is no take-over section", () => {
        assert.doesNotMatch(renderRunbook(base), /Take over the stack/);
    });

    it("render-to-directory: which directory holds the Secrets, how to create them, and how to move to running the stack", () => {
        const runbook = renderRunbook({ ...base, outputs: { app: { namespace: "herd" }, platform: { platform: "onprem", renderDirectory: "out/yaml", secretsRenderDirectory: "out/yaml.secrets" } } });
        assert.match(runbook, /## Rendered YAML: the Secrets, and running the stack yourself later/);
        assert.match(runbook, /every Kubernetes\nSecret, with its values in plaintext, to the separate directory `out\/yaml\.secrets`/);
        assert.ok(runbook.includes("kubectl apply -R -f out/yaml\n   kubectl apply -R -f out/yaml.secrets"));
        assert.match(runbook, /npm run handoff -- --stack onprem --transfer --out <dir>/);
        assert.ok(runbook.includes("pulumi config rm --stack onprem herd:renderDirectory"));
        assert.ok(runbook.includes("PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true pulumi up --stack onprem"));
    });
});
