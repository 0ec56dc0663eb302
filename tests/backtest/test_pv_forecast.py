"""``backtest --pv-forecast``: each decision reads the latest vintage issued by its time."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.backtest.data import BacktestInputs, SeriesSet, prepare_inputs
from optimizer.backtest.engine import BacktestConfig, run_backtest
from optimizer.backtest.pvinputs import freshest, with_pv_archive
from optimizer.backtest.strategy import DecisionContext, Foresight
from optimizer.cli import app
from optimizer.errors import InvalidInput
from optimizer.forecast.vintages import PvVintages
from optimizer.planning import Policy
from strategies.lp import LpStrategy
from tests.backtest.helpers import series, utc

DAY = "2023-05-01T00:00Z"
SUNNY = "2023-04-30T18:00Z"  # the evening before: a sunny day ahead
DULL = "2023-05-01T03:00Z"  # a later run: no sun after all


class Recording:
    """The LP strategy, recording each decision's context."""

    name = "recording-lp"
    foresight: Foresight = "realistic"

    def __init__(self) -> None:
        self.inner = LpStrategy()
        self.contexts: list[DecisionContext] = []

    def decide(self, context: DecisionContext) -> Policy:
        self.contexts.append(context)
        return self.inner.decide(context)


def _day_inputs() -> BacktestInputs:
    """Cheap night (00:00-06:00 UTC), dear day and evening, no export price, a steady load,
    no PV at all in the history (the history forecast says 0) nor in fact."""
    n_hist, n_day = 48 * 9, 48
    price = np.tile(np.r_[np.full(12, 0.05), np.full(36, 0.40)], 10)
    first = "2023-04-22T00:00Z"
    raw = SeriesSet(
        series(first, price),
        series(first, np.full(n_hist + n_day, 0.3)),
        series(first, np.zeros(n_hist + n_day)),
        series(first, np.zeros(n_hist + n_day)),
    )
    return prepare_inputs(raw, utc(DAY), utc("2023-05-01T12:00Z"), 30)


def _archive(dull_kwh: float = 0.0) -> pd.DataFrame:
    """Two vintages for 05-01 06:00-18:00Z (hourly rows): 2 kWh an hour, then ``dull_kwh``."""
    starts = pd.date_range("2023-05-01T06:00Z", periods=12, freq="1h")
    rows = []
    for issued, kwh in ((SUNNY, 2.0), (DULL, dull_kwh)):
        rows.append(
            pd.DataFrame(
                {
                    "issued_utc": pd.Timestamp(issued),
                    "start_utc": starts,
                    "end_utc": starts + pd.Timedelta(hours=1),
                    "kwh": kwh,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _replay(archive: pd.DataFrame) -> tuple[Recording, pd.DataFrame]:
    strategy = Recording()
    inputs = with_pv_archive(_day_inputs(), archive)
    frame = run_backtest(strategy, inputs, BacktestConfig(replan="hour")).frame
    return strategy, frame


def test_each_decision_reads_the_latest_vintage_issued_by_its_time() -> None:
    strategy, frame = _replay(_archive())
    by_time = {c.now: c for c in strategy.contexts}
    early = by_time[utc("2023-05-01T02:00Z")]
    late = by_time[utc("2023-05-01T03:00Z")]
    # 2 kWh an hour on 30-min slots: 1 kWh per slot from 06:00, 0 before (history).
    np.testing.assert_allclose(early.pv_kwh[:8], 0.0)
    np.testing.assert_allclose(early.pv_kwh[8:], 1.0)
    np.testing.assert_allclose(late.pv_kwh, 0.0)
    # Known answer: believing in the sun, the plan leaves the cheap night alone; told there is
    # none (03:00), it charges in the cheap hours left.
    night = frame.loc[:"2023-05-01T02:30Z", "charge_kwh"]
    after = frame.loc["2023-05-01T03:00Z":"2023-05-01T05:30Z", "charge_kwh"]
    assert night.sum() < 1e-9
    assert after.sum() > 1.0
    # The per-slot frame carries the PV forecast the decision that chose the command used.
    np.testing.assert_allclose(frame["pv_forecast_kwh"].to_numpy(), 0.0)


def test_without_the_late_vintage_the_night_stays_uncharged_until_the_sun() -> None:
    archive = _archive()
    _, frame = _replay(archive[archive["issued_utc"] == pd.Timestamp(SUNNY)])
    assert frame.loc[:"2023-05-01T05:30Z", "charge_kwh"].sum() < 1e-9
    np.testing.assert_allclose(frame.loc["2023-05-01T06:00Z":, "pv_forecast_kwh"], 1.0)


def test_slots_no_vintage_covers_take_the_history_forecast() -> None:
    inputs = _day_inputs()
    history = np.linspace(0.0, 0.5, len(inputs.index))
    inputs = with_pv_archive(replace(inputs, pv_forecast_kwh=history), _archive())
    assert inputs.pv_forecast_at is not None
    got = inputs.pv_forecast_at(0, len(inputs.index))
    np.testing.assert_allclose(got[:12], history[:12])  # 00:00-06:00: none covers
    np.testing.assert_allclose(got[12:], 1.0)  # the sunny run (issued before 00:00)


def test_an_archive_that_covers_no_slot_is_an_error() -> None:
    archive = _archive()
    archive[["start_utc", "end_utc"]] += pd.Timedelta(days=30)
    with pytest.raises(InvalidInput, match="covers no slot"):
        with_pv_archive(_day_inputs(), archive)


def test_hedging_needs_the_quantiles() -> None:
    with pytest.raises(InvalidInput, match="kwh_p10"):
        with_pv_archive(_day_inputs(), _archive(), hedge=True)


def test_hedged_scenarios_are_p10_forecast_p90() -> None:
    archive = _archive().assign(kwh_p10=lambda f: f.kwh / 2, kwh_p90=lambda f: f.kwh * 1.5)
    inputs = with_pv_archive(_day_inputs(), archive, hedge=True)
    assert inputs.pv_scenarios_at is not None
    paths, weights = inputs.pv_scenarios_at(0, 24)
    np.testing.assert_allclose(weights, [0.25, 0.5, 0.25])
    np.testing.assert_allclose(paths[:, 12], [0.5, 1.0, 1.5])
    np.testing.assert_allclose(paths[:, 0], 0.0)  # history where none covers


def test_freshest_is_the_last_vintage_before_each_slot() -> None:
    index = pd.date_range("2023-05-01T00:00Z", periods=48, freq="30min")
    vintages = PvVintages.from_frame(_archive(0.25), index, 30)
    got = freshest(vintages)
    assert np.isnan(got[:12]).all()
    np.testing.assert_allclose(got[12:36], 0.125)  # the 03:00 run covers from 06:00
    assert np.isnan(got[36:]).all()


# ----------------------------------------------------------------------- command line


def _csv(path: Path, frame: pd.DataFrame) -> Path:
    out = frame.copy()
    for column in out.columns:
        if column.endswith("_utc"):
            out[column] = pd.DatetimeIndex(out[column]).strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(path, index=False)
    return path


def _energy(path: Path, start: str, values: np.ndarray, column: str) -> Path:
    index = pd.date_range(pd.Timestamp(start), periods=len(values), freq="30min", tz="UTC")
    frame = pd.DataFrame({"start_utc": index, "end_utc": index + pd.Timedelta(minutes=30),
                          column: values})  # fmt: skip
    return _csv(path, frame)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    n = 48 * 10
    start = "2023-04-22T00:00Z"
    price = np.tile(np.r_[np.full(12, 5.0), np.full(36, 40.0)], 10)
    return {
        "prices": _energy(tmp_path / "imp.csv", start, price, "price"),
        "export": _energy(tmp_path / "exp.csv", start, np.full(n, 1.0), "price"),
        "load": _energy(tmp_path / "load.csv", start, np.full(n, 0.3), "kwh"),
        "pv": _energy(tmp_path / "pv.csv", start, np.zeros(n), "kwh"),
        "archive": _csv(tmp_path / "vintages.csv", _archive()),
    }


def _args(files: dict[str, Path], *extra: str) -> list[str]:
    return [
        "backtest", "--prices", str(files["prices"]), "--export-prices", str(files["export"]),
        "--load", str(files["load"]), "--from", "2023-05-01T00:00Z", "--to", "2023-05-01T12:00Z",
        "--strategy", "lp", *extra,
    ]  # fmt: skip


@pytest.mark.parametrize("extra", [(), ("--pv-calibrate", "--pv-inday")])
def test_cli_backtest_with_an_archive_writes_the_forecast_used(
    files: dict[str, Path], tmp_path: Path, extra: tuple[str, ...]
) -> None:
    out = tmp_path / "out"
    args = _args(files, "--pv", str(files["pv"]), "--pv-forecast", str(files["archive"]), *extra)
    result = CliRunner().invoke(app, [*args, "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["lp"]["slots"] == 24
    slots = pd.read_csv(next(out.glob("*lp*.csv")))
    assert "pv_forecast_kwh" in slots.columns


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--pv-forecast", "ARCHIVE"), "--pv-forecast needs --pv"),
        (("--pv", "PV", "--pv-calibrate"), "--pv-calibrate needs --pv-forecast"),
        (("--pv", "PV", "--pv-inday"), "--pv-inday needs --pv-forecast"),
        (("--pv", "PV", "--pv-forecast", "ARCHIVE", "--pv-hedge"), "kwh_p10"),
        (("--pv", "PV", "--pv-forecast", "BAD"), "line 2"),
    ],
)
def test_cli_errors_name_the_option(
    files: dict[str, Path], tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("issued_utc,start_utc,end_utc,kwh\n2023-05-01T00:00,2023-05-01T06:00Z,"
                   "2023-05-01T07:00Z,1\n")  # fmt: skip
    names = {"ARCHIVE": files["archive"], "PV": files["pv"], "BAD": bad}
    args = [str(names.get(a, a)) for a in extra]
    result = CliRunner().invoke(app, _args(files, *args))
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_cli_calibration_follows_the_setting_unless_told(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """``pv.calibrate`` (default true) calibrates the archive as the service does;
    ``--pv-calibrate`` says the same, ``--no-pv-calibrate`` replays the raw forecasts (and so
    does ``pv.calibrate = false``)."""
    rows = []
    for day in pd.date_range("2023-04-22", "2023-05-01", freq="D", tz="UTC"):
        starts = pd.date_range(day + pd.Timedelta(hours=8), periods=16, freq="30min")
        rows.append(
            pd.DataFrame(
                {
                    "issued_utc": day - pd.Timedelta(hours=6),
                    "start_utc": starts,
                    "end_utc": starts + pd.Timedelta(minutes=30),
                    "kwh": 1.0,
                }
            )
        )
    archive = _csv(tmp_path / "daily.csv", pd.concat(rows, ignore_index=True))
    sums: dict[str, float] = {}
    off = tmp_path / "off.toml"
    off.write_text("[pv]\ncalibrate = false\n")
    runs = {"default": (), "on": ("--pv-calibrate",), "off": ("--no-pv-calibrate",),
            "setting off": ("--config", str(off))}  # fmt: skip
    for name, extra in runs.items():
        out = tmp_path / name.replace(" ", "-")
        args = _args(files, "--pv", str(files["pv"]), "--pv-forecast", str(archive), *extra)
        # the calibration learns from the replayed days before each decision: four days
        args[args.index("--from") + 1] = "2023-04-28T00:00Z"
        result = CliRunner().invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        slots = pd.read_csv(next(out.glob("*lp*.csv")))
        last_day = slots[slots["start_utc"] >= "2023-05-01"]
        sums[name] = float(last_day["pv_forecast_kwh"].sum())
    assert sums["default"] == sums["on"]
    assert sums["off"] == sums["setting off"]
    # the measured PV is zero: the roof learnt from the days before makes no PV
    assert sums["off"] > 0.5 and sums["default"] < 0.5 * sums["off"], sums
