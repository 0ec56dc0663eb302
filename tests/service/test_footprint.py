"""What the service process loads: ``run`` needs neither the simulator nor the CLI's other tools.

Checked in a fresh interpreter (``sys.modules``), so nothing a test imported first can hide it.
The memory these modules cost is measured by ``benchmarks/service_memory.py``, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys

#: What the service never needs: the simulator (and with it ``cryptography``, its certificates),
#: the demo and its summary, plotting, the LP solver (the planner's DP makes the plans),
#: Alembic (an up-to-date store is opened without it) and the sweep engine with Dask.
NOT_FOR_THE_SERVICE = (
    "optimizer.device.simulator", "cryptography", "optimizer.service.demo",
    "optimizer.service.summary", "matplotlib", "pulp", "highspy", "alembic",
    "optimizer.sweep", "dask", "distributed",
)  # fmt: skip


def loaded(code: str) -> list[str]:
    """Which of ``NOT_FOR_THE_SERVICE`` are in ``sys.modules`` after running ``code``."""
    which = f"[m for m in {NOT_FOR_THE_SERVICE!r} if m in sys.modules]"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({which}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_run_command_imports_no_simulator_and_no_tools() -> None:
    code = (
        "import optimizer.cli\n"
        "from optimizer.device.clock import SimClock, SystemTime\n"
        "from optimizer.service.runner import ScheduledRunner\n"
        "from optimizer.service.wiring import open_deps\n"
    )
    assert loaded(code) == []


def test_prometheus_client_is_loaded_at_the_first_scrape_only() -> None:
    code = (
        "import json, sys\n"
        "from optimizer.config import Settings\n"
        "from optimizer.integrations.web.server import StatusApp\n"
        "from datetime import UTC, datetime\n"
        "app = StatusApp(lambda: None, None, Settings(), lambda: datetime.now(UTC))\n"
        "codes = [app.respond(p, {}).code for p in ('/', '/healthz', '/api/status')]\n"
        "before = 'prometheus_client' in sys.modules\n"
        "metrics = app.respond('/metrics', {})\n"
        "print(json.dumps([codes, before, metrics.code, 'prometheus_client' in sys.modules,\n"
        "                  b'xstorage_' in metrics.body]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    codes, before, scraped, after, named = json.loads(done.stdout.strip().splitlines()[-1])
    assert codes == [200, 503, 503]  # the page; not started yet (nothing published)
    assert (before, scraped, after, named) == (False, 200, True, True)


def test_the_service_keeps_the_sweeps_tools_out() -> None:
    """click and tornado come with Dask (for ``sweep``); httpx and tenacity import them when they
    can. ``run`` marks them absent while it runs, so it loads neither (and they are importable
    again after)."""
    code = (
        "import json, sys\n"
        "import optimizer.cli\n"
        "from optimizer.cli.service import NOT_FOR_RUN, tools_kept_out\n"
        "with tools_kept_out():\n"
        "    from optimizer.service.runner import ScheduledRunner\n"
        "    from optimizer.service.wiring import open_deps\n"
        "    import httpx, tenacity\n"
        "    inside = [m for m in (*NOT_FOR_RUN, 'httpx._main', 'pygments')\n"
        "              if sys.modules.get(m) is not None]\n"
        "import tornado  # importable again after\n"
        "print(json.dumps(inside))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
