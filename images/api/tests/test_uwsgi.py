"""The app under a real uwsgi, started with images/api/uwsgi.ini exactly as the image starts it."""

from __future__ import annotations

import json
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import (
    PostgresServer,
    RedisServer,
    UwsgiServer,
    require,
    sign_in_http,
    start_uwsgi,
    uwsgi_missing,
    wait_for,
)

API_DIR = Path(__file__).resolve().parent.parent
INI = API_DIR / "uwsgi.ini"


def venv() -> Path:
    """The venv running these tests: the same one uwsgi must load the app from."""
    return Path(sys.prefix)


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_healthy(server: UwsgiServer, workers: int, timeout: float = 60) -> None:
    """Until every worker has loaded the app (lazy-apps: each loads it after the fork)."""

    def healthy() -> bool:
        if server.process.poll() is not None:
            raise AssertionError(f"uwsgi exited with {server.process.returncode}:\n{server.log()}")
        loaded = server.log().count("WSGI app 0 (mountpoint='') ready")
        return loaded >= workers and request(server.url + "/healthz")[0] == 200

    try:
        wait_for(healthy, timeout, "uwsgi /healthz")
    except TimeoutError:
        raise AssertionError(f"uwsgi did not become healthy:\n{server.log()}") from None


@pytest.fixture(scope="module")
def uwsgi_env(postgres: PostgresServer, redis_server: RedisServer) -> dict[str, str]:
    require(uwsgi_missing())
    return {**postgres.env(), **redis_server.env()}


@pytest.fixture(scope="module")
def server(uwsgi_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[UwsgiServer]:
    env = {**uwsgi_env, "UWSGI_PROCESSES": "2", "UWSGI_THREADS": "2"}
    running = start_uwsgi(INI, venv(), env, tmp_path_factory.mktemp("uwsgi"))
    try:
        wait_healthy(running, workers=2)
        yield running
    finally:
        running.stop()


def test_probes(server: UwsgiServer) -> None:
    for path in ("/healthz", "/api/healthz"):
        status, _, body = request(server.url + path)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
    for path in ("/readyz", "/api/readyz"):
        status, _, body = request(server.url + path)
        assert status == 200
        assert json.loads(body) == {
            "status": "ready",
            "checks": {"postgres": "ok", "redis": "ok", "elasticsearch": "disabled"},
        }


def test_create_list_get_delete(server: UwsgiServer) -> None:
    name = f"uwsgi-{uuid.uuid4()}"
    signed_in = sign_in_http(server.url)
    status, headers, body = request(
        server.url + "/api/items", "POST", json.dumps({"name": name, "description": "via uwsgi"}).encode(),
        headers=signed_in,
    )
    assert status == 201, body
    item = json.loads(body)
    assert item["name"] == name and headers["Location"] == f"/api/items/{item['id']}"

    status, headers, body = request(server.url + "/api/items")
    assert status == 200
    assert headers["X-Cache"] == "miss"
    assert json.loads(body)["items"][0] == item
    # any worker now answers from the shared Redis cache
    for _ in range(4):
        assert request(server.url + "/api/items")[1]["X-Cache"] == "hit"

    assert json.loads(request(server.url + f"/api/items/{item['id']}")[2]) == item
    status, headers, _ = request(server.url + "/api/items/search?q=" + name)
    assert status == 200 and headers["X-Search-Backend"] == "postgres"
    assert request(server.url + f"/api/items/{item['id']}", "DELETE", headers=signed_in)[0] == 204
    assert request(server.url + f"/api/items/{item['id']}")[0] == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/no/such/route", None, 404),
        ("PUT", "/api/items", b"{}", 405),
        ("POST", "/api/items", b"{not json", 400),
        ("POST", "/api/items", json.dumps({"name": "x", "description": "y" * 100_000}).encode(), 413),
        ("GET", "/api/items/abc", None, 400),
    ],
)
def test_errors_are_json_through_uwsgi(
    server: UwsgiServer, method: str, path: str, body: bytes | None, status: int
) -> None:
    got, headers, raw = request(server.url + path, method, body, headers=sign_in_http(server.url))
    assert got == status
    assert headers["Content-Type"] == "application/json"
    assert "error" in json.loads(raw)


def test_processes_and_threads_come_from_the_environment(server: UwsgiServer) -> None:
    log = server.log()
    assert "spawned uWSGI worker 2" in log and "spawned uWSGI worker 3" not in log
    assert log.count("cores: 2)") == 2
    assert "Operational MODE: preforking+threaded" in log


def test_defaults_and_graceful_sigterm(uwsgi_env: dict[str, str], tmp_path: Path) -> None:
    running = start_uwsgi(INI, venv(), uwsgi_env, tmp_path)
    try:
        wait_healthy(running, workers=2)
        log = running.log()
        assert "spawned uWSGI worker 2" in log and "spawned uWSGI worker 3" not in log  # processes = 2
        assert log.count("cores: 4)") == 2  # threads = 4
        assert "your server socket listen backlog is limited to 128 connections" in log
        # access log lines come from the app, and health probes are not logged at INFO
        request(running.url + "/api/items")
    finally:
        started = time.monotonic()
        code = running.stop(signal.SIGTERM)
    assert code == 0, running.log()
    assert time.monotonic() - started < 15
    log = running.log()
    assert "graceful shutdown triggered" in log and "goodbye to uWSGI" in log
    assert "GET /api/items 200" in log
    assert "GET /healthz" not in log


def test_configuration_error_stops_uwsgi_with_a_clear_message(uwsgi_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in uwsgi_env.items() if k not in ("DATABASE_HOST", "REDIS_HOST")}
    running = start_uwsgi(INI, venv(), env, tmp_path)
    try:
        running.process.wait(timeout=30)  # the whole server stops, not just the worker
    finally:
        running.stop(signal.SIGKILL)
    log = running.log()
    # Exit status: 22 (uwsgi's "failed app") normally; Debian's 2.0.21 sometimes exits 0 instead, when the worker's
    # own SIGINT to the master wins the race against the master reaping it. Kubernetes restarts the container
    # either way; what matters is that it stops and says why.
    assert running.process.returncode in (0, 22)
    assert "*** no app loaded. GAME OVER ***" in log and "goodbye to uWSGI" in log
    assert "herd-api: invalid configuration:" in log
    assert "DATABASE_HOST is required but not set" in log and "REDIS_HOST is required but not set" in log


def test_metrics_port_adds_up_every_worker(server: UwsgiServer) -> None:
    """prometheus_client's multiprocess mode under uwsgi's 2 workers: whichever worker answers the
    scrape, the count covers the requests every worker served; the app's port has no /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    def items_count() -> float:
        status, headers, body = request(server.metrics_url)
        assert status == 200, body
        assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        total = 0.0
        for family in text_string_to_metric_families(body.decode()):
            for s in family.samples:
                if s.name == "herd_api_requests_total" and s.labels == {
                    "method": "GET",
                    "route": "/api/items",
                    "status": "200",
                }:
                    total += s.value
                if s.name == "herd_api_dependency_up":
                    assert s.value == 1, s
        return total

    before = items_count()
    for _ in range(20):
        assert request(server.url + "/api/items")[0] == 200
    # Several scrapes (any worker may answer each): every one sees all 20.
    for _ in range(4):
        assert items_count() - before == 20
    assert request(server.url + "/metrics")[0] == 404
    assert request(f"http://127.0.0.1:{server.metrics_port}/api/items")[0] == 404
