"""The history store (SQLAlchemy 2): prices with every vintage, device readings and metrics,
imported load/PV, plans and commands. SQLite by default, PostgreSQL by URL; Alembic migrations
ship inside the package and run on open (or via ``upgrade(url)``).
"""

from optimizer.store.migrate import current_revision, downgrade, head_revision, upgrade
from optimizer.store.prices import SaveResult
from optimizer.store.records import CommandRecord, DayTotals, Reading, StoredPlan
from optimizer.store.store import Store

__all__ = [
    "CommandRecord",
    "DayTotals",
    "Reading",
    "SaveResult",
    "Store",
    "StoredPlan",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade",
]
