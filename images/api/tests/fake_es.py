"""A tiny fake Elasticsearch (threading HTTP server) that records every request it gets."""

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
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail_with: int | None = None  # answer every request with this status
    extra_search_ids: list[str] = field(default_factory=list)  # ids returned although not indexed
    # A partial search answer, as Elasticsearch gives it with HTTP 200: `failed_shards` of `total_shards`
    # failed (their hits are missing: only the first hit is returned), or the search `timed_out`.
    total_shards: int = 1
    failed_shards: int = 0
    timed_out: bool = False

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
                body = json.loads(raw) if raw else None
                fake.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
                if fake.fail_with is not None:
                    return self._reply(fake.fail_with, {"error": "simulated failure"})
                import base64

                expected = "Basic " + base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._reply(401, {"error": "security_exception"})
                parts = self.path.split("?")[0].strip("/").split("/")
                if self.command == "GET" and parts == ["_cluster", "health"]:
                    return self._reply(200, {"status": "green"})
                if len(parts) == 3 and parts[1] == "_doc" and self.command == "PUT":
                    fake.docs[parts[2]] = body
                    return self._reply(201, {"result": "created", "_id": parts[2]})
                if len(parts) == 3 and parts[1] == "_doc" and self.command == "DELETE":
                    found = fake.docs.pop(parts[2], None) is not None
                    return self._reply(200 if found else 404, {"result": "deleted" if found else "not_found"})
                if len(parts) == 2 and parts[1] == "_search" and self.command == "POST":
                    words = body["query"]["multi_match"]["query"].lower().split()
                    hits = [
                        doc_id
                        for doc_id, doc in sorted(fake.docs.items(), key=lambda kv: int(kv[0]))
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
