"""The one value every PV forecast source returns: AC energy per interval, as issued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from optimizer.errors import InvalidInput
from optimizer.timeseries import require_utc

#: Columns of a forecast archive (``backtest --pv-forecast``, ``forecasts --csv``); the
#: quantile columns are optional.
ARCHIVE_COLUMNS = ("issued_utc", "start_utc", "end_utc", "kwh")
QUANTILE_COLUMNS = ("kwh_p10", "kwh_p90")


@dataclass(frozen=True)
class PvForecast:
    """One forecast as its source issued it.

    ``frame`` has columns ``start_utc``, ``end_utc`` (tz-aware UTC timestamps, intervals
    ``[start, end)``, sorted, not overlapping) and ``kwh`` (AC energy in kWh over the
    interval, finite and ≥ 0; the expected value or P50), optionally ``kwh_p10`` and
    ``kwh_p90``. ``source`` names the provider (``open-meteo``, ``forecast.solar``,
    ``solcast``); ``issued_utc`` is when it was fetched (or, for an archive, published).

    Raises ``InvalidInput`` for a frame that breaks any of these rules.
    """

    source: str
    issued_utc: datetime
    frame: pd.DataFrame

    def __post_init__(self) -> None:
        object.__setattr__(self, "issued_utc", require_utc(self.issued_utc, "issued_utc"))
        missing = [c for c in ARCHIVE_COLUMNS[1:] if c not in self.frame.columns]
        if missing:
            raise InvalidInput(f"{self.source} forecast: missing columns {missing}")
        start = pd.DatetimeIndex(self.frame["start_utc"])
        end = pd.DatetimeIndex(self.frame["end_utc"])
        if start.tz is None or end.tz is None:
            raise InvalidInput(f"{self.source} forecast: start_utc/end_utc must be UTC-aware")
        if len(start) and (
            not bool((end > start).all()) or not bool((start[1:] >= end[:-1]).all())
        ):
            raise InvalidInput(f"{self.source} forecast: intervals must be sorted and disjoint")
        for column in ("kwh", *[c for c in QUANTILE_COLUMNS if c in self.frame.columns]):
            values = self.frame[column].to_numpy(dtype=np.float64)
            bad = ~np.isfinite(values) | (values < 0)
            if bad.any():
                at = int(np.argmax(bad))
                raise InvalidInput(
                    f"{self.source} forecast: {column} {float(values[at])} at "
                    f"{start[at].isoformat()} (must be a finite kWh ≥ 0)"
                )

    @property
    def end_utc(self) -> datetime | None:
        """The end of the last interval it covers (``None`` when empty)."""
        if self.frame.empty:
            return None
        return pd.Timestamp(self.frame["end_utc"].iloc[-1]).to_pydatetime()

    def to_archive(self) -> pd.DataFrame:
        """The rows in the archive shape: ``issued_utc`` first, then the frame's columns."""
        out = self.frame.copy()
        out.insert(0, "issued_utc", pd.Timestamp(self.issued_utc))
        return out.reset_index(drop=True)
