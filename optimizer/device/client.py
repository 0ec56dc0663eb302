"""The xStorage Home client: sign-in, typed reads, validated commands with read-back.

Errors: ``DeviceUnreachable`` (could not reach: connection, timeout, 5xx), ``DeviceRefused`` (the
device answered no), ``AuthError``/``LockedOut`` (sign-in), ``NeedsTechnician`` (403 on a
technician endpoint), ``ReadBackMismatch`` (a command did not show up in ``currentMode``),
``CertificateMismatch`` (pinned fingerprint differs; nothing was sent).

Retries: reads are retried (3 attempts, exponential backoff) after transport errors and 5xx; a
command or a sign-in is retried once, and only when the connection was never established, so a
command is never sent twice.

Two clocks: ``time`` (the service's, which ``--speed`` accelerates) ages tokens and lockouts;
``wait`` (real time unless injected) paces what models the physical device: the read-back
window and the pauses between retries. The device's status lags in real seconds whatever the
service's speed, and HTTP timeouts are real seconds too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from optimizer import commands
from optimizer.config import DeviceSettings
from optimizer.device.auth import TokenKeeper, sign_in_body, sign_in_error, token_from
from optimizer.device.clock import SystemTime, TimeSource
from optimizer.device.models import (
    ConfigState,
    CurrentMode,
    DeviceInfo,
    DeviceSettingsView,
    DeviceStatus,
    Diagnostics,
    Metrics,
    Schedule,
    TechnicalStatus,
)
from optimizer.device.tls import CertificateMismatch, pin_mismatch_in
from optimizer.device.wire import DEFAULT_TIMEOUT, Unauthorized, build_http_client, check, result_of
from optimizer.domain import Command
from optimizer.errors import AuthError, DeviceUnreachable, ReadBackMismatch
from optimizer.timeseries import require_utc

log = logging.getLogger(__name__)

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """A command as sent, the record the device answered with, and the confirming read-back."""

    sent: Command
    accepted: CurrentMode
    confirmed: CurrentMode | None


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Tuning knobs (seconds). Defaults follow the device reference."""

    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    read_attempts: int = 3
    backoff_s: float = 0.5
    readback_timeout_s: float = 10.0
    readback_interval_s: float = 1.5


class XStorageClient:
    """Talks to one xStorage Home over an injected ``httpx.Client``.

    ``password`` defaults to ``settings.password`` (env variable or file) and is called only at
    sign-in; the client keeps no copy. ``time`` supplies now/monotonic/sleep for tokens (tests
    inject one); ``wait`` supplies monotonic/sleep for read-back and retry pauses (default: real).
    """

    def __init__(
        self,
        settings: DeviceSettings,
        http: httpx.Client,
        *,
        password: Callable[[], str] | None = None,
        time: TimeSource | None = None,
        options: ClientOptions | None = None,
        wait: TimeSource | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._password = password or settings.password
        self._time = time or SystemTime()
        self._wait = wait or SystemTime()
        self._options = options or ClientOptions()
        self._base = settings.url.rstrip("/")
        self._tokens = TokenKeeper(self._sign_in, self._time)

    def __repr__(self) -> str:
        s = self._settings
        return f"XStorageClient({self._base!r}, user={s.username!r}, type={s.user_type})"

    # -- transport ------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        """One request with the retry policy; transport failures become our errors."""
        what = f"{method} {path}"
        attempts = self._options.read_attempts if idempotent else 2
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(
                    method, self._base + path, timeout=self._options.timeout, **kwargs
                )
            except httpx.TransportError as exc:
                if not self._may_retry(exc, idempotent) or attempt == attempts:
                    raise self._unreachable(what, exc) from exc
                self._pause(attempt, what, f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code >= 500 and idempotent and attempt < attempts:
                self._pause(attempt, what, f"HTTP {response.status_code}")
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _may_retry(exc: httpx.TransportError, idempotent: bool) -> bool:
        if pin_mismatch_in(exc) is not None:
            return False
        return idempotent or isinstance(exc, _NEVER_SENT)

    def _pause(self, attempt: int, what: str, why: str) -> None:
        delay = self._options.backoff_s * 2 ** (attempt - 1)
        log.warning("%s failed (%s); retrying in %.1f s", what, why, delay)
        self._wait.sleep(delay)

    def _unreachable(self, what: str, exc: httpx.TransportError) -> Exception:
        pin = pin_mismatch_in(exc)
        if pin is not None:
            return CertificateMismatch(
                f"{self._base}: {pin}; refusing to talk to it (nothing was sent). If the device's "
                "certificate really changed, pin the one `xstorage-optimizer fingerprint` prints"
            )
        return DeviceUnreachable(
            f"{what}: could not reach {self._base} ({type(exc).__name__}: {exc})"
        )

    # -- authentication -------------------------------------------------------------------

    def _sign_in(self) -> str:
        """``POST /api/auth/signin``; called by ``TokenKeeper`` under its lock."""
        s = self._settings
        who = f"{s.username!r} ({s.user_type})"
        body = sign_in_body(s.username, self._password(), s.user_type, s.inverter_sn)
        response = self._send("POST", "/api/auth/signin", idempotent=False, json=body)
        if response.status_code != 200:
            raise sign_in_error(response, who, self._tokens.lockout_backoff)
        log.info("signed in to %s as %s", self._base, who)
        return token_from(response, who)

    def _call(self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        """An authenticated request; on 401 sign in again once and retry once."""
        what = f"{method} {path}"
        token = self._tokens.token()
        response = self._authed(method, path, token, idempotent, **kwargs)
        if response is None:
            log.info("%s: HTTP 401, signing in again once", what)
            self._tokens.invalidate(token)
            response = self._authed(method, path, self._tokens.token(), idempotent, **kwargs)
            if response is None:
                raise AuthError(f"{what}: HTTP 401 even with a fresh token")
        return result_of(response, what)

    def _authed(
        self, method: str, path: str, token: str, idempotent: bool, **kwargs: Any
    ) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {token}"}
        response = self._send(method, path, idempotent=idempotent, headers=headers, **kwargs)
        try:
            check(response, f"{method} {path}", path)
        except Unauthorized:
            return None
        return response

    # -- reads ----------------------------------------------------------------------------

    def device_info(self) -> DeviceInfo:
        """``GET /api/device``: model, ratings, firmware, time zone."""
        return DeviceInfo.model_validate(self._call("GET", "/api/device"))

    def status(self) -> DeviceStatus:
        """``GET /api/device/status``: SOC, powers, current mode."""
        return DeviceStatus.model_validate(self._call("GET", "/api/device/status"))

    def settings(self) -> DeviceSettingsView:
        """``GET /api/settings``: default mode, backup level."""
        return DeviceSettingsView.model_validate(self._call("GET", "/api/settings"))

    def config_state(self) -> ConfigState:
        """``GET /api/config/state``: setup state and firmware version."""
        return ConfigState.model_validate(self._call("GET", "/api/config/state"))

    def metrics(self, start: datetime, end: datetime) -> Metrics:
        """``GET /api/metrics/``: 5-minute samples (average W) with ``start <= time < end``."""
        return Metrics.model_validate(self._call("GET", "/api/metrics/", params=_range(start, end)))

    def daily_metrics(self, start: datetime, end: datetime) -> Metrics:
        """``GET /api/metrics/daily``: one record per day between ``start`` and ``end``."""
        return Metrics.model_validate(
            self._call("GET", "/api/metrics/daily", params=_range(start, end))
        )

    def schedule(self) -> Schedule:
        """``GET /api/schedule/``: the device-side timetable."""
        return Schedule.model_validate(self._call("GET", "/api/schedule/") or {})

    def technical_status(self) -> TechnicalStatus:
        """``GET /api/technical/status`` (technician account)."""
        return TechnicalStatus.model_validate(self._call("GET", "/api/technical/status"))

    def diagnostics(self) -> Diagnostics:
        """``GET /api/device/maintenance/diagnostics`` (technician account)."""
        return Diagnostics.model_validate(self._call("GET", "/api/device/maintenance/diagnostics"))

    # -- commands -------------------------------------------------------------------------

    def send(self, command: Command, *, confirm: bool = True) -> CommandResult:
        """Validate, send and (by default) confirm one command via ``currentMode``."""
        commands.validate(command)
        if command.action == commands.ACTION_DISCHARGE:
            commands.check_floor(command, self.settings().backup_level_pct)
        result = self._call("POST", "/api/device/command", idempotent=False, json=command.body())
        accepted = CurrentMode.model_validate(result if isinstance(result, dict) else {})
        log.info("command accepted (HTTP 200): %s", command.describe())
        confirmed = self.confirm(command) if confirm else None
        return CommandResult(command, accepted, confirmed)

    def confirm(self, command: Command) -> CurrentMode:
        """Poll status until ``currentMode`` shows ``command``, else raise ``ReadBackMismatch``
        (the window is in ``wait``'s seconds: real time unless injected)."""
        opts = self._options
        deadline = self._wait.monotonic() + opts.readback_timeout_s
        reads = 0
        while True:
            self._wait.sleep(opts.readback_interval_s)
            status = self.status()
            reads += 1
            problems = commands.differences(command, status.current_mode_raw)
            if not problems and status.current_mode is not None:
                log.info("command confirmed after %d status read(s)", reads)
                return status.current_mode
            if self._wait.monotonic() >= deadline:
                raise ReadBackMismatch(
                    f"{command.command} not confirmed: after {reads} status reads over "
                    f"{opts.readback_timeout_s:g} s currentMode shows " + "; ".join(problems)
                )

    def charge(self, power_pct: int, soc_pct: int, duration_h: int) -> CommandResult:
        """Charge at ``power_pct`` % to ``soc_pct`` % for at most ``duration_h`` hours."""
        return self.send(commands.charge(power_pct, soc_pct, duration_h))

    def discharge(self, power_pct: int, soc_pct: int, duration_h: int) -> CommandResult:
        """Discharge at ``power_pct`` % down to ``soc_pct`` % (not below the backup level)."""
        command = commands.discharge(
            power_pct, soc_pct, duration_h, discharge_command=self._settings.discharge_command
        )
        return self.send(command)

    def basic(self, duration_h: int) -> CommandResult:
        """Basic mode for ``duration_h`` hours."""
        return self.send(commands.basic(duration_h))

    def maximize_auto_consumption(self, duration_h: int) -> CommandResult:
        """Self-consumption mode for ``duration_h`` hours."""
        return self.send(commands.maximize_auto_consumption(duration_h))

    def variable_grid_injection(self, maximum_power_w: int, duration_h: int) -> CommandResult:
        """Variable grid injection capped at ``maximum_power_w`` W."""
        return self.send(commands.variable_grid_injection(maximum_power_w, duration_h))

    def frequency_regulation(
        self, power_allocation_pct: int, optimal_soc_pct: int, duration_h: int
    ) -> CommandResult:
        """Frequency regulation."""
        return self.send(
            commands.frequency_regulation(power_allocation_pct, optimal_soc_pct, duration_h)
        )

    def peak_shaving(self, max_house_peak_w: int, duration_h: int) -> CommandResult:
        """Peak shaving below ``max_house_peak_w`` W."""
        return self.send(commands.peak_shaving(max_house_peak_w, duration_h))


def _range(start: datetime, end: datetime) -> dict[str, int]:
    """``from``/``to`` query parameters in epoch milliseconds."""
    start, end = require_utc(start, "start"), require_utc(end, "end")
    return {"from": int(start.timestamp() * 1000), "to": int(end.timestamp() * 1000)}


@contextmanager
def open_client(
    settings: DeviceSettings,
    *,
    time: TimeSource | None = None,
    options: ClientOptions | None = None,
    wait: TimeSource | None = None,
) -> Iterator[XStorageClient]:
    """A client over a fresh ``httpx.Client`` built from ``settings``; closed on exit."""
    opts = options or ClientOptions()
    with build_http_client(settings, opts.timeout) as http:
        yield XStorageClient(settings, http, time=time, options=opts, wait=wait)
