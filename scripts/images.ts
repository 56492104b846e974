/**
 * npm run --silent images -- --stack <name> [--config-file <path>] [--mirror <location>] [--out <dir>] [--tool skopeo|crane]
 *
 * Lists every container image the stack deploys (every pod template's containers, and the images in Helm releases'
 * values), evaluated offline like `npm run manifests`: each as herd references it, how it is pinned (by digest, by tag
 * only, or built by herd and deployed by the digest `pulumi up` pushes), what uses it, and, with
 * herd:imageRegistryMirror (or --mirror), where the cluster pulls it from. With --out it writes
 *   <dir>/images.txt          the same list, one image a line, tab-separated
 *   <dir>/mirror-images.sh    copies every image that must be in the mirror there, with skopeo or crane (`set -eu`;
 *                             the tool's own login for credentials; the mirror from the stack, or its first argument)
 * Invalid config or flags: exit 1 or 2, nothing written.
 */
import { evaluateStack, type Evaluation } from "../offline/evaluate";
import { buildManifests } from "../offline/manifests";
import { markComputed } from "../offline/mocks";
import { readStackConfig } from "../offline/stack-config";
import { KEYS } from "../config/keys";
import { claimTarget, formatImageReference, mirrorImage, parseImageReference } from "../lib/image-mirror";
import { podSpecPath } from "../lib/image-mirror-transform";
import { checkOutDir, CliError, CliIo, parseCli, PROCESS_IO, runCli, UsageError, userPath, writeFilesAtomically } from "./cli";

export const USAGE = `usage: npm run --silent images -- --stack <name> [--config-file <path>] [--mirror <location>] [--out <dir>] [--tool skopeo|crane]

Lists every image the stack deploys, evaluated offline (no CLI, cloud, cluster or credentials): as herd references
it, how it is pinned (digest, tag only, or built by herd and deployed by digest), and where the cluster pulls it from
when herd:imageRegistryMirror is set. With --out, writes images.txt and mirror-images.sh (copies the images into the
mirror; run it where both registries are reachable, logged in with the tool's own login).

  --stack <name>         the stack: reads Pulumi.<name>.yaml in the project
  --config-file <path>   read this file instead (same format as a Pulumi.<stack>.yaml)
  --mirror <location>    plan for this mirror (host[:port][/path]) instead of the stack's herd:imageRegistryMirror
  --out <dir>            write images.txt and mirror-images.sh there (created if needed)
  --tool skopeo|crane    the copy tool mirror-images.sh uses (default skopeo)
  -h, --help             this text`;

export const TOOLS = ["skopeo", "crane"] as const;
export type CopyTool = (typeof TOOLS)[number];
const MIRROR_KEY = "herd:imageRegistryMirror";

/** How a reference is pinned: by digest, by tag only, or built by herd at `pulumi up` and deployed by its digest. */
export type Pinning = "digest" | "tag" | "built";

export interface StackImage {
    /** As herd references it (before the mirror). */
    readonly source: string;
    /** As the cluster pulls it: the mirror's reference, or the source when no mirror is set or the image is kept. */
    readonly pulled: string;
    readonly pinning: Pinning;
    /** Whether it must be copied into the mirror (a mirror is known and the image is not kept where it is). */
    readonly mirrored: boolean;
    /** What uses it: `<Kind> <namespace>/<name> <container>`, or `helm release <name> values.<path>`. */
    readonly usedBy: readonly string[];
}

export interface StackImages {
    readonly stack: string;
    readonly configFile: string;
    /** The mirror the list is for (the stack's herd:imageRegistryMirror or --mirror); undefined: none. */
    readonly mirror: string | undefined;
    readonly images: readonly StackImage[];
}

/** Every image reference an evaluation deploys, by where it is used. */
export function imagesByUse(e: Evaluation): Map<string, string> {
    const uses = new Map<string, string>();
    for (const m of buildManifests(e).manifests) {
        const path = podSpecPath(`kubernetes:x/v1:${m.kind}`);
        if (path === undefined) {
            continue;
        }
        let spec: unknown = m;
        for (const key of path) {
            spec = (spec as Record<string, unknown> | undefined)?.[key];
        }
        const where = `${m.kind} ${m.metadata.namespace ?? ""}${m.metadata.namespace === undefined ? "" : "/"}${m.metadata.name}`;
        for (const list of ["initContainers", "containers", "ephemeralContainers"]) {
            for (const c of ((spec as Record<string, unknown> | undefined)?.[list] as { name?: string; image?: unknown }[] | undefined) ?? []) {
                if (typeof c.image === "string") {
                    uses.set(`${where} ${c.name ?? "?"}`, c.image);
                }
            }
        }
    }
    // Helm releases: a chart's images sit in its values as { repository, tag?, digest? } (the common convention).
    for (const r of e.resources.filter((x) => x.type.startsWith("kubernetes:helm.sh/") && x.type.endsWith(":Release"))) {
        const walk = (v: unknown, at: string): void => {
            if (typeof v !== "object" || v === null || Array.isArray(v)) {
                return;
            }
            const o = v as Record<string, unknown>;
            if (typeof o["repository"] === "string" && (typeof o["tag"] === "string" || typeof o["digest"] === "string")) {
                const tag = typeof o["tag"] === "string" ? `:${o["tag"]}` : "";
                const digest = typeof o["digest"] === "string" ? `@${o["digest"]}` : "";
                uses.set(`helm release ${r.name} values.${at}`, `${o["repository"]}${tag}${digest}`);
                return;
            }
            for (const [k, x] of Object.entries(o)) {
                walk(x, at === "" ? k : `${at}.${k}`);
            }
        };
        walk(r.inputs["values"], "");
    }
    return uses;
}

function pinningOf(ref: string): Pinning {
    if (markComputed(ref) !== ref) {
        return "built";
    }
    return parseImageReference(ref).digest !== undefined ? "digest" : "tag";
}

/**
 * The stack's images. With a mirror (the stack's or `mirror`), the program is evaluated twice, with the mirror and
 * without: the references it deploys with the mirror are what the cluster pulls, those without are the sources, and
 * each must be its source or the source rewritten by the mirror's rule (else this is a herd bug).
 */
export async function stackImages(opts: { stack: string; configFile?: string; configFileAsGiven?: string; mirror?: string }): Promise<StackImages> {
    const base = { stack: opts.stack, configFile: opts.configFile, configFileAsGiven: opts.configFileAsGiven };
    const deployed = await evaluateStack({ ...base, overrides: opts.mirror === undefined ? undefined : { [MIRROR_KEY]: opts.mirror } });
    const mirrorValue = opts.mirror ?? readStackConfig(base).values[MIRROR_KEY] ?? "";
    const mirror = mirrorValue === "" ? undefined : mirrorValue;
    const pulledByUse = imagesByUse(deployed);
    const sourceByUse = mirror === undefined ? pulledByUse : imagesByUse(await evaluateStack({ ...base, overrides: { [MIRROR_KEY]: "" } }));

    const problems: string[] = [];
    const byPair = new Map<string, { source: string; pulled: string; usedBy: string[] }>();
    const seen = new Map<string, string>();
    for (const [use, pulled] of pulledByUse) {
        const source = sourceByUse.get(use);
        if (source === undefined) {
            problems.push(`${use}: deployed with the mirror as ${pulled}, absent without it`);
            continue;
        }
        if (mirror !== undefined && pulled !== source && pulled !== mirrorImage(source, { location: mirror, keep: [] })) {
            problems.push(`${use}: ${source} is deployed as ${pulled}, not as the mirror's rule makes it`);
        }
        if (pulled !== source) {
            claimTarget(seen, source, pulled);
        }
        const key = `${source}\u0000${pulled}`;
        const entry = byPair.get(key) ?? { source, pulled, usedBy: [] };
        entry.usedBy.push(use);
        byPair.set(key, entry);
    }
    if (problems.length > 0) {
        throw new Error(`the images deployed with herd:imageRegistryMirror do not match those without it (this is a herd bug):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    const images = [...byPair.values()]
        .map((i) => ({
            source: markComputed(i.source),
            pulled: markComputed(i.pulled),
            pinning: pinningOf(i.source),
            mirrored: mirror !== undefined && i.pulled !== i.source,
            usedBy: i.usedBy.sort(),
        }))
        .sort((a, b) => a.source.localeCompare(b.source));
    return { stack: opts.stack, configFile: deployed.configFile, mirror, images };
}

const PINNING_TEXT: Readonly<Record<Pinning, string>> = {
    digest: "digest",
    tag: "tag-only",
    built: "built-by-herd",
};

/** images.txt: a commented header, then `source<TAB>pulled-as<TAB>pinning<TAB>used-by` per image. */
export function renderImagesText(list: StackImages): string {
    const lines = [
        `# Images herd deploys for stack ${list.stack} (${list.configFile.split("/").pop() ?? list.configFile}), from \`npm run images\`.`,
        list.mirror === undefined
            ? "# herd:imageRegistryMirror is not set: the cluster pulls each image from its source."
            : `# herd:imageRegistryMirror ${list.mirror}: the cluster pulls each image as pulled-as (mirror-images.sh copies those that differ).`,
        "# pinning: digest (immutable); tag-only (the tag's owner can move it: mirror once, then the mirror's copy is what runs);",
        "#          built-by-herd (pushed to the stack's own registry by `pulumi up`, deployed by its digest, never mirrored).",
        "# source\tpulled-as\tpinning\tused-by",
        ...list.images.map((i) => [i.source, i.pulled, PINNING_TEXT[i.pinning], i.usedBy.join(", ")].join("\t")),
    ];
    return `${lines.join("\n")}\n`;
}

/** A reference as a copy reads or writes it: by digest when it has one (the digest is what is deployed), else by tag. */
function copyRef(ref: string): string {
    const r = parseImageReference(ref);
    const name = ref.slice(0, ref.length - (r.digest === undefined ? 0 : r.digest.length + 1));
    if (r.digest === undefined) {
        return name;
    }
    return `${r.tag === undefined ? name : name.slice(0, name.length - r.tag.length - 1)}@${r.digest}`;
}

function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * mirror-images.sh: one copy per image to mirror, all platforms of each, digests kept (an image deployed by digest is
 * copied to that digest). The mirror is the stack's (or the first argument, for another); without one the argument
 * is required and the targets are `<mirror>/<path>` by herd's rule. No credential is in it: each tool reads its own login.
 */
export function renderMirrorScript(list: StackImages, tool: CopyTool): string {
    const toCopy = list.images.filter((i) => i.pinning !== "built" && (list.mirror === undefined || i.mirrored));
    const placeholder = "registry.mirror.invalid";
    const lines = [
        "#!/bin/sh",
        `# Copies the images herd deploys for stack ${list.stack} into the registry mirror (herd:imageRegistryMirror), with ${tool}.`,
        "# Generated by `npm run images`; run it on a machine that reaches both the sources and the mirror.",
        "# Credentials: none here. Log in first with the tool's own login, to each source registry that needs one and to the mirror:",
        tool === "skopeo" ? "#   skopeo login <registry>      (kept in ${XDG_RUNTIME_DIR}/containers/auth.json, or ~/.docker/config.json)" : "#   crane auth login <registry> -u <user> --password-stdin   (kept in ~/.docker/config.json)",
        "# Every platform of each image is copied; an image deployed by digest is copied to that digest, so it stays the same image.",
        `# Usage: mirror-images.sh${list.mirror === undefined ? " <mirror>" : " [<mirror>]"}   (host[:port][/path]${list.mirror === undefined ? "" : `; default ${list.mirror}, the stack's`})`,
        "set -eu",
        list.mirror === undefined
            ? 'MIRROR="${1:?usage: mirror-images.sh <mirror: host[:port][/path]> (herd:imageRegistryMirror is not set for this stack)}"'
            : `MIRROR="\${1:-${list.mirror}}"`,
        'MIRROR="${MIRROR%/}"',
        `command -v ${tool} >/dev/null 2>&1 || { echo "mirror-images.sh: ${tool} is not installed (or not on PATH)" >&2; exit 127; }`,
        "copy() {",
        '    echo "copy $1 -> $2" >&2',
        tool === "skopeo" ? '    skopeo copy --all "docker://$1" "docker://$2"' : '    crane copy "$1" "$2"',
        "}",
    ];
    for (const i of toCopy) {
        const target = list.mirror === undefined ? mirrorImage(i.source, { location: placeholder, keep: [] }) : i.pulled;
        // Fully qualified (`redis:7` is docker.io/library/redis:7), so no tool's short-name rules come into it.
        const src = copyRef(formatImageReference(parseImageReference(i.source)));
        const dst = copyRef(target);
        const rest = list.mirror === undefined ? dst.slice(placeholder.length + 1) : dst.slice(list.mirror.length + 1);
        lines.push(`copy ${shellQuote(src)} "$MIRROR"/${shellQuote(rest)}`);
    }
    lines.push(`echo "mirror-images.sh: ${toCopy.length} image(s) copied to $MIRROR" >&2`);
    return `${lines.join("\n")}\n`;
}

/** What the list says on stdout: one block per image. */
function renderSummary(list: StackImages): string {
    const out = [
        `herd images --stack ${list.stack}: ${list.images.length} image(s)${list.mirror === undefined ? " (herd:imageRegistryMirror not set)" : `, mirror ${list.mirror}`}`,
    ];
    for (const i of list.images) {
        out.push(`  ${i.source}  [${PINNING_TEXT[i.pinning]}]${i.pulled !== i.source ? `\n    -> ${i.pulled}` : ""}\n    used by ${i.usedBy.join(", ")}`);
    }
    const tagOnly = list.images.filter((i) => i.pinning === "tag").length;
    if (tagOnly > 0) {
        out.push(`${tagOnly} image(s) are pinned by tag only: mirror them once and deploy from the mirror, so what runs cannot change under you.`);
    }
    return `${out.join("\n")}\n`;
}

/** The command; tests run it in-process through runMain(USAGE, () => main(argv, io), io). */
export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
    const args = parseCli(
        argv,
        { stack: { type: "string" }, "config-file": { type: "string" }, mirror: { type: "string" }, out: { type: "string" }, tool: { type: "string" } },
        ["stack"],
    );
    const stack = args.stack ?? "";
    const tool = args.tool ?? "skopeo";
    if (!(TOOLS as readonly string[]).includes(tool)) {
        throw new UsageError(`--tool: expected one of ${TOOLS.join(", ")}, got ${JSON.stringify(tool)}`);
    }
    if (args.mirror !== undefined) {
        const checked = KEYS.imageRegistryMirror.schema.safeParse(args.mirror);
        if (!checked.success || args.mirror === "") {
            throw new UsageError(`--mirror: expected a registry location such as registry.example.com:5000/mirror (host[:port][/path], no scheme or tag), got ${JSON.stringify(args.mirror)}`);
        }
    }
    const out = args.out === undefined ? undefined : userPath(args.out);
    if (out !== undefined) {
        checkOutDir("--out", out);
    }
    const configFile = args["config-file"] === undefined ? undefined : userPath(args["config-file"]);
    let list: StackImages;
    try {
        list = await stackImages({ stack, configFile, configFileAsGiven: args["config-file"], mirror: args.mirror });
    } catch (err) {
        throw new CliError(`herd images --stack ${stack}: ${(err as Error).message}`);
    }
    io.stdout(renderSummary(list));
    if (out !== undefined) {
        writeFilesAtomically("--out", out, { "images.txt": renderImagesText(list), "mirror-images.sh": renderMirrorScript(list, tool as CopyTool) }, { "mirror-images.sh": 0o755 });
        io.stderr(`herd images --stack ${stack}: images.txt, mirror-images.sh -> ${out}\n`);
    }
    return 0;
}

if (require.main === module) {
    runCli(USAGE, () => main(process.argv.slice(2)));
}
