"use strict";
/**
 * How herd's TypeScript is loaded at `pulumi up`/`preview` (Pulumi.yaml: typescript false, main: main.cjs).
 *
 * A require hook for .ts files only: each file is transpiled with esbuild (no type-check; `npm test` runs tsc) and
 * the output is cached under node_modules/.cache/herd-ts, keyed by a hash of the file's path and CONTENT. A cached
 * entry can therefore never be stale: an edited file has a new key and is transpiled afresh. JavaScript in
 * node_modules is never transpiled; it is only compiled from V8's code cache (below).
 *
 * Stack traces point at the TypeScript: frames in herd's files are mapped through their source maps when an error's
 * stack is formatted. (Node's own --enable-source-maps would do it too, but it parses the source map of every module
 * loaded, node_modules included: ~100 ms on every run.)
 *
 * One kind of stack is not formatted at all: @pulumi/pulumi's debuggablePromise() records `new Error().stack` for
 * every promise it creates (~50 per resource, thousands per run: formatting them was the largest single cost of an
 * evaluation) and reads that string back only to print leaked promises under PULUMI_DEBUG_PROMISE_LEAKS. Without that
 * variable such a stack is just "Error"; with it, every stack is formatted as before.
 *
 * V8 code cache (what Node 22's module.enableCompileCache() does; Node 20 has none): V8's parse and compile of the
 * JavaScript of @pulumi/*, grpc, protobuf... was ~a quarter of a run's CPU. So Module.prototype._compile is replaced,
 * for .js/.cjs files under node_modules and herd's transpiled .ts, by a vm.Script compiled with the bytecode V8 produced
 * for the same file in an earlier run. The entries live in the same directory, as <sha256>.v8, keyed by the file's
 * content and path, Node's version, the architecture and V8's flags (v8.cachedDataVersionTag()); each holds a CRC-32
 * of its data (V8 checks none in release builds), so a damaged file is ignored like a missing one, and data V8
 * rejects is simply recompiled; either is rewritten. An entry is written (atomically, never failing the run) after
 * its module ran, so it also holds the functions the module's start-up compiled. The wrapper is called as Node 20's
 * _compile calls it: (exports, require, module, __filename, __dirname), `require` made as its makeRequireFunction()
 * makes it, `this` the exports; columns on line 1 are reported as if unwrapped.
 * Left to Node's own _compile: the main module, a file starting with "#!", one that does not compile, and one whose
 * text has "import" followed by "(" or a comment: on Node 20 (V8 11.3) a script made from cached data loses its
 * host-defined options, so an import() in it (or in a Function or eval it builds) fails with
 * ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING. Such a module never gets an entry (the check runs on a miss; a hit's
 * content was checked when it was written), and typescript.js, which mentions import() in strings, is among them.
 * The one way left to break: code building an import() out of pieces at run time, in a Function or eval, from a
 * cached module; on a cold run those use Node's default loader (vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER).
 * HERD_NO_CODE_CACHE=1 turns the code cache off; HERD_CODE_CACHE_DEBUG=1 prints its counts to stderr at exit.
 */
const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");
const v8 = require("node:v8");
const vm = require("node:vm");
const zlib = require("node:zlib");
const { SourceMap } = Module;

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
    if (!process.env.HERD_NO_CODE_CACHE && vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER !== undefined && typeof zlib.crc32 === "function") {
        installCodeCache();
    }
}

// --- V8 code cache (see the header) ---

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;
const MAGIC = Buffer.from("herdV8c2"); // an entry of another format is ignored like a damaged one
const HEADER = MAGIC.length + 4; // magic, then the CRC-32 of the data (uint32 LE)
const stats = { hits: 0, misses: 0, rejected: 0, written: 0, uncached: 0 };
let codeCacheSalt;
let cacheDirState; // undefined: not created yet; true: usable; false: cannot be written, stop trying

function codeCacheFile(content, filename) {
    codeCacheSalt ??= `${process.version}\0${process.arch}\0${v8.cachedDataVersionTag()}`;
    const key = crypto.createHash("sha256").update(codeCacheSalt).update("\0").update(filename).update("\0").update(content).digest("hex");
    return path.join(CACHE_DIR, `${key}.v8`);
}

/** The cached data in `file`, or undefined when it is missing or damaged. */
function readCodeCache(file) {
    let bytes;
    try {
        bytes = fs.readFileSync(file);
    } catch {
        return undefined;
    }
    if (bytes.length <= HEADER || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
        return undefined;
    }
    const data = bytes.subarray(HEADER);
    return zlib.crc32(data) === bytes.readUInt32LE(MAGIC.length) ? data : undefined;
}

function writeCodeCache(file, script) {
    if (cacheDirState === false) {
        return;
    }
    try {
        const data = script.createCachedData();
        const header = Buffer.alloc(HEADER);
        MAGIC.copy(header);
        header.writeUInt32LE(zlib.crc32(data), MAGIC.length);
        if (cacheDirState === undefined) {
            fs.mkdirSync(CACHE_DIR, { recursive: true });
            cacheDirState = true;
        }
        writeAtomically(file, Buffer.concat([header, data]));
        stats.written++;
    } catch {
        cacheDirState = false; // like the transpile cache: the run goes on, uncached
    }
}

/** Whether `content` may call import(), conservatively (see the header: such a module is left to Node). */
function mayImport(content) {
    return /\bimport\s*[(/]/.test(content);
}

function invalidArgType(name, value) {
    const received = value === null || value === undefined ? ` Received ${value}` : ` Received type ${typeof value}`;
    const error = new TypeError(`The "${name}" argument must be of type string.${received}`);
    error.code = "ERR_INVALID_ARG_TYPE";
    return error;
}

/** The `require` a module's code sees, as Node 20's makeRequireFunction() makes it (no policy redirects). */
function makeRequire(mod) {
    const ModuleClass = mod.constructor;
    const require = function require(id) {
        return mod.require(id);
    };
    function resolve(request, options) {
        if (typeof request !== "string") {
            throw invalidArgType("request", request);
        }
        return ModuleClass._resolveFilename(request, mod, false, options);
    }
    function paths(request) {
        if (typeof request !== "string") {
            throw invalidArgType("request", request);
        }
        return ModuleClass._resolveLookupPaths(request, mod);
    }
    resolve.paths = paths;
    require.resolve = resolve;
    Object.defineProperty(require, "main", { value: process.mainModule, writable: true, enumerable: true, configurable: true });
    require.extensions = ModuleClass._extensions;
    require.cache = ModuleClass._cache;
    return require;
}

function installCodeCache() {
    const nodeCompile = Module.prototype._compile;
    const importModuleDynamically = vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER;
    Module.prototype._compile = function compileWithCodeCache(content, filename) {
        const cacheable =
            this.id !== "." && // the entry point keeps Node's handling (--inspect-brk pauses there)
            typeof content === "string" &&
            !content.startsWith("#!") &&
            ((filename.includes(NODE_MODULES) && (filename.endsWith(".js") || filename.endsWith(".cjs"))) || maps.has(filename));
        if (!cacheable) {
            return nodeCompile.call(this, content, filename);
        }
        const file = codeCacheFile(content, filename);
        const cachedData = readCodeCache(file); // only a module that cannot call import() ever has an entry
        if (cachedData === undefined && mayImport(content)) {
            stats.uncached++;
            return nodeCompile.call(this, content, filename);
        }
        let script;
        try {
            script = new vm.Script(Module.wrap(content), {
                filename,
                columnOffset: -Module.wrapper[0].length, // columns on line 1 as if unwrapped, as Node 20 reports them
                cachedData,
                importModuleDynamically,
            });
        } catch {
            return nodeCompile.call(this, content, filename); // Node reports the syntax error its own way
        }
        const fresh = cachedData === undefined || script.cachedDataRejected === true;
        if (cachedData === undefined) {
            stats.misses++;
        } else if (script.cachedDataRejected === true) {
            stats.rejected++;
        } else {
            stats.hits++;
        }
        const wrapper = script.runInThisContext({ displayErrors: true });
        const exports = this.exports;
        const result = Reflect.apply(wrapper, exports, [exports, makeRequire(this), this, filename, path.dirname(filename)]);
        if (fresh) {
            writeCodeCache(file, script);
        }
        return result;
    };

    if (process.env.HERD_CODE_CACHE_DEBUG) {
        process.on("exit", () => {
            process.stderr.write(`herd code cache: ${stats.hits} hits, ${stats.misses} misses, ${stats.rejected} rejected, ${stats.written} written, ${stats.uncached} left to Node (may call import())\n`);
        });
    }
}
