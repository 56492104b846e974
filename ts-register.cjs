"use strict";
/**
 * How herd's TypeScript is loaded at `pulumi up`/`preview` (Pulumi.yaml: typescript false, main: main.cjs).
 *
 * A require hook for .ts files only: each file is transpiled with esbuild (no type-check; `npm test` runs tsc) and
 * the output is cached under node_modules/.cache/herd-ts, keyed by a hash of the file's path and CONTENT. A cached
 * entry can therefore never be stale: an edited file has a new key and is transpiled afresh. JavaScript in
 * node_modules loads natively, untouched, which is what keeps start-up close to importing @pulumi/pulumi alone.
 *
 * Stack traces point at the TypeScript: frames in herd's files are mapped through their source maps when an error's
 * stack is formatted. (Node's own --enable-source-maps would do it too, but it parses the source map of every module
 * loaded, node_modules included: ~100 ms on every run.)
 *
 * One kind of stack is not formatted at all: @pulumi/pulumi's debuggablePromise() records `new Error().stack` for
 * every promise it creates (~50 per resource, thousands per run: formatting them was the largest single cost of an
 * evaluation) and reads that string back only to print leaked promises under PULUMI_DEBUG_PROMISE_LEAKS. Without that
 * variable such a stack is just "Error"; with it, every stack is formatted as before.
 */
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { SourceMap } = require("node:module");

// HERD_TS_CACHE_DIR moves the cache (the benchmark uses it to measure a cold start).
const CACHE_DIR = process.env.HERD_TS_CACHE_DIR ?? path.join(__dirname, "node_modules", ".cache", "herd-ts");
const OPTIONS = { loader: "ts", format: "cjs", target: "node20", sourcemap: "external" };
let esbuild; // loaded only on a cache miss
let salt;
/** filename -> its source map: the JSON text, or the cache file holding it. Parsed only when a stack needs it. */
const maps = new Map();

function cacheSalt() {
    if (salt === undefined) {
        // The transpiler's version and options are part of the key: upgrading esbuild invalidates every entry.
        const version = JSON.parse(fs.readFileSync(require.resolve("esbuild/package.json"), "utf8")).version;
        salt = `${version}\0${JSON.stringify(OPTIONS)}`;
    }
    return salt;
}

function writeAtomically(file, text) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file); // atomic: a concurrent run never reads half a file
}

function transpile(source, filename) {
    const key = crypto.createHash("sha256").update(cacheSalt()).update("\0").update(filename).update("\0").update(source).digest("hex");
    const cached = path.join(CACHE_DIR, `${key}.js`);
    try {
        const code = fs.readFileSync(cached, "utf8");
        maps.set(filename, { file: `${cached}.map` });
        return code;
    } catch {
        // miss: transpile below
    }
    esbuild ??= require("esbuild");
    const { code, map } = esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename });
    maps.set(filename, { text: map });
    try {
        fs.mkdirSync(CACHE_DIR, { recursive: true });
        writeAtomically(`${cached}.map`, map); // the map first: a cached .js always has its map
        writeAtomically(cached, code);
    } catch {
        // a read-only checkout still works, just without the cache
    }
    return code;
}

const parsed = new Map();
function sourceMapFor(filename) {
    if (!parsed.has(filename)) {
        let map;
        try {
            const entry = maps.get(filename);
            map = entry === undefined ? undefined : new SourceMap(JSON.parse(entry.text ?? fs.readFileSync(entry.file, "utf8")));
        } catch {
            map = undefined;
        }
        parsed.set(filename, map);
    }
    return parsed.get(filename);
}

/** One stack frame, as V8 prints it, with positions in herd's files mapped back to the TypeScript. */
function formatFrame(site) {
    const file = site.getFileName();
    const map = file === null || file === undefined ? undefined : sourceMapFor(file);
    const entry = map?.findEntry(site.getLineNumber() - 1, site.getColumnNumber() - 1);
    if (entry === undefined || entry.originalLine === undefined) {
        return `    at ${site}`;
    }
    const where = `${file}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    const fn = site.getFunctionName();
    const type = site.getTypeName();
    const method = site.getMethodName();
    let name = fn ?? (method !== null && method !== undefined ? `${type ?? "Object"}.${method}` : null);
    if (site.isConstructor()) {
        name = `new ${fn ?? "<anonymous>"}`;
    } else if (fn !== null && fn !== undefined && type !== null && type !== undefined && !site.isToplevel() && !fn.startsWith(`${type}.`)) {
        name = `${type}.${fn}`;
    }
    return `    at ${site.isAsync() ? "async " : ""}${name === null ? where : `${name} (${where})`}`;
}

// Read when this file loads, as @pulumi/pulumi's runtime/debuggable.js reads it when it loads.
const KEEP_PROMISE_STACKS = Boolean(process.env.PULUMI_DEBUG_PROMISE_LEAKS);
const DEBUGGABLE_JS = `${path.sep}@pulumi${path.sep}pulumi${path.sep}runtime${path.sep}debuggable.js`;

/** The stack of the `new Error()` in @pulumi/pulumi's debuggablePromise(): no message, created in that function. */
function isPromiseDebugStack(error, sites) {
    const top = sites[0];
    return (
        top !== undefined &&
        error instanceof Error &&
        error.message === "" &&
        top.getFunctionName() === "debuggablePromise" &&
        top.getFileName()?.endsWith(DEBUGGABLE_JS) === true
    );
}

if (require.extensions[".ts"] === undefined) {
    const previous = Error.prepareStackTrace;
    Error.prepareStackTrace = (error, sites) => {
        if (!KEEP_PROMISE_STACKS && isPromiseDebugStack(error, sites)) {
            return "Error"; // what String(error) is; see the header
        }
        if (!sites.some((site) => maps.has(site.getFileName()))) {
            return previous !== undefined ? previous(error, sites) : [String(error), ...sites.map((s) => `    at ${s}`)].join("\n");
        }
        let header;
        try {
            header = Error.prototype.toString.call(error);
        } catch {
            header = "Error";
        }
        return [header, ...sites.map(formatFrame)].join("\n");
    };
    require.extensions[".ts"] = function loadTypeScript(module, filename) {
        module._compile(transpile(fs.readFileSync(filename, "utf8"), filename), filename);
    };
}
