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
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { stringify } from "yaml";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import { GiB, MiB, parseQuantity } from "../lib/quantity";
import {
    credentials,
    dataScope,
    DataComponentArgs,
    DataEndpoint,
    disruptionBudget,
    safeStatefulSetFields,
    Scope,
    serviceHost,
    services,
    spread,
} from "./data-tier";
import { DNS_EGRESS, networkPolicy, podsWith } from "./network-policy";
import { checkDataSizing, throwIfProblems } from "./validation";
import { numberDefault, stringDefault } from "../config";

/** Elasticsearch 8, the official image (Ubuntu), pinned. */
export const ELASTIC_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.17.4";
/**
 * The image's `elasticsearch` user is UID 1000 and owns everything under /usr/share/elasticsearch. The image's
 * default group is 0 (root, for OpenShift's arbitrary UIDs); herd runs as group 1000 instead, so nothing the process
 * writes is root-group-owned, and fsGroup 1000 makes the data volume and the scratch volumes writable by it.
 */
export const ELASTIC_UID = 1000;
export const ELASTIC_HTTP_PORT = 9200;
export const ELASTIC_TRANSPORT_PORT = 9300;
/** The built-in superuser; its password is the generated one (the bootstrap password, set from the Secret). */
export const ELASTIC_USER = "elastic";

const HOME = "/usr/share/elasticsearch";
const CONFIG_DIR = `${HOME}/config`;
/** Where the transport certificate is mounted: inside the config directory, where Elasticsearch may read files. */
const CERTS_DIR = `${CONFIG_DIR}/certs`;
/** Above this, the JVM loses compressed object pointers: a bigger heap would hold less. */
const MAX_HEAP_BYTES = 31 * GiB;

export interface ElasticClusterArgs extends DataComponentArgs {
    /**
     * Nodes, each master-eligible and data: 1, or 3 or more (2 cannot keep a quorum). Going from 1 to more (or back)
     * changes how the cluster discovers itself: a deliberate migration, not a config change.
     * @default 3
     */
    readonly replicas?: number;
    /** Memory request and limit per node; the JVM heap is half of it (the rest is Lucene's file cache). @default "2Gi" */
    readonly memory?: string;
    /** CPU request per node (limit: twice this). @default "1" */
    readonly cpu?: string;
    /** Data volume size per node; can grow later, never shrink. @default "30Gi" */
    readonly storageSize?: string;
    /** @default ELASTIC_IMAGE */
    readonly image?: string;
}

export interface ElasticResolved {
    readonly replicas: number;
    readonly memory: string;
    readonly cpu: string;
    readonly storageSize: string;
    readonly image: string;
    readonly protect: boolean;
}

/** Every default, in one place. */
export function elasticDefaults(args: ElasticClusterArgs): ElasticResolved {
    return {
        replicas: args.replicas ?? numberDefault("elasticReplicas"),
        memory: args.memory ?? stringDefault("elasticMemory"),
        cpu: args.cpu ?? stringDefault("elasticCpu"),
        storageSize: args.storageSize ?? stringDefault("elasticStorageSize"),
        image: args.image ?? ELASTIC_IMAGE,
        protect: args.protect ?? true,
    };
}

/** Every problem with the arguments, as "field: expected ..., got ...". */
export function elasticProblems(r: ElasticResolved): string[] {
    const problems = checkDataSizing({
        replicas: r.replicas,
        storageSize: r.storageSize,
        memory: r.memory,
        minMemoryBytes: GiB,
        minMemoryText: "1Gi (Elasticsearch needs a 512m heap at least)",
        cpu: r.cpu,
    });
    // The same rule as the elasticReplicas config key: a master needs a majority of the master-eligible nodes.
    if (r.replicas === 2) {
        problems.push("replicas: expected 1 (a single node) or 3 or more: with 2 nodes, losing either one stops the cluster; got 2");
    }
    return problems;
}

/**
 * The JVM heap for a memory limit, as a -Xms/-Xmx value: half the limit (Elasticsearch's own advice; the other half
 * is the operating system's file cache, which Lucene relies on, plus the JVM's off-heap memory), in whole mebibytes,
 * written in gibibytes when it is a whole number of them, and at most 31g (compressed object pointers).
 */
export function heapSize(memory: string): string {
    const bytes = Math.min((parseQuantity(memory) ?? 0) / 2, MAX_HEAP_BYTES);
    const mebibytes = Math.max(1, Math.floor(bytes / MiB));
    return mebibytes % 1024 === 0 ? `${mebibytes / 1024}g` : `${mebibytes}m`;
}

/**
 * ES_JAVA_OPTS: the heap (minimum = maximum, so it is never resized), and JVM logging to stderr only: the image's
 * default keeps up to 2 GiB of GC logs under logs/, which would overflow that directory's emptyDir and evict the pod.
 */
export function elasticJavaOptions(memory: string): string {
    const heap = heapSize(memory);
    return `-Xms${heap} -Xmx${heap} -Xlog:disable -Xlog:all=warning:stderr:utctime,level,tags`;
}

/** The fixed pod names of a StatefulSet `<name>` with `replicas` pods: `<name>-0` .. `<name>-<replicas-1>`. */
export function elasticPodNames(name: string, replicas: number): string[] {
    return Array.from({ length: replicas }, (_, i) => `${name}-${i}`);
}

/**
 * How the nodes find each other.
 *
 * One node: `discovery.type: single-node`, which elects itself and never looks for peers.
 * More: the seed host is the headless Service, which resolves to every pod, ready or not (it publishes not-ready
 * addresses, so nodes find each other while the cluster forms). `cluster.initial_master_nodes` names the fixed pod
 * names; it is read only when a node with an empty data volume bootstraps a brand-new cluster, and ignored once the
 * cluster has formed (its state lives on the retained volumes), so it can stay set. It never applies with one node
 * (Elasticsearch refuses it together with single-node discovery).
 */
export function discoverySettings(name: string, replicas: number): Record<string, string | string[]> {
    if (replicas === 1) {
        return { "discovery.type": "single-node" };
    }
    return {
        "discovery.seed_hosts": [`${name}-headless`],
        "cluster.initial_master_nodes": elasticPodNames(name, replicas),
    };
}

/**
 * elasticsearch.yml. `${POD_NAME}` and `${POD_IP}` are substituted by Elasticsearch from the pod's environment.
 * Nothing secret: the password arrives through the environment, the TLS key as a mounted file.
 */
export function elasticsearchYml(name: string, replicas: number): string {
    const settings: Record<string, string | number | boolean | string[]> = {
        "cluster.name": name,
        // The pod's name (a fixed StatefulSet ordinal): it is what cluster.initial_master_nodes lists.
        "node.name": "${POD_NAME}",
        "network.host": "0.0.0.0",
        // Peers reach a node at its pod IP (known at start, unlike its DNS record, which appears a moment later).
        "network.publish_host": "${POD_IP}",
        "http.port": ELASTIC_HTTP_PORT,
        "transport.port": ELASTIC_TRANSPORT_PORT,
        ...discoverySettings(name, replicas),
        // No memory-mapped index files: mmap needs vm.max_map_count >= 262144 on the node, which only a privileged
        // sysctl container (or node tuning) can set. niofs instead costs some speed on large indices, not safety,
        // and with mmap off the max_map_count bootstrap check does not apply.
        "node.store.allow_mmap": false,
        "xpack.security.enabled": true,
        // Enrollment tokens are for joining Kibana or nodes by hand; herd configures both sides itself.
        "xpack.security.enrollment.enabled": false,
        // Plain HTTP inside the cluster: the API speaks plain HTTP to Elasticsearch (see the header comment).
        "xpack.security.http.ssl.enabled": false,
        "xpack.security.transport.ssl.enabled": true,
        // Every node presents the same certificate, signed by a CA that exists only for this cluster and signs
        // nothing else: the chain check is the whole identity check. A hostname check ("full") would add no
        // authentication (every node has the same names) but would tie cluster formation to DNS names and the
        // cluster domain. The certificate still lists every pod's DNS name, so "full" is a one-line change.
        "xpack.security.transport.ssl.verification_mode": "certificate",
        "xpack.security.transport.ssl.client_authentication": "required",
        "xpack.security.transport.ssl.key": "certs/tls.key",
        "xpack.security.transport.ssl.certificate": "certs/tls.crt",
        "xpack.security.transport.ssl.certificate_authorities": ["certs/ca.crt"],
        // herd searches; machine learning would reserve memory and start a native controller on every node.
        "xpack.ml.enabled": false,
    };
    return stringify(settings, { lineWidth: 0 });
}

/**
 * The DNS names the node certificate is valid for: every pod's name under the headless Service (short of and with
 * the cluster domain), both Services, and localhost.
 */
export function elasticNodeDnsNames(name: string, replicas: number, namespace: string): string[] {
    const headless = `${name}-headless`;
    const service = (svc: string) => [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.cluster.local`];
    return [
        ...elasticPodNames(name, replicas).flatMap((pod) => [`${pod}.${headless}.${namespace}.svc`, `${pod}.${headless}.${namespace}.svc.cluster.local`]),
        ...service(headless),
        ...service(name),
        "localhost",
    ];
}

/**
 * curl's credentials, given on its standard input as a config file (`-K -`): printf is a shell builtin, so the
 * password is never in any process's argument list.
 */
const CURL_AUTH = `printf 'user = "${ELASTIC_USER}:%s"\\n' "$ELASTIC_PASSWORD" | curl -s -K - --max-time 4`;

/** Ready: the cluster is yellow or better (every primary shard assigned), as seen through this node. */
export function elasticReadinessCommand(): string[] {
    return ["/bin/sh", "-c", `${CURL_AUTH} -f -o /dev/null "http://127.0.0.1:${ELASTIC_HTTP_PORT}/_cluster/health?wait_for_status=yellow&timeout=2s"`];
}

/**
 * Alive: the node answers HTTP at all. Any answer counts (curl without -f), including 401 or 503: in a red cluster the
 * security index can be unavailable, and then even the right password is refused; restarting every node for that
 * would make things worse. Only a node that does not answer (hung, or not listening) is restarted.
 */
export function elasticLivenessCommand(): string[] {
    return ["/bin/sh", "-c", `${CURL_AUTH} -o /dev/null "http://127.0.0.1:${ELASTIC_HTTP_PORT}/"`];
}

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
        const { client } = services(
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
            { parent: this, protect: r.protect },
        );

        disruptionBudget(scope, r.replicas);
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

        this.host = serviceHost(client);
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

/**
 * TLS for the transport layer: a CA of the cluster's own and one node certificate it signs, valid for every pod
 * (and both Services and localhost), in the Secret `<name>-transport-tls` (tls.crt, tls.key, ca.crt).
 *
 * The private keys stay secret end to end: tls outputs them as secrets, the tls resources take them as secret
 * inputs, and the node key's only other destination is the Secret's stringData. Renewal: `pulumi up` within 90 days
 * of the node certificate's expiry issues a new one; the Secret's files change in place and Elasticsearch reloads
 * them without a restart. The CA lasts ten years.
 */
function transportTls(scope: Scope, replicas: number): k8s.core.v1.Secret {
    const name = scope.name;
    const opts = { parent: scope.parent };
    const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
    const ca = new tls.SelfSignedCert(
        `${name}-ca`,
        {
            privateKeyPem: caKey.privateKeyPem,
            isCaCertificate: true,
            subject: { commonName: `${name} transport CA`, organization: "herd" },
            validityPeriodHours: 10 * 365 * 24,
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        },
        opts,
    );
    const nodeKey = new tls.PrivateKey(`${name}-node-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
    const request = new tls.CertRequest(
        `${name}-node-csr`,
        {
            privateKeyPem: nodeKey.privateKeyPem,
            subject: { commonName: name, organization: "herd" },
            dnsNames: pulumi.output(scope.namespace).apply((ns) => elasticNodeDnsNames(name, replicas, ns)),
            ipAddresses: ["127.0.0.1"],
        },
        opts,
    );
    const cert = new tls.LocallySignedCert(
        `${name}-node-cert`,
        {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: ca.certPem,
            validityPeriodHours: 3 * 365 * 24,
            earlyRenewalHours: 90 * 24,
            // Both ends of a transport connection present it: server and client.
            allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        },
        opts,
    );
    return new k8s.core.v1.Secret(
        `${name}-transport-tls`,
        {
            metadata: { name: `${name}-transport-tls`, namespace: scope.namespace, labels: { ...scope.labels } },
            type: "kubernetes.io/tls",
            // PKCS#8: the one private-key encoding every Elasticsearch version reads for every algorithm.
            stringData: { "tls.crt": cert.certPem, "tls.key": nodeKey.privateKeyPemPkcs8, "ca.crt": ca.certPem },
        },
        { ...scope.secretOpts, protect: false },
    );
}
