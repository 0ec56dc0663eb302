"""A real HTTP server on 127.0.0.1 (ThreadingHTTPServer in a thread) that plays tariff APIs.

Routes map a path to a handler ``(query) -> Reply``; ``script`` queues replies for a path
(consumed in order, e.g. a 503 then the real answer). ``OctopusRates`` serves a rate list the
way the real API does: filtered by ``period_from``/``period_to``, newest first, ``page_size``
capped (100 by default), ``next``/``previous`` as full URLs.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pandas as pd


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay_s: float = 0.0

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> Reply:
        return cls(status, json.dumps(payload).encode())


Handler = Callable[[dict[str, str]], Reply]


@dataclass
class FakeApi:
    base_url: str = ""
    routes: dict[str, Handler] = field(default_factory=dict)
    scripts: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts[path].extend(replies)

    def reply(self, path: str, query: dict[str, str]) -> Reply:
        self.calls.append((path, query))
        if self.scripts[path]:
            return self.scripts[path].popleft()
        handler = self.routes.get(path)
        if handler is None:
            return Reply.json({"detail": "Not found."}, 404)
        return handler(query)

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.calls if p == path)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        reply = self.server.api.reply(parts.path, query)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and went away

    def log_message(self, *_: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeApi


@contextmanager
def serve() -> Iterator[FakeApi]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.api = FakeApi(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _z(moment: pd.Timestamp) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def agile_rows(series: pd.Series, vat: float = 1.05) -> list[dict[str, Any]]:
    """Rate rows (p/kWh, inc VAT) for a half-hourly series indexed by UTC start."""
    return [
        {
            "value_exc_vat": round(float(v) / vat, 4),
            "value_inc_vat": float(v),
            "valid_from": _z(t),
            "valid_to": _z(t + pd.Timedelta(minutes=30)),
            "payment_method": None,
        }
        for t, v in series.items()
    ]


@dataclass
class OctopusRates:
    """Serve ``rows`` at ``path`` the way ``standard-unit-rates`` does."""

    api: FakeApi
    path: str
    rows: list[dict[str, Any]]
    max_page_size: int = 100

    def __call__(self, query: dict[str, str]) -> Reply:
        lo = pd.Timestamp(query.get("period_from", "1970-01-01T00:00Z"))
        hi = pd.Timestamp(query.get("period_to", "2100-01-01T00:00Z"))

        def inside(row: dict[str, Any]) -> bool:
            start = pd.Timestamp(row["valid_from"])
            end = pd.Timestamp(row["valid_to"]) if row["valid_to"] else None
            return start < hi and (end is None or end > lo)

        rows = sorted(
            (r for r in self.rows if inside(r)),
            key=lambda r: pd.Timestamp(r["valid_from"]),
            reverse=True,
        )
        size = min(int(query.get("page_size", 100)), self.max_page_size)
        page = int(query.get("page", 1))
        chunk = rows[(page - 1) * size : page * size]

        def link(number: int) -> str | None:
            if number < 1 or (number - 1) * size >= len(rows):
                return None
            params = {k: v for k, v in query.items() if k != "page"} | {"page": str(number)}
            return f"{self.api.base_url}{self.path}?{urlencode(params)}"

        body = {"count": len(rows), "next": link(page + 1), "previous": link(page - 1)}
        return Reply.json(body | {"results": chunk})
