"""When day-ahead prices become known (Agile: 16:00 UK for 23:00 → 23:00 UK)."""

from __future__ import annotations

from datetime import time

import pytest

from optimizer.backtest.data import PublicationRule
from tests.backtest.helpers import utc

AGILE = PublicationRule(time(16), time(23), "Europe/London")


@pytest.mark.parametrize(
    ("now", "until"),
    [
        # winter (GMT = UTC): before 16:00 only today's prices up to 23:00 are known
        ("2023-01-10T15:59Z", "2023-01-10T23:00Z"),
        ("2023-01-10T16:00Z", "2023-01-11T23:00Z"),
        ("2023-01-10T23:30Z", "2023-01-11T23:00Z"),
        # summer (BST = UTC+1): 16:00 UK is 15:00Z, 23:00 UK is 22:00Z
        ("2023-07-01T14:59Z", "2023-07-01T22:00Z"),
        ("2023-07-01T15:00Z", "2023-07-02T22:00Z"),
        # the window published on 25 March 2023 ends after the spring-forward day (23 h)
        ("2023-03-25T16:00Z", "2023-03-26T22:00Z"),
        # the window published on 28 October 2023 spans the 25-hour fall-back day
        ("2023-10-28T15:00Z", "2023-10-29T23:00Z"),
    ],
)
def test_agile_known_until(now: str, until: str) -> None:
    assert AGILE.known_until(utc(now)) == utc(until)


def test_dst_windows_are_23_and_25_hours() -> None:
    spring = AGILE.known_until(utc("2023-03-25T16:00Z"))
    autumn = AGILE.known_until(utc("2023-10-28T15:00Z"))
    assert spring is not None and autumn is not None
    assert (spring - utc("2023-03-25T23:00Z")).total_seconds() == 23 * 3600
    assert (autumn - utc("2023-10-28T22:00Z")).total_seconds() == 25 * 3600


def test_eu_day_ahead_rule_publishes_the_next_midnight_day() -> None:
    rule = PublicationRule(time(13), time(0), "Europe/Berlin")
    assert rule.known_until(utc("2023-06-01T10:59Z")) == utc("2023-05-31T22:00Z") + (
        utc("2023-06-01T22:00Z") - utc("2023-05-31T22:00Z")
    )
    assert rule.known_until(utc("2023-06-01T11:00Z")) == utc("2023-06-02T22:00Z")


def test_all_known_means_no_limit() -> None:
    assert PublicationRule(all_known=True).known_until(utc("2023-06-01T00:00Z")) is None
