"""The simulated xStorage Home's state: accounts and tokens, the running mode, battery, metrics.

Everything is driven by the injected ``SimClock``: token expiry, lockouts, the few-second lag
before ``currentMode`` shows a new command, command expiry and the battery physics (the shared
device model, ``battery.step``) all happen in simulated time, lazily integrated up to "now"
whenever the state is looked at. Every integration step is also booked, exactly, in ``meter``.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from optimizer.device.clock import SimClock
from optimizer.device.localtime import to_hhmm
from optimizer.device.simulator.battery import BatteryModel, Flows, step
from optimizer.device.simulator.meter import Meter
from optimizer.device.simulator.metrics import MetricsRecorder
from optimizer.device.simulator.profile import Profile, SyntheticProfile

LOCAL_USER = {
    "id": "00000000-0000-0000-0000-000000000000",
    "firstName": "Local",
    "lastName": "User",
}


@dataclass
class SimConfig:
    """Accounts, timings and the battery of one simulated device (durations in simulated time)."""

    username: str = "user"
    password: str = "user"
    tech_username: str = "admin"
    tech_password: str = "admin-sim"
    inverter_sn: str = "SIMXSTH0360001"
    token_ttl: timedelta = timedelta(minutes=60)
    lockout_after: int = 5
    lockout_for: timedelta = timedelta(minutes=10)
    lockout_code: int | str = 10
    token_at_top_level: bool = False
    lag: timedelta = timedelta(seconds=2.5)
    # Also wait this many *real* seconds before status shows a new command (a physical device
    # lags in real time whatever the service's --speed).
    lag_real_s: float = 0.0
    timezone: str = "Europe/London"
    default_command: str = "SET_MAXIMIZE_AUTO_CONSUMPTION"
    default_parameters: dict[str, Any] | None = None
    capacity_kwh: float = 4.2
    soc_pct: float = 50.0
    rating_w: float = 3600.0
    backup_pct: float = 0.0
    charge_efficiency: float = 0.92
    discharge_efficiency: float = 0.92
    step: timedelta = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: ``body`` is JSON-encoded unless it is a ``str`` (sent as plain text)."""

    status: int
    body: Any


def envelope(result: Any) -> dict[str, Any]:
    """The device's success envelope."""
    return {"successful": True, "message": "Content Ready", "result": result}


def ms(moment: datetime) -> int:
    """Epoch milliseconds."""
    return int(moment.timestamp() * 1000)


@dataclass
class RunningMode:
    """A manual command: its record, when status starts showing it (simulated time, and the
    real ``time.monotonic()`` it must also have reached), when it ends."""

    record: dict[str, Any]
    shown_before: dict[str, Any]
    visible_from: datetime
    ends: datetime
    visible_real: float = 0.0


@dataclass
class SimStats:
    """What tests count."""

    sign_in_attempts: int = 0
    reboots: int = 0
    command_log: list[dict[str, Any]] = field(default_factory=list)


class SimDevice:
    """The device behind the HTTP layer. All public methods are thread-safe."""

    def __init__(self, config: SimConfig, clock: SimClock, profile: Profile | None = None) -> None:
        self.config = config
        self.clock = clock
        self.profile = profile or SyntheticProfile(timezone=config.timezone)
        self.battery = BatteryModel(
            capacity_kwh=config.capacity_kwh,
            soc_pct=config.soc_pct,
            rating_w=config.rating_w,
            charge_efficiency=config.charge_efficiency,
            discharge_efficiency=config.discharge_efficiency,
            backup_pct=config.backup_pct,
        )
        self.lock = threading.RLock()
        self.stats = SimStats()
        self.metrics = MetricsRecorder()
        self.meter = Meter()
        self.overrides: dict[str, dict[str, Any]] = {}
        self.reboot_on_next_command = False
        # Faults: sign-ins answered with these (HTTP status, errCode) first; a status whose
        # currentMode never shows a manual command (the battery still runs it).
        self.sign_in_errors: deque[tuple[int, int | str]] = deque()
        self.status_never_confirms = False
        self.down_until: datetime | None = None
        self._tokens: dict[str, tuple[str, datetime]] = {}
        self._failed = 0
        self._locked_until: datetime | None = None
        self._manual: RunningMode | None = None
        self._last = clock.now()
        self._flows = Flows(0.0, 0.0, 0.0, 0.0)

    # -- time and physics ------------------------------------------------------------------

    def advance(self) -> datetime:
        """Integrate the battery up to the clock's now; return now."""
        with self.lock:
            now = self.clock.now()
            while self._last < now:
                until = min(now, self._next_boundary(self._last))
                self._integrate(self._last, until)
                self._last = until
                if self._manual is not None and until >= self._manual.ends:
                    self._manual = None
            return now

    def _next_boundary(self, moment: datetime) -> datetime:
        step_s = self.config.step.total_seconds()
        epoch_s = moment.timestamp()
        boundary = moment + timedelta(seconds=step_s - epoch_s % step_s)
        if self._manual is not None:
            for edge in (self._manual.visible_from, self._manual.ends):
                if moment < edge < boundary:
                    boundary = edge
        return boundary

    def _integrate(self, start: datetime, end: datetime) -> None:
        mode = self._shown(start)
        load, pv = self.profile.load_w(start), self.profile.pv_w(start)
        seconds = (end - start).total_seconds()
        soc_before = self.battery.soc_pct
        self._flows = step(
            self.battery, mode.get("command"), mode.get("parameters"), load, pv, seconds
        )
        self.metrics.add(start, seconds, self._flows, self.battery.soc_pct)
        self.meter.add(start, seconds, self._flows, soc_before, self.battery.soc_pct)

    def _shown(self, moment: datetime) -> dict[str, Any]:
        """The mode record ``currentMode`` shows (and the battery follows) at ``moment``."""
        running = self._manual
        if running is None or moment >= running.ends:
            return self.default_record()
        visible = moment >= running.visible_from and time.monotonic() >= running.visible_real
        return running.record if visible else running.shown_before

    def default_record(self) -> dict[str, Any]:
        """``currentMode`` when no manual command runs."""
        return {
            "id": None,
            "command": self.config.default_command,
            "createdAt": ms(self.clock.start),
            "updatedAt": ms(self.clock.start),
            "duration": None,
            "startTime": None,
            "endTime": None,
            "recurrence": "DEFAULT_EVENT",
            "type": "DEFAULT",
            "parameters": self.config.default_parameters,
            "user": LOCAL_USER,
        }

    # -- accounts ------------------------------------------------------------------------

    def sign_in(self, body: Any) -> Reply:
        """``POST /api/auth/signin``."""
        with self.lock:
            self.stats.sign_in_attempts += 1
            now = self.clock.now()
            if not _credentials_shape(body):
                return _auth_error(400, "err_invalid_credentials", "malformed credentials")
            if self.sign_in_errors:
                status, code = self.sign_in_errors.popleft()
                return _auth_error(status, code, "sign-in failed")
            if self._locked_until is not None and now < self._locked_until:
                return self._locked_reply(now)
            role, problem = self._check(body)
            if role is None:
                return self._failed_sign_in(now, problem)
            self._failed = 0
            token = secrets.token_urlsafe(24)
            self._tokens[token] = (role, now + self.config.token_ttl)
            return Reply(
                200,
                {"token": token} if self.config.token_at_top_level else envelope({"token": token}),
            )

    def _check(self, body: dict[str, Any]) -> tuple[str | None, str]:
        c = self.config
        if body["userType"] == "customer" and (body["username"], body["pwd"]) == (
            c.username,
            c.password,
        ):
            return "customer", ""
        if body["userType"] == "tech" and (body["username"], body["pwd"]) == (
            c.tech_username,
            c.tech_password,
        ):
            if body.get("inverterSn") != c.inverter_sn or not body.get("email"):
                return None, "err_invalid_inverter_sn"
            return "tech", ""
        return None, "err_wrong_credentials"

    def _failed_sign_in(self, now: datetime, code: str) -> Reply:
        self._failed += 1
        if self._failed >= self.config.lockout_after:
            self._failed = 0
            self._locked_until = now + self.config.lockout_for
            return self._locked_reply(now)
        return _auth_error(401, code, "sign-in failed")

    def _locked_reply(self, now: datetime) -> Reply:
        assert self._locked_until is not None
        minutes = max(1, round((self._locked_until - now).total_seconds() / 60))
        return _auth_error(401, self.config.lockout_code, f"{minutes} minutes")

    def authorize(self, authorization: str | None, technician: bool) -> Reply | None:
        """``None`` if the bearer token may call the endpoint, else the 401/403 reply."""
        with self.lock:
            token = (authorization or "").removeprefix("Bearer ").strip()
            entry = self._tokens.get(token)
            if entry is None or self.clock.now() >= entry[1]:
                self._tokens.pop(token, None)
                return _auth_error(401, "err_unauthorized", "invalid or expired token")
            if technician and entry[0] != "tech":
                return Reply(403, "Forbidden")
            return None

    # -- commands -------------------------------------------------------------------------

    def command(self, body: dict[str, Any]) -> Reply:
        """Accept a validated command: it shows up after ``lag`` and runs for its duration."""
        with self.lock:
            now = self.advance()
            params = body.get("parameters")
            command = "SET_CHARGE" if body["command"] == "SET_DISCHARGE" else body["command"]
            duration = int(body["duration"])
            record = {
                "id": str(uuid.uuid4()),
                "command": command,
                "createdAt": ms(now),
                "updatedAt": ms(now),
                "duration": duration,
                "startTime": to_hhmm(now, self.config.timezone),
                "endTime": to_hhmm(now + timedelta(hours=duration), self.config.timezone),
                "recurrence": "MANUAL_EVENT",
                "type": "MANUAL",
                "parameters": dict(params) if isinstance(params, dict) else None,
                "user": LOCAL_USER,
            }
            shown = self._shown(now)
            ends = now + timedelta(hours=duration)
            real = time.monotonic() + self.config.lag_real_s
            self._manual = RunningMode(record, shown, now + self.config.lag, ends, real)
            self.log_command(body, 200)
            if self.reboot_on_next_command:
                self.reboot_on_next_command = False
                self.reboot()
            return Reply(200, envelope(record))

    def log_command(self, body: Any, status: int) -> None:
        """Remember a received command body and the status it got."""
        entry = {"at": self.clock.now().isoformat(), "body": body, "status": status}
        self.stats.command_log.append(entry)

    def reboot(self, downtime: timedelta = timedelta(0)) -> None:
        """Drop every token and the running command; refuse connections for ``downtime``."""
        with self.lock:
            now = self.advance()
            self._tokens.clear()
            self._manual = None
            self.stats.reboots += 1
            self.down_until = now + downtime if downtime > timedelta(0) else None

    def expire_tokens(self) -> None:
        """Every token stops working now (as at the device's ~60 minutes)."""
        with self.lock:
            self._tokens.clear()

    def is_down(self) -> bool:
        """True while a reboot's downtime lasts."""
        return self.down_until is not None and self.clock.now() < self.down_until

    # -- views used by the HTTP layer -----------------------------------------------------

    def current_mode(self) -> dict[str, Any]:
        """What ``currentMode`` shows now (with ``status_never_confirms``: never a manual
        command, though the battery runs it)."""
        with self.lock:
            now = self.advance()
            if self.status_never_confirms and self._manual is not None:
                return self.default_record()
            return dict(self._shown(now))

    def soc_pct(self) -> float:
        """State of charge now, %."""
        with self.lock:
            self.advance()
            return self.battery.soc_pct

    def flows(self) -> Flows:
        """The flows of the last integration step (W)."""
        with self.lock:
            self.advance()
            return self._flows

    def metered(self, start: datetime, end: datetime) -> pd.DataFrame:
        """The exact per-minute energies (kWh) and SOC (%) of ``[start, end)`` (see ``Meter``),
        integrated up to now first."""
        with self.lock:
            self.advance()
            return self.meter.frame(start, end)


def _credentials_shape(body: Any) -> bool:
    keys = ("username", "pwd", "userType")
    return isinstance(body, dict) and all(isinstance(body.get(k), str) for k in keys)


def _auth_error(status: int, code: int | str, description: str) -> Reply:
    return Reply(status, {"error": {"errCode": code, "description": description}})
