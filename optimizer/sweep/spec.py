"""The sweep SPEC file (TOML): homes × tariffs × a grid of settings, validated in one pass.

Shape (paths are relative to the SPEC file)::

    config = "config.toml"                # the base settings file (optional: the defaults)
    strategies = ["lp"]                   # perfect and none always run too
    [period]
    from = "2023-03-01T00:00Z"            # ISO-8601 with an offset, or a TOML offset datetime
    to = "2023-04-01T00:00Z"              # exclusive
    [[homes]]
    name = "fawkesley"
    load = "load.csv"                     # kWh per interval (start_utc,end_utc,kwh)
    pv = "pv.csv"                         # optional, kWh per interval
    pv_forecast = "pv-forecasts.csv"      # optional archive (issued_utc,start_utc,end_utc,kwh)
    [homes.settings]
    "battery.capacity_kwh" = 9.5          # overrides of the base settings for this home
    [[tariffs]]
    name = "agile"
    prices = "import.csv"                 # start_utc,end_utc,price
    export_prices = "export.csv"          # optional
    price_unit = "p/kWh"                  # optional: the files' unit column, else tariff.csv_unit
    [grid]
    "battery.capacity_kwh" = [5.0, 10.0]  # setting key → values; the runs are their product

Setting keys may also be written as TOML tables (``[grid.battery] capacity_kwh = [...]``).
Every problem is one message naming the key (``homes[1].load: ...``); ``ConfigError`` carries
them all, with the SPEC path as its source.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from optimizer.errors import ConfigError

Scalar = bool | int | float | str
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[^,\"\r\n]+$")]
_STRICT = ConfigDict(extra="forbid", frozen=True)


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a UTC offset (…Z or +01:00)")
    from datetime import UTC

    return value.astimezone(UTC)


class PeriodSpec(BaseModel):
    """``[period]``: the replayed span ``[from, to)``, UTC."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _aware_utc(value)

    @model_validator(mode="after")
    def _ordered(self) -> PeriodSpec:
        if self.end <= self.start:
            raise ValueError(f"to ({self.end.isoformat()}) must be after from")
        return self


class HomeSpec(BaseModel):
    """One ``[[homes]]`` entry: its files and its overrides of the base settings."""

    model_config = _STRICT

    name: Name
    load: Path
    pv: Path | None = None
    pv_forecast: Path | None = None
    settings: dict[str, Scalar] = {}


class TariffSpec(BaseModel):
    """One ``[[tariffs]]`` entry: import (and export) prices per interval and their unit."""

    model_config = _STRICT

    name: Name
    prices: Path
    export_prices: Path | None = None
    price_unit: str | None = None


class SweepSpec(BaseModel):
    """The whole SPEC file (paths still as written; ``load_spec`` resolves them)."""

    model_config = _STRICT

    config: Path | None = None
    period: PeriodSpec
    strategies: list[Annotated[str, Field(min_length=1)]] = []
    homes: Annotated[list[HomeSpec], Field(min_length=1)]
    tariffs: Annotated[list[TariffSpec], Field(min_length=1)]
    grid: dict[str, Annotated[list[Scalar], Field(min_length=1)]] = {}

    @model_validator(mode="after")
    def _unique_names(self) -> SweepSpec:
        for kind, items in (("homes", self.homes), ("tariffs", self.tariffs)):
            names = [item.name for item in items]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{kind}: the name {twice[0]!r} is used twice")
        return self


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"battery": {"capacity_kwh": 9}}`` → ``{"battery.capacity_kwh": 9}`` (dotted keys
    pass through)."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif "[" in str(part) or str(part).startswith("function-"):
            continue  # pydantic's union/validator markers, not keys
        else:
            text += f".{part}" if text else str(part)
    return text


def _problems(exc: ValidationError) -> list[str]:
    found = []
    for error in exc.errors():
        where = _where(tuple(error["loc"])) or "spec"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        found.append(f"{where}: {message}")
    return list(dict.fromkeys(found))


def _resolved(path: Path | None, folder: Path) -> Path | None:
    return None if path is None else (folder / path.expanduser())


def parse_spec(raw: dict[str, Any], source: str, folder: Path) -> SweepSpec:
    """Validate a parsed SPEC document; paths become relative to ``folder``."""
    raw = dict(raw)
    if isinstance(raw.get("grid"), dict):
        raw["grid"] = flatten(raw["grid"])
    for home in raw.get("homes") or []:
        if isinstance(home, dict) and isinstance(home.get("settings"), dict):
            home["settings"] = flatten(home["settings"])
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_problems(exc), source) from None
    homes = [
        home.model_copy(update={"load": _resolved(home.load, folder),
                                "pv": _resolved(home.pv, folder),
                                "pv_forecast": _resolved(home.pv_forecast, folder)})
        for home in spec.homes
    ]  # fmt: skip
    tariffs = [
        tariff.model_copy(update={"prices": _resolved(tariff.prices, folder),
                                  "export_prices": _resolved(tariff.export_prices, folder)})
        for tariff in spec.tariffs
    ]  # fmt: skip
    return spec.model_copy(
        update={"config": _resolved(spec.config, folder), "homes": homes, "tariffs": tariffs}
    )


def load_spec(path: Path) -> SweepSpec:
    """Read and validate the SPEC file at ``path``; ``ConfigError`` (exit 2) on any problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(["file not found"], str(path)) from None
    except IsADirectoryError:
        raise ConfigError(["is a folder, not a SPEC file"], str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot be read ({exc})"], str(path)) from None
    return parse_spec(raw, str(path), path.resolve().parent)
