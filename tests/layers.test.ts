/**
 * The layers the README's architecture section describes, held by the code: every relative import between herd's
 * own TypeScript files points down (or stays in its layer), scripts/ imports nothing from tests/, and the import
 * graph has no circle.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { PROJECT_DIR } from "./helpers";

/** Top to bottom; a file may import its own layer or any layer below it. */
const LAYERS: readonly { readonly name: string; readonly match: (rel: string) => boolean }[] = [
    { name: "tests", match: (f) => f.startsWith("tests/") },
    { name: "policy", match: (f) => f.startsWith("policy/") },
    { name: "e2e", match: (f) => f.startsWith("e2e/") },
    { name: "scripts", match: (f) => f.startsWith("scripts/") },
    { name: "offline", match: (f) => f.startsWith("offline/") },
    { name: "program", match: (f) => f === "index.ts" },
    { name: "components", match: (f) => f.startsWith("components/") },
    { name: "platform", match: (f) => f.startsWith("platform/") && f !== "platform/contract.ts" },
    { name: "contract", match: (f) => f === "platform/contract.ts" },
    { name: "config", match: (f) => f.startsWith("config/") },
    { name: "lib", match: (f) => f.startsWith("lib/") },
];

/** Exceptions, each with its reason. */
const ALLOWED: Readonly<Record<string, string>> = {
    // The platform implementations are loaded lazily by name; components never import them.
    "platform -> platform": "platform/index.ts picks an implementation; implementations share platform/aws/*",
};

function layerOf(rel: string): number {
    const i = LAYERS.findIndex((l) => l.match(rel));
    assert.notEqual(i, -1, `${rel}: in no layer; add it to LAYERS`);
    return i;
}

function sourceFiles(): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(path.join(PROJECT_DIR, dir), { withFileTypes: true })) {
            const rel = dir === "" ? e.name : `${dir}/${e.name}`;
            if (e.isDirectory()) {
                if (!["node_modules", "images", "policy", ".git", "bin", "out"].includes(e.name) && !rel.startsWith("e2e/pulumi") && !rel.startsWith("e2e/cluster")) {
                    walk(rel);
                }
            } else if (rel.endsWith(".ts") && !rel.endsWith(".d.ts")) {
                out.push(rel);
            }
        }
    };
    walk("");
    return out.sort();
}

/** Relative imports (static, dynamic and require) of a file, resolved to project paths. */
function importsOf(rel: string): string[] {
    const text = fs.readFileSync(path.join(PROJECT_DIR, rel), "utf8");
    const specs = [...text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)"(\.{1,2}\/[^"]*)"/g)].map((m) => m[1]);
    return specs.map((spec) => {
        const base = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
        for (const candidate of [`${base}.ts`, `${base}/index.ts`, base]) {
            if (fs.existsSync(path.join(PROJECT_DIR, candidate)) && fs.statSync(path.join(PROJECT_DIR, candidate)).isFile()) {
                return candidate;
            }
        }
        return base;
    });
}

const FILES = sourceFiles();
const GRAPH = new Map(FILES.map((f) => [f, importsOf(f).filter((i) => i.endsWith(".ts"))] as const));

describe("layers", () => {
    it("every import points down or stays in its layer", () => {
        const problems: string[] = [];
        for (const [file, imports] of GRAPH) {
            const from = layerOf(file);
            for (const target of imports) {
                const to = layerOf(target);
                const pair = `${LAYERS[from].name} -> ${LAYERS[to].name}`;
                if (to < from && ALLOWED[pair] === undefined) {
                    problems.push(`${file} imports ${target} (${pair}: upward)`);
                }
            }
        }
        assert.deepEqual(problems, []);
    });

    it("scripts/ and offline/ import nothing from tests/", () => {
        for (const [file, imports] of GRAPH) {
            if (file.startsWith("scripts/") || file.startsWith("offline/")) {
                assert.deepEqual(imports.filter((i) => i.startsWith("tests/")), [], file);
            }
        }
    });

    it("the import graph has no circle", () => {
        const state = new Map<string, "visiting" | "done">();
        const cycles: string[] = [];
        const visit = (file: string, stack: string[]) => {
            if (state.get(file) === "done") {
                return;
            }
            if (state.get(file) === "visiting") {
                cycles.push([...stack.slice(stack.indexOf(file)), file].join(" -> "));
                return;
            }
            state.set(file, "visiting");
            for (const next of GRAPH.get(file) ?? []) {
                visit(next, [...stack, file]);
            }
            state.set(file, "done");
        };
        for (const file of GRAPH.keys()) {
            visit(file, []);
        }
        assert.deepEqual(cycles, []);
    });
});
