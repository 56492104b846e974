/**
 * RedisCache: one test per default, per override and per validation error; the component evaluated under mocks (a
 * tiny program through the offline harness, schema-valid manifests); and the generated redis.conf run by a real
 * redis-server (Debian's), which must refuse strangers and dangerous commands and keep its data across a restart.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as tls from "node:tls";
import { after, before, describe, it } from "node:test";
import {
    maxmemoryBytes,
    REDIS_CONFIG_PATH,
    REDIS_DISABLED_COMMANDS,
    REDIS_EVICTION_POLICIES,
    REDIS_IMAGE,
    REDIS_MAXMEMORY_FRACTION,
    redisConfig,
    RedisConfigOptions,
    redisDefaults,
    redisPingCommand,
    redisProblems,
    redisQuote,
    RedisResolved,
} from "../components/redis";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../components/pod-security";
import { InvalidArgumentsError, problemText } from "../components/validation";
import { MiB } from "../lib/quantity";
import { evaluateStack, Evaluation, RecordedResource } from "../offline/evaluate";
import { buildManifests, Manifest } from "../offline/manifests";
import { isWrappedSecret, MockRecord, redact, unwrap } from "../offline/mocks";
import { MINIMAL_ONPREM, parse, PROJECT_DIR, tempDir } from "./helpers";
import { findOnPath } from "../lib/path-lookup";
import { makeTestCertificates, TestCertificates } from "./services/test-ca";

// Metrics off here: these tests are about the server; the exporter sidecar is tested with metrics on in
// tests/metrics.test.ts (every stack) and tests/exporters.test.ts (against a real redis-server).
const REQUIRED = { namespace: "herd", storageClassName: "fast-ssd", clientLabels: { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "api" }, metrics: { enabled: false } };
const VALID: RedisResolved = redisDefaults(REQUIRED);

// ---------------------------------------------------------------------------------------------------------------
// Defaults, overrides, validation
// ---------------------------------------------------------------------------------------------------------------

describe("redisDefaults: one test per default", () => {
    it("storageSize defaults to 5Gi", () => assert.equal(VALID.storageSize, "5Gi"));
    it("memory defaults to 512Mi", () => assert.equal(VALID.memory, "512Mi"));
    it("cpu defaults to 250m", () => assert.equal(VALID.cpu, "250m"));
    it("evictionPolicy defaults to allkeys-lru", () => assert.equal(VALID.evictionPolicy, "allkeys-lru"));
    it("appendOnly defaults to true", () => assert.equal(VALID.appendOnly, true));
    it("protect defaults to true", () => assert.equal(VALID.protect, true));
    it("image defaults to the pinned official Redis 7.4 Debian image", () => {
        assert.equal(VALID.image, REDIS_IMAGE);
        assert.match(REDIS_IMAGE, /^redis:7\.4\.\d+-bookworm$/, "an exact patch version on Debian, never a floating tag");
    });
    it("the defaults are the config keys' defaults (config/keys.ts), so an unset key means the same everywhere", () => {
        const redis = parse({ ...MINIMAL_ONPREM }).data.redis;
        assert.deepEqual(
            { storageSize: VALID.storageSize, memory: VALID.memory, cpu: VALID.cpu, evictionPolicy: VALID.evictionPolicy, appendOnly: VALID.appendOnly },
            redis,
        );
    });
});

describe("redisDefaults: overrides", () => {
    it("storageSize", () => assert.equal(redisDefaults({ ...REQUIRED, storageSize: "20Gi" }).storageSize, "20Gi"));
    it("memory", () => assert.equal(redisDefaults({ ...REQUIRED, memory: "2Gi" }).memory, "2Gi"));
    it("cpu", () => assert.equal(redisDefaults({ ...REQUIRED, cpu: "1" }).cpu, "1"));
    it("evictionPolicy", () => assert.equal(redisDefaults({ ...REQUIRED, evictionPolicy: "volatile-ttl" }).evictionPolicy, "volatile-ttl"));
    it("appendOnly false stays false (?? not ||)", () => assert.equal(redisDefaults({ ...REQUIRED, appendOnly: false }).appendOnly, false));
    it("protect false stays false (?? not ||)", () => assert.equal(redisDefaults({ ...REQUIRED, protect: false }).protect, false));
    it("image", () => assert.equal(redisDefaults({ ...REQUIRED, image: "registry.example.com/redis:7.4.11-bookworm" }).image, "registry.example.com/redis:7.4.11-bookworm"));
    it("empty strings are kept for validation to report, not replaced by defaults", () => {
        assert.equal(redisDefaults({ ...REQUIRED, memory: "" }).memory, "");
    });
});

describe("redisProblems: one test per validation error", () => {
    const problems = (over: Partial<RedisResolved>) => redisProblems({ ...VALID, ...over }).map(problemText);
    it("the defaults are valid", () => assert.deepEqual(redisProblems(VALID), []));
    it("every eviction policy Redis knows is accepted", () => {
        for (const evictionPolicy of REDIS_EVICTION_POLICIES) {
            assert.deepEqual(problems({ evictionPolicy }), [], evictionPolicy);
        }
    });
    it("64Mi of memory is the minimum, and accepted", () => assert.deepEqual(problems({ memory: "64Mi" }), []));
    it("memory below 64Mi", () => assert.deepEqual(problems({ memory: "32Mi" }), ['memory: expected at least 64Mi, got "32Mi"']));
    it("memory that is not a quantity", () => assert.deepEqual(problems({ memory: "512 MB" }), ['memory: expected a Kubernetes quantity such as 2Gi, got "512 MB"']));
    it("unparseable storage size", () => assert.deepEqual(problems({ storageSize: "5 GB" }), ['storageSize: expected a Kubernetes quantity such as 20Gi, got "5 GB"']));
    it("zero storage size", () => assert.deepEqual(problems({ storageSize: "0" }), ['storageSize: expected a Kubernetes quantity such as 20Gi, got "0"']));
    it("unknown eviction policy", () => {
        assert.deepEqual(problems({ evictionPolicy: "lru" }), [
            'evictionPolicy: expected one of noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl, got "lru"',
        ]);
    });
    it("eviction policy in the wrong case", () => assert.equal(problems({ evictionPolicy: "ALLKEYS-LRU" }).length, 1));
    it("zero cpu", () => assert.deepEqual(problems({ cpu: "0" }), ['cpu: expected a CPU quantity such as 500m, got "0"']));
    it("negative cpu", () => assert.deepEqual(problems({ cpu: "-250m" }), ['cpu: expected a CPU quantity such as 500m, got "-250m"']));
    it("cpu that is not a quantity", () => assert.deepEqual(problems({ cpu: "quarter" }), ['cpu: expected a CPU quantity such as 500m, got "quarter"']));
    it("appendOnly that is not a boolean (untyped callers)", () => {
        assert.deepEqual(problems({ appendOnly: "false" as unknown as boolean }), ['appendOnly: expected true or false, got "false"']);
    });
    it("empty image", () => assert.deepEqual(problems({ image: "" }), [`image: expected an image reference such as "${REDIS_IMAGE}", got ""`]));
    it("every problem at once, each naming its field", () => {
        const all = problems({ memory: "1Mi", storageSize: "big", evictionPolicy: "fifo", cpu: "0" });
        assert.deepEqual(all.map((p) => p.split(":")[0]).sort(), ["cpu", "evictionPolicy", "memory", "storageSize"]);
        for (const p of all) {
            assert.match(p, /^\w+: expected .+, got .+$/);
        }
    });
});

// ---------------------------------------------------------------------------------------------------------------
// redis.conf
// ---------------------------------------------------------------------------------------------------------------

const SETTINGS: RedisConfigOptions = { memory: "512Mi", evictionPolicy: "allkeys-lru", appendOnly: true };

/** Directive lines (no comments, no blanks), split into name and the rest. */
function directives(conf: string): [string, string][] {
    return conf
        .split("\n")
        .filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"))
        .map((l) => {
            const [name, ...rest] = l.split(" ");
            return [name, rest.join(" ")];
        });
}

function directive(conf: string, name: string): string[] {
    return directives(conf)
        .filter(([n]) => n === name)
        .map(([, v]) => v);
}

describe("maxmemoryBytes: 75% of the memory limit", () => {
    it("512Mi -> 384MiB", () => assert.equal(maxmemoryBytes("512Mi"), 384 * MiB));
    it("64Mi -> 48MiB", () => assert.equal(maxmemoryBytes("64Mi"), 48 * MiB));
    it("2Gi -> 1536MiB", () => assert.equal(maxmemoryBytes("2Gi"), 1536 * MiB));
    it("decimal units round down to whole mebibytes", () => assert.equal(maxmemoryBytes("100M"), 71 * MiB));
    it("the fraction is the one config/keys.ts documents", () => assert.equal(REDIS_MAXMEMORY_FRACTION, 0.75));
});

describe("redisConfig", () => {
    const conf = redisConfig(SETTINGS, "s3cretPassw0rd");
    it("requires the password, quoted", () => assert.deepEqual(directive(conf, "requirepass"), ['"s3cretPassw0rd"']));
    it("listens on every interface, protected mode on, TLS only on 6379: no plaintext port", () => {
        assert.deepEqual(directive(conf, "bind"), ["* -::*"]);
        assert.deepEqual(directive(conf, "protected-mode"), ["yes"]);
        assert.deepEqual(directive(conf, "port"), ["0"], "port 0: no plaintext listener");
        assert.deepEqual(directive(conf, "tls-port"), ["6379"]);
    });
    it("TLS: the mounted certificate, key and CA, no client certificates (the password stays), TLS 1.2 and 1.3 only", () => {
        assert.deepEqual(directive(conf, "tls-cert-file"), ["/etc/redis/tls/tls.crt"]);
        assert.deepEqual(directive(conf, "tls-key-file"), ["/etc/redis/tls/tls.key"]);
        assert.deepEqual(directive(conf, "tls-ca-cert-file"), ["/etc/redis/tls/ca.crt"]);
        assert.deepEqual(directive(conf, "tls-auth-clients"), ["no"]);
        assert.deepEqual(directive(conf, "tls-protocols"), ['"TLSv1.2 TLSv1.3"']);
        assert.deepEqual(directive(redisConfig({ ...SETTINGS, tlsDir: "/x" }, "p"), "tls-key-file"), ["/x/tls.key"], "tlsDir moves the files");
    });
    it("tls false (a local test server only): plaintext on the port, no tls- line", () => {
        const plain = redisConfig({ ...SETTINGS, tls: false }, "p");
        assert.deepEqual(directive(plain, "port"), ["6379"]);
        assert.deepEqual(directives(plain).filter(([n]) => n.startsWith("tls-")), []);
    });
    it("keeps its data in /data (the volume)", () => assert.deepEqual(directive(conf, "dir"), ["/data"]));
    it("maxmemory is 75% of the memory limit", () => {
        assert.deepEqual(directive(conf, "maxmemory"), ["384MB"]);
        assert.deepEqual(directive(redisConfig({ ...SETTINGS, memory: "2Gi" }, "p"), "maxmemory"), ["1536MB"]);
    });
    it("maxmemory-policy is the eviction policy", () => {
        assert.deepEqual(directive(conf, "maxmemory-policy"), ["allkeys-lru"]);
        assert.deepEqual(directive(redisConfig({ ...SETTINGS, evictionPolicy: "volatile-lfu" }, "p"), "maxmemory-policy"), ["volatile-lfu"]);
    });
    it("append-only on, fsynced every second", () => {
        assert.deepEqual(directive(conf, "appendonly"), ["yes"]);
        assert.deepEqual(directive(conf, "appendfsync"), ["everysec"]);
    });
    it("append-only off when asked", () => assert.deepEqual(directive(redisConfig({ ...SETTINGS, appendOnly: false }, "p"), "appendonly"), ["no"]));
    it("snapshots after 1 change in an hour, 100 in 5 minutes, 10000 in a minute", () => assert.deepEqual(directive(conf, "save"), ["3600 1 300 100 60 10000"]));
    it("runs in the foreground, logging to stdout", () => {
        assert.deepEqual(directive(conf, "daemonize"), ["no"]);
        assert.deepEqual(directive(conf, "logfile"), ['""']);
    });
    it("disables FLUSHALL, FLUSHDB, CONFIG and DEBUG (and the rest of the list), each with its reason", () => {
        const renamed = directive(conf, "rename-command");
        for (const command of ["FLUSHALL", "FLUSHDB", "CONFIG", "DEBUG"]) {
            assert.ok(command in REDIS_DISABLED_COMMANDS, command);
        }
        assert.deepEqual(renamed, Object.keys(REDIS_DISABLED_COMMANDS).map((c) => `${c} ""`));
        for (const [command, why] of Object.entries(REDIS_DISABLED_COMMANDS)) {
            assert.ok(conf.includes(`# ${command}: ${why}\nrename-command ${command} ""`), command);
        }
    });
    it("has no trailing comments (redis.conf would read them as arguments)", () => {
        for (const [name, value] of directives(conf)) {
            assert.ok(!value.includes("#") || name === "requirepass", `${name} ${value}`);
        }
    });
    it("port, dir and bind can be overridden (for a test server), nothing else changes", () => {
        const local = redisConfig({ ...SETTINGS, port: 16379, dir: "/tmp/x", bind: "127.0.0.1" }, "s3cretPassw0rd");
        assert.deepEqual(directive(local, "tls-port"), ["16379"]);
        assert.deepEqual(directive(local, "dir"), ["/tmp/x"]);
        assert.deepEqual(directive(local, "bind"), ["127.0.0.1"]);
        const rest = (c: string) => directives(c).filter(([n]) => !["tls-port", "dir", "bind"].includes(n));
        assert.deepEqual(rest(local), rest(conf));
    });
    it("quotes any password with Redis's escapes", () => {
        assert.equal(redisQuote("abc123"), '"abc123"');
        assert.equal(redisQuote('a "b" \\ c'), '"a \\"b\\" \\\\ c"');
        assert.equal(redisQuote("x\ny\u00e9"), '"x\\x0ay\\xc3\\xa9"');
    });
    it("the probe speaks TLS checked against the mounted CA, reads the password from REDISCLI_AUTH, never argv, and wants PONG", () => {
        assert.deepEqual(redisPingCommand(), ["sh", "-c", '[ "$(redis-cli --tls --cacert /etc/redis/tls/ca.crt -h 127.0.0.1 -p 6379 ping)" = PONG ]']);
        assert.deepEqual(redisPingCommand(6379, false), ["sh", "-c", '[ "$(redis-cli -h 127.0.0.1 -p 6379 ping)" = PONG ]'], "plaintext only for a tls: false test server");
        assert.ok(!redisPingCommand().join(" ").includes("-a "), "no -a <password>");
    });
});

// ---------------------------------------------------------------------------------------------------------------
// The component under mocks: a tiny program evaluated by the offline harness
// ---------------------------------------------------------------------------------------------------------------

/** Evaluates a program that creates one RedisCache "redis" with the required args plus `extra`. */
async function evaluateRedis(extra: Record<string, unknown> = {}): Promise<Evaluation> {
    const dir = tempDir("herd-redis-program-");
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: herd\nruntime: nodejs\n");
    fs.writeFileSync(path.join(dir, "Pulumi.unit.yaml"), "config: {}\n");
    const component = path.join(PROJECT_DIR, "components", "redis.ts");
    fs.writeFileSync(
        path.join(dir, "index.ts"),
        [
            `const { RedisCache } = require(${JSON.stringify(component)});`,
            `const { InternalCa } = require(${JSON.stringify(path.join(PROJECT_DIR, "components", "internal-ca.ts"))});`,
            "module.exports = async () => {",
            `    const redis = new RedisCache("redis", { ca: new InternalCa("herd-ca", { namespace: "herd" }), ...${JSON.stringify({ ...REQUIRED, ...extra })} });`,
            "    return { host: redis.host, port: redis.port, secretName: redis.secretName, passwordKey: redis.passwordKey, statefulSetName: redis.statefulSetName };",
            "};",
            "",
        ].join("\n"),
    );
    return evaluateStack({ stack: "unit", projectDir: dir });
}

function recorded(e: Evaluation, type: string, name: string): RecordedResource {
    const found = e.resources.filter((r) => r.type === type && r.name === name);
    assert.equal(found.length, 1, `expected one ${type} ${name}, found ${found.length}`);
    return found[0];
}

function rawRecord(e: Evaluation, type: string, name: string): MockRecord {
    const found = e.records.find((r) => r.type === type && r.name === name);
    assert.ok(found !== undefined, `${type} ${name} not recorded`);
    return found;
}

function manifest(e: Evaluation, kind: string, name: string): Manifest {
    const found = buildManifests(e).manifests.find((m) => m.kind === kind && m.metadata.name === name);
    assert.ok(found !== undefined, `no ${kind} ${name} manifest`);
    return found;
}

interface Container {
    name: string;
    image: string;
    command?: string[];
    args?: string[];
    env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
    ports?: { name: string; containerPort: number }[];
    volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    securityContext: unknown;
    startupProbe: Probe;
    readinessProbe: Probe;
    livenessProbe: Probe;
    lifecycle?: unknown;
}
interface Probe {
    exec: { command: string[] };
    periodSeconds: number;
    timeoutSeconds: number;
    failureThreshold: number;
}
interface PodSpec {
    securityContext: unknown;
    automountServiceAccountToken: boolean;
    enableServiceLinks: boolean;
    terminationGracePeriodSeconds: number;
    initContainers?: unknown[];
    containers: Container[];
    volumes: { name: string; secret?: { secretName: string; defaultMode: number }; [k: string]: unknown }[];
}
interface StatefulSetSpec {
    replicas: number;
    serviceName: string;
    selector: { matchLabels: Record<string, string> };
    persistentVolumeClaimRetentionPolicy: { whenDeleted: string; whenScaled: string };
    volumeClaimTemplates: { metadata: { name: string }; spec: { storageClassName: string; accessModes: string[]; resources: { requests: { storage: string } } } }[];
    template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec };
}

const STS = "kubernetes:apps/v1:StatefulSet";
const SECRET = "kubernetes:core/v1:Secret";
const PASSWORD = "random:index/randomPassword:RandomPassword";

function statefulSetSpec(e: Evaluation): StatefulSetSpec {
    return manifest(e, "StatefulSet", "redis")["spec"] as StatefulSetSpec;
}

function generatedPassword(e: Evaluation): string {
    const state = rawRecord(e, PASSWORD, "redis-password").state["result"];
    assert.ok(isWrappedSecret(state), "the mock's generated password is a secret");
    const value = unwrap(state);
    assert.ok(typeof value === "string" && value.length === 32);
    return value;
}

function configText(e: Evaluation): string {
    const data = manifest(e, "Secret", "redis-config")["stringData"] as Record<string, string>;
    return data["redis.conf"];
}

describe("RedisCache under mocks", () => {
    let e: Evaluation;
    before(async () => {
        e = await evaluateRedis();
    });

    it("creates its children, each named <name>-<role> under the component", () => {
        // The CA (herd-ca) is the program's, passed in; the server certificate and its Secret are the component's.
        const mine = e.resources.filter((r) => r.type !== "herd:index:RedisCache" && r.name !== "herd-ca" && r.parent !== "herd-ca").map((r) => `${r.type} ${r.name} <- ${r.parent}`);
        assert.deepEqual(mine.sort(), [
            "kubernetes:apps/v1:StatefulSet redis <- redis",
            "kubernetes:core/v1:Secret redis-config <- redis",
            "kubernetes:core/v1:Secret redis-credentials <- redis",
            "kubernetes:core/v1:Secret redis-tls <- redis",
            "kubernetes:core/v1:Service redis <- redis",
            "kubernetes:core/v1:Service redis-headless <- redis",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy redis <- redis",
            "kubernetes:policy/v1:PodDisruptionBudget redis <- redis",
            "random:index/randomPassword:RandomPassword redis-password <- redis",
            "tls:index/certRequest:CertRequest redis-tls-csr <- redis",
            "tls:index/locallySignedCert:LocallySignedCert redis-tls-cert <- redis",
            "tls:index/privateKey:PrivateKey redis-tls-key <- redis",
        ]);
        assert.equal(recorded(e, "herd:index:RedisCache", "redis").parent, null);
    });

    it("every Kubernetes object is schema-valid", () => {
        // Redis's 8 and the CA's ConfigMap.
        assert.equal(buildManifests(e).manifests.length, 9);
    });

    it("StatefulSet keeps its volumes: fixed name, Retain/Retain, claims on the given class, protected", () => {
        const m = manifest(e, "StatefulSet", "redis");
        assert.equal(m.metadata.name, "redis");
        assert.equal(m.metadata.namespace, "herd");
        const spec = statefulSetSpec(e);
        assert.equal(spec.replicas, 1);
        assert.equal(spec.serviceName, "redis-headless");
        assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
        assert.equal(spec.volumeClaimTemplates.length, 1);
        const claim = spec.volumeClaimTemplates[0];
        assert.equal(claim.metadata.name, "data");
        assert.equal(claim.spec.storageClassName, "fast-ssd");
        assert.deepEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
        assert.equal(claim.spec.resources.requests.storage, "5Gi");
        assert.deepEqual(spec.selector.matchLabels, { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis" });
        assert.equal(recorded(e, STS, "redis").options.protect, true);
        assert.equal(recorded(e, SECRET, "redis-credentials").options.protect, true);
        assert.equal(recorded(e, PASSWORD, "redis-password").options.protect, true);
        assert.equal(spec.template.spec.containers[0].volumeMounts.find((v) => v.name === "data")?.mountPath, "/data");
    });

    it("the headless Service is the StatefulSet's serviceName; the client Service serves 6379", () => {
        const headless = manifest(e, "Service", "redis-headless")["spec"] as { clusterIP: string; ports: { port: number; targetPort: string }[] };
        assert.equal(headless.clusterIP, "None");
        const client = manifest(e, "Service", "redis")["spec"] as { type: string; ports: { name: string; port: number; targetPort: string }[] };
        assert.equal(client.type, "ClusterIP");
        assert.deepEqual(client.ports.map((p) => [p.name, p.port, p.targetPort]), [["redis", 6379, "redis"]]);
    });

    it("outputs the DataEndpoint contract", () => {
        assert.deepEqual(e.outputs, {
            host: "redis.herd.svc.cluster.local",
            port: 6379,
            secretName: "redis-credentials",
            passwordKey: "password",
            statefulSetName: "redis",
        });
    });

    it("the generated password is in the two Secrets, as secrets, and nowhere else in plain text", () => {
        const password = generatedPassword(e);
        const sts = rawRecord(e, STS, "redis");
        assert.ok(!JSON.stringify(unwrap(sts.inputs)).includes(password), "the StatefulSet (env, args, command, probes) holds the password");
        for (const r of e.records) {
            const plain = JSON.stringify(unwrap(r.inputs));
            const inSecret = r.type === SECRET && (r.name === "redis-credentials" || r.name === "redis-config");
            assert.equal(plain.includes(password), inSecret, `${r.type} ${r.name}`);
            assert.ok(!JSON.stringify(redact(r.inputs)).includes(password), `${r.type} ${r.name}: the password is not marked secret`);
        }
        const credentials = rawRecord(e, SECRET, "redis-credentials").inputs["stringData"] as Record<string, unknown>;
        assert.ok(isWrappedSecret(credentials["password"]) || isWrappedSecret(credentials));
        const config = rawRecord(e, SECRET, "redis-config").inputs["stringData"] as Record<string, unknown>;
        assert.ok(isWrappedSecret(config["redis.conf"]) || isWrappedSecret(config), "the whole redis.conf is a secret Output");
        assert.ok(!JSON.stringify(e.resources).includes(password), "resources.json");
        assert.ok(!JSON.stringify(buildManifests(e).redacted).includes(password), "manifests.yaml");
        assert.ok(!JSON.stringify(e.outputs).includes(password), "stack outputs");
    });

    it("the config Secret holds redis.conf with the password and 75% of the memory as maxmemory", () => {
        const conf = configText(e);
        assert.deepEqual(Object.keys(manifest(e, "Secret", "redis-config")["stringData"] as object), ["redis.conf"]);
        assert.equal(conf, redisConfig({ memory: "512Mi", evictionPolicy: "allkeys-lru", appendOnly: true }, generatedPassword(e)));
        assert.deepEqual(directive(conf, "requirepass"), [`"${generatedPassword(e)}"`]);
        assert.deepEqual(directive(conf, "maxmemory"), ["384MB"]);
        assert.deepEqual(directive(conf, "maxmemory-policy"), ["allkeys-lru"]);
        assert.deepEqual(directive(conf, "appendonly"), ["yes"]);
        for (const command of ["FLUSHALL", "FLUSHDB", "CONFIG", "DEBUG"]) {
            assert.ok(directive(conf, "rename-command").includes(`${command} ""`), command);
        }
    });

    it("redis-server starts with the mounted config file as its only argument", () => {
        const pod = statefulSetSpec(e).template.spec;
        const [container] = pod.containers;
        assert.equal(container.image, REDIS_IMAGE);
        assert.deepEqual(container.command, ["redis-server", REDIS_CONFIG_PATH]);
        assert.equal(container.args, undefined);
        assert.deepEqual(container.volumeMounts.find((v) => v.name === "config"), { name: "config", mountPath: "/etc/redis", readOnly: true });
        assert.deepEqual(pod.volumes.find((v) => v.name === "config"), { name: "config", secret: { secretName: "redis-config", defaultMode: 0o440 } });
        assert.equal(REDIS_CONFIG_PATH, "/etc/redis/redis.conf");
    });

    it("env holds no literal value: only REDISCLI_AUTH, from the credentials Secret", () => {
        const [container] = statefulSetSpec(e).template.spec.containers;
        assert.deepEqual(container.env, [{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: "redis-credentials", key: "password" } } }]);
    });

    it("probes exec redis-cli ping, authenticated through REDISCLI_AUTH, with sensible thresholds", () => {
        const [container] = statefulSetSpec(e).template.spec.containers;
        for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
            assert.deepEqual(probe.exec.command, redisPingCommand());
            assert.ok(probe.timeoutSeconds <= probe.periodSeconds, "a probe ends before the next one starts");
        }
        assert.ok(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold >= 300, "minutes to load a large AOF");
        assert.ok(container.livenessProbe.periodSeconds * container.livenessProbe.failureThreshold >= 60, "no restart on a short stall");
        assert.ok(container.readinessProbe.periodSeconds * container.readinessProbe.failureThreshold <= 60, "out of the Service within a minute");
        assert.equal(container.lifecycle, undefined, "no preStop: Redis saves on SIGTERM itself");
    });

    it("restricted security context everywhere; no token, no service links; room to save on shutdown", () => {
        const pod = statefulSetSpec(e).template.spec;
        assert.deepEqual(pod.securityContext, restrictedPodSecurityContext(999));
        assert.equal(pod.initContainers, undefined);
        for (const c of pod.containers) {
            assert.deepEqual(c.securityContext, restrictedContainerSecurityContext());
        }
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal(pod.enableServiceLinks, false);
        assert.equal(pod.terminationGracePeriodSeconds, 60);
        assert.deepEqual(pod.volumes.map((v) => v.name), ["config", "tls"], "no hostPath, no scratch: Redis writes only to /data");
        assert.deepEqual(pod.containers[0].resources, { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
    });

    it("the pod rolls when the settings change (checksum of redis.conf without the password)", () => {
        const annotations = statefulSetSpec(e).template.metadata.annotations;
        const expected = createHash("sha256").update(redisConfig({ memory: "512Mi", evictionPolicy: "allkeys-lru", appendOnly: true }, "")).digest("hex");
        assert.deepEqual(Object.keys(annotations).sort(), ["checksum/config", "herd.dev/tls-checksum"], "and a renewed certificate rolls it (tests/internal-tls.test.ts)");
        assert.equal(annotations["checksum/config"], expected);
    });

    it("NetworkPolicy: ingress only from the client labels on 6379, no egress at all", () => {
        const spec = manifest(e, "NetworkPolicy", "redis")["spec"];
        assert.deepEqual(spec, {
            podSelector: { matchLabels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis" } },
            policyTypes: ["Ingress", "Egress"],
            ingress: [{ from: [{ podSelector: { matchLabels: REQUIRED.clientLabels } }], ports: [{ protocol: "TCP", port: 6379 }] }],
            egress: [],
        });
    });

    it("PodDisruptionBudget: a node drain may evict the single pod (the cache restarts elsewhere)", () => {
        assert.deepEqual(manifest(e, "PodDisruptionBudget", "redis")["spec"], {
            maxUnavailable: 1,
            unhealthyPodEvictionPolicy: "AlwaysAllow",
            selector: { matchLabels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis" } },
        });
    });

    it("recommended labels on every object", () => {
        for (const m of buildManifests(e).manifests.filter((x) => x.metadata.name !== "herd-ca")) {
            const labels = m.metadata["labels"] as Record<string, string>;
            assert.equal(labels["app.kubernetes.io/name"], "redis", `${m.kind} ${m.metadata.name}`);
            assert.equal(labels["app.kubernetes.io/component"], "cache");
            assert.equal(labels["app.kubernetes.io/part-of"], "herd");
            assert.equal(labels["app.kubernetes.io/managed-by"], "pulumi");
        }
    });
});

describe("RedisCache under mocks: overrides and errors", () => {
    it("settings flow into the config, the resources and the claim", async () => {
        const e = await evaluateRedis({ memory: "2Gi", cpu: "1", storageSize: "20Gi", evictionPolicy: "volatile-lfu", appendOnly: false, image: "registry.example.com/redis:7.4.11-bookworm" });
        const conf = configText(e);
        assert.deepEqual(directive(conf, "maxmemory"), ["1536MB"]);
        assert.deepEqual(directive(conf, "maxmemory-policy"), ["volatile-lfu"]);
        assert.deepEqual(directive(conf, "appendonly"), ["no"]);
        assert.deepEqual(directive(conf, "save"), ["3600 1 300 100 60 10000"], "snapshots stay on without the AOF");
        const spec = statefulSetSpec(e);
        assert.equal(spec.volumeClaimTemplates[0].spec.resources.requests.storage, "20Gi");
        assert.deepEqual(spec.template.spec.containers[0].resources, { requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "2", memory: "2Gi" } });
        assert.equal(spec.template.spec.containers[0].image, "registry.example.com/redis:7.4.11-bookworm");
        const before = createHash("sha256").update(redisConfig(SETTINGS, "")).digest("hex");
        assert.notEqual(spec.template.metadata.annotations["checksum/config"], before, "changed settings roll the pod");
    });
    it("protect false: nothing is protected", async () => {
        const e = await evaluateRedis({ protect: false });
        for (const r of e.resources) {
            assert.equal(r.options.protect, false, `${r.type} ${r.name}`);
        }
    });
    it("invalid arguments: one ResourceError naming the component and every field, before anything is created", async () => {
        await assert.rejects(evaluateRedis({ memory: "32Mi", evictionPolicy: "lru", cpu: "0", storageSize: "lots" }), (err: Error) => {
            assert.match(err.message, /RedisCache "redis": invalid arguments:/);
            assert.match(err.message, /- storageSize: expected a Kubernetes quantity such as 20Gi, got "lots"/);
            assert.match(err.message, /- memory: expected at least 64Mi, got "32Mi"/);
            assert.match(err.message, /- cpu: expected a CPU quantity such as 500m, got "0"/);
            assert.match(err.message, /- evictionPolicy: expected one of noeviction, .*got "lru"/);
            assert.ok(err instanceof InvalidArgumentsError);
            assert.deepEqual(err.errors.map((p) => p.propertyPath), ["storageSize", "memory", "cpu", "evictionPolicy"]);
            assert.deepEqual(err.errors[1], { propertyPath: "memory", reason: 'expected at least 64Mi, got "32Mi"' });
            return true;
        });
    });
});

// ---------------------------------------------------------------------------------------------------------------
// The generated redis.conf in a real redis-server
// ---------------------------------------------------------------------------------------------------------------

const CI = ["true", "1", "yes"].includes((process.env["CI"] ?? "").toLowerCase());
const REDIS_SERVER = findOnPath("redis-server");
const MISSING = "redis-server is not installed (Debian: apt-get install -y redis-server; .ci/run must install it)";
// Locally a missing server skips these tests; in CI it fails them (in `before`), never a silent skip.
const SKIP = REDIS_SERVER === undefined && !CI ? `${MISSING}: skipped outside CI` : false;

/** A test password with characters that need quoting in redis.conf (the generated ones are letters and digits). */
const TEST_PASSWORD = 'Te st"pass\\word#1';

type Reply = string | number | null | RespError | Reply[];
class RespError {
    constructor(readonly message: string) {}
}

function parseReply(buf: Buffer, at: number): { value: Reply; next: number } | undefined {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) {
        return undefined;
    }
    const line = buf.toString("utf8", at + 1, eol);
    const next = eol + 2;
    switch (String.fromCharCode(buf[at])) {
        case "+":
            return { value: line, next };
        case "-":
            return { value: new RespError(line), next };
        case ":":
            return { value: Number(line), next };
        case "$": {
            const n = Number(line);
            if (n < 0) {
                return { value: null, next };
            }
            return buf.length < next + n + 2 ? undefined : { value: buf.toString("utf8", next, next + n), next: next + n + 2 };
        }
        case "*": {
            const n = Number(line);
            const items: Reply[] = [];
            let pos = next;
            for (let i = 0; i < n; i++) {
                const item = parseReply(buf, pos);
                if (item === undefined) {
                    return undefined;
                }
                items.push(item.value);
                pos = item.next;
            }
            return { value: n < 0 ? null : items, next: pos };
        }
        default:
            throw new Error(`unexpected RESP reply: ${JSON.stringify(buf.toString("utf8", at, eol))}`);
    }
}

/** A minimal RESP client: one command at a time, replies exactly as the server sent them. */
class Client {
    private buffer = Buffer.alloc(0);
    private pending: { resolve: (reply: Reply) => void; reject: (err: Error) => void } | undefined;

    private constructor(private readonly socket: net.Socket) {
        socket.on("data", (chunk) => {
            this.buffer = Buffer.concat([this.buffer, chunk]);
            const parsed = parseReply(this.buffer, 0);
            if (parsed !== undefined && this.pending !== undefined) {
                this.buffer = this.buffer.subarray(parsed.next);
                const { resolve } = this.pending;
                this.pending = undefined;
                resolve(parsed.value);
            }
        });
        socket.on("error", (err) => {
            this.pending?.reject(err);
            this.pending = undefined;
        });
    }

    /** Over TLS, the server's certificate verified against the test CA for 127.0.0.1, as the API and the probe do. */
    static connect(port: number): Promise<Client> {
        return new Promise((resolve, reject) => {
            const socket = tls.connect({ host: "127.0.0.1", port, ca: testCertificates().caPem, minVersion: "TLSv1.2" }, () => resolve(new Client(socket)));
            socket.once("error", reject);
        });
    }

    command(...args: string[]): Promise<Reply> {
        assert.equal(this.pending, undefined, "one command at a time");
        return new Promise((resolve, reject) => {
            this.pending = { resolve, reject };
            this.socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
        });
    }

    close(): void {
        this.socket.destroy();
    }
}

async function authenticated(port: number): Promise<Client> {
    const client = await Client.connect(port);
    assert.equal(await client.command("AUTH", TEST_PASSWORD), "OK");
    return client;
}

/** `INFO <section>` as key/value pairs. */
async function info(client: Client, section: string): Promise<Record<string, string>> {
    const text = await client.command("INFO", section);
    assert.equal(typeof text, "string");
    return Object.fromEntries(
        (text as string)
            .split("\r\n")
            .filter((l) => l.includes(":"))
            .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
    );
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
        });
    });
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

let certificates: TestCertificates | undefined;
/** One CA and server certificate (for 127.0.0.1) for every test server here, as the Secret redis-tls holds them. */
function testCertificates(): TestCertificates {
    certificates ??= makeTestCertificates(path.join(tempDir("herd-redis-tls-"), "tls"));
    return certificates;
}

/** A redis-server started by the test on redis.conf as generated (TLS only), with only port, dir, bind and the certificate's directory overridden. */
class Server {
    private child: ChildProcess | undefined;
    private log = "";
    private exited: Promise<number | null> = Promise.resolve(null);
    readonly dir = tempDir("herd-redis-data-");

    constructor(
        readonly port: number,
        readonly settings: RedisConfigOptions,
    ) {
        fs.writeFileSync(path.join(this.dir, "redis.conf"), redisConfig({ ...settings, port, dir: this.dir, bind: "127.0.0.1", tlsDir: testCertificates().dir }, TEST_PASSWORD), { mode: 0o600 });
    }

    get running(): boolean {
        return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
    }

    async start(): Promise<void> {
        if (REDIS_SERVER === undefined) {
            throw new Error(MISSING);
        }
        const child = spawn(REDIS_SERVER, [path.join(this.dir, "redis.conf")], { stdio: ["ignore", "pipe", "pipe"] });
        this.child = child;
        this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
        child.stdout?.on("data", (d: Buffer) => (this.log += d.toString()));
        child.stderr?.on("data", (d: Buffer) => (this.log += d.toString()));
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
            if (!this.running) {
                throw new Error(`redis-server exited at start:\n${this.log}`);
            }
            try {
                const client = await Client.connect(this.port);
                const reply = await client.command("PING");
                client.close();
                // Up, and asking for the password.
                if (reply instanceof RespError && reply.message.startsWith("NOAUTH")) {
                    return;
                }
            } catch {
                // not listening yet
            }
            await sleep(50);
        }
        throw new Error(`redis-server did not answer within 15 s:\n${this.log}`);
    }

    /** SIGTERM, as the kubelet sends it; resolves with the exit code. */
    async stop(): Promise<number | null> {
        this.child?.kill("SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), 30_000)));
        const code = await Promise.race([this.exited, timeout]);
        clearTimeout(timer);
        assert.notEqual(code, "timeout", `redis-server did not exit within 30 s of SIGTERM:\n${this.log}`);
        return code as number | null;
    }

    kill(): void {
        if (this.running) {
            this.child?.kill("SIGKILL");
        }
    }

    get output(): string {
        return this.log;
    }
}

describe("the generated redis.conf in a real redis-server", { skip: SKIP }, () => {
    let aof: Server;
    let snapshots: Server;
    const clients: Client[] = [];
    const connect = async (server: Server, auth = true) => {
        const client = auth ? await authenticated(server.port) : await Client.connect(server.port);
        clients.push(client);
        return client;
    };

    before(async () => {
        if (REDIS_SERVER === undefined) {
            throw new Error(`${MISSING}. CI must not skip this test.`);
        }
        aof = new Server(await freePort(), { memory: "64Mi", evictionPolicy: "allkeys-lfu", appendOnly: true });
        snapshots = new Server(await freePort(), { memory: "64Mi", evictionPolicy: "noeviction", appendOnly: false });
        await aof.start();
        await snapshots.start();
    });

    after(() => {
        clients.forEach((c) => c.close());
        aof?.kill();
        snapshots?.kill();
    });

    it("requires AUTH before anything", async () => {
        const client = await connect(aof, false);
        for (const command of [["PING"], ["GET", "k"], ["SET", "k", "v"], ["INFO"]]) {
            const reply = await client.command(...command);
            assert.ok(reply instanceof RespError && reply.message.startsWith("NOAUTH"), `${command[0]}: ${JSON.stringify(reply)}`);
        }
    });

    it("answers nothing in plaintext: a client without TLS gets no reply, and one that does not trust the CA is refused", async () => {
        const reply = await new Promise<string>((resolve) => {
            let got = "";
            const socket = net.connect({ host: "127.0.0.1", port: aof.port }, () => socket.write("*1\r\n$4\r\nPING\r\n"));
            socket.on("data", (d) => (got += d.toString("latin1")));
            socket.on("error", () => resolve(got));
            socket.on("close", () => resolve(got));
            setTimeout(() => (socket.destroy(), resolve(got)), 3000);
        });
        assert.ok(!reply.includes("PONG") && !reply.includes("NOAUTH"), `a plaintext PING got ${JSON.stringify(reply)}`);
        await assert.rejects(
            new Promise((resolve, reject) => {
                const socket = tls.connect({ host: "127.0.0.1", port: aof.port }, () => (socket.destroy(), resolve(undefined)));
                socket.once("error", reject);
            }),
            /self[- ]signed|unable to (verify|get local issuer)/i,
            "the system's CAs do not vouch for herd's",
        );
        assert.ok(aof.running);
    });

    it("refuses a wrong password", async () => {
        const client = await connect(aof, false);
        const reply = await client.command("AUTH", "not-the-password");
        assert.ok(reply instanceof RespError && reply.message.startsWith("WRONGPASS"), JSON.stringify(reply));
    });

    it("answers PING with PONG, and SET/GET round-trips, with the password", async () => {
        const client = await connect(aof);
        assert.equal(await client.command("PING"), "PONG");
        assert.equal(await client.command("SET", "herd:greeting", "hello from herd"), "OK");
        assert.equal(await client.command("GET", "herd:greeting"), "hello from herd");
    });

    it("the probe command passes with REDISCLI_AUTH, and fails without it or with a wrong one", () => {
        const [sh, ...args] = redisPingCommand(aof.port, testCertificates().dir);
        const run = (env: Record<string, string>) => spawnSync(sh, args, { env: { PATH: process.env["PATH"] ?? "", ...env }, encoding: "utf8", timeout: 10_000 });
        assert.equal(run({ REDISCLI_AUTH: TEST_PASSWORD }).status, 0, "authenticated PING answers PONG");
        assert.notEqual(run({}).status, 0, "without the password");
        assert.notEqual(run({ REDISCLI_AUTH: "wrong" }).status, 0, "with a wrong password");
    });

    it("FLUSHALL, FLUSHDB, CONFIG, DEBUG and the rest of the list are unknown commands", async () => {
        const client = await connect(aof);
        const attempts: Record<string, string[]> = {
            FLUSHALL: ["FLUSHALL"],
            FLUSHDB: ["FLUSHDB"],
            CONFIG: ["CONFIG", "GET", "requirepass"],
            DEBUG: ["DEBUG", "SLEEP", "0"],
            ACL: ["ACL", "SETUSER", "default", "nopass"],
            KEYS: ["KEYS", "*"],
            SHUTDOWN: ["SHUTDOWN", "NOSAVE"],
            REPLICAOF: ["REPLICAOF", "NO", "ONE"],
            SLAVEOF: ["SLAVEOF", "NO", "ONE"],
            MODULE: ["MODULE", "LIST"],
        };
        assert.deepEqual(Object.keys(attempts).sort(), Object.keys(REDIS_DISABLED_COMMANDS).sort());
        for (const [command, attempt] of Object.entries(attempts)) {
            const reply = await client.command(...attempt);
            assert.ok(reply instanceof RespError && /^ERR unknown command/.test(reply.message), `${command}: ${JSON.stringify(reply)}`);
        }
        assert.equal(await client.command("GET", "herd:greeting"), "hello from herd", "nothing was flushed");
        assert.ok(aof.running);
    });

    it("maxmemory is 75% of the memory limit, with the configured eviction policy", async () => {
        const memory = await info(await connect(aof), "memory");
        assert.equal(Number(memory["maxmemory"]), maxmemoryBytes("64Mi"));
        assert.equal(Number(memory["maxmemory"]), 48 * MiB);
        assert.equal(memory["maxmemory_policy"], "allkeys-lfu");
        assert.equal((await info(await connect(snapshots), "memory"))["maxmemory_policy"], "noeviction");
    });

    it("append-only: an AOF in the data directory receives the writes within about a second", async () => {
        const client = await connect(aof);
        assert.equal((await info(client, "persistence"))["aof_enabled"], "1");
        assert.equal(await client.command("SET", "herd:aof-probe", "written-to-the-aof"), "OK");
        const aofDir = path.join(aof.dir, "appendonlydir");
        const deadline = Date.now() + 5_000;
        let found = false;
        while (!found && Date.now() < deadline) {
            const files = fs.existsSync(aofDir) ? fs.readdirSync(aofDir).filter((f) => f.endsWith(".aof")) : [];
            found = files.some((f) => fs.readFileSync(path.join(aofDir, f), "utf8").includes("written-to-the-aof"));
            if (!found) {
                await sleep(100);
            }
        }
        assert.ok(found, `no AOF in ${aofDir} holds the write`);
    });

    it("snapshots only when appendOnly is false: no AOF", async () => {
        const client = await connect(snapshots);
        assert.equal((await info(client, "persistence"))["aof_enabled"], "0");
        assert.equal(fs.existsSync(path.join(snapshots.dir, "appendonlydir")), false);
    });

    it("noeviction at maxmemory refuses writes (maxmemory is enforced)", async () => {
        const client = await connect(snapshots);
        assert.equal(await client.command("SET", "herd:kept", "before the fill"), "OK");
        const chunk = "x".repeat(512 * 1024);
        let refused: RespError | undefined;
        for (let i = 0; i < 200 && refused === undefined; i++) {
            const reply = await client.command("SET", `fill:${i}`, chunk);
            if (reply instanceof RespError) {
                refused = reply;
            }
        }
        assert.ok(refused !== undefined && refused.message.startsWith("OOM"), `expected an OOM refusal, got ${JSON.stringify(refused)}`);
        assert.ok(Number((await info(client, "memory"))["used_memory"]) <= 50 * MiB);
        assert.equal(await client.command("GET", "herd:kept"), "before the fill");
    });

    it("on SIGTERM it saves and exits 0; restarted on the same directory it has the data (AOF and snapshot setups)", async () => {
        clients.splice(0).forEach((c) => c.close());
        for (const server of [aof, snapshots]) {
            assert.equal(await server.stop(), 0, server.output);
            assert.ok(fs.existsSync(path.join(server.dir, "dump.rdb")), "a final snapshot");
            assert.match(server.output, /DB saved on disk/);
        }
        await aof.start();
        await snapshots.start();
        assert.equal(await (await connect(aof)).command("GET", "herd:greeting"), "hello from herd");
        assert.equal(await (await connect(aof)).command("GET", "herd:aof-probe"), "written-to-the-aof");
        assert.equal(await (await connect(snapshots)).command("GET", "herd:kept"), "before the fill");
    });
});
