"""Fuzzing: arbitrary bytes in the path, query, headers and body never get a 5xx or a traceback.

(a) hypothesis against the Flask app (every route and method), asserting status < 500 and a JSON error body;
(b) a seeded generator of raw HTTP/1.1 requests on real sockets: straight to the API under real uwsgi (its
    uwsgi.ini, real PostgreSQL and Redis), and through the front end's real nginx in front of it.
The counts are printed (pytest -s, or in the captured output of a failure) for the issue's record.
"""

from __future__ import annotations

import collections
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_uwsgi import INI, venv, wait_healthy

from hostile import AUTH_ENV, BASIC_AUTH, METHODS, NASTY, PATHS, RawRequest, json_error, raw_requests, send_raw
from nginx_front import NginxFront, nginx_missing, start_nginx
from servers import PostgresServer, RedisServer, UwsgiServer, require, start_uwsgi, uwsgi_missing

HYPOTHESIS_EXAMPLES = int(os.environ.get("HERD_FUZZ_EXAMPLES", "1500"))
RAW_REQUESTS = int(os.environ.get("HERD_FUZZ_RAW_REQUESTS", "1500"))
SEED = 17

# -- (a) hypothesis over the Flask app ----------------------------------------------------------

HEADER_NAMES = ("User-Agent", "Accept", "Cookie", "Authorization", "X-Herd-Request", "Content-Type", "X-Request-ID",
                "X-Forwarded-For", "Accept-Language", "If-None-Match", "Origin")
some_bytes = st.one_of(
    st.binary(max_size=40),
    st.lists(st.sampled_from(NASTY + (b"a", b"q=", b"&", b"=", b"/", b"1", b"admin")), max_size=8).map(b"".join),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes, dict[str, str], bytes]:
    method = draw(st.one_of(st.sampled_from(METHODS), st.text(min_size=1, max_size=8)))
    path = draw(st.sampled_from(PATHS)).encode() + draw(st.one_of(st.just(b""), some_bytes))
    query = draw(st.one_of(st.just(b""), some_bytes, some_bytes.map(lambda b: b"q=" + b)))
    headers = {}
    for name in draw(st.lists(st.sampled_from(HEADER_NAMES), max_size=3, unique=True)):
        headers["HTTP_" + name.upper().replace("-", "_")] = draw(some_bytes).decode("latin-1")
    if draw(st.booleans()):
        headers.setdefault("HTTP_AUTHORIZATION", BASIC_AUTH)
        headers.setdefault("HTTP_X_HERD_REQUEST", "1")
    headers.setdefault("CONTENT_TYPE", draw(st.sampled_from(["application/json", "text/plain", ""])))
    body = draw(st.one_of(st.just(b""), some_bytes, some_bytes.map(lambda b: b'{"name": "' + b + b'"}')))
    return method, path.decode("latin-1"), query, headers, body


def test_hypothesis_every_route_and_method(make_app: Callable[..., Flask]) -> None:
    client = make_app(**AUTH_ENV).test_client(use_cookies=False)
    seen: collections.Counter[int] = collections.Counter()

    @settings(max_examples=HYPOTHESIS_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(requests())
    def one(request: tuple[str, str, bytes, dict[str, str], bytes]) -> None:
        method, path, query, headers, body = request
        response = client.open(
            "/", method=method, data=body,
            environ_overrides={"PATH_INFO": path, "QUERY_STRING": query.decode("latin-1"), **headers},
        )
        seen[response.status_code] += 1
        assert response.status_code < 500, (request, response.data[:300])
        # Every body is JSON; every error (but HEAD's) has one. Bodiless: HEAD, 204, and Flask's automatic
        # OPTIONS answer (200 + Allow, no CORS headers: it grants no cross-site preflight).
        if response.data:
            assert response.mimetype == "application/json", (request, response.data[:300])
        if response.status_code >= 400 and method != "HEAD":
            json_error(response.status_code, response.data)

    one()
    print(f"\nhypothesis (Flask app): {sum(seen.values())} requests, status counts {dict(sorted(seen.items()))}",
          file=sys.__stdout__, flush=True)  # straight to the terminal (the counts are for the record)
    assert sum(seen.values()) >= HYPOTHESIS_EXAMPLES


# -- (b) raw bytes on real sockets: uwsgi, and nginx in front of it ------------------------------


@pytest.fixture(scope="module")
def fuzz_uwsgi(
    postgres: PostgresServer, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UwsgiServer]:
    require(uwsgi_missing())
    env = {**postgres.env(), **redis_server.env(), **AUTH_ENV, "UWSGI_PROCESSES": "2", "UWSGI_THREADS": "2"}
    running = start_uwsgi(INI, venv(), env, tmp_path_factory.mktemp("fuzz-uwsgi"))
    try:
        wait_healthy(running, workers=2)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def fuzz_nginx(fuzz_uwsgi: UwsgiServer) -> Iterator[NginxFront]:
    require(nginx_missing())
    # Limits far above what this test sends, so a 429 hides nothing (a 429 would count as "not a 5xx" anyway).
    # 10000/s is the most 05-herd-check-env.sh accepts.
    env = {"API_RATE_LIMIT_PER_SECOND": "10000", "API_RATE_LIMIT_BURST": "100000",
           "LOGIN_RATE_LIMIT_PER_MINUTE": "1000", "TRUSTED_PROXY_CIDRS": ""}
    front = start_nginx(f"127.0.0.1:{fuzz_uwsgi.port}", env)
    try:
        yield front
    finally:
        front.stop()


def _blast(port: int, batch: list[RawRequest]) -> tuple[collections.Counter[str], list[tuple[RawRequest, int, bytes]]]:
    """Sends every request on its own connection (4 at a time); returns status counts by kind and the 5xx."""
    counts: collections.Counter[str] = collections.Counter()
    failures: list[tuple[RawRequest, int, bytes]] = []

    def one(request: RawRequest) -> tuple[RawRequest, int | None, bytes]:
        status, _, body = send_raw(port, request.data)
        return request, status, body

    with ThreadPoolExecutor(max_workers=4) as pool:
        for request, status, body in pool.map(one, batch):
            label = "closed without an answer" if status is None else f"{status // 100}xx"
            counts[label] += 1
            counts[f"{request.kind}:{label}"] += 1
            counts[f"answered by: {_answered_by(status, body)}"] += 1
            if status is not None and status >= 500:
                failures.append((request, status, body[:200]))
    return counts, failures


def _answered_by(status: int | None, body: bytes) -> str:
    """Who answered: the app (a JSON body, or none for HEAD/204), or the server's own HTTP parser (its HTML/plain
    400), as far as the body tells."""
    if status is None:
        return "nobody"
    if body.lstrip().startswith(b"{"):
        return "json"
    return "empty" if not body else "server page"


def _report(where: str, counts: collections.Counter[str], seconds: float) -> None:
    overall = {k: v for k, v in sorted(counts.items()) if ":" not in k}
    by_kind = {k: v for k, v in sorted(counts.items()) if ":" in k and not k.startswith("answered")}
    by_whom = {k.split(": ")[1]: v for k, v in sorted(counts.items()) if k.startswith("answered")}
    print(f"\nraw fuzz via {where}: {sum(overall.values())} requests in {seconds:.1f}s, {overall}; body {by_whom};"
          f" by kind {by_kind}",
          file=sys.__stdout__, flush=True)


def test_raw_bytes_through_uwsgi(fuzz_uwsgi: UwsgiServer) -> None:
    batch = raw_requests(SEED, RAW_REQUESTS)
    started = time.monotonic()
    counts, failures = _blast(fuzz_uwsgi.port, batch)
    _report("uwsgi", counts, time.monotonic() - started)
    assert sum(v for k, v in counts.items() if ":" not in k) == RAW_REQUESTS >= 1500
    assert failures == []
    log = fuzz_uwsgi.log()
    assert "Traceback" not in log, log[log.index("Traceback") - 500:][:3000]
    assert fuzz_uwsgi.process.poll() is None  # still serving


def test_raw_bytes_through_nginx_in_front(fuzz_nginx: NginxFront, fuzz_uwsgi: UwsgiServer) -> None:
    batch = raw_requests(SEED + 1, RAW_REQUESTS)
    started = time.monotonic()
    counts, failures = _blast(fuzz_nginx.port, batch)
    _report("nginx -> uwsgi", counts, time.monotonic() - started)
    assert sum(v for k, v in counts.items() if ":" not in k) == RAW_REQUESTS >= 1500
    assert failures == []
    log = fuzz_uwsgi.log()
    assert "Traceback" not in log, log[log.index("Traceback") - 500:][:3000]
    assert fuzz_nginx.process.poll() is None and fuzz_uwsgi.process.poll() is None


def test_generator_is_seeded() -> None:
    """The same seed gives the same requests (a failure can be replayed), and every kind of damage is present."""
    assert raw_requests(SEED, 50) == raw_requests(SEED, 50)
    assert {r.kind for r in raw_requests(SEED, 50)} == {"path", "query", "header", "cookie", "body"}
    assert raw_requests(SEED, 50) != raw_requests(SEED + 1, 50)


@pytest.mark.parametrize("where", ["uwsgi", "nginx"])
def test_known_repro_through_real_servers(
    where: str, fuzz_uwsgi: UwsgiServer, request: pytest.FixtureRequest
) -> None:
    """The issue's two repros as raw bytes on the wire: raw \\xff, and %C3 (invalid once percent-decoded)."""
    port = fuzz_uwsgi.port if where == "uwsgi" else request.getfixturevalue("fuzz_nginx").port
    for target in (b"/api/items/search?q=\xff", b"/api/items/search?q=a%C3"):
        status, head, body = send_raw(port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status == 400, (target, head, body)
        assert json_error(400, body) == {"error": "query parameter q is not valid UTF-8", "field": "q"}

