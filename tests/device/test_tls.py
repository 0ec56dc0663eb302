"""Certificate pinning: the right pin works, a wrong one sends nothing at all."""

from __future__ import annotations

import hashlib
import logging

import pytest

from optimizer.device.simulator import Simulator
from optimizer.device.tls import (
    CertificateMismatch,
    client_context,
    fetch_fingerprint,
    format_fingerprint,
    normalise_fingerprint,
)
from optimizer.errors import DeviceUnreachable, InvalidInput

from .conftest import PASSWORD, MakeClient

WRONG = format_fingerprint(hashlib.sha256(b"not the device").hexdigest())


def test_fetch_fingerprint_matches_the_served_certificate(sim: Simulator) -> None:
    assert fetch_fingerprint(sim.url) == sim.fingerprint
    assert sim.requests == []  # only a handshake


def test_right_pin_in_either_spelling_works(sim: Simulator, make_client: MakeClient) -> None:
    compact = normalise_fingerprint(sim.fingerprint)
    assert make_client(tls_fingerprint_sha256=compact).status().energy_flow.soc_pct == 50


def test_wrong_pin_never_sends_the_password(
    sim: Simulator, make_client: MakeClient, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(tls_fingerprint_sha256=WRONG)
    with pytest.raises(CertificateMismatch, match="nothing was sent") as info:
        client.status()
    assert sim.requests == []  # no HTTP request at all, not even the sign-in
    assert sim.sign_in_attempts == 0
    assert WRONG in str(info.value)
    assert sim.fingerprint in str(info.value)
    said = str(info.value)
    assert "('" not in said and "',)" not in said  # a sentence, not a Python tuple
    assert ": certificate fingerprint " in said
    with pytest.raises(CertificateMismatch):
        client.charge(50, 90, 1)  # commands neither, and no retry
    assert sim.requests == []
    assert PASSWORD not in caplog.text


def test_verify_off_without_pin_warns(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        client_context(verify_tls=False, fingerprint_sha256="")
    assert "TLS certificate checks are off" in caplog.text


def test_ca_verification_rejects_the_self_signed_device(
    sim: Simulator, make_client: MakeClient
) -> None:
    client = make_client(tls_fingerprint_sha256="", verify_tls=True)
    with pytest.raises(DeviceUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        client.status()
    assert sim.sign_in_attempts == 0


@pytest.mark.parametrize("text", ["abc", "zz" * 32, "AB:" * 33])
def test_bad_fingerprint_text_is_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput, match="tls_fingerprint_sha256"):
        normalise_fingerprint(text)
