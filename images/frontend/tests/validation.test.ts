/** The add-item form's client-side checks, which mirror the API's rules. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { charCount, DESCRIPTION_MAX, NAME_MAX, QUERY_MAX, validateItem, validateQuery } from "../src/validation";

describe("validateItem", () => {
    it("accepts a name and trims both fields", () => {
        assert.deepEqual(validateItem({ name: "  Milk ", description: " 2 l " }), { ok: true, item: { name: "Milk", description: "2 l" } });
    });

    it("leaves an empty description out of the item", () => {
        assert.deepEqual(validateItem({ name: "Milk", description: "   " }), { ok: true, item: { name: "Milk" } });
    });

    it("requires a name (blank counts as missing)", () => {
        assert.deepEqual(validateItem({ name: "   ", description: "" }), { ok: false, errors: { name: "Name is required." } });
    });

    it(`accepts exactly ${NAME_MAX} characters and refuses ${NAME_MAX + 1}`, () => {
        assert.equal(validateItem({ name: "a".repeat(NAME_MAX), description: "" }).ok, true);
        const result = validateItem({ name: "a".repeat(NAME_MAX + 1), description: "" });
        assert.deepEqual(result, { ok: false, errors: { name: `Name must be at most ${NAME_MAX} characters (it has ${NAME_MAX + 1}).` } });
    });

    it("counts characters as the API does (code points): 200 emoji fit though they are 400 UTF-16 units", () => {
        const name = "🐑".repeat(NAME_MAX);
        assert.equal(name.length, 2 * NAME_MAX);
        assert.equal(charCount(name), NAME_MAX);
        assert.equal(validateItem({ name, description: "" }).ok, true);
    });

    it(`refuses a description over ${DESCRIPTION_MAX} characters, and reports both fields at once`, () => {
        const result = validateItem({ name: "", description: "d".repeat(DESCRIPTION_MAX + 1) });
        assert.equal(result.ok, false);
        assert.deepEqual(Object.keys(result.ok ? {} : result.errors).sort(), ["description", "name"]);
    });

    it("the longest valid item is far under the 64 KiB request limit", () => {
        const result = validateItem({ name: "\u{10FFFF}".repeat(NAME_MAX), description: "\u{10FFFF}".repeat(DESCRIPTION_MAX) });
        assert.ok(result.ok);
        assert.ok(Buffer.byteLength(JSON.stringify(result.item)) < 65536 / 2);
    });
});

describe("validateQuery", () => {
    it(`accepts 1..${QUERY_MAX} characters`, () => {
        assert.equal(validateQuery("m"), undefined);
        assert.equal(validateQuery("🐑".repeat(QUERY_MAX)), undefined);
    });

    it("refuses an empty or too long search text, saying why", () => {
        assert.equal(validateQuery(""), "Type something to search for.");
        assert.equal(validateQuery("q".repeat(QUERY_MAX + 1)), `Search text must be at most ${QUERY_MAX} characters (it has ${QUERY_MAX + 1}).`);
    });
});
