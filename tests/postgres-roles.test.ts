/**
 * PostgreSQL's least-privilege roles, for real: the generated script (components/postgres-roles.ts) applied to a
 * real server as the superuser over its socket, the roles logging in over TCP with passwords (scram-sha-256, as in
 * the cluster), and what each role can and cannot do; the API's real migration run as the owner; pg_dump with the
 * backup job's script as the backup role; the upgrade of a database a superuser owns; and the sidecar's loop.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { dumpScript, PostgresRoleNames, quoteIdent, quoteLiteral, RolePasswordFiles, rolesDriftSql, rolesSql, rolesSyncScript } from "../components/postgres";
import { PROJECT_DIR, tempDir } from "./helpers";
import { PostgresServer, postgresUnavailable, startPostgres } from "./services/postgres";

const missing = postgresUnavailable();
if (missing !== undefined && process.env["CI"] === "true") {
    throw new Error(`CI must run the PostgreSQL tests: ${missing}`);
}
const API_PYTHON = path.join(PROJECT_DIR, "images", "api", ".venv", "bin", "python");
const noVenv = fs.existsSync(API_PYTHON) ? undefined : `the API's venv is missing (${API_PYTHON}; run images/api/setup.sh)`;
if (noVenv !== undefined && process.env["CI"] === "true") {
    throw new Error(`CI must run the migration as the owner role: ${noVenv}`);
}

const NAMES: PostgresRoleNames = { database: "herd", owner: "herd_owner", app: "herd_app", backup: "herd_backup" };
/** Passwords a naive script would break on: quotes, backslashes, a dollar sign, spaces, a semicolon. */
const PASSWORDS = { owner: `o'wner "pass" \\ $1; --`, app: `app\\'s \\\\ pass''word`, backup: `b$$ack'up\\n` };

function passwordFiles(dir: string, passwords: Record<keyof RolePasswordFiles, string>): RolePasswordFiles {
    const files = { owner: path.join(dir, "owner"), app: path.join(dir, "app"), backup: path.join(dir, "backup") };
    for (const role of ["owner", "app", "backup"] as const) {
        fs.writeFileSync(files[role], passwords[role]);
    }
    return files;
}

interface Result {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

describe("PostgreSQL roles, for real", { skip: missing }, () => {
    let pg: PostgresServer;
    let dir: string;
    let files: RolePasswordFiles;
    let applyFile: string;
    let driftFile: string;

    /** The script, as the sidecar runs it: the superuser over the socket, connected to the app's database. */
    const apply = (database = "herd", file = applyFile): Result =>
        spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", file], { env: pg.env, encoding: "utf8" });
    const drift = (database = "herd", file = driftFile): string[] =>
        execFileSync("psql", ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", file], { env: pg.env, encoding: "utf8" })
            .split("\n")
            .filter((l) => l !== "");
    /** A role logging in over TCP with its password, as a workload in the cluster does. */
    const tcpEnv = (role: string, password: string, database: string): NodeJS.ProcessEnv => ({
        ...process.env,
        PGHOST: "127.0.0.1",
        PGPORT: String(pg.port),
        PGUSER: role,
        PGPASSWORD: password,
        PGDATABASE: database,
    });
    const as = (role: keyof RolePasswordFiles, sql: string, database = "herd"): Result =>
        spawnSync("psql", ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], { env: tcpEnv(NAMES[role], PASSWORDS[role], database), encoding: "utf8" });
    const ok = (role: keyof RolePasswordFiles, sql: string, database = "herd"): string => {
        const r = as(role, sql, database);
        assert.equal(r.status, 0, `${NAMES[role]}: ${sql}: ${r.stderr}`);
        return r.stdout.trim();
    };
    const refused = (role: keyof RolePasswordFiles, sql: string, expected: RegExp, database = "herd"): void => {
        const r = as(role, sql, database);
        assert.notEqual(r.status, 0, `${NAMES[role]} was allowed: ${sql}`);
        assert.match(r.stderr, expected, sql);
    };

    before(async () => {
        pg = await startPostgres({ hostAuth: "scram-sha-256" });
        dir = tempDir();
        files = passwordFiles(dir, PASSWORDS);
        applyFile = path.join(dir, "apply.sql");
        driftFile = path.join(dir, "drift.sql");
        fs.writeFileSync(applyFile, rolesSql(NAMES, files));
        fs.writeFileSync(driftFile, rolesDriftSql(NAMES));
        // What a stack from before these roles has: the database and its objects owned by the image's superuser
        // (the official image creates POSTGRES_DB owned by POSTGRES_USER; the migration ran as that user).
        pg.psql("CREATE DATABASE herd");
        pg.psql(
            [
                "CREATE TABLE legacy (id serial PRIMARY KEY, name text NOT NULL)",
                "INSERT INTO legacy (name) SELECT 'row ' || g FROM generate_series(1, 3) g",
                "CREATE VIEW legacy_names AS SELECT name FROM legacy",
                "CREATE SEQUENCE legacy_counter",
                "CREATE TYPE legacy_mood AS ENUM ('ok', 'not ok')",
                "CREATE FUNCTION legacy_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.legacy'",
            ].join("; "),
            "herd",
        );
        pg.psql("CREATE DATABASE other_app");
    });
    after(() => pg?.stop());

    it("before the script, the drift check lists what is out of step", () => {
        const out = drift();
        assert.ok(out.includes("role herd_app is missing"), out.join("\n"));
        assert.ok(out.includes("owner of public.legacy"), out.join("\n"));
        assert.ok(out.some((l) => /^PUBLIC may connect to or create temporary tables in postgres$/.test(l)), out.join("\n"));
    });

    it("applies on a database a superuser owns (an upgraded stack): everything passes to the owner", () => {
        const r = apply();
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "", "quiet: no notices, no command tags");
        const owners = pg.psql(
            [
                "SELECT string_agg(x, ',' ORDER BY x) FROM (",
                "SELECT c.relname || '=' || pg_get_userbyid(c.relowner) AS x FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'S')",
                "UNION ALL SELECT 'legacy_count=' || pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'legacy_count'",
                "UNION ALL SELECT 'legacy_mood=' || pg_get_userbyid(typowner) FROM pg_type WHERE typname = 'legacy_mood'",
                "UNION ALL SELECT 'database=' || pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'herd'",
                "UNION ALL SELECT 'schema=' || pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public') o",
            ].join(" "),
            "herd",
        );
        assert.equal(
            owners,
            [
                "database=herd_owner",
                "legacy=herd_owner",
                "legacy_count=herd_owner",
                "legacy_counter=herd_owner",
                "legacy_id_seq=herd_owner",
                "legacy_mood=herd_owner",
                "legacy_names=herd_owner",
                "schema=herd_owner",
            ].join(","),
        );
        assert.equal(ok("app", "SELECT count(*) FROM legacy"), "3", "the app reads what existed before");
        assert.equal(ok("app", "INSERT INTO legacy (name) VALUES ('new') RETURNING id"), "4", "and writes, with the serial's sequence");
    });

    it("runs again without error: idempotent; the drift check then finds nothing, and writes nothing itself", () => {
        for (let i = 0; i < 2; i++) {
            const r = apply();
            assert.equal(r.status, 0, r.stderr);
        }
        assert.equal(pg.psql("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'herd\\_%'"), "3");
        // What the sync runs every interval in steady state: no transaction id is assigned, so nothing is written.
        const nextXid = () => pg.psql("SELECT pg_snapshot_xmax(pg_current_snapshot())");
        const before = nextXid();
        for (let i = 0; i < 3; i++) {
            assert.deepEqual(drift(), []);
        }
        assert.equal(nextXid(), before);
    });

    it("each role logs in over TCP with its password (quotes, backslashes and all); a wrong one is refused", () => {
        for (const role of ["owner", "app", "backup"] as const) {
            assert.equal(ok(role, "SELECT current_user"), NAMES[role]);
        }
        const wrong = spawnSync("psql", ["-X", "-c", "SELECT 1"], { env: tcpEnv("herd_app", "app", "herd"), encoding: "utf8" });
        assert.notEqual(wrong.status, 0);
        assert.match(wrong.stderr, /password authentication failed for user "herd_app"/);
        const attrs = pg.psql("SELECT string_agg(rolname || ':' || rolsuper || rolcreatedb || rolcreaterole || rolreplication || rolbypassrls || rolcanlogin, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'herd\\_%'");
        assert.equal(attrs, "herd_app:falsefalsefalsefalsefalsetrue,herd_backup:falsefalsefalsefalsefalsetrue,herd_owner:falsefalsefalsefalsefalsetrue");
    });

    it("the owner runs the API's real migrations (python -m herd_api.migrate) and owns what they create", { skip: noVenv }, () => {
        const env = {
            PATH: process.env["PATH"] ?? "",
            DATABASE_HOST: "127.0.0.1",
            DATABASE_PORT: String(pg.port),
            DATABASE_NAME: "herd",
            DATABASE_USER: "herd_owner",
            DATABASE_PASSWORD: PASSWORDS.owner,
        };
        const api = path.join(PROJECT_DIR, "images", "api");
        const first = spawnSync(API_PYTHON, ["-m", "herd_api.migrate", "--wait", "5"], { cwd: api, env, encoding: "utf8" });
        assert.equal(first.status, 0, first.stderr);
        assert.match(first.stdout, /applied 1 migration\(s\) on 127\.0\.0\.1:\d+\/herd as herd_owner: 0001_create_items/);
        const second = spawnSync(API_PYTHON, ["-m", "herd_api.migrate"], { cwd: api, env, encoding: "utf8" });
        assert.equal(second.status, 0, second.stderr);
        assert.match(second.stdout, /up to date/);
        assert.equal(pg.psql("SELECT string_agg(tablename || '=' || tableowner, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'", "herd"), "items=herd_owner,legacy=herd_owner,schema_migrations=herd_owner");
        // The API's own statements, as the app role: the identity column's sequence included.
        assert.equal(ok("app", "INSERT INTO items (name, description) VALUES ('it''s', 'x') RETURNING name"), "it's");
        assert.equal(ok("app", "SELECT count(*) FROM items WHERE search_vector @@ to_tsquery('simple', 'x')"), "1");
        assert.equal(ok("app", "UPDATE items SET description = 'y' RETURNING description"), "y");
        assert.equal(ok("app", "DELETE FROM items RETURNING name"), "it's");
        // A login that is refused (the roles not there yet) is retried by --wait, then named in the error.
        const refusedLogin = spawnSync(API_PYTHON, ["-m", "herd_api.migrate", "--wait", "2", "--wait-only"], { cwd: api, env: { ...env, DATABASE_PASSWORD: "not-yet" }, encoding: "utf8" });
        assert.equal(refusedLogin.status, 1);
        assert.match(refusedLogin.stderr, /cannot reach PostgreSQL at 127\.0\.0\.1:\d+\/herd as herd_owner: .*password authentication failed/);
    });

    it("the app reads and writes rows of a table the owner creates after the script ran", () => {
        ok("owner", "CREATE TABLE later (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n serial, note text)");
        assert.equal(ok("app", "INSERT INTO later (note) VALUES ('a'), ('b') RETURNING id"), "1\n2");
        assert.equal(ok("app", "UPDATE later SET note = 'c' WHERE id = 2 RETURNING note"), "c");
        assert.equal(ok("app", "DELETE FROM later WHERE id = 1 RETURNING note"), "a");
        assert.equal(ok("app", "SELECT string_agg(note, ',') FROM later"), "c");
        assert.equal(ok("app", "SELECT nextval('later_n_seq') > 0"), "t", "sequences: USAGE");
        assert.deepEqual(drift(), [], "default privileges covered it: nothing to re-apply");
    });

    it("the app cannot change the schema, truncate, create roles or databases, or make temporary tables", () => {
        refused("app", "DROP TABLE later", /must be owner of table later/);
        refused("app", "ALTER TABLE later ADD COLUMN x int", /must be owner of table later/);
        refused("app", "TRUNCATE later", /permission denied for table later/);
        refused("app", "CREATE TABLE mine (id int)", /permission denied for schema public/);
        refused("app", "CREATE TEMP TABLE scratch (id int)", /permission denied to create temporary tables in database "herd"/);
        refused("app", "CREATE ROLE intruder", /permission denied to create role/);
        refused("app", "CREATE DATABASE intruder", /permission denied to create database/);
        refused("app", "SELECT setval('later_n_seq', 1000)", /permission denied for sequence later_n_seq/);
        refused("app", "ALTER ROLE herd_app CREATEDB", /permission denied/);
        refused("app", "DROP FUNCTION legacy_count()", /must be owner of function legacy_count/);
    });

    it("the app and the backup role connect to herd's database only", () => {
        for (const database of ["postgres", "template1", "other_app"]) {
            refused("app", "SELECT 1", new RegExp(`permission denied for database "${database}"`), database);
            refused("backup", "SELECT 1", new RegExp(`permission denied for database "${database}"`), database);
        }
    });

    it("a database created by hand later is closed at the next sync: the drift check reports it, the script revokes", () => {
        pg.psql("CREATE DATABASE made_later");
        assert.equal(ok("app", "SELECT current_database()", "made_later"), "made_later", "PostgreSQL's default lets PUBLIC connect to a new database");
        assert.deepEqual(drift(), ["PUBLIC may connect to or create temporary tables in made_later"]);
        assert.equal(apply().status, 0);
        refused("app", "SELECT 1", /permission denied for database "made_later"/, "made_later");
        assert.deepEqual(drift(), []);
    });

    it("objects a superuser creates (a restore run as the superuser) are reported and handed back to the owner", () => {
        pg.psql("CREATE TABLE restored (id int); INSERT INTO restored VALUES (1)", "herd");
        refused("app", "SELECT * FROM restored", /permission denied for table restored/);
        assert.deepEqual(drift(), ["owner of public.restored", "role herd_app lacks its privileges on public.restored"]);
        assert.equal(apply().status, 0);
        assert.equal(ok("app", "SELECT id FROM restored"), "1");
        assert.deepEqual(drift(), []);
    });

    it("the backup role dumps the database with the backup job's script, and cannot write", () => {
        const out = tempDir();
        const env = { ...tcpEnv("herd_backup", PASSWORDS.backup, "herd"), BACKUP_DIR: out };
        const file = execFileSync("/bin/sh", ["-c", dumpScript("postgres")], { env, encoding: "utf8" }).trim();
        const listing = execFileSync("pg_restore", ["--list", file], { encoding: "utf8" });
        for (const table of ["items", "legacy", "later", "restored", "schema_migrations"]) {
            assert.match(listing, new RegExp(`TABLE DATA public ${table} `), table);
        }
        refused("backup", "INSERT INTO legacy (name) VALUES ('x')", /cannot execute INSERT in a read-only transaction/);
        refused("backup", "BEGIN READ WRITE; DELETE FROM legacy; COMMIT", /permission denied for table legacy/);
        refused("backup", "BEGIN READ WRITE; CREATE TABLE b (id int); COMMIT", /permission denied for schema public/);
        refused("backup", "BEGIN READ WRITE; SELECT nextval('legacy_counter'); COMMIT", /permission denied for sequence legacy_counter/);
    });

    it("a missing or empty password file stops the script before anything changes", () => {
        const empty = path.join(dir, "empty");
        fs.writeFileSync(empty, "");
        const bad = path.join(dir, "bad.sql");
        fs.writeFileSync(bad, rolesSql(NAMES, { ...files, app: empty }));
        const r = apply("herd", bad);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /postgres roles: a role password file is missing or empty/);
        assert.equal(ok("app", "SELECT current_user"), "herd_app", "the app's password is untouched");
        const gone = path.join(dir, "gone.sql");
        fs.writeFileSync(gone, rolesSql(NAMES, { ...files, owner: path.join(dir, "no-such-file") }));
        assert.match(apply("herd", gone).stderr, /a role password file is missing or empty/);
    });

    it("refuses to run in another database than the one it was generated for", () => {
        const r = apply("other_app");
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /postgres roles: expected to run in database herd, connected to other_app/);
    });

    it("the sidecar's loop: applies once the server is up, re-applies on drift and on a new password, exits on SIGTERM", async () => {
        // Its own database and roles on the same server, with the paths the pod mounts replaced by temp files.
        const names: PostgresRoleNames = { database: "shop", owner: "shop_owner", app: "shop_app", backup: "shop_backup" };
        pg.psql("CREATE DATABASE shop");
        const sqlDir = tempDir();
        const secrets = passwordFiles(tempDir(), { owner: "owner-1", app: "app-1", backup: "backup-1" });
        fs.writeFileSync(path.join(sqlDir, "apply.sql"), rolesSql(names, secrets));
        fs.writeFileSync(path.join(sqlDir, "drift.sql"), rolesDriftSql(names));
        const ready = path.join(sqlDir, "ready");
        const loop = spawn("/bin/sh", ["-c", rolesSyncScript({ sqlDir, passwords: secrets, readyFile: ready })], {
            env: { ...pg.env, PGDATABASE: "shop", ROLES_INTERVAL: "0.2" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let log = "";
        loop.stdout.on("data", (b: Buffer) => (log += b.toString()));
        loop.stderr.on("data", (b: Buffer) => (log += b.toString()));
        const until = async (what: string, check: () => boolean) => {
            const deadline = Date.now() + 15_000;
            while (!check()) {
                assert.ok(Date.now() < deadline, `timed out waiting for ${what}; log:\n${log}`);
                await new Promise((r) => setTimeout(r, 100));
            }
        };
        const login = (password: string) => spawnSync("psql", ["-X", "-tAc", "SELECT current_user"], { env: tcpEnv("shop_app", password, "shop"), encoding: "utf8" }).stdout.trim() === "shop_app";
        try {
            await until("the ready file", () => fs.existsSync(ready));
            assert.ok(login("app-1"));
            assert.match(log, /postgres-roles: roles in step/);

            pg.psql("CREATE TABLE stray (id int)", "shop");
            await until("the drift to be reported", () => /postgres-roles: out of step: owner of public\.stray;/.test(log));
            await until("the stray table to pass to the owner", () => pg.psql("SELECT tableowner FROM pg_tables WHERE tablename = 'stray'", "shop") === "shop_owner");

            fs.writeFileSync(secrets.app, "app-2");
            await until("the new password", () => login("app-2"));
            assert.equal(login("app-1"), false);

            const started = Date.now();
            loop.kill("SIGTERM");
            const code = await new Promise<number | null>((resolve) => loop.once("exit", (c) => resolve(c)));
            assert.equal(code, 0);
            assert.ok(Date.now() - started < 2000, "exits at once on SIGTERM");
        } finally {
            loop.kill("SIGKILL");
        }
    });
});

describe("the roles script's inputs", () => {
    it("quotes identifiers and literals", () => {
        assert.equal(quoteIdent('we"ird'), '"we""ird"');
        assert.equal(quoteLiteral("it's"), "'it''s'");
    });
    it("refuses names that are not lowercase identifiers, and the same role twice, naming the field", () => {
        const files: RolePasswordFiles = { owner: "/o", app: "/a", backup: "/b" };
        assert.throws(() => rolesSql({ ...NAMES, app: "Herd-App" }, files), /postgres roles: app: expected a lowercase SQL identifier \(letters, digits, _\), got "Herd-App"/);
        assert.throws(() => rolesDriftSql({ ...NAMES, backup: "herd_app" }), /expected three different role names, got owner herd_owner, app herd_app, backup herd_app/);
        assert.throws(() => rolesSql(NAMES, { ...files, app: "/a`b" }), /cannot contain a newline or a backquote/);
    });
    it("no password is in the script: only the files it reads", () => {
        const sql = rolesSql(NAMES, { owner: "/run/secrets/owner", app: "/run/secrets/app", backup: "/run/secrets/backup" });
        assert.match(sql, /\\set app_password `cat '\/run\/secrets\/app'`/);
        assert.match(sql, /ALTER ROLE "herd_app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'app_password';/);
    });
});
