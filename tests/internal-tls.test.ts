/**
 * TLS inside the cluster for PostgreSQL and Redis (issue 17): herd's internal CA signs each server's certificate,
 * the servers take TLS only from TCP clients, and every client (the API, its migration, the backup job, the
 * exporters, the probes) verifies the server against the CA's ConfigMap.
 *
 * Per stack, under mocks: the servers' TLS settings, no plaintext listener for TCP clients, the clients' settings and
 * mounts, the names in each certificate covering the host each client dials, the key only in Secrets, and renewal
 * (earlyRenewalHours, the checksum annotation that rolls the pod). Then the PostgreSQL settings herd writes, in a
 * real `postgres`: verify-full connects, a plaintext client is refused. (Redis's TLS runs for real in
 * tests/redis.test.ts and tests/exporters.test.ts; the API's side is in images/api/tests.)
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { apiTlsProblems, ApiService } from "../components/api";
import type { ApiAuthSettings } from "../components/api-auth";
import { CA_FILE, CA_MOUNT_PATH, SERVER_CERT_EARLY_RENEWAL_HOURS, SERVER_CERT_VALIDITY_HOURS, statefulServerDnsNames, TLS_CHECKSUM_ANNOTATION } from "../components/internal-ca";
import { postgresHbaConf, postgresTlsSettings } from "../components/postgres-settings";
import { problemText } from "../components/validation";
import { evaluateProgram, evaluateStack, Evaluation, RecordedResource } from "../offline/evaluate";
import { buildManifests, Manifest } from "../offline/manifests";
import { isWrappedSecret, unwrap } from "../offline/mock-values";
import { inspect, tempDir } from "./helpers";
import { freePort, IS_ROOT, postgresBinDir, postgresUnavailable } from "./services/postgres";
import { makeTestCertificates, opensslUnavailable, TestCertificates } from "./services/test-ca";

// any: manifests are schema-validated JSON (offline/manifests.ts); the tests walk them by path.
type Obj = Record<string, any>;

const STACKS = ["aws", "gcp", "onprem"] as const;

function find(ms: readonly Manifest[], kind: string, name: string): Obj {
    const m = ms.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(m !== undefined, `${kind} ${name} not rendered`);
    return unwrap(m) as Obj;
}
function podSpec(m: Obj): Obj {
    return m["kind"] === "CronJob" ? m["spec"]["jobTemplate"]["spec"]["template"]["spec"] : m["spec"]["template"]["spec"];
}
function containers(spec: Obj): Obj[] {
    return [...((spec["initContainers"] as Obj[] | undefined) ?? []), ...(spec["containers"] as Obj[])];
}
function container(spec: Obj, name: string): Obj {
    const c = containers(spec).find((x) => x["name"] === name);
    assert.ok(c !== undefined, `container ${name}`);
    return c;
}
function envOf(c: Obj): Record<string, string | undefined> {
    return Object.fromEntries(((c["env"] as Obj[] | undefined) ?? []).map((e) => [e["name"], e["value"]]));
}
/** The volume a container mounts at `mountPath`. */
function mounted(spec: Obj, c: Obj, mountPath: string): Obj | undefined {
    const mount = ((c["volumeMounts"] as Obj[] | undefined) ?? []).find((v) => v["mountPath"] === mountPath);
    return mount === undefined ? undefined : { ...(spec["volumes"] as Obj[]).find((v) => v["name"] === mount["name"]), readOnly: mount["readOnly"] };
}
function recorded(e: Evaluation, type: string, name: string): RecordedResource {
    const r = e.resources.find((x) => x.type === type && x.name === name);
    assert.ok(r !== undefined, `${type} ${name} not recorded`);
    return r;
}
/** The `-c name=value` settings of the PostgreSQL container. */
function serverSettings(c: Obj): Record<string, string> {
    const args = c["args"] as string[];
    const out: Record<string, string> = {};
    for (let i = 0; i < args.length; i += 2) {
        assert.equal(args[i], "-c");
        const [k, ...v] = args[i + 1].split("=");
        out[k] = v.join("=");
    }
    return out;
}
function directive(conf: string, name: string): string[] {
    return conf
        .split("\n")
        .filter((l) => l.startsWith(`${name} `))
        .map((l) => l.slice(name.length + 1));
}

for (const stack of STACKS) {
    describe(`${stack}: TLS inside the cluster for PostgreSQL and Redis`, () => {
        let e: Evaluation;
        let ms: readonly Manifest[];
        let ns: string;
        before(async () => {
            e = await evaluateStack({ stack });
            ms = buildManifests(e).manifests;
            ns = String(find(ms, "StatefulSet", "postgres")["metadata"]["namespace"]);
        });

        it("one internal CA for the stack: its certificate public in the ConfigMap herd-ca, its key in no object at all", () => {
            assert.equal(e.resources.filter((r) => r.type === "herd:index:InternalCa").length, 1);
            const cm = find(ms, "ConfigMap", "herd-ca");
            assert.match(cm["data"]["ca.crt"], /^-----BEGIN CERTIFICATE-----/);
            assert.deepEqual(Object.keys(cm["data"]), ["ca.crt"]);
        });

        for (const server of ["postgres", "redis"] as const) {
            it(`${server}: a certificate from the CA in the kubernetes.io/tls Secret ${server}-tls, renewed 60 days before its year is out`, () => {
                const secret = e.records.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === `${server}-tls`);
                assert.ok(secret !== undefined);
                const m = find(ms, "Secret", `${server}-tls`);
                assert.equal(m["type"], "kubernetes.io/tls");
                assert.deepEqual(Object.keys(m["stringData"]).sort(), ["ca.crt", "tls.crt", "tls.key"]);
                assert.equal(m["stringData"]["ca.crt"], find(ms, "ConfigMap", "herd-ca")["data"]["ca.crt"], "the same CA the clients trust");
                // The key is a secret value in the state: wrapped, never plain.
                const raw = (secret.inputs as Obj)["stringData"] as Obj;
                assert.ok(isWrappedSecret(raw) || isWrappedSecret(raw["tls.key"]), "tls.key is a secret output");
                const cert = recorded(e, "tls:index/locallySignedCert:LocallySignedCert", `${server}-tls-cert`).inputs as Obj;
                assert.equal(cert["validityPeriodHours"], SERVER_CERT_VALIDITY_HOURS);
                assert.equal(cert["earlyRenewalHours"], SERVER_CERT_EARLY_RENEWAL_HOURS);
                assert.equal(SERVER_CERT_EARLY_RENEWAL_HOURS, 60 * 24);
                assert.deepEqual([...(cert["allowedUses"] as string[])].sort(), ["digital_signature", "key_encipherment", "server_auth"]);
            });

            it(`${server}: the certificate names the client Service, the headless Service and the pod (4 forms each), localhost and 127.0.0.1`, () => {
                const csr = recorded(e, "tls:index/certRequest:CertRequest", `${server}-tls-csr`).inputs as Obj;
                const names = csr["dnsNames"] as string[];
                for (const host of [server, `${server}-headless`, `${server}-0.${server}-headless`]) {
                    for (const form of [host, `${host}.${ns}`, `${host}.${ns}.svc`, `${host}.${ns}.svc.cluster.local`]) {
                        assert.ok(names.includes(form), `${form} in ${names.join(", ")}`);
                    }
                }
                assert.ok(names.includes("localhost"));
                assert.deepEqual(csr["ipAddresses"], ["127.0.0.1"]);
            });

            it(`${server}: a renewed certificate rolls the pod (the certificate's SHA-256 on the pod template)`, () => {
                const sts = find(ms, "StatefulSet", server);
                const pem = find(ms, "Secret", `${server}-tls`)["stringData"]["tls.crt"] as string;
                assert.equal(sts["spec"]["template"]["metadata"]["annotations"][TLS_CHECKSUM_ANNOTATION], createHash("sha256").update(pem).digest("hex"));
            });
        }

        it("postgres: ssl on with the mounted certificate, TLS 1.2 at least, and herd's pg_hba.conf as hba_file", () => {
            const spec = podSpec(find(ms, "StatefulSet", "postgres"));
            const c = container(spec, "postgres");
            const s = serverSettings(c);
            assert.deepEqual(
                { ssl: s["ssl"], cert: s["ssl_cert_file"], key: s["ssl_key_file"], ca: s["ssl_ca_file"], min: s["ssl_min_protocol_version"], hba: s["hba_file"] },
                {
                    ssl: "on",
                    cert: "/etc/herd/postgres-tls/tls.crt",
                    key: "/etc/herd/postgres-tls/tls.key",
                    ca: "/etc/herd/postgres-tls/ca.crt",
                    min: "TLSv1.2",
                    hba: "/etc/herd/postgres-hba/pg_hba.conf",
                },
            );
            const tls = mounted(spec, c, "/etc/herd/postgres-tls");
            assert.equal(tls?.["secret"]["secretName"], "postgres-tls");
            assert.equal(tls?.["readOnly"], true);
            // PostgreSQL refuses a key others can read: root-owned 0640, readable through the pod's fsGroup (postgres).
            assert.equal(tls?.["secret"]["defaultMode"], 0o640);
            assert.equal(spec["securityContext"]["fsGroup"], 999);
            const hba = mounted(spec, c, "/etc/herd/postgres-hba");
            assert.equal(hba?.["configMap"]["name"], "postgres-hba");
        });

        it("postgres: no plaintext TCP: pg_hba has hostssl (scram-sha-256) for TCP and no host line; the socket stays trust", () => {
            const conf = find(ms, "ConfigMap", "postgres-hba")["data"]["pg_hba.conf"] as string;
            assert.equal(conf, postgresHbaConf());
            const rules = conf.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")).map((l) => l.split(/\s+/));
            assert.deepEqual(rules.filter((r) => r[0] !== "local"), [["hostssl", "all", "all", "all", "scram-sha-256"]]);
            assert.ok(!rules.some((r) => ["host", "hostnossl", "hostgssenc", "hostnogssenc"].includes(r[0])), "no rule that admits TCP without TLS");
            assert.deepEqual(rules.filter((r) => r[0] === "local").map((r) => r[3]), ["trust", "trust"]);
            const sts = find(ms, "StatefulSet", "postgres");
            assert.equal(sts["spec"]["template"]["metadata"]["annotations"]["herd.dev/pg-hba"], createHash("sha256").update(conf).digest("hex"), "a new pg_hba.conf rolls the pod");
        });

        it("redis: TLS only on 6379 (port 0), the mounted certificate, no client certificates, TLS 1.2/1.3; the password stays", () => {
            const conf = find(ms, "Secret", "redis-config")["stringData"]["redis.conf"] as string;
            assert.deepEqual(directive(conf, "port"), ["0"]);
            assert.deepEqual(directive(conf, "tls-port"), ["6379"]);
            assert.deepEqual(directive(conf, "tls-cert-file"), ["/etc/redis/tls/tls.crt"]);
            assert.deepEqual(directive(conf, "tls-key-file"), ["/etc/redis/tls/tls.key"]);
            assert.deepEqual(directive(conf, "tls-ca-cert-file"), ["/etc/redis/tls/ca.crt"]);
            assert.deepEqual(directive(conf, "tls-auth-clients"), ["no"]);
            assert.deepEqual(directive(conf, "tls-protocols"), ['"TLSv1.2 TLSv1.3"']);
            assert.equal(directive(conf, "requirepass").length, 1);
            const spec = podSpec(find(ms, "StatefulSet", "redis"));
            const c = container(spec, "redis");
            const tls = mounted(spec, c, "/etc/redis/tls");
            assert.equal(tls?.["secret"]["secretName"], "redis-tls");
            assert.equal(tls?.["secret"]["defaultMode"], 0o440);
            for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
                assert.match((c[probe]["exec"]["command"] as string[]).join(" "), /redis-cli --tls --cacert \/etc\/redis\/tls\/ca\.crt -h 127\.0\.0\.1 -p 6379 ping/, probe);
            }
        });

        it("the API server and the migration Job verify both servers against the CA mounted at /etc/herd/ca", () => {
            const deployment = podSpec(find(ms, "Deployment", "api"));
            const job = podSpec(find(ms, "Job", "api-migrate"));
            for (const [spec, name] of [[deployment, "api"], [job, "wait-for-postgres"], [job, "migrate"]] as const) {
                const c = container(spec, name);
                const env = envOf(c);
                assert.equal(env["DATABASE_SSLMODE"], "verify-full", name);
                assert.equal(env["DATABASE_SSLROOTCERT"], "/etc/herd/ca/ca.crt", name);
                const ca = mounted(spec, c, CA_MOUNT_PATH);
                assert.equal(ca?.["configMap"]["name"], "herd-ca", `${name} mounts the CA`);
                assert.equal(ca?.["readOnly"], true);
                // The host it dials is one the certificate names (verify-full checks it).
                const names = recorded(e, "tls:index/certRequest:CertRequest", "postgres-tls-csr").inputs["dnsNames"] as string[];
                assert.ok(names.includes(String(env["DATABASE_HOST"])), `${env["DATABASE_HOST"]} in the certificate`);
            }
            const env = envOf(container(deployment, "api"));
            assert.equal(env["REDIS_TLS"], "true");
            assert.equal(env["REDIS_CA_FILE"], "/etc/herd/ca/ca.crt");
            const redisNames = recorded(e, "tls:index/certRequest:CertRequest", "redis-tls-csr").inputs["dnsNames"] as string[];
            assert.ok(redisNames.includes(String(env["REDIS_HOST"])), `${env["REDIS_HOST"]} in the certificate`);
            assert.equal(envOf(container(job, "migrate"))["REDIS_TLS"], undefined, "the migration gets the database only");
        });

        it("the nightly pg_dump connects with verify-full against the CA, to a name in the certificate", () => {
            const spec = podSpec(find(ms, "CronJob", "postgres-backup"));
            const c = container(spec, "dump");
            const env = envOf(c);
            assert.equal(env["PGSSLMODE"], "verify-full");
            assert.equal(env["PGSSLROOTCERT"], CA_FILE);
            assert.equal(mounted(spec, c, CA_MOUNT_PATH)?.["configMap"]["name"], "herd-ca");
            const names = recorded(e, "tls:index/certRequest:CertRequest", "postgres-tls-csr").inputs["dnsNames"] as string[];
            assert.ok(names.includes(String(env["PGHOST"])), `${env["PGHOST"]} in the certificate`);
        });

        it("in-pod clients: the roles sidecar, pgBackRest and the probes use the Unix socket or need no login", () => {
            const spec = podSpec(find(ms, "StatefulSet", "postgres"));
            assert.equal(envOf(container(spec, "roles"))["PGHOST"], "/var/run/postgresql");
            const pg = container(spec, "postgres");
            assert.deepEqual(pg["livenessProbe"]["exec"]["command"].slice(0, 3), ["psql", "-h", "/var/run/postgresql"]);
            // pg_isready only asks whether the server answers: TLS or not, no login is made.
            assert.equal(pg["readinessProbe"]["exec"]["command"][0], "pg_isready");
            assert.equal(envOf(pg)["PGBACKREST_PG1_HOST"], undefined, "pgBackRest reaches the server through the socket in the same pod");
        });

        it("the exporters: postgres_exporter with sslmode=verify-full, redis_exporter over rediss://, each with the CA", () => {
            const pgSpec = podSpec(find(ms, "StatefulSet", "postgres"));
            const pgExporter = container(pgSpec, "metrics");
            assert.equal(envOf(pgExporter)["DATA_SOURCE_URI"], `127.0.0.1:5432/herd?sslmode=verify-full&sslrootcert=${CA_FILE}`);
            assert.equal(mounted(pgSpec, pgExporter, CA_MOUNT_PATH)?.["configMap"]["name"], "herd-ca");
            const redisSpec = podSpec(find(ms, "StatefulSet", "redis"));
            const redisExporter = container(redisSpec, "metrics");
            assert.equal(envOf(redisExporter)["REDIS_ADDR"], "rediss://127.0.0.1:6379");
            assert.ok((redisExporter["args"] as string[]).includes(`--tls-ca-cert-file=${CA_FILE}`));
            assert.equal(mounted(redisSpec, redisExporter, CA_MOUNT_PATH)?.["configMap"]["name"], "herd-ca");
        });

        it("a private key is only ever in a Secret: no ConfigMap, pod template or env holds one, nor the stack outputs", () => {
            for (const m of ms.filter((x) => x.kind !== "Secret")) {
                assert.ok(!JSON.stringify(unwrap(m)).includes("PRIVATE KEY"), `${m.kind} ${m.metadata.name} holds a private key`);
            }
            assert.ok(!JSON.stringify(e.outputs).includes("PRIVATE KEY"));
            for (const server of ["postgres", "redis"]) {
                assert.match(find(ms, "Secret", `${server}-tls`)["stringData"]["tls.key"], /^-----BEGIN PRIVATE KEY-----/, "PKCS#8, as PostgreSQL and Redis read it");
            }
        });
    });
}

describe("statefulServerDnsNames", () => {
    it("one replica by default: the client Service, the headless Service and pod 0, four forms each", async () => {
        const names = (await inspect(statefulServerDnsNames("redis", "shop"))).value as string[];
        assert.equal(names.length, 12);
        assert.deepEqual(names.slice(8), ["redis-0.redis-headless", "redis-0.redis-headless.shop", "redis-0.redis-headless.shop.svc", "redis-0.redis-headless.shop.svc.cluster.local"]);
    });
    it("replicas: each pod's own name", async () => {
        const names = (await inspect(statefulServerDnsNames("pg", pulumi.output("ns"), 3))).value as string[];
        assert.equal(names.length, 20);
        assert.ok(names.includes("pg-2.pg-headless.ns.svc.cluster.local"));
    });
});

describe("ApiService: the TLS wiring is checked", () => {
    const endpoint = { host: pulumi.output("h"), port: 1, secretName: pulumi.output("s"), passwordKey: "p", podSelector: {} };
    const base = {
        postgres: { ...endpoint, user: "u", database: "d", owner: { user: "o", secretName: pulumi.output("os"), passwordKey: "p" } },
        redis: endpoint,
        elasticsearch: { ...endpoint, url: pulumi.output("https://es:9200"), username: "e" },
    };
    it("no caFile anywhere: nothing to mount, no problem", () => assert.deepEqual(apiTlsProblems(base), []));
    it("an endpoint with the CA's file needs the CA to mount", () => {
        const problems = apiTlsProblems({ ...base, redis: { ...endpoint, caFile: CA_FILE } });
        assert.deepEqual(problems.map(problemText), [`ca: expected the internal CA (InternalCa) to mount at ${CA_MOUNT_PATH}: redis.caFile is ${CA_FILE}, got none`]);
        assert.deepEqual(apiTlsProblems({ ...base, redis: { ...endpoint, caFile: CA_FILE }, ca: { configMapName: "herd-ca" } }), []);
    });
    it("a caFile other than the CA's (the only one mounted) is refused, naming the field", () => {
        const problems = apiTlsProblems({ ...base, postgres: { ...base.postgres, caFile: "/etc/ssl/other.crt" }, ca: { configMapName: "herd-ca" } });
        assert.deepEqual(problems.map(problemText), [`postgres.caFile: expected the internal CA's file ${CA_FILE} (the only CA mounted in the API's pods), got "/etc/ssl/other.crt"`]);
    });
    it("the component refuses it before creating anything", async () => {
        await assert.rejects(
            evaluateProgram(() => {
                new ApiService("api", {
                    ...base,
                    postgres: { ...base.postgres, caFile: CA_FILE },
                    namespace: "herd",
                    image: "api:1",
                    clientLabels: {},
                    // Never read: the refusal comes before any child is created.
                    auth: {} as ApiAuthSettings,
                });
                return {};
            }),
            /ApiService "api": invalid arguments:\n {2}- ca: expected the internal CA/,
        );
    });
});

// ---------------------------------------------------------------------------------------------------------------
// The settings herd writes, in a real PostgreSQL
// ---------------------------------------------------------------------------------------------------------------

const CI = process.env["CI"] === "true";
const missing = postgresUnavailable() ?? opensslUnavailable();
if (CI && missing !== undefined) {
    throw new Error(`CI must run the PostgreSQL TLS test: ${missing}`);
}

describe("herd's PostgreSQL TLS settings and pg_hba.conf in a real postgres", { skip: missing }, () => {
    let root: string;
    let certs: TestCertificates;
    let port: number;
    let socketDir: string;
    let dataDir: string;
    const bin = postgresBinDir() ?? "";
    const password = "s3cret-app-passw0rd";
    const run = (cmd: string, args: string[]) =>
        execFileSync(IS_ROOT ? "runuser" : cmd, IS_ROOT ? ["-u", "postgres", "--", cmd, ...args] : args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    /** psql with a libpq connection string over TCP; status, output and error. */
    const connect = (conninfo: string, sql = "SELECT 1") => {
        const r = spawnSync("psql", ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", `host=127.0.0.1 port=${port} dbname=herd user=herd_app ${conninfo}`, "-c", sql], {
            env: { PATH: process.env["PATH"] ?? "", PGPASSWORD: password, PGCONNECT_TIMEOUT: "10" },
            encoding: "utf8",
            timeout: 20_000,
        });
        return { status: r.status, out: r.stdout.trim(), err: r.stderr };
    };

    before(async () => {
        root = tempDir("herd-pg-tls-");
        fs.chmodSync(root, 0o755);
        certs = makeTestCertificates(path.join(root, "tls"), ["postgres"]);
        // As the kubelet lays out the Secret volume: files owned by root, the pod's fsGroup (postgres) as group,
        // defaultMode 0640. PostgreSQL accepts a root-owned key its group can read, and no more.
        if (IS_ROOT) {
            for (const f of [certs.certFile, certs.keyFile, certs.caFile]) {
                execFileSync("chown", ["root:postgres", f]);
                fs.chmodSync(f, 0o640);
            }
        }
        fs.chmodSync(certs.dir, 0o755);
        const hbaDir = path.join(root, "hba");
        fs.mkdirSync(hbaDir, { mode: 0o755 });
        const hbaFile = path.join(hbaDir, "pg_hba.conf");
        fs.writeFileSync(hbaFile, postgresHbaConf(), { mode: 0o444 });
        socketDir = path.join(root, "sock");
        dataDir = path.join(root, "data");
        fs.mkdirSync(socketDir);
        if (IS_ROOT) {
            execFileSync("chown", ["postgres:postgres", socketDir]);
            execFileSync("chown", ["postgres:postgres", root]);
        }
        // The data directory's own pg_hba.conf trusts 127.0.0.1 (initdb's default, as in the official image): only if
        // the server reads herd's file instead is a plaintext client refused below.
        run(path.join(bin, "initdb"), ["-D", dataDir, "-U", "herd", "--auth-local=trust", "--auth-host=trust", "--no-sync", "-E", "UTF8"]);
        port = await freePort();
        const settings = Object.entries(postgresTlsSettings(certs.dir, hbaFile)).map(([k, v]) => `-c ${k}=${v}`);
        run(path.join(bin, "pg_ctl"), ["-D", dataDir, "-w", "-t", "60", "-l", path.join(root, "server.log"), "-o", `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off ${settings.join(" ")}`, "start"]);
        const psqlSocket = (sql: string) => execFileSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", socketDir, "-p", String(port), "-U", "herd", "-d", "postgres", "-c", sql], { encoding: "utf8" });
        psqlSocket("CREATE DATABASE herd");
        psqlSocket(`SET password_encryption = 'scram-sha-256'; CREATE ROLE herd_app LOGIN PASSWORD '${password}'`);
    });

    after(() => {
        if (dataDir !== undefined && fs.existsSync(path.join(dataDir, "postmaster.pid"))) {
            run(path.join(bin, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
        }
        if (root !== undefined) {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    it("sslmode=verify-full against the CA connects to 127.0.0.1 and to a DNS name in the certificate, encrypted", () => {
        const r = connect(`sslmode=verify-full sslrootcert=${certs.caFile}`, "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
        assert.equal(r.status, 0, r.err);
        const [ssl, version] = r.out.split("|");
        assert.equal(ssl, "t");
        assert.match(version, /^TLSv1\.[23]$/);
        const byName = connect(`host=localhost sslmode=verify-full sslrootcert=${certs.caFile}`);
        assert.equal(byName.status, 0, byName.err);
    });

    it("a plaintext client (sslmode=disable) is refused: no pg_hba line admits TCP without TLS", () => {
        const r = connect("sslmode=disable");
        assert.notEqual(r.status, 0, "a plaintext login over TCP succeeded");
        assert.match(r.err, /no pg_hba\.conf entry for host "127\.0\.0\.1".*no encryption/);
    });

    it("verify-full refuses a server its CA did not sign, and a wrong password over TLS is refused", () => {
        const other = makeTestCertificates(path.join(root, "other-ca"));
        const r = connect(`sslmode=verify-full sslrootcert=${other.caFile}`);
        assert.notEqual(r.status, 0);
        assert.match(r.err, /certificate verify failed/);
        const wrong = spawnSync("psql", ["-X", "-d", `host=127.0.0.1 port=${port} dbname=herd user=herd_app sslmode=verify-full sslrootcert=${certs.caFile}`, "-c", "SELECT 1"], {
            env: { PATH: process.env["PATH"] ?? "", PGPASSWORD: "wrong" },
            encoding: "utf8",
        });
        assert.notEqual(wrong.status, 0);
        assert.match(wrong.stderr, /password authentication failed/);
    });

    it("the server runs TLS 1.2 at least, with the files herd names", () => {
        const shown = execFileSync(
            "psql",
            ["-X", "-A", "-t", "-h", socketDir, "-p", String(port), "-U", "herd", "-d", "herd", "-c", "SELECT current_setting('ssl_min_protocol_version') || ' ' || current_setting('ssl_key_file') || ' ' || current_setting('hba_file')"],
            { encoding: "utf8" },
        ).trim();
        assert.equal(shown, `TLSv1.2 ${certs.keyFile} ${path.join(root, "hba", "pg_hba.conf")}`);
    });

    it("a key others can read is refused at start: why the Secret's mode is 0640 (root, the postgres group)", { skip: !IS_ROOT && "needs root to lay out root-owned files" }, () => {
        const loose = path.join(root, "loose");
        fs.mkdirSync(loose, { mode: 0o755 });
        for (const f of ["tls.crt", "tls.key", "ca.crt"]) {
            fs.copyFileSync(path.join(certs.dir, f), path.join(loose, f));
            execFileSync("chown", ["root:postgres", path.join(loose, f)]);
            fs.chmodSync(path.join(loose, f), 0o644);
        }
        const data = path.join(root, "data-loose");
        run(path.join(bin, "initdb"), ["-D", data, "-U", "herd", "--auth-local=trust", "--no-sync"]);
        const settings = Object.entries(postgresTlsSettings(loose, path.join(root, "hba", "pg_hba.conf"))).map(([k, v]) => `-c ${k}=${v}`);
        const log = path.join(root, "loose.log");
        const start = spawnSync("runuser", ["-u", "postgres", "--", path.join(bin, "pg_ctl"), "-D", data, "-w", "-t", "20", "-l", log, "-o", `-p 1 -k ${socketDir} -c listen_addresses= ${settings.join(" ")}`, "start"], { encoding: "utf8" });
        if (start.status === 0) {
            run(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
        }
        assert.notEqual(start.status, 0, "the server started with a world-readable key");
        assert.match(fs.readFileSync(log, "utf8"), /private key file ".*tls\.key" has group or world access/);
    });

    it("the probes and in-pod clients still work: pg_isready over TCP, psql over the Unix socket without a password", () => {
        const ready = spawnSync("pg_isready", ["-h", "127.0.0.1", "-p", String(port)], { encoding: "utf8" });
        assert.equal(ready.status, 0, ready.stdout + ready.stderr);
        const local = spawnSync("psql", ["-X", "-A", "-t", "-h", socketDir, "-p", String(port), "-U", "herd", "-d", "herd", "-c", "SELECT 1"], { env: { PATH: process.env["PATH"] ?? "" }, encoding: "utf8" });
        assert.equal(local.status, 0, local.stderr);
        assert.equal(local.stdout.trim(), "1");
    });
});
