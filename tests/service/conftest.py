"""A whole installation on real sockets: the simulator (HTTPS), a local Octopus-shaped tariff
server (HTTP), a SQLite store and the service, all on one manual clock.

``Harness.run_until`` steps the service's jobs with ``optimizer.service.runner.step``: the clock
jumps to the next due job, so a simulated day takes a few seconds of wall time. Nothing here
sleeps for real except the simulator's optional latency fault.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from optimizer.config import (
    BatterySettings,
    DeviceSettings,
    PvSettings,
    ServiceSettings,
    Settings,
    StoreSettings,
    TariffSettings,
)
from optimizer.csvdata import read_series_csv
from optimizer.device.client import ClientOptions, XStorageClient
from optimizer.device.simulator import ConstantProfile, Profile, SimClock, SimConfig, Simulator
from optimizer.device.wire import build_http_client
from optimizer.service.core import Service
from optimizer.service.runner import step
from optimizer.service.wiring import Deps, PvFetch
from optimizer.store import Store
from tests.conftest import DATA
from tests.tariffs.fakeapi import FakeApi, OctopusRates, Reply, agile_rows, serve

PASSWORD = "S3rvice-pa55word-never-logged"
RESERVE_PCT = 10.0  # battery.min_soc_pct's default
PRODUCT = "AGILE-TEST"
EXPORT_PRODUCT = "AGILE-OUT-TEST"
IMPORT_PATH = f"/products/{PRODUCT}/electricity-tariffs/E-1R-{PRODUCT}-C/standard-unit-rates/"
EXPORT_PATH = (
    f"/products/{EXPORT_PRODUCT}/electricity-tariffs/E-1R-{EXPORT_PRODUCT}-C/standard-unit-rates/"
)
IMPORT_CSV = DATA / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
EXPORT_CSV = DATA / "agile-outgoing-export-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
FAST = ClientOptions(
    timeout=httpx.Timeout(1.0, connect=1.0),
    read_attempts=3,
    backoff_s=0.5,
    readback_timeout_s=10.0,
    readback_interval_s=1.5,
)


@dataclass
class Switch:
    """A tariff server that can be taken down (it then answers 503)."""

    down: bool = False


@dataclass
class Harness:
    """The pieces of one installation; ``service`` can be replaced to emulate a restart."""

    clock: SimClock
    sim: Simulator
    api: FakeApi
    settings: Settings
    store: Store
    tariff_switch: Switch
    service: Service | None = None
    status_reads: int = 0
    _http: list[httpx.Client] = field(default_factory=list)

    def start_service(
        self, dry_run: bool = False, password: str = PASSWORD, pv_fetch: PvFetch | None = None,
        pv_min_interval: timedelta = timedelta(hours=1),
    ) -> Service:  # fmt: skip
        """A fresh service process (new HTTP clients, same store and device); ``pv_fetch``:
        the weather PV fetcher (fetching every ``pv_min_interval`` at most)."""
        device_http = build_http_client(self.settings.device, FAST.timeout)
        tariff_http = httpx.Client(timeout=2.0)
        self._http += [device_http, tariff_http]
        device = XStorageClient(
            self.settings.device, device_http, password=lambda: password, time=self.clock,
            options=FAST, wait=self.clock if self.clock.speed == 0 else None,
        )  # fmt: skip  # physical waits: real seconds unless the clock is manual
        original = device.status

        def counted() -> Any:
            result = original()
            self.status_reads += 1
            return result

        device.status = counted  # type: ignore[method-assign]
        deps = Deps(self.settings, self.store, device, tariff_http, self.clock, dry_run,
                    pv_fetch, pv_min_interval)  # fmt: skip
        self.service = Service(deps)
        return self.service

    def run_until(self, until: datetime, stop: Callable[[], bool] = lambda: False) -> None:
        """Step the service's jobs until the clock reaches ``until``."""
        assert self.service is not None
        step(self.service, self.clock, until, stop)

    def commands(self) -> list[dict[str, Any]]:
        """Every command the simulator received: ``at`` (UTC datetime), ``body``, ``status``."""
        return [
            {**entry, "at": datetime.fromisoformat(entry["at"])} for entry in self.sim.command_log
        ]

    def close(self) -> None:
        for client in self._http:
            client.close()


def price_rows(start: datetime, end: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Octopus rate rows (p/kWh) of the shipped Agile import and export files in [start, end)."""
    rows = []
    for path in (IMPORT_CSV, EXPORT_CSV):
        series = read_series_csv(path)
        window = series[(series.index >= start) & (series.index < end)]
        rows.append(agile_rows(window, vat=1.05))
    return rows[0], rows[1]


def tariff_settings(api: FakeApi) -> TariffSettings:
    return TariffSettings(
        source="octopus",
        api_url=api.base_url,
        import_product=PRODUCT,
        export_product=EXPORT_PRODUCT,
        region="C",
        retries=0,
        retry_backoff_s=0.0,
        timeout_s=2.0,
    )


def service_settings(**overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "poll_seconds": 120,
        "stale_after_s": 600,
        "metrics_minutes": 30,
        "fallback_load_w": 400,
    }
    return ServiceSettings(**(values | overrides))


MakeHarness = Callable[..., Harness]


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[MakeHarness]:
    """Build a harness at ``start`` (UTC) with prices served for ``[price_from, price_to)``, on
    a SQLite store in ``tmp_path`` unless ``store_url`` names another."""
    built: list[tuple[Harness, Any]] = []

    def build(
        start: datetime,
        soc_pct: float = 20.0,
        load_w: float = 400.0,
        service: ServiceSettings | None = None,
        sim_overrides: dict[str, Any] | None = None,
        speed: float = 0,
        store_url: str | None = None,
        profile: Profile | None = None,
        pv: PvSettings | None = None,
    ) -> Harness:
        clock = SimClock(start, speed=speed)  # 0: manual (``run_until`` steps it)
        # The device keeps the reserve itself (backup level = min_soc_pct, as the start-up
        # warning advises); tests/service/test_reserve.py runs the factory level (0 %).
        overrides = {"backup_pct": RESERVE_PCT} | (sim_overrides or {})
        config = SimConfig(password=PASSWORD, soc_pct=soc_pct, **overrides)
        house = profile or ConstantProfile(load=load_w, pv=0.0)
        sim = Simulator(config, clock=clock, profile=house).start()
        server = serve()
        api = server.__enter__()
        switch = Switch()
        imports, exports = price_rows(start - timedelta(days=1), start + timedelta(days=3))
        for path, rows in ((IMPORT_PATH, imports), (EXPORT_PATH, exports)):
            rates = OctopusRates(api, path, rows)

            def route(query: dict[str, str], rates: OctopusRates = rates) -> Reply:
                return Reply.json({"detail": "down"}, 503) if switch.down else rates(query)

            api.routes[path] = route
        settings = Settings(
            battery=BatterySettings(backup_pct=RESERVE_PCT),
            tariff=tariff_settings(api),
            store=StoreSettings(url=store_url or f"sqlite:///{tmp_path / 'history.db'}"),
            device=DeviceSettings(**sim.client_settings().model_dump()),
            service=service or service_settings(),
            pv=pv or PvSettings(),
        )
        store = Store.from_settings(settings.store)
        harness = Harness(clock, sim, api, settings, store, switch)
        built.append((harness, server))
        return harness

    yield build
    for harness, server in built:
        harness.close()
        harness.store.close()
        harness.sim.stop()
        server.__exit__(None, None, None)


def local(text: str) -> datetime:
    """A Europe/London wall-clock time as UTC."""
    return pd.Timestamp(text, tz="Europe/London").tz_convert("UTC").to_pydatetime()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def counted_reads(service: Service) -> list[datetime]:
    """Record the time of every successful status read the service makes."""
    times: list[datetime] = []
    original = service.read

    def read() -> bool:
        fresh = original()
        if fresh and service.reading is not None:
            times.append(service.reading.time)
        return fresh

    service.read = read  # type: ignore[method-assign]
    return times
