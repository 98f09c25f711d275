"""Measuring helpers every benchmark's child processes share."""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def sql_str(s: str | Path) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def peak_mb() -> float:
    """This process's max resident set size so far, in MiB (ru_maxrss is KiB on Linux)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there
        kb //= 1024
    return round(kb / 1024, 1)


def cpu_s() -> float:
    """CPU seconds this process has used (all threads): less skewed by a busy machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
