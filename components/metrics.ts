/**
 * Prometheus metrics for herd's pods: the ports, the pinned exporter images, the exporter sidecar (restricted,
 * probed, sized), how Prometheus finds a pod (prometheus.io annotations, or a PodMonitor for the Prometheus
 * Operator), and the NetworkPolicy rule that admits the monitoring namespace to the metrics port alone.
 *
 * Why sidecars: each exporter talks to its own server over 127.0.0.1 (no Service, no NetworkPolicy between them),
 * scales with the StatefulSet, and its pod label says which server a series is about; a separate Deployment would
 * need network access to the data port and would report one pod's view. The exporters are a few MiB each.
 *
 * The exporter images are the versions Debian bookworm ships (prometheus-postgres-exporter 0.11.1,
 * prometheus-redis-exporter 1.45.0), which tests/exporters.test.ts runs against real servers, so the metric names the alert
 * rules use are the ones those versions export. Tags, not digests: no registry is reachable where herd is built,
 * so no digest could be checked here (`npm run images` lists them for mirroring).
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import { KEYS } from "../config";
import { restrictedContainerSecurityContext, resourceRequirements } from "./pod-security";

export const API_METRICS_PORT = 9102;
export const POSTGRES_EXPORTER_PORT = 9187;
export const REDIS_EXPORTER_PORT = 9121;
export const ELASTIC_EXPORTER_PORT = 9114;
export const METRICS_PATH = "/metrics";
/** The name of every metrics container port: what a PodMonitor's endpoint names. */
export const METRICS_PORT_NAME = "metrics";

export const POSTGRES_EXPORTER_IMAGE = "quay.io/prometheuscommunity/postgres-exporter:v0.11.1";
export const REDIS_EXPORTER_IMAGE = "oliver006/redis_exporter:v1.45.0";
export const ELASTIC_EXPORTER_IMAGE = "quay.io/prometheuscommunity/elasticsearch-exporter:v1.7.0";
/** The exporters' images run as `nobody`; the sidecars say so rather than inherit the data server's UID. */
export const EXPORTER_UID = 65534;

/** How metrics are exposed: decided by config keys, plain values (they decide which resources exist). */
export interface MetricsOptions {
    /** @default config key `metrics` */
    readonly enabled?: boolean;
    /** PodMonitors (true) or prometheus.io annotations (false). @default config key `prometheusOperator` */
    readonly prometheusOperator?: boolean;
    /** The namespace whose pods may reach the metrics ports. @default config key `monitoringNamespace` */
    readonly namespace?: string;
}

export type MetricsResolved = Required<MetricsOptions>;

export function metricsDefaults(m: MetricsOptions | undefined): MetricsResolved {
    return {
        enabled: m?.enabled ?? KEYS.metrics.default,
        prometheusOperator: m?.prometheusOperator ?? KEYS.prometheusOperator.default,
        namespace: m?.namespace ?? KEYS.monitoringNamespace.default,
    };
}

/** Every problem with the options, each naming the field. */
export function metricsProblems(m: MetricsResolved): { field: string; message: string }[] {
    const problems: { field: string; message: string }[] = [];
    if (typeof m.enabled !== "boolean") {
        problems.push({ field: "metrics.enabled", message: `expected true or false, got ${JSON.stringify(m.enabled)}` });
    }
    if (typeof m.prometheusOperator !== "boolean") {
        problems.push({ field: "metrics.prometheusOperator", message: `expected true or false, got ${JSON.stringify(m.prometheusOperator)}` });
    }
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(m.namespace)) {
        problems.push({ field: "metrics.namespace", message: `expected a namespace name (lowercase letters, digits and -), got ${JSON.stringify(m.namespace)}` });
    }
    return problems;
}

/** The pod annotations that tell an annotation-driven Prometheus where to scrape (none with the Operator or off). */
export function scrapeAnnotations(m: MetricsResolved, port: number): Record<string, string> {
    if (!m.enabled || m.prometheusOperator) {
        return {};
    }
    return { "prometheus.io/scrape": "true", "prometheus.io/port": String(port), "prometheus.io/path": METRICS_PATH };
}

/** Ingress from the monitoring namespace's pods to the metrics port, and nothing else (none when metrics are off). */
export function metricsIngress(m: MetricsResolved, port: number): k8s.types.input.networking.v1.NetworkPolicyIngressRule[] {
    if (!m.enabled) {
        return [];
    }
    return [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": m.namespace } } }], ports: [{ protocol: "TCP", port }] }];
}

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Container = k8s.types.input.core.v1.Container;

export interface ExporterSpec {
    readonly name: string;
    readonly image: string;
    readonly port: number;
    readonly args: string[];
    readonly env: EnvVar[];
    /** @default "25m" */
    readonly cpu?: string;
    /** @default "64Mi" */
    readonly memory?: string;
    /** Read-only files the exporter needs, such as the CA that verifies its server (Elasticsearch's). @default none */
    readonly volumeMounts?: k8s.types.input.core.v1.VolumeMount[];
}

/**
 * An exporter sidecar: restricted like every herd container (and as `nobody`), its port named `metrics`, probes on
 * its own HTTP server (alive when it answers /metrics' neighbour `/`, which never touches the data server: a down
 * database must show as pg_up 0, not as a restarting exporter).
 */
export function exporterContainer(spec: ExporterSpec): Container {
    const http = { httpGet: { path: "/", port: METRICS_PORT_NAME } };
    return {
        name: spec.name,
        image: spec.image,
        args: spec.args,
        env: spec.env,
        ...(spec.volumeMounts !== undefined ? { volumeMounts: spec.volumeMounts } : {}),
        ports: [{ name: METRICS_PORT_NAME, containerPort: spec.port, protocol: "TCP" }],
        resources: resourceRequirements({ cpu: spec.cpu ?? "25m", memory: spec.memory ?? "64Mi" }),
        securityContext: { ...restrictedContainerSecurityContext(), runAsUser: EXPORTER_UID, runAsGroup: EXPORTER_UID },
        readinessProbe: { ...http, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
        livenessProbe: { ...http, periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 6 },
    };
}

/** A PodMonitor for the pods with `selector`, scraping their `metrics` port (only with the Prometheus Operator). */
export function podMonitor(
    parent: pulumi.Resource,
    m: MetricsResolved,
    name: string,
    namespace: pulumi.Input<string>,
    labels: Readonly<Record<string, string>>,
    selector: Readonly<Record<string, string>>,
): CustomResource | undefined {
    if (!m.enabled || !m.prometheusOperator) {
        return undefined;
    }
    return new CustomResource(
        `${name}-metrics`,
        {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PodMonitor",
            metadata: { name: `${name}-metrics`, namespace, labels: { ...labels } },
            spec: {
                selector: { matchLabels: { ...selector } },
                podMetricsEndpoints: [{ port: METRICS_PORT_NAME, path: METRICS_PATH, interval: "30s", scrapeTimeout: "10s" }],
            },
        },
        { parent },
    );
}
