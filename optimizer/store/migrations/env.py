"""Alembic environment: uses the connection handed over by ``optimizer.store.migrate``.

Run from the command line with ``alembic -c optimizer/store/migrations/alembic.ini -x
url=sqlite:///data/history.db upgrade head`` when no connection is handed over.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from optimizer.store.engine import make_engine


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database with -x url=... (e.g. sqlite:///data/history.db)")
    engine = make_engine(url)
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


_main()
