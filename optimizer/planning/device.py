"""The one model of what the xStorage Home does with a command during a slot.

The planner's executable path, the command choice (``policy``), the backtest and the device
simulator all play commands through ``apply_command``; nothing else models the device's modes.
Energies are kWh over the slot (``dt_h`` hours), AC side; ``ac`` > 0 charges the battery.

Each mode's control law (``xstorage-api.md`` §5 and §8; the modes' laws are not published, these
follow the operation-modes manual and the Home Assistant integrations):

* ``SET_CHARGE``/``ACTION_CHARGE`` (power ``p`` %, target ``soc``): ``p`` % of
  ``inverter_rating_w`` from PV and/or grid until the target, then hold.
* ``ACTION_DISCHARGE`` (as ``SET_CHARGE`` or ``SET_DISCHARGE``): ``p`` % until the floor ``soc``
  (never below the device's ``backup_pct``); what the house does not use is exported.
* ``SET_MAXIMIZE_AUTO_CONSUMPTION`` (self-consumption): store PV surplus (up to 100 %), never
  grid energy, and cover the house's net load down to ``backup_pct``, so the battery follows
  the *real* load. Where the service's reserve guard runs (``battery.guard_pct`` > 0, the
  planner's and the backtest's battery; never the simulator's), down to the reserve: at the
  guard's threshold the service sends a forced discharge at the house's power to the reserve.
  The device knows nothing of the planner's ``min_soc_pct``/``max_soc_pct``: only the targets
  of forced commands carry them.
* ``SET_VARIABLE_GRID_INJECTION`` (``maximumPower`` W >= 0): export at most that much; PV surplus
  above it charges the battery, and what the battery cannot take is curtailed. No discharge.
* ``SET_PEAK_SHAVING`` (``maxHousePeakConsumption`` W): discharge what the house draws above the
  peak, store PV surplus.
* ``SET_BASIC_MODE`` and anything else: the battery idles; the inverter converts PV.

Surplus beyond the grid's export limit is curtailed (the inverter throttles PV).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer import commands
from optimizer.domain import Action, BatterySpec, Command, DeviceCommand, GridSpec
from optimizer.timeseries import FloatArray

POWER_STEP_PCT = 5
MIN_POWER_PCT = 5
MAX_POWER_PCT = 100


@dataclass(frozen=True, slots=True)
class SlotOutcome:
    """The physical result of one slot (energies in kWh over the slot)."""

    charge_kwh: float
    discharge_kwh: float
    import_kwh: float
    export_kwh: float
    curtail_kwh: float
    soc_end_kwh: float


def idle_command(duration_h: int = 1) -> Command:
    """``SET_BASIC_MODE``: the inverter converts PV, the battery is left alone."""
    return commands.basic(duration_h)


def action_of(command: Command) -> Action:
    """The battery action a command asks for (direction from ``parameters.action``)."""
    if command.action == "ACTION_CHARGE":
        return Action.CHARGE
    if command.action == "ACTION_DISCHARGE":
        return Action.DISCHARGE
    return Action.IDLE


def charge_room_kwh(soc_kwh: float, ceiling_kwh: float, dt_h: float, battery: BatterySpec) -> float:
    """AC energy (kWh) a charge may take in a slot before ``ceiling_kwh`` stored (>= 0)."""
    room = (ceiling_kwh - soc_kwh) / battery.charge_efficiency
    return max(0.0, min(battery.max_charge_kw * dt_h, room))


def discharge_room_kwh(
    soc_kwh: float, floor_kwh: float, dt_h: float, battery: BatterySpec
) -> float:
    """AC energy (kWh) a discharge may give in a slot before ``floor_kwh`` stored (>= 0)."""
    stored = (soc_kwh - floor_kwh) * battery.discharge_efficiency
    return max(0.0, min(battery.max_discharge_kw * dt_h, stored))


def power_kwh(power_pct: float, dt_h: float, battery: BatterySpec) -> float:
    """AC energy (kWh) of ``power_pct`` % of the inverter rating over ``dt_h`` hours."""
    return power_pct / 100.0 * battery.inverter_rating_w / 1000.0 * dt_h


def self_consumption_ac_kwh(
    soc_kwh: float, load_kwh: float, pv_kwh: float, dt_h: float, battery: BatterySpec
) -> float:
    """Battery AC energy (+ charge) in self-consumption mode: PV surplus in (to 100 %), net
    load out (to ``mode_floor_pct``: the device's ``backup_pct``, or the service's guard)."""
    b = battery
    surplus = pv_kwh - load_kwh
    if surplus >= 0:
        return min(surplus, charge_room_kwh(soc_kwh, b.capacity_kwh, dt_h, b))
    return -min(-surplus, discharge_room_kwh(soc_kwh, b.kwh(mode_floor_pct(b)), dt_h, b))


def mode_floor_pct(battery: BatterySpec) -> float:
    """The SOC (%) down to which self-consumption and peak shaving discharge: the device's
    backup level; with the service's reserve guard (``battery.guard_pct`` > 0) the reserve
    (``min_soc_pct``): the guard ends the mode at its threshold and serves the house from
    there with a forced discharge at the house's power whose target is the reserve. The
    device simulator's battery has no guard: it plays the device alone."""
    if battery.guard_pct > 0:
        return max(battery.backup_pct, battery.min_soc_pct)
    return battery.backup_pct


def export_limit_ac_kwh(
    cap_kwh: float, soc_kwh: float, load_kwh: float, pv_kwh: float, dt_h: float, b: BatterySpec
) -> float:
    """Battery AC energy (>= 0) under an export limit of ``cap_kwh``: PV surplus above it."""
    above = max(0.0, pv_kwh - load_kwh - cap_kwh)
    return min(above, charge_room_kwh(soc_kwh, b.capacity_kwh, dt_h, b))


@dataclass(frozen=True, slots=True)
class ModeLaws:
    """``self_consumption_ac_kwh`` and ``export_limit_ac_kwh`` of one battery and slot length
    with their constants computed once (for the policy, which plays them for every slot it
    walks): the same operations in the same order, so the same floats."""

    charge_efficiency: float
    discharge_efficiency: float
    #: The most AC energy a slot charges and discharges (kWh: ``max_*_kw × dt_h``).
    charge_kwh: float
    discharge_kwh: float
    capacity_kwh: float
    #: ``mode_floor_pct`` as stored energy (kWh).
    floor_kwh: float

    @classmethod
    def of(cls, battery: BatterySpec, dt_h: float) -> ModeLaws:
        """The laws of ``battery`` over slots of ``dt_h`` hours."""
        b = battery
        return cls(
            b.charge_efficiency, b.discharge_efficiency, b.max_charge_kw * dt_h,
            b.max_discharge_kw * dt_h, b.capacity_kwh, b.kwh(mode_floor_pct(b)),
        )  # fmt: skip

    def self_consumption(self, soc_kwh: float, load_kwh: float, pv_kwh: float) -> float:
        """``self_consumption_ac_kwh`` (kWh, + charge)."""
        surplus = pv_kwh - load_kwh
        if surplus >= 0:
            room = (self.capacity_kwh - soc_kwh) / self.charge_efficiency
            return min(surplus, max(0.0, min(self.charge_kwh, room)))
        stored = (soc_kwh - self.floor_kwh) * self.discharge_efficiency
        return -min(-surplus, max(0.0, min(self.discharge_kwh, stored)))

    def export_limit(self, cap_kwh: float, soc_kwh: float, load_kwh: float, pv_kwh: float) -> float:
        """``export_limit_ac_kwh`` (kWh, >= 0)."""
        above = max(0.0, pv_kwh - load_kwh - cap_kwh)
        room = (self.capacity_kwh - soc_kwh) / self.charge_efficiency
        return min(above, max(0.0, min(self.charge_kwh, room)))


def forced_ac_kwh(
    charging: bool,
    power_pct: FloatArray,
    target_pct: FloatArray,
    soc_kwh: float,
    dt_h: float,
    battery: BatterySpec,
) -> FloatArray:
    """AC energy (kWh, >= 0) of forced charges (``charging``) or discharges at ``power_pct`` %
    toward whole-percent targets ``target_pct``, element by element: the power until the target
    (a discharge never below the device's ``backup_pct``), then hold."""
    b = battery
    if charging:
        power = np.minimum(power_pct * (b.inverter_rating_w / 1e5 * dt_h), b.max_charge_kw * dt_h)
        ceiling = np.minimum(target_pct, 100.0) * (b.capacity_kwh / 100.0)
        room = (ceiling - soc_kwh) / b.charge_efficiency
    else:
        power = np.minimum(
            power_pct * (b.inverter_rating_w / 1e5 * dt_h), b.max_discharge_kw * dt_h
        )
        floor = np.maximum(target_pct, b.backup_pct) * (b.capacity_kwh / 100.0)
        room = (soc_kwh - floor) * b.discharge_efficiency
    return np.minimum(power, np.maximum(room, 0.0))


def _battery_ac(
    command: Command, soc_kwh: float, load_kwh: float, pv_kwh: float, dt_h: float, b: BatterySpec
) -> tuple[float, float]:
    """(battery AC energy, export cap from the mode or -1 for none) for one slot."""
    params = command.parameters or {}
    top, bottom = b.capacity_kwh, b.kwh(mode_floor_pct(b))
    action = action_of(command)
    surplus = pv_kwh - load_kwh
    if action is not Action.IDLE:  # forced_ac_kwh on one power and target, on floats
        power_pct, target_pct = float(params["power"]), float(params["soc"])
        if action is Action.CHARGE:
            power = _min(power_pct * (b.inverter_rating_w / 1e5 * dt_h), b.max_charge_kw * dt_h)
            ceiling = _min(target_pct, 100.0) * (b.capacity_kwh / 100.0)
            room = (ceiling - soc_kwh) / b.charge_efficiency
            return _min(power, _max(room, 0.0)), -1.0
        power = _min(power_pct * (b.inverter_rating_w / 1e5 * dt_h), b.max_discharge_kw * dt_h)
        floor = _max(target_pct, b.backup_pct) * (b.capacity_kwh / 100.0)
        room = (soc_kwh - floor) * b.discharge_efficiency
        return -_min(power, _max(room, 0.0)), -1.0
    mode = command.command
    if mode is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION:
        return self_consumption_ac_kwh(soc_kwh, load_kwh, pv_kwh, dt_h, b), -1.0
    if mode is DeviceCommand.SET_VARIABLE_GRID_INJECTION:
        cap = max(0.0, float(params.get("maximumPower", 0))) / 1000.0 * dt_h
        return export_limit_ac_kwh(cap, soc_kwh, load_kwh, pv_kwh, dt_h, b), cap
    if mode is DeviceCommand.SET_PEAK_SHAVING:
        peak = float(params.get("maxHousePeakConsumption", 0)) / 1000.0 * dt_h
        if surplus >= 0:
            return min(surplus, charge_room_kwh(soc_kwh, top, dt_h, b)), -1.0
        return -min(max(0.0, -surplus - peak), discharge_room_kwh(soc_kwh, bottom, dt_h, b)), -1.0
    return 0.0, -1.0


def settle_arrays(
    ac_kwh: FloatArray,
    soc_start_kwh: float,
    load_kwh: float,
    pv_kwh: float,
    dt_h: float,
    battery: BatterySpec,
    grid: GridSpec,
    mode_export_cap_kwh: FloatArray | float,
) -> tuple[FloatArray, ...]:
    """``settle`` for many battery energies at once: (charge, discharge, import, export,
    curtail, soc_end) arrays, kWh.

    Called for every option of every slot a plan walks: each NumPy call on these short arrays
    costs more than its arithmetic, so the calls are few (a scalar mode cap needs no array).
    """
    charge, discharge = np.maximum(ac_kwh, 0.0), np.maximum(-ac_kwh, 0.0)
    soc_end = (
        soc_start_kwh
        + charge * battery.charge_efficiency
        - discharge / battery.discharge_efficiency
    )
    net = load_kwh - pv_kwh + ac_kwh
    grid_cap = grid.max_export_kw * dt_h if grid.export_allowed else 0.0
    if isinstance(mode_export_cap_kwh, float):
        cap: FloatArray | float = (
            min(grid_cap, mode_export_cap_kwh) if mode_export_cap_kwh >= 0 else grid_cap
        )
    else:
        cap = np.where(
            mode_export_cap_kwh >= 0, np.minimum(grid_cap, mode_export_cap_kwh), grid_cap
        )
    surplus = -net
    curtail = np.minimum(np.maximum(surplus - cap, 0.0), pv_kwh)
    imports = np.maximum(net, 0.0)
    exports = np.maximum(surplus - curtail, 0.0)
    return charge, discharge, imports, exports, np.where(net < 0, curtail, 0.0), soc_end


def settle(
    ac_kwh: float,
    soc_start_kwh: float,
    load_kwh: float,
    pv_kwh: float,
    dt_h: float,
    battery: BatterySpec,
    grid: GridSpec,
    mode_export_cap_kwh: float = -1.0,
) -> SlotOutcome:
    """The slot's outcome for battery AC energy ``ac_kwh`` (+ charge): one meter nets house, PV
    and battery; surplus above the export limit (the grid's, or the mode's when >= 0) is
    curtailed, at most all the PV.

    ``settle_arrays`` of one energy, on plain floats (the same IEEE operations in the same
    order; ``_min``/``_max`` are NumPy's ``minimum``/``maximum`` of two numbers): the replay,
    the simulator and the planner's path play every slot through it, where NumPy's per-call
    cost would be most of the work. ``tests/planning/test_device_scalar.py`` pins it, and
    ``apply_command``, to the array formulation bit for bit."""
    b = battery
    charge, discharge = _max(ac_kwh, 0.0), _max(-ac_kwh, 0.0)
    soc_end = soc_start_kwh + charge * b.charge_efficiency - discharge / b.discharge_efficiency
    net = load_kwh - pv_kwh + ac_kwh
    grid_cap = grid.max_export_kw * dt_h if grid.export_allowed else 0.0
    cap = _min(grid_cap, mode_export_cap_kwh) if mode_export_cap_kwh >= 0 else grid_cap
    surplus = -net
    curtail = _min(_max(surplus - cap, 0.0), pv_kwh)
    imports = _max(net, 0.0)
    exports = _max(surplus - curtail, 0.0)
    return SlotOutcome(charge, discharge, imports, exports, curtail if net < 0 else 0.0, soc_end)


def _min(a: float, b: float) -> float:
    """``np.minimum(a, b)`` of two numbers (no NaN): ``b`` unless ``a`` is less, so ``b`` of
    two equal zeros (Python's ``min`` gives the first)."""
    return a if a < b else b


def _max(a: float, b: float) -> float:
    """``np.maximum(a, b)`` of two numbers (no NaN): ``b`` unless ``a`` is more."""
    return a if a > b else b


def apply_command(
    command: Command,
    soc_start_kwh: float,
    load_kwh: float,
    pv_kwh: float,
    dt_h: float,
    battery: BatterySpec,
    grid: GridSpec,
) -> SlotOutcome:
    """Play ``command`` for one slot of ``dt_h`` hours from ``soc_start_kwh`` (the module's
    control laws); ``load_kwh`` and ``pv_kwh`` are what the house really does in the slot."""
    ac, cap = _battery_ac(command, soc_start_kwh, load_kwh, pv_kwh, dt_h, battery)
    return settle(ac, soc_start_kwh, load_kwh, pv_kwh, dt_h, battery, grid, cap)
