"""Strict decoding of the bytes a request arrives with, before any route reads them.

WSGI hands the request line and headers over as latin-1 strings (one character per byte, RFC 3333). Werkzeug then
decodes them leniently (invalid UTF-8 becomes U+FFFD) or, for some raw bytes in the query string, not at all (a
``UnicodeDecodeError`` out of ``request.args``: a 500). Neither is acceptable for an API on the open internet: a
client that sends bytes which are not text gets a 400 saying which part was wrong, and the route never runs.

What is checked, each as the bytes the client sent (latin-1 round trip to bytes, then strict UTF-8):
  * the path (``PATH_INFO``, already percent-decoded by the server),
  * every query parameter's name and value, percent-decoded (``+`` is a space),
  * every header value (cookies included), which must also be free of control characters other than tab.
The body is not read here: the routes that take one parse it strictly themselves (``validation.parse_json_object``).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# RFC 9110 field values: visible characters, space and tab, and obs-text (bytes >= 0x80, which we require to be UTF-8).
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MAX_SHOWN = 60


@dataclass(frozen=True)
class BadBytes:
    """Which part of the request is not valid text, said so a client can fix it."""

    message: str
    #: The query parameter or header concerned (None for the path or the query string as a whole).
    field: str | None = None


def _raw(value: str) -> bytes:
    """The bytes a WSGI server gave as a latin-1 ``str``. A string beyond latin-1 (a server that decoded already) is
    taken as UTF-8, lone surrogates kept as such, so that they fail the strict decode that follows."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def shown(data: bytes | str, limit: int = _MAX_SHOWN) -> str:
    """A printable, single-line rendering of client bytes for a message or a log line (never the raw bytes:
    a newline in a path must not start a forged log line), cut at ``limit`` characters."""
    if isinstance(data, str):
        data = _raw(data)
    text = data.decode("utf-8", "backslashreplace")
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_query(raw: bytes) -> BadBytes | None:
    """Every name and value, percent-decoded (``+`` is a space), must be UTF-8: raw bytes and %XX escapes alike.
    Splitting on the ASCII ``&`` and ``=`` never cuts a valid UTF-8 sequence, so this covers the whole string."""
    for pair in raw.split(b"&"):
        name, _, value = pair.partition(b"=")
        name_bytes = urllib.parse.unquote_to_bytes(name.replace(b"+", b" "))
        name_text = _utf8(name_bytes)
        if name_text is None:
            return BadBytes(f"a query parameter name ({shown(name_bytes)}) is not valid UTF-8")
        if _utf8(urllib.parse.unquote_to_bytes(value.replace(b"+", b" "))) is None:
            return BadBytes(f"query parameter {shown(name_text)} is not valid UTF-8", field=name_text)
    return None


def _check_headers(environ: Mapping[str, Any]) -> BadBytes | None:
    for key in sorted(environ):
        if not (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")):
            continue
        value = environ[key]
        if not isinstance(value, str):
            continue
        name = key.removeprefix("HTTP_").replace("_", "-").title()
        decoded = _utf8(_raw(value))
        if decoded is None:
            return BadBytes(f"header {name} is not valid UTF-8", field=name)
        if _HEADER_CONTROL.search(decoded):
            return BadBytes(f"header {name} contains control characters", field=name)
    return None


def find_bad_bytes(environ: Mapping[str, Any]) -> BadBytes | None:
    """The first part of the request that is not valid text, or None when all of it is."""
    path = environ.get("PATH_INFO") or ""
    if isinstance(path, str) and _utf8(_raw(path)) is None:
        return BadBytes("the request path is not valid UTF-8")
    query = environ.get("QUERY_STRING") or ""
    if isinstance(query, str):
        problem = _check_query(_raw(query))
        if problem is not None:
            return problem
    return _check_headers(environ)
