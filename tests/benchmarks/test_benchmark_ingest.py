"""Smoke test: the ingest benchmark runs end to end on a small file and reports its figures.

Speed targets are not asserted here; they live in the benchmark's own output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ingest.py"
ROWS = 100_000


def test_ingest_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "ingest.json"
    cmd = [sys.executable, str(SCRIPT), "--rows", str(ROWS), "--out", str(out)]
    cmd += ["--data-dir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr

    report = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == report
    assert report["rows"] == ROWS
    assert report["machine"]["cpu_count"] >= 1
    assert report["machine"]["duckdb"]

    for fmt in ("parquet", "csv"):
        entry = report[fmt]
        assert entry["rows"] == ROWS
        assert Path(report["data"]["files"][fmt]["path"]).is_file()
        for side in ("baseline", "liucun"):
            m = entry[side]
            assert m["seconds"] > 0 and m["cpu_seconds"] > 0
            assert m["rows_per_s"] > 0
            assert m["peak_mem_mb"] > 0
            assert m["warehouse_rows"] == ROWS
        liu = entry["liucun"]
        assert liu["read"] == liu["loaded"] == ROWS
        assert liu["updated"] == liu["duplicates"] == liu["quarantined"] == 0
        assert entry["ratio"] > 0 and entry["cpu_ratio"] > 0

    re = report["reingest_parquet"]
    assert re["read"] == re["duplicates"] == re["warehouse_rows"] == ROWS
    assert re["loaded"] == re["updated"] == re["quarantined"] == 0
    assert re["seconds"] > 0 and re["peak_mem_mb"] > 0

    targets = report["targets"]
    for key in (
        "parquet_rows_per_s_ge_1M",
        "parquet_ratio_le_2_5",
        "csv_ratio_le_2_5",
        "liucun_peak_mem_le_2048_mb",
        "all_met",
    ):
        assert isinstance(targets[key], bool)
    assert report["checks"]["all_passed"] is True

    # Files are generated once per row count, named by it, under --data-dir.
    assert report["data"]["generated"] is True
    assert {Path(f["path"]).name for f in report["data"]["files"].values()} == {
        f"orders_{ROWS}.csv",
        f"orders_{ROWS}.parquet",
    }
