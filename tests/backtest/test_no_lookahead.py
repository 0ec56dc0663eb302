"""Corrupting anything after a decision time must leave that decision unchanged."""

from __future__ import annotations

from datetime import datetime, time

import numpy as np
import pandas as pd
import pytest

from optimizer.backtest.data import PublicationRule, SeriesSet, prepare_inputs
from optimizer.backtest.engine import BacktestConfig, run_backtest
from optimizer.backtest.strategy import DecisionContext, Foresight
from optimizer.domain import LOAD_METHODS, Command, LoadMethodName
from optimizer.forecast.load import LoadForecaster
from optimizer.planning import Policy
from strategies.lp import LpStrategy
from tests.backtest.helpers import series, utc

START, END = "2023-05-01T00:00Z", "2023-05-03T00:00Z"


class Recording:
    """Wraps the LP strategy and records every context and decision."""

    name = "recording-lp"
    foresight: Foresight = "realistic"

    def __init__(self) -> None:
        self.inner = LpStrategy()
        self.log: list[tuple[datetime, DecisionContext, list[Command]]] = []

    def decide(self, context: DecisionContext) -> Policy:
        policy = self.inner.decide(context)
        self.log.append((context.now, context, [slot.command for slot in policy.path()]))
        return policy


def _raw(seed: int) -> dict[str, pd.Series]:
    rng = np.random.default_rng(seed)
    n = 48 * 40  # 40 days of history and future around the replay window
    first = "2023-04-01T00:00Z"
    return {
        "imp": series(first, rng.uniform(-0.05, 0.6, n)),
        "exp": series(first, rng.uniform(0.0, 0.3, n)),
        "load": series(first, rng.uniform(0.05, 1.2, n)),
        "pv": series(first, rng.uniform(0.0, 0.8, n)),
    }


def _run(raw: dict[str, pd.Series], method: LoadMethodName | None = None) -> Recording:
    forecaster = LoadForecaster(method) if method else None
    inputs = prepare_inputs(
        SeriesSet(raw["imp"], raw["load"], raw["exp"], raw["pv"]),
        utc(START),
        utc(END),
        30,
        load_forecaster=forecaster,
    )
    strategy = Recording()
    run_backtest(strategy, inputs, BacktestConfig(replan="hour"))
    return strategy


@pytest.mark.parametrize("method", [None, *LOAD_METHODS])
@pytest.mark.parametrize("decision", [0, 15, 33])
def test_corrupting_the_future_leaves_the_decision_unchanged(
    decision: int, method: LoadMethodName | None
) -> None:
    raw = _raw(1)
    baseline = _run(raw, method)
    now = baseline.log[decision][0]
    known_until = PublicationRule(time(16), time(23)).known_until(now)
    assert known_until is not None
    rng = np.random.default_rng(99)
    corrupted = {k: v.copy() for k, v in raw.items()}
    for key in ("imp", "exp"):  # prices not yet published at ``now``
        late = corrupted[key].index >= pd.Timestamp(known_until)
        corrupted[key][late] = rng.uniform(-1.0, 2.0, int(late.sum()))
    for key in ("load", "pv"):  # actual energy from ``now`` on
        late = corrupted[key].index >= pd.Timestamp(now)
        corrupted[key][late] = rng.uniform(0.0, 3.0, int(late.sum()))
    again = _run(corrupted, method)
    for (t0, ctx0, cmd0), (t1, ctx1, cmd1) in zip(
        baseline.log[: decision + 1], again.log[: decision + 1], strict=True
    ):
        assert t0 == t1
        assert ctx0.soc_pct == ctx1.soc_pct
        np.testing.assert_array_equal(ctx0.price_import_per_kwh, ctx1.price_import_per_kwh)
        np.testing.assert_array_equal(ctx0.load_kwh, ctx1.load_kwh)
        assert cmd0 == cmd1
    # The corruption is real: some later decision does change.
    assert any(a[2] != b[2] for a, b in zip(baseline.log, again.log, strict=False))


def test_context_never_shows_unpublished_prices() -> None:
    strategy = _run(_raw(2))
    rule = PublicationRule(time(16), time(23))
    for now, context, _ in strategy.log:
        until = rule.known_until(now)
        assert until is not None
        assert context.index[-1] < pd.Timestamp(until)
        assert context.index[0] == pd.Timestamp(now)


def _vintages(raw: dict[str, pd.Series], seed: int) -> pd.DataFrame:
    """Day-ahead-like PV vintages: for each day, one run issued 18:00Z the day before and one
    issued 06:00Z the same day, hourly rows, random energies."""
    rng = np.random.default_rng(seed)
    rows = []
    for day in pd.date_range("2023-04-28T00:00Z", "2023-05-04T00:00Z", freq="1D"):
        starts = pd.date_range(day, periods=24, freq="1h")
        for issued in (day - pd.Timedelta(hours=6), day + pd.Timedelta(hours=6)):
            rows.append(
                pd.DataFrame(
                    {
                        "issued_utc": issued,
                        "start_utc": starts,
                        "end_utc": starts + pd.Timedelta(hours=1),
                        "kwh": rng.uniform(0.0, 1.6, 24),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _run_archive(
    raw: dict[str, pd.Series], archive: pd.DataFrame, learn: bool = False
) -> Recording:
    from optimizer.backtest.pvinputs import with_pv_archive
    from optimizer.forecast.pvcalibrate import InDay

    inputs = prepare_inputs(
        SeriesSet(raw["imp"], raw["load"], raw["exp"], raw["pv"]), utc(START), utc(END), 30
    )
    strategy = Recording()
    inputs = with_pv_archive(inputs, archive, calibrate=learn, inday=InDay() if learn else None)
    run_backtest(strategy, inputs, BacktestConfig(replan="hour"))
    return strategy


@pytest.mark.parametrize(
    ("decision", "learn"), [(0, False), (5, False), (6, False), (17, False), (23, False),
                            (6, True), (17, True)]
)  # fmt: skip
def test_a_vintage_issued_after_the_decision_leaves_it_unchanged(
    decision: int, learn: bool
) -> None:
    """``learn``: with ``--pv-calibrate`` and ``--pv-inday``, which read the measured PV too:
    the PV measured from the decision on is corrupted as well."""
    raw = _raw(3)
    archive = _vintages(raw, 4)
    baseline = _run_archive(raw, archive, learn)
    now = pd.Timestamp(baseline.log[decision][0])
    corrupted = archive.copy()
    late = corrupted["issued_utc"] > now
    corrupted.loc[late, "kwh"] = np.random.default_rng(5).uniform(0.0, 3.0, int(late.sum()))
    changed = {k: v.copy() for k, v in raw.items()}
    future = changed["pv"].index >= now
    changed["pv"][future] = np.random.default_rng(6).uniform(0.0, 3.0, int(future.sum()))
    again = _run_archive(changed, corrupted, learn)
    for (t0, ctx0, cmd0), (t1, ctx1, cmd1) in zip(
        baseline.log[: decision + 1], again.log[: decision + 1], strict=True
    ):
        assert t0 == t1
        np.testing.assert_array_equal(ctx0.pv_kwh, ctx1.pv_kwh)
        assert cmd0 == cmd1
    # The corruption is real: some later decision sees it.
    assert any(
        not np.array_equal(a[1].pv_kwh, b[1].pv_kwh)
        for a, b in zip(baseline.log, again.log, strict=False)
    )
