"""The LP planner as a strategy: ``lp`` on a rolling horizon, ``perfect`` with perfect knowledge.

``perfect`` must plan a whole year at once, and the planner's exact model (no simultaneous
charge/discharge or import/export) then needs binaries wherever prices make wasting energy pay,
which makes one year-long mixed-integer solve take many minutes. It is decomposed instead:

1. solve the year's LP *relaxation* (``strategies.relaxation``, seconds); its optimum is a lower
   bound on the cost of any feasible plan, and its state duals value stored energy at every slot;
2. plan each week with the exact planner, valuing the energy left at the week's end at the
   relaxation's dual for that slot (the Lagrangian price of the SOC that links the weeks), and
   start the next week from the SOC the executed commands really reach.

The chained weeks are a feasible plan, so its cost is an upper bound; ``gap_per_segment`` records
how far it is from the relaxation's lower bound, which certifies how close to exact it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from optimizer.domain import Action, Command, DeviceCommand, PlanSlot
from optimizer.planning import ModelCache, Problem, plan_problem
from optimizer.planning.execution import POWER_STEP_PCT
from optimizer.strategy import DecisionContext, Foresight
from strategies.relaxation import solve_relaxation

BLOCK_DAYS = 7


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


def _block(problem: Problem, a: int, b: int, soc_kwh: float) -> Problem:
    return replace(
        problem,
        index=problem.index[a:b],
        price_import=problem.price_import[a:b],
        price_export=problem.price_export[a:b],
        load_kwh=problem.load_kwh[a:b],
        pv_kwh=problem.pv_kwh[a:b],
        soc_start_kwh=soc_kwh,
    )


class PerfectForesight:
    """The LP over the whole period with the actual prices, load and PV: the savings ceiling.

    The backtester calls it once per contiguous segment; energy left at the very end is worth
    nothing. Like ``lp``, house-only discharge slots go to the self-consumption mode (with
    perfect knowledge that only saves the power-step rounding spill). ``bounds`` collects, per
    segment, the relaxation's lower bound on cost and the chained weekly plans' LP cost (both
    currency units, before device-command rounding).
    """

    name = "perfect"
    foresight: Foresight = "perfect"

    def __init__(self, block_days: float = BLOCK_DAYS) -> None:
        self.block_days = block_days
        self.bounds: list[tuple[float, float]] = []

    def decide(self, context: DecisionContext) -> Sequence[Command]:
        """Commands for the whole segment, planned week by week (see the module docstring)."""
        problem = context.problem()
        relaxed = solve_relaxation(problem)
        block = max(1, round(self.block_days * 24 / context.dt_h))
        commands: list[Command] = []
        soc, lp_cost = problem.soc_start_kwh, 0.0
        step_kwh = _step_kwh(context)
        for a in range(0, problem.n, block):
            b = min(problem.n, a + block)
            value = float(relaxed.soc_value_per_kwh[b - 1]) if b < problem.n else 0.0
            options = replace(context.options, terminal_soc_value=value)
            timetable = plan_problem(_block(problem, a, b, soc), options)
            commands.extend(_follow_load(slot, step_kwh) for slot in timetable.slots)
            soc = problem.battery.kwh(timetable.slots[-1].soc_end_pct)
            lp_cost += timetable.lp_cost
        self.bounds.append((relaxed.cost, lp_cost))
        return commands
