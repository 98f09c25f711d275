"""Churn worlds (issue 19): each simulates, its truth is the exact chance of buying in the
holdout under the world's own hidden process, the hidden state is more than recency shows,
each is deterministic per seed, and the default shop is untouched by the machinery.

Tolerances are 4 standard errors. Whether a customer buys in the holdout is, given the
state at the cut, independent across customers and across replayed holdouts, so the
count of buyers has the Poisson-binomial variance Σ p(1 - p) over customers and replays.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from liucun.sim import SCENARIOS, simulate, truth
from liucun.sim.engine import Columns, Engine
from liucun.sim.population import Latent
from liucun.sim.scenarios import CHURN_WORLDS, DEFAULT, Scenario
from liucun.sim.shop import Shop, build

WORLDS = [sc.name for sc in CHURN_WORLDS]
TINY = {"users": 400, "days": 120, "holdout_days": 30, "seed": 3}
VISIBLE = ("users", "items", "events", "orders", "order_items", "reviews", "treatments")
Z = 4.0


def _frames(root: Path, sub: str = "") -> dict[str, pd.DataFrame]:
    base = root / sub if sub else root
    return {f.name: pd.read_parquet(f) for f in sorted(base.glob("*.parquet"))}


# -- every world simulates and says what it is ---------------------------------------------
def test_the_churn_worlds_are_listed_and_change_the_process() -> None:
    assert len(WORLDS) >= 4 and set(WORLDS) <= set(SCENARIOS)
    assert {"bgnbd_like", "hidden_chain", "seasonal", "replenishment"} <= set(WORLDS)
    for sc in CHURN_WORLDS:
        assert sc.churn_world and sc.latent is not None
        assert len(sc.description) < 180 and "\n" not in sc.description
    assert not any(SCENARIOS[n].churn_world for n in SCENARIOS if n not in WORLDS)


@pytest.mark.parametrize("name", WORLDS)
def test_each_churn_world_simulates(tmp_path: Path, name: str) -> None:
    r = simulate(tmp_path, scenario=name, **TINY)
    assert r.scenario == name
    sc = SCENARIOS[name]
    assert sc.latent is not None
    meta = json.loads((tmp_path / "truth" / "simulation.json").read_text(encoding="utf-8"))
    assert meta["scenario"]["parameters"]["latent"]["states"] == list(sc.latent.states)
    customers = pd.read_parquet(tmp_path / "truth" / "customers.parquet")
    assert set(customers["latent_state"]) <= {*sc.latent.states, "gone"}
    assert (customers["latent_state"] == "gone").to_numpy().tolist() == (
        ~customers["alive"]
    ).to_numpy().tolist()
    p = customers["p_purchase_h"].to_numpy()
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    assert (p[~customers["alive"].to_numpy()] == 0).all()  # the gone never buy again
    assert (customers["expected_orders_h"] >= customers["p_purchase_h"] - 1e-12).all()
    demand = pd.read_parquet(tmp_path / "truth" / "demand.parquet")
    assert np.isfinite(demand["expected_units"]).all() and (demand["expected_units"] >= 0).all()
    for table in VISIBLE:
        assert (tmp_path / f"{table}.parquet").exists(), table
    # The hidden state is in no visible file.
    for f in [*tmp_path.glob("*.parquet"), *(tmp_path / "truth" / "holdout").glob("*.parquet")]:
        for col in pd.read_parquet(f).columns:
            assert "latent" not in col and "state" not in col, (f.name, col)


def test_an_invalid_hidden_process_is_refused() -> None:
    with pytest.raises(ValueError, match="move must be 2x2"):
        Latent(states=("a", "b"), rate=(1, 1), browse=(1, 1), start=(1, 0), move=((1, 0),))
    with pytest.raises(ValueError, match="start must sum to 1"):
        Latent(states=("a", "b"), rate=(1, 1), browse=(1, 1), start=(0.5, 0.2),
               move=((1, 0), (0, 1)))  # fmt: skip
    with pytest.raises(ValueError, match="season_share"):
        Latent(season_share=1.5)


# -- the truth is exact under each world's own process -------------------------------------
MC = {"users": 3000, "days": 200, "holdout_days": 60}
REPLAYS = 6


def _at_cut(name: str | Scenario, seed: int = 5) -> Shop:
    shop = build(MC["users"], MC["days"], MC["holdout_days"], seed, scenario=name)
    for t in range(MC["days"]):
        shop.engine.step(t)
    return shop


def _replay(shop: Shop, rep: int) -> dict[str, np.ndarray]:
    """One independent holdout from the state at the cut: the orders placed."""
    e: Engine = copy.copy(shop.engine)
    e.state = shop.engine.state.snapshot()
    e.rng = np.random.default_rng([99, rep])
    e.latent_rng = np.random.default_rng([98, rep])
    e.events, e.orders, e.lines, e.reviews, e.treatments = (Columns() for _ in range(5))
    for t in range(MC["days"], MC["days"] + MC["holdout_days"]):
        e.step(t, campaigns=False)
    return {"orders": e.orders.done(), "lines": e.lines.done()}


def _z(bought: np.ndarray, p: np.ndarray, sel: np.ndarray) -> float:
    """(realised - expected buyers) in standard errors, over ``REPLAYS`` replays of ``sel``."""
    expected = REPLAYS * p[sel].sum()
    se = np.sqrt(REPLAYS * (p[sel] * (1 - p[sel])).sum())
    return float((bought[sel].sum() - expected) / se)


@pytest.mark.parametrize("name", WORLDS)
def test_the_truth_is_the_chance_of_buying_under_the_hidden_process(name: str) -> None:
    """Replayed holdouts buy as ``p_purchase_h`` says: overall, per hidden state and per
    band of p; a truth blind to the hidden state (everyone in the first state) is caught
    where the world has more than one state."""
    sc = SCENARIOS[name]
    assert sc.latent is not None
    shop = _at_cut(name)
    state = shop.engine.state.snapshot()
    season = shop.season[MC["days"] :]
    customers, _ = truth.customers_truth(shop.cust, shop.cat, state, MC["days"], season, sc)
    known = truth.known_at(shop.cust, MC["days"])
    p = customers["p_purchase_h"].to_numpy()
    bought = np.zeros(len(known))
    orders, orders_sq = 0.0, 0.0
    for rep in range(REPLAYS):
        o = _replay(shop, rep)["orders"]
        n = np.bincount(o["user"], minlength=shop.cust.size)[known]
        bought += n > 0
        orders += n.sum()
        orders_sq += float((n.astype(float) ** 2).sum())
    everyone = np.ones(len(p), bool)
    z = _z(bought, p, everyone)
    print(f"{name}: buyers z {z:+.2f}, mean p {p.mean():.3f}")
    assert abs(z) < Z
    for s in customers["latent_state"].unique():
        sel = (customers["latent_state"] == s).to_numpy()
        if s == "gone":
            assert bought[sel].sum() == 0
            continue
        if sel.sum() >= 100:
            assert abs(_z(bought, p, sel)) < Z, s
    for lo, hi in ((0.0, 0.15), (0.15, 0.4), (0.4, 1.0)):
        sel = (p > lo) & (p <= hi)
        if sel.sum() >= 100:
            assert abs(_z(bought, p, sel)) < Z, (lo, hi)
    # Expected orders: the total over replays against the truth, its variance estimated by
    # the squared realisations (unbiased for Σ E[X²] ≥ Σ Var X: conservative).
    z_orders = (orders - REPLAYS * customers["expected_orders_h"].sum()) / np.sqrt(orders_sq)
    print(f"{name}: orders z {z_orders:+.2f}")
    assert abs(z_orders) < Z
    if sc.latent.size > 1:
        blind = state.snapshot()
        assert blind.phase is not None
        blind.phase[:] = 0
        naive, _ = truth.customers_truth(shop.cust, shop.cat, blind, MC["days"], season, sc)
        z_naive = _z(bought, naive["p_purchase_h"].to_numpy(), everyone)
        print(f"{name}: a truth blind to the state: z {z_naive:+.2f}")
        assert abs(z_naive) > 2 * Z


@pytest.mark.parametrize("name", ["hidden_chain", "replenishment"])
def test_demand_truth_counts_arrivals_and_hidden_states(name: str) -> None:
    """Units sold in replayed holdouts (new sign-ups included) against truth/demand."""
    shop = _at_cut(name, seed=6)
    state = shop.engine.state.snapshot()
    season = shop.season[MC["days"] :]
    dates = pd.date_range("2030-01-01", periods=MC["holdout_days"], freq="D")
    demand = truth.demand_truth(shop.cust, shop.cat, state, MC["days"], season, dates)
    expected = demand["expected_units"].sum()
    total, sq = 0.0, 0.0
    for rep in range(REPLAYS):
        r = _replay(shop, rep)
        line_user = pd.Series(r["orders"]["user"], index=r["orders"]["order"])
        per_user = np.bincount(
            line_user.reindex(r["lines"]["order"]).to_numpy(),
            r["lines"]["qty"],
            minlength=shop.cust.size,
        )
        total += per_user.sum()
        sq += float((per_user.astype(float) ** 2).sum())
    z = (total - REPLAYS * expected) / np.sqrt(sq)
    print(f"{name}: units z {z:+.2f}")
    assert abs(z) < Z


# -- the hidden state is more than recency -------------------------------------------------
@pytest.mark.parametrize("name", WORLDS)
def test_the_truth_knows_more_than_recency(name: str) -> None:
    """The truth ranks holdout buyers clearly better than recency does, and is no
    monotone function of it: customers who last bought equally long ago differ."""
    sc = SCENARIOS[name]
    shop = build(5000, 300, 90, 8, scenario=name)
    for t in range(300):
        shop.engine.step(t)
    state = shop.engine.state.snapshot()
    customers, _ = truth.customers_truth(shop.cust, shop.cat, state, 300, shop.season[300:], sc)
    known = truth.known_at(shop.cust, 300)
    for t in range(300, 390):
        shop.engine.step(t, campaigns=False)
    o = shop.engine.orders.done()
    cut_us = shop.day0_us + 300 * 86_400 * 10**6
    y = np.isin(known, o["user"][o["ts"] >= cut_us])
    p = customers["p_purchase_h"].to_numpy()
    last = state.last_purchase[known]
    recency = np.where(last > -(10**8), 300 - last, 10**6).astype(float)
    auc_truth, auc_recency = roc_auc_score(y, p), roc_auc_score(y, -recency)
    print(f"{name}: truth AUC {auc_truth:.3f}, recency AUC {auc_recency:.3f}")
    assert auc_truth > auc_recency + 0.05
    alive = customers["alive"].to_numpy()
    rho = pd.Series(p[alive]).corr(pd.Series(-recency[alive]), method="spearman")
    assert rho < 0.8, rho
    # Among the alive who bought 30-120 days ago, the chance spreads widely.
    band = alive & (recency >= 30) & (recency < 120)
    q = np.quantile(p[band], [0.1, 0.9])
    assert q[1] > 2 * q[0], q


def test_hidden_chain_states_cross_recency() -> None:
    """Some recent buyers have already cooled or lapsed, some long-quiet ones are engaged."""
    sc = SCENARIOS["hidden_chain"]
    shop = build(5000, 300, 90, 9, scenario=sc)
    for t in range(300):
        shop.engine.step(t)
    st = shop.engine.state
    assert st.phase is not None
    known = truth.known_at(shop.cust, 300)
    alive = st.alive[known]
    recency = 300 - st.last_purchase[known]
    phase = st.phase[known]
    recent = alive & (recency <= 30)
    quiet = alive & (recency > 120)
    assert recent.sum() > 200 and quiet.sum() > 200
    assert (phase[recent] > 0).mean() > 0.05  # cooling or lapsed despite a recent order
    assert (phase[quiet] == 0).mean() > 0.05  # engaged despite months without one
    assert len(np.unique(phase[alive])) == 3


# -- deterministic; the default shop untouched ----------------------------------------------
@pytest.mark.parametrize("name", ["hidden_chain", "seasonal"])
def test_a_world_is_deterministic_per_seed(tmp_path: Path, name: str) -> None:
    simulate(tmp_path / "a", scenario=name, **TINY)
    simulate(tmp_path / "b", scenario=name, **TINY)
    simulate(tmp_path / "c", scenario=name, **{**TINY, "seed": TINY["seed"] + 1})
    for sub in ("", "truth"):
        a, b = _frames(tmp_path / "a", sub), _frames(tmp_path / "b", sub)
        assert a.keys() == b.keys() and a
        for k in a:
            pd.testing.assert_frame_equal(a[k], b[k], obj=f"{sub}/{k}")
    c = _frames(tmp_path / "c", "truth")["customers.parquet"]
    assert not c.equals(_frames(tmp_path / "a", "truth")["customers.parquet"])


def test_default_untouched_and_a_neutral_hidden_process_is_todays_shop(tmp_path: Path) -> None:
    """A hidden process with one state, no season and no noise runs exactly today's shop:
    the same visible bytes, the same truth through the chain code (the default world's
    own path draws nothing new and writes no new column)."""
    for name in WORLDS:  # churn worlds first in the same process: nothing may leak
        simulate(tmp_path / name, scenario=name, **TINY)
    simulate(tmp_path / "default", **TINY)
    neutral = dataclasses.replace(DEFAULT, name="neutral", latent=Latent())
    simulate(tmp_path / "neutral", scenario=neutral, **TINY)
    for sub in ("", "truth/holdout"):
        d, n = _frames(tmp_path / "default", sub), _frames(tmp_path / "neutral", sub)
        assert d.keys() == n.keys() and len(d) == len(VISIBLE)
        for k in d:
            pd.testing.assert_frame_equal(n[k], d[k], obj=f"{sub}/{k}")
    d, n = _frames(tmp_path / "default", "truth"), _frames(tmp_path / "neutral", "truth")
    dc, nc = d["customers.parquet"], n["customers.parquet"]
    assert "latent_state" not in dc.columns and set(nc["latent_state"]) <= {"active", "gone"}
    pd.testing.assert_frame_equal(nc[dc.columns], dc, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(n["effects.parquet"], d["effects.parquet"], rtol=1e-9)
    pd.testing.assert_frame_equal(n["demand.parquet"], d["demand.parquet"], rtol=1e-9)
    meta = json.loads((tmp_path / "default" / "truth" / "simulation.json").read_text("utf-8"))
    assert "latent" not in meta["scenario"]["parameters"]  # today's simulation.json keys
    # And the default engine carries no hidden process.
    shop = build(300, 30, 10, 1)
    assert shop.engine.state.latent is None and not shop.engine.state.phase.any()
