"""PV physics: known answers worked out by hand, and the same numbers as pvlib's functions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.forecast.pvpower import (
    PvSystem,
    ac_power_kw,
    cell_temperature_c,
    clip_kw,
    dc_power_kw,
    system_ac_kw,
)


def one(value: float) -> np.ndarray:
    return np.array([value], dtype=np.float64)


def test_stc_on_4_kwp_with_14_percent_losses() -> None:
    # Faiman: −15 °C air + 1000/(25 + 6.84 × 0) = 25 °C cell. DC: 4 kW × (1 − 0.14) = 3.44 kW.
    # PVWatts inverter, P_ac0 = 3.68 kW, η_nom = 0.96: P_dc0 = 3.68/0.96 = 3.83333 kW,
    # ζ = 3.44/3.83333 = 0.897391, η = 0.96/0.9637 × (−0.0162 × 0.897391 − 0.0059/0.897391
    # + 0.9858) = 0.996161 × 0.964688 = 0.960984, AC = 3.44 × 0.960984 = 3.30578 kW.
    system = PvSystem(kwp=(4.0,), ac_limit_kw=3.68)
    assert cell_temperature_c(one(1000), one(-15), one(0), 25, 6.84) == pytest.approx(25)
    ac = system_ac_kw(system, [one(1000)], one(-15), one(0))
    assert ac == pytest.approx(3.30578, abs=1e-5)


def test_a_hot_cell_loses_gamma_per_degree() -> None:
    # 800 W/m², 30 °C air, 2 m/s: cell = 30 + 800/(25 + 13.68) = 50.6825 °C;
    # DC = 0.8 × 4 × (1 − 0.0037 × 25.6825) = 3.2 × 0.904975 = 2.89592 kW.
    cell = cell_temperature_c(one(800), one(30), one(2), 25, 6.84)
    assert cell == pytest.approx(50.6825, abs=1e-4)
    assert dc_power_kw(one(800), cell, 4.0, -0.0037) == pytest.approx(2.89592, abs=1e-5)


def test_the_inverter_clips_the_arrays_together() -> None:
    system = PvSystem(kwp=(4.0, 4.0), ac_limit_kw=3.6)
    ac = system_ac_kw(system, [one(1000), one(1000)], one(-15), one(0))
    assert ac == pytest.approx(3.6)
    east_only = system_ac_kw(system, [one(1000), one(0)], one(-15), one(0))
    assert 3.2 < float(east_only[0]) < 3.6


def test_no_sun_and_negative_irradiance_give_zero() -> None:
    system = PvSystem(kwp=(4.0,), ac_limit_kw=3.6)
    ac = system_ac_kw(system, [np.array([0.0, -84.0, -1.0])], np.full(3, 10.0), np.ones(3))
    assert (ac == 0).all()


def test_clip_bounds_a_sources_power() -> None:
    assert clip_kw(np.array([-0.1, 1.0, 5.0]), 3.6).tolist() == [0.0, 1.0, 3.6]


def test_counts_must_match() -> None:
    with pytest.raises(ValueError, match="2 irradiance series for 1 arrays"):
        system_ac_kw(PvSystem(kwp=(4.0,), ac_limit_kw=3.6), [one(1), one(1)], one(0), one(0))


@settings(max_examples=60, deadline=None)
@given(
    poa=st.lists(st.floats(0, 1400), min_size=1, max_size=20),
    air=st.floats(-30, 45),
    wind=st.floats(0, 20),
    kwp=st.floats(0.5, 15),
    limit=st.floats(0.5, 10),
    gamma=st.floats(-0.006, 0),
)
def test_the_same_numbers_as_pvlib(
    poa: list[float], air: float, wind: float, kwp: float, limit: float, gamma: float
) -> None:
    pvlib = pytest.importorskip("pvlib", reason="pvlib is a dev dependency (the reference)")
    e = np.array(poa)
    t_air, v = np.full_like(e, air), np.full_like(e, wind)
    cell = cell_temperature_c(e, t_air, v, 25.0, 6.84)
    assert cell == pytest.approx(np.asarray(pvlib.temperature.faiman(e, t_air, v)), rel=1e-12)
    dc = dc_power_kw(e, cell, kwp, gamma)
    reference_dc = np.maximum(np.asarray(pvlib.pvsystem.pvwatts_dc(e, cell, kwp, gamma)), 0)
    assert dc == pytest.approx(reference_dc, rel=1e-12, abs=1e-12)
    ac = ac_power_kw(dc, limit, 0.96)
    with np.errstate(over="ignore"):  # pvlib's curve overflows for a vanishing DC too
        reference_ac = np.asarray(pvlib.inverter.pvwatts(dc, limit / 0.96, 0.96))
    assert ac == pytest.approx(reference_ac, rel=1e-9, abs=1e-12)
