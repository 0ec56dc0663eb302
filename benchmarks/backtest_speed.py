"""How fast is the backtester? Prints wall time and plans per second on the real data.

Usage: python benchmarks/backtest_speed.py [days|year] [replan ...] [--hedge N]
    [--load-method M]
``year`` replays the whole 13 months (19,877 slots) with ``lp`` at the given cadences; ``365``
(or more days) replays that many days from the start of the data (365: 17,516 slots, the
issue's 17,520-plan year less the 4-slot gap). Default: 30 days from 2023-03-01 with ``lp`` at
every re-plan cadence, plus ``perfect`` over the whole 13 months (one exact dynamic programme
per segment). ``--hedge N`` plans hedged over N load scenarios (``forecast.hedge_scenarios``).
Times are wall-clock on this machine, single process; one HiGHS thread.
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
    argv = sys.argv[1:]
    hedge, method = 0, None
    if "--hedge" in argv:
        at = argv.index("--hedge")
        hedge = int(argv[at + 1])
        del argv[at : at + 2]
    if "--load-method" in argv:
        at = argv.index("--load-method")
        method = argv[at + 1]
        del argv[at : at + 2]
    arg = argv[0] if argv else "30"
    cadences = argv[1:] or ["day", "hour", "slot"]
    settings = Settings()
    update = {"hedge_scenarios": hedge} | ({"load_method": method} if method else {})
    settings = settings.model_copy(update={"forecast": settings.forecast.model_copy(update=update)})
    series = read_series(FILES, settings)
    if arg == "year":
        inputs = inputs_from(series, settings)
    else:
        days = int(arg)
        start = datetime.fromisoformat("2023-03-01T00:00+00:00")
        if days >= 365:
            start = default_period(series)[0]
        inputs = inputs_from(series, settings, (start, start + timedelta(days=days)))
    hedged = f", hedged over {hedge} load scenarios" if hedge else ""
    print(
        f"lp, {len(inputs.index)} slots from {inputs.index[0]}, horizon "
        f"{settings.planner.horizon_hours} h (cut at the last published price), load "
        f"{settings.forecast.load_method}{hedged}"
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
