"""Smoke test: the uplift benchmark runs end to end with ``--quick``, keeps the plan
contract and reports finite figures. Whether the plan beats risk targeting or nears the
oracle is not asserted here; it lives in the benchmark's own ``targets`` block."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _finite(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def test_uplift_sim_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "uplift_sim.json"
    cmd = [sys.executable, str(BENCH / "uplift_sim.py"), "--quick", "--out", str(out)]
    cmd += ["--work-dir", str(tmp_path / "work")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == r
    assert not any((tmp_path / "work").iterdir())  # scratch removed
    assert r["benchmark"] == "uplift_sim" and r["seeds"] == [1]
    assert all(r["checks"].values())
    run = r["runs"][0]
    assert all(run["contract"].values())
    for k in ("plan", "risk", "random", "oracle"):
        v = run["values"][k]
        assert _finite(v["net_value"]) and _finite(v["expected_cost"]), k
    # Baselines spend the plan's true cost (up to one customer's cost).
    plan_cost = run["values"]["plan"]["expected_cost"]
    assert run["values"]["risk"]["expected_cost"] <= plan_cost + 1e-6
    assert run["values"]["oracle"]["expected_cost"] <= plan_cost + 1e-6
    assert run["values"]["oracle"]["net_value"] >= run["values"]["plan"]["net_value"] - 1e-6
    assert set(run["per_action"]) == {"coupon_fixed", "coupon_pct", "free_shipping", "reco_push"}
    for a, m in run["per_action"].items():
        assert _finite(m["spearman"]) and _finite(m["auuc_vs_truth"]), a
    assert r["scale"]["rows"] == 20_000 and r["scale"]["cost_within_budget"]
    assert set(r["targets"]) == {
        "vs_risk_at_least_1_5",
        "share_of_oracle_at_least_0_85",
        "plan_1m_within_120s",
    }
