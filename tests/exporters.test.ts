/**
 * The metrics exporters for real: Debian's prometheus-postgres-exporter and prometheus-redis-exporter (the versions
 * the sidecars' images pin, components/metrics.ts) against a real PostgreSQL with herd's roles script applied (the
 * exporter logs in as herd_monitor, pg_monitor only) and a real redis-server on herd's generated redis.conf (its
 * dangerous commands removed). Each /metrics is scraped and the series the alert rules read (components/alerts.ts)
 * are checked, up and down; and the monitoring role cannot read a table's rows.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { rolesDriftSql, rolesSql } from "../components/postgres-roles";
import { redisConfig } from "../components/redis-settings";
import { tempDir } from "./helpers";
import { freePort, PostgresServer, postgresUnavailable, startPostgres } from "./services/postgres";

const which = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const CI = process.env["CI"] === "true";
const PG_EXPORTER = "prometheus-postgres-exporter";
const REDIS_EXPORTER = "prometheus-redis-exporter";
const pgMissing =
    postgresUnavailable() ?? (which(PG_EXPORTER) ? undefined : `${PG_EXPORTER} is not installed (apt-get install prometheus-postgres-exporter)`);
const redisMissing =
    (which("redis-server") ? undefined : "redis-server is not installed (apt-get install redis-server)") ??
    (which(REDIS_EXPORTER) ? undefined : `${REDIS_EXPORTER} is not installed (apt-get install prometheus-redis-exporter)`);
if (CI && (pgMissing !== undefined || redisMissing !== undefined)) {
    throw new Error(`CI must run the exporter tests: ${[pgMissing, redisMissing].filter((m) => m !== undefined).join("; ")}`);
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One sample's value: `name{labels} value` (labels matched as given, in any order is not needed here). */
function sample(text: string, name: string, labels = ""): number | undefined {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(`^${escaped}(\\{[^}]*\\})? (\\S+)$`, "gm");
    for (const m of text.matchAll(re)) {
        if ((m[1] ?? "").includes(labels)) {
            return Number(m[2]);
        }
    }
    return undefined;
}

class Exporter {
    private child: ChildProcess;
    log = "";
    constructor(
        command: string,
        args: string[],
        env: NodeJS.ProcessEnv,
        readonly port: number,
    ) {
        this.child = spawn(command, args, { env: { PATH: process.env["PATH"], ...env }, stdio: ["ignore", "pipe", "pipe"] });
        this.child.stdout?.on("data", (d: Buffer) => (this.log += d.toString()));
        this.child.stderr?.on("data", (d: Buffer) => (this.log += d.toString()));
    }
    /** /metrics, once it answers with `until` true (up to 20 s). */
    async scrape(until: (text: string) => boolean = () => true): Promise<string> {
        const deadline = Date.now() + 20_000;
        let last = "";
        while (Date.now() < deadline) {
            try {
                const response = await fetch(`http://127.0.0.1:${this.port}/metrics`);
                last = await response.text();
                if (response.status === 200 && until(last)) {
                    return last;
                }
            } catch {
                // not listening yet
            }
            await sleep(200);
        }
        throw new Error(`no matching /metrics within 20 s; last:\n${last.slice(0, 2000)}\nexporter log:\n${this.log}`);
    }
    stop(): void {
        this.child.kill("SIGTERM");
    }
}

describe("postgres_exporter against a real PostgreSQL, as herd_monitor", { skip: pgMissing }, () => {
    let pg: PostgresServer;
    let exporter: Exporter;
    const monitorPassword = "m0nitorPassw0rd";

    before(async () => {
        pg = await startPostgres({ hostAuth: "scram-sha-256" });
        pg.psql("CREATE DATABASE herd");
        const dir = tempDir("herd-exporters-");
        const files = { owner: path.join(dir, "owner"), app: path.join(dir, "app"), backup: path.join(dir, "backup"), monitor: path.join(dir, "monitor") };
        for (const [role, file] of Object.entries(files)) {
            fs.writeFileSync(file, role === "monitor" ? monitorPassword : `${role}-password`);
        }
        fs.chmodSync(dir, 0o755);
        const apply = path.join(dir, "apply.sql");
        fs.writeFileSync(apply, rolesSql({ database: "herd", owner: "herd_owner", app: "herd_app", backup: "herd_backup", monitor: "herd_monitor" }, files));
        const r = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "herd", "-f", apply], { env: pg.env, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        // The sidecar's drift check knows the monitoring role: nothing out of step once applied, its grant missed when revoked.
        const drift = path.join(dir, "drift.sql");
        fs.writeFileSync(drift, rolesDriftSql({ database: "herd", owner: "herd_owner", app: "herd_app", backup: "herd_backup", monitor: "herd_monitor" }));
        const check = () => spawnSync("psql", ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", "herd", "-f", drift], { env: pg.env, encoding: "utf8" }).stdout.trim();
        assert.equal(check(), "");
        pg.psql("REVOKE pg_monitor FROM herd_monitor", "herd");
        assert.equal(check(), "role herd_monitor is not a member of pg_monitor");
        assert.equal(spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "herd", "-f", apply], { env: pg.env, encoding: "utf8" }).status, 0);
        assert.equal(check(), "");
        pg.psql("CREATE TABLE public.items (id serial PRIMARY KEY, name text); INSERT INTO public.items (name) VALUES ('secret row')", "herd");
        const port = await freePort();
        exporter = new Exporter(
            PG_EXPORTER,
            [`--web.listen-address=127.0.0.1:${port}`],
            // As the sidecar is configured (components/postgres.ts), with the test server's port.
            { DATA_SOURCE_URI: `127.0.0.1:${pg.port}/herd?sslmode=disable`, DATA_SOURCE_USER: "herd_monitor", DATA_SOURCE_PASS: monitorPassword },
            port,
        );
    });
    after(() => {
        exporter?.stop();
        pg?.stop();
    });

    it("reports pg_up 1 and the archiver's counters HerdWalArchivingFailing reads", async () => {
        const text = await exporter.scrape((t) => sample(t, "pg_up") === 1);
        assert.equal(sample(text, "pg_up"), 1);
        assert.equal(sample(text, "pg_stat_archiver_failed_count"), 0, "pg_stat_archiver_failed_count missing:\n" + text.slice(0, 1500));
        assert.notEqual(sample(text, "pg_stat_archiver_archived_count"), undefined);
        // Statistics pg_monitor grants: per-database activity.
        assert.notEqual(sample(text, "pg_stat_database_numbackends", 'datname="herd"'), undefined);
    });

    it("the monitoring role logs in but cannot read a table's rows, nor write", () => {
        const as = (sql: string) =>
            spawnSync("psql", ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], {
                env: { ...process.env, PGHOST: "127.0.0.1", PGPORT: String(pg.port), PGUSER: "herd_monitor", PGPASSWORD: monitorPassword, PGDATABASE: "herd" },
                encoding: "utf8",
            });
        assert.equal(as("SELECT 1").stdout.trim(), "1");
        const read = as("SELECT name FROM public.items");
        assert.notEqual(read.status, 0, "herd_monitor read a table");
        assert.match(read.stderr, /permission denied/);
        const write = as("CREATE TABLE public.x (id int)");
        assert.notEqual(write.status, 0);
        assert.match(write.stderr, /read-only transaction|permission denied/);
    });

    it("reports pg_up 0 once the server is gone (HerdPostgresDown)", async () => {
        pg.stop();
        const text = await exporter.scrape((t) => sample(t, "pg_up") === 0);
        assert.equal(sample(text, "pg_up"), 0);
    });
});

describe("redis_exporter against a real redis-server on herd's redis.conf", { skip: redisMissing }, () => {
    let redis: ChildProcess;
    let exporter: Exporter;
    const password = "redisPassw0rd";

    before(async () => {
        const dir = tempDir("herd-exporters-redis-");
        const redisPort = await freePort();
        const conf = path.join(dir, "redis.conf");
        fs.writeFileSync(conf, redisConfig({ memory: "256Mi", evictionPolicy: "allkeys-lru", appendOnly: false, port: redisPort, dir, bind: "127.0.0.1" }, password), { mode: 0o600 });
        redis = spawn("redis-server", [conf], { stdio: "ignore" });
        const port = await freePort();
        exporter = new Exporter(
            REDIS_EXPORTER,
            [`--web.listen-address=127.0.0.1:${port}`],
            // As the sidecar is configured (components/redis.ts), with the test server's port.
            { REDIS_ADDR: `redis://127.0.0.1:${redisPort}`, REDIS_PASSWORD: password },
            port,
        );
    });
    after(() => {
        exporter?.stop();
        redis?.kill("SIGKILL");
    });

    it("reports redis_up 1 with CONFIG and the other dangerous commands removed", async () => {
        const text = await exporter.scrape((t) => sample(t, "redis_up") === 1);
        assert.equal(sample(text, "redis_up"), 1);
        assert.notEqual(sample(text, "redis_memory_used_bytes"), undefined);
        assert.notEqual(sample(text, "redis_connected_clients"), undefined);
    });

    it("reports redis_up 0 once the server is gone (HerdRedisDown)", async () => {
        redis.kill("SIGKILL");
        const text = await exporter.scrape((t) => sample(t, "redis_up") === 0);
        assert.equal(sample(text, "redis_up"), 0);
    });
});
