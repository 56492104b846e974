// Child bootstrap of scripts/bench.ts for "Pulumi's default mode" (runtime option `typescript: true`, the default).
// Plain node, no tsx. Does what @pulumi/pulumi/cmd/run/run.js (3.248.0) does before it requires the program, via the
// same tsutils helpers: read tsconfig.json's compilerOptions, pick ts-node and typescript (no ts-node in this project,
// so the vendored ts-node@7.0.1, with the project's typescript), register ts-node with type-checking (transpileOnly
// unset), then require the TypeScript entry, which ts-node compiles and type-checks file by file as it loads.
// Not the ESM branch: package.json has no `"type": "module"`.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const tsutils = require("@pulumi/pulumi/tsutils");

const tsConfigPath = process.env["PULUMI_NODEJS_TSCONFIG_PATH"] ?? "tsconfig.json";
const skipProject = !fs.existsSync(tsConfigPath);
const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsConfigPath);
const transpileOnlyEnv = process.env["PULUMI_NODEJS_TRANSPILE_ONLY"];
const transpileOnly = transpileOnlyEnv ? transpileOnlyEnv === "true" : compilerOptions.noCheck;
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();

// run.js: semver compare of ts.version against 4.7.0 (same result without depending on semver here).
const [major, minor] = require(typescriptRequire).version.split(".").map(Number);
const useNodeNext = major > 4 || (major === 4 && minor >= 7);

require(tsnodeRequire).register({
    compiler: typescriptRequire,
    transpileOnly,
    project: tsConfigPath,
    skipProject,
    compilerOptions: {
        target: "ES2020",
        module: useNodeNext ? "nodenext" : "commonjs",
        moduleResolution: useNodeNext ? "nodenext" : "node",
        sourceMap: "true",
        ...compilerOptions,
    },
});

require(path.join(__dirname, "bench-child.ts"));
