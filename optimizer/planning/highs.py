"""PuLP's HiGHS interface, with the model handed to HiGHS in bulk.

PuLP's own ``HiGHS.buildSolverModel`` adds one column and one row per Python call, which costs
more than solving our small LPs. This subclass collects bounds, costs and the constraint matrix
into arrays and passes them with one ``addCols`` and one ``addRows`` call. Everything else
(status mapping, reading the solution back into the PuLP variables) is PuLP's.

HiGHS prints a banner from C the first time a ``Highs`` object is made, straight to file
descriptor 1; that would corrupt ``--json`` output, so the first construction is silenced.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import highspy
import numpy as np
import pulp

_banner_lock = threading.Lock()
_banner_done = False


def new_highs() -> Any:
    """A silent, single-threaded ``highspy.Highs`` (the one-time C banner is discarded).

    HiGHS's thread pool is global and fixed by the first run: a later solve asking for another
    thread count fails ("Not Solved"), so every model made here uses one thread.
    """
    global _banner_done
    with _banner_lock:
        if _banner_done:
            highs = highspy.Highs()  # type: ignore[no-untyped-call]
        else:
            sys.stdout.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                highs = highspy.Highs()  # type: ignore[no-untyped-call]
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
            _banner_done = True
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    return highs


class BulkHiGHS(pulp.HiGHS):  # type: ignore[misc]
    """``pulp.HiGHS`` that builds the HiGHS model with array calls."""

    def createAndConfigureSolver(self, lp: pulp.LpProblem) -> None:  # noqa: N802 (PuLP's name)
        lp.solverModel = new_highs()
        options: dict[str, Any] = {
            "mip_rel_gap": self.gapRel,
            "mip_abs_gap": self.gapAbs,
            "threads": self.threads,
            "time_limit": None if self.timeLimit is None else float(self.timeLimit),
        }
        for key, value in {**options, **self.optionsDict}.items():
            if value is not None:
                lp.solverModel.setOptionValue(key, value)

    def actualSolve(self, lp: pulp.LpProblem) -> int:  # noqa: N802 (PuLP's name)
        """PuLP's sequence, less one of its three full passes over the variables."""
        self.createAndConfigureSolver(lp)
        self.buildSolverModel(lp)
        self.callSolver(lp)
        status, sol_status = self.findSolutionValues(lp)
        lp.assignStatus(status, sol_status)
        return int(status)

    def buildSolverModel(self, lp: pulp.LpProblem) -> None:  # noqa: N802 (PuLP's name)
        inf = highspy.kHighsInf
        variables = lp.variables()
        objective = lp.objective
        n = len(variables)
        cost = np.empty(n)
        lower = np.empty(n)
        upper = np.empty(n)
        integer: list[int] = []
        for k, var in enumerate(variables):
            var.index = k
            cost[k] = objective.get(var, 0.0)
            lower[k] = -inf if var.lowBound is None else var.lowBound
            upper[k] = inf if var.upBound is None else var.upBound
            if var.cat == pulp.LpInteger and self.mip:
                integer.append(k)
        if lp.sense == pulp.LpMaximize:
            cost = -cost
        empty = np.zeros(0, dtype=np.int32)
        lp.solverModel.addCols(n, cost, lower, upper, 0, empty, empty, np.zeros(0))
        if integer:
            kinds = np.full(len(integer), highspy.HighsVarType.kInteger)
            lp.solverModel.changeColsIntegrality(
                len(integer), np.array(integer, dtype=np.int32), kinds
            )
        self._add_rows(lp, inf)

    @staticmethod
    def _add_rows(lp: pulp.LpProblem, inf: float) -> None:
        constraints = list(lp._constraints.values())
        m = len(constraints)
        row_lower = np.empty(m)
        row_upper = np.empty(m)
        starts = np.empty(m, dtype=np.int32)
        columns: list[int] = []
        values: list[float] = []
        for r, constraint in enumerate(constraints):
            constraint.index = r
            starts[r] = len(columns)
            for var, coefficient in constraint.items():
                if coefficient:
                    columns.append(var.index)
                    values.append(coefficient)
            low, high = constraint.getLb(), constraint.getUb()
            row_lower[r] = -inf if low is None else low
            row_upper[r] = inf if high is None else high
        lp.solverModel.addRows(
            m,
            row_lower,
            row_upper,
            len(columns),
            starts,
            np.array(columns, dtype=np.int32),
            np.array(values, dtype=np.float64),
        )
