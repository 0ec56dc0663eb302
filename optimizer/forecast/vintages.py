"""PV forecasts as issued (vintages), put on the planner's slots and chosen as they were known.

An archive is many forecasts, each issued at a time and covering intervals of any length
(Elia's 15-minute day-ahead runs, Open-Meteo's 15-minute or hourly values, Solcast's half
hours). ``PvVintages`` spreads every vintage's energy onto one slot grid (energy in proportion
to the overlap; a slot counts as covered by a vintage only when that vintage's intervals cover
all of it), and answers, for a decision time, each slot's energy from the **latest vintage
issued at or before** that time that covers it. A slot no vintage covers is NaN: the caller
fills it from the history forecast and never reads a forecast past its horizon.

The service (stored vintages) and the backtest (``--pv-forecast`` files) both use this one rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.errors import InvalidInput
from optimizer.timeseries import FloatArray, require_utc
from optimizer.weather.model import ARCHIVE_COLUMNS, QUANTILE_COLUMNS

Int64Array = npt.NDArray[np.int64]
_NEVER = np.iinfo(np.int64).max
#: A slot is covered when the vintage's intervals cover it to within this many nanoseconds.
_COVER_TOLERANCE_NS = 1_000_000


def _ns(values: pd.Series | pd.DatetimeIndex) -> Int64Array:
    index = pd.DatetimeIndex(values)
    if index.tz is None:
        raise InvalidInput("PV forecast archive: times must be timezone-aware UTC")
    return np.asarray(index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


def _pairs(
    start: Int64Array, end: Int64Array, t0: int, step: int, slots: int
) -> tuple[Int64Array, Int64Array]:
    """Every (row, slot) pair whose intervals overlap, slots on ``t0 + k·step``."""
    first = np.floor_divide(start - t0, step)
    last = np.floor_divide(end - t0 - 1, step)
    first = np.clip(first, 0, slots)
    last = np.clip(last, -1, slots - 1)
    counts = np.maximum(last - first + 1, 0)
    rows = np.repeat(np.arange(len(start)), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, np.repeat(first, counts) + offsets


@dataclass(frozen=True)
class PvVintages:
    """Every vintage of an archive on one slot grid.

    ``issued_ns[s, k]`` is the issue time (ns since the epoch, ascending in ``k``, padded with
    int64 max) of the ``k``-th vintage covering slot ``s``; ``values[name][s, k]`` its kWh
    (``kwh`` and, where the archive has them, ``kwh_p10``/``kwh_p90``).
    """

    index: pd.DatetimeIndex
    slot_minutes: int
    issued_ns: Int64Array
    values: dict[str, FloatArray]

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, index: pd.DatetimeIndex, slot_minutes: int
    ) -> PvVintages:
        """Spread an archive (columns ``issued_utc,start_utc,end_utc,kwh[,kwh_p10,kwh_p90]``,
        UTC-aware times, kWh per interval) onto the slots starting at ``index``.

        Raises ``InvalidInput`` for missing columns, naive times, an interval that does not
        end after it starts, a negative or non-finite kWh, or two rows of one vintage that
        overlap.
        """
        missing = [c for c in ARCHIVE_COLUMNS if c not in frame.columns]
        if missing:
            raise InvalidInput(f"PV forecast archive: missing columns {missing}")
        names = ["kwh", *[c for c in QUANTILE_COLUMNS if c in frame.columns]]
        issued, start, end = (_ns(frame[c]) for c in ARCHIVE_COLUMNS[:3])
        _check_rows(frame, names, start, end)
        step = slot_minutes * 60 * 10**9
        slots = len(index)
        t0 = int(_ns(index)[0]) if slots else 0
        rows, slot = _pairs(start, end, t0, step, slots)
        slot_start = t0 + slot * step
        overlap = np.minimum(end[rows], slot_start + step) - np.maximum(start[rows], slot_start)
        share = overlap / (end[rows] - start[rows])
        # One group per (vintage, slot): sum the overlaps (coverage) and the energy shares.
        keys = np.stack([issued[rows], slot])
        uniq, group = np.unique(keys, axis=1, return_inverse=True)
        group = group.ravel()
        covered = np.bincount(group, weights=overlap, minlength=uniq.shape[1])
        if covered.max(initial=0) > step + _COVER_TOLERANCE_NS:
            raise InvalidInput("PV forecast archive: one vintage has overlapping rows")
        sums: dict[str, FloatArray] = {
            n: np.bincount(group, weights=frame[n].to_numpy(np.float64)[rows] * share).astype(
                np.float64
            )
            for n in names
        }
        whole = covered >= step - _COVER_TOLERANCE_NS
        return cls._packed(
            index, slot_minutes, uniq[:, whole], {n: s[whole] for n, s in sums.items()}
        )

    @classmethod
    def _packed(
        cls,
        index: pd.DatetimeIndex,
        slot_minutes: int,
        keys: Int64Array,
        sums: dict[str, FloatArray],
    ) -> PvVintages:
        """Pack (issued, slot) → value columns into slot × vintage matrices."""
        issued, slot = keys[0], keys[1]
        order = np.lexsort((issued, slot))
        issued, slot = issued[order], slot[order]
        counts = (
            np.bincount(slot, minlength=len(index))
            if len(slot)
            else np.zeros(len(index), dtype=np.int64)
        )
        width = max(int(counts.max(initial=0)), 1)
        rank = np.arange(len(slot)) - np.repeat(np.cumsum(counts) - counts, counts)
        issued_ns = np.full((len(index), width), _NEVER, dtype=np.int64)
        issued_ns[slot, rank] = issued
        values: dict[str, FloatArray] = {}
        for name, column in sums.items():
            matrix = np.full((len(index), width), np.nan)
            matrix[slot, rank] = column[order]
            values[name] = matrix
        return cls(index, slot_minutes, issued_ns, values)

    def at(
        self,
        decision: datetime,
        first: int,
        stop: int,
        column: str = "kwh",
        max_age_hours: float | None = None,
    ) -> FloatArray:
        """kWh of slots ``[first, stop)`` from the latest vintage issued at or before
        ``decision`` (UTC) that covers each; NaN where none does (or where the latest is older
        than ``max_age_hours``). ``column``: ``kwh``, ``kwh_p10`` or ``kwh_p90``; a quantile
        the archive lacks raises ``InvalidInput``."""
        if column not in self.values:
            raise InvalidInput(f"PV forecast archive has no {column} column")
        now, rows, pick, chosen = self._pick(decision, first, stop)
        out: FloatArray = np.array(self.values[column][first:stop][rows, np.maximum(pick, 0)])
        out[pick < 0] = np.nan
        if max_age_hours is not None:
            out[now - chosen > max_age_hours * 3600e9] = np.nan
        return out

    def _pick(
        self, decision: datetime, first: int, stop: int
    ) -> tuple[int, Int64Array, Int64Array, Int64Array]:
        """The decision (ns), the rows, each slot's vintage rank (-1: none) and issue (ns)."""
        now = int(pd.Timestamp(require_utc(decision, "decision time")).as_unit("ns").value)
        issued = self.issued_ns[first:stop]
        pick = (issued <= now).sum(axis=1) - 1
        rows = np.arange(issued.shape[0])
        return now, rows, pick, issued[rows, np.maximum(pick, 0)]

    def issued_at(self, decision: datetime, first: int, stop: int) -> list[datetime | None]:
        """Which vintage ``at`` reads for each slot (its issue time, UTC), ``None`` if none."""
        _, _, pick, chosen = self._pick(decision, first, stop)
        return [
            None if k < 0 else pd.Timestamp(int(ns), tz="UTC").to_pydatetime()
            for k, ns in zip(pick, chosen, strict=True)
        ]


def _check_rows(frame: pd.DataFrame, names: list[str], start: Int64Array, end: Int64Array) -> None:
    """Every row ends after it starts and holds finite kWh ≥ 0; the first bad row is named."""
    bad = end <= start
    if bad.any():
        at = int(np.argmax(bad))
        raise InvalidInput(f"PV forecast archive: row {at + 1}: end_utc is not after start_utc")
    for name in names:
        values = frame[name].to_numpy(np.float64)
        wrong = ~np.isfinite(values) | (values < 0)
        if wrong.any():
            at = int(np.argmax(wrong))
            raise InvalidInput(
                f"PV forecast archive: row {at + 1}: {name} = {float(values[at])} "
                "(must be a finite kWh ≥ 0)"
            )
