/**
 * The pull-request comment of the engine preview (npm run e2e:preview): a pure function from the engine's own output
 * (`pulumi preview --json`'s digest, the policy events of its `--event-log`, the `--diff` text) to Markdown that leads
 * with what a reviewer must see:
 *   1. one line: n to create / update / replace / delete (and whether the preview itself failed);
 *   2. replacements and deletions, each replacement with the properties that force it (the engine's replaceReasons
 *      and the detailed diff's *-replace entries), old -> new where the inputs show it;
 *   3. protected resources the change touches: a replacement or deletion of one makes `pulumi up` fail (said loudly,
 *      also at the top);
 *   4. policy violations (mandatory first);
 *   5. updates with their changed property paths; creates by name;
 *   6. the engine's full text diff, folded in <details>.
 * Values are shown only as the engine printed them: it already turns secrets into "[secret]", and anything inside a
 * Kubernetes Secret's data is shown as [secret] here as well. The whole stays under GitHub's comment limit (65,536
 * characters): the folded diff is cut first, then the longest lists, each cut with a note.
 */

/** One property of a step's detailed diff, as `pulumi preview --json` prints it. */
export interface PropertyDiff {
    readonly kind: string;
    readonly inputDiff?: boolean;
}

/** The parts of a serialized resource state the comment reads. */
export interface StateJson {
    readonly urn?: string;
    readonly type?: string;
    readonly protect?: boolean;
    readonly retainOnDelete?: boolean;
    readonly inputs?: Record<string, unknown>;
}

export interface PreviewStep {
    readonly op: string;
    readonly urn: string;
    readonly oldState?: StateJson;
    readonly newState?: StateJson;
    readonly diffReasons?: readonly string[] | null;
    readonly replaceReasons?: readonly string[] | null;
    readonly detailedDiff?: Readonly<Record<string, PropertyDiff>> | null;
}

/** `pulumi preview --json`'s digest (pkg/display PreviewDigest), the fields the comment reads. */
export interface PreviewDigest {
    readonly steps?: readonly PreviewStep[] | null;
    readonly diagnostics?: readonly { readonly urn?: string; readonly message: string; readonly severity: string }[] | null;
    readonly changeSummary?: Readonly<Record<string, number>> | null;
}

/** An engine event log's policyEvent (apitype.PolicyEvent). */
export interface PolicyEventRecord {
    readonly resourceUrn?: string;
    readonly message: string;
    readonly policyName: string;
    readonly policyPackName: string;
    readonly enforcementLevel: string;
    readonly severity?: string;
}

export interface CommentInput {
    readonly digest: PreviewDigest;
    readonly policyEvents: readonly PolicyEventRecord[];
    /** `pulumi preview --diff` as printed (folded at the end). */
    readonly textDiff: string;
    /** The JSON preview's exit code: non-zero when the engine stopped it (a mandatory policy violation, an error). */
    readonly previewExitCode: number;
    readonly base: { readonly ref: string; readonly commit: string };
    readonly timings?: { readonly baseUpSeconds: number; readonly headPreviewSeconds: number };
    /** @default 60000 (GitHub allows 65,536; the posting workflow adds a few lines) */
    readonly maxChars?: number;
}

export const COMMENT_MAX_CHARS = 60000;

type Change = "create" | "update" | "replace" | "delete";

interface Entry {
    readonly change: Change;
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    /** Every changed property path (the detailed diff, else the diff reasons). */
    readonly paths: readonly string[];
    /** For a replacement: the paths that force it. */
    readonly forcing: readonly string[];
    readonly step: PreviewStep;
}

const REPLACE_OPS = new Set(["replace", "create-replacement", "delete-replaced", "import-replacement", "discard-replaced"]);

function changeOf(op: string): Change | undefined {
    if (REPLACE_OPS.has(op)) {
        return "replace";
    }
    if (op === "create" || op === "import") {
        return "create";
    }
    if (op === "update") {
        return "update";
    }
    if (op === "delete" || op === "discard") {
        return "delete";
    }
    return undefined;
}

/** type and name of a URN: urn:pulumi:<stack>::<project>::<parent types$>type::name. */
export function urnTypeName(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    const types = (parts[2] ?? "").split("$");
    return { type: types[types.length - 1] ?? "", name: parts.slice(3).join("::") };
}

function unique(values: readonly string[]): string[] {
    return [...new Set(values)];
}

/** One entry per resource (a replacement's several steps folded into one), in the engine's order. */
export function classify(digest: PreviewDigest): Entry[] {
    const byUrn = new Map<string, Entry>();
    for (const step of digest.steps ?? []) {
        const change = changeOf(step.op);
        if (change === undefined) {
            continue;
        }
        const previous = byUrn.get(step.urn);
        if (previous !== undefined && (previous.change === "replace" || change !== "replace")) {
            continue;
        }
        const { type, name } = urnTypeName(step.urn);
        const detailed = Object.entries(step.detailedDiff ?? {});
        const paths = detailed.length > 0 ? detailed.map(([p]) => p) : [...(step.diffReasons ?? [])];
        const forcing = change === "replace" ? unique([...detailed.filter(([, d]) => d.kind.endsWith("-replace")).map(([p]) => p), ...(step.replaceReasons ?? [])]) : [];
        byUrn.set(step.urn, {
            change,
            urn: step.urn,
            type: step.oldState?.type ?? step.newState?.type ?? type,
            name,
            protect: step.oldState?.protect === true,
            retainOnDelete: step.oldState?.retainOnDelete === true,
            paths: unique(paths),
            forcing,
            step,
        });
    }
    return [...byUrn.values()];
}

/** Splits a detailed-diff path (`spec.template.metadata.labels["app.kubernetes.io/name"]`, `a.b[0].c`) into keys. */
export function splitPath(p: string): (string | number)[] {
    const out: (string | number)[] = [];
    const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
    for (const m of p.matchAll(re)) {
        if (m[1] !== undefined) {
            out.push(m[1]);
        } else if (m[2] !== undefined) {
            out.push(Number(m[2]));
        } else if (m[3] !== undefined) {
            out.push(m[3].replace(/\\(.)/g, "$1"));
        }
    }
    return out;
}

function lookup(inputs: unknown, p: string): unknown {
    let v: unknown = inputs;
    for (const k of splitPath(p)) {
        if (typeof v !== "object" || v === null) {
            return undefined;
        }
        v = (v as Record<string | number, unknown>)[k];
    }
    return v;
}

const SECRET_TYPES = new Set(["kubernetes:core/v1:Secret"]);

/** A value as the comment shows it: short scalars as JSON, structures named, secrets as [secret]. */
export function showValue(type: string, p: string, v: unknown): string {
    if (SECRET_TYPES.has(type) && /^(data|stringData)\b/.test(p)) {
        return "[secret]";
    }
    if (v === undefined) {
        return "(none)";
    }
    if (typeof v === "object" && v !== null) {
        return Array.isArray(v) ? `(a list of ${v.length})` : "(an object)";
    }
    const s = typeof v === "string" ? (v === "[secret]" ? v : JSON.stringify(v)) : String(v);
    return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}

function code(s: string): string {
    const fence = "`".repeat(Math.max(1, ...[...s.matchAll(/`+/g)].map((m) => m[0].length + 1)));
    return fence === "`" ? `\`${s}\`` : `${fence} ${s} ${fence}`;
}

function label(e: Entry): string {
    return `${code(e.type)} **${e.name.replace(/[*_<>]/g, (c) => `\\${c}`)}**`;
}

function oldNew(e: Entry, p: string): string {
    const before = lookup(e.step.oldState?.inputs, p);
    const after = lookup(e.step.newState?.inputs, p);
    if (before === undefined && after === undefined) {
        return "";
    }
    return `: ${code(showValue(e.type, p, before))} → ${code(showValue(e.type, p, after))}`;
}

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** A code fence longer than any backtick run in the text. */
function fenceFor(text: string): string {
    return "`".repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
}

/** Keeps at most `max` items of a list, saying how many were left out. */
function capList(lines: string[], max: number, what: string): string[] {
    if (lines.length <= max) {
        return lines;
    }
    return [...lines.slice(0, max), `- … and ${lines.length - max} more ${what} (all of them are in the full diff below and in the run's engine-preview artifact)`];
}

export function buildPreviewComment(input: CommentInput): string {
    const maxChars = input.maxChars ?? COMMENT_MAX_CHARS;
    const entries = classify(input.digest);
    const of = (c: Change) => entries.filter((e) => e.change === c);
    const creates = of("create");
    const updates = of("update");
    const replaces = of("replace");
    const deletes = of("delete");
    const unchanged = input.digest.changeSummary?.["same"];
    // The engine refuses a protected resource's replacement or deletion during the preview itself: an error naming
    // it (and the preview stops there), not a step. Both sources are read.
    const diagnostics = input.digest.diagnostics ?? [];
    const refusals = protectedRefusals(diagnostics);
    const protectedRefused: { change: string; type: string; name: string; urn: string }[] = [
        ...[...replaces, ...deletes].filter((e) => e.protect && !refusals.some((r) => r.urn === e.urn)),
        ...refusals,
    ];
    const protectChanges = (input.digest.steps ?? []).filter((s) => s.op === "same" && s.oldState !== undefined && s.newState !== undefined && s.oldState.protect !== s.newState.protect);
    const protectedTouched = entries.filter((e) => e.protect && e.change === "update");
    const violations = dedupeViolations(input.policyEvents);
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
    const errors = diagnostics.filter((d) => d.severity === "error" && !refusals.some((r) => r.message === d.message));

    const head: string[] = [];
    head.push("## Engine preview: the onprem stack on a local control plane", "");
    const refused = refusals.length > 0 ? ` · 🛑 **${refusals.length} refused: protected**` : "";
    const counts = `**${creates.length} to create · ${updates.length} to update · ${replaces.length} to replace · ${deletes.length} to delete**${refused}${unchanged !== undefined ? ` (${unchanged} unchanged)` : ""}`;
    head.push(
        entries.length === 0 && protectChanges.length === 0 && refusals.length === 0 ? `**No changes** to the resources of the base's stack.${unchanged !== undefined ? ` (${unchanged} unchanged)` : ""}` : counts,
        "",
        `The real \`pulumi preview --diff\` of this pull request's program against the state \`pulumi up\` left from the base ${code(input.base.ref)} (${input.base.commit.slice(0, 12)}), with the policy pack: the engine, the Node.js language host and the kubernetes/random/tls providers built from source, on a local Kubernetes control plane (npm run e2e:preview). The onprem stack only: the cloud stacks' previews run where credentials exist.`,
        "",
    );
    if (input.previewExitCode !== 0) {
        const why = mandatory.length > 0 ? `${mandatory.length} mandatory policy violation${mandatory.length === 1 ? "" : "s"} (below)` : errors.length > 0 ? "errors (below)" : "see the full diff below";
        head.push(
            "> [!WARNING]",
            `> **The engine's preview failed** (exit ${input.previewExitCode}): ${why}. \`pulumi up\` of this change would stop the same way.${errors.length + refusals.length > 0 ? " The engine stops at its first error, so the lists below may be incomplete." : ""}`,
            "",
        );
    }
    if (protectedRefused.length > 0) {
        head.push(
            "> [!CAUTION]",
            `> **\`pulumi up\` of this change will fail**: it would ${protectedRefused.map((e) => `${e.change} ${code(e.type)} **${e.name}**`).join(", ")}, which ${protectedRefused.length === 1 ? "is" : "are"} protected (\`protect: true\`, herd:protectData). The engine refuses and stops; nothing is replaced or deleted. Avoid the change (e.g. keep the field that forces the replacement), or follow the README's path for it.`,
            "",
        );
    }

    const body: string[] = [];
    if (replaces.length + deletes.length + refusals.length > 0) {
        body.push("### Replacements and deletions", "");
        for (const r of refusals) {
            body.push(`- **${r.change}** ${code(r.type)} **${r.name}** — 🛑 **protected: up will fail** (the engine refused it during the preview without naming the property: \`npm run manifests-diff -- --stack onprem --base ${input.base.commit.slice(0, 12)}\` names the field that forces it)`);
        }
        for (const e of replaces) {
            const forcing = e.forcing.length > 0 ? e.forcing.map((p) => `${code(p)}${oldNew(e, p)}`).join("; ") : "the provider asked for a replacement without naming a property";
            body.push(`- **replace** ${label(e)}${e.protect ? " — 🛑 **protected: up will fail**" : ""}: forced by ${forcing}`);
            const other = e.paths.filter((p) => !e.forcing.includes(p));
            if (other.length > 0) {
                body.push(`  - also changes: ${other.slice(0, 20).map(code).join(", ")}${other.length > 20 ? `, … ${other.length - 20} more` : ""}`);
            }
        }
        for (const e of deletes) {
            body.push(`- **delete** ${label(e)}${e.protect ? " — 🛑 **protected: up will fail**" : ""}${e.retainOnDelete ? " (retainOnDelete: removed from the stack, left in the cluster)" : ""}`);
        }
        body.push("");
    }
    if (protectedRefused.length + protectedTouched.length + protectChanges.length > 0) {
        body.push("### Protected resources this change touches", "");
        for (const e of protectedRefused) {
            const why = diagnostics
                .filter((d) => d.severity === "error" && d.urn === e.urn && !refusals.some((r) => r.message === d.message))
                .map((d) => oneLine(d.message).replace(/^error: /, ""));
            body.push(`- 🛑 ${code(e.type)} **${e.name}**: **${e.change}** — \`pulumi up\` refuses this and fails (the resource holds data; herd:protectData)`);
            for (const w of why.slice(0, 3)) {
                body.push(`  - the engine: ${w.length > 400 ? `${w.slice(0, 397)}…` : w}`);
            }
        }
        for (const e of protectedTouched) {
            body.push(`- ${label(e)}: updated in place (${e.paths.slice(0, 10).map(code).join(", ")}) — allowed: protect only stops a replacement or deletion`);
        }
        for (const s of protectChanges) {
            const { type, name } = urnTypeName(s.urn);
            body.push(`- ${code(type)} **${name}**: protect ${String(s.oldState?.protect === true)} → ${String(s.newState?.protect === true)}`);
        }
        body.push("");
    }
    if (violations.length > 0) {
        body.push(`### Policy violations (${mandatory.length} mandatory, ${violations.length - mandatory.length} advisory)`, "");
        // One line per policy and resource; the policy's description (the first line of each message) once, in the
        // full diff; here what is wrong with the resource.
        const groups = new Map<string, PolicyEventRecord[]>();
        for (const v of violations) {
            const key = `${v.enforcementLevel}\0${v.policyName}\0${v.resourceUrn ?? ""}`;
            groups.set(key, [...(groups.get(key) ?? []), v]);
        }
        for (const group of groups.values()) {
            const v = group[0];
            const where = v.resourceUrn !== undefined && v.resourceUrn !== "" ? ` on ${code(urnTypeName(v.resourceUrn).type)} **${urnTypeName(v.resourceUrn).name}**` : " on the stack";
            body.push(`- **${v.enforcementLevel}** ${code(v.policyName)} (${v.policyPackName})${where}`);
            for (const g of group) {
                const lines = g.message.replace(ANSI, "").trim().split("\n");
                const detail = oneLine((lines.length > 1 ? lines.slice(1) : lines).join(" "));
                body.push(`  - ${detail.length > 500 ? `${detail.slice(0, 497)}…` : detail}`);
            }
        }
        body.push("");
    }
    if (errors.length > 0) {
        body.push("### Errors", "");
        for (const d of errors.slice(0, 20)) {
            body.push(`- ${oneLine(d.message).slice(0, 600)}`);
        }
        body.push("");
    }
    const updateLines = updates.map((e) => `- **update** ${label(e)}${e.protect ? " (protected)" : ""}: ${e.paths.length > 0 ? e.paths.slice(0, 15).map(code).join(", ") + (e.paths.length > 15 ? `, … ${e.paths.length - 15} more` : "") : "(no property named)"}`);
    const createLines = creates.map((e) => `- **create** ${label(e)}`);

    const footer = [
        "",
        `<sub>base ${code(input.base.ref)} = ${input.base.commit}${input.timings !== undefined ? `; base \`pulumi up\` ${input.timings.baseUpSeconds.toFixed(0)} s, head preview ${input.timings.headPreviewSeconds.toFixed(0)} s` : ""}. The engine prints secrets as [secret]; none is shown here.</sub>`,
    ];

    const diffText = input.textDiff.replace(ANSI, "").trimEnd();
    const render = (listMax: number, diffChars: number): string => {
        const parts = [...head, ...body];
        if (updateLines.length > 0) {
            parts.push("### Updates", "", ...capList(updateLines, listMax, "updates"), "");
        }
        if (createLines.length > 0) {
            parts.push("### Creates", "", ...capList(createLines, listMax, "creates"), "");
        }
        const shown = diffText.length > diffChars ? `${diffText.slice(0, diffChars)}\n… cut here (${diffChars} of ${diffText.length} characters shown, GitHub's comment limit): the whole diff is preview.txt in the run's engine-preview artifact` : diffText;
        const fence = fenceFor(shown);
        parts.push("<details><summary>The full diff (<code>pulumi preview --diff</code>)</summary>", "", `${fence}diff`, shown === "" ? "(the engine printed nothing)" : shown, fence, "", "</details>", ...footer);
        return `${parts.join("\n")}\n`;
    };

    let text = render(Number.MAX_SAFE_INTEGER, diffText.length);
    if (text.length <= maxChars) {
        return text;
    }
    // Cut the folded diff first, then the lists of updates and creates, then (only if the lead sections alone are
    // too long) the text itself.
    const overflow = text.length - maxChars + 200;
    text = render(Number.MAX_SAFE_INTEGER, Math.max(0, diffText.length - overflow));
    for (let listMax = 200; text.length > maxChars && listMax >= 10; listMax = Math.floor(listMax / 2)) {
        text = render(listMax, 0);
    }
    if (text.length > maxChars) {
        const note = "\n\n… the comment is cut here (GitHub's comment limit): the whole preview is engine-preview.md in the run's engine-preview artifact\n";
        text = text.slice(0, maxChars - note.length) + note;
    }
    return text;
}

/** One line per (policy, resource, message), mandatory first. */
function dedupeViolations(events: readonly PolicyEventRecord[]): PolicyEventRecord[] {
    const seen = new Set<string>();
    const out: PolicyEventRecord[] = [];
    for (const e of events) {
        const key = `${e.policyName}\0${e.resourceUrn ?? ""}\0${e.message}`;
        if (!seen.has(key)) {
            seen.add(key);
            out.push(e);
        }
    }
    const rank = (l: string) => (l === "mandatory" ? 0 : l === "advisory" || l === "warning" ? 1 : 2);
    return out.sort((a, b) => rank(a.enforcementLevel) - rank(b.enforcementLevel));
}

function oneLine(message: string): string {
    return message.replace(ANSI, "").trim().replace(/\s*\n\s*/g, " ");
}

/** The engine's refusals to replace or delete a protected resource, from the preview's error diagnostics. */
export function protectedRefusals(
    diagnostics: readonly { readonly urn?: string; readonly message: string; readonly severity: string }[],
): { change: string; type: string; name: string; urn: string; message: string }[] {
    const out: { change: string; type: string; name: string; urn: string; message: string }[] = [];
    for (const d of diagnostics) {
        const m = /unable to (replace|delete) resource "([^"]+)"\s+as it is currently marked for protection/.exec(d.message);
        if (d.severity === "error" && m !== null && !out.some((r) => r.urn === m[2])) {
            out.push({ change: m[1], ...urnTypeName(m[2]), urn: m[2], message: d.message });
        }
    }
    return out;
}
