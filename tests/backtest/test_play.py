"""The replay's slot played on floats is the device model's, bit for bit: every mode, every
field, from any SOC (the ends, zero and both zeros included)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.backtest.play import play
from optimizer.domain import BatterySpec, Command, DeviceCommand, GridSpec
from optimizer.planning.device import SlotOutcome, apply_command

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


def _bits(outcome: SlotOutcome) -> bytes:
    return np.array(
        [outcome.charge_kwh, outcome.discharge_kwh, outcome.import_kwh, outcome.export_kwh,
         outcome.curtail_kwh, outcome.soc_end_kwh]
    ).tobytes()  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(command_list, batteries, grids, st.data(), energies, energies, st.sampled_from([0.5, 0.25]))
def test_a_slot_played_on_floats_is_the_device_models(
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
    expected = apply_command(command, soc, load, pv, dt_h, battery, grid)
    assert _bits(play(command, soc, load, pv, dt_h, battery, grid)) == _bits(expected)
