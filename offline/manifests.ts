/**
 * Turns the Kubernetes resources an evaluation recorded into manifests, validates each against the Kubernetes
 * schema (kubernetes-models 4.x), and renders them as multi-document YAML with Secret data redacted.
 */
import { stringify } from "yaml";
import type { Evaluation } from "./evaluate";
import { containsSecret, markComputed, MockRecord, placeholdersIn, redact, unwrap } from "./mocks";

export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; [k: string]: unknown };
    [field: string]: unknown;
}

/** Types under `kubernetes:` that are not objects in the cluster (multi-object components, list and patch types). */
const NOT_OBJECTS = /^kubernetes:(yaml|helm\.sh|kustomize)\/|List$|Patch$/;

/**
 * apiVersion and kind from a pulumi-kubernetes type token: `kubernetes:<group>/<version>:<Kind>`, where the core
 * group is spelled `core` (`kubernetes:core/v1:Namespace` -> v1 Namespace, `kubernetes:storage.k8s.io/v1:StorageClass`
 * -> storage.k8s.io/v1 StorageClass). Undefined for types that are not Kubernetes objects; an error for a
 * `kubernetes:` token it cannot read, so nothing is ever dropped silently.
 */
export function apiVersionKind(type: string): { apiVersion: string; kind: string } | undefined {
    if (!type.startsWith("kubernetes:") || NOT_OBJECTS.test(type)) {
        return undefined;
    }
    const m = /^kubernetes:([a-z0-9.-]+)\/([a-z0-9]+):([A-Za-z0-9]+)$/.exec(type);
    if (m === null) {
        throw new Error(`cannot read the Kubernetes type token ${JSON.stringify(type)} (expected kubernetes:<group>/<version>:<Kind>)`);
    }
    const [, group, version, kind] = m;
    return { apiVersion: group === "core" ? version : `${group}/${version}`, kind };
}

export class SchemaError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`${problems.length} manifest${problems.length === 1 ? "" : "s"} failed Kubernetes schema validation:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "SchemaError";
    }
}

function objectName(m: { kind: string; metadata: { name: string; namespace?: string } }): string {
    return `${m.kind} ${m.metadata.namespace !== undefined ? `${m.metadata.namespace}/` : ""}${m.metadata.name}`;
}

/** Builds the manifest of one recorded resource, from the state the cluster would hold (auto-names applied). */
function toManifest(record: MockRecord): { manifest: Manifest; secret: Manifest } | undefined {
    const gvk = apiVersionKind(record.type);
    if (gvk === undefined) {
        return undefined;
    }
    const { status: _status, ...fields } = record.state;
    // A Service's cluster IP is the cluster's to assign: keep it only when the program set it (e.g. "None").
    const givenSpec = unwrap(record.inputs["spec"]) as Record<string, unknown> | undefined;
    if (gvk.kind === "Service" && typeof fields["spec"] === "object" && fields["spec"] !== null && givenSpec?.["clusterIP"] === undefined) {
        const { clusterIP: _ip, clusterIPs: _ips, ...spec } = unwrap(fields["spec"]) as Record<string, unknown>;
        fields["spec"] = spec;
    }
    // apiVersion, kind and metadata first, as kubectl prints them.
    const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = fields;
    const withSecrets = { apiVersion: gvk.apiVersion, kind: gvk.kind, metadata: fields["metadata"], ...rest } as Manifest;
    const metadata = unwrap(withSecrets.metadata) as Manifest["metadata"];
    const { uid: _uid, ...cleanMetadata } = metadata;
    const plain = { ...(unwrap(withSecrets) as Manifest), metadata: cleanMetadata as Manifest["metadata"] };
    return { manifest: plain, secret: { ...withSecrets, metadata: cleanMetadata as Manifest["metadata"] } };
}

const REDACTED_TEXT = "<redacted>";
const REDACTED_BASE64 = Buffer.from(REDACTED_TEXT).toString("base64");

/** Secret data (and any other secret value) replaced by a marker; everything else as is. */
function redactManifest(withSecrets: Manifest): Manifest {
    const out = redact(withSecrets, REDACTED_TEXT) as Manifest;
    if (out.kind === "Secret" && out.apiVersion === "v1") {
        // Keep the keys (a reviewer needs to see what a Secret holds), never the values, even when the whole map
        // was one secret Output.
        const plain = unwrap(withSecrets) as Manifest;
        for (const field of ["data", "stringData"] as const) {
            const values = plain[field];
            if (typeof values === "object" && values !== null) {
                out[field] = Object.fromEntries(
                    Object.keys(values).map((k) => [k, field === "data" ? REDACTED_BASE64 : REDACTED_TEXT]),
                );
            }
        }
    }
    return out;
}

type Model = new (data: unknown) => { validate(): void };

function modelFor(apiVersion: string, kind: string): Model | undefined {
    try {
        // kubernetes-models lays out one module per group/version, e.g. kubernetes-models/apps/v1.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(`kubernetes-models/${apiVersion}`) as Record<string, unknown>;
        const model = mod[kind];
        return typeof model === "function" ? (model as Model) : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The custom resources herd creates that kubernetes-models has no schema for: GKE's ManagedCertificate and
 * FrontendConfig (their CRDs ship with every GKE cluster), and the Prometheus Operator's PodMonitor and PrometheusRule
 * (herd:prometheusOperator: kube-prometheus-stack installs their CRDs). Each check covers the fields herd sets, as the CRD's
 * OpenAPI schema constrains them; any field herd does not know is a problem too, so a typo cannot pass.
 */
const CUSTOM_SCHEMAS: Readonly<Record<string, (spec: Record<string, unknown>) => string[]>> = {
    "networking.gke.io/v1 ManagedCertificate": (spec) => {
        const domains = spec["domains"];
        const problems = Object.keys(spec).filter((k) => k !== "domains").map((k) => `spec.${k} is not a field of ManagedCertificate`);
        if (!Array.isArray(domains) || domains.length < 1 || domains.length > 100) {
            problems.push("spec.domains must list 1 to 100 domain names");
        } else {
            for (const d of domains) {
                if (typeof d !== "string" || d.length > 63 * 4 || !/^(([a-zA-Z0-9]+|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9])\.)+[a-zA-Z][-a-zA-Z0-9]*[a-zA-Z0-9]\.?$/.test(d)) {
                    problems.push(`spec.domains: ${JSON.stringify(d)} is not a fully qualified domain name (no wildcard)`);
                }
            }
        }
        return problems;
    },
    "networking.gke.io/v1beta1 FrontendConfig": (spec) => {
        const problems = Object.keys(spec).filter((k) => k !== "redirectToHttps" && k !== "sslPolicy").map((k) => `spec.${k} is not a field of FrontendConfig`);
        const redirect = spec["redirectToHttps"];
        if (redirect !== undefined) {
            const r = (typeof redirect === "object" && redirect !== null ? redirect : {}) as Record<string, unknown>;
            if (typeof r["enabled"] !== "boolean") {
                problems.push("spec.redirectToHttps.enabled must be a boolean");
            }
            const codes = ["MOVED_PERMANENTLY_DEFAULT", "FOUND", "SEE_OTHER", "TEMPORARY_REDIRECT", "PERMANENT_REDIRECT"];
            if (r["responseCodeName"] !== undefined && !codes.includes(String(r["responseCodeName"]))) {
                problems.push(`spec.redirectToHttps.responseCodeName must be one of ${codes.join(", ")}`);
            }
        }
        if (spec["sslPolicy"] !== undefined && typeof spec["sslPolicy"] !== "string") {
            problems.push("spec.sslPolicy must be the name of a Compute Engine SSL policy");
        }
        return problems;
    },
    // The Prometheus Operator's (monitoring.coreos.com/v1), for herd:prometheusOperator: the fields herd sets.
    "monitoring.coreos.com/v1 PodMonitor": (spec) => {
        const problems = Object.keys(spec).filter((k) => k !== "selector" && k !== "podMetricsEndpoints").map((k) => `spec.${k} is not a field herd sets on a PodMonitor`);
        const selector = spec["selector"] as Record<string, unknown> | undefined;
        const labels = selector?.["matchLabels"];
        if (typeof labels !== "object" || labels === null || Object.keys(labels).length === 0 || Object.values(labels).some((v) => typeof v !== "string")) {
            problems.push("spec.selector.matchLabels must map label names to strings (an empty selector would scrape every pod)");
        }
        const endpoints = spec["podMetricsEndpoints"];
        if (!Array.isArray(endpoints) || endpoints.length === 0) {
            problems.push("spec.podMetricsEndpoints must list at least one endpoint");
        } else {
            endpoints.forEach((e: Record<string, unknown>, i) => {
                const known = ["port", "path", "interval", "scrapeTimeout"];
                problems.push(...Object.keys(e).filter((k) => !known.includes(k)).map((k) => `spec.podMetricsEndpoints[${i}].${k} is not a field herd sets`));
                if (typeof e["port"] !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(e["port"]) || e["port"].length > 15) {
                    problems.push(`spec.podMetricsEndpoints[${i}].port must name a container port (an IANA service name)`);
                }
                if (e["path"] !== undefined && (typeof e["path"] !== "string" || !e["path"].startsWith("/"))) {
                    problems.push(`spec.podMetricsEndpoints[${i}].path must be an absolute path`);
                }
                for (const d of ["interval", "scrapeTimeout"]) {
                    if (e[d] !== undefined && (typeof e[d] !== "string" || !/^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/.test(e[d] as string))) {
                        problems.push(`spec.podMetricsEndpoints[${i}].${d} must be a Prometheus duration such as 30s`);
                    }
                }
            });
        }
        return problems;
    },
    "monitoring.coreos.com/v1 PrometheusRule": (spec) => {
        const problems = Object.keys(spec).filter((k) => k !== "groups").map((k) => `spec.${k} is not a field of PrometheusRule`);
        const groups = spec["groups"];
        if (!Array.isArray(groups) || groups.length === 0) {
            return [...problems, "spec.groups must list at least one rule group"];
        }
        groups.forEach((g: Record<string, unknown>, i) => {
            if (typeof g["name"] !== "string" || g["name"] === "") {
                problems.push(`spec.groups[${i}].name must be a non-empty string`);
            }
            const rules = g["rules"];
            if (!Array.isArray(rules)) {
                problems.push(`spec.groups[${i}].rules must be a list`);
                return;
            }
            rules.forEach((r: Record<string, unknown>, j) => {
                const at = `spec.groups[${i}].rules[${j}]`;
                const known = ["alert", "record", "expr", "for", "labels", "annotations"];
                problems.push(...Object.keys(r).filter((k) => !known.includes(k)).map((k) => `${at}.${k} is not a field of a rule`));
                if ((typeof r["alert"] === "string") === (typeof r["record"] === "string")) {
                    problems.push(`${at} must have exactly one of alert and record`);
                }
                if (typeof r["expr"] !== "string" || r["expr"] === "") {
                    problems.push(`${at}.expr must be a PromQL expression`);
                }
                for (const m of ["labels", "annotations"]) {
                    const v = r[m];
                    if (v !== undefined && (typeof v !== "object" || v === null || Object.values(v).some((x) => typeof x !== "string"))) {
                        problems.push(`${at}.${m} must map names to strings`);
                    }
                }
            });
        });
        return problems;
    },
};

/** Validates one manifest; returns the problems, each naming the object and the field. */
export function validateManifest(m: Manifest): string[] {
    const custom = CUSTOM_SCHEMAS[`${m.apiVersion} ${m.kind}`];
    if (custom !== undefined) {
        const spec = m["spec"];
        if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
            return [`${objectName(m)}: spec must be an object`];
        }
        return custom(spec as Record<string, unknown>).map((p) => `${objectName(m)}: ${p}`);
    }
    const model = modelFor(m.apiVersion, m.kind);
    if (model === undefined) {
        return [`${objectName(m)}: no schema for ${m.apiVersion} ${m.kind} in kubernetes-models (unknown or removed API)`];
    }
    try {
        new model(m).validate();
        return [];
    } catch (err) {
        const errors = (err as { errors?: { instancePath?: string; message?: string }[] }).errors;
        if (Array.isArray(errors) && errors.length > 0) {
            return errors.map((e) => `${objectName(m)}: ${(e.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".") || "(root)"} ${e.message ?? "is invalid"}`);
        }
        return [`${objectName(m)}: ${(err as Error).message}`];
    }
}

export interface ManifestSet {
    /** Plain manifests (secret values in clear): for assertions in tests, never written to disk. */
    readonly manifests: readonly Manifest[];
    /** The same manifests with every secret value redacted: what `manifests.yaml` holds. */
    readonly redacted: readonly Manifest[];
}

/** Builds and validates every manifest of an evaluation; throws SchemaError listing every problem. */
export function buildManifests(evaluation: Pick<Evaluation, "records">): ManifestSet {
    const manifests: Manifest[] = [];
    const redacted: Manifest[] = [];
    const problems: string[] = [];
    for (const record of evaluation.records) {
        const built = toManifest(record);
        if (built === undefined) {
            continue;
        }
        problems.push(...validateManifest(built.manifest));
        manifests.push(built.manifest);
        redacted.push(containsSecret(built.secret) || built.secret.kind === "Secret" ? redactManifest(built.secret) : built.manifest);
    }
    if (problems.length > 0) {
        throw new SchemaError(problems);
    }
    return { manifests, redacted };
}

export function renderYaml(manifests: readonly Manifest[]): string {
    return manifests.map((m) => stringify(m, { lineWidth: 0 })).join("---\n");
}

/**
 * What a user is handed offline: every value only the engine, a provider or the cluster would assign replaced by
 * its `<computed:...>` placeholder (never a made-up address, id or digest that could be mistaken for real), under a
 * header that says what the file is and lists the placeholders in it.
 */
export function renderOfflineYaml(manifests: readonly Manifest[], source: { stack: string; configFile: string }): string {
    const body = markComputed(renderYaml(manifests));
    const placeholders = placeholdersIn(body);
    const header = [
        `# herd: Kubernetes objects of stack '${source.stack}' (${source.configFile}), rendered OFFLINE by \`npm run manifests\``,
        "# under Pulumi mocks: nothing was applied, and no cluster, cloud or Pulumi CLI was asked.",
        "# - Secret data is redacted (<redacted>); the real Secrets are created by `pulumi up`.",
        "# - Fields the cluster assigns (a Service's clusterIP, status, uids) are left out.",
        placeholders.length === 0
            ? "# - No value here depends on what the engine or a cloud assigns."
            : "# - Values only `pulumi up` can know (ids, ARNs, addresses, image digests, auto-name suffixes) are shown as",
        ...(placeholders.length === 0 ? [] : ["#   placeholders; do not `kubectl apply` this file as is. Placeholders in this file:"]),
        ...placeholders.map((p) => `#     ${p}`),
        "",
    ];
    return `${header.join("\n")}${body}`;
}
