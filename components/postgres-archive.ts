/**
 * Continuous WAL archiving with pgBackRest: the PostgreSQL settings that push every WAL segment into the repository,
 * and what the server's container needs for that command to work. The tools themselves (pgBackRest, herd-pg-backup,
 * herd-pg-restore) are in the herd PostgreSQL image, images/postgres; their real-process proof is
 * images/postgres/tests (pytest).
 */
import { Problem, problem, problemText } from "./validation";

/** The pgBackRest stanza herd's server archives into; the image's scripts refuse any other. */
export const PGBACKREST_STANZA = "herd";

/** What PostgreSQL runs for each finished WAL segment (%p: its path, relative to the data directory). */
export const ARCHIVE_COMMAND = `pgbackrest --stanza=${PGBACKREST_STANZA} archive-push %p`;

/**
 * Seconds after which PostgreSQL switches to a new WAL segment even when the current one is not full, so that it is
 * archived: the recovery point objective. 60 s: at most the last minute of writes is lost with the server's volume.
 */
export const DEFAULT_ARCHIVE_TIMEOUT_SECONDS = 60;

/** The range accepted: 0 would turn the timeout off (a quiet server could then lose hours), more than an hour defeats it. */
export const MIN_ARCHIVE_TIMEOUT_SECONDS = 1;
export const MAX_ARCHIVE_TIMEOUT_SECONDS = 3600;

/** Problems with an archive timeout, under the property name the caller uses (a component's field, say). */
export function archiveTimeoutProblems(seconds: number, field = "archiveTimeoutSeconds"): Problem[] {
    if (!Number.isInteger(seconds) || seconds < MIN_ARCHIVE_TIMEOUT_SECONDS || seconds > MAX_ARCHIVE_TIMEOUT_SECONDS) {
        return [
            problem(
                field,
                `expected a whole number of seconds from ${MIN_ARCHIVE_TIMEOUT_SECONDS} to ${MAX_ARCHIVE_TIMEOUT_SECONDS} (the longest stretch of writes a lost volume may take with it), got ${seconds}`,
            ),
        ];
    }
    return [];
}

/**
 * The server settings that turn continuous archiving on, to merge into the server's `-c key=value` arguments.
 * Throws a RangeError naming `archiveTimeoutSeconds` when the timeout is out of range (a component checks it first
 * with archiveTimeoutProblems, to report it with its other problems).
 */
export function archiveSettings(archiveTimeoutSeconds: number = DEFAULT_ARCHIVE_TIMEOUT_SECONDS): Record<string, string> {
    const problems = archiveTimeoutProblems(archiveTimeoutSeconds);
    if (problems.length > 0) {
        throw new RangeError(problems.map(problemText).join("; "));
    }
    return {
        archive_mode: "on",
        archive_command: ARCHIVE_COMMAND,
        archive_timeout: String(archiveTimeoutSeconds),
    };
}

/**
 * Environment the server's container needs besides the repository's PGBACKREST_REPO1_* settings: PostgreSQL passes
 * archive_command a path relative to the data directory, and pgBackRest 2.45 then refuses to run ("option 'pg1-path'
 * must be specified when relative wal paths are used") unless PGBACKREST_PG1_PATH names that directory. PGDATA is not
 * read by pgBackRest.
 */
export function archiveServerEnv(dataDirectory: string): Record<string, string> {
    if (!dataDirectory.startsWith("/")) {
        throw new RangeError(`dataDirectory: expected an absolute path (the container's PGDATA), got ${JSON.stringify(dataDirectory)}`);
    }
    return { PGBACKREST_STANZA: PGBACKREST_STANZA, PGBACKREST_PG1_PATH: dataDirectory };
}
