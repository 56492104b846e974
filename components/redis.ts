/**
 * RedisCache: one Redis server in a StatefulSet, the API's cache. Its whole configuration, password included, is one
 * redis.conf kept in a Secret and mounted read-only; maxmemory derives from the memory limit; commands that would
 * wipe, reconfigure or re-point the server are gone; a restricted pod; probes that ask the server itself.
 *
 * One replica, deliberately. It is a cache: everything in it can be rebuilt from PostgreSQL, so losing it costs a
 * warm-up, not data. Replication would not change that (it is asynchronous, so a failover loses recent writes too)
 * and needs Sentinel or Cluster to promote a replica: three more pods and clients that speak Sentinel. A restarted
 * pod instead reloads its append-only file or snapshot from the same volume within seconds.
 *
 * Its arguments, defaults, validation and redis.conf are in redis-settings.ts; this module exports them too.
 */
import { createHash } from "node:crypto";
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import { waitOptions } from "../lib/waits";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements } from "./pod-security";
import { credentials, dataScope, DataEndpoint, disruptionBudget, safeStatefulSetFields, serviceHost, services } from "./data-tier";
import { networkPolicy, podsWith } from "./network-policy";
import { throwIfProblems } from "./validation";
import {
    REDIS_CONFIG_DIR,
    REDIS_CONFIG_FILE,
    REDIS_CONFIG_PATH,
    REDIS_PORT as PORT,
    REDIS_TLS_DIR,
    REDIS_UID,
    RedisCacheArgs,
    redisConfig,
    RedisConfigOptions,
    redisDefaults,
    redisPingCommand,
    redisProblems,
} from "./redis-settings";

import { exporterContainer, metricsDefaults, metricsIngress, metricsProblems, MetricsOptions, podMonitor, REDIS_EXPORTER_IMAGE, REDIS_EXPORTER_PORT, scrapeAnnotations } from "./metrics";
import { problem } from "./validation";
import { CA_FILE, CA_MOUNT_PATH, InternalCa, serverCertificate, statefulServerDnsNames, TLS_CHECKSUM_ANNOTATION } from "./internal-ca";

export * from "./redis-settings";

/** RedisCache's arguments: the settings' (redis-settings.ts) and how its metrics are exposed. */
export interface RedisArgs extends RedisCacheArgs {
    /**
     * herd's internal CA (index.ts's one per stack): it signs the server's certificate (Secret `<name>-tls`), and
     * clients (the API, the exporter) verify the server against its ConfigMap.
     */
    readonly ca: InternalCa;
    /**
     * The exporter sidecar and how Prometheus finds it. It logs in with the server's password: herd's Redis has one
     * user (ACL is disabled), and the commands that could change anything are removed for every connection.
     * @default config keys `metrics`, `prometheusOperator`, `monitoringNamespace`
     */
    readonly metrics?: MetricsOptions;
}

export class RedisCache extends pulumi.ComponentResource implements DataEndpoint {
    readonly host: pulumi.Output<string>;
    readonly port = PORT;
    readonly secretName: pulumi.Output<string>;
    readonly passwordKey = "password";
    /** The CA file clients verify the server with (TLS only: no plaintext port), where they mount the internal CA. */
    readonly caFile = CA_FILE;
    /** Name of the StatefulSet (fixed: `<name>`). */
    readonly statefulSetName: pulumi.Output<string>;
    readonly podSelector: Readonly<Record<string, string>>;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:RedisCache", name, {}, opts);
        const r = redisDefaults(args);
        const metrics = metricsDefaults(args.metrics);
        throwIfProblems("RedisCache", name, [...redisProblems(r), ...metricsProblems(metrics).map((p) => problem(p.field, p.message))], this);

        const scope = dataScope(this, name, { name: "redis", component: "cache" }, args, r.protect);
        const { labels, selector } = scope;
        this.podSelector = selector;

        const { secret, password } = credentials(scope, {}, this.passwordKey);
        services(scope, [{ name: "redis", port: PORT }]);

        // The password reaches the server only inside this file: not in argv (visible in ps and the pod spec), not in
        // its environment. Derived from the password, the text is a secret Output; pulumi.secret says so outright.
        const settings: RedisConfigOptions = { memory: r.memory, evictionPolicy: r.evictionPolicy, appendOnly: r.appendOnly };
        const configSecret = new k8s.core.v1.Secret(
            `${name}-config`,
            {
                metadata: { name: `${name}-config`, namespace: args.namespace, labels: { ...labels } },
                type: "Opaque",
                stringData: { [REDIS_CONFIG_FILE]: pulumi.secret(password.apply((p) => redisConfig(settings, p))) },
            },
            // Regenerated from settings and the (protected) password: nothing here needs protecting itself.
            { ...scope.secretOpts, protect: false },
        );
        // Redis reads its config only at start: a changed setting must roll the pod. The checksum covers the settings,
        // not the password (which is generated once and protected).
        const checksum = createHash("sha256").update(redisConfig(settings, "")).digest("hex");
        // TLS only, with a certificate from the internal CA for every name the server is reached by. Redis reads the
        // files at start: a renewed certificate changes the checksum on the pod template, which rolls the pod.
        const tls = serverCertificate(scope, args.ca, `${name}-tls`, statefulServerDnsNames(name, args.namespace));

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
                        metadata: { labels: { ...labels }, annotations: { "checksum/config": checksum, [TLS_CHECKSUM_ANNOTATION]: tls.certificateChecksum, ...scrapeAnnotations(metrics, REDIS_EXPORTER_PORT) } },
                        spec: {
                            securityContext: restrictedPodSecurityContext(REDIS_UID),
                            automountServiceAccountToken: false,
                            // Service links would put REDIS_PORT=tcp://... and friends into the environment.
                            enableServiceLinks: false,
                            // No preStop: on SIGTERM Redis itself fsyncs the append-only file, writes a final snapshot
                            // and exits. The grace period covers that snapshot of up to a few GiB.
                            terminationGracePeriodSeconds: 60,
                            containers: [
                                {
                                    name: "redis",
                                    image: r.image,
                                    // Straight to the server, the config file its only argument (the image's entrypoint
                                    // only drops root privileges, which this pod never has).
                                    command: ["redis-server", REDIS_CONFIG_PATH],
                                    env: [
                                        // For redis-cli (probes, kubectl exec), which reads it instead of argv.
                                        { name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: this.passwordKey } } },
                                    ],
                                    ports: [{ name: "redis", containerPort: PORT, protocol: "TCP" }],
                                    resources: resourceRequirements({ cpu: r.cpu, memory: r.memory }),
                                    securityContext: restrictedContainerSecurityContext(),
                                    // Redis writes only to its data directory: no scratch volume for the read-only root.
                                    volumeMounts: [
                                        { name: "data", mountPath: "/data" },
                                        { name: "config", mountPath: REDIS_CONFIG_DIR, readOnly: true },
                                        { name: "tls", mountPath: REDIS_TLS_DIR, readOnly: true },
                                    ],
                                    // Up to 10 minutes to start: loading a large append-only file answers LOADING, not PONG.
                                    startupProbe: { exec: { command: redisPingCommand() }, periodSeconds: 5, failureThreshold: 120, timeoutSeconds: 5 },
                                    readinessProbe: { exec: { command: redisPingCommand() }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
                                    // Restarted after 90 s without an answer (a busy save child does not stop PING).
                                    livenessProbe: { exec: { command: redisPingCommand() }, periodSeconds: 15, timeoutSeconds: 10, failureThreshold: 6 },
                                },
                                ...(metrics.enabled
                                    ? [
                                          exporterContainer({
                                              name: "metrics",
                                              image: REDIS_EXPORTER_IMAGE,
                                              port: REDIS_EXPORTER_PORT,
                                              args: [`--web.listen-address=:${REDIS_EXPORTER_PORT}`, `--tls-ca-cert-file=${CA_FILE}`],
                                              env: [
                                                  // TLS (the server has no plaintext port), verified against the internal CA; 127.0.0.1 is in the certificate.
                                                  { name: "REDIS_ADDR", value: `rediss://127.0.0.1:${PORT}` },
                                                  { name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: this.passwordKey } } },
                                              ],
                                              volumeMounts: [{ name: "internal-ca", mountPath: CA_MOUNT_PATH, readOnly: true }],
                                          }),
                                      ]
                                    : []),
                            ],
                            volumes: [
                                // 0440: root owns the files, the fsGroup (the redis group) reads them.
                                { name: "config", secret: { secretName: `${name}-config`, defaultMode: 0o440 } },
                                { name: "tls", secret: { secretName: `${name}-tls`, defaultMode: 0o440 } },
                                ...(metrics.enabled ? [{ name: "internal-ca", configMap: { name: args.ca.configMapName, defaultMode: 0o444 } }] : []),
                            ],
                        },
                    },
                },
            },
            // redis.conf and the certificate by fixed name, ordered here (see PostgresStateful): a changed one is
            // replaced, and a name read from it would make this protected StatefulSet a refused replacement.
            { parent: this, protect: r.protect, dependsOn: [configSecret, tls.secret, args.ca], ...waitOptions("dataServer", scope.waits) },
        );

        disruptionBudget(scope);
        networkPolicy(
            scope,
            name,
            selector,
            [{ from: [podsWith(args.clientLabels)], ports: [{ protocol: "TCP", port: PORT }] }, ...metricsIngress(metrics, REDIS_EXPORTER_PORT)],
            // The server needs no network of its own, not even DNS: it only answers.
            [],
        );

        podMonitor(this, metrics, name, args.namespace, labels, selector);

        this.host = serviceHost(scope);
        this.secretName = secret.metadata.name;
        this.statefulSetName = statefulSet.metadata.name;
        this.registerOutputs({ host: this.host, port: this.port, secretName: this.secretName, passwordKey: this.passwordKey });
    }
}
