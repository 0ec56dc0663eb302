"""The unattended service: the only code that imports APScheduler.

``decision`` (pure: plan, reading, now, limits → action), ``planner`` (a plan from stored prices
and forecasts from stored history), ``feeds`` (tariffs around publication, device metrics),
``core`` (the jobs and the executor), ``runner`` (APScheduler in scaled real time, or stepped on a
manual clock), ``wiring`` (dependencies from the settings), ``demo`` and ``summary``.
"""
