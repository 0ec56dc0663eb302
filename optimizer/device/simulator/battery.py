"""The simulated battery: its state of charge, moved by the project's one device model.

Each integration step plays the running mode through ``optimizer.planning.device.apply_command``
(the same control laws the planner, the command choice and the backtest use), so the simulator
has no physics of its own: powers in W over ``seconds`` become kWh over the step
(``kwh = w × seconds / 3600 / 1000``), the outcome's kWh become average W again.

Sign convention as in ``optimizer.domain``: battery power is + when charging, at the AC side, in W.
``grid_w = load_w - pv_w + battery_w`` (+ = import), where ``pv_w`` is the PV actually produced
(what a mode curtails is not produced). The simulated meter has no limits of its own (the grid
never curtails); only a mode does (``SET_VARIABLE_GRID_INJECTION``). Modes the model does not
know (or with unusable parameters) idle, like ``SET_BASIC_MODE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optimizer.domain import BatterySpec, Command, DeviceCommand, GridSpec
from optimizer.planning.device import apply_command

S_PER_H = 3600.0
W_PER_KW = 1000.0
#: The simulated meter: no import or export limit, so only a mode curtails PV.
UNLIMITED_GRID = GridSpec(export_allowed=True, max_import_kw=1e6, max_export_kw=1e6)
#: Parameters a mode needs, numeric, before the model can play it.
_NEEDS: dict[DeviceCommand, tuple[str, ...]] = {
    DeviceCommand.SET_CHARGE: ("power", "soc"),
    DeviceCommand.SET_DISCHARGE: ("power", "soc"),
    DeviceCommand.SET_VARIABLE_GRID_INJECTION: ("maximumPower",),
    DeviceCommand.SET_PEAK_SHAVING: ("maxHousePeakConsumption",),
}
_ACTIONS = ("ACTION_CHARGE", "ACTION_DISCHARGE")
#: What the battery does in a mode it cannot play: nothing (``SET_BASIC_MODE``).
IDLE = Command(DeviceCommand.SET_BASIC_MODE, 1, None)


@dataclass(frozen=True, slots=True)
class Flows:
    """Average powers over one step, W. ``battery_w`` + = charging; ``grid_w`` + = import;
    ``pv_w`` produced; ``curtailed_w`` PV available but not produced (a mode's export cap)."""

    battery_w: float
    grid_w: float
    load_w: float
    pv_w: float
    curtailed_w: float = 0.0


@dataclass(slots=True)
class BatteryModel:
    """State of charge (%) plus the constants of the simulated unit.

    ``rating_w`` is the inverter's full scale (W): the power % of a command refers to it and it
    limits charge and discharge. ``backup_pct`` is the device's backup level, the floor of every
    mode. Efficiencies: AC→stored when charging, stored→AC when discharging.
    """

    capacity_kwh: float = 4.2
    soc_pct: float = 50.0
    rating_w: float = 3600.0
    charge_efficiency: float = 0.92
    discharge_efficiency: float = 0.92
    backup_pct: float = 0.0

    def spec(self) -> BatterySpec:
        """The battery as the device model sees it: the backup level as the device's floor
        (and the window backup level..100 %), rating as both power limits (kW) and as
        ``inverter_rating_w``."""
        return BatterySpec(
            capacity_kwh=self.capacity_kwh,
            min_soc_pct=self.backup_pct,
            max_soc_pct=100.0,
            backup_pct=self.backup_pct,
            max_charge_kw=self.rating_w / W_PER_KW,
            max_discharge_kw=self.rating_w / W_PER_KW,
            charge_efficiency=self.charge_efficiency,
            discharge_efficiency=self.discharge_efficiency,
            inverter_rating_w=self.rating_w,
        )


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def command_of(command: str | None, params: Mapping[str, Any] | None) -> Command:
    """The ``Command`` a mode record (``command`` + ``parameters``) runs; idle when the mode is
    unknown or lacks what it needs. ``action`` counts only for ``SET_CHARGE``/``SET_DISCHARGE``."""
    try:
        kind = DeviceCommand(str(command))
    except ValueError:
        return IDLE
    parameters = dict(params) if isinstance(params, Mapping) else None
    needs = _NEEDS.get(kind, ())
    if any(not _numeric((parameters or {}).get(name)) for name in needs):
        return IDLE
    if kind in (DeviceCommand.SET_CHARGE, DeviceCommand.SET_DISCHARGE):
        if (parameters or {}).get("action") not in _ACTIONS:
            return IDLE
    elif parameters is not None:
        parameters.pop("action", None)
    return Command(kind, 1, parameters)


def step(
    battery: BatteryModel,
    command: str | None,
    params: Mapping[str, Any] | None,
    load_w: float,
    pv_w: float,
    seconds: float,
) -> Flows:
    """Advance ``battery`` by ``seconds`` in the given mode (house ``load_w`` and available
    ``pv_w``, W); return the average flows (W) over the step."""
    if seconds <= 0:
        return Flows(0.0, load_w - pv_w, load_w, pv_w)
    kwh_per_w = seconds / S_PER_H / W_PER_KW
    spec = battery.spec()
    outcome = apply_command(
        command_of(command, params),
        spec.kwh(battery.soc_pct),
        load_w * kwh_per_w,
        pv_w * kwh_per_w,
        seconds / S_PER_H,
        spec,
        UNLIMITED_GRID,
    )
    battery.soc_pct = spec.pct(outcome.soc_end_kwh)
    curtailed_w = outcome.curtail_kwh / kwh_per_w
    return Flows(
        battery_w=(outcome.charge_kwh - outcome.discharge_kwh) / kwh_per_w,
        grid_w=(outcome.import_kwh - outcome.export_kwh) / kwh_per_w,
        load_w=load_w,
        pv_w=pv_w - curtailed_w,
        curtailed_w=curtailed_w,
    )
