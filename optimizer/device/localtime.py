"""The device's ``HHMM`` local wall-clock integers, turned into aware UTC instants DST-safely.

``currentMode.startTime``/``endTime`` are integers such as ``2332`` or ``332`` in the device's time
zone with no date; they wrap past midnight. Around a DST change a wall time can be missing
(spring forward) or happen twice (fall back), so a wall time is resolved against a reference
instant instead of a calendar date.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from optimizer.errors import InvalidInput
from optimizer.timeseries import require_utc

_MINUTE = timedelta(minutes=1)


def split_hhmm(hhmm: int) -> tuple[int, int]:
    """``(hour, minute)`` of an ``HHMM`` integer (``332`` → ``(3, 32)``)."""
    hour, minute = divmod(int(hhmm), 100)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise InvalidInput(f"HHMM time {hhmm!r} is not a valid wall-clock time")
    return hour, minute


def to_hhmm(moment: datetime, timezone: str) -> int:
    """The ``HHMM`` integer the device shows for UTC ``moment`` in ``timezone``."""
    local = require_utc(moment, "moment").astimezone(ZoneInfo(timezone))
    return local.hour * 100 + local.minute


def _jump(zone: ZoneInfo, early: datetime, late: datetime) -> datetime:
    """The first minute in ``(early, late]`` with a different UTC offset than ``early``."""
    offset = early.astimezone(zone).utcoffset()
    moment = early + _MINUTE
    while moment < late and moment.astimezone(zone).utcoffset() == offset:
        moment += _MINUTE
    return moment


def _resolve(local: datetime, zone: ZoneInfo) -> set[datetime]:
    """UTC instants of wall time ``local``: one, two (fall back) or the jump (spring forward)."""
    first = local.replace(fold=0).astimezone(UTC)
    second = local.replace(fold=1).astimezone(UTC)
    wall = (local.hour, local.minute)
    real = {
        i for i in (first, second) if (i.astimezone(zone).hour, i.astimezone(zone).minute) == wall
    }
    if real:
        return real
    return {_jump(zone, min(first, second), max(first, second))}


def _candidates(hhmm: int, zone: ZoneInfo, near: datetime) -> list[datetime]:
    """The UTC instants within a day of ``near`` whose wall time in ``zone`` is ``hhmm``."""
    hour, minute = split_hhmm(hhmm)
    day = near.astimezone(zone).date()
    found: set[datetime] = set()
    for offset in (-1, 0, 1):
        found |= _resolve(
            datetime.combine(day + timedelta(days=offset), time(hour, minute), zone), zone
        )
    return sorted(found)


def hhmm_at_or_before(hhmm: int, timezone: str, at: datetime) -> datetime:
    """The latest UTC instant at or before ``at`` whose local wall time is ``hhmm``.

    Of a wall time that happened twice (fall back) the later one still in the past wins; a wall
    time skipped by a spring-forward change resolves to the instant of the jump.
    """
    return _starts(hhmm, timezone, at)[-1]


def _starts(hhmm: int, timezone: str, at: datetime) -> list[datetime]:
    at = require_utc(at, "at")
    return [c for c in _candidates(hhmm, ZoneInfo(timezone), at) if c <= at]


def mode_window(
    start_hhmm: int,
    duration_h: int,
    timezone: str,
    now: datetime,
    end_hhmm: int | None = None,
) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` of a running mode from its ``startTime``, ``duration`` and ``endTime``.

    The start is the latest past instant with wall time ``start_hhmm``; when that wall time
    happened twice (fall back), the one whose ``start + duration_h`` shows ``end_hhmm`` wins. The
    end is the start plus ``duration_h`` elapsed hours, so a mode spanning a DST change keeps its
    true length.
    """
    length = timedelta(hours=duration_h)
    starts = _starts(start_hhmm, timezone, now)
    if end_hhmm is not None:
        fitting = [s for s in starts if to_hhmm(s + length, timezone) == end_hhmm]
        starts = fitting or starts
    return starts[-1], starts[-1] + length
