/**
 * The three stack files shipped with herd validate, and any herd: value of the wrong type or any unknown herd: key
 * in any of them is rejected, naming the key, with nothing written.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { ConfigError, KEYS, KeyName, KeySpec, parseConfig } from "../config";
import { readStackConfig } from "../offline/stack-config";
import { PROJECT_DIR, runCommand, tempDir, writeStackFile } from "./helpers";

const STACKS = ["aws", "gcp", "onprem"] as const;

function stackFileConfig(stack: string): Record<string, unknown> {
    const doc = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return doc.config;
}

/** A value of the wrong type for a key, as it could be written in a stack file. */
function wrongTypeFor(spec: KeySpec): unknown {
    return spec.type === "array" ? "not-a-list" : { wrong: "type" };
}

function rejects(stack: string, config: Record<string, unknown>): ConfigError {
    const raw = readStackConfig({ stack, configFile: writeStackFile(config) });
    try {
        parseConfig(raw);
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err;
    }
    assert.fail("expected the config to be rejected");
}

for (const stack of STACKS) {
    describe(`Pulumi.${stack}.yaml`, () => {
        it(`validates and selects platform ${stack}`, () => {
            const cfg = parseConfig(readStackConfig({ stack }));
            assert.equal(cfg.platform, stack);
            assert.equal(cfg.stack, stack);
        });

        const keys = Object.keys(stackFileConfig(stack)).filter((k) => k.startsWith("herd:"));
        for (const fullKey of keys) {
            const key = fullKey.slice("herd:".length) as KeyName;
            it(`rejects a wrong-typed ${fullKey}, naming it`, () => {
                const spec: KeySpec = KEYS[key];
                const err = rejects(stack, { ...stackFileConfig(stack), [fullKey]: wrongTypeFor(spec) });
                assert.ok(err.problems.some((p) => p.key === fullKey), `${fullKey} not named in:\n${err.message}`);
            });
        }

        it("rejects an unknown herd: key with a suggestion", () => {
            const err = rejects(stack, { ...stackFileConfig(stack), "herd:namespaces": "x" });
            assert.match(err.message, /herd:namespaces: unknown key; did you mean herd:namespace\?/);
        });

        it("the manifests command exits non-zero, prints every problem and writes nothing", async () => {
            const file = writeStackFile({ ...stackFileConfig(stack), "herd:platfrom": stack, "herd:namespace": ["not", "a", "string"] });
            const out = path.join(tempDir(), "out");
            const result = await runCommand("manifests", ["--stack", stack, "--config-file", file, "--out", out]);
            assert.equal(result.status, 1, result.stderr);
            assert.match(result.stderr, /herd:platfrom: unknown key; did you mean herd:platform\?/);
            assert.match(result.stderr, /herd:namespace: expected a string, got a list/);
            assert.equal(fs.existsSync(out), false, "nothing written");
        });
    });
}

describe("stack files never hold a plaintext secret", () => {
    for (const stack of STACKS) {
        it(`Pulumi.${stack}.yaml`, () => {
            const config = stackFileConfig(stack);
            for (const [key, value] of Object.entries(config)) {
                const spec = (KEYS as Record<string, KeySpec>)[key.replace(/^herd:/, "")];
                if (spec?.secret === true) {
                    assert.ok(typeof value === "object" && value !== null && "secure" in value, `${key} must be a secure value`);
                }
            }
        });
    }
});
