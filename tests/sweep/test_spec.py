"""The SPEC file: its shape, settings keys as tables or dotted strings, paths relative to it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from optimizer.errors import ConfigError
from optimizer.sweep.plan import grid_points
from optimizer.sweep.spec import load_spec

SPEC = """
config = "conf/base.toml"
strategies = ["lp", "self-use"]
[period]
from = 2023-03-26T00:00:00+00:00
to = "2023-03-27T00:00+01:00"
[[homes]]
name = "north"
load = "data/north.csv"
pv = "/abs/pv.csv"
[homes.settings.battery]
capacity_kwh = 9.5
[[tariffs]]
name = "agile"
prices = "data/imp.csv"
[grid.battery]
cycle_cost_per_kwh = [0.0, 0.02]
[grid]
"planner.terminal_soc_value" = ["auto", "none"]
"""


def test_tables_flatten_to_dotted_keys_and_paths_follow_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "studies" / "spec.toml"
    path.parent.mkdir()
    path.write_text(SPEC)
    spec = load_spec(path)
    folder = path.resolve().parent
    assert spec.config == folder / "conf/base.toml"
    assert spec.homes[0].load == folder / "data/north.csv"
    assert spec.homes[0].pv == Path("/abs/pv.csv")
    assert spec.homes[0].settings == {"battery.capacity_kwh": 9.5}
    assert spec.grid == {"battery.cycle_cost_per_kwh": [0.0, 0.02],
                         "planner.terminal_soc_value": ["auto", "none"]}  # fmt: skip
    # A TOML datetime and a string with an offset are both UTC; the 23-hour day is kept.
    assert spec.period.start == datetime(2023, 3, 26, tzinfo=UTC)
    assert spec.period.end == datetime(2023, 3, 26, 23, tzinfo=UTC)
    assert len(grid_points(spec.grid)) == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('to = "2023-03-27T00:00+01:00"', 'to = "2023-03-27T00:00"'),
            "period.to: needs a UTC offset",
        ),
        (('name = "agile"', 'name = "agile"\nunit = "p"'), "tariffs[0].unit: unknown key"),
        (('name = "north"', 'name = "a,b"'), "homes[0].name"),
        (
            ('"planner.terminal_soc_value" = ["auto", "none"]', '"planner.horizon_hours" = []'),
            "grid.planner.horizon_hours",
        ),
        (
            ("[[tariffs]]", "[[tariffs]]\nname = 'agile'\nprices = 'x.csv'\n[[tariffs]]"),
            "tariffs: the name 'agile' is used twice",
        ),
    ],
)
def test_a_bad_spec_names_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_spec(path)
    assert caught.value.source == str(path)
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


def test_a_missing_or_broken_spec_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_spec(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("homes = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_spec(tmp_path / "bad.toml")


def test_the_end_credit_note_says_when_the_energy_left_decides_a_ranking() -> None:
    from optimizer.sweep.summary import end_credit_note

    assert end_credit_note("h on t", 0.1, 10.0) is None  # 1 %: the bills decide
    note = end_credit_note("h on t", 1.12, 0.32)
    assert note is not None and note.startswith("h on t: the end credit (+1.12) is 350% of")
    assert "more than" in (end_credit_note("h on t", -0.5, 0.0) or "")
