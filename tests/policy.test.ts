/**
 * The guardrails policy pack (policy/): every policy shown to fail on a fixture that breaks it (asserting the
 * message) and to pass on one that keeps it; exceptions; preview-time unknown values; then every policy over every
 * resource the harness records for every stack file, with zero mandatory violations and a table of what was checked.
 * Last, the pack itself is started as the Pulumi CLI starts it and spoken to over the analyzer gRPC protocol.
 *
 * The adapter turns harness records into the arguments @pulumi/policy passes: resource policies get a resource's
 * inputs (secrets as "[secret]", as recorded), its URN, name and options (protect); stack policies get every
 * resource's outputs (the mock's state, with auto-names applied), as the engine hands them after a preview.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import * as emptyPb from "google-protobuf/google/protobuf/empty_pb";
import * as structPb from "google-protobuf/google/protobuf/struct_pb";
import { parse as parseYaml } from "yaml";
import {
    EnforcementLevel,
    EXCEPTION_ANNOTATION_PREFIX,
    imageProblem,
    LOAD_BALANCER_ALLOWED_LABELS,
    PACK_NAME,
    policies,
    PolicyResource,
    podTemplate,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Rule,
    RULES,
    secretLikeName,
    selectorMatches,
    StackValidationArgs,
    StackValidationPolicy,
} from "../policy/policies";
import { evaluateStack } from "../offline/evaluate";
import type { Evaluation } from "../offline/evaluate";
import { unwrap } from "../offline/mocks";
import { PROJECT_DIR } from "../offline/stack-config";

type Json = Record<string, unknown>;

/** Modules of @pulumi/policy loaded by importing the policy definitions (and this file's other imports). */
const POLICY_MODULES_AT_IMPORT = Object.keys(require.cache).filter((k) => k.includes(`${path.sep}@pulumi${path.sep}policy${path.sep}`));

// ---------------------------------------------------------------------------------------------------------------
// The adapter: resources in the shape @pulumi/policy hands them to policies, and a runner collecting violations.

interface Res {
    readonly type: string;
    readonly name: string;
    /** Inputs: what resource policies see. */
    readonly props: Json;
    /** Outputs: what stack policies see. @default props */
    readonly outputs?: Json;
    readonly protect?: boolean;
    /** Types of its ancestors (components), outermost first, for the URN. */
    readonly parentTypes?: readonly string[];
    /** URN of its provider. */
    readonly provider?: string;
    /** Per property, the URNs its value came from (what the engine records for stack policies). */
    readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

interface Violation {
    readonly policy: string;
    readonly level: EnforcementLevel;
    readonly urn: string;
    readonly message: string;
}

function urnOf(r: Res, stack = "test"): string {
    return `urn:pulumi:${stack}::herd::${[...(r.parentTypes ?? []), r.type].join("$")}::${r.name}`;
}

class NotApplicable extends Error {}

/** The Pulumi type token a resource class declares (what @pulumi/policy's isType compares). */
function typeOfClass(resourceClass: object): unknown {
    return (resourceClass as { __pulumiType?: unknown }).__pulumiType;
}

const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

function resourceArgs(r: Res, stack: string, config: object): ResourceValidationArgs {
    const isType = (resourceClass: object) => typeOfClass(resourceClass) === r.type;
    return {
        type: r.type,
        props: r.props,
        urn: urnOf(r, stack),
        name: r.name,
        opts: {
            protect: r.protect === true,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        },
        provider: r.provider === undefined ? undefined : { type: r.provider.split("::")[2] ?? "", props: {}, urn: r.provider, name: r.provider.split("::")[3] ?? "" },
        stackTags: new Map(),
        isType,
        // The SDK's asType is generic over the resource class's args; here it hands back the same props.
        asType: ((resourceClass: object) => (isType(resourceClass) ? r.props : undefined)) as unknown as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => config as T,
        notApplicable,
    };
}

function stackResource(r: Res, stack: string): PolicyResource {
    const isType = (resourceClass: object) => typeOfClass(resourceClass) === r.type;
    const deps: Record<string, PolicyResource[]> = {};
    for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
        // Only the URN of a dependency is read by the policies.
        deps[k] = urns.map((urn) => ({ urn }) as PolicyResource);
    }
    const props = r.outputs ?? r.props;
    return {
        type: r.type,
        props,
        urn: urnOf(r, stack),
        name: r.name,
        opts: {
            protect: r.protect === true,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        },
        provider: r.provider === undefined ? undefined : { type: r.provider.split("::")[2] ?? "", props: {}, urn: r.provider, name: r.provider.split("::")[3] ?? "" },
        dependencies: [],
        propertyDependencies: deps,
        isType,
        asType: ((resourceClass: object) => (isType(resourceClass) ? props : undefined)) as unknown as PolicyResource["asType"],
    };
}

function isStackPolicy(p: ResourceValidationPolicy | StackValidationPolicy): p is StackValidationPolicy {
    return "validateStack" in p;
}

interface RunOptions {
    readonly stack?: string;
    /** Policy config, by policy name (what `--policy-pack-config` gives the pack). */
    readonly config?: Readonly<Record<string, object>>;
}

/** Runs every policy of the pack over the resources: each resource policy on each resource, each stack policy once. */
async function runPack(resources: readonly Res[], opts: RunOptions = {}): Promise<Violation[]> {
    const stack = opts.stack ?? "test";
    const violations: Violation[] = [];
    for (const p of policies) {
        const level = p.enforcementLevel ?? "mandatory";
        const config = opts.config?.[p.name] ?? {};
        if (isStackPolicy(p)) {
            const args: StackValidationArgs = {
                resources: resources.map((r) => stackResource(r, stack)),
                getConfig: <T extends object>() => config as T,
                stackTags: new Map(),
                notApplicable,
            };
            try {
                await p.validateStack(args, (message, urn) => violations.push({ policy: p.name, level, urn: urn ?? "", message }));
            } catch (err) {
                if (!(err instanceof NotApplicable)) {
                    throw err;
                }
            }
            continue;
        }
        const validations = p.validateResource === undefined ? [] : Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
        for (const r of resources) {
            for (const validate of validations) {
                try {
                    await validate(resourceArgs(r, stack, config), (message) => violations.push({ policy: p.name, level, urn: urnOf(r, stack), message }));
                } catch (err) {
                    if (!(err instanceof NotApplicable)) {
                        throw err;
                    }
                }
            }
        }
    }
    return violations;
}

/** The messages one policy reports for the resources. */
async function messages(policy: string, resources: readonly Res[], opts: RunOptions = {}): Promise<string[]> {
    assert.ok(
        RULES.some((r) => r.name === policy),
        `no policy ${policy}`,
    );
    return (await runPack(resources, opts)).filter((v) => v.policy === policy).map((v) => v.message);
}

/** Policies shown to fail, and to pass, on some fixture (checked for every policy below). */
const provenFailing = new Set<string>();
const provenPassing = new Set<string>();

async function assertFails(policy: string, resources: readonly Res[], expected: RegExp, opts: RunOptions = {}): Promise<string[]> {
    provenFailing.add(policy);
    const found = await messages(policy, resources, opts);
    assert.ok(found.length > 0, `${policy}: expected a violation matching ${expected}, got none`);
    assert.ok(
        found.some((m) => expected.test(m)),
        `${policy}: expected a violation matching ${expected}, got:\n  ${found.join("\n  ")}`,
    );
    return found;
}

async function assertPasses(policy: string, resources: readonly Res[], opts: RunOptions = {}): Promise<void> {
    provenPassing.add(policy);
    const found = await messages(policy, resources, opts);
    assert.deepEqual(found, [], `${policy}: expected no violation, got:\n  ${found.join("\n  ")}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: compliant objects, and a way to break one field at a time.

/** Sets (or, with undefined, deletes) the value at a dotted path such as `spec.containers[0].image`. */
function set<T extends Json>(obj: T, dotted: string, value: unknown): T {
    const keys = dotted.replace(/\[(\d+)\]/g, ".$1").split(".");
    let cur: Json = obj;
    for (const key of keys.slice(0, -1)) {
        const next = cur[key];
        if (typeof next !== "object" || next === null) {
            const created: Json = {};
            cur[key] = created;
            cur = created;
        } else {
            cur = next as Json;
        }
    }
    const last = keys[keys.length - 1];
    if (value === undefined) {
        delete cur[last];
    } else {
        cur[last] = value;
    }
    return obj;
}

function clone<T>(v: T): T {
    return structuredClone(v);
}

const NS = "herd";
const SELECTOR = { "app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web" };
const LABELS = { ...SELECTOR, "app.kubernetes.io/component": "server", "app.kubernetes.io/part-of": "herd", "app.kubernetes.io/managed-by": "pulumi" };
const K8S_PROVIDER = "urn:pulumi:test::herd::pulumi:providers:kubernetes::k8s";
const DIGEST = `sha256:${"a".repeat(64)}`;

function container(name: string, probe = true): Json {
    return {
        name,
        image: "registry.example.com/web:1.2.3",
        env: [
            { name: "DATABASE_HOST", value: "postgres.herd.svc.cluster.local" },
            { name: "DATABASE_PASSWORD", valueFrom: { secretKeyRef: { name: "postgres-credentials", key: "password" } } },
        ],
        ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
        securityContext: {
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        },
        ...(probe ? { readinessProbe: { httpGet: { path: "/readyz", port: "http" } } } : {}),
    };
}

function podSpec(): Json {
    return {
        securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
        automountServiceAccountToken: false,
        initContainers: [container("init", false)],
        containers: [container("web")],
        volumes: [
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            { name: "config", configMap: { name: "web" } },
            { name: "creds", secret: { secretName: "web" } },
        ],
    };
}

const template = () => ({ metadata: { labels: { ...LABELS } }, spec: podSpec() });
const meta = (name: string) => ({ name, namespace: NS, labels: { ...LABELS } });

function k8s(type: string, name: string, props: Json, extra: Partial<Res> = {}): Res {
    return { type, name, props, provider: K8S_PROVIDER, ...extra };
}

function deployment(name = "web", replicas = 2): Res {
    return k8s("kubernetes:apps/v1:Deployment", name, {
        metadata: meta(name),
        spec: {
            replicas,
            selector: { matchLabels: { ...SELECTOR } },
            template: {
                ...template(),
                spec: {
                    ...podSpec(),
                    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { ...SELECTOR } } }],
                },
            },
        },
    });
}

function statefulSet(name = "db", protect = true): Res {
    return k8s(
        "kubernetes:apps/v1:StatefulSet",
        name,
        {
            metadata: meta(name),
            spec: {
                replicas: 1,
                serviceName: `${name}-headless`,
                selector: { matchLabels: { ...SELECTOR } },
                persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
                volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "herd-gp3", resources: { requests: { storage: "20Gi" } } } }],
                template: template(),
            },
        },
        { protect },
    );
}

const jobTemplate = () => ({ ...template(), spec: { ...podSpec(), restartPolicy: "Never" } });

function workloadOfKind(kind: "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" | "Pod"): Res {
    switch (kind) {
        case "Deployment":
            return deployment();
        case "StatefulSet":
            return statefulSet();
        case "DaemonSet":
            return k8s("kubernetes:apps/v1:DaemonSet", "agent", { metadata: meta("agent"), spec: { selector: { matchLabels: { ...SELECTOR } }, template: template() } });
        case "Job":
            return k8s("kubernetes:batch/v1:Job", "migrate", { metadata: meta("migrate"), spec: { template: jobTemplate() } });
        case "CronJob":
            return k8s("kubernetes:batch/v1:CronJob", "backup", {
                metadata: meta("backup"),
                spec: { schedule: "0 3 * * *", jobTemplate: { metadata: { labels: { ...LABELS } }, spec: { template: jobTemplate() } } },
            });
        case "Pod":
            return k8s("kubernetes:core/v1:Pod", "debug", { metadata: meta("debug"), spec: { ...podSpec(), restartPolicy: "Never" } });
    }
}

/** The pod spec path of each kind, as messages name it. */
const SPEC_PATH: Readonly<Record<string, string>> = {
    Deployment: "spec.template.spec",
    StatefulSet: "spec.template.spec",
    DaemonSet: "spec.template.spec",
    Job: "spec.template.spec",
    CronJob: "spec.jobTemplate.spec.template.spec",
    Pod: "spec",
};

/** A copy of the resource with its pod spec changed. */
function withPod(r: Res, change: (spec: Json, templateMeta: Json) => void): Res {
    const props = clone(r.props);
    const kind = r.type.split(":")[2];
    const specPath = SPEC_PATH[kind];
    const keys = specPath.split(".");
    let spec: Json = props;
    for (const k of keys) {
        spec = spec[k] as Json;
    }
    const metaKeys = [...keys.slice(0, -1), "metadata"];
    let templateMeta: Json = props;
    for (const k of metaKeys) {
        templateMeta = (templateMeta[k] ?? (templateMeta[k] = {})) as Json;
    }
    change(spec, templateMeta);
    return { ...r, props };
}

function pdb(name: string, selector: unknown = { matchLabels: { ...SELECTOR } }, namespace = NS): Res {
    return k8s("kubernetes:policy/v1:PodDisruptionBudget", name, { metadata: { name, namespace }, spec: { maxUnavailable: 1, selector } });
}

function networkPolicy(name: string, podSelector: unknown, policyTypes: string[] | undefined, namespace = NS, egress?: unknown[]): Res {
    return k8s("kubernetes:networking.k8s.io/v1:NetworkPolicy", name, {
        metadata: { name, namespace },
        spec: { podSelector, ...(policyTypes !== undefined ? { policyTypes } : {}), ingress: [], ...(egress !== undefined ? { egress } : {}) },
    });
}

const fullNetworkPolicy = (name = "web") => networkPolicy(name, { matchLabels: { ...SELECTOR } }, ["Ingress", "Egress"]);

function hpa(name: string, target: string, kind = "Deployment"): Res {
    return k8s("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", name, {
        metadata: { name, namespace: NS },
        spec: { scaleTargetRef: { apiVersion: "apps/v1", kind, name: target }, minReplicas: 1, maxReplicas: 4 },
    });
}

function service(name: string, type: string, labels: Json = { ...LABELS }, selector: Json = { ...SELECTOR }): Res {
    return k8s("kubernetes:core/v1:Service", name, { metadata: { name, namespace: NS, labels }, spec: { type, selector, ports: [{ port: 80, targetPort: "http" }] } });
}

function storageClass(props: Json = {}): Res {
    return k8s("kubernetes:storage.k8s.io/v1:StorageClass", "data", {
        metadata: { name: "herd-data" },
        provisioner: "ebs.csi.aws.com",
        reclaimPolicy: "Retain",
        allowVolumeExpansion: true,
        volumeBindingMode: "WaitForFirstConsumer",
        ...props,
    });
}

// ---------------------------------------------------------------------------------------------------------------

describe("policy pack: shape", () => {
    it("has every policy with a description, remediation and enforcement level, and a config schema for exceptions", () => {
        assert.equal(PACK_NAME, "herd-guardrails");
        assert.equal(policies.length, RULES.length);
        const names = policies.map((p) => p.name);
        assert.equal(new Set(names).size, names.length, "policy names are unique");
        for (const p of policies) {
            assert.match(p.name, /^[a-z0-9-]{1,46}$/, `${p.name}: a name that fits the ${EXCEPTION_ANNOTATION_PREFIX}<policy> annotation key`);
            assert.ok(p.description.length > 40, `${p.name}: description`);
            assert.ok((p.remediationSteps ?? "").length > 20, `${p.name}: remediation`);
            assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", `${p.name}: enforcement level`);
        }
        const advisory = policies.filter((p) => p.enforcementLevel === "advisory").map((p) => p.name);
        assert.deepEqual(advisory.sort(), ["policy-exceptions", "recommended-labels", "replica-spread"]);
        assert.ok(policies.filter((p) => p.name !== "policy-exceptions").every((p) => p.configSchema?.properties["exceptions"] !== undefined));
    });

    it("importing the definitions loads nothing of @pulumi/policy at run time (no server is started)", () => {
        assert.deepEqual(POLICY_MODULES_AT_IMPORT, []);
    });

    it("passes a fully compliant set of every kind of object it checks", async () => {
        const all = [
            ...(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"] as const).map(workloadOfKind),
            pdb("web"),
            fullNetworkPolicy(),
            storageClass(),
            service("web", "ClusterIP"),
        ];
        const mandatory = (await runPack(all)).filter((v) => v.level === "mandatory");
        assert.deepEqual(mandatory, []);
    });
});

describe("pod-security-restricted: every control of the restricted profile", () => {
    const P = "pod-security-restricted";
    const base = deployment();
    const cases: readonly { readonly what: string; readonly change: (spec: Json, templateMeta: Json) => void; readonly expected: RegExp }[] = [
        { what: "hostNetwork", change: (s) => set(s, "hostNetwork", true), expected: /spec\.template\.spec\.hostNetwork is true/ },
        { what: "hostPID", change: (s) => set(s, "hostPID", true), expected: /hostPID is true/ },
        { what: "hostIPC", change: (s) => set(s, "hostIPC", true), expected: /hostIPC is true/ },
        { what: "hostPath volume", change: (s) => set(s, "volumes[0]", { name: "host", hostPath: { path: "/var/run" } }), expected: /volumes "host" is a hostPath volume/ },
        { what: "a volume type outside the allowed set", change: (s) => set(s, "volumes[0]", { name: "share", nfs: { server: "nas", path: "/" } }), expected: /volumes "share" is of type nfs/ },
        { what: "an unsafe sysctl", change: (s) => set(s, "securityContext.sysctls", [{ name: "kernel.msgmax", value: "65536" }]), expected: /sysctls sets "kernel\.msgmax"/ },
        { what: "pod runAsUser 0", change: (s) => set(s, "securityContext.runAsUser", 0), expected: /spec\.template\.spec\.securityContext\.runAsUser is 0/ },
        { what: "pod seccomp Unconfined", change: (s) => set(s, "securityContext.seccompProfile.type", "Unconfined"), expected: /securityContext\.seccompProfile\.type is "Unconfined"/ },
        { what: "pod SELinux type", change: (s) => set(s, "securityContext.seLinuxOptions", { type: "spc_t" }), expected: /seLinuxOptions\.type is "spc_t"/ },
        { what: "pod SELinux user", change: (s) => set(s, "securityContext.seLinuxOptions", { user: "system_u" }), expected: /seLinuxOptions\.user is set/ },
        { what: "pod AppArmor unconfined", change: (s) => set(s, "securityContext.appArmorProfile", { type: "Unconfined" }), expected: /appArmorProfile\.type is "Unconfined"/ },
        {
            what: "AppArmor annotation unconfined",
            change: (_s, m) => set(m, "annotations", { "container.apparmor.security.beta.kubernetes.io/web": "unconfined" }),
            expected: /annotations\["container\.apparmor\.security\.beta\.kubernetes\.io\/web"\] is "unconfined"/,
        },
        { what: "Windows host process", change: (s) => set(s, "securityContext.windowsOptions", { hostProcess: true }), expected: /windowsOptions\.hostProcess is true/ },
        { what: "privileged", change: (s) => set(s, "containers[0].securityContext.privileged", true), expected: /container "web": spec\.template\.spec\.containers\[0\]\.securityContext\.privileged is true/ },
        {
            what: "allowPrivilegeEscalation unset",
            change: (s) => set(s, "containers[0].securityContext.allowPrivilegeEscalation", undefined),
            expected: /containers\[0\]\.securityContext\.allowPrivilegeEscalation is unset: set it to false/,
        },
        {
            what: "allowPrivilegeEscalation on an init container",
            change: (s) => set(s, "initContainers[0].securityContext.allowPrivilegeEscalation", true),
            expected: /init container "init": .*initContainers\[0\]\.securityContext\.allowPrivilegeEscalation is true/,
        },
        { what: "capabilities not dropped", change: (s) => set(s, "containers[0].securityContext.capabilities.drop", ["NET_RAW"]), expected: /capabilities\.drop is \["NET_RAW"\]: set it to \["ALL"\]/ },
        { what: "capabilities added", change: (s) => set(s, "containers[0].securityContext.capabilities.add", ["NET_BIND_SERVICE", "SYS_ADMIN"]), expected: /capabilities\.add has SYS_ADMIN/ },
        { what: "container runAsNonRoot false", change: (s) => set(s, "initContainers[0].securityContext.runAsNonRoot", false), expected: /init container "init": .*runAsNonRoot is false/ },
        {
            what: "runAsNonRoot nowhere",
            change: (s) => {
                set(s, "securityContext.runAsNonRoot", undefined);
                set(s, "containers[0].securityContext.runAsNonRoot", undefined);
            },
            expected: /container "web": runAsNonRoot is set neither on the pod nor on the container/,
        },
        { what: "container runAsUser 0", change: (s) => set(s, "containers[0].securityContext.runAsUser", 0), expected: /containers\[0\]\.securityContext\.runAsUser is 0/ },
        {
            what: "container seccomp Unconfined",
            change: (s) => set(s, "containers[0].securityContext.seccompProfile.type", "Unconfined"),
            expected: /containers\[0\]\.securityContext\.seccompProfile\.type is "Unconfined"/,
        },
        {
            what: "seccomp nowhere",
            change: (s) => {
                set(s, "securityContext.seccompProfile", undefined);
                set(s, "containers[0].securityContext.seccompProfile", undefined);
            },
            expected: /container "web": no seccomp profile on the container or the pod/,
        },
        { what: "procMount", change: (s) => set(s, "containers[0].securityContext.procMount", "Unmasked"), expected: /procMount is "Unmasked"/ },
        { what: "container SELinux", change: (s) => set(s, "containers[0].securityContext.seLinuxOptions", { role: "sysadm_r" }), expected: /containers\[0\]\.securityContext\.seLinuxOptions\.role is set/ },
        {
            what: "container AppArmor unconfined",
            change: (s) => set(s, "containers[0].securityContext.appArmorProfile", { type: "Unconfined" }),
            expected: /containers\[0\]\.securityContext\.appArmorProfile\.type is "Unconfined"/,
        },
        { what: "hostPort", change: (s) => set(s, "containers[0].ports[0].hostPort", 8080), expected: /containers\[0\]\.ports\[0\]\.hostPort is 8080/ },
    ];
    for (const c of cases) {
        it(`fails on ${c.what}`, async () => {
            const found = await assertFails(P, [withPod(base, c.change)], c.expected);
            assert.ok(found.every((m) => m.startsWith("Deployment herd/web: ")), found.join("\n"));
        });
    }

    it("passes the compliant pod, and what the profile allows", async () => {
        await assertPasses(P, [base]);
        await assertPasses(P, [
            withPod(base, (s, m) => {
                set(s, "containers[0].securityContext.capabilities.add", ["NET_BIND_SERVICE"]);
                set(s, "securityContext.sysctls", [{ name: "net.ipv4.ip_unprivileged_port_start", value: "80" }]);
                set(s, "securityContext.seLinuxOptions", { type: "container_t" });
                set(s, "containers[0].securityContext.seccompProfile", { type: "Localhost", localhostProfile: "profiles/web.json" });
                set(s, "containers[0].securityContext.appArmorProfile", { type: "RuntimeDefault" });
                set(m, "annotations", { "container.apparmor.security.beta.kubernetes.io/web": "runtime/default" });
                set(s, "containers[0].ports[0].hostPort", 0);
                set(s, "volumes", [
                    { name: "a", emptyDir: {} },
                    { name: "b", persistentVolumeClaim: { claimName: "b" } },
                    { name: "c", projected: { sources: [] } },
                    { name: "d", downwardAPI: { items: [] } },
                    { name: "e", csi: { driver: "secrets-store.csi.k8s.io" } },
                    { name: "f", ephemeral: { volumeClaimTemplate: { spec: {} } } },
                ]);
            }),
        ]);
    });

    it("accepts runAsNonRoot and seccomp set on every container instead of the pod", async () => {
        await assertPasses(P, [
            withPod(base, (s) => {
                set(s, "securityContext", { runAsUser: 10001 });
            }),
        ]);
    });

    for (const kind of ["StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"] as const) {
        it(`checks the pod template of a ${kind}`, async () => {
            const r = workloadOfKind(kind);
            await assertPasses(P, [r]);
            const escaped = SPEC_PATH[kind].replace(/\./g, "\\.");
            await assertFails(P, [withPod(r, (s) => set(s, "hostNetwork", true))], new RegExp(`^${kind} herd/\\S+: ${escaped}\\.hostNetwork is true`));
        });
    }
});

describe("read-only-root-filesystem (herd's rule)", () => {
    it("fails on a container or init container without it, saying it is herd's rule", async () => {
        const found = await assertFails(
            "read-only-root-filesystem",
            [withPod(deployment(), (s) => set(s, "initContainers[0].securityContext.readOnlyRootFilesystem", false))],
            /init container "init": spec\.template\.spec\.initContainers\[0\]\.securityContext\.readOnlyRootFilesystem is false: set it to true .*herd's rule, not part of the Pod Security Standards/,
        );
        assert.equal(found.length, 1);
    });
    it("passes when every container has it", async () => {
        await assertPasses("read-only-root-filesystem", [deployment(), workloadOfKind("CronJob")]);
    });
});

describe("container-resources", () => {
    it("fails on a missing CPU request, a missing memory request or limit, init containers included", async () => {
        const r = withPod(deployment(), (s) => {
            set(s, "containers[0].resources.requests.cpu", undefined);
            set(s, "initContainers[0].resources.limits.memory", "0");
            set(s, "initContainers[0].resources.requests.memory", undefined);
        });
        const found = await assertFails("container-resources", [r], /container "web": spec\.template\.spec\.containers\[0\]\.resources\.requests\.cpu is not set/);
        assert.ok(found.some((m) => /init container "init": .*resources\.limits\.memory is not set/.test(m)));
        assert.ok(found.some((m) => /init container "init": .*resources\.requests\.memory is not set/.test(m)));
        assert.equal(found.length, 3);
    });
    it("passes requests and a memory limit (a CPU limit is not required)", async () => {
        await assertPasses("container-resources", [withPod(deployment(), (s) => set(s, "containers[0].resources.limits.cpu", undefined))]);
    });
});

describe("readiness-probe", () => {
    it("fails on a long-running container without one", async () => {
        for (const kind of ["Deployment", "StatefulSet", "DaemonSet"] as const) {
            await assertFails("readiness-probe", [withPod(workloadOfKind(kind), (s) => set(s, "containers[0].readinessProbe", undefined))], /container "web": spec\.template\.spec\.containers\[0\]\.readinessProbe is not set/);
        }
    });
    it("passes probed containers, and does not ask it of init containers, Jobs, CronJobs or bare Pods", async () => {
        const noProbe = (r: Res) => withPod(r, (s) => set(s, "containers[0].readinessProbe", undefined));
        await assertPasses("readiness-probe", [deployment(), noProbe(workloadOfKind("Job")), noProbe(workloadOfKind("CronJob")), noProbe(workloadOfKind("Pod"))]);
    });
});

describe("image-pinned", () => {
    const withImage = (image: string | undefined, where = "containers[0]") => withPod(deployment(), (s) => set(s, `${where}.image`, image));
    for (const [image, expected] of [
        ["nginx", /image "nginx" has no tag, which means :latest/],
        ["nginx:latest", /image "nginx:latest" uses the moving tag :latest/],
        ["registry.internal:5000/herd/api", /has no tag/],
        ["repo/api@sha256:abc", /has a malformed digest/],
    ] as const) {
        it(`fails on ${image}`, async () => {
            await assertFails("image-pinned", [withImage(image)], expected);
        });
    }
    it("fails on an init container's unpinned image, and on a container without an image", async () => {
        await assertFails("image-pinned", [withImage("busybox", "initContainers[0]")], /init container "init": image "busybox" has no tag/);
        await assertFails("image-pinned", [withImage(undefined)], /container "web": image is not set/);
    });
    it("passes version tags and digests (a registry port is not a tag)", async () => {
        for (const image of ["postgres:16.9-bookworm", "registry.internal:5000/herd/api:h-0123abcd", `123456789012.dkr.ecr.eu-west-1.amazonaws.com/herd-aws/api@${DIGEST}`, `nginx:latest@${DIGEST}`]) {
            assert.equal(imageProblem(image), undefined, image);
            await assertPasses("image-pinned", [withImage(image)]);
        }
    });
});

describe("no-literal-secret-env", () => {
    const withEnv = (env: unknown[]) => withPod(deployment(), (s) => set(s, "containers[0].env", env));
    it("fails on a secret-looking name with a literal, including a secret Output recorded as [secret], and never prints the value", async () => {
        const found = await assertFails("no-literal-secret-env", [withEnv([{ name: "DATABASE_PASSWORD", value: "[secret]" }])], /env\[0\] DATABASE_PASSWORD has a literal value: move it to a Secret and use valueFrom\.secretKeyRef/);
        assert.ok(found.every((m) => !m.includes("[secret]")));
        for (const name of ["API_KEY", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "PGPASSWORD", "TLS_PRIVATE_KEY", "registryCredentials", "apiKey", "DB_PASS"]) {
            const hidden = "hunter2-do-not-print";
            const m = await assertFails("no-literal-secret-env", [withEnv([{ name, value: hidden }])], new RegExp(`${name} has a literal value`));
            assert.ok(m.every((x) => !x.includes(hidden)), name);
        }
    });
    it("fails on a literal URL with a password in it, whatever its name, and on init containers", async () => {
        await assertFails("no-literal-secret-env", [withEnv([{ name: "DATABASE_URL", value: "postgres://herd:hunter2@postgres:5432/herd" }])], /DATABASE_URL is a literal URL with a password in it/);
        await assertFails(
            "no-literal-secret-env",
            [withPod(deployment(), (s) => set(s, "initContainers[0].env", [{ name: "REDIS_PASSWORD", value: "x" }]))],
            /init container "init": .*REDIS_PASSWORD has a literal value/,
        );
    });
    it("passes valueFrom for secrets, and literals for names that are not secrets (KEY only as a word)", async () => {
        await assertPasses("no-literal-secret-env", [
            withEnv([
                { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
                { name: "KEYCLOAK_URL", value: "https://sso.example.com" },
                { name: "MONKEY_BUSINESS", value: "1" },
                { name: "AWS_REGION", value: "eu-west-1" },
                { name: "ELASTICSEARCH_URL", value: "http://elastic.herd.svc.cluster.local:9200" },
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            ]),
        ]);
        assert.equal(secretLikeName("PWD"), false);
        assert.equal(secretLikeName("OLD_PWD"), true);
    });
});

describe("pod-disruption-budget (stack)", () => {
    const P = "pod-disruption-budget";
    it("fails on a replicated Deployment with no PDB, or a PDB in another namespace or selecting other pods", async () => {
        const expected = /Deployment herd\/web: it runs 2 replicas, but no PodDisruptionBudget in its namespace selects its pods/;
        await assertFails(P, [deployment()], expected);
        await assertFails(P, [deployment(), pdb("web", { matchLabels: { ...SELECTOR } }, "other")], expected);
        await assertFails(P, [deployment(), pdb("web", { matchLabels: { "app.kubernetes.io/name": "api" } })], expected);
    });
    it("fails on a single-replica Deployment that an autoscaler targets", async () => {
        await assertFails(P, [deployment("web", 1), hpa("web", "web")], /Deployment herd\/web: a HorizontalPodAutoscaler scales it, but no PodDisruptionBudget/);
    });
    it("fails on a replicated StatefulSet", async () => {
        const sts = statefulSet();
        const three = { ...sts, props: set(clone(sts.props), "spec.replicas", 3) };
        await assertFails(P, [three], /StatefulSet herd\/db: it runs 3 replicas/);
    });
    it("passes a matching PDB (matchLabels or matchExpressions), and single replicas without one", async () => {
        await assertPasses(P, [deployment(), pdb("web")]);
        await assertPasses(P, [deployment(), pdb("web", { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["web", "api"] }] })]);
        await assertPasses(P, [deployment("web", 1), statefulSet()]);
        await assertPasses(P, [deployment("web", 1), hpa("web", "web"), pdb("web")]);
    });
});

describe("network-policy-coverage (stack)", () => {
    const P = "network-policy-coverage";
    it("fails on a pod no NetworkPolicy selects, or one that only restricts ingress", async () => {
        await assertFails(P, [deployment()], /Deployment herd\/web: no NetworkPolicy in its namespace enforces Ingress or Egress for its pods/);
        await assertFails(P, [deployment(), networkPolicy("web", { matchLabels: { ...SELECTOR } }, ["Ingress"])], /enforces Egress for its pods .*policyTypes including Egress/);
        await assertFails(P, [deployment(), networkPolicy("web", { matchLabels: { ...SELECTOR } }, undefined)], /enforces Egress/);
        await assertFails(P, [workloadOfKind("CronJob"), networkPolicy("web", { matchLabels: { ...SELECTOR } }, ["Ingress", "Egress"], "other")], /CronJob herd\/backup: no NetworkPolicy/);
    });
    it("passes one policy with both types, two policies together, an empty podSelector, or egress rules implying Egress", async () => {
        await assertPasses(P, [deployment(), fullNetworkPolicy()]);
        await assertPasses(P, [deployment(), networkPolicy("in", { matchLabels: { "app.kubernetes.io/name": "web" } }, ["Ingress"]), networkPolicy("out", {}, ["Egress"])]);
        await assertPasses(P, [deployment(), networkPolicy("default-deny", {}, ["Ingress", "Egress"])]);
        await assertPasses(P, [deployment(), networkPolicy("web", { matchLabels: { ...SELECTOR } }, undefined, NS, [{ to: [] }])]);
    });
});

describe("statefulset-data-safety", () => {
    const P = "statefulset-data-safety";
    it("fails on retention not Retain, a claim without a storage class, and a StatefulSet that is not protected", async () => {
        const r = statefulSet("db", false);
        const props = clone(r.props);
        set(props, "spec.persistentVolumeClaimRetentionPolicy", { whenDeleted: "Delete" });
        set(props, "spec.volumeClaimTemplates[0].spec.storageClassName", undefined);
        const found = await assertFails(P, [{ ...r, props }], /StatefulSet herd\/db: spec\.persistentVolumeClaimRetentionPolicy\.whenDeleted is "Delete": set it to "Retain"/);
        assert.ok(found.some((m) => /whenScaled is unset: set it to "Retain" explicitly/.test(m)));
        assert.ok(found.some((m) => /volumeClaimTemplates\[0\] \("data"\) has storageClassName unset/.test(m)));
        assert.ok(found.some((m) => /not protected: create it with the resource option \{ protect: true \}/.test(m)));
        assert.equal(found.length, 4);
    });
    it("passes a protected StatefulSet that retains its claims on a named class, and one without claims", async () => {
        await assertPasses(P, [statefulSet()]);
        const stateless = statefulSet("cache", false);
        await assertPasses(P, [{ ...stateless, props: set(clone(stateless.props), "spec.volumeClaimTemplates", undefined) }]);
    });
});

describe("storage-class-retain", () => {
    const P = "storage-class-retain";
    it("fails on Delete or the default reclaim policy, and without volume expansion", async () => {
        await assertFails(P, [storageClass({ reclaimPolicy: "Delete" })], /StorageClass herd-data: reclaimPolicy is "Delete": set it to "Retain"/);
        const found = await assertFails(P, [storageClass({ reclaimPolicy: undefined, allowVolumeExpansion: undefined })], /reclaimPolicy is unset \(Kubernetes defaults to Delete\)/);
        assert.ok(found.some((m) => /allowVolumeExpansion is unset: set it to true/.test(m)));
    });
    it("passes Retain + expansion, and leaves a StorageClassPatch of a class herd does not own alone", async () => {
        await assertPasses(P, [storageClass()]);
        await assertPasses(P, [
            k8s("kubernetes:storage.k8s.io/v1:StorageClassPatch", "gke-default", { metadata: { name: "standard-rwo", annotations: { "storageclass.kubernetes.io/is-default-class": "false" } } }),
        ]);
    });
});

describe("service-exposure", () => {
    const P = "service-exposure";
    const frontendLabels = { ...LABELS, ...LOAD_BALANCER_ALLOWED_LABELS };
    const frontendSelector = { "app.kubernetes.io/name": "frontend", "app.kubernetes.io/instance": "frontend" };
    it("fails on NodePort, a LoadBalancer that is not the front end's, and externalIPs", async () => {
        await assertFails(P, [service("web", "NodePort")], /Service herd\/web: spec\.type is NodePort/);
        await assertFails(P, [service("api", "LoadBalancer")], /Service herd\/api: spec\.type is LoadBalancer, but only the front end's Service may be/);
        // Labelled as the front end but routing to other pods.
        await assertFails(P, [service("sneaky", "LoadBalancer", frontendLabels, { ...SELECTOR })], /spec\.type is LoadBalancer, but only the front end's/);
        const external = service("web", "ClusterIP");
        await assertFails(P, [{ ...external, props: set(clone(external.props), "spec.externalIPs", ["203.0.113.5"]) }], /spec\.externalIPs is set/);
    });
    it("passes ClusterIP and headless Services, and the front end's LoadBalancer", async () => {
        await assertPasses(P, [service("web", "ClusterIP"), service("db-headless", "ClusterIP"), service("frontend", "LoadBalancer", frontendLabels, frontendSelector)]);
        await assertPasses(P, [k8s("kubernetes:core/v1:Service", "plain", { metadata: { name: "plain" }, spec: { selector: { ...SELECTOR }, ports: [{ port: 80 }] } })]);
    });
});

describe("eks-cluster-hardening", () => {
    const P = "eks-cluster-hardening";
    const KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234";
    const component = (props: Json = {}): Res => ({
        type: "eks:index:Cluster",
        name: "aws-eks",
        props: {
            name: "herd-aws",
            encryptionConfigKeyArn: KEY,
            enabledClusterLogTypes: ["api", "audit", "authenticator"],
            endpointPrivateAccess: true,
            endpointPublicAccess: true,
            publicAccessCidrs: ["203.0.113.0/24"],
            ...props,
        },
    });
    const cluster = (props: Json = {}): Res => ({
        type: "aws:eks/cluster:Cluster",
        name: "aws-eks-eksCluster",
        parentTypes: ["eks:index:Cluster"],
        props: {
            name: "herd-aws",
            encryptionConfig: { provider: { keyArn: KEY }, resources: ["secrets"] },
            enabledClusterLogTypes: ["api", "audit", "authenticator", "scheduler"],
            vpcConfig: { endpointPrivateAccess: true, endpointPublicAccess: false, subnetIds: ["subnet-1"] },
            ...props,
        },
    });
    it("fails on pulumi-eks's component without secrets encryption, audit logs, or with a world-open endpoint", async () => {
        await assertFails(P, [component({ encryptionConfigKeyArn: undefined })], /EKS cluster herd-aws: encryptionConfigKeyArn is not set/);
        await assertFails(P, [component({ enabledClusterLogTypes: ["api"] })], /enabledClusterLogTypes lacks audit, authenticator/);
        await assertFails(P, [component({ publicAccessCidrs: ["203.0.113.0/24", "0.0.0.0/0"] })], /public API endpoint .* is open to the world: publicAccessCidrs has 0\.0\.0\.0\/0/);
        await assertFails(P, [component({ endpointPublicAccess: undefined, publicAccessCidrs: undefined })], /endpointPublicAccess unset, which defaults to true\) is open to the world: publicAccessCidrs has no CIDRs/);
    });
    it("fails on the aws:eks/cluster:Cluster it creates, by that resource's fields", async () => {
        await assertFails(P, [cluster({ encryptionConfig: undefined })], /encryptionConfig does not encrypt "secrets"/);
        await assertFails(P, [cluster({ vpcConfig: { endpointPublicAccess: true } })], /vpcConfig\.publicAccessCidrs has no CIDRs \(EKS then allows 0\.0\.0\.0\/0\)/);
        await assertFails(P, [cluster({ enabledClusterLogTypes: undefined })], /enabledClusterLogTypes lacks api, audit, authenticator/);
    });
    it("passes herd's settings: KMS key, the three logs, a private or CIDR-limited endpoint", async () => {
        await assertPasses(P, [component(), component({ endpointPublicAccess: false, publicAccessCidrs: undefined }), cluster()]);
    });
});

describe("public-endpoint-tls", () => {
    const P = "public-endpoint-tls";
    const frontendLabels = { ...LABELS, ...LOAD_BALANCER_ALLOWED_LABELS };
    const lb = (annotations: Json = {}): Res => {
        const r = service("frontend", "LoadBalancer", frontendLabels);
        return { ...r, props: set(clone(r.props), "metadata.annotations", annotations) };
    };
    const ingress = (spec: Json, annotations: Json = {}): Res =>
        k8s("kubernetes:networking.k8s.io/v1:Ingress", "frontend", { metadata: { ...meta("frontend"), annotations }, spec: { rules: [{ host: "shop.example.com" }], ...spec } });
    it("fails on a load balancer or an Ingress serving plain HTTP", async () => {
        await assertFails(P, [lb()], /Service herd\/frontend: its load balancer serves plain HTTP: no certificate \(service\.beta\.kubernetes\.io\/aws-load-balancer-ssl-cert\)/);
        await assertFails(P, [lb({ "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "" })], /serves plain HTTP/);
        await assertFails(P, [ingress({})], /Ingress herd\/frontend: serves plain HTTP: no spec\.tls and no certificate annotation/);
        await assertFails(P, [ingress({ tls: [] }, { "networking.gke.io/managed-certificates": "" })], /serves plain HTTP/);
    });
    it("passes an ACM certificate on the NLB, an Ingress with spec.tls or a GKE certificate, and Services without a load balancer", async () => {
        await assertPasses(P, [lb({ "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:eu-west-1:123456789012:certificate/abc" })]);
        await assertPasses(P, [ingress({ tls: [{ hosts: ["shop.example.com"], secretName: "shop-tls" }] })]);
        await assertPasses(P, [ingress({}, { "networking.gke.io/managed-certificates": "frontend" })]);
        await assertPasses(P, [service("api", "ClusterIP"), service("db-headless", "ClusterIP")]);
    });
    it("passes plain HTTP only with a reasoned exception on the object, which the report lists", async () => {
        const exempt = lb({ "herd.dev/policy-exception-public-endpoint-tls": "no herd:publicHostname: served over plain HTTP at the load balancer's address" });
        await assertPasses(P, [exempt]);
        assert.ok((await messages("policy-exceptions", [exempt])).some((m) => /exception to public-endpoint-tls granted: no herd:publicHostname/.test(m)));
    });
});

describe("addons-pinned", () => {
    const P = "addons-pinned";
    const release = (props: Json): Res => ({
        type: "kubernetes:helm.sh/v3:Release",
        name: "aws-cluster-autoscaler",
        provider: K8S_PROVIDER,
        props: { name: "cluster-autoscaler", chart: "cluster-autoscaler", version: "9.46.6", repositoryOpts: { repo: "https://kubernetes.github.io/autoscaler" }, ...props },
    });
    const addon = (props: Json): Res => ({ type: "aws:eks/addon:Addon", name: "aws-metrics-server", props: { addonName: "metrics-server", clusterName: "herd-aws", ...props } });
    it("fails on an unpinned or ranged chart version, a chart from plain HTTP or the local helm repositories, and an EKS add-on without a version", async () => {
        await assertFails(P, [release({ version: undefined })], /Helm release cluster-autoscaler: version is unset: pin the chart to an exact version/);
        await assertFails(P, [release({ version: "^9.46.0" })], /version is "\^9\.46\.0": pin the chart/);
        await assertFails(P, [release({ version: "9.x" })], /version is "9\.x"/);
        await assertFails(P, [release({ repositoryOpts: { repo: "http://charts.example.com" } })], /the chart comes from "http:\/\/charts\.example\.com": fetch it from an https:\/\/ repository/);
        await assertFails(P, [release({ repositoryOpts: undefined })], /the chart comes from "cluster-autoscaler"/);
        await assertFails(P, [addon({})], /EKS add-on metrics-server: addonVersion is not set/);
    });
    it("passes an exact version from https or OCI, a vendored chart, and an EKS add-on with its version", async () => {
        await assertPasses(P, [release({}), release({ version: "v1.2.3-rc.1" }), release({ chart: "oci://public.ecr.aws/karpenter/karpenter", repositoryOpts: undefined, version: "1.5.0" })]);
        await assertPasses(P, [release({ chart: "./charts/own", repositoryOpts: undefined })]);
        await assertPasses(P, [addon({ addonVersion: "v0.7.2-eksbuild.1" })]);
    });
});

describe("eks-network-policy-enforced (stack)", () => {
    const P = "eks-network-policy-enforced";
    const cluster: Res = { type: "eks:index:Cluster", name: "aws-eks", props: { name: "herd-aws" } };
    const cni = (configurationValues: string | undefined): Res => ({
        type: "aws:eks/addon:Addon",
        name: "aws-vpc-cni",
        props: { addonName: "vpc-cni", clusterName: "herd-aws", addonVersion: "v1.19.5-eksbuild.1", ...(configurationValues === undefined ? {} : { configurationValues }) },
    });
    it("fails on an EKS cluster whose VPC CNI does not enforce NetworkPolicy", async () => {
        await assertFails(P, [cluster], /EKS cluster herd-aws: no vpc-cni add-on with "enableNetworkPolicy": "true" in the stack/);
        await assertFails(P, [cluster, cni(undefined)], /EKS add-on vpc-cni \(aws-vpc-cni\): configurationValues unset does not set "enableNetworkPolicy": "true"/);
        await assertFails(P, [cluster, cni(JSON.stringify({ enableNetworkPolicy: "false" }))], /does not set "enableNetworkPolicy": "true"/);
    });
    it("passes the add-on with enableNetworkPolicy, pulumi-eks's own option, and stacks without EKS", async () => {
        await assertPasses(P, [cluster, cni(JSON.stringify({ enableNetworkPolicy: "true", env: { ENABLE_PREFIX_DELEGATION: "true" } }))]);
        await assertPasses(P, [{ ...cluster, props: { name: "herd-aws", vpcCniOptions: { enableNetworkPolicy: true } } }]);
        await assertPasses(P, [service("web", "ClusterIP")]);
    });
});

describe("ecr-scan-on-push", () => {
    it("fails without scan on push, passes with it", async () => {
        const repo = (props: Json): Res => ({ type: "aws:ecr/repository:Repository", name: "aws-api-repo", props: { name: "herd-aws/api", ...props } });
        await assertFails("ecr-scan-on-push", [repo({})], /ECR repository herd-aws\/api: imageScanningConfiguration\.scanOnPush is unset: set it to true/);
        await assertFails("ecr-scan-on-push", [repo({ imageScanningConfiguration: { scanOnPush: false } })], /scanOnPush is false/);
        await assertPasses("ecr-scan-on-push", [repo({ imageScanningConfiguration: { scanOnPush: true } })]);
    });
});

describe("s3 buckets (stack): encryption and public access block", () => {
    const bucket: Res = { type: "aws:s3/bucket:Bucket", name: "aws-backups", props: { bucketPrefix: "herd-aws-backups-" }, outputs: { bucket: "herd-aws-backups-123", bucketPrefix: "herd-aws-backups-" } };
    const sse = (bucketName: string | undefined, extra: Partial<Res> = {}): Res => ({
        type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        name: "aws-backups-encryption",
        props: { ...(bucketName !== undefined ? { bucket: bucketName } : {}), rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:key" } }] },
        ...extra,
    });
    const pab = (flags: Partial<Record<string, boolean>> = {}): Res => ({
        type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        name: "aws-backups-public-access",
        props: { bucket: "herd-aws-backups-123", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true, ...flags },
    });
    it("fails on a bucket without its own encryption configuration, or one belonging to another bucket", async () => {
        await assertFails("s3-bucket-encryption", [bucket, pab()], /S3 bucket aws-backups \(herd-aws-backups-123\): no BucketServerSideEncryptionConfiguration with an sseAlgorithm belongs to it/);
        await assertFails("s3-bucket-encryption", [bucket, sse("someone-elses-bucket")], /no BucketServerSideEncryptionConfiguration/);
    });
    it("passes encryption linked by name, or by the engine's property dependencies", async () => {
        await assertPasses("s3-bucket-encryption", [bucket, sse("herd-aws-backups-123")]);
        await assertPasses("s3-bucket-encryption", [bucket, sse(undefined, { propertyDependencies: { bucket: [urnOf(bucket)] } })]);
    });
    it("fails on a bucket without a public access block, or with one flag off", async () => {
        await assertFails("s3-public-access-block", [bucket, sse("herd-aws-backups-123")], /S3 bucket aws-backups .*: no BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets all true/);
        await assertFails("s3-public-access-block", [bucket, pab({ restrictPublicBuckets: false })], /no BucketPublicAccessBlock/);
    });
    it("passes all four flags on the bucket, or on the account", async () => {
        await assertPasses("s3-public-access-block", [bucket, pab()]);
        const account: Res = {
            type: "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
            name: "account",
            props: { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        };
        await assertPasses("s3-public-access-block", [bucket, account]);
    });
});

describe("gke-cluster-hardening", () => {
    const P = "gke-cluster-hardening";
    const SA = "herd-gcp-nodes@acme.iam.gserviceaccount.com";
    const nodeConfig = { serviceAccount: SA, workloadMetadataConfig: { mode: "GKE_METADATA" }, shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true } };
    const cluster = (props: Json = {}): Res => ({
        type: "gcp:container/cluster:Cluster",
        name: "gcp-cluster",
        props: {
            name: "herd-gcp",
            privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false, masterIpv4CidrBlock: "172.16.0.0/28" },
            masterAuthorizedNetworksConfig: { cidrBlocks: [{ cidrBlock: "203.0.113.0/24" }] },
            workloadIdentityConfig: { workloadPool: "acme.svc.id.goog" },
            enableShieldedNodes: true,
            releaseChannel: { channel: "REGULAR" },
            removeDefaultNodePool: true,
            nodeConfig,
            ...props,
        },
    });
    const pool = (props: Json = {}): Res => ({ type: "gcp:container/nodePool:NodePool", name: "gcp-nodes", props: { cluster: "herd-gcp", nodeConfig, ...props } });
    it("fails on each missing cluster protection", async () => {
        for (const [props, expected] of [
            [{ privateClusterConfig: { enablePrivateNodes: false, enablePrivateEndpoint: true } }, /GKE cluster herd-gcp: privateClusterConfig\.enablePrivateNodes is false: set it to true/],
            [{ workloadIdentityConfig: undefined }, /workloadIdentityConfig\.workloadPool is not set/],
            [{ enableShieldedNodes: false }, /enableShieldedNodes is false/],
            [{ releaseChannel: { channel: "UNSPECIFIED" } }, /releaseChannel\.channel is "UNSPECIFIED": enroll the cluster in a release channel/],
            [{ nodeConfig: undefined }, /nodeConfig\.serviceAccount is unset, so GKE uses the Compute Engine default service account/],
            [{ nodeConfig: { ...nodeConfig, serviceAccount: "123-compute@developer.gserviceaccount.com" } }, /nodeConfig\.serviceAccount is "123-compute@developer\.gserviceaccount\.com"/],
            [{ nodeConfig: { ...nodeConfig, workloadMetadataConfig: { mode: "GCE_METADATA" } } }, /workloadMetadataConfig\.mode is "GCE_METADATA"/],
            [{ masterAuthorizedNetworksConfig: undefined }, /public endpoint and no masterAuthorizedNetworksConfig/],
            [{ masterAuthorizedNetworksConfig: { cidrBlocks: [{ cidrBlock: "0.0.0.0/0" }] } }, /cidrBlocks includes 0\.0\.0\.0\/0/],
            [{ enableAutopilot: true, nodeConfig: undefined }, /clusterAutoscaling\.autoProvisioningDefaults\.serviceAccount is unset/],
        ] as const) {
            await assertFails(P, [cluster(props)], expected);
        }
    });
    it("fails on a node pool with the default service account or the node's metadata", async () => {
        await assertFails(P, [pool({ nodeConfig: { machineType: "e2-standard-4" } })], /GKE node pool gcp-nodes: nodeConfig\.serviceAccount is unset/);
        await assertFails(P, [pool({ nodeConfig: { ...nodeConfig, serviceAccount: "default" } })], /nodeConfig\.serviceAccount is "default"/);
        await assertFails(P, [pool({ networkConfig: { enablePrivateNodes: false } })], /networkConfig\.enablePrivateNodes is false/);
    });
    it("passes herd's cluster and pool, and a private endpoint without authorized networks", async () => {
        await assertPasses(P, [cluster(), pool(), cluster({ privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: true }, masterAuthorizedNetworksConfig: undefined })]);
    });
});

describe("advisory: recommended-labels and replica-spread", () => {
    it("recommended-labels reports missing labels on the object and its pod template, as advisory", async () => {
        const r = deployment();
        const props = set(clone(r.props), "metadata.labels", { "app.kubernetes.io/name": "web" });
        set(props, "spec.template.metadata.labels", { ...SELECTOR });
        await assertFails("recommended-labels", [{ ...r, props }], /^Deployment herd\/web: metadata\.labels lack/);
        const violations = (await runPack([{ ...r, props }])).filter((v) => v.policy === "recommended-labels");
        assert.ok(violations.length === 2 && violations.every((v) => v.level === "advisory"));
        assert.match(violations[0].message, /metadata\.labels lack app\.kubernetes\.io\/instance, app\.kubernetes\.io\/component/);
        assert.match(violations[1].message, /spec\.template\.metadata\.labels lack app\.kubernetes\.io\/component, app\.kubernetes\.io\/part-of, app\.kubernetes\.io\/managed-by/);
        await assertPasses("recommended-labels", [deployment(), workloadOfKind("CronJob")]);
    });
    it("replica-spread reports replicated workloads that neither spread nor repel their own pods", async () => {
        const r = withPod(deployment(), (s) => set(s, "topologySpreadConstraints", undefined));
        await assertFails("replica-spread", [r], /Deployment herd\/web: it runs 2 replicas, but neither topologySpreadConstraints nor pod anti-affinity select its own pods/);
        // A spread constraint over someone else's pods does not count.
        await assertFails("replica-spread", [withPod(r, (s) => set(s, "topologySpreadConstraints", [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "other" } } }]))], /neither/);
        await assertPasses("replica-spread", [deployment()]);
        await assertPasses("replica-spread", [
            withPod(r, (s) => set(s, "affinity", { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { ...SELECTOR } } } }] } })),
        ]);
        await assertPasses("replica-spread", [deployment("web", 1)]);
    });
});

describe("exceptions: a reviewed exception with a written reason", () => {
    const unprotected = statefulSet("scratch", false);
    const REASON = "Throwaway load-test stack, reviewed by the data owner; deleted after the test (OPS-142).";

    it("in the pack's config, by <type>::<name> or by URN, lets exactly that resource off exactly that policy", async () => {
        await assertFails("statefulset-data-safety", [unprotected], /not protected/);
        for (const resource of [`kubernetes:apps/v1:StatefulSet::scratch`, urnOf(unprotected)]) {
            await assertPasses("statefulset-data-safety", [unprotected], { config: { "statefulset-data-safety": { exceptions: [{ resource, reason: REASON }] } } });
        }
        // Another resource's exception, or another policy's, does not apply.
        await assertFails("statefulset-data-safety", [unprotected], /not protected/, {
            config: { "statefulset-data-safety": { exceptions: [{ resource: "kubernetes:apps/v1:StatefulSet::other", reason: REASON }] }, "image-pinned": { exceptions: [{ resource: "kubernetes:apps/v1:StatefulSet::scratch", reason: REASON }] } },
        });
    });

    it("grants nothing without a written reason, and says so next to the violation", async () => {
        for (const reason of ["", "   ", "ok", undefined]) {
            const found = await assertFails("statefulset-data-safety", [unprotected], /not protected/, {
                config: { "statefulset-data-safety": { exceptions: [{ resource: "kubernetes:apps/v1:StatefulSet::scratch", reason }] } },
            });
            assert.ok(found.some((m) => /the exception in the policy config for kubernetes:apps\/v1:StatefulSet::scratch grants nothing: its reason must say why in at least 10 characters/.test(m)), found.join("\n"));
        }
    });

    it("by annotation herd.dev/policy-exception-<policy> on the Kubernetes object, reported by the advisory policy-exceptions", async () => {
        const annotated = (reason: string): Res => ({ ...unprotected, props: set(clone(unprotected.props), "metadata.annotations", { [`${EXCEPTION_ANNOTATION_PREFIX}statefulset-data-safety`]: reason }) });
        await assertPasses("statefulset-data-safety", [annotated(REASON)]);
        const listed = await messages("policy-exceptions", [annotated(REASON)]);
        assert.deepEqual(listed, [`StatefulSet herd/scratch: exception to statefulset-data-safety granted: ${REASON}`]);

        const found = await assertFails("statefulset-data-safety", [annotated("because")], /not protected/);
        assert.ok(found.some((m) => /the annotation herd\.dev\/policy-exception-statefulset-data-safety grants nothing/.test(m)));
        await assertFails("policy-exceptions", [annotated("because")], /exception to statefulset-data-safety is not granted/);
    });

    it("applies to stack policies too (the resource in violation is the one excepted)", async () => {
        const lone = deployment();
        await assertPasses("network-policy-coverage", [lone], { config: { "network-policy-coverage": { exceptions: [{ resource: "kubernetes:apps/v1:Deployment::web", reason: REASON }] } } });
        const annotated = { ...lone, props: set(clone(lone.props), "metadata.annotations", { [`${EXCEPTION_ANNOTATION_PREFIX}pod-disruption-budget`]: REASON }) };
        await assertPasses("pod-disruption-budget", [annotated]);
        await assertFails("network-policy-coverage", [annotated], /no NetworkPolicy/);
    });

    it("policy-exceptions reports nothing for objects without exception annotations", async () => {
        await assertPasses("policy-exceptions", [deployment(), statefulSet()]);
    });

    it("reports an exception annotation that names no policy", async () => {
        const typo = { ...unprotected, props: set(clone(unprotected.props), "metadata.annotations", { [`${EXCEPTION_ANNOTATION_PREFIX}statefulset-safety`]: REASON }) };
        await assertFails("policy-exceptions", [typo], /annotation herd\.dev\/policy-exception-statefulset-safety names no policy of this pack/);
    });
});

describe("preview: values not known yet", () => {
    // @pulumi/policy's own proxy, as the pack wraps props during a preview.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const proxy = require(path.join(PROJECT_DIR, "policy", "node_modules", "@pulumi", "policy", "proxy")) as {
        unknownCheckingProxy<T>(v: T): T;
        unknownStringValue: string;
        unknownObjectValue: string;
    };
    it("a resource policy reading an unknown value throws UnknownValueError (the SDK reports it as advisory and checks again on up)", async () => {
        const r = withPod(deployment(), (s) => set(s, "containers[0].image", proxy.unknownStringValue));
        await assert.rejects(runPack([{ ...r, props: proxy.unknownCheckingProxy(r.props) }]), (err: Error) => "unknownTypeSentinel" in err);
    });
    it("a stack policy neither fails nor reports a pod uncovered while a PDB or NetworkPolicy in its namespace is unknown", async () => {
        const unknownPdb = pdb("web", proxy.unknownObjectValue);
        const wrapped = [deployment(), { ...unknownPdb, props: proxy.unknownCheckingProxy(unknownPdb.props) }];
        await assertPasses("pod-disruption-budget", wrapped);
        const unknownNp = networkPolicy("web", proxy.unknownObjectValue, ["Ingress", "Egress"]);
        await assertPasses("network-policy-coverage", [deployment(), { ...unknownNp, props: proxy.unknownCheckingProxy(unknownNp.props) }]);
        // Known ones elsewhere still count: a pod in another namespace is still reported.
        const elsewhere = { ...deployment("api"), props: set(clone(deployment("api").props), "metadata.namespace", "other") };
        await assertFails("network-policy-coverage", [elsewhere, { ...unknownNp, props: proxy.unknownCheckingProxy(unknownNp.props) }], /Deployment other\/api: no NetworkPolicy/);
    });
    it("treats a KMS key ARN that is not known yet as set", async () => {
        const eks: Res = {
            type: "eks:index:Cluster",
            name: "aws-eks",
            props: { name: "herd-aws", encryptionConfigKeyArn: proxy.unknownStringValue, enabledClusterLogTypes: ["api", "audit", "authenticator"], endpointPublicAccess: false },
        };
        await assertPasses("eks-cluster-hardening", [{ ...eks, props: proxy.unknownCheckingProxy(eks.props) }]);
    });
    it("flags a secret-named literal whose value is not known yet, without reading it", async () => {
        const r = withPod(deployment(), (s) => set(s, "containers[0].env", [{ name: "API_TOKEN", value: proxy.unknownStringValue }]));
        await assertFails("no-literal-secret-env", [{ ...r, props: proxy.unknownCheckingProxy(r.props) }], /API_TOKEN has a literal value/);
    });
    it("treats a node service account email that is not known yet as herd's own", async () => {
        const gke: Res = {
            type: "gcp:container/nodePool:NodePool",
            name: "gcp-nodes",
            props: { cluster: "herd-gcp", nodeConfig: { serviceAccount: proxy.unknownStringValue, workloadMetadataConfig: { mode: "GKE_METADATA" } } },
        };
        await assertPasses("gke-cluster-hardening", [{ ...gke, props: proxy.unknownCheckingProxy(gke.props) }]);
    });
    it("names an object whose namespace is not known yet, and still reads its exception annotation next to a computed one", async () => {
        const r = withPod(deployment(), (s) => set(s, "hostNetwork", true));
        set(r.props, "metadata.namespace", proxy.unknownStringValue);
        set(r.props, "metadata.annotations", { "example.com/computed": proxy.unknownStringValue });
        await assertFails("pod-security-restricted", [{ ...r, props: proxy.unknownCheckingProxy(r.props) }], /^Deployment \(namespace not known yet\)\/web: spec\.template\.spec\.hostNetwork is true/);
        set(r.props, `metadata.annotations`, { "example.com/computed": proxy.unknownStringValue, [`${EXCEPTION_ANNOTATION_PREFIX}pod-security-restricted`]: "Node agent in a namespace without PSS; reviewed (SEC-12)." });
        await assertPasses("pod-security-restricted", [{ ...r, props: proxy.unknownCheckingProxy(r.props) }]);
    });
    it("label selectors follow Kubernetes semantics", () => {
        assert.equal(selectorMatches({}, { a: "1" }), true);
        assert.equal(selectorMatches(undefined, { a: "1" }), false);
        assert.equal(selectorMatches({ matchExpressions: [{ key: "a", operator: "NotIn", values: ["2"] }, { key: "b", operator: "DoesNotExist" }] }, { a: "1" }), true);
        assert.equal(selectorMatches({ matchExpressions: [{ key: "a", operator: "Exists" }] }, {}), false);
    });
});

describe("fixtures cover every policy", () => {
    it("every policy of the pack has been shown above to fail on a fixture and to pass on one", () => {
        const names = RULES.map((r) => r.name);
        assert.deepEqual(
            names.filter((n) => !provenFailing.has(n)),
            [],
            "policies never shown to fail",
        );
        assert.deepEqual(
            names.filter((n) => !provenPassing.has(n)),
            [],
            "policies never shown to pass",
        );
    });
});

// ---------------------------------------------------------------------------------------------------------------
// Every policy over every resource of every stack file.

/**
 * Harness records as the policy engine hands them over: inputs to resource policies, outputs to stack ones, with
 * secrets unwrapped (as @pulumi/policy deserializes them). Not the redacted `inputs` of RecordedResource: there a
 * secret Output anywhere in `spec` turns the whole `spec` into "[secret]", which would hide the pod from every
 * policy; the engine never does that to a policy.
 */
function fromEvaluation(e: Evaluation): Res[] {
    const records = e.records.filter((r) => r.type !== "pulumi:pulumi:Stack");
    assert.equal(records.length, e.resources.length);
    const byKey = new Map(e.resources.map((r) => [`${r.type}::${r.name}`, r]));
    const ancestors = (parent: string | null, parentType: string | null): string[] => {
        const types: string[] = [];
        for (let p = parent, t = parentType; p !== null && t !== null; ) {
            types.unshift(t);
            const up = byKey.get(`${t}::${p}`);
            p = up?.parent ?? null;
            t = up?.parentType ?? null;
        }
        return types;
    };
    const providers = e.resources.filter((r) => r.type.startsWith("pulumi:providers:"));
    const res = e.resources.map((r, i): Res => {
        assert.equal(records[i].name, r.name);
        return {
            type: r.type,
            name: r.name,
            props: unwrap(records[i].inputs) as Json,
            outputs: unwrap(records[i].state) as Json,
            protect: r.options.protect,
            parentTypes: ancestors(r.parent, r.parentType),
        };
    });
    return res.map((r, i) => {
        const provider = providers.find((p) => p.name === e.resources[i].options.provider);
        const providerRes = provider === undefined ? undefined : res.find((x) => x.type === provider.type && x.name === provider.name);
        return providerRes === undefined ? r : { ...r, provider: urnOf(providerRes, e.stack) };
    });
}

/** Every stack file of the project, and the other config files in the same format (the e2e stack). */
const OTHER_CONFIG_FILES = ["e2e/stack.yaml"];
const STACK_RUNS: readonly { readonly stack: string; readonly configFile?: string; readonly label: string }[] = [
    ...fs
        .readdirSync(PROJECT_DIR)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort()
        .map((stack) => ({ stack, label: stack })),
    ...OTHER_CONFIG_FILES.map((f) => {
        // Evaluated as a stack named after its platform (--stack onprem --config-file ...).
        const config = (parseYaml(fs.readFileSync(path.join(PROJECT_DIR, f), "utf8")) as { config?: Record<string, unknown> }).config ?? {};
        const stack = String(config["herd:platform"] ?? "onprem");
        return { stack, configFile: f, label: `${stack} (${f})` };
    }),
];

function table(run: { label: string }, resources: readonly Res[], violations: readonly Violation[]): string {
    const rows = RULES.map((rule: Rule) => {
        const checked = resources.filter((r) => rule.appliesTo(r.type)).length;
        const found = violations.filter((v) => v.policy === rule.name).length;
        return `| ${rule.name} | ${rule.enforcementLevel} | ${checked} | ${found} |`;
    });
    const advisory = violations.filter((v) => v.level === "advisory").map((v) => `  - [${v.policy}] ${v.message}`);
    return [
        "",
        `stack ${run.label}: ${resources.length} resources, ${resources.filter((r) => r.type.startsWith("kubernetes:")).length} Kubernetes objects`,
        "| policy | level | checked | findings |",
        "|---|---|---|---|",
        ...rows,
        advisory.length === 0 ? "advisory findings: none" : `advisory findings:\n${advisory.join("\n")}`,
    ].join("\n");
}

describe("every policy over every stack", () => {
    const summaries: string[] = [];
    after(() => {
        console.log(summaries.join("\n"));
    });
    for (const run of STACK_RUNS) {
        it(`${run.label}: zero mandatory violations`, async () => {
            const e = await evaluateStack({ stack: run.stack, configFile: run.configFile });
            const resources = fromEvaluation(e);
            const violations = await runPack(resources, { stack: e.stack });
            summaries.push(table(run, resources, violations));
            // What the pack covers is really there, so a green run means something.
            for (const name of ["pod-security-restricted", "network-policy-coverage", "statefulset-data-safety", "service-exposure"]) {
                const rule = RULES.find((r) => r.name === name);
                assert.ok(resources.some((r) => rule?.appliesTo(r.type) === true), `${run.label}: nothing for ${name} to check`);
            }
            // Every pod template is visible to the policies (a redacted `spec` would hide its containers).
            for (const r of resources) {
                const pod = podTemplate(r.type, r.props);
                if (pod !== undefined) {
                    assert.ok(Array.isArray(pod.spec["containers"]) && pod.spec["containers"].length > 0, `${run.label}: ${r.type} ${r.name}: no containers visible`);
                }
            }
            const mandatory = violations.filter((v) => v.level === "mandatory");
            assert.deepEqual(
                mandatory.map((v) => `[${v.policy}] ${v.message}`),
                [],
                `${run.label}: mandatory violations`,
            );
        });
    }
});

// ---------------------------------------------------------------------------------------------------------------
// The pack itself, started and spoken to over the analyzer protocol, as the Pulumi CLI does.

function call<Req, Res>(method: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => method(req, (err, res) => (err !== null ? reject(err) : resolve(res))));
}

describe("the policy pack process (analyzer gRPC)", () => {
    let child: ChildProcess | undefined;
    let client: analyzerGrpc.AnalyzerClient;
    let stderr = "";

    before(async () => {
        // Started as `pulumi preview --policy-pack policy` starts it: the pack's own @pulumi/pulumi runner, which
        // type-checks and loads index.ts with ts-node (the engine address it takes is not used by a policy pack).
        const runner = path.join("node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
        const proc = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: path.join(PROJECT_DIR, "policy"), stdio: ["ignore", "pipe", "pipe"] });
        child = proc;
        proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            const timer = setTimeout(() => reject(new Error(`the pack printed no port in 30 s; stderr:\n${stderr}`)), 30_000);
            proc.stdout?.on("data", (d: Buffer) => {
                out += d.toString();
                const m = /^(\d+)\s*$/m.exec(out);
                if (m !== null) {
                    clearTimeout(timer);
                    resolve(Number(m[1]));
                }
            });
            proc.on("exit", (code) => reject(new Error(`the pack exited (${code}); stderr:\n${stderr}`)));
        });
        client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });
    after(() => {
        client?.close();
        child?.kill();
    });

    const options = (protect = false) => {
        const o = new analyzerPb.AnalyzerResourceOptions();
        o.setProtect(protect);
        return o;
    };
    const analyzeRequest = (r: Res) => {
        const req = new analyzerPb.AnalyzeRequest();
        req.setType(r.type);
        req.setName(r.name);
        req.setUrn(urnOf(r));
        req.setProperties(structPb.Struct.fromJavaScript(r.props as Record<string, structPb.JavaScriptValue>));
        req.setOptions(options(r.protect));
        return req;
    };
    const diagnostics = (res: analyzerPb.AnalyzeResponse) => res.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), level: d.getEnforcementlevel(), message: d.getMessage(), urn: d.getUrn() }));

    it("registers every policy with its enforcement level and exception schema", async () => {
        const info = await call<emptyPb.Empty, analyzerPb.AnalyzerInfo>(client.getAnalyzerInfo.bind(client), new emptyPb.Empty());
        assert.equal(info.getName(), PACK_NAME);
        const got = info.getPoliciesList().map((p) => p.getName());
        assert.deepEqual(got, policies.map((p) => p.name));
        const eks = info.getPoliciesList().find((p) => p.getName() === "eks-cluster-hardening");
        assert.ok(eks?.getConfigschema()?.getProperties()?.toJavaScript()["exceptions"] !== undefined);
        assert.ok((eks?.getRemediationSteps() ?? "").length > 0);
    });

    it("reports a violation through the real SDK, with secrets unwrapped and never printed", async () => {
        // A secret literal, marked as the engine marks secrets on the wire.
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "hunter2-do-not-print" };
        const r = withPod(deployment(), (s) => set(s, "containers[0].env", [{ name: "DATABASE_PASSWORD", value: secret }]));
        const res = diagnostics(await call<analyzerPb.AnalyzeRequest, analyzerPb.AnalyzeResponse>(client.analyze.bind(client), analyzeRequest(r)));
        const env = res.filter((d) => d.policy === "no-literal-secret-env");
        assert.equal(env.length, 1, JSON.stringify(res));
        assert.match(env[0].message, /DATABASE_PASSWORD has a literal value/);
        assert.ok(res.every((d) => !d.message.includes("hunter2")));
        assert.deepEqual(
            diagnostics(await call<analyzerPb.AnalyzeRequest, analyzerPb.AnalyzeResponse>(client.analyze.bind(client), analyzeRequest(deployment()))).filter((d) => d.policy !== "policy-exceptions"),
            [],
        );
    });

    it("reads protect from the resource options, and exceptions from the pack's config (Configure)", async () => {
        const unprotected = statefulSet("scratch", false);
        const before = diagnostics(await call<analyzerPb.AnalyzeRequest, analyzerPb.AnalyzeResponse>(client.analyze.bind(client), analyzeRequest(unprotected)));
        assert.ok(before.some((d) => d.policy === "statefulset-data-safety" && /not protected/.test(d.message)), JSON.stringify(before));
        assert.deepEqual(diagnostics(await call<analyzerPb.AnalyzeRequest, analyzerPb.AnalyzeResponse>(client.analyze.bind(client), analyzeRequest({ ...unprotected, protect: true }))), []);

        const configure = new analyzerPb.ConfigureAnalyzerRequest();
        const policyConfig = new analyzerPb.PolicyConfig();
        policyConfig.setEnforcementlevel(analyzerPb.EnforcementLevel.MANDATORY);
        policyConfig.setProperties(
            structPb.Struct.fromJavaScript({ exceptions: [{ resource: "kubernetes:apps/v1:StatefulSet::scratch", reason: "Throwaway load-test stack (OPS-142), reviewed." }] }),
        );
        configure.getPolicyconfigMap().set("statefulset-data-safety", policyConfig);
        await call<analyzerPb.ConfigureAnalyzerRequest, emptyPb.Empty>(client.configure.bind(client), configure);
        assert.deepEqual(diagnostics(await call<analyzerPb.AnalyzeRequest, analyzerPb.AnalyzeResponse>(client.analyze.bind(client), analyzeRequest(unprotected))), []);
    });

    it("runs the stack policies over a stack's resources", async () => {
        const req = new analyzerPb.AnalyzeStackRequest();
        req.setResourcesList(
            [deployment(), pdb("web")].map((r) => {
                const a = new analyzerPb.AnalyzerResource();
                a.setType(r.type);
                a.setName(r.name);
                a.setUrn(urnOf(r));
                a.setProperties(structPb.Struct.fromJavaScript(r.props as Record<string, structPb.JavaScriptValue>));
                a.setOptions(options());
                return a;
            }),
        );
        const res = diagnostics(await call<analyzerPb.AnalyzeStackRequest, analyzerPb.AnalyzeResponse>(client.analyzeStack.bind(client), req));
        assert.deepEqual(
            res.map((d) => d.policy),
            ["network-policy-coverage"],
        );
        assert.equal(res[0].urn, urnOf(deployment()));
    });

    it("turns a value not known during preview into an advisory 'can't run during preview'", async () => {
        const r = withPod(deployment(), (s) => set(s, "containers[0].image", "04da6b54-80e4-46f7-96ec-b56ff0331ba9"));
        const res = diagnostics(await call<analyzerPb.AnalyzeRequest, analyzerPb.AnalyzeResponse>(client.analyze.bind(client), analyzeRequest(r)));
        const image = res.find((d) => d.policy === "image-pinned");
        assert.match(image?.message ?? "", /can't run policy 'image-pinned' .* during preview/);
        assert.equal(image?.level, analyzerPb.EnforcementLevel.ADVISORY);
    });
});
