"""The PV forecast a plan uses (stored vintages as issued, else history), the one-warning rule,
and the fetch job's schedule and failures: on a real SQLite store, driven by a manual clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.device.clock import SimClock
from optimizer.errors import WeatherError, WeatherUnreachable
from optimizer.service.pvfeed import PvFeed
from optimizer.service.pvforecast import MAX_AGE, PvWatch, planned_pv
from optimizer.store import Store
from optimizer.weather.model import PvForecast

NOW = datetime(2023, 6, 14, 9, 10, tzinfo=UTC)
SLOT = datetime(2023, 6, 14, 9, 0, tzinfo=UTC)
INDEX = pd.date_range(SLOT, periods=8, freq="30min")
HISTORY = np.full(8, 0.7)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'h.db'}") as opened:
        yield opened


def vintage(issued: datetime, start: datetime, kwh: list[float], minutes: int = 15,
            source: str = "open-meteo") -> PvForecast:  # fmt: skip
    starts = pd.date_range(start, periods=len(kwh), freq=f"{minutes}min", tz="UTC", unit="ns")
    frame = pd.DataFrame(
        {"start_utc": starts, "end_utc": starts + pd.Timedelta(minutes=minutes), "kwh": kwh}
    )
    return PvForecast(source, issued, frame)


def test_the_latest_vintage_known_at_the_decision_then_history_past_its_horizon(
    store: Store,
) -> None:
    store.save_pv_forecast(vintage(NOW - timedelta(hours=3), SLOT, [0.1] * 12))  # to 12:00
    store.save_pv_forecast(vintage(NOW + timedelta(minutes=5), SLOT, [0.4] * 16))  # later
    store.save_pv_forecast(vintage(NOW, SLOT, [9.0] * 16, source="solcast"))  # not configured
    pv = planned_pv(store, "open-meteo", INDEX, 30, NOW, HISTORY)
    # 09:00-12:00 from the vintage issued before the decision (two quarters a slot), then
    # history: never read past the vintage's horizon, never the vintage issued after NOW.
    np.testing.assert_allclose(pv.kwh, [0.2] * 6 + [0.7] * 2)
    assert list(pv.from_weather) == [True] * 6 + [False] * 2
    assert pv.newest_issued == NOW - timedelta(hours=3)
    assert pv.summary() == {
        "pv_source": "open-meteo",
        "pv_issued_utc": (NOW - timedelta(hours=3)).isoformat(),
        "pv_weather_slots": 6,
    }
    later = planned_pv(store, "open-meteo", INDEX, 30, NOW + timedelta(minutes=5), HISTORY)
    np.testing.assert_allclose(later.kwh, [0.8] * 8)
    history = planned_pv(store, "history", INDEX, 30, NOW, HISTORY)
    np.testing.assert_allclose(history.kwh, HISTORY)
    assert history.summary()["pv_source"] == "history"


def test_a_stale_vintage_is_not_used(store: Store) -> None:
    store.save_pv_forecast(vintage(NOW - MAX_AGE - timedelta(minutes=1), SLOT, [0.5] * 16))
    pv = planned_pv(store, "open-meteo", INDEX, 30, NOW, HISTORY)
    np.testing.assert_allclose(pv.kwh, HISTORY)
    assert pv.weather_slots == 0 and pv.summary()["pv_source"] == "history"
    fresh = planned_pv(store, "open-meteo", INDEX, 30, NOW - timedelta(minutes=2), HISTORY)
    assert fresh.weather_slots == 8


def test_a_zero_forecast_at_night_is_kept_not_replaced(store: Store) -> None:
    """Zeros the source forecast are a forecast (night); only missing slots take history."""
    store.save_pv_forecast(vintage(NOW - timedelta(hours=1), SLOT, [0.0] * 16))
    pv = planned_pv(store, "open-meteo", INDEX, 30, NOW, HISTORY)
    np.testing.assert_allclose(pv.kwh, 0.0)
    assert pv.weather_slots == 8


def test_one_warning_when_plans_lose_the_weather_forecast_one_info_when_back(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="optimizer")
    watch = PvWatch()
    for k in range(5):  # five plans with nothing stored
        watch.note(planned_pv(store, "open-meteo", INDEX, 30, NOW, HISTORY), NOW)
        assert k >= 0
    store.save_pv_forecast(vintage(NOW - timedelta(minutes=5), SLOT, [0.3] * 16))
    for _ in range(3):
        watch.note(planned_pv(store, "open-meteo", INDEX, 30, NOW, HISTORY), NOW)
    stale = NOW + MAX_AGE + timedelta(hours=1)
    watch.note(planned_pv(store, "open-meteo", INDEX, 30, stale, HISTORY), stale)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r for r in caplog.records if "back in use" in r.getMessage()]
    assert len(warnings) == 2  # the first five plans, then once stale
    assert "history forecast" in warnings[0].getMessage()
    assert len(infos) == 1


class Source:
    """A fetch that fails as told, else answers a vintage issued at the time asked."""

    def __init__(self) -> None:
        self.fail: Exception | None = None
        self.calls: list[datetime] = []

    def __call__(self, now: datetime) -> PvForecast:
        self.calls.append(now)
        if self.fail is not None:
            raise self.fail
        return vintage(now, pd.Timestamp(now).floor("15min").to_pydatetime(), [0.25] * 8)


def test_the_fetch_job_keeps_its_interval_and_the_retry_after(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="optimizer")
    clock = SimClock(NOW, speed=0)
    source = Source()
    feed = PvFeed("open-meteo", source, store, clock, timedelta(minutes=30))
    assert feed.run() is True
    assert feed.run() is False and len(source.calls) == 1  # not due yet: not fetched
    clock.advance(timedelta(minutes=30))
    source.fail = WeatherUnreachable("429 Too Many Requests", retry_after_s=7200)
    assert feed.run() is False
    assert feed.due == clock.now() + timedelta(hours=2)  # the source's Retry-After
    clock.advance(timedelta(hours=2))
    source.fail = WeatherUnreachable("503 Service Unavailable")
    feed.run()
    assert feed.due == clock.now() + timedelta(minutes=30)  # never sooner than the interval
    clock.advance(timedelta(minutes=30))
    source.fail = WeatherError("open-meteo: no global_tilted_irradiance in the answer")
    assert feed.run() is False and feed.failures == 3
    clock.advance(timedelta(minutes=30))
    source.fail = None
    assert feed.run() is True and feed.failures == 0
    stored = store.pv_forecast_frame(SLOT, SLOT + timedelta(days=1))
    assert stored["issued_utc"].nunique() == 2  # each good fetch, as issued
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # the first failure of the run; the next ones are info lines
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_a_vintage_stored_twice_is_no_error(store: Store) -> None:
    clock = SimClock(NOW, speed=0)
    same = vintage(NOW, SLOT, [0.25] * 8)
    feed = PvFeed("open-meteo", lambda now: same, store, clock, timedelta(minutes=1))
    assert feed.run() is True
    clock.advance(timedelta(minutes=1))
    assert feed.run() is False  # the restart case: nothing new, nothing raised
    assert feed.failures == 0


def test_the_feed_stores_from_the_first_interval_not_yet_ended(store: Store) -> None:
    clock = SimClock(NOW, speed=0)  # 09:10
    midnight = SLOT.replace(hour=0)
    whole_day = vintage(NOW, midnight, [0.1] * 96)  # Open-Meteo answers from midnight
    feed = PvFeed("open-meteo", lambda now: whole_day, store, clock, timedelta(minutes=30))
    assert feed.run() is True
    stored = store.pv_forecast_frame(midnight, midnight + timedelta(days=1))
    assert stored["start_utc"].iloc[0] == pd.Timestamp(SLOT)  # the hour in progress, whole
    assert len(stored) == 96 - 36


def test_an_all_zero_day_is_a_glitch_never_stored(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SimClock(NOW, speed=0)
    answers = [vintage(NOW, SLOT, [0.0] * 96), vintage(NOW, SLOT, [0.0] * 40)]
    feed = PvFeed("open-meteo", lambda now: answers.pop(0), store, clock, timedelta(minutes=1))
    assert feed.run() is False and feed.failures == 1  # 24 h of zeros: not a forecast
    assert store.pv_forecast_frame(SLOT, SLOT + timedelta(days=2)).empty
    assert "zero PV" in caplog.text
    clock.advance(timedelta(minutes=1))
    assert feed.run() is True  # ten hours of zeros may be a night: stored
