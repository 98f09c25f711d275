"""Smoke test: the inventory benchmark runs end to end with ``--quick``: stock-outs from
the retail world's truth are scored against liucun's alerts and the naive two-weeks
baseline, and the reorder policy is replayed against the true demand. The issue's bars
are reported in ``targets``, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _share(v: object) -> bool:
    return isinstance(v, float | int) and not isinstance(v, bool) and 0 <= v <= 1


def test_inventory_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "inventory.json"
    cmd = [sys.executable, str(BENCH / "inventory.py"), "--quick", "--out", str(out)]
    cmd += ["--work-dir", str(tmp_path / "work")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == r
    assert not any((tmp_path / "work").iterdir())
    assert all(r["checks"].values())
    ret = r["retail"]
    assert len(ret["origins"]) == 2 and ret["items"] > 0
    for m in ("liucun", "naive_two_weeks"):
        a = ret["alerts"][m]
        assert a["stockouts"] > 0 and 0 <= a["caught"] <= a["stockouts"]
        assert abs(a["recall"] - a["caught"] / a["stockouts"]) < 1e-5
        assert 0 <= a["false_alarms"] <= a["alerts"]
        if a["alerts"]:
            assert abs(a["false_alarm_share"] - a["false_alarms"] / a["alerts"]) < 1e-5
    rp = ret["replay"]
    assert rp["target"] == 0.95
    for m in ("liucun", "naive_mean28"):
        assert rp[m]["cycles"] > 0 and rp[m]["items"] > 0
        assert _share(rp[m]["cycle_service_level"]) and _share(rp[m]["fill_rate"])
    t = r["targets"]
    gap = abs(rp["liucun"]["cycle_service_level"] - 0.95)
    assert abs(t["service_level_gap"] - gap) < 1e-5
    assert t["service_level_within_2_points"] == (t["service_level_gap"] <= 0.02)
