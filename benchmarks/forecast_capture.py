"""How much of the exact saving ``lp`` captures with each load forecast, on both households.

The shipped 13-month Agile import/export pair with (1) its own household (fawkesley) and (2)
the Low Carbon London household MAC000060 moved by whole weeks onto the same dates, so that
weekdays are kept: 522 weeks (its 2011-12-10 → 2014-02-28 readings land on 2021-12-11 →
2024-03-01, seasons within two days of their own dates). For each: the exact optimum (the DP
over each contiguous segment with the actual load, what ``perfect`` plans with) and the
no-battery cost, then ``lp`` as the service runs it (hourly re-plan, published prices, each
slot's command chosen from the SOC reached) with each load method of ``[forecast]``.

    .venv/bin/python benchmarks/forecast_capture.py [--households fawkesley,lcl]
        [--methods weekday,recent,blend,blend-inday] [--variant key=value,...] [--hedge 3]
        [--oracle] [--days N --start YYYY-MM-DD]

``--variant`` adds a run with those ``[forecast]`` keys (repeatable). ``--households
fawkesley-tune`` is fawkesley's year before the test year (2021-11-02 → 2022-10-29) under the
shipped prices moved 52 weeks earlier (weekdays kept): where the defaults are chosen.
``--hedge N`` runs each again with ``forecast.hedge_scenarios = N`` (plans that hedge over N
load scenarios); ``--oracle`` adds ``lp`` with the actual load as its forecast (the ceiling of
any load forecast).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from perfect_check import Recorder
from realdata import DATA, FILES

from optimizer.backtest.data import BacktestInputs, SeriesSet
from optimizer.backtest.engine import run_backtest
from optimizer.backtest.registry import resolve
from optimizer.backtest.suite import config_from, default_period, inputs_from, read_series
from optimizer.config import ForecastSettings, Settings
from optimizer.csvdata import read_energy_csv
from optimizer.domain import LOAD_METHODS
from optimizer.planning.dp import solve_dp

LCL = DATA / "household-consumption-london-LCL-MAC000060-2011-12_2014-02.csv"
LCL_WEEKS = 522  # 2012-11-01 + 522 weeks = 2022-11-03: weekday kept, season within 2 days


def lcl_series(settings: Settings) -> SeriesSet:
    """The shipped prices with the LCL household's load moved ``LCL_WEEKS`` weeks later."""
    own = read_series(FILES, settings)
    load = read_energy_csv(LCL, "load")
    load.index = load.index + pd.Timedelta(weeks=LCL_WEEKS)
    return replace(own, load_kwh=load)


def exact_cost(inputs: BacktestInputs, settings: Settings) -> float:
    recorder = Recorder()
    run_backtest(recorder, inputs, config_from(settings))
    return sum(solve_dp(p, 0.0).objective for p in recorder.problems)


def household_series(name: str, settings: Settings) -> SeriesSet:
    """``fawkesley``, ``lcl``, or ``fawkesley-tune``: fawkesley's load of 2021-11 → 2022-10
    (before the test year) under the shipped prices moved 52 weeks earlier (weekdays kept)."""
    if name == "fawkesley":
        return read_series(FILES, settings)
    if name == "lcl":
        return lcl_series(settings)
    if name == "fawkesley-tune":
        own = read_series(FILES, settings)
        moved = {}
        for key in ("price_import", "price_export"):
            prices = getattr(own, key).copy()
            prices.index = prices.index - pd.Timedelta(weeks=52)
            moved[key] = prices
        return replace(own, **moved)
    raise SystemExit(f"--households: unknown household {name!r}")


def variant(text: str) -> dict[str, Any]:
    """``key=value,key=value`` of ``[forecast]`` (numbers parsed) as an update."""
    update: dict[str, Any] = {}
    for pair in text.split(","):
        key, _, value = pair.partition("=")
        try:
            update[key] = float(value) if "." in value else int(value)
        except ValueError:
            update[key] = value
    return update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", default="fawkesley,lcl")
    parser.add_argument("--methods", default=",".join(LOAD_METHODS))
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="[forecast] keys, e.g. load_method=blend,recent_days=7 (repeatable)",
    )
    parser.add_argument("--hedge", type=int, default=0, help="also hedged over N scenarios")
    parser.add_argument("--oracle", action="store_true", help="also the actual load as forecast")
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--start", default="2023-03-01")
    args = parser.parse_args()  # fmt: skip
    settings = Settings()
    updates = [{"load_method": m} for m in args.methods.split(",") if m]
    updates += [variant(v) for v in args.variant]
    updates += [{**u, "hedge_scenarios": args.hedge} for u in list(updates) if args.hedge]
    for household in args.households.split(","):
        series = household_series(household, settings)
        period = default_period(series)
        if household == "fawkesley-tune":
            period = (datetime(2021, 11, 2, tzinfo=UTC), datetime(2022, 10, 29, tzinfo=UTC))
        if args.days:
            first = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
            period = (first, first + timedelta(days=args.days))
        base = inputs_from(series, settings, period)
        none = float(run_backtest(resolve("none"), base, config_from(settings)).frame["cost"].sum())
        exact = exact_cost(base, settings)
        saving = none - exact
        print(
            f"{household}: {period[0]:%Y-%m-%d} → {period[1]:%Y-%m-%d}, no battery {none:.2f}, "
            f"exact optimum {exact:.2f}, exact saving {saving:.2f}"
        )
        if args.oracle:
            seen = replace(base, load_forecast_kwh=base.load_kwh, load_forecast_at=None)
            oracle = run_backtest(resolve("lp"), seen, config_from(settings))
            cost = float(oracle.frame["cost"].sum())
            print(f"  {'lp, the actual load as forecast':44s} cost {cost:8.2f}  "
                  f"share {(none - cost) / saving:6.2%}")  # fmt: skip
        for update in updates:
            forecast = ForecastSettings.model_validate({**settings.forecast.model_dump(), **update})
            tuned = settings.model_copy(update={"forecast": forecast})
            began = time.perf_counter()
            result = run_backtest(
                resolve("lp"), inputs_from(series, tuned, period), config_from(tuned)
            )
            cost = float(result.frame["cost"].sum())
            label = ",".join(f"{k}={v}" for k, v in update.items())
            print(f"  {label:44s} cost {cost:8.2f}  share {(none - cost) / saving:6.2%}  "
                  f"({time.perf_counter() - began:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
