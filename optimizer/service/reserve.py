"""The device's backup level against the owner's reserve (issue 20), for the service.

The xStorage's self-consumption mode discharges down to its backup level (``bmsBackupLevel``
in ``GET /api/settings``, mirrored as ``energyFlow.batteryBackupLevel`` in the status;
``xstorage-api.md`` §4.1, §4.3), not to ``battery.min_soc_pct``. The service plans with the
level it measures and says when it differs from the reserve.
"""

from __future__ import annotations

import math
from dataclasses import replace

from optimizer import commands
from optimizer.config import Settings
from optimizer.domain import BatterySpec, Command
from optimizer.planning.device import MAX_POWER_PCT, MIN_POWER_PCT, POWER_STEP_PCT
from optimizer.planning.guard import guarded
from optimizer.planning.policy import reserve_safe_from_kwh


def planning_battery(settings: Settings, backup_pct: float | None) -> BatterySpec:
    """``[battery]`` with the device's measured backup level (%; ``None``: unknown), which is
    also the reserve where it is higher (the device never discharges below it)."""
    spec = settings.battery.spec()
    if backup_pct is not None:
        spec = replace(spec, backup_pct=backup_pct, min_soc_pct=max(spec.min_soc_pct, backup_pct))
    return guarded(spec, settings.service.poll_seconds)


def self_consumption_safe_pct(battery: BatterySpec, slot_minutes: int) -> float:
    """SOC (%) from which self-consumption cannot reach the reserve within a slot (-inf where
    the backup level keeps the reserve itself)."""
    if battery.guard_pct > 0:  # the fallback is decided again at every reading
        return battery.guard_pct + 1e-6
    safe_kwh = reserve_safe_from_kwh(battery, slot_minutes / 60.0)
    return battery.pct(safe_kwh) if math.isfinite(safe_kwh) else -math.inf


def backup_warning(backup_pct: float, reserve_pct: float, safe_pct: float) -> str | None:
    """What to tell the owner about the device's backup level (``None``: it is the reserve)."""
    if backup_pct < reserve_pct:
        return (
            f"device backup level (bmsBackupLevel) {backup_pct:g} % is below the reserve "
            f"battery.min_soc_pct = {reserve_pct:g} %: the device's self-consumption mode "
            f"discharges down to {backup_pct:g} %; the service's reserve guard ends it at a "
            f"reading at or below {safe_pct:.0f} % (a discharge to the reserve at the house's "
            f"power, or basic mode), but if the service stops, the "
            f"device's own modes go down to {backup_pct:g} %: set the backup level to "
            f"{reserve_pct:g} % on the device"
        )
    if backup_pct > reserve_pct:
        return (
            f"device backup level (bmsBackupLevel) {backup_pct:g} % is above the reserve "
            f"battery.min_soc_pct = {reserve_pct:g} %: the device never discharges below it; "
            f"plans keep {backup_pct:g} % as the reserve"
        )
    return None


def guard_command(
    battery: BatterySpec,
    soc_pct: float | None,
    net_load_w: float,
    duration_h: int,
    discharge_command: str,
) -> tuple[Command, str] | None:
    """The reserve guard's command while a mode that discharges to the device's backup level
    runs (``optimizer.planning.guard``), and why; ``None``: let the mode run.

    ``soc_pct`` is the fresh measured SOC (``None``: no fresh reading), ``net_load_w`` the
    house's load less PV (W) at that reading. At or below ``battery.guard_pct`` with the house
    drawing more than the PV: a forced discharge at that power (nearest 5 % step of
    ``inverter_rating_w``, 5..100 %) to the reserve, its floor; at or below the reserve, or
    with no fresh reading: basic mode."""
    threshold = battery.guard_pct
    if threshold <= 0:
        return None
    if soc_pct is not None and (soc_pct > threshold or net_load_w <= 0):
        return None
    if soc_pct is None:
        return commands.basic(duration_h), "no fresh SOC reading"
    reserve = math.ceil(battery.min_soc_pct - 1e-9)
    if soc_pct <= reserve:
        return commands.basic(duration_h), f"measured SOC {soc_pct:g} %"
    steps = round(net_load_w / battery.inverter_rating_w * 100 / POWER_STEP_PCT)
    power = min(MAX_POWER_PCT, max(MIN_POWER_PCT, steps * POWER_STEP_PCT))
    command = commands.discharge(
        int(power), reserve, duration_h, discharge_command=discharge_command
    )
    return command, f"measured SOC {soc_pct:g} % is at or below {threshold:g} %"
