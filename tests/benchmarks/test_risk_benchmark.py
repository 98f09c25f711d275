"""Smoke test: the risk benchmark runs end to end with ``--quick`` and reports its figures
in range. Whether liucun beats the plain IsolationForest and the rules is not asserted
here; it lives in the benchmark's own ``checks`` block (fatal only with ``--strict``)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _unit(v: object) -> bool:
    return (
        isinstance(v, int | float)
        and not isinstance(v, bool)
        and math.isfinite(v)
        and 0.0 <= v <= 1.0
    )


def test_risk_sim_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "risk_sim.json"
    cmd = [sys.executable, str(BENCH / "risk_sim.py"), "--quick", "--out", str(out)]
    cmd += ["--work-dir", str(tmp_path / "work")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == r
    assert "| seed |" in proc.stderr  # the table
    assert not any((tmp_path / "work").iterdir())  # scratch removed
    assert r["benchmark"] == "risk_sim" and r["seeds"] == [1] and len(r["runs"]) == 1
    assert set(r["checks"]) == {"pr_auc_above_isolation_forest", "pr_auc_above_rules"}
    assert all(isinstance(v, bool) for v in r["checks"].values())
    run = r["runs"][0]
    assert run["abusers"] > 0 and run["abusers"] == run["abusers_in_truth"]
    assert run["abusers_not_scored"] == 0
    assert set(run["scorers"]) == {"liucun", "isolation_forest", "rules"}
    for name, m in run["scorers"].items():
        assert set(m) == {
            "pr_auc",
            "roc_auc",
            "precision_at_k",
            "recall_at_flagged",
            "precision_at_flagged",
        }, name
        for k in ("pr_auc", "roc_auc", "precision_at_k", "recall_at_flagged"):
            assert _unit(m[k]), (name, k, m[k])
    hb = run["high_band"]
    assert hb["flagged"] == run["bands"].get("high", 0) > 0
    assert _unit(hb["precision"]) and _unit(hb["recall"])
    assert set(run["by_kind"]) >= {"multi_account", "refund_abuser", "fraud"}
    for kind in ("multi_account", "refund_abuser", "fraud"):
        v = run["by_kind"][kind]
        assert v["accounts"] == 0 or _unit(v["high_recall"]), kind
    p = run["plan"]
    assert set(p["discount_actions"]) == {"coupon_fixed", "coupon_pct", "free_shipping"}
    assert list(p["by_reach"]) == ["0.1", "1"]
    for b in p["by_reach"].values():
        assert b["budget"] > 0
        for name in ("no_exclusion", "exclude_high"):
            m = b[name]
            assert m["spend"] <= b["budget"] + 1e-6
            assert 0 <= m["abuser_discount_cost"] <= m["discount_cost"] + 1e-9
            assert 0 <= m["high_discount_cost"] <= m["discount_cost"] + 1e-9
        # Keeping the high band out of coupons leaves it no discount at all.
        assert b["exclude_high"]["high_accounts"] == 0
        assert b["exclude_high"]["risky_excluded"] > 0
        assert b["no_exclusion"]["risky_excluded"] == 0
