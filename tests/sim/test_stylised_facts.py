"""The simulated shop against published e-commerce stylised facts (20k customers, 1 year).

Every range below is a module constant with the published figure it rests on; the ranges
come from those figures, not from the simulator's output (the values measured with seed 7
are noted next to each, for reference). CDNOW figures were measured on
``lifetimes/datasets/CDNOW_master.txt`` (23,570 first-time buyers of Q1 1997, followed
for 18 months), the real sample that ``liucun`` itself ships an adapter for.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from liucun.sim import ACTIONS

if TYPE_CHECKING:
    from conftest import SimRun  # tests/sim/conftest.py

# Share of the year's buyers who bought exactly once in the year. Industry benchmark
# summaries put the average repeat-customer rate of online shops near 28%, most shops at
# 20-40% (60-80% one-time buyers), and shops selling consumables (food, beauty: 28% of this
# catalogue) at 40-60% repeat. CDNOW's 1997 buyers: 0.555 one-time within the calendar
# year. Measured: 0.48 (the high-repeat end).
ONE_TIME_SHARE = (0.40, 0.80)

# Add-to-cart events per product view (GA's "cart-to-detail rate"). The add-to-cart rates
# usually quoted (Monetate's, charted by Smart Insights, about 8-10%; other summaries about
# 11%) are per *session*; no per-view benchmark of the same standing was found, so this is
# the range the issue proposed around those figures. Measured: 0.104.
VIEW_TO_CART = (0.05, 0.15)

# Share of sessions with an add_to_cart that also contain a purchase. Baymard Institute's
# average of documented cart-abandonment studies is about 70%, so about 30% of carts are
# bought; the studies spread widely around that average, hence 20-45% completion.
# Measured: 0.404.
CART_TO_PURCHASE = (0.20, 0.45)

# Units sold by the top 20% of items (among items sold at least once in the year, as a
# shop's transaction log shows them): the Pareto rule puts it near 80%; long-tail studies
# of online retail (Brynjolfsson, Hu & Smith) find thinner heads than offline, hence down
# to 60%; above 92% would leave almost nothing to the tail. Measured: 0.868.
TOP20_UNITS_SHARE = (0.60, 0.92)

# Acquisition cohorts: share of first-half-year new buyers who buy again in month k (30-day
# blocks) after their first purchase. CDNOW: 0.131 in month 1, falling to 0.079 in month 6
# and flattening (the convex shape BG/NBD-type dropout produces); shops that sell
# consumables sit higher. Measured: 0.230, 0.169, 0.136, 0.116, 0.096, 0.070.
MONTH1_RETENTION = (0.10, 0.40)

# Promotion peaks against the median day (issue requirement; the calendar's docstring
# derives 5x / 2.8x day factors from Alibaba's and JD's published GMV). Measured: 4.47,
# 2.44.
SINGLES_DAY_MIN_RATIO = 3.0
JUNE_18_MIN_RATIO = 1.8
# Spring Festival: couriers stop for about ten days around Chinese New Year and orders
# roughly halve; the week (New Year's Day -3..+3) must sit below the median day and at most
# 0.75x the four weeks before the festival's ramp-down. Measured: 0.78x the median, 0.44x
# the weeks before (January runs high in this shop: customers who exist at the start all
# begin alive, so the median day understates the dip).
SPRING_FESTIVAL_MAX_RATIO_PRIOR = 0.75

# Uplift: heterogeneous responses with sleeping dogs as a minority (Radcliffe & Surry's
# uplift modelling literature: negative effects exist but for a minority of customers).
# Measured: sleeping dogs 2.0% of known customers, persuadables 23.3%.
SLEEPING_DOGS_MAX_SHARE = 0.15


@pytest.fixture(scope="module")
def orders(sim20k: SimRun) -> pd.DataFrame:
    o = sim20k.history("orders", ("order_id", "user_id", "ts", "status"))
    o["day"] = (o["ts"] - sim20k.start).dt.days
    return o


@pytest.fixture(scope="module")
def events(sim20k: SimRun) -> pd.DataFrame:
    return sim20k.history("events", ("event_type", "session_id"))


def _report(name: str, value: float, bounds: tuple[float, float] | None = None) -> None:
    print(f"{name}: {value:.4f}" + (f" (range {bounds[0]}-{bounds[1]})" if bounds else ""))


def test_one_time_buyers(orders: pd.DataFrame) -> None:
    per_buyer = orders.groupby("user_id").size()
    share = float((per_buyer == 1).mean())
    _report("one-time buyer share", share, ONE_TIME_SHARE)
    assert ONE_TIME_SHARE[0] <= share <= ONE_TIME_SHARE[1]


def test_view_to_cart(events: pd.DataFrame) -> None:
    counts = events["event_type"].value_counts()
    rate = counts["add_to_cart"] / counts["view"]
    _report("add_to_cart per view", rate, VIEW_TO_CART)
    assert VIEW_TO_CART[0] <= rate <= VIEW_TO_CART[1]


def test_cart_to_purchase(events: pd.DataFrame) -> None:
    funnel = events[events["event_type"].isin(["add_to_cart", "purchase"])]
    kinds = funnel.groupby("session_id")["event_type"].agg(set)
    carts = kinds[kinds.map(lambda s: "add_to_cart" in s)]
    share = float(carts.map(lambda s: "purchase" in s).mean())
    _report("cart sessions with a purchase", share, CART_TO_PURCHASE)
    assert CART_TO_PURCHASE[0] <= share <= CART_TO_PURCHASE[1]


def test_top_items_share_of_units(sim20k: SimRun) -> None:
    lines = sim20k.history("order_items", ("item_id", "quantity"))
    units = lines.groupby("item_id")["quantity"].sum().sort_values(ascending=False)
    head = int(np.ceil(0.2 * len(units)))
    share = float(units.iloc[:head].sum() / units.sum())
    _report("top-20% items' share of units (items sold)", share, TOP20_UNITS_SHARE)
    assert TOP20_UNITS_SHARE[0] <= share <= TOP20_UNITS_SHARE[1]


def test_cohort_retention_decays_convexly(sim20k: SimRun) -> None:
    users = sim20k.history("users", ("user_id", "signup_ts"))
    new = set(users.loc[users["signup_ts"] >= sim20k.start, "user_id"])
    cols = ("order_id", "user_id", "ts")
    placed = pd.concat([sim20k.history("orders", cols), sim20k.holdout("orders", cols)])
    placed = placed.drop_duplicates("order_id")  # holdout updates of history orders
    placed["day"] = (placed["ts"] - sim20k.start).dt.days
    first = placed.groupby("user_id")["day"].min()
    cohort = first[(first < 182) & first.index.isin(new)]
    assert len(cohort) > 2000
    # Month 6 ends 210 days after a first purchase before day 182: inside history + holdout.
    assert sim20k.result.days + sim20k.result.holdout_days >= 182 + 210
    mine = placed[placed["user_id"].isin(cohort.index)]
    month = (mine["day"] - mine["user_id"].map(cohort)) // 30
    ret = np.array([mine.loc[month == k, "user_id"].nunique() / len(cohort) for k in range(1, 7)])
    print("cohort retention, months 1-6:", np.round(ret, 3).tolist())
    assert MONTH1_RETENTION[0] <= ret[0] <= MONTH1_RETENTION[1]
    assert np.all(np.diff(ret) < 0), "retention must fall month after month"
    assert ret[5] < ret[0]
    # Convex: the early drop is steeper than the late one.
    assert ret[0] - ret[2] > ret[3] - ret[5]


def test_promotion_peaks(orders: pd.DataFrame, sim20k: SimRun) -> None:
    daily = orders.groupby("day").size().reindex(range(sim20k.result.days), fill_value=0)
    median = float(daily.median())
    singles = daily[sim20k.day(dt.date(2024, 11, 11))] / median
    june = daily[sim20k.day(dt.date(2024, 6, 18))] / median
    _report("11.11 orders / median day", singles)
    _report("6.18 orders / median day", june)
    assert singles >= SINGLES_DAY_MIN_RATIO
    assert june >= JUNE_18_MIN_RATIO


def test_spring_festival_dip(orders: pd.DataFrame, sim20k: SimRun) -> None:
    daily = orders.groupby("day").size().reindex(range(sim20k.result.days), fill_value=0)
    cny = sim20k.day(dt.date(2024, 2, 10))  # Chinese New Year's Day 2024
    week = float(daily[cny - 3 : cny + 4].mean())
    prior = float(daily[cny - 6 - 28 : cny - 6].mean())  # the 4 weeks before the ramp-down
    _report("Spring Festival week / median day", week / daily.median())
    _report("Spring Festival week / 4 weeks before", week / prior)
    assert week < daily.median()
    assert week <= SPRING_FESTIVAL_MAX_RATIO_PRIOR * prior


def test_treatment_effects_are_heterogeneous(sim20k: SimRun) -> None:
    effects = sim20k.truth("effects")
    stats = effects.groupby("action")["incremental_revenue"].agg(
        mean="mean",
        std="std",
        positive=lambda x: (x > 0).mean(),
        negative=lambda x: (x < 0).mean(),
    )
    print(stats.round(4).to_string())
    assert set(stats.index) == set(ACTIONS)
    for coupon in ("coupon_fixed", "coupon_pct"):
        assert stats.loc[coupon, "mean"] > 0, f"{coupon} loses money on average"
    assert (stats["positive"] > 0).all() and (stats["negative"] > 0).all()
    assert (stats["std"] > stats["mean"].abs()).all()


def test_response_types(sim20k: SimRun) -> None:
    share = sim20k.truth("customers")["response_type"].value_counts(normalize=True)
    print(share.round(4).to_string())
    assert 0 < share.get("sleeping_dog", 0.0) < SLEEPING_DOGS_MAX_SHARE
    assert share.get("persuadable", 0.0) > 0


# Online returns: NRF/Appriss report 16.5-20.8% of online sales returned (apparel higher);
# Chinese marketplaces report similar or higher return rates for fashion. Counting orders
# (not money) refunded, 5-30% is the honest band.
REFUNDED_SHARE = (0.05, 0.30)


def test_refunded_share_of_orders(orders: pd.DataFrame) -> None:
    share = float((orders["status"] == "refunded").mean())
    _report("refunded share of orders", share, REFUNDED_SHARE)
    assert REFUNDED_SHARE[0] <= share <= REFUNDED_SHARE[1]


def test_top_items_share_over_the_whole_catalogue(sim20k: SimRun) -> None:
    items = sim20k.history("items", ("item_id",))
    lines = sim20k.history("order_items", ("item_id", "quantity"))
    units = lines.groupby("item_id")["quantity"].sum().reindex(items["item_id"], fill_value=0)
    share = float(units.nlargest(len(units) // 5).sum() / units.sum())
    _report("top-20% items' share of units (whole catalogue)", share, TOP20_UNITS_SHARE)
    assert TOP20_UNITS_SHARE[0] <= share <= TOP20_UNITS_SHARE[1]
