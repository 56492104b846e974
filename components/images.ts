/**
 * herd's three images: api, frontend and postgres (PostgreSQL with pgBackRest), built from images/<name> and pushed to the platform's registry with @pulumi/docker, then
 * deployed by digest (`repo@sha256:...`), so a code change rolls the pods and nothing mutable is ever referenced.
 * The tag is a hash of the build context, unique per content (ECR repositories refuse to overwrite a tag).
 * On onprem with prebuilt images nothing is built: the pinned references from config are used as given.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { numberDefault, waitBudgets } from "../config";
import { type WaitMinutes, waitOptions } from "../lib/waits";
import type { ImageSource } from "../platform/contract";

const PROJECT_ROOT = path.resolve(__dirname, "..");
export const IMAGES_DIR = path.join(PROJECT_ROOT, "images");
/** Never part of a build context's hash (nor, through .dockerignore, of the context itself). */
const ALWAYS_IGNORED = new Set(["node_modules", ".venv", "dist", "__pycache__", ".pytest_cache", ".git"]);

interface IgnoreRule {
    readonly negate: boolean;
    readonly regex: RegExp;
}

/** The rules of a .dockerignore, as Docker reads them: globs (`*`, `?`, `**`), `!` to re-include, last match wins. */
export function dockerignoreRules(text: string): IgnoreRule[] {
    return text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((line) => {
            const negate = line.startsWith("!");
            const pattern = (negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, "");
            const body = pattern
                .split("/")
                .map((seg) => (seg === "**" ? "\u0000" : seg.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")))
                .join("/")
                .replace(/^\u0000\//, "(?:.*/)?")
                .replace(/\/\u0000$/, "(?:/.*)?")
                .replace(/\u0000/g, ".*");
            return { negate, regex: new RegExp(`^${body}$`) };
        });
}

/** Whether Docker leaves `relPath` out of the build context: a rule matches the path or one of its directories. */
export function ignoredByDocker(rules: readonly IgnoreRule[], relPath: string): boolean {
    const parts = relPath.split("/");
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let ignored = false;
    for (const rule of rules) {
        if (candidates.some((c) => rule.regex.test(c))) {
            ignored = !rule.negate;
        }
    }
    return ignored;
}

/**
 * A short hash of exactly what Docker sends as the build context (the directory less its .dockerignore) and the
 * Dockerfile: same content, same tag; any change, a new tag.
 */
export function contextHash(dir: string): string {
    if (!fs.existsSync(path.join(dir, "Dockerfile"))) {
        throw new pulumi.RunError(`cannot build the image: ${dir}/Dockerfile does not exist (herd builds images/api, images/frontend and images/postgres)`);
    }
    const ignoreFile = path.join(dir, ".dockerignore");
    const rules = fs.existsSync(ignoreFile) ? dockerignoreRules(fs.readFileSync(ignoreFile, "utf8")) : [];
    const hash = createHash("sha256");
    const add = (relPath: string) => hash.update(relPath).update("\0").update(fs.readFileSync(path.join(dir, relPath))).update("\0");
    add("Dockerfile");
    const walk = (rel: string) => {
        const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
        for (const entry of entries) {
            const relPath = rel === "" ? entry.name : `${rel}/${entry.name}`;
            if (ALWAYS_IGNORED.has(entry.name) || relPath === "Dockerfile") {
                continue;
            }
            if (entry.isDirectory()) {
                walk(relPath);
            } else if (entry.isFile() && !ignoredByDocker(rules, relPath)) {
                add(relPath);
            }
        }
    };
    walk("");
    return hash.digest("hex").slice(0, 16);
}

export interface AppImages {
    /** Digest-pinned references to deploy. */
    readonly api: pulumi.Output<string>;
    readonly frontend: pulumi.Output<string>;
    /** The herd PostgreSQL image: the server, its roles sidecar, the dump job and pgBackRest's restore. */
    readonly postgres: pulumi.Output<string>;
}

/** The images herd builds, each from images/<name>. */
export const IMAGE_NAMES = ["api", "frontend", "postgres"] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

/** Builds and pushes the three images (or takes the prebuilt ones). */
export function appImages(source: ImageSource, opts: { parent?: pulumi.Resource; waits?: WaitMinutes } = {}): AppImages {
    const waits = opts.waits ?? waitBudgets(numberDefault);
    if (source.kind === "prebuilt") {
        return { api: pulumi.output(source.api), frontend: pulumi.output(source.frontend), postgres: pulumi.output(source.postgres) };
    }
    const build = (name: ImageName, repository: pulumi.Input<string>) => {
        const context = path.join(IMAGES_DIR, name);
        // Relative to the project (Pulumi runs the program there): the same checkout anywhere gives the same inputs.
        const relative = path.relative(PROJECT_ROOT, context);
        const image = new docker.Image(
            `${name}-image`,
            {
                imageName: pulumi.interpolate`${repository}:h-${contextHash(context)}`,
                build: { context: relative, dockerfile: path.join(relative, "Dockerfile"), platform: "linux/amd64" },
                registry: { server: source.registry.server, username: source.registry.username, password: source.registry.password },
            },
            // The builds start at once, beside the cluster and the data tier: nothing they need waits.
            { parent: opts.parent, ...waitOptions("imageBuild", waits) },
        );
        return image.repoDigest;
    };
    return {
        api: build("api", source.repositories.api),
        frontend: build("frontend", source.repositories.frontend),
        postgres: build("postgres", source.repositories.postgres),
    };
}
