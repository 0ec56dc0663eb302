"""Issue 11 through the real CLI: ``--version``, ``init``, what starting the CLI imports, how flags
render, inputs that used to be silently wrong (unit, value column, row length, zone, currency,
no load, no data) and paths that used to raise tracebacks. Every bad input exits 2 with one line
naming the option and the file or value."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optimizer import PACKAGE_DATA
from optimizer.cli import app
from tests.conftest import ROOT

runner = CliRunner()
DAY = [12.0, 30.5, 8.25, -1.5, 40.0, 22.0, 18.0, 9.0]  # p/kWh, 30-minute slots


def write(path: Path, column: str, values: list[float], step_min: int = 30, **kw: str) -> Path:
    """``start_utc,end_utc,<column>`` from 2024-03-01T00:00Z, ``step_min`` apart; ``unit``
    adds a unit column; ``zone`` replaces the ``Z`` of every time."""
    zone = kw.get("zone", "Z")
    unit = kw.get("unit")
    lines = [f"start_utc,end_utc,{column}" + (",unit" if unit else "")]
    for i, value in enumerate(values):
        a, b = i * step_min, (i + 1) * step_min
        start = f"2024-03-01T{a // 60:02d}:{a % 60:02d}:00{zone}"
        end = f"2024-03-01T{b // 60:02d}:{b % 60:02d}:00{zone}"
        lines.append(f"{start},{end},{value}" + (f",{unit}" if unit else ""))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def one_line_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (args, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, (args, result.stderr)
    assert "Traceback" not in result.output
    return lines[0]


# -- install -----------------------------------------------------------------------------


def test_version_is_the_distributions() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "xstorage-optimizer 0.1.0"


def test_init_writes_the_example_config_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "config.toml"
    done = runner.invoke(app, ["init", str(target)])
    assert done.exit_code == 0, done.output
    assert target.read_bytes() == (PACKAGE_DATA / "config.example.toml").read_bytes()
    assert f"wrote {target}" in done.stderr
    assert "set [device] and [tariff]" in done.stderr  # not eaten as style tags
    target.write_text("# mine\n")
    line = one_line_error(["init", str(target)])
    assert str(target) in line and "--force" in line
    assert target.read_text() == "# mine\n"  # nothing half-written
    assert runner.invoke(app, ["init", str(target), "--force"]).exit_code == 0
    assert target.read_text().startswith("# xstorage-optimizer example configuration")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert str(blocker / "config.toml") in one_line_error(["init", str(blocker / "config.toml")])


def test_init_in_an_empty_folder_writes_config_toml(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "optimizer", "init"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "config.toml").is_file()


def test_starting_the_cli_imports_nothing_heavy() -> None:
    heavy = ["pandas", "numpy", "matplotlib", "sqlalchemy", "alembic", "httpx", "pulp",
             "highspy", "apscheduler", "PIL", "pydantic", "scipy", "cryptography",
             "rich"]  # fmt: skip
    code = f"import sys, optimizer.cli\nprint([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_flags_render_as_flags_in_help() -> None:
    for command in (["plan"], ["demo"], ["prices"], ["status"], ["backtest"]):
        text = runner.invoke(app, [*command, "--help"], terminal_width=120).stdout
        line = next(x for x in text.splitlines() if x.strip().startswith("--json"))
        assert "<bool>" not in line and "BOOLEAN" not in line, (command, line)
        assert "--no-json" not in line


def test_the_default_store_is_in_the_per_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from optimizer.config import StoreSettings, store_location

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    url = StoreSettings().url
    assert url == f"sqlite:///{tmp_path / 'share' / 'xstorage-optimizer' / 'history.db'}"
    assert store_location("postgresql+psycopg://me:secret@db:5432/x") == (
        "postgresql+psycopg://me@db:5432/x"
    )


def test_a_command_that_writes_the_store_says_where_and_leaves_the_cwd_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.chdir(tmp_path)
    load = write(tmp_path / "load.csv", "kwh", [0.2] * 4)
    done = runner.invoke(app, ["import-csv", "--kind", "load", "--file", str(load)])
    assert done.exit_code == 0, done.output
    where = tmp_path / "share" / "xstorage-optimizer" / "history.db"
    assert f"store: {where}" in done.stderr
    assert where.is_file()
    assert not (tmp_path / "data").exists()


# -- inputs that were silently wrong -----------------------------------------------------


def test_prices_in_the_wrong_unit_are_refused_or_warned_naming_the_unit_option(
    tmp_path: Path,
) -> None:
    spike = write(tmp_path / "nl.csv", "price", [80.0, 120.0, 95.0, 600.0])  # EUR/MWh
    line = one_line_error(["plan", "--prices", str(spike)])
    assert "--price-unit p/kWh" in line and "nl.csv" in line and "600" in line
    usual = write(tmp_path / "nl2.csv", "price", [80.0, 120.0, 95.0, 300.0])  # EUR/MWh
    warned = runner.invoke(app, ["plan", "--prices", str(usual), "--json"])
    assert "warning: --prices" in warned.stderr and "is --price-unit p/kWh right?" in warned.stderr
    ok = runner.invoke(app, ["plan", "--prices", str(usual), "--price-unit", "EUR/MWh", "--json"])
    assert ok.exit_code == 0, ok.output
    assert "warning" not in ok.stderr
    assert json.loads(ok.stdout)["currency"] == "EUR"


def test_the_value_column_must_match_the_option(tmp_path: Path) -> None:
    prices = write(tmp_path / "p.csv", "price", DAY)
    load = write(tmp_path / "l.csv", "kwh", [0.3] * 8)
    line = one_line_error(["plan", "--prices", str(load)])
    assert line.startswith("error: --prices") and "l.csv" in line and "'price'" in line
    line = one_line_error(["plan", "--prices", str(prices), "--load", str(prices)])
    assert line.startswith("error: --load") and "p.csv" in line and "'kwh'" in line
    line = one_line_error(["import-csv", "--kind", "load", "--file", str(prices)])
    assert "--file" in line and "p.csv" in line and "holds prices" in line
    line = one_line_error(["import-csv", "--kind", "price", "--file", str(load)])
    assert "--file" in line and "l.csv" in line


def test_a_row_of_another_length_and_a_time_without_zone_are_refused(tmp_path: Path) -> None:
    uneven = write(tmp_path / "u.csv", "price", DAY)
    text = uneven.read_text().replace(
        "2024-03-01T01:00:00Z,2024-03-01T01:30:00Z", "2024-03-01T01:00:00Z,2024-03-01T01:45:00Z"
    )
    uneven.write_text(text)
    line = one_line_error(["plan", "--prices", str(uneven)])
    assert "u.csv: line 4" in line and "0 days 00:45:00" in line and "00:30:00" in line
    naive = write(tmp_path / "n.csv", "price", DAY, zone="")
    line = one_line_error(["plan", "--prices", str(naive)])
    assert "n.csv: line 2" in line and "start_utc" in line and "no zone" in line
    offset = write(tmp_path / "o.csv", "price", DAY, zone="+00:00")
    assert runner.invoke(app, ["plan", "--prices", str(offset), "--json"]).exit_code == 0


def test_a_unit_column_travels_with_the_file(tmp_path: Path) -> None:
    gbp = write(tmp_path / "g.csv", "price", [v / 100 for v in DAY], unit="GBP/kWh")
    done = runner.invoke(app, ["plan", "--prices", str(gbp), "--json"])
    assert done.exit_code == 0, done.output
    first = json.loads(done.stdout)["slots"][0]["price_import_per_kwh"]
    assert first == pytest.approx(0.12)
    line = one_line_error(["plan", "--prices", str(gbp), "--price-unit", "p/kWh"])
    assert "its unit column says GBP/kWh, --price-unit says p/kWh" in line


def test_eur_prices_are_never_labelled_gbp(tmp_path: Path) -> None:
    eur = write(tmp_path / "e.csv", "price", [80.0, 120.0, 95.0, 60.0])
    args = ["plan", "--prices", str(eur), "--price-unit", "EUR/MWh"]
    table = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    assert "EUR" in table.stdout and "GBP" not in table.stdout
    config = tmp_path / "config.toml"
    config.write_text('[planner]\ncurrency = "GBP"\n')
    line = one_line_error([*args, "--config", str(config)])
    assert "--price-unit EUR/MWh is in EUR but planner.currency = GBP" in line


def test_prices_alone_say_the_plan_has_nothing_to_do(tmp_path: Path) -> None:
    prices = write(tmp_path / "p.csv", "price", [abs(v) for v in DAY])
    done = runner.invoke(app, ["plan", "--prices", str(prices), "--json"])
    assert done.exit_code == 0
    doc = json.loads(done.stdout)
    assert doc["cost"] == 0.0
    assert any("no --load and no --export-prices" in note for note in doc["notes"])
    assert "note: no --load and no --export-prices" in done.stderr
    load = write(tmp_path / "l.csv", "kwh", [0.3] * 8)
    with_load = runner.invoke(app, ["plan", "--prices", str(prices), "--load", str(load)])
    assert "no --load" not in with_load.stderr


def test_the_plan_table_has_units_and_dates(tmp_path: Path) -> None:
    prices = write(tmp_path / "p.csv", "price", DAY)
    load = write(tmp_path / "l.csv", "kwh", [0.3] * 8)
    done = runner.invoke(
        app, ["plan", "--prices", str(prices), "--load", str(load)], env={"COLUMNS": "250"}
    )
    assert done.exit_code == 0, done.output
    # units in two-line headers (the table fits 80 columns), the zone in the title, the
    # inverter rating in the caption
    wanted = ("Europe/London", "% of the 3600 W inverter", "SOC %", "kWh", "GBP/kWh",
              "Fri 2024-03-01 00:00", "Fri 00:00")  # fmt: skip
    for header in wanted:
        assert header in done.stdout, header


def test_a_backtest_over_a_period_without_data_is_an_error(tmp_path: Path) -> None:
    prices = write(tmp_path / "p.csv", "price", DAY)
    load = write(tmp_path / "l.csv", "kwh", [0.3] * 8)
    line = one_line_error([
        "backtest", "--prices", str(prices), "--load", str(load), "--strategy", "none",
        "--from", "2024-06-01T00:00Z", "--to", "2024-06-02T00:00Z",
    ])  # fmt: skip
    assert "2024-06-01T00:00Z to 2024-06-02T00:00Z: no slot has all the inputs" in line
    assert "prices 2024-03-01 to 2024-03-01" in line


# -- errors and exits ---------------------------------------------------------------------


def test_folders_and_unwritable_paths_exit_2_naming_the_path(tmp_path: Path) -> None:
    prices = write(tmp_path / "p.csv", "price", DAY)
    load = write(tmp_path / "l.csv", "kwh", [0.3] * 8)
    line = one_line_error(["plan", "--prices", str(tmp_path)])
    assert "--prices" in line and f"{tmp_path}: is a folder" in line
    blocker = tmp_path / "plain-file"
    blocker.write_text("")
    png = blocker / "plan.png"
    line = one_line_error(["plan", "--prices", str(prices), "--plot", str(png)])
    assert "--plot" in line and str(png) in line
    out = blocker / "out"
    line = one_line_error(["backtest", "--prices", str(prices), "--load", str(load),
                           "--strategy", "none", "--out", str(out)])  # fmt: skip
    assert "--out" in line and str(out) in line
    line = one_line_error(["import-csv", "--kind", "price", "--file", str(tmp_path)])
    assert "is a folder" in line


class _NotFound(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(404)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"404 page not found")

    do_GET = do_POST  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def not_found_host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_host_answering_404_is_not_an_xstorage_api_exit_4(
    not_found_host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XSTORAGE_PASSWORD", "anything")
    config = tmp_path / "config.toml"
    config.write_text(f'[device]\nurl = "{not_found_host}"\n')
    result = runner.invoke(app, ["status", "--config", str(config)])
    assert result.exit_code == 4, result.output
    assert f"not an xStorage API at {not_found_host}" in result.stderr
    assert "password" not in result.stderr


class _GetOnly(BaseHTTPRequestHandler):
    """A plain web server: GET works, POST (the sign-in) is HTTP 501 with an HTML body."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>hello</html>")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_a_host_answering_501_is_not_an_xstorage_api_and_no_retry_is_promised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GetOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        monkeypatch.setenv("XSTORAGE_PASSWORD", "anything")
        config = tmp_path / "config.toml"
        config.write_text(f'[device]\nurl = "{host}"\n')
        result = runner.invoke(app, ["status", "--config", str(config)])
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 4, result.output
    assert "HTTP 501" in result.stderr and f"not an xStorage API at {host}" in result.stderr
    assert "again later" not in result.stderr and "retry" not in result.stderr


def test_the_demo_data_and_help_need_no_checkout() -> None:
    # The installed package's data folder is inside the package, not the checkout's data/.
    assert PACKAGE_DATA.parent == ROOT / "optimizer"


def test_money_that_rounds_to_zero_prints_without_a_minus_sign() -> None:
    """A saving of -0.001 GBP is "0.00 GBP", never "-0.00 GBP" (the plan's caption)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    import pandas as pd
    from rich.console import Console

    from optimizer.cli.plan import plan_table
    from optimizer.config import Settings
    from optimizer.planning import plan

    settings = Settings()
    index = pd.date_range(datetime(2024, 3, 1, tzinfo=UTC), periods=4, freq="30min")
    battery, grid = settings.battery.spec(), settings.grid.spec()
    start = index[0].to_pydatetime()
    made = plan(
        pd.Series(0.2, index), None, pd.Series(0.3, index), None, battery, grid, 50.0, start
    )
    nearly = replace(made, cost=made.no_battery_cost + 0.001)
    assert -0.005 < nearly.savings < 0
    console = Console(width=120, record=True)
    console.print(plan_table(nearly, settings, "GBP"))
    text = console.export_text()
    assert "savings 0.00 GBP" in text and "-0.00" not in text
