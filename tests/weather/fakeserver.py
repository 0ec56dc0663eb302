"""A real HTTP server on 127.0.0.1 (ThreadingHTTPServer in a thread) that plays weather APIs.

Like ``tests/tariffs/fakeapi.py``, plus what PV sources need: the request headers are recorded
(Solcast's bearer key) and replies carry headers (``Retry-After``, ``X-Ratelimit-Retry-At``).
A route is a path prefix mapped to a handler ``(Call) -> Reply``; ``script`` queues
replies consumed before the handler (e.g. a 429 then the real answer).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    @classmethod
    def json(cls, payload: Any, status: int = 200, **headers: str) -> Reply:
        return cls(status, json.dumps(payload).encode(), dict(headers))


@dataclass
class Call:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


Handler = Callable[[Call], Reply]


@dataclass
class FakeWeather:
    base_url: str = ""
    routes: dict[str, Handler] = field(default_factory=dict)
    queued: deque[Reply] = field(default_factory=deque)
    calls: list[Call] = field(default_factory=list)

    def script(self, *replies: Reply) -> None:
        self.queued.extend(replies)

    def reply(self, call: Call) -> Reply:
        self.calls.append(call)
        if self.queued:
            return self.queued.popleft()
        for prefix, handler in self.routes.items():
            if call.path.startswith(prefix):
                return handler(call)
        return Reply.json({"error": True, "reason": "Not found"}, 404)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.api.reply(Call(unquote(parts.path), query, headers))
        if reply.delay_s:
            time.sleep(reply.delay_s)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and went away

    def log_message(self, *_: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeWeather


@contextmanager
def serve() -> Iterator[FakeWeather]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.api = FakeWeather(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
