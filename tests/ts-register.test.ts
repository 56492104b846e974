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

    it("skips formatting the stack @pulumi/pulumi records per promise, unless PULUMI_DEBUG_PROMISE_LEAKS asks for it", () => {
        // debuggablePromise() stores `new Error().stack` on the promise; Pulumi prints it only for leaked promises under
        // PULUMI_DEBUG_PROMISE_LEAKS. The promise is resolved, so no leak is reported at exit.
        const script =
            `require(${JSON.stringify(REGISTER)}); require("@pulumi/pulumi"); const d = require("@pulumi/pulumi/runtime/debuggable");` +
            `const p = Promise.resolve(1); d.debuggablePromise(p, "ctx"); console.log(JSON.stringify(p._debugStackTrace))`;
        const plain = node(script, { PULUMI_DEBUG_PROMISE_LEAKS: "" });
        assert.equal(plain.status, 0, plain.stderr);
        assert.equal(JSON.parse(plain.stdout), "Error");
        const debug = node(script, { PULUMI_DEBUG_PROMISE_LEAKS: "1" });
        assert.equal(debug.status, 0, debug.stderr);
        assert.match(JSON.parse(debug.stdout) as string, /^Error\n {4}at (Object\.)?debuggablePromise \(.*debuggable\.js:\d+:\d+\)/);
    });

    it("still maps an empty Error made in a herd function that happens to be named debuggablePromise", () => {
        const dir = tempDir();
        const file = path.join(dir, "lookalike.ts");
        fs.writeFileSync(file, "type T = number;\n\nexport function debuggablePromise(): string | undefined {\n    const n: T = 1;\n    return n > 0 ? new Error().stack : undefined;\n}\n");
        const r = node(`require(${JSON.stringify(REGISTER)}); console.log(require(${JSON.stringify(file)}).debuggablePromise().split("\\n")[1])`, {
            HERD_TS_CACHE_DIR: path.join(dir, "cache"),
        });
        assert.match(r.stdout, /at (Object\.)?debuggablePromise \(.*lookalike\.ts:5:/, r.stderr);
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
