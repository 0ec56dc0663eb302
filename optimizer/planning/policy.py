"""The one choice of a slot's device command, used by the planner, the backtest and the service.

A ``Policy`` is a plan: the forecast it was made on and the exact cost-to-go ``W_t(E)`` of the
dynamic programme (``optimizer.planning.dp.value_functions``): what the rest of the horizon
costs, at best, from ``E`` kWh stored at the start of slot ``t``. ``choose(t, soc)`` compares the
device's real options from the SOC actually reached (measured live, simulated in a backtest) and
takes the one whose slot cost (played through ``optimizer.planning.device``, on the slot's
forecast) plus ``W_{t+1}`` of the energy it leaves is least:

* charge at ``p`` % (5..100 in 5 % steps) to a whole-percent target, discharge likewise;
* self-consumption (``SET_MAXIMIZE_AUTO_CONSUMPTION``: follows the real house load; where on
  the forecast it would leave the planning window, which the device does not know, it is not
  an option). Its floor is the device's backup level (``battery.backup_pct``, the device's
  ``bmsBackupLevel``), not the owner's reserve (``min_soc_pct``): where the backup level is
  below the reserve, the service's reserve guard (``battery.guard_pct``) ends the mode at a
  reading at its threshold and serves the house down to the reserve by a forced discharge:
  self-consumption is an option from any SOC, played down to the reserve
  (``reserve_safe_from_kwh``; without the guard, only from an SOC that no load can take below
  the reserve within the slot). Nearer the reserve a forced discharge (its target,
  never below the reserve, is its floor) or basic mode serves instead;
* basic mode (battery idle);
* an export limit of 0 W (``SET_VARIABLE_GRID_INJECTION``: the battery takes the PV surplus,
  the rest is curtailed, never a discharge) where PV is forecast above the load and either the
  export price is negative (the only curtailment the device can do) or self-consumption is
  not reserve-safe (it then stores the real surplus as self-consumption would).

``W`` is piecewise linear and not convex where prices make wasting energy pay, so it is
evaluated exactly at every option's end energy rather than through one marginal price. Options
that break a grid limit are dropped; among options within ``TIE_TOL`` of the best the first in
the order above wins (self-consumption first: it follows the real load where a fixed power would
spill or fall short when the forecast is wrong).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from optimizer import commands
from optimizer.domain import Action, BatterySpec, Command, DeviceCommand, PlanSlot
from optimizer.planning.device import (
    MAX_POWER_PCT,
    POWER_STEP_PCT,
    ModeLaws,
    SlotOutcome,
    apply_command,
    export_limit_ac_kwh,
    self_consumption_ac_kwh,
)
from optimizer.planning.dp import CostToGo, Window
from optimizer.planning.guard import READING_MARGIN_PCT
from optimizer.planning.inputs import PlanOptions, Problem
from optimizer.planning.pwl import X_TOL, Pwl
from optimizer.planning.solution import FLOW_TOL_KWH, TIE_BREAK_PER_KWH
from optimizer.timeseries import FloatArray

#: Options whose score is within this much (currency) of the best count as equally good.
TIE_TOL = 1e-7
#: Keep this far (% of capacity) from where the rest of the horizon stops being feasible.
EDGE_MARGIN_PCT = 1.0
#: How many slots ahead an option near such an edge is checked for a feasible follow-up.
LOOK_AHEAD_SLOTS = 2
#: A grid flow may exceed its limit by this much (kWh, numerical slack).
GRID_TOL_KWH = 1e-6

_SC, _BASIC, _LIMIT = range(3)
# Constants as 0-d arrays: a NumPy call on an array and a Python float converts the float
# each time (the same float64 value either way, so the same results).
_ZERO = np.array(0.0)
_TIE_BREAK = np.array(TIE_BREAK_PER_KWH)
_MAX_STEPS = MAX_POWER_PCT / POWER_STEP_PCT


@dataclass(frozen=True, slots=True)
class Choice:
    """The command chosen for a slot, what it does on the forecast, and its score (currency:
    slot cost plus the cost-to-go of the energy it leaves)."""

    command: Command
    outcome: SlotOutcome
    score: float


@dataclass(slots=True)  # not frozen: made for every slot a plan walks, frozen costs more
class _Options:
    """The device options of one slot: the modes (``_SC``, ``_BASIC``, ``_LIMIT``) then the
    forced charges and discharges (power %, target %); ``ac`` is each option's battery AC kWh
    in that order, ``cap`` the mode's export cap (kWh, -1: none). ``need`` is the AC energy
    (kWh) each forced option needs to reach its target; its power follows from it, computed
    only for the option a command is made of (``c_power``/``d_power``)."""

    modes: list[int]
    ac: FloatArray
    cap: FloatArray | float
    need: FloatArray
    step_kwh: float
    c_target: FloatArray
    d_target: FloatArray

    @property
    def powers(self) -> FloatArray:
        """Each forced option's power (%): the least 5 % step that moves ``need``, 5..100."""
        steps = np.ceil(self.need / self.step_kwh - 1e-9).clip(1.0, _MAX_STEPS)
        return np.asarray(steps * POWER_STEP_PCT, dtype=np.float64)

    @property
    def c_power(self) -> FloatArray:
        """The charges' powers (%)."""
        return self.powers[: len(self.c_target)]

    @property
    def d_power(self) -> FloatArray:
        """The discharges' powers (%)."""
        return self.powers[len(self.c_target) :]


class _Scored(NamedTuple):
    """A slot's options scored (``Policy._score``): the best's index ``k`` and score, how many
    options are modes, and every option's battery AC energy, import, export and end energy
    (kWh, in ``_options``' order)."""

    k: int
    score: float
    modes: int
    ac: FloatArray
    imp: FloatArray
    exp: FloatArray
    soc_end: FloatArray


class _Constants(NamedTuple):
    """A policy's battery constants as 0-d arrays (see ``_ZERO``)."""

    ce: FloatArray
    de: FloatArray
    minus_de: FloatArray
    most_in: FloatArray
    most_out: FloatArray


class Policy:
    """A plan made at ``problem.index[0]`` on a forecast: chooses slot commands from any SOC.

    ``backward.to_go[t]`` is ``W_t`` (``len == problem.n + 1``). ``idle`` makes every slot basic
    mode (the planner's guarantee when no executable plan beats doing nothing).
    """

    def __init__(
        self,
        problem: Problem,
        backward: CostToGo,
        options: PlanOptions,
        terminal_value_per_kwh: float,
        idle: bool = False,
        slack: bool = False,
    ) -> None:
        self.problem, self.backward, self.options = problem, backward, options
        #: True when ``backward`` is not the forecast's own exact cost-to-go: made with room at
        #: the import limit or hedged over load scenarios (see ``plan_policy``).
        self.slack = slack
        self.to_go = backward.to_go
        self.terminal_value_per_kwh = terminal_value_per_kwh
        self.idle = idle
        b = problem.battery
        dt = problem.dt_h
        self._step_kwh = b.inverter_rating_w / 1000.0 * POWER_STEP_PCT / 100.0 * dt
        #: The most AC energy a slot can charge or discharge at full power (kWh).
        full = MAX_POWER_PCT / POWER_STEP_PCT * self._step_kwh
        self._most_charge_kwh = min(full, b.max_charge_kw * dt)
        self._most_discharge_kwh = min(full, b.max_discharge_kw * dt)
        self._path: list[PlanSlot] | None = None
        self._laws = ModeLaws.of(b, dt)
        self._constants = _Constants(
            np.array(b.charge_efficiency), np.array(b.discharge_efficiency),
            np.array(-b.discharge_efficiency), np.array(self._most_charge_kwh),
            np.array(self._most_discharge_kwh),
        )  # fmt: skip
        self._top_kwh, self._bottom_kwh = b.kwh(b.max_soc_pct), b.kwh(b.min_soc_pct)
        window = Window.of(problem)
        self._floor_kwh, self._ceiling_kwh = window.floor, window.ceiling
        self._edge_margin_kwh = b.kwh(EDGE_MARGIN_PCT)
        #: Per ``W_t``: (low edge, high edge) is not the window's (usually neither).
        self._edges = [self._edge(after) for after in self.to_go]
        # Plain floats per slot (NumPy scalars cost more in the per-slot loop).
        self._load, self._pv = problem.load_kwh.tolist(), problem.pv_kwh.tolist()
        self._price_import = problem.price_import.tolist()
        self._price_export = problem.price_export.tolist()
        #: Each slot's load less PV (kWh), as ``settle_arrays`` nets them.
        self._net = [load - pv for load, pv in zip(self._load, self._pv, strict=True)]
        #: The walk's first slot (SOC, its scored options): ``choose(0, soc)`` from that SOC.
        self._first: tuple[float, _Scored] | None = None
        grid = problem.grid
        self._import_cap = grid.max_import_kw * dt
        self._export_cap = grid.max_export_kw * dt if grid.export_allowed else 0.0
        net = problem.load_kwh - problem.pv_kwh
        self._may_break_limits = (
            (net + b.max_charge_kw * dt > self._import_cap)
            | (-net + b.max_discharge_kw * dt > self._export_cap)
        ).tolist()
        self._kwh_per_pct = b.capacity_kwh / 100.0
        #: Self-consumption is reserve-safe from this SOC up (kWh; -inf: from any SOC).
        self._sc_safe_from_kwh = reserve_safe_from_kwh(b, dt)
        #: Every whole percent 0..100 and its stored energy (kWh), sliced for the targets.
        self._pcts = np.arange(101, dtype=np.float64)
        self._pct_kwh = self._pcts * self._kwh_per_pct
        self._top_pct = math.floor(b.max_soc_pct + 1e-9)
        self._bottom_pct = math.ceil(b.min_soc_pct - 1e-9)

    @property
    def n(self) -> int:
        """Slots the policy covers."""
        return self.problem.n

    def __len__(self) -> int:
        """Slots the policy covers (a ``SlotChooser``)."""
        return self.problem.n

    def command_at(self, k: int, soc_kwh: float) -> Command:
        """The command ``choose`` picks for slot ``k`` from ``soc_kwh`` (a ``SlotChooser``)."""
        return self.choose(k, soc_kwh).command

    def with_idle(self) -> Policy:
        """The same plan, basic mode in every slot."""
        return Policy(
            self.problem, self.backward, self.options, self.terminal_value_per_kwh, True,
            self.slack,
        )  # fmt: skip

    # -- options ----------------------------------------------------------------------------

    def _targets(self, soc: float) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Whole-percent targets of the forced options from ``soc`` kWh: charges up to the first
        whole percent beyond what full power reaches in the slot, then discharges likewise
        (that last target of each side is the full-power option); as (charge targets,
        discharge targets) in %, then the same as stored kWh (``target × capacity / 100``)."""
        b = self.problem.battery
        soc_pct = soc / self._kwh_per_pct
        up = (soc + self._most_charge_kwh * b.charge_efficiency) / self._kwh_per_pct
        down = (soc - self._most_discharge_kwh / b.discharge_efficiency) / self._kwh_per_pct
        c_first, c_stop = (
            math.floor(soc_pct + 1e-9) + 1,
            min(math.ceil(up - 1e-9), self._top_pct) + 1,
        )
        d_first = math.ceil(soc_pct - 1e-9) - 1
        d_stop = max(math.floor(down + 1e-9), self._bottom_pct) - 1
        pcts, kwh = self._pcts, self._pct_kwh
        if c_first >= 0 and d_first <= 100 and c_stop <= 101 and d_stop >= -1:
            # Slices of the whole-percent table (the same values as computing them).
            up_slice = slice(c_first, c_stop)
            down_slice = slice(d_first, d_stop if d_stop >= 0 else None, -1)
            if d_first <= d_stop:
                down_slice = slice(0, 0)
            return pcts[up_slice], pcts[down_slice], kwh[up_slice], kwh[down_slice]
        charges = np.arange(c_first, c_stop).astype(float)
        discharges = np.arange(d_first, d_stop, -1).astype(float)
        return charges, discharges, charges * self._kwh_per_pct, discharges * self._kwh_per_pct

    def _options(self, t: int, soc: float) -> _Options:
        """Slot ``t``'s options from ``soc`` kWh: the modes first (self-consumption, basic,
        the 0 W export limit where it can matter), then charges, then discharges.

        A forced option's battery energy is what ``device.forced_ac_kwh`` gives for its power
        and target: the least 5 % step that reaches a target moves exactly the energy to it,
        and full power toward the first target beyond reach moves the most it can
        (``tests/planning/test_policy.py`` plays every choice through ``apply_command``).
        """
        b, dt = self.problem.battery, self.problem.dt_h
        load, pv = self._load[t], self._pv[t]
        modes = [_SC, _BASIC]
        acs = [self_consumption_ac_kwh(soc, load, pv, dt, b), 0.0]
        if pv > load and (self._price_export[t] < 0 or soc < self._sc_safe_from_kwh):
            modes.append(_LIMIT)
            acs.append(export_limit_ac_kwh(0.0, soc, load, pv, dt, b))
        c_target, d_target, up_kwh, down_kwh = self._targets(soc)
        # In place on preallocated arrays (a few small NumPy calls: their overhead is the cost):
        # the stored change to each target over the efficiency, capped at full power.
        fixed, n_up = len(modes), len(c_target)
        need = np.empty(n_up + len(d_target))
        ac = np.empty(fixed + len(need))
        ac[:fixed] = acs
        charges, discharges = need[:n_up], need[n_up:]
        np.divide(np.subtract(up_kwh, soc, out=charges), b.charge_efficiency, out=charges)
        np.multiply(np.subtract(down_kwh, soc, out=discharges), -b.discharge_efficiency,
                    out=discharges)  # fmt: skip
        np.minimum(charges, self._most_charge_kwh, out=ac[fixed : fixed + n_up])
        moved_down = ac[fixed + n_up :]
        np.negative(
            np.minimum(discharges, self._most_discharge_kwh, out=moved_down), out=moved_down
        )
        cap: FloatArray | float = -1.0
        if _LIMIT in modes:
            cap = np.full(len(ac), -1.0)
            cap[modes.index(_LIMIT)] = 0.0
        return _Options(modes, ac, cap, need, self._step_kwh, c_target, d_target)

    def _command(self, options: _Options, k: int) -> Command:
        duration = self.options.command_duration_h
        fixed, charges = len(options.modes), len(options.c_power)
        if k >= fixed + charges:
            j = k - fixed - charges
            return commands.discharge(
                int(options.d_power[j]), int(options.d_target[j]), duration,
                discharge_command=self.options.discharge_command,
            )  # fmt: skip
        if k >= fixed:
            j = k - fixed
            return commands.charge(int(options.c_power[j]), int(options.c_target[j]), duration)
        mode = options.modes[k]
        if mode == _SC:
            return commands.maximize_auto_consumption(duration)
        if mode == _LIMIT:
            return commands.variable_grid_injection(0, duration)
        return commands.basic(duration)

    # -- the choice -------------------------------------------------------------------------

    def _score(self, t: int, soc_kwh: float, look_ahead: int = LOOK_AHEAD_SLOTS) -> _Scored:
        """Every option of slot ``t`` played from ``soc_kwh`` and scored; the best's index.

        The options are ``_options``' and their flows ``settle_arrays``', computed together
        with fewer NumPy calls (their overhead, not the arithmetic, is the cost: this runs for
        every slot a plan walks): the modes' battery flows as plain floats, the forced options'
        from the sign of their energy (charges > 0, discharges < 0), no curtailment unless
        an export cap binds; every value by the same operations in the same order, so to the
        bit (``tests/planning/test_fast_paths.py`` pins it against the plain computation).
        """
        b = self.problem.battery
        mode_ac, mode_end, ac, soc_end, signed = self._battery_flows(t, soc_kwh)
        imp, exp = self._grid_flows(t, mode_ac, ac, signed)
        score = imp * self._price_import[t] - exp * self._price_export[t]
        after = self.to_go[t + 1]
        score += np.abs(ac) * _TIE_BREAK + after.at(soc_end)
        if b.cycle_cost_per_kwh:
            score += np.maximum(-ac, _ZERO) * b.cycle_cost_per_kwh  # (the discharge)
        # The device's modes know nothing of the planner's window: one that would charge above
        # max_soc_pct or discharge below min_soc_pct on the forecast is not an option.
        top, bottom = self._top_kwh + 1e-9, self._bottom_kwh - 1e-9
        for j, (a, end) in enumerate(zip(mode_ac, mode_end, strict=True)):
            if (a > 0 and end > top) or (a < 0 and end < bottom):
                score[j] = np.inf
        if soc_kwh < self._sc_safe_from_kwh:  # a load above the forecast could reach the floor
            score[_SC] = np.inf
        if self._may_break_limits[t]:
            feasible = (imp <= self._import_cap + GRID_TOL_KWH) & (
                exp <= self._export_cap + GRID_TOL_KWH
            )
            score = np.where(feasible, score, np.inf)
        k = self._pick(t, score, (imp, exp), soc_end, look_ahead)
        return _Scored(k, float(score[k]), len(mode_ac), ac, imp, exp, soc_end)

    def _battery_flows(
        self, t: int, soc_kwh: float
    ) -> tuple[list[float], list[float], FloatArray, FloatArray, bool]:
        """Slot ``t``'s options from ``soc_kwh`` (``_options``' order): the modes' AC and end
        energies as floats, then every option's AC and end energy (kWh); whether every charge
        moves energy in (> 0) and every discharge out (< 0, the last the most)."""
        b = self.problem.battery
        ce, de = b.charge_efficiency, b.discharge_efficiency
        c = self._constants
        load, pv = self._load[t], self._pv[t]
        mode_ac = [self._laws.self_consumption(soc_kwh, load, pv), 0.0]
        if pv > load and (self._price_export[t] < 0 or soc_kwh < self._sc_safe_from_kwh):
            mode_ac.append(self._laws.export_limit(0.0, soc_kwh, load, pv))
        _, _, up_kwh, down_kwh = self._targets(soc_kwh)
        fixed, n_up = len(mode_ac), len(up_kwh)
        forced = fixed + n_up
        n = forced + len(down_kwh)
        ac, soc_end = np.empty(n), np.empty(n)
        for j, a in enumerate(mode_ac):  # (element by element: a list costs more)
            ac[j] = a
        # The forced options' energies as ``_options`` makes them (a discharge's: the energy it
        # moves, negated in place).
        charges, discharges = ac[fixed:forced], ac[forced:]
        soc = np.array(soc_kwh)  # (converted once, see ``_ZERO``)
        np.divide(np.subtract(up_kwh, soc, out=charges), c.ce, out=charges)
        np.minimum(charges, c.most_in, out=charges)
        np.multiply(np.subtract(down_kwh, soc, out=discharges), c.minus_de, out=discharges)
        np.minimum(discharges, c.most_out, out=discharges)
        # Both sides are sorted (non-decreasing), so their first is their least.
        signed = bool((n_up == 0 or charges[0] > 0.0) and (forced == n or discharges[0] > 0.0))
        if signed:
            # A charge's discharge is 0 (``soc + c·ce - 0/de`` is ``soc + c·ce``), a
            # discharge's charge is 0 (``soc + 0·ce - d/de``, that is ``+ (-d)/de``).
            np.negative(discharges, out=discharges)
            ends = soc_end[fixed:forced]
            np.add(np.multiply(charges, c.ce, out=ends), soc, out=ends)
            ends = soc_end[forced:]
            # (``soc + 0.0`` is ``soc`` but for -0.0)
            soc_plus_0 = soc if soc_kwh != 0.0 else np.array(soc_kwh + 0.0)
            np.add(np.divide(discharges, c.de, out=ends), soc_plus_0, out=ends)
        else:  # a forced option that moves nothing (no room): as ``settle_arrays`` plays it
            np.negative(discharges, out=discharges)
            rest = ac[fixed:]
            soc_end[fixed:] = soc_kwh + np.maximum(rest, 0.0) * ce - np.maximum(-rest, 0.0) / de
        # The modes' flows (``np.maximum(a, 0.0)`` is ``a if a > 0.0 else 0.0``, signed zeros
        # included: NumPy returns its second operand on a tie).
        mode_end = [
            soc_kwh + (a if a > 0.0 else 0.0) * ce - (-a if -a > 0.0 else 0.0) / de for a in mode_ac
        ]
        for j, end in enumerate(mode_end):
            soc_end[j] = end
        return mode_ac, mode_end, ac, soc_end, signed

    def _grid_flows(
        self, t: int, mode_ac: list[float], ac: FloatArray, signed: bool
    ) -> tuple[FloatArray, FloatArray]:
        """Each option's import and export (kWh) as ``settle_arrays`` gives them (the 0 W
        limit's cap applied as a float); ``signed`` as ``_battery_flows`` gives it."""
        net = ac + self._net[t]
        surplus = -net
        cap, pv, limit = self._export_cap, self._pv[t], len(mode_ac) > _LIMIT
        # The most any option but the 0 W limit exports is the lowest AC energy's (``signed``:
        # the last discharge's, or a mode's); when even it is within the cap, nothing is
        # curtailed (``surplus - min(max(surplus - cap, 0), pv)`` is ``surplus``, PV >= 0).
        lowest = min(mode_ac[0], mode_ac[1], ac[-1].item())
        if signed and pv >= 0.0 and -(self._net[t] + lowest) - cap <= 0.0:
            np.maximum(surplus, _ZERO, out=surplus)
        else:
            curtail = np.minimum(np.maximum(surplus - cap, 0.0), pv)
            np.maximum(np.subtract(surplus, curtail, out=surplus), _ZERO, out=surplus)
        np.maximum(net, _ZERO, out=net)
        if limit:
            surplus[_LIMIT] = _exported(ac[_LIMIT].item() + self._net[t], 0.0, cap, pv)
        return net, surplus  # (import and export now)

    def _outcome(self, t: int, scored: _Scored) -> SlotOutcome:
        """The best option's flows (as ``settle_arrays`` gives them)."""
        k = scored.k
        a = float(scored.ac[k])
        net = self._net[t] + a
        cap = self._export_cap
        if k == _LIMIT and scored.modes > _LIMIT:
            cap = cap if cap < 0.0 else 0.0
        curtail = _curtailed(-net, cap, self._pv[t]) if net < 0 else 0.0
        return SlotOutcome(
            a if a > 0.0 else 0.0, -a if -a > 0.0 else 0.0, float(scored.imp[k]),
            float(scored.exp[k]), curtail, float(scored.soc_end[k]),
        )  # fmt: skip

    def _pick(
        self,
        t: int,
        score: FloatArray,
        grid: tuple[FloatArray, FloatArray],
        soc_end: FloatArray,
        look_ahead: int,
    ) -> int:
        """The first option within ``TIE_TOL`` of the best ``score`` (an option near an edge of
        the next cost-to-go only if the next slots can follow; ``score`` is changed); where
        none is finite, the one of least grid flow (``grid``: import, export, kWh)."""
        near = self._near_edge(t + 1, soc_end) if any(self._edges[t + 1]) else None
        while True:
            best = score[score.argmin()].item()  # (the least, as ``score.min()``)
            if not math.isfinite(best):  # nothing meets the limits: the least import (the gate
                return int(np.argmin(grid[0] + grid[1]))  # names the slot)
            k = int((score <= best + TIE_TOL).argmax())
            if near is None or not near[k] or self._viable(t + 1, float(soc_end[k]), look_ahead):
                return k
            score[k] = np.inf

    def _viable(self, t: int, soc_kwh: float, look_ahead: int) -> bool:
        """Whether slot ``t`` has a device option from ``soc_kwh`` that keeps the rest feasible
        (checked ``look_ahead`` slots deep)."""
        if t >= self.n or look_ahead <= 0:
            return True
        return math.isfinite(self._score(t, soc_kwh, look_ahead - 1).score)

    def _edge(self, after: Pwl) -> tuple[bool, bool]:
        """Whether ``W``'s domain ends above the window's floor and below its ceiling (edges
        where the rest of the horizon is only just feasible)."""
        return (
            bool(after.x[0] > self._floor_kwh + X_TOL),
            bool(after.x[-1] < self._ceiling_kwh - X_TOL),
        )

    def _near_edge(self, t: int, soc_end: FloatArray) -> npt.NDArray[np.bool_]:
        """Options ending within ``EDGE_MARGIN_PCT`` of an edge of ``W_t``'s domain that is not
        the window's: there the rest of the horizon is only just feasible (a load the grid
        limit cannot carry alone), for continuous control; whole-percent targets and 5 % steps
        may fall short, so such an option is taken only if the next slots can still follow."""
        after, margin = self.to_go[t], self._edge_margin_kwh
        low, high = self._edges[t]
        near = np.zeros(len(soc_end), dtype=bool)
        if low:
            near |= soc_end < after.x[0] + margin
        if high:
            near |= soc_end > after.x[-1] - margin
        return near

    def choose(self, t: int, soc_kwh: float) -> Choice:
        """The best device command for slot ``t`` (0-based in the plan) from ``soc_kwh``."""
        p, b = self.problem, self.problem.battery
        if self.idle:
            command = commands.basic(self.options.command_duration_h)
            outcome = apply_command(command, soc_kwh, self._load[t], self._pv[t], p.dt_h, b, p.grid)
            return Choice(command, outcome, math.nan)
        first = self._first
        if t == 0 and first is not None and first[0].hex() == float(soc_kwh).hex():
            scored = first[1]  # the walk scored this very SOC (bit for bit)
        else:
            scored = self._score(t, soc_kwh)
        command = self._command(self._options(t, soc_kwh), scored.k)
        return Choice(command, self._outcome(t, scored), scored.score)

    def walk_cost(self) -> float:
        """The forecast path's cost (currency, with wear) less the value of the energy it adds
        at the terminal value, as ``path()`` gives it (without building rows if not built)."""
        p, b = self.problem, self.problem.battery
        if self._path is not None:
            rows = self._path
            gained = b.kwh(rows[-1].soc_end_pct) - p.soc_start_kwh
            wear = sum(r.discharge_kw for r in rows) * p.dt_h * b.cycle_cost_per_kwh
            return sum(r.cost for r in rows) + wear - self.terminal_value_per_kwh * gained
        soc, total, wear = p.soc_start_kwh, 0.0, b.cycle_cost_per_kwh
        buy, sell = self._price_import, self._price_export
        for t in range(self.n):
            scored = self._score(t, soc)
            if t == 0:
                self._first = (float(soc), scored)
            k = scored.k
            total += scored.imp[k].item() * buy[t] - scored.exp[k].item() * sell[t]
            out = -scored.ac[k].item()
            total += (out if out > 0.0 else 0.0) * wear  # (the discharge)
            soc = scored.soc_end[k].item()
        return total - self.terminal_value_per_kwh * (soc - p.soc_start_kwh)

    def path(self) -> list[PlanSlot]:
        """The executable plan along the forecast: each slot's choice from the SOC the previous
        choices reach, with the outcome the device model gives (computed once)."""
        if self._path is None:
            self._path = self._walk()
        return self._path

    def _walk(self) -> list[PlanSlot]:
        slots: list[PlanSlot] = []
        soc = self.problem.soc_start_kwh
        for t in range(self.n):
            choice = self.choose(t, soc)
            slots.append(slot_row(self.problem, t, soc, choice.command, choice.outcome))
            soc = choice.outcome.soc_end_kwh
        return slots


def _curtailed(surplus: float, cap: float, pv: float) -> float:
    """``settle_arrays``' curtailment of one option before the sign of its net flow:
    ``np.minimum(np.maximum(surplus - cap, 0.0), pv)`` on floats (NumPy's ``maximum`` and
    ``minimum`` return their second operand on a tie, signed zeros included)."""
    above = surplus - cap
    above = above if above > 0.0 else 0.0
    return above if above < pv else pv


def _exported(net: float, mode_cap: float, grid_cap: float, pv: float) -> float:
    """``settle_arrays``' export of one option of net grid flow ``net`` (kWh) under a mode's
    export cap ``mode_cap`` (>= 0) and the grid's, on floats."""
    cap = grid_cap if grid_cap < mode_cap else mode_cap  # np.minimum(grid_cap, mode_cap)
    surplus = -net
    out = surplus - _curtailed(surplus, cap, pv)
    return out if out > 0.0 else 0.0


def reserve_safe_from_kwh(battery: BatterySpec, dt_h: float) -> float:
    """The least stored energy (kWh) from which self-consumption cannot take the battery below
    the reserve (``min_soc_pct``) in a slot of ``dt_h`` hours whatever the house draws.

    ``-inf`` where the device's own floor (``backup_pct``, its ``bmsBackupLevel``) is at or
    above the reserve: the device then keeps the reserve itself, and with the service's reserve
    guard (``guard_pct`` > 0, ``optimizer.planning.guard``), which serves the house down to the
    reserve and no further (``device.mode_floor_pct``). Without it: the
    reserve plus ``READING_MARGIN_PCT`` plus the most the battery can discharge in the slot
    (``max_discharge_kw × dt_h``, AC, taken from store at ``discharge_efficiency``)."""
    b = battery
    if b.backup_pct >= b.min_soc_pct - 1e-9:
        return -math.inf
    if b.guard_pct >= b.min_soc_pct:
        return -math.inf
    drain_kwh = b.max_discharge_kw * dt_h / b.discharge_efficiency
    return b.kwh(b.min_soc_pct + READING_MARGIN_PCT) + drain_kwh


def slot_row(
    problem: Problem, t: int, soc_kwh: float, command: Command, outcome: SlotOutcome
) -> PlanSlot:
    """The timetable row for slot ``t`` running ``command`` from ``soc_kwh``."""
    dt, battery = problem.dt_h, problem.battery
    return PlanSlot(
        start=problem.starts[t],
        end=problem.starts[t] + timedelta(hours=dt),
        action=slot_action(outcome),
        charge_kw=outcome.charge_kwh / dt,
        discharge_kw=outcome.discharge_kwh / dt,
        grid_import_kwh=outcome.import_kwh,
        grid_export_kwh=outcome.export_kwh,
        soc_start_pct=battery.pct(soc_kwh),
        soc_end_pct=battery.pct(outcome.soc_end_kwh),
        price_import_per_kwh=float(problem.price_import[t]),
        price_export_per_kwh=float(problem.price_export[t]),
        load_kwh=float(problem.load_kwh[t]),
        pv_kwh=float(problem.pv_kwh[t]),
        pv_curtailed_kwh=outcome.curtail_kwh,
        command=command,
    )


def slot_action(outcome: SlotOutcome) -> Action:
    """What the battery does in a slot, from its flows (a mode such as self-consumption charges
    or discharges as the house needs)."""
    if outcome.charge_kwh > FLOW_TOL_KWH:
        return Action.CHARGE
    if outcome.discharge_kwh > FLOW_TOL_KWH:
        return Action.DISCHARGE
    return Action.IDLE


def is_self_consumption(command: Command) -> bool:
    """True for the device's self-consumption mode."""
    return command.command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
