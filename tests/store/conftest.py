"""Store fixtures: a fresh SQLite file, or a fresh schema in the local PostgreSQL ``test`` DB.

Each PostgreSQL test gets its own schema (``xso_<random>``, dropped afterwards), so reruns and
concurrent runs never collide. If the server is unreachable the PostgreSQL tests fail when
``CI`` is set (CI must provide the server: see ``.ci/postgres.sh``) and skip, saying why,
otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


def _postgres_or_explain() -> str | None:
    """``None`` when the server answers, else why not."""
    try:
        with psycopg.connect(PG_ADMIN) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at 127.0.0.1:5432 (database test) unreachable: {exc}".strip()
    return None


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """Fail in CI, skip elsewhere, when PostgreSQL is not there."""
    problem = _postgres_or_explain()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{problem} (CI=true: run .ci/postgres.sh first)")
    pytest.skip(problem)


@pytest.fixture
def pg_url(postgres_available: None) -> Iterator[str]:
    """A URL whose search_path is a fresh schema; the schema is dropped afterwards."""
    schema = f"xso_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'create schema "{schema}"')
    try:
        yield PG_URL.format(schema=schema)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'drop schema if exists "{schema}" cascade')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a new SQLite file."""
    return f"sqlite:///{tmp_path / 'history.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return str(request.getfixturevalue("pg_url"))
