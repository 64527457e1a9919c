"""What the figures were measured on, for the top of BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def cpu_ticks() -> tuple[int, int] | None:
    """(all, stolen) CPU ticks since boot from /proc/stat; None where there is none."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0  # user..steal; guest is within user


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of CPU time a virtual machine's host took away between two readings: figures
    measured while it is high are slower than the code (a timer late because its CPU was elsewhere)."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    return (after[1] - before[1]) / (after[0] - before[0])


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def describe(postgres: str) -> list[str]:
    return [
        f"CPU: {_cpu_model()}, {cores()} cores available to the run (of {os.cpu_count()})",
        f"Memory: {_memory_gib()}",
        f"OS: {platform.system()} {platform.release()} ({platform.machine()})",
        f"Python {platform.python_version()} ({sys.implementation.name}); SQLite {sqlite3.sqlite_version}",
        f"Database: {postgres}",
    ]
