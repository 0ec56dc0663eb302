"""The ``[pv]`` settings as the physics' ``PvSystem``."""

from __future__ import annotations

from optimizer.config import PvSettings
from optimizer.forecast.pvpower import PvSystem


def pv_system(pv: PvSettings) -> PvSystem:
    """The inverter and arrays of ``pv`` (temperature coefficient converted from %/°C)."""
    return PvSystem(
        kwp=tuple(array.kwp for array in pv.arrays),
        ac_limit_kw=pv.ac_limit_kw,
        losses_pct=pv.system_losses_pct,
        gamma_per_c=pv.temp_coeff_pct_per_c / 100.0,
        inverter_efficiency=pv.inverter_efficiency,
        u0=pv.faiman_u0,
        u1=pv.faiman_u1,
    )
