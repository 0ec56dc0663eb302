"""The simulator's battery plays the shared device model; its mode timeline, meter and clock.

Driven by a manual clock (no sockets): every physics figure is checked against
``optimizer.planning.device.apply_command`` over the same span, not against numbers of its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from optimizer.device.simulator import ConstantProfile, SimClock, SimConfig, SimDevice
from optimizer.device.simulator.battery import UNLIMITED_GRID, BatteryModel, command_of, step
from optimizer.domain import Command, DeviceCommand
from optimizer.planning.device import SlotOutcome, apply_command

from .conftest import START

HALF_HOUR = timedelta(minutes=30)


def device(load_w: float = 500.0, pv_w: float = 0.0, **config: Any) -> tuple[SimDevice, SimClock]:
    clock = SimClock(START, speed=0)
    sim = SimDevice(SimConfig(**config), clock, ConstantProfile(load=load_w, pv=pv_w))
    return sim, clock


def body(command: str, duration: int = 1, **params: object) -> dict[str, object]:
    return {"command": command, "duration": duration, "parameters": params or None}


def model(
    command: dict[str, Any],
    soc_pct: float,
    load_w: float,
    pv_w: float,
    span: timedelta,
    **config: Any,
) -> SlotOutcome:
    """What ``apply_command`` says the span does, from the simulator's own battery settings."""
    spec = BatteryModel(
        capacity_kwh=config.get("capacity_kwh", 4.2),
        soc_pct=soc_pct,
        backup_pct=config.get("backup_pct", 0.0),
    ).spec()
    hours = span.total_seconds() / 3600
    name = "SET_CHARGE" if command["command"] == "SET_DISCHARGE" else command["command"]
    played = Command(DeviceCommand(name), 1, command["parameters"])
    return apply_command(
        played, spec.kwh(soc_pct), load_w / 1000 * hours, pv_w / 1000 * hours, hours, spec,
        UNLIMITED_GRID,
    )  # fmt: skip


def run(
    command: dict[str, Any],
    soc_pct: float,
    load_w: float,
    pv_w: float,
    span: timedelta,
    **config: Any,
) -> tuple[SimDevice, dict[str, float]]:
    """Send ``command`` at ``START`` (no lag), run ``span``; the simulator and its metered kWh."""
    sim, clock = device(load_w, pv_w, soc_pct=soc_pct, lag=timedelta(0), **config)
    sim.command(command)
    clock.advance(span)
    totals = sim.metered(START, START + span).sum()
    return sim, {name: float(totals[name]) for name in totals.index}


CHARGE_TO_60 = body("SET_CHARGE", action="ACTION_CHARGE", power=50, soc=60)


def test_a_charge_at_50_percent_to_60_ends_where_the_device_model_says() -> None:
    sim, metered = run(CHARGE_TO_60, 50.0, 500.0, 0.0, HALF_HOUR)
    expected = model(CHARGE_TO_60, 50.0, 500.0, 0.0, HALF_HOUR)
    assert expected.soc_end_kwh == pytest.approx(4.2 * 0.60)  # the target is reached in 15 min
    assert sim.soc_pct() == pytest.approx(100 * expected.soc_end_kwh / 4.2)
    assert metered["charge_kwh"] == pytest.approx(expected.charge_kwh)
    assert metered["import_kwh"] == pytest.approx(expected.import_kwh)
    assert sim.flows().battery_w == pytest.approx(0.0, abs=1e-6)  # holding at the target


MODES = {
    "charge with PV": (body("SET_CHARGE", action="ACTION_CHARGE", power=30, soc=90), 40.0,
                       600.0, 1500.0),
    "discharge past the load": (body("SET_DISCHARGE", action="ACTION_DISCHARGE", power=80, soc=20),
                                70.0, 400.0, 0.0),
    "self-consumption to the floor": (body("SET_MAXIMIZE_AUTO_CONSUMPTION"), 15.0, 2500.0, 0.0),
    "self-consumption of a surplus": (body("SET_MAXIMIZE_AUTO_CONSUMPTION"), 95.0, 300.0, 3000.0),
    "grid injection cap": (body("SET_VARIABLE_GRID_INJECTION", maximumPower=800), 90.0, 400.0,
                           3500.0),
    "peak shaving": (body("SET_PEAK_SHAVING", maxHousePeakConsumption=1000), 60.0, 3000.0, 0.0),
    "basic mode": (body("SET_BASIC_MODE"), 50.0, 700.0, 2000.0),
    "frequency regulation (not modelled: idle)": (
        body("SET_FREQUENCY_REGULATION", powerAllocation=50, optimalSoc=50), 50.0, 700.0, 200.0),
}  # fmt: skip


@pytest.mark.parametrize("case", MODES.values(), ids=list(MODES))
def test_every_mode_moves_soc_and_meter_as_the_device_model(
    case: tuple[dict[str, Any], float, float, float],
) -> None:
    command, soc, load_w, pv_w = case
    sim, metered = run(command, soc, load_w, pv_w, HALF_HOUR, backup_pct=10.0)
    expected = model(command, soc, load_w, pv_w, HALF_HOUR, backup_pct=10.0)
    assert sim.soc_pct() == pytest.approx(100 * expected.soc_end_kwh / 4.2)
    for name, value in (
        ("charge_kwh", expected.charge_kwh),
        ("discharge_kwh", expected.discharge_kwh),
        ("import_kwh", expected.import_kwh),
        ("export_kwh", expected.export_kwh),
        ("curtailed_kwh", expected.curtail_kwh),
    ):
        assert metered[name] == pytest.approx(value, abs=1e-9), name
    assert metered["load_kwh"] == pytest.approx(load_w / 2000)
    assert metered["pv_kwh"] == pytest.approx(pv_w / 2000 - expected.curtail_kwh, abs=1e-9)
    balance = metered["load_kwh"] - metered["pv_kwh"] + metered["charge_kwh"]
    assert metered["import_kwh"] - metered["export_kwh"] == pytest.approx(
        balance - metered["discharge_kwh"], abs=1e-9
    )


def test_variable_grid_injection_charges_above_the_cap_then_curtails() -> None:
    """3 kW of surplus, export capped at 1 kW: the battery takes the other 2 kW until full,
    then the inverter throttles PV, which the status reports as lower production."""
    grid_cap = body("SET_VARIABLE_GRID_INJECTION", maximumPower=1000)
    sim, clock = device(load_w=500.0, pv_w=3500.0, soc_pct=95.0, lag=timedelta(0))
    sim.command(grid_cap)
    clock.advance(timedelta(seconds=10))
    charging = sim.flows()
    assert charging.battery_w == pytest.approx(2000.0)
    assert charging.grid_w == pytest.approx(-1000.0)
    assert charging.curtailed_w == pytest.approx(0.0)
    clock.advance(HALF_HOUR)
    full = sim.flows()
    assert sim.soc_pct() == pytest.approx(100.0)
    assert (full.battery_w, full.curtailed_w) == (pytest.approx(0.0), pytest.approx(2000.0))
    assert full.pv_w == pytest.approx(1500.0)  # produced: 3500 available, 2000 curtailed
    assert full.grid_w == pytest.approx(full.load_w - full.pv_w + full.battery_w)
    assert full.grid_w == pytest.approx(-1000.0)
    span = timedelta(seconds=10) + HALF_HOUR
    metered = sim.metered(START, START + span).sum()
    expected = model(grid_cap, 95.0, 500.0, 3500.0, span)
    assert metered["curtailed_kwh"] == pytest.approx(expected.curtail_kwh)
    assert metered["export_kwh"] == pytest.approx(expected.export_kwh)
    assert expected.export_kwh == pytest.approx(1.0 * span.total_seconds() / 3600)
    assert metered["idle_export_kwh"] == pytest.approx(3.0 * span.total_seconds() / 3600)


def test_discharge_stops_at_the_backup_level_even_with_a_lower_floor() -> None:
    sim, clock = device(soc_pct=50.0, backup_pct=30.0, lag=timedelta(0))
    sim.command(body("SET_DISCHARGE", 5, action="ACTION_DISCHARGE", power=100, soc=0))
    clock.advance(timedelta(hours=2))
    assert sim.soc_pct() == pytest.approx(30.0)
    assert sim.flows().grid_w == pytest.approx(500.0)


def test_step_reports_flows_with_the_sign_convention() -> None:
    battery = BatteryModel(capacity_kwh=4.0, soc_pct=80.0)
    discharge = {"action": "ACTION_DISCHARGE", "power": 25, "soc": 0}
    flows = step(battery, "SET_CHARGE", discharge, 500.0, 100.0, 1800.0)
    expected = model(body("SET_CHARGE", **discharge), 80.0, 500.0, 100.0, HALF_HOUR,
                     capacity_kwh=4.0)  # fmt: skip
    assert battery.soc_pct == pytest.approx(100 * expected.soc_end_kwh / 4.0)
    assert flows.battery_w == pytest.approx(-900.0)
    assert flows.grid_w == pytest.approx(500.0 - 100.0 - 900.0)


@pytest.mark.parametrize(
    ("command", "params"),
    [
        ("SET_SOMETHING_NEW", None),
        (None, None),
        ("SET_CHARGE", {"action": "ACTION_CHARGE", "power": "fast", "soc": 80}),
        ("SET_CHARGE", {"power": 50, "soc": 80}),
        ("SET_BASIC_MODE", {"action": "ACTION_CHARGE", "power": 50}),
        ("SET_PEAK_SHAVING", {}),
    ],
)
def test_modes_the_model_cannot_play_idle(command: str | None, params: dict[str, Any]) -> None:
    played = command_of(command, params)
    assert played.action is None
    battery = BatteryModel(soc_pct=50.0)
    flows = step(battery, command, params, 400.0, 100.0, 60.0)
    assert (battery.soc_pct, flows.battery_w, flows.grid_w) == (50.0, 0.0, pytest.approx(300.0))


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
    last_minute = model(body("SET_CHARGE", action="ACTION_CHARGE", power=10, soc=100),
                        soc_before_end, 500.0, 0.0, timedelta(minutes=1))  # fmt: skip
    assert sim.soc_pct() == pytest.approx(100 * last_minute.soc_end_kwh / 4.2)


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


def test_the_meter_books_every_step_by_the_minute() -> None:
    sim, clock = device(soc_pct=20.0, lag=timedelta(0))
    sim.command(body("SET_CHARGE", 1, action="ACTION_CHARGE", power=50, soc=100))
    clock.advance(timedelta(minutes=10, seconds=30))
    frame = sim.metered(START, START + timedelta(hours=1))
    assert len(frame) == 11
    assert list(frame["seconds"]) == [60.0] * 10 + [30.0]
    assert frame["import_kwh"].sum() == pytest.approx((500 + 1800) / 1000 * 10.5 / 60)
    assert frame["soc_start_pct"].iloc[0] == 20.0
    assert frame["soc_end_pct"].iloc[-1] == pytest.approx(sim.soc_pct())
    assert (frame["soc_start_pct"].iloc[1:].to_numpy() == frame["soc_end_pct"].iloc[:-1]).all()


def test_speed_factor_runs_a_day_in_seconds() -> None:
    ticks = iter([0.0, 0.0, 864.0])
    clock = SimClock(START, speed=100, real=lambda: next(ticks))
    assert clock.now() == START
    assert clock.now() == START + timedelta(days=1)


def test_a_held_clock_moves_only_by_advance_and_sleep_then_runs_on() -> None:
    real = [0.0]
    clock = SimClock(START, speed=100, real=lambda: real[0])
    real[0] = 1.0
    clock.hold()
    real[0] = 50.0
    assert clock.now() == START + timedelta(seconds=100)
    clock.sleep(2.5)  # a held clock advances instead of waiting
    assert clock.now() == START + timedelta(seconds=102.5)
    clock.release()
    real[0] = 51.0
    assert clock.now() == START + timedelta(seconds=202.5)


def test_a_clock_made_held_stays_at_its_start_until_released() -> None:
    real = [0.0]
    clock = SimClock(START, speed=100, real=lambda: real[0], held=True)
    real[0] = 30.0
    assert clock.held and clock.now() == START
    clock.release()
    real[0] = 31.0
    assert clock.now() == START + timedelta(seconds=100)
