"""Base tables: prices (every vintage), device readings, plans with slots, commands sent.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the base tables."""
    op.create_table(
        "prices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("tariff", sa.String(100), nullable=False),
        sa.Column("slot_start", UTC_TIME, nullable=False),
        sa.Column("slot_end", UTC_TIME, nullable=False),
        sa.Column("price_per_kwh", sa.Float, nullable=False),
        sa.Column("fetched_at", UTC_TIME, nullable=False),
        sa.UniqueConstraint("tariff", "slot_start", "fetched_at", name="uq_prices_vintage"),
    )
    op.create_table(
        "readings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", UTC_TIME, nullable=False, unique=True),
        sa.Column("soc_pct", sa.Float, nullable=False),
        sa.Column("battery_status", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(64), nullable=False),
        sa.Column("grid_w", sa.Float),
        sa.Column("load_w", sa.Float),
        sa.Column("pv_w", sa.Float),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("cost", sa.Float),
        sa.Column("no_battery_cost", sa.Float),
    )
    op.create_table(
        "plan_slots",
        sa.Column(
            "plan_id",
            sa.Integer,
            sa.ForeignKey("plans.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("slot_start", UTC_TIME, primary_key=True),
        sa.Column("slot_end", UTC_TIME, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("charge_kw", sa.Float, nullable=False),
        sa.Column("discharge_kw", sa.Float, nullable=False),
        sa.Column("grid_import_kwh", sa.Float, nullable=False),
        sa.Column("grid_export_kwh", sa.Float, nullable=False),
        sa.Column("soc_start_pct", sa.Float, nullable=False),
        sa.Column("soc_end_pct", sa.Float, nullable=False),
        sa.Column("price_import_per_kwh", sa.Float, nullable=False),
        sa.Column("price_export_per_kwh", sa.Float, nullable=False),
        sa.Column("load_kwh", sa.Float, nullable=False),
        sa.Column("pv_kwh", sa.Float, nullable=False),
        sa.Column("command", sa.JSON, nullable=False),
    )
    op.create_table(
        "commands",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sent_at", UTC_TIME, nullable=False),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("plans.id", ondelete="SET NULL")),
        sa.Column("slot_start", UTC_TIME),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("response", sa.JSON),
        sa.Column("readback", sa.JSON),
        sa.Column("ok", sa.Boolean),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    """Drop the base tables."""
    for table in ("commands", "plan_slots", "plans", "readings", "prices"):
        op.drop_table(table)
