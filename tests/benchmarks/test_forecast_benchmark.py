"""Smoke test: the forecast benchmark runs end to end with ``--quick`` and reports finite
figures of the right shape. Whether liucun beats the baselines is not asserted here; it
lives in the benchmark's own ``checks`` block."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
METHODS = {"liucun", "seasonal_naive", "moving_average", "weekday_mean", "croston", "ets"}


def _pos(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def test_forecast_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "forecast.json"
    cmd = [sys.executable, str(BENCH / "forecast.py"), "--quick", "--out", str(out)]
    cmd += ["--work-dir", str(tmp_path / "work")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == r
    assert "| sim item |" in proc.stderr
    assert not any((tmp_path / "work").iterdir())  # scratch removed
    assert r["benchmark"] == "forecast" and set(r["methods"]) == METHODS
    assert r["checks"]["finite"] is True
    assert "| retail item |" in proc.stderr
    for ds in ("sim", "retail"):  # each world reported on its own
        sim = r["datasets"][ds]
        assert sim["scenario"] == ("default" if ds == "sim" else "retail")
        assert sim["series"]["item"] > 0 and sim["series"]["category"] > 0
        for level in ("item", "category"):
            assert set(sim[level]) == METHODS
            for m in sim[level].values():
                assert _pos(m["wrmsse"]) and _pos(m["wmase"]) and m["series_scored"] > 0
        cov = sim["coverage_80"]
        assert 0 < cov["item_days"] <= 1 and 0 < cov["category_days"] <= 1
        bands = cov["item_days_by_forecast"].values()
        assert abs(sum(b["share"] for b in bands) - 1) < 1e-5
        assert all(0 <= b["coverage"] <= 1 for b in bands)
        pooled = sum(b["share"] * b["coverage"] for b in bands)
        assert abs(pooled - cov["item_days"]) < 1e-4
        assert set(sim["seconds_per_1000_series"]) == METHODS
        assert all(_pos(v) for v in sim["seconds_per_1000_series"].values())
        assert all(_pos(v) for v in sim["rmse_vs_true_mean"].values())
        t = r["targets"][ds]
        base = {k: v["wrmsse"] for k, v in sim["item"].items() if k != "liucun"}
        assert t["best_baseline"] == min(base, key=base.get)
        assert t["item_wrmsse_below_best_baseline"] == (
            sim["item"]["liucun"]["wrmsse"] < min(base.values())
        )
        assert t["coverage_80_within_0.75_0.85"] == (0.75 <= cov["item_days"] <= 0.85)
    if "cdnow" in r["datasets"]:
        cd = r["datasets"]["cdnow"]
        assert set(cd["shop"]) == METHODS and _pos(cd["shop"]["liucun"]["wrmsse"])


def test_forecast_benchmark_scale_mode(tmp_path: Path) -> None:
    """``--scale`` times ``forecast()`` end to end on a synthesised long history (here
    small) and reports the under-2-minutes target without failing on it."""
    out = tmp_path / "scale.json"
    cmd = [sys.executable, str(BENCH / "forecast.py"), "--scale", "--out", str(out)]
    cmd += ["--scale-items", "60", "--scale-days", "150", "--work-dir", str(tmp_path / "w")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(out.read_text(encoding="utf-8"))
    sc = r["scale"]
    assert sc["items"] == 60 and sc["days"] == 150
    assert sc["series"] == 60 and sc["rows"] == 60 * 28
    assert _pos(sc["forecast_seconds"]) and _pos(sc["forecast_cpu_seconds"])
    assert sc["order_lines"] > 0 and r["checks"]["finite"] is True
    assert r["targets"]["scale_under_120_s"] == (sc["forecast_seconds"] < 120)
    assert not any((tmp_path / "w").iterdir())
