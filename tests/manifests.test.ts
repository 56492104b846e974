/**
 * The `manifests` command (run in-process; its CLI as a process is in cli.test.ts) and the pieces behind it: the
 * command contract on success and failure, schema validation
 * naming object and field, Secret redaction, and mocks that answer realistically.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import * as k8s from "@pulumi/kubernetes";
import { evaluateUnderMocks } from "../offline/evaluate";
import { apiVersionKind, buildManifests, Manifest, SchemaError, validateManifest } from "../offline/manifests";
import { MockRecord, RecordingMocks, wrapSecret } from "../offline/mocks";
import { runCommand, tempDir, writeStackFile } from "./helpers";

describe("npm run manifests", () => {
    it("writes schema-valid manifests.yaml and resources.json for the onprem stack", async () => {
        const out = path.join(tempDir(), "onprem");
        const result = await runCommand("manifests", ["--stack", "onprem", "--out", out]);
        assert.equal(result.status, 0, result.stderr);
        const docs = parseAllDocuments(fs.readFileSync(path.join(out, "manifests.yaml"), "utf8")).map((d) => d.toJS() as Manifest);
        assert.ok(docs.length >= 2);
        for (const doc of docs) {
            assert.deepEqual(validateManifest(doc), [], `${doc.kind} ${doc.metadata.name}`);
        }
        const kinds = new Set(docs.map((d) => d.kind));
        for (const kind of ["Namespace", "StorageClass", "StatefulSet", "Service", "Secret", "NetworkPolicy", "PodDisruptionBudget", "CronJob"]) {
            assert.ok(kinds.has(kind), `${kind} written`);
        }
        const secret = docs.find((d) => d.kind === "Secret" && d.metadata.name === "postgres-credentials");
        assert.deepEqual(Object.values(secret?.["stringData"] as Record<string, string>), ["<redacted>", "<redacted>", "<redacted>"]);

        const resources = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as Record<string, unknown>[];
        for (const r of resources) {
            assert.deepEqual(Object.keys(r).slice(0, 4), ["type", "name", "parent", "parentType"]);
            assert.ok("inputs" in r);
        }
        const types = resources.map((r) => r["type"]);
        for (const t of ["herd:index:OnpremPlatform", "pulumi:providers:kubernetes", "kubernetes:core/v1:Namespace", "kubernetes:storage.k8s.io/v1:StorageClass"]) {
            assert.ok(types.includes(t), `${t} recorded`);
        }
    });

    it("--config-file evaluates another file in the same format", async () => {
        const file = writeStackFile({ "herd:platform": "onprem", "herd:namespace": "shop", "herd:storageClass": "ssd", "herd:registry": "r.example.com/x" });
        const out = path.join(tempDir(), "custom");
        const result = await runCommand("manifests", ["--stack", "custom", "--config-file", file, "--out", out]);
        assert.equal(result.status, 0, result.stderr);
        assert.match(fs.readFileSync(path.join(out, "manifests.yaml"), "utf8"), /name: shop/);
    });

    it("aws and gcp render offline too, and their config is validated before anything is built", async () => {
        for (const stack of ["aws", "gcp"]) {
            const out = path.join(tempDir(), stack);
            const result = await runCommand("manifests", ["--stack", stack, "--out", out]);
            assert.equal(result.status, 0, result.stderr);
            assert.match(fs.readFileSync(path.join(out, "manifests.yaml"), "utf8"), /kind: StatefulSet/);
        }
        const bad = writeStackFile({ "herd:platform": "aws", "herd:awsRegion": "moon-1" });
        const out = path.join(tempDir(), "x");
        const result = await runCommand("manifests", ["--stack", "aws", "--config-file", bad, "--out", out]);
        assert.equal(result.status, 1);
        assert.match(result.stderr, /herd:awsRegion: expected an AWS region/);
        assert.equal(fs.existsSync(out), false);
    });

    it("a missing stack file is a clear error", async () => {
        const out = path.join(tempDir(), "none");
        const result = await runCommand("manifests", ["--stack", "staging", "--out", out]);
        assert.equal(result.status, 1);
        assert.match(result.stderr, /no stack file for stack 'staging'.*Pulumi\.staging\.yaml does not exist/);
        assert.equal(fs.existsSync(out), false);
    });

    it("usage errors exit 2 and print the usage", async () => {
        const result = await runCommand("manifests", ["--stack", "onprem"]);
        assert.equal(result.status, 2);
        assert.match(result.stderr, /--out is required\nusage: npm run --silent manifests/);
        assert.equal((await runCommand("manifests", ["--stack", "onprem", "--out", "x", "--bogus"])).status, 2);
    });
});

function record(type: string, name: string, inputs: Record<string, unknown>): MockRecord {
    const mocks = new RecordingMocks();
    mocks.newResource({ type, name, inputs, custom: true });
    return mocks.records[0];
}

describe("offline output cannot be mistaken for the real thing", () => {
    // What the mocks make up and only `pulumi up` can know: cluster IPs, load-balancer addresses, image digests,
    // account ids, auto-name suffixes. None may reach a file a user is handed; each shows as <computed:...>.
    const MADE_UP = [/\b10\.96\.\d+\.\d+\b/, /\b123456789012\b/, /\b203\.0\.113\.\d+(?![\d/])/, /\b198\.51\.100\.\d+(?![\d/])/, /sha256:[0-9a-f]{64}/, /elb\.amazonaws\.com/];
    for (const stack of ["onprem", "aws", "gcp"]) {
        it(`${stack}: no made-up value in manifests.yaml or resources.json, a header that lists the placeholders`, async () => {
            const out = path.join(tempDir(), stack);
            const result = await runCommand("manifests", ["--stack", stack, "--out", out]);
            assert.equal(result.status, 0, result.stderr);
            const yamlText = fs.readFileSync(path.join(out, "manifests.yaml"), "utf8");
            const jsonText = fs.readFileSync(path.join(out, "resources.json"), "utf8");
            for (const [file, text] of [["manifests.yaml", yamlText], ["resources.json", jsonText]]) {
                for (const re of MADE_UP) {
                    assert.doesNotMatch(text, re, `${stack} ${file}: ${re}`);
                }
            }
            const header = yamlText.slice(0, yamlText.indexOf("\napiVersion:"));
            assert.match(header, /^# herd: Kubernetes objects of stack '.+' \(.+\), rendered OFFLINE/);
            const placeholders = [...new Set(yamlText.match(/<computed:[^>]*>/g) ?? [])];
            for (const p of placeholders) {
                assert.ok(header.includes(`#     ${p}`), `${stack}: the header lists ${p}`);
            }
            const docs = parseAllDocuments(yamlText).map((d) => d.toJS() as Manifest);
            for (const d of docs.filter((m) => m.kind === "Service")) {
                const spec = d["spec"] as Record<string, unknown>;
                assert.ok(spec["clusterIP"] === undefined || spec["clusterIP"] === "None", `Service ${d.metadata.name}: no cluster-assigned clusterIP`);
            }
            // A pod template that held a value the engine assigns would differ between a first preview and the update.
            for (const d of docs.filter((m) => ["Deployment", "StatefulSet"].includes(m.kind))) {
                const template = (d["spec"] as { template: { metadata?: Record<string, unknown> } }).template;
                assert.doesNotMatch(JSON.stringify(template.metadata ?? {}), /<computed:/, `${d.kind} ${d.metadata.name}: pod template metadata`);
            }
            if (stack === "aws") {
                assert.ok(placeholders.length > 0, "aws has values only the cloud knows (ECR registry, IAM role ARN, image digests)");
                assert.match(yamlText, /image: <computed:Repository.aws-api-repo.repositoryUrl>@<computed:digest-of-api:h-[0-9a-f]{16}>/, "the build's tag stays visible in the placeholder");
            }
        });
    }
});

describe("evaluateUnderMocks: one entry to run anything under the mocks", () => {
    it("hands back what the function returned, every record and each resource's options", async () => {
        const run = await evaluateUnderMocks(() => {
            const ns = new k8s.core.v1.Namespace("ns", { metadata: { name: "shop" } }, { retainOnDelete: true });
            return ns;
        });
        assert.equal(run.error, undefined);
        assert.ok(run.value instanceof k8s.core.v1.Namespace);
        assert.deepEqual(run.mocks.records.filter((r) => r.custom).map((r) => `${r.type}::${r.name}`), ["kubernetes:core/v1:Namespace::ns"]);
        assert.equal(run.options.get("kubernetes:core/v1:Namespace::ns")?.retainOnDelete, true);
    });
    it("a throw is handed back as the error, with what was registered before it", async () => {
        const run = await evaluateUnderMocks(() => {
            new k8s.core.v1.Namespace("before", { metadata: { name: "before" } });
            throw new Error("bad arguments");
        });
        assert.match(String(run.error), /bad arguments/);
        assert.equal(run.value, undefined);
        assert.deepEqual(run.mocks.records.filter((r) => r.custom).map((r) => r.name), ["before"]);
    });
});

describe("schema validation", () => {
    it("names the object and the field", () => {
        const problems = validateManifest({
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            metadata: { name: "postgres", namespace: "herd" },
            spec: { serviceName: 5, selector: { matchLabels: { a: "b" } }, template: { spec: { containers: [{ name: "pg", image: "postgres:16.4", ports: [{ containerPort: "5432" }] }] } } },
        });
        assert.deepEqual(problems, [
            "StatefulSet herd/postgres: spec.serviceName must be string",
            "StatefulSet herd/postgres: spec.template.spec.containers.0.ports.0.containerPort must be integer",
        ]);
    });
    it("an unknown or removed API is an error, not a pass", () => {
        assert.match(validateManifest({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "x" } })[0], /Widget x: no schema for example.com\/v1 Widget/);
        assert.match(validateManifest({ apiVersion: "apps/v1", kind: "Deploymnet", metadata: { name: "x" } })[0], /no schema for apps\/v1 Deploymnet/);
    });
    it("buildManifests fails with every problem, naming each object", () => {
        const bad = record("kubernetes:core/v1:Service", "api", { metadata: { name: "api" }, spec: { ports: [{ port: "http" }] } });
        const worse = record("kubernetes:core/v1:ConfigMap", "cm", { metadata: { name: "cm" }, data: { a: 1 } });
        assert.throws(() => buildManifests({ records: [bad, worse] }), (err: unknown) => {
            assert.ok(err instanceof SchemaError);
            assert.match(err.message, /Service api: spec\.ports\.0\.port must be integer/);
            assert.match(err.message, /ConfigMap cm: data\.a must be string/);
            return true;
        });
    });
    it("reads type tokens for the core and named groups, and refuses ones it cannot read", () => {
        assert.deepEqual(apiVersionKind("kubernetes:core/v1:Namespace"), { apiVersion: "v1", kind: "Namespace" });
        assert.deepEqual(apiVersionKind("kubernetes:apps/v1:StatefulSet"), { apiVersion: "apps/v1", kind: "StatefulSet" });
        assert.deepEqual(apiVersionKind("kubernetes:networking.k8s.io/v1:NetworkPolicy"), { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" });
        assert.equal(apiVersionKind("kubernetes:yaml/v2:ConfigGroup"), undefined);
        assert.equal(apiVersionKind("kubernetes:core/v1:ConfigMapPatch"), undefined);
        assert.equal(apiVersionKind("pulumi:providers:kubernetes"), undefined);
        assert.throws(() => apiVersionKind("kubernetes:weird"), /cannot read the Kubernetes type token/);
    });
});

describe("redaction", () => {
    it("Secret data is redacted in what is written, and valid in what is validated", () => {
        const secret = record("kubernetes:core/v1:Secret", "pg", {
            metadata: { name: "pg", namespace: "herd" },
            data: { password: wrapSecret(Buffer.from("pg-password-123").toString("base64")) },
            stringData: { user: "app" },
        });
        const { manifests, redacted } = buildManifests({ records: [secret] });
        assert.equal((manifests[0]["data"] as Record<string, string>)["password"], Buffer.from("pg-password-123").toString("base64"));
        const written = JSON.stringify(redacted);
        assert.ok(!written.includes(Buffer.from("pg-password-123").toString("base64")));
        assert.deepEqual(redacted[0]["data"], { password: Buffer.from("<redacted>").toString("base64") });
        assert.deepEqual(redacted[0]["stringData"], { user: "<redacted>" }, "every Secret value is redacted, secret-marked or not");
        assert.deepEqual(validateManifest(redacted[0]), []);
    });
    it("a secret value outside a Secret is redacted too", () => {
        const cm = record("kubernetes:core/v1:ConfigMap", "cm", { metadata: { name: "cm" }, data: { dsn: wrapSecret("postgres://u:hunter2@db") } });
        const { redacted } = buildManifests({ records: [cm] });
        assert.deepEqual(redacted[0]["data"], { dsn: "<redacted>" });
    });
});

describe("mocks answer realistically", () => {
    it("auto-names Kubernetes objects like the provider, deterministically", () => {
        const a = record("kubernetes:core/v1:ConfigMap", "settings", { metadata: {} });
        const b = record("kubernetes:core/v1:ConfigMap", "settings", { metadata: {} });
        const name = (r: MockRecord) => (r.state["metadata"] as { name: string }).name;
        assert.match(name(a), /^settings-[0-9a-f]{8}$/);
        assert.equal(name(a), name(b));
        assert.equal(a.id, name(a));
    });
    it("namespaced ids are namespace/name, and LoadBalancer Services report an address", () => {
        const svc = record("kubernetes:core/v1:Service", "web", { metadata: { name: "web", namespace: "herd" }, spec: { type: "LoadBalancer" } });
        assert.equal(svc.id, "herd/web");
        assert.deepEqual(svc.state["status"], { loadBalancer: { ingress: [{ ip: "203.0.113.10" }] } });
    });
    it("generated passwords are secret and stable", () => {
        const a = record("random:index/randomPassword:RandomPassword", "pg", { length: 24 });
        const b = record("random:index/randomPassword:RandomPassword", "pg", { length: 24 });
        assert.deepEqual(a.state["result"], b.state["result"]);
        assert.ok(JSON.stringify(a.state["result"]).includes("1b47061264138c4ac30d75fd1eb44270"), "marked secret");
    });
    it("pushed images get a content digest, so deploying by digest takes its real path", () => {
        const a = record("docker:index/image:Image", "api", { imageName: "registry.example.com/herd/api:v1", build: { context: "images/api" } });
        assert.match(String(a.state["repoDigest"]), /^registry\.example\.com\/herd\/api@sha256:[0-9a-f]{64}$/);
        const b = record("docker:index/image:Image", "api", { imageName: "registry.example.com/herd/api:v1", build: { context: "images/api2" } });
        assert.notEqual(a.state["repoDigest"], b.state["repoDigest"], "a different build gives a different digest");
    });
    it("cloud resources get auto-names, ARNs and cluster endpoints", () => {
        const bucket = record("aws:s3/bucketV2:BucketV2", "backups", {});
        assert.match(String(bucket.id), /^backups-[0-9a-f]{7}$/);
        assert.match(String(bucket.state["arn"]), /^arn:aws:s3:[a-z0-9-]+:123456789012:/);
        const eks = record("aws:eks/cluster:Cluster", "herd", {});
        assert.match(String(eks.state["endpoint"]), /^https:\/\/[0-9A-F]{32}\.gr7\.[a-z0-9-]+\.eks\.amazonaws\.com$/);
        const gke = record("gcp:container/cluster:Cluster", "herd", {});
        assert.match(String(gke.state["endpoint"]), /^34\.\d+\.\d+\.10$/);
    });
    it("invokes the platforms make are answered (ECR credentials as secrets)", () => {
        const mocks = new RecordingMocks();
        assert.equal(mocks.call({ token: "aws:index/getCallerIdentity:getCallerIdentity", inputs: {} })["accountId"], "123456789012");
        assert.equal((mocks.call({ token: "aws:index/getAvailabilityZones:getAvailabilityZones", inputs: {} })["names"] as string[]).length, 3);
        const ecr = mocks.call({ token: "aws:ecr/getAuthorizationToken:getAuthorizationToken", inputs: {} });
        assert.equal(ecr["userName"], "AWS");
        assert.ok(JSON.stringify(ecr["password"]).includes("1b47061264138c4ac30d75fd1eb44270"), "the ECR password is a secret");
    });
    it("an invoke with no mock fails loudly instead of answering nothing", () => {
        assert.throws(() => new RecordingMocks().call({ token: "aws:rds/getInstance:getInstance", inputs: {} }), /no mock for the invoke aws:rds\/getInstance:getInstance/);
    });
});
