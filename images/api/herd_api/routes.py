"""HTTP endpoints (the contract the front end and nginx are built against; see README)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from . import db, validation
from .auth import sign_in_to_read, sign_in_to_write
from .cache import CacheUnavailable
from .search import SearchUnavailable
from .services import Services

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)


def services() -> Services:
    svc: Services = current_app.extensions["herd"]
    return svc


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _header_text(text: str, limit: int = 200) -> str:
    """A single-line, ASCII-only header value."""
    cleaned = "".join(c if 32 <= ord(c) < 127 else " " for c in text)
    return cleaned[:limit]


# -- probes -------------------------------------------------------------------------------------


@bp.get("/healthz")
@bp.get("/api/healthz")
def healthz() -> Response:
    return _json({"status": "ok"})


@bp.get("/readyz")
@bp.get("/api/readyz")
def readyz() -> Response:
    """PostgreSQL and Redis gate readiness; Elasticsearch is only reported. The checks run in
    parallel, so the answer comes within the longest single timeout (2 s by default).

    The body names each dependency's state only (ok / down; elasticsearch ok / unavailable / disabled): what went
    wrong (exception text, host names, addresses) is logged, never answered."""
    svc = services()
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="readyz") as pool:
        postgres = pool.submit(db.check, svc.settings.database)
        redis = pool.submit(svc.cache.ping)
        elasticsearch = None if svc.search is None else pool.submit(svc.search.ping)
    checks: dict[str, str] = {}
    reasons: list[str] = []
    ready = True
    for name, future in (("postgres", postgres), ("redis", redis)):
        error = future.exception()
        checks[name] = "ok" if error is None else "down"
        if error is not None:
            reasons.append(f"{name}: {_error_text(error)}")
        ready = ready and error is None
    if elasticsearch is None:
        checks["elasticsearch"] = "disabled"
    else:
        error = elasticsearch.exception()
        checks["elasticsearch"] = "ok" if error is None else "unavailable"
        if error is not None:
            log.info("readyz: elasticsearch unavailable: %s", _error_text(error))
    if not ready:
        log.warning("readyz: not ready: %s", "; ".join(reasons))
    return _json({"status": "ready" if ready else "unready", "checks": checks}, 200 if ready else 503)


def _error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"


# -- items --------------------------------------------------------------------------------------


def _items_from_postgres(svc: Services) -> list[dict[str, Any]]:
    with db.connect(svc.settings.database) as conn:
        return [item.to_json() for item in db.list_items(conn)]


@bp.get("/api/items")
@sign_in_to_read
def list_items() -> Response:
    svc = services()
    try:
        generation, cached = svc.cache.get_list()
    except CacheUnavailable:
        return _json({"items": _items_from_postgres(svc)}, headers={"X-Cache": "unavailable"})
    if cached is not None:
        return _json({"items": cached}, headers={"X-Cache": "hit"})
    items = _items_from_postgres(svc)
    svc.cache.store_list(generation, items)
    return _json({"items": items}, headers={"X-Cache": "miss"})


@bp.post("/api/items")
@sign_in_to_write
def create_item() -> Response:
    svc = services()
    payload = validation.parse_json_object(request.get_data(cache=False), request.mimetype)
    new = validation.new_item(payload)
    with db.connect(svc.settings.database) as conn:
        item = db.create_item(conn, new.name, new.description)
    svc.cache.invalidate()
    if svc.search is not None:
        try:
            svc.search.index_item(item)
        except SearchUnavailable as exc:
            log.warning("item %s not indexed in elasticsearch: %s", item.id, exc)
    return _json(item.to_json(), 201, headers={"Location": f"/api/items/{item.id}"})


@bp.get("/api/items/search")
@sign_in_to_read
def search_items() -> Response:
    svc = services()
    query = validation.search_query(request.args.getlist("q"))
    # The header names the kind of fallback only: the detail (the cluster's own error text, addresses) is logged.
    fallback_reason = "not configured"
    if svc.search is not None:
        try:
            ids = svc.search.search_ids(query, db.LIST_LIMIT)
        except SearchUnavailable as exc:
            fallback_reason = exc.public
            log.info("search served by postgres (%s): %s", exc.public, exc)
        else:
            with db.connect(svc.settings.database) as conn:
                items = db.get_items_by_ids(conn, ids)
            return _json({"items": [item.to_json() for item in items]}, headers={"X-Search-Backend": "elasticsearch"})
    with db.connect(svc.settings.database) as conn:
        items = db.search_items(conn, query)
    return _json(
        {"items": [item.to_json() for item in items]},
        headers={"X-Search-Backend": "postgres", "X-Search-Fallback-Reason": _header_text(fallback_reason)},
    )


@bp.get("/api/items/<raw_id>")
@sign_in_to_read
def get_item(raw_id: str) -> Response:
    item_id = validation.item_id(raw_id)
    with db.connect(services().settings.database) as conn:
        item = db.get_item(conn, item_id)
    if item is None:
        return _json({"error": f"item {item_id} not found"}, 404)
    return _json(item.to_json())


@bp.delete("/api/items/<raw_id>")
@sign_in_to_write
def delete_item(raw_id: str) -> Response:
    svc = services()
    item_id = validation.item_id(raw_id)
    with db.connect(svc.settings.database) as conn:
        deleted = db.delete_item(conn, item_id)
    if not deleted:
        return _json({"error": f"item {item_id} not found"}, 404)
    svc.cache.invalidate()
    if svc.search is not None:
        try:
            svc.search.delete_item(item_id)
        except SearchUnavailable as exc:
            log.warning("item %s not removed from elasticsearch: %s", item_id, exc)
    return Response(status=204)
