/**
 * PostgreSQL's least-privilege roles, as SQL generated here and kept in step inside the database pod.
 *
 * Three login roles, none of them a superuser:
 * - the OWNER owns the database, the `public` schema and every object in it, and runs the migrations;
 * - the APP (what the API logs in as) may connect to its database only, use the schema, and SELECT/INSERT/UPDATE/
 *   DELETE rows and use sequences: granted on what exists and, through the owner's default privileges, on every
 *   table or sequence a later migration creates. It cannot TRUNCATE (that skips DELETE triggers and takes an
 *   exclusive lock; the API never needs it), ALTER or DROP anything, create objects, temporary tables, roles or
 *   databases;
 * - the BACKUP role reads everything (pg_read_all_data, PostgreSQL 14+) for pg_dump, in read-only transactions, and
 *   writes nothing.
 * The image's bootstrap superuser (POSTGRES_USER) keeps its password in its Secret, but no workload logs in with it
 * over the network: the one thing that uses it is this sync, over the pod's Unix socket (local trust in the official
 * image).
 *
 * Why a sidecar in the PostgreSQL pod (rolesSyncScript) and not an initdb script, a postStart hook or a Job:
 * - initdb scripts run only on an empty volume: an upgraded stack would never get the roles;
 * - a Job would have to log in as the superuser over the network, the very thing this removes;
 * - a postStart hook runs once per container start, blocks the container from Running while it waits for the
 *   server (the first initdb can take minutes), and kills the server when it fails;
 * - the sidecar connects over the shared Unix socket, needs no password of its own, applies the script once the
 *   server accepts TCP connections (not the image's socket-only temporary server during initdb), re-applies it when
 *   a role's password (a mounted Secret) or the script (a mounted ConfigMap) changes, and checks every interval
 *   with a read-only query (rolesDriftSql) that nothing drifted (a restore as the superuser, a database created by
 *   hand): steady state writes nothing, so it adds no WAL. Its readiness (the roles applied at least once) is part
 *   of the pod's, so the Service has no endpoint until the roles exist: the migration's `--wait` and the API's
 *   readiness keep waiting until then (a refused login is retried like an unreachable server).
 */

/** The role and database names the SQL works on: lowercase SQL identifiers (postgresProblems checks them). */
export interface PostgresRoleNames {
    /** The application's database (POSTGRES_DB). */
    readonly database: string;
    /** Owns the database, the schema and its objects; runs migrations. */
    readonly owner: string;
    /** The API's role: rows only. */
    readonly app: string;
    /** pg_dump's role: reads everything, writes nothing. */
    readonly backup: string;
    /**
     * The metrics exporter's role (pg_monitor: statistics and settings, no table data); absent: no such role is
     * created (an existing one is left as it is).
     */
    readonly monitor?: string;
}

/** The monitoring role's name (PostgresStateful creates it with metrics on). */
export const POSTGRES_MONITOR_USER = "herd_monitor";

/** Paths of the files holding each role's password (a mounted Secret per role). */
export interface RolePasswordFiles {
    readonly owner: string;
    readonly app: string;
    readonly backup: string;
}

/** The password files with the monitoring role's, which rolesSql requires when the names include `monitor`. */
export type AllRolePasswordFiles = RolePasswordFiles & { readonly monitor?: string };

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
    return `"${name.replaceAll('"', '""')}"`;
}

/** A single-quoted SQL string literal (standard_conforming_strings, on since PostgreSQL 9.1). */
export function quoteLiteral(value: string): string {
    return `'${value.replaceAll("'", "''")}'`;
}

function checkNames(names: PostgresRoleNames): void {
    const entries = Object.entries(names).filter(([, v]) => v !== undefined) as [keyof PostgresRoleNames, string][];
    for (const [field, value] of entries) {
        if (!IDENTIFIER.test(value)) {
            throw new Error(`postgres roles: ${field}: expected a lowercase SQL identifier (letters, digits, _), got ${JSON.stringify(value)}`);
        }
    }
    const roles = [names.owner, names.app, names.backup, ...(names.monitor === undefined ? [] : [names.monitor])];
    if (new Set(roles).size !== roles.length) {
        throw new Error(
            `postgres roles: expected ${roles.length === 3 ? "three" : "four"} different role names, got owner ${names.owner}, app ${names.app}, backup ${names.backup}` +
                (names.monitor === undefined ? "" : `, monitor ${names.monitor}`),
        );
    }
}

/** A path inside a shell command that psql runs (backquotes in \set): single-quoted for the shell. */
function shellPath(p: string): string {
    if (p.includes("\n") || p.includes("`")) {
        throw new Error(`postgres roles: password file path ${JSON.stringify(p)} cannot contain a newline or a backquote`);
    }
    return `'${p.replaceAll("'", "'\\''")}'`;
}

/** Objects of the schema whose owner must be the owner role: relations (not sequences), skipping extension members. */
function relationsOf(ownerOid: string): string {
    return `SELECT c.oid::regclass AS name, c.relkind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relowner IS DISTINCT FROM ${ownerOid}
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;
}

/** Sequences that do not belong to a table's column (those follow their table's owner). */
function standaloneSequencesOf(ownerOid: string): string {
    return `SELECT c.oid::regclass AS name
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'S' AND c.relowner IS DISTINCT FROM ${ownerOid}
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))`;
}

function routinesOf(ownerOid: string): string {
    return `SELECT p.oid::regprocedure AS name, p.prokind
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proowner IS DISTINCT FROM ${ownerOid}
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`;
}

/** Standalone types: enums, domains, ranges and composite types of their own (not a table's row type, not arrays). */
function typesOf(ownerOid: string): string {
    return `SELECT t.oid::regtype AS name, t.typtype
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typowner IS DISTINCT FROM ${ownerOid}
          AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')`;
}

const TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"] as const;
const SEQUENCE_PRIVILEGES = ["USAGE", "SELECT"] as const;

/**
 * The script that creates the roles and puts every privilege in place, for psql, run as the superuser while
 * connected to the application's database. Idempotent: run it any number of times, on a fresh database or one
 * whose objects a superuser owns (a stack from before these roles, or a restore). One transaction: a role that can
 * log in already has all it needs. Passwords are read from files by psql (`\set` with backquotes) and reach the
 * server as psql variables (`:'var'`, quoted by psql), so quotes and backslashes are safe, no password is in a
 * command line, and the session logs no statement (an error's statement would otherwise carry it).
 */
export function rolesSql(names: PostgresRoleNames, passwords: AllRolePasswordFiles): string {
    checkNames(names);
    const { database, owner, app, backup } = names;
    const [db, o, a, b] = [database, owner, app, backup].map(quoteIdent);
    const ownerOid = `${quoteLiteral(owner)}::regrole::oid`;
    const login = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT";
    const monitor = names.monitor;
    if (monitor !== undefined && passwords.monitor === undefined) {
        throw new Error("postgres roles: monitor: the monitoring role needs a password file (passwords.monitor)");
    }
    const m = monitor === undefined ? "" : quoteIdent(monitor);
    const monitorPassword =
        monitor === undefined || passwords.monitor === undefined
            ? ""
            : `\\set monitor_password \`cat ${shellPath(passwords.monitor)}\`
SELECT :'monitor_password' <> '' AS herd_monitor_password_given \\gset
\\if :herd_monitor_password_given
\\else
DO $herd$ BEGIN RAISE EXCEPTION 'postgres roles: the monitoring role: its password file % is missing or empty', ${quoteLiteral(passwords.monitor)}; END $herd$;
\\endif
`;
    const monitorRole =
        monitor === undefined
            ? ""
            : `
-- The metrics exporter's role: statistics and settings through pg_monitor, never a table's rows.
DO $herd$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(monitor)}) THEN CREATE ROLE ${m}; END IF; END $herd$;
ALTER ROLE ${m} WITH ${login} PASSWORD :'monitor_password';
ALTER ROLE ${m} SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE ${db} TO ${m};
GRANT pg_monitor TO ${m};
`;
    return `-- herd: PostgreSQL roles (generated by components/postgres-roles.ts; do not edit).
-- Run as the superuser, connected to the application's database: psql -X -v ON_ERROR_STOP=1 -f <this file>
\\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
\\set owner_password \`cat ${shellPath(passwords.owner)}\`
\\set app_password \`cat ${shellPath(passwords.app)}\`
\\set backup_password \`cat ${shellPath(passwords.backup)}\`
SELECT :'owner_password' <> '' AND :'app_password' <> '' AND :'backup_password' <> '' AS herd_passwords_given \\gset
\\if :herd_passwords_given
\\else
DO $herd$ BEGIN RAISE EXCEPTION 'postgres roles: a role password file is missing or empty (owner %, app %, backup %)', ${quoteLiteral(passwords.owner)}, ${quoteLiteral(passwords.app)}, ${quoteLiteral(passwords.backup)}; END $herd$;
\\endif
${monitorPassword}
BEGIN;
-- Nothing the owner created may stand in for a catalog function while the superuser runs this.
SET LOCAL search_path = pg_catalog, pg_temp;
SET LOCAL lock_timeout = '10s';
DO $herd$
BEGIN
    IF current_database() <> ${quoteLiteral(database)} THEN
        RAISE EXCEPTION 'postgres roles: expected to run in database %, connected to %', ${quoteLiteral(database)}, current_database();
    END IF;
    IF current_setting('server_version_num')::int < 140000 THEN
        RAISE EXCEPTION 'postgres roles: the backup role needs PostgreSQL 14 or newer (pg_read_all_data), this server is %', current_setting('server_version');
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(owner)}) THEN CREATE ROLE ${o}; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(app)}) THEN CREATE ROLE ${a}; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(backup)}) THEN CREATE ROLE ${b}; END IF;
END
$herd$;
ALTER ROLE ${o} WITH ${login} PASSWORD :'owner_password';
ALTER ROLE ${a} WITH ${login} PASSWORD :'app_password';
ALTER ROLE ${b} WITH ${login} PASSWORD :'backup_password';
ALTER ROLE ${b} SET default_transaction_read_only = on;

-- The database: owned by the owner; only herd's roles connect; nobody else's temporary tables.
ALTER DATABASE ${db} OWNER TO ${o};
REVOKE ALL ON DATABASE ${db} FROM PUBLIC;
GRANT CONNECT ON DATABASE ${db} TO ${a}, ${b};
-- Every other database (postgres, template1, any made by hand): no connecting for roles without a grant.
DO $herd$
DECLARE d record;
BEGIN
    FOR d IN SELECT datname FROM pg_database WHERE datname <> current_database() LOOP
        EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', d.datname);
    END LOOP;
END
$herd$;

-- The schema: the owner's; only the app may use it (and the backup role, through pg_read_all_data).
ALTER SCHEMA public OWNER TO ${o};
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO ${a};

-- What exists already (a stack from before these roles, a restore run as the superuser) becomes the owner's.
DO $herd$
DECLARE obj record;
BEGIN
    FOR obj IN ${relationsOf(ownerOid)} LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I',
            CASE obj.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
            obj.name, ${quoteLiteral(owner)});
    END LOOP;
    FOR obj IN ${standaloneSequencesOf(ownerOid)} LOOP
        EXECUTE format('ALTER SEQUENCE %s OWNER TO %I', obj.name, ${quoteLiteral(owner)});
    END LOOP;
    FOR obj IN ${routinesOf(ownerOid)} LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I',
            CASE obj.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
            obj.name, ${quoteLiteral(owner)});
    END LOOP;
    FOR obj IN ${typesOf(ownerOid)} LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', CASE obj.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, obj.name, ${quoteLiteral(owner)});
    END LOOP;
END
$herd$;

-- The app's rows: on what exists now, and by default on whatever the owner creates later.
GRANT ${TABLE_PRIVILEGES.join(", ")} ON ALL TABLES IN SCHEMA public TO ${a};
GRANT ${SEQUENCE_PRIVILEGES.join(", ")} ON ALL SEQUENCES IN SCHEMA public TO ${a};
ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA public GRANT ${TABLE_PRIVILEGES.join(", ")} ON TABLES TO ${a};
ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA public GRANT ${SEQUENCE_PRIVILEGES.join(", ")} ON SEQUENCES TO ${a};

-- The backup role reads every table, present and future, and nothing more.
GRANT pg_read_all_data TO ${b};
${monitorRole}COMMIT;
`;
}

/**
 * A read-only query that lists, one row each, what is out of step with rolesSql (no rows: all in step). The sync
 * runs it every interval and re-applies the script only when it returns something, so an idle database gets no
 * writes (and no WAL to archive) from the sync. A role's password is not checked here: it changes only with its
 * Secret, which the sync watches.
 */
export function rolesDriftSql(names: PostgresRoleNames): string {
    checkNames(names);
    const { owner, app, backup } = names;
    const monitor = names.monitor;
    const roles = [owner, app, backup, ...(monitor === undefined ? [] : [monitor])];
    // Roles by OID, never by name: a privilege function given a missing role's name raises an error (and the planner
    // may evaluate it before an EXISTS guard); given NULL it returns NULL.
    const oidOf = (role: string) => `(SELECT oid FROM pg_roles WHERE rolname = ${quoteLiteral(role)})`;
    const ownerOid = oidOf(owner);
    const appOid = oidOf(app);
    const appLit = quoteLiteral(app);
    const all = (check: (p: string) => string, privileges: readonly string[]) => privileges.map(check).join(" AND ");
    const checks = [
        // Roles exist, log in, and hold no attribute beyond that.
        `SELECT 'role ' || r || ' is missing' FROM unnest(ARRAY[${roles.map(quoteLiteral).join(", ")}]) r
            WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r)`,
        `SELECT 'role ' || rolname || ' has attributes beyond LOGIN' FROM pg_roles
            WHERE rolname IN (${roles.map(quoteLiteral).join(", ")})
              AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls OR NOT rolcanlogin)`,
        `SELECT 'role ' || ${quoteLiteral(backup)} || ' does not default to read-only transactions'
            WHERE NOT EXISTS (SELECT FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
                WHERE r.rolname = ${quoteLiteral(backup)} AND s.setdatabase = 0 AND 'default_transaction_read_only=on' = ANY (s.setconfig))`,
        `SELECT 'role ' || ${quoteLiteral(backup)} || ' is not a member of pg_read_all_data'
            WHERE pg_has_role(${oidOf(backup)}, 'pg_read_all_data'::regrole, 'MEMBER') IS NOT TRUE`,
        ...(monitor === undefined
            ? []
            : [
                  `SELECT 'role ' || ${quoteLiteral(monitor)} || ' is not a member of pg_monitor'
            WHERE pg_has_role(${oidOf(monitor)}, 'pg_monitor'::regrole, 'MEMBER') IS NOT TRUE`,
                  `SELECT 'role ' || ${quoteLiteral(monitor)} || ' does not default to read-only transactions'
            WHERE NOT EXISTS (SELECT FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
                WHERE r.rolname = ${quoteLiteral(monitor)} AND s.setdatabase = 0 AND 'default_transaction_read_only=on' = ANY (s.setconfig))`,
              ]),
        // The database and the schema.
        `SELECT 'database ' || datname || ' is not owned by ' || ${quoteLiteral(owner)} FROM pg_database
            WHERE datname = current_database() AND datdba IS DISTINCT FROM ${ownerOid}`,
        `SELECT 'schema public is not owned by ' || ${quoteLiteral(owner)} FROM pg_namespace
            WHERE nspname = 'public' AND nspowner IS DISTINCT FROM ${ownerOid}`,
        `SELECT 'PUBLIC may connect to or create temporary tables in ' || datname FROM pg_database
            WHERE datallowconn AND (has_database_privilege('public', oid, 'CONNECT') OR has_database_privilege('public', oid, 'TEMPORARY'))`,
        `SELECT 'PUBLIC may use or create in schema public'
            WHERE has_schema_privilege('public', 'public', 'USAGE') OR has_schema_privilege('public', 'public', 'CREATE')`,
        `SELECT 'role ' || rolname || ' may not connect to ' || current_database() FROM pg_roles
            WHERE rolname IN (${[app, backup, ...(monitor === undefined ? [] : [monitor])].map(quoteLiteral).join(", ")}) AND NOT has_database_privilege(oid, current_database(), 'CONNECT')`,
        // Objects the owner does not own yet.
        `SELECT 'owner of ' || name::text FROM (${relationsOf(ownerOid)}) x`,
        `SELECT 'owner of sequence ' || name::text FROM (${standaloneSequencesOf(ownerOid)}) x`,
        `SELECT 'owner of routine ' || name::text FROM (${routinesOf(ownerOid)}) x`,
        `SELECT 'owner of type ' || name::text FROM (${typesOf(ownerOid)}) x`,
        // The app's privileges, present and default.
        `SELECT 'role ' || ${appLit} || ' lacks its privileges on ' || c.oid::regclass::text
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND (${all((p) => `has_table_privilege(${appOid}, c.oid, '${p}')`, TABLE_PRIVILEGES)}) IS NOT TRUE`,
        `SELECT 'role ' || ${appLit} || ' lacks its privileges on sequence ' || c.oid::regclass::text
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'S'
              AND (${all((p) => `has_sequence_privilege(${appOid}, c.oid, '${p}')`, SEQUENCE_PRIVILEGES)}) IS NOT TRUE`,
        `SELECT 'role ' || ${appLit} || ' lacks its schema usage' WHERE has_schema_privilege(${appOid}, 'public', 'USAGE') IS NOT TRUE`,
        ...(
            [
                ["r", TABLE_PRIVILEGES],
                ["S", SEQUENCE_PRIVILEGES],
            ] as const
        ).map(
            ([kind, privileges]) => `SELECT 'default privileges of ' || ${quoteLiteral(owner)} || ' on new ${kind === "r" ? "tables" : "sequences"} miss ' || ${appLit}
            WHERE (SELECT count(DISTINCT a.privilege_type)
                   FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
                   WHERE n.nspname = 'public' AND d.defaclrole = ${ownerOid} AND d.defaclobjtype = '${kind}'
                     AND a.grantee = ${appOid}
                     AND a.privilege_type IN (${privileges.map(quoteLiteral).join(", ")})) < ${privileges.length}`,
        ),
    ];
    return `-- herd: what is out of step with the roles script (generated by components/postgres-roles.ts). Read-only.
SET search_path = pg_catalog, pg_temp;
${checks.join("\nUNION ALL\n")};
`;
}

/** Where the sync finds what it needs in the PostgreSQL pod. */
export interface RolesSyncPaths {
    /** Directory with apply.sql (rolesSql) and drift.sql (rolesDriftSql): the mounted ConfigMap. */
    readonly sqlDir: string;
    /** The password files rolesSql reads (the mounted Secrets). */
    readonly passwords: AllRolePasswordFiles;
    /** File created once the roles are in step: the sidecar's readiness. */
    readonly readyFile: string;
}

/**
 * The sidecar's loop, for /bin/sh in the PostgreSQL image. It waits until the server accepts TCP connections on
 * 127.0.0.1:$PGPORT (the image's temporary initdb server listens on the socket only), then connects as $PGUSER
 * over the socket ($PGHOST) to $PGDATABASE, applies apply.sql, and creates the ready file (retrying every 2 s until
 * then). Every $ROLES_INTERVAL seconds after that it re-applies when the script or a password file changed, or when
 * drift.sql reports anything; a failure is logged and retried at the next interval. It exits at once on SIGTERM.
 */
export function rolesSyncScript(paths: RolesSyncPaths): string {
    const q = shellPath;
    const watched = [`${paths.sqlDir}/apply.sql`, paths.passwords.owner, paths.passwords.app, paths.passwords.backup, ...(paths.passwords.monitor === undefined ? [] : [paths.passwords.monitor])]
        .map(q)
        .join(" ");
    return [
        "set -u",
        "trap 'exit 0' TERM INT",
        `apply=${q(`${paths.sqlDir}/apply.sql`)}`,
        `drift=${q(`${paths.sqlDir}/drift.sql`)}`,
        `ready=${q(paths.readyFile)}`,
        'applied=""',
        "while :; do",
        '    if pg_isready -q -h 127.0.0.1 -p "$PGPORT"; then',
        `        fingerprint=$(cat ${watched} 2>/dev/null | md5sum)`,
        '        out=""',
        '        if [ "$fingerprint" = "$applied" ]; then',
        '            out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -f "$drift" 2>&1) || out="the drift check failed: $out"',
        "        fi",
        '        if [ "$fingerprint" != "$applied" ] || [ -n "$out" ]; then',
        '            if [ -n "$out" ]; then echo "postgres-roles: out of step: $(echo "$out" | tr "\\n" ";")"; fi',
        '            if psql -X -q -v ON_ERROR_STOP=1 -f "$apply"; then',
        '                applied=$fingerprint',
        '                : > "$ready"',
        '                echo "postgres-roles: roles in step"',
        "            else",
        '                echo "postgres-roles: applying the roles failed; retrying" >&2',
        "            fi",
        "        fi",
        "    fi",
        // Every 2 seconds until the roles are in step for the first time, then every $ROLES_INTERVAL.
        '    if [ -n "$applied" ]; then pause=$ROLES_INTERVAL; else pause=2; fi',
        '    sleep "$pause" &',
        "    wait $!",
        "done",
    ].join("\n");
}
