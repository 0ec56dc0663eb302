"""Fixtures for the PV forecast sources: a local fake API and an httpx client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.weather.fakeserver import FakeWeather, serve


@pytest.fixture
def api() -> Iterator[FakeWeather]:
    """A fresh local HTTP server per test."""
    with serve() as fake:
        yield fake


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http
