"""An HTTPS simulator of the xStorage Home, for tests and demos.

>>> with Simulator(SimConfig(soc_pct=40), clock=SimClock(speed=60)) as sim:  # doctest: +SKIP
...     settings = sim.client_settings()            # url + pinned fingerprint
...     with open_client(settings) as client: ...   # password: sim.config.password

``clock`` drives everything (token expiry, lockout, status lag, command expiry, physics);
``SimClock(speed=0)`` is a manual clock that only ``advance``/``sleep`` move.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from types import TracebackType
from typing import Any

from optimizer.config import DeviceSettings
from optimizer.device.clock import SimClock
from optimizer.device.simulator.battery import BatteryModel, Flows
from optimizer.device.simulator.certs import self_signed, server_context, sha256_fingerprint
from optimizer.device.simulator.profile import (
    ConstantProfile,
    CsvProfile,
    Profile,
    SyntheticProfile,
)
from optimizer.device.simulator.server import Faults, SimServer
from optimizer.device.simulator.state import SimConfig, SimDevice

__all__ = [
    "BatteryModel",
    "ConstantProfile",
    "CsvProfile",
    "Faults",
    "Flows",
    "Profile",
    "SimClock",
    "SimConfig",
    "SimDevice",
    "Simulator",
    "SyntheticProfile",
]


class Simulator:
    """A running simulated device: ``start()``/``stop()`` or use it as a context manager."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        clock: SimClock | None = None,
        profile: Profile | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config = config or SimConfig()
        self.clock = clock or SimClock()
        self.device = SimDevice(self.config, self.clock, profile)
        cert_pem, key_pem = self_signed()
        self._context = server_context(cert_pem, key_pem)
        self.fingerprint = sha256_fingerprint(cert_pem)
        self._address = (host, port)
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"Simulator({where}, {self.clock!r})"

    def start(self) -> Simulator:
        """Bind (port 0 = any free port) and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._server = SimServer(self._address, self.device, self._context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the ``simulate`` command)."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def _running(self) -> SimServer:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start()")
        return self._server

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self._running.server_address[1])

    @property
    def url(self) -> str:
        """``https://127.0.0.1:<port>``."""
        return f"https://{self._address[0]}:{self.port}"

    @property
    def faults(self) -> Faults:
        """Fault injection knobs."""
        return self._running.faults

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every ``(method, path)`` the server parsed, in order."""
        return self._running.requests

    @property
    def sign_in_attempts(self) -> int:
        """``POST /api/auth/signin`` requests the device answered."""
        return self.device.stats.sign_in_attempts

    @property
    def command_log(self) -> list[dict[str, Any]]:
        """Every command body received, with its simulated time and HTTP status."""
        return self.device.stats.command_log

    def reboot(self, downtime: timedelta = timedelta(0)) -> None:
        """Drop every token and the running command; refuse connections for ``downtime``."""
        self.device.reboot(downtime)

    def client_settings(self, **overrides: Any) -> DeviceSettings:
        """Client settings for this simulator: its URL, customer account and pinned certificate."""
        values: dict[str, Any] = {
            "url": overrides.get("url") or self.url,
            "username": self.config.username,
            "tls_fingerprint_sha256": self.fingerprint,
        }
        return DeviceSettings(**(values | overrides))
