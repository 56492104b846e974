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
 * Compiled code is cached too (V8's code cache), for every CommonJS module the process loads, @pulumi/pulumi and the
 * cloud SDKs included: compiling ~900-1,000 modules (~15 MB of JavaScript, 9 MB of it the TypeScript compiler that
 * @pulumi/pulumi loads) was the largest cost of a start. The cache is written at exit, after the program ran, so it
 * holds the functions V8 compiled lazily as well; the next start skips both parsing and compiling them. An entry is
 * keyed by Node's version, the file's path and its CONTENT, as a hash of the text or, for a .js file read as it is, its
 * inode and change times (see codeCacheKey; either way an upgraded package or an edited file gets a new entry, never a
 * stale one), and V8 checks it again on use: an entry it rejects (other flags, another V8) is
 * compiled afresh and rewritten. HERD_CODE_CACHE=off turns it off; HERD_CODE_CACHE_DIR moves it. Each cache keeps at
 * most HERD_CACHE_MAX_ENTRIES files (20000; the oldest half goes past it).
 *
 * One kind of stack is not captured at all: @pulumi/pulumi's debuggablePromise() records `new Error().stack` for
 * every promise it creates (~50 per resource, thousands per run: walking and formatting those stacks was the largest
 * single cost of an evaluation) and reads that string back only to print leaked promises under
 * PULUMI_DEBUG_PROMISE_LEAKS. Without that variable such a stack is just "Error" (see withoutPromiseStacks); with it,
 * every stack is captured and formatted as before.
 */
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");
const vm = require("node:vm");

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

/**
 * Module.prototype._compile that, once @pulumi/pulumi's runtime/debuggable.js has loaded, wraps its exported
 * debuggablePromise() so that its `new Error()` captures no frames (Error.stackTraceLimit 0 for that call only): the
 * stack walk alone was a quarter of an aws stack's evaluation, ~13 us for each of ~7,500 promises. The SDK calls it
 * through the module's exports object (`debuggable_1.debuggablePromise(...)`), so the wrapper is what every caller
 * gets; if a later SDK called it some other way, the wrapper would simply go unused.
 */
function withoutPromiseStacks(original) {
    return function _compile(content, filename) {
        const result = original.call(this, content, filename);
        const exports = this.exports;
        if (typeof filename === "string" && filename.endsWith(DEBUGGABLE_JS) && typeof exports?.debuggablePromise === "function") {
            const debuggablePromise = exports.debuggablePromise;
            exports.debuggablePromise = function debuggablePromiseWithoutStack(...args) {
                const limit = Error.stackTraceLimit;
                Error.stackTraceLimit = 0;
                try {
                    return debuggablePromise.apply(this, args);
                } finally {
                    Error.stackTraceLimit = limit;
                }
            };
        }
        return result;
    };
}

/**
 * Installs herd's stack formatting in front of whatever Error.prepareStackTrace is set (it is chained to for stacks
 * with no frame in herd's files). Idempotent. main.cjs calls it again: when Pulumi.yaml's nodeargs loads this file
 * first, @pulumi/pulumi's run.js installs source-map-support's formatter afterwards, replacing this one.
 */
function installStackFormatting() {
    if (Error.prepareStackTrace?.herdStackFormatting === true) {
        return;
    }
    const previous = Error.prepareStackTrace;
    const format = (error, sites) => {
        const header = () => {
            try {
                return Error.prototype.toString.call(error);
            } catch {
                return "Error";
            }
        };
        if (sites.length === 0) {
            return header(); // as V8 itself formats it (the promises' stacks: see withoutPromiseStacks)
        }
        if (!sites.some((site) => maps.has(site.getFileName()))) {
            return previous !== undefined ? previous(error, sites) : [String(error), ...sites.map((s) => `    at ${s}`)].join("\n");
        }
        return [header(), ...sites.map(formatFrame)].join("\n");
    };
    format.herdStackFormatting = true;
    Error.prepareStackTrace = format;
}

if (require.extensions[".ts"] === undefined) {
    require.extensions[".ts"] = function loadTypeScript(module, filename) {
        module._compile(transpile(fs.readFileSync(filename, "utf8"), filename), filename);
    };
}
installStackFormatting();
module.exports = { installStackFormatting };

// ---- V8 code cache (see the header) ----
const CODE_CACHE_DIR = process.env.HERD_CODE_CACHE_DIR ?? path.join(__dirname, "node_modules", ".cache", "herd-v8");
/**
 * Modules that call import() are left to Node: on Node 20 a vm.Script can hand import() to Node's loader only through
 * an experimental option, which prints a warning and is lost when the script comes from the cache (the call then
 * throws). A module whose text mentions `import(` is compiled by Node until esbuild has parsed it (after exit, see
 * verifyInBackground) and found no import() expression, only mentions in strings or comments (TypeScript's 9 MB compiler, which @pulumi/pulumi
 * loads, is one); that verdict is kept as a `<key>.static` marker, and from then on the module is cached too (a module
 * that does call import() gets a `<key>.dynamic` marker and is not parsed again).
 */
const MENTIONS_IMPORT = /\bimport\s*\(/;
/** Scripts compiled without a usable cache entry in this process, and where their entry goes: written at exit. */
const uncached = [];
/** Modules that mention import( and have no verdict yet: parsed after exit by a background child. */
const unverified = [];

/**
 * An entry's key. A JavaScript file Node read from disk as it is (its byte length is the file's size) is keyed by
 * its identity and change times (device, inode, size, mtime, ctime: the kernel updates ctime on every write, and no
 * tool can set it back), not by hashing its text: hashing ~18 MB on every start cost ~25 ms, 9 MB of it the
 * TypeScript compiler @pulumi/pulumi loads. Only a file last changed more than STAT_KEY_MIN_AGE_MS ago is keyed so:
 * on a file system with coarse timestamps (1 s on small-inode ext4, 2 s on FAT) a second write within the same tick
 * would keep every one of those fields, so a file that recent is keyed by its content, as git treats "racily clean"
 * files. Anything else (herd's transpiled TypeScript, whose output also depends on esbuild's version) is keyed by a
 * hash of its content.
 */
const STAT_KEY_MIN_AGE_MS = Number(process.env.HERD_CODE_CACHE_STAT_AGE_MS ?? 3000); // tests set 0
function codeCacheKey(filename, content) {
    const hash = crypto.createHash("sha1").update(`${process.version}\0${process.arch}\0${filename}\0`);
    if (filename.endsWith(".js") || filename.endsWith(".cjs")) {
        try {
            const st = fs.statSync(filename);
            if (st.size === Buffer.byteLength(content) && Date.now() - Math.max(st.ctimeMs, st.mtimeMs) > STAT_KEY_MIN_AGE_MS) {
                return hash.update(`stat\0${st.dev}\0${st.ino}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}`).digest("hex");
            }
        } catch {
            // unreadable or gone: keyed by content below
        }
    }
    return hash.update("content\0").update(content).digest("hex");
}

/** Whether esbuild's parser finds an import() expression in the module (an unparsable module counts as calling it). */
function callsImport(content, filename) {
    esbuild ??= require("esbuild");
    try {
        const { metafile } = esbuild.buildSync({
            stdin: { contents: content, loader: "js", sourcefile: filename },
            bundle: true, // lists the imports; every one is external, nothing is resolved or written
            external: ["*"],
            platform: "node",
            format: "cjs",
            write: false,
            metafile: true,
            logLevel: "silent",
        });
        return Object.values(metafile.inputs).some((input) => input.imports.some((i) => i.kind === "dynamic-import"));
    } catch {
        return true;
    }
}

/**
 * Module.prototype._compile with a code cache: the module's source wrapped as Node wraps CommonJS, compiled as a
 * vm.Script with the cached data, run with the same five arguments Node passes.
 */
function compileWithCodeCache(original) {
    return function _compile(content, filename) {
        if (typeof content !== "string" || typeof filename !== "string" || !path.isAbsolute(filename)) {
            return original.call(this, content, filename);
        }
        const file = path.join(CODE_CACHE_DIR, codeCacheKey(filename, content));
        let cachedData;
        try {
            cachedData = fs.readFileSync(file); // only ever written for a module without import()
        } catch {
            if (MENTIONS_IMPORT.test(content) && !fs.existsSync(`${file}.static`)) {
                if (!fs.existsSync(`${file}.dynamic`)) {
                    unverified.push({ filename, file }); // the child reads the file again: no source kept until exit
                }
                return original.call(this, content, filename);
            }
        }
        // A leading #! line is legal only at the very start of a script; the wrapper would put it after "(function".
        const source = content.startsWith("#!") ? `//${content.slice(2)}` : content;
        const script = new vm.Script(Module.wrap(source), { filename, cachedData });
        if (cachedData === undefined || script.cachedDataRejected === true) {
            uncached.push({ script, file });
        }
        const fn = script.runInThisContext({ displayErrors: true });
        const module = this;
        const require = (id) => module.require(id);
        require.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
        require.resolve.paths = (request) => Module._resolveLookupPaths(request, module);
        require.main = process.mainModule;
        require.extensions = Module._extensions;
        require.cache = Module._cache;
        return fn.call(module.exports, module.exports, require, module, filename, path.dirname(filename));
    };
}

/**
 * Both caches only grow (every edit of a file adds an entry), so a run that writes to the code cache also bounds
 * them: past MAX_CACHE_ENTRIES files, the oldest-written half goes (an entry still in use is simply written again).
 */
const MAX_CACHE_ENTRIES = Number(process.env.HERD_CACHE_MAX_ENTRIES ?? 20000);
function pruneCache(dir) {
    try {
        const names = fs.readdirSync(dir);
        if (names.length <= MAX_CACHE_ENTRIES) {
            return;
        }
        const byAge = names
            .map((name) => {
                try {
                    return { file: path.join(dir, name), mtime: fs.statSync(path.join(dir, name)).mtimeMs };
                } catch {
                    return undefined;
                }
            })
            .filter((e) => e !== undefined)
            .sort((a, b) => a.mtime - b.mtime);
        for (const { file } of byAge.slice(0, byAge.length - Math.floor(MAX_CACHE_ENTRIES / 2))) {
            fs.rmSync(file, { force: true });
        }
    } catch {
        // pruning is best effort
    }
}

function writeCodeCache() {
    if (uncached.length === 0 && unverified.length === 0) {
        return;
    }
    pruneCache(CODE_CACHE_DIR);
    pruneCache(CACHE_DIR);
    try {
        fs.mkdirSync(CODE_CACHE_DIR, { recursive: true });
        for (const { script, file } of uncached.splice(0)) {
            writeAtomically(file, script.createCachedData());
        }
        if (unverified.length > 0) {
            verifyInBackground(unverified.splice(0));
        }
    } catch {
        // a read-only checkout still works, just without the cache
    }
}

/**
 * Parsing the modules that mention import( takes esbuild ~1 s for TypeScript's compiler alone: too long to add to
 * the exit of a first run. A detached child does it (`node ts-register.cjs --verify-imports <list>`) after this
 * process has gone; if it is killed, the next run just asks again.
 */
function verifyInBackground(modules) {
    const list = path.join(CODE_CACHE_DIR, `verify-${process.pid}-${Date.now()}.json`);
    writeAtomically(list, JSON.stringify(modules));
    const { spawn } = require("node:child_process");
    const child = spawn(process.execPath, [__filename, "--verify-imports", list], { detached: true, stdio: "ignore", env: process.env });
    child.unref();
}

/**
 * The background child: for every module whose content is unchanged, a `.static` marker if it calls no import() and
 * a `.dynamic` one if it does (it stays with Node's own compiler).
 */
function verifyImports(list) {
    try {
        for (const { filename, file } of JSON.parse(fs.readFileSync(list, "utf8"))) {
            let content;
            try {
                content = fs.readFileSync(filename, "utf8");
            } catch {
                continue; // gone since
            }
            // The same key as when it was loaded, or the file changed in between and its marker would lie.
            if (path.join(CODE_CACHE_DIR, codeCacheKey(filename, content)) === file) {
                // Either verdict is kept: a module that does call import() is not parsed again on every run.
                writeAtomically(`${file}.${callsImport(content, filename) ? "dynamic" : "static"}`, "");
            }
        }
    } finally {
        fs.rmSync(list, { force: true }); // last: its absence means this child is done
    }
}

if (require.main === module && process.argv[2] === "--verify-imports" && process.argv[3] !== undefined) {
    verifyImports(process.argv[3]);
} else if (process.env.HERD_CODE_CACHE !== "off" && !Module.prototype._compile.herdCodeCache) {
    Module.prototype._compile = compileWithCodeCache(Module.prototype._compile);
    Module.prototype._compile.herdCodeCache = true;
    process.on("exit", writeCodeCache);
}
if (!KEEP_PROMISE_STACKS && !Module.prototype._compile.herdPromiseStacks) {
    Module.prototype._compile = withoutPromiseStacks(Module.prototype._compile);
    Module.prototype._compile.herdPromiseStacks = true;
}
