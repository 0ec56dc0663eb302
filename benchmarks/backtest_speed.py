"""How fast is the backtester? Prints wall time and plans per second on the real data.

Usage: python benchmarks/backtest_speed.py [days|year] [replan ...]
``year`` replays the whole 13 months (19,877 slots) with ``lp`` at the given cadences; ``365``
(or more days) replays that many days from the start of the data (365: 17,516 slots, the
issue's 17,520-plan year less the 4-slot gap). Default: 30 days from 2023-03-01 with ``lp`` at
every re-plan cadence, plus ``perfect`` over the whole 13 months (one exact dynamic programme
per segment). Times are wall-clock on this machine, single process; one HiGHS thread.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

from realdata import FILES

from optimizer.backtest.engine import run_backtest
from optimizer.backtest.registry import resolve
from optimizer.backtest.suite import (
    config_from,
    default_period,
    inputs_from,
    read_series,
)
from optimizer.config import Settings


def main() -> None:
    arg = sys.argv[1] if len(sys.argv) > 1 else "30"
    cadences = sys.argv[2:] or ["day", "hour", "slot"]
    settings = Settings()
    series = read_series(FILES, settings)
    if arg == "year":
        inputs = inputs_from(series, settings)
    else:
        days = int(arg)
        start = datetime.fromisoformat("2023-03-01T00:00+00:00")
        if days >= 365:
            start = default_period(series)[0]
        inputs = inputs_from(series, settings, (start, start + timedelta(days=days)))
    print(
        f"lp, {len(inputs.index)} slots from {inputs.index[0]}, horizon "
        f"{settings.planner.horizon_hours} h (cut at the last published price)"
    )
    for cadence in cadences:
        began = time.perf_counter()
        result = run_backtest(resolve("lp"), inputs, config_from(settings, cadence))
        wall = time.perf_counter() - began
        per_plan = wall / result.decisions * 1000
        year = per_plan * (365 * 24 * 60 / settings.planner.slot_minutes) / 1000
        print(
            f"  replan={cadence:5s} {result.decisions:6d} plans in {wall:6.1f} s = "
            f"{per_plan:5.1f} ms/plan (a 17,520-plan year ≈ {year:.0f} s at this rate)"
        )
    if arg == "year" or int(arg) >= 365:
        return
    full = inputs_from(series, settings)
    began = time.perf_counter()
    strategy = resolve("perfect")
    result = run_backtest(strategy, full, config_from(settings))
    print(f"perfect over {len(result.frame)} slots: {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
