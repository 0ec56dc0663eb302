"""``demo``: the real service against the built-in simulator, accelerated, on shipped or given data.

No settings file and no network. Prices come from CSV files (the shipped Agile day, or
``--prices``/``--export-prices``) through the ``csv`` tariff source, fetched as they would be
published (the next day's at 16:00 local). The simulated house replays a load CSV (the shipped
household, or ``--load``) and optionally a PV CSV (``--pv``) at their own dates; the 28 days of
that history before the start are loaded into a temporary SQLite store for the forecasts. The
service runs on APScheduler with every timer ``speed`` times faster. The simulated clock is held
at the start while the service starts up (first fetch, plan and command), so the run begins at
``start`` with the battery at exactly ``soc_pct``.

The run covers ``[start, start + hours)``, cut where the import prices end (``DemoData.notes``
says so). Every figure it reports as measured comes from the simulator's meter at the files'
prices (``optimizer.service.summary``), independent of what the planner chose.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from optimizer import PACKAGE_DATA
from optimizer.config import (
    PlannerSettings,
    ServiceSettings,
    Settings,
    StoreSettings,
    TariffSettings,
)
from optimizer.csvdata import read_energy_csv, read_prices_csv, read_series_csv
from optimizer.device.client import ClientOptions
from optimizer.device.simulator import CsvProfile, SimClock, SimConfig, Simulator
from optimizer.errors import InvalidInput
from optimizer.service.runner import ScheduledRunner
from optimizer.service.summary import ActualPrices, RunSummary, iso, summarize
from optimizer.service.views import observed
from optimizer.service.wiring import open_deps
from optimizer.store import Store
from optimizer.timeseries import interval_length, local_day_bounds, require_utc, to_slots
from optimizer.units import price_currency

#: The slice of the shipped data the installed package carries (``optimizer/data/README.md``).
DATA = PACKAGE_DATA
IMPORT_CSV = "agile-import-regionUNKNOWN-fawkesley-2023-10.csv"
EXPORT_CSV = "agile-outgoing-export-regionUNKNOWN-fawkesley-2023-10.csv"
LOAD_CSV = "household-consumption-uk-fawkesley-2023-09_2023-10.csv"
SHIPPED_UNIT = "p/kWh"
#: Sunday 15 October 2023: Agile below zero at night, about 50 p/kWh between 16:00 and 19:00.
DEMO_DAY = date(2023, 10, 15)
TIMEZONE = "Europe/London"
HISTORY_DAYS = 28
SLOT_MINUTES = 30
MAX_HOURS = 72.0
#: Real seconds the start-up may hold the simulated clock before it runs anyway.
START_UP_REAL_S = 120.0


def data_file(name: str, data_dir: Path = DATA) -> Path:
    """A dataset the package carries; ``InvalidInput`` when it is missing (a broken install)."""
    path = data_dir / name
    if not path.is_file():
        raise InvalidInput(
            f"{path}: the demo's data is missing from the installed package; reinstall "
            "xstorage-optimizer, or give --prices and --load"
        )
    return path


@dataclass(frozen=True)
class DemoInputs:
    """What the demo runs on. ``None`` files mean the shipped ones (``export_prices`` only with
    ``prices``: given import prices without export prices means exports earn nothing);
    ``price_unit`` applies to the given price files; ``start`` is aware, ``None`` = the shipped
    day's local midnight, or the first slot of ``prices`` when given."""

    prices: Path | None = None
    export_prices: Path | None = None
    load: Path | None = None
    pv: Path | None = None
    price_unit: str | None = None
    start: datetime | None = None


@dataclass(frozen=True)
class DemoData:
    """The inputs read and checked: files, prices (currency/kWh), house energy (kWh per
    interval), the run's window (UTC) and one-line notes for the user."""

    import_csv: Path
    export_csv: Path | None
    load_csv: Path
    pv_csv: Path | None
    unit: str
    prices: ActualPrices
    load_kwh: pd.Series
    pv_kwh: pd.Series | None
    start: datetime
    end: datetime
    notes: tuple[str, ...]


def _files(inputs: DemoInputs, data_dir: Path) -> tuple[Path, Path | None, Path]:
    """(import, export, load) files: the given ones or the shipped ones."""
    if inputs.export_prices is not None and inputs.prices is None:
        raise InvalidInput("--export-prices needs --prices (the shipped prices come as a pair)")
    if inputs.prices is None and inputs.price_unit not in (None, SHIPPED_UNIT):
        raise InvalidInput(f"--price-unit {inputs.price_unit}: needs --prices (the shipped "
                           f"prices are in {SHIPPED_UNIT})")  # fmt: skip
    load = inputs.load or data_file(LOAD_CSV, data_dir)
    if inputs.prices is None:
        return data_file(IMPORT_CSV, data_dir), data_file(EXPORT_CSV, data_dir), load
    return inputs.prices, inputs.export_prices, load


def _checked(series: pd.Series, option: str, path: Path) -> pd.Series:
    """``series`` once its interval length is known (two rows at least)."""
    try:
        interval_length(series, str(path))
    except InvalidInput as exc:
        raise InvalidInput(f"{option} {exc}") from None
    return series


def _window(
    inputs: DemoInputs, prices: pd.Series, path: Path, hours: float, day: date
) -> tuple[datetime, datetime, list[str]]:
    """The run's ``[start, end)`` (UTC) and a note when the prices end before ``hours``."""
    first = prices.index[0].to_pydatetime()
    last = (prices.index[-1] + interval_length(prices, str(path))).to_pydatetime()
    start = require_utc(inputs.start, "--start") if inputs.start else None
    if start is None:
        start = first if inputs.prices is not None else local_day_bounds(day, TIMEZONE)[0]
    if start.timestamp() % (SLOT_MINUTES * 60):
        raise InvalidInput(f"--start {iso(start)}: not on a {SLOT_MINUTES}-minute slot boundary")
    if not first <= start < last:
        raise InvalidInput(f"--start {iso(start)}: the prices in {path} cover {iso(first)} to "
                           f"{iso(last)}")  # fmt: skip
    end = start + timedelta(minutes=round(hours * 60))
    if end <= last:
        return start, end, []
    ran = (last - start).total_seconds() / 3600
    note = (f"--hours {hours:g}: the prices in {path} end at {iso(last)}; the run stops there "
            f"after {ran:g} h")  # fmt: skip
    return start, last, [note]


def _check_prices(series: pd.Series, option: str, path: Path, unit: str, window: slice) -> None:
    """Refuse prices the service's checks would reject (almost always a wrong ``--price-unit``)."""
    rules = TariffSettings()
    values = series[window]
    low, high = float(values.min()), float(values.max())
    if low < rules.min_price_per_kwh or high > rules.max_price_per_kwh:
        raise InvalidInput(
            f"{option} {path}: prices from {low:g} to {high:g} per kWh in {unit}; the service "
            f"rejects prices outside {rules.min_price_per_kwh:g}..{rules.max_price_per_kwh:g} "
            "per kWh (is --price-unit right?)"
        )


def _house_notes(
    series: pd.Series, option: str, path: Path, start: datetime, end: datetime, fallback: str
) -> list[str]:
    """Notes: no history before ``start`` (forecast falls back), or not covering the run."""
    notes = []
    if not ((series.index < start) & (series.index >= start - timedelta(days=HISTORY_DAYS))).any():
        notes.append(f"{option} {path}: no history in the {HISTORY_DAYS} days before the start; "
                     f"the service's fallback forecast applies ({fallback})")  # fmt: skip
    last = series.index[-1] + interval_length(series, str(path))
    if series.index[0] > start or last < end:
        notes.append(f"{option} {path} covers {iso(series.index[0])} to {iso(last)} only; "
                     "outside that the simulated house replays it wrapped around")  # fmt: skip
    return notes


def resolve(
    inputs: DemoInputs, hours: float, day: date = DEMO_DAY, data_dir: Path = DATA
) -> DemoData:
    """Read and check everything the demo needs; ``InvalidInput`` names the option and file."""
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidInput(f"--hours {hours:g}: must be from 1 to {MAX_HOURS:g}")
    import_csv, export_csv, load_csv = _files(inputs, data_dir)
    imports, unit = read_prices_csv(
        import_csv, "--prices", inputs.price_unit, SHIPPED_UNIT, "--price-unit"
    )
    exports = None
    if export_csv is not None:
        exports, export_unit = read_prices_csv(
            export_csv, "--export-prices", inputs.price_unit, unit, "--price-unit"
        )
        if export_unit != unit:
            raise InvalidInput(f"--export-prices {export_csv}: in {export_unit}, the import "
                               f"prices in {unit}")  # fmt: skip
    load = _checked(read_energy_csv(load_csv, "--load"), "--load", load_csv)
    pv = _checked(read_energy_csv(inputs.pv, "--pv"), "--pv", inputs.pv) if inputs.pv else None
    _checked(imports, "--prices", import_csv)
    start, end, notes = _window(inputs, imports, import_csv, hours, day)
    run = slice(pd.Timestamp(start), pd.Timestamp(end) - pd.Timedelta(1))
    _check_prices(imports, "--prices", import_csv, unit, run)
    if exports is not None and export_csv is not None and len(exports[run]):
        _check_prices(exports, "--export-prices", export_csv, unit, run)
    notes += _house_notes(load, "--load", load_csv, start, end,
                          f"{ServiceSettings().fallback_load_w:g} W of load")  # fmt: skip
    if pv is not None and inputs.pv is not None:
        notes += _house_notes(pv, "--pv", inputs.pv, start, end, "no PV")
    prices = ActualPrices(imports, exports, price_currency(unit))
    return DemoData(import_csv, export_csv, load_csv, inputs.pv, unit, prices, load, pv, start,
                    end, tuple(notes))  # fmt: skip


def demo_settings(
    sim: Simulator, store_url: str, data_dir: Path = DATA, data: DemoData | None = None
) -> Settings:
    """Defaults, plus: CSV prices (shipped, or ``data``'s), the temporary store, the simulator."""
    files: tuple[Path, Path | None]
    if data is None:
        files = (data_file(IMPORT_CSV, data_dir), data_file(EXPORT_CSV, data_dir))
        unit, currency = SHIPPED_UNIT, price_currency(SHIPPED_UNIT)
    else:
        files = (data.import_csv, data.export_csv)
        unit, currency = data.unit, data.prices.currency
    tariff = TariffSettings(
        source="csv",
        import_csv=str(files[0]),
        export_csv=str(files[1] or ""),
        csv_unit=unit,
        timezone=TIMEZONE,
    )
    return Settings(
        tariff=tariff,
        planner=PlannerSettings(timezone=TIMEZONE, currency=currency),
        store=StoreSettings(url=store_url),
        device=sim.client_settings(),
        service=ServiceSettings(),
    )


def preload_history(
    store: Store, kind: str, series: pd.Series, name: str, start: datetime, days: int = HISTORY_DAYS
) -> int:
    """Store ``kind`` (``load``/``pv``) energy of the ``days`` before ``start`` on the planner's
    slots (the forecasts' history); return the slots stored."""
    slots = to_slots(series, SLOT_MINUTES, "energy", name).dropna()
    window = slots[(slots.index >= start - timedelta(days=days)) & (slots.index < start)]
    if window.empty:
        return 0
    starts = pd.DatetimeIndex(window.index)
    frame = pd.DataFrame(
        {"end": starts + pd.Timedelta(minutes=SLOT_MINUTES), "kwh": window.to_numpy()},
        index=starts,
    )
    return store.save_series(kind, frame, name).inserted


def preload_load(store: Store, path: Path, start: datetime, days: int = HISTORY_DAYS) -> int:
    """Store the household load of the ``days`` before ``start`` (the forecasts' history)."""
    return preload_history(store, "load", read_series_csv(path), path.name, start, days)


def house_profile(data_dir: Path = DATA) -> CsvProfile:
    """The simulated house: the shipped household load replayed at its real dates, no PV."""
    return CsvProfile(data_file(LOAD_CSV, data_dir), None)


@dataclass(frozen=True)
class DemoResult:
    """The summary, where the files are, how often each job ran, and the run's notes."""

    summary: RunSummary
    workdir: Path
    runs: dict[str, int]
    notes: tuple[str, ...] = ()
    data: DemoData | None = None


def _release_when_started(runner: ScheduledRunner, clock: SimClock) -> None:
    """Let the held clock run once the first slot job (fetch, plan, command) is done."""
    deadline = time.monotonic() + START_UP_REAL_S
    while runner.runs.get("slot", 0) < 1 and not runner.stop_event.is_set():
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    clock.release()


def _report_progress(
    clock: SimClock, end: datetime, stop: threading.Event, progress: Callable[[datetime], None]
) -> None:
    """Call ``progress`` with the simulated time about twice a second until ``stop``."""
    while not stop.wait(0.5):
        progress(min(clock.now(), end))
    progress(min(clock.now(), end))


def run_demo(
    hours: float = 24.0,
    speed: float = 720.0,
    day: date = DEMO_DAY,
    soc_pct: float = 20.0,
    workdir: Path | None = None,
    inputs: DemoInputs | None = None,
    data: DemoData | None = None,
    progress: Callable[[datetime], None] | None = None,
    listen: str = "",
    on_page: Callable[[str | None], None] | None = None,
) -> DemoResult:
    """Run the service for ``hours`` of simulated time from the start (``inputs``; default the
    local midnight of ``day``) with the simulated battery at ``soc_pct`` %, and summarize it.
    ``data``: the inputs already resolved (then ``inputs``, ``hours`` and ``day`` are not used).
    ``progress``: called from another thread with the simulated time as the run goes on.
    ``listen``: serve the status page there while the demo runs (``""``: not at all);
    ``on_page`` is then called with its URL once it serves, or ``None`` when it did not start."""
    if not 0 <= soc_pct <= 100:
        raise InvalidInput(f"--soc {soc_pct:g}: must be from 0 to 100")
    data = data or resolve(inputs or DemoInputs(), hours, day)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="xstorage-demo-"))
    store_url = f"sqlite:///{workdir / 'history.db'}"
    with Store(store_url) as store:
        preload_history(store, "load", data.load_kwh, data.load_csv.name, data.start)
        if data.pv_kwh is not None and data.pv_csv is not None:
            preload_history(store, "pv", data.pv_kwh, data.pv_csv.name, data.start)
    profile = CsvProfile.from_series(data.load_kwh, data.pv_kwh)
    clock = SimClock(data.start, speed=speed, held=True)
    config = SimConfig(password=secrets.token_urlsafe(16), soc_pct=soc_pct, timezone=TIMEZONE)
    with Simulator(config, clock=clock, profile=profile) as sim:
        settings = demo_settings(sim, store_url, data=data)
        password = config.password
        with (
            open_deps(
                settings, clock, password=lambda: password, client_options=ClientOptions()
            ) as deps,
            observed(deps, listen=listen) as service,
        ):
            # The first prices before the first slot: in the runner the fetch is a side job,
            # and a first boundary without prices would start the day in fallback mode.
            service.tariffs.run()
            if listen and on_page is not None:
                on_page(service.web_url)
            runner = ScheduledRunner(service, clock, speed)
            releaser = threading.Thread(target=_release_when_started, args=(runner, clock))
            releaser.start()
            done = threading.Event()
            reporter = threading.Thread(
                target=_report_progress, args=(clock, data.end, done, progress or (lambda _: None))
            )
            reporter.start()
            try:
                runner.run(until=data.end)
            finally:
                done.set()
                releaser.join()
                reporter.join()
            meter = sim.device.metered(data.start, data.end)
            summary = summarize(deps.store, meter, data.prices, data.start, data.end,
                                workdir / "demo.png", settings.planner.timezone)  # fmt: skip
    return DemoResult(summary, workdir, dict(runner.runs), data.notes, data)
