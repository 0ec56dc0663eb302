"""The planner as a strategy: ``lp`` on a rolling horizon, ``perfect`` with perfect knowledge.

Both return the planner's ``Policy``: the exact cost-to-go of the plan (dynamic programme over
stored energy, ``optimizer.planning.dp``) and the one command choice
(``optimizer.planning.policy``) that the service also uses, asked for each slot with the SOC the
battery actually reached. A house-only discharge therefore goes to the device's
self-consumption mode wherever that is as good on the forecast: it follows the real load.
``perfect`` plans the whole period at once (seconds for a year); ``benchmarks/perfect_check.py``
checks its optimum against HiGHS's mixed-integer solve.
"""

from __future__ import annotations

from dataclasses import replace

from optimizer.backtest.strategy import DecisionContext, Foresight
from optimizer.planning import Policy, plan_policy


class LpStrategy:
    """Plan the known window and choose every slot's command from the plan's cost-to-go."""

    name = "lp"
    foresight: Foresight = "realistic"

    def decide(self, context: DecisionContext) -> Policy:
        """The plan for ``context`` (prices known so far, forecast load/PV; hedged over the
        load and PV scenarios when the context has them)."""
        return plan_policy(
            context.problem(),
            context.options,
            scenarios=context.load_scenarios,
            pv_scenarios=context.pv_scenarios,
        )


class PerfectForesight:
    """The planner over the whole period with the actual prices, load and PV: the ceiling.

    The backtester calls it once per contiguous segment; energy left at the very end is worth
    nothing.
    """

    name = "perfect"
    foresight: Foresight = "perfect"

    def decide(self, context: DecisionContext) -> Policy:
        """The plan for the whole segment from one exact solve."""
        options = replace(context.options, terminal_soc_value=0.0, solver="dp")
        return plan_policy(context.problem(), options)
