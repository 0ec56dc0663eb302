"""``xstorage-optimizer plan``: a timetable from CSV prices and forecasts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from optimizer.cli.common import EXIT_BAD_INPUT, errors_to_exit, fail, settings_from
from optimizer.config import Settings
from optimizer.csvdata import PRICE_UNITS, price_factor, read_series_csv
from optimizer.domain import Timetable
from optimizer.errors import InvalidInput
from optimizer.planning import PlanOptions, plan
from optimizer.timeseries import parse_utc, to_slots


def _load(
    path: Path | None, kind: str, settings: Settings, factor: float = 1.0
) -> pd.Series | None:
    if path is None:
        return None
    series = read_series_csv(path) * factor
    return to_slots(series, settings.planner.slot_minutes, kind, str(path))


def options_from(settings: Settings, slots: int | None) -> PlanOptions:
    """Planner options from validated settings."""
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


def _table(timetable: Timetable, settings: Settings) -> Table:
    zone = settings.planner.timezone
    table = Table(title=f"Plan ({timetable.status}), times in {zone}")
    for header in ("start", "action", "power %", "target %", "SOC %", "import", "price"):
        table.add_column(header, justify="right" if header != "action" else "left")
    for s in timetable.slots:
        params = s.command.parameters or {}
        table.add_row(
            pd.Timestamp(s.start).tz_convert(zone).strftime("%a %H:%M"),
            str(s.action),
            str(params.get("power", "")),
            str(params.get("soc", "")),
            f"{s.soc_start_pct:.0f}→{s.soc_end_pct:.0f}",
            f"{s.grid_import_kwh:.2f}",
            f"{s.price_import_per_kwh:.4f}",
        )
    currency = settings.planner.currency
    table.caption = (
        f"cost {timetable.cost:.2f} {currency}, without battery {timetable.no_battery_cost:.2f} "
        f"{currency}, savings {timetable.savings:.2f} {currency}"
    )
    return table


def plan_command(
    prices: Annotated[Path, typer.Option(help="Import prices CSV (start_utc,end_utc,price).")],
    config: Annotated[Path | None, typer.Option(help="Settings file (config.toml).")] = None,
    export_prices: Annotated[Path | None, typer.Option(help="Export prices CSV.")] = None,
    load: Annotated[Path | None, typer.Option(help="Load forecast CSV (kWh per interval).")] = None,
    pv: Annotated[Path | None, typer.Option(help="PV forecast CSV (kWh per interval).")] = None,
    price_unit: Annotated[
        str, typer.Option(help=f"Unit of the price files: {', '.join(PRICE_UNITS)}.")
    ] = "p/kWh",
    start: Annotated[
        str | None, typer.Option(help="Plan start, ISO-8601 UTC; default: first price.")
    ] = None,
    hours: Annotated[
        float | None, typer.Option(help="Hours to plan; default: planner.horizon_hours.")
    ] = None,
    soc: Annotated[float, typer.Option(help="Current state of charge, %.")] = 50.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of prices, power and SOC.")] = None,
) -> None:
    """Plan a charge/discharge timetable from CSV prices and forecasts."""
    settings = settings_from(config)
    with errors_to_exit():
        factor = price_factor(price_unit)
        import_prices = _load(prices, "price", settings, factor)
        assert import_prices is not None
        if import_prices.empty:
            raise InvalidInput(f"{prices}: no price rows")
        begin = parse_utc(start, "--start") if start else import_prices.index[0].to_pydatetime()
        slots = _horizon_slots(import_prices, begin, hours, settings)
        timetable = plan(
            import_prices,
            _load(export_prices, "price", settings, factor),
            _load(load, "energy", settings),
            _load(pv, "energy", settings),
            settings.battery.spec(),
            settings.grid.spec(),
            soc,
            begin,
            options_from(settings, slots),
        )
    if as_json:
        typer.echo(json.dumps(timetable_json(timetable), indent=2))
    else:
        Console().print(_table(timetable, settings))
    if plot is not None:
        from optimizer.plotting import plot_timetable

        plot_timetable(timetable, plot, settings.planner.currency)


def _horizon_slots(
    prices: pd.Series, begin: datetime, hours: float | None, settings: Settings
) -> int:
    """Slots to plan: exactly ``--hours`` when given (missing prices are then an error),
    else ``planner.horizon_hours`` cut to where the prices end, as a live service would."""
    minutes = settings.planner.slot_minutes
    if hours is not None:
        if hours <= 0:
            fail(f"--hours {hours}: must be positive", EXIT_BAD_INPUT)
        return max(1, round(hours * 60 / minutes))
    wanted = settings.planner.horizon_hours * 60 // minutes
    last = prices.index[-1] + timedelta(minutes=minutes)
    available = int((last - pd.Timestamp(begin)) / timedelta(minutes=minutes))
    if available < 1:
        raise InvalidInput(f"no prices at or after --start {begin.isoformat()}")
    return min(wanted, available)


def register(app: typer.Typer) -> None:
    """Add ``plan`` to the command line."""
    app.command("plan")(plan_command)
