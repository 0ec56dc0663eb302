"""``xstorage-optimizer plan``: a timetable from CSV prices and forecasts.

Only the standard library, typer and light modules are imported at module level: pandas, the
planner and matplotlib load when the command runs (``--help`` stays fast).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from optimizer.cli.common import (
    EXIT_BAD_INPUT,
    currency_for,
    errors_to_exit,
    fail,
    settings_from,
    writable_file,
)
from optimizer.errors import InvalidInput
from optimizer.units import PRICE_UNITS

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from optimizer.config import Settings
    from optimizer.domain import PlanSlot, Timetable
    from optimizer.planning import PlanOptions

NO_LOAD_NOTE = (
    "no --load: the plan assumes the house uses nothing, so the battery only earns from exports"
)
NO_LOAD_NO_EXPORT_NOTE = (
    "no --load and no --export-prices: the plan assumes the house uses nothing and exports earn "
    "nothing, so the battery can only earn from negative prices (otherwise all idle, cost 0)"
)


def _energy(path: Path | None, option: str, settings: Settings) -> pd.Series | None:
    from optimizer.csvdata import read_energy_csv
    from optimizer.timeseries import to_slots

    if path is None:
        return None
    series = read_energy_csv(path, option)
    return to_slots(series, settings.planner.slot_minutes, "energy", f"{option} {path}")


def _prices(
    path: Path | None,
    option: str,
    unit: str | None,
    settings: Settings,
    notes: list[str] | None = None,
) -> tuple[pd.Series | None, str | None]:
    from optimizer.csvdata import read_prices_csv
    from optimizer.timeseries import to_slots

    if path is None:
        return None, None
    series, used = read_prices_csv(
        path, option, unit, settings.tariff.csv_unit, "--price-unit", warn=_warn,
        note=notes.append if notes is not None else None,
    )  # fmt: skip
    minutes = settings.planner.slot_minutes
    return to_slots(series, minutes, "price", f"{option} {path}"), used


def _warn(message: str) -> None:
    from optimizer.cli.common import err_console

    err_console().print(f"[bold yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


def options_from(settings: Settings, slots: int | None) -> PlanOptions:
    """Planner options from validated settings."""
    from optimizer.planning import PlanOptions

    return PlanOptions(
        slot_minutes=settings.planner.slot_minutes,
        horizon_slots=slots,
        solver=settings.planner.solver,
        terminal_soc_value=settings.planner.terminal_soc_value,
        discharge_command=settings.device.discharge_command,
    )


def timetable_json(timetable: Timetable) -> dict[str, Any]:
    """The ``--json`` document: status, money figures and one object per slot."""
    return {
        "status": timetable.status,
        "cost": round(timetable.cost, 6),
        "no_battery_cost": round(timetable.no_battery_cost, 6),
        "savings": round(timetable.savings, 6),
        "cycle_cost": round(timetable.cycle_cost, 6),
        "lp_cost": round(timetable.lp_cost, 6),
        "terminal_value_per_kwh": round(timetable.terminal_value_per_kwh, 6),
        "slots": [
            {
                "start": s.start.isoformat().replace("+00:00", "Z"),
                "end": s.end.isoformat().replace("+00:00", "Z"),
                "action": str(s.action),
                "charge_kw": round(s.charge_kw, 4),
                "discharge_kw": round(s.discharge_kw, 4),
                "grid_import_kwh": round(s.grid_import_kwh, 4),
                "grid_export_kwh": round(s.grid_export_kwh, 4),
                "soc_start_pct": round(s.soc_start_pct, 2),
                "soc_end_pct": round(s.soc_end_pct, 2),
                "price_import_per_kwh": s.price_import_per_kwh,
                "price_export_per_kwh": s.price_export_per_kwh,
                "command": s.command.body(),
            }
            for s in timetable.slots
        ],
    }


#: What each device command does, as the plan table names it (field terms).
MODE_NAMES = {
    "SET_CHARGE": "charge",
    "SET_DISCHARGE": "discharge",
    "SET_BASIC_MODE": "idle (basic)",
    "SET_MAXIMIZE_AUTO_CONSUMPTION": "self-consumption",
    "SET_VARIABLE_GRID_INJECTION": "export limit",
}


def mode_name(slot: PlanSlot) -> str:
    """The mode the slot's command puts the device in: ``charge``/``discharge`` (forced, at a
    power and to a target SOC), ``self-consumption`` (the device follows the house),
    ``idle (basic)``, ``export limit``."""
    command = str(slot.command.command)
    if command in ("SET_CHARGE", "SET_DISCHARGE") and slot.command.action:
        return "charge" if slot.command.action == "ACTION_CHARGE" else "discharge"
    return MODE_NAMES.get(command, command)


def end_energy_note(timetable: Timetable, capacity_kwh: float, currency: str) -> str:
    """One line: the SOC the plan ends at and what the energy gained (or used) is worth."""
    if not timetable.slots:
        return ""
    first, last = timetable.slots[0].soc_start_pct, timetable.slots[-1].soc_end_pct
    worth = timetable.end_energy_value(capacity_kwh)
    rate = timetable.terminal_value_per_kwh
    return (
        f"ends at {last:.0f} % SOC (from {first:.0f} %): the change is worth {worth:+z.2f} "
        f"{currency} at {rate:.4f} {currency}/kWh"
    )


def plan_table(timetable: Timetable, settings: Settings, currency: str) -> Table:
    """The plan as a table that fits an 80-column terminal: one line per slot, local start
    times, the device mode, and the units in two-line headers; the zone, the inverter rating
    and the money totals in the title and caption."""
    import pandas as pd
    from rich import box
    from rich.table import Table

    zone = settings.planner.timezone
    first = pd.Timestamp(timetable.slots[0].start).tz_convert(zone)
    last = pd.Timestamp(timetable.slots[-1].end).tz_convert(zone)
    table = Table(
        title=f"Plan ({timetable.status}) {first:%a %Y-%m-%d %H:%M} to "
        f"{last:%a %Y-%m-%d %H:%M} {zone}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 0),
    )
    rating = settings.battery.inverter_rating_w
    headers = (
        "start", "mode", "power\n%", "target\nSOC %", "SOC %",
        "import\nkWh", "export\nkWh", f"price\n{currency}/kWh",
    )  # fmt: skip
    for header in headers:
        table.add_column(header, justify="left" if header == "mode" else "right", no_wrap=True)
    for s in timetable.slots:
        params = s.command.parameters or {}
        forced = "power" in params
        table.add_row(
            pd.Timestamp(s.start).tz_convert(zone).strftime("%a %H:%M"),
            mode_name(s),
            str(params["power"]) if forced else "-",
            str(params.get("soc", "-")) if forced else "-",
            f"{s.soc_start_pct:.0f}→{s.soc_end_pct:.0f}",
            f"{s.grid_import_kwh:z.2f}",
            f"{s.grid_export_kwh:z.2f}",
            f"{s.price_import_per_kwh:.4f}",
        )
    table.caption = (
        f"power: % of the {rating:g} W inverter; '-': the device's own mode sets it\n"
        f"cost {timetable.cost:z.2f} {currency}, without battery {timetable.no_battery_cost:z.2f} "
        f"{currency}, savings {timetable.savings:z.2f} {currency}\n"
        + end_energy_note(timetable, settings.battery.capacity_kwh, currency)
    )
    return table


def plan_command(
    prices: Annotated[Path, typer.Option(help="Import prices CSV (start_utc,end_utc,price).")],
    config: Annotated[Path | None, typer.Option(help="Settings file (config.toml).")] = None,
    export_prices: Annotated[Path | None, typer.Option(help="Export prices CSV.")] = None,
    load: Annotated[
        Path | None,
        typer.Option(help="Load forecast CSV (start_utc,end_utc,kwh); without it: no load."),
    ] = None,
    pv: Annotated[Path | None, typer.Option(help="PV forecast CSV (kWh per interval).")] = None,
    price_unit: Annotated[
        str | None,
        typer.Option(
            help=f"Unit of the price files: {', '.join(PRICE_UNITS)}; default: the files' unit "
            "column, else tariff.csv_unit (p/kWh). The currency follows it."
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="Plan start, ISO-8601 with offset; default: first price.")
    ] = None,
    hours: Annotated[
        float | None, typer.Option(help="Hours to plan; default: planner.horizon_hours.")
    ] = None,
    soc: Annotated[float, typer.Option(help="Current state of charge, %.")] = 50.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of prices, power and SOC.")] = None,
) -> None:
    """Plan a charge/discharge timetable from CSV prices and forecasts."""
    from optimizer.planning import plan
    from optimizer.planning.guard import guarded
    from optimizer.timeseries import parse_utc

    settings = settings_from(config)
    notes: list[str] = []
    warned: list[str] = []
    with errors_to_exit():
        if plot is not None:
            writable_file(plot, "--plot")
        import_prices, unit = _prices(prices, "--prices", price_unit, settings, notes)
        export_series, _ = _prices(export_prices, "--export-prices", unit, settings, notes)
        assert import_prices is not None
        assert unit is not None
        currency = currency_for(settings, unit)
        if import_prices.empty:
            raise InvalidInput(f"--prices {prices}: no price rows")
        begin = parse_utc(start, "--start") if start else import_prices.index[0].to_pydatetime()
        import_prices = _before_suspect_zeros(import_prices, begin, prices, warned)
        slots = _horizon_slots(import_prices, begin, hours, settings, prices, notes)
        load_series = _energy(load, "--load", settings)
        if load_series is None:
            notes.append(NO_LOAD_NO_EXPORT_NOTE if export_prices is None else NO_LOAD_NOTE)
        timetable = plan(
            import_prices,
            export_series,
            load_series,
            _energy(pv, "--pv", settings),
            guarded(settings.battery.spec(), settings.service.poll_seconds),
            settings.grid.spec(),
            soc,
            begin,
            options_from(settings, slots),
        )
        if plot is not None:
            from optimizer.plotting import plot_timetable

            try:
                plot_timetable(timetable, plot, currency, timezone=settings.planner.timezone)
            except OSError as exc:
                raise InvalidInput(f"--plot {plot}: cannot be written ({exc.strerror})") from None
    _show(timetable, settings, currency, notes, warned, as_json)


def _show(
    timetable: Timetable,
    settings: Settings,
    currency: str,
    notes: list[str],
    warned: list[str],
    as_json: bool,
) -> None:
    """The plan on stdout (table or ``--json``); ``notes`` on stderr (``warned``: printed as
    warnings already, only in the JSON's notes)."""
    from rich.console import Console

    from optimizer.cli.common import err_console

    for note in notes:
        err_console().print(f"note: {note}", highlight=False, soft_wrap=True)
    if as_json:
        document = timetable_json(timetable)
        document["currency"] = currency
        document["notes"] = warned + notes
        typer.echo(json.dumps(document, indent=2))
    else:
        Console().print(plan_table(timetable, settings, currency))


def _before_suspect_zeros(
    prices: pd.Series, begin: datetime, path: Path, warned: list[str]
) -> pd.Series:
    """``prices`` up to the first run of exact zeros that stands out from its neighbours (a
    publishing glitch, ``tariffs.validate.suspect_zeros``): the plan stops before it, so no
    energy is planned as free. Genuine zero and negative prices pass."""
    import pandas as pd

    from optimizer.tariffs.validate import suspect_zeros

    suspects = suspect_zeros(prices)
    suspects = suspects[suspects >= pd.Timestamp(begin)]
    if suspects.empty:
        return prices
    first = f"{suspects[0]:%Y-%m-%dT%H:%MZ}"
    if suspects[0] <= pd.Timestamp(begin):
        raise InvalidInput(
            f"--prices {path}: the price at {first} is a suspect 0.00 (a run of zeros unlike its "
            "neighbours: a publishing glitch?); fix the file or start after it"
        )
    message = (
        f"--prices {path}: {len(suspects)} suspect 0.00 price slot(s) from {first} (zeros unlike "
        f"their neighbours: a publishing glitch?); the plan stops before them"
    )
    _warn(message)  # now, before planning
    warned.append(message)
    kept: pd.Series = prices[prices.index < suspects[0]]
    return kept


def _horizon_slots(
    prices: pd.Series,
    begin: datetime,
    hours: float | None,
    settings: Settings,
    path: Path,
    notes: list[str],
) -> int:
    """Slots to plan: exactly ``--hours`` when given (prices ending before are an error naming
    where they end), else ``planner.horizon_hours`` cut to where the prices end (with a note),
    as a live service would."""
    import pandas as pd

    minutes = settings.planner.slot_minutes
    last = prices.index[-1] + timedelta(minutes=minutes)
    available = int((last - pd.Timestamp(begin)) / timedelta(minutes=minutes))
    ends = f"{last:%Y-%m-%dT%H:%MZ}"
    if available < 1:
        raise InvalidInput(f"--start {begin.isoformat()}: the prices in {path} end at {ends}")
    if hours is not None:
        if hours <= 0:
            fail(f"--hours {hours:g}: must be positive", EXIT_BAD_INPUT)
        wanted = max(1, round(hours * 60 / minutes))
        if wanted > available:
            raise InvalidInput(
                f"--hours {hours:g}: the prices in {path} end at {ends}, "
                f"{available * minutes / 60:g} h after the start"
            )
        return wanted
    wanted = settings.planner.horizon_hours * 60 // minutes
    if available < wanted:
        notes.append(
            f"planner.horizon_hours {settings.planner.horizon_hours:g}: the prices in {path} end "
            f"at {ends}; planning {available * minutes / 60:g} h"
        )
    return min(wanted, available)


def register(app: typer.Typer) -> None:
    """Add ``plan`` to the command line."""
    app.command("plan")(plan_command)
