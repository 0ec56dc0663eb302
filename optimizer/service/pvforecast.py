"""The PV forecast a plan uses: stored weather vintages as issued, else the history forecast.

At a decision ``now`` the plan's PV per slot is, in this order:

1. the **latest stored vintage issued at or before** ``now`` that covers the slot
   (``optimizer.forecast.vintages.PvVintages``: the backtest's rule for ``--pv-forecast``), of
   the configured source, issued at most ``MAX_AGE`` before ``now`` (older is stale);
2. passed through ``planned_from_raw`` — the one place a raw weather forecast becomes the
   planned one (calibrated to the roof when `pv.calibrate`: `optimizer.service.roof`);
3. the history forecast (lagged mean of measured PV) where no vintage covers the slot.

So a failed fetch keeps the last good forecast for the slots it still covers, then hands over to
the history forecast slot by slot; nothing is ever zero for want of a forecast, and no slot is
read past a vintage's horizon. ``PvWatch`` says so in the log once per change: one warning when
the weather forecast covers none of a plan's slots, one info line when it covers some again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.errors import InvalidInput, StoreError
from optimizer.forecast.pvcalibrate import Calibration
from optimizer.forecast.vintages import PvVintages
from optimizer.store import Store
from optimizer.timeseries import FloatArray

log = logging.getLogger(__name__)

BoolArray = npt.NDArray[np.bool_]
HISTORY = "history"
#: A vintage issued longer than this before a decision is stale: not used for it.
MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class PlannedPv:
    """A plan's PV forecast: ``kwh`` per slot of the plan's index (AC kWh, ≥ 0), and where it
    came from: ``source`` (the weather source configured, or ``history``), ``from_weather`` (per
    slot: True where a weather vintage gave it), ``issued_utc`` (per slot: the vintage's issue
    time, ``None`` for history slots)."""

    kwh: FloatArray
    source: str
    from_weather: BoolArray
    issued_utc: tuple[datetime | None, ...]
    #: the raw weather kWh per slot before calibration (NaN where history filled the slot)
    raw: FloatArray | None = None

    @property
    def weather_slots(self) -> int:
        """How many slots the weather forecast gave."""
        return int(self.from_weather.sum())

    @property
    def newest_issued(self) -> datetime | None:
        """The newest issue time among the vintages used (``None``: history only)."""
        issued = [t for t in self.issued_utc if t is not None]
        return max(issued) if issued else None

    def summary(self) -> dict[str, object]:
        """What a stored plan keeps about its PV forecast (JSON-able)."""
        newest = self.newest_issued
        return {
            "pv_source": self.source if self.weather_slots else HISTORY,
            "pv_issued_utc": newest.isoformat() if newest else None,
            "pv_weather_slots": self.weather_slots,
        }


def weather_vintages(
    store: Store, source: str, index: pd.DatetimeIndex, slot_minutes: int, now: datetime
) -> tuple[FloatArray, list[datetime | None]]:
    """Raw weather kWh per slot of ``index`` from the stored vintages of ``source`` known at
    ``now`` and at most ``MAX_AGE`` old (NaN where none covers), and each slot's issue time.

    Raises ``StoreError`` when the store cannot be read, ``InvalidInput`` for stored rows the
    vintage rule refuses."""
    slots = len(index)
    end = (index[-1] + pd.Timedelta(minutes=slot_minutes)).to_pydatetime()
    archive = store.pv_forecast_frame(
        index[0].to_pydatetime(), end, source=source, issued_from=now - MAX_AGE, issued_to=now
    )
    if archive.empty:
        return np.full(slots, np.nan), [None] * slots
    vintages = PvVintages.from_frame(archive.drop(columns="source"), index, slot_minutes)
    hours = MAX_AGE.total_seconds() / 3600
    return vintages.at(now, 0, slots, max_age_hours=hours), vintages.issued_at(now, 0, slots)


def planned_from_raw(
    raw: FloatArray, index: pd.DatetimeIndex, calibration: Calibration | None
) -> FloatArray:
    """The weather forecast as the plan uses it, from the raw vintage values (kWh per slot of
    ``index``, NaN where none covers): **the one place** a raw forecast becomes the planned one.

    ``calibration`` (``optimizer.forecast.pvcalibrate``, fitted on the PV the device measured:
    ``optimizer.service.roof``) is applied here, so the service, ``forecast`` and the status
    page all see the calibrated values; ``None``: the raw forecast (``pv.calibrate = false``).
    NaN stays NaN, and the result is never negative."""
    if calibration is None:
        return raw
    return calibration.apply_array(index, raw)


def planned_pv(
    store: Store,
    source: str,
    index: pd.DatetimeIndex,
    slot_minutes: int,
    now: datetime,
    history: FloatArray,
    calibration: Calibration | None = None,
) -> PlannedPv:
    """The plan's PV on ``index`` at ``now``: the weather forecast of ``source`` where stored
    vintages cover a slot, ``history`` (kWh per slot, the lagged mean) elsewhere. With
    ``source == "history"``, or a store that cannot be read, the history forecast throughout
    (the read failure is logged; it never stops a plan)."""
    slots = len(index)
    none = PlannedPv(np.asarray(history, dtype=np.float64), HISTORY, np.zeros(slots, bool),
                     (None,) * slots)  # fmt: skip
    if source == HISTORY or slots == 0:
        return none
    try:
        raw, issued = weather_vintages(store, source, index, slot_minutes, now)
    except (StoreError, InvalidInput) as exc:
        log.warning("PV forecast: stored %s forecasts unreadable (%s); history forecast", source,
                    exc)  # fmt: skip
        return none
    planned = np.asarray(planned_from_raw(raw, index, calibration), dtype=np.float64)
    weather = np.isfinite(planned)
    kwh = np.where(weather, np.maximum(planned, 0.0), history)
    used = tuple(t if w else None for t, w in zip(issued, weather, strict=True))
    return PlannedPv(kwh.astype(np.float64), source, weather, used, raw)


class PvWatch:
    """Says once when plans lose the weather forecast (a warning) and once when they have it
    again (an info line), however many plans are made in between."""

    def __init__(self) -> None:
        self.on_history: bool | None = None

    def note(self, pv: PlannedPv, now: datetime) -> None:
        """Log a change of what ``pv`` (a new plan's PV at ``now``) came from."""
        if pv.source == HISTORY:
            return
        fallback = pv.weather_slots == 0
        if fallback and self.on_history is not True:
            log.warning(
                "PV forecast: no %s forecast issued in the last %d h covers the plan from %s; "
                "planning on the history forecast until one does (said once)",
                pv.source, MAX_AGE.total_seconds() // 3600, now.isoformat(),
            )  # fmt: skip
        elif not fallback and self.on_history:
            log.info("PV forecast: %s forecast issued %s back in use (%d of %d slots)", pv.source,
                     pv.newest_issued, pv.weather_slots, len(pv.kwh))  # fmt: skip
        self.on_history = fallback
