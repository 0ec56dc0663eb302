"""``xstorage-optimizer sweep SPEC.toml``: homes × tariffs × settings on Dask (docs/sweep.md).

Exit codes: 0 every run finished, 1 a run failed (the others finished; each failure is listed
with its home, tariff, settings and error), 2 a bad SPEC, key, file or option (nothing ran),
130 interrupted (the finished runs are kept; ``--resume`` runs the rest).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from optimizer.cli.common import err_console, errors_to_exit, fail, out_console, writable_folder
from optimizer.cli.inputs import SchedulerFileOpt, SchedulerOpt, WorkersOpt, runs_progress
from optimizer.errors import InvalidInput

if TYPE_CHECKING:
    from optimizer.sweep.engine import Where
    from optimizer.sweep.plan import Run, SweepPlan
    from optimizer.sweep.work import Row

EXIT_FAILED_RUN = 1
EXIT_INTERRUPTED = 130


def where_from(workers: int | None, scheduler: str | None, scheduler_file: Path | None) -> Where:
    """The engine's target from the options; ``InvalidInput`` when they contradict."""
    from optimizer.sweep.engine import Where

    if scheduler is not None and scheduler_file is not None:
        raise InvalidInput("give --scheduler or --scheduler-file, not both")
    if workers is not None and (scheduler is not None or scheduler_file is not None):
        raise InvalidInput("--workers starts a local cluster: leave it out with --scheduler")
    if scheduler_file is not None and not scheduler_file.is_file():
        raise InvalidInput(f"--scheduler-file {scheduler_file}: file not found")
    return Where(workers, scheduler, scheduler_file)


def point_text(point: dict[str, Any]) -> str:
    """Grid values as ``key=value, ...`` (``base settings`` for none)."""
    return ", ".join(f"{k}={v}" for k, v in point.items()) or "base settings"


def run_all(
    plan: SweepPlan, runs: list[Run], where: Where, on_rows: Any, done: int = 0
) -> list[tuple[Run, Row]]:
    """Run ``runs`` with a progress display; ``on_rows(run, rows)`` as each finishes. The
    failed rows, each with its run."""
    from optimizer.sweep.engine import execute

    failed: list[tuple[Run, Row]] = []
    with runs_progress(len(plan.runs), done) as advance:

        def finished(run: Run, rows: list[Row]) -> None:
            on_rows(run, rows)
            failed.extend((run, row) for row in rows if row["status"] != "ok")
            advance()

        execute(plan, runs, where, finished)
    return failed


def report_failures(failed: list[tuple[Run, Row]]) -> None:
    """One stderr line per failed run × strategy: home, tariff, settings, error."""
    for run, row in failed:
        err_console().print(
            f"[bold red]failed:[/] home {run.home}, tariff {run.tariff}, "
            f"{point_text(run.point)}, {row['strategy']}: ",
            highlight=False, soft_wrap=True, end="",
        )  # fmt: skip
        err_console().print(row["error"], highlight=False, soft_wrap=True, markup=False)


def _tables(summary: dict[str, Any]) -> None:
    """The best settings and the tariff ranking, fitting an 80-column terminal: two-line
    headers, no borders, figures never wrapped (the settings wrap instead)."""
    from rich import box
    from rich.table import Table

    def table(title: str, headers: tuple[str, ...]) -> Table:
        made = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for header in headers:
            figure = header not in ("home", "tariff", "strategy", "settings")
            made.add_column(header, justify="right" if figure else "left", no_wrap=figure,
                            overflow="fold")  # fmt: skip
        return made

    currency = summary["currency"]
    headers = ("home", "tariff", "strategy", "net\ncost", "saved\n+credit", "settings")
    best = table(f"Best settings per home and tariff ({currency} over the period)", headers)
    for b in summary["best"]:
        figures = (f"{b[k]:z.2f}" for k in ("net_cost", "savings_credited"))
        settings = "\n".join(point_text({k: v}) for k, v in b["settings"].items()) or "-"
        best.add_row(b["home"], b["tariff"], b["strategy"], *figures, settings)
    best.columns[0].max_width = 14  # a long home name folds before the settings do
    best.caption = (
        "net cost: the bill less the end credit (the energy stored at the end less at the "
        "start, at the planner's end value); best: the least net cost"
    )
    ranked = table("Tariffs ranked per home (by the least net cost)",
                   ("home", "rank", "tariff", "net\ncost", "cost", "no\nbattery"))  # fmt: skip
    for home, items in summary["tariffs_ranked"].items():
        for rank, item in enumerate(items, 1):
            ranked.add_row(home, str(rank), item["tariff"], f"{item['net_cost']:z.2f}",
                           f"{item['cost']:z.2f}", f"{item['no_battery_cost']:z.2f}")  # fmt: skip
    out_console().print(best)
    out_console().print(ranked)


def _plan(spec_path: Path) -> SweepPlan:
    from optimizer.config import load_settings
    from optimizer.sweep.plan import PlanParts, build_plan
    from optimizer.sweep.spec import load_spec

    spec = load_spec(spec_path)
    base = load_settings(spec.config)

    def label(kind: str, index: int, name: str) -> str:
        return f"{spec_path}: {kind}[{index}].{name}"

    period = (spec.period.start, spec.period.end)
    parts = PlanParts(base, period, spec.strategies, spec.grid, label=label,
                      grid_source=f"{spec_path}: grid", source=f"{spec_path}: ")  # fmt: skip
    return build_plan(parts, spec.homes, spec.tariffs)


def sweep_command(
    spec: Annotated[
        Path, typer.Argument(metavar="SPEC", help="The SPEC file (TOML; docs/sweep.md).")
    ],
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    scheduler_file: SchedulerFileOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: sweep-<SPEC name> in the current folder)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Keep the finished runs in --out; run the rest.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Backtest every home × tariff × grid point of SPEC; runs.csv, summary.json, plots."""
    from optimizer.sweep.results import RunsFile, parquet_copy, read_rows
    from optimizer.sweep.summary import build_summary, frame_of, write_summary

    folder = out or Path(f"sweep-{spec.stem}")
    with errors_to_exit():
        where = where_from(workers, scheduler, scheduler_file)
        writable_folder(folder, "--out")
        plan = _plan(spec)
        runs_file = RunsFile(folder, plan.grid_keys)
        done = runs_file.start(plan.runs, resume)
    todo = [run for run in plan.runs if run.run_id not in done]
    err_console().print(
        f"sweep: {len(plan.runs)} runs ({len(plan.homes)} homes × {len(plan.tariffs)} tariffs × "
        f"{len(plan.runs) // max(1, len(plan.homes) * len(plan.tariffs))} settings; "
        f"{', '.join(plan.strategies)}), {len(done)} done before, {len(todo)} to run on "
        f"{where.describe()}; rows in {runs_file.path}",
        highlight=False, soft_wrap=True,
    )  # fmt: skip
    try:
        with errors_to_exit():
            failed = run_all(plan, todo, where, lambda run, rows: runs_file.append(rows), len(done))
    except KeyboardInterrupt:
        runs_file.close()
        fail(f"interrupted: the finished runs are in {runs_file.path}; give --resume to run "
             "the rest", EXIT_INTERRUPTED)  # fmt: skip
    runs_file.close()
    rows = read_rows(runs_file.path, runs_file.columns)
    summary = build_summary(rows, plan, plan.runs)
    written = write_summary(summary, frame_of(rows, plan.runs), plan, folder)
    parquet = parquet_copy(runs_file.path)
    report_failures(failed)
    names = [runs_file.path, *([parquet] if parquet else []), *written]
    listing = ", ".join(str(p) for p in names)
    err_console().print(f"wrote {listing}", highlight=False, soft_wrap=True)
    for note in summary["notes"]:
        err_console().print(f"note: {note}", highlight=False, soft_wrap=True)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
    else:
        _tables(summary)
    if summary["failed"]:
        raise typer.Exit(EXIT_FAILED_RUN)


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to the command line."""
    app.command("sweep")(sweep_command)
