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
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { rolesDriftSql, rolesSql } from "../components/postgres-roles";
import { redisConfig } from "../components/redis-settings";
import { elasticExporterArgs } from "../components/elastic";
import { tempDir } from "./helpers";
import { freePort, IS_ROOT, PostgresServer, postgresUnavailable, startPostgres } from "./services/postgres";
import { makeTestCertificates, TestCertificates } from "./services/test-ca";
import { execFileSync } from "node:child_process";

const which = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const CI = process.env["CI"] === "true";
const PG_EXPORTER = "prometheus-postgres-exporter";
const REDIS_EXPORTER = "prometheus-redis-exporter";
const pgMissing =
    postgresUnavailable() ?? (which(PG_EXPORTER) ? undefined : `${PG_EXPORTER} is not installed (apt-get install prometheus-postgres-exporter)`);
const redisMissing =
    (which("redis-server") ? undefined : "redis-server is not installed (apt-get install redis-server)") ??
    (which(REDIS_EXPORTER) ? undefined : `${REDIS_EXPORTER} is not installed (apt-get install prometheus-redis-exporter)`);
const ES_EXPORTER = "prometheus-elasticsearch-exporter";
const esMissing =
    (which(ES_EXPORTER) ? undefined : `${ES_EXPORTER} is not installed (apt-get install prometheus-elasticsearch-exporter)`) ??
    (which("openssl") ? undefined : "openssl is not installed (apt-get install openssl)");
if (CI && (pgMissing !== undefined || redisMissing !== undefined || esMissing !== undefined)) {
    throw new Error(`CI must run the exporter tests: ${[pgMissing, redisMissing, esMissing].filter((m) => m !== undefined).join("; ")}`);
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
    let certs: TestCertificates;
    const monitorPassword = "m0nitorPassw0rd";

    before(async () => {
        pg = await startPostgres({ hostAuth: "scram-sha-256" });
        pg.psql("CREATE DATABASE herd");
        const dir = tempDir("herd-exporters-");
        // TLS on, as herd's server has it (components/postgres-settings.ts), with a test CA's certificate for 127.0.0.1.
        certs = makeTestCertificates(path.join(dir, "tls"));
        if (IS_ROOT) {
            execFileSync("chown", ["-R", "postgres:postgres", certs.dir]);
        }
        fs.chmodSync(dir, 0o755);
        for (const [key, value] of [["ssl_cert_file", certs.certFile], ["ssl_key_file", certs.keyFile], ["ssl_ca_file", certs.caFile], ["ssl_min_protocol_version", "TLSv1.2"], ["ssl", "on"]]) {
            pg.psql(`ALTER SYSTEM SET ${key} = '${value}'`);
        }
        pg.psql("SELECT pg_reload_conf()");
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
            // As the sidecar is configured (components/postgres.ts): TLS verified against the CA for 127.0.0.1, with
            // the test server's port and CA file.
            { DATA_SOURCE_URI: `127.0.0.1:${pg.port}/herd?sslmode=verify-full&sslrootcert=${certs.caFile}`, DATA_SOURCE_USER: "herd_monitor", DATA_SOURCE_PASS: monitorPassword },
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
        // Its own session is encrypted: the server's view of the exporter's connection.
        assert.equal(pg.psql("SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'herd_monitor'"), "t");
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
    let redisAddr: string;
    const password = "redisPassw0rd";

    before(async () => {
        const dir = tempDir("herd-exporters-redis-");
        const redisPort = await freePort();
        const conf = path.join(dir, "redis.conf");
        // TLS only, as herd's redis.conf has it, with a test CA's certificate for 127.0.0.1.
        const certs = makeTestCertificates(path.join(dir, "tls"));
        redisAddr = `rediss://127.0.0.1:${redisPort}`;
        fs.writeFileSync(conf, redisConfig({ memory: "256Mi", evictionPolicy: "allkeys-lru", appendOnly: false, port: redisPort, dir, bind: "127.0.0.1", tlsDir: certs.dir }, password), { mode: 0o600 });
        redis = spawn("redis-server", [conf], { stdio: "ignore" });
        const port = await freePort();
        exporter = new Exporter(
            REDIS_EXPORTER,
            // As the sidecar is configured (components/redis.ts): rediss:// verified against the CA, with the test
            // server's port and CA file.
            [`--web.listen-address=127.0.0.1:${port}`, `--tls-ca-cert-file=${certs.caFile}`],
            { REDIS_ADDR: redisAddr, REDIS_PASSWORD: password },
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

    it("verifies the server: without the CA flag the same exporter cannot connect (redis_up 0)", async () => {
        const port = await freePort();
        const untrusting = new Exporter(REDIS_EXPORTER, [`--web.listen-address=127.0.0.1:${port}`], { REDIS_ADDR: redisAddr, REDIS_PASSWORD: password }, port);
        try {
            assert.equal(sample(await untrusting.scrape((t) => sample(t, "redis_up") !== undefined), "redis_up"), 0);
        } finally {
            untrusting.stop();
        }
    });

    it("reports redis_up 0 once the server is gone (HerdRedisDown)", async () => {
        redis.kill("SIGKILL");
        const text = await exporter.scrape((t) => sample(t, "redis_up") === 0);
        assert.equal(sample(text, "redis_up"), 0);
    });
});

/**
 * elasticsearch_exporter over HTTPS, configured as the sidecar is (elasticExporterArgs: --es.uri https, --es.ca), against
 * a stand-in Elasticsearch serving a certificate for 127.0.0.1 (no Elasticsearch server exists here). Debian ships
 * 1.5.0 and the sidecar's image is 1.7.0; both have these flags. What it shows: the exporter reaches a server whose
 * certificate the CA signed, and refuses one another CA signed (no request reaches it).
 */
describe("elasticsearch_exporter over HTTPS, verifying the server against the CA", { skip: esMissing }, () => {
    interface Pem {
        key: Buffer;
        cert: Buffer;
    }
    let dir: string;
    let caFile: string;
    let good: Pem;
    let foreign: Pem;

    before(() => {
        dir = tempDir("herd-exporters-es-");
        const openssl = (...args: string[]) => {
            const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
            assert.equal(r.status, 0, r.stderr);
        };
        const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        const leaf = (name: string, ca: string): Pem => {
            openssl("req", ...newKey, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
            fs.writeFileSync(path.join(dir, `${name}.ext`), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
            openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "2", "-out", `${name}.crt`, "-extfile", `${name}.ext`);
            return { key: fs.readFileSync(path.join(dir, `${name}.key`)), cert: fs.readFileSync(path.join(dir, `${name}.crt`)) };
        };
        for (const ca of ["ca", "other-ca"]) {
            openssl("req", "-x509", ...newKey, "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-days", "2", "-subj", `/CN=${ca}`);
        }
        caFile = path.join(dir, "ca.crt");
        good = leaf("es", "ca");
        foreign = leaf("foreign", "other-ca");
    });

    /** A stand-in answering what the exporter's default collectors ask (cluster info, health, local node stats). */
    async function standIn(pem: Pem): Promise<{ port: number; seen: string[]; close: () => void }> {
        const seen: string[] = [];
        const server = https.createServer({ key: pem.key, cert: pem.cert }, (req, res) => {
            seen.push(`${req.method} ${req.url}`);
            const url = String(req.url).split("?")[0];
            const body =
                url === "/"
                    ? { name: "elastic-0", cluster_name: "elastic", cluster_uuid: "u", version: { number: "8.17.4" } }
                    : url === "/_cluster/health"
                      ? { cluster_name: "elastic", status: "green", timed_out: false, number_of_nodes: 1, number_of_data_nodes: 1, active_primary_shards: 1, active_shards: 1 }
                      : url.startsWith("/_nodes")
                        ? { cluster_name: "elastic", nodes: {} }
                        : undefined;
            res.writeHead(body === undefined ? 404 : 200, { "Content-Type": "application/json" }).end(JSON.stringify(body ?? {}));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return { port: (server.address() as AddressInfo).port, seen, close: () => server.close() };
    }
    async function exporterFor(esPort: number): Promise<Exporter> {
        const port = await freePort();
        // The sidecar's arguments, with the stand-in's port, the test CA and a local listen address.
        const args = elasticExporterArgs(`https://127.0.0.1:${esPort}`, caFile, `127.0.0.1:${port}`);
        assert.deepEqual(elasticExporterArgs().slice(0, 2), ["--es.uri=https://127.0.0.1:9200", "--es.ca=/etc/herd/ca/ca.crt"]);
        return new Exporter(ES_EXPORTER, args, { ES_USERNAME: "herd_metrics", ES_PASSWORD: "m3trics" }, port);
    }

    it("reaches a server whose certificate the CA signed: elasticsearch_cluster_health_up 1", async () => {
        const es = await standIn(good);
        const exporter = await exporterFor(es.port);
        try {
            const text = await exporter.scrape((t) => sample(t, "elasticsearch_cluster_health_up") === 1);
            assert.equal(sample(text, "elasticsearch_cluster_health_up"), 1);
            assert.ok(es.seen.some((r) => r.startsWith("GET /_cluster/health")), es.seen.join(", "));
        } finally {
            exporter.stop();
            es.close();
        }
    });

    it("refuses a server whose certificate another CA signed: elasticsearch_cluster_health_up 0, no request reaches it", async () => {
        const es = await standIn(foreign);
        const exporter = await exporterFor(es.port);
        try {
            const text = await exporter.scrape((t) => sample(t, "elasticsearch_cluster_health_up") !== undefined);
            assert.equal(sample(text, "elasticsearch_cluster_health_up"), 0);
            assert.deepEqual(es.seen, []);
            assert.match(exporter.log, /certificate|x509|tls/i);
        } finally {
            exporter.stop();
            es.close();
        }
    });
});
