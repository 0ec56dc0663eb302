"""When the next day's prices are due, and whether they are late: pure functions of ``now``.

A source publishes once a day at ``publish_time`` (local clock, e.g. Agile around 16:00 UK time,
EU day-ahead around 13:00 CET). Prices published on local date P cover up to the first
``day_start`` boundary after the start of P+1: for Agile (day_start 23:00) that is 23:00 on P+1,
for EU (day_start 00:00) midnight at the end of P+1. DST is handled by building every moment in
the local zone and converting to UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from optimizer.timeseries import require_utc


@dataclass(frozen=True, slots=True)
class Publication:
    """All UTC. ``expected_until``: prices should reach this by now. ``due_at``: when the first
    missing delivery day is (or was) due. ``late``: more than the grace period past ``due_at``.
    """

    due_at: datetime
    expected_until: datetime
    have_until: datetime | None
    late: bool


def _at(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), zone).astimezone(UTC)


def covered_until(published_on: date, timezone: str, day_start: str) -> datetime:
    """The end (UTC) of the delivery day whose prices appear on local date ``published_on``."""
    zone = ZoneInfo(timezone)
    next_midnight = _at(published_on + timedelta(days=1), "00:00", zone)
    boundary = _at(published_on + timedelta(days=1), day_start, zone)
    if boundary <= next_midnight:
        boundary = _at(published_on + timedelta(days=2), day_start, zone)
    return boundary


def publication_status(
    now: datetime,
    have_until: datetime | None,
    timezone: str = "Europe/London",
    publish_time: str = "16:00",
    day_start: str = "23:00",
    late_after_minutes: int = 120,
) -> Publication:
    """Where publication stands at ``now`` given stored prices reach ``have_until`` (UTC)."""
    now = require_utc(now, "now")
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    published_on = today if now >= _at(today, publish_time, zone) else today - timedelta(days=1)
    expected = covered_until(published_on, timezone, day_start)
    grace = timedelta(minutes=late_after_minutes)
    if have_until is not None and require_utc(have_until, "have_until") >= expected:
        next_due = _at(published_on + timedelta(days=1), publish_time, zone)
        return Publication(next_due, expected, have_until, late=False)
    due = _at(published_on, publish_time, zone)
    previous = covered_until(published_on - timedelta(days=1), timezone, day_start)
    if have_until is not None and have_until < previous:
        due = _at(published_on - timedelta(days=1), publish_time, zone)
    return Publication(due, expected, have_until, late=now >= due + grace)
