"""Zero glitches (issue 10, fault 4, and the zero-price-tail field case): a run of exact zeros
that stands out from its neighbours is suspect and never planned on as free energy; real zero
and negative prices pass."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.csvdata import read_series_csv
from optimizer.store import Store
from optimizer.tariffs import PriceSeries, price_frame
from optimizer.tariffs.validate import Rules, find_problems, suspect_zeros, usable
from tests.conftest import DATA

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "zero-price-tail"
SHIPPED = [
    "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv",
    "agile-outgoing-export-regionUNKNOWN-fawkesley-2022-11_2023-12.csv",
    "agile-outgoing-export-C-london-2019-05_2024-03.csv",
    "eu-dayahead-NL-2023-01_2024-08-hourly.csv",
]
SUSPECTS = [pd.Timestamp("2023-11-07T23:00Z"), pd.Timestamp("2023-11-07T23:30Z")]


@pytest.mark.parametrize("name", SHIPPED)
def test_real_zero_prices_are_not_suspect(name: str) -> None:
    prices = read_series_csv(DATA / name)
    assert (prices == 0).sum() > 40  # each file has real zeros among real prices
    assert suspect_zeros(prices).empty


def test_the_zero_tail_of_a_published_day_is_suspect() -> None:
    glitch = read_series_csv(CASE / "prices-glitch.csv")
    assert list(suspect_zeros(glitch)) == SUSPECTS
    assert suspect_zeros(read_series_csv(CASE / "prices-true.csv")).empty


def _series(prices: pd.Series) -> PriceSeries:
    frame = price_frame(prices.index, prices.index + pd.Timedelta(minutes=30), prices.to_numpy())
    return PriceSeries("test", "IMPORT", frame, datetime(2023, 11, 7, tzinfo=UTC))


def test_zeros_are_judged_against_stored_neighbours() -> None:
    """The issue's case: the first 13 hours of a day of zeros were rejected (a long zero run);
    the remaining 11 hours, fetched later, look fine on their own but not next to the stored
    prices before them."""
    true = read_series_csv(CASE / "prices-true.csv") / 100
    stored = true[true.index < pd.Timestamp("2023-11-07T13:00Z")]
    later = pd.Series(0.0, index=true.index[true.index >= pd.Timestamp("2023-11-07T13:00Z")])
    series = _series(later)
    lo, hi = later.index[0].to_pydatetime(), (later.index[-1] + pd.Timedelta(minutes=30))
    step = pd.Timedelta(minutes=30)
    alone = find_problems(series, lo, hi.to_pydatetime(), Rules(), step)
    assert not [p for p in alone if p.kind == "suspect-zero"]  # nothing to compare with
    kept, problems = usable(series, lo, hi.to_pydatetime(), Rules(), step, stored)
    assert kept.empty
    assert {p.kind for p in problems} == {"suspect-zero"}


def test_plan_stops_before_suspect_zeros_and_charges_nothing_there() -> None:
    """The case's command: the plan no longer charges in the fake free slots, and its cost at
    the true prices matches the plan made on the true prices."""
    args = ["plan", "--config", str(CASE / "config.toml"), "--export-prices",
            str(CASE / "export.csv"), "--load", str(CASE / "load.csv"), "--start",
            "2023-11-07T12:00:00Z", "--soc", "10", "--json"]  # fmt: skip
    glitch = CliRunner().invoke(app, [*args, "--prices", str(CASE / "prices-glitch.csv")])
    true = CliRunner().invoke(app, [*args, "--prices", str(CASE / "prices-true.csv")])
    assert glitch.exit_code == 0 and true.exit_code == 0, glitch.stderr + true.stderr
    g, t = json.loads(glitch.stdout), json.loads(true.stdout)
    assert glitch.stderr.count("2 suspect 0.00 price slot(s) from 2023-11-07T23:00Z") == 1
    assert any("2 suspect 0.00 price slot(s)" in note for note in g["notes"])
    assert g["slots"][-1]["end"] == "2023-11-07T23:00:00Z"  # stops before the zeros
    assert all(s["price_import_per_kwh"] > 0 for s in g["slots"])
    # The same decisions as on the true prices up to the zeros (no fake free energy wanted).
    assert [s["command"] for s in g["slots"]] == [s["command"] for s in t["slots"][:22]]
    true_cost_first = sum(
        s["grid_import_kwh"] * s["price_import_per_kwh"]
        - s["grid_export_kwh"] * s["price_export_per_kwh"]
        for s in t["slots"][:22]
    )
    assert g["cost"] == pytest.approx(true_cost_first, abs=1e-4)
    assert g["cost"] < 1.53  # when filed: 1.53 GBP at the true prices


def test_import_csv_never_stores_suspect_zeros(tmp_path: Path) -> None:
    csv = tmp_path / "prices.csv"
    shutil.copy(CASE / "prices-glitch.csv", csv)
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "h.db"}"\n')
    done = CliRunner().invoke(
        app, ["import-csv", "--config", str(config), "--kind", "price", "--file", str(csv)]
    )
    assert done.exit_code == 0, done.stderr
    assert "2 suspect 0.00 price slot(s) from 2023-11-07T23:00Z" in done.stderr
    assert "stored 48" in done.stderr
    with Store(f"sqlite:///{tmp_path / 'h.db'}") as store:
        name = store.tariffs()[0]
        stored = store.prices(
            name, datetime(2023, 11, 6, tzinfo=UTC), datetime(2023, 11, 9, tzinfo=UTC)
        )
    assert not set(SUSPECTS) & set(stored.index)
    assert (tmp_path / "h.db").stat().st_mode & 0o777 == 0o600  # issue 10, fault 8: private
