"""One row per local day from the stored readings and prices: the source for "today",
"yesterday" and "to date".

Each reading's powers are held until the next reading, at most ``max_gap_s`` (a gap in the
readings counts as nothing measured), inside the day and up to ``now``. Grid power is + when
importing, battery power + when charging (``optimizer.store.Reading``). The house without the
battery would have drawn ``grid - battery`` from the grid, so ``no_battery_cost`` prices that
at the same slot prices. A reading without an import price costs nothing; without an export
price, exports earn nothing. Money in currency units, energy kWh, times aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.config import Settings
from optimizer.store import DayTotals, Store
from optimizer.timeseries import local_day_bounds

FloatArray = npt.NDArray[np.float64]


def price_at(prices: pd.Series, times: pd.DatetimeIndex, slot: timedelta) -> FloatArray:
    """The price of the slot (``slot`` long, indexed by start) holding each of ``times``;
    0 outside every slot."""
    if len(prices) == 0 or len(times) == 0:
        return np.zeros(len(times))
    starts = pd.DatetimeIndex(prices.index).as_unit("ns").asi8
    at = pd.DatetimeIndex(times).as_unit("ns").asi8
    row = np.searchsorted(starts, at, side="right") - 1
    safe = np.maximum(row, 0)
    inside = (row >= 0) & (at < starts[safe] + pd.Timedelta(slot).value)
    return np.where(inside, prices.to_numpy(dtype=np.float64)[safe], 0.0)


def _held_hours(
    times: pd.DatetimeIndex, start: datetime, end: datetime, max_gap_s: float
) -> FloatArray:
    """Hours each reading counts for inside ``[start, end)``."""
    t = pd.DatetimeIndex(times).as_unit("ns").asi8.astype(np.float64) / 1e9
    lo, hi = start.timestamp(), end.timestamp()
    following = np.append(t[1:], np.inf)
    until = np.minimum(np.minimum(following, t + max_gap_s), hi)
    since = np.maximum(t, lo)
    return np.asarray(np.clip(until - since, 0.0, None) / 3600.0)


def day_totals(
    readings: pd.DataFrame,
    imports: pd.Series,
    exports: pd.Series | None,
    day: date,
    bounds: tuple[datetime, datetime],
    *,
    slot: timedelta,
    max_gap_s: float,
    currency: str,
    now: datetime,
) -> DayTotals:
    """The measured totals of local ``day`` (``bounds``: its UTC start and end) as of ``now``
    from ``readings`` (``Store.readings``: UTC index, ``grid_w``, ``battery_w``)."""
    start, end = bounds
    times = pd.DatetimeIndex(readings.index)
    hours = _held_hours(times, start, min(end, now), max_gap_s)
    grid_kw = readings["grid_w"].fillna(0.0).to_numpy(dtype=np.float64) / 1000.0
    battery_kw = readings["battery_w"].fillna(0.0).to_numpy(dtype=np.float64) / 1000.0
    # a reading held from before the day starts is priced at the day's first slot
    priced = pd.DatetimeIndex(
        np.maximum(times.as_unit("ns").asi8, pd.Timestamp(start).value), tz="UTC"
    )
    p_in = price_at(imports, priced, slot)
    p_out = price_at(exports, priced, slot) if exports is not None else np.zeros(len(times))

    def money(kw: FloatArray) -> float:
        kwh = kw * hours
        return float(np.sum(np.clip(kwh, 0, None) * p_in + np.clip(kwh, None, 0) * p_out))

    return DayTotals(
        day=day,
        currency=currency,
        cost=money(grid_kw),
        no_battery_cost=money(grid_kw - battery_kw),
        charged_kwh=float(np.sum(np.clip(battery_kw, 0, None) * hours)),
        discharged_kwh=float(np.sum(np.clip(-battery_kw, 0, None) * hours)),
        import_kwh=float(np.sum(np.clip(grid_kw, 0, None) * hours)),
        export_kwh=float(np.sum(np.clip(-grid_kw, 0, None) * hours)),
        hours_measured=float(np.sum(hours)),
        updated_at=now,
    )


def local_day(moment: datetime, timezone: str) -> date:
    """The local calendar day holding ``moment``."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def measure_day(store: Store, settings: Settings, day: date, now: datetime) -> DayTotals:
    """Totals of local ``day`` (``planner.timezone``) from the store, as of ``now``."""
    bounds = local_day_bounds(day, settings.planner.timezone)
    max_gap_s = float(max(settings.service.stale_after_s, 2 * settings.service.poll_seconds))
    readings = store.readings(bounds[0] - timedelta(seconds=max_gap_s), min(bounds[1], now))
    tariff = settings.tariff
    imports = store.prices(tariff.import_code(), bounds[0], bounds[1])
    exports = (
        store.prices(tariff.export_code(), bounds[0], bounds[1]) if tariff.export_code() else None
    )
    return day_totals(
        readings, imports, exports, day, bounds,
        slot=timedelta(minutes=settings.planner.slot_minutes), max_gap_s=max_gap_s,
        currency=settings.planner.currency, now=now,
    )  # fmt: skip


def update_days(
    store: Store, settings: Settings, now: datetime
) -> tuple[DayTotals, DayTotals | None]:
    """Recompute and store today's row and yesterday's (the one just finished, or missing);
    return (today, yesterday as stored)."""
    today = local_day(now, settings.planner.timezone)
    yesterday = today - timedelta(days=1)
    totals = measure_day(store, settings, today, now)
    store.save_day(totals)
    before = measure_day(store, settings, yesterday, now)
    if before.hours_measured > 0:
        store.save_day(before)
        return totals, before
    rows = store.days(yesterday, yesterday)
    return totals, rows[0] if rows else None
