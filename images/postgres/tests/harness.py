"""Real PostgreSQL + real pgBackRest + herd's scripts, in a throwaway directory.

A ``Sandbox`` is one temp directory owned by the ``postgres`` user (PostgreSQL refuses root; the image runs as
UID 999): the data directory, the server's socket, pgBackRest's lock directory, a posix repository when one is
used, and a bin/ with herd-pg-backup and herd-pg-restore copied in as the image's Dockerfile installs them. Every
pgBackRest setting is a PGBACKREST_* environment variable, and PGBACKREST_CONFIG=/dev/null keeps the Debian
package's /etc/pgbackrest.conf out (the image deletes it): the environment is the only configuration, as in a pod.

``MotoS3`` is moto's S3 server over TLS (moto_tls.py; a self-signed certificate made here, trusted through
PGBACKREST_REPO1_STORAGE_CA_FILE), for pgBackRest's S3 repository type.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from servers import AS_ROOT, free_port, postgres_bin_dir, postgres_missing, wait_for

IMAGE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = IMAGE_DIR.parent.parent
SCRIPTS = ("herd-pg-backup", "herd-pg-restore")
STANZA = "herd"
# The setting components/postgres-archive.ts renders (its unit test pins the same string).
ARCHIVE_COMMAND = f"pgbackrest --stanza={STANZA} archive-push %p"


def default_archive_timeout() -> int:
    """DEFAULT_ARCHIVE_TIMEOUT_SECONDS from components/postgres-archive.ts: the proof runs what the component sets."""
    source = (REPO_ROOT / "components" / "postgres-archive.ts").read_text()
    match = re.search(r"^export const DEFAULT_ARCHIVE_TIMEOUT_SECONDS = (\d+);$", source, flags=re.MULTILINE)
    assert match, "DEFAULT_ARCHIVE_TIMEOUT_SECONDS not found in components/postgres-archive.ts"
    return int(match.group(1))


def image_env() -> dict[str, str]:
    """The ENV defaults the Dockerfile sets (KEY=value pairs, unquoted): the tests run with the image's defaults."""
    text = (IMAGE_DIR / "Dockerfile").read_text()
    env: dict[str, str] = {}
    for block in re.findall(r"^ENV ((?:[^\n]*\\\n)*[^\n]*)$", text, flags=re.MULTILINE):
        for pair in block.replace("\\\n", " ").split():
            key, sep, value = pair.partition("=")
            assert sep and key and value, f"ENV {pair}: expected KEY=value"
            env[key] = value
    return env


def pgbackrest_missing() -> str | None:
    missing: str | None = postgres_missing()
    if missing:
        return missing
    if shutil.which("pgbackrest") is None:
        return "pgbackrest not found (apt-get install pgbackrest, or: sudo scripts/system-packages.sh install)"
    return None


def moto_missing() -> str | None:
    for module in ("moto", "flask_cors", "boto3", "cryptography"):
        if importlib.util.find_spec(module) is None:
            return f"Python module {module} not in {sys.prefix} (moto's S3 server; run images/api/setup.sh)"
    return None


def _as_postgres(argv: list[str]) -> list[str]:
    # found on the test process's PATH: the commands themselves run with the container's PATH
    return [shutil.which("runuser") or "runuser", "-u", "postgres", "--", *argv] if AS_ROOT else argv


def _chown_postgres(path: Path) -> None:
    if AS_ROOT:
        shutil.chown(path, "postgres", "postgres")


def become_subreaper() -> None:
    """Orphans of our children are reparented to this process instead of PID 1, so that the processes kill9() kills
    (the postmaster's backends, orphaned at once) can be reaped here. In a container PID 1 may never reap: a zombie
    postmaster would then look alive to the next server's socket lock check."""
    import ctypes

    pr_set_child_subreaper = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap(pids: list[int], timeout: float = 10) -> None:
    """Waits for each of these (killed) processes: reaps it when it has become our child, or sees it gone."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    break
            except ChildProcessError:  # reaped by its own parent, or not reparented to us yet
                if not Path(f"/proc/{pid}").exists():
                    break
            time.sleep(0.02)


def descendants(pid: int) -> list[int]:
    """pid and every process below it (from /proc), parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        out.append(current)
        todo.extend(children.get(current, []))
    return out


@dataclass
class Run:
    """A finished command: exit code and output."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> Run:
        assert self.returncode == 0, f"{' '.join(self.argv)} exited {self.returncode}:\n{self.stdout}\n{self.stderr}"
        return self


@dataclass
class Sandbox:
    root: Path
    port: int
    repo_env: dict[str, str]
    bin_dir: Path = field(init=False)
    pg_bin: Path = field(init=False)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        found = postgres_bin_dir()
        assert found is not None, postgres_missing()
        self.pg_bin = found
        self.bin_dir = self.root / "bin"

    @classmethod
    def create(cls, repo_env: Mapping[str, str] | None = None, prefix: str = "herd-pgbr-") -> Sandbox:
        become_subreaper()
        root = Path(tempfile.mkdtemp(prefix=prefix))
        root.chmod(0o755)
        _chown_postgres(root)
        box = cls(root=root, port=free_port(), repo_env=dict(repo_env or {}))
        for sub in ("sock", "lock", "bin"):
            (root / sub).mkdir()
            _chown_postgres(root / sub)
        for script in SCRIPTS:  # as the Dockerfile does: COPY --chmod=0755 ... /usr/local/bin/
            shutil.copy(IMAGE_DIR / script, box.bin_dir / script)
            (box.bin_dir / script).chmod(0o755)
        if not box.repo_env:
            repo = root / "repo"
            repo.mkdir()
            _chown_postgres(repo)
            box.repo_env = {"PGBACKREST_REPO1_TYPE": "posix", "PGBACKREST_REPO1_PATH": str(repo)}
        return box

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def env(self, **extra: str) -> dict[str, str]:
        """The container's environment: what the server, archive_command and both scripts see."""
        return {
            **image_env(),
            "PATH": f"{self.bin_dir}:{self.pg_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "PGDATA": str(self.data_dir),
            "PGBACKREST_CONFIG": "/dev/null",
            "PGBACKREST_LOCK_PATH": str(self.root / "lock"),  # not the image's /tmp/pgbackrest: runs side by side
            # an immediate checkpoint when a backup starts; the image keeps pgBackRest's default, a checkpoint
            # spread over checkpoint_completion_target (seconds even for an empty cluster, nothing the tests prove)
            "PGBACKREST_START_FAST": "y",
            "PGBACKREST_PG1_PATH": str(self.data_dir),
            "PGBACKREST_PG1_PORT": str(self.port),
            "PGBACKREST_PG1_SOCKET_PATH": str(self.socket_dir),
            **self.repo_env,
            **extra,
        }

    def run(self, argv: list[str], env: Mapping[str, str] | None = None, timeout: float = 300) -> Run:
        """Runs a command as the postgres user with the container's environment."""
        with subprocess.Popen(_as_postgres(argv), env=dict(env or self.env()), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                for pid in reversed(descendants(process.pid)):  # pgbackrest under the script, not only runuser
                    with _ignore_gone():
                        os.kill(pid, signal.SIGKILL)
                process.communicate()
                raise
        return Run(argv, process.returncode, stdout, stderr)

    def script(self, name: str, *args: str, timeout: float = 300, **extra_env: str) -> Run:
        return self.run([str(self.bin_dir / name), *args], env=self.env(**extra_env), timeout=timeout)

    # -- the server -----------------------------------------------------------------------------

    def initdb(self) -> None:
        self.run(
            [str(self.pg_bin / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "-E", "UTF8",
             "--auth-local=trust", "--no-sync"],
            timeout=120,
        ).check()

    def start(self, settings: Mapping[str, str], timeout: float = 120) -> None:
        """Starts `postgres` as a child (so a kill -9 leaves no zombie) and waits until it takes writes."""
        argv = [str(self.pg_bin / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-k", str(self.socket_dir), "-c", "listen_addresses="]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 (the server keeps writing to it)
        self.process = subprocess.Popen(_as_postgres(argv), env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

        def ready() -> bool:
            assert self.process is not None and self.process.poll() is None, f"postgres exited:\n{self.log()}"
            with self.connect() as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                return row is not None and row[0] is False

        wait_for(ready, timeout, "PostgreSQL to accept writes (recovery finished, promoted)", interval=0.1)

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host=str(self.socket_dir), port=self.port, user="postgres", dbname=dbname,
                               autocommit=True, connect_timeout=5)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def kill9(self) -> float:
        """The pod is gone: every process of the server (postmaster, backends, archiver and the archive_command it
        runs) frozen at once, then SIGKILLed. Returns the moment of the crash."""
        assert self.process is not None
        pids = descendants(self.process.pid)
        for pid in pids:
            with _ignore_gone():
                os.kill(pid, signal.SIGSTOP)
        crashed_at = time.time()
        for pid in pids:
            with _ignore_gone():
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        reap(pids[1:])
        self.process = None
        return crashed_at

    def stop(self) -> None:
        """A fast shutdown (as the pod's preStop hook does)."""
        if self.process is None:
            return
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            with _ignore_gone():
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill9()
        self.process = None

    def destroy(self) -> None:
        if self.process is not None:
            self.kill9()
        shutil.rmtree(self.root, ignore_errors=True)


class _ignore_gone:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        return kind is ProcessLookupError


# -- the writer ---------------------------------------------------------------------------------


@dataclass
class Commit:
    id: int
    sent: float  # wall clock before the INSERT was sent
    acked: float  # wall clock when its commit was acknowledged


class Writer(threading.Thread):
    """Commits one row about every `interval` seconds (each its own transaction, with its commit time in the
    row) until the server dies; records when each commit was sent and acknowledged."""

    def __init__(self, box: Sandbox, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.box = box
        self.interval = interval
        self.commits: list[Commit] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.box.connect() as conn:
                next_id = 1
                while True:
                    sent = time.time()
                    conn.execute("INSERT INTO writes (id, committed_at) VALUES (%s, clock_timestamp())", (next_id,))
                    acked = time.time()
                    self.commits.append(Commit(next_id, sent, acked))
                    next_id += 1
                    time.sleep(max(0.0, self.interval - (acked - sent)))
        except psycopg.OperationalError as exc:  # the server was killed: the end of the run
            self.error = exc


def recovered_ids(box: Sandbox) -> list[int]:
    with box.connect() as conn:
        return [row[0] for row in conn.execute("SELECT id FROM writes ORDER BY id").fetchall()]


def timestamp_with_zone(moment: float) -> str:
    """The form herd-pg-restore --target takes: 'YYYY-MM-DD HH:MM:SS.ffffff+00'."""
    return dt.datetime.fromtimestamp(moment, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


# -- moto's S3 server over TLS ------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA (so pgBackRest can trust it with a CA file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            # pgBackRest 2.45 matches the endpoint against DNS names (and the common name) only, not IP
            # addresses: an endpoint given as an IP needs that IP as a DNS-type name too.
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("127.0.0.1")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "s3.crt", directory / "s3.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.chmod(0o644)
    key_path.chmod(0o600)
    return cert_path, key_path


@dataclass
class MotoS3:
    root: Path
    port: int
    cert: Path
    bucket: str = "herd-backups"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(cls) -> MotoS3:
        root = Path(tempfile.mkdtemp(prefix="herd-moto-"))
        root.chmod(0o755)  # the postgres user reads the CA file
        cert, key = self_signed_certificate(root)
        server = cls(root=root, port=free_port(), cert=cert)
        with open(root / "moto.log", "wb") as log:
            server.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("moto_tls.py")), "--port", str(server.port),
                 "--cert", str(cert), "--key", str(key)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        context = ssl.create_default_context(cafile=str(cert))

        def answers() -> bool:
            assert server.process is not None and server.process.poll() is None, (root / "moto.log").read_text()
            with socket.create_connection(("127.0.0.1", server.port), timeout=2) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                    return True

        wait_for(answers, 30, f"moto's S3 server on https://127.0.0.1:{server.port}", interval=0.1)
        server.client().create_bucket(Bucket=server.bucket)
        return server

    def client(self) -> Any:  # boto3's client classes are generated at run time (no stubs installed): Any
        import boto3

        return boto3.client(
            "s3", endpoint_url=f"https://127.0.0.1:{self.port}", region_name="us-east-1", verify=str(self.cert),
            aws_access_key_id="herd-test-key", aws_secret_access_key="herd-test-secret",
        )

    def repo_env(self, path: str = "/herd") -> dict[str, str]:
        """pgBackRest's S3 repository settings, as a pod would get them (the key from a Secret)."""
        return {
            "PGBACKREST_REPO1_TYPE": "s3",
            "PGBACKREST_REPO1_PATH": path,
            "PGBACKREST_REPO1_S3_BUCKET": self.bucket,
            "PGBACKREST_REPO1_S3_ENDPOINT": "127.0.0.1",
            "PGBACKREST_REPO1_STORAGE_PORT": str(self.port),
            "PGBACKREST_REPO1_S3_REGION": "us-east-1",
            "PGBACKREST_REPO1_S3_URI_STYLE": "path",
            "PGBACKREST_REPO1_S3_KEY_TYPE": "shared",
            "PGBACKREST_REPO1_S3_KEY": "herd-test-key",
            "PGBACKREST_REPO1_S3_KEY_SECRET": "herd-test-secret",
            "PGBACKREST_REPO1_STORAGE_CA_FILE": str(self.cert),
        }

    def object_count(self, prefix: str) -> int:
        paginator = self.client().get_paginator("list_objects_v2")
        return sum(page.get("KeyCount", 0) for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)
