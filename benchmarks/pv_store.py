"""What storing every PV forecast as issued costs: rows and bytes per day, and the time a plan
takes to read its PV forecast from a store holding weeks of vintages.

Fills a fresh SQLite store with Open-Meteo-like vintages (15-minute intervals, 48 hours ahead,
one fetch every 30 minutes, each stored from the UTC hour of its issue as the service does) for
``--days`` days, then times ``planned_pv`` (the service's read: the vintages of the last 24 h
overlapping a 36-hour plan, through ``PvVintages``) and ``pv_days`` (today and tomorrow, what the
views read every 15 minutes) at the end, wall and CPU time (the machine may be shared: CPU time
is the figure to compare).

    .venv/bin/python benchmarks/pv_store.py [--days 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.config import PvSettings, Settings, StoreSettings
from optimizer.service.pvfeed import ahead
from optimizer.service.pvforecast import planned_pv
from optimizer.service.pvstats import pv_days
from optimizer.store import Store
from optimizer.weather.model import PvForecast

START = datetime(2023, 5, 1, tzinfo=UTC)
QUARTER = pd.Timedelta(minutes=15)


def vintage(issued: datetime, rng: np.random.Generator) -> PvForecast:
    """48 h of quarter hours from the issue's UTC midnight, a sunny-ish sine with noise."""
    first = pd.Timestamp(issued).floor("D")
    starts = pd.date_range(first, periods=4 * 72, freq="15min", unit="ns")
    hours = (starts.hour + starts.minute / 60).to_numpy()
    kwh = np.clip(np.sin(np.pi * (hours - 4) / 16), 0, None) * 0.8 * rng.uniform(0.5, 1.0)
    frame = pd.DataFrame({"start_utc": starts, "end_utc": starts + QUARTER, "kwh": kwh})
    return ahead(PvForecast("open-meteo", issued, frame))


def timed(label: str, call: object, repeat: int = 20) -> None:
    assert callable(call)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        call()
    wall_ms = (time.perf_counter() - wall) / repeat * 1000
    cpu_ms = (time.process_time() - cpu) / repeat * 1000
    print(f"{label:58} {wall_ms:8.1f} ms wall {cpu_ms:8.1f} ms CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "history.db"
        settings = Settings(
            store=StoreSettings(url=f"sqlite:///{db}"),
            pv=PvSettings(forecast="open-meteo", latitude=51.5, longitude=0.0),
        )
        rows = 0
        fill_cpu = time.process_time()
        with Store(settings.store.url) as store:
            for k in range(args.days * 48):
                rows += store.save_pv_forecast(vintage(START + k * timedelta(minutes=30), rng))
            fill_cpu = time.process_time() - fill_cpu
            size = db.stat().st_size
            per_vintage_ms = fill_cpu / (args.days * 48) * 1000
            print(f"{args.days} days, one fetch every 30 min: {rows} rows, "
                  f"{rows / args.days:.0f} rows/day, {size / 2**20:.1f} MiB "
                  f"({size / args.days / 2**20:.2f} MiB/day); filled in {fill_cpu:.1f} s CPU "
                  f"({per_vintage_ms:.1f} ms CPU per vintage stored)")  # fmt: skip
            now = START + timedelta(days=args.days) - timedelta(minutes=20)
            first = pd.Timestamp(now).floor("30min")
            index = pd.date_range(first, periods=72, freq="30min")
            history = np.zeros(72)
            pv = planned_pv(store, "open-meteo", index, 30, now, history)
            assert pv.weather_slots > 0
            timed("planned_pv: a 36-hour plan's PV at the last decision",
                  lambda: planned_pv(store, "open-meteo", index, 30, now, history))  # fmt: skip
            timed("pv_days: today and tomorrow (the views, every 15 min)",
                  lambda: pv_days(store, settings, now))  # fmt: skip


if __name__ == "__main__":
    main()
