/**
 * herd: one program, every platform. Composition only:
 * config -> platform -> namespace -> images -> data tier -> app tier -> exports.
 *
 * The module exports a function, which Pulumi calls; the offline harness calls the same function under mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { API_PORT, ApiService, appImages, createAppNamespace, ElasticCluster, Frontend, PostgresStateful, RedisCache, selectorLabels } from "./components";
import { loadConfig } from "./config";
import { createPlatform } from "./platform";
import { HerdAlerts } from "./components/alerts";
import { ApiAuth } from "./components/api-auth";
import { InternalCa } from "./components/internal-ca";
import { siteServedOverHttps } from "./components/frontend";
import { imageMirrorTransform } from "./lib/image-mirror-transform";

/** The pods that may reach the data tier: the API's (ApiService "api": its server and its migration Job). */
const DATA_CLIENT_LABELS = selectorLabels({ name: "api", instance: "api" });
/** The pods that may reach the API: the front end's (Frontend "frontend"). */
const API_CLIENT_LABELS = selectorLabels({ name: "frontend", instance: "frontend" });

export = async () => {
    const cfg = loadConfig();
    // herd:imageRegistryMirror, registered before any resource: every pod template's images, whichever component adds
    // them, are pulled from the mirror (lib/image-mirror.ts's rule); those in the registry herd pushes its builds to
    // stay. The transform runs as each resource registers, so the platform exists by then.
    if (cfg.imageRegistryMirror !== undefined) {
        pulumi.runtime.registerResourceTransform(
            imageMirrorTransform(cfg.imageRegistryMirror, () => (platform.images.kind === "build" ? [platform.images.registry.server] : [])),
        );
    }
    const platform = createPlatform(cfg);
    const namespace = createAppNamespace(cfg.namespace, platform.provider, undefined, cfg.clusterDns);

    const data = cfg.data;
    const tier = { providers: [platform.provider] };
    const monitoring = cfg.monitoring;
    const metrics = { enabled: monitoring.enabled, prometheusOperator: monitoring.prometheusOperator, namespace: monitoring.namespace };
    // herd's CA for TLS inside the cluster: it signs PostgreSQL's, Redis's and Elasticsearch's server certificates,
    // and its ConfigMap (ca.crt) is what the API and every other client verify them against.
    const ca = new InternalCa("herd-ca", { namespace: namespace.metadata.name }, tier);
    const common = {
        ca,
        namespace: namespace.metadata.name,
        storageClassName: platform.storageClassName,
        clientLabels: DATA_CLIENT_LABELS,
        protect: data.protect,
        secretsProvider: platform.secretsProvider,
        waits: cfg.waits,
        metrics,
    };
    // Built (or taken prebuilt) first: the PostgreSQL server runs the herd PostgreSQL image (pgBackRest).
    const images = appImages(platform.images, { waits: cfg.waits });
    const archive = data.postgres.archive;
    const postgres = new PostgresStateful(
        "postgres",
        {
            ...common,
            image: images.postgres,
            storageSize: data.postgres.storageSize,
            memory: data.postgres.memory,
            cpu: data.postgres.cpu,
            maxConnections: data.postgres.maxConnections,
            backup: {
                schedule: data.backup.schedule,
                retentionDays: data.backup.retentionDays,
                volumeSize: data.backup.volumeSize,
                scratchSize: data.backup.scratchSize,
                store: platform.backupStore,
                identity: platform.workloadIdentity,
            },
            archive: {
                repository: platform.repository("pgbackrest"),
                archiveTimeoutSeconds: archive.timeoutSeconds,
                fullSchedule: archive.fullBackupSchedule,
                diffSchedule: archive.diffBackupSchedule,
                fullBackupsKept: archive.fullBackupsKept,
                volumeSize: archive.volumeSize,
            },
        },
        tier,
    );

    const redis = new RedisCache(
        "redis",
        {
            ...common,
            storageSize: data.redis.storageSize,
            memory: data.redis.memory,
            cpu: data.redis.cpu,
            evictionPolicy: data.redis.evictionPolicy,
            appendOnly: data.redis.appendOnly,
        },
        tier,
    );
    const snapshots = data.elastic.snapshots;
    if (snapshots?.unavailable !== undefined) {
        void pulumi.log.warn(snapshots.unavailable);
    }
    const elastic = new ElasticCluster(
        "elastic",
        {
            ...common,
            replicas: data.elastic.replicas,
            storageSize: data.elastic.storageSize,
            memory: data.elastic.memory,
            cpu: data.elastic.cpu,
            snapshots:
                snapshots === undefined || snapshots.unavailable !== undefined
                    ? undefined
                    : {
                          ...platform.repository("elasticsearch"),
                          intervalMinutes: snapshots.intervalMinutes,
                          retentionDays: snapshots.retentionDays,
                          minCount: snapshots.minCount,
                          maxCount: snapshots.maxCount,
                          volumeSize: snapshots.volumeSize,
                      },
        },
        tier,
    );

    // The admin login (a generated password) and the session secret; the cookie is Secure when the site is HTTPS.
    const auth = new ApiAuth(
        "api-auth",
        {
            namespace: namespace.metadata.name,
            username: cfg.app.auth.adminUsername,
            sessionHours: cfg.app.auth.sessionHours,
            readsRequireSignIn: cfg.app.auth.readsRequireSignIn,
            cookieSecure: siteServedOverHttps(platform.exposure, cfg.app.tls),
            secretsProvider: platform.secretsProvider,
        },
        tier,
    );
    const api = new ApiService(
        "api",
        {
            namespace: namespace.metadata.name,
            image: images.api,
            postgres,
            redis,
            elasticsearch: elastic,
            ca,
            clientLabels: API_CLIENT_LABELS,
            auth: auth.settings,
            replicas: cfg.app.api.replicas,
            maxReplicas: cfg.app.api.maxReplicas,
            cpuTargetPercent: cfg.app.api.cpuTargetPercent,
            cpu: cfg.app.api.cpu,
            memory: cfg.app.api.memory,
            waits: cfg.waits,
            metrics,
        },
        tier,
    );
    // The alert rules, with metrics on: a PrometheusRule for the Operator, or the rules file in a ConfigMap.
    if (monitoring.enabled) {
        new HerdAlerts(
            "herd-alerts",
            {
                namespace: namespace.metadata.name,
                prometheusOperator: monitoring.prometheusOperator,
                backups: postgres.backupCronJobs,
                api5xxPercent: monitoring.alerts.api5xxPercent,
                apiLatencyP95Ms: monitoring.alerts.apiLatencyP95Ms,
                runbookUrl: monitoring.alerts.runbookUrl,
            },
            tier,
        );
    }
    const frontend = new Frontend(
        "frontend",
        {
            namespace: namespace.metadata.name,
            image: images.frontend,
            apiUpstream: api.upstream,
            apiPodSelector: api.podSelector,
            apiPort: API_PORT,
            exposure: platform.exposure,
            hostname: cfg.app.publicHostname,
            tls: cfg.app.tls,
            hstsMaxAgeSeconds: cfg.app.hstsMaxAgeSeconds,
            apiRateLimitPerSecond: cfg.app.rateLimits.apiPerSecond,
            apiRateLimitBurst: cfg.app.rateLimits.apiBurst,
            loginRateLimitPerMinute: cfg.app.rateLimits.loginPerMinute,
            // Unset: the exposure's (the proxies the platform puts in front of nginx).
            trustedProxyCidrs: cfg.app.trustedProxyCidrs,
            replicas: cfg.app.frontend.replicas,
            waits: cfg.waits,
        },
        tier,
    );

    return {
        platform: platform.outputs,
        app: {
            url: frontend.url,
            apiInternalUrl: api.url,
            namespace: namespace.metadata.name,
            // Sign-in: the password only as a secret (`pulumi stack output --show-secrets app`).
            adminUsername: auth.username,
            adminPassword: pulumi.secret(auth.password),
            adminSecretName: auth.secretName,
        },
        images: { api: images.api, frontend: images.frontend, postgres: images.postgres },
        data: {
            postgres: {
                host: postgres.host,
                port: postgres.port,
                secretName: postgres.secretName,
                user: postgres.user,
                database: postgres.database,
                passwordKey: postgres.passwordKey,
                backupSchedule: data.backup.schedule,
                fullBackupSchedule: archive.fullBackupSchedule,
                diffBackupSchedule: archive.diffBackupSchedule,
            },
            redis: { host: redis.host, port: redis.port, secretName: redis.secretName, passwordKey: redis.passwordKey },
            elasticsearch: {
                url: elastic.url,
                host: elastic.host,
                port: elastic.port,
                scheme: elastic.scheme,
                username: elastic.username,
                secretName: elastic.secretName,
                passwordKey: elastic.passwordKey,
                adminSecretName: elastic.adminSecretName,
            },
        },
    };
};
