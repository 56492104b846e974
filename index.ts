/**
 * herd: one program, every platform. Composition only:
 * config -> platform -> namespace -> data tier -> (images -> app tier) -> exports.
 *
 * The module exports a function, which Pulumi calls; the offline harness calls the same function under mocks.
 */
import { createAppNamespace, PostgresStateful, selectorLabels } from "./components";
import { loadConfig } from "./config";
import { createPlatform } from "./platform";

/** The pods that may reach the data tier: the API's (ApiService "api" carries these selector labels). */
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
                backupSchedule: data.backup.schedule,
            },
        },
    };
};
