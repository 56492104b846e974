"""The recovery point, for real: PostgreSQL archiving WAL with pgBackRest, a crash that takes the data directory
with it, and herd-pg-restore bringing it back, to the latest point and to a moment.

For each repository type (a posix directory; S3, served by moto over TLS):
1. archiving on (archive_command, archive_timeout), a first herd-pg-backup (creates the stanza);
2. a writer commits a row every ~50 ms, each its own transaction;
3. every process of the server is SIGKILLed at once and the data directory deleted (the pod and its volume gone);
4. herd-pg-restore (to the latest), start: the rows kept are exactly the first ones, and the writes lost are only
   those of the last archive_timeout seconds (printed: rows and seconds lost);
5. herd-pg-restore --target <a moment between two commits>, start: exactly the rows committed before it (on
   S3 with an incremental backup taken after that moment: pgBackRest must restore the full one);
6. herd-pg-backup full after the restores, with retention of one full backup: the older one is expired.

The posix run keeps the component's default archive_timeout (60 s) and writes for 66 s, so a timeout-forced
segment switch happens during the writes; the S3 run uses 5 s to stay quick.
"""

from __future__ import annotations

import re
import shutil
import time

from harness import (
    ARCHIVE_COMMAND,
    MotoS3,
    Sandbox,
    Writer,
    default_archive_timeout,
    pgbackrest_missing,
    recovered_ids,
    timestamp_with_zone,
)
from servers import require

# How long after a forced segment switch the archiver may still be pushing it when the crash comes (pgBackRest
# compresses and stores a 16 MB segment; ~0.1-0.3 s measured here): the recovery point is archive_timeout plus this.
PUSH_MARGIN_SECONDS = 2.0
SUMMARY = re.compile(
    r"^herd-pg-backup: full backup \d{8}-\d{6}F of stanza 'herd' done in \d+ s; "
    r"the repository holds (\d+) backup\(s\) after expiry(.*)$"
)
UPGRADED = " (asked for diff: pgBackRest takes a full backup when there is none to build on)"


def archive_settings(timeout: int) -> dict[str, str]:
    return {"archive_mode": "on", "archive_command": ARCHIVE_COMMAND, "archive_timeout": str(timeout)}


def prove_recovery(box: Sandbox, *, archive_timeout: int, write_seconds: float, label: str,
                   figures: list[str], first: str = "full", check_refusal: bool = False,
                   backup_while_writing: bool = False) -> None:
    settings = archive_settings(archive_timeout)
    box.initdb()
    box.start(settings)
    with box.connect() as conn:
        conn.execute("CREATE TABLE writes (id integer PRIMARY KEY, committed_at timestamptz NOT NULL)")

    backup = box.script("herd-pg-backup", first).check()
    assert "stanza 'herd' not in the repository yet: creating it" in backup.stdout
    summary = backup.stdout.strip().splitlines()[-1]
    assert (match := SUMMARY.match(summary)) and match.group(1) == "1", summary
    assert match.group(2) == ("" if first == "full" else UPGRADED), summary
    full_label = summary.split()[3]

    writer = Writer(box)
    writer.start()
    incr_started = None
    if backup_while_writing:  # an incremental backup taken after the moment restored to below
        time.sleep(write_seconds / 2)
        incr_started = time.time()
        incr = box.script("herd-pg-backup", "incr").check()
        assert re.search(r"incr backup \d{8}-\d{6}F_\d{8}-\d{6}I ", incr.stdout), incr.stdout
        time.sleep(max(0.0, write_seconds / 2 - (time.time() - incr_started)))
    else:
        time.sleep(write_seconds)
    if check_refusal:
        refused = box.script("herd-pg-restore")
        assert refused.returncode == 1
        assert f"a PostgreSQL server is running on {box.data_dir}" in refused.stderr
        assert "stop it first" in refused.stderr
    crashed_at = box.kill9()
    writer.join(timeout=30)
    assert writer.error is not None, "the writer should have seen the server die"
    shutil.rmtree(box.data_dir)

    # -- to the latest point -----------------------------------------------------------------------------------
    started = time.monotonic()
    restore = box.script("herd-pg-restore").check()
    assert "to the latest archived WAL, into an empty directory" in restore.stdout
    box.start(settings)
    restore_seconds = time.monotonic() - started
    commits = writer.commits
    ids = recovered_ids(box)
    kept = len(ids)
    assert ids == list(range(1, kept + 1)), "the rows kept must be exactly the first ones, without a gap"
    assert kept >= 1, "nothing written after the backup came back: WAL was not archived on archive_timeout"
    assert kept <= len(commits) + 1, "more rows than were written (at most one commit in flight at the crash)"
    acknowledged_kept = min(kept, len(commits))
    rows_lost = len(commits) - acknowledged_kept
    seconds_lost = crashed_at - commits[acknowledged_kept - 1].acked
    figures.append(
        f"{label}: archive_timeout {archive_timeout} s, {len(commits)} commits in {write_seconds:.0f} s, "
        f"kill -9 + data directory deleted -> restore to latest kept {kept}, lost {rows_lost} rows = "
        f"{seconds_lost:.1f} s of writes (bound: {archive_timeout} s + {PUSH_MARGIN_SECONDS:.0f} s push); "
        f"restore + replay + start {restore_seconds:.1f} s"
    )
    assert seconds_lost <= archive_timeout + PUSH_MARGIN_SECONDS, figures[-1]

    # -- to a moment between two commits -----------------------------------------------------------------------
    # a moment in the middle of what was kept; with a backup taken while writing, a second before that backup
    # began, so that pgBackRest must pick the full backup, the newest one that ended before the moment
    latest_moment = commits[kept - 1].acked if incr_started is None else incr_started - 1
    before = sum(1 for c in commits[:kept] if c.acked < latest_moment) // (2 if incr_started is None else 1)
    assert 1 <= before < kept
    target = timestamp_with_zone((commits[before - 1].acked + commits[before].sent) / 2)
    box.stop()
    pitr = box.script("herd-pg-restore", "--target", target).check()
    assert f"to {target}, in place (--delta)" in pitr.stdout
    assert f"restore backup set {full_label}" in pitr.stdout, pitr.stdout
    box.start(settings)
    assert recovered_ids(box) == list(range(1, before + 1)), f"restore to {target}: rows committed before it only"
    with box.connect() as conn:  # promoted: takes writes again
        conn.execute("INSERT INTO writes (id, committed_at) VALUES (-1, now())")
    figures.append(f"{label}: restore to {target} kept exactly the {before} rows committed before it")

    # -- backups go on after a restore; retention expires the older full backup --------------------------------
    again = box.script("herd-pg-backup", "full", PGBACKREST_REPO1_RETENTION_FULL="1").check()
    assert "not in the repository yet" not in again.stdout
    assert (match := SUMMARY.match(again.stdout.strip().splitlines()[-1])) and match.group(1) == "1", again.stdout


def test_posix_repository_default_archive_timeout(figures: list[str]) -> None:
    require(pgbackrest_missing())
    box = Sandbox.create()
    try:
        prove_recovery(box, archive_timeout=default_archive_timeout(), write_seconds=66, label="posix",
                       figures=figures, check_refusal=True)
    except BaseException:
        print(box.log())
        raise
    finally:
        box.destroy()


def test_s3_repository_over_tls(moto_s3: MotoS3, figures: list[str]) -> None:
    require(pgbackrest_missing())
    box = Sandbox.create(repo_env=moto_s3.repo_env("/pitr"))
    try:
        # the first backup asked for is a diff: there is nothing to build on, so it is a full one, and says so
        prove_recovery(box, archive_timeout=5, write_seconds=12, label="s3 (moto, TLS)", figures=figures,
                       first="diff", backup_while_writing=True)
        assert moto_s3.object_count("pitr/archive/herd/") > 0, "WAL should be in the bucket"
        assert moto_s3.object_count("pitr/backup/herd/") > 0, "backups should be in the bucket"
    except BaseException:
        print(box.log())
        raise
    finally:
        box.destroy()
