"""The first randomised test of a shop without history: arm sizes from the `campaign size`
maths, the budget with its margin, the fallbacks when money or customers run short, the
random draw and the one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from liucun.decide.experiments import arm_sizes, minimum_detectable_effect
from liucun.decide.first_test import ASSUMED_LIFT, FIRST_TEST_COLUMNS, HIGH_LIFT, first_test
from liucun.errors import LiucunError
from liucun.models.nba import Action
from liucun.tasks.campaigns import plan_size

BASE = 0.10
MDE = 0.02
CATALOG = {
    "coupon_fixed": Action("coupon_fixed", "fixed", contact_cost=0.05, discount=10.0),
    "coupon_pct": Action("coupon_pct", "pct", contact_cost=0.05, discount_rate=0.10),
    "reco_push": Action("reco_push", "message", contact_cost=0.01),
}


def _users(n: int, seed: int = 0, sigma: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"user_id": [f"u{i:05d}" for i in range(n)], "aov": rng.lognormal(3.9, sigma, n)}
    )


USERS = _users(30_000)


def _run(**kw):
    args = dict(
        users=USERS,
        catalog=CATALOG,
        budget=20_000.0,
        baseline_rate=BASE,
        mde=MDE,
        control_share=0.5,
        seed=7,
    )
    args.update(kw)
    return first_test(**args)


@pytest.fixture(scope="module")
def full():
    return _run()


def _check_budget(plan: pd.DataFrame, s: dict) -> None:
    """Expected cost within budget / (1 + margin); the high-redemption cost within budget."""
    assert s["expected_cost"] == pytest.approx(plan["cost"].sum())
    assert s["cost_high"] <= s["budget"] + 1e-6
    assert s["expected_cost"] <= s["budget"] / (1 + s["margin"]) + 1e-6
    assert s["cost_high"] == pytest.approx(s["expected_cost"] * (1 + s["margin"]))


def test_every_arm_at_the_campaign_size_n(full) -> None:
    plan, s = full
    assert list(plan.columns) == list(FIRST_TEST_COLUMNS)
    assert s["policy"] == "required_n" and s["not_tested"] == []
    n_t, n_c = arm_sizes(BASE, MDE, control_share=0.5)
    same = plan_size(BASE, MDE, control_share=0.5)  # what `liucun campaign size` says
    assert (n_t, n_c) == (same["n_treatment"], same["n_control"])
    assert set(s["arms"]) == set(CATALOG)
    for name, arm in s["arms"].items():
        rows = plan[plan["planned"] == name]
        assert (rows["action"] == name).sum() == arm["n_treatment"] == n_t
        assert (rows["action"] == "control").sum() == arm["n_control"] == n_c
        assert arm["mde_at_n"] == pytest.approx(MDE, abs=2e-4)
        assert rows["reason"].nunique() == 1
        reason = rows["reason"].iloc[0]
        assert f"randomised arm of {n_t:,} for {name}, control {n_c:,}" in reason
        assert f"change of {arm['mde_at_n'] * 100:.1f} points" in reason
        assert "14-day purchase rate at alpha 0.05, power 80%" in reason
    assert plan["user_id"].is_unique and set(plan["user_id"]) <= set(USERS["user_id"])
    assert plan["explore"].all() and (plan["expected_uplift"] == 0.0).all()
    ctrl = plan["action"] == "control"
    assert (plan.loc[ctrl, "cost"] == 0).all() and (plan.loc[ctrl, "contact_cost"] == 0).all()
    assert any("expected_uplift is 0.0" in n for n in s["notes"])
    _check_budget(plan, s)


def test_row_costs_follow_the_offer(full) -> None:
    plan, s = full
    r = BASE * (1 + ASSUMED_LIFT)
    assert s["redemption_rate"] == pytest.approx(r)
    assert s["redemption_high"] == pytest.approx(BASE * (1 + HIGH_LIFT))
    aov = plan["user_id"].map(USERS.set_index("user_id")["aov"])
    treated = plan["action"] != "control"
    expect = {
        "coupon_fixed": 0.05 + 10.0 * r,
        "coupon_pct": 0.05 + 0.10 * aov * r,
        "reco_push": pd.Series(0.01, index=plan.index),
    }
    for name, cost in expect.items():
        m = treated & (plan["action"] == name)
        want = cost[m] if isinstance(cost, pd.Series) else cost
        assert np.allclose(plan.loc[m, "cost"], want)
        assert (plan.loc[m, "contact_cost"] == CATALOG[name].contact_cost).all()


def test_assignment_is_random_and_seeded(full) -> None:
    plan, _ = full
    again, _ = _run()
    pd.testing.assert_frame_equal(plan, again)
    other, _ = _run(seed=8)
    assert set(other["user_id"]) != set(plan["user_id"])
    # Users come sorted by id with no link to aov; sort by aov instead: a draw that took
    # blocks in the given order would give the first arm the cheapest customers.
    by_aov = USERS.sort_values("aov").reset_index(drop=True)
    p2, _ = _run(users=by_aov)
    aov = p2["user_id"].map(USERS.set_index("user_id")["aov"])
    means = aov.groupby([p2["planned"], p2["action"] == "control"]).mean()
    assert means.max() / means.min() < 1.1


def test_tight_budget_keeps_the_cheapest_arms_at_full_size(full) -> None:
    _, s0 = full
    arms = s0["arms"]
    keep = arms["reco_push"]["cost_high"] + arms["coupon_pct"]["cost_high"]
    plan, s = _run(budget=keep * 1.01)
    assert s["policy"] == "required_n"
    assert set(s["arms"]) == {"reco_push", "coupon_pct"} and s["not_tested"] == ["coupon_fixed"]
    assert "coupon_fixed" not in set(plan["planned"])
    for arm in s["arms"].values():
        assert arm["mde_at_n"] <= MDE + 2e-4
    assert any("not tested coupon_fixed" in n and "budget" in n for n in s["notes"])
    _check_budget(plan, s)


def test_leftover_budget_tests_the_dearer_arm_smaller(full) -> None:
    _, s0 = full
    arms = s0["arms"]
    keep = arms["reco_push"]["cost_high"] + arms["coupon_pct"]["cost_high"]
    plan, s = _run(budget=keep + 0.3 * arms["coupon_fixed"]["cost_high"])
    assert set(s["arms"]) == set(CATALOG) and not s["not_tested"]
    small = s["arms"]["coupon_fixed"]
    assert 400 <= small["n"] < arms["coupon_fixed"]["n"]
    assert small["mde_at_n"] > MDE  # it detects less, and says how much
    assert any("coupon_fixed tested smaller" in n for n in s["notes"])
    _check_budget(plan, s)


def test_budget_below_any_arm_gives_the_cheapest_its_largest_n() -> None:
    catalog = {k: v for k, v in CATALOG.items() if k != "reco_push"}
    plan, s = _run(catalog=catalog, budget=1_000.0)
    assert s["policy"] == "cheapest_at_max_n" and list(s["arms"]) == ["coupon_pct"]
    arm = s["arms"]["coupon_pct"]
    assert arm["mde_at_n"] > MDE
    assert arm["mde_at_n"] == pytest.approx(
        minimum_detectable_effect(arm["n_treatment"], arm["n_control"], baseline_rate=BASE)
    )
    # The largest: the high-redemption cost per contact times one more treated customer
    # would not fit the budget.
    per = arm["cost_high"] / arm["n_treatment"]
    assert arm["cost_high"] + 2 * per > 1_000.0
    assert any("not even the cheapest arm" in n for n in s["notes"])
    _check_budget(plan, s)


def test_no_mde_splits_evenly_and_reports_what_it_detects() -> None:
    plan, s = _run(mde=None, budget=3_000.0, control_share=0.2)
    assert s["policy"] == "even_split" and set(s["arms"]) == set(CATALOG)
    n_c = {a["n_control"] for a in s["arms"].values()}
    n_ts = [a["n_treatment"] for a in s["arms"].values()]
    assert len(n_c) == 1
    n_t, n_c = max(n_ts), n_c.pop()
    assert n_c == round((n_t + n_c) * 0.2)
    # Equal arms, less any treated rows dropped for the drawn customers' dearer offers.
    dropped = sum(n_t - x for x in n_ts)
    assert dropped < 0.01 * n_t
    assert not dropped or any(f"{dropped:,} treated customers dropped" in n for n in s["notes"])
    per = sum(a["cost_high"] / a["n_treatment"] for a in s["arms"].values())
    assert s["cost_high"] + 2 * per > 3_000.0  # one more per arm would not fit
    assert all(0 < a["mde_at_n"] < 1 for a in s["arms"].values())
    _check_budget(plan, s)


def test_max_share_caps_the_customers_in_the_test() -> None:
    plan, s = _run(users=USERS.head(10_000), max_share=0.5, budget=1e9)
    assert len(plan) <= 5_000
    # 5,000 customers hold only the cheapest arm at full size (7,682): it gets them all.
    assert s["policy"] == "cheapest_at_max_n" and list(s["arms"]) == ["reco_push"]
    assert len(plan) >= 4_999


def test_drawn_customers_never_break_the_budget() -> None:
    """Heavy-tailed order amounts: the drawn customers' pct cost may exceed the sizing's
    average; the last-drawn treated rows are dropped until the budget holds."""
    users = _users(4_000, seed=3, sigma=2.0)
    catalog = {"coupon_pct": CATALOG["coupon_pct"]}
    trimmed = 0
    for seed in range(6):
        plan, s = _run(users=users, catalog=catalog, mde=None, budget=400.0, seed=seed)
        _check_budget(plan, s)
        arm = s["arms"]["coupon_pct"]
        assert (plan["action"] == "coupon_pct").sum() == arm["n_treatment"]
        trimmed += any("dropped" in n for n in s["notes"])
    assert trimmed  # the guard did work for some seed


def test_missing_aov_is_filled_or_refused() -> None:
    users = USERS.head(20_000).copy()
    users.loc[:9, "aov"] = np.nan
    plan, s = _run(users=users, mde=None, budget=500.0)
    assert any("10 users without an aov" in n for n in s["notes"])
    assert np.isfinite(plan["cost"]).all()
    no_aov = users[["user_id"]]
    plan, s = _run(users=no_aov, catalog={"reco_push": CATALOG["reco_push"]})
    assert list(s["arms"]) == ["reco_push"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"budget": 0.0}, "budget 0.0 must be more than 0"),
        ({"budget": float("inf")}, "budget inf"),
        ({"baseline_rate": 1.5}, "baseline_rate 1.5"),
        ({"mde": 0.95}, "mde 0.95"),
        ({"mde": -0.01}, "mde -0.01"),
        ({"control_share": 0.0}, "control_share 0.0"),
        ({"max_share": 0.0}, "max_share 0.0"),
        ({"alpha": 1.0}, "alpha 1.0"),
        ({"catalog": {}}, "no actions"),
        ({"catalog": {"x": Action("x", "gift")}}, "kind 'gift'"),
        ({"catalog": {"control": CATALOG["reco_push"]}}, "reserved"),
        ({"users": USERS[["aov"]]}, "user_id column"),
        ({"users": pd.concat([USERS.head(5), USERS.head(1)])}, "repeats user_id 'u00000'"),
        ({"users": USERS[["user_id"]]}, "pct action(s) coupon_pct need users.aov"),
        ({"users": USERS.assign(aov=-1.0)}, "negative"),
        ({"budget": 0.005}, "cannot pay one contact of reco_push"),
        ({"budget": 0.005, "mde": None}, "cannot pay one contact in every arm"),
        ({"budget": 0.02}, "could not detect any change"),
    ],
)
def test_bad_input_is_a_one_line_error(change: dict, message: str) -> None:
    with pytest.raises(LiucunError) as e:
        _run(**change)
    text = str(e.value)
    assert message in text and "\n" not in text and text.startswith("first test: ")
