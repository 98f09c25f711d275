"""Smoke tests: the MovieLens-100k recommendation benchmark runs with ``--quick``.

Whether liucun beats BPR or meets the aim is not asserted here; it lives in the
benchmark's own ``targets`` block. The liucun row may be an import error while the
recommender is being written; the anchors must still run.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from liucun.data.samples import is_available

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPT = BENCH / "recs_ml100k.py"
ANCHORS = ("mostpop", "itemknn", "als", "bpr")
METRICS = ("ndcg@10", "recall@10", "hr@10", "mrr@10", "coverage@10", "ndcg@20", "recall@20")


def _finite(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@pytest.mark.skipif(not is_available("ml100k"), reason="pip install --no-deps recbole")
def test_recs_ml100k_quick(tmp_path: Path) -> None:
    out = tmp_path / "recs_ml100k.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == r

    assert r["benchmark"] == "recs_ml100k" and r["quick"] is True
    assert r["k"] == [10, 20]
    assert r["data"]["users"] == r["users_requested"] == 200
    assert r["data"]["train_interactions"] == r["data"]["interactions"] - 200
    assert r["anchors_reported"]["bpr_ndcg@10"] == 0.0455
    assert r["machine"]["implicit"] and r["machine"]["cpu_count"] >= 1

    assert set(r["models"]) == {*ANCHORS, "liucun"}
    for name in ANCHORS:
        m = r["models"][name]
        for k in METRICS:
            assert _finite(m[k]), (name, k)
            assert 0 <= m[k] <= 1, (name, k)
        assert m["users"] == 200
        assert m["recall@10"] <= m["recall@20"] and m["ndcg@10"] <= m["ndcg@20"]
        assert m["hr@10"] == pytest.approx(m["recall@10"])  # one held-out item per user
        assert _finite(m["valid_ndcg@10"]) and m["fit_seconds"] >= 0
        assert isinstance(m["params"], dict) and m["grid_size"] >= 1
        assert m["lists_valid"] is True
    assert r["models"]["mostpop"]["params"] == {}
    assert set(r["models"]["bpr"]["params"]) == {
        "factors",
        "learning_rate",
        "regularization",
        "iterations",
    }

    liu = r["models"]["liucun"]
    t = r["targets"]
    if "error" in liu:
        assert all(t[k] is None for k in ("beats_bpr_ndcg10", "beats_bpr_recall10"))
    else:
        assert all(_finite(liu[k]) for k in METRICS)
        assert isinstance(t["beats_bpr_ndcg10"], bool)
        assert isinstance(t["beats_bpr_recall10"], bool)
        assert isinstance(t["aim_ndcg10_ge_0_059"], bool)
    assert r["checks"]["all_passed"] is True


def test_recs_ml100k_without_recbole(tmp_path: Path) -> None:
    """No recbole: one line naming the install command, exit 2."""
    code = (
        "import sys; from importlib import metadata; real = metadata.distribution\n"
        "def fake(name):\n"
        "    if name == 'recbole': raise metadata.PackageNotFoundError(name)\n"
        "    return real(name)\n"
        "metadata.distribution = fake\n"
        f"sys.argv = ['recs_ml100k.py', '--out', {str(tmp_path / 'x.json')!r}]\n"
        f"sys.path.insert(0, {str(BENCH)!r})\n"
        "import recs_ml100k; sys.exit(recs_ml100k.main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert "pip install --no-deps recbole" in proc.stdout
    assert len(proc.stdout.strip().splitlines()) == 1
    assert not (tmp_path / "x.json").exists()


def test_recs_sim_quick(tmp_path: Path) -> None:
    """The simulated-shop benchmark end to end: metrics, truth overlap, latency, checks."""
    out = tmp_path / "recs_sim.json"
    cmd = [sys.executable, str(BENCH / "recs_sim.py"), "--quick", "--out", str(out)]
    cmd += ["--work-dir", str(tmp_path / "work")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == r
    assert not any((tmp_path / "work").iterdir())  # the scratch folder is removed

    assert r["benchmark"] == "recs_sim"
    assert (r["users"], r["days"], r["holdout_days"], r["batch_users"]) == (1500, 200, 30, 2000)
    c = r["customers"]
    assert 0 < c["with_new_items"] <= c["holdout_buyers"]
    assert c["evaluated_known"] + c["evaluated_new"] == c["with_new_items"]
    assert set(r["models"]) == {"liucun", "popular", "als"}
    for name, m in r["models"].items():
        for k in ("ndcg@10", "recall@10", "hr@10", "mrr@10", "coverage@10", "diversity@10"):
            assert _finite(m[k]) and 0 <= m[k] <= 1, (name, k)
        assert m["users"] == c["with_new_items"]
        assert m["recall@10"] <= m["recall@20"] and m["hr@10"] <= m["hr@20"]
        assert r["lists"][name]["consumed_recommended"] == 0
        o = r["truth_overlap"][name]
        assert 0 <= o["share_in_true_top20"] <= 1 and 0 <= o["share_in_true_top_categories"] <= 1
    assert r["fit"]["liucun"]["ranker"]["train_customers"] > 0

    lat = r["latency"]
    s = lat["single"]
    assert s["calls"] > 0 and 0 < s["p50_ms"] <= s["p99_ms"] <= s["max_ms"]
    assert lat["batch_resampled"]["users"] == 2000 and lat["batch_resampled"]["rows"] == 20000
    assert lat["batch_known"]["seconds_per_1m_customers"] > 0

    t = r["targets"]
    assert isinstance(t["p99_le_5ms"], bool) and isinstance(t["beats_popular_ndcg@10"], bool)
    assert t["batch_1m_le_300s"] is None and t["not_measured"] == ["batch_1m_le_300s"]
    assert r["checks"]["all_passed"] is True
