"""Shared by the hostile-input tests: the auth variables the app needs, JSON-error checks, and a seeded generator of
raw HTTP/1.1 requests full of bytes that are not text (invalid UTF-8, control bytes) for real servers."""

from __future__ import annotations

import base64
import json
import random
import socket
from dataclasses import dataclass

# The auth settings the API requires (HERD_ADMIN_PASSWORD, HERD_SESSION_SECRET; see config.py). Passed explicitly so
# these tests do not depend on what the shared fixtures add.
ADMIN_PASSWORD = "hostile-admin-pw"
AUTH_ENV = {
    "HERD_ADMIN_USERNAME": "admin",
    "HERD_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "HERD_SESSION_SECRET": "s" * 48,
    "HERD_SESSION_COOKIE_SECURE": "false",
}
BASIC_AUTH = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode("ascii")

# Every route and method the API has (and some it has not).
PATHS = (
    "/healthz", "/readyz", "/api/healthz", "/api/readyz", "/api/items", "/api/items/search", "/api/items/1",
    "/api/items/999999", "/api/auth/login", "/api/auth/logout", "/api/auth/session", "/nope", "/",
)
METHODS = ("GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS")

# Byte sequences that are not UTF-8 text, or are text a parser may trip on.
NASTY = (
    b"\xff", b"\xfe\xff", b"\xc3", b"\xc3(", b"\xa0\xa1", b"\xe2\x82", b"\xe2\x28\xa1", b"\xf0\x90\x28\xbc",
    b"\xf8\xa1\xa1\xa1\xa1", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe0\x80\xaf", b"\x80", b"\xbf", b"\x00", b"\x01",
    b"\x1b[31m", b"\x7f", b"\t", b"\xef\xbb\xbf", b"%ff", b"%C3", b"%ED%A0%80", b"%00", b"%0d%0a", b"%",
    b"%%", b"%zz", b"\xe9t\xe9", "é".encode(), "😀".encode(), b"{", b"\"", b"'", b"\\", b"\\u0000", b"\\ud800",
)


def json_error(status: int, body: bytes) -> dict[str, object]:
    """The API's error shape; fails the test with what came instead."""
    text = body.decode("utf-8", "replace")
    assert "Traceback" not in text and 'File "' not in text, text[:500]
    try:
        parsed = json.loads(body)
    except ValueError:
        raise AssertionError(f"{status} with a non-JSON body: {text[:300]!r}") from None
    assert isinstance(parsed, dict) and isinstance(parsed.get("error"), str) and parsed["error"], parsed
    return parsed


@dataclass(frozen=True)
class RawRequest:
    kind: str
    data: bytes


def _nasty(rng: random.Random, n: int = 1) -> bytes:
    return b"".join(rng.choice(NASTY) for _ in range(n))


def _mix(rng: random.Random, text: bytes) -> bytes:
    """``text`` with nasty bytes put in at random places."""
    out = bytearray(text)
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(out))
        out[at:at] = _nasty(rng)
    return bytes(out)


def _request(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    head = [method + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    head += [name + b": " + value for name, value in headers]
    if body or method in (b"POST", b"PUT", b"PATCH"):
        head.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def raw_requests(seed: int, count: int) -> list[RawRequest]:
    """``count`` requests, the same ones for the same seed, spread over five kinds of damage: the request line's
    path, the query string, a header value, a cookie, the body."""
    rng = random.Random(seed)
    kinds = ("path", "query", "header", "cookie", "body")
    made: list[RawRequest] = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        method = rng.choice(METHODS).encode()
        path = rng.choice(PATHS).encode()
        query = b""
        headers: list[tuple[bytes, bytes]] = []
        body = b""
        if rng.random() < 0.5:
            headers.append((b"Authorization", BASIC_AUTH.encode()))
        if rng.random() < 0.5:
            headers.append((b"X-Herd-Request", b"1"))
        if kind == "path":
            path = _mix(rng, path)
        elif kind == "query":
            path = b"/api/items/search" if rng.random() < 0.6 else path
            query = b"?" + _mix(rng, rng.choice([b"q=sheep", b"q=a&q=b", b"q=", b"x=1&q=wool", b"q"]))
        elif kind == "header":
            name = rng.choice([b"User-Agent", b"Accept", b"X-Request-ID", b"Content-Type", b"X-Herd-Request",
                               b"Authorization", b"X-Forwarded-For", b"Accept-Language", b"Referer"])
            headers.append((name, _mix(rng, rng.choice([b"text", b"application/json", b"Basic YWRtaW46eA==", b"1"]))))
        elif kind == "cookie":
            headers.append((b"Cookie", _mix(rng, rng.choice([b"herd_session=abc.def", b"a=b; c=d", b"herd_session="]))))
        else:
            method = rng.choice([b"POST", b"POST", b"PUT", b"DELETE"])
            path = rng.choice([b"/api/items", b"/api/auth/login", b"/api/items/1"])
            headers.append((b"Content-Type", rng.choice([b"application/json", b"application/json; charset=utf-8",
                                                         b"text/plain", _mix(rng, b"application/json")])))
            template = rng.choice([b'{"name": "X", "description": "Y"}', b'{"username": "admin", "password": "X"}',
                                   b"X", b'["X"]'])
            body = _mix(rng, template)
        made.append(RawRequest(kind, _request(method, path + query, headers, body)))
    return made


def send_raw(port: int, data: bytes, timeout: float = 10) -> tuple[int | None, bytes, bytes]:
    """Sends ``data`` on a new connection and reads the whole answer: (status or None, headers, body).
    A closed connection without an answer gives (None, b"", b"")."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)  # "Connection: close": the server closes once it has answered
        chunks: list[bytes] = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        return None, b"", b""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    status = int(status_line[1]) if len(status_line) >= 2 and status_line[1].isdigit() else None
    return status, head, body
