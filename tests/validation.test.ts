/**
 * What every component shares for its arguments: the error listing every problem (its message, and `errors` as
 * property paths and reasons a program can read) and defaults resolved with `??`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { withDefaults } from "../components/defaults";
import { InvalidArgumentsError, problem, problemText, throwIfProblems } from "../components/validation";

describe("InvalidArgumentsError", () => {
    const errors = [problem("memory", 'expected at least 64Mi, got "32Mi"'), problem("backup.schedule", "expected a cron schedule")];
    const err = new InvalidArgumentsError("PostgresStateful", "pg", errors);
    it("one line per problem, under the component and its name", () => {
        assert.equal(err.message, 'PostgresStateful "pg": invalid arguments:\n  - memory: expected at least 64Mi, got "32Mi"\n  - backup.schedule: expected a cron schedule');
    });
    it("the problems as data, with nested property paths", () => {
        assert.deepEqual(err.errors, [
            { propertyPath: "memory", reason: 'expected at least 64Mi, got "32Mi"' },
            { propertyPath: "backup.schedule", reason: "expected a cron schedule" },
        ]);
        assert.equal(problemText(err.errors[1]), "backup.schedule: expected a cron schedule");
    });
    it("a ResourceError without a stack trace", () => {
        assert.ok(err instanceof pulumi.ResourceError);
        assert.ok(pulumi.ResourceError.isInstance(err));
        assert.equal(err.hideStack, true);
    });
    it("throwIfProblems throws it only when there is a problem", () => {
        assert.doesNotThrow(() => throwIfProblems("RedisCache", "redis", []));
        assert.throws(() => throwIfProblems("RedisCache", "redis", errors), (e: unknown) => e instanceof InvalidArgumentsError && e.errors.length === 2);
    });
});

describe("withDefaults", () => {
    interface Args {
        readonly required: string;
        readonly size?: string;
        readonly count?: number;
        readonly on?: boolean;
    }
    const defaults = { size: "5Gi", count: 3, on: true };
    it("fills in only the fields of the table, with the table's defaults", () => {
        assert.deepEqual(withDefaults<Args, "size" | "count" | "on">({ required: "x" }, defaults), { size: "5Gi", count: 3, on: true });
    });
    it("keeps what the caller gave, even an empty string, 0 or false (?? not ||)", () => {
        assert.deepEqual(withDefaults<Args, "size" | "count" | "on">({ required: "x", size: "", count: 0, on: false }, defaults), { size: "", count: 0, on: false });
    });
});
