"""A tiny fake Elasticsearch (threading HTTP server) that records every request it gets.

It keeps documents per index and resolves aliases the way Elasticsearch does for the calls herd makes: documents
(PUT/DELETE ``<index>/_doc/<id>``, an unknown index created on the first write), ``_search``, index creation and
deletion, ``_alias``, ``_aliases`` (add, remove, remove_index, applied atomically), ``_bulk`` (NDJSON),
``_refresh`` and ``_count``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeElasticsearch:
    username: str = "elastic"
    password: str = "es-pw"
    indices: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # index -> id -> document
    aliases: dict[str, list[str]] = field(default_factory=dict)  # alias -> indices
    mappings: dict[str, Any] = field(default_factory=dict)  # index -> the mappings it was created with
    requests: list[Recorded] = field(default_factory=list)
    bulk_refuse_ids: set[str] = field(default_factory=set)  # _bulk answers these documents with an error
    fail_with: int | None = None  # answer every request with this status
    extra_search_ids: list[str] = field(default_factory=list)  # ids returned although not indexed
    # A partial search answer, as Elasticsearch gives it with HTTP 200: `failed_shards` of `total_shards`
    # failed (their hits are missing: only the first hit is returned), or the search `timed_out`.
    total_shards: int = 1
    failed_shards: int = 0
    timed_out: bool = False

    @property
    def docs(self) -> dict[str, dict[str, Any]]:
        """Every document of every index, by id (the API's tests use one index)."""
        merged: dict[str, dict[str, Any]] = {}
        for docs in self.indices.values():
            merged.update(docs)
        return merged

    def resolve(self, name: str) -> str | None:
        """The one index a name means (an alias of exactly one index, or the index), or None."""
        if name in self.aliases:
            targets = self.aliases[name]
            return targets[0] if len(targets) == 1 else None
        return name if name in self.indices else None

    def _apply_aliases(self, actions: list[dict[str, Any]]) -> str | None:
        """Applies alias actions atomically; returns the problem instead when one is invalid."""
        indices = {k: dict(v) for k, v in self.indices.items()}
        aliases = {k: list(v) for k, v in self.aliases.items()}
        for action in actions:
            (kind, spec), = action.items()
            index, alias = spec.get("index"), spec.get("alias")
            if index not in indices:
                return f"no such index [{index}]"
            if kind == "add":
                aliases.setdefault(alias, [])
                if index not in aliases[alias]:
                    aliases[alias].append(index)
            elif kind == "remove":
                if index not in aliases.get(alias, []):
                    return f"aliases [{alias}] missing on [{index}]"
                aliases[alias].remove(index)
                if not aliases[alias]:
                    del aliases[alias]
            elif kind == "remove_index":
                del indices[index]
            else:
                return f"unknown action [{kind}]"
        # checked on the result, as Elasticsearch does: add an alias and remove the index of that name in one request
        for alias in aliases:
            if alias in indices:
                return f"an index exists with the same name as the alias [{alias}]"
        self.indices, self.aliases = indices, aliases
        return None

    def _bulk(self, raw: bytes) -> dict[str, Any]:
        lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        items: list[dict[str, Any]] = []
        for action, doc in zip(lines[0::2], lines[1::2], strict=True):
            spec = action["index"]
            doc_id = str(spec["_id"])
            index = self.resolve(spec["_index"]) or spec["_index"]
            if doc_id in self.bulk_refuse_ids:
                reason = f"failed to parse field [created_at] of {doc_id}"
                error = {"type": "document_parsing_exception", "reason": reason}
                items.append({"index": {"_index": index, "_id": doc_id, "status": 400, "error": error}})
                continue
            self.indices.setdefault(index, {})[doc_id] = doc
            items.append({"index": {"_index": index, "_id": doc_id, "status": 201, "result": "created"}})
        return {"took": 1, "errors": any("error" in i["index"] for i in items), "items": items}

    def start(self) -> FakeElasticsearch:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                is_bulk = self.path.split("?")[0].endswith("/_bulk")
                body = (raw.decode() if is_bulk else json.loads(raw)) if raw else None
                fake.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
                if fake.fail_with is not None:
                    return self._reply(fake.fail_with, {"error": "simulated failure"})
                import base64

                expected = "Basic " + base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._reply(401, {"error": "security_exception"})
                parts = self.path.split("?")[0].strip("/").split("/")
                command = self.command
                missing = {"error": {"type": "index_not_found_exception"}, "status": 404}
                if command == "GET" and parts == ["_cluster", "health"]:
                    return self._reply(200, {"status": "green"})
                if command == "POST" and parts == ["_bulk"]:
                    return self._reply(200, fake._bulk(raw))
                if command == "POST" and parts == ["_aliases"]:
                    problem = fake._apply_aliases(body["actions"])
                    if problem is not None:
                        return self._reply(400, {"error": {"type": "illegal_argument_exception", "reason": problem}})
                    return self._reply(200, {"acknowledged": True})
                if command == "GET" and len(parts) == 2 and parts[0] == "_alias":
                    targets = fake.aliases.get(parts[1])
                    if not targets:
                        return self._reply(404, {"error": f"alias [{parts[1]}] missing", "status": 404})
                    return self._reply(200, {index: {"aliases": {parts[1]: {}}} for index in targets})
                if len(parts) == 1 and not parts[0].startswith("_"):
                    name = parts[0]
                    if command == "PUT":
                        if name in fake.indices or name in fake.aliases:
                            return self._reply(400, {"error": {"type": "resource_already_exists_exception"}})
                        fake.indices[name] = {}
                        fake.mappings[name] = (body or {}).get("mappings")
                        return self._reply(200, {"acknowledged": True, "index": name})
                    if command == "GET":
                        index = fake.resolve(name)
                        return self._reply(200, {index: {}}) if index is not None else self._reply(404, missing)
                    if command == "DELETE":
                        if name not in fake.indices:
                            return self._reply(404, missing)
                        del fake.indices[name]
                        return self._reply(200, {"acknowledged": True})
                if len(parts) == 2 and parts[1] in ("_refresh", "_count"):
                    index = fake.resolve(parts[0])
                    if index is None:
                        return self._reply(404, missing)
                    if parts[1] == "_count":
                        return self._reply(200, {"count": len(fake.indices[index])})
                    return self._reply(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
                if len(parts) == 3 and parts[1] == "_doc" and command == "PUT":
                    index = fake.resolve(parts[0]) or parts[0]  # the first write creates the index
                    fake.indices.setdefault(index, {})[parts[2]] = body
                    return self._reply(201, {"result": "created", "_id": parts[2], "_index": index})
                if len(parts) == 3 and parts[1] == "_doc" and command == "DELETE":
                    index = fake.resolve(parts[0])
                    found = index is not None and fake.indices[index].pop(parts[2], None) is not None
                    return self._reply(200 if found else 404, {"result": "deleted" if found else "not_found"})
                if len(parts) == 2 and parts[1] == "_search" and command == "POST":
                    words = body["query"]["multi_match"]["query"].lower().split()
                    index = fake.resolve(parts[0])
                    searched = fake.indices[index] if index is not None else {}
                    hits = [
                        doc_id
                        for doc_id, doc in sorted(searched.items(), key=lambda kv: int(kv[0]))
                        if any(w in (doc["name"] + " " + doc["description"]).lower() for w in words)
                    ]
                    hits += fake.extra_search_ids
                    if fake.failed_shards or fake.timed_out:
                        hits = hits[:1]
                    failures = [
                        {
                            "shard": n,
                            "index": parts[0],
                            "reason": {"type": "no_shard_available_action_exception", "reason": None},
                        }
                        for n in range(fake.failed_shards)
                    ]
                    shards = {
                        "total": fake.total_shards,
                        "successful": fake.total_shards - fake.failed_shards,
                        "skipped": 0,
                        "failed": fake.failed_shards,
                        **({"failures": failures} if failures else {}),
                    }
                    return self._reply(
                        200,
                        {
                            "took": 1,
                            "timed_out": fake.timed_out,
                            "_shards": shards,
                            "hits": {"hits": [{"_id": h, "_score": 1.0} for h in hits]},
                        },
                    )
                return self._reply(400, {"error": f"unexpected request {self.command} {self.path}"})

            do_GET = do_PUT = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        return {
            "ELASTICSEARCH_URL": self.url,
            "ELASTICSEARCH_USERNAME": self.username,
            "ELASTICSEARCH_PASSWORD": self.password,
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
