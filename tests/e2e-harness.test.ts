/**
 * The pure parts of `npm run e2e` (e2e/engine.ts), offline: how it reads the build scripts' output, which warnings of
 * a pulumi run fail it, and how it finds every secret in a `pulumi stack export --show-secrets` document, so a
 * secret that leaks into the state or the handoff bundle cannot slip past it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lastingWarnings, parseKv, secretPlaintexts } from "../e2e/engine";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";

describe("e2e engine helpers", () => {
    it("reads KEY=value lines from a build script and ignores the rest", () => {
        const kv = parseKv("e2e/build-pulumi.sh: cached pulumi\nPULUMI_BIN_DIR=/c/bin-3.248.0\nPLUGIN_kubernetes=4.34.2 /c/k/pulumi-resource-kubernetes\n");
        assert.equal(kv.get("PULUMI_BIN_DIR"), "/c/bin-3.248.0");
        assert.equal(kv.get("PLUGIN_kubernetes"), "4.34.2 /c/k/pulumi-resource-kubernetes");
        assert.equal(kv.size, 2);
    });

    it("a run's Diagnostics warnings and any Pod Security warning fail it; the provider's progress lines do not", () => {
        const progress = [
            " +  kubernetes:apps/v1:Deployment api creating (0s) warning: [MinimumReplicasUnavailable] Deployment does not have minimum availability.",
            "Resources:",
            "    + 55 created",
        ].join("\n");
        assert.deepEqual(lastingWarnings(progress), []);
        const diagnostics = [
            "Diagnostics:",
            "  kubernetes:apps/v1:Deployment (api):",
            '    warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false',
            "",
            "Resources:",
        ].join("\n");
        assert.equal(lastingWarnings(diagnostics).length, 1);
        assert.match(lastingWarnings(diagnostics)[0], /PodSecurity/);
        assert.equal(lastingWarnings("warning: policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+").length, 1);
    });

    it("finds every secret plaintext in an export, nested objects and JSON-encoded values included", () => {
        const exported = {
            deployment: {
                resources: [
                    { outputs: { result: { [SIG]: SECRET, plaintext: JSON.stringify("generated-password-1") } } },
                    { outputs: { stringData: { [SIG]: SECRET, plaintext: JSON.stringify({ password: "generated-password-2", user: "herd" }) } } },
                    { outputs: { short: { [SIG]: SECRET, plaintext: JSON.stringify("abc") } } },
                    { outputs: { name: "not-a-secret-value" } },
                ],
            },
        };
        const found = new Set<string>();
        secretPlaintexts(exported, found);
        assert.deepEqual([...found].sort(), ["generated-password-1", "generated-password-2"], "secrets of 8+ characters; short values could match anything");
    });
});
