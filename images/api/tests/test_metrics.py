"""The API's Prometheus metrics (herd_api/metrics.py), in process against real PostgreSQL and Redis:
requests counted by route template and status, dependency gauges measured at the scrape, and the
metrics only on the metrics port. The multiprocess case under real uwsgi is in test_uwsgi.py."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from herd_api.metrics import MetricsPort
from servers import free_port

METRICS_PORT = 9102


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def entry(app: Flask) -> Client:
    return Client(MetricsPort(app, app.extensions["herd"], app.extensions["herd"].settings.metrics_port))


def scrape(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = entry(app).get("/metrics", environ_overrides={"SERVER_PORT": str(METRICS_PORT)})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.get_data(as_text=True))


def count(s: dict, method: str, route: str, status: str) -> float:
    return s.get(("herd_api_requests_total", (("method", method), ("route", route), ("status", status))), 0.0)


def on_app_port(app: Flask, method: str, path: str) -> int:
    return entry(app).open(path, method=method, environ_overrides={"SERVER_PORT": "8000"}).status_code


def test_requests_counted_by_route_template_and_status(app: Flask) -> None:
    before = scrape(app)
    assert on_app_port(app, "GET", "/api/items") == 200
    assert on_app_port(app, "GET", "/api/items/424242") == 404
    assert on_app_port(app, "GET", "/api/items/987654") == 404
    assert on_app_port(app, "GET", "/no/such/path/1") == 404
    assert on_app_port(app, "GET", "/no/such/path/2") == 404
    assert on_app_port(app, "BREW", "/api/items") == 405
    after = scrape(app)

    def delta(method: str, route: str, status: str) -> float:
        return count(after, method, route, status) - count(before, method, route, status)

    assert delta("GET", "/api/items", "200") == 1
    # Two ids, one series: the route's template, never the raw path.
    assert delta("GET", "/api/items/<raw_id>", "404") == 2
    # Unknown paths share one series, and an unknown method is "other".
    assert delta("GET", "<unmatched>", "404") == 2
    # A method the route does not take matches no rule (Flask routes by path and method).
    assert delta("other", "<unmatched>", "405") == 1
    assert not any("424242" in str(key) or "/no/such" in str(key) for key in after)
    bucket = (
        "herd_api_request_duration_seconds_count",
        (("method", "GET"), ("route", "/api/items"), ("status", "200")),
    )
    assert after[bucket] - before.get(bucket, 0.0) == 1
    assert (
        "herd_api_request_duration_seconds_bucket",
        (("le", "30.0"), ("method", "GET"), ("route", "/api/items"), ("status", "200")),
    ) in after


def test_dependency_gauges_when_all_answer(app: Flask) -> None:
    s = scrape(app)
    assert s[("herd_api_dependency_up", (("dependency", "postgres"),))] == 1
    assert s[("herd_api_dependency_up", (("dependency", "redis"),))] == 1
    # Elasticsearch not configured: no series (not a false 0).
    assert ("herd_api_dependency_up", (("dependency", "elasticsearch"),)) not in s


def test_dependency_gauges_when_redis_and_elasticsearch_are_down(make_app: Callable[..., Flask]) -> None:
    app = make_app(REDIS_PORT=str(free_port()), ELASTICSEARCH_URL=f"http://127.0.0.1:{free_port()}")
    s = scrape(app)
    assert s[("herd_api_dependency_up", (("dependency", "postgres"),))] == 1
    assert s[("herd_api_dependency_up", (("dependency", "redis"),))] == 0
    assert s[("herd_api_dependency_up", (("dependency", "elasticsearch"),))] == 0


def test_metrics_only_on_the_metrics_port(app: Flask) -> None:
    # The app's port (what nginx and the Service reach) has no /metrics.
    assert on_app_port(app, "GET", "/metrics") == 404
    assert on_app_port(app, "GET", "/api/metrics") == 404
    # The metrics port serves nothing of the app.
    metrics = entry(app)
    assert metrics.get("/api/items", environ_overrides={"SERVER_PORT": str(METRICS_PORT)}).status_code == 404
    assert metrics.post("/metrics", environ_overrides={"SERVER_PORT": str(METRICS_PORT)}).status_code == 405


def test_metrics_port_from_the_environment(make_app: Callable[..., Flask]) -> None:
    app = make_app(HERD_METRICS_PORT="9200")
    assert app.extensions["herd"].settings.metrics_port == 9200
    response = entry(app).get("/metrics", environ_overrides={"SERVER_PORT": "9200"})
    assert response.status_code == 200 and b"herd_api_dependency_up" in response.data
