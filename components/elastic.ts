/**
 * ElasticCluster: an Elasticsearch cluster in a StatefulSet (every node master-eligible and data) that keeps its
 * data through replacements, restarts and `pulumi destroy`, with the heap derived from the memory limit, security
 * on, TLS between nodes from a CA of its own, a restricted pod with a read-only root filesystem and no privileged
 * sysctl container, probes that ask the server itself, and a NetworkPolicy that lets in only its clients and peers.
 *
 * HTTP (port 9200) is HTTPS, with a certificate from herd's internal CA (`args.ca`, components/internal-ca.ts) for
 * every address a client uses, and every client verifies it, host name included: the API (ELASTICSEARCH_CA_FILE),
 * the nodes' probes and the exporter sidecar (127.0.0.1), the setup and shrink Jobs (curl --cacert). The
 * NetworkPolicy admits only the API's pods, the deploy-time Jobs and the nodes themselves. Transport (9300), where
 * nodes replicate data and elect a master, is always TLS with mutual authentication, from a CA of the cluster's own.
 *
 * Least privilege: the API logs in as its own user (`herd-api`, role `herd_api`: its index only), created by the
 * setup Job, and that user's Secret is the component's endpoint. The `elastic` superuser's password goes only to the
 * config init container (which puts it into the node's keystore as the bootstrap password) and to the deploy-time
 * Jobs; the nodes' probes use a file-realm user that may only read cluster health. Nothing that runs continuously
 * holds the `elastic` password.
 *
 * Its arguments, defaults, validation and elasticsearch.yml are in elastic-settings.ts, its transport and HTTP TLS in
 * elastic-tls.ts, the users, the shrink guard and their Jobs in elastic-security.ts, snapshots in
 * elastic-snapshots.ts; this module exports them too.
 */
import { createHash } from "node:crypto";
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { waitOptions } from "../lib/waits";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import { credentials, dataScope, DataEndpoint, disruptionBudget, safeStatefulSetFields, Scope, serviceHost, services, spread } from "./data-tier";
import { DNS_EGRESS, networkPolicy, podsWith } from "./network-policy";
import { throwIfProblems } from "./validation";
import {
    ELASTIC_CONFIG_DIR,
    ELASTIC_HTTP_CERTS_DIR,
    ELASTIC_HTTP_PORT,
    ELASTIC_LOCAL_URL,
    ELASTIC_PROBE_ROLE,
    ELASTIC_PROBE_USER,
    ELASTIC_TRANSPORT_PORT,
    ELASTIC_UID,
    ELASTIC_USER,
    ElasticClusterArgs,
    elasticDefaults,
    elasticJavaOptions,
    elasticLivenessCommand,
    elasticProblems,
    elasticReadinessCommand,
    elasticsearchYml,
} from "./elastic-settings";
import { httpTls, transportTls } from "./elastic-tls";
import { CA_FILE, CA_MOUNT_PATH, InternalCa, TLS_CHECKSUM_ANNOTATION } from "./internal-ca";
import { createSetupJobs, ELASTIC_METRICS_USER } from "./elastic-security";
import { ELASTIC_EXPORTER_IMAGE, ELASTIC_EXPORTER_PORT, exporterContainer, metricsDefaults, metricsIngress, metricsProblems, MetricsOptions, podMonitor, scrapeAnnotations } from "./metrics";
import { problem } from "./validation";
import { snapshotSetup } from "./elastic-snapshots";

export * from "./elastic-settings";
export * from "./elastic-security";
export * from "./elastic-snapshots";

/** ElasticCluster's arguments: the settings' (elastic-settings.ts) and how its metrics are exposed. */
export interface ElasticArgs extends ElasticClusterArgs {
    /** herd's internal CA (one per stack): it signs the HTTP certificate, and clients mount its ConfigMap to verify it. */
    readonly ca: InternalCa;
    /** The exporter sidecar (user `herd_metrics`, monitor privileges only) and how Prometheus finds it. @default config keys `metrics`, `prometheusOperator`, `monitoringNamespace` */
    readonly metrics?: MetricsOptions;
}
export { elasticHttpTlsSecretName, elasticNodeDnsNames } from "./elastic-tls";

const HOME = "/usr/share/elasticsearch";
const CONFIG_DIR = ELASTIC_CONFIG_DIR;
/** Where the transport certificate is mounted: inside the config directory, where Elasticsearch may read files. */
const CERTS_DIR = `${CONFIG_DIR}/certs`;

/**
 * The config init container: the image's config directory copied into the writable emptyDir that the server then
 * mounts over it, with herd's elasticsearch.yml on top; the probe user in the file realm (its bcrypt hash from the
 * Secret); and the keystore: the `elastic` bootstrap password and any store credentials (`entries`: keystore setting
 * -> the env variable holding it), each written from standard input (printf is a builtin: no value in any argv).
 * Only this container, which exits before the server starts, is given the `elastic` password.
 */
export function elasticConfigInitScript(entries: Readonly<Record<string, string>> = {}): string {
    const keystore = `${HOME}/bin/elasticsearch-keystore add -x -f`;
    return [
        "set -eu",
        "umask 077",
        `cp -R ${CONFIG_DIR}/. /mnt/config/`,
        "cp /mnt/herd/elasticsearch.yml /mnt/config/elasticsearch.yml",
        `printf '%s:%s\\n' '${ELASTIC_PROBE_USER}' "$PROBE_PASSWORD_HASH" > /mnt/config/users`,
        `printf '%s:%s\\n' '${ELASTIC_PROBE_ROLE}' '${ELASTIC_PROBE_USER}' > /mnt/config/users_roles`,
        `printf '%s:\\n  cluster: ["monitor"]\\n' '${ELASTIC_PROBE_ROLE}' > /mnt/config/roles.yml`,
        "export ES_PATH_CONF=/mnt/config",
        `printf '%s' "$ELASTIC_PASSWORD" | ${keystore} bootstrap.password`,
        ...Object.entries(entries).map(([setting, variable]) => `printf '%s' "$${variable}" | ${keystore} ${setting}`),
    ].join("\n");
}

/**
 * The exporter sidecar's arguments: HTTPS to its own node, verified against herd's internal CA (`caFile`, from the
 * CA's ConfigMap: the exporter never sees the node's key; 127.0.0.1 is in the certificate), never skipping
 * verification. Its user and password come from ES_USERNAME and ES_PASSWORD.
 */
export function elasticExporterArgs(url: string = ELASTIC_LOCAL_URL, caFile: string = CA_FILE, listen = `:${ELASTIC_EXPORTER_PORT}`): string[] {
    return [`--es.uri=${url}`, `--es.ca=${caFile}`, "--es.timeout=10s", `--web.listen-address=${listen}`];
}

export class ElasticCluster extends pulumi.ComponentResource implements DataEndpoint {
    readonly host: pulumi.Output<string>;
    readonly port = ELASTIC_HTTP_PORT;
    /** The API user's Secret (`<name>-api-credentials`): never the `elastic` superuser's. */
    readonly secretName: pulumi.Output<string>;
    readonly passwordKey = "password";
    /** The API's own user (`apiUsername`), with privileges on its index only. */
    readonly username: string;
    /** The `elastic` superuser's Secret (`<name>-credentials`): for an operator, and the deploy-time Jobs. */
    readonly adminSecretName: pulumi.Output<string>;
    readonly scheme = "https";
    /** `https://<host>:9200`. */
    readonly url: pulumi.Output<string>;
    /** Where a client that mounts the internal CA's ConfigMap at CA_MOUNT_PATH finds the CA to verify the server. */
    readonly caFile = CA_FILE;
    readonly replicas: number;
    /** Name of the StatefulSet (fixed: `<name>`). */
    readonly statefulSetName: pulumi.Output<string>;
    readonly podSelector: Readonly<Record<string, string>>;

    constructor(name: string, args: ElasticArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:ElasticCluster", name, {}, opts);
        const r = elasticDefaults(args);
        const metrics = metricsDefaults(args.metrics);
        throwIfProblems("ElasticCluster", name, [...elasticProblems(r), ...metricsProblems(metrics).map((p) => problem(p.field, p.message))], this);

        const scope = dataScope(this, name, { name: "elasticsearch", component: "search" }, args, r.protect);
        const { labels, selector } = scope;
        this.podSelector = selector;

        const { secret } = credentials(scope, { username: ELASTIC_USER }, this.passwordKey);
        const probe = probeCredentials(scope);
        const snapshots = r.snapshots === undefined ? undefined : snapshotSetup(scope, r.snapshots, r.protect);
        // The exporter's user (monitor privileges only), created by the setup Job.
        const metricsSecret = metrics.enabled ? credentials({ ...scope, name: `${name}-metrics` }, { username: ELASTIC_METRICS_USER }, this.passwordKey).secret : undefined;
        const setup = createSetupJobs({ scope, r, elasticSecret: secret, passwordKey: this.passwordKey, snapshots, metricsSecret, caConfigMapName: args.ca.configMapName });
        services(
            scope,
            [
                { name: "http", port: ELASTIC_HTTP_PORT },
                { name: "transport", port: ELASTIC_TRANSPORT_PORT },
            ],
            [{ name: "http", port: ELASTIC_HTTP_PORT }],
        );
        const tlsSecret = transportTls(scope, r.replicas);
        const http = httpTls(scope, args.ca, r.replicas);

        const yml = elasticsearchYml(name, r.replicas, snapshots?.nodeSettings);
        const config = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            { metadata: { name: `${name}-config`, namespace: args.namespace, labels }, data: { "elasticsearch.yml": yml } },
            { parent: this },
        );

        const env: k8s.types.input.core.v1.EnvVar[] = [
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            // The probes' user (monitor only); the `elastic` password is in the keystore, not in this container.
            { name: "PROBE_PASSWORD", valueFrom: { secretKeyRef: { name: probe.metadata.name, key: "password" } } },
            { name: "ES_JAVA_OPTS", value: elasticJavaOptions(r.memory) },
            { name: "ES_TMPDIR", value: "/tmp" },
            ...(snapshots?.serverEnv ?? []),
        ];
        const initEnv: k8s.types.input.core.v1.EnvVar[] = [
            { name: "ELASTIC_PASSWORD", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: this.passwordKey } } },
            { name: "PROBE_PASSWORD_HASH", valueFrom: { secretKeyRef: { name: probe.metadata.name, key: "passwordHash" } } },
            // The keystore tool is a small JVM program: a small heap, its temporary files on the tmp volume.
            { name: "CLI_JAVA_OPTS", value: "-Xms16m -Xmx64m -XX:+UseSerialGC" },
            { name: "ES_TMPDIR", value: "/tmp" },
            ...(snapshots?.keystoreEnv ?? []),
        ];

        const statefulSet = new k8s.apps.v1.StatefulSet(
            name,
            {
                metadata: { name, namespace: args.namespace, labels },
                spec: {
                    ...safeStatefulSetFields(scope, args.storageClassName, r.storageSize),
                    replicas: r.replicas,
                    // All pods start at once: a new cluster forms only when a majority of cluster.initial_master_nodes
                    // is up, and a whole cluster restarted after an outage needs its masters back together, which
                    // OrderedReady (each pod waits for the previous one to be ready, i.e. a yellow cluster) would
                    // never allow. Rolling updates still go one pod at a time. Immutable: never change it (the
                    // StatefulSet would be replaced).
                    podManagementPolicy: "Parallel",
                    updateStrategy: { type: "RollingUpdate" },
                    template: {
                        metadata: {
                            labels: { ...labels },
                            // A changed elasticsearch.yml rolls the pods (the ConfigMap alone would not); so does a
                            // renewed HTTP certificate (Elasticsearch would also reload the files, but only once the
                            // kubelet has refreshed the volume; the roll makes `pulumi up` finish on the new one).
                            annotations: {
                                "checksum/config": createHash("sha256").update(yml).digest("hex"),
                                [TLS_CHECKSUM_ANNOTATION]: http.certificateChecksum,
                                ...scrapeAnnotations(metrics, ELASTIC_EXPORTER_PORT),
                            },
                        },
                        spec: {
                            securityContext: restrictedPodSecurityContext(ELASTIC_UID),
                            // Bound to the backup store's identity when snapshots go to an object store.
                            ...(snapshots?.serviceAccountName !== undefined ? { serviceAccountName: snapshots.serviceAccountName } : {}),
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            // A node hands off and flushes on SIGTERM; large shards take a while.
                            terminationGracePeriodSeconds: 120,
                            ...spread(scope, r.replicas),
                            initContainers: [
                                {
                                    name: "config",
                                    image: r.image,
                                    command: ["/bin/sh", "-c", elasticConfigInitScript(snapshots?.keystoreEntries)],
                                    env: initEnv,
                                    resources: resourceRequirements({ cpu: "100m", memory: "256Mi" }),
                                    securityContext: restrictedContainerSecurityContext(),
                                    volumeMounts: [
                                        { name: "config", mountPath: "/mnt/config" },
                                        { name: "herd-config", mountPath: "/mnt/herd", readOnly: true },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                },
                            ],
                            containers: [
                                {
                                    name: "elasticsearch",
                                    image: r.image,
                                    env,
                                    ports: [
                                        { name: "http", containerPort: ELASTIC_HTTP_PORT, protocol: "TCP" },
                                        { name: "transport", containerPort: ELASTIC_TRANSPORT_PORT, protocol: "TCP" },
                                    ],
                                    resources: resourceRequirements({ cpu: r.cpu, memory: r.memory }),
                                    securityContext: restrictedContainerSecurityContext(),
                                    volumeMounts: [
                                        { name: "data", mountPath: `${HOME}/data` },
                                        { name: "config", mountPath: CONFIG_DIR },
                                        { name: "certs", mountPath: CERTS_DIR, readOnly: true },
                                        { name: "http-certs", mountPath: ELASTIC_HTTP_CERTS_DIR, readOnly: true },
                                        { name: "logs", mountPath: `${HOME}/logs` },
                                        { name: "tmp", mountPath: "/tmp" },
                                        ...(snapshots?.mounts ?? []),
                                    ],
                                    // Up to 10 minutes to answer HTTP: the JVM starts slowly, and a node opens its
                                    // shards' files before it listens.
                                    startupProbe: { exec: { command: elasticLivenessCommand() }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 60 },
                                    // Ready (in the client Service, counted by the disruption budget, and a rolling
                                    // update moves on) when the cluster is yellow or better.
                                    readinessProbe: { exec: { command: elasticReadinessCommand() }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
                                    // Alive when the node answers HTTP; never on cluster health: a red cluster must not
                                    // restart every node.
                                    livenessProbe: { exec: { command: elasticLivenessCommand() }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
                                },
                                ...(metricsSecret === undefined
                                    ? []
                                    : [
                                          exporterContainer({
                                              name: "metrics",
                                              image: ELASTIC_EXPORTER_IMAGE,
                                              port: ELASTIC_EXPORTER_PORT,
                                              args: elasticExporterArgs(),
                                              volumeMounts: [{ name: "internal-ca", mountPath: CA_MOUNT_PATH, readOnly: true }],
                                              env: [
                                                  { name: "ES_USERNAME", value: ELASTIC_METRICS_USER },
                                                  { name: "ES_PASSWORD", valueFrom: { secretKeyRef: { name: metricsSecret.metadata.name, key: this.passwordKey } } },
                                              ],
                                          }),
                                      ]),
                            ],
                            volumes: [
                                scratchVolume("config", "64Mi"),
                                scratchVolume("logs", "256Mi"),
                                scratchVolume("tmp", "256Mi"),
                                // Readable by the owner (root) and fsGroup 1000 only: it holds the node's private key.
                                { name: "certs", secret: { secretName: `${name}-transport-tls`, defaultMode: 0o440 } },
                                { name: "http-certs", secret: { secretName: `${name}-http-tls`, defaultMode: 0o440 } },
                                ...(metricsSecret === undefined ? [] : [{ name: "internal-ca", configMap: { name: args.ca.configMapName, defaultMode: 0o444 } }]),
                                { name: "herd-config", configMap: { name: `${name}-config` } },
                                ...(snapshots?.volumes ?? []),
                            ],
                        },
                    },
                },
            },
            // After the shrink Job: nodes leave only once the cluster no longer needs them (elastic-security.ts).
            // elasticsearch.yml and both certificates by fixed name, ordered here (see PostgresStateful): a changed one
            // is replaced, and a name read from it would make this protected StatefulSet a refused replacement.
            {
                parent: this,
                protect: r.protect,
                dependsOn: [setup.shrinkJob, config, tlsSecret, http.secret, args.ca],
                ...waitOptions("dataServer", scope.waits),
            },
        );

        disruptionBudget(scope);
        const peers = podsWith(selector);
        networkPolicy(
            scope,
            name,
            selector,
            [
                { from: [podsWith(args.clientLabels)], ports: [{ protocol: "TCP", port: ELASTIC_HTTP_PORT }] },
                { from: [podsWith(setup.podSelector)], ports: [{ protocol: "TCP", port: ELASTIC_HTTP_PORT }] },
                ...metricsIngress(metrics, ELASTIC_EXPORTER_PORT),
                {
                    from: [peers],
                    ports: [
                        { protocol: "TCP", port: ELASTIC_TRANSPORT_PORT },
                        { protocol: "TCP", port: ELASTIC_HTTP_PORT },
                    ],
                },
            ],
            [
                DNS_EGRESS,
                {
                    to: [peers],
                    ports: [
                        { protocol: "TCP", port: ELASTIC_TRANSPORT_PORT },
                        { protocol: "TCP", port: ELASTIC_HTTP_PORT },
                    ],
                },
                // The snapshot store (and its token service), when snapshots go to an object store.
                ...(snapshots?.egress ?? []),
            ],
        );

        podMonitor(this, metrics, name, args.namespace, labels, selector);

        this.host = serviceHost(scope);
        this.url = pulumi.interpolate`${this.scheme}://${this.host}:${this.port}`;
        this.secretName = setup.apiSecret.metadata.name;
        this.username = r.apiUsername;
        this.adminSecretName = secret.metadata.name;
        this.replicas = r.replicas;
        this.statefulSetName = statefulSet.metadata.name;
        this.registerOutputs({
            host: this.host,
            port: this.port,
            secretName: this.secretName,
            passwordKey: this.passwordKey,
            username: this.username,
            adminSecretName: this.adminSecretName,
            scheme: this.scheme,
            url: this.url,
            caFile: this.caFile,
        });
    }
}

/**
 * The probe user's password and its bcrypt hash (what the file realm stores) in `<name>-probe-credentials`. The
 * password may only read cluster health; it is regenerated with the data's other credentials, never on its own.
 */
function probeCredentials(scope: Scope): k8s.core.v1.Secret {
    const password = new random.RandomPassword(`${scope.name}-probe-password`, { length: 32, special: false }, { parent: scope.parent, protect: scope.protect });
    return new k8s.core.v1.Secret(
        `${scope.name}-probe-credentials`,
        {
            metadata: { name: `${scope.name}-probe-credentials`, namespace: scope.namespace, labels: { ...scope.labels } },
            type: "Opaque",
            stringData: { username: ELASTIC_PROBE_USER, password: password.result, passwordHash: password.bcryptHash },
        },
        scope.secretOpts,
    );
}
