/**
 * ElasticCluster: an Elasticsearch cluster in a StatefulSet (every node master-eligible and data) that keeps its
 * data through replacements, restarts and `pulumi destroy`, with the heap derived from the memory limit, security
 * on, TLS between nodes from a CA of its own, a restricted pod with a read-only root filesystem and no privileged
 * sysctl container, probes that ask the server itself, and a NetworkPolicy that lets in only its clients and peers.
 *
 * HTTP (port 9200) is plain inside the cluster: the API talks to Elasticsearch over plain HTTP (the app spec: it
 * sends plain HTTP requests rather than using the elasticsearch Python client), authenticated as `elastic` with the
 * generated password, and the NetworkPolicy admits only the API's pods (and the nodes themselves). Transport (9300), where nodes replicate data and elect a master,
 * is always TLS with mutual authentication.
 *
 * Its arguments, defaults, validation and elasticsearch.yml are in elastic-settings.ts, its transport TLS in
 * elastic-tls.ts; this module exports them too.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { waitOptions } from "../lib/waits";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import { credentials, dataScope, DataEndpoint, disruptionBudget, safeStatefulSetFields, serviceHost, services, spread } from "./data-tier";
import { DNS_EGRESS, networkPolicy, podsWith } from "./network-policy";
import { throwIfProblems } from "./validation";
import {
    ELASTIC_HTTP_PORT,
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
import { transportTls } from "./elastic-tls";

export * from "./elastic-settings";
export { elasticNodeDnsNames } from "./elastic-tls";

const HOME = "/usr/share/elasticsearch";
const CONFIG_DIR = `${HOME}/config`;
/** Where the transport certificate is mounted: inside the config directory, where Elasticsearch may read files. */
const CERTS_DIR = `${CONFIG_DIR}/certs`;

/**
 * The config init container: the image's config directory copied into the writable emptyDir that the server then
 * mounts over it (Elasticsearch writes its keystore there on every start), with herd's elasticsearch.yml on top.
 */
export function elasticConfigInitScript(): string {
    return ["set -eu", `cp -R ${CONFIG_DIR}/. /mnt/config/`, "cp /mnt/herd/elasticsearch.yml /mnt/config/elasticsearch.yml"].join("\n");
}

export class ElasticCluster extends pulumi.ComponentResource implements DataEndpoint {
    readonly host: pulumi.Output<string>;
    readonly port = ELASTIC_HTTP_PORT;
    readonly secretName: pulumi.Output<string>;
    readonly passwordKey = "password";
    readonly username = ELASTIC_USER;
    readonly scheme = "http";
    /** `http://<host>:9200`. */
    readonly url: pulumi.Output<string>;
    readonly replicas: number;
    /** Name of the StatefulSet (fixed: `<name>`). */
    readonly statefulSetName: pulumi.Output<string>;
    readonly podSelector: Readonly<Record<string, string>>;

    constructor(name: string, args: ElasticClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:ElasticCluster", name, {}, opts);
        const r = elasticDefaults(args);
        throwIfProblems("ElasticCluster", name, elasticProblems(r), this);

        const scope = dataScope(this, name, { name: "elasticsearch", component: "search" }, args, r.protect);
        const { labels, selector } = scope;
        this.podSelector = selector;

        const { secret } = credentials(scope, { username: ELASTIC_USER }, this.passwordKey);
        services(
            scope,
            [
                { name: "http", port: ELASTIC_HTTP_PORT },
                { name: "transport", port: ELASTIC_TRANSPORT_PORT },
            ],
            [{ name: "http", port: ELASTIC_HTTP_PORT }],
        );
        const tlsSecret = transportTls(scope, r.replicas);

        const yml = elasticsearchYml(name, r.replicas);
        const config = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            { metadata: { name: `${name}-config`, namespace: args.namespace, labels }, data: { "elasticsearch.yml": yml } },
            { parent: this },
        );

        const env: k8s.types.input.core.v1.EnvVar[] = [
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            // The image's entrypoint stores it in the keystore as the bootstrap password: the `elastic` user's.
            { name: "ELASTIC_PASSWORD", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: this.passwordKey } } },
            { name: "ES_JAVA_OPTS", value: elasticJavaOptions(r.memory) },
            { name: "ES_TMPDIR", value: "/tmp" },
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
                            // A changed elasticsearch.yml rolls the pods (the ConfigMap alone would not).
                            annotations: { "checksum/config": createHash("sha256").update(yml).digest("hex") },
                        },
                        spec: {
                            securityContext: restrictedPodSecurityContext(ELASTIC_UID),
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            // A node hands off and flushes on SIGTERM; large shards take a while.
                            terminationGracePeriodSeconds: 120,
                            ...spread(scope, r.replicas),
                            initContainers: [
                                {
                                    name: "config",
                                    image: r.image,
                                    command: ["/bin/sh", "-c", elasticConfigInitScript()],
                                    resources: resourceRequirements({ cpu: "100m", memory: "64Mi" }),
                                    securityContext: restrictedContainerSecurityContext(),
                                    volumeMounts: [
                                        { name: "config", mountPath: "/mnt/config" },
                                        { name: "herd-config", mountPath: "/mnt/herd", readOnly: true },
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
                                        { name: "logs", mountPath: `${HOME}/logs` },
                                        { name: "tmp", mountPath: "/tmp" },
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
                            ],
                            volumes: [
                                scratchVolume("config", "64Mi"),
                                scratchVolume("logs", "256Mi"),
                                scratchVolume("tmp", "256Mi"),
                                // Readable by the owner (root) and fsGroup 1000 only: it holds the node's private key.
                                { name: "certs", secret: { secretName: tlsSecret.metadata.name, defaultMode: 0o440 } },
                                { name: "herd-config", configMap: { name: config.metadata.name } },
                            ],
                        },
                    },
                },
            },
            { parent: this, protect: r.protect, ...waitOptions("dataServer", scope.waits) },
        );

        disruptionBudget(scope);
        const peers = podsWith(selector);
        networkPolicy(
            scope,
            name,
            selector,
            [
                { from: [podsWith(args.clientLabels)], ports: [{ protocol: "TCP", port: ELASTIC_HTTP_PORT }] },
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
            ],
        );

        this.host = serviceHost(scope);
        this.url = pulumi.interpolate`${this.scheme}://${this.host}:${this.port}`;
        this.secretName = secret.metadata.name;
        this.replicas = r.replicas;
        this.statefulSetName = statefulSet.metadata.name;
        this.registerOutputs({
            host: this.host,
            port: this.port,
            secretName: this.secretName,
            passwordKey: this.passwordKey,
            username: this.username,
            scheme: this.scheme,
            url: this.url,
        });
    }
}
