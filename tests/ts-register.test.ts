/**
 * The loader Pulumi runs herd through (main.cjs -> ts-register.cjs): it loads TypeScript from source, never runs
 * stale output (both caches, transpiled code and V8's compiled code, are keyed by content), leaves node_modules'
 * source alone, and yields the program function.
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

    it("captures no stack for the promises @pulumi/pulumi records, unless PULUMI_DEBUG_PROMISE_LEAKS asks for it", () => {
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

    it("keeps its stack formatting in Pulumi's order: loaded by nodeargs, then run.js's source-map-support, then main.cjs", () => {
        // @pulumi/pulumi's cmd/run/index.js requires source-map-support/register, whose formatter replaces any before it.
        const dir = tempDir();
        const file = path.join(dir, "where.ts");
        fs.writeFileSync(file, "type T = string;\n\nexport function where(): T | undefined {\n    return new Error('here').stack;\n}\n");
        const script =
            `require("source-map-support/register"); require(${JSON.stringify(path.join(PROJECT_DIR, "main.cjs"))});` +
            `const d = require("@pulumi/pulumi/runtime/debuggable"); const p = Promise.resolve(1); d.debuggablePromise(p, "ctx");` +
            `console.log(JSON.stringify([p._debugStackTrace, require(${JSON.stringify(file)}).where().split("\\n")[1]]))`;
        const r = spawnSync(process.execPath, ["--require", "./ts-register.cjs", "-e", script], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
            env: { ...process.env, PULUMI_DEBUG_PROMISE_LEAKS: "", HERD_TS_CACHE_DIR: path.join(dir, "cache") },
            timeout: 60_000,
        });
        assert.equal(r.status, 0, r.stderr);
        const [promiseStack, frame] = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "[]") as [string, string];
        assert.equal(promiseStack, "Error", "the per-promise stack is still not captured");
        assert.match(frame, /where\.ts:4:/, "herd's frames still point at the TypeScript");
    });

    it("is what Pulumi.yaml's nodeargs loads first", () => {
        const project = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8");
        assert.match(project, /^\s+nodeargs: "--require \.\/ts-register\.cjs"$/m);
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

    describe("V8 code cache", () => {
        /** A fresh code cache directory and a CommonJS module in a temp dir, loaded through the loader. */
        function setup(source: string) {
            const dir = tempDir();
            const cacheDir = path.join(dir, "v8");
            const file = path.join(dir, "mod.js");
            fs.writeFileSync(file, source);
            // A file this new would be keyed by its content (see codeCacheKey): 0 keys it by inode and change times,
            // as every file in node_modules is, so the runs of a test agree on the key whatever the time between them.
            const run = (env: Record<string, string> = {}) =>
                node(`require(${JSON.stringify(REGISTER)}); Promise.resolve(require(${JSON.stringify(file)}).value()).then((v) => console.log(v))`, {
                    HERD_CODE_CACHE_DIR: cacheDir,
                    HERD_CODE_CACHE_STAT_AGE_MS: "0",
                    ...env,
                });
            const entries = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).map((f) => path.join(cacheDir, f)) : []);
            /** Waits (up to 20 s) until `done` holds: for what the detached verifying child writes after a run. */
            const waitFor = (done: () => boolean) => {
                const deadline = Date.now() + 20_000;
                while (!done() && Date.now() < deadline) {
                    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
                }
            };
            return { file, run, entries, waitFor };
        }

        it("is written at exit and reused by the next process, with the same result", () => {
            const m = setup("exports.value = () => [1, 2, 3].map((n) => n * 2).join(',');\n");
            assert.equal(m.run().stdout, "2,4,6");
            const written = m.entries();
            assert.ok(written.length >= 1, "the first run wrote the module's entry");
            const mtimes = written.map((f) => fs.statSync(f).mtimeMs);
            assert.equal(m.run().stdout, "2,4,6");
            assert.deepEqual(m.entries().map((f) => fs.statSync(f).mtimeMs), mtimes, "an accepted entry is not rewritten");
        });

        it("never runs stale code: an edit of the same length (which V8's own check would accept) gets a new entry", () => {
            const m = setup("exports.value = () => 'old';\n");
            assert.equal(m.run().stdout, "old");
            fs.writeFileSync(m.file, "exports.value = () => 'new';\n");
            assert.equal(m.run().stdout, "new", "keyed by inode and change times: the write changed ctime");
            // With the default age rule a file changed this recently is keyed by its content: same result.
            fs.writeFileSync(m.file, "exports.value = () => 'nu2';\n");
            assert.equal(m.run({ HERD_CODE_CACHE_STAT_AGE_MS: "3000" }).stdout, "nu2", "keyed by content");
            fs.writeFileSync(m.file, "exports.value = () => 'nu3';\n");
            assert.equal(m.run({ HERD_CODE_CACHE_STAT_AGE_MS: "3000" }).stdout, "nu3", "keyed by content");
        });

        it("rejects a corrupt entry, compiles afresh and rewrites it", () => {
            const m = setup("exports.value = () => 'fine';\n");
            assert.equal(m.run().stdout, "fine");
            for (const f of m.entries()) {
                fs.writeFileSync(f, "not a code cache");
            }
            const r = m.run();
            assert.equal(r.stdout, "fine", r.stderr);
            assert.ok(
                m.entries().every((f) => fs.readFileSync(f, "utf8") !== "not a code cache"),
                "the rejected entries were replaced",
            );
        });

        it("keeps a leading #! line and require.resolve working in a cached module", () => {
            const m = setup("#!/usr/bin/env node\nexports.value = () => (require.resolve('node:fs') === 'node:fs' && require('node:path').sep === '/' ? 'ok' : 'bad');\n");
            for (let i = 0; i < 2; i++) {
                const r = m.run();
                assert.equal(r.stdout, "ok", r.stderr);
            }
            assert.ok(m.entries().length >= 1, "the module was cached");
        });

        it("leaves a module that may call import() to Node, so import() works in every run (Node 20 loses it from a cached script)", () => {
            const m = setup("exports.value = async () => (await import('node:path')).basename('/a/ok');\n");
            for (let i = 0; i < 2; i++) {
                const r = m.run();
                assert.equal(r.stdout, "ok", r.stderr);
                assert.doesNotMatch(r.stderr, /ExperimentalWarning/);
                m.waitFor(() => !m.entries().some((f) => f.endsWith(".json"))); // the verifying child is done
            }
            const markers = m.entries();
            assert.deepEqual(markers.map((f) => path.extname(f)), [".dynamic"], "not cached, and marked: esbuild found the import()");
            const marked = fs.statSync(markers[0]!);
            assert.equal(m.run().stdout, "ok");
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500); // time for a verifying child, were one started
            assert.deepEqual(m.entries(), markers, "nothing else written");
            assert.equal(fs.statSync(markers[0]!).ino, marked.ino, "the verdict stands: no run parses it again");
        });

        it("caches a module that only mentions import( in a string or comment, once esbuild has parsed it", () => {
            const m = setup("// see import(x) in the docs\nexports.value = () => 'import(' + 'mentioned)';\n");
            assert.equal(m.run().stdout, "import(mentioned)");
            // A detached child parses it after the run has exited.
            m.waitFor(() => m.entries().some((f) => f.endsWith(".static")));
            assert.ok(m.entries().some((f) => f.endsWith(".static")), "after the first run, esbuild parsed it and found no import()");
            assert.ok(!m.entries().some((f) => f.endsWith(".json")), "the background child removed its list");
            assert.equal(m.run().stdout, "import(mentioned)");
            assert.ok(m.entries().some((f) => !f.endsWith(".static")), "the second run cached its code");
            assert.equal(m.run().stdout, "import(mentioned)");
        });

        it("stays bounded: past HERD_CACHE_MAX_ENTRIES files the oldest half goes, and the run still works", () => {
            const m = setup("exports.value = () => 'bounded';\n");
            const dir = path.dirname(m.file);
            const cacheDir = path.join(dir, "v8");
            fs.mkdirSync(cacheDir, { recursive: true });
            for (let i = 0; i < 30; i++) {
                const f = path.join(cacheDir, `old-${String(i).padStart(2, "0")}`);
                fs.writeFileSync(f, "stale");
                fs.utimesSync(f, 1_000_000 + i, 1_000_000 + i);
            }
            assert.equal(m.run({ HERD_CACHE_MAX_ENTRIES: "20" }).stdout, "bounded");
            const left = fs.readdirSync(cacheDir);
            assert.ok(left.length <= 11, `at most 10 old entries and the new one: ${left.length}`);
            assert.ok(!left.includes("old-00") && left.includes("old-29"), "the oldest went, the newest stayed");
        });

        it("is off with HERD_CODE_CACHE=off", () => {
            const m = setup("exports.value = () => 'plain';\n");
            assert.equal(m.run({ HERD_CODE_CACHE: "off" }).stdout, "plain");
            assert.deepEqual(m.entries(), []);
        });

        it("works when the cache cannot be written", () => {
            const m = setup("exports.value = () => 'still';\n");
            const r = m.run({ HERD_CODE_CACHE_DIR: path.join(m.file, "not-a-directory") });
            assert.equal(r.stdout, "still", r.stderr);
            assert.equal(r.status, 0);
        });
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
