"""Bearer tokens for the device: one sign-in at a time, renewed early, never retried in a loop.

* A token is used for at most ``renew_after`` (55 min; the device drops it at about 60 min).
* Sign-ins are serialised by a lock; a thread that waited reuses the token just obtained.
* Only a definite verdict on the credentials (``err_wrong_credentials``, a wrong inverter serial,
  malformed credentials) is final (``CredentialsRejected``): later calls raise it again without
  asking the device (repeated failures would lock the account). Build a new client after fixing
  them. Any other failed sign-in (``err_internal``, an unknown code, a 5xx) is ``SignInFailed``:
  retried, but not before a backoff (``SIGN_IN_RETRY``, doubling up to ``lockout_backoff``).
* A lockout (``errCode`` 10 or ``err_code_too_many_failed_signin``) blocks every sign-in for at
  least ``lockout_backoff`` (10 min) and raises ``LockedOut`` with the seconds left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from optimizer.device.clock import TimeSource
from optimizer.device.wire import LOCKOUT_CODES, error_code, json_or_none, result_of
from optimizer.errors import (
    AuthError,
    CredentialsRejected,
    DeviceRefused,
    LockedOut,
    NotXStorage,
    SignInFailed,
)

log = logging.getLogger(__name__)

RENEW_AFTER = timedelta(minutes=55)
LOCKOUT_BACKOFF = timedelta(minutes=10)
SIGN_IN_RETRY = timedelta(seconds=30)
TECH_EMAIL = "anything@anything.com"
# Answers that are a verdict on the credentials themselves: retrying them can only lock the account.
FINAL_CODES = frozenset(
    {"err_wrong_credentials", "err_invalid_inverter_sn", "err_invalid_credentials"}
)


def sign_in_body(username: str, password: str, user_type: str, inverter_sn: str) -> dict[str, str]:
    """The JSON body of ``POST /api/auth/signin`` (it contains the password: never log it)."""
    body = {"username": username, "pwd": password, "userType": user_type}
    if user_type == "tech":
        body |= {"inverterSn": inverter_sn, "email": TECH_EMAIL}
    return body


def token_from(response: httpx.Response, who: str) -> str:
    """The token of a successful sign-in: ``result.token``, or a top-level ``token``."""
    body = json_or_none(response)
    result = result_of(response, f"sign-in as {who}")
    for holder in (result, body):
        if isinstance(holder, dict) and isinstance(holder.get("token"), str) and holder["token"]:
            return str(holder["token"])
    raise DeviceRefused(f"sign-in as {who}: the answer carries no token")


def sign_in_error(response: httpx.Response, who: str, backoff: timedelta) -> Exception:
    """Our error for a failed sign-in answer (the caller raises it). A 404/405/501 (no such
    path, or a server that does not take a POST there: a plain web server), or an answer below
    500 that is not JSON, comes from something that is not an xStorage API (exit 4), never a
    wrong password. Other failures say nothing of a retry: the service retries on its own
    schedule (and says so), a one-shot command does not."""
    body = json_or_none(response)
    code = error_code(body)
    status = response.status_code
    if status in (404, 405, 501) or (body is None and status < 500):
        return NotXStorage(
            f"sign-in as {who}: HTTP {status}{'' if body is not None else ' (not JSON)'}: "
            f"not an xStorage API at {_base_of(response)}; check device.url"
        )
    if code in LOCKOUT_CODES:
        seconds = backoff.total_seconds()
        return LockedOut(
            f"sign-in as {who}: the device locked the account after failed sign-ins "
            f"(errCode {code}); not trying again for {seconds / 60:g} minutes",
            seconds,
        )
    if code == "err_invalid_inverter_sn":
        return CredentialsRejected(
            f"sign-in as {who}: the device rejected device.inverter_sn (errCode {code})"
        )
    if code in FINAL_CODES:
        return CredentialsRejected(
            f"sign-in as {who}: wrong user name or password (HTTP {status}, errCode {code}); "
            "fix the password, then start again (no further sign-ins are attempted)"
        )
    return SignInFailed(
        f"sign-in as {who}: the device answered HTTP {status}"
        + (f", errCode {code}" if code else " without an error code")
        + " (not a verdict on the password)"
    )


def _base_of(response: httpx.Response) -> str:
    """Scheme, host and port the response came from (``device.url``)."""
    try:
        url = response.request.url
    except RuntimeError:  # a response built without a request (tests)
        return "device.url"
    return str(url.copy_with(path="/", query=None)).rstrip("/")


class TokenKeeper:
    """Holds the bearer token and decides when a sign-in may happen."""

    def __init__(
        self,
        sign_in: Callable[[], str],
        time: TimeSource,
        renew_after: timedelta = RENEW_AFTER,
        lockout_backoff: timedelta = LOCKOUT_BACKOFF,
    ) -> None:
        self._sign_in = sign_in
        self._time = time
        self._renew_after = renew_after
        self._lockout_backoff = max(lockout_backoff, LOCKOUT_BACKOFF)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._issued_at: datetime | None = None
        self._locked_until: datetime | None = None
        self._refused: AuthError | None = None
        self._retry_at: datetime | None = None
        self._failures = 0

    def __repr__(self) -> str:
        state = "token" if self._token else "no token"
        return f"TokenKeeper({state}, locked_until={self._locked_until})"

    @property
    def lockout_backoff(self) -> timedelta:
        """How long a lockout blocks sign-ins (at least 10 minutes)."""
        return self._lockout_backoff

    def token(self) -> str:
        """A token young enough to use, signing in (once, under the lock) if needed."""
        with self._lock:
            now = self._time.now()
            if self._token and self._issued_at and now - self._issued_at < self._renew_after:
                return self._token
            self._refuse_if_blocked(now)
            return self._fresh(now)

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after a 401, unless another thread already replaced it."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _refuse_if_blocked(self, now: datetime) -> None:
        if self._refused is not None:
            raise type(self._refused)(str(self._refused))
        if self._locked_until is not None and now < self._locked_until:
            left = (self._locked_until - now).total_seconds()
            raise LockedOut(
                f"the device locked the account; not signing in again for {left:.0f} s", left
            )
        if self._retry_at is not None and now < self._retry_at:
            left = (self._retry_at - now).total_seconds()
            raise SignInFailed(f"the last sign-in failed; not signing in again for {left:.0f} s")

    def _fresh(self, now: datetime) -> str:
        self._token = None
        try:
            token = self._sign_in()
        except LockedOut as exc:
            wait = max(exc.retry_after_s, self._lockout_backoff.total_seconds())
            self._locked_until = now + timedelta(seconds=wait)
            raise
        except CredentialsRejected as exc:
            self._refused = exc
            raise
        except SignInFailed:
            self._failures += 1
            wait = min(SIGN_IN_RETRY * 2 ** (self._failures - 1), self._lockout_backoff)
            self._retry_at = now + wait
            raise
        self._token, self._issued_at = token, self._time.now()
        self._failures, self._retry_at = 0, None
        return token

    def snapshot(self) -> dict[str, Any]:
        """Non-secret state for diagnostics (no token, no password)."""
        return {
            "has_token": self._token is not None,
            "issued_at": self._issued_at,
            "locked_until": self._locked_until,
            "refused": self._refused is not None,
        }
