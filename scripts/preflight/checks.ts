/**
 * The preflight checks, each a decision on what kubectl (or the registry) answered: pass, warn (cannot tell, or
 * not herd's recommended setting) or fail (a blocker: `pulumi up` would fail or herd would run unsafely). Each result
 * is one line saying what was found and what to do. tests/preflight.test.ts runs every decision on recorded outputs.
 */
import { randomBytes } from "node:crypto";
import { MANAGED_BY, PART_OF } from "../../lib/labels";
import { firstLine, getJson, Kube, KubeList, ObjectMeta } from "./kube";
import type { RegistryAnswer } from "./registry";

/**
 * The Kubernetes minor versions herd is built and checked against (README "What a cluster needs"). Older is a
 * blocker (APIs and Pod Security behaviour herd relies on); newer is a warning (untested, GA APIs only).
 */
export const SUPPORTED_KUBERNETES = { min: { major: 1, minor: 31 }, max: { major: 1, minor: 34 } } as const;
export const SUPPORTED_RANGE_TEXT = `${SUPPORTED_KUBERNETES.min.major}.${SUPPORTED_KUBERNETES.min.minor} to ${SUPPORTED_KUBERNETES.max.major}.${SUPPORTED_KUBERNETES.max.minor}`;

/** CNIs known to enforce NetworkPolicy, by the name prefix of their pods. */
export const ENFORCING_CNIS = ["calico", "cilium", "antrea", "kube-router", "weave"] as const;
/** LoadBalancer implementations recognised by the name of their pods. */
export const LOAD_BALANCERS: readonly { readonly match: RegExp; readonly name: string }[] = [
    { match: /^metallb-|^speaker-|^controller-.*metallb/, name: "MetalLB" },
    { match: /^kube-vip/, name: "kube-vip" },
    { match: /^svclb-/, name: "k3s ServiceLB (klipper-lb)" },
    { match: /cloud-controller-manager/, name: "a cloud controller manager" },
    { match: /^purelb|^lbnodeagent-|^allocator-/, name: "PureLB" },
    { match: /^openelb/, name: "OpenELB" },
    { match: /^loxilb/, name: "LoxiLB" },
];

export type Status = "pass" | "warn" | "fail";

export interface CheckResult {
    readonly id: string;
    readonly title: string;
    readonly status: Status;
    /** One line: what was found and, unless it passed, what to do. */
    readonly detail: string;
}

/** What the checks need to know about the stack. */
export interface PreflightTarget {
    readonly stack: string;
    readonly namespace: string;
    readonly storage:
        | { readonly mode: "existing"; readonly className: string }
        | { readonly mode: "create"; readonly className: string; readonly provisioner: string };
    /** A second class for the backup repositories (onprem herd:repositoryStorageClass). */
    readonly repositoryStorageClass: string | undefined;
    readonly ingressClass: string | undefined;
    /** Registry hosts (host[:port]) herd pushes to or pulls from. */
    readonly registryHosts: readonly string[];
}

const result = (id: string, title: string) => (status: Status, detail: string): CheckResult => ({ id, title, status, detail });

interface VersionJson {
    readonly serverVersion?: { readonly major?: string; readonly minor?: string; readonly gitVersion?: string };
}

/** Parses `kubectl version -o json`'s server version; "30+" (EKS, GKE) counts as 30. */
export function serverVersion(json: VersionJson): { major: number; minor: number; text: string } | undefined {
    const sv = json.serverVersion;
    const major = Number.parseInt(sv?.major ?? "", 10);
    const minor = Number.parseInt(sv?.minor ?? "", 10);
    if (!Number.isFinite(major) || !Number.isFinite(minor)) {
        return undefined;
    }
    return { major, minor, text: sv?.gitVersion ?? `v${major}.${minor}` };
}

/** The API server answers, and its version is one herd supports; `reachable` false: no other check can run. */
export function checkVersion(kube: Kube): { result: CheckResult; reachable: boolean } {
    const r = result("kubernetes-version", "Kubernetes version");
    const out = kube.run(["version", "-o", "json"]);
    let parsed: VersionJson = {};
    try {
        parsed = JSON.parse(out.stdout === "" ? "{}" : out.stdout) as VersionJson;
    } catch {
        // handled below: no server version
    }
    const v = serverVersion(parsed);
    if (v === undefined) {
        const said = firstLine(out.stderr);
        const why = said !== "" ? said : `kubectl version exited ${out.status}`;
        return {
            reachable: false,
            result: r("fail", `cannot reach the API server through ${kube.describe}: ${why}; check the kubeconfig, the context (--context) and the network`),
        };
    }
    const { min, max } = SUPPORTED_KUBERNETES;
    const n = v.major * 1000 + v.minor;
    if (n < min.major * 1000 + min.minor) {
        return { reachable: true, result: r("fail", `${v.text}: older than herd supports (${SUPPORTED_RANGE_TEXT}); upgrade the cluster to ${min.major}.${min.minor} or newer`) };
    }
    if (n > max.major * 1000 + max.minor) {
        return {
            reachable: true,
            result: r("warn", `${v.text}: newer than herd is checked against (${SUPPORTED_RANGE_TEXT}); herd uses GA APIs only, but run a preview (and a staging up) first`),
        };
    }
    return { reachable: true, result: r("pass", `${v.text} (herd supports ${SUPPORTED_RANGE_TEXT})`) };
}

interface StorageClassJson {
    readonly metadata: ObjectMeta;
    readonly provisioner: string;
    readonly allowVolumeExpansion?: boolean;
    readonly reclaimPolicy?: string;
}
interface PvJson {
    readonly metadata: ObjectMeta;
    readonly spec: { readonly storageClassName?: string; readonly claimRef?: { readonly namespace?: string; readonly name?: string } };
    readonly status?: { readonly phase?: string };
}

function isHerds(labels: Readonly<Record<string, string>> | undefined): boolean {
    return labels?.["app.kubernetes.io/part-of"] === PART_OF && labels["app.kubernetes.io/managed-by"] === MANAGED_BY;
}

/**
 * The data StorageClass: an existing one must exist and allow expansion; one herd creates needs its provisioner
 * registered (a CSIDriver object) and no foreign class of the same name in the way.
 */
export function checkStorage(kube: Kube, target: PreflightTarget): CheckResult {
    const r = result("storage", "StorageClass");
    const s = target.storage;
    const cls = getJson<StorageClassJson>(kube, ["get", "storageclass", s.className]);
    if (cls.kind === "forbidden" || cls.kind === "error") {
        return r("warn", `cannot read StorageClass ${s.className}: ${cls.message}; check it by hand (kubectl get storageclass ${s.className} -o yaml)`);
    }
    const extra = target.repositoryStorageClass !== undefined ? checkRepositoryClass(kube, target.repositoryStorageClass) : undefined;
    let main: CheckResult;
    if (s.mode === "existing") {
        if (cls.kind === "absent") {
            main = r("fail", `StorageClass ${s.className} (herd:storageClass) does not exist; create it, or set herd:storageProvisioner so herd creates it`);
        } else if (cls.value.allowVolumeExpansion !== true) {
            main = r(
                "fail",
                `StorageClass ${s.className} does not allow volume expansion (allowVolumeExpansion is ${String(cls.value.allowVolumeExpansion ?? "unset")}); herd's resize path needs it: set allowVolumeExpansion: true on the class (its driver must support it)`,
            );
        } else if (cls.value.reclaimPolicy !== "Retain") {
            main = r(
                "warn",
                `StorageClass ${s.className} (${cls.value.provisioner}) expands, but its reclaimPolicy is ${cls.value.reclaimPolicy ?? "Delete"}: a deleted claim deletes its data; herd recommends Retain`,
            );
        } else {
            main = r("pass", `StorageClass ${s.className} exists (${cls.value.provisioner}), expandable, reclaimPolicy Retain`);
        }
    } else {
        main = checkCreatedClass(kube, s, cls.kind === "found" ? cls.value : undefined, r);
    }
    if (extra === undefined) {
        return main;
    }
    // The worse of the two: a blocker first, then a warning; both details when both pass.
    for (const status of ["fail", "warn"] as const) {
        const worst = [main, extra].find((c) => c.status === status);
        if (worst !== undefined) {
            return worst;
        }
    }
    return r("pass", `${main.detail}; ${extra.detail}`);
}

function checkRepositoryClass(kube: Kube, name: string): CheckResult {
    const r = result("storage", "StorageClass");
    const cls = getJson<StorageClassJson>(kube, ["get", "storageclass", name]);
    if (cls.kind === "found") {
        return r("pass", `repository class ${name} exists (${cls.value.provisioner})`);
    }
    if (cls.kind === "absent") {
        return r("fail", `StorageClass ${name} (herd:repositoryStorageClass) does not exist; create a ReadWriteMany class of that name or unset the key`);
    }
    return r("warn", `cannot read StorageClass ${name} (herd:repositoryStorageClass): ${cls.message}`);
}

function checkCreatedClass(
    kube: Kube,
    s: { readonly className: string; readonly provisioner: string },
    existing: StorageClassJson | undefined,
    r: (status: Status, detail: string) => CheckResult,
): CheckResult {
    if (existing !== undefined && !isHerds(existing.metadata.labels)) {
        return r(
            "fail",
            `StorageClass ${s.className} already exists and is not herd's (provisioner ${existing.provisioner}); herd would create a class of that name: choose another herd:storageClass, or unset herd:storageProvisioner to use the existing class`,
        );
    }
    const owned = existing !== undefined ? ` (herd's class ${s.className} is already there)` : "";
    if (s.provisioner === "kubernetes.io/no-provisioner") {
        // No dynamic provisioning: claims bind only to volumes created in advance.
        const pvs = getJson<KubeList<PvJson>>(kube, ["get", "persistentvolumes"]);
        if (pvs.kind !== "found") {
            return r("warn", `herd:storageProvisioner is kubernetes.io/no-provisioner (static volumes only), and the PersistentVolumes cannot be listed: ${pvs.kind === "absent" ? "not found" : pvs.message}`);
        }
        const available = pvs.value.items.filter((pv) => pv.spec.storageClassName === s.className && (pv.status?.phase ?? "") === "Available").length;
        if (available === 0) {
            return r(
                "fail",
                `herd:storageProvisioner is kubernetes.io/no-provisioner (no dynamic provisioning) and no Available PersistentVolume of class ${s.className} exists; create the volumes first (one per claim: 3 data, 1 backup, 2 repositories) or name a CSI driver`,
            );
        }
        return r("pass", `static volumes: ${available} Available PersistentVolume(s) of class ${s.className} for kubernetes.io/no-provisioner${owned}`);
    }
    const drivers = getJson<KubeList<{ readonly metadata: ObjectMeta }>>(kube, ["get", "csidrivers"]);
    if (drivers.kind !== "found") {
        return r("warn", `cannot list CSIDrivers (${drivers.kind === "absent" ? "not found" : drivers.message}): check that ${s.provisioner} is installed`);
    }
    const names = drivers.value.items.map((d) => d.metadata.name);
    if (names.includes(s.provisioner)) {
        return r("pass", `CSI driver ${s.provisioner} is registered; herd creates StorageClass ${s.className} (expandable, Retain)${owned}`);
    }
    if (s.provisioner.startsWith("kubernetes.io/")) {
        return r("warn", `${s.provisioner} is an in-tree provisioner (no CSIDriver object to look for): check it is enabled on this cluster`);
    }
    return r(
        "fail",
        `CSI driver ${s.provisioner} (herd:storageProvisioner) is not registered (CSIDrivers here: ${names.length > 0 ? names.join(", ") : "none"}); install it first, or name a registered one`,
    );
}

interface PodList {
    readonly items: readonly { readonly metadata: ObjectMeta }[];
}

/** Every pod's namespace and name, read once for the checks that look for known components. */
export function listPods(kube: Kube): { pods: readonly ObjectMeta[] } | { error: string } {
    const got = getJson<PodList>(kube, ["get", "pods", "--all-namespaces"]);
    if (got.kind !== "found") {
        return { error: got.kind === "absent" ? "not found" : got.message };
    }
    return { pods: got.value.items.map((p) => p.metadata) };
}

interface ServiceJson {
    readonly metadata: ObjectMeta;
    readonly spec?: { readonly type?: string };
    readonly status?: { readonly loadBalancer?: { readonly ingress?: readonly unknown[] } };
}

/** The way in: the ingress class when herd:ingressClass is set, else a LoadBalancer implementation (best effort). */
export function checkIngress(kube: Kube, target: PreflightTarget, pods: ReturnType<typeof listPods>): CheckResult {
    const r = result("ingress", "Ingress class / LoadBalancer");
    if (target.ingressClass !== undefined) {
        const got = getJson<{ readonly metadata: ObjectMeta; readonly spec?: { readonly controller?: string } }>(kube, ["get", "ingressclass", target.ingressClass]);
        if (got.kind === "found") {
            return r("pass", `IngressClass ${target.ingressClass} exists (controller ${got.value.spec?.controller ?? "unknown"})`);
        }
        if (got.kind === "absent") {
            return r(
                "fail",
                `IngressClass ${target.ingressClass} (herd:ingressClass) does not exist; install its ingress controller, or name an existing class (kubectl get ingressclass), or unset the key to use a LoadBalancer Service`,
            );
        }
        return r("warn", `cannot read IngressClass ${target.ingressClass}: ${got.message}`);
    }
    const services = getJson<KubeList<ServiceJson>>(kube, ["get", "services", "--all-namespaces"]);
    if (services.kind === "found") {
        const served = services.value.items.find((s) => s.spec?.type === "LoadBalancer" && (s.status?.loadBalancer?.ingress?.length ?? 0) > 0);
        if (served !== undefined) {
            return r("pass", `a LoadBalancer implementation answers: Service ${served.metadata.namespace ?? ""}/${served.metadata.name} has an address`);
        }
    }
    if ("pods" in pods) {
        for (const lb of LOAD_BALANCERS) {
            const pod = pods.pods.find((p) => lb.match.test(p.name));
            if (pod !== undefined) {
                return r("pass", `${lb.name} found (pod ${pod.namespace ?? ""}/${pod.name}) for the front end's LoadBalancer Service`);
            }
        }
    }
    return r(
        "warn",
        `no herd:ingressClass, and no LoadBalancer implementation could be recognised${"error" in pods ? ` (pods not readable: ${pods.error})` : ""}: the front end's LoadBalancer Service may stay <pending>; install MetalLB or kube-vip, or set herd:ingressClass`,
    );
}

/** Blocks the thread for `ms` (used between kubectl retries; the commands are synchronous). */
function sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A pod that no Pod Security level but privileged allows. */
export function privilegedPod(): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "herd-preflight-privileged" },
        spec: {
            automountServiceAccountToken: false,
            containers: [{ name: "probe", image: "registry.invalid/herd-preflight:none", securityContext: { privileged: true } }],
        },
    });
}

/**
 * Pod Security admission enforces: a server-side dry run of a privileged pod into a namespace labelled
 * enforce=restricted must be refused. herd's namespace is used when it is already there and labelled; otherwise a
 * throwaway namespace is created and deleted again.
 */
export function checkPodSecurity(kube: Kube, target: PreflightTarget, opts: { readonly retryDelayMs?: number } = {}): CheckResult {
    const r = result("pod-security", "Pod Security admission");
    const ns = getJson<{ readonly metadata: ObjectMeta }>(kube, ["get", "namespace", target.namespace]);
    let probeNs: string;
    let created = false;
    if (ns.kind === "found" && ns.value.metadata.labels?.["pod-security.kubernetes.io/enforce"] === "restricted") {
        probeNs = target.namespace;
    } else {
        probeNs = `herd-preflight-${randomBytes(4).toString("hex")}`;
        const manifest = JSON.stringify({
            apiVersion: "v1",
            kind: "Namespace",
            metadata: {
                name: probeNs,
                labels: { "pod-security.kubernetes.io/enforce": "restricted", "app.kubernetes.io/managed-by": "herd-preflight" },
            },
        });
        const c = kube.run(["create", "-f", "-"], manifest);
        if (c.status !== 0) {
            return r("warn", `cannot tell: creating a throwaway namespace to probe with was refused (${firstLine(c.stderr)}); run preflight as someone who may create namespaces`);
        }
        created = true;
    }
    try {
        let out = kube.run(["create", "--dry-run=server", "-n", probeNs, "-f", "-"], privilegedPod());
        // A new namespace's default ServiceAccount arrives a moment after it (the ServiceAccount admission plugin
        // runs before Pod Security and refuses without it).
        for (let i = 0; i < 20 && out.status !== 0 && /serviceaccount/i.test(out.stderr) && !/PodSecurity/.test(out.stderr); i++) {
            sleep(opts.retryDelayMs ?? 500);
            out = kube.run(["create", "--dry-run=server", "-n", probeNs, "-f", "-"], privilegedPod());
        }
        if (out.status === 0) {
            return r(
                "fail",
                `a privileged pod was accepted in namespace ${probeNs}, labelled pod-security.kubernetes.io/enforce=restricted: Pod Security admission is off or exempts it; enable the PodSecurity admission plugin (kube-apiserver) and remove exemptions for herd's namespace`,
            );
        }
        if (/violates PodSecurity/i.test(out.stderr)) {
            return r("pass", `a privileged pod is refused in a namespace labelled enforce=restricted (dry run in ${probeNs}${created ? ", a throwaway namespace, deleted" : ""})`);
        }
        return r("warn", `cannot tell: the dry run of a privileged pod failed for another reason (${firstLine(out.stderr)})`);
    } finally {
        if (created) {
            kube.run(["delete", "namespace", probeNs, "--wait=false", "--ignore-not-found"]);
        }
    }
}

/** herd's namespace is absent (pulumi up creates it) or carries herd's labels. */
export function checkNamespace(kube: Kube, target: PreflightTarget): CheckResult {
    const r = result("namespace", "Namespace");
    const ns = getJson<{ readonly metadata: ObjectMeta; readonly status?: { readonly phase?: string } }>(kube, ["get", "namespace", target.namespace]);
    if (ns.kind === "absent") {
        return r("pass", `${target.namespace} does not exist yet; pulumi up creates it`);
    }
    if (ns.kind !== "found") {
        return r("warn", `cannot read namespace ${target.namespace}: ${ns.message}`);
    }
    if (ns.value.status?.phase === "Terminating") {
        return r("fail", `${target.namespace} is being deleted (Terminating); wait until it is gone, or choose another herd:namespace`);
    }
    const labels = ns.value.metadata.labels ?? {};
    if (isHerds(labels)) {
        return r("pass", `${target.namespace} exists and is herd's (app.kubernetes.io/part-of=${PART_OF}, managed-by=${MANAGED_BY})`);
    }
    const owner = labels["app.kubernetes.io/part-of"] ?? labels["app.kubernetes.io/managed-by"];
    return r(
        "fail",
        `${target.namespace} exists and is not herd's (${owner !== undefined ? `labelled for ${owner}` : "no app.kubernetes.io/part-of=herd label"}); choose another herd:namespace, or label it app.kubernetes.io/part-of=${PART_OF},app.kubernetes.io/managed-by=${MANAGED_BY} if it is really meant for herd`,
    );
}

/** The registry answers the Docker Registry API over HTTPS from this machine. */
export function checkRegistry(target: PreflightTarget, answers: ReadonlyMap<string, RegistryAnswer>): CheckResult {
    const r = result("registry", "Registry");
    if (target.registryHosts.length === 0) {
        return r("pass", "no registry to reach");
    }
    const bad: string[] = [];
    const good: string[] = [];
    for (const host of target.registryHosts) {
        const a = answers.get(host);
        if (a === undefined) {
            bad.push(`${host}: not checked`);
        } else if ("status" in a && (a.status === 200 || a.status === 401)) {
            good.push(`${host} (GET /v2/: ${a.status})`);
        } else {
            bad.push(`${host}: ${"status" in a ? `GET https://${host}/v2/ answered ${a.status}, not a registry's 200 or 401` : a.error}`);
        }
    }
    if (bad.length > 0) {
        return r("fail", `checked from this machine, not from the nodes: ${bad.join("; ")}; check the name, DNS, the firewall and the registry's TLS certificate (NODE_EXTRA_CA_CERTS for a private CA)`);
    }
    return r("pass", `${good.join(", ")} answers over HTTPS, checked from this machine, not from the nodes`);
}

/** NetworkPolicy is enforced: best effort, by the pods of a known enforcing CNI. */
export function checkNetworkPolicy(pods: ReturnType<typeof listPods>): CheckResult {
    const r = result("network-policy", "NetworkPolicy enforcement");
    if ("error" in pods) {
        return r("warn", `cannot tell: pods cannot be listed (${pods.error}); check that the CNI enforces NetworkPolicy`);
    }
    const systemNs = /^(kube-system|calico-system|tigera-operator|cilium|cilium-system|antrea-system|kube-router)$/;
    for (const cni of ENFORCING_CNIS) {
        const pod = pods.pods.find((p) => systemNs.test(p.namespace ?? "") && p.name.startsWith(cni));
        if (pod !== undefined) {
            return r("pass", `${cni} runs (pod ${pod.namespace ?? ""}/${pod.name}), a CNI that enforces NetworkPolicy`);
        }
    }
    return r(
        "warn",
        `no known enforcing CNI (${ENFORCING_CNIS.join(", ")}) found in kube-system: herd's NetworkPolicies may do nothing; verify by applying a default-deny policy in a test namespace and checking that one pod can no longer reach another`,
    );
}
