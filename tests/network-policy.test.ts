/**
 * NetworkPolicies, program-wide: herd's namespace is default-deny, and every workload of every stack can talk along
 * exactly the edges listed here (each pod selector resolved to the workloads it selects), no more. Then the sources of
 * the way in per platform, the object-store egress per platform, and the DNS opening's settings.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "../lib/k8s";
import { evaluateProgram, evaluateStack, evaluateUnderMocks } from "../offline/evaluate";
import { buildManifests, Manifest } from "../offline/manifests";
import { createAppNamespace } from "../components/namespace";
import { CLUSTER_DNS_POLICY_NAME, DEFAULT_DENY_NAME } from "../components/default-deny";
import { DEFAULT_CLUSTER_DNS, dnsEgress } from "../components/network-policy";
import { ingressControllerSources, ipLiteralBlock, LOAD_BALANCER_SOURCES, onpremStoreEgress } from "../platform/onprem";
import { NO_ADDRESS, uploaderEgress } from "../platform/aws/backups";
import type { Network as AwsNetwork } from "../platform/aws/network";
import { loadBalancerSources as awsLoadBalancerSources } from "../platform/aws/network";
import { gcsEgress } from "../platform/gcp/backups";
import { GOOGLE_FRONT_END_SOURCES, loadBalancerSources as gcpLoadBalancerSources, PRIVATE_GOOGLE_APIS_CIDR } from "../platform/gcp/network";
import { s3Uploader } from "../platform/s3-uploader";
import { inspect, PROJECT_DIR, writeStackFile } from "./helpers";

// --- reading the policies as edges ---------------------------------------------------------------------------------

type Labels = Record<string, string>;
type Selector = { matchLabels?: Labels; matchExpressions?: unknown[] };
type Peer = { podSelector?: Selector; namespaceSelector?: Selector; ipBlock?: { cidr: string; except?: string[] } };
type Port = { protocol?: string; port?: number | string };
type Rule = { from?: Peer[]; to?: Peer[]; ports?: Port[] };
type PolicySpec = { podSelector: Selector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
type Workload = { id: string; labels: Labels };

/** Every pod template: `Kind/name` and its labels. */
function workloads(manifests: readonly Manifest[]): Workload[] {
    return manifests.flatMap((m) => {
        const spec = m["spec"] as { template?: { metadata?: { labels?: Labels } }; jobTemplate?: { spec: { template: { metadata?: { labels?: Labels } } } } } | undefined;
        const template = m.kind === "CronJob" ? spec?.jobTemplate?.spec.template : ["Deployment", "StatefulSet", "Job", "DaemonSet"].includes(m.kind) ? spec?.template : undefined;
        return template === undefined ? [] : [{ id: `${m.kind}/${m.metadata.name}`, labels: template.metadata?.labels ?? {} }];
    });
}

function selects(sel: Selector, labels: Labels): boolean {
    assert.equal((sel.matchExpressions ?? []).length, 0, "herd's selectors use matchLabels only");
    return Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

const labelText = (l: Labels | undefined) =>
    Object.entries(l ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .sort()
        .join(",");

/** A peer in words: the workloads a pod selector picks in herd's namespace, a namespace, or addresses. */
function peerText(p: Peer, own: readonly Workload[]): string {
    if (p.ipBlock !== undefined) {
        return `ip ${p.ipBlock.cidr}${(p.ipBlock.except ?? []).length > 0 ? ` except ${(p.ipBlock.except ?? []).join(" ")}` : ""}`;
    }
    if (p.namespaceSelector !== undefined) {
        const ns = p.namespaceSelector.matchLabels?.["kubernetes.io/metadata.name"] ?? `{${labelText(p.namespaceSelector.matchLabels)}}`;
        return p.podSelector !== undefined ? `ns ${ns} pods {${labelText(p.podSelector.matchLabels)}}` : `ns ${ns}`;
    }
    const sel = p.podSelector ?? {};
    const hit = own.filter((w) => selects(sel, w.labels)).map((w) => w.id);
    // A selector that matches no pod is a broken edge (a label renamed on one side only).
    assert.ok(hit.length > 0, `peer {${labelText(sel.matchLabels)}} selects no pod of herd's`);
    return hit.sort().join("+");
}

const portsText = (ports: Port[] | undefined) =>
    ports === undefined || ports.length === 0 ? "any port" : ports.map((p) => `${p.protocol ?? "TCP"}/${p.port ?? "*"}`).join(" ");

function ruleTexts(rules: Rule[] | undefined, dir: "from" | "to", own: readonly Workload[]): string[] {
    return (rules ?? []).flatMap((r) => {
        const peers = r[dir];
        // Absent or empty: every source or destination.
        const where = peers === undefined || peers.length === 0 ? ["anywhere"] : peers.map((p) => peerText(p, own));
        return where.map((w) => `${w} : ${portsText(r.ports)}`);
    });
}

interface Edges {
    /** The policies of its own (default-deny and the DNS opening select every pod and are checked apart). */
    readonly policies: string[];
    readonly in: string[];
    readonly out: string[];
}

/** Each workload's policies and the union of the edges they allow (NetworkPolicies add up). */
function edgeTable(manifests: readonly Manifest[]): Record<string, Edges> {
    const own = workloads(manifests);
    const policies = manifests.filter((m) => m.kind === "NetworkPolicy");
    const table: Record<string, Edges> = {};
    for (const w of own.sort((a, b) => a.id.localeCompare(b.id))) {
        const names: string[] = [];
        const inbound = new Set<string>();
        const outbound = new Set<string>();
        for (const p of policies) {
            const spec = p["spec"] as PolicySpec;
            if (!selects(spec.podSelector, w.labels)) {
                continue;
            }
            if (![DEFAULT_DENY_NAME, CLUSTER_DNS_POLICY_NAME].includes(p.metadata.name)) {
                names.push(p.metadata.name);
            }
            const types = spec.policyTypes ?? ["Ingress"];
            if (types.includes("Ingress")) ruleTexts(spec.ingress, "from", own).forEach((t) => inbound.add(t));
            if (types.includes("Egress")) ruleTexts(spec.egress, "to", own).forEach((t) => outbound.add(t));
        }
        table[w.id] = { policies: names.sort(), in: [...inbound].sort(), out: [...outbound].sort() };
    }
    return table;
}

// --- the edges every stack has, and what each stack changes ---------------------------------------------------------

const DNS = "ns kube-system pods {k8s-app=kube-dns} : UDP/53 TCP/53";
const API_PODS = "Deployment/api+Job/api-migrate";
/** The backup CronJobs exec into the PostgreSQL pod through the kube-apiserver (443 on clouds, 6443 on kubeadm). */
const KUBE_APISERVER = "anywhere : TCP/443 TCP/6443";

interface StackEdges {
    /** Who may reach nginx. */
    readonly frontendIn: string[];
    /** Egress of every pod that talks to the object store (pg_dump uploader, pgBackRest, snapshots, restore). */
    readonly store: string[];
    /** The pg_dump uploader's, where it differs from the repositories' (aws: the S3 and STS endpoints). */
    readonly uploader?: string[];
    /** Whether the platform keeps repositories in an object store (else: volumes, no network). */
    readonly repositoriesInStore: boolean;
}

function expectedEdges(s: StackEdges): Record<string, Edges> {
    const pitr = { policies: ["postgres-pitr"], in: [], out: [KUBE_APISERVER, DNS].sort() };
    return {
        "CronJob/postgres-backup": { policies: ["postgres-backup"], in: [], out: ["StatefulSet/postgres : TCP/5432", ...(s.uploader ?? s.store), DNS].sort() },
        "CronJob/postgres-pitr-diff": pitr,
        "CronJob/postgres-pitr-full": pitr,
        "CronJob/postgres-pitr-restore": { policies: ["postgres-pitr-restore"], in: [], out: [...(s.repositoriesInStore ? s.store : []), DNS].sort() },
        "Deployment/api": {
            policies: ["api"],
            in: ["Deployment/frontend : TCP/8000", "ns monitoring : TCP/9102"],
            out: ["StatefulSet/elastic : TCP/9200", "StatefulSet/postgres : TCP/5432", "StatefulSet/redis : TCP/6379", DNS],
        },
        "Deployment/frontend": { policies: ["frontend"], in: s.frontendIn, out: ["Deployment/api : TCP/8000", DNS] },
        "Job/api-migrate": {
            policies: ["api"],
            in: ["Deployment/frontend : TCP/8000", "ns monitoring : TCP/9102"],
            out: ["StatefulSet/elastic : TCP/9200", "StatefulSet/postgres : TCP/5432", "StatefulSet/redis : TCP/6379", DNS],
        },
        "Job/elastic-setup": { policies: ["elastic-setup"], in: [], out: ["StatefulSet/elastic : TCP/9200", DNS] },
        "Job/elastic-shrink": { policies: ["elastic-setup"], in: [], out: ["StatefulSet/elastic : TCP/9200", DNS] },
        "Job/postgres-pitr-first": pitr,
        "StatefulSet/elastic": {
            policies: ["elastic"],
            in: [`${API_PODS} : TCP/9200`, "Job/elastic-setup+Job/elastic-shrink : TCP/9200", "StatefulSet/elastic : TCP/9300 TCP/9200", "ns monitoring : TCP/9114"],
            out: ["StatefulSet/elastic : TCP/9300 TCP/9200", ...(s.repositoriesInStore ? s.store : []), DNS].sort(),
        },
        "StatefulSet/postgres": {
            policies: ["postgres"],
            in: ["CronJob/postgres-backup : TCP/5432", `${API_PODS} : TCP/5432`, "ns monitoring : TCP/9187"],
            out: [...(s.repositoriesInStore ? s.store : []), DNS].sort(),
        },
        "StatefulSet/redis": { policies: ["redis"], in: [`${API_PODS} : TCP/6379`, "ns monitoring : TCP/9121"], out: [DNS] },
    };
}

const GKE_METADATA = ["ip 169.254.169.252/32 : TCP/988", "ip 169.254.169.254/32 : TCP/80"];

const STACKS: { label: string; stack: string; configFile?: string; edges: StackEdges }[] = [
    // Pulumi.onprem.yaml: an Ingress (nginx) and an S3-compatible store named by host, without its CIDRs.
    { label: "onprem", stack: "onprem", edges: { frontendIn: ["ns ingress-nginx : TCP/8080"], store: ["anywhere : TCP/443"], repositoriesInStore: true } },
    // The real engine's stack: an Ingress, and every repository on a volume (no object store, no egress for it).
    { label: "onprem (e2e/stack.yaml)", stack: "onprem", configFile: "e2e/stack.yaml", edges: { frontendIn: ["ns ingress-nginx : TCP/8080"], store: [], repositoriesInStore: false } },
    // aws: the NLB (TLS at the load balancer: 8080 and the redirect port) from outside the VPC's private subnets; the
    // uploader only to the S3 gateway endpoint's prefix list (the mock's documentation ranges) and the STS interface
    // endpoint in the private subnets; pgBackRest and the snapshots still any address on 443 (README: their STS host).
    {
        label: "aws",
        stack: "aws",
        edges: {
            frontendIn: ["ip 0.0.0.0/0 except 10.0.0.0/19 10.0.32.0/19 10.0.64.0/19 : TCP/8080 TCP/8081"],
            store: ["anywhere : TCP/443"],
            uploader: ["ip 10.0.0.0/19 : TCP/443", "ip 10.0.32.0/19 : TCP/443", "ip 10.0.64.0/19 : TCP/443", "ip 198.51.100.0/24 : TCP/443", "ip 203.0.113.0/24 : TCP/443"],
            repositoriesInStore: true,
        },
    },
    // gcp (Pulumi.gcp.yaml has a host name: the GKE Ingress): only Google's front ends reach nginx; every object-store
    // client reaches only private.googleapis.com and the GKE metadata server.
    {
        label: "gcp",
        stack: "gcp",
        edges: { frontendIn: ["ip 130.211.0.0/22 : TCP/8080", "ip 35.191.0.0/16 : TCP/8080"], store: ["ip 199.36.153.8/30 : TCP/443", ...GKE_METADATA], repositoriesInStore: true },
    },
];

for (const s of STACKS) {
    describe(`NetworkPolicies of stack ${s.label}`, () => {
        let manifests: readonly Manifest[];
        before(async () => {
            manifests = buildManifests(await evaluateStack({ stack: s.stack, configFile: s.configFile })).manifests;
        });

        it("closes the namespace: a default-deny policy for every pod, both ways, with no rule", () => {
            const deny = manifests.find((m) => m.kind === "NetworkPolicy" && m.metadata.name === DEFAULT_DENY_NAME);
            assert.deepEqual(deny?.["spec"], { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
            assert.equal(deny?.metadata.namespace, "herd");
        });

        it("opens DNS to kube-dns in kube-system for every pod (and nothing in), and nothing else namespace-wide", () => {
            const dns = manifests.find((m) => m.kind === "NetworkPolicy" && m.metadata.name === CLUSTER_DNS_POLICY_NAME);
            assert.deepEqual(dns?.["spec"], { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [], egress: [dnsEgress(DEFAULT_CLUSTER_DNS)] });
            const namespaceWide = manifests.filter((m) => m.kind === "NetworkPolicy" && Object.keys((m["spec"] as PolicySpec).podSelector.matchLabels ?? {}).length === 0);
            assert.deepEqual(namespaceWide.map((m) => m.metadata.name).sort(), [CLUSTER_DNS_POLICY_NAME, DEFAULT_DENY_NAME]);
        });

        it("gives every workload its own policy, and exactly these edges", () => {
            const table = edgeTable(manifests);
            for (const [id, edges] of Object.entries(table)) {
                assert.ok(edges.policies.length > 0, `${id} has no policy of its own: default-deny leaves it cut off`);
            }
            assert.deepEqual(table, expectedEdges(s.edges));
        });
    });
}

// --- the way in -----------------------------------------------------------------------------------------------------

/** Pulumi.onprem.yaml's config with `overrides` (null: the key removed), as a stack file of its own. */
function onpremVariant(overrides: Record<string, string | string[] | null>): string {
    const base = (parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.onprem.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
    const config: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(overrides)) {
        if (value === null) {
            delete config[key];
        } else {
            config[key] = value;
        }
    }
    return writeStackFile(config);
}

function frontendPolicy(manifests: readonly Manifest[]): PolicySpec {
    const p = manifests.find((m) => m.kind === "NetworkPolicy" && m.metadata.name === "frontend");
    assert.ok(p !== undefined);
    return p["spec"] as PolicySpec;
}

describe("who may reach the front end", () => {
    it("onprem behind an Ingress: the controller's namespace only, by its name label (herd:ingressControllerNamespace)", async () => {
        const manifests = buildManifests(await evaluateStack({ stack: "test", configFile: onpremVariant({ "herd:ingressControllerNamespace": "traefik" }) })).manifests;
        assert.deepEqual(frontendPolicy(manifests).ingress, [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "traefik" } } }], ports: [{ protocol: "TCP", port: 8080 }] }]);
        assert.deepEqual(ingressControllerSources("ingress-nginx"), [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }]);
    });

    it("onprem behind a LoadBalancer: every IPv4 address (the cluster's pod range is not known to herd)", async () => {
        const file = onpremVariant({ "herd:ingressClass": null, "herd:publicHostname": null, "herd:tlsSecretName": null, "herd:tlsClusterIssuer": null });
        const manifests = buildManifests(await evaluateStack({ stack: "test", configFile: file })).manifests;
        const ingress = frontendPolicy(manifests).ingress ?? [];
        assert.deepEqual(ingress.map((r) => r.from), [[{ ipBlock: { cidr: "0.0.0.0/0" } }]]);
        assert.deepEqual(LOAD_BALANCER_SOURCES, [{ ipBlock: { cidr: "0.0.0.0/0" } }]);
    });

    it("aws's NLB and gcp's load balancer: outside the cluster, the pods' ranges excepted; GKE's Ingress: Google's front ends", () => {
        assert.deepEqual(awsLoadBalancerSources(["10.0.0.0/19", "10.0.32.0/19"]), [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/19", "10.0.32.0/19"] } }]);
        assert.deepEqual(gcpLoadBalancerSources("10.20.0.0/14"), [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.20.0.0/14"] } }]);
        assert.deepEqual(GOOGLE_FRONT_END_SOURCES, [{ ipBlock: { cidr: "130.211.0.0/22" } }, { ipBlock: { cidr: "35.191.0.0/16" } }]);
    });
});

// --- the object store -------------------------------------------------------------------------------------------------

/** The egress of each object-store client in an onprem variant: the uploader's CronJob, PostgreSQL, Elasticsearch, restore. */
async function storeEgress(overrides: Record<string, string | string[] | null>): Promise<Record<string, string[]>> {
    const manifests = buildManifests(await evaluateStack({ stack: "test", configFile: onpremVariant(overrides) })).manifests;
    const table = edgeTable(manifests);
    const pick = (id: string) => table[id].out.filter((e) => e !== DNS && !e.startsWith("StatefulSet/"));
    return {
        backup: pick("CronJob/postgres-backup"),
        postgres: pick("StatefulSet/postgres"),
        elastic: pick("StatefulSet/elastic"),
        restore: pick("CronJob/postgres-pitr-restore"),
    };
}

describe("egress to the backup store", () => {
    it("onprem, an endpoint that is an IP literal: that address (/32) on its port, for every client of the store", async () => {
        const egress = await storeEgress({ "herd:backupEndpoint": "https://192.0.2.10:9000" });
        for (const [who, edges] of Object.entries(egress)) {
            assert.deepEqual(edges, ["ip 192.0.2.10/32 : TCP/9000"], who);
        }
    });

    it("onprem, herd:backupEndpointCidrs: those blocks on the endpoint's port, for every client of the store", async () => {
        const egress = await storeEgress({ "herd:backupEndpointCidrs": ["198.51.100.0/28", "203.0.113.7/32"] });
        for (const [who, edges] of Object.entries(egress)) {
            assert.deepEqual(edges, ["ip 198.51.100.0/28 : TCP/443", "ip 203.0.113.7/32 : TCP/443"], who);
        }
    });

    it("onprem, a host name and no CIDRs: any address on the port, and a warning that says so and names the key", () => {
        const backup = { mode: "s3", bucket: "b", endpoint: "https://minio.example.com", region: "us-east-1", credentialsSecret: "s", endpointCidrs: [] } as const;
        const { egress, openBecause } = onpremStoreEgress(backup);
        assert.deepEqual(egress, [{ ports: [{ protocol: "TCP", port: 443 }] }]);
        assert.match(openBecause ?? "", /ANY address on port 443.*minio\.example\.com.*herd:backupEndpointCidrs/);
        // No endpoint: AWS S3 itself, by name too.
        assert.match(onpremStoreEgress({ ...backup, endpoint: undefined, region: "eu-west-1" }).openBecause ?? "", /s3\.eu-west-1\.amazonaws\.com/);
        // Narrowed: nothing to warn about.
        assert.equal(onpremStoreEgress({ ...backup, endpointCidrs: ["192.0.2.0/24"] }).openBecause, undefined);
    });

    it("reads IP literals, v4 and v6, and nothing else, as one-address blocks", () => {
        assert.equal(ipLiteralBlock("192.0.2.10"), "192.0.2.10/32");
        assert.equal(ipLiteralBlock("[2001:db8::5]"), "2001:db8::5/128");
        assert.equal(ipLiteralBlock("minio.example.com"), undefined);
        assert.equal(ipLiteralBlock("999.0.2.10"), undefined);
        assert.equal(ipLiteralBlock("10.0.0.1.nip.io"), undefined);
    });

    it("s3Uploader: any address on the endpoint's port unless told where the store is", () => {
        assert.deepEqual(s3Uploader("b", "eu-west-1", "http://10.1.2.3:9000").egress, [{ ports: [{ protocol: "TCP", port: 9000 }] }]);
        const narrowed = [{ to: [{ ipBlock: { cidr: "10.1.2.3/32" } }], ports: [{ protocol: "TCP", port: 9000 }] }];
        assert.deepEqual(s3Uploader("b", "eu-west-1", "http://10.1.2.3:9000", narrowed).egress, narrowed);
    });

    it("aws's uploader: S3's prefix-list addresses and the STS endpoint's subnets, HTTPS only; never every address", async () => {
        const run = await evaluateUnderMocks(() => {
            const network = (blocks: string[] | undefined) =>
                ({ s3Endpoint: { cidrBlocks: pulumi.output(blocks) }, privateCidrs: ["10.0.0.0/19", "10.0.32.0/19"] }) as unknown as Pick<AwsNetwork, "s3Endpoint" | "privateCidrs">;
            return { some: uploaderEgress(network(["52.218.0.0/17", "3.5.64.0/21"])), none: uploaderEgress(network([])) };
        });
        const rules = run.value;
        assert.ok(rules !== undefined);
        const https = [{ protocol: "TCP", port: 443 }];
        assert.deepEqual((await inspect(pulumi.output(rules.some[0].to))).value, [{ ipBlock: { cidr: "52.218.0.0/17" } }, { ipBlock: { cidr: "3.5.64.0/21" } }]);
        assert.deepEqual(rules.some[0].ports, https);
        assert.deepEqual(rules.some[1], { to: [{ ipBlock: { cidr: "10.0.0.0/19" } }, { ipBlock: { cidr: "10.0.32.0/19" } }], ports: https });
        // An empty prefix list must not become an empty `to` (which would mean every address).
        assert.deepEqual((await inspect(pulumi.output(rules.none[0].to))).value, [{ ipBlock: { cidr: NO_ADDRESS } }]);
    });

    it("gcp: private.googleapis.com on 443 once the VPC resolves googleapis.com there, and the metadata server for tokens", () => {
        const metadata = [
            { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
            { to: [{ ipBlock: { cidr: "169.254.169.252/32" } }], ports: [{ protocol: "TCP", port: 988 }] },
        ];
        assert.equal(PRIVATE_GOOGLE_APIS_CIDR, "199.36.153.8/30");
        assert.deepEqual(gcsEgress("privateGoogleApis"), [{ to: [{ ipBlock: { cidr: "199.36.153.8/30" } }], ports: [{ protocol: "TCP", port: 443 }] }, ...metadata]);
        assert.deepEqual(gcsEgress("anyAddress"), [{ ports: [{ protocol: "TCP", port: 443 }] }, ...metadata]);
    });
});

// --- DNS ----------------------------------------------------------------------------------------------------------------

describe("the DNS opening", () => {
    it("follows the cluster's DNS pods: OpenShift's namespace, labels and port 5353", async () => {
        const openshift = { namespace: "openshift-dns", podLabels: { "dns.operator.openshift.io/daemonset-dns": "default" }, port: 5353 };
        const e = await evaluateProgram(() => {
            createAppNamespace("herd", new k8s.Provider("k8s", {}), undefined, openshift);
            return {};
        });
        const dns = buildManifests(e).manifests.find((m) => m.kind === "NetworkPolicy" && m.metadata.name === CLUSTER_DNS_POLICY_NAME);
        assert.deepEqual(dns?.["spec"], {
            podSelector: {},
            policyTypes: ["Ingress", "Egress"],
            ingress: [],
            egress: [
                {
                    to: [
                        {
                            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "openshift-dns" } },
                            podSelector: { matchLabels: { "dns.operator.openshift.io/daemonset-dns": "default" } },
                        },
                    ],
                    ports: [
                        { protocol: "UDP", port: 5353 },
                        { protocol: "TCP", port: 5353 },
                    ],
                },
            ],
        });
    });

    it("defaults to kube-dns in kube-system on 53", () => {
        assert.deepEqual(DEFAULT_CLUSTER_DNS, { namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" }, port: 53 });
    });
});
