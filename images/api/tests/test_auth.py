"""Sign-in (herd_api/auth.py): writes need it, reads only when configured, probes and metrics never.

Against real PostgreSQL and Redis, in process. Each route is asked anonymously, with a session cookie,
with Basic credentials, with a wrong password, and with a session that is expired, tampered with, or
from before a password change.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import Client, TestResponse

from herd_api.auth import Authenticator
from herd_api.config import AuthSettings, ConfigError, load_settings
from herd_api.metrics import MetricsPort
from servers import ADMIN_PASSWORD, ADMIN_USERNAME, SESSION_SECRET, WRITE_HEADERS, basic_auth, sign_in

API_DIR = Path(__file__).resolve().parent.parent
COOKIE = "herd_session"

MINIMAL = {
    "DATABASE_HOST": "db.example",
    "DATABASE_NAME": "herd",
    "DATABASE_USER": "herd",
    "DATABASE_PASSWORD": "pw",
    "REDIS_HOST": "redis.example",
    "HERD_ADMIN_PASSWORD": "admin-pw",
    "HERD_SESSION_SECRET": "x" * 32,
}


def login(client: FlaskClient, username: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD) -> TestResponse:
    return client.post("/api/auth/login", json={"username": username, "password": password}, headers=WRITE_HEADERS)


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE, path="/api")
    assert cookie is not None
    return cookie.value


def with_cookie(client: FlaskClient, token: str) -> FlaskClient:
    client.set_cookie(COOKIE, token, path="/api")
    return client


def minted(app: Flask, *, now: float | None = None, **overrides: object) -> str:
    """A token signed like the app's own, at another time or for other settings."""
    settings: AuthSettings = app.extensions["herd_auth"].settings
    changed = dataclasses.replace(settings, **overrides)
    at = time.time() if now is None else now
    return Authenticator(changed, clock=lambda: at).issue().token


def item_count(client: FlaskClient) -> int:
    return len(client.get("/api/items", headers=basic_auth()).get_json()["items"])


# -- configuration ----------------------------------------------------------------------------------


def test_auth_defaults() -> None:
    auth = load_settings(MINIMAL).auth
    assert auth.admin_username == "admin"
    assert auth.admin_password == "admin-pw"
    assert auth.session_hours == 12
    assert auth.cookie_secure is True
    assert auth.reads_require_sign_in is False


def test_auth_overrides() -> None:
    auth = load_settings(
        {
            **MINIMAL,
            "HERD_ADMIN_USERNAME": "shepherd",
            "HERD_SESSION_HOURS": "168",
            "HERD_SESSION_COOKIE_SECURE": "false",
            "HERD_READS_REQUIRE_SIGN_IN": "TRUE",
        }
    ).auth
    assert (auth.admin_username, auth.session_hours, auth.cookie_secure, auth.reads_require_sign_in) == (
        "shepherd", 168, False, True,
    )


def test_password_and_secret_from_files(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("pw-from-file\n")
    (tmp_path / "secret").write_text("f" * 40 + "\n")
    env = {k: v for k, v in MINIMAL.items() if not k.startswith("HERD_")}
    auth = load_settings(
        {**env, "HERD_ADMIN_PASSWORD_FILE": str(tmp_path / "pw"), "HERD_SESSION_SECRET_FILE": str(tmp_path / "secret")}
    ).auth
    assert (auth.admin_password, auth.session_secret) == ("pw-from-file", "f" * 40)


def test_password_and_secret_are_not_in_repr() -> None:
    text = repr(load_settings({**MINIMAL, "HERD_ADMIN_PASSWORD": "hunter2-admin", "HERD_SESSION_SECRET": "q" * 33}))
    assert "hunter2-admin" not in text and "q" * 33 not in text


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"HERD_ADMIN_PASSWORD": None}, "HERD_ADMIN_PASSWORD (or HERD_ADMIN_PASSWORD_FILE) is required but not set"),
        ({"HERD_SESSION_SECRET": None}, "HERD_SESSION_SECRET (or HERD_SESSION_SECRET_FILE) is required but not set"),
        (
            {"HERD_SESSION_SECRET": "too-short-secret"},
            "HERD_SESSION_SECRET (or HERD_SESSION_SECRET_FILE) must be at least 32 characters; it has 16",
        ),
        ({"HERD_SESSION_HOURS": "0"}, "HERD_SESSION_HOURS=0 is out of range 1..168"),
        ({"HERD_SESSION_HOURS": "169"}, "HERD_SESSION_HOURS=169 is out of range 1..168"),
        ({"HERD_SESSION_HOURS": "a day"}, "HERD_SESSION_HOURS='a day' is not an integer"),
        ({"HERD_SESSION_COOKIE_SECURE": "yes"}, "HERD_SESSION_COOKIE_SECURE='yes' must be true or false"),
        ({"HERD_READS_REQUIRE_SIGN_IN": "1"}, "HERD_READS_REQUIRE_SIGN_IN='1' must be true or false"),
        ({"HERD_ADMIN_USERNAME": "ad:min"}, "HERD_ADMIN_USERNAME='ad:min' must be 1 to 64 printable characters"),
        ({"HERD_ADMIN_USERNAME": "a" * 65}, "HERD_ADMIN_USERNAME='" + "a" * 65 + "' must be 1 to 64"),
    ],
)
def test_invalid_auth_settings_are_named(overrides: dict[str, str | None], fragment: str) -> None:
    env = {k: v for k, v in {**MINIMAL, **overrides}.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert fragment in str(caught.value)


def test_short_secret_error_does_not_show_the_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**MINIMAL, "HERD_SESSION_SECRET": "my-short-secret"})
    assert "my-short-secret" not in str(caught.value)


def test_the_api_refuses_to_start_without_the_admin_password() -> None:
    env = {"PATH": os.environ.get("PATH", ""), **{k: v for k, v in MINIMAL.items() if k != "HERD_ADMIN_PASSWORD"}}
    result = subprocess.run(
        [sys.executable, "-c", "import herd_api.wsgi"], cwd=API_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "HERD_ADMIN_PASSWORD (or HERD_ADMIN_PASSWORD_FILE) is required" in result.stderr.splitlines()[0]


# -- login, session, logout ------------------------------------------------------------------------


def test_login_sets_a_strict_http_only_secure_cookie_on_api(client: FlaskClient) -> None:
    before = datetime.now(UTC)
    response = login(client)
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["username", "expires_at"] and body["username"] == "admin"
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() == timedelta(0)
    assert before + timedelta(hours=12) - timedelta(seconds=2) <= expires <= datetime.now(UTC) + timedelta(hours=12)
    [set_cookie] = response.headers.getlist("Set-Cookie")
    name_value, *attributes = set_cookie.split("; ")
    assert name_value.startswith("herd_session=") and len(name_value) > len("herd_session=") + 40
    assert attributes == ["Path=/api", "HttpOnly", "SameSite=Strict", "Max-Age=43200", "Secure"]
    assert "WWW-Authenticate" not in response.headers


def test_cookie_without_secure_and_other_lifetime_when_configured(make_app: Callable[..., Flask]) -> None:
    client = make_app(HERD_SESSION_COOKIE_SECURE="false", HERD_SESSION_HOURS="1").test_client()
    response = login(client)
    [set_cookie] = response.headers.getlist("Set-Cookie")
    assert set_cookie.split("; ")[1:] == ["Path=/api", "HttpOnly", "SameSite=Strict", "Max-Age=3600"]
    expires = datetime.fromisoformat(response.get_json()["expires_at"])
    assert abs((expires - datetime.now(UTC)) - timedelta(hours=1)) < timedelta(seconds=5)


def test_wrong_password_and_unknown_user_get_the_same_answer(client: FlaskClient) -> None:
    for username, password in [("admin", "wrong"), ("nobody", ADMIN_PASSWORD), ("Admin", ADMIN_PASSWORD), ("", "")]:
        response = login(client, username, password)
        assert response.status_code == 401, username
        assert response.get_json() == {"error": "wrong username or password"}
        assert "Set-Cookie" not in response.headers
        assert "WWW-Authenticate" not in response.headers
    assert client.get("/api/auth/session").get_json() == {"authenticated": False}


def test_a_custom_admin_username(make_app: Callable[..., Flask]) -> None:
    client = make_app(HERD_ADMIN_USERNAME="shepherd").test_client()
    assert login(client, "admin").status_code == 401
    response = login(client, "shepherd")
    assert response.status_code == 200 and response.get_json()["username"] == "shepherd"


def test_login_and_logout_need_the_csrf_header(client: FlaskClient) -> None:
    credentials = {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    for headers in ({}, {"X-Herd-Request": "0"}, {"X-Herd-Request": ""}):
        for path in ("/api/auth/login", "/api/auth/logout"):
            response = client.post(path, json=credentials, headers=headers)
            assert response.status_code == 403, (path, headers)
            assert "X-Herd-Request: 1" in response.get_json()["error"]
            assert response.get_json()["header"] == "X-Herd-Request"
            assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"username": "admin", "password": "x", "remember": True}, "remember", "unknown field 'remember'"),
        ({"username": "admin"}, "password", "password is required"),
        ({"password": "x"}, "username", "username is required"),
        ({"username": 1, "password": "x"}, "username", "username must be a string"),
        ({"username": "admin", "password": ["x"]}, "password", "password must be a string"),
    ],
)
def test_bad_login_bodies_name_the_field(client: FlaskClient, body: dict, field: str, fragment: str) -> None:
    response = client.post("/api/auth/login", json=body, headers=WRITE_HEADERS)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert fragment in response.get_json()["error"]


def test_login_body_must_be_a_json_object(client: FlaskClient) -> None:
    broken = client.post("/api/auth/login", data="{", content_type="application/json", headers=WRITE_HEADERS)
    assert broken.status_code == 400
    assert client.post("/api/auth/login", json=["admin"], headers=WRITE_HEADERS).status_code == 400
    response = client.post("/api/auth/login", data="admin", content_type="text/plain", headers=WRITE_HEADERS)
    assert response.status_code == 415
    assert client.get("/api/auth/login").status_code == 405


def test_session_reports_who_is_signed_in_until_logout(client: FlaskClient) -> None:
    assert client.get("/api/auth/session").get_json() == {"authenticated": False}
    expires_at = login(client).get_json()["expires_at"]
    assert client.get("/api/auth/session").get_json() == {
        "authenticated": True, "username": "admin", "expires_at": expires_at,
    }
    response = client.post("/api/auth/logout", headers=WRITE_HEADERS)
    assert response.status_code == 204 and response.data == b""
    [cleared] = response.headers.getlist("Set-Cookie")
    assert cleared == "herd_session=; Path=/api; HttpOnly; SameSite=Strict; Max-Age=0; Secure"
    assert client.get_cookie(COOKIE, path="/api") is None
    assert client.get("/api/auth/session").get_json() == {"authenticated": False}
    assert client.post("/api/items", json={"name": "after logout"}, headers=WRITE_HEADERS).status_code == 401


def test_logout_without_a_session_still_clears(client: FlaskClient) -> None:
    response = client.post("/api/auth/logout", headers=WRITE_HEADERS)
    assert response.status_code == 204
    assert response.headers["Set-Cookie"].startswith("herd_session=; ")


def test_session_answers_false_for_expired_tampered_or_foreign_tokens(app: Flask, client: FlaskClient) -> None:
    login(client)
    good = session_cookie(client)
    prefix, body, mac = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged_body = base64.urlsafe_b64encode(
        json.dumps({**claims, "exp": claims["exp"] + 10**6}).encode()
    ).rstrip(b"=").decode()
    bad = {
        "expired": minted(app, now=time.time() - 12 * 3600 - 1),
        "longer lifetime, same MAC": f"{prefix}.{forged_body}.{mac}",
        "flipped MAC": f"{prefix}.{body}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}",
        "other secret": minted(app, session_secret="z" * 32),
        "other password": minted(app, admin_password="previous-password"),
        "other username": minted(app, admin_username="root"),
        "garbage": "not-a-token",
        "empty": "",
        "longer than any token": "v1." + "A" * 2000 + ".AAAA",
    }
    for what, token in bad.items():
        response = with_cookie(app.test_client(), token).get("/api/auth/session")
        assert response.get_json() == {"authenticated": False}, what
    assert with_cookie(app.test_client(), good).get("/api/auth/session").get_json()["authenticated"] is True


def test_the_token_carries_no_password(client: FlaskClient) -> None:
    login(client)
    _, body, _ = session_cookie(client).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert sorted(claims) == ["exp", "fp", "u"]
    assert ADMIN_PASSWORD not in json.dumps(claims) and SESSION_SECRET not in json.dumps(claims)


def test_a_password_change_ends_every_session(make_app: Callable[..., Flask]) -> None:
    before = sign_in(make_app().test_client())
    token = session_cookie(before)
    assert before.post("/api/items", json={"name": "before the change"}).status_code == 201
    # the same secret, a new password: what a rollout after `pulumi config set --secret` gives
    after = with_cookie(make_app(HERD_ADMIN_PASSWORD="a-new-admin-password").test_client(), token)
    assert after.get("/api/auth/session").get_json() == {"authenticated": False}
    assert after.post("/api/items", json={"name": "x"}, headers=WRITE_HEADERS).get_json() == {
        "error": "sign in to change items"
    }


def test_a_session_works_on_every_replica_with_the_same_secret(make_app: Callable[..., Flask]) -> None:
    token = session_cookie(sign_in(make_app().test_client()))
    other = with_cookie(make_app().test_client(), token)
    assert other.post("/api/items", json={"name": "via another worker"}, headers=WRITE_HEADERS).status_code == 201


# -- writes -----------------------------------------------------------------------------------------


def write(client: FlaskClient, route: str, headers: dict[str, str] | None = None) -> TestResponse:
    """POST /api/items, or DELETE of an item made for the purpose (with Basic auth)."""
    if route == "POST":
        return client.post("/api/items", json={"name": "Sheep"}, headers=headers or {})
    made = client.post("/api/items", json={"name": "to delete"}, headers=basic_auth())
    assert made.status_code == 201
    return client.delete(f"/api/items/{made.get_json()['id']}", headers=headers or {})


WRITES = ["POST", "DELETE"]
OK = {"POST": 201, "DELETE": 204}


@pytest.mark.parametrize("route", WRITES)
def test_anonymous_writes_are_refused(client: FlaskClient, route: str) -> None:
    count = item_count(client)
    no_header = write(client, route)
    assert no_header.status_code == 403
    assert no_header.get_json()["header"] == "X-Herd-Request"
    with_header = write(client, route, WRITE_HEADERS)
    assert with_header.status_code == 401
    assert with_header.get_json() == {"error": "sign in to change items"}
    assert "WWW-Authenticate" not in with_header.headers
    assert item_count(client) == count + (2 if route == "DELETE" else 0)  # only the Basic-made ones


@pytest.mark.parametrize("route", WRITES)
def test_cookie_writes_need_the_csrf_header(client: FlaskClient, route: str) -> None:
    login(client)
    response = write(client, route)
    assert response.status_code == 403
    assert "X-Herd-Request" in response.get_json()["error"]
    assert write(client, route, WRITE_HEADERS).status_code == OK[route]


@pytest.mark.parametrize("route", WRITES)
def test_basic_auth_writes_need_no_cookie_and_no_csrf_header(client: FlaskClient, route: str) -> None:
    assert write(client, route, basic_auth()).status_code == OK[route]


@pytest.mark.parametrize("route", WRITES)
@pytest.mark.parametrize(
    "authorization",
    [
        "wrong password",
        "unknown user",
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer abc",
    ],
)
def test_bad_authorization_is_refused(client: FlaskClient, route: str, authorization: str) -> None:
    headers = {
        "wrong password": basic_auth(password="wrong"),
        "unknown user": basic_auth(username="root"),
    }.get(authorization, {"Authorization": authorization})
    response = write(client, route, {**headers, **WRITE_HEADERS})
    assert response.status_code == 401
    expected = "wrong username or password" if authorization in ("wrong password", "unknown user") else (
        "Authorization must be Basic <base64 of username:password>"
    )
    assert response.get_json() == {"error": expected}
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize("route", WRITES)
@pytest.mark.parametrize("what", ["expired", "tampered", "password changed"])
def test_stale_or_forged_sessions_cannot_write(app: Flask, route: str, what: str) -> None:
    client = app.test_client()
    login(client)
    good = session_cookie(client)
    token = {
        "expired": minted(app, now=time.time() - 13 * 3600),
        "tampered": good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB"),
        "password changed": minted(app, admin_password="the-old-password"),
    }[what]
    response = write(with_cookie(app.test_client(), token), route, WRITE_HEADERS)
    assert response.status_code == 401
    assert response.get_json() == {"error": "sign in to change items"}


def test_a_session_lasts_until_it_expires(app: Flask) -> None:
    hours = app.extensions["herd_auth"].settings.session_hours
    nearly = minted(app, now=time.time() - hours * 3600 + 30)
    assert write(with_cookie(app.test_client(), nearly), "POST", WRITE_HEADERS).status_code == 201


# -- reads ------------------------------------------------------------------------------------------

READS = ["/api/items", "/api/items/search?q=sheep", "/api/items/{id}"]


def read_paths(client: FlaskClient) -> list[str]:
    made = client.post("/api/items", json={"name": "sheep"}, headers=basic_auth()).get_json()
    return [path.format(id=made["id"]) for path in READS]


def test_reads_are_public_by_default(client: FlaskClient) -> None:
    for path in read_paths(client):
        response = client.get(path)
        assert response.status_code == 200, path
        assert client.head(path).status_code == 200, path


def test_reads_need_sign_in_when_configured(make_app: Callable[..., Flask]) -> None:
    app = make_app(HERD_READS_REQUIRE_SIGN_IN="true")
    anonymous = app.test_client()
    paths = read_paths(anonymous)
    signed_in = app.test_client()
    login(signed_in)
    for path in paths:
        response = anonymous.get(path)
        assert response.status_code == 401, path
        assert response.get_json() == {"error": "sign in to see items"}
        assert "WWW-Authenticate" not in response.headers
        assert anonymous.head(path).status_code == 401
        # a read changes nothing: the cookie alone is enough, no X-Herd-Request
        assert signed_in.get(path).status_code == 200, path
        assert anonymous.get(path, headers=basic_auth()).status_code == 200, path
        assert anonymous.get(path, headers=basic_auth(password="nope")).status_code == 401
        expired = with_cookie(app.test_client(), minted(app, now=time.time() - 13 * 3600))
        assert expired.get(path).status_code == 401


def test_probes_session_and_metrics_are_never_gated(make_app: Callable[..., Flask]) -> None:
    app = make_app(HERD_READS_REQUIRE_SIGN_IN="true")
    client = app.test_client()
    for path in ("/healthz", "/readyz", "/api/healthz", "/api/readyz"):
        assert client.get(path).status_code == 200, path
    assert client.get("/api/auth/session").get_json() == {"authenticated": False}
    metrics = Client(MetricsPort(app, app.extensions["herd"], 9102))
    assert metrics.get("/metrics", environ_overrides={"SERVER_PORT": "9102"}).status_code == 200


# -- logs and metrics -------------------------------------------------------------------------------


def test_failures_are_logged_with_username_and_address_but_never_the_password(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = app.test_client()
    wrong = "wrong-pw-9f8e7d"
    responses: list[TestResponse] = []
    with caplog.at_level(logging.INFO, logger="herd_api"):
        responses.append(login(client, "mallory\nFAKE LINE", wrong))
        responses.append(
            client.post(
                "/api/items", json={"name": "x"}, headers={**basic_auth("eve", wrong), "X-Real-IP": "203.0.113.9"}
            )
        )
        responses.append(login(client))
        responses.append(client.post("/api/items", json={"name": "ok"}, headers=WRITE_HEADERS))
        responses.append(client.post("/api/auth/logout", headers=WRITE_HEADERS))
    text = caplog.text
    assert "sign-in failed for username 'mallory\\nFAKE LINE' from 127.0.0.1" in text
    assert "basic auth failed for username 'eve' from 127.0.0.1 (X-Real-IP '203.0.113.9')" in text
    assert "signed in: 'admin' from 127.0.0.1" in text
    assert "signed out: 'admin' from 127.0.0.1" in text
    assert "\nFAKE LINE" not in text
    for secret in (wrong, ADMIN_PASSWORD, SESSION_SECRET):
        assert secret not in text
        for response in responses:
            assert secret not in response.get_data(as_text=True)
            assert all(secret not in value for _, value in response.headers.items())


def test_auth_metrics_use_route_templates_only(app: Flask) -> None:
    from prometheus_client import REGISTRY

    def series() -> set[tuple[str, str, str]]:
        return {
            (s.labels["method"], s.labels["route"], s.labels["status"])
            for family in REGISTRY.collect()
            if family.name == "herd_api_requests"
            for s in family.samples
            if s.name == "herd_api_requests_total"
        }

    entry = Client(MetricsPort(app, app.extensions["herd"], 9102))
    before = series()
    for i in range(25):
        entry.post(
            "/api/auth/login",
            json={"username": f"user-{i}", "password": f"pw-{i}"},
            headers=WRITE_HEADERS,
            environ_overrides={"SERVER_PORT": "8000"},
        )
        entry.get(
            "/api/auth/session", headers={"Cookie": f"herd_session=v1.forged-{i}.x"},
            environ_overrides={"SERVER_PORT": "8000"},
        )
        entry.post("/api/items", json={"name": "x"}, environ_overrides={"SERVER_PORT": "8000"})
    new = series() - before
    # 75 requests, 75 different usernames and cookies: three series (or fewer, if an earlier test made them)
    assert new <= {
        ("POST", "/api/auth/login", "401"),
        ("GET", "/api/auth/session", "200"),
        ("POST", "/api/items", "403"),
    }
    assert {("POST", "/api/auth/login", "401"), ("POST", "/api/items", "403")} <= series()
    assert not any("user-" in label or "forged" in label for labels in series() for label in labels)
