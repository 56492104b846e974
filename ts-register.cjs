"use strict";
/**
 * How herd's TypeScript is loaded at `pulumi up`/`preview` (Pulumi.yaml: typescript false, main: main.cjs).
 *
 * A require hook for .ts files only: each file is transpiled with esbuild (no type-check; `npm test` runs tsc) and
 * the output is cached under node_modules/.cache/herd-ts, keyed by a hash of the file's path and CONTENT. A cached
 * entry can therefore never be stale: an edited file has a new key and is transpiled afresh. JavaScript in
 * node_modules loads natively, untouched, which is what keeps start-up close to importing @pulumi/pulumi alone.
 */
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

// HERD_TS_CACHE_DIR moves the cache (the benchmark uses it to measure a cold start).
const CACHE_DIR = process.env.HERD_TS_CACHE_DIR ?? path.join(__dirname, "node_modules", ".cache", "herd-ts");
const OPTIONS = { loader: "ts", format: "cjs", target: "node20", sourcemap: "inline" };
let esbuild; // loaded only on a cache miss
let salt;

function cacheSalt() {
    if (salt === undefined) {
        // The transpiler's version and options are part of the key: upgrading esbuild invalidates every entry.
        const version = JSON.parse(fs.readFileSync(require.resolve("esbuild/package.json"), "utf8")).version;
        salt = `${version}\0${JSON.stringify(OPTIONS)}`;
    }
    return salt;
}

function transpile(source, filename) {
    const key = crypto.createHash("sha256").update(cacheSalt()).update("\0").update(filename).update("\0").update(source).digest("hex");
    const cached = path.join(CACHE_DIR, `${key}.js`);
    try {
        return fs.readFileSync(cached, "utf8");
    } catch {
        // miss: transpile below
    }
    esbuild ??= require("esbuild");
    const { code } = esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename });
    try {
        fs.mkdirSync(CACHE_DIR, { recursive: true });
        const tmp = `${cached}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, code);
        fs.renameSync(tmp, cached); // atomic: a concurrent run never reads half a file
    } catch {
        // a read-only checkout still works, just without the cache
    }
    return code;
}

if (require.extensions[".ts"] === undefined) {
    process.setSourceMapsEnabled(true);
    require.extensions[".ts"] = function loadTypeScript(module, filename) {
        module._compile(transpile(fs.readFileSync(filename, "utf8"), filename), filename);
    };
}
