"""The device's backup level against the owner's reserve (issue 20), for the service.

The xStorage's self-consumption mode discharges down to its backup level (``bmsBackupLevel``
in ``GET /api/settings``, mirrored as ``energyFlow.batteryBackupLevel`` in the status;
``xstorage-api.md`` §4.1, §4.3), not to ``battery.min_soc_pct``. The service plans with the
level it measures and says when it differs from the reserve.
"""

from __future__ import annotations

import math
from dataclasses import replace

from optimizer.config import Settings
from optimizer.domain import BatterySpec
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
    safe_kwh = reserve_safe_from_kwh(battery, slot_minutes / 60.0)
    return battery.pct(safe_kwh) if math.isfinite(safe_kwh) else -math.inf


def backup_warning(backup_pct: float, reserve_pct: float, safe_pct: float) -> str | None:
    """What to tell the owner about the device's backup level (``None``: it is the reserve)."""
    if backup_pct < reserve_pct:
        return (
            f"device backup level (bmsBackupLevel) {backup_pct:g} % is below the reserve "
            f"battery.min_soc_pct = {reserve_pct:g} %: the device's self-consumption mode "
            f"discharges down to {backup_pct:g} %; the service's reserve guard ends it (basic "
            f"mode) at a reading at or below {safe_pct:.0f} %, but if the service stops, the "
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
