/**
 * Pulumi.yaml, config/ and the README describe the same keys with the same types, defaults and descriptions,
 * and Pulumi.yaml's runtime options keep `pulumi up` fast without ever running stale compiled code.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { KEYS, KEY_NAMES, KeySpec } from "../config";
import { configMarkdown } from "../scripts/config-reference";
import { PROJECT_DIR } from "./helpers";

const project = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
    name: string;
    main?: string;
    runtime: { name: string; options?: Record<string, unknown> };
    template?: { description?: string; config?: Record<string, { description?: string; default?: unknown }> };
    config: Record<string, { type: string; default?: unknown; description?: string; secret?: boolean; items?: { type: string } }>;
};

describe("Pulumi.yaml config schema agrees with config/", () => {
    it("declares exactly the keys config/ reads, in the same order", () => {
        assert.deepEqual(Object.keys(project.config), KEY_NAMES);
    });
    for (const key of KEY_NAMES) {
        const spec: KeySpec = KEYS[key];
        it(`herd:${key}: same type, default and description`, () => {
            const decl = project.config[key];
            assert.equal(decl.type, spec.type);
            if (spec.type === "array") {
                assert.deepEqual(decl.items, { type: "string" });
            }
            assert.deepEqual(decl.default, spec.default, "defaults live in config/; Pulumi.yaml must say the same");
            assert.equal(decl.description, spec.description);
            // The CLI rejects a declared-secret key whose (default) value is plaintext, so optional secrets are not
            // declared `secret: true`; config/ insists on --secret itself (see tests/config.test.ts).
            assert.equal(decl.secret, undefined);
        });
    }
    it("every default satisfies its own schema", () => {
        for (const key of KEY_NAMES) {
            const spec: KeySpec = KEYS[key];
            if (spec.default === undefined) {
                continue;
            }
            const raw = Array.isArray(spec.default) ? JSON.stringify(spec.default) : String(spec.default);
            assert.ok(spec.schema.safeParse(raw).success, `default of herd:${key} fails its own schema`);
        }
    });
    it("only herd:platform is required (no default)", () => {
        assert.deepEqual(KEY_NAMES.filter((k) => KEYS[k].default === undefined), ["platform"]);
    });
});

describe("Pulumi.yaml runtime", () => {
    it("is project herd on nodejs, entering through main.cjs", () => {
        assert.equal(project.name, "herd");
        assert.equal(project.runtime.name, "nodejs");
        assert.equal(project.main, "main.cjs");
    });
    it("skips ts-node (and its type-check on every run); the type-check is in the test command", () => {
        assert.equal(project.runtime.options?.["typescript"], false);
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as {
            dependencies: Record<string, string>;
            scripts: Record<string, string>;
        };
        assert.ok(pkg.dependencies["esbuild"] !== undefined, "esbuild is a runtime dependency: pulumi up transpiles with it");
        assert.match(pkg.scripts["test"], /^bash scripts\/setup\.sh --check && npm run typecheck && /, "a set-up check, then the type-check, run first");
        assert.match(pkg.scripts["typecheck"], /tsc -p tsconfig\.json --noEmit/);
    });
});

describe("README config reference", () => {
    it("is the table config-reference prints (regenerate with npm run --silent config-reference -- --markdown)", () => {
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        const begin = readme.indexOf("<!-- config-reference:begin -->");
        const end = readme.indexOf("<!-- config-reference:end -->");
        assert.ok(begin >= 0 && end > begin, "README has the config-reference markers");
        assert.equal(readme.slice(begin, end).split("\n").slice(1).join("\n").trim(), configMarkdown().trim());
    });
});

describe("Pulumi.yaml template (pulumi new from this repository)", () => {
    it("has a description and asks only for herd keys, with defaults config/ accepts", () => {
        assert.ok((project.template?.description ?? "").length > 10, "template.description");
        const asked = Object.entries(project.template?.config ?? {});
        assert.ok(asked.length > 0, "template.config asks for at least the platform");
        assert.ok(asked.some(([k]) => k === "herd:platform"), "the platform is asked for");
        for (const [key, decl] of asked) {
            assert.match(key, /^herd:/, `${key}: a herd: key`);
            const name = key.slice("herd:".length) as keyof typeof KEYS;
            assert.ok(Object.prototype.hasOwnProperty.call(KEYS, name), `${key}: a key config/ reads`);
            assert.ok((decl.description ?? "") !== "", `${key}: has a description`);
            if (decl.default !== undefined) {
                assert.ok((KEYS[name] as KeySpec).schema.safeParse(String(decl.default)).success, `${key}: default ${String(decl.default)} is valid`);
            }
        }
    });
});
