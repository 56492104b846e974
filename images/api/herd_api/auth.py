"""Sign-in: writes need it, reads only when ``HERD_READS_REQUIRE_SIGN_IN=true`` (see README, "Auth").

One admin credential (``HERD_ADMIN_USERNAME`` / ``HERD_ADMIN_PASSWORD``). A browser signs in with
``POST /api/auth/login`` and gets a session cookie; a script sends ``Authorization: Basic`` on each
request instead. The session is a token the API signs and checks itself (no server-side state, so
any uwsgi worker and any replica accepts it)::

    v1.<base64url JSON {"u": username, "exp": unix seconds, "fp": password fingerprint}>.<base64url HMAC-SHA256>

The MAC key is ``HERD_SESSION_SECRET``. ``fp`` is a keyed digest of the current admin username and
password, so changing the password (or the username, or the secret) ends every session at once;
the token never carries the password or anything it can be guessed from without the secret.

CSRF: a cookie goes with every request the browser makes to the API, including one a hostile page
triggers, so a cookie-authenticated write (and login/logout themselves) must also carry
``X-Herd-Request: 1``. A cross-site page cannot add a custom header without a CORS preflight, and
the API never grants one. Basic credentials are never cached by a browser for this site (the API
never asks for them with ``WWW-Authenticate``), so they need no such header.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from . import validation
from .config import AuthSettings
from .validation import ValidationError

log = logging.getLogger(__name__)

COOKIE_NAME = "herd_session"
COOKIE_PATH = "/api"
CSRF_HEADER = "X-Herd-Request"
CSRF_VALUE = "1"
TOKEN_PREFIX = "v1"
#: A session cookie longer than this is not one of ours (ours are ~150 characters).
TOKEN_MAX = 1024
LOGIN_FIELDS = ("username", "password")

WRONG_CREDENTIALS = "wrong username or password"
SIGN_IN_TO_WRITE = "sign in to change items"
SIGN_IN_TO_READ = "sign in to see items"
MISSING_CSRF_HEADER = (
    f"this request needs the header {CSRF_HEADER}: {CSRF_VALUE} (browsers), or Authorization: Basic (scripts)"
)
BAD_AUTHORIZATION = "Authorization must be Basic <base64 of username:password>"

bp = Blueprint("auth", __name__)


@dataclass(frozen=True)
class Session:
    username: str
    expires_at: int  # unix seconds
    token: str

    def expires_at_iso(self) -> str:
        return datetime.fromtimestamp(self.expires_at, UTC).isoformat()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """Checks the admin credential and issues/verifies session tokens. ``clock`` is for tests."""

    def __init__(self, settings: AuthSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._key = settings.session_secret.encode("utf-8")
        self._username_mac = self._mac(b"username", settings.admin_username.encode("utf-8"))
        self._password_mac = self._mac(b"password", settings.admin_password.encode("utf-8"))
        self._fingerprint = _b64encode(
            self._mac(b"fingerprint", self._username_mac + self._password_mac)[:16]
        )

    def _mac(self, purpose: bytes, data: bytes) -> bytes:
        return hmac.new(self._key, purpose + b"\x00" + data, hashlib.sha256).digest()

    def credentials_match(self, username: str, password: str) -> bool:
        """Constant time in the values given: both are compared as fixed-length keyed digests, always both."""
        username_ok = hmac.compare_digest(
            self._mac(b"username", username.encode("utf-8", "surrogatepass")), self._username_mac
        )
        password_ok = hmac.compare_digest(
            self._mac(b"password", password.encode("utf-8", "surrogatepass")), self._password_mac
        )
        return username_ok & password_ok

    def issue(self) -> Session:
        expires_at = int(self.clock()) + self.settings.session_hours * 3600
        claims = {"u": self.settings.admin_username, "exp": expires_at, "fp": self._fingerprint}
        body = _b64encode(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        signed = f"{TOKEN_PREFIX}.{body}"
        token = f"{signed}.{_b64encode(self._mac(b'session', signed.encode('ascii')))}"
        return Session(username=self.settings.admin_username, expires_at=expires_at, token=token)

    def verify(self, token: str | None) -> Session | None:
        """The session ``token`` stands for, or None: missing, malformed, tampered with, expired, or from
        before a change of username, password or secret."""
        if not token or len(token) > TOKEN_MAX or not token.isascii():
            return None
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        try:
            mac = _b64decode(parts[2])
        except (binascii.Error, ValueError):
            return None
        signed = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(mac, self._mac(b"session", signed.encode("ascii"))):
            return None
        try:
            claims = json.loads(_b64decode(parts[1]))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(claims, dict):
            return None
        username, expires_at, fingerprint = claims.get("u"), claims.get("exp"), claims.get("fp")
        if not isinstance(username, str) or not isinstance(fingerprint, str):
            return None
        if not isinstance(expires_at, int) or isinstance(expires_at, bool) or expires_at <= self.clock():
            return None
        if username != self.settings.admin_username or not hmac.compare_digest(fingerprint, self._fingerprint):
            return None
        return Session(username=username, expires_at=expires_at, token=token)


def init_app(app: Flask, settings: AuthSettings) -> None:
    app.extensions["herd_auth"] = Authenticator(settings)
    app.register_blueprint(bp)


def authenticator() -> Authenticator:
    auth: Authenticator = current_app.extensions["herd_auth"]
    return auth


# -- answers and request details ------------------------------------------------------------------


def _error(status: int, message: str, **extra: object) -> Response:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _cookie(value: str, max_age: int) -> str:
    parts = [f"{COOKIE_NAME}={value}", f"Path={COOKIE_PATH}", "HttpOnly", "SameSite=Strict", f"Max-Age={max_age}"]
    if authenticator().settings.cookie_secure:
        parts.append("Secure")
    return "; ".join(parts)


def _shown(text: str, limit: int = 64) -> str:
    """A client-supplied value made safe for one log line (escaped, cut)."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def client_address() -> str:
    """The TCP peer, and the address nginx says it serves (X-Real-IP) when there is one."""
    peer = request.remote_addr or "unknown"
    real_ip = request.headers.get("X-Real-IP")
    return peer if real_ip is None else f"{peer} (X-Real-IP {_shown(real_ip, 45)})"


def _has_csrf_header() -> bool:
    return request.headers.get(CSRF_HEADER, "").strip() == CSRF_VALUE


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


def _basic_denial() -> Response | None:
    """None when the request's Basic credentials are the admin's; an answer otherwise."""
    credentials = _basic_credentials(request.headers.get("Authorization", ""))
    if credentials is None:
        return _error(401, BAD_AUTHORIZATION)
    username, password = credentials
    if not authenticator().credentials_match(username, password):
        log.warning("basic auth failed for username %s from %s", _shown(username), client_address())
        return _error(401, WRONG_CREDENTIALS)
    return None


def current_session() -> Session | None:
    return authenticator().verify(request.cookies.get(COOKIE_NAME))


# -- guards for the item routes -------------------------------------------------------------------

View = TypeVar("View", bound=Callable[..., Any])


def sign_in_to_write(view: View) -> View:
    """Basic credentials, or a session cookie plus the CSRF header."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if "Authorization" in request.headers:
            denial = _basic_denial()
        elif not _has_csrf_header():
            denial = _error(403, MISSING_CSRF_HEADER, header=CSRF_HEADER)
        elif current_session() is None:
            denial = _error(401, SIGN_IN_TO_WRITE)
        else:
            denial = None
        return denial if denial is not None else view(*args, **kwargs)

    return cast(View, guarded)


def sign_in_to_read(view: View) -> View:
    """Public unless HERD_READS_REQUIRE_SIGN_IN=true; then Basic credentials or a session cookie (a read
    changes nothing, so it needs no CSRF header)."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        denial: Response | None = None
        if authenticator().settings.reads_require_sign_in:
            if "Authorization" in request.headers:
                denial = _basic_denial()
            elif current_session() is None:
                denial = _error(401, SIGN_IN_TO_READ)
        return denial if denial is not None else view(*args, **kwargs)

    return cast(View, guarded)


# -- /api/auth ------------------------------------------------------------------------------------


def _login_fields() -> tuple[str, str]:
    payload = validation.parse_json_object(request.get_data(cache=False), request.mimetype)
    for name in payload:
        if name not in LOGIN_FIELDS:
            raise ValidationError(
                f"unknown field {_shown(name)}; a sign-in takes only username and password", field=str(name)[:64]
            )
    values: list[str] = []
    for name in LOGIN_FIELDS:
        value = payload.get(name)
        if value is None:
            raise ValidationError(f"{name} is required", field=name)
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be a string", field=name)
        values.append(value)
    return values[0], values[1]


@bp.post("/api/auth/login")
def login() -> Response:
    if not _has_csrf_header():
        return _error(403, MISSING_CSRF_HEADER, header=CSRF_HEADER)
    username, password = _login_fields()
    auth = authenticator()
    if not auth.credentials_match(username, password):
        log.warning("sign-in failed for username %s from %s", _shown(username), client_address())
        return _error(401, WRONG_CREDENTIALS)
    session = auth.issue()
    log.info("signed in: %s from %s", _shown(session.username), client_address())
    response = jsonify({"username": session.username, "expires_at": session.expires_at_iso()})
    response.headers.add("Set-Cookie", _cookie(session.token, auth.settings.session_hours * 3600))
    return response


@bp.post("/api/auth/logout")
def logout() -> Response:
    if not _has_csrf_header():
        return _error(403, MISSING_CSRF_HEADER, header=CSRF_HEADER)
    session = current_session()
    if session is not None:
        log.info("signed out: %s from %s", _shown(session.username), client_address())
    response = Response(status=204)
    response.headers.add("Set-Cookie", _cookie("", 0))
    return response


@bp.get("/api/auth/session")
def session_state() -> Response:
    session = current_session()
    if session is None:
        return jsonify({"authenticated": False})
    return jsonify({"authenticated": True, "username": session.username, "expires_at": session.expires_at_iso()})
