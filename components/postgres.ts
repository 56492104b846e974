/**
 * PostgresStateful: one PostgreSQL primary in a StatefulSet that keeps its data through replacements, restarts and
 * `pulumi destroy`, with settings derived from its memory, a restricted pod, probes that ask the server itself, a
 * fast clean shutdown, least-privilege roles kept in step by a sidecar, nightly pg_dump backups to the
 * platform's object store (or a backup volume), and, with `archive`, continuous WAL archiving and point-in-time
 * recovery with pgBackRest (postgres-pitr.ts).
 *
 * Logins: the API gets the app role (the endpoint's `user` and `secretName`), the migration the owner role
 * (`owner`), the backup job the backup role; the image's superuser only signs in over the pod's Unix socket. Each
 * role's password is generated and kept in its own Secret.
 *
 * Its arguments, defaults, validation and server settings are in postgres-settings.ts, the roles' SQL and the
 * sidecar's loop in postgres-roles.ts, the backup CronJob in postgres-backup.ts; this module exports all of them.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import { selectorLabels } from "../lib/labels";
import { waitOptions } from "../lib/waits";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import { credentials, dataScope, DataEndpoint, disruptionBudget, safeStatefulSetFields, serviceHost, services } from "./data-tier";
import { networkPolicy, podsWith } from "./network-policy";
import { throwIfProblems } from "./validation";
import {
    postgresDefaults,
    postgresHbaConf,
    postgresProblems,
    postgresSettings,
    PostgresStatefulArgs,
    postgresTlsSettings,
    POSTGRES_HBA_DIR,
    POSTGRES_PORT as PORT,
    POSTGRES_TLS_DIR,
    POSTGRES_UID,
} from "./postgres-settings";
import { CA_FILE, CA_MOUNT_PATH, InternalCa, serverCertificate, statefulServerDnsNames, TLS_CHECKSUM_ANNOTATION } from "./internal-ca";
import { createBackup } from "./postgres-backup";
import { RolePasswordFiles, rolesDriftSql, rolesSql, rolesSyncScript } from "./postgres-roles";
import { archiveSettings } from "./postgres-archive";
import { ArchivePod, createArchive, createPitrJobs, PGDATA } from "./postgres-pitr";
import { exporterContainer, metricsDefaults, metricsIngress, metricsProblems, MetricsOptions, podMonitor, POSTGRES_EXPORTER_IMAGE, POSTGRES_EXPORTER_PORT, scrapeAnnotations } from "./metrics";
import { POSTGRES_MONITOR_USER } from "./postgres-roles";
import { problem } from "./validation";
import { createHash } from "node:crypto";

export * from "./postgres-settings";
export * from "./postgres-roles";
export { backupPrefix, dumpScript, pruneScript, uniqueEnv } from "./postgres-backup";
export * from "./postgres-archive";
export * from "./postgres-pitr";

/** Where the roles sidecar finds the SQL (a ConfigMap), the role passwords (their Secrets), and its ready file. */
const ROLES_SQL_DIR = "/etc/herd/postgres-roles";
const ROLE_PASSWORDS_DIR = "/etc/herd/postgres-role-passwords";
const ROLE_PASSWORD_FILES: RolePasswordFiles = { owner: `${ROLE_PASSWORDS_DIR}/owner`, app: `${ROLE_PASSWORDS_DIR}/app`, backup: `${ROLE_PASSWORDS_DIR}/backup` };
const MONITOR_PASSWORD_FILE = `${ROLE_PASSWORDS_DIR}/monitor`;

/** PostgresStateful's arguments: the settings' (postgres-settings.ts) and how its metrics are exposed. */
export interface PostgresArgs extends PostgresStatefulArgs {
    /**
     * herd's internal CA (index.ts's one per stack): it signs the server's certificate (Secret `<name>-tls`), and its
     * ConfigMap is what every TCP client (the API, its migration, the backup job, the exporter) verifies against.
     */
    readonly ca: InternalCa;
    /** The exporter sidecar (the `herd_monitor` role, pg_monitor only) and how Prometheus finds it. @default config keys `metrics`, `prometheusOperator`, `monitoringNamespace` */
    readonly metrics?: MetricsOptions;
}
const ROLES_READY_FILE = "/tmp/roles-in-step";
/** Seconds between the sidecar's checks once the roles are in step (a read-only query; see rolesDriftSql). */
export const ROLES_SYNC_INTERVAL_SECONDS = 30;

export class PostgresStateful extends pulumi.ComponentResource implements DataEndpoint {
    readonly host: pulumi.Output<string>;
    readonly port = PORT;
    /** The app role's Secret: what the API logs in with. */
    readonly secretName: pulumi.Output<string>;
    readonly passwordKey = "password";
    /** The app role: rows only. */
    readonly user: string;
    readonly database: string;
    /** The owner role's login (ApiService's DatabaseLogin): for the schema migration, never for the API. */
    readonly owner: { readonly user: string; readonly secretName: pulumi.Output<string>; readonly passwordKey: string };
    /** Name of the StatefulSet (fixed: `<name>`). */
    readonly statefulSetName: pulumi.Output<string>;
    readonly podSelector: Readonly<Record<string, string>>;
    /** The CA file clients verify the server with (sslmode=verify-full), where they mount the internal CA. */
    readonly caFile = CA_FILE;
    /** The CronJobs that take backups, with their schedules: what the backup alerts watch (alerts.ts). */
    readonly backupCronJobs: readonly { readonly name: string; readonly schedule: string }[];

    constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:PostgresStateful", name, {}, opts);
        const r = postgresDefaults(args);
        const metrics = metricsDefaults(args.metrics);
        throwIfProblems("PostgresStateful", name, [...postgresProblems(r, args.backup), ...metricsProblems(metrics).map((p) => problem(p.field, p.message))], this);

        const scope = dataScope(this, name, { name: "postgres", component: "database" }, args, r.protect);
        const { labels, selector } = scope;
        this.podSelector = selector;

        // The superuser's password: initdb needs it; no workload logs in with it over the network.
        const { secret } = credentials(scope, { username: r.superuser, database: r.database }, this.passwordKey);
        const login = (role: keyof RolePasswordFiles, user: string) => ({
            user,
            secret: credentials(scope, { username: user, database: r.database }, this.passwordKey, role).secret,
        });
        const logins = { owner: login("owner", r.ownerUser), app: login("app", r.user), backup: login("backup", r.backupUser) };
        // The exporter's login: pg_monitor only (statistics and settings, no table's rows).
        const monitorSecret = metrics.enabled ? credentials(scope, { username: POSTGRES_MONITOR_USER, database: r.database }, this.passwordKey, "monitor").secret : undefined;
        services(scope, [{ name: "postgres", port: PORT }]);
        const env: k8s.types.input.core.v1.EnvVar[] = [
            { name: "POSTGRES_USER", value: r.superuser },
            { name: "POSTGRES_DB", value: r.database },
            { name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: this.passwordKey } } },
            // A subdirectory: the volume's root may hold lost+found, which initdb refuses.
            { name: "PGDATA", value: PGDATA },
            // For the probes, the preStop hook and the restore script: the superuser over the Unix socket.
            { name: "PGUSER", value: r.superuser },
            { name: "PGDATABASE", value: r.database },
        ];
        // The roles' SQL in a ConfigMap, not in the pod template: changing it re-applies without restarting the server.
        const roleNames = { database: r.database, owner: r.ownerUser, app: r.user, backup: r.backupUser, ...(metrics.enabled ? { monitor: POSTGRES_MONITOR_USER } : {}) };
        const passwordFiles = { ...ROLE_PASSWORD_FILES, ...(metrics.enabled ? { monitor: MONITOR_PASSWORD_FILE } : {}) };
        const rolesConfig = new k8s.core.v1.ConfigMap(
            `${name}-roles`,
            {
                metadata: { name: `${name}-roles`, namespace: args.namespace, labels },
                data: { "apply.sql": rolesSql(roleNames, passwordFiles), "drift.sql": rolesDriftSql(roleNames) },
            },
            { parent: this },
        );
        // Continuous archiving into pgBackRest's repository (postgres-pitr.ts), when configured.
        const archive: ArchivePod | undefined = r.archive === undefined ? undefined : createArchive(scope, r.archive);
        // TLS for every TCP client (ssl=on, herd's pg_hba.conf: hostssl only), with a certificate from the internal CA
        // for every name the server is reached by. A renewed certificate (earlyRenewalHours) changes the checksum on
        // the pod template, which rolls the pod onto the new files; so does a new pg_hba.conf.
        const tls = serverCertificate(scope, args.ca, `${name}-tls`, statefulServerDnsNames(name, args.namespace));
        const hbaConf = postgresHbaConf();
        const hba = new k8s.core.v1.ConfigMap(
            `${name}-hba`,
            { metadata: { name: `${name}-hba`, namespace: args.namespace, labels }, data: { "pg_hba.conf": hbaConf } },
            { parent: this },
        );
        const settings = {
            ...postgresSettings(r.memory, r.maxConnections),
            ...postgresTlsSettings(),
            ...(r.archive === undefined ? {} : archiveSettings(r.archive.archiveTimeoutSeconds)),
        };
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
                        metadata: {
                            labels: { ...labels },
                            annotations: {
                                // A change of the repository's settings (read at start) restarts the server.
                                ...(archive === undefined ? {} : { "herd.dev/pgbackrest-config": archive.configHash }),
                                // A renewed certificate or a new pg_hba.conf restarts it too (both read at start).
                                [TLS_CHECKSUM_ANNOTATION]: tls.certificateChecksum,
                                "herd.dev/pg-hba": createHash("sha256").update(hbaConf).digest("hex"),
                                ...scrapeAnnotations(metrics, POSTGRES_EXPORTER_PORT),
                            },
                        },
                        spec: {
                            securityContext: restrictedPodSecurityContext(POSTGRES_UID),
                            ...(archive === undefined ? {} : { serviceAccountName: archive.serviceAccountName }),
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
                                    env: archive === undefined ? env : [...env, ...archive.env],
                                    ...(archive === undefined ? {} : { envFrom: archive.envFrom }),
                                    ports: [{ name: "postgres", containerPort: PORT, protocol: "TCP" }],
                                    resources: resourceRequirements({ cpu: r.cpu, memory: r.memory }),
                                    securityContext: restrictedContainerSecurityContext(),
                                    volumeMounts: [
                                        { name: "data", mountPath: "/var/lib/postgresql/data" },
                                        { name: "run", mountPath: "/var/run/postgresql" },
                                        { name: "tmp", mountPath: "/tmp" },
                                        { name: "tls", mountPath: POSTGRES_TLS_DIR, readOnly: true },
                                        { name: "hba", mountPath: POSTGRES_HBA_DIR, readOnly: true },
                                        ...(archive?.mounts ?? []),
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
                                // Creates the roles and keeps them in step, as the superuser over the shared socket
                                // (why a sidecar: postgres-roles.ts). Ready once the roles are in place, so the
                                // Service sends no client before they can log in.
                                {
                                    name: "roles",
                                    image: r.image,
                                    command: ["/bin/sh", "-c", rolesSyncScript({ sqlDir: ROLES_SQL_DIR, passwords: passwordFiles, readyFile: ROLES_READY_FILE })],
                                    env: [
                                        { name: "PGHOST", value: "/var/run/postgresql" },
                                        { name: "PGPORT", value: String(PORT) },
                                        { name: "PGUSER", value: r.superuser },
                                        { name: "PGDATABASE", value: r.database },
                                        { name: "ROLES_INTERVAL", value: String(ROLES_SYNC_INTERVAL_SECONDS) },
                                        { name: "HOME", value: "/tmp" },
                                    ],
                                    resources: resourceRequirements({ cpu: "25m", memory: "32Mi" }),
                                    securityContext: restrictedContainerSecurityContext(),
                                    volumeMounts: [
                                        { name: "run", mountPath: "/var/run/postgresql" },
                                        { name: "roles-sql", mountPath: ROLES_SQL_DIR, readOnly: true },
                                        { name: "role-passwords", mountPath: ROLE_PASSWORDS_DIR, readOnly: true },
                                        { name: "roles-tmp", mountPath: "/tmp" },
                                    ],
                                    readinessProbe: { exec: { command: ["test", "-f", ROLES_READY_FILE] }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 1 },
                                },
                                // The metrics exporter, as herd_monitor over 127.0.0.1 with TLS verified against the
                                // internal CA (pg_hba's hostssl rule, as any client; the certificate names 127.0.0.1).
                                ...(monitorSecret === undefined
                                    ? []
                                    : [
                                          exporterContainer({
                                              name: "metrics",
                                              image: POSTGRES_EXPORTER_IMAGE,
                                              port: POSTGRES_EXPORTER_PORT,
                                              args: [`--web.listen-address=:${POSTGRES_EXPORTER_PORT}`],
                                              env: [
                                                  { name: "DATA_SOURCE_URI", value: `127.0.0.1:${PORT}/${r.database}?sslmode=verify-full&sslrootcert=${CA_FILE}` },
                                                  { name: "DATA_SOURCE_USER", value: POSTGRES_MONITOR_USER },
                                                  { name: "DATA_SOURCE_PASS", valueFrom: { secretKeyRef: { name: monitorSecret.metadata.name, key: this.passwordKey } } },
                                              ],
                                              volumeMounts: [{ name: "internal-ca", mountPath: CA_MOUNT_PATH, readOnly: true }],
                                          }),
                                      ]),
                            ],
                            volumes: [
                                scratchVolume("run", "16Mi"),
                                scratchVolume("tmp", "256Mi"),
                                scratchVolume("roles-tmp", "1Mi"),
                                ...(archive?.volumes ?? []),
                                { name: "roles-sql", configMap: { name: `${name}-roles`, defaultMode: 0o444 } },
                                // 0640: root owns the files, the fsGroup (the postgres group) reads them; PostgreSQL
                                // accepts a root-owned key readable by its group, and refuses one anyone else can read.
                                { name: "tls", secret: { secretName: `${name}-tls`, defaultMode: 0o640 } },
                                { name: "hba", configMap: { name: `${name}-hba`, defaultMode: 0o444 } },
                                ...(monitorSecret === undefined ? [] : [{ name: "internal-ca", configMap: { name: args.ca.configMapName, defaultMode: 0o444 } }]),
                                {
                                    name: "role-passwords",
                                    projected: {
                                        defaultMode: 0o440,
                                        sources: [
                                            ...(["owner", "app", "backup"] as const).map((role) => ({
                                                secret: { name: logins[role].secret.metadata.name, items: [{ key: this.passwordKey, path: role }] },
                                            })),
                                            ...(monitorSecret === undefined ? [] : [{ secret: { name: monitorSecret.metadata.name, items: [{ key: this.passwordKey, path: "monitor" }] } }]),
                                        ],
                                    },
                                },
                            ],
                        },
                    },
                },
            },
            // The ConfigMaps and Secrets whose contents change (the roles' SQL, pg_hba.conf, a renewed certificate) are
            // named above as fixed strings and ordered here: a changed one is replaced, delete first, and a template
            // that read its name from the replaced object would count as wholly changed, a refused replacement of
            // this protected StatefulSet (found by npm run e2e:preview on an upgrade).
            { parent: this, protect: r.protect, dependsOn: [rolesConfig, hba, tls.secret, args.ca, ...(archive?.dependsOn ?? [])], ...waitOptions("dataServer", scope.waits) },
        );

        disruptionBudget(scope);
        const backupLabels = { ...selectorLabels({ name: "postgres-backup", instance: name }) };
        networkPolicy(
            scope,
            name,
            selector,
            [{ from: [podsWith(args.clientLabels), podsWith(backupLabels)], ports: [{ protocol: "TCP", port: PORT }] }, ...metricsIngress(metrics, POSTGRES_EXPORTER_PORT)],
            // The server needs no network of its own, but for archiving: DNS and the repository's store.
            archive?.egress ?? [],
        );

        if (args.backup !== undefined) {
            createBackup(scope, r, args, args.backup, { user: r.backupUser, secret: logins.backup.secret }, backupLabels, this.passwordKey, args.ca.configMapName);
        }
        if (r.archive !== undefined && archive !== undefined) {
            // The restore needs the data directory and the repository, no login.
            createPitrJobs(scope, r.archive, { image: r.image, env: [{ name: "PGDATA", value: PGDATA }, ...archive.env], archive, statefulSet });
        }

        podMonitor(this, metrics, name, args.namespace, labels, selector);
        this.backupCronJobs = [
            ...(args.backup === undefined ? [] : [{ name: `${name}-backup`, schedule: args.backup.schedule }]),
            ...(r.archive === undefined
                ? []
                : [
                      { name: `${name}-pitr-full`, schedule: r.archive.fullSchedule },
                      { name: `${name}-pitr-diff`, schedule: r.archive.diffSchedule },
                  ]),
        ];

        this.host = serviceHost(scope);
        this.secretName = logins.app.secret.metadata.name;
        this.user = r.user;
        this.database = r.database;
        this.owner = { user: r.ownerUser, secretName: logins.owner.secret.metadata.name, passwordKey: this.passwordKey };
        this.statefulSetName = statefulSet.metadata.name;
        this.registerOutputs({ host: this.host, port: this.port, secretName: this.secretName, user: this.user, database: this.database, owner: this.owner });
    }
}

