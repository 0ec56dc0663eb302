"""Sweeps on real Dask clusters: a LocalCluster of 2 worker processes, and a `dask scheduler`
with a `dask worker` started as subprocesses on 127.0.0.1 — their results equal the backtest
run directly in this process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optimizer.backtest.suite import (
    DataFiles,
    config_from,
    inputs_from,
    read_series,
    run_strategies,
    with_overrides,
)
from optimizer.cli import app
from optimizer.config import Settings
from optimizer.timeseries import parse_utc
from tests.sweep.conftest import PERIOD, SpecWriter, read_runs

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
GRID = {"battery.capacity_kwh": [4.2, 8.4], "battery.cycle_cost_per_kwh": [0.02]}


def _direct_costs(
    files: dict[str, Path], home: str, tariff: str, point: dict[str, str]
) -> dict[str, dict[str, float]]:
    """Each strategy's bill, end energy credit and captured share, from the backtest run here
    without the sweep engine (the summaries ``backtest`` prints)."""
    settings = with_overrides(Settings(), {k: float(v) for k, v in point.items()})
    data = (
        DataFiles(files["imp"], files[f"load_{home}"], files["exp"], price_unit="p/kWh")
        if tariff == "agile"
        else DataFiles(files["flat"], files[f"load_{home}"])
    )
    inputs = inputs_from(read_series(data, settings), settings,
                         (parse_utc(PERIOD[0]), parse_utc(PERIOD[1])))  # fmt: skip
    results, summaries = run_strategies(["perfect", "none", "lp"], inputs, config_from(settings))
    return {
        r.strategy: {"cost": float(r.frame["cost"].sum()), "credit": s["end_energy_credit"],
                     "share": s["captured_share"]}
        for r, s in zip(results, summaries, strict=True)
    }  # fmt: skip


def _check_against_direct(rows: list[dict[str, str]], files: dict[str, Path]) -> None:
    direct: dict[tuple[str, ...], dict[str, float]] = {}
    for row in rows:
        assert row["status"] == "ok", row
        point = {k: row[k] for k in GRID}
        key = (row["home"], row["tariff"], *point.values())
        if key not in direct:
            direct[key] = _direct_costs(files, row["home"], row["tariff"], point)
        same = direct[key][row["strategy"]]
        assert float(row["cost"]) == pytest.approx(same["cost"], abs=1e-9)
        # The end energy credit and the credited share, as backtest reports them (4 places).
        assert float(row["end_energy_credit"]) == pytest.approx(same["credit"], abs=1e-4)
        credited = float(row["savings"]) + float(row["end_energy_credit"])
        assert float(row["savings_credited"]) == pytest.approx(credited, abs=1e-12)
        if same["share"] is not None:
            assert float(row["captured_share"]) == pytest.approx(same["share"], abs=1e-4)


def test_a_local_cluster_of_two_processes_equals_the_direct_backtest(
    write_spec: SpecWriter, files: dict[str, Path], tmp_path: Path
) -> None:
    spec = write_spec(GRID, homes=("a",))
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(spec), "--workers", "2", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert "on 2 processes" in result.stderr
    rows = read_runs(out / "runs.csv")
    assert len(rows) == 1 * 2 * 2 * 3  # homes × tariffs × grid points × (perfect, none, lp)
    _check_against_direct(rows, files)
    summary = json.loads(result.stdout)
    assert summary["finished"] == 4 and summary["failed"] == 0
    ranked = summary["tariffs_ranked"]["a"]
    assert [r["net_cost"] for r in ranked] == sorted(r["net_cost"] for r in ranked)
    for best in summary["best"]:  # the least net cost (bill less end credit) of the choices
        choices = [r for r in rows if (r["home"], r["tariff"]) == (best["home"], best["tariff"])
                   and r["strategy"] in ("lp", "none")]  # fmt: skip
        least = min(float(r["cost"]) - float(r["end_energy_credit"]) for r in choices)
        assert best["net_cost"] == pytest.approx(least, abs=1e-12)
        assert best["net_cost"] == pytest.approx(best["cost"] - best["end_energy_credit"])
        weighs = abs(best["end_energy_credit"]) > 0.2 * abs(best["savings_credited"])
        noted = any(n.startswith(f"{best['home']} on {best['tariff']}:") for n in summary["notes"])
        assert noted == weighs  # a one-day period: the energy left may decide the ranking
    for name in ("summary.json", "tariffs.png", "settings.png"):
        assert (out / name).stat().st_size > 0
    # Not a terminal: a progress line per 10 % on stderr.
    assert "runs: 2/4 (50 %)" in result.stderr and "runs: 4/4 (100 %)" in result.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """A real `dask scheduler` and `dask worker` (subprocesses, 127.0.0.1, no dashboard);
    yields the scheduler's address."""
    dask_cli = shutil.which("dask", path=str(Path(sys.executable).parent))
    if dask_cli is None:
        pytest.skip("the dask command is not installed next to this Python")
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the workers import tests.sweep.faulty
    port = _free_port()
    procs = [subprocess.Popen(
        [dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
         "--scheduler-file", str(scheduler_file)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
    )]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert scheduler_file.exists(), "dask scheduler did not start"
        procs.append(subprocess.Popen(
            [dask_cli, "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "1", "--nthreads", "1",
             "--no-dashboard", "--host", "127.0.0.1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
        ))  # fmt: skip
        yield f"tcp://127.0.0.1:{port}"
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_a_dask_scheduler_and_worker_reached_with_scheduler(
    write_spec: SpecWriter, files: dict[str, Path], tmp_path: Path, dask_cluster: str
) -> None:
    spec = write_spec({"battery.capacity_kwh": [4.2], "battery.cycle_cost_per_kwh": [0.0, 0.02]},
                      homes=("b",), tariffs=("agile",))  # fmt: skip
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["sweep", str(spec), "--scheduler", dask_cluster, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"on the cluster at {dask_cluster}" in result.stderr
    rows = read_runs(out / "runs.csv")
    assert len(rows) == 2 * 3
    _check_against_direct_b(rows, files)


def _check_against_direct_b(rows: list[dict[str, str]], files: dict[str, Path]) -> None:
    for row in rows:
        assert row["status"] == "ok", row
        point = {"battery.capacity_kwh": row["battery.capacity_kwh"],
                 "battery.cycle_cost_per_kwh": row["battery.cycle_cost_per_kwh"]}  # fmt: skip
        direct = _direct_costs(files, "b", "agile", point)
        assert float(row["cost"]) == pytest.approx(direct[row["strategy"]]["cost"], abs=1e-9)


def test_an_unreachable_scheduler_exits_2_before_any_run(
    write_spec: SpecWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("optimizer.sweep.engine.CONNECT_TIMEOUT_S", 2.0)  # nobody listens there
    spec = write_spec({"battery.capacity_kwh": [4.2]}, homes=("a",), tariffs=("flat",))
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{_free_port()}"
    result = runner.invoke(app, ["sweep", str(spec), "--scheduler", address, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert address in result.stderr and "cannot connect" in result.stderr
    assert read_runs(out / "runs.csv") == []  # the header only: nothing ran
