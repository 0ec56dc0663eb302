"""One bounded, retrying GET for every tariff source.

Transient failures (connection errors, timeouts, HTTP 429 and 5xx) are retried with exponential
backoff via tenacity, at most ``retries`` times; anything else fails at once. Every failure
becomes a ``TariffError`` naming the URL, so no httpx exception leaves this package. The backoff
waits go through ``optimizer.shutdown.pause``: when the process is stopping (SIGTERM/SIGINT in
``run``) a wait ends at once and the fetch gives up (``TariffUnreachable``), no retry is started.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from optimizer import shutdown
from optimizer.errors import TariffError, TariffUnreachable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """Timeout per request (s), number of retries after the first try, first backoff (s)."""

    timeout_s: float = 20.0
    retries: int = 4
    backoff_s: float = 1.0


DEFAULT_POLICY = HttpPolicy()


class _Transient(Exception):
    """A failure worth retrying; carries the message for the final error."""


def _describe(url: str, params: Mapping[str, str] | None) -> str:
    """The URL for messages, without secrets such as ``securityToken``."""
    shown = {k: v for k, v in (params or {}).items() if "token" not in k.lower()}
    query = "&".join(f"{k}={v}" for k, v in shown.items())
    return f"{url}?{query}" if query else url


def _once(
    client: httpx.Client, url: str, params: Mapping[str, str] | None, timeout_s: float
) -> httpx.Response:
    where = _describe(url, params)
    try:
        response = client.get(url, params=params, timeout=timeout_s)
    except httpx.TimeoutException as exc:
        raise _Transient(f"GET {where}: timed out after {timeout_s:g} s") from exc
    except httpx.TransportError as exc:
        raise _Transient(f"GET {where}: could not connect ({exc})") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise _Transient(f"GET {where}: HTTP {response.status_code}")
    if response.status_code >= 400:
        body = response.text[:200].strip()
        raise TariffError(f"GET {where}: HTTP {response.status_code}: {body}")
    return response


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("tariff fetch attempt %d failed: %s; retrying", state.attempt_number, exc)


def get(
    client: httpx.Client,
    url: str,
    params: Mapping[str, str] | None = None,
    policy: HttpPolicy = DEFAULT_POLICY,
) -> httpx.Response:
    """GET ``url`` with retries on transient failures; raise ``TariffUnreachable`` when it gives
    up, ``TariffError`` when the source answers 4xx."""
    retrying = Retrying(
        stop=stop_after_attempt(policy.retries + 1),
        wait=wait_exponential(multiplier=policy.backoff_s, max=max(policy.backoff_s * 16, 0.0)),
        retry=retry_if_exception_type(_Transient),
        before_sleep=_log_retry,
        sleep=shutdown.pause,
        reraise=True,
    )
    try:
        return retrying(_once, client, url, params, policy.timeout_s)
    except _Transient as exc:
        raise TariffUnreachable(f"{exc} (gave up after {policy.retries + 1} attempts)") from None
    except shutdown.Interrupted:
        raise TariffUnreachable(
            f"GET {_describe(url, params)}: not retried, the service is stopping"
        ) from None


def get_json(
    client: httpx.Client,
    url: str,
    params: Mapping[str, str] | None = None,
    policy: HttpPolicy = DEFAULT_POLICY,
) -> Any:
    """GET and decode a JSON body; a malformed body is a ``TariffError`` naming the URL."""
    response = get(client, url, params, policy)
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = _describe(url, params)
        raise TariffError(f"GET {where}: body is not valid JSON ({exc})") from None
