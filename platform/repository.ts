/**
 * What every platform's repositories share (contract.ts: RepositoryStore): the prefix each tool gets in the backup
 * bucket, and the prefix of the PostgreSQL dumps, the only place a bucket's expiry rule may apply.
 *
 * One bucket holds three kinds of data:
 * - `postgres/`: the nightly pg_dump files (components/postgres-backup.ts backupPrefix). Nothing refers to an older
 *   dump, so the bucket's lifecycle rule expires them after herd:backupRetentionDays.
 * - `pgbackrest/`, `elasticsearch/`: repositories their tool manages. Files in them refer to each other (a
 *   differential backup to its full one, a snapshot to the segments it shares with older snapshots); the tool's own
 *   retention deletes them. An expiry rule there would delete files still referred to and corrupt the repository.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { RepositoryPurpose, RepositoryStore } from "./contract";

/** The key prefix of the PostgreSQL dumps: the one prefix a bucket's expiry rule applies to. */
export const DUMP_PREFIX = "postgres/";

/** The key prefix of a tool's repository: `<purpose>/` (components append `<namespace>/<name>/`). */
export function repositoryPrefix(purpose: RepositoryPurpose): string {
    return `${purpose}/`;
}

/** Every repository purpose, for the platforms' per-prefix rules. */
export const REPOSITORY_PURPOSES: readonly RepositoryPurpose[] = ["pgbackrest", "elasticsearch"];

/**
 * A repository on a volume in the cluster (onprem without a bucket): on `sharedClassName` (herd:repositoryStorageClass,
 * a ReadWriteMany class) when there is one, so several pods may mount it; else on the data StorageClass, ReadWriteOnce.
 */
export function volumeRepository(dataClassName: pulumi.Input<string>, sharedClassName: string | undefined): RepositoryStore {
    return sharedClassName !== undefined
        ? { kind: "volume", storageClassName: sharedClassName, accessMode: "ReadWriteMany" }
        : { kind: "volume", storageClassName: dataClassName, accessMode: "ReadWriteOnce" };
}
