"""Bytes that are not text, wherever they are in a request: a 400 in the API's shape naming the part, never a 5xx;
and /readyz names dependency states without the internal details of what failed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from herd_api.guard import find_bad_bytes, shown
from hostile import AUTH_ENV, BASIC_AUTH, json_error
from servers import free_port


@pytest.fixture
def hostile_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(**AUTH_ENV)


@pytest.fixture
def hc(hostile_app: Flask) -> FlaskClient:
    return hostile_app.test_client(use_cookies=False)  # the raw Cookie header as given, not a cookie jar


def raw_get(client: FlaskClient, path: str = "/api/items", query: bytes = b"", **environ: Any) -> TestResponse:
    """A GET whose PATH_INFO / QUERY_STRING / headers are given as the bytes a WSGI server hands over (latin-1)."""
    overrides = {"QUERY_STRING": query.decode("latin-1"), **environ}
    return client.open("/", method="GET", environ_overrides={"PATH_INFO": path, **overrides})


def error_of(response: TestResponse, status: int = 400) -> dict[str, object]:
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    return json_error(response.status_code, response.data)


# -- the query string ---------------------------------------------------------------------------


def test_raw_ff_in_the_search_query_is_a_400_naming_q(hc: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    """The known repro: werkzeug's request.args raised UnicodeDecodeError on this (a 500 with a traceback)."""
    with caplog.at_level(logging.WARNING, logger="herd_api"):
        body = error_of(raw_get(hc, "/api/items/search", b"q=\xff"))
    assert body == {"error": "query parameter q is not valid UTF-8", "field": "q"}
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1 and refused[0].exc_info is None  # one line, no traceback
    assert "query parameter q is not valid UTF-8" in refused[0].getMessage()


def test_percent_encoded_invalid_utf8_is_a_400_not_replacement_characters(hc: FlaskClient) -> None:
    """q=a%C3 used to search for 'a\ufffd' (200); a client's broken encoding must be told, not guessed at."""
    body = error_of(hc.get("/api/items/search?q=a%C3"))
    assert body == {"error": "query parameter q is not valid UTF-8", "field": "q"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (b"q=%ED%A0%80", "q"),  # an encoded UTF-16 surrogate is not UTF-8
        (b"q=%C0%AF", "q"),  # overlong '/'
        (b"q=ok&lang=%FF", "lang"),  # every parameter, not only the ones a route reads
        (b"q=ok&x=\xe2\x82", "x"),
    ],
)
def test_every_query_parameter_is_decoded_strictly(hc: FlaskClient, query: bytes, field: str) -> None:
    assert error_of(raw_get(hc, "/api/items", query))["field"] == field


def test_a_bad_parameter_name_is_a_400(hc: FlaskClient) -> None:
    body = error_of(raw_get(hc, "/api/items", b"%FF=1"))
    assert body["error"] == "a query parameter name (\\xff) is not valid UTF-8"


def test_valid_utf8_in_the_query_still_works(hc: FlaskClient) -> None:
    assert hc.post("/api/items", json={"name": "mouton été"}, headers={"Authorization": BASIC_AUTH}).status_code == 201
    found = hc.get("/api/items/search?q=%C3%A9t%C3%A9")  # été, percent-encoded
    assert found.status_code == 200 and [i["name"] for i in found.get_json()["items"]] == ["mouton été"]
    assert raw_get(hc, "/api/items/search", "q=été".encode()).status_code == 200  # raw UTF-8 bytes too


# -- the path, headers, cookies, body -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/items/\xff", "/api/items/\xc3", "/\xed\xa0\x80", "/api/items/search\xfe"])
def test_path_that_is_not_utf8(hc: FlaskClient, path: str) -> None:
    """PATH_INFO arrives percent-decoded (as latin-1): /api/items/%FF gives '\xff' here."""
    assert error_of(raw_get(hc, path)) == {"error": "the request path is not valid UTF-8"}


def test_a_utf8_path_that_matches_nothing_is_still_a_plain_404(hc: FlaskClient) -> None:
    assert error_of(raw_get(hc, "/api/items/\xc3\xa9"), 400)["field"] == "id"  # é is UTF-8: the id check answers
    assert error_of(raw_get(hc, "/\xc3\xa9t\xc3\xa9"), 404) == {"error": "not found"}


@pytest.mark.parametrize(
    ("key", "value", "name", "what"),
    [
        ("HTTP_USER_AGENT", "curl\xff", "User-Agent", "is not valid UTF-8"),
        ("HTTP_COOKIE", "herd_session=\xc3(", "Cookie", "is not valid UTF-8"),
        ("HTTP_AUTHORIZATION", "Basic \xff\xfe", "Authorization", "is not valid UTF-8"),
        ("HTTP_X_HERD_REQUEST", "1\x00", "X-Herd-Request", "contains control characters"),
        ("HTTP_ACCEPT", "\x1b[31m", "Accept", "contains control characters"),
        ("CONTENT_TYPE", "application/json\xff", "Content-Type", "is not valid UTF-8"),
    ],
)
def test_header_values(hc: FlaskClient, key: str, value: str, name: str, what: str) -> None:
    body = error_of(raw_get(hc, "/api/items", **{key: value}))
    assert body == {"error": f"header {name} {what}", "field": name}


def test_utf8_and_tabs_in_headers_are_fine(hc: FlaskClient) -> None:
    assert raw_get(hc, "/api/items", HTTP_USER_AGENT="mouton\tété".encode().decode("latin-1")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [b'{"name": "\xff"}', b'{"name": "a\xc3"}', b"\xff\xfe{}", b'{"name": "\xed\xa0\x80"}', b'{"name": "\\udc80"}'],
)
def test_bodies_that_are_not_utf8_are_a_400(hc: FlaskClient, body: bytes) -> None:
    response = hc.post("/api/items", data=body, content_type="application/json", headers={"Authorization": BASIC_AUTH})
    error_of(response)


def test_refused_requests_still_get_the_usual_headers(hc: FlaskClient) -> None:
    response = raw_get(hc, "/api/items/search", b"q=\xff")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_access_log_lines_stay_one_line(hc: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    """A newline in a path (%0A decoded by the server) must not forge a second log line."""
    with caplog.at_level(logging.INFO, logger="herd_api.access"):
        raw_get(hc, "/api/items/1\nGET /admin 200")
    lines = [r.getMessage() for r in caplog.records if r.name == "herd_api.access"]
    assert len(lines) == 1 and "\n" not in lines[0] and "\\n" in lines[0]


def test_guard_reads_only_what_a_server_gives() -> None:
    assert find_bad_bytes({"PATH_INFO": "/api/items", "QUERY_STRING": "q=%C3%A9&&x", "HTTP_HOST": "h"}) is None
    assert find_bad_bytes({"wsgi.input": object(), "REQUEST_METHOD": "GET"}) is None
    # a server that decoded already (non-latin-1 str): lone surrogates still fail
    assert find_bad_bytes({"PATH_INFO": "/\ud800"}) is not None
    assert shown(b"a\nb\xff" + b"x" * 100, 10) == "a\\nb\\xffxx..."  # 10 printable characters, then ...


# -- /readyz keeps its reasons to itself --------------------------------------------------------


def test_readyz_names_states_not_errors(make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture) -> None:
    dead_pg, dead_redis = str(free_port()), str(free_port())
    client = make_app(**AUTH_ENV, DATABASE_PORT=dead_pg, REDIS_PORT=dead_redis).test_client()
    with caplog.at_level(logging.WARNING, logger="herd_api"):
        ready = client.get("/api/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {
        "status": "unready",
        "checks": {"postgres": "down", "redis": "down", "elasticsearch": "disabled"},
    }
    text = ready.get_data(as_text=True)
    for secret in ("127.0.0.1", dead_pg, dead_redis, "refused", "Error"):
        assert secret not in text
    # the details are in the log, for the operator
    logged = " ".join(r.getMessage() for r in caplog.records if "not ready" in r.getMessage())
    assert dead_pg in logged and dead_redis in logged
