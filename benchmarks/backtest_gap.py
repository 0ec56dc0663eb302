"""Where does ``lp`` lose against perfect foresight? Variants on a slice of the real data.

Usage: python benchmarks/backtest_gap.py [days] [start-iso]
Each variant changes one piece of information or one setting; it prints captured shares.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta

from realdata import FILES

from optimizer.backtest.data import PublicationRule
from optimizer.backtest.engine import run_backtest
from optimizer.backtest.registry import resolve
from optimizer.backtest.suite import config_from, inputs_from, read_series
from optimizer.config import Settings


def main() -> None:
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 28
    start = datetime.fromisoformat(sys.argv[2] if len(sys.argv) > 2 else "2023-03-01T00:00+00:00")
    settings = Settings()
    inputs = inputs_from(
        read_series(FILES, settings), settings, (start, start + timedelta(days=days))
    )
    perfect_inputs = replace(
        inputs,
        load_forecast_kwh=inputs.load_kwh,
        pv_forecast_kwh=inputs.pv_kwh,
        load_forecast_at=None,  # the actual load, not the forecast made at each decision
    )
    base = config_from(settings)
    cost = lambda r: float(r.frame["cost"].sum())  # noqa: E731
    ref = run_backtest(resolve("perfect"), inputs, base)
    none = float(ref.frame["no_battery_cost"].sum())
    ceiling = none - cost(ref)
    variants = {
        "lp (realistic: published prices, the configured load forecast, hourly)": (inputs, base),
        "lp + actual load as forecast": (perfect_inputs, base),
        "lp + terminal value none": (
            inputs,
            replace(base, options=replace(base.options, terminal_soc_value="none")),
        ),
        "lp + all prices known (36 h horizon)": (
            inputs,
            replace(base, publication=PublicationRule(all_known=True)),
        ),
        "lp + actual load + all prices known": (
            perfect_inputs,
            replace(base, publication=PublicationRule(all_known=True)),
        ),
        "lp, re-plan every slot": (inputs, replace(base, replan="slot")),
    }
    print(f"{days} days from {start.date()}: no battery {none:.2f}, perfect savings {ceiling:.2f}")
    for label, (data, config) in variants.items():
        began = time.perf_counter()
        result = run_backtest(resolve("lp"), data, config)
        saved = none - cost(result)
        print(
            f"  {label:62s} savings {saved:7.2f}  captured {saved / ceiling:6.1%}  "
            f"({result.decisions} plans, {time.perf_counter() - began:.1f} s)"
        )


if __name__ == "__main__":
    main()
