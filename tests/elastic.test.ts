/**
 * ElasticCluster: every default and override, every validation rule, the pure helpers (heap, discovery,
 * elasticsearch.yml, certificate names, probe commands), the tls mocks, and the component itself under mocks:
 * discovery for 1 and 3 nodes, a restricted pod with no privileged or sysctl container, the password and private
 * keys never in the clear, transport TLS, probes, NetworkPolicy, protection, and schema-valid manifests.
 */
import assert from "node:assert/strict";
import type { MetricsOptions } from "../components/metrics";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { parse } from "yaml";
import {
    apiRole,
    discoverySettings,
    elasticConfigInitScript,
    ElasticSnapshotArgs,
    elasticSetupScript,
    elasticShrinkScript,
    repositoryBody,
    slmPolicyBody,
    slmSchedule,
    snapshotBasePath,
    snapshotDefaults,
    snapshotNodeSettings,
    snapshotProblems,
    ELASTIC_IMAGE,
    ElasticArgs,
    ElasticCluster,
    ElasticClusterArgs,
    ELASTIC_HTTP_CA_FILE,
    elasticDefaults,
    elasticProblems,
    elasticsearchYml,
    heapSize,
    elasticJavaOptions,
    elasticLivenessCommand,
    elasticNodeDnsNames,
    elasticPodNames,
    elasticReadinessCommand,
} from "../components/elastic";
import { evaluateProgram, evaluateStack, Evaluation, evaluateUnderMocks } from "../offline/evaluate";
import type { WorkloadIdentity } from "../platform/contract";
import { buildManifests } from "../offline/manifests";
import { containsSecret, isWrappedSecret, MockRecord, RecordingMocks, redact, unwrap } from "../offline/mocks";
import { InvalidArgumentsError, problemText } from "../components/validation";
import { inspect } from "./helpers";
import { InternalCa } from "../components/internal-ca";

const hasCurl = spawnSync("sh", ["-c", "command -v curl"]).status === 0;
const hasOpenssl = spawnSync("sh", ["-c", "command -v openssl"]).status === 0;
/**
 * Tests that run curl against an HTTPS stand-in (its certificates made by openssl): skipped without them locally,
 * failed without them in CI (a missing binary is never a silent skip).
 */
const CURL = { skip: !(hasCurl && hasOpenssl) && process.env["CI"] !== "true" && "curl and openssl are needed (apt-get install curl openssl)" } as const;
function requireCurl(): void {
    assert.ok(hasCurl && hasOpenssl, "curl and openssl are needed (apt-get install curl openssl); CI=true: a missing binary fails instead of skipping");
}

interface ServerTls {
    readonly key: Buffer;
    readonly cert: Buffer;
}
interface TestPki {
    /** The CA clients are given (what herd's internal CA is to the real cluster). */
    readonly caFile: string;
    /** Signed by that CA for 127.0.0.1 and localhost: what the node's HTTP certificate is. */
    readonly server: ServerTls;
    /** Signed by that CA, but for another name only. */
    readonly wrongName: ServerTls;
    /** For 127.0.0.1, but signed by another CA. */
    readonly otherCa: ServerTls;
}
let pki: TestPki | undefined;
/** A throwaway PKI made with openssl (P-256, as herd's), once per run, removed at exit. */
function testPki(): TestPki {
    if (pki !== undefined) {
        return pki;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herd-es-pki-"));
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    const openssl = (...args: string[]) => {
        const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
        assert.equal(r.status, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
    };
    const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    for (const ca of ["ca", "other-ca"]) {
        openssl("req", "-x509", ...newKey, "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-days", "2", "-subj", `/CN=herd test ${ca}`);
    }
    const leaf = (name: string, ca: string, names: string): ServerTls => {
        openssl("req", ...newKey, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
        fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${names}\nextendedKeyUsage=serverAuth\n`);
        openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "2", "-out", `${name}.crt`, "-extfile", `${name}.ext`);
        return { key: fs.readFileSync(path.join(dir, `${name}.key`)), cert: fs.readFileSync(path.join(dir, `${name}.crt`)) };
    };
    pki = {
        caFile: path.join(dir, "ca.crt"),
        server: leaf("server", "ca", "IP:127.0.0.1,DNS:localhost"),
        wrongName: leaf("wrong-name", "ca", "DNS:elsewhere.example"),
        otherCa: leaf("other", "other-ca", "IP:127.0.0.1,DNS:localhost"),
    };
    return pki;
}
/** An HTTPS server on 127.0.0.1 with the given certificate. */
async function httpsServer(serverTls: ServerTls, handler: http.RequestListener): Promise<{ server: https.Server; port: number }> {
    const server = https.createServer({ key: serverTls.key, cert: serverTls.cert }, handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { server, port: (server.address() as AddressInfo).port };
}

// Metrics off here: these tests are about the cluster; the exporter sidecar and its user are tested with metrics on
// in tests/metrics.test.ts (every stack).
const BASE: ElasticClusterArgs & { readonly metrics?: MetricsOptions } = {
    namespace: "herd",
    storageClassName: "fast-ssd",
    clientLabels: { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "api" },
    metrics: { enabled: false },
};
/** An ElasticCluster with BASE, herd's internal CA (as index.ts creates it) and `args`; call it under mocks. */
function newCluster(name: string, args: Partial<ElasticArgs> = {}): ElasticCluster {
    return new ElasticCluster(name, { ...BASE, ca: new InternalCa("herd-ca", { namespace: "herd" }), ...args });
}

describe("elasticDefaults", () => {
    const d = elasticDefaults(BASE);
    it("replicas: 3", () => assert.equal(d.replicas, 3));
    it("memory: 2Gi", () => assert.equal(d.memory, "2Gi"));
    it("cpu: 1", () => assert.equal(d.cpu, "1"));
    it("storageSize: 30Gi", () => assert.equal(d.storageSize, "30Gi"));
    it("image: Elasticsearch 8, pinned to an exact version", () => {
        assert.equal(d.image, ELASTIC_IMAGE);
        assert.match(d.image, /^docker\.elastic\.co\/elasticsearch\/elasticsearch:8\.\d+\.\d+$/);
    });
    it("protect: true", () => assert.equal(d.protect, true));
});

describe("elasticDefaults: overrides", () => {
    it("replicas", () => assert.equal(elasticDefaults({ ...BASE, replicas: 5 }).replicas, 5));
    it("replicas 1 (a falsy-looking value is kept)", () => assert.equal(elasticDefaults({ ...BASE, replicas: 1 }).replicas, 1));
    it("memory", () => assert.equal(elasticDefaults({ ...BASE, memory: "4Gi" }).memory, "4Gi"));
    it("cpu", () => assert.equal(elasticDefaults({ ...BASE, cpu: "500m" }).cpu, "500m"));
    it("storageSize", () => assert.equal(elasticDefaults({ ...BASE, storageSize: "100Gi" }).storageSize, "100Gi"));
    it("image", () => assert.equal(elasticDefaults({ ...BASE, image: "mirror.example.com/es:8.17.4" }).image, "mirror.example.com/es:8.17.4"));
    it("protect false", () => assert.equal(elasticDefaults({ ...BASE, protect: false }).protect, false));
    it("replicas 0 is kept for validation to reject (?? not ||)", () => assert.equal(elasticDefaults({ ...BASE, replicas: 0 }).replicas, 0));
});

describe("elasticProblems", () => {
    const problems = (args: Partial<ElasticClusterArgs>) => elasticProblems(elasticDefaults({ ...BASE, ...args })).map(problemText);
    it("the defaults are valid", () => assert.deepEqual(problems({}), []));
    it("1 and 3+ replicas are valid", () => {
        assert.deepEqual(problems({ replicas: 1 }), []);
        assert.deepEqual(problems({ replicas: 7 }), []);
    });
    it("replicas below 1", () => assert.deepEqual(problems({ replicas: 0 }), ["replicas: expected a whole number of at least 1, got 0"]));
    it("replicas not whole", () => assert.deepEqual(problems({ replicas: 2.5 }), ["replicas: expected a whole number of at least 1, got 2.5"]));
    it("replicas 2: no quorum", () =>
        assert.deepEqual(problems({ replicas: 2 }), [
            "replicas: expected 1 (a single node) or 3 or more: with 2 nodes, losing either one stops the cluster; got 2",
        ]));
    it("memory under 1Gi", () =>
        assert.deepEqual(problems({ memory: "768Mi" }), ['memory: expected at least 1Gi (Elasticsearch needs a 512m heap at least), got "768Mi"']));
    it("memory unparseable", () => assert.deepEqual(problems({ memory: "lots" }), ['memory: expected a Kubernetes quantity such as 2Gi, got "lots"']));
    it("storage unparseable", () => assert.deepEqual(problems({ storageSize: "big" }), ['storageSize: expected a Kubernetes quantity such as 20Gi, got "big"']));
    it("storage zero", () => assert.deepEqual(problems({ storageSize: "0" }), ['storageSize: expected a Kubernetes quantity such as 20Gi, got "0"']));
    it("bad cpu", () => assert.deepEqual(problems({ cpu: "fast" }), ['cpu: expected a CPU quantity such as 500m, got "fast"']));
    it("every problem at once, each naming its field", () => {
        const all = problems({ replicas: 2, memory: "512Mi", storageSize: "x", cpu: "-1" });
        assert.deepEqual(all.map((p) => p.split(":")[0]).sort(), ["cpu", "memory", "replicas", "storageSize"]);
    });
});

describe("heapSize and elasticJavaOptions", () => {
    it("half the memory limit: 2Gi -> 1g", () => assert.equal(heapSize("2Gi"), "1g"));
    it("1Gi -> 512m (the minimum memory gives Elasticsearch's minimum heap)", () => assert.equal(heapSize("1Gi"), "512m"));
    it("not a whole number of GiB: in MiB", () => {
        assert.equal(heapSize("3Gi"), "1536m");
        assert.equal(heapSize("1.5Gi"), "768m");
        assert.equal(heapSize("2G"), "953m");
    });
    it("at most 31g (compressed object pointers)", () => assert.equal(heapSize("128Gi"), "31g"));
    it("ES_JAVA_OPTS: -Xms = -Xmx, GC logs to stderr instead of the logs volume", () => {
        assert.equal(elasticJavaOptions("2Gi"), "-Xms1g -Xmx1g -Xlog:disable -Xlog:all=warning:stderr:utctime,level,tags");
    });
});

describe("discovery and elasticsearch.yml", () => {
    it("pod names are the StatefulSet's fixed ordinals", () => assert.deepEqual(elasticPodNames("es", 3), ["es-0", "es-1", "es-2"]));
    it("3 nodes: seed hosts are the headless Service, initial masters exactly the pods", () => {
        assert.deepEqual(discoverySettings("es", 3), { "discovery.seed_hosts": ["es-headless"], "cluster.initial_master_nodes": ["es-0", "es-1", "es-2"] });
    });
    it("1 node: single-node discovery, no initial masters, no seed hosts", () => {
        assert.deepEqual(discoverySettings("es", 1), { "discovery.type": "single-node" });
    });
    it("security on, transport TLS with the mounted certificate, HTTPS with the HTTP certificate, mmap off", () => {
        const yml = parse(elasticsearchYml("es", 3)) as Record<string, unknown>;
        assert.equal(yml["cluster.name"], "es");
        assert.equal(yml["node.name"], "${POD_NAME}");
        assert.equal(yml["network.host"], "0.0.0.0");
        assert.equal(yml["network.publish_host"], "${POD_IP}");
        assert.equal(yml["node.store.allow_mmap"], false);
        assert.equal(yml["xpack.security.enabled"], true);
        assert.equal(yml["xpack.security.http.ssl.enabled"], true);
        assert.equal(yml["xpack.security.http.ssl.key"], "http-certs/tls.key");
        assert.equal(yml["xpack.security.http.ssl.certificate"], "http-certs/tls.crt");
        assert.equal(yml["xpack.security.transport.ssl.enabled"], true);
        assert.equal(yml["xpack.security.transport.ssl.verification_mode"], "certificate");
        assert.equal(yml["xpack.security.transport.ssl.client_authentication"], "required");
        assert.equal(yml["xpack.security.transport.ssl.key"], "certs/tls.key");
        assert.equal(yml["xpack.security.transport.ssl.certificate"], "certs/tls.crt");
        assert.deepEqual(yml["xpack.security.transport.ssl.certificate_authorities"], ["certs/ca.crt"]);
    });
    it("the certificate's names cover every pod, both Services and localhost", () => {
        const names = elasticNodeDnsNames("es", 3, "shop");
        for (const pod of ["es-0", "es-1", "es-2"]) {
            assert.ok(names.includes(`${pod}.es-headless.shop.svc`), pod);
            assert.ok(names.includes(`${pod}.es-headless.shop.svc.cluster.local`), pod);
        }
        for (const svc of ["es-headless", "es", "es.shop.svc", "es.shop.svc.cluster.local", "es-headless.shop.svc.cluster.local", "localhost"]) {
            assert.ok(names.includes(svc), svc);
        }
    });
});

describe("probe commands", () => {
    it("readiness asks for a yellow cluster, credentials on stdin, the password only as a variable", () => {
        const [shell, flag, script] = elasticReadinessCommand();
        assert.deepEqual([shell, flag], ["/bin/sh", "-c"]);
        assert.match(script, /^printf 'user = "herd-probe:%s"\\n' "\$PROBE_PASSWORD" \| curl .*-K - /, "the probe user, never elastic");
        assert.match(script, /_cluster\/health\?wait_for_status=yellow&timeout=2s/);
        assert.match(script, / -f /, "a timed-out health wait (HTTP 408) fails the probe");
    });
    it("liveness asks the node, not the cluster, and counts any HTTP answer", () => {
        const script = elasticLivenessCommand()[2];
        assert.doesNotMatch(script, /_cluster\/health/);
        assert.doesNotMatch(script, / -f /);
        assert.match(script, /-K - /);
    });
    it("both ask the node over HTTPS at 127.0.0.1 and verify it against the CA in the node's HTTP certificate Secret; never -k", () => {
        assert.equal(ELASTIC_HTTP_CA_FILE, "/usr/share/elasticsearch/config/http-certs/ca.crt");
        for (const script of [elasticReadinessCommand()[2], elasticLivenessCommand()[2]]) {
            assert.match(script, / --cacert \/usr\/share\/elasticsearch\/config\/http-certs\/ca\.crt /);
            assert.match(script, /"https:\/\/127\.0\.0\.1:9200\//);
            assert.doesNotMatch(script, /http:\/\/| -k\b|--insecure/);
        }
    });

    /** A stand-in for Elasticsearch over HTTPS: answers only the probe user's right basic credentials, with the given health. */
    async function fakeElastic(password: string, status: number, serverTls: ServerTls = testPki().server): Promise<{ base: string; seen: string[]; close: () => void }> {
        const seen: string[] = [];
        const { server, port } = await httpsServer(serverTls, (req, res) => {
            seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"}`);
            const ok = req.headers.authorization === `Basic ${Buffer.from(`herd-probe:${password}`).toString("base64")}`;
            res.writeHead(ok ? status : 401).end("{}");
        });
        return { base: `127.0.0.1:${port}`, seen, close: () => server.close() };
    }
    /**
     * Runs a probe command against the stand-in, as the kubelet would (exec, with the container's environment): the
     * command as the pod has it, with the stand-in's port and the test CA in place of the mounted one.
     */
    async function probe(command: string[], base: string, password: string): Promise<number | null> {
        const { spawn } = await import("node:child_process");
        const script = command[2].replace("127.0.0.1:9200", base).replace(` --cacert ${ELASTIC_HTTP_CA_FILE} `, ` --cacert ${testPki().caFile} `);
        assert.notEqual(script, command[2].replace("127.0.0.1:9200", base), "the probe names the mounted CA file");
        const child = spawn(command[0], [command[1], script], { env: { PATH: process.env["PATH"], PROBE_PASSWORD: password } });
        return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    }

    it("readiness really authenticates, and fails on a wrong password or a timed-out health wait", CURL, async () => {
        requireCurl();
        const es = await fakeElastic("s3cret", 200);
        try {
            assert.equal(await probe(elasticReadinessCommand(), es.base, "s3cret"), 0);
            assert.match(es.seen[0], /^GET \/_cluster\/health\?wait_for_status=yellow&timeout=2s Basic /);
            assert.notEqual(await probe(elasticReadinessCommand(), es.base, "wrong"), 0);
        } finally {
            es.close();
        }
        const red = await fakeElastic("s3cret", 408);
        try {
            assert.notEqual(await probe(elasticReadinessCommand(), red.base, "s3cret"), 0);
        } finally {
            red.close();
        }
    });
    it("liveness passes on any HTTP answer (even 401 or 503) and fails when nothing answers", CURL, async () => {
        requireCurl();
        const es = await fakeElastic("s3cret", 503);
        try {
            assert.equal(await probe(elasticLivenessCommand(), es.base, "s3cret"), 0);
            assert.equal(await probe(elasticLivenessCommand(), es.base, "wrong"), 0);
            assert.match(es.seen[0], /^GET \/ Basic /, "it still sends the credentials");
        } finally {
            es.close();
        }
        assert.notEqual(await probe(elasticLivenessCommand(), "127.0.0.1:1", "s3cret"), 0);
    });
    it("both fail, sending nothing, against a certificate from another CA or for another name (verification is on)", CURL, async () => {
        requireCurl();
        for (const serverTls of [testPki().otherCa, testPki().wrongName]) {
            const es = await fakeElastic("s3cret", 200, serverTls);
            try {
                assert.notEqual(await probe(elasticReadinessCommand(), es.base, "s3cret"), 0);
                assert.notEqual(await probe(elasticLivenessCommand(), es.base, "s3cret"), 0);
                assert.deepEqual(es.seen, [], "no request (and no password) reached a server that did not verify");
            } finally {
                es.close();
            }
        }
    });
});

type Json = Record<string, unknown>;
type Container = Json & { name: string; env?: Json[]; securityContext: Json; volumeMounts?: Json[] };

interface Run {
    readonly mocks: RecordingMocks;
    readonly cluster: ElasticCluster;
    /** Options each resource was registered with, by `type::name`. */
    readonly options: ReadonlyMap<string, pulumi.CustomResourceOptions>;
}

/** Builds an ElasticCluster directly under mocks, recording every resource and the options it was created with. */
async function clusterFor(args: Partial<ElasticArgs> = {}, name = "search"): Promise<Run> {
    const run = await evaluateUnderMocks(() => newCluster(name, args));
    if (run.error !== undefined) {
        throw run.error;
    }
    assert.ok(run.value !== undefined);
    return { mocks: run.mocks, cluster: run.value, options: run.options };
}

function recordsOf(run: Run, type: string): MockRecord[] {
    return run.mocks.records.filter((r) => r.type === type);
}
function one(run: Run, type: string, name?: string): MockRecord {
    const found = recordsOf(run, type).filter((r) => name === undefined || r.name === name);
    assert.equal(found.length, 1, `expected one ${type} ${name ?? ""}, found ${found.length}`);
    return found[0];
}
/** The plain inputs of a record (secrets unwrapped: what the cluster would receive). */
const plain = (r: MockRecord) => unwrap(r.inputs) as Json;
const statefulSet = (run: Run) => plain(one(run, "kubernetes:apps/v1:StatefulSet"));
const podSpec = (run: Run) => ((statefulSet(run)["spec"] as Json)["template"] as Json)["spec"] as Json;
const containersOf = (run: Run): Container[] => {
    const spec = podSpec(run);
    return [...((spec["initContainers"] as Container[] | undefined) ?? []), ...(spec["containers"] as Container[])];
};
const elasticContainer = (run: Run) => (podSpec(run)["containers"] as Container[]).find((c) => c.name === "elasticsearch") as Container;
const ymlOf = (run: Run) => parse(String((plain(one(run, "kubernetes:core/v1:ConfigMap", "search-config"))["data"] as Json)["elasticsearch.yml"])) as Json;

describe("tls mocks", () => {
    it("a PrivateKey answers PEM keys, the private ones secret; certificates and requests answer PEM", async () => {
        const run = await evaluateUnderMocks(() => {
            const k = new tls.PrivateKey("k", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            return {
                key: k,
                cert: new tls.SelfSignedCert("c", { privateKeyPem: k.privateKeyPem, validityPeriodHours: 1, allowedUses: ["cert_signing"] }),
                csr: new tls.CertRequest("r", { privateKeyPem: k.privateKeyPem }),
            };
        });
        assert.ok(run.value !== undefined);
        const { key, cert, csr } = run.value;
        const pem = await inspect(key.privateKeyPem);
        assert.equal(pem.secret, true);
        assert.match(pem.value, /^-----BEGIN EC PRIVATE KEY-----\n[\s\S]+\n-----END EC PRIVATE KEY-----\n$/);
        const pkcs8 = await inspect(key.privateKeyPemPkcs8);
        assert.equal(pkcs8.secret, true);
        assert.match(pkcs8.value, /^-----BEGIN PRIVATE KEY-----\n/);
        assert.deepEqual(await inspect(key.publicKeyPem).then((p) => [p.secret, p.value.startsWith("-----BEGIN PUBLIC KEY-----")]), [false, true]);
        assert.match((await inspect(cert.certPem)).value, /^-----BEGIN CERTIFICATE-----\n/);
        assert.match((await inspect(csr.certRequestPem)).value, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
    });
});

describe("ElasticCluster with 3 nodes (the default)", () => {
    let run: Run;
    before(async () => {
        run = await clusterFor();
    });

    it("every Kubernetes object is schema-valid", () => {
        const kinds = buildManifests({ records: run.mocks.records }).manifests.map((m) => m.kind).sort();
        // One ConfigMap is the internal CA's (index.ts's, created beside the cluster here); one Secret the HTTP certificate.
        assert.deepEqual(kinds, ["ConfigMap", "ConfigMap", "Job", "Job", "NetworkPolicy", "NetworkPolicy", "PodDisruptionBudget", "Secret", "Secret", "Secret", "Secret", "Secret", "Service", "Service", "StatefulSet"]);
    });
    it("a StatefulSet with a fixed name, 3 replicas, Parallel, the headless Service, Retain/Retain, protected", () => {
        const sts = statefulSet(run);
        const spec = sts["spec"] as Json;
        assert.equal((sts["metadata"] as Json)["name"], "search");
        assert.equal(spec["replicas"], 3);
        assert.equal(spec["podManagementPolicy"], "Parallel");
        assert.equal(spec["serviceName"], "search-headless");
        assert.deepEqual(spec["persistentVolumeClaimRetentionPolicy"], { whenDeleted: "Retain", whenScaled: "Retain" });
        const claims = spec["volumeClaimTemplates"] as Json[];
        assert.equal(claims.length, 1);
        assert.deepEqual((claims[0]["spec"] as Json)["resources"], { requests: { storage: "30Gi" } });
        assert.equal((claims[0]["spec"] as Json)["storageClassName"], "fast-ssd");
        assert.equal(run.options.get("kubernetes:apps/v1:StatefulSet::search")?.protect, true);
        assert.equal(run.options.get("kubernetes:core/v1:Secret::search-credentials")?.protect, true);
    });
    it("services: headless (http + transport, not-ready addresses published), client on 9200 only", () => {
        const headless = plain(one(run, "kubernetes:core/v1:Service", "search-headless"))["spec"] as Json;
        assert.equal(headless["clusterIP"], "None");
        assert.equal(headless["publishNotReadyAddresses"], true);
        assert.deepEqual((headless["ports"] as Json[]).map((p) => [p["name"], p["port"]]), [["http", 9200], ["transport", 9300]]);
        const client = plain(one(run, "kubernetes:core/v1:Service", "search"))["spec"] as Json;
        assert.deepEqual((client["ports"] as Json[]).map((p) => [p["name"], p["port"]]), [["http", 9200]]);
    });
    it("discovery: seed hosts are the headless Service, initial masters exactly search-0..2, node name from the pod", () => {
        const yml = ymlOf(run);
        assert.deepEqual(yml["discovery.seed_hosts"], ["search-headless"]);
        assert.deepEqual(yml["cluster.initial_master_nodes"], ["search-0", "search-1", "search-2"]);
        assert.equal(yml["discovery.type"], undefined);
        assert.equal(yml["node.name"], "${POD_NAME}");
        const env = elasticContainer(run).env ?? [];
        assert.deepEqual(env.find((e) => e["name"] === "POD_NAME")?.["valueFrom"], { fieldRef: { fieldPath: "metadata.name" } });
        assert.deepEqual(env.find((e) => e["name"] === "POD_IP")?.["valueFrom"], { fieldRef: { fieldPath: "status.podIP" } });
    });
    it("pods spread over nodes (required) and zones", () => {
        const spec = podSpec(run);
        const anti = ((spec["affinity"] as Json)["podAntiAffinity"] as Json)["requiredDuringSchedulingIgnoredDuringExecution"] as Json[];
        assert.equal(anti[0]["topologyKey"], "kubernetes.io/hostname");
        assert.equal((spec["topologySpreadConstraints"] as Json[])[0]["topologyKey"], "topology.kubernetes.io/zone");
    });
    it("a disruption budget that keeps a quorum and a copy of every shard: one node at a time, never none", () => {
        const spec = plain(one(run, "kubernetes:policy/v1:PodDisruptionBudget"))["spec"] as Json;
        assert.equal(spec["maxUnavailable"], 1);
        assert.equal(spec["minAvailable"], undefined);
        assert.equal(spec["unhealthyPodEvictionPolicy"], "AlwaysAllow");
    });
    it("heap is half the memory; memory request = limit", () => {
        const c = elasticContainer(run);
        assert.match(String(c.env?.find((e) => e["name"] === "ES_JAVA_OPTS")?.["value"]), /^-Xms1g -Xmx1g /);
        const resources = c["resources"] as { requests: Json; limits: Json };
        assert.equal(resources.requests["memory"], "2Gi");
        assert.equal(resources.limits["memory"], "2Gi");
        assert.equal(resources.requests["cpu"], "1");
    });
    it("no privileged container, no sysctl init container; every container restricted with a read-only root", () => {
        const containers = containersOf(run);
        assert.deepEqual(containers.map((c) => c.name), ["config", "elasticsearch"]);
        for (const c of containers) {
            assert.equal(c.securityContext["privileged"], false, c.name);
            assert.equal(c.securityContext["readOnlyRootFilesystem"], true, c.name);
            assert.equal(c.securityContext["runAsNonRoot"], true, c.name);
            assert.equal(c.securityContext["allowPrivilegeEscalation"], false, c.name);
            assert.deepEqual(c.securityContext["capabilities"], { drop: ["ALL"] }, c.name);
            assert.doesNotMatch(JSON.stringify(c), /sysctl|max_map_count/, c.name);
        }
        const pod = podSpec(run)["securityContext"] as Json;
        assert.deepEqual([pod["runAsNonRoot"], pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]], [true, 1000, 1000, 1000]);
        assert.equal(ymlOf(run)["node.store.allow_mmap"], false);
    });
    it("what Elasticsearch writes lives on volumes: config, logs, tmp, data; the certificate read-only", () => {
        const mounts = Object.fromEntries((elasticContainer(run).volumeMounts ?? []).map((m) => [m["mountPath"], m]));
        assert.equal(mounts["/usr/share/elasticsearch/data"]?.["name"], "data");
        assert.equal(mounts["/usr/share/elasticsearch/config"]?.["name"], "config");
        assert.equal(mounts["/usr/share/elasticsearch/logs"]?.["name"], "logs");
        assert.equal(mounts["/tmp"]?.["name"], "tmp");
        assert.deepEqual([mounts["/usr/share/elasticsearch/config/certs"]?.["name"], mounts["/usr/share/elasticsearch/config/certs"]?.["readOnly"]], ["certs", true]);
        assert.deepEqual([mounts["/usr/share/elasticsearch/config/http-certs"]?.["name"], mounts["/usr/share/elasticsearch/config/http-certs"]?.["readOnly"]], ["http-certs", true]);
        assert.equal(elasticContainer(run).env?.find((e) => e["name"] === "ES_TMPDIR")?.["value"], "/tmp");
        const volumes = Object.fromEntries((podSpec(run)["volumes"] as Json[]).map((v) => [v["name"], v]));
        for (const v of ["config", "logs", "tmp"]) {
            assert.ok(volumes[v]?.["emptyDir"] !== undefined, v);
        }
        assert.equal((volumes["certs"]?.["secret"] as Json)["secretName"], "search-transport-tls");
        assert.deepEqual(volumes["http-certs"]?.["secret"], { secretName: "search-http-tls", defaultMode: 0o440 }, "the HTTP key: owner and fsGroup only");
        // The init container fills the config emptyDir from the image and the ConfigMap.
        const init = containersOf(run)[0];
        assert.match(String((init["command"] as string[])[2]), /cp -R \/usr\/share\/elasticsearch\/config\/\. \/mnt\/config\//);
        assert.equal(init["image"], ELASTIC_IMAGE);
    });
    it("the elastic password: only in the config init container (for the keystore), through secretKeyRef; never in the server container", () => {
        const password = unwrap(one(run, "random:index/randomPassword:RandomPassword", "search-password").state["result"]);
        assert.equal(typeof password, "string");
        const [init, server] = containersOf(run);
        assert.deepEqual(
            init.env?.find((e) => e["name"] === "ELASTIC_PASSWORD"),
            { name: "ELASTIC_PASSWORD", valueFrom: { secretKeyRef: { name: "search-credentials", key: "password" } } },
        );
        assert.match(String((init["command"] as string[])[2]), /printf '%s' "\$ELASTIC_PASSWORD" \| \/usr\/share\/elasticsearch\/bin\/elasticsearch-keystore add -x -f bootstrap\.password/);
        assert.doesNotMatch(JSON.stringify(server), /search-credentials|ELASTIC_PASSWORD/, "the server container never sees the elastic password");
        assert.deepEqual(server.env?.find((e) => e["name"] === "PROBE_PASSWORD"), { name: "PROBE_PASSWORD", valueFrom: { secretKeyRef: { name: "search-probe-credentials", key: "password" } } });
        for (const record of run.mocks.records.filter((r) => r.type !== "random:index/randomPassword:RandomPassword" && r.name !== "search-credentials")) {
            assert.ok(!JSON.stringify(plain(record)).includes(String(password)), `the password leaked into ${record.type} ${record.name}`);
        }
        const credentials = one(run, "kubernetes:core/v1:Secret", "search-credentials");
        assert.ok(containsSecret(credentials.inputs["stringData"]));
        assert.equal((plain(credentials)["stringData"] as Json)["username"], "elastic");
    });
    it("the probe user: in the file realm of every node, with only the monitor privilege, its hash from the Secret", () => {
        const init = containersOf(run)[0];
        const script = String((init["command"] as string[])[2]);
        assert.match(script, /printf '%s:%s\\n' 'herd-probe' "\$PROBE_PASSWORD_HASH" > \/mnt\/config\/users/);
        assert.match(script, /printf '%s:%s\\n' 'herd_probe' 'herd-probe' > \/mnt\/config\/users_roles/);
        assert.match(script, /printf '%s:\\n {2}cluster: \["monitor"\]\\n' 'herd_probe' > \/mnt\/config\/roles\.yml/);
        assert.deepEqual(init.env?.find((e) => e["name"] === "PROBE_PASSWORD_HASH")?.["valueFrom"], { secretKeyRef: { name: "search-probe-credentials", key: "passwordHash" } });
        const secret = one(run, "kubernetes:core/v1:Secret", "search-probe-credentials");
        assert.ok(containsSecret(secret.inputs["stringData"]));
        const data = plain(secret)["stringData"] as Json;
        assert.equal(data["username"], "herd-probe");
        assert.match(String(data["passwordHash"]), /^\$2a\$10\$/, "a bcrypt hash, as the file realm stores it");
        // The keystore tool is a JVM: room for it, and its temporary files on the tmp volume.
        assert.equal((init["resources"] as { limits: Json }).limits["memory"], "256Mi");
        assert.ok((init.volumeMounts ?? []).some((m) => m["mountPath"] === "/tmp"));
    });
    it("the init script really writes the file realm and feeds the keystore from stdin (run with a stand-in keystore tool)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herd-es-init-"));
        try {
            fs.mkdirSync(path.join(dir, "image-config"));
            fs.writeFileSync(path.join(dir, "image-config", "jvm.options"), "-Xss1m\n");
            fs.mkdirSync(path.join(dir, "herd"));
            fs.writeFileSync(path.join(dir, "herd", "elasticsearch.yml"), "cluster.name: x\n");
            fs.mkdirSync(path.join(dir, "config"));
            fs.mkdirSync(path.join(dir, "bin"));
            // The stand-in records its arguments and what it read from stdin, as `<setting>=<value>`.
            fs.writeFileSync(path.join(dir, "bin", "elasticsearch-keystore"), `#!/bin/sh\nprintf '%s %s=%s\\n' "$ES_PATH_CONF" "$*" "$(cat)" >> "${dir}/keystore.log"\n`, { mode: 0o755 });
            const script = elasticConfigInitScript({ "s3.client.default.access_key": "AWS_ACCESS_KEY_ID" })
                .replaceAll("/usr/share/elasticsearch/config/.", `${dir}/image-config/.`)
                .replaceAll("/usr/share/elasticsearch/bin", `${dir}/bin`)
                .replaceAll("/mnt/config", `${dir}/config`)
                .replaceAll("/mnt/herd", `${dir}/herd`);
            const result = spawnSync("sh", ["-c", script], {
                env: { PATH: process.env["PATH"], ELASTIC_PASSWORD: "el4stic", PROBE_PASSWORD_HASH: "$2a$10$abc", AWS_ACCESS_KEY_ID: "AKIA1" },
                encoding: "utf8",
            });
            assert.equal(result.status, 0, result.stderr);
            assert.equal(fs.readFileSync(path.join(dir, "config", "users"), "utf8"), "herd-probe:$2a$10$abc\n");
            assert.equal(fs.readFileSync(path.join(dir, "config", "users_roles"), "utf8"), "herd_probe:herd-probe\n");
            assert.deepEqual(parse(fs.readFileSync(path.join(dir, "config", "roles.yml"), "utf8")), { herd_probe: { cluster: ["monitor"] } });
            assert.equal(fs.readFileSync(path.join(dir, "config", "jvm.options"), "utf8"), "-Xss1m\n", "the image's config is copied");
            assert.equal(fs.readFileSync(path.join(dir, "config", "elasticsearch.yml"), "utf8"), "cluster.name: x\n", "herd's elasticsearch.yml on top");
            assert.equal(
                fs.readFileSync(path.join(dir, "keystore.log"), "utf8"),
                `${dir}/config add -x -f bootstrap.password=el4stic\n${dir}/config add -x -f s3.client.default.access_key=AKIA1\n`,
            );
            assert.equal(fs.statSync(path.join(dir, "config", "users")).mode & 0o077, 0, "the hash file is the owner's only");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("readiness: cluster health yellow, authenticated, the password not in argv; liveness and startup ask the node", () => {
        const c = elasticContainer(run);
        const command = (probe: string) => ((c[probe] as Json)["exec"] as { command: string[] }).command;
        assert.deepEqual(command("readinessProbe"), elasticReadinessCommand());
        assert.match(command("readinessProbe")[2], /wait_for_status=yellow/);
        assert.match(command("readinessProbe")[2], /"\$PROBE_PASSWORD" \| curl/);
        assert.deepEqual(command("livenessProbe"), elasticLivenessCommand());
        assert.deepEqual(command("startupProbe"), elasticLivenessCommand());
        assert.ok(Number((c["startupProbe"] as Json)["failureThreshold"]) * Number((c["startupProbe"] as Json)["periodSeconds"]) >= 300, "a long startup");
        assert.equal(podSpec(run)["terminationGracePeriodSeconds"], 120);
    });
    it("transport TLS: one node certificate, signed by the cluster's CA, valid for every pod", () => {
        const ca = plain(one(run, "tls:index/selfSignedCert:SelfSignedCert", "search-ca"));
        assert.equal(ca["isCaCertificate"], true);
        const csr = plain(one(run, "tls:index/certRequest:CertRequest", "search-node-csr"));
        const names = csr["dnsNames"] as string[];
        for (const pod of ["search-0", "search-1", "search-2"]) {
            assert.ok(names.includes(`${pod}.search-headless.herd.svc.cluster.local`), pod);
            assert.ok(names.includes(`${pod}.search-headless.herd.svc`), pod);
        }
        for (const n of ["search-headless", "search", "search.herd.svc.cluster.local", "localhost"]) {
            assert.ok(names.includes(n), n);
        }
        const cert = plain(one(run, "tls:index/locallySignedCert:LocallySignedCert", "search-node-cert"));
        assert.equal(cert["caCertPem"], unwrap(one(run, "tls:index/selfSignedCert:SelfSignedCert", "search-ca").state["certPem"]));
        assert.deepEqual([...(cert["allowedUses"] as string[])].sort(), ["client_auth", "digital_signature", "key_encipherment", "server_auth"]);
        const secret = one(run, "kubernetes:core/v1:Secret", "search-transport-tls");
        assert.equal(plain(secret)["type"], "kubernetes.io/tls");
        assert.deepEqual(Object.keys(plain(secret)["stringData"] as Json).sort(), ["ca.crt", "tls.crt", "tls.key"]);
        assert.match(String((plain(secret)["stringData"] as Json)["tls.key"]), /^-----BEGIN PRIVATE KEY-----/);
        assert.equal((plain(secret)["stringData"] as Json)["tls.crt"], unwrap(one(run, "tls:index/locallySignedCert:LocallySignedCert", "search-node-cert").state["certPem"]));
        const yml = ymlOf(run);
        assert.equal(yml["xpack.security.enabled"], true);
        assert.equal(yml["xpack.security.transport.ssl.enabled"], true);
        assert.deepEqual(yml["xpack.security.transport.ssl.certificate_authorities"], ["certs/ca.crt"], "the transport CA stays the cluster's own");
    });
    it("HTTP TLS: on, with a certificate from herd's internal CA for every address a client uses, in search-http-tls", () => {
        const yml = ymlOf(run);
        assert.equal(yml["xpack.security.http.ssl.enabled"], true);
        assert.equal(yml["xpack.security.http.ssl.key"], "http-certs/tls.key");
        assert.equal(yml["xpack.security.http.ssl.certificate"], "http-certs/tls.crt");
        assert.equal(yml["xpack.security.http.ssl.client_authentication"], "none", "HTTP clients log in with passwords");
        assert.doesNotMatch(JSON.stringify(yml), /verification_mode"?:\s*"?none/);
        const cert = plain(one(run, "tls:index/locallySignedCert:LocallySignedCert", "search-http-tls-cert"));
        const internalCa = one(run, "tls:index/selfSignedCert:SelfSignedCert", "herd-ca-cert");
        assert.equal(cert["caCertPem"], unwrap(internalCa.state["certPem"]), "signed by the internal CA, not the transport CA");
        assert.deepEqual([...(cert["allowedUses"] as string[])].sort(), ["digital_signature", "key_encipherment", "server_auth"]);
        const csr = plain(one(run, "tls:index/certRequest:CertRequest", "search-http-tls-csr"));
        const names = csr["dnsNames"] as string[];
        for (const n of [
            "search.herd.svc.cluster.local", // the API and the setup Job
            "search-headless.herd.svc.cluster.local", // the shrink Job
            "search",
            "search.herd",
            "search.herd.svc",
            "search-0.search-headless.herd.svc.cluster.local",
            "search-2.search-headless.herd.svc",
            "localhost",
        ]) {
            assert.ok(names.includes(n), n);
        }
        assert.deepEqual(csr["ipAddresses"], ["127.0.0.1"], "the probes and the exporter sidecar");
        const secret = plain(one(run, "kubernetes:core/v1:Secret", "search-http-tls"));
        assert.equal(secret["type"], "kubernetes.io/tls");
        const data = secret["stringData"] as Json;
        assert.deepEqual(Object.keys(data).sort(), ["ca.crt", "tls.crt", "tls.key"]);
        assert.equal(data["ca.crt"], unwrap(internalCa.state["certPem"]));
        assert.equal(data["tls.crt"], unwrap(one(run, "tls:index/locallySignedCert:LocallySignedCert", "search-http-tls-cert").state["certPem"]));
        assert.equal(run.options.get("kubernetes:core/v1:Secret::search-http-tls")?.protect, false, "protection would block its own renewal");
    });
    it("a renewed HTTP certificate rolls the pods: its checksum is on the pod template", () => {
        const annotations = ((statefulSet(run)["spec"] as Json)["template"] as { metadata: { annotations: Json } }).metadata.annotations;
        const pem = String(unwrap(one(run, "tls:index/locallySignedCert:LocallySignedCert", "search-http-tls-cert").state["certPem"]));
        assert.equal(annotations["herd.dev/tls-checksum"], createHash("sha256").update(pem).digest("hex"));
    });
    it("private keys are secret wherever they go, and go only to the tls resources and the TLS Secret", () => {
        for (const record of run.mocks.records) {
            assert.doesNotMatch(JSON.stringify(redact(record.inputs)), /PRIVATE KEY/, `a private key in the clear in ${record.type} ${record.name}`);
            const inClear = JSON.stringify(plain(record)).includes("PRIVATE KEY");
            if (inClear) {
                assert.ok(record.type.startsWith("tls:") || ["search-transport-tls", "search-http-tls"].includes(record.name), `${record.type} ${record.name} holds a private key`);
            }
        }
        for (const secret of ["search-transport-tls", "search-http-tls"]) {
            assert.ok(isWrappedSecret(one(run, "kubernetes:core/v1:Secret", secret).inputs["stringData"]), secret);
        }
        for (const csr of ["search-node-csr", "search-http-tls-csr"]) {
            assert.ok(isWrappedSecret(one(run, "tls:index/certRequest:CertRequest", csr).inputs["privateKeyPem"]), csr);
        }
        for (const cert of ["search-node-cert", "search-http-tls-cert"]) {
            assert.ok(isWrappedSecret(one(run, "tls:index/locallySignedCert:LocallySignedCert", cert).inputs["caPrivateKeyPem"]), cert);
        }
        assert.ok(isWrappedSecret(one(run, "tls:index/selfSignedCert:SelfSignedCert", "search-ca").inputs["privateKeyPem"]));
    });
    it("NetworkPolicy: clients and the setup Jobs on 9200; peers on 9300 and 9200; egress to peers and DNS only", () => {
        const spec = plain(one(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "search"))["spec"] as Json;
        const self = { podSelector: { matchLabels: { "app.kubernetes.io/name": "elasticsearch", "app.kubernetes.io/instance": "search" } } };
        assert.deepEqual((spec["podSelector"] as Json)["matchLabels"], self.podSelector.matchLabels);
        assert.deepEqual(spec["policyTypes"], ["Ingress", "Egress"]);
        const ports = (rule: Json) => (rule["ports"] as Json[]).map((p) => p["port"]).sort();
        const ingress = spec["ingress"] as Json[];
        assert.equal(ingress.length, 3);
        assert.deepEqual(ingress[0]["from"], [{ podSelector: { matchLabels: BASE.clientLabels } }]);
        assert.deepEqual(ports(ingress[0]), [9200]);
        assert.deepEqual(ingress[1]["from"], [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "elasticsearch-setup", "app.kubernetes.io/instance": "search" } } }]);
        assert.deepEqual(ports(ingress[1]), [9200]);
        assert.deepEqual(ingress[2]["from"], [self]);
        assert.deepEqual(ports(ingress[2]), [9200, 9300]);
        const egress = spec["egress"] as Json[];
        assert.equal(egress.length, 2);
        assert.deepEqual(ports(egress[0]), [53, 53], "DNS");
        assert.deepEqual(egress[1]["to"], [self]);
        assert.deepEqual(ports(egress[1]), [9200, 9300]);
    });
    it("a changed elasticsearch.yml rolls the pods (a checksum on the template)", () => {
        const annotations = ((statefulSet(run)["spec"] as Json)["template"] as { metadata: { annotations: Json } }).metadata.annotations;
        assert.match(String(annotations["checksum/config"]), /^[0-9a-f]{64}$/);
    });
    it("outputs: the client Service's host, port 9200, the API user's Secret and name (never elastic), an https URL and the CA file", async () => {
        const c = run.cluster;
        assert.equal((await inspect(c.host)).value, "search.herd.svc.cluster.local");
        assert.equal(c.port, 9200);
        assert.equal((await inspect(c.secretName)).value, "search-api-credentials");
        assert.equal(c.passwordKey, "password");
        assert.equal(c.username, "herd-api");
        assert.equal((await inspect(c.adminSecretName)).value, "search-credentials");
        const api = plain(one(run, "kubernetes:core/v1:Secret", "search-api-credentials"))["stringData"] as Json;
        assert.equal(api["username"], "herd-api");
        assert.equal(api["password"], unwrap(one(run, "random:index/randomPassword:RandomPassword", "search-api-password").state["result"]));
        assert.ok(containsSecret(one(run, "kubernetes:core/v1:Secret", "search-api-credentials").inputs["stringData"]));
        assert.equal(c.scheme, "https");
        assert.deepEqual(await inspect(c.url), { value: "https://search.herd.svc.cluster.local:9200", secret: false });
        assert.equal(c.caFile, "/etc/herd/ca/ca.crt");
        assert.equal((await inspect(c.statefulSetName)).value, "search");
    });
    it("children are named <name>-<role> under the component", () => {
        // herd-ca*: the internal CA, created beside the cluster here as index.ts does.
        const names = run.mocks.records.filter((r) => r.custom && !r.name.startsWith("herd-ca")).map((r) => r.name);
        for (const n of names) {
            assert.ok(n === "search" || n.startsWith("search-"), n);
        }
        assert.equal(one(run, "herd:index:ElasticCluster").custom, false);
    });
});

describe("ElasticCluster with 1 node", () => {
    let run: Run;
    before(async () => {
        run = await clusterFor({ replicas: 1, memory: "4Gi", protect: false });
    });

    it("schema-valid", () => assert.doesNotThrow(() => buildManifests({ records: run.mocks.records })));
    it("single-node discovery, no initial masters, no seed hosts", () => {
        const yml = ymlOf(run);
        assert.equal(yml["discovery.type"], "single-node");
        assert.equal(yml["cluster.initial_master_nodes"], undefined);
        assert.equal(yml["discovery.seed_hosts"], undefined);
        assert.equal((statefulSet(run)["spec"] as Json)["replicas"], 1);
    });
    it("no anti-affinity or spread required", () => {
        assert.equal(podSpec(run)["affinity"], undefined);
        assert.equal(podSpec(run)["topologySpreadConstraints"], undefined);
    });
    it("disruption budget lets a drain evict the single node: maxUnavailable 1", () => {
        const spec = plain(one(run, "kubernetes:policy/v1:PodDisruptionBudget"))["spec"] as Json;
        assert.equal(spec["maxUnavailable"], 1);
        assert.equal(spec["minAvailable"], undefined);
    });
    it("heap is half of 4Gi", () => {
        assert.match(String(elasticContainer(run).env?.find((e) => e["name"] === "ES_JAVA_OPTS")?.["value"]), /^-Xms2g -Xmx2g /);
    });
    it("both certificates cover the one pod", () => {
        for (const csr of ["search-node-csr", "search-http-tls-csr"]) {
            const names = plain(one(run, "tls:index/certRequest:CertRequest", csr))["dnsNames"] as string[];
            assert.ok(names.includes("search-0.search-headless.herd.svc.cluster.local"), csr);
            assert.ok(!names.some((n) => n.startsWith("search-1.")), csr);
        }
    });
    it("protect false: nothing protected", () => {
        assert.equal(run.options.get("kubernetes:apps/v1:StatefulSet::search")?.protect, false);
        assert.equal(run.options.get("kubernetes:core/v1:Secret::search-credentials")?.protect, false);
    });
});

describe("ElasticCluster: invalid arguments", () => {
    it("throws one error naming the component and every bad field, and creates nothing", async () => {
        const { error, mocks } = await evaluateUnderMocks(() => newCluster("es", { replicas: 2, memory: "512Mi", cpu: "x", storageSize: "big" }));
        assert.ok(error instanceof pulumi.ResourceError);
        const message = (error as Error).message;
        assert.match(message, /^ElasticCluster "es": invalid arguments:/);
        for (const field of ["replicas: expected 1 (a single node) or 3 or more", "memory: expected at least 1Gi", "cpu: expected", "storageSize: expected"]) {
            assert.ok(message.includes(`  - ${field}`), field);
        }
        assert.ok(error instanceof InvalidArgumentsError);
        assert.deepEqual(error.errors.map((p) => p.propertyPath), ["storageSize", "memory", "cpu", "replicas"]);
        assert.deepEqual(error.errors[3], {
            propertyPath: "replicas",
            reason: "expected 1 (a single node) or 3 or more: with 2 nodes, losing either one stops the cluster; got 2",
        });
        // Only the internal CA, which the test creates beside it (index.ts's).
        assert.deepEqual(mocks.records.filter((r) => r.custom && !r.name.startsWith("herd-ca")).map((r) => r.type), []);
    });
});

describe("elasticDefaults: the API's user and index", () => {
    it("apiIndex: herd-items (the API's ELASTICSEARCH_INDEX default)", () => assert.equal(elasticDefaults(BASE).apiIndex, "herd-items"));
    it("apiUsername: herd-api", () => assert.equal(elasticDefaults(BASE).apiUsername, "herd-api"));
    it("snapshots: none unless asked for", () => assert.equal(elasticDefaults(BASE).snapshots, undefined));
    it("overrides", () => {
        const d = elasticDefaults({ ...BASE, apiIndex: "shop-items", apiUsername: "shop" });
        assert.deepEqual([d.apiIndex, d.apiUsername], ["shop-items", "shop"]);
    });
    it("an empty index is kept for validation to reject (?? not ||)", () => assert.equal(elasticDefaults({ ...BASE, apiIndex: "" }).apiIndex, ""));
});

describe("elasticProblems: the API's user and index", () => {
    const problems = (args: Partial<ElasticClusterArgs>) => elasticProblems(elasticDefaults({ ...BASE, ...args })).map(problemText);
    it("an index with a wildcard (the role would grant more than one index)", () =>
        assert.deepEqual(problems({ apiIndex: "herd-*" }), [
            'apiIndex: expected a lowercase Elasticsearch index name without spaces, wildcards or any of \\/*?"<>|,#: (not starting with -, _, + or .), got "herd-*"',
        ]));
    it("an upper-case or hidden index", () => {
        assert.equal(problems({ apiIndex: "Items" }).length, 1);
        assert.equal(problems({ apiIndex: ".items" }).length, 1);
        assert.equal(problems({ apiIndex: "" }).length, 1);
    });
    it("the API may not be the superuser or the probe user", () => {
        for (const user of ["elastic", "herd-probe", "kibana_system"]) {
            assert.deepEqual(problems({ apiUsername: user }), [
                `apiUsername: expected a user name of lowercase letters, digits, - and _ (at most 64, starting with a letter) that is not a built-in or herd's probe user, got "${user}"`,
            ]);
        }
        assert.equal(problems({ apiUsername: "Bad Name" }).length, 1);
    });
});

describe("the API's role", () => {
    it("its index and the reindex's indices behind it, read/write/create_index/manage; cluster monitor only", () => {
        assert.deepEqual(apiRole("herd-items"), {
            cluster: ["monitor"],
            indices: [{ names: ["herd-items", "herd-items-*"], privileges: ["read", "write", "create_index", "manage"], allow_restricted_indices: false }],
        });
    });
});

describe("snapshots: defaults, schedule, validation, request bodies", () => {
    const S3: ElasticSnapshotArgs = { store: { kind: "s3", region: "eu-west-1", prefix: "elasticsearch/", bucket: "b", egress: [] } };
    it("defaults: every 30 minutes, kept 7 days, at least 5, at most 500, a 20Gi volume", () => {
        const d = snapshotDefaults(S3);
        assert.deepEqual([d.intervalMinutes, d.retentionDays, d.minCount, d.maxCount, d.volumeSize], [30, 7, 5, 500, "20Gi"]);
        assert.equal(d.identity, undefined);
    });
    it("overrides", () => {
        const d = snapshotDefaults({ ...S3, intervalMinutes: 60, retentionDays: 30, minCount: 1, maxCount: 2000, volumeSize: "100Gi" });
        assert.deepEqual([d.intervalMinutes, d.retentionDays, d.minCount, d.maxCount, d.volumeSize], [60, 30, 1, 2000, "100Gi"]);
    });
    it("the schedule: a Quartz cron that never drifts across an hour or a day", () => {
        assert.equal(slmSchedule(30), "0 0/30 * * * ?");
        assert.equal(slmSchedule(5), "0 0/5 * * * ?");
        assert.equal(slmSchedule(60), "0 0 * * * ?");
        assert.equal(slmSchedule(360), "0 0 0/6 * * ?");
        assert.equal(slmSchedule(1440), "0 0 0 * * ?");
        for (const bad of [0, 7, 45, 90, 300, 2880, 1.5]) {
            assert.equal(slmSchedule(bad), undefined, String(bad));
        }
    });
    const problems = (s: ElasticSnapshotArgs, replicas = 3) => snapshotProblems(snapshotDefaults(s), replicas).map(problemText);
    it("the defaults are valid", () => assert.deepEqual(problems(S3), []));
    it("an interval that does not divide an hour or a day", () =>
        assert.deepEqual(problems({ ...S3, intervalMinutes: 45 }), [
            "snapshots.intervalMinutes: expected minutes that divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60) or whole hours that divide a day (120, 180, 240, 360, 480, 720, 1440), got 45",
        ]));
    it("retention and counts", () => {
        assert.deepEqual(problems({ ...S3, retentionDays: 0 }), ["snapshots.retentionDays: expected a whole number of days of at least 1, got 0"]);
        assert.deepEqual(problems({ ...S3, minCount: 0 }), ["snapshots.minCount: expected a whole number of at least 1, got 0"]);
        assert.deepEqual(problems({ ...S3, minCount: 10, maxCount: 5 }), ["snapshots.maxCount: expected a whole number of at least minCount (10), got 5"]);
    });
    it("a shared file-system repository: ReadWriteOnce works for one node only", () => {
        const fsStore: ElasticSnapshotArgs = { store: { kind: "volume", storageClassName: "c", accessMode: "ReadWriteOnce" } };
        assert.deepEqual(problems(fsStore, 1), []);
        assert.deepEqual(problems(fsStore, 3), [
            "snapshots.store: a file-system repository must be mounted by every node: with 3 nodes it needs a ReadWriteMany volume, got ReadWriteOnce (use an S3-compatible store, a ReadWriteMany storage class, or 1 node)",
        ]);
        assert.deepEqual(problems({ store: { kind: "volume", storageClassName: "nfs", accessMode: "ReadWriteMany" } }, 3), []);
        assert.deepEqual(problems({ ...fsStore, volumeSize: "lots" }, 1), ['snapshots.volumeSize: expected a Kubernetes quantity such as 20Gi, got "lots"']);
    });
    it("an S3-compatible endpoint must be a bare URL", () =>
        assert.deepEqual(problems({ store: { kind: "s3", region: "eu-west-1", prefix: "elasticsearch/", bucket: "b", endpoint: "minio:9000", egress: [] } }), [
            'snapshots.store.endpoint: expected an http:// or https:// URL with a host and no path, got "minio:9000"',
        ]));
    it("the component reports snapshot problems with its own", () => {
        const all = elasticProblems(elasticDefaults({ ...BASE, snapshots: { ...S3, intervalMinutes: 7, retentionDays: -1 } })).map((p) => p.propertyPath);
        assert.deepEqual(all, ["snapshots.intervalMinutes", "snapshots.retentionDays"]);
    });
    it("repository bodies: object stores under elasticsearch/<namespace>/<name>, compressed; fs at the mounted path", () => {
        assert.equal(snapshotBasePath("elasticsearch/", "herd", "elastic"), "elasticsearch/herd/elastic");
        assert.deepEqual(repositoryBody(S3.store, "bkt", "elasticsearch/herd/elastic"), {
            type: "s3",
            settings: { bucket: "bkt", base_path: "elasticsearch/herd/elastic", client: "default", compress: true },
        });
        assert.equal(repositoryBody({ kind: "gcs", prefix: "elasticsearch/", bucket: "g", egress: [] }, "g", "p").type, "gcs");
        assert.deepEqual(repositoryBody({ kind: "volume", storageClassName: "c", accessMode: "ReadWriteMany" }, undefined, "p"), {
            type: "fs",
            settings: { location: "/mnt/snapshots", compress: true },
        });
    });
    it("the lifecycle policy: every index and the cluster state, on the schedule, with the retention", () => {
        assert.deepEqual(slmPolicyBody(snapshotDefaults(S3)), {
            name: "<herd-snap-{now/d}>",
            schedule: "0 0/30 * * * ?",
            repository: "herd-backups",
            config: { indices: ["*"], include_global_state: true },
            retention: { expire_after: "7d", min_count: 5, max_count: 500 },
        });
    });
    it("node settings: path.repo for fs; an S3-compatible store's client with path-style access; nothing for AWS S3 or GCS", () => {
        assert.deepEqual(snapshotNodeSettings({ kind: "volume", storageClassName: "c", accessMode: "ReadWriteOnce" }), { "path.repo": ["/mnt/snapshots"] });
        assert.deepEqual(snapshotNodeSettings({ kind: "s3", region: "eu-west-1", prefix: "elasticsearch/", bucket: "b", endpoint: "http://minio.example:9000", egress: [] }), {
            "s3.client.default.endpoint": "minio.example:9000",
            "s3.client.default.protocol": "http",
            "s3.client.default.path_style_access": true,
        });
        assert.deepEqual(snapshotNodeSettings(S3.store), {});
        assert.deepEqual(snapshotNodeSettings({ kind: "gcs", prefix: "elasticsearch/", bucket: "g", egress: [] }), {});
        const yml = parse(elasticsearchYml("es", 1, { "path.repo": ["/mnt/snapshots"] })) as Json;
        assert.deepEqual(yml["path.repo"], ["/mnt/snapshots"]);
    });
});

/**
 * A stand-in for Elasticsearch's security, snapshot, voting-exclusion, settings and cat APIs, with just enough
 * cluster state (nodes, shard copies) to run the setup and shrink scripts against; it records every request.
 */
class FakeCluster {
    readonly requests: { method: string; url: string; body: string; user: string }[] = [];
    readonly roles = new Map<string, unknown>();
    readonly users = new Map<string, unknown>();
    readonly repositories = new Map<string, unknown>();
    readonly policies = new Map<string, unknown>();
    nodes: string[] = ["es-0", "es-1", "es-2"];
    /** Shard copies: index, shard number, node (undefined: unassigned). */
    shards: { index: string; shard: number; node: string | undefined }[] = [];
    votingExclusions: string[] = [];
    persistent: Record<string, string> = {};
    /** Answer health with 503 this many times first. */
    unhealthy = 0;
    /** Fail PUT _snapshot with 500 this many times first. */
    repositoryFailures = 0;
    /** Whether shards leave excluded nodes (one step per _cat/shards call), and excluded nodes leave when waited for. */
    movesShards = true;
    private server: http.Server | undefined;
    /**
     * `serverTls`: the certificate it serves, or "plain": plain HTTP, as a node not yet restarted by the update that
     * turns HTTPS on. @default the test CA's certificate for 127.0.0.1
     */
    constructor(
        readonly password = "el4stic",
        private readonly serverTls?: ServerTls | "plain",
    ) {}

    /** Starts it on 127.0.0.1; its https:// URL (what the Jobs are given, whatever it serves). */
    async start(): Promise<string> {
        const handler: http.RequestListener = (req, res) => {
            let body = "";
            req.on("data", (c: Buffer) => (body += c.toString()));
            req.on("end", () => {
                const auth = Buffer.from(String(req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString();
                this.requests.push({ method: String(req.method), url: String(req.url), body, user: auth.split(":")[0] });
                const [status, answer] = auth === `elastic:${this.password}` ? this.handle(String(req.method), new URL(String(req.url), "http://x"), body) : [401, { error: "security_exception" }];
                res.writeHead(status, { "Content-Type": typeof answer === "string" ? "text/plain" : "application/json" });
                res.end(typeof answer === "string" ? answer : JSON.stringify(answer));
            });
        };
        if (this.serverTls === "plain") {
            const server = http.createServer(handler);
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            this.server = server;
            return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
        }
        const { server, port } = await httpsServer(this.serverTls ?? testPki().server, handler);
        this.server = server;
        return `https://127.0.0.1:${port}`;
    }
    stop(): void {
        this.server?.close();
    }
    private excluded(): string[] {
        return (this.persistent["cluster.routing.allocation.exclude._name"] ?? "").split(",").filter((n) => n !== "");
    }
    private moveShards(): void {
        const excluded = this.excluded();
        for (const copy of this.shards) {
            if (copy.node !== undefined && excluded.includes(copy.node)) {
                const holders = this.shards.filter((c) => c.index === copy.index && c.shard === copy.shard).map((c) => c.node);
                const target = this.nodes.find((n) => !excluded.includes(n) && !holders.includes(n));
                if (target !== undefined) {
                    copy.node = target;
                    return; // one move per call: the script has to poll
                }
            }
        }
    }
    private handle(method: string, url: URL, body: string): [number, unknown] {
        const route = `${method} ${url.pathname}`;
        const named = (prefix: string) => decodeURIComponent(url.pathname.slice(prefix.length));
        if (route === "GET /_cluster/health") {
            return this.unhealthy-- > 0 ? [503, { status: "red", timed_out: true }] : [200, { status: "yellow" }];
        }
        if (method === "PUT" && url.pathname.startsWith("/_security/role/")) {
            this.roles.set(named("/_security/role/"), JSON.parse(body));
            return [200, { role: { created: true } }];
        }
        if (method === "PUT" && url.pathname.startsWith("/_security/user/")) {
            this.users.set(named("/_security/user/"), JSON.parse(body));
            return [200, { created: true }];
        }
        if (method === "PUT" && url.pathname.startsWith("/_snapshot/")) {
            if (this.repositoryFailures-- > 0) {
                return [500, { error: { type: "repository_verification_exception", reason: "store not writable" } }];
            }
            this.repositories.set(named("/_snapshot/"), JSON.parse(body));
            return [200, { acknowledged: true }];
        }
        if (method === "PUT" && url.pathname.startsWith("/_slm/policy/")) {
            this.policies.set(named("/_slm/policy/"), JSON.parse(body));
            return [200, { acknowledged: true }];
        }
        if (route === "GET /_cluster/state/metadata") {
            const exclusions = this.votingExclusions.map((n) => ({ node_id: `id-${n}`, node_name: n }));
            return [200, exclusions.length > 0 ? { metadata: { cluster_coordination: { voting_config_exclusions: exclusions } } } : {}];
        }
        if (route === "POST /_cluster/voting_config_exclusions") {
            this.votingExclusions = String(url.searchParams.get("node_names")).split(",");
            return [200, {}];
        }
        if (route === "DELETE /_cluster/voting_config_exclusions") {
            if (url.searchParams.get("wait_for_removal") === "true") {
                if (this.movesShards) {
                    this.nodes = this.nodes.filter((n) => !this.votingExclusions.includes(n));
                } else if (this.nodes.some((n) => this.votingExclusions.includes(n))) {
                    return [408, { error: "timed out waiting for removal of nodes" }];
                }
            }
            this.votingExclusions = [];
            return [200, {}];
        }
        if (route === "GET /_cluster/settings") {
            return [200, Object.keys(this.persistent).length > 0 ? { persistent: { ...this.persistent } } : {}];
        }
        if (route === "PUT /_cluster/settings") {
            for (const [k, v] of Object.entries((JSON.parse(body) as { persistent: Record<string, string | null> }).persistent)) {
                if (v === null) {
                    delete this.persistent[k];
                } else {
                    this.persistent[k] = v;
                }
            }
            return [200, { acknowledged: true }];
        }
        if (route === "GET /_cat/nodes") {
            return [200, this.nodes.map((n) => `${n}\n`).join("")];
        }
        if (route === "GET /_cat/shards") {
            const text = this.shards.map((c) => (c.node === undefined ? `${c.index} ${c.shard} UNASSIGNED\n` : `${c.index} ${c.shard} STARTED ${c.node}\n`)).join("");
            if (this.movesShards) {
                this.moveShards();
            }
            return [200, text];
        }
        return [400, { error: `unexpected request ${route}` }];
    }
}

/** Runs a Job's script with sh, as the container would (only the given env), against the stand-in. */
async function runScript(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const { spawn } = await import("node:child_process");
    const child = spawn("/bin/sh", ["-c", script], { env: { PATH: process.env["PATH"], RETRY_SECONDS: "0.1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    return { code, stdout, stderr };
}

describe("the setup Job's script, against a stand-in Elasticsearch", () => {
    const ROLE = JSON.stringify(apiRole("herd-items"));
    const env = (url: string, extra: Record<string, string> = {}) => ({
        ES_URL: url,
        ES_CA_FILE: extra["ES_CA_FILE"] ?? testPki().caFile,
        ELASTIC_PASSWORD: "el4stic",
        API_USER: "herd-api",
        API_PASSWORD: "ApiPassw0rd",
        API_ROLE: "herd_api",
        ROLE_JSON: ROLE,
        STS_NAME: "es",
        TARGET_REPLICAS: "3",
        WAIT_SECONDS: "5",
        ...extra,
    });
    it("waits for a yellow cluster, then creates the role and the user as elastic; a second run changes nothing", CURL, async () => {
        requireCurl();
        const es = new FakeCluster();
        es.unhealthy = 2;
        const url = await es.start();
        try {
            const first = await runScript(elasticSetupScript(), env(url));
            assert.equal(first.code, 0, first.stderr);
            assert.deepEqual(es.roles.get("herd_api"), apiRole("herd-items"));
            assert.deepEqual(es.users.get("herd-api"), { password: "ApiPassw0rd", roles: ["herd_api"], full_name: "herd API", metadata: { managed_by: "herd" } });
            assert.equal(es.requests.filter((r) => r.url.startsWith("/_cluster/health")).length, 3, "asked until the cluster was ready");
            assert.ok(es.requests.every((r) => r.user === "elastic"));
            assert.equal(es.requests.filter((r) => r.url.startsWith("/_snapshot") || r.url.startsWith("/_slm")).length, 0, "no snapshots unless configured");
            const state = JSON.stringify([...es.roles, ...es.users]);
            const second = await runScript(elasticSetupScript(), env(url));
            assert.equal(second.code, 0, second.stderr);
            assert.equal(JSON.stringify([...es.roles, ...es.users]), state, "idempotent");
            assert.doesNotMatch(first.stdout + first.stderr, /ApiPassw0rd|el4stic/, "no password in the log");
        } finally {
            es.stop();
        }
    });
    it("registers the snapshot repository and the lifecycle policy, retrying a store that is not writable yet", CURL, async () => {
        requireCurl();
        const es = new FakeCluster();
        es.repositoryFailures = 2;
        const url = await es.start();
        try {
            const repository = { type: "s3", settings: { bucket: "b", base_path: "elasticsearch/herd/es" } };
            const policy = slmPolicyBody(snapshotDefaults({ store: { kind: "s3", region: "eu-west-1", prefix: "elasticsearch/", bucket: "b", egress: [] } }));
            const extra = { SNAPSHOT_REPOSITORY: "herd-backups", REPOSITORY_JSON: JSON.stringify(repository), SLM_POLICY: "herd-snapshots", SLM_JSON: JSON.stringify(policy) };
            const result = await runScript(elasticSetupScript(), env(url, extra));
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(es.repositories.get("herd-backups"), repository);
            assert.deepEqual(es.policies.get("herd-snapshots"), policy);
            assert.equal(es.requests.filter((r) => r.method === "PUT" && r.url === "/_snapshot/herd-backups").length, 3);
        } finally {
            es.stop();
        }
    });
    it("fails, naming the step and Elasticsearch's answer, when the repository never verifies", CURL, async () => {
        requireCurl();
        const es = new FakeCluster();
        es.repositoryFailures = 100;
        const url = await es.start();
        try {
            const extra = { SNAPSHOT_REPOSITORY: "herd-backups", REPOSITORY_JSON: "{}", SLM_POLICY: "p", SLM_JSON: "{}", ATTEMPTS: "3" };
            const result = await runScript(elasticSetupScript(), env(url, extra));
            assert.equal(result.code, 1);
            assert.match(result.stderr, /herd: registering the snapshot repository herd-backups \(can every node reach and write to the store\?\) \(tried 3 times\): HTTP 500: .*store not writable/);
            assert.equal(es.policies.size, 0);
        } finally {
            es.stop();
        }
    });
    it("gives up with a message when the cluster is never ready", CURL, async () => {
        requireCurl();
        const es = new FakeCluster();
        es.unhealthy = 10_000;
        const url = await es.start();
        try {
            const result = await runScript(elasticSetupScript(), env(url, { WAIT_SECONDS: "1" }));
            assert.equal(result.code, 1);
            assert.match(result.stderr, /^herd: Elasticsearch at https:\/\/127\.0\.0\.1:\d+ was not ready \(yellow\) within 1s: HTTP 503: /m);
            assert.equal(es.users.size, 0);
        } finally {
            es.stop();
        }
    });
    it("refuses a password that is not letters and digits (it goes into JSON as is)", async () => {
        const result = await runScript(elasticSetupScript(), env("https://127.0.0.1:1", { API_PASSWORD: 'a"b', ES_CA_FILE: anyFile() }));
        assert.equal(result.code, 1);
        assert.match(result.stderr, /API_PASSWORD must be letters and digits/);
    });
    it("refuses a plain http:// URL and a CA file it cannot read, before it sends anything", async () => {
        const plainHttp = await runScript(elasticSetupScript(), env("http://127.0.0.1:1", { ES_CA_FILE: anyFile() }));
        assert.equal(plainHttp.code, 1);
        assert.match(plainHttp.stderr, /^herd: ES_URL must be an https:\/\/ URL \(Elasticsearch serves HTTPS only\), got http:\/\/127\.0\.0\.1:1$/m);
        const noCa = await runScript(elasticSetupScript(), env("https://127.0.0.1:1", { ES_CA_FILE: "/nonexistent/ca.crt" }));
        assert.equal(noCa.code, 1);
        assert.match(noCa.stderr, /^herd: ES_CA_FILE=\/nonexistent\/ca\.crt is not a readable file/m);
    });
    it("a node still on plain HTTP is waited for (the update rolls it onto HTTPS), never sent the password", CURL, async () => {
        requireCurl();
        const es = new FakeCluster("el4stic", "plain");
        const url = await es.start();
        try {
            const result = await runScript(elasticSetupScript(), env(url, { WAIT_SECONDS: "2" }));
            assert.equal(result.code, 1);
            assert.match(result.stderr, /was not ready \(yellow\) within 2s: Elasticsearch answered in plain HTTP, not HTTPS/);
            assert.ok(es.requests.length >= 2, "it asked again while waiting");
            assert.ok(es.requests.every((r) => r.method === "GET" && r.url === "/" && r.user === ""), JSON.stringify(es.requests));
        } finally {
            es.stop();
        }
    });
    it("a certificate that does not verify (another CA, another name) fails at once, saying so, with no request sent", CURL, async () => {
        requireCurl();
        for (const serverTls of [testPki().otherCa, testPki().wrongName]) {
            const es = new FakeCluster("el4stic", serverTls);
            const url = await es.start();
            try {
                const started = Date.now();
                const result = await runScript(elasticSetupScript(), env(url, { WAIT_SECONDS: "60" }));
                assert.equal(result.code, 1);
                assert.match(result.stderr, /^herd: connecting to Elasticsearch at https:\/\/127\.0\.0\.1:\d+: the TLS handshake or certificate check failed \(curl exit (60|51)\b/m);
                assert.ok(Date.now() - started < 30_000, "it did not wait out its deadline");
                assert.deepEqual(es.requests, [], "the elastic password never went to a server that did not verify");
            } finally {
                es.stop();
            }
        }
    });
    it("after a shrink: waits for the excluded nodes to leave, then lifts herd's exclusions and leaves an operator's alone", CURL, async () => {
        requireCurl();
        const es = new FakeCluster();
        es.votingExclusions = ["es-1", "es-2"];
        es.persistent = { "cluster.routing.allocation.exclude._name": "es-1,es-2" };
        const url = await es.start();
        try {
            const result = await runScript(elasticSetupScript(), env(url, { TARGET_REPLICAS: "1" }));
            assert.equal(result.code, 0, result.stderr);
            assert.ok(es.requests.some((r) => r.method === "DELETE" && r.url === "/_cluster/voting_config_exclusions?wait_for_removal=true&master_timeout=60s"));
            assert.deepEqual(es.votingExclusions, []);
            assert.deepEqual(es.persistent, {});
            assert.deepEqual(es.nodes, ["es-0"]);
        } finally {
            es.stop();
        }
        const operator = new FakeCluster();
        operator.persistent = { "cluster.routing.allocation.exclude._name": "es-2,node-x" };
        const url2 = await operator.start();
        try {
            const result = await runScript(elasticSetupScript(), env(url2, { TARGET_REPLICAS: "1" }));
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(operator.persistent, { "cluster.routing.allocation.exclude._name": "es-2,node-x" });
            assert.match(result.stdout, /left cluster\.routing\.allocation\.exclude\._name=es-2,node-x alone/);
            assert.ok(!operator.requests.some((r) => r.url.startsWith("/_cluster/voting_config_exclusions")), "no exclusions: nothing to clear");
        } finally {
            operator.stop();
        }
    });
    it("after a shrink whose nodes never leave: asks again until its deadline, then fails saying so", CURL, async () => {
        requireCurl();
        const es = new FakeCluster();
        es.votingExclusions = ["es-2"];
        es.movesShards = false;
        const url = await es.start();
        try {
            // 3 s: room for the TLS handshakes of the requests before it (the deadline counts whole seconds).
            const result = await runScript(elasticSetupScript(), env(url, { TARGET_REPLICAS: "2", WAIT_SECONDS: "3" }));
            assert.equal(result.code, 1);
            assert.match(result.stderr, /herd: clearing the voting exclusions \(a node excluded from voting is still in the cluster after 3s\): HTTP 408/);
            assert.ok(es.requests.filter((r) => r.method === "DELETE").length >= 2, "asked more than once");
            assert.deepEqual(es.votingExclusions, ["es-2"]);
        } finally {
            es.stop();
        }
    });
    it("no password on any command line: curl reads the credentials from a file, the user from a body file", () => {
        for (const script of [elasticSetupScript(), elasticShrinkScript()]) {
            for (const line of script.split("\n").filter((l) => /\bcurl\b/.test(l))) {
                assert.doesNotMatch(line, /PASSWORD/, line);
            }
        }
    });
    it("every curl verifies the server against ES_CA_FILE; none skips verification", () => {
        for (const script of [elasticSetupScript(), elasticShrinkScript()]) {
            const lines = script.split("\n").filter((l) => /\bcurl -/.test(l));
            // The one plain-HTTP request tells a node still on plain HTTP: no credentials, no body, only `/`.
            const plain = lines.filter((l) => l.startsWith("plain_http() {"));
            assert.equal(plain.length, 1);
            assert.match(plain[0], /curl -s -o \/dev\/null -w '%\{http_code\}' --max-time 10 "http:\/\/\$\{ES_URL#https:\/\/\}\/" 2>\/dev\/null\)/);
            assert.doesNotMatch(plain[0], /-K|--data|-u |PASSWORD|es-auth/);
            const curls = lines.filter((l) => !l.startsWith("plain_http() {"));
            assert.ok(curls.length >= 2);
            for (const line of curls) {
                assert.match(line, / --cacert "\$ES_CA_FILE" /, line);
                assert.doesNotMatch(line, / -k\b|--insecure|--proxy-insecure/, line);
            }
        }
    });
});

describe("the shrink Job's script, against a stand-in Elasticsearch", () => {
    const env = (url: string, target: number, extra: Record<string, string> = {}) => ({
        ES_URL: url,
        ES_CA_FILE: testPki().caFile,
        ELASTIC_PASSWORD: "el4stic",
        STS_NAME: "es",
        TARGET_REPLICAS: String(target),
        WAIT_SECONDS: "5",
        ...extra,
    });
    const threeNodeShards = () => [
        { index: "herd-items", shard: 0, node: "es-1" },
        { index: "herd-items", shard: 0, node: "es-2" },
        { index: "herd-items", shard: 1, node: "es-0" },
        { index: "herd-items", shard: 1, node: "es-2" },
        { index: ".security-7", shard: 0, node: "es-2" },
        { index: ".security-7", shard: 0, node: "es-1" },
    ];
    it("no cluster answers (a first deploy): nothing to shrink, success", CURL, async () => {
        requireCurl();
        const result = await runScript(elasticShrinkScript(), env(`https://127.0.0.1:${await closedPort()}`, 1));
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /no Elasticsearch answers at .*: nothing to shrink/);
    });
    it("a cluster still on plain HTTP (the update that turns HTTPS on): skipped, saying so; no credentials over plain HTTP", CURL, async () => {
        requireCurl();
        const es = new FakeCluster("el4stic", "plain");
        const url = await es.start();
        try {
            const result = await runScript(elasticShrinkScript(), env(url, 3));
            assert.equal(result.code, 0, result.stderr);
            assert.match(result.stdout, /still serves plain HTTP \(this update turns HTTPS on\): the shrink check needs HTTPS and was skipped; do not lower elasticReplicas/);
            assert.deepEqual(es.requests.map((r) => `${r.method} ${r.url} ${r.user}`), ["GET / "], "one plain request, with no credentials");
        } finally {
            es.stop();
        }
    });
    it("a cluster whose certificate does not verify is not an absent one: the Job fails, nothing is excluded", CURL, async () => {
        requireCurl();
        const es = new FakeCluster("el4stic", testPki().otherCa);
        const url = await es.start();
        try {
            const result = await runScript(elasticShrinkScript(), env(url, 1));
            assert.equal(result.code, 1);
            assert.doesNotMatch(result.stdout, /nothing to shrink/);
            assert.match(result.stderr, /herd: listing the nodes of the cluster at https:\/\/127\.0\.0\.1:\d+: the TLS handshake or certificate check failed/);
            assert.deepEqual(es.requests, []);
        } finally {
            es.stop();
        }
    });
    it("no node leaves (same count, or a grow): only a look at the nodes", CURL, async () => {
        requireCurl();
        const es = new FakeCluster();
        const url = await es.start();
        try {
            for (const target of [3, 5]) {
                const result = await runScript(elasticShrinkScript(), env(url, target));
                assert.equal(result.code, 0, result.stderr);
                assert.match(result.stdout, /none leaves: nothing to do/);
            }
            assert.deepEqual(es.requests.map((r) => `${r.method} ${r.url}`), ["GET /_cat/nodes?h=name", "GET /_cat/nodes?h=name"]);
        } finally {
            es.stop();
        }
    });
    it("3 -> 1: excludes es-1 and es-2 from voting and allocation, waits until every shard has a copy on es-0", CURL, async () => {
        requireCurl();
        const es = new FakeCluster();
        es.shards = threeNodeShards();
        const url = await es.start();
        try {
            const result = await runScript(elasticShrinkScript(), env(url, 1));
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(es.votingExclusions, ["es-1", "es-2"]);
            assert.deepEqual(es.persistent, { "cluster.routing.allocation.exclude._name": "es-1,es-2" });
            for (const [index, shard] of [["herd-items", 0], ["herd-items", 1], [".security-7", 0]] as const) {
                assert.ok(es.shards.some((c) => c.index === index && c.shard === shard && c.node === "es-0"), `${index} ${shard} on es-0`);
            }
            assert.ok(es.requests.filter((r) => r.url.startsWith("/_cat/shards")).length >= 3, "it polled while shards moved");
            assert.match(result.stdout, /every shard has a started copy on the nodes that stay; es-1,es-2 may stop now/);
        } finally {
            es.stop();
        }
    });
    it("5 -> 3: only es-3 and es-4 leave", CURL, async () => {
        requireCurl();
        const es = new FakeCluster();
        es.nodes = ["es-0", "es-1", "es-2", "es-3", "es-4"];
        es.shards = [{ index: "herd-items", shard: 0, node: "es-4" }];
        const url = await es.start();
        try {
            const result = await runScript(elasticShrinkScript(), env(url, 3));
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(es.votingExclusions, ["es-3", "es-4"]);
            assert.ok(["es-0", "es-1", "es-2"].includes(String(es.shards[0].node)));
        } finally {
            es.stop();
        }
    });
    it("a shard that cannot move: refuses after the wait, undoes the exclusions, names the shard; nothing stops", CURL, async () => {
        requireCurl();
        const es = new FakeCluster();
        es.shards = threeNodeShards();
        es.movesShards = false;
        const url = await es.start();
        try {
            const result = await runScript(elasticShrinkScript(), env(url, 1, { WAIT_SECONDS: "1" }));
            assert.equal(result.code, 1);
            assert.match(result.stderr, /herd: refusing to shrink to 1: after 1s these shards still have no started copy on a node that stays: \.security-7 shard 0;herd-items shard 0;/);
            assert.deepEqual(es.votingExclusions, []);
            assert.deepEqual(es.persistent, {});
            assert.deepEqual(es.nodes, ["es-0", "es-1", "es-2"]);
        } finally {
            es.stop();
        }
    });
    it("a cluster that answers but refuses the login fails the Job (the StatefulSet is then left as it is)", CURL, async () => {
        requireCurl();
        const es = new FakeCluster("another-password");
        const url = await es.start();
        try {
            const result = await runScript(elasticShrinkScript(), env(url, 1));
            assert.equal(result.code, 1);
            assert.match(result.stderr, /herd: listing the nodes of the cluster at .*: HTTP 401: /);
        } finally {
            es.stop();
        }
    });
});

/** A readable file: a stand-in CA for scripts that stop before they connect. */
function anyFile(): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "herd-es-ca-")), "ca.crt");
    fs.writeFileSync(file, "not used\n");
    return file;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

describe("ElasticCluster's deploy-time Jobs (3 nodes)", () => {
    let run: Run;
    let e: Evaluation;
    before(async () => {
        run = await clusterFor();
        e = await evaluateProgram(() => {
            newCluster("search");
            return {};
        });
    });
    const job = (name: string) => plain(one(run, "kubernetes:batch/v1:Job", name));
    const jobPod = (name: string) => ((job(name)["spec"] as Json)["template"] as Json)["spec"] as Json;
    const jobEnv = (name: string) => Object.fromEntries(((jobPod(name)["containers"] as Container[])[0].env ?? []).map((v) => [v["name"], v["value"] ?? v["valueFrom"]]));

    it("setup: the setup script, as elastic, to create the API's role on its index and its user with the API Secret's password", () => {
        const [container] = jobPod("search-setup")["containers"] as Container[];
        assert.deepEqual(container["command"], ["/bin/sh", "-c", elasticSetupScript()]);
        assert.equal(container["image"], ELASTIC_IMAGE);
        const env = jobEnv("search-setup");
        assert.equal(env["ES_URL"], "https://search.herd.svc.cluster.local:9200");
        assert.equal(env["ES_CA_FILE"], "/etc/herd/ca/ca.crt");
        assert.deepEqual(env["ELASTIC_PASSWORD"], { secretKeyRef: { name: "search-credentials", key: "password" } });
        assert.deepEqual(env["API_PASSWORD"], { secretKeyRef: { name: "search-api-credentials", key: "password" } });
        assert.equal(env["API_USER"], "herd-api");
        assert.equal(env["API_ROLE"], "herd_api");
        assert.deepEqual(JSON.parse(String(env["ROLE_JSON"])), apiRole("herd-items"));
        assert.equal(env["TARGET_REPLICAS"], "3");
        assert.equal(env["SNAPSHOT_REPOSITORY"], undefined, "no snapshots unless configured");
    });
    it("shrink: the shrink script against the headless Service (every pod, ready or not), with the target count", () => {
        const [container] = jobPod("search-shrink")["containers"] as Container[];
        assert.deepEqual(container["command"], ["/bin/sh", "-c", elasticShrinkScript()]);
        const env = jobEnv("search-shrink");
        assert.equal(env["ES_URL"], "https://search-headless.herd.svc.cluster.local:9200");
        assert.equal(env["ES_CA_FILE"], "/etc/herd/ca/ca.crt");
        assert.deepEqual([env["STS_NAME"], env["TARGET_REPLICAS"]], ["search", "3"]);
        assert.equal(env["API_PASSWORD"], undefined);
    });
    it("the StatefulSet changes only after the shrink Job, and the setup Job runs after it too", () => {
        const find = (type: string, name: string) => e.resources.find((r) => r.type === type && r.name === name);
        // The shrink Job first; then what the pods mount by fixed name (tests/replacement-safety.test.ts).
        assert.deepEqual(find("kubernetes:apps/v1:StatefulSet", "search")?.options.dependsOn, ["search-shrink", "search-config", "search-transport-tls", "search-http-tls", "herd-ca"]);
        assert.deepEqual(find("kubernetes:batch/v1:Job", "search-setup")?.options.dependsOn, ["search-shrink"]);
        for (const name of ["search-setup", "search-shrink"]) {
            const options = find("kubernetes:batch/v1:Job", name)?.options;
            assert.equal(options?.deleteBeforeReplace, true, `${name}: a fixed name, replaced when what it does changes`);
            assert.match(String(options?.customTimeouts?.create), /^\d+m$/);
            assert.equal(options?.onError.length, 1);
        }
    });
    it("both Jobs: restricted pods, no ServiceAccount token, one try plus one retry, cleaned up after a week", () => {
        for (const name of ["search-setup", "search-shrink"]) {
            const spec = job(name)["spec"] as Json;
            assert.equal(spec["backoffLimit"], 1);
            assert.equal(spec["ttlSecondsAfterFinished"], 7 * 24 * 3600);
            const pod = jobPod(name);
            assert.equal(pod["automountServiceAccountToken"], false);
            assert.deepEqual((pod["securityContext"] as Json)["runAsNonRoot"], true);
            const [c] = pod["containers"] as Container[];
            assert.equal(c.securityContext["readOnlyRootFilesystem"], true);
            assert.deepEqual(c.securityContext["capabilities"], { drop: ["ALL"] });
            assert.deepEqual(c.volumeMounts, [
                { name: "tmp", mountPath: "/tmp" },
                { name: "internal-ca", mountPath: "/etc/herd/ca", readOnly: true },
            ]);
            assert.deepEqual((pod["volumes"] as Json[])[0], { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } }, "credentials files only in memory");
            assert.deepEqual((pod["volumes"] as Json[])[1], { name: "internal-ca", configMap: { name: "herd-ca", defaultMode: 0o444 } }, "the internal CA, to verify the cluster: never its key");
        }
    });
    it("a NetworkPolicy lets the Jobs reach only DNS and the cluster's HTTP port", () => {
        const spec = plain(one(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "search-setup"))["spec"] as Json;
        const jobLabels = ((job("search-setup")["spec"] as Json)["template"] as { metadata: { labels: Json } }).metadata.labels;
        const selector = (spec["podSelector"] as { matchLabels: Json }).matchLabels;
        for (const [k, v] of Object.entries(selector)) {
            assert.equal(jobLabels[k], v, k);
        }
        assert.deepEqual(spec["ingress"], []);
        const egress = spec["egress"] as Json[];
        assert.equal(egress.length, 2);
        assert.deepEqual(egress[1], { to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "elasticsearch", "app.kubernetes.io/instance": "search" } } }], ports: [{ protocol: "TCP", port: 9200 }] });
    });
    it("a replica count change re-runs both Jobs (their spec names it); the same count leaves them as they are", async () => {
        const one5 = await clusterFor({ replicas: 5 });
        const target = (r: Run, name: string) =>
            ((((plain(one(r, "kubernetes:batch/v1:Job", name))["spec"] as Json)["template"] as Json)["spec"] as Json)["containers"] as Container[])[0].env?.find((v) => v["name"] === "TARGET_REPLICAS")?.["value"];
        assert.equal(target(one5, "search-shrink"), "5");
        assert.equal(target(one5, "search-setup"), "5");
        assert.deepEqual(job("search-setup"), plain(one(await clusterFor(), "kubernetes:batch/v1:Job", "search-setup")));
    });
});

/** A workload identity that records what it was asked to bind. */
function recordingIdentity(annotations: Record<string, string>, env: { name: string; value: string }[] = []): WorkloadIdentity & { calls: unknown[] } {
    const calls: unknown[] = [];
    return {
        calls,
        bind(args) {
            calls.push({ name: args.name, serviceAccountName: args.serviceAccountName });
            return { serviceAccountAnnotations: annotations, env };
        },
    };
}

describe("ElasticCluster with snapshots", () => {
    const setupEnv = (run: Run) =>
        Object.fromEntries(
            (((((plain(one(run, "kubernetes:batch/v1:Job", "search-setup"))["spec"] as Json)["template"] as Json)["spec"] as Json)["containers"] as Container[])[0].env ?? []).map((v) => [v["name"], v["value"]]),
        );
    const esPolicy = (run: Run) => plain(one(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "search"))["spec"] as { egress: Json[] };

    it("S3 with web identity: a ServiceAccount bound to the store, the token where repository-s3 reads it, egress to the store", async () => {
        const identity = recordingIdentity({ "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/es" });
        const storeEgress = [{ ports: [{ protocol: "TCP", port: 443 }] }];
        const run = await clusterFor({ snapshots: { store: { kind: "s3", region: "eu-west-1", prefix: "elasticsearch/", bucket: "herd-backups-1", webIdentityAudience: "sts.amazonaws.com", egress: storeEgress }, identity } });
        assert.doesNotThrow(() => buildManifests({ records: run.mocks.records }));
        assert.deepEqual(identity.calls, [{ name: "search-snapshots", serviceAccountName: "search" }]);
        const account = plain(one(run, "kubernetes:core/v1:ServiceAccount", "search"));
        assert.deepEqual((account["metadata"] as Json)["annotations"], { "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/es" });
        assert.equal(account["automountServiceAccountToken"], false);
        assert.equal(podSpec(run)["serviceAccountName"], "search");
        const volumes = Object.fromEntries((podSpec(run)["volumes"] as Json[]).map((v) => [v["name"], v]));
        assert.deepEqual(volumes["web-identity"]?.["projected"], { sources: [{ serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "aws-web-identity-token-file" } }] });
        const mount = (elasticContainer(run).volumeMounts ?? []).find((m) => m["name"] === "web-identity");
        assert.deepEqual(mount, { name: "web-identity", mountPath: "/usr/share/elasticsearch/config/repository-s3", readOnly: true });
        assert.deepEqual(esPolicy(run).egress.slice(2), storeEgress);
        const env = setupEnv(run);
        assert.equal(env["SNAPSHOT_REPOSITORY"], "herd-backups");
        assert.deepEqual(JSON.parse(String(env["REPOSITORY_JSON"])), {
            type: "s3",
            settings: { bucket: "herd-backups-1", base_path: "elasticsearch/herd/search", client: "default", compress: true },
        });
        assert.equal(env["SLM_POLICY"], "herd-snapshots");
        assert.equal((JSON.parse(String(env["SLM_JSON"])) as Json)["schedule"], "0 0/30 * * * ?");
        assert.equal(ymlOf(run)["path.repo"], undefined);
    });
    it("an S3-compatible store with keys: its client in elasticsearch.yml, the keys into the keystore from the customer's Secret", async () => {
        const run = await clusterFor({ snapshots: { store: { kind: "s3", region: "eu-west-1", prefix: "elasticsearch/", bucket: "b", endpoint: "https://minio.customer.internal", credentialsSecret: "herd-backup-s3", egress: [] }, retentionDays: 14 } });
        assert.doesNotThrow(() => buildManifests({ records: run.mocks.records }));
        const yml = ymlOf(run);
        assert.equal(yml["s3.client.default.endpoint"], "minio.customer.internal");
        assert.equal(yml["s3.client.default.protocol"], "https");
        assert.equal(yml["s3.client.default.path_style_access"], true);
        const init = containersOf(run)[0];
        const initEnv = Object.fromEntries((init.env ?? []).map((v) => [v["name"], v["valueFrom"]]));
        assert.deepEqual(initEnv["AWS_ACCESS_KEY_ID"], { secretKeyRef: { name: "herd-backup-s3", key: "AWS_ACCESS_KEY_ID" } });
        assert.deepEqual(initEnv["AWS_SECRET_ACCESS_KEY"], { secretKeyRef: { name: "herd-backup-s3", key: "AWS_SECRET_ACCESS_KEY" } });
        assert.match(String((init["command"] as string[])[2]), /printf '%s' "\$AWS_SECRET_ACCESS_KEY" \| \/usr\/share\/elasticsearch\/bin\/elasticsearch-keystore add -x -f s3\.client\.default\.secret_key/);
        assert.doesNotMatch(JSON.stringify(elasticContainer(run)), /AWS_/, "the keys are in the keystore, not the server's env");
        assert.equal(recordsOf(run, "kubernetes:core/v1:ServiceAccount").length, 0, "no identity: no ServiceAccount");
        assert.deepEqual((JSON.parse(String(setupEnv(run)["SLM_JSON"])) as { retention: Json }).retention, { expire_after: "14d", min_count: 5, max_count: 500 });
    });
    it("GCS through Workload Identity: the bound ServiceAccount, the binding's env, egress to the store and metadata server", async () => {
        const identity = recordingIdentity({ "iam.gke.io/gcp-service-account": "es@p.iam.gserviceaccount.com" }, [{ name: "X_BINDING", value: "1" }]);
        const egress = [{ ports: [{ protocol: "TCP", port: 443 }] }, { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: [{ protocol: "TCP", port: 80 }] }];
        const run = await clusterFor({ snapshots: { store: { kind: "gcs", prefix: "elasticsearch/", bucket: "g", egress }, identity, intervalMinutes: 60 } });
        assert.equal(podSpec(run)["serviceAccountName"], "search");
        assert.equal(elasticContainer(run).env?.find((v) => v["name"] === "X_BINDING")?.["value"], "1");
        assert.deepEqual(esPolicy(run).egress.slice(2), egress);
        assert.equal((JSON.parse(String(setupEnv(run)["REPOSITORY_JSON"])) as Json)["type"], "gcs");
        assert.equal((JSON.parse(String(setupEnv(run)["SLM_JSON"])) as Json)["schedule"], "0 0 * * * ?");
    });
    it("a volume with one node: a ReadWriteOnce claim kept like the data, mounted at path.repo", async () => {
        const run = await clusterFor({ replicas: 1, snapshots: { store: { kind: "volume", storageClassName: "herd-retain", accessMode: "ReadWriteOnce" }, volumeSize: "5Gi" } });
        assert.doesNotThrow(() => buildManifests({ records: run.mocks.records }));
        const claim = plain(one(run, "kubernetes:core/v1:PersistentVolumeClaim", "search-snapshots"));
        assert.deepEqual((claim["spec"] as Json)["accessModes"], ["ReadWriteOnce"]);
        assert.deepEqual(((claim["spec"] as Json)["resources"] as Json)["requests"], { storage: "5Gi" });
        assert.equal(run.options.get("kubernetes:core/v1:PersistentVolumeClaim::search-snapshots")?.retainOnDelete, true);
        assert.equal(run.options.get("kubernetes:core/v1:PersistentVolumeClaim::search-snapshots")?.protect, true);
        assert.deepEqual(ymlOf(run)["path.repo"], ["/mnt/snapshots"]);
        assert.ok((elasticContainer(run).volumeMounts ?? []).some((m) => m["name"] === "snapshots" && m["mountPath"] === "/mnt/snapshots"));
        assert.deepEqual(JSON.parse(String(setupEnv(run)["REPOSITORY_JSON"])), { type: "fs", settings: { location: "/mnt/snapshots", compress: true } });
    });
    it("a ReadWriteOnce volume with three nodes is refused, naming the field, and nothing is created", async () => {
        const { error, mocks } = await evaluateUnderMocks(() => newCluster("es", { snapshots: { store: { kind: "volume", storageClassName: "c", accessMode: "ReadWriteOnce" } } }));
        assert.ok(error instanceof InvalidArgumentsError);
        assert.deepEqual(error.errors.map((p) => p.propertyPath), ["snapshots.store"]);
        // Only the internal CA, which the test creates beside it (index.ts's).
        assert.deepEqual(mocks.records.filter((r) => r.custom && !r.name.startsWith("herd-ca")).map((r) => r.type), []);
    });
});

describe("the program (onprem stack): the API logs in as its own user; no continuously running workload holds the elastic password", () => {
    let manifests: readonly { kind: string; metadata: { name: string }; [k: string]: unknown }[];
    before(async () => {
        manifests = buildManifests(await evaluateStack({ stack: "onprem" })).manifests;
    });
    type Pod = { containers: Container[]; initContainers?: Container[] };
    const podOf = (m: { kind: string; [k: string]: unknown }): Pod | undefined => {
        const spec = m["spec"] as Json;
        if (["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(m.kind)) {
            return (spec["template"] as { spec: Pod }).spec;
        }
        return m.kind === "CronJob" ? (((spec["jobTemplate"] as Json)["spec"] as Json)["template"] as { spec: Pod }).spec : undefined;
    };
    it("the API's env names the API user and its Secret", () => {
        const api = manifests.find((m) => m.kind === "Deployment" && m.metadata.name === "api");
        assert.ok(api !== undefined);
        const env = Object.fromEntries((podOf(api)?.containers[0].env ?? []).map((v) => [v["name"], v["value"] ?? v["valueFrom"]]));
        assert.equal(env["ELASTICSEARCH_USERNAME"], "herd-api");
        assert.deepEqual(env["ELASTICSEARCH_PASSWORD"], { secretKeyRef: { name: "elastic-api-credentials", key: "password" } });
    });
    it("only the deploy-time Jobs and the nodes' config init container (which exits before the server starts) refer to elastic-credentials", () => {
        const users: string[] = [];
        for (const m of manifests) {
            const pod = podOf(m);
            for (const c of [...(pod?.initContainers ?? []).map((x) => ({ ...x, init: true })), ...(pod?.containers ?? []).map((x) => ({ ...x, init: false }))]) {
                if (JSON.stringify(c).includes('"elastic-credentials"')) {
                    users.push(`${m.kind} ${m.metadata.name} ${c.init ? "init " : ""}${c.name}`);
                }
            }
        }
        assert.deepEqual(users.sort(), ["Job elastic-setup setup", "Job elastic-shrink shrink", "StatefulSet elastic init config"]);
    });
});
