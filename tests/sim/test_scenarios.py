"""Scenario worlds: the default is today's shop, each world is what it says, the truth
stays exact in each (fatigue and the hidden response included), nothing leaks into the
visible files, and no world changes a module global for the next one."""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from liucun.cli import app
from liucun.errors import LiucunError
from liucun.sim import ACTIONS, SCENARIOS, Scenario, get_scenario, score_plan, simulate, truth
from liucun.sim.engine import Columns
from liucun.sim.scenarios import DEFAULT, ActionOverride
from liucun.sim.shop import build

TINY = {"users": 400, "days": 120, "holdout_days": 30, "seed": 3}
VISIBLE = ("users", "items", "events", "orders", "order_items", "reviews", "treatments")


def _frames(root: Path) -> dict[str, pd.DataFrame]:
    """Every Parquet file under ``root`` by relative path."""
    return {str(f.relative_to(root)): pd.read_parquet(f) for f in sorted(root.rglob("*.parquet"))}


def _meta(root: Path) -> dict:
    return json.loads((root / "truth" / "simulation.json").read_text(encoding="utf-8"))


def _net(root: Path) -> pd.Series:
    """Mean true net effect (incremental revenue minus the contact cost) per action."""
    effects = pd.read_parquet(root / "truth" / "effects.parquet")
    cost = {k: a["contact_cost"] for k, a in _meta(root)["actions"].items()}
    return (
        (effects["incremental_revenue"] - effects["action"].map(cost))
        .groupby(effects["action"])
        .mean()
    )


# -- the default world is today's ----------------------------------------------------------
def test_default_is_unchanged_and_no_world_leaks_into_the_next(tmp_path: Path) -> None:
    before = copy.deepcopy(ACTIONS)
    simulate(tmp_path / "plain", **TINY)
    # Other worlds in the same process first: nothing they set may survive them.
    simulate(tmp_path / "losing", scenario="losing_actions", **TINY)
    simulate(tmp_path / "fatigue", scenario="fatigue", **TINY)
    simulate(tmp_path / "named", scenario="default", **TINY)
    simulate(tmp_path / "copy", scenario=dataclasses.replace(DEFAULT, name="copy"), **TINY)
    assert before == ACTIONS
    plain = _frames(tmp_path / "plain")
    assert len(plain) == 2 * len(VISIBLE) + 5  # history, holdout and five truth files
    for other in ("named", "copy"):
        frames = _frames(tmp_path / other)
        assert frames.keys() == plain.keys()
        for name, df in plain.items():
            pd.testing.assert_frame_equal(frames[name], df, obj=f"{other}/{name}")
    # Today's columns: a default world carries no scenario-only column.
    assert list(plain["truth/effects.parquet"].columns) == [
        "user_id",
        "action",
        "incremental_revenue",
        "expected_cost",
        "horizon_days",
    ]
    m = _meta(tmp_path / "plain")
    assert m == _meta(tmp_path / "named")
    assert m["scenario"] == {
        "name": "default",
        "description": DEFAULT.description,
        "parameters": json.loads(json.dumps(DEFAULT.parameters())),
    }
    assert m["actions"] == {k: dataclasses.asdict(a) for k, a in ACTIONS.items()}
    # A different world really is different (the comparison above can fail).
    losing = _frames(tmp_path / "losing")["truth/effects.parquet"]
    assert not np.allclose(
        losing["incremental_revenue"], plain["truth/effects.parquet"]["incremental_revenue"]
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_world_simulates_quickly(tmp_path: Path, name: str) -> None:
    t0 = time.perf_counter()
    r = simulate(tmp_path, scenario=name, **TINY)
    assert time.perf_counter() - t0 < 20
    assert r.scenario == name
    sc = SCENARIOS[name]
    m = _meta(tmp_path)
    assert m["scenario"]["name"] == name and m["scenario"]["description"] == sc.description
    assert m["scenario"]["parameters"] == json.loads(json.dumps(sc.parameters()))
    assert m["actions"] == {k: dataclasses.asdict(a) for k, a in sc.actions.items()}
    customers = pd.read_parquet(tmp_path / "truth" / "customers.parquet")
    effects = pd.read_parquet(tmp_path / "truth" / "effects.parquet")
    assert len(effects) == len(customers) * len(ACTIONS) > 0
    assert np.isfinite(effects[["incremental_revenue", "expected_cost"]].to_numpy()).all()
    for table in VISIBLE:
        assert (tmp_path / f"{table}.parquet").exists(), table


# -- what each world promises --------------------------------------------------------------
SIGNS = {"users": 2000, "days": 200, "holdout_days": 90, "seed": 1}


def test_losing_actions_lose_and_a_coupon_earns(tmp_path: Path) -> None:
    simulate(tmp_path / "l", scenario="losing_actions", **SIGNS)
    simulate(tmp_path / "d", **SIGNS)
    net, default = _net(tmp_path / "l"), _net(tmp_path / "d")
    print(net, default)
    assert net["free_shipping"] < 0 and net["reco_push"] < 0
    assert net["coupon_fixed"] > 0
    assert abs(net["coupon_pct"]) < net["coupon_fixed"]  # about breaks even
    assert default["free_shipping"] > 0  # the override, not the shop, makes it lose


def test_sleeping_dogs_turn_coupons_negative_but_not_the_push(tmp_path: Path) -> None:
    simulate(tmp_path, scenario="sleeping_dogs", **SIGNS)
    net = _net(tmp_path)
    print(net)
    assert (net[["coupon_fixed", "coupon_pct", "free_shipping"]] < 0).all()
    assert net["reco_push"] > 0
    customers = pd.read_parquet(tmp_path / "truth" / "customers.parquet")
    assert (customers["contact_aversion"] > 0).mean() > 0.25  # today's share is about 0.13


def test_no_history_has_an_empty_treatments_file(tmp_path: Path) -> None:
    r = simulate(tmp_path, scenario="no_history", **TINY)
    tr = pd.read_parquet(tmp_path / "treatments.parquet")
    assert len(tr) == 0 and r.counts["treatments"] == 0
    assert list(tr.columns) == ["user_id", "ts", "campaign_id", "action", "arm", "cost"]
    # No campaign offer was ever redeemed: only welcome coupons appear on orders.
    codes = set(pd.read_parquet(tmp_path / "orders.parquet")["coupon_code"].dropna())
    assert codes <= {"NEW10"}
    effects = pd.read_parquet(tmp_path / "truth" / "effects.parquet")
    assert set(effects["action"]) == set(ACTIONS)  # the truth still prices every action


def test_short_history_runs_only_the_last_three_campaigns(tmp_path: Path) -> None:
    kw = {"users": 400, "days": 300, "holdout_days": 30, "seed": 3}
    simulate(tmp_path / "d", **kw)
    r = simulate(tmp_path / "s", scenario="short_history", **kw)
    full = pd.read_parquet(tmp_path / "d" / "treatments.parquet")
    short = pd.read_parquet(tmp_path / "s" / "treatments.parquet")
    assert full["campaign_id"].nunique() >= 8
    assert sorted(short["campaign_id"].unique()) == sorted(full["campaign_id"].unique())[-3:]
    cut = pd.Timestamp(r.start, tz="UTC") + pd.Timedelta(days=kw["days"])
    assert short["ts"].min() >= cut - pd.Timedelta(days=3 * 31 + 14)


def test_the_hidden_multiplier_is_in_no_visible_file(tmp_path: Path) -> None:
    kw = {"users": 2000, "days": 120, "holdout_days": 30, "seed": 5}
    shop = build(
        kw["users"], kw["days"], kw["holdout_days"], kw["seed"], scenario="hidden_response"
    )
    hidden = shop.cust.hidden_response
    assert hidden.std() > 0.5 and abs(hidden.mean() - 1) < 0.1
    assert (build(300, 60, 10, 5).cust.hidden_response == 1).all()  # none by default
    # Independent of the observable traits (|r| under four standard errors of zero).
    bound = 4 / np.sqrt(len(hidden))
    c = shop.cust
    for trait in (c.discount_sensitivity, c.rate, c.contact_aversion, c.region, c.channel):
        assert abs(np.corrcoef(hidden, trait)[0, 1]) < bound
    simulate(tmp_path, scenario="hidden_response", **kw)
    for f in [*tmp_path.glob("*.parquet"), *(tmp_path / "truth" / "holdout").glob("*.parquet")]:
        df = pd.read_parquet(f)
        for col in df.columns:
            assert "hidden" not in col.lower(), f
            v = df[col]
            if pd.api.types.is_float_dtype(v):
                assert not np.isin(hidden, v.dropna().to_numpy()).any(), (f.name, col)
            elif v.dtype == object:
                assert not v.astype(str).str.contains("hidden").any(), (f.name, col)
    # ... yet it drives the true effects.
    effects = pd.read_parquet(tmp_path / "truth" / "effects.parquet")
    push = effects[effects["action"] == "reco_push"].set_index("user_id")["incremental_revenue"]
    h = pd.Series(hidden, index=shop.cust.user_id).reindex(push.index)
    assert np.corrcoef(h[push != 0], push[push != 0])[0, 1] > 0.2


# -- the truth stays exact under fatigue and the hidden response ---------------------------
MC = {"users": 4000, "days": 200, "holdout_days": 30, "seed": 11}
REPLICATES = 12


def _run_to_cut(scenario: str):
    shop = build(MC["users"], MC["days"], MC["holdout_days"], MC["seed"], scenario=scenario)
    for t in range(MC["days"]):
        shop.engine.step(t)
    return shop


def _truth(shop, scenario: Scenario) -> pd.DataFrame:
    season = shop.season[MC["days"] :]
    _, effects = truth.customers_truth(
        shop.cust, shop.cat, shop.engine.state.snapshot(), MC["days"], season, scenario
    )
    return effects


def _realised_discounts(shop, action: str, rep: int) -> np.ndarray:
    """Every known customer gets ``action`` at D; discounts redeemed in its window."""
    e = copy.copy(shop.engine)
    e.state = shop.engine.state.snapshot()
    e.rng = np.random.default_rng([MC["seed"], rep])
    e.events, e.orders, e.lines, e.reviews, e.treatments = (Columns() for _ in range(5))
    known = truth.known_at(shop.cust, MC["days"])
    e.contact(MC["days"], known, action, "test")
    for t in range(MC["days"], MC["days"] + e.actions[action].window_days):
        e.step(t, campaigns=False)
    o = e.orders.done()
    return np.bincount(o["user"], o["discount"], minlength=shop.cust.size)[known]


def _gap_in_se(realised: list[np.ndarray], expected: np.ndarray, sel: np.ndarray) -> float:
    total = sum(float(r[sel].sum()) for r in realised)
    se = np.sqrt(sum(float((r[sel] ** 2).sum()) for r in realised))
    return (total - len(realised) * float(expected[sel].sum())) / se


def test_fatigue_truth_is_exact_and_counts_contacts_before_the_cut() -> None:
    sc = SCENARIOS["fatigue"]
    shop = _run_to_cut("fatigue")
    known = truth.known_at(shop.cust, MC["days"])
    recent = sc.recent_contacts(shop.engine.state.contacts, known, MC["days"], shop.cust.size)
    assert recent is not None and (recent >= 1).mean() > 0.3
    effects = _truth(shop, sc)
    naive = _truth(shop, dataclasses.replace(sc, fatigue_days=0))
    a = "coupon_fixed"
    rows = (effects["action"] == a).to_numpy()
    expected = effects.loc[rows, "expected_cost"].to_numpy() - ACTIONS[a].contact_cost
    expected_naive = naive.loc[rows, "expected_cost"].to_numpy() - ACTIONS[a].contact_cost
    realised = [_realised_discounts(shop, a, rep) for rep in range(REPLICATES)]
    tired = recent >= 1
    z = _gap_in_se(realised, expected, tired)
    z_naive = _gap_in_se(realised, expected_naive, tired)
    print(f"fatigue: truth z {z:+.2f}, truth without fatigue z {z_naive:+.2f}")
    assert abs(z) < 4
    assert z_naive < -6  # a truth that forgot the contacts before D is caught
    assert abs(_gap_in_se(realised, expected, ~tired)) < 4
    # Recently contacted customers are worth less to contact again; the others are not.
    for action in ACTIONS:
        r = (effects["action"] == action).to_numpy()
        e, n = effects.loc[r, "incremental_revenue"].to_numpy(), naive.loc[r, "incremental_revenue"]
        n = n.to_numpy()
        assert np.array_equal(e[~tired], n[~tired]), action
        assert e[tired].mean() < n[tired].mean(), action
    push = (effects["action"] == "reco_push").to_numpy()
    assert (
        effects.loc[push, "incremental_revenue"].to_numpy()[tired]
        <= naive.loc[push, "incremental_revenue"].to_numpy()[tired] + 1e-9
    ).all()


def test_hidden_response_truth_is_exact() -> None:
    sc = SCENARIOS["hidden_response"]
    shop = _run_to_cut("hidden_response")
    known = truth.known_at(shop.cust, MC["days"])
    effects = _truth(shop, sc)
    naive = _truth(shop, dataclasses.replace(sc, hidden_share=0.0))
    a = "free_shipping"  # a discount on every order in the window: follows the lift
    rows = (effects["action"] == a).to_numpy()
    expected = effects.loc[rows, "expected_cost"].to_numpy() - ACTIONS[a].contact_cost
    expected_naive = naive.loc[rows, "expected_cost"].to_numpy() - ACTIONS[a].contact_cost
    realised = [_realised_discounts(shop, a, rep) for rep in range(REPLICATES)]
    high = shop.cust.hidden_response[known] > 1.5
    z_high = _gap_in_se(realised, expected, high)
    z_low = _gap_in_se(realised, expected, ~high)
    z_naive = _gap_in_se(realised, expected_naive, high)
    print(f"hidden: z high {z_high:+.2f}, low {z_low:+.2f}, naive high {z_naive:+.2f}")
    assert abs(z_high) < 4 and abs(z_low) < 4
    assert z_naive > 6  # a truth blind to the multiplier misses the strong responders


# -- scenario objects, contact costs and the command line ----------------------------------
def test_unknown_and_invalid_scenarios_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="known: default, losing_actions"):
        get_scenario("nope")
    with pytest.raises(ValueError, match="unknown scenario"):
        simulate(tmp_path / "x", scenario="nope", **TINY)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="unknown action"):
        Scenario("bad", "x", action_overrides=(ActionOverride("sms"),))
    with pytest.raises(ValueError, match="fatigue_lift"):
        Scenario("bad", "x", fatigue_lift=1.5)
    with pytest.raises(ValueError, match="campaign_months"):
        Scenario("bad", "x", campaign_months=-1)
    assert get_scenario(DEFAULT) is DEFAULT


def test_a_world_with_its_own_contact_costs_is_scored_with_them(tmp_path: Path) -> None:
    pricey = Scenario(
        "pricey", "an SMS push", action_overrides=(ActionOverride("reco_push", contact_cost=2.0),)
    )
    simulate(tmp_path, scenario=pricey, **TINY)
    effects = pd.read_parquet(tmp_path / "truth" / "effects.parquet")
    cost = effects.groupby("action")["contact_cost"].first()
    assert cost["reco_push"] == 2.0 and cost["coupon_fixed"] == ACTIONS["coupon_fixed"].contact_cost
    push = effects[effects["action"] == "reco_push"]
    assert np.allclose(push["expected_cost"], 2.0)  # no discount: the contact alone
    users = push["user_id"].to_numpy()
    s = score_plan(pd.DataFrame({"user_id": users, "action": "reco_push"}), effects)
    assert s["contact_cost"] == pytest.approx(2.0 * len(users))
    assert s["net_value"] == pytest.approx(push["incremental_revenue"].sum() - 2.0 * len(users))
    explicit = score_plan(
        pd.DataFrame({"user_id": users, "action": "reco_push"}), effects, {"reco_push": 0.5}
    )
    assert explicit["contact_cost"] == pytest.approx(0.5 * len(users))


def test_cli_lists_worlds_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["simulate", "--list-scenarios"])
    assert r.exit_code == 0, r.output
    for sc in SCENARIOS.values():
        assert sc.name in r.output and sc.description.split()[0] in r.output
    r = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--scenario", "nope"])
    assert isinstance(r.exception, LiucunError)
    assert str(r.exception) == (f"--scenario nope: unknown; known: {', '.join(SCENARIOS)}")
    assert not (tmp_path / "x").exists()
    out = tmp_path / "shop"
    args = ["simulate", "--out", str(out), "--users", "300", "--days", "90"]
    r = CliRunner().invoke(app, [*args, "--holdout-days", "10", "--scenario", "no_history"])
    assert r.exit_code == 0, r.output
    assert _meta(out)["scenario"]["name"] == "no_history"
    assert len(pd.read_parquet(out / "treatments.parquet")) == 0


def test_process_scales_for_churn_worlds_change_only_the_process() -> None:
    """The extension point for churn worlds (issue 19): rate, dropout and hazard scales."""
    churny = Scenario("churny", "x", rate_scale=2.0, dropout_scale=3.0, hazard_scale=0.5)
    base = build(600, 60, 10, 4).cust
    scaled = build(600, 60, 10, 4, scenario=churny).cust
    ordinary = base.abuse_kind == ""  # abusers' rates and dropouts are set, not drawn
    assert np.allclose(scaled.rate[ordinary], 2.0 * base.rate[ordinary])
    assert np.allclose(scaled.hazard, 0.5 * base.hazard)
    want = np.minimum(3.0 * base.dropout[ordinary], 1.0)
    assert np.allclose(scaled.dropout[ordinary], want) and (want == 1.0).any()
    # Everything else is drawn exactly as before.
    assert np.array_equal(scaled.contact_aversion, base.contact_aversion)
    assert np.array_equal(scaled.candidates, base.candidates)
