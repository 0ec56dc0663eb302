"""The status page's cache of plans read from the store stays bounded while the page is watched."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pandas as pd

from optimizer.integrations.web.documents import MAX_PLANS_BACK, _planned_past, _window_plans

START = datetime(2024, 1, 1, tzinfo=UTC)
PAST = timedelta(hours=24)


@dataclass
class HourlyPlans:
    """A store whose plan ``n`` was made at hour ``n`` and covers the 48 hours from then."""

    reads: list[int] = field(default_factory=list)

    def plan_slots(self, plan_id: int) -> pd.DataFrame:
        self.reads.append(plan_id)
        made = START + timedelta(hours=plan_id)
        ends = pd.date_range(made + timedelta(minutes=30), periods=96, freq="30min")
        return pd.DataFrame({"slot_end": ends, "soc_end_pct": [float(plan_id % 100)] * 96})


def watched(store: HourlyPlans, plan_id: int, cache: dict[int, pd.DataFrame]) -> Any:
    now = START + timedelta(hours=plan_id, minutes=10)
    snap = SimpleNamespace(plan_id=plan_id, time=now)
    frames = _window_plans(store, snap, now - PAST, cache)
    return _planned_past(frames, now - PAST, now)


def test_a_week_of_hourly_plans_keeps_the_cache_within_the_window() -> None:
    store, cache = HourlyPlans(), {}
    for plan_id in range(1, 24 * 7):
        watched(store, plan_id, cache)
        assert len(cache) <= MAX_PLANS_BACK
    assert min(cache) > 24 * 7 - MAX_PLANS_BACK - 1  # only the newest plans are kept


def test_the_bounded_cache_answers_as_a_fresh_one() -> None:
    store, cache = HourlyPlans(), {}
    for plan_id in range(1, 100):
        kept = watched(store, plan_id, cache)
        if plan_id % 12 == 0:
            assert kept == watched(HourlyPlans(), plan_id, {})
    reads = len(store.reads)
    watched(store, 99, cache)
    assert len(store.reads) == reads  # the plans still in the window are not read again
