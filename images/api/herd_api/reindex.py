"""Rebuilds the search index from PostgreSQL: ``python -m herd_api.reindex [--batch-size N] [--wait SECONDS]``.

For after a restore, a lost Elasticsearch volume, or a mapping change. PostgreSQL is the source of truth; the index
only ranks. Every item is read in batches (keyset pagination: short statements, no long transaction) and bulk-indexed
into a new index, ``<ELASTICSEARCH_INDEX>-<UTC timestamp>``. Once its document count matches, one atomic alias update
makes ``<ELASTICSEARCH_INDEX>`` an alias of the new index (dropping a concrete index of that name, or moving the alias
off the previous build), so the API, which reads and writes through that name, never sees a half-built index. Items
created while the build ran are indexed again through the alias afterwards; the previous build is then deleted.

If anything fails before the swap, the new index is deleted and the old one keeps serving: the command can simply be
run again. The API's Elasticsearch user may do all of this (its role covers ``<index>`` and ``<index>-*``).

Exit status: 0 rebuilt, 1 PostgreSQL or Elasticsearch unreachable or a document refused, 2 bad configuration or
arguments. Reads only the ``DATABASE_*`` and ``ELASTICSEARCH_*`` variables.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from . import db
from .config import ConfigError, DatabaseSettings, ElasticsearchSettings, _database, _elasticsearch, _Reader
from .search import open_elasticsearch

# Requests here move whole batches: a longer timeout than the API's per-request one.
MIN_TIMEOUT_SECONDS = 60.0
DEFAULT_BATCH_SIZE = 500
MAPPINGS: dict[str, Any] = {
    "properties": {
        "name": {"type": "text"},
        "description": {"type": "text"},
        "created_at": {"type": "date"},
    }
}


class ReindexError(Exception):
    """A step failed; the message says which and why."""


@dataclass
class Report:
    index: str
    alias: str
    indexed: int = 0
    batches: int = 0
    caught_up: int = 0
    replaced: list[str] = field(default_factory=list)
    replaced_kind: str = "nothing"
    left_behind: list[str] = field(default_factory=list)


class Elastic:
    """The few Elasticsearch calls a rebuild needs, over plain HTTP(S) with basic auth (as search.py)."""

    def __init__(self, settings: ElasticsearchSettings) -> None:
        self.url = settings.url
        self.timeout = max(settings.timeout, MIN_TIMEOUT_SECONDS)
        self._opener, self._auth = open_elasticsearch(settings)

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        ndjson: bytes | None = None,
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        """The decoded answer; None for a 404 when ``missing_ok``; raises ReindexError otherwise."""
        data = ndjson if ndjson is not None else (None if body is None else json.dumps(body).encode("utf-8"))
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/x-ndjson" if ndjson is not None else "application/json")
        if self._auth is not None:
            request.add_header("Authorization", self._auth)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                exc.read()
                return None
            detail = " ".join(exc.read(400).decode("utf-8", "replace").split())
            raise ReindexError(f"{method} {path}: HTTP {exc.code} from Elasticsearch: {detail}") from exc
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise ReindexError(f"Elasticsearch at {self.url} unreachable: {reason}") from exc
        try:
            decoded = json.loads(payload) if payload else {}
        except ValueError as exc:
            raise ReindexError(f"{method} {path}: Elasticsearch returned a non-JSON answer") from exc
        return decoded if isinstance(decoded, dict) else {}


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def new_index_name(alias: str, now: datetime | None = None) -> str:
    """``<alias>-<UTC timestamp to the microsecond>``: sorts by age, matches the API role's ``<alias>-*``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{alias}-{stamp}"


def _document(item: db.Item) -> dict[str, Any]:
    """The same document the API indexes (search.py ``index_item``)."""
    return {"name": item.name, "description": item.description, "created_at": item.to_json()["created_at"]}


def _bulk(es: Elastic, index: str, items: Sequence[db.Item]) -> None:
    lines: list[str] = []
    for item in items:
        lines.append(json.dumps({"index": {"_index": index, "_id": str(item.id)}}))
        lines.append(json.dumps(_document(item)))
    answer = es.request("POST", "/_bulk", ndjson=("\n".join(lines) + "\n").encode("utf-8")) or {}
    if answer.get("errors") is not False:
        failed = [
            entry.get("index", {})
            for entry in answer.get("items", [])
            if isinstance(entry, dict) and isinstance(entry.get("index"), dict) and entry["index"].get("error")
        ]
        if not failed:
            raise ReindexError(f"bulk indexing into {index}: Elasticsearch reported errors without saying which")
        first = failed[0]
        error = first.get("error")
        reason = error.get("reason") or error.get("type") if isinstance(error, dict) else error
        raise ReindexError(
            f"bulk indexing into {index}: {len(failed)} of {len(items)} item(s) refused, "
            f"the first (item {first.get('_id')}): {reason}"
        )


def _batches(conn: psycopg.Connection[Any], batch_size: int, after_id: int = 0) -> Iterator[list[db.Item]]:
    """Items in id order, ``batch_size`` at a time, each batch one short statement."""
    last = after_id
    while True:
        rows = conn.execute(
            "SELECT id, name, description, created_at FROM items WHERE id > %s ORDER BY id LIMIT %s",
            (last, batch_size),
        ).fetchall()
        if not rows:
            return
        batch = [
            db.Item(id=r["id"], name=r["name"], description=r["description"], created_at=r["created_at"]) for r in rows
        ]
        yield batch
        last = batch[-1].id


def _current(es: Elastic, alias: str) -> tuple[str, list[str]]:
    """What the name is now: ("alias", its indices), ("index", [name]) or ("nothing", [])."""
    aliases = es.request("GET", f"/_alias/{_quote(alias)}", missing_ok=True)
    if aliases:
        return "alias", sorted(aliases)
    if es.request("GET", f"/{_quote(alias)}", missing_ok=True) is not None:
        return "index", [alias]
    return "nothing", []


def reindex(
    conn: psycopg.Connection[Any],
    es: Elastic,
    alias: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    before_swap: Callable[[], None] | None = None,
) -> Report:
    """Builds a new index from every item, swaps the alias to it, catches up, removes the old build."""
    kind, old = _current(es, alias)
    report = Report(index=new_index_name(alias), alias=alias, replaced=old, replaced_kind=kind)
    new = report.index
    es.request("PUT", f"/{_quote(new)}", {"mappings": MAPPINGS})
    last_id = 0
    try:
        for batch in _batches(conn, batch_size):
            _bulk(es, new, batch)
            report.indexed += len(batch)
            report.batches += 1
            last_id = batch[-1].id
        es.request("POST", f"/{_quote(new)}/_refresh")
        counted = (es.request("GET", f"/{_quote(new)}/_count") or {}).get("count")
        if counted != report.indexed:
            raise ReindexError(f"{new} holds {counted} document(s) after indexing {report.indexed} item(s)")
        if before_swap is not None:
            before_swap()
        actions: list[dict[str, Any]] = [{"add": {"index": new, "alias": alias}}]
        if kind == "index":
            actions.append({"remove_index": {"index": alias}})
        actions += [{"remove": {"index": index, "alias": alias}} for index in old if kind == "alias"]
        es.request("POST", "/_aliases", {"actions": actions})
    except BaseException:
        try:
            es.request("DELETE", f"/{_quote(new)}", missing_ok=True)
        except ReindexError:
            pass  # the first error is the one to report
        raise
    # Written meanwhile (the API indexed them into the old index): index them again, now through the alias.
    for batch in _batches(conn, batch_size, after_id=last_id):
        _bulk(es, new, batch)
        report.caught_up += len(batch)
    if kind == "alias":
        for index in old:
            try:
                es.request("DELETE", f"/{_quote(index)}", missing_ok=True)
            except ReindexError:
                report.left_behind.append(index)
    return report


def load_reindex_settings(env: Mapping[str, str] | None = None) -> tuple[DatabaseSettings, ElasticsearchSettings]:
    """Only ``DATABASE_*`` and ``ELASTICSEARCH_*`` (the API's rules); raises ConfigError listing every problem."""
    reader = _Reader(os.environ if env is None else env)
    database = _database(reader)
    elasticsearch = _elasticsearch(reader)
    if elasticsearch is None:
        reader.problems.append("ELASTICSEARCH_URL is required but not set (there is no index to rebuild)")
    reader.fail_if_problems()
    assert elasticsearch is not None
    return database, elasticsearch


def _connect(settings: DatabaseSettings, wait_seconds: float) -> psycopg.Connection[Any]:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return db.connect(settings, application_name="herd-api-reindex")
        except psycopg.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)


def _batch_size(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 10000, got {text!r}") from None
    if not 1 <= value <= 10000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 10000, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m herd_api.reindex",
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="Exit status: 0 rebuilt, 1 a step failed (the old index keeps serving), 2 bad configuration.",
    )
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"items read and indexed per batch (1..10000, default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep retrying to connect to PostgreSQL for this long (default 0: fail at once)",
    )
    args = parser.parse_args(argv)

    try:
        database, elasticsearch = load_reindex_settings()
    except ConfigError as exc:
        print(f"herd-api reindex: {exc}", file=sys.stderr)
        return 2
    target = f"{database.host}:{database.port}/{database.name} as {database.user}"
    started = time.monotonic()
    try:
        conn = _connect(database, args.wait)
    except psycopg.OperationalError as exc:
        print(f"herd-api reindex: cannot reach PostgreSQL at {target}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    es = Elastic(elasticsearch)
    try:
        with conn:
            report = reindex(conn, es, elasticsearch.index, args.batch_size)
    except ReindexError as exc:
        print(f"herd-api reindex: {exc} (nothing was swapped: the previous index keeps serving)", file=sys.stderr)
        return 1
    except psycopg.Error as exc:
        print(f"herd-api reindex: reading items from {target} failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    was = {"alias": f"alias of {', '.join(report.replaced)}", "index": f"index {report.alias}", "nothing": "nothing"}
    print(
        f"herd-api reindex: indexed {report.indexed} item(s) from {target} into {report.index} "
        f"in {report.batches} batch(es) of up to {args.batch_size}, {time.monotonic() - started:.1f}s; "
        f"{report.alias} now points to it (was: {was[report.replaced_kind]}); "
        f"{report.caught_up} item(s) written meanwhile indexed too"
    )
    if report.left_behind:
        print(
            f"herd-api reindex: warning: could not delete the previous build(s) {', '.join(report.left_behind)}; "
            "delete them by hand",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
