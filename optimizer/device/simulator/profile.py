"""House load and PV production for the simulator, in W, from a formula or from the data/ CSVs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from optimizer.csvdata import read_series_csv
from optimizer.errors import InvalidInput


class Profile(Protocol):
    """Where the simulated house's powers come from."""

    def load_w(self, moment: datetime) -> float:
        """House load at UTC ``moment``, W."""
        ...

    def pv_w(self, moment: datetime) -> float:
        """PV production at UTC ``moment``, W."""
        ...


@dataclass(frozen=True, slots=True)
class SyntheticProfile:
    """A plain day: base load with morning and evening peaks, PV a sine from 06:00 to 18:00."""

    base_load_w: float = 300.0
    peak_load_w: float = 1500.0
    pv_peak_w: float = 2500.0
    timezone: str = "Europe/London"

    def _hour(self, moment: datetime) -> float:
        local = moment.astimezone(ZoneInfo(self.timezone))
        return local.hour + local.minute / 60.0 + local.second / 3600.0

    def load_w(self, moment: datetime) -> float:
        """Base load plus peaks around 07:30 and 18:30 local, W."""
        hour = self._hour(moment)
        bumps = math.exp(-(((hour - 7.5) / 1.0) ** 2)) * 0.5 + math.exp(
            -(((hour - 18.5) / 1.5) ** 2)
        )
        return self.base_load_w + self.peak_load_w * bumps

    def pv_w(self, moment: datetime) -> float:
        """Half a sine between 06:00 and 18:00 local, W."""
        hour = self._hour(moment)
        if not 6.0 <= hour <= 18.0:
            return 0.0
        return self.pv_peak_w * math.sin(math.pi * (hour - 6.0) / 12.0)


@dataclass(frozen=True, slots=True)
class ConstantProfile:
    """Fixed load and PV (tests that need exact energy arithmetic)."""

    load: float = 0.0
    pv: float = 0.0

    def load_w(self, moment: datetime) -> float:
        """The fixed load, W."""
        return self.load

    def pv_w(self, moment: datetime) -> float:
        """The fixed PV, W."""
        return self.pv


class _Replay:
    """A kWh-per-interval series replayed as average W, wrapping around its span.

    Simulated time ``anchor`` maps to the series' first row; ``None`` replays it at its own
    dates (the first row's start is its own anchor).
    """

    def __init__(self, series: pd.Series, name: str, anchor: datetime | None) -> None:
        if len(series) < 2:
            raise InvalidInput(f"{name}: needs at least two rows to replay")
        index = pd.DatetimeIndex(series.index)
        step_s = float(np.median(np.diff(index.asi8)) / 1e9)
        self._starts = index.asi8 / 1e9
        self._watts = series.to_numpy(dtype=np.float64) * 1000.0 * 3600.0 / step_s
        self._span = self._starts[-1] + step_s - self._starts[0]
        self._anchor = anchor.timestamp() if anchor is not None else float(self._starts[0])

    def at(self, moment: datetime) -> float:
        offset = (moment.timestamp() - self._anchor) % self._span
        position = int(np.searchsorted(self._starts, self._starts[0] + offset, side="right")) - 1
        return float(self._watts[max(position, 0)])


class CsvProfile:
    """Load and/or PV replayed from the project's CSV shape (kWh per interval → W).

    Simulated time ``anchor`` maps to the first row of each file; ``anchor=None`` replays each
    file at its own dates (load and PV files may start on different days). The files wrap
    around. A missing file means zero for that quantity; ``column`` names the value column
    (default: the third).
    """

    def __init__(
        self,
        load_csv: Path | str | None,
        pv_csv: Path | str | None,
        anchor: datetime | None = None,
        column: str | None = None,
    ) -> None:
        self._load = (
            _Replay(read_series_csv(load_csv, column), str(load_csv), anchor) if load_csv else None
        )
        self._pv = _Replay(read_series_csv(pv_csv, column), str(pv_csv), anchor) if pv_csv else None

    @classmethod
    def from_series(
        cls, load_kwh: pd.Series | None, pv_kwh: pd.Series | None, anchor: datetime | None = None
    ) -> CsvProfile:
        """A profile from series already read (kWh per interval, UTC index of interval starts)."""
        profile = cls(None, None)
        profile._load = _Replay(load_kwh, "load", anchor) if load_kwh is not None else None
        profile._pv = _Replay(pv_kwh, "pv", anchor) if pv_kwh is not None else None
        return profile

    def load_w(self, moment: datetime) -> float:
        """Replayed load, W."""
        return self._load.at(moment) if self._load else 0.0

    def pv_w(self, moment: datetime) -> float:
        """Replayed PV, W."""
        return self._pv.at(moment) if self._pv else 0.0
