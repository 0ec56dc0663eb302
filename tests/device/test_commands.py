"""The pure command builders: wire bodies, limits named by field, read-back comparison."""

from __future__ import annotations

import pytest

from optimizer import commands
from optimizer.domain import Command, DeviceCommand
from optimizer.errors import InvalidInput


def test_charge_body_is_the_device_wire_format() -> None:
    assert commands.charge(50, 90, 2).body() == {
        "command": "SET_CHARGE",
        "duration": 2,
        "parameters": {"action": "ACTION_CHARGE", "power": 50, "soc": 90},
    }


def test_discharge_defaults_to_the_device_ui_form() -> None:
    body = commands.discharge(40, 20, 1).body()
    assert body["command"] == "SET_CHARGE"
    assert body["parameters"] == {"action": "ACTION_DISCHARGE", "power": 40, "soc": 20}


def test_discharge_can_be_sent_as_set_discharge() -> None:
    body = commands.discharge(40, 20, 1, discharge_command="SET_DISCHARGE").body()
    assert body["command"] == "SET_DISCHARGE"
    assert body["parameters"]["action"] == "ACTION_DISCHARGE"


@pytest.mark.parametrize(
    ("build", "body"),
    [
        (
            lambda: commands.basic(3),
            {"command": "SET_BASIC_MODE", "duration": 3, "parameters": None},
        ),
        (
            lambda: commands.maximize_auto_consumption(12),
            {"command": "SET_MAXIMIZE_AUTO_CONSUMPTION", "duration": 12, "parameters": None},
        ),
        (
            lambda: commands.variable_grid_injection(-500, 1),
            {
                "command": "SET_VARIABLE_GRID_INJECTION",
                "duration": 1,
                "parameters": {"maximumPower": -500},
            },
        ),
        (
            lambda: commands.frequency_regulation(30, 60, 1),
            {
                "command": "SET_FREQUENCY_REGULATION",
                "duration": 1,
                "parameters": {"powerAllocation": 30, "optimalSoc": 60},
            },
        ),
        (
            lambda: commands.peak_shaving(2500, 4),
            {
                "command": "SET_PEAK_SHAVING",
                "duration": 4,
                "parameters": {"maxHousePeakConsumption": 2500},
            },
        ),
    ],
)
def test_other_modes_bodies(build, body) -> None:
    assert build().body() == body


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: commands.charge(4, 50, 1), "power_pct"),
        (lambda: commands.charge(101, 50, 1), "power_pct"),
        (lambda: commands.charge(50.5, 50, 1), "power_pct"),
        (lambda: commands.charge(True, 50, 1), "power_pct"),
        (lambda: commands.charge(50, -1, 1), "soc_pct"),
        (lambda: commands.charge(50, 101, 1), "soc_pct"),
        (lambda: commands.charge(50, 50, 0), "duration_h"),
        (lambda: commands.charge(50, 50, 13), "duration_h"),
        (lambda: commands.basic(0), "duration_h"),
        (lambda: commands.discharge(50, 10, 1, backup_pct=20), "soc_pct"),
        (lambda: commands.discharge(50, 30, 1, discharge_command="SET_BOGUS"), "discharge_command"),
        (lambda: commands.variable_grid_injection(-1001, 1), "maximum_power_w"),
        (lambda: commands.frequency_regulation(101, 50, 1), "power_allocation_pct"),
        (lambda: commands.peak_shaving(0, 1), "max_house_peak_w"),
    ],
)
def test_invalid_input_names_the_field(build, field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        build()


def test_limits_are_inclusive_and_integral_floats_accepted() -> None:
    assert commands.charge(5.0, 0, 1).parameters == {
        "action": "ACTION_CHARGE",
        "power": 5,
        "soc": 0,
    }
    assert commands.charge(100, 100, 12).duration_h == 12
    assert commands.discharge(50, 20, 1, backup_pct=20).parameters["soc"] == 20


def test_validate_rechecks_commands_built_elsewhere() -> None:
    bad = Command(DeviceCommand.SET_CHARGE, 1, {"action": "ACTION_CHARGE", "power": 200, "soc": 50})
    with pytest.raises(InvalidInput, match="power_pct"):
        commands.validate(bad)
    with pytest.raises(InvalidInput, match="action"):
        commands.validate(Command(DeviceCommand.SET_CHARGE, 1, {"power": 50, "soc": 50}))


def test_differences_takes_direction_from_action_not_command() -> None:
    sent = commands.discharge(40, 20, 1, discharge_command="SET_DISCHARGE")
    echoed = {
        "command": "SET_CHARGE",
        "duration": 1,
        "parameters": {"action": "ACTION_DISCHARGE", "power": 40, "soc": 20},
    }
    assert commands.differences(sent, echoed) == []
    charging = {**echoed, "parameters": {"action": "ACTION_CHARGE", "power": 40, "soc": 20}}
    assert commands.differences(sent, charging) == [
        "mode SET_CHARGE/ACTION_CHARGE instead of SET_CHARGE/ACTION_DISCHARGE"
    ]


def test_differences_reports_power_soc_and_duration() -> None:
    sent = commands.charge(50, 90, 2)
    seen = {
        "command": "SET_CHARGE",
        "duration": 1,
        "parameters": {"action": "ACTION_CHARGE", "power": 15, "soc": 80},
    }
    problems = commands.differences(sent, seen)
    assert any("power" in p for p in problems)
    assert any("soc" in p for p in problems)
    assert any("duration" in p for p in problems)
    assert commands.differences(sent, None) == ["currentMode is empty"]
