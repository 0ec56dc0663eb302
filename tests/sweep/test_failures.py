"""A sweep keeps going past a failing run, a dead worker and an interruption; bad input stops
it before any run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from tests.sweep.conftest import SpecWriter, read_runs

runner = CliRunner()


def _by_capacity(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        found.setdefault(row["battery.capacity_kwh"], []).append(row)
    return found


def test_a_run_that_raises_is_reported_and_the_others_finish(
    write_spec: SpecWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XSO_TEST_RAISE_KWH", "6.0")
    grid = {"battery.capacity_kwh": [4.2, 6.0]}
    spec = write_spec(grid, strategies=("tests.sweep.faulty:Raises",), homes=("a",),
                      tariffs=("flat",))  # fmt: skip
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(spec), "--workers", "1", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "on this process" in result.stderr
    runs = _by_capacity(read_runs(out / "runs.csv"))
    assert [r["status"] for r in runs["4.2"]] == ["ok", "ok", "ok"]
    assert [r["status"] for r in runs["6.0"]] == ["ok", "ok", "failed"]  # perfect, none, raises
    assert runs["6.0"][2]["error"] == "RuntimeError: planned to fail"
    message = result.stderr.replace("\n", "")
    assert ("failed: home a, tariff flat, battery.capacity_kwh=6.0, tests.sweep.faulty:Raises: "
            "RuntimeError: planned to fail") in message  # fmt: skip


def test_a_worker_killed_mid_sweep_fails_its_run_only(
    write_spec: SpecWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XSO_TEST_EXIT_KWH", "6.0")  # the worker processes inherit it
    spec = write_spec({"battery.capacity_kwh": [4.2, 6.0, 8.4]},
                      strategies=("tests.sweep.faulty:ExitsWorker",), homes=("b",),
                      tariffs=("agile",))  # fmt: skip
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(spec), "--workers", "2", "--out", str(out), "--json"])
    assert result.exit_code == 1, result.output
    runs = _by_capacity(read_runs(out / "runs.csv"))
    assert set(runs) == {"4.2", "6.0", "8.4"}
    for capacity in ("4.2", "8.4"):
        assert [r["status"] for r in runs[capacity]] == ["ok", "ok", "ok"]
    assert [r["status"] for r in runs["6.0"]] == ["failed"] * 3  # the whole run: its worker died
    assert "its worker died running it" in runs["6.0"][0]["error"]
    assert "failed: home b, tariff agile, battery.capacity_kwh=6.0" in result.stderr.replace(
        "\n", ""
    )


def test_resume_after_an_interruption_runs_only_what_is_missing(
    write_spec: SpecWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = {"battery.capacity_kwh": [4.2, 5.0, 6.0, 8.4]}
    spec = write_spec(grid, strategies=("tests.sweep.faulty:Interrupts",), homes=("a",),
                      tariffs=("flat",))  # fmt: skip
    out = tmp_path / "out"
    args = ["sweep", str(spec), "--workers", "1", "--out", str(out)]
    monkeypatch.setenv("XSO_TEST_INTERRUPT_KWH", "6.0")  # Ctrl-C during the third run
    first = runner.invoke(app, args)
    assert first.exit_code == 130, first.output
    assert "--resume" in first.stderr
    kept = (out / "runs.csv").read_text()
    assert set(_by_capacity(read_runs(out / "runs.csv"))) == {"4.2", "5.0"}
    with (out / "runs.csv").open("a") as handle:
        handle.write("a,flat,6.0,perf")  # a line cut by the interruption
    monkeypatch.delenv("XSO_TEST_INTERRUPT_KWH")
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "give --resume" in again.stderr
    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "2 done before, 2 to run" in resumed.stderr
    text = (out / "runs.csv").read_text()
    assert text.startswith(kept)  # the finished runs' rows are kept as they were
    runs = _by_capacity(read_runs(out / "runs.csv"))
    assert {k: len(v) for k, v in runs.items()} == {"4.2": 3, "5.0": 3, "6.0": 3, "8.4": 3}


def _break_load(files: dict[str, Path]) -> None:
    lines = files["load_a"].read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",oops"
    files["load_a"].write_text("\n".join(lines) + "\n")


BAD = {
    "unknown key": ({"extra": 'colour = "red"'}, "colour: unknown key"),
    "unknown setting": ({"grid": {"battery.colour": [1]}}, "battery.colour: unknown key"),
    "bad value": ({"grid": {"battery.capacity_kwh": [4.2, -1]}}, "battery.capacity_kwh = -1"),
    "unknown strategy": ({"strategies": ("nonesuch",)}, "strategy 'nonesuch' is not known"),
    "csv unit varied": ({"grid": {"tariff.csv_unit": ["p/kWh"]}}, "tariff.csv_unit: cannot vary"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_spec_exits_2_with_nothing_run(
    write_spec: SpecWriter, tmp_path: Path, case: str
) -> None:
    changes, message = BAD[case]
    spec = write_spec(**changes)
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(spec), "--workers", "1", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert str(spec) in result.stderr.replace("\n", "")
    assert message in result.stderr.replace("\n", "")
    assert not out.exists()


def test_bad_files_exit_2_naming_key_file_and_line(
    write_spec: SpecWriter, files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _break_load(files)
    result = runner.invoke(app, ["sweep", str(write_spec()), "--workers", "1", "--out", str(out)])
    assert result.exit_code == 2
    assert f"homes[0].load {files['load_a']}: line 6: bad kwh 'oops'" in result.stderr.replace(
        "\n", ""
    )
    files["exp"].unlink()
    result = runner.invoke(app, ["sweep", str(write_spec(homes=("b",))), "--out", str(out)])
    assert result.exit_code == 2
    assert f"tariffs[0].export_prices {files['exp']}: file not found" in result.stderr.replace(
        "\n", ""
    )
    assert not out.exists()


def test_a_pv_forecast_archive_is_read_checked_and_replayed(
    write_spec: SpecWriter, files: dict[str, Path], tmp_path: Path
) -> None:
    """A home's ``pv_forecast`` archive: a bad one exits 2 naming the key before any run; a good
    one replays as ``backtest --pv-forecast`` does (same bills to 1e-9, calibrated as
    ``pv.calibrate`` says)."""
    from optimizer.backtest.suite import (
        DataFiles,
        config_from,
        inputs_from,
        pv_archive_of,
        read_series,
        run_strategies,
    )
    from optimizer.config import Settings
    from optimizer.timeseries import parse_utc
    from tests.sweep.conftest import PERIOD, START, write_csv

    folder = files["load_a"].parent
    hours = np.arange(48 * 10) / 2 % 24
    sun = np.clip(np.sin((hours - 5) / 14 * np.pi), 0, None)
    pv = write_csv(folder / "pv-b.csv", (1.2 * sun).round(3), "kwh")
    starts = pd.date_range(pd.Timestamp(START), periods=48 * 10, freq="30min")
    rows = ["issued_utc,start_utc,end_utc,kwh"]
    for day in range(1, 10):  # issued 18:00 UTC the day before, a dull forecast
        issued = pd.Timestamp(START) + pd.Timedelta(days=day) - pd.Timedelta(hours=6)
        for k in range(48 * day, 48 * (day + 1)):
            rows.append(f"{issued:%Y-%m-%dT%H:%MZ},{starts[k]:%Y-%m-%dT%H:%MZ},"
                        f"{starts[k] + pd.Timedelta(minutes=30):%Y-%m-%dT%H:%MZ},"
                        f"{0.4 * sun[k]:.3f}")  # fmt: skip
    archive = folder / "pv-forecasts.csv"
    archive.write_text("\n".join(rows) + "\n")
    spec = write_spec(homes=("b",), tariffs=("agile",))
    load = 'load = "inputs/load-b.csv"'
    home = f'{load}\npv = "inputs/pv-b.csv"\npv_forecast = "inputs/pv-forecasts.csv"'
    spec.write_text(spec.read_text().replace(load, home))
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(spec), "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    swept = {r["strategy"]: float(r["cost"]) for r in read_runs(out / "runs.csv")}
    settings = Settings()
    data = DataFiles(files["imp"], files["load_b"], files["exp"], pv, "p/kWh", archive)
    period = (parse_utc(PERIOD[0]), parse_utc(PERIOD[1]))
    direct_archive = pv_archive_of(data)
    assert direct_archive is not None
    calibrated = type(direct_archive)(direct_archive.frame, calibrate=settings.pv.calibrate)
    inputs = inputs_from(read_series(data, settings), settings, period, calibrated)
    results, _ = run_strategies(["perfect", "none", "lp"], inputs, config_from(settings))
    for r in results:
        assert swept[r.strategy] == pytest.approx(float(r.frame["cost"].sum()), abs=1e-9)

    archive.write_text("start_utc,end_utc,kwh\n")
    out2 = tmp_path / "out2"
    result = runner.invoke(app, ["sweep", str(spec), "--workers", "1", "--out", str(out2)])
    assert result.exit_code == 2
    message = result.stderr.replace("\n", "")
    assert "homes[0].pv_forecast" in message and "missing ['issued_utc']" in message
    assert not out2.exists()
