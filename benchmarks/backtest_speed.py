"""How fast is the backtester? Prints wall and CPU time and plans per second on the real data.

Usage: python benchmarks/backtest_speed.py [days|year] [replan ...] [--hedge N]
    [--load-method M] [--costs FILE]
``year`` replays the whole 13 months (19,877 slots) with ``lp`` at the given cadences; ``365``
(or more days) replays that many days from the start of the data (365: 17,516 slots, the
issue's 17,520-plan year less the 4-slot gap). Default: 30 days from 2023-03-01 with ``lp`` at
every re-plan cadence, plus ``perfect`` over the whole 13 months (one exact dynamic programme
per segment). ``--hedge N`` plans hedged over N load scenarios (``forecast.hedge_scenarios``).
Times are wall-clock and CPU (``time.process_time``, this process only: on a loaded machine the
figure to compare) on this machine, single process; one HiGHS thread.
``--costs FILE`` also replays every strategy (``perfect``, ``lp``, ``cheapest-slots``,
``self-use``, ``none``) at the first cadence over the same slots, prints each one's cost to the
cent and writes them (full precision, and a SHA-256 of each per-slot cost column) to ``FILE`` as
JSON: two runs give identical results when the files are equal (issue 19 keeps them so).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from realdata import FILES

from optimizer.backtest.data import BacktestInputs
from optimizer.backtest.engine import BacktestConfig, BacktestResult, run_backtest
from optimizer.backtest.registry import resolve
from optimizer.backtest.suite import (
    ALL,
    config_from,
    default_period,
    inputs_from,
    read_series,
)
from optimizer.config import Settings


def main() -> None:
    argv = sys.argv[1:]
    hedge, method, costs = 0, None, None
    if "--costs" in argv:
        at = argv.index("--costs")
        costs = Path(argv[at + 1])
        del argv[at : at + 2]
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
    first: BacktestResult | None = None
    for cadence in cadences:
        began, cpu = time.perf_counter(), time.process_time()
        result = run_backtest(resolve("lp"), inputs, config_from(settings, cadence))
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        first = first or result
        per_plan = wall / result.decisions * 1000
        year = per_plan * (365 * 24 * 60 / settings.planner.slot_minutes) / 1000
        print(
            f"  replan={cadence:5s} {result.decisions:6d} plans in {wall:6.1f} s wall, "
            f"{cpu:6.1f} s CPU = {per_plan:5.1f} ms/plan wall, "
            f"{cpu / result.decisions * 1000:5.1f} ms/plan CPU "
            f"(a 17,520-plan year ≈ {year:.0f} s wall at this rate)"
        )
    if costs is not None and first is not None:
        _costs(inputs, config_from(settings, cadences[0]), first, costs)
    if arg == "year" or int(arg) >= 365:
        return
    full = inputs_from(series, settings)
    began = time.perf_counter()
    strategy = resolve("perfect")
    result = run_backtest(strategy, full, config_from(settings))
    print(f"perfect over {len(result.frame)} slots: {time.perf_counter() - began:.1f} s")


def _costs(inputs: BacktestInputs, config: BacktestConfig, lp: BacktestResult, out: Path) -> None:
    """Every strategy's cost over ``inputs`` (``lp``'s from the timed run), printed and saved."""
    found: dict[str, dict[str, float | str]] = {}
    print(f"costs at replan={config.replan} (GBP, to the cent; full figures in {out}):")
    for name in ALL:
        result = lp if name == "lp" else run_backtest(resolve(name), inputs, config)
        cost = result.frame["cost"].to_numpy()
        found[name] = {
            "cost": float(cost.sum()),
            "cost_cents": round(float(cost.sum()) * 100),
            "no_battery_cost": float(result.frame["no_battery_cost"].sum()),
            "cost_column_sha256": hashlib.sha256(cost.tobytes()).hexdigest(),
        }
        print(f"  {name:15s} {float(cost.sum()):12.2f}")
    out.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
