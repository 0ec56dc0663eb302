"""The device commands through the real CLI against a simulator (real time, sped up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.device.simulator import ConstantProfile, SimClock, SimConfig, Simulator

from .conftest import PASSWORD

runner = CliRunner()


@pytest.fixture(scope="module")
def live() -> Iterator[Simulator]:
    """One simulator for the module; real time ×10, a short status lag."""
    config = SimConfig(password=PASSWORD, lag=timedelta(seconds=0.5), soc_pct=60.0, backup_pct=10.0)
    with Simulator(
        config, clock=SimClock(speed=10), profile=ConstantProfile(load=400, pv=0)
    ) as sim:
        yield sim


@pytest.fixture
def config(live: Simulator, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("XSTORAGE_PASSWORD", PASSWORD)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[device]\nurl = "{live.url}"\ntls_fingerprint_sha256 = "{live.fingerprint}"\n',
        encoding="utf-8",
    )
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.output


def test_status_json(config: Path) -> None:
    code, out, everything = run("status", "--config", str(config), "--json")
    assert code == 0, everything
    doc = json.loads(out)
    assert 55 <= doc["soc_pct"] <= 60
    assert doc["battery_status"] in ("BAT_DISCHARGING", "BAT_IDLE")
    assert doc["operation_mode"] == "MAXIMIZE_AUTO_CONSUMPTION"
    assert doc["current_mode"]["recurrence"] == "DEFAULT_EVENT"
    assert {"grid_power_w", "load_w", "pv_w", "battery_power_w"} <= doc.keys()
    assert doc["load_w"] == 400
    assert PASSWORD not in everything


def test_status_table(config: Path) -> None:
    code, out, _ = run("status", "--config", str(config))
    assert code == 0
    assert "State of charge" in out
    assert "XSTH1P036P048V01" in out


def test_charge_discharge_basic_are_sent_and_confirmed(config: Path, live: Simulator) -> None:
    code, out, everything = run(
        "command",
        "charge",
        "--power",
        "50",
        "--soc",
        "90",
        "--duration",
        "1",
        "--config",
        str(config),
    )
    assert code == 0, everything
    # The table the help promises: the command, its parameters with units, the read-back.
    for row in ("SET_CHARGE", "ACTION_CHARGE", "50 % of 3600 W = 1800 W", "90 %", "1 h",
                "confirmed"):  # fmt: skip
        assert row in out, row
    assert live.command_log[-1]["body"]["parameters"] == {
        "action": "ACTION_CHARGE",
        "power": 50,
        "soc": 90,
    }
    code, out, everything = run(
        "command", "discharge", "--power", "50", "--soc", "20", "--config", str(config), "--json"
    )
    assert code == 0, everything
    assert json.loads(out) == {
        "sent": {
            "command": "SET_CHARGE",
            "duration": 1,
            "parameters": {"action": "ACTION_DISCHARGE", "power": 50, "soc": 20},
        },
        "confirmed": True,
    }
    code, _, everything = run("command", "basic", "--duration", "1", "--config", str(config))
    assert code == 0, everything
    assert live.command_log[-1]["body"]["command"] == "SET_BASIC_MODE"
    assert PASSWORD not in everything


def test_bad_input_exits_2_without_sending(config: Path, live: Simulator) -> None:
    sent = len(live.command_log)
    code, _, everything = run(
        "command", "charge", "--power", "3", "--soc", "90", "--config", str(config)
    )
    assert code == 2
    assert "power_pct = 3" in everything
    code, _, everything = run(
        "command", "discharge", "--power", "50", "--soc", "5", "--config", str(config)
    )
    assert code == 2
    assert "backup level" in everything
    assert len(live.command_log) == sent


def test_wrong_password_exits_3(config: Path, monkeypatch) -> None:
    monkeypatch.setenv("XSTORAGE_PASSWORD", "definitely-wrong-" + PASSWORD)
    code, _, everything = run("status", "--config", str(config), "--json")
    assert code == 3
    assert "wrong user name or password" in everything
    assert PASSWORD not in everything


def test_unreachable_exits_4(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XSTORAGE_PASSWORD", PASSWORD)
    path = tmp_path / "config.toml"
    path.write_text(
        '[device]\nurl = "https://127.0.0.1:9"\ntls_fingerprint_sha256 = "' + "ab" * 32 + '"\n'
    )
    code, _, everything = run("status", "--config", str(path))
    assert code == 4
    assert "could not reach" in everything


def test_bad_settings_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[device]\nuser_type = "root"\n')
    code, _, everything = run("status", "--config", str(path))
    assert code == 2
    assert "device.user_type" in everything


def test_fingerprint_prints_the_pin(config: Path, live: Simulator) -> None:
    code, out, _ = run("fingerprint", "--config", str(config))
    assert code == 0
    assert f'tls_fingerprint_sha256 = "{live.fingerprint}"' in out


def test_simulate_runs_in_the_foreground_until_terminated(tmp_path: Path) -> None:
    env = {**os.environ, "XSTORAGE_PASSWORD": PASSWORD}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from optimizer.cli import main; main()",
            "simulate",
            "--port",
            "0",
            "--speed",
            "60",
            "--soc",
            "70",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(6)]
        assert "simulator on https://127.0.0.1:" in lines[0]
        assert lines[-1].startswith('tls_fingerprint_sha256 = "')
        url = lines[2].split('"')[1]
        path = tmp_path / "config.toml"
        path.write_text(f'[device]\nurl = "{url}"\n{lines[-1]}', encoding="utf-8")
        os.environ["XSTORAGE_PASSWORD"] = PASSWORD
        try:
            code, out, everything = run("status", "--config", str(path), "--json")
        finally:
            del os.environ["XSTORAGE_PASSWORD"]
        assert code == 0, everything
        assert json.loads(out)["soc_pct"] == pytest.approx(70, abs=2)
    finally:
        process.terminate()
        tail, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "stopped" in tail
