"""Search through Elasticsearch (a fake one, over real HTTP) and the PostgreSQL fallback."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest

from fake_es import FakeElasticsearch
from servers import free_port, sign_in


@pytest.fixture
def fake_es() -> Iterator[FakeElasticsearch]:
    es = FakeElasticsearch().start()
    try:
        yield es
    finally:
        es.stop()


def test_create_indexes_the_item_with_basic_auth(make_app, fake_es: FakeElasticsearch) -> None:
    client = sign_in(make_app(**fake_es.env()).test_client())
    item = client.post("/api/items", json={"name": "Sheep", "description": "woolly"}).get_json()

    put = [r for r in fake_es.requests if r.method == "PUT"]
    assert len(put) == 1
    assert put[0].path == f"/herd-items/_doc/{item['id']}"
    assert put[0].body == {"name": "Sheep", "description": "woolly", "created_at": item["created_at"]}
    assert put[0].headers["Content-Type"] == "application/json"
    assert put[0].headers["Authorization"] == "Basic " + base64.b64encode(b"elastic:es-pw").decode()


def test_search_uses_elasticsearch_ranking_and_postgres_rows(make_app, fake_es: FakeElasticsearch) -> None:
    client = sign_in(make_app(**fake_es.env()).test_client())
    older = client.post("/api/items", json={"name": "Black sheep"}).get_json()
    newer = client.post("/api/items", json={"name": "Sheep dog", "description": "herds"}).get_json()
    client.post("/api/items", json={"name": "Cat"})

    response = client.get("/api/items/search?q=sheep")
    assert response.status_code == 200
    assert response.headers["X-Search-Backend"] == "elasticsearch"
    assert "X-Search-Fallback-Reason" not in response.headers
    # the fake ranks by id ascending: the API keeps Elasticsearch's order, not newest-first
    assert response.get_json() == {"items": [older, newer]}

    search = [r for r in fake_es.requests if r.path.endswith("/_search")]
    assert len(search) == 1
    assert search[0].method == "POST"
    assert search[0].path == "/herd-items/_search"
    assert search[0].body == {
        "size": 100,
        "_source": False,
        "query": {"multi_match": {"query": "sheep", "fields": ["name^2", "description"], "fuzziness": "AUTO"}},
    }
    assert search[0].headers["Authorization"].startswith("Basic ")


def test_stale_elasticsearch_hits_are_dropped(make_app, fake_es: FakeElasticsearch) -> None:
    client = sign_in(make_app(**fake_es.env()).test_client())
    item = client.post("/api/items", json={"name": "Goat"}).get_json()
    fake_es.extra_search_ids = ["987654"]
    response = client.get("/api/items/search?q=goat")
    assert response.headers["X-Search-Backend"] == "elasticsearch"
    assert response.get_json() == {"items": [item]}


def test_delete_removes_the_document(make_app, fake_es: FakeElasticsearch) -> None:
    client = sign_in(make_app(**fake_es.env()).test_client())
    item = client.post("/api/items", json={"name": "Duck"}).get_json()
    assert str(item["id"]) in fake_es.docs
    assert client.delete(f"/api/items/{item['id']}").status_code == 204
    assert str(item["id"]) not in fake_es.docs
    assert [r.method for r in fake_es.requests] == ["PUT", "DELETE"]


def test_custom_index_name(make_app, fake_es: FakeElasticsearch) -> None:
    client = sign_in(make_app(**fake_es.env(), ELASTICSEARCH_INDEX="herd-test").test_client())
    client.post("/api/items", json={"name": "Emu"})
    client.get("/api/items/search?q=emu")
    assert [r.path.split("/")[1] for r in fake_es.requests] == ["herd-test", "herd-test"]


def test_elasticsearch_errors_fall_back_to_postgres(
    make_app, fake_es: FakeElasticsearch, caplog: pytest.LogCaptureFixture
) -> None:
    client = sign_in(make_app(**fake_es.env(), ELASTICSEARCH_RETRY_AFTER_SECONDS="0").test_client())
    fake_es.fail_with = 500
    created = client.post("/api/items", json={"name": "Ferret"})
    assert created.status_code == 201  # indexing is best effort
    caplog.set_level(logging.INFO)
    response = client.get("/api/items/search?q=ferret")
    assert response.status_code == 200
    assert response.headers["X-Search-Backend"] == "postgres"
    # a fixed word for the client; the cluster's own error text only in the log
    assert response.headers["X-Search-Fallback-Reason"] == "unavailable"
    assert any("HTTP 500" in r.getMessage() for r in caplog.records)
    assert [i["name"] for i in response.get_json()["items"]] == ["Ferret"]


def _partial_answer_falls_back(make_app, fake_es: FakeElasticsearch, caplog: pytest.LogCaptureFixture) -> str:
    """Three matching items, an Elasticsearch answer that holds only one: PostgreSQL serves all three."""
    client = sign_in(make_app(**fake_es.env(), ELASTICSEARCH_RETRY_AFTER_SECONDS="60").test_client())
    for name in ("Ibis one", "Ibis two", "Ibis three"):
        assert client.post("/api/items", json={"name": name}).status_code == 201
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    response = client.get("/api/items/search?q=ibis")
    assert response.status_code == 200
    assert response.headers["X-Search-Backend"] == "postgres"
    assert sorted(i["name"] for i in response.get_json()["items"]) == ["Ibis one", "Ibis three", "Ibis two"]
    access = [r.getMessage() for r in caplog.records if r.name == "herd_api.access"]
    assert len(access) == 1 and access[0].startswith("GET /api/items/search 200 "), access  # no 5xx
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # request-scoped: the breaker stays closed, so a complete answer is used again at once
    fake_es.failed_shards, fake_es.timed_out = 0, False
    assert client.get("/api/items/search?q=ibis").headers["X-Search-Backend"] == "elasticsearch"
    return str(response.headers["X-Search-Fallback-Reason"])


def test_a_search_with_failed_shards_is_not_served_as_complete(
    make_app, fake_es: FakeElasticsearch, caplog: pytest.LogCaptureFixture
) -> None:
    fake_es.total_shards, fake_es.failed_shards = 3, 1
    reason = _partial_answer_falls_back(make_app, fake_es, caplog)
    assert reason == "partial"
    assert any("1 of 3 shards failed (no_shard_available_action_exception)" in r.getMessage() for r in caplog.records)


def test_a_search_that_timed_out_is_not_served_as_complete(
    make_app, fake_es: FakeElasticsearch, caplog: pytest.LogCaptureFixture
) -> None:
    fake_es.timed_out = True
    reason = _partial_answer_falls_back(make_app, fake_es, caplog)
    assert reason == "partial"
    assert any("the search timed out, results partial" in r.getMessage() for r in caplog.records)


def test_a_complete_answer_with_shard_counts_is_served(make_app, fake_es: FakeElasticsearch) -> None:
    client = sign_in(make_app(**fake_es.env()).test_client())
    client.post("/api/items", json={"name": "Jay"})
    fake_es.total_shards = 3
    response = client.get("/api/items/search?q=jay")
    assert response.headers["X-Search-Backend"] == "elasticsearch"
    assert [i["name"] for i in response.get_json()["items"]] == ["Jay"]


def test_wrong_elasticsearch_credentials_fall_back(
    make_app, fake_es: FakeElasticsearch, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(**{**fake_es.env(), "ELASTICSEARCH_PASSWORD": "wrong"}).test_client()
    caplog.set_level(logging.INFO)
    response = client.get("/api/items/search?q=x")
    assert response.headers["X-Search-Backend"] == "postgres"
    assert response.headers["X-Search-Fallback-Reason"] == "unavailable"
    assert any("HTTP 401" in r.getMessage() for r in caplog.records)


def test_elasticsearch_on_a_dead_port_falls_back_and_never_fails_writes(make_app) -> None:
    client = sign_in(make_app(ELASTICSEARCH_URL=f"http://127.0.0.1:{free_port()}").test_client())
    created = client.post("/api/items", json={"name": "Gnu", "description": "wildebeest"})
    assert created.status_code == 201
    response = client.get("/api/items/search?q=wildebeest")
    assert response.status_code == 200
    assert response.headers["X-Search-Backend"] == "postgres"
    # the failed indexing of the write opened the breaker, so the search skips the dead cluster at once
    assert response.headers["X-Search-Fallback-Reason"] == "skipped"
    assert [i["name"] for i in response.get_json()["items"]] == ["Gnu"]
    assert client.delete(f"/api/items/{created.get_json()['id']}").status_code == 204


def test_readyz_reports_elasticsearch_without_gating_on_it(make_app, fake_es: FakeElasticsearch) -> None:
    ok = make_app(**fake_es.env()).test_client().get("/readyz")
    assert ok.status_code == 200
    assert ok.get_json()["checks"]["elasticsearch"] == "ok"

    dead = make_app(ELASTICSEARCH_URL=f"http://127.0.0.1:{free_port()}").test_client().get("/api/readyz")
    assert dead.status_code == 200
    assert dead.get_json() == {
        "status": "ready",
        "checks": {"postgres": "ok", "redis": "ok", "elasticsearch": "unavailable"},
    }


def test_breaker_skips_a_failing_cluster_but_not_a_rejected_request(make_app, fake_es: FakeElasticsearch) -> None:
    client = sign_in(make_app(**fake_es.env(), ELASTICSEARCH_RETRY_AFTER_SECONDS="60").test_client())
    fake_es.fail_with = 400  # e.g. one bad document: the next request still asks Elasticsearch
    client.post("/api/items", json={"name": "Heron"})
    fake_es.fail_with = None
    assert client.get("/api/items/search?q=heron").headers["X-Search-Backend"] == "elasticsearch"

    fake_es.fail_with = 503  # the cluster is in trouble: skip it for the retry window
    assert client.get("/api/items/search?q=heron").headers["X-Search-Backend"] == "postgres"
    fake_es.fail_with = None
    asked = len(fake_es.requests)
    response = client.get("/api/items/search?q=heron")
    assert response.headers["X-Search-Backend"] == "postgres"
    assert response.headers["X-Search-Fallback-Reason"] == "skipped"
    assert len(fake_es.requests) == asked
    # readiness still asks, and a healthy answer closes the breaker
    assert client.get("/readyz").get_json()["checks"]["elasticsearch"] == "ok"
    assert client.get("/api/items/search?q=heron").headers["X-Search-Backend"] == "elasticsearch"
