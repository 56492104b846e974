"""TLS to PostgreSQL, Redis and Elasticsearch, verified against herd's CA: real servers that speak only TLS, a
certificate from another CA refused, a wrong host name refused, the migration over TLS, and the config errors."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from herd_api import db
from herd_api.config import ConfigError, ElasticsearchSettings, load_database_settings, load_settings
from herd_api.search import ElasticsearchClient, SearchUnavailable
from hostile import AUTH_ENV, BASIC_AUTH
from servers import PostgresServer, postgres_missing, redis_missing, require
from tls_servers import Ca, TlsRedis, make_ca, server_cert, start_tls_postgres, start_tls_redis

API_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Pki:
    ca: Ca
    other_ca: Ca
    #: signed by ``ca`` for the name "localhost" only (no IP address): connecting to 127.0.0.1 is a wrong host name
    cert: Path
    key: Path


@dataclass(frozen=True)
class TlsServers:
    pki: Pki
    postgres: PostgresServer
    redis: TlsRedis


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    directory.chmod(0o755)
    ca = make_ca(directory, "herd-test-ca")
    other = make_ca(directory, "someone-elses-ca")
    cert, key = server_cert(ca, directory, "localhost", ["localhost"])
    for path in directory.iterdir():
        if path.suffix == ".crt":
            path.chmod(0o644)
    return Pki(ca=ca, other_ca=other, cert=cert, key=key)


@pytest.fixture(scope="module")
def tls(pki: Pki) -> Iterator[TlsServers]:
    require(postgres_missing())
    require(redis_missing())
    postgres = start_tls_postgres(pki.cert, pki.key)
    try:
        redis = start_tls_redis(pki.cert, pki.key, pki.ca.cert_file)
        try:
            yield TlsServers(pki=pki, postgres=postgres, redis=redis)
        finally:
            redis.stop()
    finally:
        postgres.stop()


def tls_env(servers: TlsServers, ca_file: Path | None = None, host: str = "localhost") -> dict[str, str]:
    """What herd gives the API: verify-full against the CA, Redis over TLS against the CA."""
    ca = str(ca_file or servers.pki.ca.cert_file)
    return {
        **servers.postgres.env(),
        "DATABASE_HOST": host,
        "DATABASE_SSLMODE": "verify-full",
        "DATABASE_SSLROOTCERT": ca,
        "REDIS_HOST": host,
        "REDIS_PORT": str(servers.redis.port),
        "REDIS_PASSWORD": servers.redis.password,
        "REDIS_TLS": "true",
        "REDIS_CA_FILE": ca,
        "REDIS_RETRY_AFTER_SECONDS": "0",
        **AUTH_ENV,
    }


def run_migrate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "herd_api.migrate"], cwd=API_DIR, env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(scope="module")
def migrated(tls: TlsServers) -> TlsServers:
    """The migration runs over verified TLS (the Job does exactly this)."""
    result = run_migrate(tls_env(tls))
    assert result.returncode == 0, result.stderr
    assert "applied 1 migration(s)" in result.stdout, result.stdout
    return tls


@pytest.fixture
def tls_app(migrated: TlsServers) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def build(**overrides: str) -> Flask:
        from herd_api import create_app

        app = create_app(env={**tls_env(migrated), **overrides})
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["herd"].close()


# -- the servers really require TLS --------------------------------------------------------------


def test_postgres_refuses_a_client_without_tls(tls: TlsServers) -> None:
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(
            host="127.0.0.1", port=tls.postgres.port, user=tls.postgres.user, password=tls.postgres.password,
            dbname=tls.postgres.database, sslmode="disable", connect_timeout=5,
        )


def test_redis_has_no_plain_text_port(tls: TlsServers) -> None:
    import redis

    plain = redis.Redis(host="127.0.0.1", port=tls.redis.port, password=tls.redis.password, socket_timeout=2)
    with pytest.raises(redis.RedisError):
        plain.ping()
    plain.close()


# -- the API over verified TLS --------------------------------------------------------------------


def test_api_works_over_verified_tls(tls_app: Callable[..., Flask], migrated: TlsServers) -> None:
    client = tls_app().test_client()
    ready = client.get("/api/readyz")
    assert (ready.status_code, ready.get_json()["checks"]) == (200, {"postgres": "ok", "redis": "ok",
                                                                    "elasticsearch": "disabled"})
    created = client.post("/api/items", json={"name": "over tls"}, headers={"Authorization": BASIC_AUTH})
    assert created.status_code == 201, created.get_json()
    first = client.get("/api/items")
    assert first.status_code == 200 and first.headers["X-Cache"] == "miss"
    assert "over tls" in [i["name"] for i in first.get_json()["items"]]
    assert client.get("/api/items").headers["X-Cache"] == "hit"  # the list came back from Redis, over TLS
    # PostgreSQL's own view of the API's connection: TLS
    settings = load_database_settings(tls_env(migrated))
    with db.connect(settings) as conn:
        row = conn.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row is not None and row["ssl"] is True and row["version"] in ("TLSv1.2", "TLSv1.3")


def test_redis_cert_from_another_ca_is_refused_and_reads_degrade(
    tls_app: Callable[..., Flask], migrated: TlsServers, caplog: pytest.LogCaptureFixture
) -> None:
    client = tls_app(REDIS_CA_FILE=str(migrated.pki.other_ca.cert_file)).test_client()
    listed = client.get("/api/items")
    assert listed.status_code == 200 and listed.headers["X-Cache"] == "unavailable"  # served from PostgreSQL
    ready = client.get("/api/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"postgres": "ok", "redis": "down", "elasticsearch": "disabled"}
    assert "certificate verify failed" in caplog.text


def test_postgres_cert_from_another_ca_is_refused(
    tls_app: Callable[..., Flask], migrated: TlsServers, caplog: pytest.LogCaptureFixture
) -> None:
    good = tls_app().test_client()
    item = good.post("/api/items", json={"name": "cached"}, headers={"Authorization": BASIC_AUTH}).get_json()
    assert good.get("/api/items").status_code == 200  # the list is now in Redis

    client = tls_app(DATABASE_SSLROOTCERT=str(migrated.pki.other_ca.cert_file)).test_client()
    ready = client.get("/api/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"postgres": "down", "redis": "ok", "elasticsearch": "disabled"}
    # the list degrades to the cache...
    listed = client.get("/api/items")
    assert listed.status_code == 200 and listed.headers["X-Cache"] == "hit"
    # ...a read only PostgreSQL can answer gets the API's 503 with Retry-After (never a 500)
    one = client.get(f"/api/items/{item['id']}")
    assert one.status_code == 503 and one.get_json() == {"error": "database unavailable"}
    assert one.headers["Retry-After"] == "5"
    assert "certificate verify failed" in caplog.text


def test_verify_full_refuses_a_wrong_host_name(
    tls_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    """The certificates name "localhost"; the same servers reached as 127.0.0.1 must be refused, both of them."""
    client = tls_app(DATABASE_HOST="127.0.0.1", REDIS_HOST="127.0.0.1").test_client()
    ready = client.get("/api/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"postgres": "down", "redis": "down", "elasticsearch": "disabled"}
    assert "does not match host name" in caplog.text  # libpq's words
    assert "127.0.0.1" in caplog.text and "127.0.0.1" not in ready.get_data(as_text=True)


def test_the_migration_refuses_another_ca(migrated: TlsServers) -> None:
    result = run_migrate(tls_env(migrated, ca_file=migrated.pki.other_ca.cert_file))
    assert result.returncode == 1
    assert "cannot reach PostgreSQL" in result.stderr and "certificate verify failed" in result.stderr
    again = run_migrate(tls_env(migrated))
    assert again.returncode == 0 and "is up to date" in again.stdout


# -- Elasticsearch over https: verified against the CA, fails closed -----------------------------


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.dumps({"status": "green"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def https_es(pki: Pki) -> Iterator[int]:
    """An https endpoint with the CA's "localhost" certificate, answering /_cluster/health."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert, pki.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def es(port: int, host: str, ca: Path | None) -> ElasticsearchClient:
    return ElasticsearchClient(
        ElasticsearchSettings(url=f"https://{host}:{port}", ca_file=None if ca is None else str(ca), timeout=5)
    )


def test_elasticsearch_https_verified_against_the_ca(https_es: int, pki: Pki) -> None:
    es(https_es, "localhost", pki.ca.cert_file).ping()


@pytest.mark.parametrize(
    ("host", "which", "reason"),
    [
        ("localhost", "other", "CERTIFICATE_VERIFY_FAILED"),
        ("localhost", "system", "CERTIFICATE_VERIFY_FAILED"),  # no CA file: the system's CAs, which do not know ours
        ("127.0.0.1", "ours", "IP address mismatch"),
    ],
)
def test_elasticsearch_fails_closed(https_es: int, pki: Pki, host: str, which: str, reason: str) -> None:
    ca = {"other": pki.other_ca.cert_file, "system": None, "ours": pki.ca.cert_file}[which]
    with pytest.raises(SearchUnavailable, match=reason):
        es(https_es, host, ca).ping()


# -- configuration -------------------------------------------------------------------------------


BASE = {"DATABASE_HOST": "db", "DATABASE_NAME": "herd", "DATABASE_USER": "herd", "DATABASE_PASSWORD": "pw",
        "REDIS_HOST": "cache", **AUTH_ENV}


def problems(**env: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings({**BASE, **env})
    return info.value.problems


def test_tls_defaults_and_settings(pki: Pki) -> None:
    plain = load_settings(BASE)
    assert (plain.database.sslrootcert, plain.redis.tls, plain.redis.ca_file) == (None, False, None)
    ca = str(pki.ca.cert_file)
    full = load_settings({**BASE, "DATABASE_SSLMODE": "verify-full", "DATABASE_SSLROOTCERT": ca,
                          "REDIS_TLS": "TRUE", "REDIS_CA_FILE": ca})
    assert (full.database.sslmode, full.database.sslrootcert) == ("verify-full", ca)
    assert (full.redis.tls, full.redis.ca_file) == (True, ca)
    # only the database's variables for the migration
    assert load_database_settings({**BASE, "DATABASE_SSLROOTCERT": ca}).sslrootcert == ca


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_SSLROOTCERT": "/no/such/ca.crt"},
         "DATABASE_SSLROOTCERT=/no/such/ca.crt does not exist (expected the CA certificate file)"),
        ({"DATABASE_SSLMODE": "verify-full"},
         "DATABASE_SSLROOTCERT is required with DATABASE_SSLMODE=verify-full (the CA certificate file to verify"
         " the server against)"),
        ({"DATABASE_SSLMODE": "verify-ca"}, "DATABASE_SSLROOTCERT is required with DATABASE_SSLMODE=verify-ca"),
        ({"REDIS_TLS": "yes"}, "REDIS_TLS='yes' must be true or false"),
        ({"REDIS_TLS": "true"}, "REDIS_CA_FILE is required with REDIS_TLS=true (the CA certificate file)"),
        ({"REDIS_TLS": "true", "REDIS_CA_FILE": "/no/such/ca.crt"},
         "REDIS_CA_FILE=/no/such/ca.crt does not exist (expected the CA certificate file)"),
        ({"REDIS_CA_FILE": "__CA__"}, "REDIS_CA_FILE is set but REDIS_TLS is not true: set REDIS_TLS=true to use TLS"),
        ({"ELASTICSEARCH_URL": "https://es:9200", "ELASTICSEARCH_CA_FILE": "/no/such/ca.crt"},
         "ELASTICSEARCH_CA_FILE=/no/such/ca.crt does not exist"),
    ],
)
def test_tls_config_errors_name_the_variable(pki: Pki, env: dict[str, str], expected: str) -> None:
    env = {k: (str(pki.ca.cert_file) if v == "__CA__" else v) for k, v in env.items()}
    found = problems(**env)
    assert any(p.startswith(expected) for p in found), found
