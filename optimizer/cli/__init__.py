"""The ``xstorage-optimizer`` command line: the composition root.

Each command group lives in its own module and registers itself on ``app`` here.
Exit codes: 0 success, 2 bad input or settings, 3 authentication, 4 device unreachable or
refused, 5 no feasible plan.
"""

from __future__ import annotations

import typer

from optimizer.cli import backtest as _backtest
from optimizer.cli import device as _device
from optimizer.cli import plan as _plan
from optimizer.cli import service as _service
from optimizer.cli import tariffs as _tariffs

app = typer.Typer(
    name="xstorage-optimizer",
    help="Tariff-aware charge/discharge scheduling for the Eaton xStorage Home battery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Tariff-aware charge/discharge scheduling for the Eaton xStorage Home battery."""


_plan.register(app)
_device.register(app)
_tariffs.register(app)
_service.register(app)
_backtest.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
