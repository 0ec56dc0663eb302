"""The service's PV forecast fetch: a side job that stores every forecast as issued.

``PvFeed.run`` calls the configured source's fetcher (``optimizer.weather.sources.make_fetcher``,
injected as ``fetch(now) -> PvForecast``) at most once per ``min_interval`` (each provider's
rate limit: ``min_fetch_interval``), and after a 429/5xx/timeout not before the source's own
``Retry-After`` either. Every forecast fetched is stored with its issue time
(``Store.save_pv_forecast``; storing it again is a no-op), from the first interval that has not
ended before its UTC hour began. An answer of zero PV for a whole day
or more is a glitch, not stored. A failure is logged (a warning for the first of a run, info
lines after) and never raised: the plans keep using the last good
vintage for the slots it still covers (``optimizer.service.pvforecast``), and nothing the
battery needs waits for this job (it runs on the side worker, ``core.SIDE_JOBS``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import pandas as pd

from optimizer.device.clock import TimeSource
from optimizer.errors import InvalidInput, StoreError, WeatherError, WeatherUnreachable
from optimizer.store import Store
from optimizer.weather.model import PvForecast

log = logging.getLogger(__name__)

Fetch = Callable[[datetime], PvForecast]


def ahead(forecast: PvForecast) -> PvForecast:
    """``forecast`` without the intervals that ended before the UTC hour of its issue time
    began: no decision at or after the issue time reads them (Open-Meteo answers from today's
    midnight; they would be a third of the rows stored). The hour is kept whole, so the slot in
    progress (planner slots divide the hour) stays covered."""
    frame = forecast.frame
    hour = pd.Timestamp(forecast.issued_utc).floor("h")
    keep = pd.DatetimeIndex(frame["end_utc"]) > hour
    if bool(keep.all()):
        return forecast
    return PvForecast(forecast.source, forecast.issued_utc, frame[keep].reset_index(drop=True))


#: A forecast this long with not one kWh is a source glitch (no sky is dark for a whole day
#: where this product runs), never stored: the plans would take it for a forecast of zero PV.
ZERO_SPAN = timedelta(hours=24)


def all_zero(forecast: PvForecast) -> bool:
    """True when ``forecast`` covers at least ``ZERO_SPAN`` and every interval is 0 kWh."""
    frame = forecast.frame
    if frame.empty or bool((frame["kwh"] > 0).any()):
        return False
    span = pd.Timestamp(frame["end_utc"].iloc[-1]) - pd.Timestamp(frame["start_utc"].iloc[0])
    return bool(span >= ZERO_SPAN)


class PvFeed:
    """Fetches and stores PV forecasts on schedule; ``due`` is when to look next (UTC)."""

    def __init__(
        self, source: str, fetch: Fetch, store: Store, clock: TimeSource, min_interval: timedelta
    ) -> None:
        self.source = source
        self._fetch = fetch
        self._store = store
        self._clock = clock
        self.min_interval = min_interval
        self.due = clock.now()
        self.failures = 0
        self.last_issued: datetime | None = None

    def run(self) -> bool:
        """Fetch and store if due; True when a new vintage was stored."""
        now = self._clock.now()
        if now < self.due:
            return False
        self.due = now + self.min_interval
        try:
            forecast = self._fetch(now)
        except WeatherUnreachable as exc:
            wait = timedelta(seconds=exc.retry_after_s or 0.0)
            self.due = now + max(self.min_interval, wait)
            self._failed(f"unreachable ({exc})")
            return False
        except (WeatherError, InvalidInput) as exc:
            self._failed(f"unusable answer ({exc})")
            return False
        if all_zero(forecast):
            self._failed(f"answered zero PV for all of {forecast.frame['start_utc'].iloc[0]} to "
                         f"{forecast.end_utc} (a glitch, not a forecast: not stored)")  # fmt: skip
            return False
        try:
            stored = self._store.save_pv_forecast(ahead(forecast))
        except StoreError as exc:
            self._failed(f"fetched but not stored ({exc})")
            return False
        if self.failures:
            log.info("PV forecast: %s answers again after %d failed fetch(es)", self.source,
                     self.failures)  # fmt: skip
        self.failures = 0
        self.last_issued = forecast.issued_utc
        log.debug("PV forecast: %s issued %s, %d interval(s) stored, to %s", self.source,
                  forecast.issued_utc, stored, forecast.end_utc)  # fmt: skip
        return stored > 0

    def _failed(self, why: str) -> None:
        self.failures += 1
        level = logging.WARNING if self.failures == 1 else logging.INFO
        log.log(level, "PV forecast: %s %s; fetch %d failed, next try %s (the plans keep the "
                "last good forecast, then the history forecast)", self.source, why,
                self.failures, self.due.isoformat())  # fmt: skip
