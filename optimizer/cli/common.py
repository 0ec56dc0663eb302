"""What every command shares: exit codes, settings loading, turning our errors into exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from optimizer.config import Settings, load_settings
from optimizer.errors import (
    AuthError,
    ConfigError,
    DeviceError,
    InfeasiblePlan,
    InvalidInput,
    SolverError,
    StoreError,
    TariffError,
    XStorageError,
)

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_AUTH = 3
EXIT_DEVICE = 4
EXIT_NO_PLAN = 5

err_console = Console(stderr=True)


def fail(message: str, code: int) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_code_for(exc: XStorageError) -> int:
    """The documented exit code for one of our errors."""
    if isinstance(exc, AuthError):
        return EXIT_AUTH
    if isinstance(exc, DeviceError):
        return EXIT_DEVICE
    if isinstance(exc, InfeasiblePlan | SolverError):
        return EXIT_NO_PLAN
    if isinstance(exc, ConfigError | InvalidInput | TariffError | StoreError):
        return EXIT_BAD_INPUT
    return 1


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Turn our typed errors into one clear stderr message and the documented exit code."""
    try:
        yield
    except ConfigError as exc:
        for problem in exc.problems:
            err_console.print(
                f"[bold red]error:[/] {exc.source}: {problem}", highlight=False, soft_wrap=True
            )
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except XStorageError as exc:
        fail(str(exc), exit_code_for(exc))


def settings_from(path: Path | None) -> Settings:
    """Load settings, or exit 2 with one line per problem."""
    settings: Settings | None = None
    with errors_to_exit():
        settings = load_settings(path)
    assert settings is not None  # errors_to_exit turns every failure into typer.Exit
    return settings
