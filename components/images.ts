/**
 * The app's two images: built from images/<name> and pushed to the platform's registry with @pulumi/docker, then
 * deployed by digest (`repo@sha256:...`), so a code change rolls the pods and nothing mutable is ever referenced.
 * The tag is a hash of the build context, unique per content (ECR repositories refuse to overwrite a tag).
 * On onprem with prebuilt images nothing is built: the pinned references from config are used as given.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ImageSource } from "../platform";

export const IMAGES_DIR = path.resolve(__dirname, "..", "images");
/** Never part of a build context's hash (nor, through .dockerignore, of the context itself). */
const ALWAYS_IGNORED = new Set(["node_modules", ".venv", "dist", "__pycache__", ".pytest_cache", ".git"]);

/** Patterns of a .dockerignore that name whole top-level entries (what herd's own .dockerignore files use). */
function dockerignore(dir: string): Set<string> {
    const file = path.join(dir, ".dockerignore");
    if (!fs.existsSync(file)) {
        return new Set();
    }
    return new Set(
        fs
            .readFileSync(file, "utf8")
            .split("\n")
            .map((l) => l.trim().replace(/^\/+|\/+$/g, "").replace(/\/\*\*$/, ""))
            .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("!")),
    );
}

/**
 * A short hash of everything that goes into a build context: same content, same tag; any change, a new tag. Entries
 * the context's .dockerignore excludes (tests, local tooling) do not count.
 */
export function contextHash(dir: string): string {
    if (!fs.existsSync(path.join(dir, "Dockerfile"))) {
        throw new pulumi.RunError(`cannot build the image: ${dir}/Dockerfile does not exist (herd builds images/api and images/frontend)`);
    }
    const ignored = dockerignore(dir);
    const hash = createHash("sha256");
    const walk = (rel: string) => {
        const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
        for (const entry of entries) {
            const relPath = rel === "" ? entry.name : `${rel}/${entry.name}`;
            if (ALWAYS_IGNORED.has(entry.name) || ignored.has(relPath) || ignored.has(entry.name)) {
                continue;
            }
            if (entry.isDirectory()) {
                walk(relPath);
            } else if (entry.isFile()) {
                hash.update(relPath).update("\0").update(fs.readFileSync(path.join(dir, relPath))).update("\0");
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
}

/** Builds and pushes both images (or takes the prebuilt ones). */
export function appImages(source: ImageSource, opts: { parent?: pulumi.Resource } = {}): AppImages {
    if (source.kind === "prebuilt") {
        return { api: pulumi.output(source.api), frontend: pulumi.output(source.frontend) };
    }
    const build = (name: "api" | "frontend", repository: pulumi.Input<string>) => {
        const context = path.join(IMAGES_DIR, name);
        const image = new docker.Image(
            `${name}-image`,
            {
                imageName: pulumi.interpolate`${repository}:h-${contextHash(context)}`,
                build: { context, dockerfile: path.join(context, "Dockerfile"), platform: "linux/amd64" },
                registry: { server: source.registry.server, username: source.registry.username, password: source.registry.password },
            },
            { parent: opts.parent },
        );
        return image.repoDigest;
    };
    return { api: build("api", source.repositories.api), frontend: build("frontend", source.repositories.frontend) };
}
