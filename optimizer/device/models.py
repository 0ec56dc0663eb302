"""Typed, tolerant views of the device's JSON, with our names and units.

Vendor names are translated to ours in one place (the ``alias`` of each field). Unknown fields are
ignored; an enum value we have never seen is kept as its string instead of failing. Timestamps are
aware UTC datetimes: ``/api/device``, ``/api/settings`` and diagnostics send epoch **seconds**,
``currentMode``, command results and metrics send epoch **milliseconds**.

Battery direction comes from ``batteryStatus``, never from the sign of ``batteryEnergyFlow``.
Power is in W (``*_w``), state of charge in % (``*_pct``), energy in Wh (``*_wh``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from optimizer.device.localtime import mode_window
from optimizer.domain import DeviceCommand

_TOLERANT = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def _epoch(scale: float) -> Any:
    def convert(value: Any) -> Any:
        if value is None or value == "" or isinstance(value, datetime):
            return value
        return datetime.fromtimestamp(float(value) / scale, tz=UTC)

    return convert


EpochMs = Annotated[datetime | None, BeforeValidator(_epoch(1000.0))]
EpochS = Annotated[datetime | None, BeforeValidator(_epoch(1.0))]


def _none_as_zero(value: Any) -> Any:
    return 0 if value is None else value


Watts = Annotated[float, BeforeValidator(_none_as_zero)]


class BatteryStatus(StrEnum):
    """``energyFlow.batteryStatus``."""

    CHARGING = "BAT_CHARGING"
    DISCHARGING = "BAT_DISCHARGING"
    IDLE = "BAT_IDLE"


class Role(StrEnum):
    """Direction of a flow (``gridRole``, ``acPvRole``, ...)."""

    NONE = "NONE"
    DISCONNECTED = "DISCONNECTED"
    CONSUMER = "CONSUMER"
    PRODUCER = "PRODUCER"


_KNOWN_FIRST = Field(union_mode="left_to_right")
# A known enum member when the string is one, else the string itself (never a validation error).
BatteryStatusValue = Annotated[BatteryStatus | str, _KNOWN_FIRST]
RoleValue = Annotated[Role | str, _KNOWN_FIRST]
CommandValue = Annotated[DeviceCommand | str, _KNOWN_FIRST]


class CurrentMode(BaseModel):
    """``currentMode`` of ``/api/device/status`` (also the body a command answers with)."""

    model_config = _TOLERANT

    id: str | None = None
    command: CommandValue | None = None
    created_at: EpochMs = Field(None, alias="createdAt")
    updated_at: EpochMs = Field(None, alias="updatedAt")
    duration_h: int | None = Field(None, alias="duration")
    start_hhmm: int | None = Field(None, alias="startTime")
    end_hhmm: int | None = Field(None, alias="endTime")
    recurrence: str | None = None
    type: str | None = None
    parameters: dict[str, Any] | None = None

    @property
    def action(self) -> str | None:
        """``ACTION_CHARGE``/``ACTION_DISCHARGE`` (the direction), else ``None``."""
        value = (self.parameters or {}).get("action")
        return str(value) if value is not None else None

    @property
    def power_pct(self) -> int | None:
        """Commanded power in % of the inverter rating, for battery commands."""
        value = (self.parameters or {}).get("power")
        return int(value) if value is not None else None

    @property
    def soc_pct(self) -> int | None:
        """Target (charge) or floor (discharge) state of charge in %, for battery commands."""
        value = (self.parameters or {}).get("soc")
        return int(value) if value is not None else None

    def window(self, timezone: str, now: datetime) -> tuple[datetime, datetime] | None:
        """UTC ``[start, end)`` of this mode (``timezone``: the device's), ``None`` if unknown.

        A manual command starts when it was created (``createdAt``, exact); otherwise the
        ``HHMM`` local times are resolved DST-safely against ``now``.
        """
        if self.duration_h is None:
            return None
        length = timedelta(hours=self.duration_h)
        if self.type == "MANUAL" and self.created_at is not None:
            return self.created_at, self.created_at + length
        if self.start_hhmm is None:
            return None
        return mode_window(self.start_hhmm, self.duration_h, timezone, now, self.end_hhmm)


class EnergyFlow(BaseModel):
    """``energyFlow`` of ``/api/device/status``: magnitudes in W, directions from the roles."""

    model_config = _TOLERANT

    soc_pct: float = Field(alias="stateOfCharge")
    battery_status: BatteryStatusValue = Field(alias="batteryStatus")
    battery_flow_magnitude_w: Watts = Field(0.0, alias="batteryEnergyFlow")
    battery_backup_level_pct: float | None = Field(None, alias="batteryBackupLevel")
    grid_w: Watts = Field(0.0, alias="gridValue")
    grid_role: RoleValue = Field(Role.NONE, alias="gridRole")
    critical_load_w: Watts = Field(0.0, alias="criticalLoadValue")
    non_critical_load_w: Watts = Field(0.0, alias="nonCriticalLoadValue")
    ac_pv_w: Watts = Field(0.0, alias="acPvValue")
    dc_pv_w: Watts = Field(0.0, alias="dcPvValue")
    operation_mode: str | None = Field(None, alias="operationMode")
    self_consumption_pct: float | None = Field(None, alias="selfConsumption")
    self_sufficiency_pct: float | None = Field(None, alias="selfSufficiency")
    energy_saving_enabled: bool | None = Field(None, alias="energySavingModeEnabled")
    energy_saving_active: bool | None = Field(None, alias="energySavingModeActivated")

    @property
    def battery_power_w(self) -> float:
        """Battery power, + = charging, - = discharging; the sign comes from ``batteryStatus``."""
        magnitude = abs(self.battery_flow_magnitude_w)
        if self.battery_status == BatteryStatus.CHARGING:
            return magnitude
        if self.battery_status == BatteryStatus.DISCHARGING:
            return -magnitude
        return 0.0

    @property
    def grid_power_w(self) -> float:
        """Grid power, + = importing (``CONSUMER``), - = exporting (``PRODUCER``)."""
        magnitude = abs(self.grid_w)
        if self.grid_role == Role.CONSUMER:
            return magnitude
        if self.grid_role == Role.PRODUCER:
            return -magnitude
        return 0.0

    @property
    def load_w(self) -> float:
        """House load: critical plus non-critical loads."""
        return abs(self.critical_load_w) + abs(self.non_critical_load_w)

    @property
    def pv_w(self) -> float:
        """PV production: AC-coupled plus DC."""
        return abs(self.ac_pv_w) + abs(self.dc_pv_w)


class EnergyTotals(BaseModel):
    """``today`` / ``last30daysEnergyFlow``, in Wh."""

    model_config = _TOLERANT

    grid_consumption_wh: float | None = Field(None, alias="gridConsumption")
    pv_production_wh: float | None = Field(None, alias="photovoltaicProduction")
    self_consumption: float | None = Field(None, alias="selfConsumption")
    self_sufficiency: float | None = Field(None, alias="selfSufficiency")


class DeviceStatus(BaseModel):
    """``GET /api/device/status``. ``current_mode_raw`` keeps ``currentMode`` exactly as sent."""

    model_config = _TOLERANT

    current_mode: CurrentMode | None = Field(None, alias="currentMode")
    current_mode_raw: dict[str, Any] | None = None
    energy_flow: EnergyFlow = Field(alias="energyFlow")
    today: EnergyTotals | None = None
    last_30_days: EnergyTotals | None = Field(None, alias="last30daysEnergyFlow")

    @model_validator(mode="before")
    @classmethod
    def _keep_raw_mode(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("currentMode"), dict):
            return {**data, "current_mode_raw": data["currentMode"]}
        return data


class DeviceInfo(BaseModel):
    """``GET /api/device``: model, ratings, firmware. Timestamps are epoch seconds on the wire."""

    model_config = _TOLERANT

    model: str | None = Field(None, alias="inverterModelName")
    inverter_va_rating: float | None = Field(None, alias="inverterVaRating")
    capacity_kwh: float | None = Field(None, alias="bmsCapacity")
    backup_level_pct: float | None = Field(None, alias="bmsBackupLevel")
    firmware_version: str | None = Field(None, alias="firmwareVersion")
    inverter_firmware_version: str | None = Field(None, alias="inverterFirmwareVersion")
    bms_firmware_version: str | None = Field(None, alias="bmsFirmwareVersion")
    bundle_version: str | None = Field(None, alias="bundleVersion")
    inverter_serial: str | None = Field(None, alias="inverterSerialNumber")
    bms_serial: str | None = Field(None, alias="bmsSerialNumber")
    power_on: bool | None = Field(None, alias="powerState")
    has_pv: bool | None = Field(None, alias="hasPv")
    has_battery: bool | None = Field(None, alias="hasBattery")
    timezone: str | None = None
    created_at: EpochS = Field(None, alias="createdAt")
    updated_at: EpochS = Field(None, alias="updatedAt")

    @model_validator(mode="before")
    @classmethod
    def _timezone_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("timezone"), dict):
            return {**data, "timezone": data["timezone"].get("id")}
        return data


class DefaultMode(BaseModel):
    """``defaultMode`` of the settings."""

    model_config = _TOLERANT

    command: CommandValue | None = None
    parameters: dict[str, Any] | None = None
    updated_at: EpochS = Field(None, alias="updatedAt")


class DeviceSettingsView(BaseModel):
    """``GET /api/settings``: default mode, backup level, power rating."""

    model_config = _TOLERANT

    default_mode: DefaultMode | None = Field(None, alias="defaultMode")
    backup_level_pct: float = Field(0.0, alias="bmsBackupLevel")
    inverter_power_rating_w: float | None = Field(None, alias="inverterPowerRating")
    inverter_va_rating: float | None = Field(None, alias="inverterVaRating")
    updated_at: EpochS = Field(None, alias="updatedAt")

    @property
    def full_scale_w(self) -> float:
        """What 100 % power means: ``inverterPowerRating`` if > 0, else the VA rating, else 3600."""
        for value in (self.inverter_power_rating_w, self.inverter_va_rating):
            if value:
                return float(value)
        return 3600.0


class ConfigState(BaseModel):
    """``GET /api/config/state`` (may come without the envelope)."""

    model_config = _TOLERANT

    setup_complete: bool | None = Field(None, alias="setupComplete")
    missing_steps: list[str] = Field(default_factory=list, alias="missingSteps")
    version: str | None = None
    connected: bool | None = None


class MetricSample(BaseModel):
    """One 5-minute record of ``/api/metrics/``: average W over the interval from ``time``."""

    model_config = _TOLERANT

    time: EpochMs
    house_load_w: float | None = Field(None, alias="totalHouseConsumption")
    grid_export_w: float | None = Field(None, alias="totalGridInjection")
    critical_load_w: float | None = Field(None, alias="criticalLoads")
    non_critical_load_w: float | None = Field(None, alias="nonCriticalLoads")
    pv_w: float | None = Field(None, alias="photovoltaicProduction")
    soc_pct: float | None = Field(None, alias="batteryStateOfCharge")


class Metrics(BaseModel):
    """``result`` of ``/api/metrics/`` and ``/api/metrics/daily``."""

    model_config = _TOLERANT

    samples: list[MetricSample] = Field(default_factory=list, alias="metrics")


class ScheduleEvent(BaseModel):
    """One event of ``/api/schedule/``; times are ``HHMM`` device-local integers."""

    model_config = _TOLERANT

    id: str | None = None
    command: CommandValue | None = None
    start_hhmm: int | None = Field(None, alias="startTime")
    end_hhmm: int | None = Field(None, alias="endTime")
    recurrence: str | None = None
    parameters: dict[str, Any] | None = None


class Schedule(BaseModel):
    """``result`` of ``/api/schedule/``."""

    model_config = _TOLERANT

    events: list[ScheduleEvent] = Field(default_factory=list, alias="results")


class TechnicalStatus(BaseModel):
    """``GET /api/technical/status`` (technician). Zero often means "no reading" (see the docs)."""

    model_config = _TOLERANT

    operation_mode: str | None = Field(None, alias="operationMode")
    grid_voltage_v: float | None = Field(None, alias="gridVoltage")
    grid_frequency_hz: float | None = Field(None, alias="gridFrequency")
    inverter_power_w: float | None = Field(None, alias="inverterPower")
    inverter_power_rating_w: float | None = Field(None, alias="inverterPowerRating")
    inverter_temperature_c: float | None = Field(None, alias="inverterTemperature")
    bms_voltage_v: float | None = Field(None, alias="bmsVoltage")
    bms_current_a: float | None = Field(None, alias="bmsCurrent")
    bms_soc_pct: float | None = Field(None, alias="bmsStateOfCharge")
    bms_state: BatteryStatusValue | None = Field(None, alias="bmsState")
    bms_total_charge_ah: float | None = Field(None, alias="bmsTotalCharge")
    bms_total_discharge_ah: float | None = Field(None, alias="bmsTotalDischarge")
    bms_fault_codes: list[str] | None = Field(None, alias="bmsFaultCode")


class Diagnostics(BaseModel):
    """``GET /api/device/maintenance/diagnostics`` (technician): bytes and %."""

    model_config = _TOLERANT

    cpu_used_pct: float | None = None
    ram_total_bytes: int | None = None
    ram_used_bytes: int | None = None
    partitions: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        ram = data.get("ramUsage") or {}
        return {
            "cpu_used_pct": (data.get("cpuUsage") or {}).get("used"),
            "ram_total_bytes": ram.get("total"),
            "ram_used_bytes": ram.get("used"),
            "partitions": (data.get("diskUsage") or {}).get("partition") or [],
        }
