/**
 * RedisCache's arguments, their defaults and validation, and the redis.conf generated from them (with the commands it
 * removes and the probe command). The component itself is in redis.ts.
 */
import { MiB, parseQuantity, toMegabytesSetting } from "../lib/quantity";
import type { DataComponentArgs } from "./data-tier";
import { checkDataSizing, Problem, problem } from "./validation";
import { withDefaults } from "./defaults";
import { KEYS, stringDefault } from "../config";

/** Redis 7.4, the official image (Debian bookworm), pinned. It runs as the `redis` user, UID/GID 999. */
export const REDIS_IMAGE = "redis:7.4.11-bookworm";
export const REDIS_UID = 999;
/** Where the config Secret is mounted; redis-server's one argument. */
export const REDIS_CONFIG_DIR = "/etc/redis";
export const REDIS_CONFIG_FILE = "redis.conf";
export const REDIS_CONFIG_PATH = `${REDIS_CONFIG_DIR}/${REDIS_CONFIG_FILE}`;
/** Share of the memory limit Redis may fill with data (config key `redisMemory` promises it). */
export const REDIS_MAXMEMORY_FRACTION = 0.75;
export const REDIS_PORT = 6379;
/** Where the server's certificate Secret (`<name>-tls`: tls.crt, tls.key, ca.crt) is mounted in its pod. */
export const REDIS_TLS_DIR = "/etc/redis/tls";
/** The TLS versions Redis accepts. */
export const REDIS_TLS_PROTOCOLS = "TLSv1.2 TLSv1.3";

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
    /** Data volume size (append-only file and snapshots); can grow later, never shrink. @default config key `redisStorageSize` */
    readonly storageSize?: string;
    /** Memory request and limit; maxmemory is 75% of it. @default config key `redisMemory` */
    readonly memory?: string;
    /** CPU request (limit: twice this). @default config key `redisCpu` */
    readonly cpu?: string;
    /** maxmemory-policy: what Redis evicts when full (one of REDIS_EVICTION_POLICIES). @default config key `redisEvictionPolicy` */
    readonly evictionPolicy?: string;
    /** Append-only file, fsynced every second; false keeps periodic snapshots only. @default config key `redisAppendOnly` */
    readonly appendOnly?: boolean;
    /** @default REDIS_IMAGE */
    readonly image?: string;
}

/** Every default, in one place. */
export function redisDefaults(args: RedisCacheArgs) {
    return withDefaults(args, {
        storageSize: stringDefault("redisStorageSize"),
        memory: stringDefault("redisMemory"),
        cpu: stringDefault("redisCpu"),
        evictionPolicy: stringDefault("redisEvictionPolicy"),
        appendOnly: KEYS.redisAppendOnly.default,
        image: REDIS_IMAGE,
        protect: KEYS.protectData.default,
    });
}

export type RedisResolved = ReturnType<typeof redisDefaults>;

/** Every problem with the arguments: the property and what was expected. */
export function redisProblems(r: RedisResolved): Problem[] {
    const problems = checkDataSizing({ storageSize: r.storageSize, memory: r.memory, minMemoryBytes: 64 * MiB, minMemoryText: "64Mi", cpu: r.cpu });
    if (!(REDIS_EVICTION_POLICIES as readonly string[]).includes(r.evictionPolicy)) {
        problems.push(problem("evictionPolicy", `expected one of ${REDIS_EVICTION_POLICIES.join(", ")}, got ${JSON.stringify(r.evictionPolicy)}`));
    }
    // Decides a config line; a string "false" from untyped code would otherwise read as true.
    if (typeof r.appendOnly !== "boolean") {
        problems.push(problem("appendOnly", `expected true or false, got ${JSON.stringify(r.appendOnly)}`));
    }
    if (r.image.trim() === "") {
        problems.push(problem("image", `expected an image reference such as ${JSON.stringify(REDIS_IMAGE)}, got ""`));
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
    /** @default REDIS_PORT */
    readonly port?: number;
    /** Data directory (the volume). @default "/data" */
    readonly dir?: string;
    /** Addresses to listen on. @default "* -::*" (every IPv4 address, and IPv6 where the pod has it) */
    readonly bind?: string;
    /**
     * TLS on `port` and no plaintext listener (`port 0`), the certificate from `tlsDir`. false: plaintext on `port`,
     * for a local test server only. @default true
     */
    readonly tls?: boolean;
    /** Directory with tls.crt, tls.key and ca.crt (the mounted Secret). @default REDIS_TLS_DIR */
    readonly tlsDir?: string;
}

/** The whole redis.conf. It holds the password, so it only ever lives in a Secret. */
export function redisConfig(options: RedisConfigOptions, password: string): string {
    const lines = [
        "# Generated by herd (RedisCache) from the stack's config: change that, not this file.",
        "",
        "# Network: every interface, a password on every connection (the NetworkPolicy admits only the API's pods).",
        `bind ${options.bind ?? "* -::*"}`,
        "protected-mode yes",
        ...redisListenLines(options),
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

/**
 * The listener lines: with TLS (the default), `tls-port` and `port 0`, so nothing answers in plaintext. Clients need
 * no certificate of their own (`tls-auth-clients no`): the password stays their proof, and TLS keeps it and the data
 * private on the wire and proves the server to them (they verify it against herd's CA).
 */
function redisListenLines(options: RedisConfigOptions): string[] {
    const port = options.port ?? REDIS_PORT;
    if (options.tls === false) {
        return [`port ${port}`];
    }
    const dir = options.tlsDir ?? REDIS_TLS_DIR;
    return [
        "# TLS only: no plaintext port. The certificate is signed by herd's internal CA (components/internal-ca.ts).",
        "port 0",
        `tls-port ${port}`,
        `tls-cert-file ${dir}/tls.crt`,
        `tls-key-file ${dir}/tls.key`,
        `tls-ca-cert-file ${dir}/ca.crt`,
        "tls-auth-clients no",
        `tls-protocols "${REDIS_TLS_PROTOCOLS}"`,
    ];
}

/**
 * The probe: PING over TLS to 127.0.0.1 (a name in the server's certificate), the certificate checked against the
 * CA in `tlsDir`, authenticated by redis-cli from $REDISCLI_AUTH (never argv), answered by PONG. `tlsDir` false:
 * plaintext, for a test server started with `tls: false`.
 */
export function redisPingCommand(port: number = REDIS_PORT, tlsDir: string | false = REDIS_TLS_DIR): string[] {
    const tls = tlsDir === false ? "" : `--tls --cacert ${tlsDir}/ca.crt `;
    return ["sh", "-c", `[ "$(redis-cli ${tls}-h 127.0.0.1 -p ${port} ping)" = PONG ]`];
}

