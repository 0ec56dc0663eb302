"""Footprint of the command line on a small computer: start-up time and memory.

Prints, each the median of ``--repeat`` runs of a fresh process (wall seconds, peak RSS in MiB
from ``wait4``):

- ``xstorage-optimizer --help`` (target < 0.4 s and < 60 MiB) and ``--version``;
- how many modules ``import optimizer.cli`` loads;
- ``plan`` for one day (48 half-hour slots of the shipped Agile day, its load) end to end,
  printing JSON (target < 0.8 s);
- ``demo`` for a simulated day (the service and the simulator in one process; peak RSS,
  target for the service <= 120 MiB; ``--demo-speed`` sets how fast it runs).

    .venv/bin/python benchmarks/footprint.py [--repeat 5] [--no-demo]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from optimizer import PACKAGE_DATA  # light: this process must stay small (fork copies it)

IMPORT_CSV = "agile-import-regionUNKNOWN-fawkesley-2023-10.csv"
EXPORT_CSV = "agile-outgoing-export-regionUNKNOWN-fawkesley-2023-10.csv"
LOAD_CSV = "household-consumption-uk-fawkesley-2023-09_2023-10.csv"

CLI = [sys.executable, "-m", "optimizer"]


def measure(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run of ``args`` in a fresh process."""
    began = time.perf_counter()
    with subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}")
    return wall, usage.ru_maxrss / 1024


def report(name: str, args: list[str], repeat: int) -> None:
    runs = [measure(args) for _ in range(repeat)]
    wall = statistics.median(r[0] for r in runs)
    rss = statistics.median(r[1] for r in runs)
    print(f"{name:<34} {wall:7.3f} s  {rss:6.1f} MiB peak  (median of {repeat})")


def modules_loaded() -> int:
    code = "import sys, optimizer.cli; print(len(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-demo", action="store_true", help="skip the simulated day")
    parser.add_argument("--demo-speed", type=float, default=2880.0)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} cores")
    exe = Path(sys.executable).with_name("xstorage-optimizer")
    entry = [str(exe)] if exe.exists() else CLI
    report("xstorage-optimizer --help", [*entry, "--help"], args.repeat)
    report("xstorage-optimizer --version", [*entry, "--version"], args.repeat)
    print(f"{'modules after import optimizer.cli':<34} {modules_loaded():7d}")
    day = [
        "plan", "--prices", str(PACKAGE_DATA / IMPORT_CSV),
        "--export-prices", str(PACKAGE_DATA / EXPORT_CSV), "--load", str(PACKAGE_DATA / LOAD_CSV),
        "--start", "2023-10-14T23:00Z", "--hours", "24", "--soc", "20", "--json",
    ]  # fmt: skip
    report("plan, one day (48 slots), --json", [*entry, *day], args.repeat)
    if not args.no_demo:
        demo = [*entry, "demo", "--hours", "24", "--speed", f"{args.demo_speed:g}", "--json"]
        report(f"demo, 24 h at {args.demo_speed:g}x (+ simulator)", demo, 1)


if __name__ == "__main__":
    main()
