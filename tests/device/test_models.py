"""Tolerant parsing: unknown fields ignored, unknown enum strings kept, units and time scales."""

from __future__ import annotations

from datetime import UTC, datetime

from optimizer.device.models import (
    BatteryStatus,
    DeviceInfo,
    DeviceSettingsView,
    DeviceStatus,
    Diagnostics,
    EnergyFlow,
    Metrics,
    Role,
)
from optimizer.domain import DeviceCommand

SAMPLE_STATUS = {  # the reference's sample: 406 W while BAT_CHARGING
    "currentMode": {
        "id": "uuid",
        "command": "SET_CHARGE",
        "createdAt": 1752584987000,
        "updatedAt": 1752584987000,
        "duration": 1,
        "startTime": 1409,
        "endTime": 1509,
        "recurrence": "MANUAL_EVENT",
        "type": "MANUAL",
        "parameters": {"action": "ACTION_CHARGE", "power": 15, "soc": 90},
        "user": {"id": "0", "firstName": "Local", "lastName": "User"},
    },
    "energyFlow": {
        "batteryBackupLevel": 0,
        "batteryStatus": "BAT_CHARGING",
        "batteryEnergyFlow": 406,
        "gridRole": "NONE",
        "gridValue": 0,
        "operationMode": "CHARGING",
        "stateOfCharge": 88,
    },
}


def test_sample_status_parses_with_units() -> None:
    status = DeviceStatus.model_validate(SAMPLE_STATUS)
    assert status.energy_flow.soc_pct == 88
    assert status.energy_flow.battery_power_w == 406
    mode = status.current_mode
    assert mode is not None
    assert mode.command is DeviceCommand.SET_CHARGE
    assert mode.created_at == datetime(2025, 7, 15, 13, 9, 47, tzinfo=UTC)  # milliseconds
    assert (mode.action, mode.power_pct, mode.soc_pct) == ("ACTION_CHARGE", 15, 90)
    assert status.current_mode_raw == SAMPLE_STATUS["currentMode"]


def test_battery_direction_comes_from_status_never_from_the_sign() -> None:
    for flow, state, expected in [
        (406, "BAT_CHARGING", 406.0),
        (-406, "BAT_CHARGING", 406.0),
        (406, "BAT_DISCHARGING", -406.0),
        (-406, "BAT_DISCHARGING", -406.0),
        (406, "BAT_IDLE", 0.0),
    ]:
        energy = EnergyFlow.model_validate(
            {"stateOfCharge": 50, "batteryStatus": state, "batteryEnergyFlow": flow}
        )
        assert energy.battery_power_w == expected


def test_grid_sign_from_role() -> None:
    base = {"stateOfCharge": 50, "batteryStatus": "BAT_IDLE", "gridValue": 700}
    assert EnergyFlow.model_validate(base | {"gridRole": "CONSUMER"}).grid_power_w == 700
    assert EnergyFlow.model_validate(base | {"gridRole": "PRODUCER"}).grid_power_w == -700
    assert EnergyFlow.model_validate(base | {"gridRole": "PRODUCER"}).grid_role is Role.PRODUCER


def test_unknown_fields_and_enum_values_are_kept_as_strings() -> None:
    raw = {
        "currentMode": {"command": "SET_TURBO", "parameters": None, "status": "ACTIVE"},
        "energyFlow": {
            "stateOfCharge": 42,
            "batteryStatus": "CHARGE",
            "batteryEnergyFlow": 900,
            "gridRole": "SUPPLYING",
            "operationMode": "STATE_GRID_INJECTION",
            "somethingNew": {"nested": True},
        },
        "brandNewBlock": [1, 2, 3],
    }
    status = DeviceStatus.model_validate(raw)
    assert status.current_mode is not None
    assert status.current_mode.command == "SET_TURBO"
    assert status.energy_flow.battery_status == "CHARGE"
    assert not isinstance(status.energy_flow.battery_status, BatteryStatus)
    assert status.energy_flow.battery_power_w == 0.0  # unknown direction: not guessed
    assert status.energy_flow.grid_role == "SUPPLYING"
    assert status.energy_flow.operation_mode == "STATE_GRID_INJECTION"


def test_device_and_settings_use_epoch_seconds() -> None:
    info = DeviceInfo.model_validate(
        {"createdAt": 1752284944, "timezone": {"id": "Europe/London", "name": "London"}, "x": 1}
    )
    assert info.created_at == datetime(2025, 7, 12, 1, 49, 4, tzinfo=UTC)
    assert info.timezone == "Europe/London"
    settings = DeviceSettingsView.model_validate(
        {
            "defaultMode": {
                "command": "SET_BASIC_MODE",
                "parameters": None,
                "updatedAt": 1752284944,
            },
            "bmsBackupLevel": 20,
            "inverterPowerRating": 0,
            "inverterVaRating": 3600,
        }
    )
    assert settings.default_mode is not None
    assert settings.default_mode.updated_at == datetime(2025, 7, 12, 1, 49, 4, tzinfo=UTC)
    assert settings.backup_level_pct == 20
    assert settings.full_scale_w == 3600  # inverterPowerRating 0 falls back to the VA rating


def test_metrics_time_is_milliseconds_and_values_average_watts() -> None:
    metrics = Metrics.model_validate(
        {
            "metrics": [
                {
                    "totalHouseConsumption": 3016.8132,
                    "photovoltaicProduction": 0,
                    "batteryStateOfCharge": 85,
                    "time": 1786372500000,
                    "month": "",
                }
            ]
        }
    )
    sample = metrics.samples[0]
    assert sample.time == datetime(2026, 8, 10, 14, 35, tzinfo=UTC)
    assert sample.house_load_w == 3016.8132


def test_diagnostics_flattened() -> None:
    diag = Diagnostics.model_validate(
        {
            "cpuUsage": {"used": 7},
            "ramUsage": {"total": 10, "used": 5},
            "diskUsage": {"partition": []},
        }
    )
    assert (diag.cpu_used_pct, diag.ram_total_bytes, diag.ram_used_bytes) == (7, 10, 5)
