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

from tests.support.sandbox import sandbox, sandbox_factory, sandbox_url

__all__ = ["sandbox", "sandbox_factory", "sandbox_url"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="long runs: the convergence harness's 500 schedules")


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
    ``repeat_on`` holds page numbers that start with the previous page's points again (as Samsara's
    feed may); ``empty_once`` holds page numbers answered once with an empty page that has a next
    page under the same cursor. A cursor that is not ``p<n>`` and a vehicle ID the fleet does not
    have are 400s, as Samsara answers them.
    """

    def __init__(self, pages: int = 5, vehicles: int = 3, org: str = "5005") -> None:
        self.pages = pages
        self.vehicles = vehicles
        self.org = org
        self.fail_on: dict[int, list[Reply]] = {}
        self.delay_on: dict[int, float] = {}
        self.repeat_on: set[int] = set()
        self.empty_once: set[int] = set()
        self.delay_all = 0.0

    def __call__(self, seen: Seen) -> Reply:
        if seen.path == "/me":
            return Reply(body={"data": {"id": self.org, "name": "Acme Leasing"}})
        if seen.path != "/fleet/vehicles/stats/feed":
            return Reply(404, {"message": "no route", "requestId": "r404"})
        after = seen.query.get("after", ["p0"])[0]
        if not (after.startswith("p") and after[1:].isdigit()):
            return Reply(400, {"message": "Invalid value for parameter `after`: the cursor has expired"})
        fleet = {str(100 + v) for v in range(self.vehicles)}
        asked = ",".join(seen.query.get("vehicleIds", [])).split(",") if "vehicleIds" in seen.query else []
        if any(v not in fleet for v in asked):
            return Reply(400, {"message": f"Invalid vehicleIds: {asked}", "requestId": "r400"})
        n = int(after[1:])
        if self.fail_on.get(n):
            return self.fail_on[n].pop(0)
        if n in self.empty_once:
            self.empty_once.discard(n)
            return Reply(body={"data": [], "pagination": {"endCursor": after, "hasNextPage": True}})
        if n >= self.pages:  # caught up: nothing new, same cursor
            return Reply(body={"data": [], "pagination": {"endCursor": after, "hasNextPage": False}})
        minutes = [n - 1, n] if n in self.repeat_on and n > 0 else [n]
        data = [
            {
                "id": str(100 + v),
                "name": f"Truck {v}",
                "obdOdometerMeters": [
                    {"time": f"2026-11-01T00:{m:02d}:00Z", "value": 1_000_000 + 1000 * m + v} for m in minutes
                ],
            }
            for v in range(self.vehicles)
            if str(100 + v) in ",".join(seen.query.get("vehicleIds", [str(100 + v)])).split(",")
        ]
        last = n >= self.pages - 1
        pagination = {"endCursor": f"p{n + 1}", "hasNextPage": not last}
        delay = self.delay_on.get(n, self.delay_all)
        return Reply(body={"data": data, "pagination": pagination}, delay=delay)


@pytest.fixture
def feed(server: ScriptedServer) -> MiniFeed:
    f = MiniFeed()
    server.handler = f
    return f
