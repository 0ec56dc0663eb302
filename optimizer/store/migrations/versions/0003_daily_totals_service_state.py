"""One row per local day (cost, no-battery cost, savings, energy) and the service's own state.

``daily_totals`` is what the status page, Home Assistant and ``show`` read for "today",
"yesterday" and "to date". ``service_state`` keeps small named values across restarts (the
"optimiser enabled" switch). Both start empty; existing rows are untouched.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add ``daily_totals`` and ``service_state``."""
    op.create_table(
        "daily_totals",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("no_battery_cost", sa.Float, nullable=False),
        sa.Column("savings", sa.Float, nullable=False),
        sa.Column("charged_kwh", sa.Float, nullable=False),
        sa.Column("discharged_kwh", sa.Float, nullable=False),
        sa.Column("import_kwh", sa.Float, nullable=False),
        sa.Column("export_kwh", sa.Float, nullable=False),
        sa.Column("hours_measured", sa.Float, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "service_state",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
    )


def downgrade() -> None:
    """Undo 0003 (drops the daily rows and the stored service state)."""
    op.drop_table("service_state")
    op.drop_table("daily_totals")
