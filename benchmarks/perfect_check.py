"""Is the weekly decomposition of ``perfect`` as good as one exact solve? Checked on slices.

For each slice, ``perfect`` is run twice on the real data: once decomposed into 7-day blocks
(linked by the relaxation's duals, as in the year backtest) and once as a single exact planner
solve over the whole slice (mixed-integer where prices tempt simultaneous flows). Both go through
the same device-command execution. Also printed: the relaxation's lower bound (no one-direction
rule, no command rounding). Usage: python benchmarks/perfect_check.py [days]
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

from optimizer.backtest import run_backtest
from optimizer.backtest_suite import DataFiles, config_from, inputs_from, read_series
from optimizer.config import Settings
from strategies.lp import PerfectForesight

FILES = DataFiles(
    prices="data/agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv",  # type: ignore[arg-type]
    load="data/household-consumption-uk-fawkesley-2020-08_2023-12.csv",  # type: ignore[arg-type]
    export_prices="data/agile-outgoing-export-regionUNKNOWN-fawkesley-2022-11_2023-12.csv",  # type: ignore[arg-type]
)
STARTS = ("2023-07-01", "2023-11-01", "2023-01-02")  # July holds many negative Agile prices


def main() -> None:
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 28
    settings = Settings()
    series = read_series(FILES, settings)
    config = config_from(settings)
    for text in STARTS:
        start = datetime.fromisoformat(text + "T00:00+00:00")
        inputs = inputs_from(series, settings, (start, start + timedelta(days=days)))
        row = []
        for block in (7, days):
            strategy = PerfectForesight(block_days=block)
            began = time.perf_counter()
            result = run_backtest(strategy, inputs, config)
            row.append((float(result.frame["cost"].sum()), time.perf_counter() - began))
            bound = strategy.bounds[0][0]
        (weekly, t_w), (single, t_s) = row
        print(
            f"{text} +{days} d: weekly blocks {weekly:.4f} ({t_w:.1f} s), one exact solve "
            f"{single:.4f} ({t_s:.1f} s), difference {(weekly - single) / abs(single):+.3%}; "
            f"relaxation lower bound {bound:.4f}"
        )


if __name__ == "__main__":
    main()
