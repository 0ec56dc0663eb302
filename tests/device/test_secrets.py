"""The password never shows up in logs, exception messages or reprs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from optimizer.config import DeviceSettings
from optimizer.device.simulator import Simulator
from optimizer.errors import XStorageError

from .conftest import PASSWORD, MakeClient


def test_password_absent_from_logs_errors_and_reprs(
    sim: Simulator, make_client: MakeClient, clock, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.config.token_ttl = timedelta(minutes=5)
    client = make_client()
    client.status()
    clock.advance(timedelta(minutes=6))  # 401 → sign in again
    client.charge(50, 90, 1)
    failures: list[str] = []
    for password in (PASSWORD + "-wrong", PASSWORD[:-1]):
        with pytest.raises(XStorageError) as info:
            make_client(password=password).status()
        failures += [str(info.value), repr(info.value)]
    with pytest.raises(XStorageError) as locked:  # lockout_after = 3: the third failure locks
        make_client(password="x").status()
    failures += [str(locked.value), repr(locked.value)]
    texts = [
        caplog.text,
        repr(client),
        repr(client._tokens),
        repr(sim.client_settings()),
        *failures,
    ]
    assert sim.sign_in_attempts == 5
    assert "signed in" in caplog.text  # the logs did record the sign-ins ...
    for text in texts:
        assert PASSWORD not in text  # ... but never the password
        assert PASSWORD[:-1] not in text


def test_settings_hold_no_password(monkeypatch) -> None:
    monkeypatch.setenv("XSTORAGE_PASSWORD", PASSWORD)
    settings = DeviceSettings()
    assert settings.password() == PASSWORD
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in settings.model_dump_json()
