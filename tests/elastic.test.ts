/**
 * ElasticCluster: every default and override, every validation rule, the pure helpers (heap, discovery,
 * elasticsearch.yml, certificate names, probe commands), the tls mocks, and the component itself under mocks:
 * discovery for 1 and 3 nodes, a restricted pod with no privileged or sysctl container, the password and private
 * keys never in the clear, transport TLS, probes, NetworkPolicy, protection, and schema-valid manifests.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { parse } from "yaml";
import {
    discoverySettings,
    ELASTIC_IMAGE,
    ElasticCluster,
    ElasticClusterArgs,
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
import { evaluateUnderMocks } from "../offline/evaluate";
import { buildManifests } from "../offline/manifests";
import { containsSecret, isWrappedSecret, MockRecord, RecordingMocks, redact, unwrap } from "../offline/mocks";
import { InvalidArgumentsError, problemText } from "../components/validation";
import { inspect } from "./helpers";

const BASE: ElasticClusterArgs = {
    namespace: "herd",
    storageClassName: "fast-ssd",
    clientLabels: { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "api" },
};

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
    it("security on, transport TLS with the mounted certificate, plain HTTP, mmap off", () => {
        const yml = parse(elasticsearchYml("es", 3)) as Record<string, unknown>;
        assert.equal(yml["cluster.name"], "es");
        assert.equal(yml["node.name"], "${POD_NAME}");
        assert.equal(yml["network.host"], "0.0.0.0");
        assert.equal(yml["network.publish_host"], "${POD_IP}");
        assert.equal(yml["node.store.allow_mmap"], false);
        assert.equal(yml["xpack.security.enabled"], true);
        assert.equal(yml["xpack.security.http.ssl.enabled"], false);
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
        assert.match(script, /^printf 'user = "elastic:%s"\\n' "\$ELASTIC_PASSWORD" \| curl .*-K - /);
        assert.match(script, /_cluster\/health\?wait_for_status=yellow&timeout=2s/);
        assert.match(script, / -f /, "a timed-out health wait (HTTP 408) fails the probe");
    });
    it("liveness asks the node, not the cluster, and counts any HTTP answer", () => {
        const script = elasticLivenessCommand()[2];
        assert.doesNotMatch(script, /_cluster\/health/);
        assert.doesNotMatch(script, / -f /);
        assert.match(script, /-K - /);
    });

    /** A stand-in for Elasticsearch: answers only the right basic credentials, with the given health. */
    async function fakeElastic(password: string, status: number): Promise<{ base: string; seen: string[]; close: () => void }> {
        const seen: string[] = [];
        const server = http.createServer((req, res) => {
            seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"}`);
            const ok = req.headers.authorization === `Basic ${Buffer.from(`elastic:${password}`).toString("base64")}`;
            res.writeHead(ok ? status : 401).end("{}");
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return { base: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => server.close() };
    }
    const hasCurl = spawnSync("sh", ["-c", "command -v curl"]).status === 0;
    /** Runs a probe command against the stand-in, as the kubelet would (exec, with the container's environment). */
    async function probe(command: string[], base: string, password: string): Promise<number | null> {
        const { spawn } = await import("node:child_process");
        const child = spawn(command[0], [command[1], command[2].replace("127.0.0.1:9200", base)], { env: { PATH: process.env["PATH"], ELASTIC_PASSWORD: password } });
        return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    }

    it("readiness really authenticates, and fails on a wrong password or a timed-out health wait", { skip: !hasCurl && "curl is not installed" }, async () => {
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
    it("liveness passes on any HTTP answer (even 401 or 503) and fails when nothing answers", { skip: !hasCurl && "curl is not installed" }, async () => {
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
async function clusterFor(args: Partial<ElasticClusterArgs> = {}, name = "search"): Promise<Run> {
    const run = await evaluateUnderMocks(() => new ElasticCluster(name, { ...BASE, ...args }));
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
const ymlOf = (run: Run) => parse(String((plain(one(run, "kubernetes:core/v1:ConfigMap"))["data"] as Json)["elasticsearch.yml"])) as Json;

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
        assert.deepEqual(kinds, ["ConfigMap", "NetworkPolicy", "PodDisruptionBudget", "Secret", "Secret", "Service", "Service", "StatefulSet"]);
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
        assert.equal(elasticContainer(run).env?.find((e) => e["name"] === "ES_TMPDIR")?.["value"], "/tmp");
        const volumes = Object.fromEntries((podSpec(run)["volumes"] as Json[]).map((v) => [v["name"], v]));
        for (const v of ["config", "logs", "tmp"]) {
            assert.ok(volumes[v]?.["emptyDir"] !== undefined, v);
        }
        assert.equal((volumes["certs"]?.["secret"] as Json)["secretName"], "search-transport-tls");
        // The init container fills the config emptyDir from the image and the ConfigMap.
        const init = containersOf(run)[0];
        assert.match(String((init["command"] as string[])[2]), /cp -R \/usr\/share\/elasticsearch\/config\/\. \/mnt\/config\//);
        assert.equal(init["image"], ELASTIC_IMAGE);
    });
    it("the elastic password: only through secretKeyRef, never in plain text in the pod", () => {
        const password = unwrap(one(run, "random:index/randomPassword:RandomPassword").state["result"]);
        assert.equal(typeof password, "string");
        const env = elasticContainer(run).env ?? [];
        const elastic = env.find((e) => e["name"] === "ELASTIC_PASSWORD");
        assert.deepEqual(elastic, { name: "ELASTIC_PASSWORD", valueFrom: { secretKeyRef: { name: "search-credentials", key: "password" } } });
        for (const record of run.mocks.records.filter((r) => r.type !== "random:index/randomPassword:RandomPassword" && r.name !== "search-credentials")) {
            assert.ok(!JSON.stringify(plain(record)).includes(String(password)), `the password leaked into ${record.type} ${record.name}`);
        }
        const credentials = one(run, "kubernetes:core/v1:Secret", "search-credentials");
        assert.ok(containsSecret(credentials.inputs["stringData"]));
        assert.equal((plain(credentials)["stringData"] as Json)["username"], "elastic");
    });
    it("readiness: cluster health yellow, authenticated, the password not in argv; liveness and startup ask the node", () => {
        const c = elasticContainer(run);
        const command = (probe: string) => ((c[probe] as Json)["exec"] as { command: string[] }).command;
        assert.deepEqual(command("readinessProbe"), elasticReadinessCommand());
        assert.match(command("readinessProbe")[2], /wait_for_status=yellow/);
        assert.match(command("readinessProbe")[2], /"\$ELASTIC_PASSWORD" \| curl/);
        assert.deepEqual(command("livenessProbe"), elasticLivenessCommand());
        assert.deepEqual(command("startupProbe"), elasticLivenessCommand());
        assert.ok(Number((c["startupProbe"] as Json)["failureThreshold"]) * Number((c["startupProbe"] as Json)["periodSeconds"]) >= 300, "a long startup");
        assert.equal(podSpec(run)["terminationGracePeriodSeconds"], 120);
    });
    it("transport TLS: one node certificate, signed by the cluster's CA, valid for every pod", () => {
        const ca = plain(one(run, "tls:index/selfSignedCert:SelfSignedCert"));
        assert.equal(ca["isCaCertificate"], true);
        const csr = plain(one(run, "tls:index/certRequest:CertRequest"));
        const names = csr["dnsNames"] as string[];
        for (const pod of ["search-0", "search-1", "search-2"]) {
            assert.ok(names.includes(`${pod}.search-headless.herd.svc.cluster.local`), pod);
            assert.ok(names.includes(`${pod}.search-headless.herd.svc`), pod);
        }
        for (const n of ["search-headless", "search", "search.herd.svc.cluster.local", "localhost"]) {
            assert.ok(names.includes(n), n);
        }
        const cert = plain(one(run, "tls:index/locallySignedCert:LocallySignedCert"));
        assert.equal(cert["caCertPem"], unwrap(one(run, "tls:index/selfSignedCert:SelfSignedCert").state["certPem"]));
        assert.deepEqual([...(cert["allowedUses"] as string[])].sort(), ["client_auth", "digital_signature", "key_encipherment", "server_auth"]);
        const secret = one(run, "kubernetes:core/v1:Secret", "search-transport-tls");
        assert.equal(plain(secret)["type"], "kubernetes.io/tls");
        assert.deepEqual(Object.keys(plain(secret)["stringData"] as Json).sort(), ["ca.crt", "tls.crt", "tls.key"]);
        assert.match(String((plain(secret)["stringData"] as Json)["tls.key"]), /^-----BEGIN PRIVATE KEY-----/);
        assert.equal((plain(secret)["stringData"] as Json)["tls.crt"], unwrap(one(run, "tls:index/locallySignedCert:LocallySignedCert").state["certPem"]));
        const yml = ymlOf(run);
        assert.equal(yml["xpack.security.enabled"], true);
        assert.equal(yml["xpack.security.transport.ssl.enabled"], true);
        assert.equal(yml["xpack.security.http.ssl.enabled"], false);
    });
    it("private keys are secret wherever they go, and go only to the tls resources and the TLS Secret", () => {
        for (const record of run.mocks.records) {
            assert.doesNotMatch(JSON.stringify(redact(record.inputs)), /PRIVATE KEY/, `a private key in the clear in ${record.type} ${record.name}`);
            const inClear = JSON.stringify(plain(record)).includes("PRIVATE KEY");
            if (inClear) {
                assert.ok(record.type.startsWith("tls:") || record.name === "search-transport-tls", `${record.type} ${record.name} holds a private key`);
            }
        }
        assert.ok(isWrappedSecret(one(run, "kubernetes:core/v1:Secret", "search-transport-tls").inputs["stringData"]));
        assert.ok(isWrappedSecret(one(run, "tls:index/certRequest:CertRequest").inputs["privateKeyPem"]));
        assert.ok(isWrappedSecret(one(run, "tls:index/locallySignedCert:LocallySignedCert").inputs["caPrivateKeyPem"]));
        assert.ok(isWrappedSecret(one(run, "tls:index/selfSignedCert:SelfSignedCert").inputs["privateKeyPem"]));
    });
    it("NetworkPolicy: clients on 9200; peers on 9300 and 9200; egress to peers and DNS only", () => {
        const spec = plain(one(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy"))["spec"] as Json;
        const self = { podSelector: { matchLabels: { "app.kubernetes.io/name": "elasticsearch", "app.kubernetes.io/instance": "search" } } };
        assert.deepEqual((spec["podSelector"] as Json)["matchLabels"], self.podSelector.matchLabels);
        assert.deepEqual(spec["policyTypes"], ["Ingress", "Egress"]);
        const ports = (rule: Json) => (rule["ports"] as Json[]).map((p) => p["port"]).sort();
        const ingress = spec["ingress"] as Json[];
        assert.equal(ingress.length, 2);
        assert.deepEqual(ingress[0]["from"], [{ podSelector: { matchLabels: BASE.clientLabels } }]);
        assert.deepEqual(ports(ingress[0]), [9200]);
        assert.deepEqual(ingress[1]["from"], [self]);
        assert.deepEqual(ports(ingress[1]), [9200, 9300]);
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
    it("outputs: the client Service's host, port 9200, the Secret, user elastic, plain http and a URL", async () => {
        const c = run.cluster;
        assert.equal((await inspect(c.host)).value, "search.herd.svc.cluster.local");
        assert.equal(c.port, 9200);
        assert.equal((await inspect(c.secretName)).value, "search-credentials");
        assert.equal(c.passwordKey, "password");
        assert.equal(c.username, "elastic");
        assert.equal(c.scheme, "http");
        assert.deepEqual(await inspect(c.url), { value: "http://search.herd.svc.cluster.local:9200", secret: false });
        assert.equal((await inspect(c.statefulSetName)).value, "search");
    });
    it("children are named <name>-<role> under the component", () => {
        const names = run.mocks.records.filter((r) => r.custom).map((r) => r.name);
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
    it("the certificate covers the one pod", () => {
        const names = plain(one(run, "tls:index/certRequest:CertRequest"))["dnsNames"] as string[];
        assert.ok(names.includes("search-0.search-headless.herd.svc.cluster.local"));
        assert.ok(!names.some((n) => n.startsWith("search-1.")));
    });
    it("protect false: nothing protected", () => {
        assert.equal(run.options.get("kubernetes:apps/v1:StatefulSet::search")?.protect, false);
        assert.equal(run.options.get("kubernetes:core/v1:Secret::search-credentials")?.protect, false);
    });
});

describe("ElasticCluster: invalid arguments", () => {
    it("throws one error naming the component and every bad field, and creates nothing", async () => {
        const { error, mocks } = await evaluateUnderMocks(() => new ElasticCluster("es", { ...BASE, replicas: 2, memory: "512Mi", cpu: "x", storageSize: "big" }));
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
        assert.deepEqual(mocks.records.filter((r) => r.custom).map((r) => r.type), []);
    });
});
