"""Prometheus metrics of the API: requests and their latency by route template and status, and
whether PostgreSQL, Redis and Elasticsearch answer.

Served on their own port (``HERD_METRICS_PORT``, 9102 by default: Settings.metrics_port; uwsgi
listens on it beside the app's 8000), never on the app's: nginx proxies only ``/api/`` to 8000, the
API's Service exposes only 8000, and the NetworkPolicy admits the monitoring namespace to 9102
alone. A request that reaches the metrics port gets the metrics (``GET /metrics``) or a 404, never
the app.

uwsgi runs several worker processes: each records its counts in files under
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode; uwsgi.ini sets the directory
and empties it when the master starts), and the worker that answers a scrape adds up every
worker's files, those of recycled workers included, so a counter never goes back when a worker is
replaced. Without the variable (the tests' in-process apps) the process's own registry serves.

The dependency gauges are measured when scraped, by the same checks as /readyz (each bounded by
its client's timeout), so they are never stale and no worker state is shared for them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from . import db

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
#: Methods counted by name; any other (a client may send anything) is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The label of a request no route matched (any unknown path): one series, not one per path.
UNMATCHED_ROUTE = "<unmatched>"
#: Up to uwsgi's harakiri (30 s): a request can take no longer.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "herd_api_requests",
    "Requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "herd_api_request_duration_seconds",
    "Time from the request reaching the app to its response, by method, route template and status.",
    ["method", "route", "status"],
    buckets=BUCKETS,
)


def observe(method: str, route: str | None, status: int, seconds: float) -> None:
    """Counts one answered request. ``route`` is the matched URL rule (``/api/items/<raw_id>``),
    never the raw path, so the number of series stays bounded whatever clients ask for."""
    labels = (method if method in METHODS else "other", route or UNMATCHED_ROUTE, str(status))
    REQUESTS.labels(*labels).inc()
    DURATION.labels(*labels).observe(seconds)


class DependencyCollector(Collector):
    """``herd_api_dependency_up{dependency}``: 1 when the check answers, 0 when it fails."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterable[Metric]:
        svc = self.services
        checks: dict[str, Callable[[], None]] = {
            "postgres": lambda: db.check(svc.settings.database),
            "redis": svc.cache.ping,
        }
        if svc.search is not None:
            checks["elasticsearch"] = svc.search.ping
        gauge = GaugeMetricFamily(
            "herd_api_dependency_up",
            "Whether a dependency answers the API's readiness check (1) or not (0); measured at each scrape.",
            labels=["dependency"],
        )
        with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="metrics") as pool:
            futures = {name: pool.submit(check) for name, check in checks.items()}
        for name, future in futures.items():
            error = future.exception()
            if error is not None:
                log.info("metrics: %s check failed: %s", name, " ".join(str(error).split())[:300])
            gauge.add_metric([name], 0.0 if error is not None else 1.0)
        yield gauge


def registry(services: Services) -> CollectorRegistry:
    """What a scrape reads: every worker's counts (multiprocess mode) or this process's, plus the
    dependency gauges measured now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        reg = CollectorRegistry()
        MultiProcessCollector(reg)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
    else:
        reg = CollectorRegistry()
        reg.register(_Forward(REGISTRY))
    reg.register(DependencyCollector(services))
    return reg


class _Forward(Collector):
    """The process's default registry inside another registry (the in-process case)."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class MetricsPort:
    """The WSGI entry: requests to the metrics port get the metrics (or a 404); all others the app."""

    def __init__(self, app: WsgiApp, services: Services, port: int) -> None:
        self.app = app
        self.services = services
        self.port = str(port)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("SERVER_PORT") != self.port:
            return self.app(environ, start_response)
        return self._metrics(environ, start_response)

    def _metrics(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        if environ.get("PATH_INFO") != METRICS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            yield b"not found: metrics are at /metrics\n"
            return
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response(
                "405 Method Not Allowed", [("Content-Type", "text/plain; charset=utf-8"), ("Allow", "GET, HEAD")]
            )
            yield b"method not allowed\n"
            return
        # The classic text format, which every Prometheus 2.x parses (herd's names need none of 1.0.0's escaping).
        body = generate_latest(registry(self.services))
        start_response(
            "200 OK",
            [
                ("Content-Type", CONTENT_TYPE_PLAIN_0_0_4),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        if environ.get("REQUEST_METHOD") == "GET":
            yield body
