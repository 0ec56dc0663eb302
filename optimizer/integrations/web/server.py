"""The HTTP listener: the standard library's ``ThreadingHTTPServer`` on its own daemon thread.

Routes: ``GET /`` (the page), ``/api/status``, ``/api/plan``, ``/api/chart``, ``/healthz`` and
``/metrics``. With a token, every request needs ``Authorization: Bearer <token>`` (or, for the
page in a browser, ``?token=<token>``; the page passes it on to its own requests). A failing
handler answers 500 and is logged once per route; it never reaches the service.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from optimizer.config import Settings
from optimizer.integrations.snapshot import Snapshot
from optimizer.integrations.web import documents
from optimizer.integrations.web.page import PAGE
from optimizer.store import Store

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger(__name__)

JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Response:
    """Status code, content type, body and extra headers."""

    code: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def _json(code: int, document: Any) -> Response:
    return Response(code, JSON, json.dumps(document).encode(), {"Cache-Control": "no-store"})


class StatusApp:
    """Answers requests from the latest snapshot (``latest``), the store and, for ``/metrics``,
    a registry made at the first scrape (``clock``: the service clock, for ages), so a service
    nobody scrapes never loads ``prometheus_client``."""

    def __init__(
        self,
        latest: Callable[[], Snapshot | None],
        store: Store,
        settings: Settings,
        clock: Callable[[], datetime],
        token: str = "",
    ) -> None:
        self._latest = latest
        self._store = store
        self._settings = settings
        self._clock = clock
        self._registry: CollectorRegistry | None = None
        self._token = token
        self._plans: dict[int, pd.DataFrame] = {}
        self._lock = threading.Lock()
        self._failed: set[str] = set()

    def authorised(self, headers: Mapping[str, str], query: Mapping[str, list[str]]) -> bool:
        """True without a token, or when the request carries it."""
        if not self._token:
            return True
        given = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        given = given or (query.get("token") or [""])[0]
        return hmac.compare_digest(given.encode(), self._token.encode())

    def respond(self, path: str, headers: Mapping[str, str]) -> Response:
        """The answer to ``GET path``."""
        parts = urlsplit(path)
        if not self.authorised(headers, parse_qs(parts.query)):
            return Response(401, JSON, b'{"error": "bearer token required"}',
                            {"WWW-Authenticate": "Bearer"})  # fmt: skip
        route = parts.path.rstrip("/") or "/"
        try:
            return self._route(route)
        except Exception as exc:
            if route not in self._failed:
                self._failed.add(route)
                log.exception("status page: %s failed (logged once)", route)
            return _json(500, {"error": f"{exc.__class__.__name__}: {exc}"})

    def _route(self, route: str) -> Response:
        if route == "/":
            return Response(200, "text/html; charset=utf-8", PAGE.encode(),
                            {"Cache-Control": "no-store"})  # fmt: skip
        if route == "/metrics":
            return self._metrics()
        snap = self._latest()
        if route == "/healthz":
            return _json(*documents.health(snap))
        if route not in ("/api/status", "/api/plan", "/api/chart"):
            return _json(404, {"error": f"no such page: {route}"})
        if snap is None:
            return _json(503, {"error": "the service has not started yet"})
        if route == "/api/status":
            return _json(200, documents.status_json(snap))
        if route == "/api/plan":
            return _json(200, documents.plan_json(snap))
        with self._lock:
            return _json(200, documents.chart_json(self._store, self._settings, snap, self._plans))

    def _metrics(self) -> Response:
        from optimizer.integrations.metrics import CONTENT_TYPE, exposition, make_registry

        with self._lock:
            if self._registry is None:
                self._registry = make_registry(self._latest, self._clock)
        return Response(200, CONTENT_TYPE, exposition(self._registry))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        response = self.server.app.respond(self.path, dict(self.headers.items()))
        self.send_response(response.code)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: StatusApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


class _Server6(_Server):
    address_family = socket.AF_INET6


def split_listen(listen: str) -> tuple[str, int]:
    """``"host:port"`` → ``(host, port)`` (``[::1]`` → ``::1``)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class StatusServer:
    """``app`` served on ``listen`` (``host:port``; port 0 picks a free one) until ``close``."""

    def __init__(self, app: StatusApp, listen: str) -> None:
        host, port = split_listen(listen)
        server = _Server6 if ":" in host else _Server
        self._server = server((host, port), app)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="status-page", daemon=True
        )

    @property
    def url(self) -> str:
        """``http://host:port`` as bound."""
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}"

    def start(self) -> StatusServer:
        """Serve on a daemon thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
