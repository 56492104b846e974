"""Every kind of bad input gets a 4xx JSON answer; never a 5xx, never a stack trace."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from herd_api import db
from servers import sign_in


def assert_json_error(response: TestResponse, status: int) -> dict:
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "File \"" not in text
    return body


def post_raw(client: FlaskClient, data: bytes | str, content_type: str = "application/json") -> TestResponse:
    return client.post("/api/items", data=data, content_type=content_type)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"{", "not valid JSON"),
        (b"{'name': 'single quotes'}", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"", "empty"),
        (b"[]", "must be a JSON object"),
        (b'"name"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"[" * 60000, "not valid JSON"),
    ],
    ids=["truncated", "single-quotes", "not-utf8", "empty", "array", "string", "null", "deep-nesting"],
)
def test_malformed_bodies(authed: FlaskClient, data: bytes, fragment: str) -> None:
    body = assert_json_error(post_raw(authed, data), 400)
    assert fragment in body["error"]


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({}, "name", "name is required"),
        ({"description": "no name"}, "name", "name is required"),
        ({"name": None}, "name", "name is required"),
        ({"name": 42}, "name", "name must be a string"),
        ({"name": ["a"]}, "name", "name must be a string"),
        ({"name": {"x": 1}}, "name", "name must be a string"),
        ({"name": True}, "name", "name must be a string"),
        ({"name": ""}, "name", "1 to 200 characters"),
        ({"name": "   \t\n "}, "name", "1 to 200 characters"),
        ({"name": "x" * 201}, "name", "1 to 200 characters"),
        ({"name": "nul\u0000byte"}, "name", "NUL"),
        ({"name": "ok", "description": 5}, "description", "description must be a string"),
        ({"name": "ok", "description": ["a"]}, "description", "description must be a string"),
        ({"name": "ok", "description": "d" * 2001}, "description", "at most 2000 characters"),
        ({"name": "ok", "description": "nul\u0000"}, "description", "NUL"),
    ],
)
def test_invalid_fields(authed: FlaskClient, payload: dict, field: str, fragment: str) -> None:
    body = assert_json_error(authed.post("/api/items", json=payload), 400)
    assert body["field"] == field
    assert fragment in body["error"]


def test_lone_surrogates_are_rejected(authed: FlaskClient) -> None:
    body = assert_json_error(post_raw(authed, b'{"name": "bad \\ud800 surrogate"}'), 400)
    assert body["field"] == "name"


def test_limits_are_inclusive(authed: FlaskClient) -> None:
    response = authed.post("/api/items", json={"name": "n" * 200, "description": "d" * 2000})
    assert response.status_code == 201
    # characters, not bytes: 200 multi-byte characters are fine
    assert authed.post("/api/items", json={"name": "é" * 200}).status_code == 201


def test_wrong_content_type(authed: FlaskClient) -> None:
    body = assert_json_error(post_raw(authed, json.dumps({"name": "x"}), "text/plain"), 415)
    assert "application/json" in body["error"]
    assert_json_error(authed.post("/api/items", data={"name": "form"}), 415)


def test_oversized_body(authed: FlaskClient) -> None:
    payload = json.dumps({"name": "big", "description": "x" * 70000})
    body = assert_json_error(post_raw(authed, payload), 413)
    assert "65536" in body["error"]


def test_max_content_length_is_configurable(make_app) -> None:
    client = sign_in(make_app(MAX_CONTENT_LENGTH="2048").test_client())
    assert_json_error(post_raw(client, json.dumps({"name": "n" * 200, "description": "d" * 2000})), 413)
    assert post_raw(client, json.dumps({"name": "n", "description": "d" * 1000})).status_code == 201


@pytest.mark.parametrize("path", ["/nope", "/api", "/api/itemz", "/api/items/1/extra", "/api/items/search/x"])
def test_unknown_routes(client: FlaskClient, path: str) -> None:
    assert assert_json_error(client.get(path), 404) == {"error": "not found"}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/items", {"GET", "POST"}),
        ("DELETE", "/api/items", {"GET", "POST"}),
        ("PATCH", "/api/items/1", {"GET", "DELETE"}),
        ("POST", "/api/items/1", {"GET", "DELETE"}),
        ("POST", "/healthz", {"GET"}),
        ("DELETE", "/api/readyz", {"GET"}),
        ("POST", "/api/items/search", {"GET"}),
    ],
)
def test_wrong_methods(client: FlaskClient, method: str, path: str, allowed: set[str]) -> None:
    response = client.open(path, method=method)
    assert assert_json_error(response, 405) == {"error": "method not allowed"}
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


@pytest.mark.parametrize(
    "raw", ["abc", "-1", "0", "1.5", "1e3", "%20", "99999999999999999999", "9223372036854775808", "\u0661"]
)
def test_non_integer_or_out_of_range_ids(authed: FlaskClient, raw: str) -> None:
    for method in ("GET", "DELETE"):
        body = assert_json_error(authed.open(f"/api/items/{raw}", method=method), 400)
        assert body["field"] == "id"


def test_largest_id_is_simply_not_found(client: FlaskClient) -> None:
    assert_json_error(client.get("/api/items/9223372036854775807"), 404)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("", "q is required"),
        ("?q=", "1 to 200 characters"),
        ("?q=%20%20", "1 to 200 characters"),
        ("?q=" + "x" * 201, "1 to 200 characters"),
        ("?q=a%00b", "NUL"),
        ("?query=sheep", "q is required"),
    ],
)
def test_bad_search_queries(client: FlaskClient, query: str, fragment: str) -> None:
    body = assert_json_error(client.get("/api/items/search" + query), 400)
    assert fragment in body["error"]
    assert body["field"] == "q"


def test_unexpected_errors_are_a_json_500_without_trace(app: Flask, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(db, "get_item", explode)
    response = app.test_client().get("/api/items/1")
    assert assert_json_error(response, 500) == {"error": "internal server error"}
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "secret internal detail" in caplog.text  # logged server-side, with the trace
