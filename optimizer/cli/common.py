"""What every command shares: exit codes, settings loading, turning our errors into exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from optimizer.errors import (
    AuthError,
    ConfigError,
    DeviceError,
    InfeasiblePlan,
    InvalidInput,
    SolverError,
    StoreError,
    TariffError,
    TariffUnreachable,
    XStorageError,
)

if TYPE_CHECKING:
    from rich.console import Console

    from optimizer.config import Settings

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_AUTH = 3
EXIT_DEVICE = 4
EXIT_NO_PLAN = 5


@cache
def err_console() -> Console:
    """The stderr console, made (and rich imported) when a command first writes to it: ``run``
    never does unless it fails, so the service does not keep rich loaded. No emoji codes: a
    fingerprint's ``:CD:`` must not print as a CD (text from errors is literal)."""
    from rich.console import Console

    return Console(stderr=True, emoji=False)


@cache
def out_console() -> Console:
    """The stdout console for tables, made (and rich imported) when a command first prints."""
    from rich.console import Console

    return Console()


def fail(message: str, code: int) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    from rich.markup import escape

    err_console().print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_code_for(exc: XStorageError) -> int:
    """The documented exit code for one of our errors."""
    if isinstance(exc, AuthError):
        return EXIT_AUTH
    if isinstance(exc, DeviceError | TariffUnreachable):
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
        from rich.markup import escape

        for problem in exc.problems:  # escaped: "[[pv.arrays]]" is text, not rich markup
            err_console().print(
                f"[bold red]error:[/] {escape(f'{exc.source}: {problem}')}",
                highlight=False,
                soft_wrap=True,
            )
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except XStorageError as exc:
        fail(str(exc), exit_code_for(exc))


def settings_from(path: Path | None) -> Settings:
    """Load settings, or exit 2 with one line per problem."""
    from optimizer.config import load_settings

    settings: Settings | None = None
    with errors_to_exit():
        settings = load_settings(path)
    assert settings is not None  # errors_to_exit turns every failure into typer.Exit
    return settings


def store_note(url: str) -> None:
    """Say on stderr where the store a command writes to is (never its password)."""
    from optimizer.config import store_location

    typer.echo(f"store: {store_location(url)}", err=True)


def currency_for(settings: Settings, unit: str) -> str:
    """The currency of prices in ``unit``; a ``planner.currency`` set to another one is an
    error (EUR prices are never labelled GBP)."""
    from optimizer.units import price_currency

    currency = price_currency(unit)
    chosen = settings.planner.currency
    if "currency" in settings.planner.model_fields_set and chosen != currency:
        raise InvalidInput(
            f"--price-unit {unit} is in {currency} but planner.currency = {chosen}: make them agree"
        )
    return currency


def writable_file(path: Path, option: str) -> Path:
    """``path`` if a file can be written there (its folder exists or can be made, and is
    writable); else ``InvalidInput`` naming ``option`` and the path. Nothing is written."""
    import os

    if path.is_dir():
        raise InvalidInput(f"{option} {path}: is a folder")
    folder = path.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidInput(f"{option} {path}: {existing} is not a writable folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise InvalidInput(f"{option} {path}: not writable")
    return path


def writable_folder(path: Path, option: str) -> Path:
    """``path`` if it is a folder, or can be made, that files can be written to; else
    ``InvalidInput`` naming ``option`` and the path."""
    import os

    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{option} {path}: is a file, not a folder")
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidInput(f"{option} {path}: {existing} is not a writable folder")
    return path


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


@contextmanager
def interrupted_writes_nothing(command: str) -> Iterator[None]:
    """Ctrl-C inside the block (the long computing part of ``command``, before anything is
    written) prints one line saying so and exits 130 instead of a bare blank line."""
    try:
        yield
    except KeyboardInterrupt:
        err_console().print(
            f"{command}: interrupted (Ctrl-C); nothing was written", highlight=False
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
