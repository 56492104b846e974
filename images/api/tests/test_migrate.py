"""`python -m herd_api.migrate`: idempotent, safe concurrently, clear failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from servers import PostgresServer, free_port

API_DIR = Path(__file__).resolve().parent.parent


def run_migrate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "herd_api.migrate", *args],
        cwd=API_DIR,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def fresh_database(postgres: PostgresServer) -> str:
    name = f"migrate_{free_port()}"
    postgres.create_database(name)
    return name


def test_migrate_twice(postgres: PostgresServer) -> None:
    env = postgres.env(fresh_database(postgres))
    first = run_migrate(env)
    assert first.returncode == 0, first.stderr
    assert "applied 1 migration(s)" in first.stdout and "0001_create_items" in first.stdout
    second = run_migrate(env)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout

    with postgres.superuser(env["DATABASE_NAME"]) as conn:
        assert conn.execute("SELECT version FROM schema_migrations").fetchall() == [("0001_create_items",)]
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'items'")}
        assert {"items_pkey", "items_created_at_idx", "items_search_vector_idx"} <= indexes
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'items'").fetchone()
        assert owner == (postgres.user,)


def test_migrate_concurrently(postgres: PostgresServer) -> None:
    env = postgres.env(fresh_database(postgres))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "herd_api.migrate"],
            cwd=API_DIR,
            env={"PATH": os.environ.get("PATH", ""), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    assert [code for code, _, _ in results] == [0, 0, 0, 0], results
    outputs = [out for _, out, _ in results]
    assert sum("applied 1 migration(s)" in out for out in outputs) == 1
    assert sum("up to date" in out for out in outputs) == 3
    with postgres.superuser(env["DATABASE_NAME"]) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (1,)


def test_migrate_with_database_unreachable(postgres: PostgresServer) -> None:
    port = free_port()
    result = run_migrate({**postgres.env(), "DATABASE_PORT": str(port)})
    assert result.returncode == 1
    assert f"herd-api migrate: cannot reach PostgreSQL at 127.0.0.1:{port}/herd as herd" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_waits_for_the_database_only_when_asked(postgres: PostgresServer) -> None:
    result = run_migrate({**postgres.env(), "DATABASE_PORT": str(free_port())}, "--wait", "1")
    assert result.returncode == 1
    assert "cannot reach PostgreSQL" in result.stderr


def test_wait_only_returns_once_the_database_accepts_logins_and_migrates_nothing(postgres: PostgresServer) -> None:
    env = postgres.env(fresh_database(postgres))
    result = run_migrate(env, "--wait", "5", "--wait-only")
    assert result.returncode == 0, result.stderr
    assert "accepts connections" in result.stdout
    with postgres.superuser(env["DATABASE_NAME"]) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'").fetchone() == (0,)


def test_wait_only_gives_up_after_the_wait(postgres: PostgresServer) -> None:
    result = run_migrate({**postgres.env(), "DATABASE_PORT": str(free_port())}, "--wait", "1", "--wait-only")
    assert result.returncode == 1
    assert "cannot reach PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_with_bad_credentials(postgres: PostgresServer) -> None:
    result = run_migrate({**postgres.env(), "DATABASE_PASSWORD": "wrong"})
    assert result.returncode == 1
    assert "password authentication failed" in result.stderr
    assert "wrong" not in result.stderr


def test_migrate_with_missing_configuration() -> None:
    result = run_migrate({"DATABASE_HOST": "db"})
    assert result.returncode == 2
    assert "DATABASE_NAME is required" in result.stderr
    assert "DATABASE_PASSWORD (or DATABASE_PASSWORD_FILE) is required" in result.stderr
    assert "REDIS" not in result.stderr  # migrations need only the database
