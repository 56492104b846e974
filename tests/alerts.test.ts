/**
 * herd's alert rules (components/alerts.ts): each alert fires on synthetic series that mean trouble and stays quiet
 * on series that do not, checked by Prometheus's own `promtool test rules` over the rules file the component writes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse as parseYaml, stringify } from "yaml";
import { alertProblems, alertRules, AlertSettings, backupMaxAgeSeconds, RULES_FILE_NAME, rulesFile, rulesYaml } from "../components/alerts";
import { longestCronGapSeconds } from "../lib/cron";
import { tempDir } from "./helpers";

const hasPromtool = spawnSync("promtool", ["--version"], { encoding: "utf8" }).status === 0;
/** Skipped without promtool locally, failed without it in CI (a missing binary is never a silent skip). */
const PROMTOOL = { skip: !hasPromtool && process.env["CI"] !== "true" && "promtool is not installed (apt-get install prometheus)" } as const;

const SETTINGS: AlertSettings = {
    namespace: "herd",
    backups: [
        { name: "postgres-backup", schedule: "0 3 * * *" },
        { name: "postgres-pitr-full", schedule: "0 2 * * 0" },
    ],
    api5xxPercent: 5,
    apiLatencyP95Ms: 1000,
    runbookUrl: "https://example.test/herd/README.md",
};

interface Series {
    readonly series: string;
    readonly values: string;
}
interface Case {
    readonly name: string;
    readonly alert: string;
    readonly series: readonly Series[];
    readonly at: string;
    /** The labels of each expected alert (severity added); empty: the alert must not fire. */
    readonly expect: readonly Record<string, string>[];
    /** How `{{ $value ... }}` renders in the annotations of the expected alerts. */
    readonly value?: string;
}

const ns = 'namespace="herd"';
const failedJob = (cronjob: string): Series[] => [
    { series: `kube_job_status_failed{${ns},job_name="${cronjob}-29000000"}`, values: "1x30" },
    { series: `kube_job_owner{${ns},job_name="${cronjob}-29000000",owner_kind="CronJob",owner_name="${cronjob}",owner_is_controller="true"}`, values: "1x30" },
    { series: `kube_cronjob_status_last_schedule_time{${ns},cronjob="${cronjob}"}`, values: "1000x30" },
];
const pending = (metric: string, value: string): Series => ({ series: `${metric}{${ns},pod="x-0"}`, values: value });
/** Requests per minute on a route, as a counter. */
const requests = (route: string, status: string, perMinute: number): Series => ({
    series: `herd_api_requests_total{${ns},method="GET",route="${route}",status="${status}"}`,
    values: `0+${perMinute}x30`,
});
/** A histogram whose requests per minute fall into the given buckets (cumulative counts per le). */
const histogram = (route: string, perMinute: Record<string, number>): Series[] =>
    Object.entries(perMinute).map(([le, n]) => ({
        series: `herd_api_request_duration_seconds_bucket{${ns},method="GET",route="${route}",status="200",le="${le}"}`,
        values: `0+${n}x30`,
    }));

const CASES: Case[] = [
    {
        name: "a failed backup Job with no success since",
        alert: "HerdBackupFailed",
        series: [...failedJob("postgres-backup"), { series: `kube_cronjob_status_last_successful_time{${ns},cronjob="postgres-backup"}`, values: "500x30" }],
        at: "5m",
        expect: [{ namespace: "herd", cronjob: "postgres-backup", owner_name: "postgres-backup" }],
    },
    {
        name: "a failed first run (no success ever)",
        alert: "HerdBackupFailed",
        series: failedJob("postgres-pitr-full"),
        at: "5m",
        expect: [{ namespace: "herd", cronjob: "postgres-pitr-full", owner_name: "postgres-pitr-full" }],
    },
    {
        name: "a failed Job kept in history after a later success",
        alert: "HerdBackupFailed",
        series: [...failedJob("postgres-backup"), { series: `kube_cronjob_status_last_successful_time{${ns},cronjob="postgres-backup"}`, values: "2000x30" }],
        at: "5m",
        expect: [],
    },
    {
        name: "a failed Job of a CronJob that is not a backup",
        alert: "HerdBackupFailed",
        series: failedJob("postgres-restore"),
        at: "5m",
        expect: [],
    },
    {
        name: "a nightly backup whose last success is 37 hours old",
        alert: "HerdBackupTooOld",
        series: [{ series: `kube_cronjob_status_last_successful_time{${ns},cronjob="postgres-backup"}`, values: "0x2300" }],
        at: "37h",
        expect: [{ namespace: "herd", cronjob: "postgres-backup" }],
    },
    {
        name: "a nightly backup whose last success is 35 hours old (one run missed, within 1.5 days)",
        alert: "HerdBackupTooOld",
        series: [{ series: `kube_cronjob_status_last_successful_time{${ns},cronjob="postgres-backup"}`, values: "0x2200" }],
        at: "35h",
        expect: [],
    },
    {
        name: "a weekly backup whose last success is 8 days old",
        alert: "HerdBackupTooOld",
        series: [{ series: `kube_cronjob_status_last_successful_time{${ns},cronjob="postgres-pitr-full"}`, values: "0+0x200" }],
        // Series at a 1h interval (interval below), so 8 days are 192 samples.
        at: "192h",
        expect: [],
    },
    {
        name: "a backup CronJob created 37 hours ago that never succeeded",
        alert: "HerdBackupTooOld",
        series: [{ series: `kube_cronjob_created{${ns},cronjob="postgres-backup"}`, values: "0x2300" }],
        at: "37h",
        expect: [{ namespace: "herd", cronjob: "postgres-backup" }],
    },
    {
        name: "WAL archiving failing every minute",
        alert: "HerdWalArchivingFailing",
        series: [pending("pg_stat_archiver_failed_count", "0+1x40")],
        at: "30m",
        expect: [{ namespace: "herd", pod: "x-0" }],
    },
    {
        name: "one archiving failure, then success",
        alert: "HerdWalArchivingFailing",
        series: [pending("pg_stat_archiver_failed_count", "0x10 1x30")],
        at: "21m",
        expect: [],
    },
    {
        name: "a volume 85% full",
        alert: "HerdVolumeFilling",
        series: [
            { series: `kubelet_volume_stats_used_bytes{${ns},persistentvolumeclaim="data-postgres-0"}`, values: "85x20" },
            { series: `kubelet_volume_stats_capacity_bytes{${ns},persistentvolumeclaim="data-postgres-0"}`, values: "100x20" },
        ],
        at: "10m",
        expect: [{ namespace: "herd", persistentvolumeclaim: "data-postgres-0" }],
        value: "85%",
    },
    {
        name: "a volume 75% full",
        alert: "HerdVolumeFilling",
        series: [
            { series: `kubelet_volume_stats_used_bytes{${ns},persistentvolumeclaim="data-postgres-0"}`, values: "75x20" },
            { series: `kubelet_volume_stats_capacity_bytes{${ns},persistentvolumeclaim="data-postgres-0"}`, values: "100x20" },
        ],
        at: "10m",
        expect: [],
    },
    { name: "PostgreSQL unreachable", alert: "HerdPostgresDown", series: [pending("pg_up", "0x10")], at: "5m", expect: [{ namespace: "herd", pod: "x-0" }] },
    { name: "PostgreSQL up", alert: "HerdPostgresDown", series: [pending("pg_up", "1x10")], at: "5m", expect: [] },
    {
        name: "no PostgreSQL exporter reporting in herd's namespace",
        alert: "HerdPostgresDown",
        series: [{ series: 'pg_up{namespace="other",pod="x-0"}', values: "1x10" }],
        at: "5m",
        expect: [{ namespace: "herd" }],
    },
    { name: "Redis unreachable", alert: "HerdRedisDown", series: [pending("redis_up", "0x10")], at: "5m", expect: [{ namespace: "herd", pod: "x-0" }] },
    { name: "Redis up", alert: "HerdRedisDown", series: [pending("redis_up", "1x10")], at: "5m", expect: [] },
    {
        name: "Elasticsearch red",
        alert: "HerdElasticsearchRed",
        series: [
            { series: `elasticsearch_cluster_health_status{${ns},pod="elastic-0",cluster="elastic",color="red"}`, values: "1x10" },
            { series: `elasticsearch_cluster_health_status{${ns},pod="elastic-0",cluster="elastic",color="green"}`, values: "0x10" },
        ],
        at: "10m",
        expect: [{ namespace: "herd", cluster: "elastic" }],
    },
    {
        name: "Elasticsearch yellow",
        alert: "HerdElasticsearchRed",
        series: [
            { series: `elasticsearch_cluster_health_status{${ns},pod="elastic-0",cluster="elastic",color="red"}`, values: "0x10" },
            { series: `elasticsearch_cluster_health_status{${ns},pod="elastic-0",cluster="elastic",color="yellow"}`, values: "1x10" },
        ],
        at: "10m",
        expect: [],
    },
    {
        name: "10% of the API's requests answered 500",
        alert: "HerdApiErrors",
        series: [requests("/api/items", "200", 90), requests("/api/items", "500", 10)],
        at: "25m",
        expect: [{ namespace: "herd" }],
        value: "10.0",
    },
    {
        name: "2% of the API's requests answered 500",
        alert: "HerdApiErrors",
        series: [requests("/api/items", "200", 98), requests("/api/items", "500", 2)],
        at: "25m",
        expect: [],
    },
    {
        name: "readiness probes answered 503 (a dependency down), requests fine",
        alert: "HerdApiErrors",
        series: [requests("/api/items", "200", 100), requests("/readyz", "503", 100), requests("/api/readyz", "503", 100)],
        at: "25m",
        expect: [],
    },
    {
        name: "the API's p95 over 2 s",
        alert: "HerdApiSlow",
        series: histogram("/api/items", { "0.5": 2, "1": 5, "2.5": 100, "+Inf": 100 }),
        at: "25m",
        expect: [{ namespace: "herd" }],
        // Linear within the (1, 2.5] bucket: 1 + (95 - 5) / 95 * 1.5 seconds.
        value: "2421",
    },
    {
        name: "the API's requests all under 0.5 s",
        alert: "HerdApiSlow",
        series: histogram("/api/items", { "0.5": 100, "1": 100, "2.5": 100, "+Inf": 100 }),
        at: "25m",
        expect: [],
    },
    {
        name: "only the probes slow",
        alert: "HerdApiSlow",
        series: [...histogram("/api/items", { "0.5": 100, "1": 100, "2.5": 100, "+Inf": 100 }), ...histogram("/readyz", { "0.5": 0, "1": 0, "2.5": 100, "+Inf": 100 })],
        at: "25m",
        expect: [],
    },
];

function severityOf(alert: string): string {
    const rule = alertRules(SETTINGS).find((r) => r.alert === alert);
    assert.ok(rule !== undefined, `no rule ${alert}`);
    return rule.labels.severity;
}

/** The annotations an alert of `c` carries: the rule's templates with its labels and value filled in. */
function annotationsOf(c: Case, labels: Record<string, string>, settings: AlertSettings): Record<string, string> {
    const rule = alertRules(settings).find((r) => r.alert === c.alert);
    assert.ok(rule !== undefined);
    const render = (t: string) =>
        t.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? "").replace(/\{\{ \$value[^}]*\}\}/g, () => {
            assert.ok(c.value !== undefined, `${c.name}: the annotations show the value; the case must say how it renders`);
            return c.value;
        });
    return Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, render(v)]));
}

function promtoolTests(cases: readonly Case[], settings: AlertSettings = SETTINGS): string {
    return stringify(
        {
            rule_files: [RULES_FILE_NAME],
            evaluation_interval: "1m",
            tests: cases.map((c) => ({
                // The weekly case needs days of samples: one an hour is enough for its expression (no rate()).
                interval: c.at.endsWith("h") && Number.parseInt(c.at, 10) > 100 ? "1h" : "1m",
                input_series: c.series,
                alert_rule_test: [{ eval_time: c.at, alertname: c.alert, exp_alerts: c.expect.map((labels) => ({ exp_labels: { ...labels, severity: severityOf(c.alert) }, exp_annotations: annotationsOf(c, labels, settings) })) }],
            })),
        },
        { lineWidth: 0 },
    );
}

function promtool(dir: string, ...args: string[]): { status: number | null; output: string } {
    const r = spawnSync("promtool", args, { cwd: dir, encoding: "utf8", timeout: 120_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("alert rules under promtool", () => {
    it("promtool is installed (CI=true: a missing promtool fails)", { skip: !hasPromtool && process.env["CI"] !== "true" ? "promtool is not installed (not CI)" : false }, () => {
        assert.ok(hasPromtool, "promtool is not installed (apt-get install prometheus; scripts/system-packages.sh install)");
    });

    it("the rules file passes `promtool check rules`", PROMTOOL, () => {
        const dir = tempDir("herd-alerts-");
        fs.writeFileSync(path.join(dir, RULES_FILE_NAME), rulesYaml(SETTINGS));
        const r = promtool(dir, "check", "rules", RULES_FILE_NAME);
        assert.equal(r.status, 0, r.output);
    });

    it("every alert is tested both firing and quiet", () => {
        const alerts = new Set(alertRules(SETTINGS).map((r) => r.alert));
        for (const alert of alerts) {
            assert.ok(
                CASES.some((c) => c.alert === alert && c.expect.length > 0),
                `${alert}: no case where it fires`,
            );
            assert.ok(
                CASES.some((c) => c.alert === alert && c.expect.length === 0),
                `${alert}: no case where it stays quiet`,
            );
        }
    });

    // One promtool run for every case (each is its own test group: its own series, its own clock); a failure names
    // the alert and the evaluation time, and the cases are listed by name below.
    it(`every case: ${CASES.map((c) => `${c.alert} ${c.expect.length > 0 ? "fires" : "stays quiet"} (${c.name})`).join("; ")}`, PROMTOOL, () => {
        const dir = tempDir("herd-alerts-");
        fs.writeFileSync(path.join(dir, RULES_FILE_NAME), rulesYaml(SETTINGS));
        fs.writeFileSync(path.join(dir, "tests.yaml"), promtoolTests(CASES));
        const r = promtool(dir, "test", "rules", "tests.yaml");
        assert.equal(r.status, 0, r.output);
        assert.match(r.output, /SUCCESS/);
    });

    it("a threshold from the settings is the one the rule compares against", PROMTOOL, () => {
        const dir = tempDir("herd-alerts-");
        fs.writeFileSync(path.join(dir, RULES_FILE_NAME), rulesYaml({ ...SETTINGS, api5xxPercent: 1 }));
        const twoPercent = CASES.find((c) => c.name === "2% of the API's requests answered 500");
        assert.ok(twoPercent !== undefined);
        const settings = { ...SETTINGS, api5xxPercent: 1 };
        fs.writeFileSync(path.join(dir, "tests.yaml"), promtoolTests([{ ...twoPercent, expect: [{ namespace: "herd" }], value: "2.0" }], settings));
        const r = promtool(dir, "test", "rules", "tests.yaml");
        assert.equal(r.status, 0, r.output);
    });
});

describe("alert rules: definition", () => {
    it("every alert has a summary, a description, a severity and a runbook link to its README entry", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
        for (const r of alertRules(SETTINGS)) {
            assert.ok(r.annotations.summary.length > 0 && r.annotations.description.length > 0, r.alert);
            assert.ok(["critical", "warning"].includes(r.labels.severity), r.alert);
            assert.equal(r.annotations.runbook_url, `https://example.test/herd/README.md#${r.alert.toLowerCase()}`);
            assert.match(readme, new RegExp(`^#### ${r.alert}$`, "m"), `README has no "#### ${r.alert}" runbook entry`);
        }
    });

    it("every rule is scoped to herd's namespace", () => {
        for (const r of alertRules({ ...SETTINGS, namespace: "shop" })) {
            assert.match(r.expr, /namespace="shop"/, r.alert);
            assert.doesNotMatch(r.expr, /namespace="herd"/, r.alert);
        }
    });

    it("a backup may be 1.5 times its schedule's longest gap old", () => {
        assert.equal(longestCronGapSeconds("0 3 * * *"), 86400);
        assert.equal(longestCronGapSeconds("@weekly"), 7 * 86400);
        assert.equal(longestCronGapSeconds("0 2 * * 0"), 7 * 86400);
        assert.equal(longestCronGapSeconds("0 */6 * * *"), 6 * 3600);
        // Two runs a week, Monday and Friday: the longest gap is Friday to Monday.
        assert.equal(longestCronGapSeconds("0 1 * * 1,5"), 4 * 86400);
        // Monthly on the 31st skips the short months; 29 February runs once in four years.
        assert.equal(longestCronGapSeconds("0 0 31 * *"), 61 * 86400); // 31 August to 31 October
        assert.equal(longestCronGapSeconds("0 2 29 2 *"), 1461 * 86400);
        assert.equal(backupMaxAgeSeconds("0 3 * * *"), 36 * 3600);
    });

    it("rejects bad thresholds and schedules, naming the field and what was given", () => {
        assert.deepEqual(alertProblems({ ...SETTINGS, api5xxPercent: 0, apiLatencyP95Ms: 0.5, backups: [{ name: "b", schedule: "daily" }] }), [
            "api5xxPercent: expected a percentage above 0 and at most 100, got 0",
            "apiLatencyP95Ms: expected a whole number of milliseconds of at least 1, got 0.5",
            'backups.b.schedule: expected a cron schedule of 5 fields (minute hour day-of-month month day-of-week) such as "0 3 * * *", got 1 field',
        ]);
        assert.throws(() => alertRules({ ...SETTINGS, api5xxPercent: 120 }), /api5xxPercent: expected a percentage above 0 and at most 100, got 120/);
    });
});

describe("alert rules: the rules file", () => {
    it("reads back (as YAML) as exactly the rules the PrometheusRule carries", () => {
        assert.deepEqual(parseYaml(rulesYaml(SETTINGS)), rulesFile(SETTINGS));
        // Quotes, backslashes and newlines survive.
        const tricky = { ...SETTINGS, runbookUrl: 'https://x.test/a"b\\c\n' };
        assert.deepEqual(parseYaml(rulesYaml(tricky)), rulesFile(tricky));
    });
});
