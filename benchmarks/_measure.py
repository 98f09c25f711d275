"""Measuring helpers every benchmark's child processes share."""

from __future__ import annotations

import resource
import sys
from pathlib import Path
from typing import Any


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


# -- shared by the simulator-based benchmarks (churn_sim, recs_sim) ---------------------
SIM_TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")


def simulate_and_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    """Simulate the shop (``spec["scenario"]``'s world, default today's) into
    ``spec["shop"]``, then ingest it into ``spec["ws"]``."""
    import time

    import liucun
    from liucun.sim import simulate

    t0 = time.perf_counter()
    sim = simulate(
        spec["shop"],
        users=spec["users"],
        days=spec["days"],
        holdout_days=spec["holdout_days"],
        seed=spec["seed"],
        abuse_share=spec.get("abuse_share", 0.01),
        scenario=spec.get("scenario", "default"),
    )
    sim_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tables = {}
    with liucun.Workspace(spec["ws"]) as ws:
        for table in SIM_TABLES:
            for r in ws.ingest(table, Path(spec["shop"]) / f"{table}.parquet"):
                tables[r.table] = {"read": r.read, "loaded": r.loaded, "quarantined": r.quarantined}
    return {
        "start": sim.start,
        "simulate_seconds": sim_s,
        "ingest_seconds": time.perf_counter() - t0,
        "peak_mem_mb": peak_mb(),
        "rows": sim.counts,
        "holdout_rows": sim.holdout_counts,
        "ingest": tables,
    }


def run_child(script: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``script --child KIND`` in a fresh process (its own peak memory); its JSON."""
    import json
    import subprocess

    cmd = [sys.executable, str(Path(script).resolve()), "--child", kind]
    cmd += ["--child-arg", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark step {kind} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def json_clean(v: Any) -> Any:
    """JSON-safe: NaN/inf → null, numpy scalars → Python, floats rounded."""
    import math

    if isinstance(v, dict):
        return {str(k): json_clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        v = v.item()
    if isinstance(v, float):
        return round(v, 6) if math.isfinite(v) else None
    return v


def finite(v: Any) -> bool:
    """A real number that is not NaN or infinite (booleans are not figures)."""
    import math

    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def floats(v: Any, skip: tuple[str, ...] = ()) -> list[float]:
    """Every float in a nested report (dict keys in ``skip`` left out): the figures a
    benchmark checks for NaN."""
    if isinstance(v, dict):
        return [x for k, y in v.items() if k not in skip for x in floats(y, skip)]
    if isinstance(v, list):
        return [x for y in v for x in floats(y, skip)]
    return [v] if isinstance(v, float) else []


def machine(packages: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    """Where a figure was measured: cores, platform, load and the versions that matter."""
    import os
    import platform
    from importlib import metadata

    out: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    out.update(extra)
    out["loadavg_1m"] = [round(os.getloadavg()[0], 2)]
    return out


def write_report(report: dict[str, Any], out: Path) -> int:
    """Print the report, write it to ``out``; exit status 1 when a check failed."""
    import json

    text = json.dumps(report, indent=2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    print(text)
    failed = [k for k, v in report["checks"].items() if not v]
    if failed:
        print(f"checks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def warehouse_threads() -> int:
    """The DuckDB threads a default workspace uses (0 in liucun.toml: every core)."""
    import os

    from liucun import config

    return int(config.defaults()["warehouse"]["threads"]) or (os.cpu_count() or 1)
