"""herd API: a small Flask service for items, backed by PostgreSQL, cached in Redis, searched in Elasticsearch."""

from .app import create_app
from .config import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "create_app", "load_settings"]
