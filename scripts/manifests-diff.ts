/**
 * npm run --silent manifests-diff -- --stack <name> --base <git-ref> [--config-file <path>] [--format text|json] [--exit-code]
 *
 * Which Kubernetes objects, and which of their fields, a change makes to a stack: offline, with no CLI, cloud or
 * credentials (what a pull request from a fork gets instead of a `pulumi preview`).
 *
 * The base commit is checked out into a temporary git worktree (`git worktree add --detach`) that reuses this
 * project's node_modules through a symlink (nothing is installed), and the `manifests` command runs in both trees:
 * the base's own command on the base, this tree's on the working tree, same stack, same config-file semantics. The
 * two renderings are compared:
 *   - Kubernetes objects (manifests.yaml), keyed by apiVersion/kind/namespace/name: added, removed, and changed with
 *     the path of every changed field and its value before -> after;
 *   - every other resource (resources.json: cloud resources, providers, components), keyed by type and name: inputs
 *     and resource options (protect, retainOnDelete, ...); for Kubernetes resources only their options, since their
 *     content is already compared as objects.
 * Secret values are redacted by the manifests command before they reach this script, so none can be printed; a change
 * inside a Secret's data therefore does not show (its keys do).
 *
 * A changed object is an update, or a REPLACE when a changed field is one pulumi-kubernetes replaces the object for
 * (its own table, encoded in immutable-fields.ts; the fields are named, json: "action": "replace" and "forcing"). A
 * replacement or removal of an object whose Pulumi resource is `protect`ed in the base's resources.json is marked:
 * pulumi up will refuse it (with a hint what to do). An object whose Pulumi resource stays while its name changes is
 * one replaced object; without resources.json a renamed object is a removal plus an addition. The text output ends with
 * the counts: "N to replace (M protected: pulumi up will refuse them)".
 *
 * Progress (what is rendered, how long it took) goes to stderr; stdout holds only the diff, so --format json stays
 * parseable.
 *
 * Exit 0 whether or not there are changes ("no changes" is printed when there are none); 1 on an error (unknown ref,
 * a base without the manifests command, a rendering that fails); 2 on a usage error. With --exit-code: 0 no changes,
 * 2 changes, 1 an error, usage errors included (they print the usage and exit 1, so 2 always means changes). The
 * worktree is removed afterwards, also on failure or interruption.
 *
 * --config-file: a file inside this project is read from each tree (so a change to it shows); a file outside it is
 * used as is for both. Without it each tree uses its own Pulumi.<stack>.yaml. A stack file missing on one side
 * makes every object of the other side added (or removed).
 */
import { parseCli, runCli, UsageError, userPath } from "./cli";
import { DiffError, DiffOptions, manifestsDiff } from "./manifests-diff/render";
import { formatText } from "./manifests-diff/report";
import type { ManifestsDiff } from "./manifests-diff/types";

export const USAGE = `usage: npm run --silent manifests-diff -- --stack <name> --base <git-ref> [--config-file <path>] [--format text|json] [--exit-code]

Shows offline (no CLI, cloud or credentials) what the working tree changes in a stack's Kubernetes objects and other
resources compared with <git-ref>: every changed field, REPLACE for changes that force a replacement, and whether
protect will refuse it. Progress goes to stderr; stdout is the diff.

  --stack <name>         the stack (Pulumi.<name>.yaml)
  --base <git-ref>       the commit to compare with (a branch, tag or sha)
  --config-file <path>   read this stack file instead (relative to where you run the command)
  --format text|json     text (default) or JSON
  --exit-code            exit 0 when nothing changes, 2 when something does, 1 on an error
  -h, --help             this text`;

export type { FieldChange, Json } from "./diff-types";
export { diffManifests, diffResources, objectOwners, protectedReplaceHint, summarize } from "./manifests-diff/diff";
export type { ObjectOwner } from "./manifests-diff/diff";
export { DiffError, manifestsDiff } from "./manifests-diff/render";
export type { DiffOptions } from "./manifests-diff/render";
export { formatText, lineDiff, summaryLine } from "./manifests-diff/report";
export type {
    ManifestsDiff,
    ObjectChange,
    ObjectRef,
    ObjectsDiff,
    Protection,
    ResourceRef,
    SetDiff,
    Summary,
} from "./manifests-diff/types";
export { diffValues } from "./manifests-diff/values";

/** What the command exits with: with --exit-code, 2 means "there are changes", so a usage error is 1 instead of 2. */
export const EXIT = { ok: 0, changes: 2, error: 1 } as const;

export interface MainIo {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
    /** Replaces the real computation (tests). */
    readonly diff?: (opts: DiffOptions) => Promise<ManifestsDiff>;
}

const processIo: MainIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
};

export async function main(argv: string[], io: MainIo = processIo): Promise<number> {
    const exitCode = argv.includes("--exit-code");
    let args;
    let format: string;
    try {
        args = parseCli(
            argv,
            {
                stack: { type: "string" },
                base: { type: "string" },
                "config-file": { type: "string" },
                format: { type: "string" },
                "exit-code": { type: "boolean" },
            },
            ["stack", "base"],
        );
        format = args.format ?? "text";
        if (format !== "text" && format !== "json") {
            throw new UsageError(`--format must be text or json, got ${JSON.stringify(format)}`);
        }
    } catch (err) {
        if (exitCode && err instanceof UsageError) {
            // runCli would exit 2, which --exit-code reserves for "there are changes".
            io.stderr(`${err.message}\n${USAGE}\n`);
            return EXIT.error;
        }
        throw err;
    }
    const stack = args.stack ?? "";
    try {
        const diff = await (io.diff ?? manifestsDiff)({
            stack,
            base: args.base ?? "",
            configFile: args["config-file"] === undefined ? undefined : userPath(args["config-file"]),
            progress: (line) => io.stderr(`manifests-diff: ${line}\n`),
        });
        io.stdout(format === "json" ? `${JSON.stringify(diff, null, 2)}\n` : formatText(diff));
        return exitCode && diff.changes ? EXIT.changes : EXIT.ok;
    } catch (err) {
        io.stderr(`herd manifests-diff --stack ${stack}: ${err instanceof DiffError ? err.message : String(err)}\n`);
        return EXIT.error;
    }
}

if (require.main === module) {
    runCli(USAGE, () => main(process.argv.slice(2)));
}
