"""A cost-to-go that hedges over load (and PV) scenarios: plans that expect forecasts to err.

The expected least cost from every stored energy over a few weighted load paths is the weighted
mean of each path's exact cost-to-go (each a piecewise-linear function from
``optimizer.planning.dp``), taken on the energies every path can reach. The policy then chooses
each slot's one command against it exactly as against a single forecast's: a plan that stores
for the likely range of evening loads, not for their mean. This is the "expected value over
scenarios with a common first decision" of stochastic programming with the later decisions
allowed to see their own scenario (wait-and-see), which makes it slightly optimistic.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from optimizer.planning.dp import CostToGo, cost_to_go
from optimizer.planning.inputs import Problem
from optimizer.planning.pwl import Pwl, simplify
from optimizer.timeseries import FloatArray


def mean_pwl(functions: list[Pwl], weights: FloatArray) -> Pwl | None:
    """The weighted mean of ``functions`` where all are defined (``None``: nowhere)."""
    lo = max(float(f.x[0]) for f in functions)
    hi = min(float(f.x[-1]) for f in functions)
    if lo > hi:
        return None
    inner = [f.x[(f.x >= lo) & (f.x <= hi)] for f in functions]
    x = np.unique(np.concatenate([*inner, np.asarray([lo, hi])]))
    y = np.zeros(len(x))
    for f, w in zip(functions, weights, strict=True):
        y += w * np.interp(x, f.x, f.y)
    return simplify(x, y)


def scenario_pairs(
    problem: Problem,
    loads: tuple[FloatArray, FloatArray] | None,
    pvs: tuple[FloatArray, FloatArray] | None,
) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    """Every pair of a load path and a PV path as ``(loads, pvs, weights)`` (paths × slots,
    kWh; weights multiplied). A side without scenarios is its forecast with weight 1.
    ``None`` when there are fewer than two pairs (nothing to hedge)."""
    one = np.ones(1)
    load_paths, load_w = loads if loads is not None else (problem.load_kwh[None, :], one)
    pv_paths, pv_w = pvs if pvs is not None else (problem.pv_kwh[None, :], one)
    if len(load_paths) * len(pv_paths) < 2:
        return None
    grid_i, grid_j = np.meshgrid(
        np.arange(len(load_paths)), np.arange(len(pv_paths)), indexing="ij"
    )
    i, j = grid_i.ravel(), grid_j.ravel()
    return load_paths[i], pv_paths[j], np.asarray(load_w[i] * pv_w[j], dtype=np.float64)


def hedged_cost_to_go(
    problem: Problem,
    loads: FloatArray,
    weights: FloatArray,
    terminal_value: float,
    pvs: FloatArray | None = None,
) -> CostToGo | None:
    """The weighted mean cost-to-go of ``problem`` over the load paths ``loads`` (paths ×
    slots, kWh) and, when given, the PV paths ``pvs`` that go with them (same shape); ``None``
    when the paths leave no energy that all of them can start a slot with.

    Raises ``InfeasiblePlan`` when a path cannot be supplied within the grid's limits.
    """
    pv_paths = pvs if pvs is not None else [problem.pv_kwh] * len(loads)
    passes = [
        cost_to_go(replace(problem, load_kwh=load, pv_kwh=pv), terminal_value)
        for load, pv in zip(loads, pv_paths, strict=True)
    ]
    to_go: list[Pwl] = []
    for t in range(problem.n + 1):
        mean = mean_pwl([p.to_go[t] for p in passes], weights)
        if mean is None:
            return None
        to_go.append(mean)
    return CostToGo(to_go=to_go, stages=passes[0].stages, slots=passes[0].slots)
