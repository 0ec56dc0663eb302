"""Rule-of-thumb strategies and the no-battery baseline, for comparison with the LP."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from optimizer.backtest.strategy import DecisionContext, Foresight
from optimizer.domain import Command, DeviceCommand
from optimizer.planning.device import idle_command


class NoBattery:
    """Leave the battery idle: the reference every saving is measured against."""

    name = "none"
    foresight: Foresight = "realistic"

    def decide(self, context: DecisionContext) -> Sequence[Command]:
        """Idle for every known slot."""
        return [idle_command()] * context.n


class SelfUse:
    """The device's own self-consumption mode: store surplus PV, cover the house's net load.

    It never charges from the grid, so without PV it saves nothing.
    """

    name = "self-use"
    foresight: Foresight = "realistic"

    def decide(self, context: DecisionContext) -> Sequence[Command]:
        """``SET_MAXIMIZE_AUTO_CONSUMPTION`` for every known slot."""
        return [Command(DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION, 1, None)] * context.n


def slots_to_fill(context: DecisionContext) -> int:
    """Slots at full charge power needed to go from the minimum to the maximum SOC."""
    battery = context.battery
    usable_kwh = battery.kwh(battery.max_soc_pct - battery.min_soc_pct)
    per_slot_kwh = battery.max_charge_kw * context.dt_h * battery.charge_efficiency
    return max(1, math.ceil(usable_kwh / per_slot_kwh - 1e-9))


def _battery_command(action: str, soc_pct: int, wire: str) -> Command:
    """Full power (100 %) toward ``soc_pct`` with ``ACTION_CHARGE``/``ACTION_DISCHARGE``."""
    parameters = {"action": action, "power": 100, "soc": soc_pct}
    return Command(DeviceCommand(wire), 1, parameters)


class CheapestSlots:
    """Charge in the ``n`` cheapest known slots, discharge in the ``n`` dearest.

    ``n`` (default: the slots needed to fill the battery at full power) is chosen over the
    prices known at the decision time. A pair is only used while the dear slot's export price
    is worth more than the cheap import after both efficiency losses.
    """

    name = "cheapest-slots"
    foresight: Foresight = "realistic"

    def __init__(self, n: int | None = None) -> None:
        self.n = n

    def decide(self, context: DecisionContext) -> Sequence[Command]:
        """Full-power charge/discharge commands in the chosen slots, idle elsewhere."""
        battery = context.battery
        n = min(self.n or slots_to_fill(context), context.n // 2)
        cheap = np.argsort(context.price_import_per_kwh, kind="stable")[:n]
        value = np.maximum(context.price_import_per_kwh, context.price_export_per_kwh)
        dear = np.argsort(-value, kind="stable")[:n]
        loss = battery.charge_efficiency * battery.discharge_efficiency
        commands = [idle_command()] * context.n
        top, bottom = math.floor(battery.max_soc_pct), math.ceil(battery.min_soc_pct)
        wire = context.options.discharge_command
        for c, d in zip(cheap, dear, strict=True):
            if c == d or value[d] * loss <= context.price_import_per_kwh[c]:
                continue
            commands[int(c)] = _battery_command("ACTION_CHARGE", top, "SET_CHARGE")
            commands[int(d)] = _battery_command("ACTION_DISCHARGE", bottom, wire)
        return commands
