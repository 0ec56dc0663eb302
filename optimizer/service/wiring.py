"""Wire the service's dependencies from the settings: store, device client, tariff HTTP client
and, with a weather PV source, its fetcher.

The device password is read only when the client signs in (``DeviceSettings.password`` or the
injected callable) and is never logged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from optimizer.config import Settings
from optimizer.device.client import ClientOptions, XStorageClient
from optimizer.device.clock import TimeSource
from optimizer.device.wire import build_http_client
from optimizer.store import Store
from optimizer.weather.model import PvForecast

TARIFF_HEADERS = {"User-Agent": "xstorage-optimizer"}
PvFetch = Callable[[datetime], PvForecast]


@dataclass(frozen=True)
class Deps:
    """Everything the service talks to, injected (tests build these by hand)."""

    settings: Settings
    store: Store
    device: XStorageClient
    tariff_http: httpx.Client
    clock: TimeSource
    dry_run: bool = False
    pv_fetch: PvFetch | None = None
    pv_min_interval: timedelta = timedelta(hours=1)


@contextmanager
def open_deps(
    settings: Settings,
    clock: TimeSource,
    *,
    dry_run: bool = False,
    password: Callable[[], str] | None = None,
    client_options: ClientOptions | None = None,
) -> Iterator[Deps]:
    """Open the store (migrated), the device client and the tariff client; close them on exit."""
    options = client_options or ClientOptions()
    with ExitStack() as stack:
        store = stack.enter_context(Store.from_settings(settings.store))
        http = stack.enter_context(build_http_client(settings.device, options.timeout))
        device = XStorageClient(
            settings.device, http, password=password, time=clock, options=options
        )
        timeout = httpx.Timeout(settings.tariff.timeout_s)
        tariff_http = stack.enter_context(httpx.Client(headers=TARIFF_HEADERS, timeout=timeout))
        pv = pv_fetcher(settings, stack)
        fetch, interval = pv if pv is not None else (None, timedelta(hours=1))
        yield Deps(settings, store, device, tariff_http, clock, dry_run, fetch, interval)


def pv_fetcher(settings: Settings, stack: ExitStack) -> tuple[PvFetch, timedelta] | None:
    """The configured weather PV source's fetcher and its shortest fetch interval (the
    provider's rate limit), its HTTP client closed with ``stack``; ``None`` for
    ``[pv] forecast = "history"``. Raises ``ConfigError`` for settings the source cannot use
    (e.g. Solcast's API key variable unset)."""
    pv = settings.pv
    if pv.forecast == "history":
        return None
    from optimizer.weather.sources import make_fetcher, min_fetch_interval

    timeout = httpx.Timeout(pv.timeout_s)
    client = stack.enter_context(httpx.Client(headers=TARIFF_HEADERS, timeout=timeout))
    return make_fetcher(pv, client, os.environ), min_fetch_interval(pv)
