"""Elasticsearch over plain HTTP (urllib, basic auth): index, delete, search, health.

The official client is not used on purpose (its dependencies are not available to this build, and
four REST calls do not need it). Every call has a timeout; every failure becomes
:class:`SearchUnavailable`. A :class:`Breaker` skips Elasticsearch for a while after a failure so a
dead cluster costs one timeout per window, not one per request.

Elasticsearch only ranks: search returns ids, and the caller loads the items from PostgreSQL (the
source of truth), so a document whose delete was missed never resurfaces.

A search answer that is partial (some shards failed, e.g. while a node is drained and a shard has no
copy left, or the search timed out) is a failure too: it would silently miss matches, so the caller
falls back to PostgreSQL for that request. It does not trip the breaker: the next request asks again.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .breaker import Breaker
from .config import ElasticsearchSettings
from .db import Item

log = logging.getLogger(__name__)


class SearchUnavailable(Exception):
    """Why Elasticsearch could not answer. ``str(exc)`` is the detail, for the log only (it may hold the cluster's
    own error text); ``public`` is a fixed word a client may see: ``unavailable``, ``skipped`` (the breaker is open)
    or ``partial`` (some shards failed or the search timed out)."""

    def __init__(self, message: str, *, trips_breaker: bool = True, public: str = "unavailable") -> None:
        super().__init__(message)
        # A rejected request (e.g. a 400 for one document) says nothing about the cluster's health.
        self.trips_breaker = trips_breaker
        self.public = public


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # never follow redirects with credentials
        return None


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Fails closed: the certificate must chain to ``ca_file`` (herd's CA; only it, not the system's CAs) or, without
    one, to the system's CAs, and must name the URL's host; TLS 1.2 at least. Any failure is SearchUnavailable."""
    context = ssl.create_default_context(cafile=ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def open_elasticsearch(settings: ElasticsearchSettings) -> tuple[urllib.request.OpenerDirector, str | None]:
    """An opener that never follows a redirect with the credentials nor goes through a proxy, verifies TLS against
    the configured CA, and the Authorization header value (basic auth) when a user is configured."""
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect(), urllib.request.ProxyHandler({})]
    if settings.url.startswith("https://"):
        handlers.append(urllib.request.HTTPSHandler(context=tls_context(settings.ca_file)))
    auth: str | None = None
    if settings.username is not None and settings.password is not None:
        token = base64.b64encode(f"{settings.username}:{settings.password}".encode()).decode("ascii")
        auth = f"Basic {token}"
    return urllib.request.build_opener(*handlers), auth


class ElasticsearchClient:
    def __init__(self, settings: ElasticsearchSettings) -> None:
        self.settings = settings
        self.breaker = Breaker(settings.retry_after)
        self._opener, self._auth = open_elasticsearch(settings)

    def _index_path(self, suffix: str) -> str:
        return "/" + urllib.parse.quote(self.settings.index, safe="") + suffix

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, ok_statuses: tuple[int, ...] = ()
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.settings.url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._auth is not None:
            request.add_header("Authorization", self._auth)
        try:
            with self._opener.open(request, timeout=self.settings.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in ok_statuses:
                exc.read()
                return {}
            detail = exc.read(300).decode("utf-8", "replace")
            cluster_problem = exc.code >= 500 or exc.code in (401, 403, 429)
            raise SearchUnavailable(
                f"HTTP {exc.code} from elasticsearch: {detail}", trips_breaker=cluster_problem
            ) from exc
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:  # refused, timeout,
            # DNS, TLS, bad URL, garbled response
            reason = getattr(exc, "reason", exc)
            raise SearchUnavailable(f"elasticsearch unreachable: {reason}") from exc
        if not payload:
            return {}
        try:
            decoded = json.loads(payload)
        except ValueError as exc:
            raise SearchUnavailable("elasticsearch returned a non-JSON response") from exc
        return decoded if isinstance(decoded, dict) else {}

    def _guarded(self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        if self.breaker.is_open:
            raise SearchUnavailable(f"skipped after a recent failure ({self.breaker.last_error})", public="skipped")
        try:
            result = self._request(method, path, body, **kw)
        except SearchUnavailable as exc:
            if exc.trips_breaker and self.breaker.failed(str(exc)):
                log.warning("elasticsearch unavailable: %s", exc)
            raise
        if self.breaker.succeeded():
            log.info("elasticsearch reachable again")
        return result

    def index_item(self, item: Item) -> None:
        doc = {"name": item.name, "description": item.description, "created_at": item.to_json()["created_at"]}
        self._guarded("PUT", self._index_path(f"/_doc/{item.id}"), doc)

    def delete_item(self, item_id: int) -> None:
        self._guarded("DELETE", self._index_path(f"/_doc/{item_id}"), ok_statuses=(404,))

    def search_ids(self, query: str, limit: int) -> list[int]:
        body = {
            "size": limit,
            "_source": False,
            "query": {
                "multi_match": {
                    "query": query,
                    "fields": ["name^2", "description"],
                    "fuzziness": "AUTO",
                }
            },
        }
        result = self._guarded("POST", self._index_path("/_search"), body)
        _require_complete(result)
        try:
            hits = result["hits"]["hits"]
            return [int(hit["_id"]) for hit in hits]
        except (KeyError, TypeError, ValueError) as exc:
            raise SearchUnavailable("unexpected search response shape from elasticsearch") from exc

    def ping(self) -> None:
        """Readiness report (never gates readiness). Ignores the breaker; raises SearchUnavailable."""
        self._request("GET", "/_cluster/health")
        self.breaker.succeeded()


def _require_complete(result: dict[str, Any]) -> None:
    """Raises SearchUnavailable (without tripping the breaker) for a partial search answer.

    Elasticsearch answers 200 with the hits of the shards that did answer when others failed
    (``_shards.failed``) or when the search ran out of time (``timed_out``): serving that as the
    result would hide matches without saying so.
    """
    shards = result.get("_shards")
    if isinstance(shards, dict):
        failed, total = shards.get("failed"), shards.get("total")
        if isinstance(failed, int) and not isinstance(failed, bool) and failed > 0:
            counted = f"{failed} of {total} shards" if _count(total) else f"{failed} shard(s)"
            cause = _first_failure_type(shards.get("failures"))
            raise SearchUnavailable(
                f"elasticsearch: {counted} failed" + ("" if cause is None else f" ({cause})"),
                trips_breaker=False,
                public="partial",
            )
    if result.get("timed_out") is True:
        raise SearchUnavailable(
            "elasticsearch: the search timed out, results partial", trips_breaker=False, public="partial"
        )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _first_failure_type(failures: Any) -> str | None:
    """The error type of the first shard failure, e.g. ``no_shard_available_action_exception``."""
    if isinstance(failures, list) and failures and isinstance(failures[0], dict):
        reason = failures[0].get("reason")
        if isinstance(reason, dict) and isinstance(reason.get("type"), str):
            return str(reason["type"])
    return None
