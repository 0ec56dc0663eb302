"""Sign-in, token renewal, 401 retry, lockout and technician access, over real sockets."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from optimizer.device.simulator import Simulator
from optimizer.errors import AuthError, LockedOut, NeedsTechnician

from .conftest import TECH_PASSWORD, MakeClient, paths, tech_settings


def test_signs_in_once_for_many_reads(sim: Simulator, make_client: MakeClient) -> None:
    client = make_client()
    client.status()
    client.device_info()
    client.settings()
    client.config_state()
    client.schedule()
    assert sim.sign_in_attempts == 1


def test_concurrent_first_calls_share_one_sign_in(sim: Simulator, make_client: MakeClient) -> None:
    client = make_client()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            client.status()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sim.sign_in_attempts == 1


def test_renews_proactively_before_55_minutes(
    sim: Simulator, make_client: MakeClient, clock
) -> None:
    client = make_client()
    client.status()
    clock.advance(timedelta(minutes=54))
    client.status()
    assert sim.sign_in_attempts == 1
    clock.advance(timedelta(minutes=2))  # 56 min: renewed before use, the device never says 401
    client.status()
    assert sim.sign_in_attempts == 2
    assert sim.requests[-2:] == [("POST", "/api/auth/signin"), ("GET", "/api/device/status")]


def test_401_signs_in_again_once_and_retries(
    sim: Simulator, make_client: MakeClient, clock
) -> None:
    sim.config.token_ttl = timedelta(minutes=30)  # the device drops tokens earlier than 55 min
    client = make_client()
    client.status()
    clock.advance(timedelta(minutes=31))
    client.status()
    assert sim.sign_in_attempts == 2
    assert sim.requests[-3:] == [
        ("GET", "/api/device/status"),
        ("POST", "/api/auth/signin"),
        ("GET", "/api/device/status"),
    ]


def test_401_surviving_a_fresh_token_is_an_auth_error(
    sim: Simulator, make_client: MakeClient
) -> None:
    sim.config.token_ttl = timedelta(0)  # every token is dead on arrival
    client = make_client()
    with pytest.raises(AuthError, match="401 even with a fresh token"):
        client.status()
    assert sim.sign_in_attempts == 2


def test_wrong_password_stops_without_retrying(sim: Simulator, make_client: MakeClient) -> None:
    client = make_client(password="not-it")
    with pytest.raises(AuthError, match="wrong user name or password"):
        client.status()
    for _ in range(5):
        with pytest.raises(AuthError):
            client.status()
    assert sim.sign_in_attempts == 1


@pytest.mark.parametrize("code", [10, "err_code_too_many_failed_signin"])
def test_lockout_backs_off_ten_minutes_without_a_retry_storm(
    sim: Simulator, make_client: MakeClient, clock, code
) -> None:
    sim.config.lockout_code = code
    for _ in range(2):  # lockout_after = 3: two plain failures ...
        with pytest.raises(AuthError):
            make_client(password="guess").status()
    with pytest.raises(LockedOut):  # ... the third locks the account
        make_client(password="guess").status()
    client = make_client()  # the right password, but the account is locked
    with pytest.raises(LockedOut) as first:
        client.status()
    assert first.value.retry_after_s >= 600
    attempts = sim.sign_in_attempts
    assert attempts == 4
    for _ in range(20):
        clock.advance(timedelta(seconds=25))
        with pytest.raises(LockedOut) as again:
            client.status()
    assert sim.sign_in_attempts == attempts  # refused locally: no request reached the device
    assert 0 < again.value.retry_after_s <= 600 - 500
    clock.advance(timedelta(minutes=2))
    assert client.status().energy_flow.soc_pct > 0  # the lock has passed: one sign-in, success
    assert sim.sign_in_attempts == attempts + 1


def test_customer_on_technician_endpoint_needs_technician(
    sim: Simulator, make_client: MakeClient
) -> None:
    client = make_client()
    with pytest.raises(NeedsTechnician, match="needs a technician account"):
        client.technical_status()
    with pytest.raises(NeedsTechnician):
        client.diagnostics()
    assert sim.sign_in_attempts == 1  # a 403 is not an auth problem: no re-sign-in


def test_technician_sign_in_body_and_endpoints(sim: Simulator, make_client: MakeClient) -> None:
    client = make_client(password=TECH_PASSWORD, **tech_settings(sim))
    tech = client.technical_status()
    assert tech.bms_soc_pct == 50
    assert client.diagnostics().ram_total_bytes == 125_829_120
    assert paths(sim, "POST", "/api/auth/signin") == 1


def test_technician_with_wrong_serial_is_an_auth_error(
    sim: Simulator, make_client: MakeClient
) -> None:
    overrides = tech_settings(sim) | {"inverter_sn": "WRONG"}
    with pytest.raises(AuthError, match="inverter_sn"):
        make_client(password=TECH_PASSWORD, **overrides).status()


def test_token_at_top_level_is_accepted(sim: Simulator, make_client: MakeClient) -> None:
    sim.config.token_at_top_level = True
    assert make_client().status().energy_flow.soc_pct == 50
