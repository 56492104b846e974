/**
 * The loader Pulumi runs herd through (main.cjs -> ts-register.cjs): it loads TypeScript from source, never runs
 * stale output (the cache is keyed by content), leaves node_modules alone, and yields the program function.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { PROJECT_DIR, tempDir } from "./helpers";

const REGISTER = path.join(PROJECT_DIR, "ts-register.cjs");

/** Runs plain node (no tsx) with the loader, like Pulumi's language host does through main.cjs. */
function node(script: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, ["-e", script], { cwd: PROJECT_DIR, encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

describe("ts-register.cjs", () => {
    it("main.cjs hands Pulumi the program function exported by index.ts", () => {
        const r = node(`const p = require(${JSON.stringify(path.join(PROJECT_DIR, "main.cjs"))}); console.log(typeof p)`);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "function");
    });

    it("never runs stale output: an edited file is transpiled afresh, in a new process, with a warm cache", () => {
        const dir = tempDir();
        const cache = path.join(dir, "cache");
        const file = path.join(dir, "answer.ts");
        const load = `require(${JSON.stringify(REGISTER)}); console.log(require(${JSON.stringify(file)}).answer)`;
        fs.writeFileSync(file, "export const answer: number = 41;\n");
        assert.equal(node(load, { HERD_TS_CACHE_DIR: cache }).stdout, "41");
        assert.ok(fs.readdirSync(cache).length > 0, "the first load filled the cache");
        fs.writeFileSync(file, "export const answer: number = 42;\n");
        assert.equal(node(load, { HERD_TS_CACHE_DIR: cache }).stdout, "42");
        fs.writeFileSync(file, "export const answer: number = 41;\n");
        assert.equal(node(load, { HERD_TS_CACHE_DIR: cache }).stdout, "41", "going back reuses the earlier entry, still correct");
    });

    it("maps errors back to the TypeScript source lines", () => {
        const dir = tempDir();
        const file = path.join(dir, "boom.ts");
        fs.writeFileSync(file, "type T = { a: string };\nconst t: T = { a: 'x' };\n\nexport function boom(): never {\n    throw new Error(t.a);\n}\n");
        const r = node(`require(${JSON.stringify(REGISTER)}); try { require(${JSON.stringify(file)}).boom() } catch (e) { console.log(e.stack.split("\\n")[1]) }`, {
            HERD_TS_CACHE_DIR: path.join(dir, "cache"),
        });
        assert.match(r.stdout, /boom\.ts:5:/);
    });

    it("does not transpile JavaScript (node_modules load natively)", () => {
        const r = node(`require(${JSON.stringify(REGISTER)}); console.log(Object.keys(require.extensions).join(","))`);
        assert.equal(r.stdout, ".js,.json,.node,.ts");
    });

    it("works when the cache cannot be written, just without caching", () => {
        const dir = tempDir();
        const file = path.join(dir, "ro.ts");
        fs.writeFileSync(file, "export const ok: boolean = true;\n");
        const r = node(`require(${JSON.stringify(REGISTER)}); console.log(require(${JSON.stringify(file)}).ok)`, {
            HERD_TS_CACHE_DIR: path.join(file, "not-a-directory"), // under a regular file: mkdir fails (even as root)
        });
        assert.equal(r.stdout, "true", r.stderr);
    });

    it("leaves no compiled .js beside the sources that node could pick up instead of the .ts", () => {
        for (const dir of ["", "platform", "components"]) {
            for (const f of fs.readdirSync(path.join(PROJECT_DIR, dir))) {
                if (f.endsWith(".ts")) {
                    assert.equal(fs.existsSync(path.join(PROJECT_DIR, dir, f.replace(/\.ts$/, ".js"))), false, `${dir}/${f} has a .js twin`);
                }
            }
        }
    });
});
