"""One GET for every PV forecast source, mapping failures onto ``WeatherError``.

No retries here: the caller (the service) keeps the last good forecast and tries again on its
schedule, within the provider's rate limit, so a retry loop would only spend the quota.
Connection errors, timeouts, HTTP 429 and 5xx raise ``WeatherUnreachable`` (with the source's
``Retry-After`` in seconds where it gave one); any other 4xx and a body that is not JSON raise
``WeatherError``. Headers (which carry API keys) never appear in a message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from optimizer.errors import WeatherError, WeatherUnreachable


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds, an HTTP date or an ISO 8601
    time (forecast.solar's ``X-Ratelimit-Retry-At``); ``None`` when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def get_json(
    client: httpx.Client,
    source: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 20.0,
    now: datetime,
    retry_at: Callable[[Any], str | None] | None = None,
) -> Any:
    """GET ``url`` once and decode its JSON body (the ``params`` appear in messages, never the
    ``headers``). ``now`` (UTC) turns a ``Retry-After`` date into seconds; ``retry_at`` reads
    the source's own "retry at" from a 429 body when no header says it."""
    where = f"{source}: GET {url}"
    try:
        response = client.get(url, params=params, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException:
        raise WeatherUnreachable(f"{where}: timed out after {timeout_s:g} s") from None
    except httpx.TransportError as exc:
        raise WeatherUnreachable(f"{where}: could not connect ({type(exc).__name__})") from None
    status = response.status_code
    if status == 429 or status >= 500:
        header = response.headers.get("Retry-After") or response.headers.get("X-Ratelimit-Retry-At")
        if header is None and retry_at is not None:
            header = _from_body(response, retry_at)
        wait = retry_after_s(header, now)
        hint = f" (retry after {wait:g} s)" if wait is not None else ""
        label = "rate limited" if status == 429 else "server error"
        raise WeatherUnreachable(f"{where}: HTTP {status} {label}{hint}", wait)
    if status >= 400:
        raise WeatherError(f"{where}: HTTP {status}: {response.text[:200].strip()}")
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeatherError(f"{where}: the body is not valid JSON ({exc})") from None


def _from_body(response: httpx.Response, retry_at: Callable[[Any], str | None]) -> str | None:
    """``retry_at`` applied to the decoded body, ``None`` when it is not JSON or says nothing."""
    try:
        return retry_at(response.json())
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
        return None
