"""The reserve on the real installation (issue 20): the service on the HTTPS simulator.

The simulated xStorage keeps its factory backup level (0 %), below the 10 % reserve; its house
draws 2.4 kW, twelve times what its history says (0.1 kWh per half hour), from 20 % SOC at
the start of a dear evening (before: self-consumption on the forecast, then re-plans on the
SOC drift that chose it again, took the battery to 6.4 %). The simulator's exact SOC, step by
step, never falls below the reserve once the service has chosen a command; the service says at
start-up, in the log and in the status page's warnings, that the backup level is below the
reserve.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pandas as pd
import pytest

from optimizer.domain import BatterySpec, DeviceCommand
from optimizer.integrations.switch import OptimiserSwitch
from optimizer.planning.guard import guarded
from optimizer.service.decision import Limits, fallback_command
from optimizer.service.observe import ObservedService
from optimizer.service.reserve import guard_command
from tests.service.conftest import MakeHarness, local

RESERVE = 10.0


def _history(start: pd.Timestamp, days: int = 35) -> pd.DataFrame:
    """0.1 kWh in every half hour of the ``days`` before ``start``."""
    index = pd.date_range(start - pd.Timedelta(days=days), start, freq="30min", inclusive="left")
    return pd.DataFrame({"end": index + pd.Timedelta(minutes=30), "kwh": 0.1}, index=index)


def test_a_house_far_above_its_history_never_goes_below_the_reserve_by_a_chosen_command(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    start = local("2023-10-15 16:00")
    end = local("2023-10-15 22:00")
    h = make_harness(start, soc_pct=20.0, load_w=2400.0, sim_overrides={"backup_pct": 0.0})
    h.store.save_series("load", _history(pd.Timestamp(start)), "history")
    assert h.settings.battery.min_soc_pct == RESERVE and h.sim.device.battery.backup_pct == 0.0
    plain = h.start_service()
    service = ObservedService(plain.deps, switch=OptimiserSwitch(h.store))
    h.service = service
    with caplog.at_level(logging.WARNING, logger="optimizer"):
        h.run_until(end)
    service.close()

    said = [r.getMessage() for r in caplog.records if "bmsBackupLevel" in r.getMessage()]
    assert len(said) == 1 and "below the reserve" in said[0]  # once, at the first reading
    assert service.device_backup_pct == 0.0
    assert service.latest is not None
    assert any("below the reserve" in e.message for e in service.latest.events)  # the page

    first = min(c["at"] for c in h.commands())
    assert first - start < timedelta(seconds=10)
    meter = h.sim.device.meter.frame(start, end)
    after = meter[meter.index >= pd.Timestamp(first).floor("min") + pd.Timedelta(minutes=1)]
    assert after["soc_end_pct"].min() >= RESERVE - 1e-6
    assert after["soc_start_pct"].min() >= RESERVE - 1e-6
    readings = h.store.readings(start, end)
    assert readings["soc_pct"].min() >= RESERVE
    # The battery was used: it covered part of the dear evening, down to the reserve.
    assert float(after["discharge_kwh"].sum()) > 0.3
    assert after["soc_end_pct"].min() <= RESERVE + 1.0


def test_a_backup_level_at_the_reserve_is_not_warned_about(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    start = local("2023-10-15 12:00")
    h = make_harness(start, soc_pct=60.0)  # the harness's device keeps the reserve
    service = h.start_service()
    with caplog.at_level(logging.WARNING, logger="optimizer"):
        h.run_until(start + timedelta(hours=1))
    assert service.device_backup_pct == RESERVE
    assert not [r for r in caplog.records if "bmsBackupLevel" in r.getMessage()]
    assert service.limits.self_consumption_safe_pct == float("-inf")


def test_the_self_consumption_fallback_holds_where_it_could_reach_the_reserve() -> None:
    limits = Limits(self_consumption_safe_pct=57.6)
    assert (
        fallback_command(limits, 0.2, 80.0).command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
    )
    for soc in (57.0, 20.0, None):  # None: no fresh reading
        assert fallback_command(limits, 0.2, soc).command is DeviceCommand.SET_BASIC_MODE
    assert (
        fallback_command(Limits(), 0.2, None).command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
    )


def test_the_guard_ends_self_consumption_mid_slot_at_its_threshold(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    # From 40 % at 16:00 the house draws 2.4 kW (about 1 % a minute) against 0.1 kWh per
    # half hour of history; the slot at 16:30 runs self-consumption from 23 %. Polls every
    # 120 s: the guard's threshold is 10 % + 5 % (3.6 kW over 120 + 30 s is 3.57 % of
    # 4.2 kWh, plus half a percent, rounded up). At the
    # first reading at or below 15 % the service sends a discharge at the house's power to the
    # reserve, mid-slot; the device (backup level 0 %) never goes below the reserve.
    start = local("2023-10-15 16:00")
    end = local("2023-10-15 18:00")
    h = make_harness(start, soc_pct=40.0, load_w=2400.0, sim_overrides={"backup_pct": 0.0})
    h.store.save_series("load", _history(pd.Timestamp(start)), "history")
    service = h.start_service()
    with caplog.at_level(logging.WARNING, logger="optimizer"):
        h.run_until(end)
    assert service.battery().guard_pct == 15.0  # from the backup level the device reports

    guard = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reserve guard")]
    assert guard and "at or below 15 %" in guard[0]
    sent = h.commands()
    sc = DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION.value
    # The guard's discharge at the house's power (2.4 kW of 3.6: 65 %) to the reserve, sent at
    # a poll inside the slot (not at its boundary), right after the slot's self-consumption.
    fired = [
        (c["at"], c["body"])
        for c, before in zip(sent[1:], sent[:-1], strict=True)
        if before["body"]["command"] == sc
        and (c["body"].get("parameters") or {}).get("action") == "ACTION_DISCHARGE"
    ]
    assert fired
    at, body = fired[0]
    assert body["parameters"]["soc"] == RESERVE and body["parameters"]["power"] == 65
    offset = at - at.replace(minute=at.minute // 30 * 30, second=0)
    assert timedelta(minutes=1) < offset < timedelta(minutes=29)
    readings = h.store.readings(start, end)
    at_guard = readings[readings.index <= pd.Timestamp(at)]["soc_pct"].iloc[-1]
    assert at_guard <= 15.0
    meter = h.sim.device.meter.frame(start, end)
    assert meter["soc_end_pct"].min() >= RESERVE - 1e-6
    assert meter["soc_end_pct"].min() <= RESERVE + 0.5  # the guard's discharge reached it
    assert readings["soc_pct"].min() >= RESERVE


def test_the_guards_command_from_a_reading() -> None:
    # 60 s polls: threshold 13 %. A house drawing 1 kW net: 28 % of 3.6 kW → 30 % to 10 %.
    battery = guarded(BatterySpec(), 60)
    assert guard_command(battery, 14.0, 1000.0, 1, "SET_CHARGE") is None  # above: runs on
    assert guard_command(battery, 12.0, -300.0, 1, "SET_CHARGE") is None  # PV surplus charges
    guarded_at = guard_command(battery, 13.0, 1000.0, 1, "SET_CHARGE")
    assert guarded_at is not None
    command, why = guarded_at
    assert command.parameters == {"action": "ACTION_DISCHARGE", "power": 30, "soc": 10}
    assert "at or below 13 %" in why
    tiny = guard_command(battery, 11.0, 20.0, 1, "SET_DISCHARGE")
    assert tiny is not None and tiny[0].parameters == {
        "action": "ACTION_DISCHARGE", "power": 5, "soc": 10,
    }  # fmt: skip
    for soc in (10.0, None):  # at the reserve, or no fresh reading: basic mode
        basic = guard_command(battery, soc, 1000.0, 1, "SET_CHARGE")
        assert basic is not None and basic[0].command is DeviceCommand.SET_BASIC_MODE
    assert guard_command(guarded(BatterySpec(backup_pct=10.0), 60), 5.0, 1e3, 1, "SET_CHARGE") is (
        None
    )  # the device keeps the reserve: no guard
