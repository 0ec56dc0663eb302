"""PV physics: irradiance on the panels → cell temperature → DC → AC, pure numpy.

The equations are the published ones pvlib implements (``pvlib.temperature.faiman``,
``pvlib.pvsystem.pvwatts_dc``, ``pvlib.inverter.pvwatts``); tests compare against pvlib. They
are written out here because importing pvlib costs the service about 61 MiB of resident memory
(it pulls in scipy), against a 120 MiB budget: see docs/pv-sources.md.

Sources:
- Faiman, D. (2008), "Assessing the outdoor operating temperature of photovoltaic modules",
  Progress in Photovoltaics 16(4), 307-315: ``T_cell = T_air + E / (u0 + u1 · wind)``.
- Dobos, A. P. (2014), "PVWatts Version 5 Manual", NREL/TP-6A20-62641: the DC model
  ``P_dc = E/1000 · P_dc0 · (1 + γ (T_cell − 25 °C))`` (eq. 3 there) and the inverter model
  ``η = η_nom/η_ref · (−0.0162 ζ − 0.0059/ζ + 0.9858)``, ``ζ = P_dc/P_dc0,inv``,
  ``P_dc0,inv = P_ac0/η_nom``, ``η_ref = 0.9637``, ``P_ac = min(η · P_dc, P_ac0)`` (eq. 4-5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

#: PVWatts' reference inverter efficiency (Dobos 2014, eq. 5).
ETA_REF = 0.9637
#: Standard test conditions: irradiance (W/m²) and cell temperature (°C).
STC_WM2 = 1000.0
STC_C = 25.0


@dataclass(frozen=True)
class PvSystem:
    """The physics of one inverter and its arrays (the ``[pv]`` settings).

    ``kwp`` per array (DC nameplate, kW at STC); ``ac_limit_kw`` the inverter's AC rating;
    ``losses_pct`` DC system losses (%); ``gamma_per_c`` the power temperature coefficient
    (1/°C, e.g. −0.0037); ``inverter_efficiency`` nominal; ``u0`` (W/m²/K) and ``u1``
    (W·s/m³/K) Faiman's heat-loss factors.
    """

    kwp: tuple[float, ...]
    ac_limit_kw: float
    losses_pct: float = 14.0
    gamma_per_c: float = -0.0037
    inverter_efficiency: float = 0.96
    u0: float = 25.0
    u1: float = 6.84


def cell_temperature_c(poa_wm2: Array, air_c: Array, wind_ms: Array, u0: float, u1: float) -> Array:
    """Faiman (2008) cell temperature (°C) from plane-of-array irradiance (W/m²), air
    temperature (°C) and wind speed (m/s)."""
    return air_c + poa_wm2 / (u0 + u1 * wind_ms)


def dc_power_kw(poa_wm2: Array, cell_c: Array, kwp: float, gamma_per_c: float) -> Array:
    """PVWatts DC power (kW) of ``kwp`` of panels (Dobos 2014, eq. 3); never below 0."""
    dc = poa_wm2 / STC_WM2 * kwp * (1.0 + gamma_per_c * (cell_c - STC_C))
    return np.maximum(dc, 0.0)


def ac_power_kw(dc_kw: Array, ac_limit_kw: float, eta_nom: float = 0.96) -> Array:
    """PVWatts inverter (Dobos 2014, eq. 4-5): AC power (kW) from DC power (kW), with the
    part-load efficiency curve and clipped at ``ac_limit_kw``; 0 where there is no DC."""
    dc0 = ac_limit_kw / eta_nom
    zeta = np.where(dc_kw > 0, dc_kw / dc0, 1.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # ζ → 0: η → −∞, AC 0
        eta = eta_nom / ETA_REF * (-0.0162 * zeta - 0.0059 / zeta + 0.9858)
        ac = np.minimum(eta * dc_kw, ac_limit_kw)
    return np.where(dc_kw > 0, np.maximum(ac, 0.0), 0.0)


def system_ac_kw(system: PvSystem, poa_wm2: Sequence[Array], air_c: Array, wind_ms: Array) -> Array:
    """AC power (kW) of the whole system: per array, irradiance on its plane (W/m², negative
    values read as 0) → Faiman cell temperature → PVWatts DC less ``losses_pct``; the arrays'
    DC summed into the one inverter, whose AC is clipped at ``ac_limit_kw``.

    ``poa_wm2`` holds one array per ``system.kwp`` entry, all the shape of ``air_c``.
    Raises ``ValueError`` when the counts differ.
    """
    if len(poa_wm2) != len(system.kwp):
        raise ValueError(f"{len(poa_wm2)} irradiance series for {len(system.kwp)} arrays")
    total = np.zeros_like(air_c, dtype=np.float64)
    for kwp, poa in zip(system.kwp, poa_wm2, strict=True):
        irradiance = np.maximum(np.asarray(poa, dtype=np.float64), 0.0)
        cell = cell_temperature_c(irradiance, air_c, wind_ms, system.u0, system.u1)
        total += dc_power_kw(irradiance, cell, kwp, system.gamma_per_c)
    total *= 1.0 - system.losses_pct / 100.0
    return ac_power_kw(total, system.ac_limit_kw, system.inverter_efficiency)


def clip_kw(power_kw: Array, ac_limit_kw: float) -> Array:
    """A source's AC power (kW) clipped at the inverter's limit and at 0."""
    return np.clip(power_kw, 0.0, ac_limit_kw)
