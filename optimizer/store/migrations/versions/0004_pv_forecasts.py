"""PV forecasts as issued: every vintage a weather source gave, with its issue time.

One row per interval of one vintage: ``source`` (``open-meteo``, ``forecast.solar``,
``solcast``), ``issued_utc`` (when it was fetched), the interval ``[start_utc, end_utc)`` and its
AC energy ``kwh`` (P50 or expected value), with ``kwh_p10``/``kwh_p90`` where the source gives
quantiles. Starts empty; existing rows are untouched.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add ``pv_forecasts`` and the index its window reads use."""
    op.create_table(
        "pv_forecasts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("issued_utc", UTC_TIME, nullable=False),
        sa.Column("start_utc", UTC_TIME, nullable=False),
        sa.Column("end_utc", UTC_TIME, nullable=False),
        sa.Column("kwh", sa.Float, nullable=False),
        sa.Column("kwh_p10", sa.Float, nullable=True),
        sa.Column("kwh_p90", sa.Float, nullable=True),
        sa.UniqueConstraint("source", "issued_utc", "start_utc", name="uq_pv_forecasts_vintage"),
    )
    op.create_index("ix_pv_forecasts_start", "pv_forecasts", ["source", "start_utc"])


def downgrade() -> None:
    """Undo 0004 (drops the stored PV forecasts)."""
    op.drop_index("ix_pv_forecasts_start", "pv_forecasts")
    op.drop_table("pv_forecasts")
