"""What a non-editable install carries: the demo's slice of the shipped data, unchanged, and the
example configuration, identical to the checkout's ``config.toml``."""

from __future__ import annotations

import tomllib
from pathlib import Path

from optimizer.config import load_settings
from optimizer.service.demo import DATA as PACKAGE_DATA
from optimizer.service.demo import EXPORT_CSV, IMPORT_CSV, LOAD_CSV, DemoInputs, resolve
from tests.conftest import DATA, ROOT

#: package slice -> the full file in data/ it was cut from.
SLICES = {
    IMPORT_CSV: "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv",
    EXPORT_CSV: "agile-outgoing-export-regionUNKNOWN-fawkesley-2022-11_2023-12.csv",
    LOAD_CSV: "household-consumption-uk-fawkesley-2020-08_2023-12.csv",
}


def test_every_row_of_the_slices_is_a_row_of_the_full_file() -> None:
    for name, full in SLICES.items():
        sliced = (PACKAGE_DATA / name).read_text(encoding="utf-8").splitlines()
        original = set((DATA / full).read_text(encoding="utf-8").splitlines())
        assert len(sliced) > 1000, name
        assert not [line for line in sliced if line not in original], name


def test_the_demo_runs_on_the_package_data_only() -> None:
    data = resolve(DemoInputs(), 72.0)
    assert PACKAGE_DATA in data.import_csv.parents and PACKAGE_DATA in data.load_csv.parents
    assert data.notes == ()  # 28 days of load history and 72 h of prices are in the slice


def test_the_example_config_is_the_checkouts_and_loads(tmp_path: Path) -> None:
    example = PACKAGE_DATA / "config.example.toml"
    assert example.read_bytes() == (ROOT / "config.toml").read_bytes()
    tomllib.loads(example.read_text(encoding="utf-8"))
    assert load_settings(example).battery.capacity_kwh == 4.2


def test_pyproject_ships_the_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["optimizer"]
    for name in [*SLICES, "config.example.toml", "README.md"]:
        assert any(Path("data", name).match(p) for p in patterns), name
