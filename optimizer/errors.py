"""One small exception tree for the whole project.

Callers catch these, never library exceptions: the planner raises ``InvalidInput`` or
``InfeasiblePlan``; the device client separates "could not reach" (``DeviceUnreachable``)
from "the device said no" (``DeviceRefused``, ``AuthError``).
"""

from __future__ import annotations


class XStorageError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(XStorageError):
    """The settings file is invalid; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str], source: str = "config") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(problems))


class InvalidInput(XStorageError, ValueError):
    """Input data (prices, forecasts, a CSV file, a command argument) is unusable."""


class InfeasiblePlan(XStorageError):
    """No timetable satisfies the battery, grid and SOC limits for these inputs."""


class SolverError(XStorageError):
    """The LP solver failed or returned a solution that does not pass the acceptance gate."""


class TariffError(XStorageError):
    """A tariff source could not deliver a usable price series."""


class TariffUnreachable(TariffError):
    """The tariff source could not be reached (connection error, timeout, 429/5xx) after the
    retries: not bad input (exit 4, like an unreachable device)."""


class StoreError(XStorageError):
    """The history store could not read or write."""


class StoreConflict(StoreError):
    """A write conflicts with what is stored (e.g. a second reading at the same time): the
    store works, this one record cannot be written."""


class DeviceError(XStorageError):
    """Anything that went wrong talking to the xStorage Home."""


class DeviceUnreachable(DeviceError):
    """The device could not be reached (connection error, timeout, 5xx)."""


class DeviceRefused(DeviceError):
    """The device answered and refused the request (4xx other than auth)."""


class NotXStorage(DeviceRefused):
    """Something answered at the device URL, but not an xStorage API (a 404/405/501 on sign-in)."""


class AuthError(DeviceError):
    """Sign-in failed: wrong credentials, or a 401 that survives a fresh token."""


class CredentialsRejected(AuthError):
    """The device answered a sign-in with a definite "wrong credentials" (or wrong inverter
    serial): final. Nothing else about a sign-in is final; the service exits 3 on this one."""


class SignInFailed(DeviceUnreachable):
    """A sign-in the device answered with an error that is not a verdict on the credentials
    (``err_internal``, an unknown code, a 5xx): retried with backoff."""


class LockedOut(AuthError):
    """The device locked the account after failed sign-ins; wait ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class NeedsTechnician(DeviceError):
    """The endpoint needs a technician account (the device answered 403)."""


class ReadBackMismatch(DeviceError):
    """After a command the device's ``currentMode`` did not show what was sent."""


class WeatherError(XStorageError):
    """A PV/weather forecast source could not deliver a usable forecast."""


class WeatherUnreachable(WeatherError):
    """The forecast source could not be reached or would not answer now (connection error,
    timeout, 429 rate limit, 5xx): keep the last good forecast, never zeros.

    ``retry_after_s`` is the source's own ``Retry-After`` where it gave one."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)
