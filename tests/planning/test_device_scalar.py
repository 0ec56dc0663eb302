"""``device.apply_command`` (and ``settle``) on plain floats is the array formulation of the
device model (``forced_ac_kwh`` and ``settle_arrays``, which the policy scores options with),
bit for bit: every mode, every field, from any SOC (the ends, zero and both zeros included)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.domain import Action, BatterySpec, Command, DeviceCommand, GridSpec
from optimizer.planning.device import (
    SlotOutcome,
    _battery_ac,
    action_of,
    apply_command,
    forced_ac_kwh,
    settle_arrays,
)

PCT = st.integers(0, 100)
command_list = st.one_of(
    st.builds(lambda p, s: Command(DeviceCommand.SET_CHARGE, 1,
                                   {"action": "ACTION_CHARGE", "power": p, "soc": s}),
              st.integers(1, 20).map(lambda k: 5 * k), PCT),
    st.builds(lambda w, p, s: Command(DeviceCommand(w), 1,
                                      {"action": "ACTION_DISCHARGE", "power": p, "soc": s}),
              st.sampled_from(["SET_CHARGE", "SET_DISCHARGE"]),
              st.integers(1, 20).map(lambda k: 5 * k), PCT),
    st.just(Command(DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION, 1, None)),
    st.just(Command(DeviceCommand.SET_BASIC_MODE, 1, None)),
    st.builds(lambda w: Command(DeviceCommand.SET_VARIABLE_GRID_INJECTION, 1,
                                {"maximumPower": w}), st.sampled_from([0, 500, 3000, -100])),
    st.builds(lambda w: Command(DeviceCommand.SET_PEAK_SHAVING, 1,
                                {"maxHousePeakConsumption": w}), st.sampled_from([0, 800, 2500])),
)  # fmt: skip
batteries = st.builds(
    BatterySpec,
    capacity_kwh=st.sampled_from([4.2, 10.08]),
    min_soc_pct=st.sampled_from([0.0, 10.0]),
    max_charge_kw=st.sampled_from([1.0, 3.6]),
    max_discharge_kw=st.sampled_from([1.0, 3.6]),
    charge_efficiency=st.sampled_from([0.92, 1.0]),
    discharge_efficiency=st.sampled_from([0.85, 0.92, 1.0]),
    inverter_rating_w=st.sampled_from([3600.0, 4600.0]),
    backup_pct=st.sampled_from([0.0, 10.0, 20.0]),
    guard_pct=st.sampled_from([0.0, 12.0]),
)
grids = st.builds(
    GridSpec,
    export_allowed=st.booleans(),
    max_import_kw=st.sampled_from([2.5, 15.0]),
    max_export_kw=st.sampled_from([0.0, 0.5, 3.68]),
)
energies = st.one_of(st.sampled_from([0.0, -0.0, 0.5, 1.2]), st.floats(0.0, 3.0))


def _on_arrays(
    command: Command,
    soc: float,
    load: float,
    pv: float,
    dt_h: float,
    b: BatterySpec,
    grid: GridSpec,
) -> SlotOutcome:
    """``apply_command`` as written before it went to floats: the forced modes through
    ``forced_ac_kwh`` and the meter through ``settle_arrays``, on one-element arrays."""
    params = command.parameters or {}
    action = action_of(command)
    if action is not Action.IDLE:
        charging = action is Action.CHARGE
        moved = forced_ac_kwh(charging, np.array([float(params["power"])]),
                              np.array([float(params["soc"])]), soc, dt_h, b)  # fmt: skip
        ac, cap = (float(moved[0]) if charging else -float(moved[0])), -1.0
    else:
        ac, cap = _battery_ac(command, soc, load, pv, dt_h, b)
    values = settle_arrays(np.array([ac]), soc, load, pv, dt_h, b, grid, np.array([cap]))
    return SlotOutcome(*(float(v[0]) for v in values))


def _bits(outcome: SlotOutcome) -> bytes:
    return np.array(
        [outcome.charge_kwh, outcome.discharge_kwh, outcome.import_kwh, outcome.export_kwh,
         outcome.curtail_kwh, outcome.soc_end_kwh]
    ).tobytes()  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(command_list, batteries, grids, st.data(), energies, energies, st.sampled_from([0.5, 0.25]))
def test_a_slot_played_on_floats_is_the_array_formulation(
    command: Command,
    battery: BatterySpec,
    grid: GridSpec,
    data: st.DataObject,
    load: float,
    pv: float,
    dt_h: float,
) -> None:
    soc = data.draw(
        st.sampled_from([0.0, -0.0, battery.capacity_kwh, battery.kwh(battery.backup_pct)])
        | st.floats(0.0, battery.capacity_kwh)
    )
    if data.draw(st.booleans()):
        pv = load  # no surplus, no net load: the signed zeros of the meter
    expected = _on_arrays(command, soc, load, pv, dt_h, battery, grid)
    assert _bits(apply_command(command, soc, load, pv, dt_h, battery, grid)) == _bits(expected)
