"""Alembic migrations shipped in the package: from empty, and from the previous revision."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from optimizer.store import Store, current_revision, downgrade, head_revision, upgrade
from optimizer.store.engine import make_engine
from optimizer.store.migrate import HEAD_REVISION
from optimizer.store.schema import plans, prices, readings

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2023, 3, 26, tzinfo=UTC)
BASE_TABLES = {"prices", "readings", "plans", "plan_slots", "commands"}
HEAD = "0004"
HEAD_TABLES = BASE_TABLES | {"metrics", "energy", "daily_totals", "service_state", "pv_forecasts"}


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def test_four_revisions_ship() -> None:
    assert head_revision() == "0004"
    assert head_revision() == HEAD_REVISION  # the constant that spares opening Alembic


def test_opening_an_up_to_date_store_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    upgrade(url)
    code = (
        "import sys\n"
        "from optimizer.store import Store\n"
        f"Store({url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_upgrade_from_empty_database(url: str) -> None:
    assert revision(url) is None
    upgrade(url)
    assert revision(url) == HEAD
    assert tables(url) == HEAD_TABLES
    upgrade(url)  # idempotent
    assert revision(url) == HEAD


def test_upgrade_from_previous_revision_keeps_data(url: str) -> None:
    upgrade(url, "0001")
    assert tables(url) == BASE_TABLES
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            prices.insert().values(
                source="octopus",
                tariff="T",
                slot_start=T0,
                slot_end=T0.replace(minute=30),
                price_per_kwh=0.25,
                fetched_at=T0.replace(day=25, hour=16),
            )
        )
        conn.execute(
            readings.insert().values(
                time=T0, soc_pct=42.0, battery_status="BAT_IDLE", mode="BASIC", grid_w=5.0
            )
        )
        conn.execute(
            plans.insert().values(created_at=T0, strategy="lp", status="active", inputs={"a": 1})
        )
    engine.dispose()
    with Store(url) as store:  # opening upgrades to head
        assert revision(url) == HEAD
        got = store.price_frame("T", T0, T0.replace(hour=1))
        assert list(got["price_per_kwh"]) == [0.25]
        assert got["fetched_at"].iloc[0] == T0.replace(day=25, hour=16)
        assert got["published_at"].isna().all()
        reading = store.latest_reading()
        assert reading is not None
        assert (reading.soc_pct, reading.grid_w, reading.battery_w) == (42.0, 5.0, None)
        plan = store.latest_plan()
        assert plan is not None
        assert plan.inputs == {"a": 1}
        assert store.metrics(T0, T0.replace(day=27)).empty


def test_alembic_command_line_uses_the_shipped_ini(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ini = ROOT / "optimizer" / "store" / "migrations" / "alembic.ini"
    alembic = Path(sys.executable).with_name("alembic")
    done = subprocess.run(
        [str(alembic), "-c", str(ini), "-x", f"url={url}", "upgrade", "head"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert revision(url) == HEAD


def test_downgrade_to_previous_and_up_again_keeps_base_data(url: str) -> None:
    with Store(url) as store:
        store.save_prices(
            pd.DataFrame({"end": [T0.replace(minute=30)], "price_per_kwh": [0.3]}, index=[T0]),
            "csv", "T", T0,
        )  # fmt: skip
    downgrade(url, "0001")
    assert revision(url) == "0001"
    assert tables(url) == BASE_TABLES
    upgrade(url)
    with Store(url) as store:
        assert list(store.prices("T", T0, T0.replace(hour=1))) == [0.3]


def test_two_processes_opening_a_new_database_at_once(url: str) -> None:
    script = "import sys; from optimizer.store import Store; Store(sys.argv[1]).close()"
    children = [
        subprocess.Popen([sys.executable, "-c", script, url], cwd=ROOT, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
    assert revision(url) == HEAD


def test_upgrade_from_0002_keeps_data_and_adds_the_daily_rows(url: str) -> None:
    upgrade(url, "0002")
    assert tables(url) == BASE_TABLES | {"metrics", "energy"}
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            readings.insert().values(time=T0, soc_pct=42.0, battery_status="BAT_IDLE", mode="X")
        )
    engine.dispose()
    with Store(url) as store:
        assert revision(url) == HEAD
        assert tables(url) == HEAD_TABLES
        assert store.latest_reading() is not None
        assert store.days() == [] and store.state("anything") is None
    downgrade(url, "0002")
    assert tables(url) == BASE_TABLES | {"metrics", "energy"}


def test_upgrade_from_0003_adds_pv_forecasts_and_keeps_the_daily_rows(url: str) -> None:
    upgrade(url, "0003")
    assert "pv_forecasts" not in tables(url)
    with Store(url, migrate=False) as old:
        old.set_state("enabled", True, T0)
    with Store(url) as store:
        assert revision(url) == HEAD
        assert tables(url) == HEAD_TABLES
        assert store.state("enabled") is True
        assert store.pv_forecast_frame(T0, T0.replace(day=27)).empty
    downgrade(url, "0003")
    assert tables(url) == HEAD_TABLES - {"pv_forecasts"}
