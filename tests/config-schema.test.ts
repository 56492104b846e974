/**
 * Pulumi.yaml, config.ts and the README describe the same keys with the same types, defaults and descriptions,
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
    config: Record<string, { type: string; default?: unknown; description?: string; secret?: boolean; items?: { type: string } }>;
};

describe("Pulumi.yaml config schema agrees with config.ts", () => {
    it("declares exactly the keys config.ts reads, in the same order", () => {
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
            assert.deepEqual(decl.default, spec.default, "defaults live in config.ts; Pulumi.yaml must say the same");
            assert.equal(decl.description, spec.description);
            // The CLI rejects a declared-secret key whose (default) value is plaintext, so optional secrets are not
            // declared `secret: true`; config.ts insists on --secret itself (see tests/config.test.ts).
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
    it("is project herd on nodejs, entry index.ts", () => {
        assert.equal(project.name, "herd");
        assert.equal(project.runtime.name, "nodejs");
        assert.equal(project.main, "index.ts");
    });
    it("skips ts-node's type-check on every run and loads TypeScript from source with tsx", () => {
        assert.equal(project.runtime.options?.["typescript"], false);
        assert.equal(project.runtime.options?.["nodeargs"], "--import tsx");
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as {
            dependencies: Record<string, string>;
            scripts: Record<string, string>;
        };
        assert.ok(pkg.dependencies["tsx"] !== undefined, "tsx is a runtime dependency, not a dev one: pulumi up needs it");
        assert.match(pkg.scripts["test"], /tsc -p tsconfig\.json --noEmit|npm run typecheck/, "the type-check moved into the test command");
    });
    it("has no compiled output lying around that could be run instead of the source", () => {
        assert.equal(fs.existsSync(path.join(PROJECT_DIR, "index.js")), false);
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
