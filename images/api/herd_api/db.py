"""PostgreSQL access: one short-lived connection per request, every call bounded by timeouts.

A connection per request (instead of a pool) keeps the processes free of shared state across
uwsgi's forks and recovers by itself after a database restart; its cost (~1-3 ms on a cluster
network) is small next to the request. ``connect_timeout`` bounds connecting, the server-side
``statement_timeout`` bounds every query, TCP keepalives detect dead peers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from .config import DatabaseSettings

LIST_LIMIT = 100


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    description: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "created_at": self.created_at.astimezone(UTC).isoformat(),
        }


def connect(settings: DatabaseSettings, *, application_name: str = "herd-api") -> psycopg.Connection[Any]:
    """Opens an autocommit connection (every statement here is a single-statement transaction).

    TLS as configured: with ``sslmode=verify-full`` (what herd deploys) libpq checks the server's certificate against
    ``sslrootcert`` (herd's CA) and its name against ``host``, and refuses to talk otherwise."""
    # Any: psycopg.connect types its keyword arguments one by one; this only ever holds sslrootcert (a str).
    tls: dict[str, Any] = {} if settings.sslrootcert is None else {"sslrootcert": settings.sslrootcert}
    return psycopg.connect(
        host=settings.host,
        port=settings.port,
        dbname=settings.name,
        user=settings.user,
        password=settings.password,
        sslmode=settings.sslmode,
        connect_timeout=settings.connect_timeout,
        application_name=application_name,
        options=f"-c statement_timeout={settings.statement_timeout_ms} -c TimeZone=UTC",
        keepalives=1,
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
        autocommit=True,
        row_factory=dict_row,
        **tls,
    )


def _item(row: dict[str, Any]) -> Item:
    return Item(id=row["id"], name=row["name"], description=row["description"], created_at=row["created_at"])


_COLUMNS = "id, name, description, created_at"


def list_items(conn: psycopg.Connection[Any], limit: int = LIST_LIMIT) -> list[Item]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM items ORDER BY created_at DESC, id DESC LIMIT %s", (limit,)).fetchall()
    return [_item(row) for row in rows]


def get_item(conn: psycopg.Connection[Any], item_id: int) -> Item | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM items WHERE id = %s", (item_id,)).fetchone()
    return None if row is None else _item(row)


def get_items_by_ids(conn: psycopg.Connection[Any], ids: Sequence[int]) -> list[Item]:
    """Items for ``ids`` in the given order; ids that no longer exist are dropped."""
    if not ids:
        return []
    rows = conn.execute(f"SELECT {_COLUMNS} FROM items WHERE id = ANY(%s)", (list(ids),)).fetchall()
    by_id = {row["id"]: _item(row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def create_item(conn: psycopg.Connection[Any], name: str, description: str) -> Item:
    row = conn.execute(
        f"INSERT INTO items (name, description) VALUES (%s, %s) RETURNING {_COLUMNS}", (name, description)
    ).fetchone()
    assert row is not None
    return _item(row)


def delete_item(conn: psycopg.Connection[Any], item_id: int) -> bool:
    return conn.execute("DELETE FROM items WHERE id = %s RETURNING id", (item_id,)).fetchone() is not None


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_items(conn: psycopg.Connection[Any], query: str, limit: int = LIST_LIMIT) -> list[Item]:
    """Fallback search: full-text match (GIN index) or a case-insensitive substring, newest first."""
    pattern = _like_pattern(query)
    rows = conn.execute(
        f"""
        SELECT {_COLUMNS} FROM items
        WHERE search_vector @@ plainto_tsquery('simple', %(q)s)
           OR name ILIKE %(p)s
           OR description ILIKE %(p)s
        ORDER BY created_at DESC, id DESC
        LIMIT %(limit)s
        """,
        {"q": query, "p": pattern, "limit": limit},
    ).fetchall()
    return [_item(row) for row in rows]


def check(settings: DatabaseSettings) -> None:
    """Readiness: connect, and check that the schema exists (so pods wait for the migrate Job)."""
    with connect(settings, application_name="herd-api-readyz") as conn:
        row = conn.execute("SELECT to_regclass('items') IS NOT NULL AS migrated").fetchone()
        if row is None or not row["migrated"]:
            raise RuntimeError("schema not migrated: table items is missing (run python -m herd_api.migrate)")
