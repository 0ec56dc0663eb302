"""``demo``: the real service against the built-in simulator, a shipped day, accelerated.

No settings file and no network: prices come from the shipped Agile CSV files (through the
``csv`` tariff source, fetched as they would be published: the next day's at 16:00 local), the
simulated house replays the shipped household load, four weeks of that load before the day are
loaded into a temporary SQLite store for the forecasts, and the service runs on APScheduler with
every timer ``speed`` times faster.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from optimizer.config import ServiceSettings, Settings, StoreSettings, TariffSettings
from optimizer.csvdata import read_series_csv
from optimizer.device.client import ClientOptions
from optimizer.device.simulator import CsvProfile, SimClock, SimConfig, Simulator
from optimizer.errors import InvalidInput
from optimizer.service.core import Service
from optimizer.service.runner import ScheduledRunner
from optimizer.service.summary import RunSummary, summarize
from optimizer.service.wiring import open_deps
from optimizer.store import Store
from optimizer.timeseries import interval_length, local_day_bounds

DATA = Path(__file__).resolve().parents[2] / "data"
IMPORT_CSV = "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
EXPORT_CSV = "agile-outgoing-export-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
LOAD_CSV = "household-consumption-uk-fawkesley-2020-08_2023-12.csv"
#: Sunday 15 October 2023: Agile below zero at night, about 50 p/kWh between 16:00 and 19:00.
DEMO_DAY = date(2023, 10, 15)
TIMEZONE = "Europe/London"
WARM_UP = timedelta(minutes=20)


def data_file(name: str, data_dir: Path = DATA) -> Path:
    """A shipped dataset; ``InvalidInput`` when the checkout's ``data/`` is not there."""
    path = data_dir / name
    if not path.is_file():
        raise InvalidInput(f"{path}: shipped dataset not found (run from a source checkout)")
    return path


def demo_settings(sim: Simulator, store_url: str, data_dir: Path = DATA) -> Settings:
    """Defaults, plus: CSV prices from ``data/``, the temporary store, the simulator."""
    tariff = TariffSettings(
        source="csv",
        import_csv=str(data_file(IMPORT_CSV, data_dir)),
        export_csv=str(data_file(EXPORT_CSV, data_dir)),
        csv_unit="p/kWh",
        timezone=TIMEZONE,
    )
    return Settings(
        tariff=tariff,
        store=StoreSettings(url=store_url),
        device=sim.client_settings(),
        service=ServiceSettings(),
    )


def preload_load(store: Store, path: Path, start: datetime, days: int = 28) -> int:
    """Store the household load of the ``days`` before ``start`` (the forecasts' history)."""
    series = read_series_csv(path)
    step = interval_length(series, str(path))
    window = series[(series.index >= start - timedelta(days=days)) & (series.index < start)]
    starts = pd.DatetimeIndex(window.index)
    frame = pd.DataFrame({"end": starts + step, "kwh": window.to_numpy()}, index=starts)
    return store.save_series("load", frame, path.name).inserted


@dataclass(frozen=True)
class DemoResult:
    """The summary and where the files are."""

    summary: RunSummary
    workdir: Path
    runs: dict[str, int]


def house_profile(data_dir: Path = DATA) -> CsvProfile:
    """The simulated house: the shipped household load replayed at its real dates, no PV."""
    path = data_file(LOAD_CSV, data_dir)
    anchor = read_series_csv(path).index[0].to_pydatetime()
    return CsvProfile(path, None, anchor)


def run_demo(
    hours: float = 24.0,
    speed: float = 720.0,
    day: date = DEMO_DAY,
    soc_pct: float = 20.0,
    workdir: Path | None = None,
) -> DemoResult:
    """Run the service for ``hours`` of simulated time from local midnight of ``day`` (after a
    short warm-up before it); the summary covers ``hours`` from midnight."""
    start = local_day_bounds(day, TIMEZONE)[0]
    end = start + timedelta(hours=hours)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="xstorage-demo-"))
    store_url = f"sqlite:///{workdir / 'history.db'}"
    with Store(store_url) as store:
        preload_load(store, data_file(LOAD_CSV), start)
    profile = house_profile()
    # Start-up (the first fetch and plan) takes real seconds, which are minutes of simulated
    # time: begin a little before the day so that the day itself starts settled.
    clock = SimClock(start - WARM_UP, speed=speed)
    config = SimConfig(password=secrets.token_urlsafe(16), soc_pct=soc_pct, timezone=TIMEZONE)
    with Simulator(config, clock=clock, profile=profile) as sim:
        settings = demo_settings(sim, store_url)
        password = config.password
        with open_deps(
            settings, clock, password=lambda: password, client_options=ClientOptions()
        ) as deps:
            service = Service(deps)
            runner = ScheduledRunner(service, clock, speed)
            runner.run(until=end)
            summary = summarize(
                deps.store, settings, service.executed, start, end, workdir / "demo.png"
            )
    return DemoResult(summary, workdir, dict(runner.runs))
