"""The one canonical price series every tariff source returns.

A ``PriceSeries`` holds fixed-length slots: the UTC start of each slot (the index), its UTC end and
its price in currency units per kWh, plus where it came from and when it was fetched/published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.errors import TariffError
from optimizer.timeseries import require_utc

PRICE = "price_per_kwh"
END = "end"


@dataclass(frozen=True)
class PriceSeries:
    """Prices per slot: ``frame`` is indexed by UTC slot start with columns ``end`` (UTC) and
    ``price_per_kwh`` (currency units per kWh, VAT as the source states it).

    ``fetched_at`` is when we received it (UTC); ``published_at`` when the source says it was
    published, if it says. ``warnings`` collects what validation filled or noticed.
    """

    source: str
    tariff: str
    frame: pd.DataFrame
    fetched_at: datetime
    published_at: datetime | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def prices(self) -> pd.Series:
        """Price per kWh (currency units) indexed by UTC slot start: what the planner takes."""
        series = self.frame[PRICE].astype(np.float64)
        series.name = PRICE
        return series

    @property
    def empty(self) -> bool:
        """True when there is no slot at all."""
        return self.frame.empty

    def with_frame(self, frame: pd.DataFrame, *warnings: str) -> PriceSeries:
        """A copy with ``frame`` replaced and ``warnings`` appended."""
        return replace(self, frame=frame, warnings=self.warnings + tuple(warnings))

    def window(self, start: datetime, end: datetime) -> PriceSeries:
        """Only the slots starting in ``[start, end)`` (UTC)."""
        index = self.frame.index
        mask = (index >= require_utc(start, "start")) & (index < require_utc(end, "end"))
        return replace(self, frame=self.frame[mask])


Times = Sequence[datetime] | pd.Index | pd.Series
Values = Sequence[float] | npt.NDArray[np.float64] | pd.Series


def price_frame(starts: Times, ends: Times, prices_per_kwh: Values) -> pd.DataFrame:
    """Build a canonical frame (sorted by start, UTC, nanosecond unit); keeps duplicates.

    Raises ``TariffError`` if the lengths differ or a timestamp is naive.
    """
    if not len(starts) == len(ends) == len(prices_per_kwh):
        raise TariffError(
            f"price frame: {len(starts)} starts, {len(ends)} ends, {len(prices_per_kwh)} prices"
        )
    start_index = _utc_index(starts, "slot start")
    end_index = _utc_index(ends, "slot end")
    values = np.asarray(prices_per_kwh, dtype=np.float64)
    frame = pd.DataFrame({END: end_index, PRICE: values}, index=start_index)
    frame.index.name = "start"
    return frame.sort_index(kind="stable")


def _utc_index(values: Times, what: str) -> pd.DatetimeIndex:
    if isinstance(values, pd.Index | pd.Series):
        index = pd.DatetimeIndex(values)
    else:
        index = pd.DatetimeIndex(list(values))
    if len(index) and index.tz is None:
        raise TariffError(f"{what} {index[0].isoformat()} has no time zone")
    if not len(index):
        return pd.DatetimeIndex([], tz="UTC", dtype="datetime64[ns, UTC]")
    return index.tz_convert("UTC").as_unit("ns")


def slot_length(frame: pd.DataFrame) -> pd.Timedelta:
    """The most common slot length of ``frame`` (end − start)."""
    if frame.empty:
        raise TariffError("price series is empty: no slot length")
    lengths = pd.Series(frame[END].to_numpy() - frame.index.to_numpy())
    return pd.Timedelta(lengths.mode().iloc[0])
