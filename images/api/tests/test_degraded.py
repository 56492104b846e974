"""The API degrades instead of failing: Redis down, PostgreSQL down, schema missing."""

from __future__ import annotations

import time

import pytest

from servers import PostgresServer, RedisServer, free_port, sign_in, start_redis


def test_redis_unreachable_serves_from_postgres(make_app) -> None:
    client = sign_in(make_app(REDIS_PORT=str(free_port())).test_client())
    created = client.post("/api/items", json={"name": "still works"})
    assert created.status_code == 201

    listed = client.get("/api/items")
    assert listed.status_code == 200
    assert listed.headers["X-Cache"] == "unavailable"
    assert [i["name"] for i in listed.get_json()["items"]] == ["still works"]

    assert client.get(f"/api/items/{created.get_json()['id']}").status_code == 200
    assert client.delete(f"/api/items/{created.get_json()['id']}").status_code == 204

    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "unready"
    assert body["checks"]["postgres"] == "ok"
    assert body["checks"]["redis"] == "down"
    assert body["checks"]["elasticsearch"] == "disabled"
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/healthz").get_json() == {"status": "ok"}


def test_wrong_redis_password_makes_readyz_fail_but_api_serve(make_app) -> None:
    client = make_app(REDIS_PASSWORD="wrong").test_client()
    assert client.get("/api/items").headers["X-Cache"] == "unavailable"
    body = client.get("/api/readyz").get_json()
    assert body["status"] == "unready"
    assert body["checks"]["redis"] == "down"


def test_redis_killed_mid_session_then_restarted(make_app) -> None:
    own = start_redis()
    try:
        client = sign_in(make_app(**own.env(), REDIS_RETRY_AFTER_SECONDS="0.3").test_client())
        client.post("/api/items", json={"name": "before"})
        assert client.get("/api/items").headers["X-Cache"] == "miss"
        assert client.get("/api/items").headers["X-Cache"] == "hit"

        own.kill()
        started = time.monotonic()
        response = client.get("/api/items")
        assert response.status_code == 200
        assert response.headers["X-Cache"] == "unavailable"
        assert [i["name"] for i in response.get_json()["items"]] == ["before"]
        # breaker open: the next requests do not even try Redis
        assert client.get("/api/items").headers["X-Cache"] == "unavailable"
        assert time.monotonic() - started < 2
        # a write while Redis is down cannot invalidate: it is remembered
        assert client.post("/api/items", json={"name": "during outage"}).status_code == 201
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["checks"]["redis"] == "down"
        assert client.get("/healthz").status_code == 200

        own.start()  # same port, same password; data was not persisted, like a restarted pod
        time.sleep(0.4)  # past the breaker's retry window
        response = client.get("/api/items")
        assert response.headers["X-Cache"] == "miss"
        assert [i["name"] for i in response.get_json()["items"]] == ["during outage", "before"]
        assert client.get("/api/items").headers["X-Cache"] == "hit"
        assert client.get("/readyz").status_code == 200
    finally:
        own.stop()


def test_missed_invalidation_is_replayed_when_redis_keeps_its_data(make_app, redis_server: RedisServer) -> None:
    """Redis unreachable (not restarted) during a write: the stale list must not be served afterwards."""
    client = sign_in(make_app(REDIS_RETRY_AFTER_SECONDS="0").test_client())
    client.post("/api/items", json={"name": "one"})
    assert client.get("/api/items").headers["X-Cache"] == "miss"
    cache = client.application.extensions["herd"].cache
    real_incr = cache.client.incr

    import redis

    def broken_incr(*args: object, **kwargs: object) -> None:
        raise redis.ConnectionError("simulated network partition")

    cache.client.incr = broken_incr
    assert client.post("/api/items", json={"name": "two"}).status_code == 201
    cache.client.incr = real_incr
    response = client.get("/api/items")
    assert response.headers["X-Cache"] == "miss"
    assert [i["name"] for i in response.get_json()["items"]] == ["two", "one"]


def test_postgres_unreachable(make_app) -> None:
    client = sign_in(make_app(DATABASE_PORT=str(free_port())).test_client())
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "unready"
    assert body["checks"]["postgres"] == "down"  # the reason is logged, not answered
    assert body["checks"]["redis"] == "ok"
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/healthz").status_code == 200

    for method, path, kwargs in [
        ("GET", "/api/items", {}),
        ("POST", "/api/items", {"json": {"name": "x"}}),
        ("GET", "/api/items/1", {}),
        ("GET", "/api/items/search?q=x", {}),
    ]:
        response = client.open(path, method=method, **kwargs)
        assert response.status_code == 503, (method, path)
        assert response.get_json() == {"error": "database unavailable"}
        assert response.headers["Retry-After"] == "5"


def test_wrong_database_password_is_unready(make_app, caplog: pytest.LogCaptureFixture) -> None:
    body = make_app(DATABASE_PASSWORD="nope").test_client().get("/readyz").get_json()
    assert body["status"] == "unready"
    assert body["checks"]["postgres"] == "down"
    assert "password authentication failed" in caplog.text  # for the operator, in the log
    assert "nope" not in caplog.text


def test_unmigrated_database_is_unready(make_app, postgres: PostgresServer, caplog: pytest.LogCaptureFixture) -> None:
    name = f"empty_{free_port()}"
    postgres.create_database(name)
    body = make_app(DATABASE_NAME=name).test_client().get("/readyz").get_json()
    assert body["status"] == "unready"
    assert body["checks"]["postgres"] == "down"
    assert "schema not migrated" in caplog.text


@pytest.mark.parametrize("path", ["/readyz", "/api/readyz"])
def test_readyz_is_bounded_in_time_when_everything_is_down(make_app, path: str) -> None:
    client = make_app(DATABASE_PORT=str(free_port()), REDIS_PORT=str(free_port())).test_client()
    started = time.monotonic()
    body = client.get(path).get_json()
    assert time.monotonic() - started < 5
    assert body["status"] == "unready"
    assert set(body["checks"]) == {"postgres", "redis", "elasticsearch"}
