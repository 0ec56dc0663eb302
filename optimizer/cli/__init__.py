"""The ``xstorage-optimizer`` command line: the composition root.

Each command group lives in its own module and registers itself on ``app`` here. The modules
import only typer and light helpers at load time; each command imports what it needs when it
runs, so ``--help`` and ``--version`` start in a fraction of a second on a small computer
(``benchmarks/footprint.py``).

Exit codes: 0 success, 2 bad input or settings, 3 authentication, 4 device unreachable or
refused, 5 no feasible plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from optimizer.cli import backtest as _backtest
from optimizer.cli import device as _device
from optimizer.cli import forecast as _forecast
from optimizer.cli import plan as _plan
from optimizer.cli import service as _service
from optimizer.cli import show as _show
from optimizer.cli import sweep as _sweep
from optimizer.cli import tariffs as _tariffs
from optimizer.cli import tune as _tune
from optimizer.cli.common import EXIT_BAD_INPUT, err_console, fail

app = typer.Typer(
    name="xstorage-optimizer",
    help="Tariff-aware charge/discharge scheduling for the Eaton xStorage Home battery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def version() -> str:
    """The installed distribution's version (the package's own when not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("xstorage-optimizer")
    except PackageNotFoundError:  # pragma: no cover - a bare source tree
        from optimizer import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"xstorage-optimizer {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Tariff-aware charge/discharge scheduling for the Eaton xStorage Home battery."""


def init(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="Where to write the example settings file.")
    ] = Path("config.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write the commented example settings file (every key with its default) to edit."""
    from optimizer import PACKAGE_DATA
    from optimizer.cli.common import writable_file
    from optimizer.errors import InvalidInput

    example = (PACKAGE_DATA / "config.example.toml").read_text(encoding="utf-8")
    if path.exists() and not force and not path.is_dir():
        fail(f"{path}: exists; give --force to overwrite it", EXIT_BAD_INPUT)
    try:
        writable_file(path, "PATH")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(example, encoding="utf-8")
    except InvalidInput as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except OSError as exc:
        fail(f"PATH {path}: cannot be written ({exc.strerror})", EXIT_BAD_INPUT)
    err_console().print(
        f"wrote {path}: set [device] and [tariff], then try "
        f"`xstorage-optimizer status --config {path}`",
        highlight=False,
        markup=False,  # "[device]" is text, not a style tag
        soft_wrap=True,
    )


app.command("init")(init)
_plan.register(app)
_device.register(app)
_tariffs.register(app)
_service.register(app)
_show.register(app)
_backtest.register(app)
_forecast.register(app)
_tune.register(app)
_sweep.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
