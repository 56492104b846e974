/** The text output: every changed object and resource with its fields, and the summary line. */
import type { FieldChange, Json } from "../diff-types";
import { onlyClaimSizes, RESIZE_README } from "./diff";
import type { ManifestsDiff, ObjectsDiff, SetDiff, Summary } from "./types";

const MAX_VALUE = 160;

function show(v: Json | undefined): string {
    if (v === undefined) {
        return "(absent)";
    }
    const text = JSON.stringify(v);
    return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** The changed lines of two multi-line strings (longest common subsequence), `-`/`+` prefixed. */
export function lineDiff(before: string, after: string, limit = 40): string[] {
    const a = before.split("\n");
    const b = after.split("\n");
    const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
    for (let i = a.length - 1; i >= 0; i--) {
        for (let j = b.length - 1; j >= 0; j--) {
            lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
        }
    }
    const out: string[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
        if (i < a.length && j < b.length && a[i] === b[j]) {
            i++;
            j++;
        } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
            out.push(`- ${a[i++]}`);
        } else {
            out.push(`+ ${b[j++]}`);
        }
    }
    return out.length > limit ? [...out.slice(0, limit), `… ${out.length - limit} more changed lines`] : out;
}

function fieldLines(f: FieldChange, indent: string, mark = ""): string[] {
    const label = f.path === "" ? "(whole value)" : f.path;
    if (f.change === "added") {
        return [`${indent}+ ${label}: ${show(f.after)}${mark}`];
    }
    if (f.change === "removed") {
        return [`${indent}- ${label}: ${show(f.before)}${mark}`];
    }
    if (typeof f.before === "string" && typeof f.after === "string" && (f.before.includes("\n") || f.after.includes("\n"))) {
        return [`${indent}~ ${label}:${mark}`, ...lineDiff(f.before, f.after).map((l) => `${indent}    ${l}`)];
    }
    return [`${indent}~ ${label}: ${show(f.before)} -> ${show(f.after)}${mark}`];
}

function count(d: { readonly added: readonly unknown[]; readonly removed: readonly unknown[]; readonly changed: readonly unknown[] }, replaced = 0): string {
    const parts = [
        d.added.length > 0 ? `${d.added.length} added` : "",
        d.removed.length > 0 ? `${d.removed.length} removed` : "",
        d.changed.length > 0 ? `${d.changed.length} changed${replaced > 0 ? ` (${replaced} to replace)` : ""}` : "",
    ].filter((p) => p !== "");
    return parts.length === 0 ? "no changes" : parts.join(", ");
}

function section<Ref extends { readonly id: string }>(title: string, d: SetDiff<Ref>): string[] {
    const lines = [`${title}: ${count(d)}`];
    for (const r of d.added) {
        lines.push(`  + ${r.id}`);
    }
    for (const r of d.removed) {
        lines.push(`  - ${r.id}`);
    }
    for (const r of d.changed) {
        lines.push(`  ~ ${r.id}`, ...r.fields.flatMap((f) => fieldLines(f, "      ")));
    }
    return lines;
}

const FORCES = "   [forces replacement]";
const REFUSED = "   [the API server refuses this change]";

function objectsSection(d: ObjectsDiff): string[] {
    const lines = [`Kubernetes objects: ${count(d, d.changed.filter((c) => c.action === "replace").length)}`];
    for (const r of d.added) {
        lines.push(`  + ${r.id}`);
    }
    for (const r of d.removed) {
        lines.push(`  - ${r.id}${r.protected ? " (protected: pulumi up will refuse to delete it; lift protection deliberately first)" : ""}`);
    }
    for (const c of d.changed) {
        const renamed = c.previousId === undefined ? "" : ` (was ${c.previousId})`;
        if (c.action === "replace") {
            const why = c.protected ? ` (protected: pulumi up will refuse${onlyClaimSizes(c.forcing) ? `; ${RESIZE_README}` : ""})` : "";
            lines.push(`  REPLACE ${c.id}${renamed}${why}`);
        } else {
            lines.push(`  ~ ${c.id}${renamed}${c.rejected.length > 0 ? " (pulumi up will fail: the API server refuses to change a field marked below)" : ""}`);
        }
        lines.push(
            ...c.fields.flatMap((f) => fieldLines(f, "      ", c.forcing.includes(f.path) ? FORCES : c.rejected.includes(f.path) ? REFUSED : "")),
        );
        if (c.hint !== undefined) {
            lines.push(`      hint: ${c.hint}`);
        }
    }
    return lines;
}

/** The last line: what pulumi up would do to the objects, and what protect or the API server would stop. */
export function summaryLine(s: Summary): string {
    const parts = [`${s.added} to add`, `${s.removed} to remove`, `${s.updated} to update`];
    parts.push(`${s.replaced} to replace${s.protectedReplaced > 0 ? ` (${s.protectedReplaced} protected: pulumi up will refuse them)` : ""}`);
    if (s.protectedRemoved > 0) {
        parts.push(`${s.protectedRemoved} protected removal${s.protectedRemoved === 1 ? "" : "s"} (pulumi up will refuse ${s.protectedRemoved === 1 ? "it" : "them"})`);
    }
    if (s.rejected > 0) {
        parts.push(`${s.rejected} update${s.rejected === 1 ? "" : "s"} the API server will refuse`);
    }
    return `Summary: ${parts.join(", ")}`;
}

export function formatText(diff: ManifestsDiff): string {
    const lines = [
        `herd manifests diff: stack ${diff.stack}, base ${diff.base.ref} (${diff.base.commit.slice(0, 12)}) -> ${diff.head}`,
        ...diff.notes.map((n) => `note: ${n}`),
        "",
    ];
    if (!diff.changes) {
        lines.push("no changes");
    } else {
        lines.push(
            ...objectsSection(diff.objects),
            "",
            ...section("Other resources (resources.json)", diff.resources),
            "",
            summaryLine(diff.summary),
        );
    }
    lines.push(
        "",
        "Secret values are redacted in both renderings, so a change inside a Secret's data does not show here (its keys do).",
    );
    return `${lines.join("\n")}\n`;
}
