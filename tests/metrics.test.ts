/**
 * Metrics and alerts in the whole program, offline, per stack: the exporter sidecars (pinned, restricted, probed,
 * least-privilege credentials), the API's metrics port, how Prometheus finds them (annotations, or PodMonitors with
 * herd:prometheusOperator), the NetworkPolicy rules that admit only the monitoring namespace to the metrics ports,
 * and the alert rules (a ConfigMap, or a PrometheusRule). The rules themselves are tested with promtool in
 * alerts.test.ts, the exporters against real servers in exporters.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { evaluateStack } from "../offline/evaluate";
import { buildManifests, Manifest } from "../offline/manifests";
import { API_METRICS_PORT, ELASTIC_EXPORTER_PORT, metricsDefaults, metricsProblems, POSTGRES_EXPORTER_PORT, REDIS_EXPORTER_PORT } from "../components/metrics";
import { RULES_FILE_NAME } from "../components/alerts";
import { MINIMAL_ONPREM, writeStackFile } from "./helpers";

// any: manifests are untyped JSON, read here field by field; a wrong path fails the assertion that reads it.
type Obj = Record<string, any>;

const WORKLOADS = [
    { kind: "Deployment", name: "api", container: "api", port: API_METRICS_PORT },
    { kind: "StatefulSet", name: "postgres", container: "metrics", port: POSTGRES_EXPORTER_PORT },
    { kind: "StatefulSet", name: "redis", container: "metrics", port: REDIS_EXPORTER_PORT },
    { kind: "StatefulSet", name: "elastic", container: "metrics", port: ELASTIC_EXPORTER_PORT },
] as const;

/** Evaluations one after another (the describe blocks start together; Pulumi's runtime state is global). */
let queue: Promise<unknown> = Promise.resolve();
function manifestsOf(stack: string, config?: Record<string, unknown>): Promise<readonly Manifest[]> {
    const next = queue.then(async () => {
        const e = config === undefined ? await evaluateStack({ stack }) : await evaluateStack({ stack: "test", configFile: writeStackFile(config) });
        // Throws on any schema problem, the monitoring.coreos.com kinds included.
        return buildManifests(e).manifests;
    });
    queue = next.catch(() => undefined);
    return next;
}
const find = (ms: readonly Manifest[], kind: string, name: string): Obj => {
    const m = ms.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(m !== undefined, `no ${kind} ${name}`);
    return m as Obj;
};
const podSpec = (ms: readonly Manifest[], kind: string, name: string): Obj => find(ms, kind, name)["spec"]["template"];
const monitoringRules = (np: Obj): Obj[] =>
    (np["spec"]["ingress"] as Obj[]).filter((r) => (r["from"] as Obj[]).some((peer) => peer["namespaceSelector"] !== undefined));

for (const stack of ["aws", "gcp", "onprem"]) {
    describe(`metrics on stack ${stack} (defaults: metrics on, annotations, rules in a ConfigMap)`, async () => {
        const ms = await manifestsOf(stack);

        for (const w of WORKLOADS) {
            it(`${w.name}: a metrics port ${w.port}, the prometheus.io annotations, and only the monitoring namespace let in`, () => {
                const template = podSpec(ms, w.kind, w.name);
                const container = (template["spec"]["containers"] as Obj[]).find((c) => c["name"] === w.container);
                assert.ok(container !== undefined, `${w.name}: no container ${w.container}`);
                assert.deepEqual(
                    (container["ports"] as Obj[]).filter((p) => p["name"] === "metrics"),
                    [{ name: "metrics", containerPort: w.port, protocol: "TCP" }],
                );
                assert.deepEqual(
                    Object.fromEntries(Object.entries(template["metadata"]["annotations"] as Obj).filter(([k]) => k.startsWith("prometheus.io/"))),
                    { "prometheus.io/scrape": "true", "prometheus.io/port": String(w.port), "prometheus.io/path": "/metrics" },
                );
                const np = find(ms, "NetworkPolicy", w.name);
                assert.deepEqual(monitoringRules(np), [
                    { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }], ports: [{ protocol: "TCP", port: w.port }] },
                ]);
            });
        }

        for (const w of WORKLOADS.filter((x) => x.container === "metrics")) {
            it(`${w.name}: the exporter sidecar is pinned, restricted, probed, sized and given its password by reference`, () => {
                const c = (podSpec(ms, w.kind, w.name)["spec"]["containers"] as Obj[]).find((x) => x["name"] === "metrics") as Obj;
                assert.match(c["image"], /:v\d+\.\d+\.\d+$/, "a version tag, never latest");
                assert.deepEqual(c["securityContext"], {
                    allowPrivilegeEscalation: false,
                    privileged: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    runAsUser: 65534,
                    runAsGroup: 65534,
                    capabilities: { drop: ["ALL"] },
                    seccompProfile: { type: "RuntimeDefault" },
                });
                assert.ok(c["readinessProbe"]?.["httpGet"] && c["livenessProbe"]?.["httpGet"], "probes on the exporter's own HTTP server");
                assert.ok(c["resources"]["requests"]["memory"] && c["resources"]["limits"]["memory"]);
                for (const e of c["env"] as Obj[]) {
                    if (/PASS/.test(e["name"])) {
                        assert.equal(e["value"], undefined, `${e["name"]} must come from a Secret`);
                        assert.ok(e["valueFrom"]["secretKeyRef"]["name"]);
                    }
                }
            });
        }

        it("the PostgreSQL exporter logs in as herd_monitor with its own Secret, which the roles sidecar also reads", () => {
            const spec = podSpec(ms, "StatefulSet", "postgres")["spec"];
            const c = (spec["containers"] as Obj[]).find((x) => x["name"] === "metrics") as Obj;
            const env = Object.fromEntries((c["env"] as Obj[]).map((e) => [e["name"], e]));
            assert.equal(env["DATA_SOURCE_USER"]["value"], "herd_monitor");
            assert.equal(env["DATA_SOURCE_URI"]["value"], "127.0.0.1:5432/herd?sslmode=verify-full&sslrootcert=/etc/herd/ca/ca.crt");
            assert.equal(env["DATA_SOURCE_PASS"]["valueFrom"]["secretKeyRef"]["name"], "postgres-monitor-credentials");
            find(ms, "Secret", "postgres-monitor-credentials");
            const projected = (spec["volumes"] as Obj[]).find((v) => v["name"] === "role-passwords") as Obj;
            assert.ok((projected["projected"]["sources"] as Obj[]).some((s) => s["secret"]["name"] === "postgres-monitor-credentials" && s["secret"]["items"][0]["path"] === "monitor"));
            const sql = find(ms, "ConfigMap", "postgres-roles")["data"]["apply.sql"] as string;
            assert.match(sql, /GRANT pg_monitor TO "herd_monitor";/);
        });

        it("the Elasticsearch exporter's user is created by the setup Job with monitor privileges only", () => {
            const job = find(ms, "Job", "elastic-setup");
            const env = Object.fromEntries((job["spec"]["template"]["spec"]["containers"][0]["env"] as Obj[]).map((e) => [e["name"], e]));
            assert.equal(env["METRICS_USER"]["value"], "herd_metrics");
            assert.deepEqual(JSON.parse(env["METRICS_ROLE_JSON"]["value"]), { cluster: ["monitor"], indices: [{ names: ["*"], privileges: ["monitor"], allow_restricted_indices: false }] });
            assert.equal(env["METRICS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"], "elastic-metrics-credentials");
        });

        it("the alert rules are a plain rules file in the ConfigMap herd-alerts, scoped to herd's namespace; no Operator objects", () => {
            const rules = parseYaml(find(ms, "ConfigMap", "herd-alerts")["data"][RULES_FILE_NAME] as string) as Obj;
            const alerts = (rules["groups"][0]["rules"] as Obj[]).map((r) => r["alert"] as string);
            for (const a of ["HerdBackupFailed", "HerdBackupTooOld", "HerdWalArchivingFailing", "HerdVolumeFilling", "HerdPostgresDown", "HerdRedisDown", "HerdElasticsearchRed", "HerdApiErrors", "HerdApiSlow"]) {
                assert.ok(alerts.includes(a), `missing ${a}`);
            }
            // One freshness rule per backup CronJob of the stack: pg_dump, pgBackRest full and diff.
            const tooOld = (rules["groups"][0]["rules"] as Obj[]).filter((r) => r["alert"] === "HerdBackupTooOld").map((r) => /cronjob="([^"]+)"/.exec(r["expr"])?.[1]);
            assert.deepEqual(tooOld, ["postgres-backup", "postgres-pitr-full", "postgres-pitr-diff"]);
            for (const cronjob of tooOld) {
                find(ms, "CronJob", cronjob as string);
            }
            assert.ok((rules["groups"][0]["rules"] as Obj[]).every((r) => (r["expr"] as string).includes('namespace="herd"')));
            assert.equal(ms.filter((m) => m.apiVersion === "monitoring.coreos.com/v1").length, 0);
        });
    });
}

describe("metrics with the Prometheus Operator (onprem, herd:prometheusOperator)", async () => {
    const ms = await manifestsOf("test", { ...MINIMAL_ONPREM, "herd:prometheusOperator": "true", "herd:monitoringNamespace": "observability", "herd:alertApi5xxPercent": "2" });

    it("a PodMonitor per workload selecting exactly its pods' labels on the port named metrics", () => {
        for (const w of WORKLOADS) {
            const pm = find(ms, "PodMonitor", `${w.name}-metrics`);
            const template = podSpec(ms, w.kind, w.name);
            const selector = pm["spec"]["selector"]["matchLabels"] as Record<string, string>;
            for (const [k, v] of Object.entries(selector)) {
                assert.equal(template["metadata"]["labels"][k], v, `${w.name}: the PodMonitor selects ${k}=${v}`);
            }
            assert.deepEqual(pm["spec"]["podMetricsEndpoints"], [{ port: "metrics", path: "/metrics", interval: "30s", scrapeTimeout: "10s" }]);
            // No annotations for a second, annotation-driven scrape.
            assert.ok(!Object.keys(template["metadata"]["annotations"] ?? {}).some((k) => k.startsWith("prometheus.io/")), w.name);
            assert.deepEqual(monitoringRules(find(ms, "NetworkPolicy", w.name))[0]["from"], [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } } }]);
        }
        // The API's PodMonitor never selects the migration Job's pods (component "migrate").
        assert.equal(find(ms, "PodMonitor", "api-metrics")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"], "server");
    });

    it("the alert rules are a PrometheusRule with the configured threshold, and no rules ConfigMap", () => {
        const rule = find(ms, "PrometheusRule", "herd-alerts");
        const errors = (rule["spec"]["groups"][0]["rules"] as Obj[]).find((r) => r["alert"] === "HerdApiErrors") as Obj;
        assert.match(errors["expr"], /\* 100 > 2$/);
        assert.equal(errors["annotations"]["runbook_url"], "README.md#herdapierrors");
        assert.equal(ms.filter((m) => m.kind === "ConfigMap" && m.metadata.name === "herd-alerts").length, 0);
    });
});

describe("metrics off (herd:metrics false)", async () => {
    const ms = await manifestsOf("test", { ...MINIMAL_ONPREM, "herd:metrics": "false" });

    it("no sidecar, port, annotation, NetworkPolicy rule, monitoring credentials or rules", () => {
        for (const w of WORKLOADS) {
            const template = podSpec(ms, w.kind, w.name);
            assert.ok(!(template["spec"]["containers"] as Obj[]).some((c) => c["name"] === "metrics"), w.name);
            assert.ok(!(template["spec"]["containers"] as Obj[]).some((c) => (c["ports"] ?? []).some((p: Obj) => p["name"] === "metrics")), w.name);
            assert.ok(!Object.keys(template["metadata"]["annotations"] ?? {}).some((k) => k.startsWith("prometheus.io/")), w.name);
            assert.deepEqual(monitoringRules(find(ms, "NetworkPolicy", w.name)), []);
        }
        const names = ms.map((m) => `${m.kind}/${m.metadata.name}`);
        for (const gone of ["Secret/postgres-monitor-credentials", "Secret/elastic-metrics-credentials", "ConfigMap/herd-alerts"]) {
            assert.ok(!names.includes(gone), gone);
        }
        assert.doesNotMatch(find(ms, "ConfigMap", "postgres-roles")["data"]["apply.sql"] as string, /herd_monitor/);
    });
});

describe("metrics options: defaults and validation", () => {
    it("default to the config keys' defaults: on, annotations, namespace monitoring; a partial object keeps the rest", () => {
        assert.deepEqual(metricsDefaults(undefined), { enabled: true, prometheusOperator: false, namespace: "monitoring" });
        assert.deepEqual(metricsDefaults({ prometheusOperator: true }), { enabled: true, prometheusOperator: true, namespace: "monitoring" });
        assert.deepEqual(metricsDefaults({ enabled: false, namespace: "obs" }), { enabled: false, prometheusOperator: false, namespace: "obs" });
    });
    it("a bad namespace or a non-boolean is named with what was given", () => {
        assert.deepEqual(metricsProblems({ enabled: "yes" as unknown as boolean, prometheusOperator: false, namespace: "Monitoring" }), [
            { field: "metrics.enabled", message: 'expected true or false, got "yes"' },
            { field: "metrics.namespace", message: 'expected a namespace name (lowercase letters, digits and -), got "Monitoring"' },
        ]);
    });
});
