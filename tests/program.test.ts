/** The whole program, per stack file, evaluated offline. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evaluateStack } from "./harness/evaluate";
import { buildManifests } from "./harness/manifests";

describe("stack onprem (Pulumi.onprem.yaml)", () => {
    it("evaluates to schema-valid manifests in the restricted app namespace", async () => {
        const e = await evaluateStack({ stack: "onprem" });
        const { manifests } = buildManifests(e);
        const ns = manifests.find((m) => m.kind === "Namespace");
        assert.equal(ns?.metadata.name, "herd");
        assert.equal((ns?.metadata["labels"] as Record<string, string>)["pod-security.kubernetes.io/enforce"], "restricted");
        const sc = manifests.find((m) => m.kind === "StorageClass");
        assert.equal(sc?.["provisioner"], "driver.longhorn.io");
        assert.equal(sc?.["reclaimPolicy"], "Retain");
    });
    it("exports the platform and the app namespace", async () => {
        const e = await evaluateStack({ stack: "onprem" });
        assert.deepEqual(e.outputs["app"], { namespace: "herd" });
        assert.deepEqual(e.outputs["platform"], {
            platform: "onprem",
            kubeContext: "customer-prod",
            storageClass: "herd-retain",
            images: "registry.customer.internal:5000/herd",
            exposure: "ingress (nginx)",
            backups: "s3://herd-backups",
            renderDirectory: "",
        });
    });
    it("every resource has a parent chain under a herd component or the stack, with no duplicates", async () => {
        const e = await evaluateStack({ stack: "onprem" });
        const seen = new Set<string>();
        for (const r of e.resources) {
            const key = `${r.type}::${r.name}`;
            assert.ok(!seen.has(key), `duplicate ${key}`);
            seen.add(key);
        }
    });
});

for (const stack of ["aws", "gcp"]) {
    describe(`stack ${stack} (Pulumi.${stack}.yaml)`, () => {
        it("passes config validation, then stops with the not-implemented error", async () => {
            await assert.rejects(evaluateStack({ stack }), new RegExp(`platform ${stack} is not implemented yet: the stack's configuration is valid`));
        });
    });
}

describe("examples/local-kind.yaml (onprem against a local kind cluster)", () => {
    it("evaluates to schema-valid manifests using kind's existing StorageClass", async () => {
        const e = await evaluateStack({ stack: "onprem", configFile: "examples/local-kind.yaml" });
        const { manifests } = buildManifests(e);
        assert.equal(manifests.filter((m) => m.kind === "StorageClass").length, 0, "no StorageClass created: kind's 'standard' is used");
        const sts = manifests.find((m) => m.kind === "StatefulSet");
        const claims = (sts?.["spec"] as { volumeClaimTemplates: { spec: { storageClassName: string } }[] }).volumeClaimTemplates;
        assert.equal(claims[0].spec.storageClassName, "standard");
        assert.equal((e.outputs["platform"] as Record<string, unknown>)["storageClass"], "standard");
    });
});
