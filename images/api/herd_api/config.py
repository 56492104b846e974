"""Configuration from environment variables only.

Every setting is read once, validated, and turned into frozen dataclasses. All problems are collected
and reported together in one :class:`ConfigError`, each naming the variable, so a misconfigured pod
fails at start with a message that says what to fix.

Secrets may be given as ``X`` or as ``X_FILE`` (path of a mounted file, e.g. a Kubernetes Secret
volume); when both are set the file wins. One trailing newline is stripped from file contents.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_CONTENT_LENGTH_CAP = 16 * 1024 * 1024


class ConfigError(Exception):
    """Invalid or missing configuration; ``problems`` lists one message per variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration: " + "; ".join(self.problems))


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    name: str
    user: str
    password: str = field(repr=False)
    connect_timeout: int = 2
    statement_timeout_ms: int = 5000
    sslmode: str = "prefer"
    #: The CA that signed the server's certificate (DATABASE_SSLROOTCERT); required by verify-ca / verify-full.
    sslrootcert: str | None = None


@dataclass(frozen=True)
class RedisSettings:
    host: str
    port: int
    password: str | None = field(default=None, repr=False)
    db: int = 0
    timeout: float = 1.0
    retry_after: float = 2.0
    #: TLS to Redis (REDIS_TLS), the server's certificate verified against ca_file (REDIS_CA_FILE), host name included.
    tls: bool = False
    ca_file: str | None = None


@dataclass(frozen=True)
class ElasticsearchSettings:
    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    index: str = "herd-items"
    timeout: float = 2.0
    ca_file: str | None = None
    retry_after: float = 5.0


@dataclass(frozen=True)
class AuthSettings:
    """Who may change items (see auth.py): one admin credential; sessions signed with a secret."""

    admin_password: str = field(repr=False)
    session_secret: str = field(repr=False)
    admin_username: str = "admin"
    session_hours: int = 12
    cookie_secure: bool = True
    reads_require_sign_in: bool = False


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    redis: RedisSettings
    elasticsearch: ElasticsearchSettings | None
    auth: AuthSettings
    cache_ttl_seconds: int = 60
    log_level: str = "INFO"
    max_content_length: int = 65536
    #: The port uwsgi serves the Prometheus metrics on (uwsgi.ini reads HERD_METRICS_PORT too).
    metrics_port: int = 9102


class _Reader:
    """Reads variables from one environment mapping and records every problem it meets."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or value.strip() == "":
            return None
        return value

    def string(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.problems.append(f"{name} is required but not set")
            return default
        return value.strip()

    def secret(self, name: str, *, required: bool = False) -> str | None:
        """``NAME_FILE`` (a path) wins over ``NAME``; the file must be readable."""
        file_var = f"{name}_FILE"
        path = self.raw(file_var)
        if path is not None:
            try:
                with open(path.strip(), encoding="utf-8") as handle:
                    content = handle.read()
            except OSError as exc:
                self.problems.append(f"{file_var}={path.strip()} cannot be read: {exc.strerror or exc}")
                return None
            except UnicodeDecodeError:
                self.problems.append(f"{file_var}={path.strip()} is not UTF-8 text")
                return None
            if content.endswith("\r\n"):
                content = content[:-2]
            elif content.endswith("\n"):
                content = content[:-1]
            if content == "" and required:
                self.problems.append(f"{file_var}={path.strip()} is empty")
                return None
            return content
        value = self.env.get(name)
        if value is None or value == "":
            if required:
                self.problems.append(f"{name} (or {file_var}) is required but not set")
            return None
        return value

    def integer(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value.strip(), 10)
        except ValueError:
            self.problems.append(f"{name}={value!r} is not an integer")
            return default
        if not minimum <= number <= maximum:
            self.problems.append(f"{name}={number} is out of range {minimum}..{maximum}")
            return default
        return number

    def number(self, name: str, default: float, *, minimum: float, maximum: float) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value.strip())
        except ValueError:
            self.problems.append(f"{name}={value!r} is not a number")
            return default
        if not minimum <= number <= maximum:
            self.problems.append(f"{name}={value.strip()} is out of range {minimum:g}..{maximum:g}")
            return default
        return number

    def fail_if_problems(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


def _database(reader: _Reader) -> DatabaseSettings:
    sslmode = reader.string("DATABASE_SSLMODE", default="prefer") or "prefer"
    allowed_sslmodes = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
    if sslmode not in allowed_sslmodes:
        reader.problems.append(f"DATABASE_SSLMODE={sslmode!r} must be one of {', '.join(allowed_sslmodes)}")
    sslrootcert = reader.string("DATABASE_SSLROOTCERT")
    if sslrootcert is not None and not os.path.isfile(sslrootcert):
        reader.problems.append(f"DATABASE_SSLROOTCERT={sslrootcert} does not exist (expected the CA certificate file)")
    elif sslrootcert is None and sslmode in ("verify-ca", "verify-full"):
        reader.problems.append(
            f"DATABASE_SSLROOTCERT is required with DATABASE_SSLMODE={sslmode} (the CA certificate file to verify"
            " the server against)"
        )
    return DatabaseSettings(
        host=reader.string("DATABASE_HOST", required=True) or "",
        port=reader.integer("DATABASE_PORT", 5432, minimum=1, maximum=65535),
        name=reader.string("DATABASE_NAME", required=True) or "",
        user=reader.string("DATABASE_USER", required=True) or "",
        password=reader.secret("DATABASE_PASSWORD", required=True) or "",
        # libpq treats anything below 2 s as 2 s.
        connect_timeout=reader.integer("DATABASE_CONNECT_TIMEOUT", 2, minimum=2, maximum=60),
        statement_timeout_ms=reader.integer("DATABASE_STATEMENT_TIMEOUT_MS", 5000, minimum=100, maximum=600_000),
        sslmode=sslmode,
        sslrootcert=sslrootcert,
    )


def _redis(reader: _Reader) -> RedisSettings:
    tls = _flag(reader, "REDIS_TLS", False)
    ca_file = reader.string("REDIS_CA_FILE")
    if ca_file is not None and not os.path.isfile(ca_file):
        reader.problems.append(f"REDIS_CA_FILE={ca_file} does not exist (expected the CA certificate file)")
    elif tls and ca_file is None:
        reader.problems.append("REDIS_CA_FILE is required with REDIS_TLS=true (the CA certificate file)")
    elif not tls and ca_file is not None:
        reader.problems.append("REDIS_CA_FILE is set but REDIS_TLS is not true: set REDIS_TLS=true to use TLS")
    return RedisSettings(
        host=reader.string("REDIS_HOST", required=True) or "",
        port=reader.integer("REDIS_PORT", 6379, minimum=1, maximum=65535),
        password=reader.secret("REDIS_PASSWORD"),
        db=reader.integer("REDIS_DB", 0, minimum=0, maximum=15),
        timeout=reader.number("REDIS_TIMEOUT_SECONDS", 1.0, minimum=0.05, maximum=30),
        retry_after=reader.number("REDIS_RETRY_AFTER_SECONDS", 2.0, minimum=0, maximum=300),
        tls=tls,
        ca_file=ca_file,
    )


def _elasticsearch(reader: _Reader) -> ElasticsearchSettings | None:
    url = reader.string("ELASTICSEARCH_URL")
    username = reader.string("ELASTICSEARCH_USERNAME")
    password = reader.secret("ELASTICSEARCH_PASSWORD")
    index = reader.string("ELASTICSEARCH_INDEX", default="herd-items") or "herd-items"
    timeout = reader.number("ELASTICSEARCH_TIMEOUT_SECONDS", 2.0, minimum=0.05, maximum=30)
    retry_after = reader.number("ELASTICSEARCH_RETRY_AFTER_SECONDS", 5.0, minimum=0, maximum=300)
    ca_file = reader.string("ELASTICSEARCH_CA_FILE")
    if url is None:
        return None
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        reader.problems.append(f"ELASTICSEARCH_URL={url!r} must be an http:// or https:// URL with a host")
    elif parsed.username or parsed.password:
        reader.problems.append("ELASTICSEARCH_URL must not embed credentials; use ELASTICSEARCH_USERNAME/_PASSWORD")
    if (username is None) != (password is None):
        reader.problems.append(
            "ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD (or ELASTICSEARCH_PASSWORD_FILE) must be set together"
        )
    if not index.islower() or any(c in index for c in ' "*\\<|,>/?#:') or index.startswith(("-", "_", "+")):
        reader.problems.append(f"ELASTICSEARCH_INDEX={index!r} is not a valid Elasticsearch index name")
    if ca_file is not None and not os.path.isfile(ca_file):
        reader.problems.append(f"ELASTICSEARCH_CA_FILE={ca_file} does not exist")
    return ElasticsearchSettings(
        url=url.rstrip("/"),
        username=username,
        password=password,
        index=index,
        timeout=timeout,
        ca_file=ca_file,
        retry_after=retry_after,
    )


SESSION_SECRET_MIN = 32
ADMIN_USERNAME_MAX = 64


def _flag(reader: _Reader, name: str, default: bool) -> bool:
    """``true`` or ``false`` (any case); anything else is a problem naming the variable."""
    value = reader.raw(name)
    if value is None:
        return default
    text = value.strip().lower()
    if text not in ("true", "false"):
        reader.problems.append(f"{name}={value.strip()!r} must be true or false")
        return default
    return text == "true"


def _auth(reader: _Reader) -> AuthSettings:
    username = reader.string("HERD_ADMIN_USERNAME", default="admin") or "admin"
    if len(username) > ADMIN_USERNAME_MAX or ":" in username or any(not c.isprintable() for c in username):
        reader.problems.append(
            f"HERD_ADMIN_USERNAME={username!r} must be 1 to {ADMIN_USERNAME_MAX} printable characters without ':'"
        )
    password = reader.secret("HERD_ADMIN_PASSWORD", required=True) or ""
    secret = reader.secret("HERD_SESSION_SECRET", required=True)
    if secret is not None and len(secret) < SESSION_SECRET_MIN:
        # the length only, never the value
        reader.problems.append(
            f"HERD_SESSION_SECRET (or HERD_SESSION_SECRET_FILE) must be at least {SESSION_SECRET_MIN} characters;"
            f" it has {len(secret)}"
        )
    return AuthSettings(
        admin_username=username,
        admin_password=password,
        session_secret=secret or "",
        session_hours=reader.integer("HERD_SESSION_HOURS", 12, minimum=1, maximum=168),
        cookie_secure=_flag(reader, "HERD_SESSION_COOKIE_SECURE", True),
        reads_require_sign_in=_flag(reader, "HERD_READS_REQUIRE_SIGN_IN", False),
    )


def load_database_settings(env: Mapping[str, str] | None = None) -> DatabaseSettings:
    """Only the ``DATABASE_*`` variables (what ``python -m herd_api.migrate`` needs)."""
    reader = _Reader(os.environ if env is None else env)
    settings = _database(reader)
    reader.fail_if_problems()
    return settings


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Everything the API needs; raises :class:`ConfigError` listing every problem."""
    reader = _Reader(os.environ if env is None else env)
    database = _database(reader)
    redis = _redis(reader)
    elasticsearch = _elasticsearch(reader)
    auth = _auth(reader)
    cache_ttl = reader.integer("CACHE_TTL_SECONDS", 60, minimum=1, maximum=86400)
    # at most uwsgi.ini's limit-post, above which uwsgi drops the request before the app can answer 413
    max_content_length = reader.integer("MAX_CONTENT_LENGTH", 65536, minimum=1024, maximum=MAX_CONTENT_LENGTH_CAP)
    metrics_port = reader.integer("HERD_METRICS_PORT", 9102, minimum=1, maximum=65535)
    log_level = (reader.string("LOG_LEVEL", default="INFO") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        reader.problems.append(f"LOG_LEVEL={log_level!r} must be one of {', '.join(LOG_LEVELS)}")
        log_level = "INFO"
    reader.fail_if_problems()
    return Settings(
        database=database,
        redis=redis,
        elasticsearch=elasticsearch,
        auth=auth,
        cache_ttl_seconds=cache_ttl,
        log_level=log_level,
        max_content_length=max_content_length,
        metrics_port=metrics_port,
    )


def configure_logging(level: str) -> None:
    """One stderr handler, plain single-line records (uwsgi and Kubernetes collect stderr)."""
    root = logging.getLogger()
    if not any(getattr(h, "_herd", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s"))
        handler._herd = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("herd_api").setLevel(level)
