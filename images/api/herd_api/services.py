"""Per-app dependencies: built once per app instance (so once per uwsgi worker with lazy-apps).

Nothing here is module-global: tests build as many apps as they like, each with its own settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cache import ItemCache, make_client
from .config import Settings
from .search import ElasticsearchClient


@dataclass
class Services:
    settings: Settings
    cache: ItemCache
    search: ElasticsearchClient | None

    @classmethod
    def build(cls, settings: Settings) -> Services:
        cache = ItemCache(make_client(settings.redis), settings.cache_ttl_seconds, settings.redis.retry_after)
        search = None if settings.elasticsearch is None else ElasticsearchClient(settings.elasticsearch)
        return cls(settings=settings, cache=cache, search=search)

    def close(self) -> None:
        self.cache.close()
