/**
 * herd:imageRegistryMirror (air-gapped installs): the rewrite rule, the transform that applies it to every pod
 * template, the offline harness running that transform as the engine does, and every stack rendered with the key set:
 * no object names a public registry, digests are kept, targets stay distinct; with the key empty nothing changes.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import * as k8s from "../lib/k8s";
import { evaluateProgram, evaluateStack, Evaluation } from "../offline/evaluate";
import { buildManifests } from "../offline/manifests";
import { ImageReferenceError, mirrorImage, mirrorPlan, mirrorRepository, parseImageReference } from "../lib/image-mirror";
import { imageMirrorTransform, rewritePodImages } from "../lib/image-mirror-transform";
import { imagesByUse } from "../scripts/images";
import { PROJECT_DIR, tempDir, writeStackFile } from "./helpers";

const MIRROR = "registry.customer.internal:5000/mirror";
const DIGEST = `sha256:${"ab".repeat(32)}`;
const rule = { location: MIRROR, keep: [] };

describe("the rewrite rule", () => {
    it("reads references as Docker does: Docker Hub by default, library/ for its one-part names", () => {
        assert.deepEqual(parseImageReference("postgres:16.9-bookworm"), { registry: "docker.io", path: "library/postgres", tag: "16.9-bookworm", digest: undefined });
        assert.deepEqual(parseImageReference("amazon/aws-cli:2.17.0"), { registry: "docker.io", path: "amazon/aws-cli", tag: "2.17.0", digest: undefined });
        assert.deepEqual(parseImageReference("localhost:5000/x/y"), { registry: "localhost:5000", path: "x/y", tag: undefined, digest: undefined });
        assert.deepEqual(parseImageReference(`index.docker.io/redis@${DIGEST}`), { registry: "docker.io", path: "library/redis", tag: undefined, digest: DIGEST });
    });
    it("<mirror>/<path without the registry host>, tag and digest kept", () => {
        const cases: [string, string][] = [
            ["docker.io/library/postgres:16.9-bookworm", `${MIRROR}/library/postgres:16.9-bookworm`],
            ["postgres:16.9-bookworm", `${MIRROR}/library/postgres:16.9-bookworm`],
            ["registry.k8s.io/kubectl:v1.33.3", `${MIRROR}/kubectl:v1.33.3`],
            ["docker.elastic.co/elasticsearch/elasticsearch:8.17.4", `${MIRROR}/elasticsearch/elasticsearch:8.17.4`],
            ["google/cloud-sdk:499.0.0-slim", `${MIRROR}/google/cloud-sdk:499.0.0-slim`],
            [`quay.io/prometheus/node-exporter:v1.9.1@${DIGEST}`, `${MIRROR}/prometheus/node-exporter:v1.9.1@${DIGEST}`],
            [`ghcr.io/acme/app@${DIGEST}`, `${MIRROR}/acme/app@${DIGEST}`],
        ];
        for (const [from, to] of cases) {
            assert.equal(mirrorImage(from, rule), to, from);
        }
        // A mirror that is a bare host: the path sits right under it.
        assert.equal(mirrorImage("redis:7.4", { location: "mirror.internal", keep: [] }), "mirror.internal/library/redis:7.4");
    });
    it("leaves alone what is on the mirror's host or in a registry the stack keeps (its own)", () => {
        const onMirrorHost = `registry.customer.internal:5000/herd/api@${DIGEST}`;
        assert.equal(mirrorImage(onMirrorHost, rule), onMirrorHost);
        const ecr = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/herd-aws/api@${DIGEST}`;
        assert.equal(mirrorImage(ecr, { location: MIRROR, keep: ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"] }), ecr);
        // herd:registry is host[:port][/path]: only its host counts.
        assert.equal(mirrorImage("r.example.com:5000/herd/api:1", { location: MIRROR, keep: ["r.example.com:5000/herd"] }), "r.example.com:5000/herd/api:1");
        // Another port is another registry.
        assert.equal(mirrorImage("registry.customer.internal/herd/api:1", rule), `${MIRROR}/herd/api:1`);
    });
    it("a Helm chart's repository (no tag) by the same rule", () => {
        assert.equal(mirrorRepository("registry.k8s.io/autoscaling/cluster-autoscaler", rule), `${MIRROR}/autoscaling/cluster-autoscaler`);
        assert.throws(() => mirrorRepository("registry.k8s.io/autoscaling/cluster-autoscaler:v1", rule), /a repository with no tag or digest/);
    });
    it("refuses what Docker would refuse, naming the reference", () => {
        for (const bad of ["", "Postgres:16", "postgres:16 ", "postgres@sha256:xyz", "registry.example.com/", "a/b:-x"]) {
            assert.throws(() => parseImageReference(bad), (err: unknown) => err instanceof ImageReferenceError && err.message.includes(JSON.stringify(bad)), bad);
        }
    });
    it("two sources meeting at one target are refused, naming both; one image spelled twice is one source", () => {
        assert.throws(() => mirrorPlan(["quay.io/prometheus/x:1", "docker.io/prometheus/x:1"], rule), /quay\.io\/prometheus\/x:1 and docker\.io\/prometheus\/x:1 would both be pulled as registry\.customer\.internal:5000\/mirror\/prometheus\/x:1/);
        assert.deepEqual(mirrorPlan(["redis:7", "docker.io/library/redis:7"], rule).map((p) => p.target), [`${MIRROR}/library/redis:7`, `${MIRROR}/library/redis:7`]);
    });
});

describe("the transform", () => {
    const rewrite = (image: string) => mirrorImage(image, rule);
    const pod = (image: string) => ({ containers: [{ name: "c", image }], initContainers: [{ name: "i", image: "busybox:1.37" }] });
    it("rewrites every container and init container of every workload kind's pod template", () => {
        const shapes: [string, Record<string, unknown>, (p: Record<string, unknown>) => unknown][] = [
            ["kubernetes:core/v1:Pod", { spec: pod("redis:7") }, (p) => p["spec"]],
            ["kubernetes:apps/v1:Deployment", { spec: { template: { spec: pod("redis:7") } } }, (p) => (p["spec"] as { template: { spec: unknown } }).template.spec],
            ["kubernetes:apps/v1:StatefulSet", { spec: { template: { spec: pod("redis:7") } } }, (p) => (p["spec"] as { template: { spec: unknown } }).template.spec],
            ["kubernetes:apps/v1:DaemonSet", { spec: { template: { spec: pod("redis:7") } } }, (p) => (p["spec"] as { template: { spec: unknown } }).template.spec],
            ["kubernetes:batch/v1:Job", { spec: { template: { spec: pod("redis:7") } } }, (p) => (p["spec"] as { template: { spec: unknown } }).template.spec],
            ["kubernetes:apps/v1:DeploymentPatch", { spec: { template: { spec: pod("redis:7") } } }, (p) => (p["spec"] as { template: { spec: unknown } }).template.spec],
            [
                "kubernetes:batch/v1:CronJob",
                { spec: { jobTemplate: { spec: { template: { spec: pod("redis:7") } } } } },
                (p) => (p["spec"] as { jobTemplate: { spec: { template: { spec: unknown } } } }).jobTemplate.spec.template.spec,
            ],
        ];
        for (const [type, props, specOf] of shapes) {
            const out = rewritePodImages(type, props, rewrite);
            assert.ok(out !== undefined, type);
            assert.deepEqual(specOf(out), { containers: [{ name: "c", image: `${MIRROR}/library/redis:7` }], initContainers: [{ name: "i", image: `${MIRROR}/library/busybox:1.37` }] }, type);
        }
    });
    it("leaves other resources alone, and keeps secret wrappers around what it rewrites", () => {
        assert.equal(rewritePodImages("kubernetes:core/v1:ConfigMap", { data: { image: "redis:7" } }, rewrite), undefined);
        assert.equal(rewritePodImages("kubernetes:helm.sh/v3:Release", { values: {} }, rewrite), undefined);
        const secret = (value: unknown) => ({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value });
        const out = rewritePodImages("kubernetes:apps/v1:Deployment", { spec: secret({ template: { spec: { containers: secret([{ name: "c", image: "redis:7", env: [] }]) } } }) }, rewrite);
        assert.deepEqual(out, { spec: secret({ template: { spec: { containers: secret([{ name: "c", image: `${MIRROR}/library/redis:7`, env: [] }]) } } }) });
    });
    it("under the offline harness, runs as the engine runs it: the mocks receive the rewritten images", async () => {
        const e = await evaluateProgram(() => {
            pulumi.runtime.registerResourceTransform(imageMirrorTransform(MIRROR, () => []));
            new k8s.apps.v1.Deployment("d", { spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: pod("redis:7") } } });
            new k8s.core.v1.ConfigMap("c", { data: { image: "redis:7" } });
            return {};
        });
        const d = e.resources.find((r) => r.name === "d");
        assert.deepEqual((d?.inputs["spec"] as { template: { spec: unknown } }).template.spec, { containers: [{ name: "c", image: `${MIRROR}/library/redis:7` }], initContainers: [{ name: "i", image: `${MIRROR}/library/busybox:1.37` }] });
        assert.deepEqual(e.resources.find((r) => r.name === "c")?.inputs["data"], { image: "redis:7" });
    });
    it("fails when two images would meet at one target, naming both (the engine reports the transform's error)", () => {
        const transform = imageMirrorTransform(MIRROR, () => []);
        const call = (name: string, image: string) =>
            transform({ custom: true, type: "kubernetes:core/v1:Pod", name, props: { spec: pod(image) }, opts: {} });
        call("a", "quay.io/prometheus/x:1");
        call("b", "quay.io/prometheus/x:1");
        assert.throws(() => call("c", "docker.io/prometheus/x:1"), /quay\.io\/prometheus\/x:1 and docker\.io\/prometheus\/x:1 would both be pulled as registry\.customer\.internal:5000\/mirror\/prometheus\/x:1/);
    });
});

/** The stack files, and e2e/stack.yaml, each with the mirror set. */
const STACK_FILES = [
    { stack: "aws", file: "Pulumi.aws.yaml" },
    { stack: "gcp", file: "Pulumi.gcp.yaml" },
    { stack: "onprem", file: "Pulumi.onprem.yaml" },
    { stack: "onprem", file: "e2e/stack.yaml" },
];
/** Registries no air-gapped cluster reaches. */
const PUBLIC = ["docker.io", "registry.k8s.io", "docker.elastic.co", "quay.io", "public.ecr.aws", "gcr.io", "ghcr.io", "mcr.microsoft.com", "registry.gitlab.com"];

/** Every `image` anywhere in an object, and every Helm values image ({repository, tag}). */
function allImages(e: Evaluation): string[] {
    const found: string[] = [];
    const walk = (v: unknown, key?: string): void => {
        if (Array.isArray(v)) {
            v.forEach((x) => walk(x));
        } else if (typeof v === "object" && v !== null) {
            const o = v as Record<string, unknown>;
            if (typeof o["repository"] === "string" && typeof o["tag"] === "string") {
                found.push(`${o["repository"]}:${o["tag"]}`);
            }
            Object.entries(o).forEach(([k, x]) => walk(x, k));
        } else if (key === "image" && typeof v === "string") {
            found.push(v);
        }
    };
    buildManifests(e).manifests.forEach((m) => walk(m));
    e.resources.filter((r) => r.type.startsWith("kubernetes:helm.sh/")).forEach((r) => walk(r.inputs));
    return found;
}

const FILES_DIR = tempDir();
let written = 0;
function withMirror(file: string, mirror: string | undefined): string {
    const doc = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, file), "utf8")) as { config: Record<string, unknown> };
    const dir = fs.mkdtempSync(path.join(FILES_DIR, `${written++}-`));
    // Undefined: the key left out, even where the stack file sets it (e2e/stack.yaml does, for the real engine).
    const { "herd:imageRegistryMirror": _own, ...rest } = doc.config;
    return writeStackFile(mirror === undefined ? rest : { ...rest, "herd:imageRegistryMirror": mirror }, dir);
}

for (const s of STACK_FILES) {
    describe(`${s.file} with herd:imageRegistryMirror set`, () => {
        let mirrored: Evaluation;
        let plain: Evaluation;
        before(async () => {
            mirrored = await evaluateStack({ stack: s.stack, configFile: withMirror(s.file, MIRROR) });
            plain = await evaluateStack({ stack: s.stack, configFile: withMirror(s.file, undefined) });
        });
        it("no rendered object names a public registry (nor an unqualified Docker Hub name)", () => {
            const images = allImages(mirrored);
            assert.ok(images.length >= 5, `${s.file}: found ${images.length} images`);
            for (const image of images) {
                const r = parseImageReference(image);
                assert.ok(!PUBLIC.includes(r.registry), `${s.file}: ${image} is pulled from the public ${r.registry}`);
                const first = image.split("/")[0] ?? "";
                assert.ok(image.includes("/") && (first.includes(".") || first.includes(":")), `${s.file}: ${image} names no registry`);
            }
        });
        it("every image is the source rewritten by the rule, or kept in the stack's own registry; digests kept; targets distinct", () => {
            const sources = imagesByUse(plain);
            const pulled = imagesByUse(mirrored);
            assert.deepEqual([...pulled.keys()].sort(), [...sources.keys()].sort());
            const targets = new Map<string, string>();
            for (const [use, image] of pulled) {
                const source = sources.get(use) ?? "";
                const r = parseImageReference(source);
                if (image === source) {
                    // Kept: herd's own builds, in the registry the stack pushes to (never a public one).
                    assert.ok(!PUBLIC.includes(r.registry), `${use}: ${source} kept`);
                    continue;
                }
                assert.equal(image, mirrorImage(source, rule), use);
                assert.equal(parseImageReference(image).digest, r.digest, `${use}: digest kept`);
                const other = targets.get(image);
                assert.ok(other === undefined || parseImageReference(other).path === r.path, `${use}: ${image} is also ${other ?? ""}`);
                targets.set(image, source);
            }
        });
        if (s.file === "e2e/stack.yaml") {
            it("prebuilt app images pinned by digest keep their digests", () => {
                const images = allImages(mirrored);
                for (const [name, d] of [["api", "1"], ["frontend", "2"], ["postgres", "3"]]) {
                    assert.ok(images.includes(`${MIRROR}/herd/${name}@sha256:${d.repeat(64)}`), name);
                }
            });
        }
        if (s.stack === "aws") {
            it("the cluster-autoscaler Helm release's image comes from the mirror too", () => {
                const release = mirrored.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release");
                const image = (release?.inputs["values"] as { image: { repository: string } }).image;
                assert.equal(image.repository, `${MIRROR}/autoscaling/cluster-autoscaler`);
            });
        }
        it("with the key empty, the render is the same as without it", async () => {
            const empty = await evaluateStack({ stack: s.stack, configFile: withMirror(s.file, "") });
            assert.deepEqual(buildManifests(empty).manifests, buildManifests(plain).manifests);
        });
    });
}
