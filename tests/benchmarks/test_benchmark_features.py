"""Smoke test: the feature benchmark runs end to end on a tiny shop and reports its figures.

Speed and memory targets are not asserted here; they live in the benchmark's own output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "features.py"
EVENTS = 50_000
TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")


def _run(tmp_path: Path, out: Path) -> dict:
    cmd = [sys.executable, str(SCRIPT), "--events", str(EVENTS), "--out", str(out)]
    cmd += ["--data-dir", str(tmp_path / "data"), "--spark-events", "none"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == report
    return report


def test_features_benchmark_smoke(tmp_path: Path) -> None:
    report = _run(tmp_path, tmp_path / "features.json")
    assert report["benchmark"] == "features"
    assert report["events_requested"] == [EVENTS]
    assert report["machine"]["cpu_count"] >= 1 and report["machine"]["duckdb"]

    r = report["results"][str(EVENTS)]
    # The users are scaled from a calibration run: the event count lands near the request.
    assert 0.7 * EVENTS < r["events"] < 1.3 * EVENTS
    shop, ws = r["data"]["shop"], r["data"]["workspace"]
    assert shop["generated"] is True and ws["generated"] is True
    assert shop["chunks"] == 1 and shop["users"] > 0
    assert shop["rows"]["events"] == ws["warehouse_rows"]["events"] == r["events"]
    assert set(shop["rows"]) == set(TABLES)

    feat, bare = r["features"], r["bare"]
    for m in (feat, bare):
        assert m["seconds"] > 0 and m["cpu_seconds"] > 0 and m["peak_mem_mb"] > 0
        assert m["events_per_s"] > 0
    assert feat["rows"] == r["customers"] > 0 and feat["columns"] > 40
    assert 0 < bare["rows"] <= feat["rows"]
    assert r["ratio"] > 0 and r["cpu_ratio"] > 0

    pdf = r["pandas"]
    assert pdf["seconds"] > 0 and pdf["compute_seconds"] > 0 and pdf["peak_mem_mb"] > 0
    assert pdf["agreement"]["match"] is True
    assert "not measured" in r["spark"]["note"]

    targets = report["targets"]
    keys = ("events_per_s_ge_5M_at_10M_plus", "ratio_le_3", "peak_mem_le_4096_mb_at_50M")
    # Every target is judged at a size far above this one: none is measured.
    assert all(targets[k] is None for k in keys)
    assert sorted(targets["not_measured"]) == sorted(keys)
    assert targets["all_met"] is True
    assert targets["thresholds"]["events_per_s"] == 5_000_000

    checks = report["checks"]
    assert checks["all_passed"] is True
    for name in (
        "ingest_all_loaded",
        "warehouse_events_equal_simulated",
        "bare_counts_every_event",
        "bare_rows_equal_event_users",
        "features_one_row_per_known_customer",
        "features_all_present",
        "pandas_matches_duckdb",
    ):
        assert checks[f"{EVENTS}_{name}"] is True

    # A rerun reuses the cached shop and workspace.
    again = _run(tmp_path, tmp_path / "again.json")
    r2 = again["results"][str(EVENTS)]
    assert r2["data"]["shop"]["generated"] is False
    assert r2["data"]["workspace"]["generated"] is False
    assert r2["events"] == r["events"] and r2["customers"] == r["customers"]
    assert again["checks"]["all_passed"] is True
