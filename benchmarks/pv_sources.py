"""What a weather PV forecast costs the service: memory of the imports, CPU of a parse.

Each import is measured in a fresh interpreter: RSS from /proc after importing what ``run``
loads (``optimizer.cli.service``, the service's runner and wiring), then after the extra import
(the service's RSS after a simulated day is ``benchmarks/service_memory.py``'s). The parse
times an Open-Meteo answer for 3 days (288 quarter-hours + 72 hours) per array through the
physics, and a forecast.solar and a Solcast answer, with no network.

    .venv/bin/python benchmarks/pv_sources.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from optimizer.config import parse_settings
from optimizer.weather import forecastsolar, openmeteo, solcast

PROBE = """
import json, sys, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
import optimizer.cli.service, optimizer.service.runner, optimizer.service.wiring
base, t = rss(), time.process_time()
for name in sys.argv[1:]:
    __import__(name)
print(json.dumps([base, rss(), time.process_time() - t, len(sys.modules)]))
"""


def import_cost(*modules: str) -> tuple[float, float, float, int]:
    """(RSS before, RSS after in MiB, import CPU s, modules) of importing ``modules``."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *modules], capture_output=True, text=True, check=True
    )
    base, after, cpu, count = json.loads(out.stdout)
    return base, after, cpu, count


def openmeteo_answer(days: int = 3) -> dict[str, object]:
    """A 3-day answer in Open-Meteo's shape, a clear-sky-like bell each day."""
    answer: dict[str, object] = {"utc_offset_seconds": 0, "timezone": "GMT"}
    for key, freq in (("minutely_15", "15min"), ("hourly", "h")):
        stamps = pd.date_range("2024-06-01", periods=days * (96 if freq == "15min" else 24),
                               freq=freq)  # fmt: skip
        hour = stamps.hour + stamps.minute / 60
        gti = np.clip(900 * np.sin(np.pi * (hour - 5) / 16), 0, None)
        answer[key] = {
            "time": [t.strftime("%Y-%m-%dT%H:%M") for t in stamps],
            "global_tilted_irradiance": gti.round(1).tolist(),
            "temperature_2m": (15 + 8 * np.sin(np.pi * (hour - 8) / 12)).round(1).tolist(),
            "wind_speed_10m": [3.0] * len(stamps),
        }
    return answer


def cpu_ms(work: object, repeat: int = 50) -> float:
    """CPU milliseconds per call of ``work`` (a no-argument callable)."""
    assert callable(work)
    start = time.process_time()
    for _ in range(repeat):
        work()
    return (time.process_time() - start) / repeat * 1000


def main() -> None:
    rows = [
        ("the service's modules", ()),
        ("+ optimizer.weather.sources", ("optimizer.weather.sources",)),
        ("+ pvlib", ("pvlib",)),
    ]
    print("import cost (fresh interpreter, RSS from /proc):")
    for label, modules in rows:
        try:
            base, after, cpu, count = import_cost(*modules)
        except subprocess.CalledProcessError:
            print(f"  {label}: not installed")
            continue
        print(f"  {label}: {after:.1f} MiB (+{after - base:.1f}), {cpu:.2f} s CPU, {count} modules")
    arrays = [{"kwp": 2, "tilt_deg": 35, "azimuth_deg": bearing} for bearing in (90, 270)]
    where = {"forecast": "open-meteo", "latitude": 51.5, "longitude": 0.0}
    pv = parse_settings({"pv": where | {"arrays": arrays}}).pv
    now = datetime(2024, 6, 1, tzinfo=UTC)
    answer = openmeteo_answer()

    def open_meteo() -> None:
        planes = [openmeteo.parse_weather(answer) for _ in pv.arrays]
        openmeteo.forecast_from_weather(pv, planes, now)

    ends = pd.date_range("2024-06-01 05:00", periods=16, freq="h", tz="UTC")
    fs = {"result": {"watt_hours_period": {t.isoformat(): 500 for t in ends}}}
    halves = pd.date_range("2024-06-01", periods=96, freq="30min", tz="UTC")
    row = {"pv_estimate": 1.0, "pv_estimate10": 0.5, "pv_estimate90": 1.5, "period": "PT30M"}
    sc = {
        "forecasts": [
            row | {"period_end": t.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")} for t in halves
        ]
    }
    print("parse + physics, CPU per fetch's answer:")
    print(f"  open-meteo, 2 arrays x 3 days: {cpu_ms(open_meteo):.1f} ms")
    print(f"  forecast.solar, 1 day: {cpu_ms(lambda: forecastsolar.parse_estimate(fs)):.1f} ms")
    print(f"  solcast, 48 h: {cpu_ms(lambda: solcast.parse_forecasts(sc)):.1f} ms")


if __name__ == "__main__":
    main()
