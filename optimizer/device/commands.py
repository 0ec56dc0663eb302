"""Moved to ``optimizer.commands`` so the planner builds commands with the same checks.

Kept only while the service work in progress still imports it from here; remove after.
"""

from optimizer.commands import *  # noqa: F403
from optimizer.commands import basic, charge, check_floor, differences, discharge, validate

__all__ = ["basic", "charge", "check_floor", "differences", "discharge", "validate"]
