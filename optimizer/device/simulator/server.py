"""The simulator's HTTPS server (stdlib ``ThreadingHTTPServer``, TLS per connection) and faults.

Faults, all consumed by the next matching requests (``path=None`` matches every path):

* ``latency_s``: real seconds to wait before answering;
* ``drop``: read the request, then close the connection without an answer (ambiguous for a client:
  the request may have been acted on);
* ``refuse``: close new connections before the TLS handshake (the request provably never arrived);
* ``fail``: answer ``503`` plain text (a 5xx burst).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import IPPROTO_TCP, TCP_NODELAY, socket
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from optimizer.device.simulator.api import Request, dispatch
from optimizer.device.simulator.state import Reply, SimDevice

log = logging.getLogger(__name__)


@dataclass
class Faults:
    """Fault injection knobs (thread-safe counters; see the module docstring)."""

    latency_s: float = 0.0
    latency_path: str | None = None
    drop: int = 0
    refuse: int = 0
    fail: int = 0
    fail_status: int = 503
    path: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, kind: str, path: str | None = None) -> bool:
        """Consume one ``kind`` fault if one is pending for ``path``."""
        with self._lock:
            if self.path is not None and path is not None and path != self.path:
                return False
            if getattr(self, kind) > 0:
                setattr(self, kind, getattr(self, kind) - 1)
                return True
            return False

    def delay_for(self, path: str) -> float:
        """Seconds to wait before answering ``path``."""
        if self.latency_path is not None and path != self.latency_path:
            return 0.0
        return self.latency_s

    def clear(self) -> None:
        """No faults."""
        with self._lock:
            self.latency_s, self.latency_path = 0.0, None
            self.drop = self.refuse = self.fail = 0
            self.path = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: " + format, *args)

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.server.requests.append((self.command, parts.path))
        faults = self.server.faults
        delay = faults.delay_for(parts.path)
        if delay:
            time.sleep(delay)
        if faults.take("drop", parts.path):
            self.close_connection = True
            return
        if faults.take("fail", parts.path):
            self._write(Reply(faults.fail_status, "503 service unavailable"))
            return
        if self.server.device.is_down():
            self.close_connection = True
            return
        request = Request(
            self.command,
            parts.path,
            dict(parse_qsl(parts.query)),
            self.headers.get("Authorization"),
            _json(raw),
        )
        self._write(dispatch(self.server.device, request))

    def _write(self, reply: Reply) -> None:
        if isinstance(reply.body, str):
            payload, kind = reply.body.encode(), "text/plain; charset=utf-8"
        else:
            payload, kind = json.dumps(reply.body).encode(), "application/json"
        self.send_response(reply.status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # The stdlib dispatches on these names.
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


class SimServer(ThreadingHTTPServer):
    """HTTPS in front of a ``SimDevice``; TLS is negotiated in each connection's thread."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], device: SimDevice, context: ssl.SSLContext
    ) -> None:
        super().__init__(address, _Handler)
        self.device = device
        self.context = context
        self.faults = Faults()
        self.requests: list[tuple[str, str]] = []

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Refuse (close before TLS) when a ``refuse`` fault is pending or the device is down."""
        return not (self.faults.take("refuse") or self.device.is_down())

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the connection in TLS, serve it, close it."""
        raw: socket = request
        raw.settimeout(10.0)
        # Headers and body go out in separate writes; without this, Nagle plus the client's
        # delayed ACK add ~40 ms to every keep-alive request.
        raw.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("simulator: TLS handshake failed: %s", exc)
            return
        try:
            _Handler(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer is normal here (timeouts, pin checks)."""
        log.debug(
            "simulator: connection from %s ended with an error", client_address, exc_info=True
        )
