"""Planning policies with one interface (``optimizer.backtest.strategy.Strategy``), found by name.

Built-ins: ``lp`` (the planner on a rolling horizon), ``perfect`` (the planner over the whole
period with perfect knowledge: the upper bound on savings), ``cheapest-slots``, ``self-use``
and ``none``. They import only the optimizer core (planning, domain, timeseries, errors).
"""

from __future__ import annotations

from optimizer.backtest.strategy import DecisionContext, Strategy

__all__ = ["DecisionContext", "Strategy"]
