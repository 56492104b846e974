/** The runbook's section on backups and restore, and where this stack's backups go. */
import { str } from "./outputs";
import { code, cronInWords, type RunbookContext } from "./runbook-context";

interface BackupLocation {
    /** Where the dumps are stored, in words. */
    readonly where: string;
    /** Commands that list the dumps. */
    readonly list: string[];
    /** The argument restore-postgres.sh takes for one dump. */
    readonly restoreSource: string;
}

/** The backup store of an onprem stack that uploads to an S3-compatible bucket. */
function s3CompatibleLocation(c: RunbookContext, prefix: string, dump: string): BackupLocation {
    const { onprem, platform } = c;
    const b = onprem?.backup.mode === "s3" ? onprem.backup.bucket : (str(platform["backups"]) ?? "").replace(/^s3:\/\//, "");
    const endpoint = onprem?.backup.mode === "s3" ? onprem.backup.endpoint : undefined;
    const creds = onprem?.backup.mode === "s3" ? onprem.backup.credentialsSecret : undefined;
    const ep = endpoint === undefined ? "" : ` --endpoint-url ${endpoint}`;
    const where =
        `the S3-compatible bucket \`${b}\`${endpoint === undefined ? "" : ` at ${endpoint}`}, under \`${prefix}\`` +
        (creds === undefined ? "" : ` (the job reads the bucket's keys from the Secret \`${creds}\`, which you manage)`);
    const list = [`aws${ep} s3 ls s3://${b}/${prefix}`];
    const restoreSource = endpoint === undefined ? `s3://${b}/${prefix}${dump}` : `./${dump}`;
    if (endpoint !== undefined) {
        list.push(`aws${ep} s3 cp s3://${b}/${prefix}${dump} .   # copy one locally first`);
    }
    return { where, list, restoreSource };
}

/** Where this stack's PostgreSQL dumps go: a cloud bucket, an S3-compatible bucket, or a volume in the cluster. */
function backupLocation(c: RunbookContext): BackupLocation {
    const { platform, platformName, onprem, postgres, ns } = c;
    const prefix = `postgres/${ns}/${postgres.workload}/`;
    /** The backup job names each dump `<name>-<UTC timestamp>.dump`. */
    const dump = `${postgres.workload}-20261127T030000Z.dump`;
    const bucket = str(platform["backupBucket"]);
    if (platformName === "aws" && bucket !== undefined) {
        return {
            where: `the S3 bucket \`${bucket}\`, under \`${prefix}\` (written through the backup job's own IAM role; it may write and read, never delete)`,
            list: [`aws s3 ls s3://${bucket}/${prefix}`],
            restoreSource: `s3://${bucket}/${prefix}${dump}`,
        };
    }
    if (platformName === "gcp" && bucket !== undefined) {
        return {
            where: `the GCS bucket \`${bucket}\`, under \`${prefix}\` (written through Workload Identity; the job may write and read, never delete)`,
            list: [`gcloud storage ls gs://${bucket}/${prefix}`],
            restoreSource: `gs://${bucket}/${prefix}${dump}`,
        };
    }
    if (onprem?.backup.mode === "s3" || (str(platform["backups"]) ?? "").startsWith("s3://")) {
        return s3CompatibleLocation(c, prefix, dump);
    }
    return {
        where: `the backup volume \`${postgres.workload}-backups\` (a PersistentVolumeClaim in \`${ns}\`; the job prunes it)`,
        list: [`${c.k} get pvc ${postgres.workload}-backups`],
        restoreSource: `./${dump}`,
    };
}

/** 4. The backup CronJob, checking and taking backups, listing them, and restoring one. */
export function backupsSection(c: RunbookContext): string[] {
    const { k, ns, postgres, backupCron, retention } = c;
    const location = backupLocation(c);
    const onVolume = location.restoreSource.startsWith("./") && c.onprem?.backup.mode !== "s3";
    const lines = [
        "## 4. Backups and restore",
        "",
        `The CronJob \`${backupCron}\` runs \`pg_dump --format=custom\` ${cronInWords(c.schedule)} (cluster time, normally UTC; \`herd:backupSchedule\`)`,
        `and stores the dump in ${location.where}.` +
            (retention === undefined ? "" : ` Dumps are kept ${retention} days (\`herd:backupRetentionDays\`).`) +
            " An interrupted dump never leaves a file that looks complete.",
        "",
        "Check that backups run, and look at the last one:",
        "",
        code([
            `${k} get cronjob ${backupCron}            # LAST SCHEDULE, and .status.lastSuccessfulTime`,
            `${k} get jobs -l app.kubernetes.io/name=${backupCron} --sort-by=.metadata.creationTimestamp`,
            `${k} logs job/<job-name> --all-containers     # the dump and upload steps`,
        ]),
        "",
        "Take a backup now (before an upgrade or a risky change):",
        "",
        code([`${k} create job --from=cronjob/${backupCron} ${backupCron}-manual-$(date +%Y%m%d%H%M)`]),
        "",
        onVolume ? "The dumps are files on this claim:" : "List the backups:",
        "",
        code(location.list),
        "",
    ];
    if (onVolume) {
        lines.push(
            `To copy a dump off the backup volume, mount \`${postgres.workload}-backups\` in a short-lived pod (or read it from`,
            "the volume's storage backend) and `kubectl cp` the file out.",
            "",
        );
    }
    lines.push(
        "**Restore.** `restore-postgres.sh` (in this bundle) streams a dump into `pg_restore --clean --if-exists",
        `--single-transaction\` inside the database pod \`${postgres.workload}-0\`: either every object is restored or nothing`,
        "changes. It replaces the database's current contents, so it asks you to type the pod name first (`--yes` skips",
        "that, for scripts). It needs kubectl access to the namespace, plus the aws CLI for `s3://` or gcloud for `gs://`",
        "sources.",
        "",
        code([`./restore-postgres.sh --namespace ${ns} --name ${postgres.workload} ${location.restoreSource}   # a dump from the list above`]),
        "",
        "Options: `--context <kube-context>`, `--namespace`, `--name` (the PostgreSQL StatefulSet), `--yes`. The API keeps",
        "running during a restore; stop traffic first if it must not see the old data disappear.",
        "",
        "**Point-in-time recovery.** PostgreSQL also archives its write-ahead log continuously with pgBackRest (a",
        "segment at least every `herd:postgresArchiveTimeoutSeconds`, 60 s by default) to its own repository in the backup",
        `store (the prefix \`pgbackrest/\`, or the claim \`${postgres.workload}-pgbackrest\` without a bucket), with full and`,
        `differential backups by the CronJobs \`${postgres.workload}-pitr-full\` and \`${postgres.workload}-pitr-diff\`. Check them, and`,
        "what the repository holds:",
        "",
        code([
            `${k} get cronjob ${postgres.workload}-pitr-full ${postgres.workload}-pitr-diff   # .status.lastSuccessfulTime`,
            `${k} exec ${postgres.workload}-0 -c postgres -- pgbackrest info   # backups, and the archived WAL range`,
        ]),
        "",
        "Restore to the latest archived moment, or to a time (with its zone). This stops PostgreSQL (the API answers",
        "errors meanwhile), restores into its volume, starts it, takes a new full backup, empties the Redis cache and",
        "rebuilds the search index from the restored rows:",
        "",
        code([
            `./restore-postgres.sh --namespace ${ns} --name ${postgres.workload} --pitr`,
            `./restore-postgres.sh --namespace ${ns} --name ${postgres.workload} --pitr --target '2026-11-30 14:05:00+00'`,
        ]),
        "",
        "Do not run `pulumi up` while a restore runs: it would scale PostgreSQL back up.",
        "",
        "Redis is a cache and is not backed up: everything in it can be rebuilt from PostgreSQL. Elasticsearch is",
        "snapshotted every `herd:elasticSnapshotIntervalMinutes` to the repository `herd-backups` when `herd:elasticSnapshots`",
        "is on (see the README's Backup repositories), and its index can always be rebuilt from PostgreSQL:",
        "",
        code([`${k} exec deploy/api -- python -m herd_api.reindex`]),
        "",
    );
    return lines;
}
