/**
 * The backup and restore path run for real: the backup job's dump script against a real PostgreSQL, the pruning
 * on a backup volume, and scripts/restore-postgres.sh restoring the dump (through a stand-in for kubectl that runs
 * the in-pod command locally, as `kubectl exec` would in the database pod).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { dumpScript, pruneScript } from "../components/postgres";
import { PROJECT_DIR, tempDir } from "./helpers";
import { PostgresServer, postgresUnavailable, startPostgres } from "./services/postgres";

const missing = postgresUnavailable();
if (missing !== undefined && process.env["CI"] === "true") {
    throw new Error(`CI must run the PostgreSQL tests: ${missing}`);
}

describe("PostgreSQL backup and restore, for real", { skip: missing }, () => {
    let pg: PostgresServer;
    let dir: string;
    /** The environment the backup job's dump container has (password from the Secret). */
    let jobEnv: NodeJS.ProcessEnv;

    before(async () => {
        pg = await startPostgres();
        dir = tempDir();
        pg.psql("CREATE ROLE herd LOGIN PASSWORD 'app-password-123'");
        pg.psql("CREATE DATABASE herd OWNER herd");
        pg.psql("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)", "herd");
        pg.psql("ALTER TABLE items OWNER TO herd", "herd");
        pg.psql("INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 500) g", "herd");
        jobEnv = { ...process.env, PGHOST: "127.0.0.1", PGPORT: String(pg.port), PGUSER: "herd", PGDATABASE: "herd", PGPASSWORD: "app-password-123", BACKUP_DIR: dir };
    });
    after(() => pg?.stop());

    let dumpFile = "";
    it("the dump script writes a complete custom-format dump named by time, and nothing partial", () => {
        const out = execFileSync("/bin/sh", ["-c", dumpScript("postgres")], { env: jobEnv, encoding: "utf8" }).trim();
        dumpFile = out;
        assert.match(path.basename(out), /^postgres-\d{8}T\d{6}Z\.dump$/);
        assert.equal(fs.readFileSync(out).subarray(0, 5).toString(), "PGDMP");
        assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith(".partial")), []);
        const listing = execFileSync("pg_restore", ["--list", out], { encoding: "utf8" });
        assert.match(listing, /TABLE DATA public items/);
    });

    it("a failed dump leaves no file that looks restorable", () => {
        const failed = spawnSync("/bin/sh", ["-c", dumpScript("postgres")], {
            env: { ...jobEnv, PGPASSWORD: "wrong", BACKUP_DIR: path.join(dir, "failed") },
            encoding: "utf8",
        });
        assert.notEqual(failed.status, 0);
        assert.equal(fs.existsSync(path.join(dir, "failed")) && fs.readdirSync(path.join(dir, "failed")).some((f) => f.endsWith(".dump")), false);
    });

    it("refuses, before dumping, a database whose tables outgrow the scratch space, naming the key to raise", () => {
        const scratch = path.join(dir, "scratch");
        fs.mkdirSync(scratch);
        const tight = spawnSync("/bin/sh", ["-c", dumpScript("postgres")], {
            env: { ...jobEnv, BACKUP_DIR: scratch, SCRATCH_LIMIT_BYTES: "4096", ROOM_SETTING: "backupScratchSize" },
            encoding: "utf8",
        });
        assert.equal(tight.status, 1, tight.stderr);
        assert.match(tight.stderr, /^backup: the tables take \d+ MiB and .*scratch has room for 0 MiB, so the dump may not fit: raise herd:backupScratchSize$/m);
        assert.deepEqual(fs.readdirSync(scratch), [], "nothing written");
        // With room (the limit above the tables' size), the same dump goes ahead.
        const roomy = spawnSync("/bin/sh", ["-c", dumpScript("postgres")], {
            env: { ...jobEnv, BACKUP_DIR: scratch, SCRATCH_LIMIT_BYTES: String(1024 ** 3), ROOM_SETTING: "backupScratchSize" },
            encoding: "utf8",
        });
        assert.equal(roomy.status, 0, roomy.stderr);
        assert.equal(fs.readdirSync(scratch).filter((f) => f.endsWith(".dump")).length, 1);
    });

    it("restore-postgres.sh restores the dump over changed data, in one transaction", () => {
        pg.psql("DELETE FROM items WHERE id > 100", "herd");
        pg.psql("INSERT INTO items (name) VALUES ('written after the backup')", "herd");
        // A stand-in for kubectl: checks it was asked to exec into the database pod, then runs the in-pod command
        // here with the environment the postgres container has (PGUSER, PGDATABASE, the socket as default host).
        // The roles sidecar's SQL (a ConfigMap in the pod) is, here, a file that leaves a mark.
        const rolesSql = path.join(tempDir(), "apply.sql");
        fs.writeFileSync(rolesSql, "COMMENT ON TABLE items IS 'roles applied';\n");
        const fake = path.join(tempDir(), "kubectl");
        fs.writeFileSync(
            fake,
            [
                "#!/bin/sh",
                'echo "$@" >> "$KUBECTL_LOG"',
                'while [ "$1" != "--" ]; do shift; done; shift',
                'if [ "$*" = "psql -X -q -v ON_ERROR_STOP=1 -f /etc/herd/postgres-roles/apply.sql" ]; then set -- psql -X -q -v ON_ERROR_STOP=1 -f "$FAKE_ROLES_SQL"; fi',
                'exec env PGUSER=herd PGDATABASE=herd PGHOST="$FAKE_PGHOST" PGPORT="$FAKE_PGPORT" PGPASSWORD=app-password-123 "$@"',
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        const log = path.join(dir, "kubectl.log");
        const result = spawnSync(path.join(PROJECT_DIR, "scripts", "restore-postgres.sh"), ["--namespace", "shop", "--name", "postgres", "--yes", dumpFile], {
            env: { ...process.env, KUBECTL: fake, KUBECTL_LOG: log, FAKE_PGHOST: "127.0.0.1", FAKE_PGPORT: String(pg.port), FAKE_ROLES_SQL: rolesSql },
            encoding: "utf8",
        });
        assert.equal(result.status, 0, result.stderr);
        const calls = fs.readFileSync(log, "utf8").trim().split("\n");
        assert.match(calls[0] ?? "", /^--namespace shop exec -i postgres-0 -c postgres -- sh -c pg_restore --clean --if-exists/);
        assert.equal(pg.psql("SELECT count(*) FROM items", "herd"), "500");
        assert.equal(pg.psql("SELECT count(*) FROM items WHERE name = 'written after the backup'", "herd"), "0");
        // Then the roles, re-applied by the sidecar's own SQL, so the restored tables belong to the owner role at once.
        assert.equal(calls[1], "--namespace shop exec postgres-0 -c roles -- psql -X -q -v ON_ERROR_STOP=1 -f /etc/herd/postgres-roles/apply.sql");
        assert.equal(pg.psql("SELECT obj_description('items'::regclass)", "herd"), "roles applied");
    });

    it("restore-postgres.sh says so when the dump is restored but re-applying the roles fails", () => {
        const fake = path.join(tempDir(), "kubectl");
        fs.writeFileSync(fake, ['#!/bin/sh', 'case "$*" in *"-c roles"*) exit 1 ;; esac', "cat > /dev/null", ""].join("\n"), { mode: 0o755 });
        const result = spawnSync(path.join(PROJECT_DIR, "scripts", "restore-postgres.sh"), ["--yes", dumpFile], { env: { ...process.env, KUBECTL: fake }, encoding: "utf8" });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /restored .* into herd\/postgres-0, but re-applying the roles failed: the sidecar retries every 30 s/);
    });

    it("restore-postgres.sh refuses a file that is not a dump, before touching the database", () => {
        const bogus = path.join(dir, "notes.txt");
        fs.writeFileSync(bogus, "hello");
        const result = spawnSync(path.join(PROJECT_DIR, "scripts", "restore-postgres.sh"), ["--yes", bogus], { env: { ...process.env, KUBECTL: "/bin/false" }, encoding: "utf8" });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /is not a pg_dump custom-format file/);
    });

    it("restore-postgres.sh without --yes asks, and aborts on a wrong answer", () => {
        const result = spawnSync(path.join(PROJECT_DIR, "scripts", "restore-postgres.sh"), [dumpFile], { env: { ...process.env, KUBECTL: "/bin/false" }, input: "no\n", encoding: "utf8" });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /Type the pod name to continue: restore-postgres: aborted/);
    });

    it("pruning on a backup volume deletes dumps past the retention and keeps the rest", () => {
        const volume = tempDir();
        const old = path.join(volume, "postgres-20200101T030000Z.dump");
        const recent = path.join(volume, "postgres-recent.dump");
        const other = path.join(volume, "keep-me.txt");
        for (const f of [old, recent, other]) {
            fs.writeFileSync(f, "x");
        }
        const fortyDaysAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
        fs.utimesSync(old, fortyDaysAgo, fortyDaysAgo);
        fs.utimesSync(other, fortyDaysAgo, fortyDaysAgo);
        execFileSync("/bin/sh", ["-c", pruneScript(30)], { env: { ...process.env, BACKUP_DIR: volume } });
        assert.deepEqual(fs.readdirSync(volume).sort(), ["keep-me.txt", "postgres-recent.dump"]);
    });
});
