"""The service's plan from the store: prices as they are stored, down to the last single slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from optimizer.config import Settings, StoreSettings, TariffSettings
from optimizer.service.planner import make_plan
from optimizer.store import Store
from strategies.lp import LpStrategy

START = datetime(2023, 10, 15, 20, 0, tzinfo=UTC)


def _save(store: Store, code: str, prices: list[float]) -> None:
    index = pd.date_range(START, periods=len(prices), freq="30min", tz="UTC")
    frame = pd.DataFrame(
        {"end": index + pd.Timedelta(minutes=30), "price_per_kwh": prices}, index=index
    )
    store.save_prices(frame, "csv", code, START - timedelta(hours=4))


def test_the_last_single_stored_price_slot_is_planned(tmp_path: Path) -> None:
    settings = Settings(
        tariff=TariffSettings(source="csv", import_csv="i.csv", export_csv="e.csv"),
        store=StoreSettings(url=f"sqlite:///{tmp_path / 'h.db'}"),
    )
    with Store(settings.store.url) as store:
        _save(store, settings.tariff.import_code(), [0.35])
        _save(store, settings.tariff.export_code(), [0.15])
        plan = make_plan(store, settings, START + timedelta(minutes=5), 60.0, LpStrategy())
    (slot,) = plan.timetable.slots
    assert slot.start == START and slot.end == START + timedelta(minutes=30)
    assert slot.price_import_per_kwh == 0.35 and slot.price_export_per_kwh == 0.15
    assert slot.load_kwh == 0.2  # the fallback forecast (400 W) without load history
