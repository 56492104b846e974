/**
 * PostgresStateful's arguments, their defaults and validation, and the server settings derived from them. The
 * component itself is in postgres.ts, its backup CronJob in postgres-backup.ts.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { BackupStore, RepositoryAccess, WorkloadIdentity } from "../platform/contract";
import { archiveTimeoutProblems } from "./postgres-archive";
import { cronProblem } from "../lib/cron";
import { MiB, parseQuantity, toMegabytesSetting } from "../lib/quantity";
import type { DataComponentArgs } from "./data-tier";
import { checkDataSizing, Problem, problem } from "./validation";
import { withDefaults } from "./defaults";
import { KEYS, numberDefault, stringDefault } from "../config";

/** PostgreSQL 16, the official image (Debian), pinned. It runs as the `postgres` user, UID/GID 999. */
export const POSTGRES_IMAGE = "postgres:16.9-bookworm";
export const POSTGRES_UID = 999;
export const POSTGRES_PORT = 5432;
/** Where the server's certificate Secret (`<name>-tls`: tls.crt, tls.key, ca.crt) is mounted in its pod. */
export const POSTGRES_TLS_DIR = "/etc/herd/postgres-tls";
/** Where herd's pg_hba.conf (a ConfigMap, postgresHbaConf) is mounted; the server's `hba_file`. */
export const POSTGRES_HBA_DIR = "/etc/herd/postgres-hba";
export const POSTGRES_HBA_FILE = `${POSTGRES_HBA_DIR}/pg_hba.conf`;

export interface PostgresBackupArgs {
    /** Cron schedule of the backup job. */
    readonly schedule: string;
    /** Days a backup is kept: the bucket's rule on a cloud store, pruning by the job on a backup volume. */
    readonly retentionDays: number;
    /** Where dumps go (the platform's store). */
    readonly store: BackupStore;
    /** How the job gets permission to write there (the platform's hook). */
    readonly identity: WorkloadIdentity;
    /**
     * Scratch space for a dump before the upload (an object store): an emptyDir of this size limit. The job checks
     * the database's size against it before dumping and refuses with the key to raise. @default the data volume's
     * size (`storageSize`); config key `backupScratchSize`
     */
    readonly scratchSize?: string;
    /** Size of the backup volume when the store is a volume. @default config key `backupVolumeSize` */
    readonly volumeSize?: string;
}

/**
 * Continuous WAL archiving and point-in-time recovery with pgBackRest (postgres-pitr.ts): the server archives every
 * WAL segment into the repository, two CronJobs take full and differential backups inside the PostgreSQL pod, and a
 * suspended restore CronJob waits for scripts/restore-postgres.sh --pitr.
 */
export interface PostgresArchiveArgs {
    /** Where pgBackRest keeps its repository, and how the PostgreSQL pod gets the right to (Platform.repository("pgbackrest")). */
    readonly repository: RepositoryAccess;
    /** archive_timeout: the longest stretch of committed writes not yet archived. @default config key `postgresArchiveTimeoutSeconds` */
    readonly archiveTimeoutSeconds?: number;
    /** Cron schedule of the full backup. @default config key `postgresFullBackupSchedule` */
    readonly fullSchedule?: string;
    /** Cron schedule of the differential backup. @default config key `postgresDiffBackupSchedule` */
    readonly diffSchedule?: string;
    /** Full backups kept (repo1-retention-full), with the differentials and WAL they need. @default config key `postgresFullBackupsKept` */
    readonly fullBackupsKept?: number;
    /** Size of the repository's volume when the store is a volume. @default config key `postgresArchiveVolumeSize` */
    readonly volumeSize?: string;
}

export interface PostgresStatefulArgs extends DataComponentArgs {
    /** Data volume size; can grow later, never shrink. @default config key `postgresStorageSize` */
    readonly storageSize?: string;
    /** Memory request and limit; shared_buffers and effective_cache_size derive from it. @default config key `postgresMemory` */
    readonly memory?: string;
    /** CPU request (limit: twice this). @default config key `postgresCpu` */
    readonly cpu?: string;
    /** max_connections. @default config key `postgresMaxConnections` */
    readonly maxConnections?: number;
    /** Database created at first start. @default "herd" */
    readonly database?: string;
    /**
     * The application's role: what the API logs in as (rows only, see postgres-roles.ts); the `user` of the
     * component's endpoint. @default "herd_app"
     */
    readonly user?: string;
    /** The role that owns the database and its schema and runs the migrations. @default "herd_owner" */
    readonly ownerUser?: string;
    /** The backup job's role: reads everything, writes nothing. @default "herd_backup" */
    readonly backupUser?: string;
    /**
     * The image's bootstrap superuser (POSTGRES_USER), made by initdb on the first start only and used by nothing
     * but the in-pod role sync over the Unix socket. "herd" because stacks from before the roles were initialised
     * with that name: changing it on an existing volume would leave the probes and the sync without a login.
     * @default "herd"
     */
    readonly superuser?: string;
    /**
     * The server's image (also the roles sidecar's, the dump job's and the restore's). With `archive` it must be the
     * herd PostgreSQL image (images/postgres: pgBackRest and herd-pg-backup/-restore), which index.ts builds.
     * @default POSTGRES_IMAGE (the official image: no archiving)
     */
    readonly image?: pulumi.Input<string>;
    /** Backups; undefined: none (herd's stacks always configure them). */
    readonly backup?: PostgresBackupArgs;
    /** Continuous archiving and point-in-time recovery; undefined: none (herd's stacks always configure it). */
    readonly archive?: PostgresArchiveArgs;
}

/** The archive arguments with every default filled in. */
export function archiveDefaults(archive: PostgresArchiveArgs) {
    return {
        repository: archive.repository,
        archiveTimeoutSeconds: archive.archiveTimeoutSeconds ?? numberDefault("postgresArchiveTimeoutSeconds"),
        fullSchedule: archive.fullSchedule ?? stringDefault("postgresFullBackupSchedule"),
        diffSchedule: archive.diffSchedule ?? stringDefault("postgresDiffBackupSchedule"),
        fullBackupsKept: archive.fullBackupsKept ?? numberDefault("postgresFullBackupsKept"),
        volumeSize: archive.volumeSize ?? stringDefault("postgresArchiveVolumeSize"),
    };
}
export type ArchiveResolved = ReturnType<typeof archiveDefaults>;

/** Every problem with the archive arguments, as `archive.<field>`. */
export function archiveProblems(a: ArchiveResolved): Problem[] {
    const problems = archiveTimeoutProblems(a.archiveTimeoutSeconds, "archive.archiveTimeoutSeconds");
    for (const field of ["fullSchedule", "diffSchedule"] as const) {
        const cron = cronProblem(a[field]);
        if (cron !== undefined) {
            problems.push(problem(`archive.${field}`, cron));
        }
    }
    if (!Number.isInteger(a.fullBackupsKept) || a.fullBackupsKept < 1 || a.fullBackupsKept > 1000) {
        problems.push(problem("archive.fullBackupsKept", `expected a whole number of full backups from 1 to 1000, got ${a.fullBackupsKept}`));
    }
    const store = a.repository.store;
    if (store.kind === "volume") {
        const size = parseQuantity(a.volumeSize);
        if (size === undefined || size <= 0) {
            problems.push(problem("archive.volumeSize", `expected a Kubernetes quantity such as 50Gi, got ${JSON.stringify(a.volumeSize)}`));
        }
    }
    // pgBackRest speaks only HTTPS to an S3 store, at the root of its host.
    if (store.kind === "s3" && store.endpoint !== undefined && !/^https:\/\/[^/\s]+\/?$/.test(store.endpoint)) {
        problems.push(
            problem(
                "archive.repository.store.endpoint",
                `expected an https:// URL with a host and no path (pgBackRest reaches S3 over TLS only), got ${JSON.stringify(store.endpoint)}`,
            ),
        );
    }
    return problems;
}

/** Every default, in one place. */
export function postgresDefaults(args: PostgresStatefulArgs) {
    return {
        ...withDefaults(args, {
            storageSize: stringDefault("postgresStorageSize"),
            memory: stringDefault("postgresMemory"),
            cpu: stringDefault("postgresCpu"),
            maxConnections: numberDefault("postgresMaxConnections"),
            database: "herd",
            user: "herd_app",
            ownerUser: "herd_owner",
            backupUser: "herd_backup",
            superuser: "herd",
            image: POSTGRES_IMAGE,
            protect: KEYS.protectData.default,
        }),
        backupVolumeSize: args.backup?.volumeSize ?? stringDefault("backupVolumeSize"),
        backupScratchSize: args.backup?.scratchSize ?? args.storageSize ?? stringDefault("postgresStorageSize"),
        archive: args.archive === undefined ? undefined : archiveDefaults(args.archive),
    };
}

export type PostgresResolved = ReturnType<typeof postgresDefaults>;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Every problem with the arguments: the property (`backup.schedule` for a backup's) and what was expected. */
export function postgresProblems(r: PostgresResolved, backup: PostgresBackupArgs | undefined): Problem[] {
    const problems = checkDataSizing({ storageSize: r.storageSize, memory: r.memory, minMemoryBytes: 256 * MiB, minMemoryText: "256Mi", cpu: r.cpu });
    if (!Number.isInteger(r.maxConnections) || r.maxConnections < 10) {
        problems.push(problem("maxConnections", `expected a whole number of at least 10, got ${r.maxConnections}`));
    }
    const roles = [["superuser", r.superuser], ["ownerUser", r.ownerUser], ["user", r.user], ["backupUser", r.backupUser]] as const;
    for (const [field, value] of [["database", r.database], ...roles] as const) {
        if (!IDENTIFIER.test(value)) {
            problems.push(problem(field, `expected a lowercase SQL identifier (letters, digits, _), got ${JSON.stringify(value)}`));
        } else if (field !== "database" && value.startsWith("pg_")) {
            problems.push(problem(field, `expected a role name not starting with pg_ (reserved by PostgreSQL), got ${JSON.stringify(value)}`));
        }
    }
    // Each workload its own role, and none of them the superuser.
    for (const [i, [field, value]] of roles.entries()) {
        const earlier = roles.slice(0, i).find(([, other]) => other === value);
        if (earlier !== undefined) {
            problems.push(problem(field, `expected a role of its own, got ${JSON.stringify(value)}, which is already ${earlier[0]}`));
        } else if (field !== "superuser" && value === "postgres") {
            problems.push(problem(field, 'expected a role of its own, not "postgres" (the conventional superuser)'));
        }
    }
    if (backup !== undefined) {
        const cron = cronProblem(backup.schedule);
        if (cron !== undefined) {
            problems.push(problem("backup.schedule", cron));
        }
        if (!Number.isInteger(backup.retentionDays) || backup.retentionDays < 1) {
            problems.push(problem("backup.retentionDays", `expected a whole number of days, at least 1, got ${backup.retentionDays}`));
        }
        const size = parseQuantity(r.backupVolumeSize);
        if (size === undefined || size <= 0) {
            problems.push(problem("backup.volumeSize", `expected a Kubernetes quantity such as 50Gi, got ${JSON.stringify(r.backupVolumeSize)}`));
        }
        const scratch = parseQuantity(r.backupScratchSize);
        if (scratch === undefined || scratch <= 0) {
            problems.push(problem("backup.scratchSize", `expected a Kubernetes quantity such as 20Gi, got ${JSON.stringify(r.backupScratchSize)}`));
        }
    }
    if (r.archive !== undefined) {
        problems.push(...archiveProblems(r.archive));
        if (r.image === POSTGRES_IMAGE) {
            problems.push(
                problem("image", `expected the herd PostgreSQL image (images/postgres, with pgBackRest) when archive is set, got the official ${POSTGRES_IMAGE}, whose archive_command would fail`),
            );
        }
    }
    return problems;
}

/** Server settings derived from the memory limit: a quarter for shared buffers, three quarters expected as cache. */
export function postgresSettings(memory: string, maxConnections: number): Record<string, string> {
    const bytes = parseQuantity(memory) ?? 0;
    return {
        max_connections: String(maxConnections),
        shared_buffers: toMegabytesSetting(bytes * 0.25),
        effective_cache_size: toMegabytesSetting(bytes * 0.75),
        maintenance_work_mem: toMegabytesSetting(Math.min(bytes / 16, 2 * 1024 * MiB)),
        // The data volume is the durable copy: never trade it for speed.
        fsync: "on",
        synchronous_commit: "on",
        full_page_writes: "on",
        password_encryption: "scram-sha-256",
        listen_addresses: "*",
    };
}

/**
 * TLS for every TCP client: the certificate and key from the mounted Secret (the key file is root-owned with mode
 * 0640 and the postgres group, which PostgreSQL accepts), the CA for completeness of the chain, TLS 1.2 at least, and
 * herd's pg_hba.conf instead of the one initdb left in the data directory. Passed as `-c` arguments: they win over
 * postgresql.conf, and the image's temporary initdb server gets them too.
 */
export function postgresTlsSettings(tlsDir: string = POSTGRES_TLS_DIR, hbaFile: string = POSTGRES_HBA_FILE): Record<string, string> {
    return {
        ssl: "on",
        ssl_cert_file: `${tlsDir}/tls.crt`,
        ssl_key_file: `${tlsDir}/tls.key`,
        ssl_ca_file: `${tlsDir}/ca.crt`,
        ssl_min_protocol_version: "TLSv1.2",
        hba_file: hbaFile,
    };
}

/**
 * herd's pg_hba.conf. Over the pod's Unix socket nothing changes from the official image's initdb (trust: only
 * processes inside the pod reach the socket: the probes, the roles sidecar, pgBackRest, `kubectl exec`). Over TCP,
 * from anywhere including 127.0.0.1, only TLS (`hostssl`) with a SCRAM password: a plaintext connection matches no
 * line and is refused. There is no `host` line, and no replication over TCP (herd runs no replica).
 */
export function postgresHbaConf(): string {
    return [
        "# Generated by herd (components/postgres-settings.ts postgresHbaConf): the server's hba_file.",
        "# TYPE   DATABASE     USER  ADDRESS  METHOD",
        "# The pod's Unix socket: reachable only from inside the pod.",
        "local    all          all            trust",
        "local    replication  all            trust",
        "# TCP: TLS only, with a password. A connection without TLS matches nothing and is refused.",
        "hostssl  all          all   all      scram-sha-256",
        "",
    ].join("\n");
}
