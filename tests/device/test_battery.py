"""The simulator's battery and mode timeline, driven by a manual clock (no sockets)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from optimizer.device.simulator import ConstantProfile, SimClock, SimConfig, SimDevice
from optimizer.device.simulator.battery import BatteryModel, step

from .conftest import START


def device(**config: object) -> tuple[SimDevice, SimClock]:
    clock = SimClock(START, speed=0)
    sim = SimDevice(SimConfig(**config), clock, ConstantProfile(load=500.0, pv=0.0))  # type: ignore[arg-type]
    return sim, clock


def body(command: str, duration: int = 1, **params: object) -> dict[str, object]:
    return {"command": command, "duration": duration, "parameters": params or None}


def test_charge_moves_soc_with_efficiency() -> None:
    battery = BatteryModel(capacity_kwh=4.0, soc_pct=50.0, rating_w=3600.0)
    flows = step(
        battery, "SET_CHARGE", {"action": "ACTION_CHARGE", "power": 50, "soc": 100}, 500, 0, 3600
    )
    # 1.8 kW for 1 h = 1.8 kWh AC, 0.92 stored = 1.656 kWh = 41.4 % of 4 kWh
    assert battery.soc_pct == pytest.approx(50 + 41.4)
    assert flows.battery_w == pytest.approx(1800)
    assert flows.grid_w == pytest.approx(500 + 1800)


def test_discharge_draws_more_than_delivered() -> None:
    battery = BatteryModel(capacity_kwh=4.0, soc_pct=80.0)
    flows = step(
        battery, "SET_CHARGE", {"action": "ACTION_DISCHARGE", "power": 25, "soc": 0}, 500, 0, 1800
    )
    # 0.9 kW for 0.5 h = 0.45 kWh AC out = 0.489 kWh from the cells = 12.23 %
    assert battery.soc_pct == pytest.approx(80 - 0.45 / 0.92 / 4 * 100)
    assert flows.grid_w == pytest.approx(500 - 900)


def test_soc_stops_exactly_at_the_charge_target() -> None:
    sim, clock = device(soc_pct=50.0, lag=timedelta(0))
    sim.command(body("SET_CHARGE", 3, action="ACTION_CHARGE", power=100, soc=60))
    clock.advance(timedelta(hours=1))
    assert sim.soc_pct() == pytest.approx(60.0)
    assert sim.flows().battery_w == 0.0
    assert sim.current_mode()["type"] == "MANUAL"  # idle at target until the duration ends


def test_discharge_stops_at_the_backup_level_even_with_a_lower_floor() -> None:
    sim, clock = device(soc_pct=50.0, backup_pct=30.0, lag=timedelta(0))
    sim.command(body("SET_DISCHARGE", 5, action="ACTION_DISCHARGE", power=100, soc=0))
    clock.advance(timedelta(hours=2))
    assert sim.soc_pct() == pytest.approx(30.0)
    assert sim.flows().grid_w == pytest.approx(500.0)


def test_duration_end_falls_back_to_the_default_mode() -> None:
    sim, clock = device(soc_pct=50.0, lag=timedelta(0), default_command="SET_BASIC_MODE")
    sim.command(body("SET_CHARGE", 2, action="ACTION_CHARGE", power=10, soc=100))
    clock.advance(timedelta(hours=1, minutes=59))
    assert sim.current_mode()["command"] == "SET_CHARGE"
    soc_before_end = sim.soc_pct()
    clock.advance(timedelta(minutes=2))
    mode = sim.current_mode()
    assert (mode["command"], mode["type"], mode["recurrence"]) == (
        "SET_BASIC_MODE",
        "DEFAULT",
        "DEFAULT_EVENT",
    )
    clock.advance(timedelta(hours=1))
    # 1 more minute of charging at 360 W, then basic mode holds the SOC
    assert sim.soc_pct() == pytest.approx(soc_before_end + 0.36 * 0.92 / 60 / 4.2 * 100, abs=0.01)


def test_status_shows_the_old_mode_during_the_lag() -> None:
    sim, clock = device(lag=timedelta(seconds=2.5))
    sim.command(body("SET_BASIC_MODE"))
    assert sim.current_mode()["command"] == "SET_MAXIMIZE_AUTO_CONSUMPTION"
    clock.advance(2.4)
    assert sim.current_mode()["command"] == "SET_MAXIMIZE_AUTO_CONSUMPTION"
    clock.advance(0.2)
    assert sim.current_mode()["command"] == "SET_BASIC_MODE"


def test_metrics_are_five_minute_average_watts() -> None:
    sim, clock = device(soc_pct=20.0, lag=timedelta(0))
    sim.command(body("SET_CHARGE", 1, action="ACTION_CHARGE", power=50, soc=100))
    clock.advance(timedelta(minutes=31))
    sim.advance()
    records = sim.metrics.between(0, 2**62)
    assert len(records) == 6
    assert [r["time"] for r in records][:2] == [
        int(START.timestamp() * 1000),
        int(START.timestamp() * 1000) + 300_000,
    ]
    assert all(r["totalHouseConsumption"] == pytest.approx(500.0) for r in records)
    socs = [r["batteryStateOfCharge"] for r in records]
    assert socs == sorted(socs)
    assert socs[-1] > socs[0]


def test_speed_factor_runs_a_day_in_seconds() -> None:
    ticks = iter([0.0, 0.0, 864.0])
    clock = SimClock(START, speed=100, real=lambda: next(ticks))
    assert clock.now() == START
    assert clock.now() == START + timedelta(days=1)
