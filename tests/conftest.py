"""Shared fixtures: a scripted loopback HTTP server and a small deterministic stats feed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    """Answers each request from ``script`` (a list, consumed in order, the last repeating) or from
    ``handler(seen) -> Reply`` when set. Records every request."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.handler: Callable[[Seen], Reply] | None = None
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen = Seen(self.command, url.path, parse_qs(url.query), headers, self.rfile.read(length))
                with outer._lock:
                    outer.seen.append(seen)
                    if outer.handler is not None:
                        reply = outer.handler(seen)
                    else:
                        reply = outer.script[0] if len(outer.script) == 1 else outer.script.pop(0)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/json")
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    yield s
    s.close()


class MiniFeed:
    """A deterministic vehicle stats feed: ``pages`` pages of ``vehicles`` vehicles, cursor ``p<n>``.

    Page ``n`` holds one ``obdOdometerMeters`` point per vehicle at minute ``n``. The last page says
    ``hasNextPage: false``. ``fail_on`` maps a page number to replies served instead of it (consumed).
    """

    def __init__(self, pages: int = 5, vehicles: int = 3, org: str = "5005") -> None:
        self.pages = pages
        self.vehicles = vehicles
        self.org = org
        self.fail_on: dict[int, list[Reply]] = {}
        self.delay_on: dict[int, float] = {}

    def __call__(self, seen: Seen) -> Reply:
        if seen.path == "/me":
            return Reply(body={"data": {"id": self.org, "name": "Acme Leasing"}})
        if seen.path != "/fleet/vehicles/stats/feed":
            return Reply(404, {"message": "no route", "requestId": "r404"})
        after = seen.query.get("after", ["p0"])[0]
        n = int(after[1:])
        if self.fail_on.get(n):
            return self.fail_on[n].pop(0)
        if n >= self.pages:  # caught up: nothing new, same cursor
            return Reply(body={"data": [], "pagination": {"endCursor": after, "hasNextPage": False}})
        data = [
            {
                "id": str(100 + v),
                "name": f"Truck {v}",
                "obdOdometerMeters": [
                    {"time": f"2026-11-01T00:{n:02d}:00Z", "value": 1_000_000 + 1000 * n + v}
                ],
            }
            for v in range(self.vehicles)
            if str(100 + v) in ",".join(seen.query.get("vehicleIds", [str(100 + v)])).split(",")
        ]
        last = n >= self.pages - 1
        pagination = {"endCursor": f"p{n + 1}", "hasNextPage": not last}
        return Reply(body={"data": data, "pagination": pagination}, delay=self.delay_on.get(n, 0.0))


@pytest.fixture
def feed(server: ScriptedServer) -> MiniFeed:
    f = MiniFeed()
    server.handler = f
    return f
