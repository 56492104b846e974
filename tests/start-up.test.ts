/**
 * What a stack's program loads at start, as Pulumi runs it (ts-register.cjs first, then the program under the
 * engine; here scripts/bench-child.ts under the offline mocks, as `npm run bench` runs it). Start-up time is most of
 * a `pulumi preview` on a small change, and most of it is loading modules: a package's root index that loads every
 * one of its services (~250 in @pulumi/aws, ~150 in @pulumi/gcp, every API group of @pulumi/kubernetes) costs tens
 * of milliseconds for code the program never runs. `npm run bench` measures the time; this holds the cause.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { readStackConfig } from "../offline/stack-config";
import { PROJECT_DIR, tempDir } from "./helpers";

/** The files of the modules the stack's program process has loaded when it exits. */
function modulesLoaded(stack: string): string[] {
    const out = path.join(tempDir(), "modules.json");
    const hook = path.join(path.dirname(out), "hook.cjs");
    fs.writeFileSync(hook, `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const config = readStackConfig({ stack });
    const r = spawnSync(process.execPath, ["--require", "./ts-register.cjs", "--require", hook, path.join("scripts", "bench-child.ts"), stack], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env, PULUMI_CONFIG: JSON.stringify(config.values), PULUMI_CONFIG_SECRET_KEYS: JSON.stringify([...config.secretKeys]) },
        stdio: ["ignore", "pipe", "pipe", "pipe"],
        timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(fs.readFileSync(out, "utf8")) as string[]).map((f) => f.split(path.sep).join("/"));
}

const ROOT_INDEXES = ["@pulumi/aws/index.js", "@pulumi/gcp/index.js", "@pulumi/kubernetes/index.js", "@pulumi/eks/index.js"];

for (const stack of ["onprem", "aws", "gcp"]) {
    describe(`${stack} start-up`, () => {
        const loaded = modulesLoaded(stack);
        it("loads no cloud SDK's or @pulumi/kubernetes's root index, only the services herd uses", () => {
            assert.deepEqual(loaded.filter((f) => ROOT_INDEXES.some((root) => f.endsWith(`/node_modules/${root}`))), []);
            // The services herd does use are loaded (the test would pass vacuously if the program loaded nothing).
            assert.ok(loaded.some((f) => f.endsWith("/@pulumi/kubernetes/apps/v1/statefulSet.js")));
            if (stack !== "onprem") {
                assert.ok(loaded.some((f) => f.includes(`/@pulumi/${stack}/`)), `@pulumi/${stack} services`);
            }
        });
        it("does not load the yaml package (elasticsearch.yml is written by lib/flat-yaml.ts)", () => {
            assert.deepEqual(loaded.filter((f) => f.includes("/node_modules/yaml/")), []);
        });
        it(stack === "onprem" ? "loads neither cloud's SDK" : "loads only its own cloud's SDK", () => {
            const other = stack === "gcp" ? ["aws", "eks"] : stack === "aws" ? ["gcp"] : ["aws", "gcp", "eks"];
            assert.deepEqual(loaded.filter((f) => other.some((sdk) => f.includes(`/node_modules/@pulumi/${sdk}/`))), []);
        });
    });
}
