/**
 * Elasticsearch's HTTP over TLS, for every stack, through the whole program: the server serves HTTPS with a
 * certificate from herd's internal CA, and every client of it (the API, the nodes' own probes, the exporter sidecar,
 * the setup and shrink Jobs) speaks https, holds the CA as a file it really mounts, and verifies the server. The
 * certificate names every address those clients use; its key is only in its Secret.
 *
 * What this cannot show: a real Elasticsearch loading the files (no Elasticsearch server exists here). The scripts
 * and probes are run with real curl against an HTTPS stand-in in tests/elastic.test.ts.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { evaluateStack, Evaluation } from "../offline/evaluate";
import { buildManifests, Manifest } from "../offline/manifests";
import { unwrap } from "../offline/mocks";
import { CA_FILE } from "../components/internal-ca";

type Json = Record<string, unknown>;
interface Mount {
    name: string;
    mountPath: string;
    readOnly?: boolean;
}
interface Container {
    name: string;
    command?: string[];
    args?: string[];
    env?: { name: string; value?: string; valueFrom?: unknown }[];
    volumeMounts?: Mount[];
    readinessProbe?: { exec?: { command: string[] } };
    livenessProbe?: { exec?: { command: string[] } };
    startupProbe?: { exec?: { command: string[] } };
}
interface Volume {
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string };
}
interface Pod {
    containers: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
}

/** An Elasticsearch client: where it is, the URLs it calls, and the CA file it verifies them with. */
interface Client {
    readonly where: string;
    readonly urls: string[];
    readonly caFile: string | undefined;
    readonly container: Container;
    readonly pod: Pod;
}

function podOf(m: Manifest): Pod | undefined {
    const spec = m["spec"] as Json | undefined;
    if (["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(m.kind)) {
        return ((spec?.["template"] as Json)["spec"] as Pod) ?? undefined;
    }
    if (m.kind === "CronJob") {
        return (((spec?.["jobTemplate"] as Json)["spec"] as Json)["template"] as { spec: Pod }).spec;
    }
    return undefined;
}

const ES_URL = /https?:\/\/[^\s"'$]*:9200[^\s"']*/g;
const envOf = (c: Container, name: string) => c.env?.find((v) => v.name === name)?.value;

/** Every container that calls Elasticsearch's HTTP port, with its URLs and CA file, from the manifests. */
function elasticClients(manifests: readonly Manifest[]): Client[] {
    const clients: Client[] = [];
    for (const m of manifests) {
        const pod = podOf(m);
        for (const container of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
            const where = `${m.kind} ${m.metadata.name} ${container.name}`;
            const add = (urls: string[], caFile: string | undefined) => clients.push({ where, urls, caFile, container, pod: pod as Pod });
            const apiUrl = envOf(container, "ELASTICSEARCH_URL");
            if (apiUrl !== undefined) {
                add([apiUrl], envOf(container, "ELASTICSEARCH_CA_FILE"));
            }
            const jobUrl = envOf(container, "ES_URL");
            if (jobUrl !== undefined) {
                assert.match(container.command?.[2] ?? "", /curl .*--cacert "\$ES_CA_FILE"/, `${where}: curl verifies with ES_CA_FILE`);
                add([jobUrl], envOf(container, "ES_CA_FILE"));
            }
            const uri = container.args?.find((a) => a.startsWith("--es.uri="));
            if (uri !== undefined) {
                add([uri.slice("--es.uri=".length)], container.args?.find((a) => a.startsWith("--es.ca="))?.slice("--es.ca=".length));
            }
            for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
                const script = probe?.exec?.command.join(" ") ?? "";
                const urls = script.match(ES_URL) ?? [];
                if (urls.length > 0) {
                    add(urls, /--cacert (\S+)/.exec(script)?.[1]);
                }
            }
        }
    }
    return clients;
}

/** The volume a container reads `file` from: the mount whose path contains it, and the pod's volume of that name. */
function volumeHolding(client: Client, file: string): { volume: Volume; key: string } | undefined {
    const mount = (client.container.volumeMounts ?? [])
        .filter((m) => file.startsWith(`${m.mountPath.replace(/\/$/, "")}/`))
        .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const volume = client.pod.volumes?.find((v) => v.name === mount?.name);
    return mount === undefined || volume === undefined ? undefined : { volume, key: file.slice(mount.mountPath.replace(/\/$/, "").length + 1) };
}

for (const stack of ["aws", "gcp", "onprem"] as const) {
    describe(`Elasticsearch HTTP over TLS (${stack} stack)`, () => {
        let e: Evaluation;
        let manifests: readonly Manifest[];
        let clients: Client[];
        const find = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);
        const record = (type: string, name: string) => {
            const found = e.records.filter((r) => r.type === type && r.name === name);
            assert.equal(found.length, 1, `${type} ${name}`);
            return found[0];
        };
        before(async () => {
            e = await evaluateStack({ stack });
            manifests = buildManifests(e).manifests;
            clients = elasticClients(manifests);
        });

        it("the server serves HTTPS with the elastic-http-tls Secret, mounted beside the transport certificates", () => {
            const config = find("ConfigMap", "elastic-config");
            assert.ok(config !== undefined);
            const yml = String((config["data"] as Json)["elasticsearch.yml"]);
            assert.match(yml, /^xpack\.security\.http\.ssl\.enabled: true$/m);
            assert.match(yml, /^xpack\.security\.http\.ssl\.certificate: http-certs\/tls\.crt$/m);
            assert.match(yml, /^xpack\.security\.http\.ssl\.key: http-certs\/tls\.key$/m);
            assert.match(yml, /^xpack\.security\.transport\.ssl\.certificate_authorities:\n\s*- certs\/ca\.crt$/m, "the transport CA is unchanged");
            const sts = find("StatefulSet", "elastic");
            assert.ok(sts !== undefined);
            const pod = podOf(sts) as Pod;
            const server = pod.containers.find((c) => c.name === "elasticsearch") as Container;
            const mounts = Object.fromEntries((server.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
            assert.equal(mounts["/usr/share/elasticsearch/config/http-certs"], "http-certs");
            assert.equal(mounts["/usr/share/elasticsearch/config/certs"], "certs");
            assert.equal(pod.volumes?.find((v) => v.name === "http-certs")?.secret?.secretName, "elastic-http-tls");
            const secret = find("Secret", "elastic-http-tls");
            assert.equal(secret?.["type"], "kubernetes.io/tls");
        });

        it("no client calls Elasticsearch over plain http://, anywhere in the manifests or the stack outputs", () => {
            assert.ok(clients.length >= 5, `found ${clients.map((c) => c.where).join(", ")}`);
            for (const text of [JSON.stringify(manifests), JSON.stringify(e.outputs)]) {
                const plain = (text.match(ES_URL) ?? []).filter((u) => u.startsWith("http://"));
                assert.deepEqual(plain, []);
                assert.doesNotMatch(text, /http:\/\/elastic[.-]/);
            }
            for (const client of clients) {
                for (const url of client.urls) {
                    assert.match(url, /^https:\/\//, client.where);
                }
            }
            const data = e.outputs["data"] as { elasticsearch?: { url?: string } } | undefined;
            assert.match(String(data?.elasticsearch?.url), /^https:\/\/elastic\.[a-z0-9-]+\.svc\.cluster\.local:9200$/);
        });

        it("every client is found: the API, both Jobs, the probes and (with metrics on) the exporter", () => {
            const where = clients.map((c) => c.where);
            assert.ok(where.includes("Deployment api api"), where.join(", "));
            assert.ok(where.includes("Job elastic-setup setup"));
            assert.ok(where.includes("Job elastic-shrink shrink"));
            assert.ok(where.includes("StatefulSet elastic elasticsearch"));
            const sts = podOf(find("StatefulSet", "elastic") as Manifest) as Pod;
            if (sts.containers.some((c) => c.name === "metrics")) {
                assert.ok(where.includes("StatefulSet elastic metrics"));
            }
        });

        it("every client verifies the server with a CA file it really has: herd's internal CA, from its ConfigMap or the HTTP Secret's ca.crt", () => {
            for (const client of clients) {
                assert.ok(client.caFile !== undefined, `${client.where} has no CA file: it would not verify (or trust the system's CAs)`);
                const held = volumeHolding(client, client.caFile);
                assert.ok(held !== undefined, `${client.where}: ${client.caFile} is on no volume it mounts`);
                const fromConfigMap = held.volume.configMap?.name === "herd-ca" && held.key === "ca.crt";
                const fromSecret = held.volume.secret?.secretName === "elastic-http-tls" && held.key === "ca.crt";
                assert.ok(fromConfigMap || fromSecret, `${client.where}: ${client.caFile} comes from ${JSON.stringify(held.volume)}`);
                if (fromConfigMap) {
                    assert.equal(client.caFile, CA_FILE, client.where);
                }
            }
            // The CA the ConfigMap publishes is the one that signed the HTTP certificate.
            const configMap = find("ConfigMap", "herd-ca");
            const cert = record("tls:index/locallySignedCert:LocallySignedCert", "elastic-http-tls-cert");
            assert.equal((configMap?.["data"] as Json)["ca.crt"], unwrap(cert.inputs["caCertPem"]));
        });

        it("no client or server turns verification off (no -k, --insecure, ssl-skip-verify, verification_mode none)", () => {
            const text = JSON.stringify(manifests);
            assert.doesNotMatch(text, /curl [^"]*(\s-k\b|--insecure)/);
            assert.doesNotMatch(text, /es\.ssl-skip-verify|insecureSkipVerify|verification_mode: none|sslmode=disable.*elastic/i);
            for (const client of clients) {
                const all = JSON.stringify(client.container);
                assert.doesNotMatch(all, /\s-k\s|--insecure|skip-verify/, client.where);
            }
        });

        it("the HTTP certificate names every address a client uses (host names, and 127.0.0.1 for the pod's own)", () => {
            const csr = record("tls:index/certRequest:CertRequest", "elastic-http-tls-csr");
            const names = new Set([...(unwrap(csr.inputs["dnsNames"]) as string[]), ...(unwrap(csr.inputs["ipAddresses"]) as string[])]);
            const hosts = new Set(clients.flatMap((c) => c.urls.map((u) => new URL(u).hostname)));
            assert.ok(hosts.size >= 3, [...hosts].join(", "));
            for (const host of hosts) {
                assert.ok(names.has(host), `${host} is not in the certificate (${[...names].join(", ")})`);
            }
            assert.ok(names.has("localhost"));
        });

        it("the HTTP certificate's key is only in its Secret: no other object holds it, and the written manifests redact it", () => {
            const key = String(unwrap(record("tls:index/privateKey:PrivateKey", "elastic-http-tls-key").state["privateKeyPemPkcs8"]));
            assert.match(key, /^-----BEGIN PRIVATE KEY-----/);
            const b64 = Buffer.from(key).toString("base64");
            const holders = manifests.filter((m) => JSON.stringify(m).includes(key.split("\n")[1]) || JSON.stringify(m).includes(b64)).map((m) => `${m.kind} ${m.metadata.name}`);
            assert.deepEqual(holders, ["Secret elastic-http-tls"]);
            for (const m of manifests.filter((x) => x.kind === "ConfigMap")) {
                assert.doesNotMatch(JSON.stringify(m), /PRIVATE KEY/, `ConfigMap ${m.metadata.name}`);
            }
            assert.doesNotMatch(JSON.stringify(buildManifests(e).redacted), /PRIVATE KEY/);
            assert.doesNotMatch(JSON.stringify(e.resources), /PRIVATE KEY/);
            // The exporter (as nobody) and the Jobs never mount the Secret: they see the CA only.
            for (const client of clients.filter((c) => c.container.name !== "elasticsearch")) {
                const secretVolumes = (client.container.volumeMounts ?? []).map((m) => client.pod.volumes?.find((v) => v.name === m.name)?.secret?.secretName);
                assert.ok(!secretVolumes.includes("elastic-http-tls"), client.where);
            }
        });

        it("a renewed HTTP certificate rolls the nodes: its checksum is on the pod template", () => {
            const sts = find("StatefulSet", "elastic") as Manifest;
            const annotations = (((sts["spec"] as Json)["template"] as Json)["metadata"] as { annotations: Json }).annotations;
            assert.match(String(annotations["herd.dev/tls-checksum"]), /^[0-9a-f]{64}$/);
        });
    });
}
