/**
 * Continuous WAL archiving settings (components/postgres-archive.ts): the default recovery point, the override, every
 * validation error, and agreement with the image's scripts (same stanza, the command the image installs). The archiving
 * itself runs for real in images/postgres/tests (npm run test:postgres).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
    ARCHIVE_COMMAND,
    archiveServerEnv,
    archiveSettings,
    archiveTimeoutProblems,
    DEFAULT_ARCHIVE_TIMEOUT_SECONDS,
    PGBACKREST_STANZA,
} from "../components/postgres-archive";
import { problemText } from "../components/validation";
import { PROJECT_DIR } from "./helpers";

describe("archiveSettings", () => {
    it("by default archives every WAL segment with pgBackRest and switches segments at least every 60 s", () => {
        assert.equal(DEFAULT_ARCHIVE_TIMEOUT_SECONDS, 60);
        assert.deepEqual(archiveSettings(), {
            archive_mode: "on",
            archive_command: "pgbackrest --stanza=herd archive-push %p",
            archive_timeout: "60",
        });
    });

    it("takes another archive timeout", () => {
        assert.equal(archiveSettings(300).archive_timeout, "300");
    });

    it("accepts the bounds, 1 s and one hour", () => {
        assert.equal(archiveSettings(1).archive_timeout, "1");
        assert.equal(archiveSettings(3600).archive_timeout, "3600");
    });

    for (const bad of [0, -5, 1.5, 3601, Number.NaN]) {
        it(`refuses an archive timeout of ${bad}, naming the field, the range and the value`, () => {
            assert.throws(
                () => archiveSettings(bad),
                (e: unknown) =>
                    e instanceof RangeError &&
                    e.message.startsWith("archiveTimeoutSeconds: expected a whole number of seconds from 1 to 3600") &&
                    e.message.endsWith(`got ${bad}`),
            );
        });
    }

    it("renders as the server's -c arguments, with the command as one argument", () => {
        const args = Object.entries(archiveSettings()).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
        assert.deepEqual(args, ["-c", "archive_mode=on", "-c", "archive_command=pgbackrest --stanza=herd archive-push %p", "-c", "archive_timeout=60"]);
    });
});

describe("archiveTimeoutProblems", () => {
    it("has nothing to say about a valid timeout", () => {
        assert.deepEqual(archiveTimeoutProblems(60), []);
    });

    it("reports under the caller's property path, for a component's combined error", () => {
        const problems = archiveTimeoutProblems(0, "backup.archiveTimeoutSeconds");
        assert.equal(problems.length, 1);
        assert.match(problemText(problems[0]!), /^backup\.archiveTimeoutSeconds: expected a whole number of seconds from 1 to 3600 .*got 0$/);
    });
});

describe("archiveServerEnv", () => {
    it("names the data directory for pgBackRest (archive_command gets a relative path) and the stanza", () => {
        assert.deepEqual(archiveServerEnv("/var/lib/postgresql/data/pgdata"), {
            PGBACKREST_STANZA: "herd",
            PGBACKREST_PG1_PATH: "/var/lib/postgresql/data/pgdata",
        });
    });

    it("refuses a relative data directory, naming it", () => {
        assert.throws(() => archiveServerEnv("pgdata"), /^RangeError: dataDirectory: expected an absolute path \(the container's PGDATA\), got "pgdata"$/);
    });
});

describe("the image agrees with the settings", () => {
    const image = path.join(PROJECT_DIR, "images", "postgres");

    it("its scripts use the stanza archive_command pushes to", () => {
        for (const script of ["herd-pg-backup", "herd-pg-restore"]) {
            const text = fs.readFileSync(path.join(image, script), "utf8");
            assert.match(text, new RegExp(`^stanza=${PGBACKREST_STANZA}$`, "m"), script);
        }
        assert.ok(ARCHIVE_COMMAND.includes(`--stanza=${PGBACKREST_STANZA} `));
    });

    it("installs pgBackRest, whose archive-push archive_command runs", () => {
        const dockerfile = fs.readFileSync(path.join(image, "Dockerfile"), "utf8");
        assert.match(dockerfile, /apt-get install -y --no-install-recommends "pgbackrest=\$\{PGBACKREST_VERSION\}"/);
    });
});
