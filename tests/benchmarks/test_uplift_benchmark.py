"""Smoke test: the uplift benchmark runs end to end with ``--quick`` (the default world and
the world without campaign history), keeps the plan contract and reports its figures side
by side. Whether the plan meets the issue's targets is not asserted here; it lives in the
benchmark's own per-scenario ``checks`` and ``targets`` blocks (never fatal)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import uplift_sim  # noqa: E402

ISSUE_CHECKS = {
    "true_value_positive",
    "at_least_1_3x_risk",
    "predicted_over_true_in_range",
    "true_cost_within_1_05_budget",
    "valid_first_test",
}


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
    assert r["benchmark"] == "uplift_sim" and r["seeds"] == [1] and r["horizon"] == 90
    assert r["scenarios"] == ["default", "no_history"]
    assert all(r["checks"].values())
    assert [(c["scenario"], c["seed"]) for c in r["cells"]] == [
        ("default", 1),
        ("no_history", 1),
    ]
    default, cold = r["cells"]
    assert default["history"] is True and cold["history"] is False
    assert cold["shop"]["rows"]["treatments"] == 0 < default["shop"]["rows"]["treatments"]
    # The budget rule: 10% of the customers × a mean true cost per contact.
    for c in r["cells"]:
        assert _finite(c["budget"]) and c["budget"] > 0
        assert "0.1 x customers" in c["budget_rule"]
    assert default["common_action"] in default["budget_rule"]
    assert "mean" in cold["budget_rule"]
    for c in r["cells"]:
        s = c["side_by_side"]
        assert s["nothing"] == 0.0
        for k in ("risk", "random", "oracle"):
            assert _finite(s[k]), (c["scenario"], k)
        if c["plan_error"] is None:
            assert all(c["contract"].values()), c["scenario"]
            assert _finite(s["plan"]) and _finite(s["true_cost_over_budget"])
            assert s["oracle"] >= s["plan"] - 1e-6
            plan_cost = c["values"]["plan"]["expected_cost"]
            assert c["values"]["risk"]["expected_cost"] <= plan_cost + 1e-6
        else:  # recorded, not raised
            assert isinstance(c["plan_error"], str) and s["plan"] is None
    # The world without history: a first test (or the planner's error) is reported.
    ft = cold["first_test"]
    assert isinstance(ft["valid"], bool)
    if cold["plan_error"] is None:
        assert ft["actions_in_catalogue"] and ft["within_budget"]
        assert ft["valid"] == bool(ft["arms"] and ft["control"] > 0)
    # Per scenario: seeds side by side, mean and min, and the issue's checks as booleans.
    for name in r["scenarios"]:
        s = r["by_scenario"][name]
        assert set(s["by_seed"]) == {"1"}
        assert set(s["checks"]) == ISSUE_CHECKS
        assert all(v is None or isinstance(v, bool) for v in s["checks"].values())
        assert s["mean"]["nothing"] == 0.0 and s["min"]["oracle"] == s["mean"]["oracle"]
    assert r["by_scenario"]["default"]["checks"]["valid_first_test"] is None
    assert r["by_scenario"]["no_history"]["checks"]["true_value_positive"] is None
    assert isinstance(r["targets"]["all_worlds_meet_the_issue_targets"], bool)
    assert r["scale"]["scenario"] == "default"
    if default["plan_error"] is None:
        assert r["scale"]["rows"] == 20_000 and r["scale"]["cost_within_budget"]
    assert r["seconds"] < 300


def _cell(history: bool, plan: float | None, risk: float, pred: float | None = None) -> dict:
    """A cell as ``child_plan`` reports it, for the checks alone."""
    budget = 100.0
    return {
        "history": history,
        "side_by_side": {
            "plan": plan,
            "risk": risk,
            "budget": budget,
            "true_cost": None if plan is None else 90.0,
            "predicted_over_true": pred,
            "valid_first_test": None if history else plan is not None,
        },
    }


def test_issue_checks() -> None:
    good = uplift_sim.cell_checks(_cell(True, 50.0, 20.0, 1.1))
    assert good == dict.fromkeys(
        ["true_value_positive", "at_least_1_3x_risk", "predicted_over_true_in_range"], True
    ) | {"true_cost_within_1_05_budget": True, "valid_first_test": None}
    weak = uplift_sim.cell_checks(_cell(True, 20.0, 20.0, 2.0))
    assert weak["at_least_1_3x_risk"] is False and weak["predicted_over_true_in_range"] is False
    # Risk loses money: the ratio is not a target; a small true value: nor is calibration.
    small = uplift_sim.cell_checks(_cell(True, 4.0, -3.0, 9.0))
    assert small["at_least_1_3x_risk"] is None and small["predicted_over_true_in_range"] is None
    failed = uplift_sim.cell_checks(_cell(True, None, 5.0))
    assert failed["true_value_positive"] is False and failed["at_least_1_3x_risk"] is False
    cold = uplift_sim.cell_checks(_cell(False, 30.0, -1.0, 0.0))
    assert cold["true_value_positive"] is None and cold["valid_first_test"] is True
    assert cold["predicted_over_true_in_range"] is None  # a first test predicts nothing
    assert uplift_sim.cell_checks(_cell(False, None, 1.0))["valid_first_test"] is False
    crashed = uplift_sim.cell_checks({"crashed": "boom"})
    assert crashed["true_value_positive"] is False


@pytest.mark.parametrize(
    ("text", "seeds"), [("3", [1, 2, 3]), ("1", [1]), ("4,7", [4, 7]), ("5,", [5])]
)
def test_seeds_argument(text: str, seeds: list[int]) -> None:
    assert uplift_sim._seeds(text) == seeds


def test_unknown_scenario_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        uplift_sim.main(["--scenarios", "default,nope"])
    assert "unknown scenario(s) nope; known: default" in capsys.readouterr().err
