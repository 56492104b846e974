/**
 * RedisCache: one Redis server in a StatefulSet, the API's cache. Its whole configuration, password included, is one
 * redis.conf kept in a Secret and mounted read-only; maxmemory derives from the memory limit; commands that would
 * wipe, reconfigure or re-point the server are gone; a restricted pod; probes that ask the server itself.
 *
 * One replica, deliberately. It is a cache: everything in it can be rebuilt from PostgreSQL, so losing it costs a
 * warm-up, not data. Replication would not change that (it is asynchronous, so a failover loses recent writes too)
 * and needs Sentinel or Cluster to promote a replica: three more pods and clients that speak Sentinel. A restarted
 * pod instead reloads its append-only file or snapshot from the same volume within seconds.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements } from "./pod-security";
import { MiB, parseQuantity, toMegabytesSetting } from "../lib/quantity";
import {
    credentials,
    dataScope,
    DataComponentArgs,
    DataEndpoint,
    disruptionBudget,
    safeStatefulSetFields,
    serviceHost,
    services,
} from "./data-tier";
import { networkPolicy, podsWith } from "./network-policy";
import { checkDataSizing, throwIfProblems } from "./validation";
import { stringDefault } from "../config";

/** Redis 7.4, the official image (Debian bookworm), pinned. It runs as the `redis` user, UID/GID 999. */
export const REDIS_IMAGE = "redis:7.4.11-bookworm";
export const REDIS_UID = 999;
/** Where the config Secret is mounted; redis-server's one argument. */
export const REDIS_CONFIG_DIR = "/etc/redis";
export const REDIS_CONFIG_FILE = "redis.conf";
export const REDIS_CONFIG_PATH = `${REDIS_CONFIG_DIR}/${REDIS_CONFIG_FILE}`;
/** Share of the memory limit Redis may fill with data (config key `redisMemory` promises it). */
export const REDIS_MAXMEMORY_FRACTION = 0.75;
const PORT = 6379;

/** Redis's maxmemory-policy values. */
export const REDIS_EVICTION_POLICIES = [
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
] as const;

/**
 * Commands no client may run, with why. They are renamed to "" (removed from the command table for every user and
 * connection), not denied by ACL rules: a removed command cannot be given back at runtime, and the ACL command that
 * could do so is itself removed. The API needs none of them.
 */
export const REDIS_DISABLED_COMMANDS: Readonly<Record<string, string>> = {
    FLUSHALL: "wipes every database",
    FLUSHDB: "wipes a database",
    CONFIG: "would change the password, dir or persistence behind the Secret's back",
    DEBUG: "can crash or stall the server",
    ACL: "would change the password or add users: the Secret is the only source of credentials",
    KEYS: "walks the whole key space and blocks the single-threaded server; clients use SCAN",
    SHUTDOWN: "only Kubernetes stops the server (SIGTERM, which saves)",
    REPLICAOF: "no replication here; would discard the data set and dial out",
    SLAVEOF: "old name of REPLICAOF",
    MODULE: "no modules: loading one runs arbitrary code",
};

export interface RedisCacheArgs extends DataComponentArgs {
    /** Data volume size (append-only file and snapshots); can grow later, never shrink. @default "5Gi" */
    readonly storageSize?: string;
    /** Memory request and limit; maxmemory is 75% of it. @default "512Mi" */
    readonly memory?: string;
    /** CPU request (limit: twice this). @default "250m" */
    readonly cpu?: string;
    /** maxmemory-policy: what Redis evicts when full (one of REDIS_EVICTION_POLICIES). @default "allkeys-lru" */
    readonly evictionPolicy?: string;
    /** Append-only file, fsynced every second; false keeps periodic snapshots only. @default true */
    readonly appendOnly?: boolean;
    /** @default REDIS_IMAGE */
    readonly image?: string;
}

export interface RedisResolved {
    readonly storageSize: string;
    readonly memory: string;
    readonly cpu: string;
    readonly evictionPolicy: string;
    readonly appendOnly: boolean;
    readonly image: string;
    readonly protect: boolean;
}

/** Every default, in one place. */
export function redisDefaults(args: RedisCacheArgs): RedisResolved {
    return {
        storageSize: args.storageSize ?? stringDefault("redisStorageSize"),
        memory: args.memory ?? stringDefault("redisMemory"),
        cpu: args.cpu ?? stringDefault("redisCpu"),
        evictionPolicy: args.evictionPolicy ?? "allkeys-lru",
        appendOnly: args.appendOnly ?? true,
        image: args.image ?? REDIS_IMAGE,
        protect: args.protect ?? true,
    };
}

/** Every problem with the arguments, as "field: expected ..., got ...". */
export function redisProblems(r: RedisResolved): string[] {
    const problems = checkDataSizing({ storageSize: r.storageSize, memory: r.memory, minMemoryBytes: 64 * MiB, minMemoryText: "64Mi", cpu: r.cpu });
    if (!(REDIS_EVICTION_POLICIES as readonly string[]).includes(r.evictionPolicy)) {
        problems.push(`evictionPolicy: expected one of ${REDIS_EVICTION_POLICIES.join(", ")}, got ${JSON.stringify(r.evictionPolicy)}`);
    }
    // Decides a config line; a string "false" from untyped code would otherwise read as true.
    if (typeof r.appendOnly !== "boolean") {
        problems.push(`appendOnly: expected true or false, got ${JSON.stringify(r.appendOnly)}`);
    }
    if (r.image.trim() === "") {
        problems.push(`image: expected an image reference such as ${JSON.stringify(REDIS_IMAGE)}, got ""`);
    }
    return problems;
}

/**
 * maxmemory for a memory limit: 75%, in whole mebibytes. The rest covers what maxmemory does not count: the
 * copy-on-write pages of the child that writes a snapshot or rewrites the append-only file, client buffers and
 * allocator fragmentation. Without that room the kernel OOM-kills the pod during a save.
 */
export function maxmemoryBytes(memory: string): number {
    const bytes = parseQuantity(memory) ?? 0;
    return Math.floor((bytes * REDIS_MAXMEMORY_FRACTION) / MiB) * MiB;
}

/** A value as a double-quoted redis.conf argument (Redis's own escapes), whatever characters it holds. */
export function redisQuote(value: string): string {
    let out = "";
    for (const byte of Buffer.from(value, "utf8")) {
        const c = String.fromCharCode(byte);
        if (c === "\\" || c === '"') {
            out += `\\${c}`;
        } else if (byte >= 0x20 && byte <= 0x7e) {
            out += c;
        } else {
            out += `\\x${byte.toString(16).padStart(2, "0")}`;
        }
    }
    return `"${out}"`;
}

export interface RedisConfigOptions {
    readonly memory: string;
    readonly evictionPolicy: string;
    readonly appendOnly: boolean;
    /** @default 6379 */
    readonly port?: number;
    /** Data directory (the volume). @default "/data" */
    readonly dir?: string;
    /** Addresses to listen on. @default "* -::*" (every IPv4 address, and IPv6 where the pod has it) */
    readonly bind?: string;
}

/** The whole redis.conf. It holds the password, so it only ever lives in a Secret. */
export function redisConfig(options: RedisConfigOptions, password: string): string {
    const lines = [
        "# Generated by herd (RedisCache) from the stack's config: change that, not this file.",
        "",
        "# Network: every interface, a password on every connection (the NetworkPolicy admits only the API's pods).",
        `bind ${options.bind ?? "* -::*"}`,
        "protected-mode yes",
        `port ${options.port ?? PORT}`,
        `requirepass ${redisQuote(password)}`,
        "",
        "# In the foreground, logging to stdout: the container's log.",
        "daemonize no",
        'logfile ""',
        "loglevel notice",
        "",
        `# Memory: ${REDIS_MAXMEMORY_FRACTION * 100}% of the container's ${options.memory} limit; the rest is room for the save child's copy-on-write pages.`,
        `maxmemory ${toMegabytesSetting(maxmemoryBytes(options.memory))}`,
        `maxmemory-policy ${options.evictionPolicy}`,
        "",
        "# Persistence on the data volume: a snapshot after 1 change in an hour, 100 in 5 minutes or 10000 in a minute,",
        "# and (when on) an append-only file fsynced every second: at most about a second of writes lost in a crash.",
        `dir ${options.dir ?? "/data"}`,
        "save 3600 1 300 100 60 10000",
        `appendonly ${options.appendOnly ? "yes" : "no"}`,
        "appendfsync everysec",
        "",
        "# Commands no client may run (redis.conf has no trailing comments: each reason sits above its line).",
        ...Object.entries(REDIS_DISABLED_COMMANDS).flatMap(([command, why]) => [`# ${command}: ${why}`, `rename-command ${command} ""`]),
        "",
    ];
    return lines.join("\n");
}

/** The probe: PING over TCP, authenticated by redis-cli from $REDISCLI_AUTH (never argv), answered by PONG. */
export function redisPingCommand(port: number = PORT): string[] {
    return ["sh", "-c", `[ "$(redis-cli -h 127.0.0.1 -p ${port} ping)" = PONG ]`];
}

export class RedisCache extends pulumi.ComponentResource implements DataEndpoint {
    readonly host: pulumi.Output<string>;
    readonly port = PORT;
    readonly secretName: pulumi.Output<string>;
    readonly passwordKey = "password";
    /** Name of the StatefulSet (fixed: `<name>`). */
    readonly statefulSetName: pulumi.Output<string>;
    readonly podSelector: Readonly<Record<string, string>>;

    constructor(name: string, args: RedisCacheArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:RedisCache", name, {}, opts);
        const r = redisDefaults(args);
        throwIfProblems("RedisCache", name, redisProblems(r), this);

        const scope = dataScope(this, name, { name: "redis", component: "cache" }, args, r.protect);
        const { labels, selector } = scope;
        this.podSelector = selector;

        const { secret, password } = credentials(scope, {}, this.passwordKey);
        const { client } = services(scope, [{ name: "redis", port: PORT }]);

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
                        metadata: { labels: { ...labels }, annotations: { "checksum/config": checksum } },
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
                                    ],
                                    // Up to 10 minutes to start: loading a large append-only file answers LOADING, not PONG.
                                    startupProbe: { exec: { command: redisPingCommand() }, periodSeconds: 5, failureThreshold: 120, timeoutSeconds: 5 },
                                    readinessProbe: { exec: { command: redisPingCommand() }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
                                    // Restarted after 90 s without an answer (a busy save child does not stop PING).
                                    livenessProbe: { exec: { command: redisPingCommand() }, periodSeconds: 15, timeoutSeconds: 10, failureThreshold: 6 },
                                },
                            ],
                            volumes: [
                                // 0440: root owns the files, the fsGroup (the redis group) reads them.
                                { name: "config", secret: { secretName: configSecret.metadata.name, defaultMode: 0o440 } },
                            ],
                        },
                    },
                },
            },
            { parent: this, protect: r.protect },
        );

        disruptionBudget(scope, 1);
        networkPolicy(
            scope,
            name,
            selector,
            [{ from: [podsWith(args.clientLabels)], ports: [{ protocol: "TCP", port: PORT }] }],
            // The server needs no network of its own, not even DNS: it only answers.
            [],
        );

        this.host = serviceHost(client);
        this.secretName = secret.metadata.name;
        this.statefulSetName = statefulSet.metadata.name;
        this.registerOutputs({ host: this.host, port: this.port, secretName: this.secretName, passwordKey: this.passwordKey });
    }
}
