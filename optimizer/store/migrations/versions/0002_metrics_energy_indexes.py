"""Device 5-minute metrics, imported load/PV energy, publication time, battery power, indexes.

Existing rows are kept: the new columns are nullable and the new tables start empty.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add metrics and energy tables, two nullable columns and the read-path indexes."""
    op.add_column("prices", sa.Column("published_at", UTC_TIME, nullable=True))
    op.add_column("readings", sa.Column("battery_w", sa.Float, nullable=True))
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", UTC_TIME, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Float),
        sa.UniqueConstraint("time", "name", name="uq_metrics_time_name"),
    )
    op.create_table(
        "energy",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("slot_start", UTC_TIME, nullable=False),
        sa.Column("slot_end", UTC_TIME, nullable=False),
        sa.Column("kwh", sa.Float, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("imported_at", UTC_TIME, nullable=False),
        sa.UniqueConstraint("kind", "slot_start", name="uq_energy_kind_slot"),
    )
    op.create_index("ix_prices_fetched_at", "prices", ["tariff", "fetched_at"])
    op.create_index("ix_plans_created_at", "plans", ["created_at"])
    op.create_index("ix_commands_sent_at", "commands", ["sent_at"])


def downgrade() -> None:
    """Undo 0002 (drops metrics and energy data)."""
    op.drop_index("ix_commands_sent_at", "commands")
    op.drop_index("ix_plans_created_at", "plans")
    op.drop_index("ix_prices_fetched_at", "prices")
    op.drop_table("energy")
    op.drop_table("metrics")
    with op.batch_alter_table("readings") as batch:
        batch.drop_column("battery_w")
    with op.batch_alter_table("prices") as batch:
        batch.drop_column("published_at")
