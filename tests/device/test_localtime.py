"""HHMM device-local times resolved to UTC across midnight and DST changes (Europe/London)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from optimizer.device.localtime import hhmm_at_or_before, mode_window, split_hhmm, to_hhmm
from optimizer.device.models import CurrentMode
from optimizer.errors import InvalidInput

LONDON = "Europe/London"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_wraps_past_midnight() -> None:
    start, end = mode_window(2332, 4, LONDON, utc(2024, 7, 1, 1, 0), end_hhmm=332)
    assert start == utc(2024, 6, 30, 22, 32)  # 23:32 BST
    assert end == utc(2024, 7, 1, 2, 32)  # 03:32 BST


def test_spring_forward_gap_resolves_to_the_jump() -> None:
    # 2024-03-31: 01:00 GMT jumps to 02:00 BST; 01:30 never happened.
    assert hhmm_at_or_before(130, LONDON, utc(2024, 3, 31, 1, 10)) == utc(2024, 3, 31, 1, 0)


def test_mode_across_spring_forward_keeps_its_real_length() -> None:
    # Started 00:30 GMT for 2 h: ends 02:30Z = 03:30 BST (wall clock shows 3 h).
    start, end = mode_window(30, 2, LONDON, utc(2024, 3, 31, 1, 0), end_hhmm=330)
    assert (start, end) == (utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 2, 30))


def test_fall_back_ambiguity_settled_by_end_time() -> None:
    # 2024-10-27: 01:30 happens at 00:30Z (BST) and again at 01:30Z (GMT).
    now = utc(2024, 10, 27, 1, 45)
    assert hhmm_at_or_before(130, LONDON, now) == utc(2024, 10, 27, 1, 30)
    first = mode_window(130, 2, LONDON, now, end_hhmm=230)
    assert first == (utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 2, 30))
    second = mode_window(130, 2, LONDON, now, end_hhmm=330)
    assert second == (utc(2024, 10, 27, 1, 30), utc(2024, 10, 27, 3, 30))


def test_to_hhmm_and_back_every_quarter_hour_of_dst_days() -> None:
    for day in (utc(2024, 3, 30, 12), utc(2024, 10, 26, 12)):
        for step in range(24 * 4 * 2):
            moment = day + timedelta(minutes=15 * step)
            assert hhmm_at_or_before(to_hhmm(moment, LONDON), LONDON, moment) == moment


def test_bad_hhmm_rejected() -> None:
    assert split_hhmm(332) == (3, 32)
    with pytest.raises(InvalidInput, match="2460"):
        split_hhmm(2460)


def test_current_mode_window_prefers_created_at_for_manual() -> None:
    mode = CurrentMode.model_validate(
        {
            "type": "MANUAL",
            "createdAt": 1729989000000,
            "duration": 2,
            "startTime": 130,
            "endTime": 230,
        }
    )
    assert mode.window(LONDON, utc(2024, 10, 27, 1, 45)) == (
        utc(2024, 10, 27, 0, 30),
        utc(2024, 10, 27, 2, 30),
    )
    schedule = CurrentMode.model_validate(
        {"type": "SCHEDULE", "duration": 2, "startTime": 130, "endTime": 230}
    )
    assert schedule.window(LONDON, utc(2024, 10, 27, 1, 45))[0] == utc(2024, 10, 27, 0, 30)
    assert CurrentMode.model_validate({"type": "DEFAULT"}).window(LONDON, utc(2024, 1, 1)) is None
