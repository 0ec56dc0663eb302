"""Read ``config.toml`` once into validated, frozen settings.

This is the only module that reads the settings file or the environment. Every problem in the
file is reported as one message naming the key, the value and what is allowed, for example
``battery.min_soc_pct = 120: must be between 0 and max_soc_pct (100)``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from optimizer.domain import BatterySpec, GridSpec
from optimizer.errors import ConfigError

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class BatterySettings(BaseModel):
    """``[battery]``: the pack and inverter as the planner sees them."""

    model_config = _FROZEN

    capacity_kwh: Annotated[float, Field(gt=0, le=100)] = 4.2
    min_soc_pct: Annotated[float, Field(ge=0, le=100)] = 10
    max_soc_pct: Annotated[float, Field(ge=0, le=100)] = 100
    max_charge_kw: Annotated[float, Field(gt=0, le=50)] = 3.6
    max_discharge_kw: Annotated[float, Field(gt=0, le=50)] = 3.6
    charge_efficiency: Annotated[float, Field(gt=0, le=1)] = 0.92
    discharge_efficiency: Annotated[float, Field(gt=0, le=1)] = 0.92
    cycle_cost_per_kwh: Annotated[float, Field(ge=0)] = 0.0
    inverter_rating_w: Annotated[float, Field(gt=0, le=50_000)] = 3600

    def spec(self) -> BatterySpec:
        """The planner's frozen view of these settings."""
        return BatterySpec(**self.model_dump())


class GridSettings(BaseModel):
    """``[grid]``: the connection limits at the house meter."""

    model_config = _FROZEN

    export_allowed: bool = True
    max_import_kw: Annotated[float, Field(gt=0, le=1000)] = 15.0
    max_export_kw: Annotated[float, Field(ge=0, le=1000)] = 3.68

    def spec(self) -> GridSpec:
        """The planner's frozen view of these settings."""
        return GridSpec(**self.model_dump())


class PlannerSettings(BaseModel):
    """``[planner]``: slot length, horizon, solver and how to value energy left at the end."""

    model_config = _FROZEN

    slot_minutes: int = 30
    horizon_hours: Annotated[int, Field(ge=1, le=24 * 14)] = 36
    solver: Literal["highs", "cbc"] = "highs"
    terminal_soc_value: float | Literal["auto", "none"] = "auto"
    timezone: str = "Europe/London"
    currency: Annotated[str, Field(min_length=3, max_length=3)] = "GBP"

    @field_validator("slot_minutes")
    @classmethod
    def _slot_divides_hour(cls, value: int) -> int:
        if not 5 <= value <= 60 or 60 % value:
            raise ValueError("must be between 5 and 60 and divide 60 (5, 6, 10, 12, 15, 20, 30, 60)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name such as Europe/London") from None
        return value

    @field_validator("terminal_soc_value")
    @classmethod
    def _non_negative(cls, value: float | str) -> float | str:
        if isinstance(value, float) and value < 0:
            raise ValueError('must be "auto", "none" or a price per kWh >= 0')
        return value


class DeviceSettings(BaseModel):
    """``[device]``: how to reach the xStorage Home. The password never lives here."""

    model_config = _FROZEN

    url: str = "https://192.168.2.254"
    username: str = "user"
    password_env: str = "XSTORAGE_PASSWORD"
    password_file: str = ""
    user_type: Literal["customer", "tech"] = "customer"
    inverter_sn: str = ""
    verify_tls: bool = False
    tls_fingerprint_sha256: str = ""
    discharge_command: Literal["SET_CHARGE", "SET_DISCHARGE"] = "SET_CHARGE"

    def password(self) -> str:
        """The device password from ``password_file`` or the ``password_env`` variable."""
        if self.password_file:
            path = Path(self.password_file)
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError([f"device.password_file = {path}: cannot read ({exc.strerror})"]) from None
        value = os.environ.get(self.password_env, "")
        if not value:
            raise ConfigError(
                [f"device.password_env = {self.password_env}: the environment variable is not set"]
            )
        return value


class TariffSettings(BaseModel):
    """``[tariff]``: where prices come from."""

    model_config = _FROZEN

    source: str = "octopus"
    import_product: str = "AGILE-24-10-01"
    import_tariff: str = ""
    export_product: str = "AGILE-OUTGOING-19-05-13"
    export_tariff: str = ""
    region: str = "C"
    api_url: str = "https://api.octopus.energy/v1"


class StoreSettings(BaseModel):
    """``[store]``: the history database."""

    model_config = _FROZEN

    url: str = "sqlite:///data/history.db"


class ServiceSettings(BaseModel):
    """``[service]``: the unattended executor."""

    model_config = _FROZEN

    poll_seconds: Annotated[int, Field(ge=5, le=3600)] = 60
    soc_tolerance_pct: Annotated[float, Field(gt=0, le=100)] = 5
    fallback_mode: Literal["SET_MAXIMIZE_AUTO_CONSUMPTION", "SET_BASIC_MODE"] = (
        "SET_MAXIMIZE_AUTO_CONSUMPTION"
    )
    strategy: str = "lp"


class Settings(BaseModel):
    """The whole validated settings file."""

    model_config = _FROZEN

    battery: BatterySettings = BatterySettings()
    grid: GridSettings = GridSettings()
    planner: PlannerSettings = PlannerSettings()
    device: DeviceSettings = DeviceSettings()
    tariff: TariffSettings = TariffSettings()
    store: StoreSettings = StoreSettings()
    service: ServiceSettings = ServiceSettings()


def _format_error(error: Any, raw: dict[str, Any]) -> str:
    loc = [str(part) for part in error["loc"] if not str(part).startswith(("function-", "literal["))]
    key = ".".join(dict.fromkeys(loc))
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    value = raw
    for part in error["loc"]:
        value = value.get(part, error.get("input")) if isinstance(value, dict) else error.get("input")
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{key} = {value!r}: {message}"


def _cross_checks(settings: Settings) -> list[str]:
    """Problems that involve two keys at once."""
    problems: list[str] = []
    battery = settings.battery
    if battery.min_soc_pct > battery.max_soc_pct:
        problems.append(
            f"battery.min_soc_pct = {battery.min_soc_pct:g}: must be between 0 and "
            f"max_soc_pct ({battery.max_soc_pct:g})"
        )
    if settings.device.user_type == "tech" and not settings.device.inverter_sn:
        problems.append('device.inverter_sn = "": must be set when device.user_type = "tech"')
    return problems


def parse_settings(raw: dict[str, Any], source: str = "config") -> Settings:
    """Validate a parsed TOML document; raise ``ConfigError`` listing every problem."""
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([_format_error(err, raw) for err in exc.errors()], source) from None
    problems = _cross_checks(settings)
    if problems:
        raise ConfigError(problems, source)
    return settings


def load_settings(path: Path | str | None) -> Settings:
    """Read and validate ``path``; ``None`` gives the defaults (used by ``demo``)."""
    if path is None:
        return Settings()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(["file not found"], str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], str(path)) from None
    return parse_settings(raw, str(path))
