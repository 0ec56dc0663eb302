"""``demo`` as a new user meets it: its temporary folder, a taken status-page port, its help,
and its plot's time axis in the configured zone."""

from __future__ import annotations

import socket
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.plotting import local_time_axis
from tests.service.conftest import MakeHarness, local

FAST = ["demo", "--hours", "1", "--speed", "3600"]


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tempfile``'s folder for the test: where the demo makes ``xstorage-demo-*``."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_the_temporary_folder_is_removed_and_a_taken_port_gets_no_url(temp_root: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, [*FAST, "--listen", f"127.0.0.1:{port}"])
    assert result.exit_code == 0, result.output
    assert list(temp_root.glob("xstorage-demo-*")) == []
    assert f"http://127.0.0.1:{port}" not in result.output
    assert f"status page: not started on 127.0.0.1:{port}" in result.stderr
    assert "removed with their temporary folder" in result.stdout


def test_keep_keeps_the_folder_and_says_where(temp_root: Path) -> None:
    result = CliRunner().invoke(app, [*FAST, "--keep", "--listen", "127.0.0.1:0"])
    assert result.exit_code == 0, result.output
    (kept,) = temp_root.glob("xstorage-demo-*")
    assert (kept / "history.db").exists() and (kept / "demo.png").exists()
    assert f"kept in {kept}" in result.stdout.replace("\n", "")
    assert "status page: http://127.0.0.1:" in result.stderr  # it served: its real URL


def test_json_without_keep_names_no_removed_files(temp_root: Path) -> None:
    import json

    result = CliRunner().invoke(app, [*FAST, "--json", "--listen", ""])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["store"], doc["plot"], doc["workdir"]) == (None, None, None)
    assert list(temp_root.glob("xstorage-demo-*")) == []


def test_demo_help_points_to_nothing_the_wheel_lacks() -> None:
    result = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "README" not in result.output
    assert "2023-10-15" in result.output and "--keep" in result.output


def test_time_axis_is_in_the_configured_zone() -> None:
    start = datetime(2023, 7, 1, 0, 0, tzinfo=UTC)  # 01:00 in London (BST)
    times = [start + timedelta(hours=h) for h in range(7)]
    fig, ax = plt.subplots()
    ax.plot(times, range(7))
    local_time_axis(ax, "Europe/London")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    plt.close(fig)
    assert ax.get_xlabel() == "time (Europe/London)"
    assert "01:00" in labels or "02:00" in labels
    assert "00:00" not in labels  # the UTC midnight is 01:00 local


def test_run_on_a_taken_port_logs_one_error_and_no_url(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """``run``'s views (``observed``): the service goes on without the page; the URL is logged
    only by a page that serves."""
    import logging

    from optimizer.service.views import observed
    from optimizer.service.wiring import Deps

    caplog.set_level(logging.INFO, logger="optimizer")
    h = make_harness(local("2023-10-15 00:50"))
    service = h.start_service()
    deps: Deps = service.deps
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with observed(deps, listen=f"127.0.0.1:{port}") as watched:
            assert watched.web_url is None
    said = [r.getMessage() for r in caplog.records]
    assert any(f"status page on 127.0.0.1:{port} not started" in m for m in said)
    assert not any("http://" in m for m in said)
    with observed(deps, listen="127.0.0.1:0") as watched:
        assert watched.web_url is not None
    assert any(
        m == f"status page: {watched.web_url}/" for m in (r.getMessage() for r in caplog.records)
    )
