"""Service logs people read: commands as one readable line with units (never a raw dict), and
no migration chatter at INFO."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer import commands
from tests.service.conftest import MakeHarness, local


def test_commands_read_as_words_with_units() -> None:
    assert commands.charge(50, 90, 1).describe() == (
        "SET_CHARGE charge at 50 % power to 90 % SOC for 1 h"
    )
    assert commands.discharge(30, 20, 2).describe() == (
        "SET_CHARGE discharge at 30 % power down to 20 % SOC for 2 h"
    )
    assert commands.basic(1).describe() == "SET_BASIC_MODE for 1 h"
    for command in (commands.charge(5, 100, 1), commands.maximize_auto_consumption(3)):
        assert "{" not in command.describe() and "'" not in command.describe()


def test_opening_a_new_store_at_info_says_nothing_about_migrations(tmp_path: Path) -> None:
    code = (
        "import logging, sys\n"
        "from optimizer.cli.service import configure_logging\n"
        "configure_logging(logging.INFO)\n"
        "from optimizer.store import Store\n"
        f"Store('sqlite:///{tmp_path / 'h.db'}').close()\n"
        "logging.getLogger('optimizer.test').info('still logging at INFO')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert "still logging at INFO" in done.stderr
    assert "alembic" not in done.stderr and "migration" not in done.stderr.lower()


def test_plan_lines_carry_the_currency_and_the_worth_of_the_energy_left(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="optimizer")
    h = make_harness(local("2023-10-15 00:50"))
    h.start_service()
    h.run_until(local("2023-10-15 01:10"))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("plan ")]
    assert lines
    for line in lines:
        assert re.search(r"cost -?\d+\.\d\d GBP vs -?\d+\.\d\d GBP idle", line), line
        assert re.search(r"the SOC change worth [+-]\d+\.\d\d GBP", line), line
        assert re.search(r"from SOC [\d.]+ % to \d+ %", line), line
