/**
 * ElasticCluster's arguments, their defaults and validation, and what derives from them: the JVM heap,
 * elasticsearch.yml (discovery, security) and the probe commands. The component itself is in elastic.ts, its
 * transport TLS in elastic-tls.ts.
 */
import { flatYaml } from "../lib/flat-yaml";
import { GiB, MiB, parseQuantity } from "../lib/quantity";
import type { DataComponentArgs } from "./data-tier";
import { checkDataSizing, Problem, problem } from "./validation";
import { withDefaults } from "./defaults";
import { KEYS, numberDefault, stringDefault } from "../config";
import { ElasticSnapshotArgs, snapshotDefaults, snapshotProblems } from "./elastic-snapshots";

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
/** The node's config directory (the image's), where Elasticsearch may read files such as certificates. */
export const ELASTIC_CONFIG_DIR = "/usr/share/elasticsearch/config";
/**
 * Where the HTTP certificate Secret (`<name>-http-tls`: tls.crt, tls.key, ca.crt) is mounted, relative to the config
 * directory (as elasticsearch.yml names it) and absolute; beside the transport certificates in `certs/`.
 */
export const ELASTIC_HTTP_CERTS_SUBDIR = "http-certs";
export const ELASTIC_HTTP_CERTS_DIR = `${ELASTIC_CONFIG_DIR}/${ELASTIC_HTTP_CERTS_SUBDIR}`;
/** herd's internal CA, as the node's own probes read it (the `ca.crt` of the HTTP certificate Secret). */
export const ELASTIC_HTTP_CA_FILE = `${ELASTIC_HTTP_CERTS_DIR}/ca.crt`;
/**
 * The built-in superuser; its password is the generated one (the bootstrap password, which the config init container
 * puts into the node's keystore). Only the deploy-time Jobs (elastic-security.ts) log in as it: nothing that runs
 * continuously, not even the nodes' own probes.
 */
export const ELASTIC_USER = "elastic";
/**
 * The probes' user: a file-realm user on every node (config/users), whose only role may read cluster health
 * (`monitor`). Local to each node, so it works before the cluster has formed and while the security index is down.
 */
export const ELASTIC_PROBE_USER = "herd-probe";
export const ELASTIC_PROBE_ROLE = "herd_probe";
/** The API's index (the API's ELASTICSEARCH_INDEX default: images/api/herd_api/config.py). */
export const ELASTIC_API_INDEX = "herd-items";
/** The API's own user, created by the setup Job. */
export const ELASTIC_API_USER = "herd-api";
/** Above this, the JVM loses compressed object pointers: a bigger heap would hold less. */
const MAX_HEAP_BYTES = 31 * GiB;

export interface ElasticClusterArgs extends DataComponentArgs {
    /**
     * Nodes, each master-eligible and data: 1, or 3 or more (2 cannot keep a quorum). Going from 1 to more (or back)
     * changes how the cluster discovers itself: a deliberate migration, not a config change.
     * @default config key `elasticReplicas`
     */
    readonly replicas?: number;
    /** Memory request and limit per node; the JVM heap is half of it (the rest is Lucene's file cache). @default config key `elasticMemory` */
    readonly memory?: string;
    /** CPU request per node (limit: twice this). @default config key `elasticCpu` */
    readonly cpu?: string;
    /** Data volume size per node; can grow later, never shrink. @default config key `elasticStorageSize` */
    readonly storageSize?: string;
    /** @default ELASTIC_IMAGE */
    readonly image?: string;
    /**
     * The API's index (or alias): the API's user may read, write, create, and manage it and `<apiIndex>-*` (the
     * indices `python -m herd_api.reindex` builds behind it), and nothing else. @default ELASTIC_API_INDEX
     */
    readonly apiIndex?: string;
    /** The API's user, whose credentials are the component's endpoint. @default ELASTIC_API_USER */
    readonly apiUsername?: string;
    /**
     * Snapshots to the platform's backup store on a schedule (elastic-snapshots.ts). @default none: no snapshot
     * repository (the index can still be rebuilt from PostgreSQL with `python -m herd_api.reindex`)
     */
    readonly snapshots?: ElasticSnapshotArgs;
}

/** Every default, in one place. */
export function elasticDefaults(args: ElasticClusterArgs) {
    return {
        ...withDefaults(args, {
            replicas: numberDefault("elasticReplicas"),
            memory: stringDefault("elasticMemory"),
            cpu: stringDefault("elasticCpu"),
            storageSize: stringDefault("elasticStorageSize"),
            image: ELASTIC_IMAGE,
            protect: KEYS.protectData.default,
            apiIndex: ELASTIC_API_INDEX,
            apiUsername: ELASTIC_API_USER,
        }),
        snapshots: args.snapshots === undefined ? undefined : snapshotDefaults(args.snapshots),
    };
}

export type ElasticResolved = ReturnType<typeof elasticDefaults>;

/** Every problem with the arguments: the property and what was expected. */
export function elasticProblems(r: ElasticResolved): Problem[] {
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
        problems.push(problem("replicas", "expected 1 (a single node) or 3 or more: with 2 nodes, losing either one stops the cluster; got 2"));
    }
    // The API's ELASTICSEARCH_INDEX rule (images/api/herd_api/config.py), and no wildcard: the role names exactly it.
    if (r.apiIndex === "" || r.apiIndex !== r.apiIndex.toLowerCase() || /[ "*\\<|,>/?#:]/.test(r.apiIndex) || /^[-_+.]/.test(r.apiIndex)) {
        problems.push(problem("apiIndex", `expected a lowercase Elasticsearch index name without spaces, wildcards or any of \\/*?"<>|,#: (not starting with -, _, + or .), got ${JSON.stringify(r.apiIndex)}`));
    }
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(r.apiUsername) || [ELASTIC_USER, ELASTIC_PROBE_USER, "kibana_system", "logstash_system", "beats_system", "apm_system", "remote_monitoring_user"].includes(r.apiUsername)) {
        problems.push(problem("apiUsername", `expected a user name of lowercase letters, digits, - and _ (at most 64, starting with a letter) that is not a built-in or herd's probe user, got ${JSON.stringify(r.apiUsername)}`));
    }
    if (r.snapshots !== undefined) {
        problems.push(...snapshotProblems(r.snapshots, r.replicas));
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
export function elasticsearchYml(name: string, replicas: number, extra: Readonly<Record<string, string | number | boolean | string[]>> = {}): string {
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
        // HTTPS on 9200 with a certificate from herd's internal CA (components/internal-ca.ts), which every client
        // (the API, the probes, the Jobs, the exporter) verifies, host name included. No client certificates: HTTP
        // clients authenticate with a password. Elasticsearch reloads these files when they change.
        "xpack.security.http.ssl.enabled": true,
        "xpack.security.http.ssl.key": `${ELASTIC_HTTP_CERTS_SUBDIR}/tls.key`,
        "xpack.security.http.ssl.certificate": `${ELASTIC_HTTP_CERTS_SUBDIR}/tls.crt`,
        "xpack.security.http.ssl.client_authentication": "none",
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
        // Snapshots: path.repo for a file-system repository, the client of an S3-compatible store.
        ...extra,
    };
    return flatYaml(settings);
}

/**
 * curl's credentials, the probe user's, given on its standard input as a config file (`-K -`): printf is a shell
 * builtin, so the password is never in any process's argument list. The server's certificate is verified against
 * the CA in the node's HTTP certificate Secret (`--cacert`; 127.0.0.1 is in the certificate): never `-k`.
 */
const curlAuth = (caFile: string) => `printf 'user = "${ELASTIC_PROBE_USER}:%s"\\n' "$PROBE_PASSWORD" | curl -s -K - --max-time 4 --cacert ${caFile}`;

/** The node's own HTTPS address, as its probes and the exporter sidecar reach it. */
export const ELASTIC_LOCAL_URL = `https://127.0.0.1:${ELASTIC_HTTP_PORT}`;

/** Ready: the cluster is yellow or better (every primary shard assigned), as seen through this node. */
export function elasticReadinessCommand(caFile: string = ELASTIC_HTTP_CA_FILE): string[] {
    return ["/bin/sh", "-c", `${curlAuth(caFile)} -f -o /dev/null "${ELASTIC_LOCAL_URL}/_cluster/health?wait_for_status=yellow&timeout=2s"`];
}

/**
 * Alive: the node answers HTTP at all. Any answer counts (curl without -f), including 401 or 503: restarting every
 * node because a request was refused would make things worse. Only a node that does not answer (hung, or not
 * listening) is restarted; a certificate that does not verify is no answer either (curl never gets to HTTP).
 */
export function elasticLivenessCommand(caFile: string = ELASTIC_HTTP_CA_FILE): string[] {
    return ["/bin/sh", "-c", `${curlAuth(caFile)} -o /dev/null "${ELASTIC_LOCAL_URL}/"`];
}
