"""Real, throwaway PostgreSQL / Redis / uwsgi processes for the tests (temp dirs, free ports).

Mirrors tests/services/postgres.ts: PostgreSQL runs as the ``postgres`` user when the tests run as
root (it refuses root). In CI (``CI=true``) a missing binary is a failure, never a skip.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient

IN_CI = os.environ.get("CI", "").lower() == "true"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def require(reason_missing: str | None) -> None:
    """Skips (locally) or fails (CI=true) when something the test needs is missing."""
    if reason_missing is None:
        return
    if IN_CI:
        pytest.fail(f"{reason_missing} (CI=true: missing tools fail instead of skipping)", pytrace=False)
    pytest.skip(reason_missing)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as exc:  # keep polling
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


# -- the API's sign-in ------------------------------------------------------------------------------

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "herd-admin-pw"
SESSION_SECRET = "herd-test-session-secret-0123456789"
#: The header every cookie-authenticated write (and login/logout) carries (see herd_api/auth.py).
WRITE_HEADERS = {"X-Herd-Request": "1"}


def auth_env() -> dict[str, str]:
    """The HERD_* variables the API refuses to start without (the username stays at its default)."""
    return {"HERD_ADMIN_PASSWORD": ADMIN_PASSWORD, "HERD_SESSION_SECRET": SESSION_SECRET}


def basic_auth(username: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD) -> dict[str, str]:
    """The Authorization header a script sends instead of signing in."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def sign_in(client: FlaskClient, password: str = ADMIN_PASSWORD) -> FlaskClient:
    """Signs a Flask test client in as the admin, as the browser does: the session cookie stays in the
    client's cookie jar and every later request carries X-Herd-Request."""
    response = client.post(
        "/api/auth/login", json={"username": ADMIN_USERNAME, "password": password}, headers=WRITE_HEADERS
    )
    assert response.status_code == 200, response.get_json()
    client.environ_base["HTTP_X_HERD_REQUEST"] = "1"
    return client


def sign_in_http(base_url: str, password: str = ADMIN_PASSWORD) -> dict[str, str]:
    """Signs in over real HTTP; returns the headers a signed-in browser sends on a write (the
    session cookie and X-Herd-Request)."""
    request = urllib.request.Request(
        base_url + "/api/auth/login",
        data=json.dumps({"username": ADMIN_USERNAME, "password": password}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **WRITE_HEADERS},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith("herd_session="), set_cookie
    return {"Cookie": set_cookie.split(";", 1)[0], **WRITE_HEADERS}


# -- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bin_dir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True)
        for version in versions:
            if (version / "bin" / "initdb").exists() and (version / "bin" / "pg_ctl").exists():
                return version / "bin"
    return None


def postgres_missing() -> str | None:
    if postgres_bin_dir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found (apt-get install postgresql)"
    if AS_ROOT and shutil.which("runuser") is None:
        return "runuser not found (needed to run PostgreSQL as the postgres user)"
    return None


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if AS_ROOT else argv


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    user: str = "herd"
    password: str = "herd-db-pw"
    database: str = "herd"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def superuser(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def create_database(self, name: str) -> None:
        with self.superuser() as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{self.user}"')

    def env(self, database: str | None = None) -> dict[str, str]:
        """The API's DATABASE_* variables for this server (TCP + password, like in a cluster)."""
        return {
            "DATABASE_HOST": "127.0.0.1",
            "DATABASE_PORT": str(self.port),
            "DATABASE_NAME": database or self.database,
            "DATABASE_USER": self.user,
            "DATABASE_PASSWORD": self.password,
        }

    def stop(self) -> None:
        try:
            subprocess.run(
                _as_postgres([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"]),
                check=False,
                capture_output=True,
                timeout=60,
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="herd-api-pg-"))
    (root / "sock").mkdir()
    if AS_ROOT:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(root / "sock", "postgres", "postgres")
    return launch_postgres(PostgresServer(bin_dir=bin_dir, root=root, port=free_port()), host_auth="scram-sha-256")


def launch_postgres(
    server: PostgresServer,
    *,
    host_auth: str,
    extra_options: str = "",
    before_start: Callable[[PostgresServer], None] | None = None,
    what: str = "PostgreSQL",
) -> PostgresServer:
    """initdb (``host_auth`` for TCP), ``before_start`` (e.g. a pg_hba of its own), a fast unsynced server on
    127.0.0.1 with ``extra_options``, and the test role and database; on any failure the server is stopped and the
    error carries its log."""
    bin_dir, root = server.bin_dir, server.root
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "initdb"), "-D", str(server.data_dir), "-U", "postgres", "-E", "UTF8",
                    "--auth-local=trust", f"--auth-host={host_auth}", "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        if before_start is not None:
            before_start(server)
        options = (
            f"-p {server.port} -k {server.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            f" -c full_page_writes=off -c synchronous_commit=off {extra_options}"
        ).strip()
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-w", "-t", "60",
                    "-l", str(root / "server.log"), "-o", options, "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=90,
        )
        with server.superuser() as conn:
            conn.execute(f"CREATE ROLE \"{server.user}\" LOGIN PASSWORD '{server.password}'")
            conn.execute(f'CREATE DATABASE "{server.database}" OWNER "{server.user}"')
    except BaseException as exc:
        log = root / "server.log"
        detail = log.read_text() if log.exists() else ""
        if isinstance(exc, subprocess.CalledProcessError):
            detail += (exc.stderr or b"").decode(errors="replace")
        server.stop()
        raise RuntimeError(f"could not start {what}: {exc}\n{detail}") from exc
    return server


# -- Redis --------------------------------------------------------------------------------------


def redis_missing() -> str | None:
    return None if shutil.which("redis-server") else "redis-server not found (apt-get install redis-server)"


@dataclass
class RedisServer:
    port: int
    password: str
    root: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def env(self) -> dict[str, str]:
        return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port), "REDIS_PASSWORD": self.password}

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, socket_timeout=2)

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--requirepass", self.password,
                "--save", "", "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no",
                "--logfile", str(self.root / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_for(lambda: self.client().ping(), 10, f"redis-server on port {self.port}")
        return self

    def kill(self) -> None:
        """Stops the server now (the port stays reserved for a restart)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def start_redis(password: str = "herd-redis-pw") -> RedisServer:
    root = Path(tempfile.mkdtemp(prefix="herd-api-redis-"))
    return RedisServer(port=free_port(), password=password, root=root).start()


# -- uwsgi --------------------------------------------------------------------------------------


def uwsgi_missing() -> str | None:
    binary = shutil.which("uwsgi")
    if binary is None:
        return "uwsgi not found (apt-get install uwsgi uwsgi-plugin-python3)"
    probe = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"uwsgi --version failed: {probe.stderr.strip()}"
    if "debian" in probe.stdout and not any(
        Path("/usr/lib/uwsgi/plugins", name).exists() for name in ("python3_plugin.so", "python311_plugin.so")
    ):
        return "Debian's uwsgi has no python3 plugin (apt-get install uwsgi-plugin-python3)"
    return None


@dataclass
class UwsgiServer:
    process: subprocess.Popen
    port: int
    log_path: Path
    metrics_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start_uwsgi(ini: Path, venv: Path, env: Mapping[str, str], log_dir: Path, port: int | None = None) -> UwsgiServer:
    """Runs ``uwsgi --ini <ini>`` exactly as the image does; only the environment differs."""
    port = port or free_port()
    log_path = log_dir / f"uwsgi-{port}.log"
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "VIRTUAL_ENV": str(venv),
        "UWSGI_HTTP_SOCKET": f"127.0.0.1:{port}",
        "HERD_METRICS_ADDRESS": "127.0.0.1",
        "HERD_METRICS_PORT": str(free_port()),
        "PROMETHEUS_MULTIPROC_DIR": str(log_dir / f"metrics-{port}"),
        **auth_env(),
        **env,
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["uwsgi", "--ini", str(ini)], env=full_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    return UwsgiServer(process=process, port=port, log_path=log_path, metrics_port=int(full_env["HERD_METRICS_PORT"]))
