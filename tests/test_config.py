"""Settings: the shipped example is valid; every problem in a bad file is named once."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.config import load_settings
from optimizer.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_is_valid_and_frozen() -> None:
    settings = load_settings(ROOT / "config.toml")
    assert settings.battery.capacity_kwh == 4.2
    assert settings.planner.slot_minutes == 30
    with pytest.raises(ValueError, match="frozen"):
        settings.battery.capacity_kwh = 5  # type: ignore[misc]


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return caught.value.problems


def test_cross_key_rule_names_key_value_and_limit(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "[battery]\nmin_soc_pct = 60\nmax_soc_pct = 50\n")
    assert problems == ["battery.min_soc_pct = 60: must be between 0 and max_soc_pct (50)"]


def test_every_problem_is_reported_once(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        "[battery]\nmin_soc_pct = 120\ncharge_efficiency = 1.5\n"
        '[planner]\nslot_minutes = 7\nsolver = "gurobi"\ntimezone = "Mars/Base"\n'
        "[grid]\nmax_imprt_kw = 3\n",
    )
    joined = "\n".join(problems)
    assert len(problems) == 6, joined
    assert "battery.min_soc_pct = 120: Input should be less than or equal to 100" in joined
    assert "battery.charge_efficiency = 1.5" in joined
    assert "planner.slot_minutes = 7: must be between 5 and 60 and divide 60" in joined
    assert "planner.solver = 'gurobi'" in joined and "highs" in joined
    assert "planner.timezone = 'Mars/Base': must be an IANA time zone name" in joined
    assert "grid.max_imprt_kw: unknown key" in joined


def test_forecast_keys_that_moved_and_the_scenario_limit_are_named(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        "[backtest]\nload_lag_days = [7, 14]\npv_lag_days = [2]\n"
        "[forecast]\nhedge_scenarios = 9\nrecent_days = 3\nload_lag_days = [7, 14]\n",
    )
    assert "backtest.load_lag_days: unknown key (it moved to [forecast] load_lag_days)" in problems
    assert "backtest.pv_lag_days: unknown key (it moved to [forecast] pv_lag_days)" in problems
    scenarios = _problems(tmp_path, "[forecast]\nhedge_scenarios = 6\nrecent_days = 3\n"
                                    "load_lag_days = [7, 14]\n")  # fmt: skip
    assert scenarios == [
        "forecast.hedge_scenarios = 6: must be at most the number of lagged days the scenarios "
        "are made of (5: load_lag_days + recent_days)"
    ]
    assert _problems(tmp_path, "[forecast]\nhedge_scenarios = 1\n") == [
        "forecast.hedge_scenarios = 1: must be 0 (plan on the forecast alone) or 2 or more "
        "scenarios"
    ]


def test_terminal_value_accepts_auto_none_or_a_price(tmp_path: Path) -> None:
    for value, expected in (('"auto"', "auto"), ('"none"', "none"), ("0.12", 0.12)):
        path = tmp_path / "c.toml"
        path.write_text(f"[planner]\nterminal_soc_value = {value}\n")
        assert load_settings(path).planner.terminal_soc_value == expected
    assert _problems(tmp_path, '[planner]\nterminal_soc_value = "max"\n')


def test_cli_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[battery]\nmin_soc_pct = 120\n[planner]\nslot_minutes = 45\n")
    prices = ROOT / "data" / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
    result = CliRunner().invoke(app, ["plan", "--config", str(path), "--prices", str(prices)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 2, result.output
    assert "battery.min_soc_pct = 120" in result.output
    assert "planner.slot_minutes = 45" in result.output


def test_invalid_toml_and_missing_file_are_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[battery\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found"):
        load_settings(tmp_path / "nope.toml")


def test_the_example_config_lists_every_key() -> None:
    """``config.toml`` says it lists every key: each field of each section appears in its
    section as ``key =`` (set, or commented out as an alternative)."""
    import re

    from optimizer.config import Settings
    from tests.conftest import ROOT

    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^\[(\w+)\]\n(.*?)(?=^\[|\Z)", text, flags=re.M | re.S))
    missing = [
        f"{name}.{key}"
        for name, field in Settings.model_fields.items()
        for key in getattr(field.annotation, "model_fields", {})
        if not re.search(rf"\b{key}\s*=", sections.get(name, ""))
        and f"[[{name}.{key}]]" not in text  # an array of tables, e.g. [[pv.arrays]]
    ]
    assert missing == []


def test_pv_defaults_to_history_and_a_weather_source_needs_its_keys(tmp_path: Path) -> None:
    assert load_settings(ROOT / "config.toml").pv.forecast == "history"
    assert _problems(tmp_path, '[pv]\nforecast = "open-meteo"\n') == [
        'pv.latitude: must be set when pv.forecast = "open-meteo"',
        'pv.longitude: must be set when pv.forecast = "open-meteo"',
        'pv.arrays: must be set when pv.forecast = "open-meteo" (one [[pv.arrays]] with kwp, '
        "tilt_deg, azimuth_deg)",
    ]
    assert _problems(tmp_path, '[pv]\nforecast = "solcast"\nlatitude = 51\nlongitude = 0\n') == [
        'pv.solcast_site_ids: must be set when pv.forecast = "solcast" (the rooftop sites\' '
        "resource ids)"
    ]


def test_pv_bad_values_are_named(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        '[pv]\nforecast = "forecast.solar"\nlatitude = 95\nlongitude = 0\napi_url = "ftp://x"\n'
        "ac_limit_kw = 0\n[[pv.arrays]]\nkwp = 4\ntilt_deg = 95\nazimuth_deg = 400\n",
    )
    joined = "\n".join(problems)
    assert len(problems) == 5, joined
    assert "pv.latitude = 95: Input should be less than or equal to 90" in joined
    assert "pv.api_url = 'ftp://x': must start with http:// or https://" in joined
    assert "pv.ac_limit_kw = 0: Input should be greater than 0" in joined
    assert "pv.arrays.0.tilt_deg = 95: Input should be less than or equal to 90" in joined
    assert "pv.arrays.0.azimuth_deg = 400: Input should be less than or equal to 360" in joined
    assert _problems(tmp_path, '[pv]\nforecast = "sun"\n')[0].startswith("pv.forecast = 'sun'")


def test_pv_source_urls_and_the_solcast_key_come_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[pv]\nforecast = "solcast"\nlatitude = 51.5\nlongitude = -0.1\n'
        'solcast_site_ids = ["abcd-1234-ef56-7890"]\nsolcast_api_key_env = "MY_SOLCAST"\n'
        "[[pv.arrays]]\nkwp = 4\ntilt_deg = 35\nazimuth_deg = 180\n"
    )
    pv = load_settings(path).pv
    assert pv.url() == "https://api.solcast.com.au"
    assert pv.solcast_api_key({"MY_SOLCAST": " k3y "}) == "k3y"
    with pytest.raises(ConfigError, match=r"pv\.solcast_api_key_env = MY_SOLCAST: the environment"):
        pv.solcast_api_key({"SOLCAST_API_KEY": "not this one"})
    path.write_text(
        path.read_text().replace(
            'forecast = "solcast"', 'forecast = "solcast"\napi_url = "http://127.0.0.1:9/"'
        )
    )
    assert load_settings(path).pv.url() == "http://127.0.0.1:9"
