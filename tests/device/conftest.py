"""Fixtures: a simulator on a real socket with a manual clock, and clients wired to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from optimizer.device.client import ClientOptions, XStorageClient
from optimizer.device.simulator import ConstantProfile, SimClock, SimConfig, Simulator
from optimizer.device.wire import build_http_client

PASSWORD = "Pa55-w0rd-that-must-never-leak"
TECH_PASSWORD = "T3ch-secret-never-leak"
START = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
FAST = ClientOptions(
    timeout=httpx.Timeout(1.0, connect=1.0),
    read_attempts=3,
    backoff_s=0.5,
    readback_timeout_s=10.0,
    readback_interval_s=1.5,
)


@pytest.fixture
def clock() -> SimClock:
    """A manual clock at ``START``: only ``advance``/``sleep`` move it."""
    return SimClock(START, speed=0)


@pytest.fixture
def sim_config() -> SimConfig:
    """Simulator settings; tests tweak them before ``sim`` starts."""
    return SimConfig(
        password=PASSWORD, tech_password=TECH_PASSWORD, lockout_after=3, lag=timedelta(seconds=2.5)
    )


@pytest.fixture
def sim(sim_config: SimConfig, clock: SimClock) -> Iterator[Simulator]:
    """A running simulator (500 W load, no PV) on an ephemeral port."""
    with Simulator(sim_config, clock=clock, profile=ConstantProfile(load=500.0, pv=0.0)) as running:
        yield running


MakeClient = Callable[..., XStorageClient]


@pytest.fixture
def make_client(sim: Simulator, clock: SimClock) -> Iterator[MakeClient]:
    """Build clients for ``sim``: pinned TLS, the shared manual clock, short timeouts."""
    opened: list[httpx.Client] = []

    def build(
        password: str = PASSWORD,
        options: ClientOptions = FAST,
        http: httpx.Client | None = None,
        **overrides: Any,
    ) -> XStorageClient:
        settings = sim.client_settings(**overrides)
        http = http or build_http_client(settings, options.timeout)
        opened.append(http)
        return XStorageClient(
            settings, http, password=lambda: password, time=clock, options=options, wait=clock
        )

    yield build
    for http in opened:
        http.close()


def tech_settings(sim: Simulator) -> dict[str, Any]:
    """Overrides for a technician account."""
    return {"username": "admin", "user_type": "tech", "inverter_sn": sim.config.inverter_sn}


def paths(sim: Simulator, method: str, path: str) -> int:
    """How many ``method path`` requests the simulator parsed."""
    return sum(1 for seen in sim.requests if seen == (method, path))
