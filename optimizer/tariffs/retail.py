"""Wholesale (day-ahead) prices in EUR/MWh → retail prices in currency units per kWh.

``import = (spot/1000 × multiplier + adder) × (1 + vat_pct/100)`` and
``export = spot/1000 × export_multiplier + export_adder`` (no VAT on export).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PER_MWH_TO_PER_KWH = 0.001


@dataclass(frozen=True, slots=True)
class RetailFormula:
    """Multiplier (dimensionless), adders in currency units per kWh, VAT in percent."""

    multiplier: float = 1.0
    adder_per_kwh: float = 0.0
    vat_pct: float = 0.0
    export_multiplier: float = 1.0
    export_adder_per_kwh: float = 0.0

    def import_per_kwh(self, spot_per_mwh: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Retail import price per kWh from spot prices per MWh."""
        spot = np.asarray(spot_per_mwh, dtype=np.float64) * PER_MWH_TO_PER_KWH
        return (spot * self.multiplier + self.adder_per_kwh) * (1.0 + self.vat_pct / 100.0)

    def export_per_kwh(self, spot_per_mwh: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Export price per kWh from spot prices per MWh."""
        spot = np.asarray(spot_per_mwh, dtype=np.float64) * PER_MWH_TO_PER_KWH
        return spot * self.export_multiplier + self.export_adder_per_kwh
