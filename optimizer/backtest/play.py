"""One slot of the replay played on plain floats: ``device.apply_command``, bit for bit.

The replay plays every slot of a year (17,520) with the device model; ``apply_command`` computes
the forced modes and the meter on one-element NumPy arrays, and each NumPy call costs more than
the arithmetic (~150,000 instructions a slot). ``play`` is the same IEEE operations on floats:
NumPy's ``minimum``/``maximum`` of two numbers (no NaN here: the replay's inputs are checked)
are ``_min``/``_max``, which like NumPy give the second of two equal numbers (``-0.0`` or
``0.0``: Python's ``min``/``max`` give the first), ``where`` is a conditional. The control laws
of the modes are ``device``'s own functions. ``tests/backtest/test_play.py`` pins ``play``
to ``apply_command`` with hypothesis, so a change to the device model there fails it here.
"""

from __future__ import annotations

from optimizer.domain import Action, BatterySpec, Command, DeviceCommand, GridSpec
from optimizer.planning.device import (
    SlotOutcome,
    action_of,
    charge_room_kwh,
    discharge_room_kwh,
    export_limit_ac_kwh,
    mode_floor_pct,
    self_consumption_ac_kwh,
)


def play(
    command: Command,
    soc_start_kwh: float,
    load_kwh: float,
    pv_kwh: float,
    dt_h: float,
    battery: BatterySpec,
    grid: GridSpec,
) -> SlotOutcome:
    """``apply_command(command, soc_start_kwh, load_kwh, pv_kwh, dt_h, battery, grid)``."""
    ac, mode_cap = _battery_ac(command, soc_start_kwh, load_kwh, pv_kwh, dt_h, battery)
    charge, discharge = _max(ac, 0.0), _max(-ac, 0.0)
    soc_end = (
        soc_start_kwh
        + charge * battery.charge_efficiency
        - discharge / battery.discharge_efficiency
    )
    net = load_kwh - pv_kwh + ac
    grid_cap = grid.max_export_kw * dt_h if grid.export_allowed else 0.0
    cap = _min(grid_cap, mode_cap) if mode_cap >= 0 else grid_cap
    surplus = -net
    curtail = _min(_max(surplus - cap, 0.0), pv_kwh)
    imports = _max(net, 0.0)
    exports = _max(surplus - curtail, 0.0)
    return SlotOutcome(charge, discharge, imports, exports, curtail if net < 0 else 0.0, soc_end)


def _battery_ac(
    command: Command, soc_kwh: float, load_kwh: float, pv_kwh: float, dt_h: float, b: BatterySpec
) -> tuple[float, float]:
    """(battery AC energy, export cap from the mode or -1 for none): ``device._battery_ac``."""
    params = command.parameters or {}
    action = action_of(command)
    surplus = pv_kwh - load_kwh
    if action is not Action.IDLE:
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
    mode = command.command  # the modes: device's scalar code, Python's min/max as there
    if mode is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION:
        return self_consumption_ac_kwh(soc_kwh, load_kwh, pv_kwh, dt_h, b), -1.0
    if mode is DeviceCommand.SET_VARIABLE_GRID_INJECTION:
        cap = max(0.0, float(params.get("maximumPower", 0))) / 1000.0 * dt_h
        return export_limit_ac_kwh(cap, soc_kwh, load_kwh, pv_kwh, dt_h, b), cap
    if mode is DeviceCommand.SET_PEAK_SHAVING:
        peak = float(params.get("maxHousePeakConsumption", 0)) / 1000.0 * dt_h
        if surplus >= 0:
            return min(surplus, charge_room_kwh(soc_kwh, b.capacity_kwh, dt_h, b)), -1.0
        bottom = b.kwh(mode_floor_pct(b))
        return -min(max(0.0, -surplus - peak), discharge_room_kwh(soc_kwh, bottom, dt_h, b)), -1.0
    return 0.0, -1.0


def _min(a: float, b: float) -> float:
    """``np.minimum(a, b)``: ``b`` unless ``a`` is less (so ``b`` of two equal zeros)."""
    return a if a < b else b


def _max(a: float, b: float) -> float:
    """``np.maximum(a, b)``: ``b`` unless ``a`` is more (so ``b`` of two equal zeros)."""
    return a if a > b else b
