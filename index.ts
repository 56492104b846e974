/**
 * herd: one program, every platform. Composition only:
 * config -> platform -> namespace -> data tier -> images -> app tier -> exports.
 *
 * The module exports a function, which Pulumi calls; the offline harness calls the same function under mocks.
 */
import { createAppNamespace, ElasticCluster, PostgresStateful, RedisCache, selectorLabels } from "./components";
import { loadConfig } from "./config";
import { createPlatform } from "./platform";

/** The pods that may reach the data tier: the API's (ApiService "api": its server and its migration Job). */
const DATA_CLIENT_LABELS = selectorLabels({ name: "api", instance: "api" });

export = async () => {
    const cfg = loadConfig();
    const platform = createPlatform(cfg);
    const namespace = createAppNamespace(cfg.namespace, platform.provider);

    const data = cfg.data;
    const tier = { providers: [platform.provider] };
    const common = {
        namespace: namespace.metadata.name,
        storageClassName: platform.storageClassName,
        clientLabels: DATA_CLIENT_LABELS,
        protect: data.protect,
        secretsProvider: platform.secretsProvider,
    };
    const postgres = new PostgresStateful(
        "postgres",
        {
            ...common,
            storageSize: data.postgres.storageSize,
            memory: data.postgres.memory,
            cpu: data.postgres.cpu,
            maxConnections: data.postgres.maxConnections,
            backup: {
                schedule: data.backup.schedule,
                retentionDays: data.backup.retentionDays,
                volumeSize: data.backup.volumeSize,
                store: platform.backupStore,
                identity: platform.workloadIdentity,
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
    const elastic = new ElasticCluster(
        "elastic",
        {
            ...common,
            replicas: data.elastic.replicas,
            storageSize: data.elastic.storageSize,
            memory: data.elastic.memory,
            cpu: data.elastic.cpu,
        },
        tier,
    );

    return {
        platform: platform.outputs,
        app: {
            namespace: namespace.metadata.name,
        },
        data: {
            postgres: {
                host: postgres.host,
                port: postgres.port,
                secretName: postgres.secretName,
                user: postgres.user,
                database: postgres.database,
                passwordKey: postgres.passwordKey,
                backupSchedule: data.backup.schedule,
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
            },
        },
    };
};
