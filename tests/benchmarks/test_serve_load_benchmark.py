"""Smoke test: the serving benchmark runs end to end with ``--quick``: the real ``liucun
serve`` answers every route with no error, steadily and while a second run replaces the
served one, and the report keeps its shape. Whether p99 meets its target is not asserted
here; it lives in the benchmark's own ``targets`` block."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
ROUTES = {"customer", "recommendations", "at_risk"}


def _finite(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def test_serve_load_quick(tmp_path: Path) -> None:
    out = tmp_path / "serve_load.json"
    cmd = [sys.executable, str(BENCH / "serve_load.py"), "--quick", "--out", str(out)]
    cmd += ["--work-dir", str(tmp_path / "work")]
    cmd += ["--users", "600", "--days", "120", "--seconds", "3"]  # tiny: a smoke test
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == r
    assert not any((tmp_path / "work").iterdir())  # scratch removed, server stopped

    assert r["benchmark"] == "serve_load" and r["quick"] is True
    assert (r["users"], r["days"], r["rate"], r["seconds"]) == (600, 120, 500.0, 3.0)
    assert r["machine"]["cpu_count"] >= 1 and r["machine"]["fastapi"]
    assert 0 < r["data"]["customers_served"] <= 600
    assert r["server"]["startup_seconds"] > 0

    for phase in ("load", "during_run"):
        p = r[phase]
        assert set(p["routes"]) == ROUTES, phase
        assert p["errors"] == 0, (phase, p["error_samples"])
        assert p["requests"] == sum(x["requests"] for x in p["routes"].values()) > 0
        assert p["requests"] + p["not_sent"] == p["requests_planned"]
        assert p["seconds"] >= p["window_seconds"] - 1.0 > 0
        assert _finite(p["achieved_rate"]) and 0 < p["achieved_rate"] <= p["target_rate"] * 1.1
        for name, x in p["routes"].items():
            assert x["errors"] == 0 and x["ok"] == x["requests"] > 0, (phase, name)
            assert 0 < x["p50_ms"] <= x["p95_ms"] <= x["p99_ms"] <= x["max_ms"], (phase, name)
    assert r["load"]["window_seconds"] == 3.0
    assert r["single"] == 50 and set(r["load"]["single"]) == ROUTES
    for name, x in r["load"]["single"].items():  # one request at a time: no queue
        assert x["requests"] == 50 and x["errors"] == 0, name
        assert 0 < x["p50_ms"] <= x["p99_ms"] <= x["max_ms"], name

    run = r["during_run"]["run"]
    assert run["returncode"] == 0, run["output_tail"]
    assert run["run_id_before"] == r["data"]["first_run"]["run_id"]
    assert run["switched"] is True and run["run_id_after"] == run["run_id_expected"]
    assert r["during_run"]["window_seconds"] >= run["seconds"]  # the load covered the run

    t = r["targets"]
    assert isinstance(t["customer_p99_le_20ms"], bool)
    assert isinstance(t["recommendations_p99_le_20ms"], bool)
    assert t["zero_errors"] is True and t["zero_errors_during_run"] is True
    assert t["thresholds"] == {"p99_ms": 20.0, "rate": 500.0}
    assert r["checks"]["all_passed"] is True
