"""Happy paths of every endpoint, and the Redis cache's hit / miss / invalidation."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient

from servers import RedisServer, sign_in


def create(client: FlaskClient, name: str, description: str | None = None) -> dict:
    body: dict = {"name": name}
    if description is not None:
        body["description"] = description
    response = client.post("/api/items", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_healthz_on_both_paths(client: FlaskClient) -> None:
    for path in ("/healthz", "/api/healthz"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok"}


def test_readyz_on_both_paths(client: FlaskClient) -> None:
    for path in ("/readyz", "/api/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.get_json() == {
            "status": "ready",
            "checks": {"postgres": "ok", "redis": "ok", "elasticsearch": "disabled"},
        }


def test_create_returns_the_item(authed: FlaskClient) -> None:
    response = authed.post("/api/items", json={"name": "  Sheep  ", "description": " woolly "})
    assert response.status_code == 201
    item = response.get_json()
    assert list(item) == ["id", "name", "description", "created_at"]
    assert item["name"] == "Sheep"
    assert item["description"] == "woolly"
    assert isinstance(item["id"], int)
    assert datetime.fromisoformat(item["created_at"]).utcoffset() is not None
    assert response.headers["Location"] == f"/api/items/{item['id']}"


def test_description_is_optional(authed: FlaskClient) -> None:
    assert create(authed, "Goat")["description"] == ""
    assert authed.post("/api/items", json={"name": "Yak", "description": None}).get_json()["description"] == ""


def test_list_is_newest_first(authed: FlaskClient) -> None:
    first = create(authed, "first")
    second = create(authed, "second", "2nd")
    response = authed.get("/api/items")
    assert response.status_code == 200
    assert response.get_json() == {"items": [second, first]}


def test_list_is_limited_to_100(authed: FlaskClient) -> None:
    for i in range(105):
        create(authed, f"item {i}")
    items = authed.get("/api/items").get_json()["items"]
    assert len(items) == 100
    assert items[0]["name"] == "item 104"


def test_get_and_delete_by_id(authed: FlaskClient) -> None:
    item = create(authed, "Cow", "moo")
    response = authed.get(f"/api/items/{item['id']}")
    assert response.status_code == 200
    assert response.get_json() == item

    response = authed.delete(f"/api/items/{item['id']}")
    assert response.status_code == 204
    assert response.data == b""

    response = authed.get(f"/api/items/{item['id']}")
    assert response.status_code == 404
    assert response.get_json() == {"error": f"item {item['id']} not found"}
    assert authed.delete(f"/api/items/{item['id']}").status_code == 404


def test_search_via_postgres_when_elasticsearch_is_not_configured(authed: FlaskClient) -> None:
    create(authed, "Black sheep", "baa")
    create(authed, "Cow", "says moo to the sheep")
    create(authed, "Horse")
    response = authed.get("/api/items/search?q=sheep")
    assert response.status_code == 200
    assert response.headers["X-Search-Backend"] == "postgres"
    assert response.headers["X-Search-Fallback-Reason"] == "not configured"
    assert [i["name"] for i in response.get_json()["items"]] == ["Cow", "Black sheep"]


def test_postgres_search_matches_substrings_case_insensitively_and_escapes_wildcards(authed: FlaskClient) -> None:
    create(authed, "Alpaca")
    create(authed, "100% wool")
    create(authed, "under_score")
    create(authed, "underXscore")
    assert [i["name"] for i in authed.get("/api/items/search?q=PAC").get_json()["items"]] == ["Alpaca"]
    assert [i["name"] for i in authed.get("/api/items/search?q=0%25").get_json()["items"]] == ["100% wool"]
    assert [i["name"] for i in authed.get("/api/items/search?q=r_s").get_json()["items"]] == ["under_score"]
    assert authed.get("/api/items/search?q=nothing-matches").get_json() == {"items": []}


def test_cache_miss_then_hit(authed: FlaskClient) -> None:
    create(authed, "Llama")
    first = authed.get("/api/items")
    second = authed.get("/api/items")
    assert first.headers["X-Cache"] == "miss"
    assert second.headers["X-Cache"] == "hit"
    assert first.get_json() == second.get_json()


def test_create_and_delete_invalidate_the_cache(authed: FlaskClient) -> None:
    authed.get("/api/items")
    assert authed.get("/api/items").headers["X-Cache"] == "hit"

    item = create(authed, "Pig")
    after_create = authed.get("/api/items")
    assert after_create.headers["X-Cache"] == "miss"
    assert after_create.get_json()["items"] == [item]
    assert authed.get("/api/items").headers["X-Cache"] == "hit"

    assert authed.delete(f"/api/items/{item['id']}").status_code == 204
    after_delete = authed.get("/api/items")
    assert after_delete.headers["X-Cache"] == "miss"
    assert after_delete.get_json()["items"] == []


def test_cache_is_shared_between_app_instances(make_app, redis_server: RedisServer) -> None:
    """Two workers (two apps) share Redis: one's write invalidates the other's cached list."""
    a = sign_in(make_app().test_client())
    b = make_app().test_client()
    assert a.get("/api/items").headers["X-Cache"] == "miss"
    assert b.get("/api/items").headers["X-Cache"] == "hit"
    create(a, "Shared")
    response = b.get("/api/items")
    assert response.headers["X-Cache"] == "miss"
    assert [i["name"] for i in response.get_json()["items"]] == ["Shared"]


def test_cache_entries_expire_after_the_ttl(make_app, redis_server: RedisServer) -> None:
    client = make_app(CACHE_TTL_SECONDS="7").test_client()
    client.get("/api/items")
    keys = [k for k in redis_server.client().keys("herd:items:list:*")]
    assert len(keys) == 1
    assert 0 < redis_server.client().ttl(keys[0]) <= 7


def test_responses_are_not_cacheable_by_browsers(client: FlaskClient) -> None:
    response = client.get("/api/items")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "application/json"
