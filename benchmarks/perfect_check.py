"""Is ``perfect`` exact? Its dynamic programme against an independent mixed-integer solve.

For every contiguous segment of the shipped 13-month Agile pair with its household load (or of
a slice), this prints:

* the dynamic programme's optimum (``optimizer.planning.dp``, what ``perfect`` plans with) and
  its time;
* the LP relaxation's optimum (``strategies.relaxation``: no one-direction rule, so a lower
  bound on any plan);
* HiGHS's mixed-integer solve of the relaxation plus binaries in every slot where prices make
  wasting energy pay (``strategies.relaxation.solve_exact``, built with arrays, sharing no code
  with the DP): its best plan, its proven lower bound, and how many slots of its plan still do
  both directions (0: the solve is the exact optimum of the full model).

The DP passes when its objective lies within 0.1 % above the proven bound (``--tolerance``).

Usage: python benchmarks/perfect_check.py [--days N --start YYYY-MM-DD] [--time-limit S]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from realdata import FILES

from optimizer.backtest.engine import run_backtest
from optimizer.backtest.strategy import DecisionContext, Foresight
from optimizer.backtest.suite import (
    config_from,
    default_period,
    inputs_from,
    read_series,
)
from optimizer.config import Settings
from optimizer.domain import Command
from optimizer.planning import Problem
from optimizer.planning.device import idle_command
from optimizer.planning.dp import solve_dp
from strategies.relaxation import nonconvex_slots, solve_exact, solve_relaxation


def segments(days: int | None, start: str | None) -> list[Problem]:
    """The problems ``perfect`` solves: one per contiguous segment of the period."""
    settings = Settings()
    series = read_series(FILES, settings)
    if days is None:
        period = default_period(series)
    else:
        first = datetime.fromisoformat((start or "2023-07-01") + "T00:00+00:00")
        period = (first, first + timedelta(days=days))
    recorder = Recorder()
    run_backtest(recorder, inputs_from(series, settings, period), config_from(settings))
    return recorder.problems


class Recorder:
    """A perfect-foresight strategy that keeps each segment's problem and leaves the battery
    idle: the problems are exactly what ``perfect`` is handed (``forecast_capture.py`` too)."""

    name = "recorder"
    foresight: Foresight = "perfect"

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def decide(self, context: DecisionContext) -> Sequence[Command]:
        self.problems.append(context.problem())
        return [idle_command()] * context.n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None, help="a slice instead of the year")
    parser.add_argument("--start", default=None, help="slice start date (UTC)")
    parser.add_argument("--time-limit", type=float, default=3600.0, help="MILP limit, seconds")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="relative, default 0.1 %%")
    args = parser.parse_args()
    worst = 0.0
    for problem in segments(args.days, args.start):
        began = time.perf_counter()
        dp = solve_dp(problem, 0.0)
        t_dp = time.perf_counter() - began
        relaxed = solve_relaxation(problem)
        began = time.perf_counter()
        milp = solve_exact(problem, 0.0, gap=1e-4, time_limit_s=args.time_limit)
        t_milp = time.perf_counter() - began
        excess = (dp.objective - milp.bound) / abs(milp.bound)
        worst = max(worst, excess)
        print(
            f"{problem.index[0]:%Y-%m-%d %H:%M} +{problem.n} slots "
            f"({len(nonconvex_slots(problem))} non-convex):\n"
            f"  dynamic programme  {dp.objective:.6f}  ({t_dp:.1f} s)\n"
            f"  LP relaxation      {relaxed.objective:.6f}  (lower bound, no one-direction rule)\n"
            f"  HiGHS MILP         {milp.objective:.6f}  proven bound {milp.bound:.6f}  "
            f"status {milp.status}, {milp.binaries} binaries, "
            f"{milp.simultaneous} slots doing both, {t_milp:.1f} s\n"
            f"  DP above the proven bound: {excess:+.5%}; DP vs MILP plan: "
            f"{(dp.objective - milp.objective) / abs(milp.objective):+.5%}",
            flush=True,
        )
    verdict = "PASS" if worst <= args.tolerance else "FAIL"
    print(f"{verdict}: the DP is at most {worst:+.5%} above the proven optimum bound")


if __name__ == "__main__":
    main()
