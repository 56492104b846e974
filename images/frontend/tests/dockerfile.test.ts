/**
 * No container engine exists here, so the Dockerfile is checked by reading it: two stages from exactly pinned images,
 * `npm ci` from the lockfile, a non-root user, port 8080, the nginx files where the image's entrypoint expects them,
 * and a build context (after .dockerignore) that holds every file the COPYs name. The build stage's steps are then
 * replayed on exactly the files it copies, to prove they are enough to build the app.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { FRONTEND_DIR } from "./support/env";

export interface Instruction {
    keyword: string;
    args: string;
    line: number;
}

export interface Stage {
    image: string;
    name: string | undefined;
    instructions: Instruction[];
}

/** Dockerfile instructions, with line continuations joined and comments/blank lines dropped. */
export function parseDockerfile(text: string): Instruction[] {
    const out: Instruction[] = [];
    let buffer = "";
    let start = 0;
    text.split("\n").forEach((raw, i) => {
        const line = raw.trimEnd();
        if (buffer === "" && (line.trim() === "" || line.trimStart().startsWith("#"))) {
            return;
        }
        if (buffer === "") {
            start = i + 1;
        } else if (line.trimStart().startsWith("#")) {
            return;
        }
        if (line.endsWith("\\")) {
            buffer += `${line.slice(0, -1)} `;
            return;
        }
        buffer += line;
        const match = /^\s*(\S+)\s*(.*)$/s.exec(buffer);
        if (match !== null) {
            out.push({ keyword: (match[1] as string).toUpperCase(), args: (match[2] as string).replace(/\s+/g, " ").trim(), line: start });
        }
        buffer = "";
    });
    return out;
}

export function stagesOf(instructions: Instruction[]): Stage[] {
    const stages: Stage[] = [];
    for (const ins of instructions) {
        if (ins.keyword === "FROM") {
            const [image, as, name] = ins.args.split(" ").filter((w) => !w.startsWith("--"));
            assert.ok(image !== undefined);
            stages.push({ image, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
        } else {
            assert.ok(stages.length > 0, `line ${ins.line}: ${ins.keyword} before any FROM`);
            stages.at(-1)?.instructions.push(ins);
        }
    }
    return stages;
}

/** The source paths of a COPY (flags and the destination removed), or undefined for COPY --from. */
function copySources(args: string): string[] | undefined {
    const words = args.split(" ");
    if (words.some((w) => w.startsWith("--from="))) {
        return undefined;
    }
    const paths = words.filter((w) => !w.startsWith("--"));
    return paths.slice(0, -1);
}

/** .dockerignore patterns (the simple forms this repo uses: names, dirs, and **\/*.ext globs). */
function ignored(rel: string, patterns: string[]): boolean {
    return patterns.some((p) => {
        if (p.startsWith("**/*")) {
            return rel.endsWith(p.slice(4));
        }
        const clean = p.replace(/\/$/, "");
        return rel === clean || rel.startsWith(`${clean}/`);
    });
}

const text = fs.readFileSync(path.join(FRONTEND_DIR, "Dockerfile"), "utf8");
const instructions = parseDockerfile(text);
const stages = stagesOf(instructions);
const build = stages[0] as Stage;
const runtime = stages.at(-1) as Stage;
const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const dockerignore = fs.readFileSync(path.join(FRONTEND_DIR, ".dockerignore"), "utf8")
    .split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));

describe("Dockerfile", () => {
    it("has two stages: a named node build stage and the nginx runtime", () => {
        assert.equal(stages.length, 2);
        assert.equal(build.name, "build");
        assert.match(build.image, /^node:/);
        assert.match(runtime.image, /^nginxinc\/nginx-unprivileged:/);
    });

    it("pins every base image to an exact version tag, never latest", () => {
        assert.match(build.image, /^node:20\.\d+\.\d+-bookworm-slim$/);
        assert.match(runtime.image, /^nginxinc\/nginx-unprivileged:1\.\d+\.\d+-(alpine|bookworm)$/);
        assert.doesNotMatch(text, /:latest\b/);
        for (const stage of stages) {
            assert.ok(stage.image.includes(":") || stage.image.includes("@sha256:"), `${stage.image} has no tag`);
        }
    });

    it("builds with Node 20, the version package.json's engines and CI use", () => {
        const engines = JSON.parse(fs.readFileSync(path.join(FRONTEND_DIR, "package.json"), "utf8")).engines.node as string;
        assert.match(engines, /\^20\./);
        assert.equal(/^node:(\d+)\./.exec(build.image)?.[1], "20");
    });

    it("installs dependencies with npm ci from package.json + package-lock.json, before copying the sources", () => {
        const runs = all(build, "RUN").map((i) => i.args);
        assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)));
        assert.ok(!runs.some((r) => /\bnpm (install|i)\b/.test(r)), "npm install would ignore the lockfile");
        const copies = all(build, "COPY");
        assert.equal(copies[0]?.args, "package.json package-lock.json ./");
        const ciAt = build.instructions.findIndex((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args));
        const srcAt = build.instructions.findIndex((i) => i.keyword === "COPY" && /\bsrc\b/.test(i.args));
        assert.ok(ciAt < srcAt, "npm ci must come before the sources, to keep its layer cached");
        assert.ok(all(build, "RUN").some((i) => /npm run build/.test(i.args)));
    });

    it("runs as UID 101 (nginx in the unprivileged image), not root", () => {
        const users = all(runtime, "USER");
        assert.equal(users.at(-1)?.args, "101");
        const lastUser = runtime.instructions.findLastIndex((i) => i.keyword === "USER");
        assert.ok(runtime.instructions.slice(lastUser + 1).every((i) => i.keyword !== "RUN"), "no RUN after the final USER");
    });

    it("exposes 8080 and nothing else", () => {
        assert.deepEqual(all(runtime, "EXPOSE").map((i) => i.args), ["8080"]);
        assert.deepEqual(instructions.filter((i) => i.keyword === "EXPOSE").length, 1);
    });

    it("puts nginx.conf, the server template and the env check where the image's entrypoint uses them", () => {
        const copies = all(runtime, "COPY").map((i) => i.args);
        assert.ok(copies.includes("nginx/nginx.conf /etc/nginx/nginx.conf"));
        assert.ok(copies.includes("nginx/server.conf.template /etc/nginx/templates/herd/server.conf.template"));
        assert.ok(copies.includes("--chmod=0755 nginx/05-herd-check-env.sh /docker-entrypoint.d/05-herd-check-env.sh"));
        assert.ok(copies.includes("--from=build /app/dist /usr/share/nginx/html"));
        // Rendered into /tmp: the only writable path, and where nginx.conf includes it from.
        assert.deepEqual(all(runtime, "ENV").map((i) => i.args), ["NGINX_ENVSUBST_OUTPUT_DIR=/tmp"]);
        assert.match(fs.readFileSync(path.join(FRONTEND_DIR, "nginx", "nginx.conf"), "utf8"), /^\s*include \/tmp\/herd\/server\.conf;$/m);
    });

    it("keeps the image's entrypoint and stops nginx gracefully", () => {
        assert.equal(all(runtime, "ENTRYPOINT").length, 0, "the image's /docker-entrypoint.sh renders the template");
        assert.deepEqual(all(runtime, "CMD").map((i) => i.args), ['["nginx", "-g", "daemon off;"]']);
        assert.deepEqual(all(runtime, "STOPSIGNAL").map((i) => i.args), ["SIGQUIT"]);
        assert.match(all(runtime, "HEALTHCHECK")[0]?.args ?? "", /http:\/\/127\.0\.0\.1:8080\/healthz/);
    });

    it("fetches nothing at build time: no ADD, no curl/wget in RUN", () => {
        assert.equal(instructions.filter((i) => i.keyword === "ADD").length, 0);
        assert.ok(!instructions.some((i) => i.keyword === "RUN" && /\b(curl|wget)\b/.test(i.args)));
    });

    it("every COPY source is in the build context and not excluded by .dockerignore", () => {
        for (const stage of stages) {
            for (const ins of all(stage, "COPY")) {
                for (const src of copySources(ins.args) ?? []) {
                    assert.ok(fs.existsSync(path.join(FRONTEND_DIR, src)), `line ${ins.line}: ${src} does not exist`);
                    assert.ok(!ignored(src, dockerignore), `line ${ins.line}: ${src} is excluded by .dockerignore`);
                }
            }
        }
    });

    it(".dockerignore keeps node_modules, dist, tests and the bench out of the context", () => {
        for (const p of ["node_modules", "dist", "tests", "bench", ".git"]) {
            assert.ok(ignored(p, dockerignore), `${p} is not ignored`);
        }
    });
});

describe("the build stage, replayed on exactly the files it copies", () => {
    const context = fs.mkdtempSync(path.join(os.tmpdir(), "herd-fe-context-"));
    after(() => fs.rmSync(context, { recursive: true, force: true }));

    it("typechecks and builds dist/index.html and hashed /assets/ from those files alone", () => {
        for (const ins of all(build, "COPY")) {
            for (const src of copySources(ins.args) ?? []) {
                fs.cpSync(path.join(FRONTEND_DIR, src), path.join(context, src), { recursive: true });
            }
        }
        // Stands in for `npm ci` (same lockfile, already installed here).
        fs.symlinkSync(path.join(FRONTEND_DIR, "node_modules"), path.join(context, "node_modules"));
        const npm = (script: string) => execFileSync("npm", ["run", "--silent", script], { cwd: context, encoding: "utf8", stdio: "pipe" });
        npm("typecheck");
        npm("build");
        const dist = path.join(context, "dist");
        assert.ok(fs.existsSync(path.join(dist, "index.html")));
        const assets = fs.readdirSync(path.join(dist, "assets"));
        assert.ok(assets.some((f) => /^index-[\w-]{8,}\.js$/.test(f)), `no hashed JS in ${assets.join(", ")}`);
        assert.ok(assets.some((f) => /^index-[\w-]{8,}\.css$/.test(f)), `no hashed CSS in ${assets.join(", ")}`);
    });
});
