/**
 * herd's alert rules: one TypeScript definition, rendered as a PrometheusRule (monitoring.coreos.com/v1) when the
 * Prometheus Operator runs in the cluster, or as a plain Prometheus rules file in a ConfigMap otherwise.
 * tests/alerts.test.ts runs `promtool test rules` over the same rules on synthetic series.
 *
 * Where the series come from: the API (herd_api_*, images/api/herd_api/metrics.py), the exporters beside the data
 * servers (pg_*, redis_*, elasticsearch_*: metrics.ts), kube-state-metrics (kube_cronjob_*, kube_job_*: backups)
 * and the kubelet (kubelet_volume_stats_*: volumes). The last two are what kube-prometheus-stack scrapes anyway;
 * without kube-state-metrics the backup alerts never fire (README "### Alerts").
 */
import * as k8s from "../lib/k8s";
import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels } from "../lib/labels";
import { cronProblem, longestCronGapSeconds } from "../lib/cron";

/** The API's metric names (images/api/herd_api/metrics.py defines the same). */
export const API_METRICS = {
    requests: "herd_api_requests_total",
    duration: "herd_api_request_duration_seconds",
    dependencyUp: "herd_api_dependency_up",
} as const;

/** Routes the kubelet calls: never counted as the API's errors or latency. */
export const PROBE_ROUTE_PATTERN = "/(api/)?(healthz|readyz)";

/** Share of a volume in use above which HerdVolumeFilling fires. */
export const VOLUME_FULL_RATIO = 0.8;

export interface BackupCronJob {
    /** The CronJob's name (metadata.name). */
    readonly name: string;
    /** Its schedule: the longest gap between two runs decides how old its last success may be. */
    readonly schedule: string;
}

export interface AlertSettings {
    /** The namespace herd runs in: every rule is scoped to it. */
    readonly namespace: string;
    /** The CronJobs whose runs are backups (pg_dump, pgBackRest full and diff). */
    readonly backups: readonly BackupCronJob[];
    /** Share of the API's requests (not probes) answered 5xx, in percent, above which HerdApiErrors fires. */
    readonly api5xxPercent: number;
    /** The API's 95th percentile latency, in milliseconds, above which HerdApiSlow fires. */
    readonly apiLatencyP95Ms: number;
    /** Where the runbook is; each alert's runbook_url is this plus `#<alert name in lower case>`. */
    readonly runbookUrl: string;
}

export interface AlertRule {
    readonly alert: string;
    readonly expr: string;
    readonly for: string;
    readonly labels: { readonly severity: "critical" | "warning" };
    readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string };
}

/** Seconds, as PromQL and rule durations write them (whole hours or minutes where they divide). */
function duration(seconds: number): string {
    if (seconds % 3600 === 0) {
        return `${seconds / 3600}h`;
    }
    if (seconds % 60 === 0) {
        return `${seconds / 60}m`;
    }
    return `${seconds}s`;
}

/** How old a backup's last success may be: one and a half times the longest gap of its schedule. */
export function backupMaxAgeSeconds(schedule: string): number {
    return Math.ceil((longestCronGapSeconds(schedule) * 1.5) / 60) * 60;
}

/** Every problem with the settings, each naming the field. */
export function alertProblems(s: AlertSettings): string[] {
    const problems: string[] = [];
    if (!(s.api5xxPercent > 0 && s.api5xxPercent <= 100)) {
        problems.push(`api5xxPercent: expected a percentage above 0 and at most 100, got ${s.api5xxPercent}`);
    }
    if (!Number.isInteger(s.apiLatencyP95Ms) || s.apiLatencyP95Ms < 1) {
        problems.push(`apiLatencyP95Ms: expected a whole number of milliseconds of at least 1, got ${s.apiLatencyP95Ms}`);
    }
    for (const b of s.backups) {
        const p = cronProblem(b.schedule);
        if (p !== undefined) {
            problems.push(`backups.${b.name}.schedule: ${p}`);
        }
    }
    return problems;
}

/** The alert rules for one herd namespace. */
export function alertRules(s: AlertSettings): AlertRule[] {
    const problems = alertProblems(s);
    if (problems.length > 0) {
        throw new Error(`alert rules: ${problems.join("; ")}`);
    }
    const ns = `namespace=${JSON.stringify(s.namespace)}`;
    const rule = (alert: string, severity: "critical" | "warning", forDuration: string, expr: string, summary: string, description: string): AlertRule => ({
        alert,
        expr,
        for: forDuration,
        labels: { severity },
        annotations: { summary, description, runbook_url: `${s.runbookUrl}#${alert.toLowerCase()}` },
    });
    const cronjobs = s.backups.map((b) => b.name).join("|");
    const requests = `${API_METRICS.requests}{${ns},route!~"${PROBE_ROUTE_PATTERN}"}`;
    const buckets = `${API_METRICS.duration}_bucket{${ns},route!~"${PROBE_ROUTE_PATTERN}"}`;
    const rules: AlertRule[] = [
        // A failed Job of a backup CronJob, while the CronJob's last scheduled run has not succeeded since: clears
        // with the next successful run, whatever the failed Job history keeps.
        rule(
            "HerdBackupFailed",
            "critical",
            "0m",
            `label_replace(max by (namespace, owner_name) ((kube_job_status_failed{${ns}} > 0) * on (namespace, job_name) group_left (owner_name) ` +
                `kube_job_owner{${ns},owner_kind="CronJob",owner_name=~"${cronjobs}"}), "cronjob", "$1", "owner_name", "(.*)") ` +
                `and on (namespace, cronjob) (kube_cronjob_status_last_schedule_time{${ns}} > on (namespace, cronjob) ` +
                `(kube_cronjob_status_last_successful_time{${ns}} or kube_cronjob_status_last_schedule_time{${ns}} * 0))`,
            "Backup {{ $labels.cronjob }} failed",
            "A Job of CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} failed and no run has succeeded since.",
        ),
        // Per CronJob: its last success older than its schedule allows, or none at all that long after its creation.
        ...s.backups.map((b) => {
            const maxAge = backupMaxAgeSeconds(b.schedule);
            const sel = `{${ns},cronjob="${b.name}"}`;
            return rule(
                "HerdBackupTooOld",
                "critical",
                "0m",
                `(time() - kube_cronjob_status_last_successful_time${sel} > ${maxAge}) or ` +
                    `((time() - kube_cronjob_created${sel} > ${maxAge}) unless on (namespace, cronjob) kube_cronjob_status_last_successful_time${sel})`,
                `Backup {{ $labels.cronjob }} has not succeeded for more than ${duration(maxAge)}`,
                `CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} (schedule "${b.schedule}") last succeeded longer ago than ${duration(maxAge)} (1.5 times its longest gap between runs), or never.`,
            );
        }),
        rule(
            "HerdWalArchivingFailing",
            "critical",
            "10m",
            `increase(pg_stat_archiver_failed_count{${ns}}[10m]) > 0`,
            "PostgreSQL cannot archive WAL",
            "archive_command has failed repeatedly for 10 minutes on {{ $labels.pod }}: point-in-time recovery stops at the last archived segment, and pg_wal grows until the disk is full.",
        ),
        rule(
            "HerdVolumeFilling",
            "warning",
            "5m",
            `kubelet_volume_stats_used_bytes{${ns}} / kubelet_volume_stats_capacity_bytes{${ns}} > ${VOLUME_FULL_RATIO}`,
            "Volume {{ $labels.persistentvolumeclaim }} is over 80% full",
            "PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full.",
        ),
        rule(
            "HerdPostgresDown",
            "critical",
            "2m",
            `pg_up{${ns}} == 0 or absent(pg_up{${ns}})`,
            "PostgreSQL is down",
            "The exporter beside PostgreSQL cannot reach the server (pg_up 0), or the exporter itself reports nothing.",
        ),
        rule(
            "HerdRedisDown",
            "critical",
            "2m",
            `redis_up{${ns}} == 0 or absent(redis_up{${ns}})`,
            "Redis is down",
            "The exporter beside Redis cannot reach the server (redis_up 0), or the exporter itself reports nothing.",
        ),
        rule(
            "HerdElasticsearchRed",
            "critical",
            "5m",
            `max by (namespace, cluster) (elasticsearch_cluster_health_status{${ns},color="red"}) == 1`,
            "Elasticsearch cluster {{ $labels.cluster }} is red",
            "At least one primary shard is unassigned: searches miss data and writes to it fail.",
        ),
        rule(
            "HerdApiErrors",
            "critical",
            "10m",
            `sum by (namespace) (rate(${requests.replace("}", ',status=~"5.."}')}[5m])) / sum by (namespace) (rate(${requests}[5m])) * 100 > ${s.api5xxPercent}`,
            `More than ${s.api5xxPercent}% of API requests fail`,
            `{{ $value | printf "%.1f" }}% of the API's requests (probes not counted) were answered with a 5xx over the last 5 minutes.`,
        ),
        rule(
            "HerdApiSlow",
            "warning",
            "10m",
            `histogram_quantile(0.95, sum by (namespace, le) (rate(${buckets}[5m]))) * 1000 > ${s.apiLatencyP95Ms}`,
            `API p95 latency above ${s.apiLatencyP95Ms} ms`,
            `The 95th percentile of the API's request duration (probes not counted) is {{ $value | printf "%.0f" }} ms over the last 5 minutes.`,
        ),
    ];
    return rules;
}

/** The rules as a Prometheus rules file's content (one group). */
export function rulesFile(s: AlertSettings): { groups: { name: string; rules: AlertRule[] }[] } {
    return { groups: [{ name: "herd", rules: alertRules(s) }] };
}

/**
 * The rules file as YAML, for Prometheus's `rule_files` (and promtool). Written here rather than by the yaml package,
 * which the program does not load (tests/start-up.test.ts): every scalar is a JSON string, which YAML reads as the
 * same double-quoted string.
 */
export function rulesYaml(s: AlertSettings): string {
    const q = (v: string) => JSON.stringify(v);
    const lines = ['# herd alert rules (generated by components/alerts.ts; runbook: README "### Alerts").', "groups:"];
    for (const group of rulesFile(s).groups) {
        lines.push(`  - name: ${q(group.name)}`, "    rules:");
        for (const r of group.rules) {
            lines.push(`      - alert: ${q(r.alert)}`, `        expr: ${q(r.expr)}`, `        for: ${q(r.for)}`, "        labels:");
            lines.push(...Object.entries(r.labels).map(([k, v]) => `          ${k}: ${q(v)}`), "        annotations:");
            lines.push(...Object.entries(r.annotations).map(([k, v]) => `          ${k}: ${q(v)}`));
        }
    }
    return `${lines.join("\n")}\n`;
}

/** The file name of the rules in the ConfigMap. */
export const RULES_FILE_NAME = "herd-alerts.rules.yaml";

export interface HerdAlertsArgs extends Omit<AlertSettings, "namespace"> {
    readonly namespace: pulumi.Input<string>;
    /** true: a PrometheusRule for the Prometheus Operator; false: a ConfigMap holding the rules file. */
    readonly prometheusOperator: boolean;
}

/** The alert rules in the cluster: a PrometheusRule, or a ConfigMap `herd-alert-rules` with the plain file. */
export class HerdAlerts extends pulumi.ComponentResource {
    constructor(name: string, args: HerdAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:HerdAlerts", name, {}, opts);
        const settings = (namespace: string): AlertSettings => ({ ...args, namespace });
        // Validated now, with a placeholder namespace: a bad threshold fails the preview, not the apply.
        const problems = alertProblems(settings("herd"));
        if (problems.length > 0) {
            throw new pulumi.ResourceError(`HerdAlerts ${name}: ${problems.join("; ")}`, this);
        }
        const labels = recommendedLabels({ name: "herd-alerts", instance: name, component: "monitoring" });
        const metadata = { name, namespace: args.namespace, labels };
        if (args.prometheusOperator) {
            new CustomResource(
                name,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "PrometheusRule",
                    metadata,
                    spec: pulumi.output(args.namespace).apply((ns) => rulesFile(settings(ns))),
                },
                { parent: this },
            );
        } else {
            new k8s.core.v1.ConfigMap(
                name,
                { metadata, data: { [RULES_FILE_NAME]: pulumi.output(args.namespace).apply((ns) => rulesYaml(settings(ns))) } },
                { parent: this },
            );
        }
        this.registerOutputs({});
    }
}
