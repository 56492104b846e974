/**
 * Cross-field rules and the typed result: the rules every platform shares and the settings common to all, then the
 * platform's own (config/build-onprem.ts, build-aws.ts, build-gcp.ts).
 */
import { buildAws } from "./build-aws";
import { buildContext } from "./build-context";
import { buildGcp } from "./build-gcp";
import { buildOnprem } from "./build-onprem";
import { describeGiven, type ConfigProblem } from "./errors";
import { type KeyName, NO_TRUSTED_PROXY, type PlatformName, qualified, waitBudgets } from "./keys";
import type { CommonConfig, HerdConfig, RawConfig } from "./types";

/**
 * Cross-field rules and the typed result for one platform. `v` holds the values that passed validation (a list with
 * malformed entries: its valid ones); `unsettled` the keys whose value a problem already reported left unknown.
 */
export function build(
    platform: PlatformName,
    v: Partial<Record<KeyName, unknown>>,
    unsettled: ReadonlySet<KeyName>,
    raw: RawConfig,
    problems: ConfigProblem[],
): HerdConfig | undefined {
    const ctx = buildContext(v, unsettled, raw, problems);
    const { str, num, set, problem } = ctx;
    if (num("elasticReplicas") === 2) {
        problem("elasticReplicas", "expected 1 (a single node) or 3 or more: with 2 nodes, losing either one stops the cluster; got 2");
    }
    if (num("apiMaxReplicas") < num("apiReplicas")) {
        problem("apiMaxReplicas", `expected at least herd:apiReplicas (${num("apiReplicas")}), got ${num("apiMaxReplicas")}`, "apiReplicas");
    }
    const hostname = set("publicHostname");
    const tlsSecret = set("tlsSecretName");
    const issuer = set("tlsClusterIssuer");
    const certificateKey: KeyName = tlsSecret !== undefined ? "tlsSecretName" : "tlsClusterIssuer";
    if (tlsSecret !== undefined && issuer !== undefined) {
        problem("tlsClusterIssuer", "expected either herd:tlsSecretName or herd:tlsClusterIssuer, not both; got both", "tlsSecretName");
    }
    if (tlsSecret !== undefined || issuer !== undefined) {
        if (platform !== "onprem") {
            problem(
                certificateKey,
                `expected no certificate key on platform ${platform} (onprem only): on ${platform}, herd:publicHostname turns HTTPS on with a certificate the cloud manages${platform === "aws" ? " (set herd:awsHostedZoneId, or herd:awsCertificateArn for a certificate you have)" : ""}; got ${describeGiven(tlsSecret ?? issuer, false)}`,
            );
        } else if (set("ingressClass") === undefined) {
            problem(
                certificateKey,
                `a certificate needs an Ingress to terminate TLS: expected herd:ingressClass set as well, got ${describeGiven(tlsSecret ?? issuer, false)} without an ingress class`,
                "ingressClass",
            );
        }
    }
    // One problem for a missing host name, however many settings need it.
    const ingress = platform === "onprem" ? set("ingressClass") : undefined;
    const needHost: KeyName[] = [
        ...(ingress !== undefined ? (["ingressClass"] as const) : []),
        ...(tlsSecret !== undefined || issuer !== undefined ? [certificateKey] : []),
    ];
    if (hostname === undefined && needHost.length > 0) {
        problem(
            "publicHostname",
            `expected the host name ${ingress !== undefined ? "the Ingress serves" : "the certificate is for"} (required with ${needHost.map(qualified).join(" and ")}), got nothing`,
        );
    }
    if (v.elasticSnapshots !== false && num("elasticSnapshotMaxCount") < num("elasticSnapshotMinCount")) {
        problem(
            "elasticSnapshotMaxCount",
            `expected at least herd:elasticSnapshotMinCount (${num("elasticSnapshotMinCount")}), got ${num("elasticSnapshotMaxCount")}`,
            "elasticSnapshotMinCount",
        );
    }
    const common: CommonConfig = {
        stack: raw.stack,
        namespace: str("namespace"),
        app: {
            api: {
                replicas: num("apiReplicas"),
                maxReplicas: num("apiMaxReplicas"),
                cpuTargetPercent: num("apiCpuTargetPercent"),
                cpu: str("apiCpu"),
                memory: str("apiMemory"),
            },
            frontend: { replicas: num("frontendReplicas") },
            publicHostname: hostname,
            tls:
                tlsSecret !== undefined
                    ? { mode: "secret", secretName: tlsSecret }
                    : issuer !== undefined
                      ? { mode: "issuer", clusterIssuer: issuer }
                      : { mode: "none" },
            hstsMaxAgeSeconds: num("hstsMaxAgeSeconds"),
            auth: { adminUsername: str("adminUsername"), sessionHours: num("apiSessionHours"), readsRequireSignIn: v.apiReadsRequireSignIn === true },
            rateLimits: { apiPerSecond: num("apiRateLimitPerSecond"), apiBurst: num("apiRateLimitBurst"), loginPerMinute: num("loginRateLimitPerMinute") },
            trustedProxyCidrs: trustedProxies(v.trustedProxyCidrs as string[] | undefined),
        },
        waits: waitBudgets(num),
        imageRegistryMirror: set("imageRegistryMirror"),
        clusterDns: {
            namespace: str("dnsNamespace"),
            podLabels: Object.fromEntries(((v.dnsPodLabels as string[] | undefined) ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
            port: num("dnsPort"),
        },
        monitoring: {
            enabled: v.metrics !== false,
            prometheusOperator: v.prometheusOperator === true,
            namespace: str("monitoringNamespace"),
            alerts: { api5xxPercent: num("alertApi5xxPercent"), apiLatencyP95Ms: num("alertApiLatencyMs"), runbookUrl: str("alertRunbookUrl") },
        },
        data: {
            protect: v.protectData !== false,
            backup: {
                schedule: str("backupSchedule"),
                retentionDays: num("backupRetentionDays"),
                volumeSize: str("backupVolumeSize"),
                scratchSize: set("backupScratchSize"),
            },
            postgres: {
                storageSize: str("postgresStorageSize"),
                memory: str("postgresMemory"),
                cpu: str("postgresCpu"),
                maxConnections: num("postgresMaxConnections"),
                archive: {
                    timeoutSeconds: num("postgresArchiveTimeoutSeconds"),
                    fullBackupSchedule: str("postgresFullBackupSchedule"),
                    diffBackupSchedule: str("postgresDiffBackupSchedule"),
                    fullBackupsKept: num("postgresFullBackupsKept"),
                    volumeSize: str("postgresArchiveVolumeSize"),
                },
            },
            redis: {
                storageSize: str("redisStorageSize"),
                memory: str("redisMemory"),
                cpu: str("redisCpu"),
                evictionPolicy: str("redisEvictionPolicy"),
                appendOnly: v.redisAppendOnly !== false,
            },
            elastic: {
                replicas: num("elasticReplicas"),
                storageSize: str("elasticStorageSize"),
                memory: str("elasticMemory"),
                cpu: str("elasticCpu"),
                snapshots:
                    v.elasticSnapshots === false
                        ? undefined
                        : {
                              intervalMinutes: num("elasticSnapshotIntervalMinutes"),
                              retentionDays: num("elasticSnapshotRetentionDays"),
                              minCount: num("elasticSnapshotMinCount"),
                              maxCount: num("elasticSnapshotMaxCount"),
                              volumeSize: str("elasticSnapshotVolumeSize"),
                          },
            },
        },
    };

    switch (platform) {
        case "onprem":
            return buildOnprem(ctx, common);
        case "aws":
            return buildAws(ctx, common);
        case "gcp":
            return buildGcp(ctx, common);
    }
}

/** herd:trustedProxyCidrs as the app tier takes it: unset (empty) is the platform's choice; [none] is no proxy. */
function trustedProxies(list: readonly string[] | undefined): readonly string[] | undefined {
    if (list === undefined || list.length === 0) {
        return undefined;
    }
    return list.includes(NO_TRUSTED_PROXY) ? [] : list;
}
