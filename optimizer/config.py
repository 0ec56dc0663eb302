"""Read ``config.toml`` once into validated, frozen settings.

This is the only module that reads the settings file or the environment. Every problem in the
file is reported as one message naming the key, the value and what is allowed, for example
``battery.min_soc_pct = 120: must be between 0 and max_soc_pct (100)``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from optimizer.domain import BatterySpec, GridSpec, LoadMethodName
from optimizer.errors import ConfigError, InvalidInput
from optimizer.units import PRICE_UNITS, price_factor


def known_zone(value: str) -> str:
    """``value`` if it is an IANA time zone name, else a ``ValueError`` saying so."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone name such as Europe/London") from None
    return value


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
    # The device's own floor (bmsBackupLevel, %): its self-consumption mode discharges to it.
    backup_pct: Annotated[float, Field(ge=0, le=100)] = 0

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
    solver: Literal["highs", "cbc", "dp"] = "dp"
    terminal_soc_value: float | Literal["auto", "none"] = "auto"
    timezone: str = "Europe/London"
    currency: Annotated[str, Field(min_length=3, max_length=3)] = "GBP"

    @field_validator("slot_minutes")
    @classmethod
    def _slot_divides_hour(cls, value: int) -> int:
        if not 5 <= value <= 60 or 60 % value:
            raise ValueError(
                "must be between 5 and 60 and divide 60 (5, 6, 10, 12, 15, 20, 30, 60)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

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
                raise ConfigError(
                    [f"device.password_file = {path}: cannot read ({exc.strerror})"]
                ) from None
        value = os.environ.get(self.password_env, "")
        if not value:
            raise ConfigError(
                [f"device.password_env = {self.password_env}: the environment variable is not set"]
            )
        return value


_REGIONS = "ABCDEFGHJKLMNP"


def _hhmm(value: str) -> str:
    """Check a ``HH:MM`` 24-hour clock time."""
    hours, _, minutes = value.partition(":")
    if not (len(value) == 5 and hours.isdigit() and minutes.isdigit()):
        raise ValueError('must be a 24-hour clock time "HH:MM"')
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError('must be a 24-hour clock time "HH:MM" (00:00 to 23:59)')
    return value


def _quarter_hour(value: str) -> str:
    """A band edge: ``HH:MM`` on a quarter hour (slots are 15 or 30 minutes long)."""
    if int(_hhmm(value)[3:]) % 15:
        raise ValueError('must be on a quarter hour ("HH:00", "HH:15", "HH:30" or "HH:45")')
    return value


HHMM = Annotated[str, AfterValidator(_hhmm)]
BandEdge = Annotated[str, AfterValidator(_quarter_hour)]


class TouBand(BaseModel):
    """One band of a static time-of-use tariff, in the tariff's local time.

    ``start`` is inclusive and ``end`` exclusive (``HH:MM``); ``end`` before ``start`` wraps past
    midnight and ``end = "00:00"`` means the end of the day. ``price`` is currency units per kWh.
    """

    model_config = _FROZEN

    days: Literal["all", "weekday", "weekend"] = "all"
    start: BandEdge
    end: BandEdge
    price: float


class TariffSettings(BaseModel):
    """``[tariff]``: where prices come from, how they are checked and when they are due.

    Prices are converted to currency units per kWh at the source; every key below that carries
    a price says its unit in its name.
    """

    model_config = _FROZEN

    source: Literal["octopus", "entsoe", "energy-charts", "static", "csv"] = "octopus"
    # Octopus Energy
    import_product: str = "AGILE-24-10-01"
    import_tariff: str = ""
    export_product: str = "AGILE-OUTGOING-19-05-13"
    export_tariff: str = ""
    region: str = "C"
    api_url: str = "https://api.octopus.energy/v1"
    payment_method: Literal["DIRECT_DEBIT", "NON_DIRECT_DEBIT"] = "DIRECT_DEBIT"
    # EU day-ahead (ENTSO-E or Energy-Charts)
    bidding_zone: str = "NL"
    entsoe_url: str = "https://web-api.tp.entsoe.eu/api"
    entsoe_token_env: str = "ENTSOE_SECURITY_TOKEN"
    energy_charts_url: str = "https://api.energy-charts.info"
    resolution_minutes: Literal[15, 30, 60] = 60
    retail_multiplier: float = 1.0
    retail_adder_per_kwh: float = 0.0
    vat_pct: Annotated[float, Field(ge=0, le=100)] = 0.0
    export_multiplier: float = 1.0
    export_adder_per_kwh: float = 0.0
    # static time of use
    timezone: str = "Europe/London"
    static_import_per_kwh: float = 0.25
    static_import_bands: tuple[TouBand, ...] = ()
    static_export_per_kwh: float = 0.15
    static_export_bands: tuple[TouBand, ...] = ()
    # CSV files in the data/ shape
    import_csv: str = ""
    export_csv: str = ""
    csv_unit: str = "p/kWh"
    # HTTP
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 20.0
    retries: Annotated[int, Field(ge=0, le=10)] = 4
    retry_backoff_s: Annotated[float, Field(ge=0, le=60)] = 1.0
    # validation before the planner
    on_invalid: Literal["reject", "fallback"] = "reject"
    fallback: Literal["static", "csv"] = "static"
    min_price_per_kwh: float = -1.0
    max_price_per_kwh: float = 2.0
    zero_run_hours: Annotated[float, Field(gt=0)] = 12.0
    # publication
    publish_time: HHMM = "16:00"
    late_after_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 120
    day_start: HHMM = "23:00"

    @field_validator("region")
    @classmethod
    def _region_letter(cls, value: str) -> str:
        if value and (len(value) != 1 or value.upper() not in _REGIONS):
            raise ValueError(f"must be one GSP region letter ({', '.join(_REGIONS)}) or empty")
        return value.upper()

    @field_validator("import_product", "export_product", "import_tariff", "export_tariff")
    @classmethod
    def _code_shape(cls, value: str) -> str:
        if value and not all(ch.isalnum() or ch == "-" for ch in value):
            raise ValueError("must contain only letters, digits and '-'")
        return value.upper()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @field_validator("csv_unit")
    @classmethod
    def _known_unit(cls, value: str) -> str:
        try:
            price_factor(value)
        except InvalidInput:
            raise ValueError(
                f"must be one of {', '.join(PRICE_UNITS)} (or CUR/kWh, CUR/MWh)"
            ) from None
        return value

    @model_validator(mode="after")
    def _source_needs(self) -> TariffSettings:
        if self.source == "octopus" and not (self.import_tariff or self.region):
            raise ValueError('source = "octopus" needs import_tariff or region')
        if self.source == "csv" and not self.import_csv:
            raise ValueError('source = "csv" needs import_csv (a file in the data/ CSV shape)')
        if self.on_invalid == "fallback" and self.fallback == "csv" and not self.import_csv:
            raise ValueError('fallback = "csv" needs import_csv')
        if self.min_price_per_kwh >= self.max_price_per_kwh:
            raise ValueError("min_price_per_kwh must be below max_price_per_kwh")
        return self

    def import_code(self) -> str:
        """The import tariff's name: the Octopus code (``E-1R-<product>-<region>``) or a label."""
        if self.source == "octopus":
            return self.import_tariff or f"E-1R-{self.import_product}-{self.region}"
        if self.source in ("entsoe", "energy-charts"):
            return f"{self.source}-{self.bidding_zone}-import"
        return f"{self.source}-import"

    def export_code(self) -> str:
        """The export tariff's name, or ``""`` when there is no export tariff."""
        if self.source == "octopus":
            if self.export_tariff:
                return self.export_tariff
            return f"E-1R-{self.export_product}-{self.region}" if self.export_product else ""
        if self.source in ("entsoe", "energy-charts"):
            return f"{self.source}-{self.bidding_zone}-export"
        if self.source == "csv" and not self.export_csv:
            return ""
        return f"{self.source}-export"

    def entsoe_token(self) -> str:
        """The ENTSO-E security token from the ``entsoe_token_env`` environment variable."""
        value = os.environ.get(self.entsoe_token_env, "").strip()
        if not value:
            raise ConfigError(
                [f"tariff.entsoe_token_env = {self.entsoe_token_env}: environment variable not set"]
            )
        return value


def default_store_url() -> str:
    """SQLite in the platform's per-user data folder (``~/.local/share/xstorage-optimizer`` on
    Linux, or ``$XDG_DATA_HOME/xstorage-optimizer``), never relative to the working folder."""
    from platformdirs import user_data_path

    return f"sqlite:///{user_data_path('xstorage-optimizer') / 'history.db'}"


def store_location(url: str) -> str:
    """Where ``url`` stores: the SQLite file, or the URL without its password."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.partition(':')[0]}@{tail}"


class StoreSettings(BaseModel):
    """``[store]``: the history database (SQLite file or PostgreSQL via psycopg 3)."""

    model_config = _FROZEN

    url: str = Field(default_factory=lambda: default_store_url())
    busy_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
            raise ValueError(
                "must start with sqlite:/// (a file) or postgresql+psycopg:// (PostgreSQL)"
            )
        return value


class ServiceSettings(BaseModel):
    """``[service]``: the unattended executor."""

    model_config = _FROZEN

    poll_seconds: Annotated[int, Field(ge=5, le=3600)] = 60
    soc_tolerance_pct: Annotated[float, Field(gt=0, le=100)] = 5
    fallback_mode: Literal["SET_MAXIMIZE_AUTO_CONSUMPTION", "SET_BASIC_MODE"] = (
        "SET_MAXIMIZE_AUTO_CONSUMPTION"
    )
    strategy: str = "lp"
    # New plan at every slot boundary, or at each local hour (as ``backtest --replan``); in
    # between, each slot's command is chosen from the measured SOC by the plan in force.
    replan: Literal["slot", "hour"] = "hour"
    # SOC readings older than this (s) are stale: stop forcing charge/discharge.
    stale_after_s: Annotated[int, Field(ge=10, le=24 * 3600)] = 300
    # Consecutive read-back mismatches before falling back to ``fallback_mode``.
    max_readback_failures: Annotated[int, Field(ge=1, le=100)] = 3
    # Device unreachable: retry after poll_seconds, doubling up to this many seconds.
    device_backoff_max_s: Annotated[int, Field(ge=5, le=24 * 3600)] = 600
    # Tariff fetch failed or prices late: first retry after this many seconds, doubling.
    tariff_retry_s: Annotated[int, Field(ge=1, le=24 * 3600)] = 300
    tariff_retry_max_s: Annotated[int, Field(ge=1, le=24 * 3600)] = 3600
    # Fewest seconds between two re-plans triggered by SOC drift.
    replan_min_s: Annotated[int, Field(ge=0, le=24 * 3600)] = 300
    # Import the device's 5-minute metrics every this many minutes.
    metrics_minutes: Annotated[int, Field(ge=5, le=24 * 60)] = 15
    # Load forecast (W) for slots without any history.
    fallback_load_w: Annotated[float, Field(ge=0, le=50_000)] = 400.0


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _host_port(value: str) -> str:
    """``host:port`` (``[v6]:port`` too), or ``""``."""
    if not value:
        return value
    host, sep, port = value.rpartition(":")
    if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError('must be "host:port" (e.g. "127.0.0.1:8765") or "" to switch it off')
    return value


class WebSettings(BaseModel):
    """``[web]``: the status page, its JSON API and ``/metrics`` (one HTTP listener).

    ``listen`` is ``host:port`` (``""`` switches the page off). Any address other than the
    loopback one needs ``token_env``: every request must then carry that bearer token.
    """

    model_config = _FROZEN

    listen: Annotated[str, AfterValidator(_host_port)] = "127.0.0.1:8765"
    token_env: Annotated[str, Field(validate_default=True)] = ""

    @property
    def loopback(self) -> bool:
        """True when ``listen`` is a loopback address (no token needed)."""
        host = self.listen.rpartition(":")[0]
        return host in _LOOPBACK_HOSTS or host.startswith("127.")

    @field_validator("token_env")
    @classmethod
    def _token_off_loopback(cls, value: str, info: ValidationInfo) -> str:
        listen = str(info.data.get("listen", ""))
        host = listen.rpartition(":")[0]
        loopback = host in _LOOPBACK_HOSTS or host.startswith("127.")
        if listen and not loopback and not value:
            raise ValueError(
                f'must name the environment variable holding the bearer token when listen = "'
                f'{listen}" (not a loopback address): every request must then carry it'
            )
        return value

    def token(self) -> str:
        """The bearer token from ``token_env`` (``""`` when no ``token_env`` is set)."""
        if not self.token_env:
            return ""
        value = os.environ.get(self.token_env, "").strip()
        if not value:
            raise ConfigError(
                [f"web.token_env = {self.token_env}: the environment variable is not set"]
            )
        return value


class MqttSettings(BaseModel):
    """``[mqtt]``: Home Assistant over MQTT discovery (``url = ""`` switches it off)."""

    model_config = _FROZEN

    url: str = ""
    username: str = ""
    password_env: str = ""
    discovery_prefix: Annotated[str, Field(min_length=1)] = "homeassistant"
    topic_prefix: Annotated[str, Field(min_length=1)] = "xstorage"

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        if not value:
            return value
        scheme, sep, rest = value.partition("://")
        if scheme not in ("mqtt", "mqtts") or not sep or not rest:
            raise ValueError('must look like "mqtt://host:1883" or "mqtts://host:8883", or ""')
        return value

    @field_validator("discovery_prefix", "topic_prefix")
    @classmethod
    def _topic_part(cls, value: str) -> str:
        if any(ch in value for ch in "#+ ") or value.startswith("/") or value.endswith("/"):
            raise ValueError("must be a topic without wildcards, spaces or leading/trailing /")
        return value

    def password(self) -> str | None:
        """The broker password from ``password_env`` (``None`` when not configured)."""
        if not self.password_env:
            return None
        value = os.environ.get(self.password_env, "")
        if not value:
            raise ConfigError(
                [f"mqtt.password_env = {self.password_env}: the environment variable is not set"]
            )
        return value


class ForecastSettings(BaseModel):
    """``[forecast]``: how the service and the backtest forecast load and PV (one path).

    ``load_method`` is one of ``optimizer.forecast.LOAD_METHODS``; its walk-forward errors and
    what each captures in the backtest are in ``docs/forecast.md``. Lags are days.
    """

    model_config = _FROZEN

    load_method: LoadMethodName = "blend"
    #: ``weekday``: the same local time this many days back (the same weekday).
    load_lag_days: tuple[int, ...] = (7, 14, 21, 28)
    #: ``recent``/``blend``: the most recent days measured, each further one weighted ``decay``.
    recent_days: Annotated[int, Field(ge=1, le=56)] = 3
    recent_decay: Annotated[float, Field(gt=0, le=1)] = 0.85
    #: ``blend``: the share of ``weekday`` (the rest is ``recent``).
    weekday_weight: Annotated[float, Field(ge=0, le=1)] = 0.3
    #: ``blend-inday``: the last hours of measured load against what was expected for them,
    #: this share of the ratio applied, fading over ``inday_fade_hours``.
    inday_window_hours: Annotated[float, Field(gt=0, le=48)] = 2.0
    inday_damping: Annotated[float, Field(ge=0, le=1)] = 0.8
    inday_fade_hours: Annotated[float, Field(ge=0, le=168)] = 6.0
    #: Plans hedge over this many load scenarios (groups of the lagged days, low … high; at most
    #: len(load_lag_days) + recent_days): 0 plans on the forecast alone. See docs/forecast.md.
    hedge_scenarios: Annotated[int, Field(ge=0, le=11)] = 0
    #: PV: the same UTC time this many days back (the sun keeps UTC, not clock time).
    pv_lag_days: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)

    @field_validator("load_lag_days", "pv_lag_days")
    @classmethod
    def _lags(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or min(value) < 1:
            raise ValueError("must list at least one lag of 1 day or more")
        return value

    @field_validator("hedge_scenarios")
    @classmethod
    def _scenarios(cls, value: int) -> int:
        if value == 1:
            raise ValueError("must be 0 (plan on the forecast alone) or 2 or more scenarios")
        return value


class BacktestSettings(BaseModel):
    """``[backtest]``: how history is replayed and where user strategies come from.

    Times are local clock times in ``price_timezone``; lags are days; energies kWh per slot.
    """

    model_config = _FROZEN

    strategy: str = "all"
    strategy_modules: tuple[str, ...] = ()
    replan: Literal["slot", "hour", "day"] = "hour"
    prices_known: Literal["publication", "all"] = "publication"
    publish_time: str = "16:00"
    price_day_start: str = "23:00"
    price_timezone: str = "Europe/London"
    initial_soc_pct: Annotated[float, Field(ge=0, le=100)] = 10.0
    fallback_load_kwh: Annotated[float, Field(ge=0)] = 0.15

    @field_validator("publish_time", "price_day_start")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, _, minutes = value.partition(":")
        ok = len(value) == 5 and hours.isdigit() and minutes.isdigit()
        if not ok or int(hours) > 23 or int(minutes) > 59:
            raise ValueError('must be a 24-hour clock time "HH:MM"')
        return value

    @field_validator("strategy_modules")
    @classmethod
    def _module_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            module, sep, attribute = path.partition(":")
            if not (module and sep and attribute):
                raise ValueError(f"{path!r} must look like package.module:ClassName")
        return value


PvSourceName = Literal["history", "open-meteo", "forecast.solar", "solcast"]

#: The API each weather source calls when ``[pv] api_url`` is empty.
PV_API_URLS: dict[str, str] = {
    "open-meteo": "https://api.open-meteo.com/v1/forecast",
    "forecast.solar": "https://api.forecast.solar",
    "solcast": "https://api.solcast.com.au",
}


class ArraySettings(BaseModel):
    """``[[pv.arrays]]``: one plane of panels.

    ``kwp`` is the DC nameplate (kW at 1000 W/m², 25 °C cell); ``tilt_deg`` from horizontal
    (0 flat … 90 vertical); ``azimuth_deg`` the compass bearing the panels face (0 north,
    90 east, 180 south, 270 west). Each source converts the bearing to its own convention.
    """

    model_config = _FROZEN

    kwp: Annotated[float, Field(gt=0, le=100)]
    tilt_deg: Annotated[float, Field(ge=0, le=90)]
    azimuth_deg: Annotated[float, Field(ge=0, le=360)]


class PvSettings(BaseModel):
    """``[pv]``: where the PV forecast comes from and the roof it is for.

    ``forecast = "history"`` keeps the lagged-mean forecast from measured PV (no weather).
    The weather sources need ``latitude``/``longitude`` (degrees, WGS84); Open-Meteo and
    forecast.solar need one or more ``arrays``; Solcast needs ``solcast_site_ids`` (the
    rooftop sites' resource ids, whose panels are described on Solcast's side) and its API key
    in the environment variable named by ``solcast_api_key_env`` (never in this file).

    The physics keys follow NREL's PVWatts v8 defaults (Dobos 2014, NREL/TP-6A20-62641; PVWatts
    v8 for the temperature coefficient of a standard module): ``system_losses_pct`` (soiling,
    wiring, mismatch, …; 14 %), ``temp_coeff_pct_per_c`` (power change per °C of cell
    temperature above 25 °C; −0.37 %/°C), ``inverter_efficiency`` (nominal, 0.96). Cell
    temperature follows Faiman (2008) with ``faiman_u0`` (W/m²/K, 25.0) and ``faiman_u1``
    (W·s/m³/K, 6.84), pvlib's defaults. ``ac_limit_kw`` clips the AC output of all arrays
    together (the inverter's rating; the xStorage Home's is 3.6 kW).

    ``calibrate`` (default true): learn the roof, i.e. correct the weather forecast by time of
    day and sky condition against the PV the device measured, refitted daily on the past only
    (``optimizer.forecast.pvcalibrate``; in the backtest with ``--pv-forecast`` too).
    """

    model_config = _FROZEN

    forecast: PvSourceName = "history"
    calibrate: bool = True
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    api_url: str = ""
    ac_limit_kw: Annotated[float, Field(gt=0, le=100)] = 3.6
    arrays: tuple[ArraySettings, ...] = ()
    system_losses_pct: Annotated[float, Field(ge=0, lt=100)] = 14.0
    temp_coeff_pct_per_c: Annotated[float, Field(ge=-2, le=0)] = -0.37
    inverter_efficiency: Annotated[float, Field(ge=0.5, le=1)] = 0.96
    faiman_u0: Annotated[float, Field(gt=0, le=100)] = 25.0
    faiman_u1: Annotated[float, Field(ge=0, le=100)] = 6.84
    solcast_api_key_env: str = "SOLCAST_API_KEY"
    solcast_site_ids: tuple[str, ...] = ()
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 20.0

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError('must start with http:// or https://, or be "" (the default)')
        return value.rstrip("/")

    @field_validator("solcast_site_ids")
    @classmethod
    def _site_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for site in value:
            if not site or not all(ch.isalnum() or ch in "-_" for ch in site):
                raise ValueError(f"{site!r} must be a Solcast resource id (letters, digits, -)")
        return value

    def url(self) -> str:
        """``api_url``, or the source's public API when it is empty."""
        return self.api_url or PV_API_URLS.get(self.forecast, "")

    def solcast_api_key(self, env: Mapping[str, str]) -> str:
        """The Solcast API key from the ``solcast_api_key_env`` variable of ``env``."""
        value = env.get(self.solcast_api_key_env, "").strip()
        if not value:
            raise ConfigError(
                [
                    f"pv.solcast_api_key_env = {self.solcast_api_key_env}: the environment "
                    "variable is not set"
                ]
            )
        return value


def pv_problems(pv: PvSettings) -> list[str]:
    """What each weather source needs besides ``[pv] forecast``."""
    if pv.forecast == "history":
        return []
    needs = f'must be set when pv.forecast = "{pv.forecast}"'
    problems = [
        f"pv.{key}: {needs}" for key in ("latitude", "longitude") if getattr(pv, key) is None
    ]
    if pv.forecast in ("open-meteo", "forecast.solar") and not pv.arrays:
        problems.append(f"pv.arrays: {needs} (one [[pv.arrays]] with kwp, tilt_deg, azimuth_deg)")
    if pv.forecast == "solcast" and not pv.solcast_site_ids:
        problems.append(f"pv.solcast_site_ids: {needs} (the rooftop sites' resource ids)")
    return problems


class Settings(BaseModel):
    """The whole validated settings file."""

    model_config = _FROZEN

    battery: BatterySettings = BatterySettings()
    grid: GridSettings = GridSettings()
    planner: PlannerSettings = PlannerSettings()
    device: DeviceSettings = DeviceSettings()
    tariff: TariffSettings = TariffSettings()
    store: StoreSettings = Field(default_factory=StoreSettings)  # its url: per user, at load
    service: ServiceSettings = ServiceSettings()
    forecast: ForecastSettings = ForecastSettings()
    backtest: BacktestSettings = BacktestSettings()
    web: WebSettings = WebSettings()
    mqtt: MqttSettings = MqttSettings()
    pv: PvSettings = PvSettings()


#: Keys that moved to another section, and where to.
MOVED_KEYS = {
    "backtest.load_lag_days": "[forecast] load_lag_days",
    "backtest.pv_lag_days": "[forecast] pv_lag_days",
}


def _format_error(error: Any, raw: dict[str, Any]) -> str:
    loc = [
        str(part) for part in error["loc"] if not str(part).startswith(("function-", "literal["))
    ]
    key = ".".join(dict.fromkeys(loc))
    if error["type"] == "extra_forbidden":
        moved = MOVED_KEYS.get(key)
        return f"{key}: unknown key" + (f" (it moved to {moved})" if moved else "")
    value = raw
    for part in error["loc"]:
        value = (
            value.get(part, error.get("input")) if isinstance(value, dict) else error.get("input")
        )
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
    if battery.backup_pct > battery.min_soc_pct:
        problems.append(
            f"battery.backup_pct = {battery.backup_pct:g}: must not be above min_soc_pct "
            f"({battery.min_soc_pct:g}): the planner cannot keep a reserve below the device's"
        )
    forecast = settings.forecast
    days = len(forecast.load_lag_days) + forecast.recent_days
    if forecast.hedge_scenarios > days:
        problems.append(
            f"forecast.hedge_scenarios = {forecast.hedge_scenarios}: must be at most the number "
            f"of lagged days the scenarios are made of ({days}: load_lag_days + recent_days)"
        )
    if settings.device.user_type == "tech" and not settings.device.inverter_sn:
        problems.append('device.inverter_sn = "": must be set when device.user_type = "tech"')
    problems.extend(pv_problems(settings.pv))
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
