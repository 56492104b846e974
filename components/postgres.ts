/**
 * PostgresStateful: one PostgreSQL primary in a StatefulSet that keeps its data through replacements, restarts and
 * `pulumi destroy`, with settings derived from its memory, a restricted pod, probes that ask the server itself, a
 * fast clean shutdown, and nightly pg_dump backups to the platform's object store (or a backup volume).
 *
 * Its arguments, defaults, validation and server settings are in postgres-settings.ts, the backup CronJob in
 * postgres-backup.ts; this module exports all of them.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { selectorLabels } from "../lib/labels";
import { waitOptions } from "../lib/waits";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import { credentials, dataScope, DataEndpoint, disruptionBudget, safeStatefulSetFields, serviceHost, services } from "./data-tier";
import { networkPolicy, podsWith } from "./network-policy";
import { throwIfProblems } from "./validation";
import { postgresDefaults, postgresProblems, postgresSettings, PostgresStatefulArgs, POSTGRES_PORT as PORT, POSTGRES_UID } from "./postgres-settings";
import { createBackup } from "./postgres-backup";

export * from "./postgres-settings";
export { backupPrefix, dumpScript, pruneScript, uniqueEnv } from "./postgres-backup";

export class PostgresStateful extends pulumi.ComponentResource implements DataEndpoint {
    readonly host: pulumi.Output<string>;
    readonly port = PORT;
    readonly secretName: pulumi.Output<string>;
    readonly passwordKey = "password";
    readonly user: string;
    readonly database: string;
    /** Name of the StatefulSet (fixed: `<name>`). */
    readonly statefulSetName: pulumi.Output<string>;
    readonly podSelector: Readonly<Record<string, string>>;

    constructor(name: string, args: PostgresStatefulArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:PostgresStateful", name, {}, opts);
        const r = postgresDefaults(args);
        throwIfProblems("PostgresStateful", name, postgresProblems(r, args.backup), this);

        const scope = dataScope(this, name, { name: "postgres", component: "database" }, args, r.protect);
        const { labels, selector } = scope;
        this.podSelector = selector;

        const { secret } = credentials(scope, { username: r.user, database: r.database }, this.passwordKey);
        services(scope, [{ name: "postgres", port: PORT }]);
        const env: k8s.types.input.core.v1.EnvVar[] = [
            { name: "POSTGRES_USER", value: r.user },
            { name: "POSTGRES_DB", value: r.database },
            { name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: this.passwordKey } } },
            // A subdirectory: the volume's root may hold lost+found, which initdb refuses.
            { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
            { name: "PGUSER", value: r.user },
            { name: "PGDATABASE", value: r.database },
        ];
        const settings = postgresSettings(r.memory, r.maxConnections);
        const socket = ["-h", "/var/run/postgresql"];
        const isReady = ["pg_isready", "-h", "127.0.0.1", "-p", String(PORT)];

        const statefulSet = new k8s.apps.v1.StatefulSet(
            name,
            {
                metadata: { name, namespace: args.namespace, labels },
                spec: {
                    ...safeStatefulSetFields(scope, args.storageClassName, r.storageSize),
                    replicas: 1,
                    podManagementPolicy: "OrderedReady",
                    updateStrategy: { type: "RollingUpdate" },
                    template: {
                        metadata: { labels: { ...labels } },
                        spec: {
                            securityContext: restrictedPodSecurityContext(POSTGRES_UID),
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            // preStop asks for a fast shutdown (the default SIGTERM means "smart": wait for every
                            // client to leave); the grace period covers the checkpoint that follows.
                            terminationGracePeriodSeconds: 120,
                            containers: [
                                {
                                    name: "postgres",
                                    image: r.image,
                                    args: Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
                                    env,
                                    ports: [{ name: "postgres", containerPort: PORT, protocol: "TCP" }],
                                    resources: resourceRequirements({ cpu: r.cpu, memory: r.memory }),
                                    securityContext: restrictedContainerSecurityContext(),
                                    volumeMounts: [
                                        { name: "data", mountPath: "/var/lib/postgresql/data" },
                                        { name: "run", mountPath: "/var/run/postgresql" },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                    // Up to 10 minutes to start: first initdb, or crash recovery of a large database.
                                    // On TCP, not the socket: during initdb the image runs a socket-only temporary server.
                                    startupProbe: { exec: { command: isReady }, periodSeconds: 5, failureThreshold: 120, timeoutSeconds: 5 },
                                    // Ready when it accepts connections on the network, as clients reach it.
                                    readinessProbe: {
                                        exec: { command: isReady },
                                        periodSeconds: 10,
                                        timeoutSeconds: 5,
                                        failureThreshold: 3,
                                    },
                                    // Alive when it answers a query (a hung server still accepts TCP).
                                    livenessProbe: {
                                        exec: { command: ["psql", ...socket, "-tAc", "SELECT 1"] },
                                        periodSeconds: 15,
                                        timeoutSeconds: 10,
                                        failureThreshold: 6,
                                    },
                                    lifecycle: {
                                        preStop: { exec: { command: ["/bin/sh", "-c", 'pg_ctl stop -D "$PGDATA" -m fast -w -t 100 || true'] } },
                                    },
                                },
                            ],
                            volumes: [scratchVolume("run", "16Mi"), scratchVolume("tmp", "256Mi")],
                        },
                    },
                },
            },
            { parent: this, protect: r.protect, ...waitOptions("dataServer", scope.waits) },
        );

        disruptionBudget(scope);
        const backupLabels = { ...selectorLabels({ name: "postgres-backup", instance: name }) };
        networkPolicy(
            scope,
            name,
            selector,
            [{ from: [podsWith(args.clientLabels), podsWith(backupLabels)], ports: [{ protocol: "TCP", port: PORT }] }],
            // The server needs no network of its own; it only answers.
            [],
        );

        if (args.backup !== undefined) {
            createBackup(scope, r, args, args.backup, secret, backupLabels, this.passwordKey);
        }

        this.host = serviceHost(scope);
        this.secretName = secret.metadata.name;
        this.user = r.user;
        this.database = r.database;
        this.statefulSetName = statefulSet.metadata.name;
        this.registerOutputs({ host: this.host, port: this.port, secretName: this.secretName, user: this.user, database: this.database });
    }
}
