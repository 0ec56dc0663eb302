"""Restarts lose nothing: a service started again on the same store (SQLite and PostgreSQL)
re-imports what the first one stored without a conflict and keeps storing from then on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.service.conftest import MakeHarness, local, service_settings
from tests.store.conftest import pg_url as pg_url
from tests.store.conftest import postgres_available as postgres_available


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The shared store of both runs: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        yield str(request.getfixturevalue("pg_url"))


def test_a_restart_on_the_same_store_re_imports_without_conflict(
    make_harness: MakeHarness, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The second run replays the same hours (the demo with ``--workdir`` run twice, a device
    clock set back): every metric, reading and day total it writes is already stored."""
    caplog.set_level(logging.INFO, logger="optimizer")
    start, until = local("2023-10-15 00:50"), local("2023-10-15 03:10")
    settings = service_settings(poll_seconds=60, metrics_minutes=30)
    first = make_harness(start, service=settings, store_url=store_url)
    first.start_service()
    first.run_until(until)
    window = (start - timedelta(days=1), until + timedelta(hours=1))
    metrics_before = first.store.metrics(*window)
    readings_before = first.store.readings(*window)
    assert len(metrics_before) > 20 and len(readings_before) > 100
    first.store.close()

    second = make_harness(start, service=settings, store_url=store_url)  # the same hours again
    second.start_service()
    second.run_until(until + timedelta(hours=1))
    problems = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING
        and ("conflict" in r.getMessage() or "store" in r.getMessage())
    ]
    assert problems == []
    metrics_after = second.store.metrics(*window)
    assert len(metrics_after) > len(metrics_before)  # the extra hour was stored too
    assert not metrics_after.index.duplicated().any()
    assert metrics_after.index.max() >= until + timedelta(minutes=25)
    readings_after = second.store.readings(*window)
    assert readings_after.index.is_unique
    assert readings_after.index.max() >= until + timedelta(minutes=55)
