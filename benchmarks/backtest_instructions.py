"""How many instructions does the backtest's unit of work take? A figure the machine's load and
clock do not move (CPU seconds on a shared 2-core machine varied by ±25 % between identical
runs of the home-year benchmark; instruction counts repeat to a few parts in a million).

Usage: python benchmarks/backtest_instructions.py [days]    (default 10)

Runs itself under ``valgrind --tool=callgrind`` (Debian's valgrind; PYTHONHASHSEED=0) and counts
only a second ``lp`` replay of ``days`` days from 2023-03-01 on the shipped Agile pair and
household, re-planned hourly (the first replay, uncounted, fills the caches and imports), as
``backtest_speed.py`` does. Prints the instructions in all and per plan. To compare commits, run
the same command in a checkout of each (``PYTHONPATH`` set to it), one after the other or at
the same time: the counts do not depend on the load.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

INNER = "--inner"


def _inner(days: int) -> None:
    from realdata import FILES

    from optimizer.backtest.engine import run_backtest
    from optimizer.backtest.registry import resolve
    from optimizer.backtest.suite import config_from, inputs_from, read_series
    from optimizer.config import Settings

    settings = Settings()
    series = read_series(FILES, settings)
    start = datetime.fromisoformat("2023-03-01T00:00+00:00")
    inputs = inputs_from(series, settings, (start, start + timedelta(days=days)))
    config = config_from(settings, "hour")
    strategy = resolve("lp")
    result = run_backtest(strategy, inputs, config)  # not counted: imports, caches
    print(f"plans {result.decisions}")
    # Only what runs inside functools.reduce is counted (--toggle-collect).
    functools.reduce(lambda a, b: run_backtest(strategy, inputs, config), [0, 0])


def main() -> None:
    if INNER in sys.argv:
        _inner(int(sys.argv[sys.argv.index(INNER) + 1]))
        return
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        done = subprocess.run(
            [valgrind, "--tool=callgrind", "--toggle-collect=functools_reduce",
             f"--callgrind-out-file={out}", sys.executable, __file__, INNER, str(days)],
            env={**os.environ, "PYTHONHASHSEED": "0"}, cwd=Path(__file__).parent,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        total = int(re.search(r"^summary: (\d+)", out.read_text(), re.M).group(1))  # type: ignore[union-attr]
    plans = int(re.search(r"^plans (\d+)", done.stdout, re.M).group(1))  # type: ignore[union-attr]
    print(f"lp, {days} days from 2023-03-01, hourly: {plans} plans, {total / 1e6:,.0f} M "
          f"instructions, {total / plans / 1e6:.2f} M a plan")  # fmt: skip


if __name__ == "__main__":
    main()
