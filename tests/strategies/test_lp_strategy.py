"""The ``lp`` strategy's command choice on cases worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from optimizer.backtest.strategy import DecisionContext
from optimizer.domain import BatterySpec, Command, DeviceCommand, GridSpec
from optimizer.planning import PlanOptions
from strategies.heuristics import CheapestSlots, NoBattery
from strategies.lp import LpStrategy


def _context(export_price: float, battery: BatterySpec | None = None) -> DecisionContext:
    # Two cheap slots, then two dear ones with 1 kWh of house load each; no PV.
    index = pd.date_range(datetime(2023, 6, 1, tzinfo=UTC), periods=4, freq="30min", tz="UTC")
    return DecisionContext(
        now=index[0].to_pydatetime(),
        index=index,
        price_import_per_kwh=np.array([0.10, 0.10, 0.50, 0.50]),
        price_export_per_kwh=np.full(4, export_price),
        load_kwh=np.array([0.0, 0.0, 1.0, 1.0]),
        pv_kwh=np.zeros(4),
        soc_pct=10.0,
        battery=battery or BatterySpec(),
        grid=GridSpec(),
        options=PlanOptions(terminal_soc_value="none"),
    )


def _path_commands(context: DecisionContext) -> list[Command]:
    return [slot.command for slot in LpStrategy().decide(context).path()]


def test_house_only_discharge_follows_the_load() -> None:
    # Export earns nothing, so the plan discharges only to cover the house in slots 2 and 3.
    # With the device's backup level at the reserve, self-consumption covers both.
    commands = _path_commands(_context(0.0, BatterySpec(backup_pct=10.0)))
    assert commands[0].action == "ACTION_CHARGE"
    assert [c.command for c in commands[2:]] == [DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION] * 2
    # At the factory level (0 %) slot 3 starts at 36 %, from where a load above the forecast
    # could take self-consumption below the 10 % reserve: a forced discharge to the reserve.
    factory = _path_commands(_context(0.0))
    assert factory[2].command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
    assert factory[3].action == "ACTION_DISCHARGE"
    assert (factory[3].parameters or {})["soc"] >= 10


def test_exporting_discharge_keeps_its_power() -> None:
    # Export at 0.45 is worth more than the 0.10 / 0.92^2 = 0.118 a stored kWh costs, so the plan
    # fills the battery and discharges at full power, exporting what the house does not use.
    commands = _path_commands(_context(0.45))
    assert any(c.action == "ACTION_DISCHARGE" for c in commands[2:])


def test_each_slot_is_chosen_from_the_soc_actually_reached() -> None:
    # Planned from 10 %: charge in the cheap slots. Asked at slot 2 with the battery fuller or
    # emptier than planned, the policy still covers the house from what is there, and with an
    # empty battery it does not pretend to discharge.
    policy = LpStrategy().decide(_context(0.0))
    battery = BatterySpec()
    full = policy.choose(2, battery.kwh(90.0))
    assert full.command.command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
    assert full.outcome.import_kwh == 0.0
    empty = policy.choose(2, battery.kwh(10.0))
    assert empty.outcome.discharge_kwh == 0.0
    assert empty.outcome.import_kwh == 1.0
    assert policy.command_at(2, battery.kwh(90.0)) == full.command


def test_cheapest_slots_pairs_cheap_and_dear() -> None:
    commands = list(CheapestSlots(n=1).decide(_context(0.0)))
    assert commands[0].action == "ACTION_CHARGE"
    assert commands[2].action == "ACTION_DISCHARGE"
    assert commands[1].action is None and commands[3].action is None


def test_no_battery_is_idle_everywhere() -> None:
    assert {c.command for c in NoBattery().decide(_context(0.0))} == {DeviceCommand.SET_BASIC_MODE}
