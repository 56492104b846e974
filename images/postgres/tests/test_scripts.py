"""herd-pg-backup and herd-pg-restore on bad input and in bad situations: each refuses with an exit code and a
message naming what is wrong, what was expected and what was given. (What they do when all is well is proven in
test_pitr.py.)"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import ARCHIVE_COMMAND, Sandbox, pgbackrest_missing
from servers import postgres_missing, require


@pytest.fixture
def box() -> Iterator[Sandbox]:
    require(postgres_missing())  # the sandbox finds PostgreSQL's binaries; the scripts themselves need no server
    sandbox = Sandbox.create()
    try:
        yield sandbox
    finally:
        sandbox.destroy()


@pytest.fixture
def path_without_pgbackrest(box: Sandbox) -> str:
    """A PATH with every command of /usr/bin and /bin but pgbackrest (a container built without it)."""
    tools = box.root / "tools"
    tools.mkdir()
    for directory in ("/usr/bin", "/bin"):
        for entry in Path(directory).iterdir():
            if entry.name != "pgbackrest" and not (tools / entry.name).exists():
                (tools / entry.name).symlink_to(entry)
    return f"{box.bin_dir}:{tools}"


# -- herd-pg-backup -----------------------------------------------------------------------------


def test_backup_help_prints_usage(box: Sandbox) -> None:
    done = box.script("herd-pg-backup", "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("herd-pg-backup <full|diff|incr>: one pgBackRest backup")
    assert "PGBACKREST_REPO1_RETENTION_FULL" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "herd-pg-backup: missing the backup type: expected full, diff or incr"),
        (("weekly",), "herd-pg-backup: unknown backup type 'weekly': expected full, diff or incr"),
        (("full", "now"), "herd-pg-backup: expected exactly one argument (full, diff or incr), got 2: full now"),
    ],
)
def test_backup_refuses_bad_arguments(box: Sandbox, args: tuple[str, ...], message: str) -> None:
    done = box.script("herd-pg-backup", *args)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == message


def test_backup_needs_pgbackrest(box: Sandbox, path_without_pgbackrest: str) -> None:
    done = box.script("herd-pg-backup", "full", PATH=path_without_pgbackrest)
    assert done.returncode == 1
    assert "herd-pg-backup: pgbackrest not found on PATH" in done.stderr


def test_backup_refuses_another_stanza(box: Sandbox) -> None:
    require(pgbackrest_missing())
    done = box.script("herd-pg-backup", "full", PGBACKREST_STANZA="main")
    assert done.returncode == 1
    assert "PGBACKREST_STANZA is 'main': expected 'herd'" in done.stderr


def test_backup_needs_the_data_directory(box: Sandbox) -> None:
    require(pgbackrest_missing())
    env = {k: v for k, v in box.env().items() if k not in ("PGDATA", "PGBACKREST_PG1_PATH")}
    done = box.run([str(box.bin_dir / "herd-pg-backup"), "full"], env=env)
    assert done.returncode == 1
    assert "neither PGBACKREST_PG1_PATH nor PGDATA is set: expected the PostgreSQL data directory" in done.stderr


def test_backup_names_an_unreachable_repository(box: Sandbox) -> None:
    require(pgbackrest_missing())
    s3 = {
        "PGBACKREST_REPO1_TYPE": "s3", "PGBACKREST_REPO1_PATH": "/herd", "PGBACKREST_REPO1_S3_BUCKET": "nowhere",
        "PGBACKREST_REPO1_S3_ENDPOINT": "127.0.0.1", "PGBACKREST_REPO1_STORAGE_PORT": "1",
        "PGBACKREST_REPO1_S3_REGION": "us-east-1", "PGBACKREST_REPO1_S3_URI_STYLE": "path",
        "PGBACKREST_REPO1_S3_KEY": "k", "PGBACKREST_REPO1_S3_KEY_SECRET": "s", "PGBACKREST_IO_TIMEOUT": "1",
    }
    done = box.run([str(box.bin_dir / "herd-pg-backup"), "full"], env=box.env(**s3))
    assert done.returncode == 1
    assert "herd-pg-backup: cannot read the repository: [HostConnectError] unable to connect to '127.0.0.1:1'" in (
        done.stderr
    )
    assert done.stderr.rstrip().endswith("check the PGBACKREST_REPO1_* settings")


def test_backup_fails_when_the_server_does_not_archive(box: Sandbox) -> None:
    require(pgbackrest_missing())
    box.initdb()
    box.start({"archive_mode": "off", "archive_command": ARCHIVE_COMMAND})
    done = box.script("herd-pg-backup", "full")
    assert done.returncode == 1
    assert "archive_mode must be enabled" in done.stderr  # pgBackRest's own reason
    assert "herd-pg-backup: check failed: WAL does not reach the repository" in done.stderr
    assert "PGBACKREST_PG1_PATH included" in done.stderr


# -- herd-pg-restore ----------------------------------------------------------------------------


def test_restore_help_prints_usage(box: Sandbox) -> None:
    done = box.script("herd-pg-restore", "-h")
    assert done.returncode == 0
    assert done.stdout.startswith("herd-pg-restore [--target '<timestamp with zone>']")
    assert "PostgreSQL STOPPED" in done.stdout


@pytest.mark.parametrize("bad", ["yesterday", "2026-11-30 14:05:00", "2026-11-30T14:05:00Z", "2026-11-30 14:05+00"])
def test_restore_refuses_a_target_that_is_not_a_timestamp_with_zone(box: Sandbox, bad: str) -> None:
    done = box.script("herd-pg-restore", "--target", bad)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"herd-pg-restore: --target '{bad}' is not a timestamp with zone: expected "
        "'YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM]', e.g. '2026-11-30 14:05:00+00'"
    )


NEEDS_VALUE = "herd-pg-restore: --target needs a value: a timestamp with zone, e.g. '2026-11-30 14:05:00+00'"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--target",), NEEDS_VALUE),
        (("--target=",), NEEDS_VALUE),
        (("--target", ""), NEEDS_VALUE),
        (("--latest",), "herd-pg-restore: unknown argument '--latest'"),
    ],
)
def test_restore_refuses_bad_arguments(box: Sandbox, args: tuple[str, ...], message: str) -> None:
    done = box.script("herd-pg-restore", *args)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == message


def test_restore_accepts_the_target_forms_it_documents(box: Sandbox, path_without_pgbackrest: str) -> None:
    """Past the target check (it then stops at the missing pgbackrest, before touching anything)."""
    for good in ("2026-11-30 14:05:00+00", "2026-11-30 14:05:00.123456-05:30", "2026-11-30 14:05:00+0100"):
        done = box.script("herd-pg-restore", f"--target={good}", PATH=path_without_pgbackrest)
        assert done.returncode == 1, good
        assert "herd-pg-restore: pgbackrest not found on PATH" in done.stderr


def test_restore_refuses_two_different_data_directories(box: Sandbox) -> None:
    require(pgbackrest_missing())
    done = box.script("herd-pg-restore", PGDATA="/var/lib/postgresql/data/pgdata")
    assert done.returncode == 1
    assert (
        f"PGBACKREST_PG1_PATH ({box.data_dir}) and PGDATA (/var/lib/postgresql/data/pgdata) differ: "
        "expected the same data directory"
    ) in done.stderr


def test_restore_removes_a_stale_pid_file_and_says_so(box: Sandbox) -> None:
    """A crashed server leaves postmaster.pid behind: no server runs, so the restore goes on (and here fails,
    naming the step, because the repository is empty)."""
    require(pgbackrest_missing())
    box.initdb()
    gone = subprocess.Popen(["true"])
    gone.wait()
    pid_file = box.data_dir / "postmaster.pid"
    pid_file.write_text(f"{gone.pid}\n{box.data_dir}\n0\n{box.port}\n{box.socket_dir}\n\n")
    if os.geteuid() == 0:
        os.chown(pid_file, *_postgres_ids())
    done = box.script("herd-pg-restore")
    assert f"{pid_file} is stale (no server runs with pid {gone.pid}): removing it" in done.stdout
    assert not pid_file.exists()
    assert done.returncode == 1
    assert (
        "herd-pg-restore: pgbackrest restore failed "
        f"(to the latest archived WAL, in place (--delta) into {box.data_dir})"
    ) in done.stderr


def _postgres_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid
