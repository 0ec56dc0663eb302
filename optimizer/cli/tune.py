"""``xstorage-optimizer tune``: a sweep of one home and one tariff over a grid of settings,
ranked by the net cost (the bill less the end energy credit, ``optimizer.sweep.work``); the
best settings are written as TOML. Same engine as ``sweep``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from optimizer.cli.common import (
    err_console,
    errors_to_exit,
    interrupted_writes_nothing,
    out_console,
    settings_from,
    writable_file,
)
from optimizer.cli.inputs import (
    ConfigOpt,
    ExportOpt,
    FromOpt,
    LoadOpt,
    PricesOpt,
    PvForecastOpt,
    PvOpt,
    SchedulerFileOpt,
    SchedulerOpt,
    ToOpt,
    UnitOpt,
    WorkersOpt,
    period_from,
)
from optimizer.errors import InvalidInput

#: tune's inputs are options: messages name them (``--load``), not SPEC keys.
OPTIONS = {"load": "--load", "pv": "--pv", "prices": "--prices",
           "export_prices": "--export-prices", "price_unit": "--price-unit",
           "pv_forecast": "--pv-forecast"}  # fmt: skip


def _value(text: str) -> Any:
    """A grid value: an integer or a number when it parses as one, else the string (``auto``,
    ``none``)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def parse_params(params: list[str]) -> dict[str, list[Any]]:
    """``section.key=a,b,c`` options → the grid: key → values (a key given twice is an error)."""
    grid: dict[str, list[Any]] = {}
    for param in params:
        key, sep, values = param.partition("=")
        key = key.strip()
        if not sep or "." not in key or not values:
            raise InvalidInput(f"--param {param!r}: use section.key=value1,value2")
        if key in grid:
            raise InvalidInput(f"--param {key}: given twice; list its values once")
        grid[key] = [_value(v.strip()) for v in values.split(",")]
    return grid


def _label(kind: str, index: int, name: str) -> str:
    return OPTIONS.get(name, f"--{name}")


def _toml(overrides: dict[str, Any]) -> str:
    sections: dict[str, list[str]] = {}
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        text = f'"{value}"' if isinstance(value, str) else f"{value:g}"
        sections.setdefault(section, []).append(f"{key} = {text}")
    return "\n".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())


def tune_command(
    prices: PricesOpt,
    load: LoadOpt,
    param: Annotated[list[str], typer.Option(help="section.key=v1,v2,... (repeatable).")],
    config: ConfigOpt = None,
    export_prices: ExportOpt = None,
    pv: PvOpt = None,
    price_unit: UnitOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    strategy: Annotated[str, typer.Option(help="Strategy to tune.")] = "lp",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    scheduler_file: SchedulerFileOpt = None,
    best_out: Annotated[Path, typer.Option(help="Where to write the best settings (TOML).")] = Path(
        "tuned.toml"
    ),
    pv_forecast: PvForecastOpt = None,
) -> None:
    """Backtest every combination of --param values; rank by the net cost; write the best."""
    from rich import box
    from rich.table import Table

    from optimizer.cli.sweep import point_text, report_failures, run_all, where_from
    from optimizer.sweep.plan import PlanParts, build_plan
    from optimizer.sweep.spec import HomeSpec, TariffSpec
    from optimizer.sweep.summary import end_credit_note

    settings = settings_from(config)
    with errors_to_exit():
        where = where_from(workers, scheduler, scheduler_file)
        writable_file(best_out, "--best-out")
        parts = PlanParts(settings, period_from(start, end), [strategy], parse_params(param),
                          with_references=False, label=_label, grid_source="--param")  # fmt: skip
        home = HomeSpec(name="home", load=load, pv=pv, pv_forecast=pv_forecast)
        tariff = TariffSpec(name="tariff", prices=prices, export_prices=export_prices,
                            price_unit=price_unit)  # fmt: skip
        plan = build_plan(parts, [home], [tariff])
        err_console().print(f"tune: {len(plan.runs)} backtests of {strategy} on "
                            f"{where.describe()}", highlight=False)  # fmt: skip
        rows: list[tuple[Any, dict[str, Any]]] = []
        with interrupted_writes_nothing("tune"):
            failed = run_all(
                plan, plan.runs, where, lambda run, found: rows.append((run, found[0]))
            )
    ranked = sorted(((run, row) for run, row in rows if row["status"] == "ok"),
                    key=lambda pair: pair[1]["cost"] - pair[1]["end_energy_credit"])  # fmt: skip
    currency = plan.currency
    table = Table(title=f"tune {strategy}: ranked by net cost ({currency})", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False)  # fmt: skip
    for header in ("rank", "settings", "net\ncost", "cost", "end\ncredit", "cycles"):
        table.add_column(header, justify="left" if header == "settings" else "right",
                         no_wrap=header != "settings")  # fmt: skip
    for rank, (run, row) in enumerate(ranked, 1):
        net = row["cost"] - row["end_energy_credit"]
        table.add_row(str(rank), point_text(run.point), f"{net:z.2f}", f"{row['cost']:z.2f}",
                      f"{row['end_energy_credit']:+z.2f}", f"{row['cycles']:.1f}")  # fmt: skip
    table.caption = (
        "net cost: the bill less the end credit (the energy stored at the end less at the "
        "start, at the planner's end value)"
    )
    out_console().print(table)
    if ranked:
        top = ranked[0][1]
        credited = top["savings_credited"]
        note = end_credit_note("the best", top["end_energy_credit"], credited)
        if note:
            err_console().print(f"note: {note}", highlight=False, soft_wrap=True)
    report_failures(failed)
    if ranked:
        header = f"# best of {len(ranked)} by backtest net cost (the bill less the end credit)\n"
        best_out.write_text(header + _toml(ranked[0][0].point))
        err_console().print(f"best settings written to {best_out}", highlight=False)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``tune`` to the command line."""
    app.command("tune")(tune_command)
