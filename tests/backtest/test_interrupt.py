"""Ctrl-C in ``backtest`` and ``tune``: one line saying it was interrupted and that nothing was
written, exit 130, and indeed nothing written (a real process, a real SIGINT)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import DATA, ROOT

IMPORT = DATA / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
LOAD = DATA / "household-consumption-uk-fawkesley-2020-08_2023-12.csv"
YEAR = ["--prices", str(IMPORT), "--load", str(LOAD), "--price-unit", "p/kWh",
        "--from", "2022-12-01T00:00Z", "--to", "2023-12-01T00:00Z"]  # fmt: skip


def _interrupt(args: list[str], ready: str | None, after_s: float) -> tuple[int, str, float]:
    """Start ``xstorage-optimizer args``; once ``ready`` is on stderr (or ``after_s``), send
    SIGINT; return the exit code, stderr and how long it took to stop."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "optimizer", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        if ready is not None:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert ready in line, line
        time.sleep(after_s)
        assert proc.poll() is None, "finished before the interrupt"
        began = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        return proc.returncode, err, time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()


def test_backtest_interrupted_says_so_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "results"
    code, err, took = _interrupt(
        ["backtest", *YEAR, "--strategy", "lp", "--replan", "slot", "--out", str(out)], None, 6.0
    )
    assert code == 130, err
    assert "backtest: interrupted (Ctrl-C); nothing was written" in err
    assert "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == []
    assert took < 10


def test_tune_interrupted_says_so_stops_its_workers_and_writes_nothing(tmp_path: Path) -> None:
    best = tmp_path / "tuned.toml"
    args = ["tune", *YEAR, "--param", "battery.cycle_cost_per_kwh=0,0.01,0.02,0.03",
            "--workers", "2", "--best-out", str(best)]  # fmt: skip
    code, err, took = _interrupt(args, "tune: 4 backtests", 2.0)
    assert code == 130, err
    assert "tune: interrupted (Ctrl-C); nothing was written" in err
    assert "Traceback" not in err
    assert not best.exists()
    assert took < 10
