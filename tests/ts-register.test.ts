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

describe("ts-register.cjs: V8 code cache", () => {
    /** Counts from HERD_CODE_CACHE_DEBUG's line on stderr. */
    function counts(stderr: string): { hits: number; misses: number; rejected: number; written: number; toNode: number } {
        const m = /herd code cache: (\d+) hits, (\d+) misses, (\d+) rejected, (\d+) written, (\d+) left to Node/.exec(stderr);
        assert.ok(m, `no code cache counts in: ${stderr}`);
        return { hits: Number(m[1]), misses: Number(m[2]), rejected: Number(m[3]), written: Number(m[4]), toNode: Number(m[5]) };
    }
    const v8Files = (cache: string) => fs.readdirSync(cache).filter((f) => f.endsWith(".v8"));

    /**
     * A package under node_modules that exercises what Node's loader hands a module, a herd .ts file that uses it and
     * throws at a line > 1, and a script printing what both saw. Returns the script.
     */
    function fixture(dir: string): string {
        const pkg = path.join(dir, "node_modules", "dep");
        fs.mkdirSync(path.join(pkg, "lib"), { recursive: true });
        fs.mkdirSync(path.join(dir, "node_modules", "esm-only"), { recursive: true });
        fs.writeFileSync(path.join(dir, "node_modules", "esm-only", "package.json"), JSON.stringify({ name: "esm-only", type: "module", exports: { import: "./index.js" } }));
        fs.writeFileSync(path.join(dir, "node_modules", "esm-only", "index.js"), "export const kind = 'bare esm';\n");
        fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "dep", main: "index.js" }));
        fs.writeFileSync(path.join(pkg, "lib", "helper.js"), "module.exports = { helper: true };\n");
        fs.writeFileSync(path.join(pkg, "lib", "esm.mjs"), "export const kind = 'relative esm';\n");
        // import() is written in a module of its own: a module that may call it is left to Node (see ts-register.cjs)
        fs.writeFileSync(
            path.join(pkg, "lib", "dyn.js"),
            "exports.load = async () => [(await import('./esm.mjs')).kind, (await import('esm-only')).kind, (await import('node:path')).sep];\n",
        );
        fs.writeFileSync(path.join(pkg, "lib", "one-line.js"), 'module.exports = function oneLine() { throw new Error("on line 1"); };\n');
        fs.writeFileSync(
            path.join(pkg, "index.js"),
            [
                '"use strict";',
                "const Module = require('module');",
                "exports.seen = {",
                "    thisIsExports: this === exports,",
                "    moduleExports: module.exports === exports,",
                "    filename: __filename,",
                "    dirname: __dirname,",
                "    resolved: require.resolve('./lib/helper'),",
                "    resolvedWithPaths: require.resolve('./helper', { paths: [__dirname + '/lib'] }),",
                "    lookupPaths: require.resolve.paths('anything'),",
                "    relativePaths: require.resolve.paths('./x'),",
                "    main: require.main === process.mainModule,",
                "    cache: require.cache === Module._cache,",
                "    extensions: require.extensions === Module._extensions,",
                "    helper: require('./lib/helper').helper,",
                "    viaModuleRequire: module.require('./lib/helper').helper,",
                "    cached: Object.keys(require.cache).some((k) => k.endsWith('helper.js')),",
                "    badResolve: (() => { try { require.resolve(42); } catch (e) { return e.code; } })(),",
                "};",
                "exports.load = require('./lib/dyn.js').load;",
                "exports.throwAtLine22 = function throwAtLine22() {",
                "    throw new Error('from node_modules');",
                "};",
                "exports.oneLine = require('./lib/one-line.js');",
                "",
            ].join("\n"),
        );
        const ts = path.join(dir, "program.ts");
        fs.writeFileSync(
            ts,
            [
                "type Seen = Record<string, unknown>;",
                "// eslint-disable-next-line @typescript-eslint/no-require-imports",
                "const dep: { seen: Seen; load(): Promise<string[]> } = require('dep');",
                "",
                "export const seen: Seen = dep.seen;",
                "export const load = (): Promise<string[]> => dep.load();",
                "",
                "export function fail(): never {",
                "    const why: string = 'from herd';",
                "    throw new Error(why);",
                "}",
                "",
            ].join("\n"),
        );
        const at = (fn: string) => `(() => { try { ${fn}(); } catch (e) { return e.stack.split("\\n")[1].replace(${JSON.stringify(dir)}, "<dir>"); } })()`;
        return (
            `require(${JSON.stringify(REGISTER)}); const p = require(${JSON.stringify(ts)}); const dep = require(${JSON.stringify(pkg)});` +
            `p.load().then((loaded) => console.log(JSON.stringify({ seen: p.seen, loaded, herd: ${at("p.fail")}, dep: ${at("dep.throwAtLine22")}, one: ${at("dep.oneLine")} })))`
        );
    }

    it("a warm run compiles nothing and gives the same results, stack positions and require as Node's own loader", () => {
        const dir = tempDir();
        const cache = path.join(dir, "cache");
        const script = fixture(dir);
        const env = { HERD_TS_CACHE_DIR: cache, HERD_CODE_CACHE_DEBUG: "1" };
        // Node's own _compile first; it also fills the transpile cache, so that esbuild is loaded in no later run.
        const native = node(script, { HERD_TS_CACHE_DIR: cache, HERD_NO_CODE_CACHE: "1" });
        assert.equal(native.status, 0, native.stderr);
        const cold = node(script, env);
        assert.equal(cold.status, 0, cold.stderr);
        const c = counts(cold.stderr);
        assert.equal(c.hits, 0);
        assert.equal(c.misses, 4, "program.ts, dep/index.js, lib/helper.js, lib/one-line.js");
        assert.equal(c.written, 4);
        assert.equal(c.toNode, 1, "lib/dyn.js calls import()");
        assert.equal(v8Files(cache).length, 4);
        const warm = node(script, env);
        assert.equal(warm.status, 0, warm.stderr);
        assert.deepEqual(counts(warm.stderr), { hits: 4, misses: 0, rejected: 0, written: 0, toNode: 1 });
        assert.equal(warm.stdout, cold.stdout);
        assert.doesNotMatch(warm.stderr + cold.stderr, /Warning/);
        assert.equal(warm.stdout, native.stdout, "what the modules see is what Node's _compile gives them");
        const out = JSON.parse(warm.stdout) as { seen: Record<string, unknown>; loaded: string[]; herd: string; dep: string; one: string };
        assert.deepEqual(out.loaded, ["relative esm", "bare esm", path.sep]);
        assert.equal(out.seen.badResolve, "ERR_INVALID_ARG_TYPE");
        assert.match(out.herd, /at (Object\.)?fail \(<dir>[\\/]program\.ts:10:\d+\)$/);
        assert.match(out.dep, /at (Object\.)?throwAtLine22 \(<dir>[\\/]node_modules[\\/]dep[\\/]index\.js:22:11\)$/);
        assert.match(out.one, /one-line\.js:1:45\)$/, "columns on line 1 are not shifted by the module wrapper");
    });

    it("the onprem program evaluates to the same resources from a cold and a warm code cache", () => {
        const cache = path.join(tempDir(), "cache");
        const script =
            `require(${JSON.stringify(REGISTER)}); require("./offline/evaluate.ts").evaluateStack({ stack: "onprem" })` +
            `.then((e) => console.log(JSON.stringify({ resources: e.resources, outputs: e.outputs })))`;
        const env = { HERD_TS_CACHE_DIR: cache, HERD_CODE_CACHE_DEBUG: "1" };
        assert.equal(node(script, { HERD_TS_CACHE_DIR: cache, HERD_NO_CODE_CACHE: "1" }).status, 0, "fills the transpile cache (esbuild is loaded only on a miss)");
        const cold = node(script, env);
        assert.equal(cold.status, 0, cold.stderr);
        const warm = node(script, env);
        assert.equal(warm.status, 0, warm.stderr);
        assert.ok(cold.stdout.length > 1000);
        assert.equal(warm.stdout, cold.stdout);
        const c = counts(cold.stderr);
        assert.ok(c.misses > 500 && c.written === c.misses, JSON.stringify(c));
        assert.deepEqual(counts(warm.stderr), { hits: c.misses, misses: 0, rejected: 0, written: 0, toNode: c.toNode });
    });

    it("ignores a damaged or mismatched cache file, and replaces it", () => {
        const dir = tempDir();
        const cache = path.join(dir, "cache");
        const script = fixture(dir);
        const env = { HERD_TS_CACHE_DIR: cache, HERD_CODE_CACHE_DEBUG: "1" };
        assert.equal(node(script, { HERD_TS_CACHE_DIR: cache, HERD_NO_CODE_CACHE: "1" }).status, 0);
        const cold = node(script, env);
        assert.equal(cold.status, 0, cold.stderr);
        const files = v8Files(cache)
            .map((f) => path.join(cache, f))
            .sort((a, b) => fs.statSync(a).size - fs.statSync(b).size);
        assert.equal(files.length, 4);
        const [small, , , large] = files;
        const flipped = fs.readFileSync(files[1]);
        flipped[flipped.length - 5] ^= 0xff; // V8 itself would take this (it checks no checksum in release builds)
        fs.writeFileSync(files[1], flipped);
        fs.writeFileSync(files[2], fs.readFileSync(files[2]).subarray(0, 20)); // truncated
        fs.copyFileSync(large, small); // intact, but another module's code: V8 rejects it
        const damaged = node(script, env);
        assert.equal(damaged.status, 0, damaged.stderr);
        assert.equal(damaged.stdout, cold.stdout);
        assert.deepEqual(counts(damaged.stderr), { hits: 1, misses: 2, rejected: 1, written: 3, toNode: 1 });
        const repaired = node(script, env);
        assert.deepEqual(counts(repaired.stderr), { hits: 4, misses: 0, rejected: 0, written: 0, toNode: 1 });
        assert.equal(repaired.stdout, cold.stdout);
    });

    it("HERD_NO_CODE_CACHE=1 turns it off", () => {
        const dir = tempDir();
        const cache = path.join(dir, "cache");
        const r = node(fixture(dir), { HERD_TS_CACHE_DIR: cache, HERD_NO_CODE_CACHE: "1", HERD_CODE_CACHE_DEBUG: "1" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(v8Files(cache).length, 0);
        assert.doesNotMatch(r.stderr, /herd code cache/);
        assert.ok(fs.readdirSync(cache).length > 0, "the transpile cache still works");
    });
});
