"""TLS for a device with a self-signed certificate: fingerprint pinning, and the honest fallback.

A pinned ``ssl.SSLContext`` skips CA and hostname checks but compares the SHA-256 of the peer's DER
certificate with the pin right after the handshake, inside ``do_handshake``: a wrong certificate
aborts the connection before a single byte of HTTP (and so the password) is written.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from optimizer.errors import DeviceError, DeviceUnreachable, InvalidInput

log = logging.getLogger(__name__)


class CertificateMismatch(DeviceError):
    """The device's certificate does not match ``device.tls_fingerprint_sha256``."""


class _PinMismatchSSLError(ssl.SSLCertVerificationError):
    """Raised inside the handshake; the client turns it into ``CertificateMismatch``."""

    def __init__(self, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        self.message = f"certificate fingerprint {actual} does not match the pinned {expected}"
        super().__init__(self.message)

    def __str__(self) -> str:
        # OSError's own __str__ would print the argument tuple (``('certificate …',)``)
        return self.message


def normalise_fingerprint(text: str) -> str:
    """``AB:CD:…`` / ``abcd…`` / with spaces → 64 lowercase hex digits, or ``InvalidInput``."""
    digits = "".join(ch for ch in text if ch not in ": \t").lower()
    if len(digits) != 64 or any(ch not in "0123456789abcdef" for ch in digits):
        raise InvalidInput(
            f"device.tls_fingerprint_sha256 = {text!r}: must be 64 hex digits (colons allowed)"
        )
    return digits


def format_fingerprint(der_or_hex: bytes | str) -> str:
    """``AB:CD:…`` form of a DER certificate's SHA-256 (or of a hex fingerprint)."""
    digits = (
        hashlib.sha256(der_or_hex).hexdigest()
        if isinstance(der_or_hex, bytes)
        else normalise_fingerprint(der_or_hex)
    )
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2)).upper()


def _check_pin(sock: ssl.SSLSocket, pin: str) -> None:
    der = sock.getpeercert(binary_form=True)
    actual = hashlib.sha256(der).hexdigest() if der else ""
    if actual != pin:
        raise _PinMismatchSSLError(
            format_fingerprint(pin), format_fingerprint(actual) if der else "none"
        )


def pinned_context(fingerprint_sha256: str) -> ssl.SSLContext:
    """A client context that trusts exactly the certificate with this SHA-256 fingerprint."""
    pin = normalise_fingerprint(fingerprint_sha256)

    class PinnedSocket(ssl.SSLSocket):
        def do_handshake(self, block: bool = False) -> None:
            super().do_handshake(block)
            _check_pin(self, pin)

    context = _unverified_context()
    context.sslsocket_class = PinnedSocket
    return context


def _unverified_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def client_context(verify_tls: bool, fingerprint_sha256: str) -> ssl.SSLContext:
    """The context the settings ask for: pinned if a fingerprint is set, else CA-verified or off.

    With ``verify_tls = false`` and no pin, a warning is logged: anyone on the LAN could then
    impersonate the device and collect the password.
    """
    if fingerprint_sha256:
        return pinned_context(fingerprint_sha256)
    if verify_tls:
        return ssl.create_default_context()
    log.warning(
        "TLS certificate checks are off (device.verify_tls = false and no "
        "device.tls_fingerprint_sha256): pin the fingerprint that `xstorage-optimizer "
        "fingerprint` prints"
    )
    return _unverified_context()


def pin_mismatch_in(exc: BaseException) -> _PinMismatchSSLError | None:
    """The pin failure somewhere in ``exc``'s cause/context chain, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, _PinMismatchSSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def host_port(url: str) -> tuple[str, int]:
    """Host and port (default 443) of an ``https://`` URL."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidInput(f"device.url = {url!r}: must be an https:// URL")
    return parts.hostname, parts.port or 443


def fetch_fingerprint(url: str, timeout_s: float = 5.0) -> str:
    """Connect to ``url``, finish a TLS handshake without sending anything, return ``AB:CD:…``."""
    host, port = host_port(url)
    try:
        with (
            socket.create_connection((host, port), timeout=timeout_s) as raw,
            _unverified_context().wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError as exc:
        raise DeviceUnreachable(
            f"{host}:{port}: could not complete a TLS handshake ({exc})"
        ) from None
    if not der:
        raise DeviceUnreachable(f"{host}:{port}: the server sent no certificate")
    return format_fingerprint(der)


def describe(context: Any) -> str:
    """A short human description of a context's trust mode (for logs)."""
    if isinstance(context, ssl.SSLContext) and context.sslsocket_class is not ssl.SSLSocket:
        return "pinned certificate"
    if isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_NONE:
        return "no certificate checks"
    return "CA-verified"
