"""The backtest is the product: a day of the service on the simulator and the backtest of the
same day and data send the same command in every slot and cost the same within 2 %."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd

from optimizer.backtest.data import PublicationRule, SeriesSet, prepare_inputs
from optimizer.backtest.engine import BacktestConfig, run_backtest
from optimizer.service.planner import options_for
from strategies.lp import LpStrategy
from tests.service.conftest import MakeHarness, local

LOAD_W = 400.0


def _measured_cost(metered: pd.DataFrame, imports: pd.Series, exports: pd.Series) -> float:
    """Cost (GBP) of the simulator's exact per-minute meter at the slot prices."""
    slot = metered.index.floor("30min")
    price_in = imports.reindex(slot).to_numpy()
    price_out = exports.reindex(slot).to_numpy()
    assert not np.isnan(price_in).any() and not np.isnan(price_out).any()
    return float(
        metered["import_kwh"].to_numpy() @ price_in - metered["export_kwh"].to_numpy() @ price_out
    )


def test_service_and_backtest_send_the_same_commands_and_cost_the_same(
    make_harness: MakeHarness,
) -> None:
    start = local("2023-10-15 00:00")  # negative prices at night, ~50 p/kWh at 16:00-19:00
    end = start + timedelta(hours=24)
    h = make_harness(start, soc_pct=20.0, load_w=LOAD_W)
    service = h.start_service()
    h.run_until(end)

    settings = h.settings
    imports = h.store.prices(settings.tariff.import_code(), start, start + timedelta(days=3))
    exports = h.store.prices(settings.tariff.export_code(), start, start + timedelta(days=3))
    # The simulated house draws a constant 400 W: 0.2 kWh a slot, and so does its history.
    history = pd.date_range(start - timedelta(days=29), start + timedelta(days=3), freq="30min")
    load = pd.Series(LOAD_W / 1000 * 0.5, index=history)
    period_end = imports.index[-1] + timedelta(minutes=30)
    inputs = prepare_inputs(
        SeriesSet(imports, load, exports), start, period_end.to_pydatetime(), 30,
        fallback_load_kwh=LOAD_W / 1000 * 0.5,
    )  # fmt: skip
    config = BacktestConfig(
        battery=settings.battery.spec(),
        grid=settings.grid.spec(),
        options=replace(options_for(settings, 1), horizon_slots=None),
        replan="hour",
        horizon_hours=settings.planner.horizon_hours,
        publication=PublicationRule(all_known=True),
        initial_soc_pct=20.0,
    )
    frame = run_backtest(LpStrategy(), inputs, config).frame
    day = frame[(frame.index >= start) & (frame.index < end)]
    assert len(day) == 48

    differing = []
    for t, row in day.iterrows():
        sent = service.executed[t.to_pydatetime()].command.body()
        if json.loads(row["command"]) != sent:
            differing.append((t, json.loads(row["command"]), sent))
    assert not differing, differing[:3]

    measured = _measured_cost(h.sim.device.metered(start, end), imports, exports)
    assert abs(measured - day["cost"].sum()) <= 0.02 * abs(day["cost"].sum())
