"""The LP planner as a strategy: ``lp`` on a rolling horizon, ``perfect`` with perfect knowledge.

``perfect`` plans the whole period at once. The planner's exact model (no simultaneous
charge/discharge or import/export) needs binaries wherever prices make wasting energy pay, and a
year-long mixed-integer solve of it takes many minutes. ``perfect`` solves the same model with
the exact dynamic programme over stored energy (``optimizer.planning.dp``, seconds for a year)
and hands its path to the planner's usual command mapping and acceptance gate.
``benchmarks/perfect_check.py`` checks the optimum against HiGHS's mixed-integer solve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from optimizer.backtest.strategy import DecisionContext, Foresight
from optimizer.domain import Action, Command, DeviceCommand, PlanSlot
from optimizer.planning import ModelCache, plan_problem
from optimizer.planning.device import POWER_STEP_PCT


class LpStrategy:
    """Plan the known window with the LP and follow its device commands until the next re-plan.

    Where the plan discharges only to cover the house (it exports nothing in that slot), the
    slot is given to the device's own self-consumption mode instead of a fixed discharge power:
    the device then follows the *actual* load, so a load forecast that is too high does not
    spill battery energy to the grid at the export price, and one that is too low does not
    import at the peak price. ``follow_load=False`` keeps the planner's fixed-power commands.
    """

    name = "lp"
    foresight: Foresight = "realistic"

    def __init__(self, follow_load: bool = True) -> None:
        self.follow_load = follow_load
        # One solver-model cache per strategy object, i.e. per backtest run: the re-plans of a
        # run share their shapes, and the cache gives the fresh solve's results.
        self.cache = ModelCache()

    def decide(self, context: DecisionContext) -> Sequence[Command]:
        """The planner's commands for ``context`` (prices known so far, forecast load/PV)."""
        timetable = plan_problem(context.problem(), context.options, self.cache)
        if not self.follow_load:
            return [slot.command for slot in timetable.slots]
        return [_follow_load(slot, _step_kwh(context)) for slot in timetable.slots]


def _step_kwh(context: DecisionContext) -> float:
    """Energy (kWh) of one 5 % power step over one slot."""
    return context.battery.inverter_rating_w / 1000.0 * POWER_STEP_PCT / 100.0 * context.dt_h


def _follow_load(slot: PlanSlot, step_kwh: float) -> Command:
    """Self-consumption mode for a slot that discharges only for the house, else the plan's.

    An export below one power step (``step_kwh``) is what rounding the power up to the next
    5 % step spills, not an export the plan wanted.
    """
    if slot.action is Action.DISCHARGE and slot.grid_export_kwh < step_kwh:
        return Command(DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION, slot.command.duration_h, None)
    return slot.command


class PerfectForesight:
    """The planner over the whole period with the actual prices, load and PV: the ceiling.

    The backtester calls it once per contiguous segment; energy left at the very end is worth
    nothing. Like ``lp``, house-only discharge slots go to the self-consumption mode (with
    perfect knowledge that only saves the power-step rounding spill).
    """

    name = "perfect"
    foresight: Foresight = "perfect"

    def decide(self, context: DecisionContext) -> Sequence[Command]:
        """Commands for the whole segment from one exact solve."""
        problem = context.problem()
        options = replace(context.options, terminal_soc_value=0.0, solver="dp")
        timetable = plan_problem(problem, options)
        step_kwh = _step_kwh(context)
        return [_follow_load(slot, step_kwh) for slot in timetable.slots]
