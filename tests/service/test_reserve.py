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

from optimizer.domain import DeviceCommand
from optimizer.integrations.switch import OptimiserSwitch
from optimizer.service.decision import Limits, fallback_command
from optimizer.service.observe import ObservedService
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
    # first reading at or below 15 % the service sends basic mode, mid-slot; the device
    # (backup level 0 %) never goes below the reserve.
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
    modes = [(c["at"], c["body"]["command"]) for c in sent]
    sc = DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION.value
    basic = DeviceCommand.SET_BASIC_MODE.value
    # The guard's basic mode, sent at a poll inside the slot (not at its boundary), right
    # after the self-consumption command the slot's choice sent (16:30 local, from 23 %).
    fired = [
        (at, mode)
        for (at, mode), (_, before) in zip(modes[1:], modes[:-1], strict=True)
        if mode == basic and before == sc
    ]
    assert fired
    at = fired[0][0]
    assert (
        timedelta(minutes=1)
        < at - at.replace(minute=at.minute // 30 * 30, second=0)
        < (timedelta(minutes=29))
    )
    readings = h.store.readings(start, end)
    at_guard = readings[readings.index <= pd.Timestamp(at)]["soc_pct"].iloc[-1]
    assert at_guard <= 15.0
    meter = h.sim.device.meter.frame(start, end)
    assert meter["soc_end_pct"].min() >= RESERVE - 1e-6
    assert meter["soc_end_pct"].min() <= 16.0  # self-consumption ran down to the guard
    assert readings["soc_pct"].min() >= RESERVE
