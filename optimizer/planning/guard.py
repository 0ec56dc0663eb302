"""The service's in-slot reserve guard, as the planner and the backtest model it (issue 20).

The xStorage's self-consumption and peak-shaving modes discharge down to the device's backup
level (``bmsBackupLevel``, ``xstorage-api.md`` §4.3; factory value 0 %), not to the owner's
reserve (``battery.min_soc_pct``). Where the backup level is below the reserve, the service
watches the SOC at every poll while such a mode runs and, at a reading at or below the guard's
threshold, sends a forced discharge at the house's power whose target (its floor) is the
reserve, or basic mode at or below the reserve, until the next slot's decision
(``optimizer.service.core``). The threshold is the reserve plus what the battery can lose
before the next reading and the command's effect:

``margin = ceil(max_discharge_kw × (poll_seconds + GUARD_LAG_S) / 3600 / capacity_kwh × 100
+ READING_MARGIN_PCT)`` %, whole percent as the device reports SOC.

``GUARD_LAG_S`` covers the status lag after a command (0.4–3 s measured, ``xstorage-api.md``
§5) and the command's round trip, with room for power flows that follow later [?]. The seconds
are the device's real seconds (``service.poll_seconds`` as configured; ``run --speed`` runs the
simulator's clock faster, not the real device's). With the guard, the planner may offer
self-consumption from any SOC, and models it serving the house down to the reserve
(``optimizer.planning.device.mode_floor_pct``).
"""

from __future__ import annotations

import math
from dataclasses import replace

from optimizer.domain import BatterySpec

#: Seconds, beyond one poll interval, between a reading and the device acting on the guard's
#: command: status lag (≤ 3 s measured), the HTTPS round trip and a sign-in if due.
GUARD_LAG_S = 30.0
#: The device reports whole-percent SOC: the true SOC may lie this far below the reading (%).
READING_MARGIN_PCT = 0.5


def guard_margin_pct(battery: BatterySpec, poll_seconds: float) -> float:
    """Whole percentage points above the reserve at which the guard ends self-consumption:
    the most the battery can lose in ``poll_seconds + GUARD_LAG_S`` seconds at
    ``max_discharge_kw``, plus ``READING_MARGIN_PCT``, rounded up. ``poll_seconds`` > 0."""
    b = battery
    drain_pct = b.max_discharge_kw * (poll_seconds + GUARD_LAG_S) / 3600.0 / b.capacity_kwh * 100
    return float(math.ceil(drain_pct + READING_MARGIN_PCT - 1e-9))


def guard_pct(battery: BatterySpec, poll_seconds: float) -> float:
    """The guard's threshold SOC (%): reserve + ``guard_margin_pct``; 0 (no guard) where the
    device's backup level keeps the reserve itself (``backup_pct >= min_soc_pct``)."""
    if battery.backup_pct >= battery.min_soc_pct - 1e-9:
        return 0.0
    return battery.min_soc_pct + guard_margin_pct(battery, poll_seconds)


def guarded(battery: BatterySpec, poll_seconds: float) -> BatterySpec:
    """``battery`` with the service's guard (``guard_pct``) set for polls every
    ``poll_seconds`` (the planner's and the backtest's battery; never the simulator's)."""
    return replace(battery, guard_pct=guard_pct(battery, poll_seconds))
