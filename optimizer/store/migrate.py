"""Run the shipped Alembic migrations programmatically: ``upgrade(url)``.

The migration scripts live inside the package (``optimizer/store/migrations``) so an installed
copy can upgrade its own database. Each upgrade runs in one transaction. Alembic is imported
only when a database needs upgrading: a service opening an up-to-date store never loads it
(about 12 MiB of a long-running process).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

from optimizer.errors import StoreError
from optimizer.store.engine import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = 0x5853_4F4D  # "XSOM": the advisory lock that serialises migrations on PostgreSQL
#: The newest shipped revision (``tests/store/test_migrations.py`` checks it is Alembic's head).
HEAD_REVISION = "0004"


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest shipped revision, as Alembic finds it in the scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships revisions
        raise StoreError("no migrations shipped")
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision, ``None`` for an empty database (read with plain SQL)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(text("select version_num from alembic_version")).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` in one transaction.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``, on PostgreSQL it takes a
    transaction-scoped advisory lock, so two processes opening a new database at once upgrade
    one after the other (the second finds it done).
    """
    from alembic import command

    config = _config()
    try:
        with engine.execution_options(sqlite_immediate=True).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"migration to {revision} failed: {exc}") from exc


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision`` (drops what later revisions added)."""
    from alembic import command

    engine = make_engine(url)
    config = _config()
    try:
        with engine.execution_options(sqlite_immediate=True).begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"migration down to {revision} failed: {exc}") from exc
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest)."""
    engine = make_engine(url)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()
