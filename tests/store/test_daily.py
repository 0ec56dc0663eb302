"""Daily totals (one row per local day) and the service's named state, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from optimizer.store import DayTotals, Store

AT = datetime(2023, 10, 15, 12, tzinfo=UTC)


def day(d: date, cost: float, idle: float) -> DayTotals:
    return DayTotals(d, "GBP", cost, idle, 3.0, 2.5, 8.0, 1.0, 24.0, AT)


def test_one_row_per_day_replaced_when_recomputed(url: str) -> None:
    with Store(url) as store:
        store.save_day(replace(day(date(2023, 10, 15), 1.0, 1.5), hours_measured=12.0))
        store.save_day(day(date(2023, 10, 14), 2.0, 2.25))
        store.save_day(day(date(2023, 10, 15), 1.25, 2.0))  # the day went on: replaced
        rows = store.days()
        assert [r.day for r in rows] == [date(2023, 10, 14), date(2023, 10, 15)]
        assert rows[1] == day(date(2023, 10, 15), 1.25, 2.0)
        assert rows[1].savings == 0.75
        assert sum(r.savings for r in rows) == 1.0
        assert store.days(date(2023, 10, 15)) == [rows[1]]
        assert store.days(last=date(2023, 10, 14)) == [rows[0]]
        assert store.days(date(2023, 10, 16)) == []


def test_named_state_survives_reopening(url: str) -> None:
    with Store(url) as store:
        assert store.state("optimiser_enabled") is None
        store.set_state("optimiser_enabled", False, AT)
        store.set_state("optimiser_enabled", True, AT)
        store.set_state("optimiser_enabled", False)
        store.set_state("other", {"a": [1, 2]})
    with Store(url) as store:
        assert store.state("optimiser_enabled") is False
        assert store.state("other") == {"a": [1, 2]}
