"""Median and p90 time of the planner on real Agile prices and household load.

Run: .venv/bin/python benchmarks/plan_speed.py [--repeats 30]
Prints one line per size and set of windows: slots, median and p90 milliseconds for `plan()`
end to end (input checks, the dynamic programme's cost-to-go, the command choice along the
forecast, the optimum's path for `lp_cost`, acceptance gate), and the LP alone for reference.
Windows: 8 starts 29 days apart from 2023-02-01 ("spread"), and every day of the data whose
window holds a negative import price ("negative"), where the value of stored energy is not
convex.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd

from optimizer.csvdata import read_series_csv
from optimizer.domain import BatterySpec, GridSpec
from optimizer.planning import PlanOptions, build_problem, plan
from optimizer.planning.inputs import terminal_value_per_kwh
from optimizer.planning.model import solve

DATA = Path(__file__).resolve().parent.parent / "data"


def _inputs() -> tuple[pd.Series, pd.Series, pd.Series]:
    imp = read_series_csv(DATA / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv") / 100
    exp = (
        read_series_csv(DATA / "agile-outgoing-export-regionUNKNOWN-fawkesley-2022-11_2023-12.csv")
        / 100
    )
    load = read_series_csv(DATA / "household-consumption-uk-fawkesley-2020-08_2023-12.csv")
    return imp, exp, load


def _complete(start: pd.Timestamp, slots: int, *series: pd.Series) -> bool:
    """True when every series has every 30-minute slot of the window (the data has one gap)."""
    window = pd.date_range(start, periods=slots, freq="30min")
    return all(window.isin(s.index).all() for s in series)


def _time(fn: object, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    imp, exp, load = _inputs()
    battery, grid = BatterySpec(), GridSpec()
    spread = [pd.Timestamp("2023-02-01T00:00Z") + timedelta(days=29 * k) for k in range(8)]
    negative_days = [
        day
        for day in sorted({t.normalize() for t in imp.index[imp < 0]})
        if _complete(day, 96, imp, exp, load)
    ]
    print(f"{'slots':>6} {'windows':>9} {'plan median ms':>15} {'plan p90 ms':>12} "
          f"{'LP median ms':>13}  starts x repeats")  # fmt: skip
    for slots, name, starts in (
        (96, "spread", spread),
        (96, "negative", negative_days),
        (336, "spread", spread),
    ):
        options = PlanOptions(horizon_slots=slots)
        plan_ms: list[float] = []
        lp_ms: list[float] = []
        for start in starts:
            begin = start.to_pydatetime()
            run = lambda b=begin, o=options: plan(imp, exp, load, None, battery, grid, 50, b, o)  # noqa: E731
            run()  # warm-up
            plan_ms += _time(run, args.repeats)
            problem = build_problem(imp, exp, load, None, battery, grid, 50, begin, options)
            value = terminal_value_per_kwh(problem, "auto")
            lp_ms += _time(lambda p=problem, v=value: solve(p, v), args.repeats)  # type: ignore[misc]
        p90 = statistics.quantiles(plan_ms, n=10)[-1]
        print(
            f"{slots:>6} {name:>9} {statistics.median(plan_ms):>15.1f} {p90:>12.1f} "
            f"{statistics.median(lp_ms):>13.1f}  {len(starts)} x {args.repeats}"
        )


if __name__ == "__main__":
    main()
