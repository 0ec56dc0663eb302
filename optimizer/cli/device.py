"""Device commands: ``status``, ``command …``, ``fingerprint`` and ``simulate``."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from optimizer import commands
from optimizer.cli.common import errors_to_exit, out_console, settings_from

if TYPE_CHECKING:
    from rich.table import Table

    from optimizer.device.client import CommandResult
    from optimizer.device.models import DeviceInfo, DeviceStatus
    from optimizer.domain import Command


ConfigOption = Annotated[Path | None, typer.Option(help="Settings file (config.toml).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DurationOption = Annotated[int, typer.Option(help="Whole hours the mode lasts, 1..12.")]
PowerOption = Annotated[int, typer.Option(help="Power, % of the inverter rating, 5..100.")]


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def status_json(status: DeviceStatus, info: DeviceInfo, now: datetime) -> dict[str, Any]:
    """The ``status --json`` document; ``current_mode`` is exactly what the device sent."""
    flow = status.energy_flow
    window = None
    if status.current_mode is not None and info.timezone:
        window = status.current_mode.window(info.timezone, now)
    return {
        "soc_pct": flow.soc_pct,
        "battery_status": str(flow.battery_status),
        "battery_power_w": flow.battery_power_w,
        "operation_mode": flow.operation_mode,
        "current_mode": status.current_mode_raw,
        "mode_start_utc": _iso(window[0]) if window else None,
        "mode_end_utc": _iso(window[1]) if window else None,
        "grid_power_w": flow.grid_power_w,
        "grid_role": str(flow.grid_role),
        "load_w": flow.load_w,
        "pv_w": flow.pv_w,
        "backup_level_pct": flow.battery_backup_level_pct,
        "device": {
            "model": info.model,
            "inverter_serial": info.inverter_serial,
            "firmware_version": info.firmware_version,
            "capacity_kwh": info.capacity_kwh,
            "timezone": info.timezone,
        },
    }


def _status_table(doc: dict[str, Any]) -> Table:
    from rich.table import Table

    table = Table(title="xStorage Home", show_header=False)
    mode = doc["current_mode"] or {}
    params = mode.get("parameters") or {}
    rows = [
        ("State of charge", f"{doc['soc_pct']:g} %"),
        ("Battery", f"{doc['battery_status']}, {doc['battery_power_w']:+.0f} W (+ = charging)"),
        ("Operation mode", str(doc["operation_mode"])),
        ("Current mode", f"{mode.get('command')} {params or ''} ({mode.get('type')})"),
        ("Mode window (UTC)", f"{doc['mode_start_utc'] or '-'} → {doc['mode_end_utc'] or '-'}"),
        ("Grid", f"{doc['grid_power_w']:+.0f} W (+ = import)"),
        ("House load", f"{doc['load_w']:.0f} W"),
        ("PV", f"{doc['pv_w']:.0f} W"),
        ("Backup level", f"{doc['backup_level_pct']} %"),
        ("Device", f"{doc['device']['model']} fw {doc['device']['firmware_version']}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show SOC, battery direction and power, the current mode, grid/load/PV powers."""
    from optimizer.device.client import open_client

    settings = settings_from(config)
    with errors_to_exit(), open_client(settings.device) as client:
        reading = client.status()
        doc = status_json(reading, client.device_info(), datetime.now(UTC))
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
    else:
        out_console().print(_status_table(doc))


def _send(config: Path | None, build: Any, as_json: bool) -> None:
    """Build (validation errors exit 2 before any network I/O), send, confirm, print."""
    from optimizer.device.client import open_client

    settings = settings_from(config)
    with errors_to_exit():
        command: Command = build(settings.device.discharge_command)
        with open_client(settings.device) as client:
            result = client.send(command)
    _print_result(result, as_json, settings.battery.inverter_rating_w)


def command_table(result: CommandResult, inverter_rating_w: float) -> Table:
    """What was sent and what the device confirmed, one row each, with units."""
    from rich.table import Table

    sent = result.sent
    params = sent.parameters or {}
    confirmed = result.confirmed
    table = Table(title="Command sent", show_header=False)
    rows = [
        ("Command", str(sent.command)),
        ("Action", str(params.get("action", "-"))),
        ("Power", f"{params['power']} % of {inverter_rating_w:g} W"
                  f" = {params['power'] * inverter_rating_w / 100:.0f} W"
         if "power" in params else "-"),
        ("Target SOC", f"{params['soc']} %" if "soc" in params else "-"),
        ("Duration", f"{sent.duration_h} h"),
        ("Read-back", "confirmed: the device's current mode is this command"
         if confirmed is not None else "not confirmed"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    return table


def _print_result(result: CommandResult, as_json: bool, inverter_rating_w: float) -> None:
    confirmed = result.confirmed
    if as_json:
        doc = {"sent": result.sent.body(), "confirmed": confirmed is not None}
        typer.echo(json.dumps(doc, indent=2))
        return
    out_console().print(command_table(result, inverter_rating_w))


command_app = typer.Typer(
    help="Send one manual-mode command, confirm it by read-back and print a table of it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@command_app.command("charge")
def charge(
    power: PowerOption,
    soc: Annotated[int, typer.Option(help="Target state of charge, %, 0..100.")],
    duration: DurationOption = 1,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Charge at POWER % until SOC % or DURATION hours."""
    _send(config, lambda _: commands.charge(power, soc, duration), as_json)


@command_app.command("discharge")
def discharge(
    power: PowerOption,
    soc: Annotated[int, typer.Option(help="SOC floor, %, not below the device backup level.")],
    duration: DurationOption = 1,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Discharge at POWER % down to SOC % for at most DURATION hours."""
    _send(
        config,
        lambda form: commands.discharge(power, soc, duration, discharge_command=form),
        as_json,
    )


@command_app.command("basic")
def basic(
    duration: DurationOption = 1, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Basic mode (no forced battery action) for DURATION hours."""
    _send(config, lambda _: commands.basic(duration), as_json)


@command_app.command("auto")
def auto(
    duration: DurationOption = 1, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Maximize auto consumption for DURATION hours."""
    _send(config, lambda _: commands.maximize_auto_consumption(duration), as_json)


def fingerprint(config: ConfigOption = None) -> None:
    """Print the SHA-256 fingerprint of the device's certificate, to pin in config.toml."""
    from optimizer.device.tls import fetch_fingerprint

    settings = settings_from(config)
    with errors_to_exit():
        value = fetch_fingerprint(settings.device.url)
    typer.echo(f"# certificate of {settings.device.url}; check it before you pin it")
    typer.echo(f'tls_fingerprint_sha256 = "{value}"')


def simulate(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0 = any free port).")] = 8443,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 60.0,
    soc: Annotated[float, typer.Option(help="Initial state of charge, %.")] = 50.0,
    backup: Annotated[float, typer.Option(help="Device backup level, %.")] = 0.0,
    load_csv: Annotated[
        Path | None, typer.Option(help="House load CSV (kWh per interval).")
    ] = None,
    pv_csv: Annotated[Path | None, typer.Option(help="PV CSV (kWh per interval).")] = None,
    password_env: Annotated[
        str, typer.Option(help="Variable holding the customer password (default: user).")
    ] = "XSTORAGE_PASSWORD",
) -> None:
    """Run the HTTPS device simulator in the foreground until Ctrl-C."""
    from optimizer.device.simulator import CsvProfile, SimClock, SimConfig, Simulator

    with errors_to_exit():
        clock = SimClock(speed=speed)
        profile = CsvProfile(load_csv, pv_csv, clock.start) if (load_csv or pv_csv) else None
        config = SimConfig(
            soc_pct=soc, backup_pct=backup, password=os.environ.get(password_env) or "user"
        )
        sim = Simulator(config, clock=clock, profile=profile, port=port).start()
    typer.echo(f"xStorage Home simulator on {sim.url} (speed ×{speed:g}); Ctrl-C stops it")
    typer.echo("[device]")
    typer.echo(f'url = "{sim.url}"')
    typer.echo(f'username = "{config.username}"')
    typer.echo(f'password_env = "{password_env}"')
    typer.echo(f'tls_fingerprint_sha256 = "{sim.fingerprint}"')
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops ``simulate`` like Ctrl-C."""
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    """Add the device commands to ``app``."""
    app.command("status")(status)
    app.add_typer(command_app, name="command")
    app.command("fingerprint")(fingerprint)
    app.command("simulate")(simulate)
