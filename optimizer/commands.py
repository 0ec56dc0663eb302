"""Pure builders for ``POST /api/device/command`` bodies, with the device's limits checked first.

Every builder returns an ``optimizer.domain.Command`` (whose ``.body()`` is the wire body) or
raises ``InvalidInput`` naming the field, the value and what is allowed. Nothing here does I/O,
so the planner and the executor can build commands the same way the CLI does.

Units: ``power_pct`` is an integer percentage of the inverter's full-scale rating (5..100),
``soc_pct`` an integer target state of charge (0..100), ``duration_h`` whole hours (1..12),
``*_w`` watts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from optimizer.domain import Command, DeviceCommand
from optimizer.errors import InvalidInput

POWER_PCT_MIN, POWER_PCT_MAX = 5, 100
SOC_PCT_MIN, SOC_PCT_MAX = 0, 100
DURATION_H_MIN, DURATION_H_MAX = 1, 12
GRID_INJECTION_W_MIN, GRID_INJECTION_W_MAX = -1000, 30_000
PEAK_W_MIN, PEAK_W_MAX = 1, 30_000

ACTION_CHARGE = "ACTION_CHARGE"
ACTION_DISCHARGE = "ACTION_DISCHARGE"


def _whole(name: str, value: object, low: int, high: int, unit: str) -> int:
    """``value`` as an int in ``[low, high]``; integral floats are accepted, bools are not."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            f"{name} = {value!r}: must be a whole number from {low} to {high} {unit}"
        )
    return value


def _duration(duration_h: object) -> int:
    return _whole("duration_h", duration_h, DURATION_H_MIN, DURATION_H_MAX, "hours")


def _battery(action: str, power_pct: object, soc_pct: object) -> dict[str, Any]:
    return {
        "action": action,
        "power": _whole(
            "power_pct", power_pct, POWER_PCT_MIN, POWER_PCT_MAX, "% of inverter rating"
        ),
        "soc": _whole("soc_pct", soc_pct, SOC_PCT_MIN, SOC_PCT_MAX, "%"),
    }


def charge(power_pct: int, soc_pct: int, duration_h: int) -> Command:
    """Charge (from PV and/or grid) at ``power_pct`` until ``soc_pct`` or ``duration_h`` ends."""
    params = _battery(ACTION_CHARGE, power_pct, soc_pct)
    return Command(DeviceCommand.SET_CHARGE, _duration(duration_h), params)


def discharge(
    power_pct: int,
    soc_pct: int,
    duration_h: int,
    *,
    discharge_command: str = "SET_CHARGE",
    backup_pct: float | None = None,
) -> Command:
    """Discharge at ``power_pct`` down to the floor ``soc_pct`` for at most ``duration_h``.

    Sent as ``SET_CHARGE`` + ``ACTION_DISCHARGE`` (the device UI's form) unless
    ``discharge_command == "SET_DISCHARGE"``. With ``backup_pct`` (the device's
    ``bmsBackupLevel``) a floor below the backup level is rejected.
    """
    if discharge_command not in (DeviceCommand.SET_CHARGE, DeviceCommand.SET_DISCHARGE):
        raise InvalidInput(
            f"discharge_command = {discharge_command!r}: must be SET_CHARGE or SET_DISCHARGE"
        )
    params = _battery(ACTION_DISCHARGE, power_pct, soc_pct)
    command = Command(DeviceCommand(discharge_command), _duration(duration_h), params)
    if backup_pct is not None:
        check_floor(command, backup_pct)
    return command


def check_floor(command: Command, backup_pct: float) -> None:
    """Reject a discharge whose ``soc`` floor is below the device backup level ``backup_pct``."""
    if command.action != ACTION_DISCHARGE or command.parameters is None:
        return
    soc = command.parameters["soc"]
    if soc < backup_pct:
        raise InvalidInput(
            f"soc_pct = {soc}: a discharge floor must not be below the device backup level "
            f"({backup_pct:g} %)"
        )


def basic(duration_h: int) -> Command:
    """Basic mode ("unit on", no forced battery action) for ``duration_h``."""
    return Command(DeviceCommand.SET_BASIC_MODE, _duration(duration_h), None)


def maximize_auto_consumption(duration_h: int) -> Command:
    """Self-consumption mode for ``duration_h``."""
    return Command(DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION, _duration(duration_h), None)


def variable_grid_injection(maximum_power_w: int, duration_h: int) -> Command:
    """Cap export at ``maximum_power_w`` (negative: force that much minimum import)."""
    power = _whole(
        "maximum_power_w", maximum_power_w, GRID_INJECTION_W_MIN, GRID_INJECTION_W_MAX, "W"
    )
    return Command(
        DeviceCommand.SET_VARIABLE_GRID_INJECTION, _duration(duration_h), {"maximumPower": power}
    )


def frequency_regulation(
    power_allocation_pct: int, optimal_soc_pct: int, duration_h: int
) -> Command:
    """Frequency regulation with ``power_allocation_pct`` and ``optimal_soc_pct`` (both 0..100)."""
    params = {
        "powerAllocation": _whole("power_allocation_pct", power_allocation_pct, 0, 100, "%"),
        "optimalSoc": _whole("optimal_soc_pct", optimal_soc_pct, 0, 100, "%"),
    }
    return Command(DeviceCommand.SET_FREQUENCY_REGULATION, _duration(duration_h), params)


def peak_shaving(max_house_peak_w: int, duration_h: int) -> Command:
    """Peak shaving: keep the house's grid draw below ``max_house_peak_w``."""
    peak = _whole("max_house_peak_w", max_house_peak_w, PEAK_W_MIN, PEAK_W_MAX, "W")
    params = {"maxHousePeakConsumption": peak}
    return Command(DeviceCommand.SET_PEAK_SHAVING, _duration(duration_h), params)


def validate(command: Command) -> Command:
    """Re-check a ``Command`` built elsewhere (e.g. by the planner) against the device limits."""
    _duration(command.duration_h)
    params = command.parameters or {}
    if command.action is not None:
        if command.action not in (ACTION_CHARGE, ACTION_DISCHARGE):
            raise InvalidInput(
                f"action = {command.action!r}: must be ACTION_CHARGE or ACTION_DISCHARGE"
            )
        _battery(command.action, params.get("power"), params.get("soc"))
    elif command.command in (DeviceCommand.SET_CHARGE, DeviceCommand.SET_DISCHARGE):
        raise InvalidInput(f"{command.command}: parameters.action is required")
    return command


def _kind(command: str | None, action: str | None) -> tuple[str | None, str | None]:
    """``(command, action)``, ``SET_DISCHARGE`` folded into ``SET_CHARGE``+``ACTION_DISCHARGE``."""
    if command == DeviceCommand.SET_DISCHARGE:
        return str(DeviceCommand.SET_CHARGE), ACTION_DISCHARGE
    return command, action


def differences(sent: Command, mode: Mapping[str, Any] | None) -> list[str]:
    """What in the device's ``currentMode`` differs from ``sent``; empty when it matches.

    Direction comes from ``parameters.action``, so a discharge sent as ``SET_DISCHARGE`` matches a
    mode the device reports as ``SET_CHARGE`` + ``ACTION_DISCHARGE``.
    """
    if not mode:
        return ["currentMode is empty"]
    params = mode.get("parameters") or {}
    seen = _kind(mode.get("command"), params.get("action"))
    want = _kind(str(sent.command), sent.action)
    problems = []
    if seen != want:
        problems.append(f"mode {seen[0]}/{seen[1]} instead of {want[0]}/{want[1]}")
    for key, value in (sent.parameters or {}).items():
        if key != "action" and params.get(key) != value:
            problems.append(f"parameters.{key} = {params.get(key)!r} instead of {value!r}")
    if mode.get("duration") not in (None, sent.duration_h):
        problems.append(f"duration = {mode.get('duration')!r} instead of {sent.duration_h}")
    return problems
