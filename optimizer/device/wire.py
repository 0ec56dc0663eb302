"""The device's HTTP conventions: the envelope, error bodies and how they map to our errors.

Rule (from the API reference): check the HTTP status first, then ``successful``, then read
``result``. A 4xx can carry ``{"error": {"errCode": ..., "step"|"description": ...}}``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from optimizer.config import DeviceSettings
from optimizer.device.tls import client_context
from optimizer.errors import DeviceRefused, DeviceUnreachable, NeedsTechnician

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
TECHNICIAN_PATHS = frozenset({"/api/technical/status", "/api/device/maintenance/diagnostics"})
LOCKOUT_CODES = frozenset({"10", "err_code_too_many_failed_signin"})


class Unauthorized(Exception):
    """HTTP 401 on a bearer request (internal: the client signs in again once)."""


class ServerError(DeviceUnreachable):
    """HTTP 5xx: the device is there but not working; retried on reads."""


def build_http_client(
    settings: DeviceSettings, timeout: httpx.Timeout = DEFAULT_TIMEOUT
) -> httpx.Client:
    """An ``httpx.Client`` with the TLS trust the settings ask for and explicit timeouts (s)."""
    verify = client_context(settings.verify_tls, settings.tls_fingerprint_sha256)
    return httpx.Client(verify=verify, timeout=timeout, follow_redirects=False)


def json_or_none(response: httpx.Response) -> Any:
    """The parsed body, or ``None`` when it is not JSON (e.g. ``404 page not found``)."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def error_code(body: Any) -> str | None:
    """``error.errCode`` of an error body, as a string."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("errCode")
        return None if code is None else str(code)
    return None


def _describe(response: httpx.Response) -> str:
    body = json_or_none(response)
    code = error_code(body)
    if code is not None:
        step = body["error"].get("step") or body["error"].get("description") or ""
        return f"HTTP {response.status_code} {code}" + (f" ({step})" if step else "")
    text = response.text.strip()[:200]
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


def check(response: httpx.Response, what: str, path: str) -> None:
    """Raise our error for a non-2xx answer to ``what`` (e.g. ``GET /api/device``)."""
    status = response.status_code
    if status < 300:
        return
    if status == 401:
        raise Unauthorized(what)
    if status == 403 and path in TECHNICIAN_PATHS:
        raise NeedsTechnician(
            f'{what}: needs a technician account (device.user_type = "tech" with inverter_sn); '
            "the device answered 403 to this account"
        )
    if status >= 500:
        raise ServerError(f"{what}: the device failed ({_describe(response)})")
    raise DeviceRefused(f"{what}: the device refused ({_describe(response)})")


def result_of(response: httpx.Response, what: str) -> Any:
    """``result`` of a successful envelope; an unwrapped JSON body is returned as it is."""
    body = json_or_none(response)
    if body is None:
        raise DeviceRefused(f"{what}: the answer is not JSON")
    if isinstance(body, dict) and "successful" in body:
        if body["successful"] is not True:
            raise DeviceRefused(f"{what}: successful = false ({body.get('message', '')})")
        return body.get("result")
    return body
