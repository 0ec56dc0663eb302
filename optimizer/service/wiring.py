"""Wire the service's dependencies from the settings: store, device client, tariff HTTP client.

The device password is read only when the client signs in (``DeviceSettings.password`` or the
injected callable) and is never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import httpx

from optimizer.config import Settings
from optimizer.device.client import ClientOptions, XStorageClient
from optimizer.device.clock import TimeSource
from optimizer.device.wire import build_http_client
from optimizer.store import Store

TARIFF_HEADERS = {"User-Agent": "xstorage-optimizer"}


@dataclass(frozen=True)
class Deps:
    """Everything the service talks to, injected (tests build these by hand)."""

    settings: Settings
    store: Store
    device: XStorageClient
    tariff_http: httpx.Client
    clock: TimeSource
    dry_run: bool = False


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
        yield Deps(settings, store, device, tariff_http, clock, dry_run)
