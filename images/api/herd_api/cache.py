"""Redis cache for the item list, invalidated by a generation counter.

Readers read the generation ``G`` first, then the list cached under ``list:G``; on a miss they query
PostgreSQL and store the result under ``list:G`` (with the TTL). Writers ``INCR`` the generation. A
reader that raced with a writer can only store a stale list under the *old* generation, which no
one reads again, so an invalidation is never lost to a race.

Redis is optional at run time: every error is turned into :class:`CacheUnavailable`, the caller
serves from PostgreSQL, and a :class:`Breaker` keeps a dead Redis from costing a timeout per request.
An invalidation that failed is remembered and replayed on the next successful contact, so this
process never serves a list older than its own last write; across processes a Redis outage can at
worst leave a stale list for ``CACHE_TTL_SECONDS``.
"""

from __future__ import annotations

import json
import logging
import ssl
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

from .breaker import Breaker
from .config import RedisSettings

log = logging.getLogger(__name__)

KEY_PREFIX = "herd:items:"
GENERATION_KEY = KEY_PREFIX + "generation"


class CacheUnavailable(Exception):
    pass


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def make_client(settings: RedisSettings) -> redis.Redis:
    """With ``tls``: TLS only, the server's certificate verified against ``ca_file`` (herd's CA) and its host name
    checked; a server that cannot prove itself is an error (the cache is then unavailable), never a fallback."""
    tls: dict[str, Any] = {}
    if settings.tls:
        tls = {
            "ssl": True,
            "ssl_ca_certs": settings.ca_file,
            "ssl_cert_reqs": "required",
            "ssl_check_hostname": True,
            "ssl_min_version": ssl.TLSVersion.TLSv1_2,
        }
    return redis.Redis(
        host=settings.host,
        port=settings.port,
        db=settings.db,
        password=settings.password,
        socket_connect_timeout=settings.timeout,
        socket_timeout=settings.timeout,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), 0),  # fail fast; the breaker decides when to try again
        health_check_interval=30,
        client_name="herd-api",
        # a plain Redis (not a managed cluster) has no maintenance notifications: skip the handshake
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
        **tls,
    )


class ItemCache:
    def __init__(self, client: redis.Redis, ttl_seconds: int, retry_after: float) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.breaker = Breaker(retry_after)
        self._pending_invalidation = False

    def _fail(self, exc: Exception) -> CacheUnavailable:
        message = f"{type(exc).__name__}: {exc}"
        if self.breaker.failed(message):
            log.warning("redis unavailable, serving without cache: %s", message)
        return CacheUnavailable(message)

    def _ensure_available(self) -> None:
        if self.breaker.is_open:
            raise CacheUnavailable(self.breaker.last_error or "redis unavailable")
        if self._pending_invalidation:
            self.client.incr(GENERATION_KEY)
            self._pending_invalidation = False
            log.info("replayed a cache invalidation missed while redis was unavailable")

    def _succeeded(self) -> None:
        if self.breaker.succeeded():
            log.info("redis reachable again, cache re-enabled")

    def get_list(self) -> tuple[str, list[dict[str, Any]] | None]:
        """Returns ``(generation, items)``; ``items`` is None on a miss. Raises CacheUnavailable."""
        try:
            self._ensure_available()
            raw_generation = self.client.get(GENERATION_KEY)
            generation = "0" if raw_generation is None else _text(raw_generation)
            raw = self.client.get(f"{KEY_PREFIX}list:{generation}")
        except redis.RedisError as exc:
            raise self._fail(exc) from exc
        self._succeeded()
        if raw is None:
            return generation, None
        try:
            items = json.loads(raw)
        except ValueError:
            log.warning("ignoring an unreadable cache entry")
            return generation, None
        return generation, items

    def store_list(self, generation: str, items: list[dict[str, Any]]) -> None:
        """Best effort: a failure only means the next request misses again."""
        try:
            self._ensure_available()
            self.client.set(f"{KEY_PREFIX}list:{generation}", json.dumps(items), ex=self.ttl_seconds)
        except (redis.RedisError, CacheUnavailable) as exc:
            if isinstance(exc, redis.RedisError):
                self._fail(exc)
            return
        self._succeeded()

    def invalidate(self) -> bool:
        """Bumps the generation; on failure remembers to do it at the next successful contact."""
        try:
            if self.breaker.is_open:
                raise CacheUnavailable(self.breaker.last_error or "redis unavailable")
            self.client.incr(GENERATION_KEY)
        except (redis.RedisError, CacheUnavailable) as exc:
            self._pending_invalidation = True
            if isinstance(exc, redis.RedisError):
                self._fail(exc)
            return False
        self._pending_invalidation = False
        self._succeeded()
        return True

    def ping(self) -> None:
        """Readiness check: always really asks Redis (ignores the breaker). Raises redis errors."""
        try:
            self.client.ping()
        except redis.RedisError as exc:
            self._fail(exc)
            raise
        self._succeeded()

    def close(self) -> None:
        self.client.close()
