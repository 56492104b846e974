/**
 * Image references and herd:imageRegistryMirror's rewrite, as pure functions (no Pulumi): the program's transform
 * (lib/image-mirror-transform.ts), the aws Helm release's values and `npm run images` all use these.
 *
 * The rule, exactly:
 *   1. A reference is read the way Docker reads it: `[registry/]path[:tag][@digest]`, where the first `/`-separated
 *      part is a registry only if it holds a `.` or a `:` or is `localhost`; with none, the registry is Docker Hub
 *      (`docker.io`), and a Docker Hub path of one part gets `library/` (`postgres:16` is
 *      `docker.io/library/postgres:16`).
 *   2. A reference whose registry host is the mirror's own host, or one of the registries the stack keeps (the one
 *      herd pushes the images it builds to), is left exactly as it is.
 *   3. Any other becomes `<mirror>/<path>`, with its tag and its digest as they were:
 *      `docker.io/library/postgres:16.9-bookworm` -> `<mirror>/library/postgres:16.9-bookworm`,
 *      `registry.k8s.io/kubectl:v1.33.3` -> `<mirror>/kubectl:v1.33.3`.
 * The registry host is dropped, so two sources with the same path on different registries would meet at one
 * target: `mirrorPlan` and the transform refuse that, naming both.
 */

/** Docker Hub, where a reference that names no registry comes from. */
export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

export interface ImageReference {
    /** The registry host (`host[:port]`), lower case; `docker.io` when the reference names none. */
    readonly registry: string;
    /** The repository path under the registry, normalized (`library/postgres` on Docker Hub). */
    readonly path: string;
    readonly tag: string | undefined;
    /** `sha256:<64 hex>`, when the reference is pinned by digest. */
    readonly digest: string | undefined;
}

/** One path part of a repository: lower-case letters and digits, separated by `.`, `_`, `__` or `-`s. */
const PATH_PART = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const HOST = /^(?:localhost|[a-zA-Z0-9](?:[-a-zA-Z0-9.]*[a-zA-Z0-9])?)(?::[0-9]{1,5})?$/;

/** A reference that cannot be read: the message names it and what was expected. */
export class ImageReferenceError extends Error {}

function invalid(ref: string, why: string): ImageReferenceError {
    return new ImageReferenceError(`expected an image reference such as registry.example.com/team/app:1.2 or postgres:16 (${why}), got ${JSON.stringify(ref)}`);
}

/** Reads a reference the way Docker does (rule 1). Throws ImageReferenceError on anything Docker would refuse. */
export function parseImageReference(ref: string): ImageReference {
    if (ref === "" || /\s/.test(ref)) {
        throw invalid(ref, "no spaces, not empty");
    }
    let rest = ref;
    let digest: string | undefined;
    const at = rest.indexOf("@");
    if (at !== -1) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
        if (!DIGEST.test(digest)) {
            throw invalid(ref, "a digest as algorithm:hex, e.g. sha256:<64 hex digits>");
        }
    }
    let tag: string | undefined;
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
        if (!TAG.test(tag)) {
            throw invalid(ref, "a tag of letters, digits, '_', '.' and '-', at most 128");
        }
    }
    const parts = rest.split("/");
    const first = parts[0] ?? "";
    const named = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
    let registry = named ? first.toLowerCase() : DOCKER_HUB;
    if (named && !HOST.test(first)) {
        throw invalid(ref, "a registry host[:port]");
    }
    const pathParts = named ? parts.slice(1) : parts;
    if (pathParts.length === 0 || pathParts.some((p) => !PATH_PART.test(p))) {
        throw invalid(ref, "a lower-case repository path");
    }
    if (DOCKER_HUB_ALIASES.has(registry)) {
        registry = DOCKER_HUB;
        if (pathParts.length === 1) {
            pathParts.unshift("library");
        }
    }
    return { registry, path: pathParts.join("/"), tag, digest };
}

/** The reference written out in full: `registry/path[:tag][@digest]`. */
export function formatImageReference(r: ImageReference): string {
    return `${r.registry}/${r.path}${r.tag === undefined ? "" : `:${r.tag}`}${r.digest === undefined ? "" : `@${r.digest}`}`;
}

/** The registry host (`host[:port]`) of a registry location (`host[:port][/path]`) or server, lower case. */
export function registryHost(location: string): string {
    return (location.replace(/^[a-z]+:\/\//i, "").split("/")[0] ?? "").toLowerCase();
}

export interface MirrorRule {
    /** herd:imageRegistryMirror: `host[:port][/path]`. */
    readonly location: string;
    /** Registries (locations or servers; only their hosts count) whose images stay where they are (rule 2). */
    readonly keep: readonly string[];
}

/** Where `ref` is pulled from once the mirror is set (the rule above); a reference kept (rule 2) comes back unchanged. */
export function mirrorImage(ref: string, rule: MirrorRule): string {
    const r = parseImageReference(ref);
    const kept = [rule.location, ...rule.keep].map(registryHost);
    if (kept.includes(r.registry)) {
        return ref;
    }
    return formatImageReference({ ...r, registry: rule.location.replace(/\/+$/, "") });
}

/**
 * A repository without tag or digest (a Helm chart's `image.repository`), rewritten by the same rule: the registry
 * host and path it is pulled from once the mirror is set.
 */
export function mirrorRepository(repository: string, rule: MirrorRule): string {
    const r = parseImageReference(repository);
    if (r.tag !== undefined || r.digest !== undefined) {
        throw invalid(repository, "a repository with no tag or digest");
    }
    return mirrorImage(repository, rule);
}

/** Whether the reference is pinned by digest (a tag alone can be moved by whoever owns the repository). */
export function pinnedByDigest(ref: string): boolean {
    return parseImageReference(ref).digest !== undefined;
}

/**
 * Checks that distinct sources stay distinct once mirrored (the mirror drops the registry host): records
 * `source -> target` in `seen` (target -> source) and throws naming both sources when a target is taken.
 */
export function claimTarget(seen: Map<string, string>, source: string, target: string): void {
    const other = seen.get(target);
    if (other !== undefined && other !== source && formatImageReference(parseImageReference(other)) !== formatImageReference(parseImageReference(source))) {
        throw new Error(
            `herd:imageRegistryMirror: ${other} and ${source} would both be pulled as ${target} (the mirror keeps each image's path, not its registry); ` +
                "expected distinct paths: deploy one of them from a registry the stack keeps, or pin them to one source",
        );
    }
    seen.set(target, source);
}

/** Each source with its target, in the order given, duplicates once; throws when two sources share a target. */
export function mirrorPlan(sources: readonly string[], rule: MirrorRule): { readonly source: string; readonly target: string }[] {
    const seen = new Map<string, string>();
    const plan: { source: string; target: string }[] = [];
    for (const source of new Set(sources)) {
        const target = mirrorImage(source, rule);
        claimTarget(seen, source, target);
        plan.push({ source, target });
    }
    return plan;
}
