"""`python -m herd_api.reindex`: rebuilds the index from real PostgreSQL into the fake Elasticsearch, behind an
alias."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from fake_es import FakeElasticsearch
from herd_api import db
from herd_api.config import load_database_settings
from herd_api.reindex import Elastic, ReindexError, load_reindex_settings, new_index_name, reindex
from servers import PostgresServer, free_port, sign_in

API_DIR = Path(__file__).resolve().parent.parent
NEW_INDEX = re.compile(r"^herd-items-\d{20}$")


@pytest.fixture
def fake_es() -> Iterator[FakeElasticsearch]:
    es = FakeElasticsearch().start()
    try:
        yield es
    finally:
        es.stop()


@pytest.fixture
def items(postgres: PostgresServer, clean_state: None) -> Callable[..., list[db.Item]]:
    """Creates items straight in PostgreSQL (as a restore would leave them)."""

    def create(*names: str) -> list[db.Item]:
        with db.connect(load_database_settings(postgres.env())) as conn:
            return [db.create_item(conn, name, f"about {name}") for name in names]

    return create


def run_reindex(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "herd_api.reindex", *args],
        cwd=API_DIR,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def build_indices(fake: FakeElasticsearch) -> list[str]:
    return sorted(name for name in fake.indices if NEW_INDEX.match(name))


def test_help() -> None:
    result = run_reindex({}, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m herd_api.reindex [-h] [--batch-size N] [--wait SECONDS]")
    assert "Rebuilds the search index from PostgreSQL" in result.stdout
    assert "Exit status: 0 rebuilt, 1 a step failed" in result.stdout


def test_rebuilds_every_item_in_batches_behind_the_alias_and_drops_the_old_index(
    postgres: PostgresServer, items: Callable[..., list[db.Item]], fake_es: FakeElasticsearch
) -> None:
    created = items("Ant", "Bee", "Cow", "Dog", "Elk", "Fox", "Gnu")
    # What the API left behind: a concrete index of that name, with a stale document and one item missing.
    gone = {"name": "Gone", "description": "", "created_at": "2020-01-01T00:00:00+00:00"}
    fake_es.indices["herd-items"] = {"999": gone}

    result = run_reindex({**postgres.env(), **fake_es.env()}, "--batch-size", "3")

    assert result.returncode == 0, result.stderr
    [new] = build_indices(fake_es)
    assert fake_es.aliases == {"herd-items": [new]}
    assert "herd-items" not in fake_es.indices, "the concrete index is replaced by the alias"
    assert sorted(fake_es.indices[new], key=int) == [str(i.id) for i in created]
    first = created[0]
    assert fake_es.indices[new][str(first.id)] == {
        "name": "Ant",
        "description": "about Ant",
        "created_at": first.to_json()["created_at"],
    }
    assert fake_es.mappings[new]["properties"]["created_at"] == {"type": "date"}
    bulk = [r for r in fake_es.requests if r.path == "/_bulk"]
    assert len(bulk) == 3  # 3 + 3 + 1
    assert bulk[0].headers["Content-Type"] == "application/x-ndjson"
    assert result.stdout.strip() == result.stdout.strip().splitlines()[0], "one line"
    assert re.match(
        rf"herd-api reindex: indexed 7 item\(s\) from 127\.0\.0\.1:{postgres.port}/herd as herd into {new} "
        r"in 3 batch\(es\) of up to 3, \d+\.\ds; herd-items now points to it \(was: index herd-items\); "
        r"0 item\(s\) written meanwhile indexed too$",
        result.stdout.strip(),
    ), result.stdout


def test_a_second_rebuild_moves_the_alias_and_deletes_the_previous_build(
    postgres: PostgresServer, items: Callable[..., list[db.Item]], fake_es: FakeElasticsearch
) -> None:
    items("Hen", "Ibis")
    env = {**postgres.env(), **fake_es.env()}
    assert run_reindex(env).returncode == 0
    [first] = build_indices(fake_es)
    second_run = run_reindex(env)
    assert second_run.returncode == 0, second_run.stderr
    [second] = build_indices(fake_es)
    assert second != first and second > first
    assert fake_es.aliases == {"herd-items": [second]}
    assert f"(was: alias of {first})" in second_run.stdout
    swap = [r.body for r in fake_es.requests if r.path == "/_aliases"][-1]
    assert swap == {
        "actions": [
            {"add": {"index": second, "alias": "herd-items"}},
            {"remove": {"index": first, "alias": "herd-items"}},
        ]
    }


def test_the_api_reads_and_writes_through_the_alias(
    postgres: PostgresServer,
    items: Callable[..., list[db.Item]],
    fake_es: FakeElasticsearch,
    make_app: Callable[..., Flask],
) -> None:
    [jay] = items("Jay")
    assert run_reindex({**postgres.env(), **fake_es.env()}).returncode == 0
    [new] = build_indices(fake_es)
    client = sign_in(make_app(**fake_es.env()).test_client())

    found = client.get("/api/items/search?q=jay")
    assert found.headers["X-Search-Backend"] == "elasticsearch"
    assert [i["id"] for i in found.get_json()["items"]] == [jay.id]
    kite = client.post("/api/items", json={"name": "Kite"}).get_json()
    assert str(kite["id"]) in fake_es.indices[new], "a new item lands in the rebuilt index"
    assert client.delete(f"/api/items/{kite['id']}").status_code == 204
    assert str(kite["id"]) not in fake_es.indices[new]


def test_an_empty_table_gives_an_empty_index_behind_the_alias(
    postgres: PostgresServer, items: Callable[..., list[db.Item]], fake_es: FakeElasticsearch
) -> None:
    result = run_reindex({**postgres.env(), **fake_es.env()})
    assert result.returncode == 0, result.stderr
    [new] = build_indices(fake_es)
    assert fake_es.indices[new] == {}
    assert fake_es.aliases == {"herd-items": [new]}
    assert "indexed 0 item(s)" in result.stdout and "(was: nothing)" in result.stdout


def test_a_refused_document_fails_and_keeps_the_old_index_serving(
    postgres: PostgresServer, items: Callable[..., list[db.Item]], fake_es: FakeElasticsearch
) -> None:
    _, bad = items("Lark", "Mole")
    fake_es.indices["herd-items"] = {}
    fake_es.bulk_refuse_ids = {str(bad.id)}

    result = run_reindex({**postgres.env(), **fake_es.env()})

    assert result.returncode == 1
    built = result.stderr.split("into ")[1].split(":")[0]
    assert NEW_INDEX.match(built)
    assert result.stderr.strip() == (
        f"herd-api reindex: bulk indexing into {built}: 1 of 2 item(s) refused, "
        f"the first (item {bad.id}): failed to parse field [created_at] of {bad.id} "
        "(nothing was swapped: the previous index keeps serving)"
    )
    assert build_indices(fake_es) == [], "the half-built index is deleted"
    assert list(fake_es.indices) == ["herd-items"] and fake_es.aliases == {}


def test_items_written_during_the_build_are_indexed_too(
    postgres: PostgresServer, items: Callable[..., list[db.Item]], fake_es: FakeElasticsearch
) -> None:
    items("Newt", "Owl")
    database, elasticsearch = load_reindex_settings({**postgres.env(), **fake_es.env()})
    late: list[db.Item] = []
    with db.connect(database) as conn:
        report = reindex(conn, Elastic(elasticsearch), "herd-items", 1, before_swap=lambda: late.extend(items("Puma")))
    assert (report.indexed, report.batches, report.caught_up) == (2, 2, 1)
    assert str(late[0].id) in fake_es.indices[report.index]


def test_a_wrong_document_count_stops_before_the_swap(
    postgres: PostgresServer, items: Callable[..., list[db.Item]], fake_es: FakeElasticsearch
) -> None:
    items("Quail")
    database, elasticsearch = load_reindex_settings({**postgres.env(), **fake_es.env()})
    mismatch = r"holds 2 document\(s\) after indexing 1 item"
    with db.connect(database) as conn, pytest.raises(ReindexError, match=mismatch):
        # a document appears in the new index from elsewhere: the count no longer matches
        def sneak() -> None:
            raise AssertionError("must not be reached")

        es = Elastic(elasticsearch)
        original = es.request

        def request(method: str, path: str, body: object = None, **kw: object) -> object:
            answer = original(method, path, body, **kw)  # type: ignore[arg-type]
            if path.endswith("/_refresh"):
                name = path.split("/")[1]
                fake_es.indices[name]["12345"] = {"name": "x", "description": "", "created_at": "2020-01-01T00:00:00Z"}
            return answer

        es.request = request  # type: ignore[method-assign]
        reindex(conn, es, "herd-items", before_swap=sneak)
    assert build_indices(fake_es) == [] and fake_es.aliases == {}


def test_elasticsearch_unreachable(postgres: PostgresServer, items: Callable[..., list[db.Item]]) -> None:
    port = free_port()
    result = run_reindex({**postgres.env(), "ELASTICSEARCH_URL": f"http://127.0.0.1:{port}"})
    assert result.returncode == 1
    assert f"herd-api reindex: Elasticsearch at http://127.0.0.1:{port} unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_elasticsearch_credentials(
    postgres: PostgresServer, items: Callable[..., list[db.Item]], fake_es: FakeElasticsearch
) -> None:
    result = run_reindex({**postgres.env(), **fake_es.env(), "ELASTICSEARCH_PASSWORD": "wrong"})
    assert result.returncode == 1
    assert "HTTP 401 from Elasticsearch" in result.stderr
    assert "wrong" not in result.stderr


def test_postgres_unreachable(fake_es: FakeElasticsearch, postgres: PostgresServer) -> None:
    port = free_port()
    result = run_reindex({**postgres.env(), "DATABASE_PORT": str(port), **fake_es.env()})
    assert result.returncode == 1
    assert f"herd-api reindex: cannot reach PostgreSQL at 127.0.0.1:{port}/herd as herd" in result.stderr
    assert fake_es.requests == []


def test_configuration_problems_exit_2_and_name_every_variable() -> None:
    result = run_reindex({"DATABASE_HOST": "db", "ELASTICSEARCH_INDEX": "Bad*"})
    assert result.returncode == 2
    assert "DATABASE_NAME is required" in result.stderr
    assert "ELASTICSEARCH_URL is required but not set (there is no index to rebuild)" in result.stderr
    assert "REDIS" not in result.stderr  # a rebuild needs only the database and Elasticsearch


@pytest.mark.parametrize("value", ["0", "10001", "many"])
def test_a_bad_batch_size(value: str) -> None:
    result = run_reindex({}, "--batch-size", value)
    assert result.returncode == 2
    assert "argument --batch-size: expected a whole number from 1 to 10000" in result.stderr


def test_new_index_names_sort_by_age_and_match_the_roles_pattern() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert new_index_name("herd-items", at) == "herd-items-20260102030405000006"
    assert NEW_INDEX.match(new_index_name("herd-items"))
