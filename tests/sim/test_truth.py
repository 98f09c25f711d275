"""The truth is exact expectation: realised outcomes must agree with it within sampling error.

Tolerances are 4 standard errors of the realised figure. Where a figure is a sum over
independent customers, its variance is estimated by the sum of the squared per-customer
realisations (an unbiased estimate of Σ E[X²] ≥ Σ Var X, so the test is conservative).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from liucun.sim import ACTIONS, score_plan, truth
from liucun.sim.engine import Columns, Engine
from liucun.sim.population import (
    SHIPPING_FEE,
    Catalog,
    Customers,
    expected_gross,
)
from liucun.sim.shop import build

if TYPE_CHECKING:
    from conftest import SimRun  # tests/sim/conftest.py

Z = 4.0  # tolerance in standard errors


def _within(name: str, realised: float, expected: float, se: float, slack: float = 0.0) -> None:
    z = (realised - expected) / se
    print(f"{name}: realised {realised:.4f}, truth {expected:.4f}, se {se:.4f}, z {z:+.2f}")
    assert -Z * se <= realised - expected <= Z * se + slack, f"{name}: z = {z:.2f}"


# -- realised holdout against truth/customers and truth/demand -------------------------
@pytest.fixture(scope="module")
def customers(sim20k: SimRun) -> pd.DataFrame:
    return sim20k.truth("customers").set_index("user_id")


@pytest.fixture(scope="module")
def placed(sim20k: SimRun) -> pd.DataFrame:
    """Holdout orders placed in [D, D + H) (the file also carries updates of older ones)."""
    o = sim20k.holdout("orders")
    return o[(o["ts"] >= sim20k.cut) & (o["ts"] < sim20k.end)]


@pytest.fixture(scope="module")
def known_orders(placed: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    return placed[placed["user_id"].isin(customers.index)]


def _per_customer(values: pd.Series, customers: pd.DataFrame) -> np.ndarray:
    return values.reindex(customers.index, fill_value=0).to_numpy(dtype=float)


def test_holdout_updates_only_older_orders(sim20k: SimRun) -> None:
    o = sim20k.holdout("orders")
    older = o[o["ts"] < sim20k.cut]
    assert (older["status"] != "paid").all()
    assert (o["ts"] < sim20k.end).all()


def test_purchase_probability(customers: pd.DataFrame, known_orders: pd.DataFrame) -> None:
    p = customers["p_purchase_h"].to_numpy()
    bought = _per_customer(known_orders.groupby("user_id").size(), customers) > 0
    se = np.sqrt((p * (1 - p)).sum()) / len(p)  # Poisson-binomial standard error
    _within("share with a purchase", bought.mean(), p.mean(), se)
    # Calibrated across the range, not only on average.
    edges = [0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0]
    bins = pd.cut(p, edges, include_lowest=True)
    for b in bins.categories:
        m = np.asarray(bins == b)
        if m.sum() < 100:
            continue
        se_b = np.sqrt((p[m] * (1 - p[m])).sum()) / m.sum()
        _within(f"  p in {b} (n={m.sum()})", bought[m].mean(), p[m].mean(), max(se_b, 1e-3))


def test_expected_orders(customers: pd.DataFrame, known_orders: pd.DataFrame) -> None:
    n = _per_customer(known_orders.groupby("user_id").size(), customers)
    se = np.sqrt((n**2).sum())
    _within("orders by known customers", n.sum(), customers["expected_orders_h"].sum(), se)


def test_expected_revenue(
    sim20k: SimRun, customers: pd.DataFrame, known_orders: pd.DataFrame
) -> None:
    """Revenue = amount of orders not refunded or cancelled.

    The holdout carries what is known at D + H: an order placed in the last two weeks may
    still be refunded later (refunds land 3-14 days after the order) and shows as paid.
    That can only inflate the realised figure, by about the refund share of the last two
    weeks' revenue: the one-sided slack below, with the refund share measured on the
    holdout orders whose status is final. The sampling error (about 3.5% of the total at
    20k customers, from the spread of basket values) dominates it.
    """
    paid = known_orders[known_orders["status"] == "paid"]
    rev = _per_customer(paid.groupby("user_id")["amount"].sum(), customers)
    se = np.sqrt((rev**2).sum())
    settled = known_orders["ts"] < sim20k.end - pd.Timedelta(days=14)
    final = known_orders[settled]
    refund_share = final.loc[final["status"] == "refunded", "amount"].sum() / final["amount"].sum()
    slack = refund_share * paid.loc[~settled.loc[paid.index], "amount"].sum()
    expected = customers["expected_revenue_h"].sum()
    print(f"relative error {rev.sum() / expected - 1:+.4f}, slack {slack:.0f}")
    _within("paid revenue of known customers", rev.sum(), expected, se, slack)


def test_basket_value(shop_at_cut: ShopAtCut, known_orders: pd.DataFrame) -> None:
    """Goods value per order (amount + discount - shipping) against ``expected_gross``.

    Expected revenue is P(paid) x expected orders x (expected goods value + shipping);
    the goods value is checked here order by order, far more precisely than the revenue
    total can be (and the Monte Carlo experiments below lean on it).
    """
    shop = shop_at_cut
    value = pd.Series(expected_gross(shop.cust, shop.cat.price), index=shop.cust.user_id)
    expected = value.reindex(known_orders["user_id"]).to_numpy()
    gross = (known_orders["amount"] + known_orders["discount"] - SHIPPING_FEE).to_numpy()
    se = np.sqrt((gross**2).sum())
    _within("goods value of holdout orders", gross.sum(), expected.sum(), se)
    # Per order, the realised spread is the basket's; the mean error is far below it.
    assert abs(gross.mean() / expected.mean() - 1) < 0.05


def test_demand(sim20k: SimRun, placed: pd.DataFrame) -> None:
    demand = sim20k.truth("demand")
    dates = pd.date_range(sim20k.cut, periods=sim20k.result.holdout_days, freq="D").date
    assert sorted(demand["date"].unique()) == list(dates)
    items = sim20k.history("items", ("item_id", "category"))
    assert set(demand["item_id"]) == set(items["item_id"])
    assert (demand["expected_units"] >= 0).all()

    lines = sim20k.holdout("order_items", ("order_id", "item_id", "quantity"))
    assert lines["order_id"].isin(placed["order_id"]).all()
    lines = lines.merge(placed[["order_id", "user_id", "ts"]], on="order_id")
    top = items.set_index("item_id")["category"].str.split("/").str[0]
    lines["top"] = lines["item_id"].map(top)
    lines["date"] = lines["ts"].dt.date
    demand["top"] = demand["item_id"].map(top)

    def check(name: str, sel: pd.Series, expected: float) -> None:
        units = lines[sel].groupby("user_id")["quantity"].sum()
        _within(name, units.sum(), expected, np.sqrt((units.to_numpy(float) ** 2).sum()))

    check("units sold", lines["quantity"] > 0, demand["expected_units"].sum())
    for name, exp in demand.groupby("top")["expected_units"].sum().items():
        check(f"  units of {name}", lines["top"] == name, exp)
    for date, exp in demand.groupby("date")["expected_units"].sum().items():
        units = lines[lines["date"] == date].groupby("user_id")["quantity"].sum()
        se = np.sqrt((units.to_numpy(float) ** 2).sum())
        assert abs(units.sum() - exp) <= Z * se, f"units on {date}: {units.sum()} vs {exp:.1f}"


# -- the effects file -------------------------------------------------------------------
def test_effects_cover_every_customer_and_action(sim20k: SimRun) -> None:
    effects = sim20k.truth("effects")
    known = sim20k.truth("customers")["user_id"]
    assert list(effects.columns) == [
        "user_id",
        "action",
        "incremental_revenue",
        "expected_cost",
        "horizon_days",
    ]
    assert len(effects) == len(known) * len(ACTIONS)
    pairs = effects.groupby("user_id")["action"].agg(frozenset)
    assert set(pairs.index) == set(known)
    assert (pairs == frozenset(ACTIONS)).all()
    assert (effects["horizon_days"] == sim20k.result.holdout_days).all()
    assert np.isfinite(effects[["incremental_revenue", "expected_cost"]]).all().all()


def test_effect_costs_and_dead_customers(sim20k: SimRun) -> None:
    effects = sim20k.truth("effects")
    alive = sim20k.truth("customers").set_index("user_id")["alive"]
    contact = effects["action"].map({k: a.contact_cost for k, a in ACTIONS.items()})
    assert (effects["expected_cost"] >= contact - 1e-12).all()
    no_discount = effects["action"].map({k: a.kind == "none" for k, a in ACTIONS.items()})
    assert np.allclose(effects.loc[no_discount, "expected_cost"], contact[no_discount])
    dead = ~effects["user_id"].map(alive)
    assert dead.any()
    assert (effects.loc[dead, "incremental_revenue"] == 0).all()
    assert np.allclose(effects.loc[dead, "expected_cost"], contact[dead])


def test_score_plan(sim20k: SimRun) -> None:
    effects = sim20k.truth("effects")
    users = effects["user_id"].unique()
    best = effects.loc[effects.groupby("user_id")["incremental_revenue"].idxmax()]
    best = best[best["incremental_revenue"] > 0]
    plan = best[["user_id", "action"]]
    scored = score_plan(plan, effects)
    assert scored["customers"] == len(best)
    assert scored["incremental_revenue"] == pytest.approx(best["incremental_revenue"].sum())
    assert scored["expected_cost"] == pytest.approx(best["expected_cost"].sum())
    contact = best["action"].map({k: a.contact_cost for k, a in ACTIONS.items()}).sum()
    assert scored["contact_cost"] == pytest.approx(contact)
    assert scored["net_value"] == pytest.approx(scored["incremental_revenue"] - contact)
    # The best positive action per customer beats any other single action for everyone.
    for action in ACTIONS:
        one = score_plan(pd.DataFrame({"user_id": users, "action": action}), effects)
        assert one["incremental_revenue"] < scored["incremental_revenue"]

    # An all-control plan (or an empty one) earns and costs nothing.
    nothing = {
        "incremental_revenue": 0.0,
        "expected_cost": 0.0,
        "contact_cost": 0.0,
        "net_value": 0.0,
        "customers": 0,
    }
    assert score_plan(pd.DataFrame({"user_id": users, "action": "control"}), effects) == nothing
    assert score_plan(pd.DataFrame({"user_id": [], "action": []}), effects) == nothing

    # Control rows earn and cost nothing.
    rest = pd.DataFrame({"user_id": np.setdiff1d(users, plan["user_id"]), "action": "control"})
    assert score_plan(pd.concat([plan, rest]), effects) == scored

    strangers = pd.DataFrame({"user_id": ["nobody-1", "nobody-2"], "action": "coupon_fixed"})
    unknown_action = pd.DataFrame({"user_id": users[:3], "action": "no_such_action"})
    padded = score_plan(pd.concat([plan, strangers, unknown_action]), effects)
    assert padded["incremental_revenue"] == pytest.approx(scored["incremental_revenue"])
    assert padded["expected_cost"] == pytest.approx(scored["expected_cost"])


# -- Monte Carlo experiments with the engine itself --------------------------------------
USERS, DAYS, HOLDOUT, SEED = 20_000, 365, 90, 7  # the sim20k shop
REPLICATES = 16  # independent holdout branches per action in the randomised experiment


@dataclass
class ShopAtCut:
    """The sim20k shop run to day D, with its truth; branches replay the holdout."""

    cust: Customers
    cat: Catalog
    engine: Engine
    customers: pd.DataFrame
    effects: pd.DataFrame
    known: np.ndarray  # customer indices known at D, in truth row order

    def branch(self, seed: int, who: np.ndarray, action: str | None, days: int) -> dict:
        """Contact ``who`` with ``action`` at D, run ``days`` days; the orders placed."""
        e = copy.copy(self.engine)  # catalogue and customers are shared, read only
        e.state = self.engine.state.snapshot()
        e.rng = np.random.default_rng(seed)
        e.events, e.orders, e.lines = Columns(), Columns(), Columns()
        e.reviews, e.treatments = Columns(), Columns()
        if action is not None:
            e.contact(DAYS, who, action, "test")
        for t in range(DAYS, DAYS + days):
            e.step(t, campaigns=False)
        return e.orders.done()


@pytest.fixture(scope="module")
def shop_at_cut(sim20k: SimRun) -> ShopAtCut:
    """Built exactly as ``liucun.sim.shop.simulate`` builds it (timestamps aside)."""
    shop = build(USERS, DAYS, HOLDOUT, SEED)
    cat, cust, season, engine = shop.cat, shop.cust, shop.season, shop.engine
    for t in range(DAYS):
        engine.step(t)
    customers, effects = truth.customers_truth(
        cust, cat, engine.state.snapshot(), DAYS, season[DAYS:]
    )
    # The same shop as the sim20k files: the experiment tests the truth that was written.
    written = sim20k.truth("customers")
    assert list(customers["user_id"]) == list(written["user_id"])
    assert np.allclose(customers["expected_revenue_h"], written["expected_revenue_h"])
    return ShopAtCut(cust, cat, engine, customers, effects, truth.known_at(cust, DAYS))


def _net_revenue(shop: ShopAtCut, orders: dict) -> np.ndarray:
    """Net revenue per known customer, with each order's goods at their expected value.

    An order's items (so its goods value) are drawn independently of whether and when the
    order happens and of its status, so replacing the realised goods value by its exact
    expectation (``expected_gross``, checked order by order in ``test_basket_value``)
    keeps the estimate unbiased and removes most of its variance (basket prices spread
    widely). Discounts stay as realised.
    """
    value = expected_gross(shop.cust, shop.cat.price) + SHIPPING_FEE
    paid = orders["status"] == "paid"
    user = orders["user"][paid]
    net = np.bincount(user, value[user] - orders["discount"][paid], minlength=shop.cust.size)
    return net[shop.known]


@pytest.mark.parametrize("action", ["coupon_fixed", "reco_push"])
def test_effects_in_a_randomised_experiment(shop_at_cut: ShopAtCut, action: str) -> None:
    """Half the known customers get ``action`` at D; treated minus control vs the truth.

    Net revenue is compared after subtracting each customer's true no-action expectation
    (a covariate adjustment: still unbiased under randomisation, and less noisy).
    """
    shop = shop_at_cut
    incr = shop.effects.loc[shop.effects["action"] == action, "incremental_revenue"].to_numpy()
    base = shop.customers["expected_revenue_h"].to_numpy()
    diffs, targets, variances = [], [], []
    for rep in range(REPLICATES):
        treated = np.random.default_rng([SEED, rep, 1]).random(len(shop.known)) < 0.5
        orders = shop.branch(1000 + rep, shop.known[treated], action, HOLDOUT)
        y = _net_revenue(shop, orders) - base
        diffs.append(y[treated].mean() - y[~treated].mean())
        targets.append(incr[treated].mean())
        variances.append(
            y[treated].var(ddof=1) / treated.sum() + y[~treated].var(ddof=1) / (~treated).sum()
        )
    diff, target = float(np.mean(diffs)), float(np.mean(targets))
    se = float(np.sqrt(np.sum(variances))) / REPLICATES
    print(f"{action}: {diff / se:+.2f} se from zero")
    _within(f"{action} treated - control net revenue", diff, target, se)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_expected_discounts(shop_at_cut: ShopAtCut, action: str) -> None:
    """Every known customer gets ``action``; discounts redeemed in its window vs the truth.

    ``expected_cost`` = contact cost + expected discounts (coupons are used once, on the
    first order in the window; free shipping on every order in it), so this checks the
    window, the lift and the contact's dropout far more precisely than revenue can.
    """
    shop = shop_at_cut
    a = ACTIONS[action]
    rows = shop.effects["action"] == action
    expected = (shop.effects.loc[rows, "expected_cost"] - a.contact_cost).to_numpy()
    orders = shop.branch(2000, shop.known, action, a.window_days)
    # Known customers never get the welcome coupon, and no other offer runs in the holdout.
    per_customer = np.bincount(orders["user"], orders["discount"], minlength=shop.cust.size)
    realised = per_customer[shop.known]
    if a.kind == "none":
        assert realised.sum() == 0 and np.allclose(expected, 0)
        return
    _within(f"{action} discounts", realised.sum(), expected.sum(), np.sqrt((realised**2).sum()))
