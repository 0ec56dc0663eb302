"""What a solve of the planner's model returns, and the tolerances every solver shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.timeseries import FloatArray

#: Below this many kWh in a slot, a flow counts as zero (solver tolerance, not a physical limit).
FLOW_TOL_KWH = 1e-6
#: A tie-breaker (currency per kWh through the battery): when moving energy gains exactly
#: nothing (flat prices), the plan leaves the battery alone instead of picking any equal cycle.
TIE_BREAK_PER_KWH = 1e-6


@dataclass(frozen=True, slots=True)
class LpSolution:
    """The solver's answer, per slot (kWh over the slot) plus its objective and method.

    ``exact_slots``: how many slots of the plain LP's optimum did both directions, so that the
    exact dynamic programme decided instead (0: the LP's optimum is the answer).
    """

    charge_kwh: FloatArray
    discharge_kwh: FloatArray
    import_kwh: FloatArray
    export_kwh: FloatArray
    curtail_kwh: FloatArray
    soc_end_kwh: FloatArray
    objective: float
    solver: str
    exact_slots: int = 0


def both_directions(
    charge: FloatArray, discharge: FloatArray, imp: FloatArray, exp: FloatArray
) -> int:
    """How many (slot, pair) flows both run: charge with discharge, import with export."""
    battery = np.minimum(charge, discharge) > FLOW_TOL_KWH
    grid = np.minimum(imp, exp) > FLOW_TOL_KWH
    return int(battery.sum() + grid.sum())
