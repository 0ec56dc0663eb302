"""The Store API on SQLite and PostgreSQL: vintages, as-of reads, UTC round trips, records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from optimizer.domain import Action, Command, DeviceCommand, PlanSlot, Timetable
from optimizer.errors import InvalidInput, StoreError
from optimizer.store import CommandRecord, DayTotals, Reading, Store
from optimizer.tariffs import PriceSeries, price_frame

T0 = datetime(2023, 10, 28, 23, tzinfo=UTC)
HALF = pd.Timedelta(minutes=30)


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with Store(url) as opened:
        yield opened


def frame(values: list[float], start: datetime = T0) -> pd.DataFrame:
    index = pd.date_range(start, periods=len(values), freq=HALF)
    return price_frame(index, index + HALF, values)


def test_prices_round_trip_as_aware_utc(store: Store) -> None:
    values = [0.1 * i for i in range(50)]  # the 50-slot UK day 2023-10-29
    result = store.save_prices(frame(values), "octopus", "E-1R-X-C", T0 + timedelta(hours=-7))
    assert result.inserted == 50
    got = store.price_frame("E-1R-X-C", T0, T0 + timedelta(hours=25))
    assert len(got) == 50
    assert str(got.index.tz) == "UTC"
    assert got.index[0] == T0
    assert got["end"].iloc[-1] == T0 + timedelta(hours=25)
    assert str(got["fetched_at"].dt.tz) == "UTC"
    np.testing.assert_allclose(store.prices("E-1R-X-C", T0, T0 + timedelta(days=2)), values)
    assert store.price_coverage("E-1R-X-C") == T0 + timedelta(hours=25)
    assert store.price_coverage("nope") is None
    assert store.tariffs() == ["E-1R-X-C"]


def test_vintages_are_kept_and_as_of_reads_what_was_known(store: Store) -> None:
    first, second = T0 - timedelta(hours=7), T0 - timedelta(hours=6)
    store.save_prices(frame([0.1, 0.2, 0.3]), "octopus", "T", first)
    again = store.save_prices(frame([0.1, 0.25, 0.3, 0.4]), "octopus", "T", second)
    assert (again.inserted, again.unchanged, again.revised) == (2, 2, 1)
    end = T0 + timedelta(hours=3)
    assert list(store.prices("T", T0, end)) == [0.1, 0.25, 0.3, 0.4]
    assert list(store.prices("T", T0, end, as_of=first)) == [0.1, 0.2, 0.3]
    assert store.prices("T", T0, end, as_of=first - timedelta(seconds=1)).empty
    vintages = store.price_vintages("T", T0, end)
    assert len(vintages) == 5
    assert list(vintages["price_per_kwh"].iloc[1:3]) == [0.2, 0.25]


def test_repeating_a_batch_adds_nothing(store: Store) -> None:
    fetched = T0 - timedelta(hours=7)
    store.save_prices(frame([0.1, 0.2]), "csv", "T", fetched)
    again = store.save_prices(frame([0.1, 0.2]), "csv", "T", fetched + timedelta(days=1))
    assert (again.inserted, again.unchanged) == (0, 2)


def test_nan_prices_are_skipped_and_counted(store: Store) -> None:
    result = store.save_prices(frame([0.1, float("nan"), 0.3]), "csv", "T", T0)
    assert (result.inserted, result.skipped) == (2, 1)


def test_naive_times_and_duplicated_slots_are_refused(store: Store) -> None:
    with pytest.raises(InvalidInput, match="fetched_at 2023-01-01T00:00:00 has no time zone"):
        store.save_prices(frame([0.1]), "csv", "T", datetime(2023, 1, 1))
    naive = frame([0.1]).tz_localize(None)
    with pytest.raises(StoreError, match="prices T: index has no time zone"):
        store.save_prices(naive, "csv", "T", T0)
    doubled = pd.concat([frame([0.1]), frame([0.2])])
    with pytest.raises(StoreError, match="duplicated slot 2023-10-28T23:00:00"):
        store.save_prices(doubled, "csv", "T", T0)


def test_offsets_are_converted_to_utc(store: Store) -> None:
    paris = timezone(timedelta(hours=2))
    store.save_reading(Reading(datetime(2024, 6, 1, 14, tzinfo=paris), 55.0, "BAT_IDLE", "BASIC"))
    latest = store.latest_reading()
    assert latest is not None
    assert latest.time == datetime(2024, 6, 1, 12, tzinfo=UTC)
    assert latest.time.tzinfo == UTC


def test_readings(store: Store) -> None:
    assert store.latest_reading() is None
    for minute in (0, 1, 2):
        at = T0 + timedelta(minutes=minute)
        store.save_reading(
            Reading(at, 50 + minute, "BAT_CHARGING", "SET_CHARGE", 1200, 300, 0, 900)
        )
    latest = store.latest_reading()
    assert latest is not None
    assert latest.soc_pct == 52
    assert latest.battery_w == 900
    store.save_reading(Reading(T0, 1, "BAT_IDLE", "BASIC"))  # written again: replaces
    table = store.readings(T0, T0 + timedelta(hours=1))
    assert list(table["soc_pct"]) == [1, 51, 52]
    assert table["battery_status"].iloc[0] == "BAT_IDLE"
    assert str(table.index.tz) == "UTC"


def test_metrics(store: Store) -> None:
    index = pd.date_range(T0, periods=3, freq="5min")
    wide = pd.DataFrame({"soc": [50.0, 51.0, np.nan], "grid_w": [100.0, 200.0, 300.0]}, index=index)
    assert store.save_metrics(wide) == 6
    back = store.metrics(T0, T0 + timedelta(hours=1))
    assert list(back["grid_w"]) == [100.0, 200.0, 300.0]
    assert np.isnan(back["soc"].iloc[2])
    # written again (a restarted service re-importing): one row per (time, name), newest value
    revised = wide.assign(grid_w=[100.0, 200.0, 350.0])
    assert store.save_metrics(revised) == 6
    again = store.metrics(T0, T0 + timedelta(hours=1))
    assert list(again["grid_w"]) == [100.0, 200.0, 350.0]
    assert len(again) == 3


def test_a_vintage_written_again_replaces_its_rows(store: Store) -> None:
    fetched = T0 - timedelta(hours=7)
    store.save_prices(frame([0.1, 0.2]), "csv", "T", fetched)
    again = store.save_prices(frame([0.1, 0.3]), "csv", "T", fetched)  # same --fetched-at
    assert (again.inserted, again.unchanged, again.revised) == (1, 1, 1)
    assert list(store.prices("T", T0, T0 + timedelta(hours=1))) == [0.1, 0.3]
    assert len(store.price_vintages("T", T0, T0 + timedelta(hours=1))) == 2


def test_day_totals_and_state_written_twice_keep_one_row(store: Store) -> None:
    day = DayTotals(T0.date(), "GBP", 1.0, 2.0, 3.0, 2.5, 4.0, 0.5, 12.0, T0)
    store.save_day(day)
    store.save_day(replace(day, cost=0.5, hours_measured=24.0))
    (back,) = store.days()
    assert (back.cost, back.hours_measured, back.savings) == (0.5, 24.0, 1.5)
    store.set_state("x", {"a": 1}, T0)
    store.set_state("x", {"a": 2}, T0)
    assert store.state("x") == {"a": 2}


def timetable() -> Timetable:
    command = Command(
        DeviceCommand.SET_CHARGE, 1, {"action": "ACTION_CHARGE", "power": 50, "soc": 90}
    )
    slots = tuple(
        PlanSlot(
            T0 + i * HALF,
            T0 + (i + 1) * HALF,
            Action.CHARGE,
            1.8,
            0.0,
            1.0,
            0.0,
            50.0 + i,
            51.0 + i,
            0.1,
            0.05,
            0.1,
            0.0,
            0.0,
            command,
        )
        for i in range(3)
    )
    return Timetable(slots, "optimal", 0.3, 0.4, 0.0, 0.1, "highs", 0.3)


def test_plans_with_slots_and_status(store: Store) -> None:
    plan_id = store.save_plan(timetable(), "lp", {"soc_pct": 50, "horizon": 3}, T0)
    latest = store.latest_plan()
    assert latest is not None
    assert (latest.id, latest.strategy, latest.status) == (plan_id, "lp", "active")
    assert latest.inputs == {"soc_pct": 50, "horizon": 3}
    assert latest.created_at == T0
    slots = store.plan_slots(plan_id)
    assert len(slots) == 3
    assert slots.index[0] == T0
    assert slots["command"].iloc[0]["parameters"]["soc"] == 90
    store.set_plan_status(plan_id, "superseded")
    assert store.latest_plan(status="active") is None
    with pytest.raises(StoreError, match="plan 999: no such plan"):
        store.set_plan_status(999, "x")


def test_commands(store: Store) -> None:
    plan_id = store.save_plan(timetable(), "lp", {}, T0)
    record = CommandRecord(
        sent_at=T0, body={"command": "SET_CHARGE", "duration": 1}, response={"successful": True},
        readback={"command": "SET_CHARGE"}, ok=True, slot_start=T0, plan_id=plan_id,
    )  # fmt: skip
    store.save_command(record)
    store.save_command(
        CommandRecord(T0 + HALF, {"command": "SET_BASIC_MODE"}, ok=False, error="timeout")
    )
    got = store.commands(T0, T0 + timedelta(hours=1))
    assert got[0] == record
    assert got[1].error == "timeout"


def test_load_and_pv_series(store: Store) -> None:
    index = pd.date_range(T0, periods=4, freq=HALF)
    batch = pd.DataFrame({"end": index + HALF, "kwh": [0.1, 0.2, 0.3, 0.4]}, index=index)
    assert store.save_series("load", batch, "file.csv").inserted == 4
    assert store.save_series("load", batch, "file.csv").unchanged == 4
    changed = batch.assign(kwh=[0.1, 0.2, 0.35, 0.4])
    with pytest.raises(
        StoreError, match=r"load slot 2023-10-29T00:00:00\+00:00 is stored as 0.3 kWh"
    ):
        store.save_series("load", changed, "other.csv")
    assert store.save_series("load", changed, "other.csv", replace=True).revised == 1
    series = store.load_series("load", T0, T0 + timedelta(hours=2))
    assert list(series) == [0.1, 0.2, 0.35, 0.4]
    assert str(series.index.tz) == "UTC"
    assert store.load_series("pv", T0, T0 + timedelta(hours=2)).empty
    with pytest.raises(StoreError, match="series kind 'gas'"):
        store.save_series("gas", batch, "x")


def test_bad_url_is_a_store_error(tmp_path: object) -> None:
    with pytest.raises(StoreError, match="only sqlite and postgresql"):
        Store("mysql://x/y")
    with pytest.raises(StoreError, match="cannot open"):
        Store("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=1")


def test_plain_series_and_price_series_are_accepted(store: Store) -> None:
    index = pd.date_range(T0, periods=3, freq="1h")
    assert store.save_prices(pd.Series([0.1, 0.2, 0.3], index=index), "x", "H", T0).inserted == 3
    got = store.price_frame("H", T0, T0 + timedelta(hours=3))
    assert got["end"].iloc[-1] == T0 + timedelta(hours=3)
    series = PriceSeries("octopus", "P", frame([0.5, 0.6]), T0, published_at=T0 - HALF)
    assert store.save_price_series(series).inserted == 2
    assert store.price_frame("P", T0, T0 + HALF)["published_at"].iloc[0] == T0 - HALF
    with pytest.raises(StoreError, match="frame lacks column"):
        store.save_prices(pd.DataFrame({"price": [1.0]}, index=index[:1]), "x", "H", T0)
    with pytest.raises(StoreError, match="needs two rows"):
        store.save_prices(pd.Series([0.1], index=index[:1]), "x", "H", T0)
