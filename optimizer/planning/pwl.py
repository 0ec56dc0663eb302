"""Continuous piecewise-linear functions of stored energy, exactly: the dynamic programme's
value functions and slot costs, and the operations it needs on them.

``Pwl`` is a function on ``[x[0], x[-1]]`` (+inf outside); ``lower_envelope`` takes the exact
minimum of functions that are linear between grid points (non-convex allowed); ``convolve`` is
the infimal convolution of two convex ones (their pieces merged by slope); ``restrict`` cuts a
domain. Pure NumPy, no model knowledge.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import pairwise
from operator import itemgetter

import numpy as np

from optimizer.errors import InfeasiblePlan, SolverError
from optimizer.timeseries import FloatArray

#: Two energies closer than this (kWh) are the same point.
X_TOL = 1e-9
#: Two costs closer than this (currency) are equal.
COST_TOL = 1e-9
#: Slopes may fall by this much (currency per kWh) and the function still counts as convex.
SLOPE_TOL = 1e-9
#: A lower envelope needs one round per line it shows inside a cell; more means a fault.
MAX_ROUNDS = 200


@dataclass(frozen=True)
class Pwl:
    """A continuous piecewise-linear function on ``[x[0], x[-1]]`` (+inf outside)."""

    x: FloatArray
    y: FloatArray

    # Derived arrays are made on first use and kept in the instance's ``__dict__`` (a frozen
    # dataclass; ``functools.cached_property`` takes a lock on every first use in Python 3.11,
    # which costs more than these small computations, made for every value function).

    @classmethod
    def of_lists(cls, xs: list[float], ys: list[float]) -> Pwl:
        """``Pwl(np.array(xs), np.array(ys))`` for plain floats (at least one point), made with
        the padded arrays ``at`` reads (``x``/``y`` are views into them) and keeping the floats
        for ``lists``: the dynamic programme's steps read those instead of converting back."""
        px = np.array([xs[0] - X_TOL, *xs, xs[-1] + X_TOL])
        py = np.array([ys[0], *ys, ys[-1]])
        f = object.__new__(cls)  # a frozen dataclass: its fields go straight into __dict__
        f.__dict__.update(x=px[1:-1], y=py[1:-1], _padded_xy=(px, py), _lists=(xs, ys))
        return f

    @property
    def lists(self) -> tuple[list[float], list[float]]:
        """``x`` and ``y`` as plain floats (the same values)."""
        found: tuple[list[float], list[float]] | None = self.__dict__.get("_lists")
        if found is None:
            found = self.__dict__["_lists"] = (self.x.tolist(), self.y.tolist())
        return found

    @property
    def _padded(self) -> tuple[FloatArray, FloatArray]:
        """``x``/``y`` with the end values held ``X_TOL`` beyond each end (one ``interp``)."""
        found: tuple[FloatArray, FloatArray] | None = self.__dict__.get("_padded_xy")
        if found is None:
            n = len(self.x)
            x, y = np.empty(n + 2), np.empty(n + 2)
            x[1:-1], y[1:-1] = self.x, self.y
            x[0], x[-1] = self.x[0] - X_TOL, self.x[-1] + X_TOL
            y[0], y[-1] = self.y[0], self.y[-1]
            found = self.__dict__["_padded_xy"] = (x, y)
        return found

    @property
    def pieces(self) -> tuple[list[float], list[float]]:
        """Each piece's slope (currency per kWh) and width (kWh), left to right, as plain
        floats (read by ``convex`` and ``convolve``: a handful of pieces, where NumPy's call
        overhead would dominate)."""
        found: tuple[list[float], list[float]] | None = self.__dict__.get("_pieces")
        if found is None:
            x, y = self.lists
            widths = [b - a for a, b in pairwise(x)]
            slopes = [(b - a) / w for (a, b), w in zip(pairwise(y), widths, strict=True)]
            found = self.__dict__["_pieces"] = (slopes, widths)
        return found

    def at(self, points: FloatArray) -> FloatArray:
        """Values at ``points``; +inf outside the domain (more than ``X_TOL`` beyond an end)."""
        x, y = self._padded
        return np.interp(points, x, y, left=np.inf, right=np.inf)

    def slope(self, point: float, side: str) -> float:
        """Slope just left (``side="left"``) or right of ``point``, the end piece at the ends."""
        if len(self.x) < 2:
            return 0.0
        shift = -X_TOL if side == "left" else X_TOL
        k = int(np.searchsorted(self.x, point + shift, side="right")) - 1
        k = min(max(k, 0), len(self.x) - 2)
        return float((self.y[k + 1] - self.y[k]) / (self.x[k + 1] - self.x[k]))


def simplify(x: FloatArray, y: FloatArray) -> Pwl:
    """Sorted, de-duplicated (lowest value kept) points without collinear interior ones: the
    result is within ``COST_TOL`` of the function through the (merged) points, everywhere.

    A point within ``COST_TOL`` of its two neighbours' chord may go only while both neighbours
    stay: two neighbouring points that each pass that test may together carry a real kink
    (two breakpoints a hair apart, as the 1e-6/kWh tie-break makes them, each lie on the chord
    through the other), so a run of such points is thinned by ``_thin`` instead.
    """
    order = np.lexsort((y, x))
    x, y = x[order], y[order]
    first = np.concatenate([[True], np.diff(x) > X_TOL])
    x, y = x[first], y[first]
    if len(x) > 2:
        chord = y[:-2] + (y[2:] - y[:-2]) * (x[1:-1] - x[:-2]) / (x[2:] - x[:-2])
        drop = np.abs(y[1:-1] - chord) <= COST_TOL
        if (drop[1:] & drop[:-1]).any():
            return _thin(x.tolist(), y.tolist())
        keep = np.concatenate([[True], ~drop, [True]])
        x, y = x[keep], y[keep]
    return Pwl(x, y)


def _thin(x: list[float], y: list[float]) -> Pwl:
    """``simplify``'s greedy walk over a run: from each kept point, extend the chord to
    the farthest point such that every point passed lies within ``COST_TOL`` of it (the window
    of slopes that pass them all narrows with each point; the point before the first one
    outside it is kept). Every dropped point is within ``COST_TOL`` of the chord that replaces
    it, and both functions are linear between the points, so the bound holds everywhere.
    ``x`` strictly increasing, at least three points."""
    keep = [0]
    anchor, low, high = 0, -np.inf, np.inf
    for j in range(1, len(x)):
        dx = x[j] - x[anchor]
        slope = (y[j] - y[anchor]) / dx
        if not low <= slope <= high:  # the chord to j misses a point passed: keep j - 1
            anchor = j - 1
            keep.append(anchor)
            dx = x[j] - x[anchor]
            low, high = -np.inf, np.inf
        low = max(low, (y[j] - COST_TOL - y[anchor]) / dx)
        high = min(high, (y[j] + COST_TOL - y[anchor]) / dx)
    keep.append(len(x) - 1)
    return Pwl(np.array([x[k] for k in keep]), np.array([y[k] for k in keep]))


def lower_envelope(grid: FloatArray, values: FloatArray) -> Pwl:
    """Exact lower envelope of functions that are linear between consecutive ``grid`` points.

    ``values`` is (functions x grid points), +inf outside a function's domain (an interval whose
    ends are grid points). Inside a cell the envelope of the lines is concave; cells are split
    at crossings until one line is lowest at both ends of every cell. The envelope must be
    continuous, as every value function here is (a function's domain may only end where another
    one is as low).
    """
    if len(grid) == 1:
        best = float(np.min(values))
        if not np.isfinite(best):
            raise InfeasiblePlan("no feasible stored energy")
        return Pwl(grid.copy(), np.array([best]))
    # The reductions by their ufuncs (``ndarray.min``/``any`` add a Python call each).
    lowest, anywhere = np.minimum.reduce, np.logical_or.reduce
    finite = np.isfinite(values)
    both = finite[:, :-1] & finite[:, 1:]
    cells = anywhere(both, axis=0)
    if not cells.any():
        raise InfeasiblePlan("no feasible stored energy")
    left = np.where(both, values[:, :-1], np.inf)
    right = np.where(both, values[:, 1:], np.inf)
    xl, xr = grid[:-1], grid[1:]
    if not cells.all():
        left, right, xl, xr = left[:, cells], right[:, cells], xl[cells], xr[cells]
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    for _ in range(MAX_ROUNDS):
        low_l, low_r = lowest(left, axis=0), lowest(right, axis=0)
        xs += [xl, xr]
        ys += [low_l, low_r]
        done = anywhere((left <= low_l + COST_TOL) & (right <= low_r + COST_TOL), axis=0)
        if done.all():
            return simplify(np.concatenate(xs), np.concatenate(ys))
        keep = ~done
        left, right, xl, xr = left[:, keep], right[:, keep], xl[keep], xr[keep]
        cols = np.arange(left.shape[1])
        a, b = left.argmin(axis=0), right.argmin(axis=0)
        left_a, left_b = left[a, cols], left[b, cols]
        # Line a is lowest on the left, line b on the right: they cross inside the cell.
        rise_a = right[a, cols] - left_a
        rise_b = right[b, cols] - left_b
        share = (left_b - left_a) / (rise_a - rise_b)
        share = np.clip(share, 0.0, 1.0)
        defined = np.isfinite(left) & np.isfinite(right)
        rise = np.where(defined, right, 0.0) - np.where(defined, left, 0.0)
        middle = np.where(defined, left + rise * share, np.inf)
        xm = xl + (xr - xl) * share
        left, right = np.hstack([left, middle]), np.hstack([middle, right])
        xl, xr = np.concatenate([xl, xm]), np.concatenate([xm, xr])
    raise SolverError("dynamic programme: lower envelope did not converge")


def convex(f: Pwl) -> bool:
    """True when ``f``'s slopes never fall (a convex function); kept on ``f``."""
    found: bool | None = f.__dict__.get("_convex")
    if found is None:
        found = f.__dict__["_convex"] = _rising(f.pieces[0])
    return found


def _rising(slopes: list[float]) -> bool:
    """No slope below the one before it less ``SLOPE_TOL``."""
    return not any(slope < previous - SLOPE_TOL for previous, slope in pairwise(slopes))


def _flipped(stage: Pwl) -> list[tuple[float, float]]:
    """The pieces of ``u -> stage(-u)`` as (slope, width), left to right; kept on ``stage``
    (a slot cost serves many plans)."""
    found: list[tuple[float, float]] | None = stage.__dict__.get("_flipped")
    if found is None:
        slopes, widths = stage.pieces
        found = [(-slopes[k], widths[k]) for k in range(len(widths) - 1, -1, -1)]
        stage.__dict__["_flipped"] = found
    return found


def convolve(stage: Pwl, after: Pwl, soc_low: float, soc_high: float) -> Pwl | None:
    """``min_x stage(x) + after(E + x)`` for convex ``stage`` and ``after``, on the window.

    With ``g(u) = stage(-u)`` this is the infimal convolution ``(g □ after)(E)``, whose epigraph
    is the Minkowski sum of the two epigraphs: start at the sum of the left ends and lay the
    pieces of both functions end to end in order of slope (Rockafellar, Convex Analysis, §5).
    Plain Python: the functions have a handful of pieces, where NumPy's call overhead dominates.
    """
    sx, sy = stage.lists
    ax, ay = after.lists
    pieces = _flipped(stage) + list(zip(*after.pieces, strict=True))
    pieces.sort(key=itemgetter(0))  # stable: of equal slopes, the stage's come first
    x, y = ax[0] - sx[-1], ay[0] + sy[-1]
    xs, ys = [x], [y]
    last, tol = math.nan, SLOPE_TOL
    increasing = True
    for slope, dx in pieces:
        x, y = x + dx, y + slope * dx
        if abs(slope - last) <= tol:  # one piece: within SLOPE_TOL of its first slope
            xs[-1], ys[-1] = x, y
        else:
            increasing = increasing and x > xs[-1]
            xs.append(x)
            ys.append(y)
            last = slope
    if not increasing:
        return restrict(Pwl.of_lists(xs, ys), soc_low, soc_high)
    return restrict_points(xs, ys, soc_low, soc_high)


def restrict_points(xs: list[float], ys: list[float], low: float, high: float) -> Pwl | None:
    """``restrict(Pwl(np.array(xs), np.array(ys)), low, high)`` for strictly increasing ``xs``
    (plain floats), with the same values: a breakpoint's own value is what ``np.interp`` gives
    there, so only the two new ends are interpolated (``interp_point``)."""
    first, last = xs[0], xs[-1]
    if first >= low - X_TOL and last <= high + X_TOL:
        return Pwl.of_lists(xs, ys)
    a = first if first > low else low  # max(low, first), min(high, last): ties give low, high
    b = last if last < high else high
    if a > b + X_TOL:
        return None
    if b - a <= X_TOL:
        return Pwl.of_lists([a], [interp_point(a, xs, ys)])
    i, j = bisect_right(xs, a + X_TOL), bisect_left(xs, b - X_TOL)
    ends = interp_point(a, xs, ys), interp_point(b, xs, ys)
    return Pwl.of_lists([a, *xs[i:j], b], [ends[0], *ys[i:j], ends[1]])


def interp_point(point: float, xs: list[float], ys: list[float]) -> float:
    """``np.interp(point, xs, ys)`` for strictly increasing ``xs``, bit for bit: NumPy's
    steps in plain floats (its end values outside, a breakpoint's own value on it, else
    ``slope * (point - x_j) + y_j`` and, should that be NaN, the same from the right end)."""
    n = len(xs)
    if n == 1:  # NumPy's one-point case: its value everywhere (NaN included)
        return ys[0]
    if point != point:
        return point
    j = bisect_right(xs, point) - 1
    if j < 0:
        return ys[0]
    if j >= n - 1:
        return ys[-1]
    x0, y0 = xs[j], ys[j]
    if x0 == point:
        return y0
    x1, y1 = xs[j + 1], ys[j + 1]
    slope = (y1 - y0) / (x1 - x0)
    value = slope * (point - x0) + y0
    if value != value:
        value = slope * (point - x1) + y1
        if value != value and y0 == y1:
            value = y0
    return value


def restrict(f: Pwl, low: float, high: float) -> Pwl | None:
    """``f`` on ``[low, high]`` (``None`` when the domains do not meet)."""
    xs = f.lists[0]
    first, last = xs[0], xs[-1]
    if first >= low - X_TOL and last <= high + X_TOL:
        return f
    a, b = max(low, first), min(high, last)
    if a > b + X_TOL:
        return None
    if b - a <= X_TOL:
        x = np.array([a])
        return Pwl(x, np.interp(x, f.x, f.y))
    inside = (f.x > a + X_TOL) & (f.x < b - X_TOL)
    x = np.concatenate([[a], f.x[inside], [b]])
    return Pwl(x, np.interp(x, f.x, f.y))
