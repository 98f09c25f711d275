"""Smoke test: the simulator benchmark runs end to end on a tiny shop and reports its figures.

Speed and memory targets are not asserted here; they live in the benchmark's own output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "simulate.py"
TABLES = ("users", "items", "events", "orders", "order_items", "reviews", "treatments")


def test_simulate_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "simulate.json"
    cmd = [sys.executable, str(SCRIPT), "--users", "2000", "--days", "60"]
    cmd += ["--holdout-days", "14", "--seed", "3", "--out", str(out)]
    cmd += ["--work-dir", str(tmp_path / "work")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr

    report = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == report
    assert report["benchmark"] == "simulate"
    assert (report["users"], report["days"], report["holdout_days"], report["seed"]) == (
        2000,
        60,
        14,
        3,
    )
    assert report["machine"]["cpu_count"] >= 1 and report["machine"]["pyarrow"]

    sim = report["simulate"]
    assert sim["seconds"] > 0 and sim["cpu_seconds"] > 0 and sim["peak_mem_mb"] > 0
    rows = sim["rows"]
    assert set(rows["history"]) == set(rows["holdout"]) == set(TABLES)
    assert set(rows["truth"]) == {"customers", "effects", "preferences", "demand", "items"}
    assert sim["events_written"] == rows["history"]["events"] + rows["holdout"]["events"] > 0
    assert sim["events_per_s"] > 0 and sim["rows_per_s"] > 0 and sim["mb_written"] > 0
    assert sim["rows_written"] == sum(sum(part.values()) for part in rows.values())
    assert rows["truth"]["effects"] == 4 * rows["truth"]["customers"]
    assert rows["holdout"]["treatments"] == 0

    base = report["baseline"]
    assert base["seconds"] > 0 and base["peak_mem_mb"] > 0
    assert base["rows_written"] == sim["rows_written"]
    assert base["files"] == 2 * len(TABLES) + 5
    assert report["ratio"] > 0

    targets = report["targets"]
    for key in ("seconds_le_60", "peak_mem_le_4096_mb", "all_met", "at_target_scale"):
        assert isinstance(targets[key], bool)
    assert targets["at_target_scale"] is False
    assert targets["thresholds"] == {
        "users": 100_000,
        "days": 365,
        "seconds": 60.0,
        "peak_mem_mb": 4096,
    }
    assert report["checks"]["all_passed"] is True
    # The shop and the baseline files are scratch: nothing is left in the work folder.
    assert not any((tmp_path / "work").iterdir())
