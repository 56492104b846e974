"""Restore time per GB, measured: PostgreSQL + pgBackRest + herd-pg-backup/herd-pg-restore on this machine.

    npm run bench:restore -- [--size-mb N] [--change-mb M] [--process-max P]

Loads N MB (default 1024) of rows into a real server archiving WAL to a posix repository (a temp dir), takes a
full backup with herd-pg-backup, then writes M MB more (default N/4: the changes since the backup, replayed from
the archive), crashes the server (every process SIGKILLed), deletes its data directory and times herd-pg-restore
(the files from the backup) and the start (the WAL replay up to the latest point, then promotion). Prints the
figures with the date. The image's pgBackRest defaults apply (zstd, bundling); P is PGBACKREST_PROCESS_MAX
(default 1, pgBackRest's). Not a test: run it by hand, it takes minutes per GB.

Runs with the API's venv (images/api/setup.sh), Debian's PostgreSQL and pgbackrest (scripts/system-packages.sh);
as root, the server runs as the postgres user. The sandbox is the PostgreSQL image tests' harness (one copy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "images" / "postgres" / "tests"), str(ROOT / "images" / "api" / "tests")]

from harness import ARCHIVE_COMMAND, Sandbox, default_archive_timeout, pgbackrest_missing  # noqa: E402

MB = 1024 * 1024
# ~1 kB a row of md5 text: compresses about as well as typical application rows (2-3x), unlike repeated text.
ROW_SQL = (
    "INSERT INTO bench (payload) SELECT (SELECT string_agg(md5(random()::text || g::text || i::text), '') "
    "FROM generate_series(1, 30) AS i) FROM generate_series(1, %s) AS g"
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="npm run bench:restore --", description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="database size to load, in MB (default 1024)")
    parser.add_argument("--change-mb", type=int, help="data written after the backup, in MB (default: size/4)")
    parser.add_argument("--process-max", type=int, default=1, help="PGBACKREST_PROCESS_MAX (default 1)")
    args = parser.parse_args(argv)
    if args.size_mb < 16:
        parser.error(f"--size-mb: expected at least 16, got {args.size_mb}")
    if args.change_mb is None:
        args.change_mb = max(16, args.size_mb // 4)
    if args.change_mb < 1:
        parser.error(f"--change-mb: expected at least 1, got {args.change_mb}")
    if args.process_max < 1:
        parser.error(f"--process-max: expected at least 1, got {args.process_max}")
    return args


def load(box: Sandbox, megabytes: int) -> None:
    """Inserts rows in batches until the table has grown by `megabytes`."""
    with box.connect() as conn:
        def size() -> int:
            row = conn.execute("SELECT pg_total_relation_size('bench')").fetchone()
            assert row is not None
            return int(row[0])

        goal = size() + megabytes * MB
        while (current := size()) < goal:
            batch = max(1000, min(100_000, (goal - current) // 1100))
            conn.execute(ROW_SQL % batch)


def wal_bytes(box: Sandbox, since: str) -> int:
    with box.connect() as conn:
        row = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", (since,)).fetchone()
        assert row is not None
        return int(row[0])


def current_lsn(box: Sandbox) -> str:
    with box.connect() as conn:
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        return str(row[0])


def wait_archived(box: Sandbox, timeout: float = 600) -> None:
    """Switches to a new WAL segment and waits until the one before it is in the repository."""
    with box.connect() as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        segment = row[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = conn.execute("SELECT last_archived_wal >= %s FROM pg_stat_archiver", (segment,)).fetchone()
            if done and done[0]:
                return
            time.sleep(0.2)
    raise TimeoutError(f"WAL segment {segment} not archived within {timeout} s")


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def version(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    missing = pgbackrest_missing()
    if missing:
        print(f"bench-restore: {missing}", file=sys.stderr)
        return 1
    settings = {
        "archive_mode": "on",
        "archive_command": ARCHIVE_COMMAND,
        "archive_timeout": str(default_archive_timeout()),
        "max_wal_size": "4GB",  # no checkpoint storm while loading; the restore replays what it must either way
    }
    box = Sandbox.create(prefix="herd-bench-restore-")
    # start-fast: an immediate checkpoint at the backup's start (a scheduled backup spreads it over minutes instead)
    extra = {"PGBACKREST_PROCESS_MAX": str(args.process_max), "PGBACKREST_START_FAST": "y"}
    try:
        box.initdb()
        box.start(settings)
        with box.connect() as conn:
            conn.execute("CREATE TABLE bench (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text)")
        started = time.monotonic()
        load(box, args.size_mb)
        load_seconds = time.monotonic() - started
        with box.connect() as conn:
            row = conn.execute("SELECT pg_database_size('postgres')").fetchone()
            assert row is not None
            db_bytes = int(row[0])

        started = time.monotonic()
        box.script("herd-pg-backup", "full", timeout=7200, **extra).check()
        backup_seconds = time.monotonic() - started
        repo_bytes = directory_bytes(box.root / "repo")

        since = current_lsn(box)
        load(box, args.change_mb)
        changed_wal = wal_bytes(box, since)
        wait_archived(box)
        with box.connect() as conn:
            row = conn.execute("SELECT count(*) FROM bench").fetchone()
            assert row is not None
            rows_before = int(row[0])
        box.kill9()
        shutil.rmtree(box.data_dir)

        started = time.monotonic()
        box.script("herd-pg-restore", timeout=7200, **extra).check()
        restore_seconds = time.monotonic() - started
        started = time.monotonic()
        box.start(settings, timeout=3600)
        replay_seconds = time.monotonic() - started
        with box.connect() as conn:
            row = conn.execute("SELECT count(*) FROM bench").fetchone()
            assert row is not None
            rows_after = int(row[0])
        if rows_after != rows_before:
            print(f"bench-restore: restored {rows_after} rows, expected {rows_before}", file=sys.stderr)
            return 1
    except BaseException:
        print(box.log(), file=sys.stderr)
        raise
    finally:
        box.destroy()

    gb = db_bytes / (1024 * MB)
    wal_gb = changed_wal / (1024 * MB)
    total = restore_seconds + replay_seconds
    pg_version = version([str(box.pg_bin / "postgres"), "--version"]).split()[2]
    print(f"bench:restore {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"{version(['pgbackrest', 'version'])}, PostgreSQL {pg_version}, posix repository, "
          f"process-max {args.process_max}")
    print(f"  database           {db_bytes / MB:8.0f} MB   loaded in {load_seconds:.0f} s")
    print(f"  full backup        {backup_seconds:8.1f} s    {backup_seconds / gb:.1f} s/GB, "
          f"repository {repo_bytes / MB:.0f} MB (backup + WAL)")
    print(f"  changes after it   {changed_wal / MB:8.0f} MB of WAL, archived")
    print(f"  restore (files)    {restore_seconds:8.1f} s    {restore_seconds / gb:.1f} s/GB of database")
    print(f"  WAL replay + start {replay_seconds:8.1f} s    {replay_seconds / wal_gb:.1f} s/GB of WAL")
    print(f"  restore to latest  {total:8.1f} s    {total / gb:.1f} s per GB of database "
          f"(with {wal_gb * 1024:.0f} MB of WAL to replay); {rows_after} rows, all there")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
