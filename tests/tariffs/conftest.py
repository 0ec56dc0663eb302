"""Fixtures for tariff tests: the local fake API server and the recorded fixture folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tariffs.fakeapi import FakeApi, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tariffs"


@pytest.fixture
def api() -> Iterator[FakeApi]:
    """A fresh local HTTP server per test."""
    with serve() as fake:
        yield fake


def fixture_json(name: str) -> Any:
    """A recorded JSON fixture."""
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    """A recorded fixture's raw bytes."""
    return (FIXTURES / name).read_bytes()
