"""The service's two inbound feeds: tariff prices (around publication) and device metrics.

``TariffFeed.run`` fetches only when stored prices fall short of what should be published by
now, stores every good price as a new vintage (a hole, a NaN or a zero glitch only leaves those
slots out: the plan runs on the contiguous prices from now), and works out when to look next: the
next publication time when the stored prices run without a hole from now to what should be
published, else a retry with doubling backoff (prices late, a hole, or the source down). Zeros
are judged against the stored neighbours too (``tariffs.validate.suspect_zeros``).
``MetricsFeed.run`` imports the device's 5-minute metrics and turns complete slots into
load and PV energy (kWh per slot) for the forecasts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd

from optimizer.config import Settings
from optimizer.device.client import XStorageClient
from optimizer.device.clock import TimeSource
from optimizer.device.models import MetricSample
from optimizer.errors import DeviceError, StoreError, TariffError
from optimizer.service.planner import slot_start
from optimizer.store import Store
from optimizer.tariffs import PriceSeries, fetch_prices, for_planner, publication_status
from optimizer.tariffs.model import slot_length
from optimizer.tariffs.sources import rules
from optimizer.tariffs.validate import summary, usable

log = logging.getLogger(__name__)

METRIC_STEP = timedelta(minutes=5)
LOOK_AHEAD = timedelta(days=3)  # how far the contiguous coverage of stored prices is followed
NEIGHBOURS = timedelta(hours=12)  # stored prices either side that judge suspect zeros


class TariffFeed:
    """Keeps stored prices up to date with the source's publication schedule."""

    def __init__(
        self, settings: Settings, store: Store, http: httpx.Client, clock: TimeSource
    ) -> None:
        self._settings = settings
        self._store = store
        self._http = http
        self._clock = clock
        self.failures = 0
        self.due = clock.now()
        self._warned: set[str] = set()

    def _coverage(self) -> datetime | None:
        """Where the stored import prices stop running without a hole from the current slot
        (``None`` when the current slot has none)."""
        now = self._clock.now()
        lo = slot_start(now, self._settings.planner.slot_minutes)
        frame = self._store.price_frame(self._settings.tariff.import_code(), lo, lo + LOOK_AHEAD)
        ends = dict(zip(pd.DatetimeIndex(frame.index), pd.DatetimeIndex(frame["end"]), strict=True))
        reached = pd.Timestamp(lo)
        while reached in ends:
            reached = ends[reached]
        return None if reached == pd.Timestamp(lo) else reached.to_pydatetime()

    def _status(self, now: datetime, coverage: datetime | None) -> tuple[datetime, datetime, bool]:
        """``(expected_until, next publication, up to date)`` at ``now``."""
        t = self._settings.tariff
        pub = publication_status(
            now, coverage, t.timezone, t.publish_time, t.day_start, t.late_after_minutes
        )
        done = coverage is not None and coverage >= pub.expected_until
        return pub.expected_until, pub.due_at, done

    def run(self) -> bool:
        """Fetch if prices are due; return True when new or revised prices were stored."""
        now = self._clock.now()
        expected, due, done = self._status(now, self._coverage())
        if done:
            self.failures, self.due = 0, due
            return False
        lo = slot_start(now, self._settings.planner.slot_minutes)
        try:
            fetched = fetch_prices(self._settings.tariff, self._http, lo, expected, now)
            changed = self._save(fetched.import_prices, lo, export=False)
            if fetched.export_prices is not None:
                changed = self._save(fetched.export_prices, lo, export=True) or changed
        except (TariffError, StoreError) as exc:
            self._retry(now, str(exc))
            return False
        coverage = self._coverage()
        expected, due, done = self._status(now, coverage)
        if done:
            self.failures, self.due = 0, due
            log.info("prices stored up to %s; next publication due %s", coverage, due)
        else:
            self._retry(now, f"prices reach {coverage}, {expected} expected by now (late)")
        return changed

    def _save(self, series: PriceSeries, lo: datetime, export: bool) -> bool:
        if series.empty:
            return False
        end = pd.Timestamp(series.frame["end"].max()).to_pydatetime()
        t = self._settings.tariff
        if t.on_invalid == "fallback":
            checked = for_planner(t, series, lo, end, export=export)
        else:
            checked = self._good_slots(series, lo, end)
            if checked.empty:
                return False
        result = self._store.save_prices(
            checked.frame, checked.source, checked.tariff, checked.fetched_at, checked.published_at
        )
        return result.inserted + result.revised > 0

    def _good_slots(self, series: PriceSeries, lo: datetime, end: datetime) -> PriceSeries:
        """Every good slot of ``series``; what was left out is logged once per finding."""
        try:
            around = self._store.prices(series.tariff, lo - NEIGHBOURS, end + NEIGHBOURS)
        except StoreError:
            around = None
        step = slot_length(series.frame)
        kept, problems = usable(series, lo, end, rules(self._settings.tariff), step, around)
        if problems:
            said = summary(f"{series.source} {series.tariff}", problems)
            if said not in self._warned:
                self._warned.add(said)
                log.warning("prices: %s; kept the %d good slot(s), the plan runs on the "
                            "contiguous prices from now", said, len(kept.frame))  # fmt: skip
        return kept

    def _retry(self, now: datetime, why: str) -> None:
        self.failures += 1
        s = self._settings.service
        delay = min(s.tariff_retry_s * 2 ** (self.failures - 1), s.tariff_retry_max_s)
        self.due = now + timedelta(seconds=delay)
        log.warning("tariff fetch: %s; retry %d in %d s", why, self.failures, delay)


def _frame(samples: list[MetricSample]) -> pd.DataFrame:
    """Metric samples as the store's wide frame (W and %), indexed by UTC sample time."""
    index = pd.DatetimeIndex([s.time for s in samples]).tz_convert("UTC")
    return pd.DataFrame(
        {
            "load_w": [s.house_load_w for s in samples],
            "pv_w": [s.pv_w for s in samples],
            "export_w": [s.grid_export_w for s in samples],
            "soc_pct": [s.soc_pct for s in samples],
        },
        index=index,
    )


class MetricsFeed:
    """Imports the device's 5-minute metrics once, without repeats, across restarts."""

    def __init__(
        self, settings: Settings, store: Store, device: XStorageClient, clock: TimeSource
    ) -> None:
        self._settings = settings
        self._store = store
        self._device = device
        self._clock = clock
        now = clock.now()
        stored = store.metrics(now - timedelta(days=1), now + METRIC_STEP)
        last = pd.DatetimeIndex(stored.index).max() if len(stored) else None
        self.until: datetime | None = (
            last.to_pydatetime() + METRIC_STEP if last is not None else None
        )

    def run(self) -> int:
        """Import new samples; return how many were stored."""
        now = self._clock.now()
        start = self.until or now - timedelta(days=1)
        try:
            samples = self._device.metrics(start, now).samples
        except DeviceError as exc:
            log.warning("metrics import: %s", exc)
            return 0
        fresh = [s for s in samples if s.time is not None and s.time >= start]
        if not fresh:
            return 0
        frame = _frame(fresh)
        try:
            self._store.save_metrics(frame)
            first = pd.Timestamp(frame.index.min()).to_pydatetime()
            until = pd.Timestamp(frame.index.max()).to_pydatetime() + METRIC_STEP
            self._energy(first, until)
        except StoreError as exc:  # imported again next time (``until`` stays)
            log.warning("metrics import: store: %s", exc)
            return 0
        self.until = until
        return len(fresh)

    def _energy(self, first: datetime, until: datetime) -> None:
        """Store load and PV kWh for every slot between ``first`` and ``until`` with all samples."""
        minutes = self._settings.planner.slot_minutes
        lo = slot_start(first, minutes)
        frame = self._store.metrics(lo, until)
        if frame.empty:
            return
        grouped = frame.groupby(pd.DatetimeIndex(frame.index).floor(f"{minutes}min"))
        complete = grouped.size() == minutes // 5
        for kind, column in (("load", "load_w"), ("pv", "pv_w")):
            if column not in frame.columns:
                continue
            watts = grouped[column].mean()[complete].dropna()
            if watts.empty:
                continue
            starts = pd.DatetimeIndex(watts.index)
            kwh = watts.to_numpy() * minutes / 60.0 / 1000.0
            batch = pd.DataFrame(
                {"end": starts + pd.Timedelta(minutes=minutes), "kwh": kwh}, index=starts
            )
            self._store.save_series(kind, batch, "device-metrics", replace=True)


FOREVER = datetime.max.replace(tzinfo=UTC)
