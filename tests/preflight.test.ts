/**
 * `npm run preflight`: every check's decision on kubectl outputs recorded from the e2e control plane (kube-apiserver
 * v1.34.4) or shaped like a real cluster's, the report and its exit code, and the command itself (--help, bad
 * flags, unknown and non-onprem stacks, a secret kubeconfig, a missing kubectl). The registry probe and the whole
 * command run for real against servers the tests start on 127.0.0.1 (an HTTPS registry stand-in with a throwaway CA,
 * an API server port nobody listens on).
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import {
    checkIngress,
    checkNamespace,
    checkNetworkPolicy,
    checkPodSecurity,
    checkRegistry,
    checkStorage,
    checkVersion,
    listPods,
    PreflightTarget,
    SUPPORTED_KUBERNETES,
    SUPPORTED_RANGE_TEXT,
} from "../scripts/preflight/checks";
import { Kube, KubeResult } from "../scripts/preflight/kube";
import { probeRegistry, registryHostOf } from "../scripts/preflight/registry";
import { renderJson, renderTable, runPreflight } from "../scripts/preflight/report";
import { targetOf } from "../scripts/preflight/target";
import { parse, PROJECT_DIR, runScript, scriptFile, tempDir, writeStackFile } from "./helpers";

/** Answers recorded per command line (the args joined by spaces); an unexpected command fails the test. */
interface Recorded extends Kube {
    readonly calls: { args: string; input?: string }[];
}
function recorded(answers: Record<string, KubeResult | string | ((input?: string) => KubeResult)>): Recorded {
    const calls: { args: string; input?: string }[] = [];
    return {
        calls,
        describe: "recorded outputs",
        run(args, input) {
            const key = args.join(" ");
            calls.push({ args: key, input });
            const a = answers[key];
            if (a === undefined) {
                throw new Error(`unexpected kubectl call: ${key}`);
            }
            return typeof a === "string" ? { status: 0, stdout: a, stderr: "" } : typeof a === "function" ? a(input) : a;
        },
    };
}
const fail = (stderr: string, status = 1): KubeResult => ({ status, stdout: "", stderr });

// Recorded from the e2e control plane (kube-apiserver and kubectl v1.34.4).
const VERSION_134 = JSON.stringify({ clientVersion: { major: "1", minor: "34", gitVersion: "v1.34.4" }, serverVersion: { major: "1", minor: "34", gitVersion: "v1.34.4" } });
const NOT_FOUND = (what: string, name: string) => fail(`Error from server (NotFound): ${what} "${name}" not found\n`);
const REFUSED =
    'Error from server (Forbidden): error when creating "STDIN": pods "herd-preflight-privileged" is forbidden: violates PodSecurity "restricted:latest": privileged (container "probe" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "probe" must set securityContext.allowPrivilegeEscalation=false)\n';
const ACCEPTED = "pod/herd-preflight-privileged created (server dry run)\n";
const UNREACHABLE = "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?\n";
const version = (major: string, minor: string, git: string) => JSON.stringify({ clientVersion: {}, serverVersion: { major, minor, gitVersion: git } });

const HERD_LABELS = { "app.kubernetes.io/part-of": "herd", "app.kubernetes.io/managed-by": "pulumi", "pod-security.kubernetes.io/enforce": "restricted" };
const ns = (name: string, labels: Record<string, string> = {}, phase = "Active") => JSON.stringify({ metadata: { name, labels }, status: { phase } });
const list = (items: unknown[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items });
const pods = (...names: [string, string][]) => list(names.map(([namespace, name]) => ({ metadata: { namespace, name } })));

const TARGET: PreflightTarget = {
    stack: "onprem",
    namespace: "herd",
    storage: { mode: "existing", className: "fast-ssd" },
    repositoryStorageClass: undefined,
    ingressClass: "nginx",
    registryHosts: ["registry.customer.internal:5000"],
};
const CREATE: PreflightTarget = { ...TARGET, storage: { mode: "create", className: "herd-retain", provisioner: "driver.longhorn.io" } };

describe("preflight: Kubernetes version", () => {
    it(`states the supported range once (${SUPPORTED_RANGE_TEXT}), as the README does`, () => {
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        assert.match(readme, new RegExp(`Kubernetes \\*\\*${SUPPORTED_KUBERNETES.min.major}\\.${SUPPORTED_KUBERNETES.min.minor} to ${SUPPORTED_KUBERNETES.max.major}\\.${SUPPORTED_KUBERNETES.max.minor}\\*\\*`));
    });
    it("passes a server in the range (the e2e control plane's v1.34.4)", () => {
        const r = checkVersion(recorded({ "version -o json": VERSION_134 }));
        assert.equal(r.result.status, "pass");
        assert.match(r.result.detail, /v1\.34\.4/);
    });
    it("passes a provider's minor with a plus (EKS and GKE report \"31+\")", () => {
        assert.equal(checkVersion(recorded({ "version -o json": version("1", "31+", "v1.31.5-eks-1234") })).result.status, "pass");
    });
    it("fails an older server, naming the range and what to do", () => {
        const r = checkVersion(recorded({ "version -o json": version("1", "30", "v1.30.9") })).result;
        assert.equal(r.status, "fail");
        assert.match(r.detail, /v1\.30\.9: older than herd supports \(1\.31 to 1\.34\); upgrade the cluster to 1\.31/);
    });
    it("warns on a newer server (untested, GA APIs only)", () => {
        const r = checkVersion(recorded({ "version -o json": version("1", "35", "v1.35.0") })).result;
        assert.equal(r.status, "warn");
        assert.match(r.detail, /newer than herd is checked against/);
    });
    it("fails when the API server cannot be reached, with kubectl's reason, and marks the cluster unreachable", () => {
        const r = checkVersion(recorded({ "version -o json": { status: 1, stdout: JSON.stringify({ clientVersion: { major: "1", minor: "34" } }), stderr: UNREACHABLE } }));
        assert.equal(r.reachable, false);
        assert.equal(r.result.status, "fail");
        assert.match(r.result.detail, /cannot reach the API server .*connection to the server 127\.0\.0\.1:6443 was refused/);
    });
});

describe("preflight: the namespace", () => {
    it("passes when it does not exist yet (pulumi up creates it)", () => {
        const r = checkNamespace(recorded({ "get namespace herd -o json": NOT_FOUND("namespaces", "herd") }), TARGET);
        assert.equal(r.status, "pass");
        assert.match(r.detail, /does not exist yet; pulumi up creates it/);
    });
    it("passes when it carries herd's labels", () => {
        assert.equal(checkNamespace(recorded({ "get namespace herd -o json": ns("herd", HERD_LABELS) }), TARGET).status, "pass");
    });
    it("fails when something else owns it, naming the owner and the way out", () => {
        const r = checkNamespace(recorded({ "get namespace herd -o json": ns("herd", { "app.kubernetes.io/part-of": "billing" }) }), TARGET);
        assert.equal(r.status, "fail");
        assert.match(r.detail, /herd exists and is not herd's \(labelled for billing\); choose another herd:namespace/);
    });
    it("fails a namespace with no labels at all", () => {
        const r = checkNamespace(recorded({ "get namespace herd -o json": ns("herd") }), TARGET);
        assert.equal(r.status, "fail");
        assert.match(r.detail, /no app\.kubernetes\.io\/part-of=herd label/);
    });
    it("fails while the namespace is being deleted", () => {
        const r = checkNamespace(recorded({ "get namespace herd -o json": ns("herd", HERD_LABELS, "Terminating") }), TARGET);
        assert.equal(r.status, "fail");
        assert.match(r.detail, /Terminating/);
    });
    it("warns when it may not be read", () => {
        const r = checkNamespace(recorded({ "get namespace herd -o json": fail('Error from server (Forbidden): namespaces "herd" is forbidden: User "bob" cannot get resource "namespaces"') }), TARGET);
        assert.equal(r.status, "warn");
        assert.match(r.detail, /cannot read namespace herd: .*forbidden/);
    });
});

describe("preflight: the StorageClass", () => {
    const cls = (name: string, extra: Record<string, unknown>) => JSON.stringify({ metadata: { name }, provisioner: "rbd.csi.ceph.com", ...extra });
    it("passes an existing class that expands and retains", () => {
        const r = checkStorage(recorded({ "get storageclass fast-ssd -o json": cls("fast-ssd", { allowVolumeExpansion: true, reclaimPolicy: "Retain" }) }), TARGET);
        assert.equal(r.status, "pass");
    });
    it("fails a class that does not exist (herd:storageClass), saying how to fix it", () => {
        const r = checkStorage(recorded({ "get storageclass fast-ssd -o json": NOT_FOUND("storageclasses.storage.k8s.io", "fast-ssd") }), TARGET);
        assert.equal(r.status, "fail");
        assert.match(r.detail, /StorageClass fast-ssd \(herd:storageClass\) does not exist; create it, or set herd:storageProvisioner/);
    });
    it("fails a class that cannot expand volumes", () => {
        const r = checkStorage(recorded({ "get storageclass fast-ssd -o json": cls("fast-ssd", { reclaimPolicy: "Retain" }) }), TARGET);
        assert.equal(r.status, "fail");
        assert.match(r.detail, /does not allow volume expansion \(allowVolumeExpansion is unset\)/);
    });
    it("warns on a class that deletes its volumes with their claims", () => {
        const r = checkStorage(recorded({ "get storageclass fast-ssd -o json": cls("fast-ssd", { allowVolumeExpansion: true, reclaimPolicy: "Delete" }) }), TARGET);
        assert.equal(r.status, "warn");
        assert.match(r.detail, /reclaimPolicy is Delete/);
    });
    it("passes a class herd creates when its CSI driver is registered", () => {
        const r = checkStorage(
            recorded({
                "get storageclass herd-retain -o json": NOT_FOUND("storageclasses.storage.k8s.io", "herd-retain"),
                "get csidrivers -o json": list([{ metadata: { name: "driver.longhorn.io" } }]),
            }),
            CREATE,
        );
        assert.equal(r.status, "pass");
        assert.match(r.detail, /CSI driver driver\.longhorn\.io is registered/);
    });
    it("fails when the CSI driver is not registered, listing the ones that are", () => {
        const r = checkStorage(
            recorded({
                "get storageclass herd-retain -o json": NOT_FOUND("storageclasses.storage.k8s.io", "herd-retain"),
                "get csidrivers -o json": list([{ metadata: { name: "ebs.csi.aws.com" } }]),
            }),
            CREATE,
        );
        assert.equal(r.status, "fail");
        assert.match(r.detail, /CSI driver driver\.longhorn\.io \(herd:storageProvisioner\) is not registered \(CSIDrivers here: ebs\.csi\.aws\.com\)/);
    });
    it("fails when a class of that name exists and is not herd's (pulumi up could not create it)", () => {
        const r = checkStorage(recorded({ "get storageclass herd-retain -o json": cls("herd-retain", { allowVolumeExpansion: true }) }), CREATE);
        assert.equal(r.status, "fail");
        assert.match(r.detail, /already exists and is not herd's/);
    });
    it("passes herd's own class from an earlier up", () => {
        const r = checkStorage(
            recorded({
                "get storageclass herd-retain -o json": JSON.stringify({ metadata: { name: "herd-retain", labels: HERD_LABELS }, provisioner: "driver.longhorn.io" }),
                "get csidrivers -o json": list([{ metadata: { name: "driver.longhorn.io" } }]),
            }),
            CREATE,
        );
        assert.equal(r.status, "pass");
        assert.match(r.detail, /already there/);
    });
    const noProvisioner: PreflightTarget = { ...TARGET, storage: { mode: "create", className: "herd-retain", provisioner: "kubernetes.io/no-provisioner" } };
    const pv = (cls: string, phase: string) => ({ metadata: { name: `pv-${cls}-${phase}` }, spec: { storageClassName: cls }, status: { phase } });
    it("passes static volumes for kubernetes.io/no-provisioner (the e2e cluster's case)", () => {
        const r = checkStorage(
            recorded({
                "get storageclass herd-retain -o json": NOT_FOUND("storageclasses.storage.k8s.io", "herd-retain"),
                "get persistentvolumes -o json": list([pv("herd-retain", "Available"), pv("other", "Available")]),
            }),
            noProvisioner,
        );
        assert.equal(r.status, "pass");
        assert.match(r.detail, /1 Available PersistentVolume\(s\) of class herd-retain/);
    });
    it("fails kubernetes.io/no-provisioner with no Available volume of the class", () => {
        const r = checkStorage(
            recorded({
                "get storageclass herd-retain -o json": NOT_FOUND("storageclasses.storage.k8s.io", "herd-retain"),
                "get persistentvolumes -o json": list([pv("herd-retain", "Bound")]),
            }),
            noProvisioner,
        );
        assert.equal(r.status, "fail");
        assert.match(r.detail, /no Available PersistentVolume of class herd-retain exists; create the volumes first/);
    });
    it("warns on another in-tree provisioner (no CSIDriver object to look for)", () => {
        const r = checkStorage(
            recorded({ "get storageclass herd-retain -o json": NOT_FOUND("storageclasses.storage.k8s.io", "herd-retain"), "get csidrivers -o json": list([]) }),
            { ...TARGET, storage: { mode: "create", className: "herd-retain", provisioner: "kubernetes.io/vsphere-volume" } },
        );
        assert.equal(r.status, "warn");
    });
    it("fails a missing herd:repositoryStorageClass even when the data class passes", () => {
        const r = checkStorage(
            recorded({
                "get storageclass fast-ssd -o json": cls("fast-ssd", { allowVolumeExpansion: true, reclaimPolicy: "Retain" }),
                "get storageclass shared-nfs -o json": NOT_FOUND("storageclasses.storage.k8s.io", "shared-nfs"),
            }),
            { ...TARGET, repositoryStorageClass: "shared-nfs" },
        );
        assert.equal(r.status, "fail");
        assert.match(r.detail, /StorageClass shared-nfs \(herd:repositoryStorageClass\) does not exist/);
    });
});

describe("preflight: the ingress class or a LoadBalancer", () => {
    it("passes the configured IngressClass, naming its controller", () => {
        const r = checkIngress(recorded({ "get ingressclass nginx -o json": JSON.stringify({ metadata: { name: "nginx" }, spec: { controller: "k8s.io/ingress-nginx" } }) }), TARGET, { pods: [] });
        assert.equal(r.status, "pass");
        assert.match(r.detail, /controller k8s\.io\/ingress-nginx/);
    });
    it("fails an IngressClass that does not exist (herd:ingressClass)", () => {
        const r = checkIngress(recorded({ "get ingressclass nginx -o json": NOT_FOUND("ingressclasses.networking.k8s.io", "nginx") }), TARGET, { pods: [] });
        assert.equal(r.status, "fail");
        assert.match(r.detail, /IngressClass nginx \(herd:ingressClass\) does not exist; install its ingress controller/);
    });
    const noClass = { ...TARGET, ingressClass: undefined };
    it("without an ingress class: passes when a LoadBalancer Service already has an address", () => {
        const svc = { metadata: { namespace: "ingress", name: "edge" }, spec: { type: "LoadBalancer" }, status: { loadBalancer: { ingress: [{ ip: "10.0.0.5" }] } } };
        const r = checkIngress(recorded({ "get services --all-namespaces -o json": list([svc]) }), noClass, { pods: [] });
        assert.equal(r.status, "pass");
        assert.match(r.detail, /ingress\/edge has an address/);
    });
    it("without an ingress class: passes when MetalLB runs", () => {
        const r = checkIngress(recorded({ "get services --all-namespaces -o json": list([]) }), noClass, { pods: [{ namespace: "metallb-system", name: "metallb-controller-7f9c" }] });
        assert.equal(r.status, "pass");
        assert.match(r.detail, /MetalLB found/);
    });
    it("without an ingress class: warns when it cannot tell", () => {
        const r = checkIngress(recorded({ "get services --all-namespaces -o json": list([]) }), noClass, { pods: [{ namespace: "kube-system", name: "coredns-1" }] });
        assert.equal(r.status, "warn");
        assert.match(r.detail, /may stay <pending>; install MetalLB or kube-vip, or set herd:ingressClass/);
    });
});

describe("preflight: Pod Security admission", () => {
    const created = (input?: string) => {
        const doc = JSON.parse(input ?? "{}") as { metadata: { name: string; labels: Record<string, string> } };
        assert.equal(doc.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        return { status: 0, stdout: `namespace/${doc.metadata.name} created\n`, stderr: "" };
    };
    /** Answers for a probe in a throwaway namespace, whatever its random name. */
    function throwaway(dryRun: KubeResult | (() => KubeResult)): Recorded {
        const calls: { args: string; input?: string }[] = [];
        return {
            calls,
            describe: "recorded outputs",
            run(args, input) {
                const key = args.join(" ");
                calls.push({ args: key, input });
                if (key === "get namespace herd -o json") {
                    return NOT_FOUND("namespaces", "herd");
                }
                if (key === "create -f -") {
                    return created(input);
                }
                if (/^create --dry-run=server -n herd-preflight-[0-9a-f]{8} -f -$/.test(key)) {
                    const pod = JSON.parse(input ?? "{}") as { spec: { containers: { securityContext: { privileged: boolean } }[] } };
                    assert.equal(pod.spec.containers[0].securityContext.privileged, true);
                    return typeof dryRun === "function" ? dryRun() : dryRun;
                }
                if (/^delete namespace herd-preflight-[0-9a-f]{8} --wait=false --ignore-not-found$/.test(key)) {
                    return { status: 0, stdout: "", stderr: "" };
                }
                throw new Error(`unexpected kubectl call: ${key}`);
            },
        };
    }
    it("passes when a privileged pod is refused, and deletes the throwaway namespace it probed in", () => {
        const kube = throwaway(fail(REFUSED));
        const r = checkPodSecurity(kube, TARGET);
        assert.equal(r.status, "pass");
        assert.match(r.detail, /a throwaway namespace, deleted/);
        assert.match(kube.calls.at(-1)?.args ?? "", /^delete namespace herd-preflight-/);
    });
    it("fails (a blocker) when the privileged pod is accepted: admission is off", () => {
        const kube = throwaway({ status: 0, stdout: ACCEPTED, stderr: "" });
        const r = checkPodSecurity(kube, TARGET);
        assert.equal(r.status, "fail");
        assert.match(r.detail, /Pod Security admission is off or exempts it; enable the PodSecurity admission plugin/);
        assert.match(kube.calls.at(-1)?.args ?? "", /^delete namespace/, "the namespace is deleted on failure too");
    });
    it("retries while the new namespace's default ServiceAccount is not there yet", () => {
        let n = 0;
        const kube = throwaway(() => (++n < 3 ? fail('Error from server (Forbidden): error when creating "STDIN": pods "x" is forbidden: error looking up service account herd-preflight-1/default: serviceaccount "default" not found') : fail(REFUSED)));
        assert.equal(checkPodSecurity(kube, TARGET, { retryDelayMs: 1 }).status, "pass");
        assert.equal(n, 3);
    });
    it("probes in herd's own namespace when it is there and labelled, creating nothing", () => {
        const kube = recorded({ "get namespace herd -o json": ns("herd", HERD_LABELS), "create --dry-run=server -n herd -f -": fail(REFUSED) });
        assert.equal(checkPodSecurity(kube, TARGET).status, "pass");
        assert.deepEqual(kube.calls.map((c) => c.args), ["get namespace herd -o json", "create --dry-run=server -n herd -f -"]);
    });
    it("warns when it may not create the namespace to probe in", () => {
        const kube = recorded({
            "get namespace herd -o json": NOT_FOUND("namespaces", "herd"),
            "create -f -": fail('Error from server (Forbidden): namespaces is forbidden: User "bob" cannot create resource "namespaces"'),
        });
        const r = checkPodSecurity(kube, TARGET);
        assert.equal(r.status, "warn");
        assert.match(r.detail, /cannot tell: creating a throwaway namespace to probe with was refused/);
    });
});

describe("preflight: NetworkPolicy enforcement (best effort)", () => {
    it("passes when a known enforcing CNI runs in kube-system", () => {
        const r = checkNetworkPolicy({ pods: [{ namespace: "kube-system", name: "calico-node-abcde" }] });
        assert.equal(r.status, "pass");
        assert.match(r.detail, /calico runs/);
    });
    it("passes Cilium in its own namespace", () => {
        assert.equal(checkNetworkPolicy({ pods: [{ namespace: "cilium", name: "cilium-x1" }] }).status, "pass");
    });
    it("warns, saying how to verify, when no known CNI is found (flannel alone)", () => {
        const r = checkNetworkPolicy({ pods: [{ namespace: "kube-system", name: "kube-flannel-ds-1" }, { namespace: "default", name: "calico-lookalike" }] });
        assert.equal(r.status, "warn");
        assert.match(r.detail, /verify by applying a default-deny policy/);
    });
    it("warns when pods cannot be listed", () => {
        assert.equal(checkNetworkPolicy(listPods(recorded({ "get pods --all-namespaces -o json": fail('Error from server (Forbidden): pods is forbidden: User "bob" cannot list resource "pods"') }))).status, "warn");
    });
});

describe("preflight: the registry", () => {
    it("names the host of an image reference (Docker Hub when it names none)", () => {
        assert.equal(registryHostOf("registry.customer.internal:5000/herd/api@sha256:abc"), "registry.customer.internal:5000");
        assert.equal(registryHostOf("localhost/herd/api:1"), "localhost");
        assert.equal(registryHostOf("library/nginx:1.27"), "registry-1.docker.io");
        assert.equal(registryHostOf("nginx"), "registry-1.docker.io");
    });
    it("passes 200 and 401 (a registry asking for a login), saying it was checked from here", () => {
        const t = { ...TARGET, registryHosts: ["a.example:5000", "b.example"] };
        const r = checkRegistry(t, new Map([["a.example:5000", { status: 401 }], ["b.example", { status: 200 }]]));
        assert.equal(r.status, "pass");
        assert.match(r.detail, /checked from this machine, not from the nodes/);
    });
    it("fails another answer or no answer, naming the host", () => {
        const t = { ...TARGET, registryHosts: ["a.example", "b.example"] };
        const r = checkRegistry(t, new Map([["a.example", { status: 404 }], ["b.example", { error: "connection refused" }]]));
        assert.equal(r.status, "fail");
        assert.match(r.detail, /a\.example\/v2\/ answered 404, not a registry's 200 or 401; b\.example: connection refused/);
    });
    it("probes for real: a name that does not resolve, a closed port, and a server that speaks no TLS", async () => {
        assert.deepEqual(await probeRegistry("registry.herd-test.invalid"), { error: "the name does not resolve here" });
        const closed = http.createServer();
        await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
        const closedPort = (closed.address() as AddressInfo).port;
        await new Promise((r) => closed.close(r));
        assert.deepEqual(await probeRegistry(`127.0.0.1:${closedPort}`), { error: "connection refused" });
        const plain = http.createServer((_, res) => res.end("hi"));
        await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
        try {
            const a = await probeRegistry(`127.0.0.1:${(plain.address() as AddressInfo).port}`, 3000);
            assert.ok("error" in a, "plain HTTP is not a registry over HTTPS");
        } finally {
            plain.close();
        }
    });
});

describe("preflight: the stack's target", () => {
    it("reads the onprem stack file: namespace, storage, ingress class, registry host", () => {
        const t = targetOf("onprem", parse({ "herd:platform": "onprem", "herd:storageProvisioner": "driver.longhorn.io", "herd:storageClass": "herd-retain", "herd:registry": "registry.customer.internal:5000/herd", "herd:ingressClass": "nginx", "herd:publicHostname": "shop.example.com", "herd:namespace": "shop" }));
        assert.deepEqual(t, {
            stack: "onprem",
            namespace: "shop",
            storage: { mode: "create", className: "herd-retain", provisioner: "driver.longhorn.io" },
            repositoryStorageClass: undefined,
            ingressClass: "nginx",
            registryHosts: ["registry.customer.internal:5000"],
        });
    });
    it("checks each prebuilt image's registry once", () => {
        const stack = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "e2e", "stack.yaml"), "utf8")) as { config: Record<string, unknown> };
        const values = Object.fromEntries(Object.entries(stack.config).map(([k, v]) => [k, String(v)]));
        assert.deepEqual(targetOf("e2e", parse(values)).registryHosts, ["registry.e2e.invalid"]);
    });
});

describe("preflight: the report", () => {
    const healthy = (): Recorded =>
        recorded({
            "version -o json": VERSION_134,
            "get pods --all-namespaces -o json": pods(["kube-system", "cilium-abc"], ["kube-system", "coredns-1"]),
            "get namespace herd -o json": ns("herd", HERD_LABELS),
            "get storageclass fast-ssd -o json": JSON.stringify({ metadata: { name: "fast-ssd" }, provisioner: "rbd.csi.ceph.com", allowVolumeExpansion: true, reclaimPolicy: "Retain" }),
            "get ingressclass nginx -o json": JSON.stringify({ metadata: { name: "nginx" }, spec: { controller: "k8s.io/ingress-nginx" } }),
            "create --dry-run=server -n herd -f -": fail(REFUSED),
        });
    it("lists every check, no blocker on a healthy cluster", async () => {
        const report = await runPreflight(healthy(), TARGET, { probe: async () => new Map([["registry.customer.internal:5000", { status: 401 }]]) });
        assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [
            ["kubernetes-version", "pass"],
            ["namespace", "pass"],
            ["storage", "pass"],
            ["ingress", "pass"],
            ["pod-security", "pass"],
            ["network-policy", "pass"],
            ["registry", "pass"],
        ]);
        assert.equal(report.blockers, 0);
        const table = renderTable(report);
        assert.match(table, /^CHECK +RESULT +WHAT WAS FOUND \/ WHAT TO DO$/m);
        assert.match(table, /^Registry +PASS +registry\.customer\.internal:5000 \(GET \/v2\/: 401\)/m);
        assert.match(table, /no blocker: the cluster is ready for pulumi up\./);
        assert.deepEqual(JSON.parse(renderJson(report)), JSON.parse(JSON.stringify(report)));
    });
    it("counts blockers and warnings in the verdict line", async () => {
        const report = await runPreflight(healthy(), TARGET, { probe: async () => new Map([["registry.customer.internal:5000", { error: "connection refused" }]]) });
        assert.equal(report.blockers, 1);
        assert.match(renderTable(report), /1 blocker\(s\): fix each FAIL before pulumi up\./);
    });
    it("with the API server out of reach, reports that and the registry only", async () => {
        const report = await runPreflight(recorded({ "version -o json": fail(UNREACHABLE) }), TARGET, { probe: async () => new Map([["registry.customer.internal:5000", { status: 401 }]]) });
        assert.deepEqual(report.checks.map((c) => `${c.id}:${c.status}`), ["kubernetes-version:fail", "registry:pass"]);
    });
});

const execFileP = promisify(execFile);

describe("npm run preflight (the command)", () => {
    it("--help prints the usage, the supported range and the flags, exit 0", () => {
        const r = runScript("preflight", ["--help"]);
        assert.equal(r.status, 0);
        assert.match(r.stdout, /^usage: npm run --silent preflight -- --stack <name>/);
        assert.match(r.stdout, /herd supports 1\.31 to 1\.34/);
        assert.match(r.stdout, /--kubeconfig <file> .*herd:kubeconfig \(a secret/);
    });
    it("an unknown flag or a missing --stack: the usage, exit 2", () => {
        const bad = runScript("preflight", ["--stack", "onprem", "--nope"]);
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /Unknown option '--nope'[\s\S]*usage: npm run --silent preflight/);
        const missing = runScript("preflight", []);
        assert.equal(missing.status, 2);
        assert.match(missing.stderr, /^--stack is required/);
    });
    it("an unknown stack: one line naming the stacks there are, exit 1", () => {
        const r = runScript("preflight", ["--stack", "nope"]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^stack nope: no stack file for stack 'nope': .*the stacks here are: aws, gcp, onprem\n$/);
    });
    it("a cloud stack: refused in one line (herd creates that cluster)", () => {
        const r = runScript("preflight", ["--stack", "aws"]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /stack aws is platform aws: herd creates that cluster itself.*preflight is for onprem stacks/);
    });
    it("a secret herd:kubeconfig it cannot decrypt: says how to pass it with --kubeconfig", () => {
        const file = writeStackFile({ "herd:platform": "onprem", "herd:storageClass": "fast", "herd:registry": "r.example/herd", "herd:kubeconfig": { secure: "AAABAKm+notreal" } });
        const r = runScript("preflight", ["--stack", "test", "--config-file", file], { env: { PATH: path.dirname(process.execPath) } });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /sets herd:kubeconfig as a secret, which cannot be decrypted here \(the Pulumi CLI is not on PATH\); save it with `pulumi config get herd:kubeconfig --stack test > kubeconfig\.yaml` and pass --kubeconfig kubeconfig\.yaml/);
    });
    it("a secret herd:kubeconfig the Pulumi CLI cannot decrypt: pulumi's reason and the --kubeconfig way out", () => {
        const bin = tempDir();
        // A pulumi on PATH that answers as the real one does without the stack's passphrase.
        fs.writeFileSync(path.join(bin, "pulumi"), "#!/bin/sh\necho 'error: constructing secrets manager of type \"passphrase\": passphrase must be set with PULUMI_CONFIG_PASSPHRASE' >&2\nexit 255\n", { mode: 0o755 });
        const file = writeStackFile({ "herd:platform": "onprem", "herd:storageClass": "fast", "herd:registry": "r.example/herd", "herd:kubeconfig": { secure: "AAABAKm+notreal" } });
        const r = runScript("preflight", ["--stack", "test", "--config-file", file], { env: { PATH: `${bin}:/bin` } });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /cannot be decrypted here \(pulumi config get herd:kubeconfig failed: error: constructing secrets manager .*passphrase must be set.*\); save it with/);
    });
    it("no kubectl: one line naming what to install", () => {
        const noKubectl = tempDir();
        const r = runScript("preflight", ["--stack", "onprem", "--kubeconfig", path.join(PROJECT_DIR, "package.json")], { env: { PATH: noKubectl } });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^kubectl not found on PATH: install kubectl .* or name it with --kubectl <path>\n$/);
        const named = runScript("preflight", ["--stack", "onprem", "--kubeconfig", path.join(PROJECT_DIR, "package.json"), "--kubectl", "kubectl-1.99"]);
        assert.equal(named.status, 1);
        assert.match(named.stderr, /^kubectl-1\.99 not found on PATH/);
    });

    const kubectlBin = spawnSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).stdout.trim();
    const opensslOk = spawnSync("openssl", ["version"]).status === 0;
    const missing = kubectlBin === "" ? "kubectl" : !opensslOk ? "openssl" : undefined;
    const skip = missing !== undefined && process.env["CI"] !== "true" ? `${missing} is not installed` : false;
    it("for real: an API server nobody answers is a blocker; a registry with a private CA passes through NODE_EXTRA_CA_CERTS; --json", { skip }, async () => {
        assert.equal(missing, undefined, `${missing ?? ""} is not installed; CI=true: a missing binary fails instead of skipping`);
        const dir = tempDir();
        const key = path.join(dir, "key.pem");
        const cert = path.join(dir, "cert.pem");
        const gen = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=herd-test-registry", "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE"], { encoding: "utf8" });
        assert.equal(gen.status, 0, gen.stderr);
        const registry = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
            res.writeHead(req.url === "/v2/" ? 401 : 404, { "Docker-Distribution-API-Version": "registry/2.0" });
            res.end();
        });
        await new Promise<void>((r) => registry.listen(0, "127.0.0.1", r));
        const port = (registry.address() as AddressInfo).port;
        // An API server address nobody listens on.
        const idle = http.createServer();
        await new Promise<void>((r) => idle.listen(0, "127.0.0.1", r));
        const apiPort = (idle.address() as AddressInfo).port;
        await new Promise((r) => idle.close(r));
        const kubeconfig = path.join(dir, "kubeconfig");
        fs.writeFileSync(
            kubeconfig,
            `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:${apiPort}', insecure-skip-tls-verify: true}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: not-a-credential}\n`,
        );
        const stack = writeStackFile({ "herd:platform": "onprem", "herd:storageClass": "fast", "herd:registry": `127.0.0.1:${port}/herd` }, dir);
        try {
            const run = await execFileP(process.execPath, ["--import", "tsx", scriptFile("preflight"), "--stack", "test", "--config-file", stack, "--kubeconfig", kubeconfig, "--kubectl", kubectlBin, "--json"], {
                cwd: PROJECT_DIR,
                env: { ...process.env, NODE_EXTRA_CA_CERTS: cert },
            }).then(
                () => ({ code: 0, stdout: "" }),
                (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
            );
            assert.equal(run.code, 1);
            const report = JSON.parse(run.stdout) as { checks: { id: string; status: string; detail: string }[]; blockers: number };
            assert.deepEqual(report.checks.map((c) => `${c.id}:${c.status}`), ["kubernetes-version:fail", "registry:pass"]);
            assert.match(report.checks[0].detail, /cannot reach the API server/);
            assert.match(report.checks[1].detail, new RegExp(`127\\.0\\.0\\.1:${port} \\(GET /v2/: 401\\)`));
        } finally {
            registry.close();
        }
    });
});
