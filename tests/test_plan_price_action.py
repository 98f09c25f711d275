"""Discounts suggested by ``liucun pricing`` as candidate actions of ``liucun plan``.

A category whose pricing row has ``suggested_discount > 0`` joins the plan's catalogue as a
``pct`` action ``price_discount_<percent>_<category>``, costed as the depth × the
category's share of the shop's sales × the customer's expected order amount per redeemed
order. It has no randomised history, so it is treated like every such action: never
planned on evidence, a randomised arm with its own control group in a first test, and
listed in the catalogue with the reason. ``[plan] price_actions = 0`` leaves it out; a
shop whose pricing suggests nothing gets the same plan, byte for byte, either way.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import liucun
from liucun.features import feature_frame
from liucun.models.nba import order_value
from liucun.outputs import write_frame
from liucun.tasks.plan import PlanResult, plan, plan_config
from liucun.tasks.price_actions import price_offers
from liucun.tasks.pricing import OUTPUT_COLUMNS, pricing

START = dt.date(2024, 1, 1)
DAYS = 300
AS_OF = START + dt.timedelta(days=DAYS)
HORIZON = 90
BUDGET = 400.0
USERS = 2000
TABLES = ("users", "items", "orders", "order_items", "events", "treatments")


def set_plan(ws: liucun.Workspace, **keys: object) -> None:
    """Set ``[plan]`` keys in the workspace's liucun.toml (replaced where present)."""
    toml = ws.path / "liucun.toml"
    text = toml.read_text(encoding="utf-8")
    for k, v in keys.items():
        line = f"{k} = {v}"
        pattern = rf"(?m)^{re.escape(k)} = .*$"
        if re.search(pattern, text.split("\n[plan.actions", 1)[0].split("\n[plan]\n", 1)[-1]):
            head, sep, tail = text.partition("\n[plan]\n")
            text = head + sep + re.sub(pattern, line, tail, count=1)
        else:
            text = text.replace("\n[plan]\n", f"\n[plan]\n{line}\n", 1)
    toml.write_text(text, encoding="utf-8")


def pricing_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """A pricing output (the contract's columns) from a few rows."""
    base = {
        "level": "category",
        "item_id": None,
        "elasticity": np.nan,
        "lo": np.nan,
        "hi": np.nan,
        "n_price_changes": 0,
        "suggested_discount": 0.0,
        "note": "",
    }
    return pd.DataFrame([{**base, **r} for r in rows])[OUTPUT_COLUMNS]


def category_shares(src: Path, as_of: dt.date) -> pd.Series:
    """Each category's share of paid sales (quantity × price of orders not cancelled
    before as_of), recomputed in pandas from the shop's files."""
    o = pd.read_parquet(src / "orders.parquet")
    li = pd.read_parquet(src / "order_items.parquet")
    items = pd.read_parquet(src / "items.parquet")
    ts = pd.to_datetime(o["ts"], utc=True)
    keep = (ts < pd.Timestamp(as_of, tz="UTC")) & (o["status"].fillna("") != "cancelled")
    li = li[li["order_id"].isin(set(o.loc[keep, "order_id"]))]
    qty = pd.to_numeric(li["quantity"], errors="coerce").fillna(1.0)
    sales = (qty * li["price"].astype(float)).groupby(li["item_id"].astype(str)).sum()
    cat = items.assign(item_id=items["item_id"].astype(str)).set_index("item_id")["category"]
    by_cat = sales.groupby(sales.index.map(cat)).sum()
    return by_cat / by_cat.sum()


# --------------------------------------------------------------------------- offers


def test_price_offers_from_a_pricing_frame() -> None:
    """Only category rows with a suggested discount become actions, named and costed from
    the suggestion and the category's share of sales; the catalogue's names win."""
    frame = pricing_frame(
        [
            {"category": "toys/blocks", "elasticity": -3.0, "lo": -3.5, "hi": -2.5,
             "n_price_changes": 9, "suggested_discount": 0.4},
            {"category": "food/tea", "suggested_discount": 0.0, "note": "not enough"},
            {"category": "home/soft goods", "elasticity": -2.5, "lo": -3.0, "hi": -2.0,
             "n_price_changes": 7, "suggested_discount": 0.125},
            {"level": "item", "category": "toys/blocks", "item_id": "t1",
             "elasticity": -4.0, "lo": -5.0, "hi": -3.0, "suggested_discount": 0.3},
            {"category": "garden", "elasticity": -3.0, "lo": -3.2, "hi": -2.8,
             "suggested_discount": 0.2},
        ]
    )  # fmt: skip
    shares = {"toys/blocks": 0.25, "food/tea": 0.5, "home/soft goods": 0.2}  # garden: none
    cfg = {**liucun.config.section("plan"), "price_actions": 3}
    cfg["price_action_contact_cost"] = 0.07
    offers = price_offers(frame, shares, cfg)
    assert list(offers) == ["price_discount_40_toys_blocks", "price_discount_12_home_soft_goods"]
    toys = offers["price_discount_40_toys_blocks"]
    assert toys.category == "toys/blocks" and toys.depth == 0.4 and toys.share == 0.25
    assert toys.action.kind == "pct" and toys.action.gives_discount
    assert toys.action.discount_rate == pytest.approx(0.4 * 0.25)
    assert toys.action.contact_cost == pytest.approx(0.07)
    assert not toys.action.learned
    home = offers["price_discount_12_home_soft_goods"]
    assert home.action.discount_rate == pytest.approx(0.125 * 0.2)
    # At most price_actions of them, the best-selling categories first; 0: none.
    assert list(price_offers(frame, shares, {**cfg, "price_actions": 1})) == [
        "price_discount_40_toys_blocks"
    ]
    assert price_offers(frame, shares, {**cfg, "price_actions": 0}) == {}
    # A name the catalogue already uses stays the catalogue's.
    taken = price_offers(frame, shares, cfg, taken={"price_discount_40_toys_blocks"})
    assert list(taken) == ["price_discount_12_home_soft_goods"]
    # Nothing suggested: nothing offered.
    none = frame.assign(suggested_discount=0.0)
    assert price_offers(none, shares, cfg) == {}


def test_price_actions_default_and_check() -> None:
    cfg = liucun.config.section("plan")
    assert int(cfg["price_actions"]) > 0  # on by default
    assert float(cfg["price_action_contact_cost"]) >= 0
    with pytest.raises(liucun.errors.LiucunError, match="price_actions"):
        price_offers(pricing_frame([{"category": "a"}]), {}, {**cfg, "price_actions": -1})


# ---------------------------------------------------------------- the simulated shop


@pytest.fixture(scope="module")
def sim_dir(simulated: Callable[..., Path]) -> Path:
    return simulated(users=USERS, days=DAYS, holdout_days=0, seed=7, start=START)


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> Iterator[liucun.Workspace]:
    """The simulated shop with randomised campaigns; the evidence bar off, so the plan
    has rows to compare (as in tests/test_planning.py)."""
    path = simulated_workspace(TABLES, users=USERS, days=DAYS, holdout_days=0, seed=7, start=START)
    with liucun.Workspace(path) as ws:
        set_plan(ws, confidence="0.0", outcome_days=14)
        yield ws


@pytest.fixture(scope="module")
def no_price(shop: liucun.Workspace) -> PlanResult:
    set_plan(shop, price_actions=0)
    try:
        return plan(shop, AS_OF, budget=BUDGET, horizon=HORIZON)
    finally:
        set_plan(shop, price_actions=3)


def test_simulated_shop_plan_is_unchanged_byte_for_byte(
    shop: liucun.Workspace, no_price: PlanResult, tmp_path: Path
) -> None:
    """The default simulated shop has too few price changes for a suggestion: with the
    feature on (pricing computed inside the plan) the plan file is the same bytes."""
    assert (pricing(shop, AS_OF).frame["suggested_discount"] == 0).all()
    assert len(no_price.plan) > 50
    set_plan(shop, price_actions=3)
    on = plan(shop, AS_OF, budget=BUDGET, horizon=HORIZON, models=no_price.models)
    set_plan(shop, price_actions=0)
    off = plan(shop, AS_OF, budget=BUDGET, horizon=HORIZON, models=no_price.models)
    set_plan(shop, price_actions=3)
    for fmt in ("csv", "parquet"):
        a = write_frame(on.plan, tmp_path / f"on.{fmt}").read_bytes()
        b = write_frame(off.plan, tmp_path / f"off.{fmt}").read_bytes()
        assert a == b, fmt
    assert json.dumps(on.stats, sort_keys=True, default=str) == json.dumps(
        off.stats, sort_keys=True, default=str
    )
    # And the same as the plan fitted from scratch with the feature off.
    pd.testing.assert_frame_equal(on.plan, no_price.plan)


def test_an_untested_price_action_is_never_planned_from_evidence(
    shop: liucun.Workspace, no_price: PlanResult, sim_dir: Path
) -> None:
    """With campaign history a suggested discount has no randomised evidence: it is listed
    in the catalogue with the reason and planned for nobody, not even explored; the rest
    of the plan is what it was without it."""
    shares = category_shares(sim_dir, AS_OF)
    top = str(shares.idxmax())
    frame = pricing_frame(
        [{"category": top, "elasticity": -3.0, "lo": -3.6, "hi": -2.4, "n_price_changes": 8,
          "suggested_discount": 0.3}]
    )  # fmt: skip
    r = plan(shop, AS_OF, budget=BUDGET, horizon=HORIZON, models=no_price.models, prices=frame)
    name = "price_discount_30_" + re.sub(r"\W+", "_", top).strip("_")
    entry = r.stats["catalog"][name]
    assert entry["source"] == "pricing" and entry["category"] == top
    assert entry["randomised"] is False and entry["status"] == "untested"
    assert "no randomised history" in entry["reason"]
    assert entry["discount"] == 0.3
    assert entry["category_share"] == pytest.approx(float(shares[top]), rel=1e-6)
    assert name not in set(r.plan["action"]) | set(r.plan["planned"])
    assert name not in r.stats["evidence"]
    assert r.stats["price_actions"] == [name]
    pd.testing.assert_frame_equal(r.plan, no_price.plan)


# -------------------------------------------------------------------- the first test


@pytest.fixture(scope="module")
def fresh(sim_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[liucun.Workspace]:
    """The simulated shop without any campaign: its plan is a first test."""
    with liucun.Workspace(tmp_path_factory.mktemp("fresh") / "ws") as ws:
        for t in ("users", "items", "orders", "order_items", "events"):
            ws.ingest(t, sim_dir / f"{t}.parquet")
        yield ws


@pytest.fixture(scope="module")
def fresh_features(fresh: liucun.Workspace) -> pd.DataFrame:
    return feature_frame(fresh, AS_OF)


def test_first_test_is_unchanged_without_a_suggestion(
    fresh: liucun.Workspace, fresh_features: pd.DataFrame, tmp_path: Path
) -> None:
    f = fresh_features
    set_plan(fresh, price_actions=3)
    on = plan(fresh, AS_OF, budget=BUDGET, horizon=HORIZON, features=f)
    set_plan(fresh, price_actions=0)
    off = plan(fresh, AS_OF, budget=BUDGET, horizon=HORIZON, features=f)
    set_plan(fresh, price_actions=3)
    assert on.stats["first_test"] and len(on.plan) > 0
    a = write_frame(on.plan, tmp_path / "on.csv").read_bytes()
    b = write_frame(off.plan, tmp_path / "off.csv").read_bytes()
    assert a == b
    assert json.dumps(on.stats, sort_keys=True, default=str) == json.dumps(
        off.stats, sort_keys=True, default=str
    )


def test_first_test_gives_a_suggested_discount_its_own_randomised_arm(
    fresh: liucun.Workspace, fresh_features: pd.DataFrame, sim_dir: Path
) -> None:
    shares = category_shares(sim_dir, AS_OF)
    top = str(shares.idxmax())
    frame = pricing_frame(
        [{"category": top, "elasticity": -3.0, "lo": -3.6, "hi": -2.4, "n_price_changes": 8,
          "suggested_discount": 0.3}]
    )  # fmt: skip
    budget = 20_000.0
    f = fresh_features
    # 2,000 customers cannot give five arms the size to detect 2 points: ask for less.
    set_plan(fresh, first_test_mde=0.08)
    try:
        r = plan(fresh, AS_OF, budget=budget, horizon=HORIZON, features=f, prices=frame)
    finally:
        set_plan(fresh, first_test_mde=0.02)
    name = "price_discount_30_" + re.sub(r"\W+", "_", top).strip("_")
    p = r.plan
    assert r.models is None and r.stats["first_test"]
    assert name in r.stats["test"]["arms"], r.stats["test"]
    mine = p[p["planned"] == name]
    treated, control = mine[mine["action"] == name], mine[mine["action"] == "control"]
    assert len(treated) > 0 and len(control) > 0  # a randomised arm with its own control
    assert mine["explore"].all() and (mine["expected_uplift"] == 0).all()
    assert (control["cost"] == 0).all()
    assert mine["reason"].str.contains("liucun pricing").all()
    assert mine["reason"].str.contains(f"30% off {top}", regex=False).all()
    # Cost: contact + depth × the category's share of sales × the customer's expected
    # order amount × the assumed redemption rate.
    share = float(shares[top])
    contact = float(plan_config(fresh)["price_action_contact_cost"])
    aov = pd.Series(order_value(f)[1], index=f["user_id"].astype(str))
    rate = r.stats["test"]["redemption_rate"]
    # The plan shrinks each order amount towards the eligible customers' mean, this
    # recomputation towards everyone's: within 1% (leaving out the share would be 5x off).
    want = contact + 0.3 * share * aov.loc[treated["user_id"].astype(str)].to_numpy() * rate
    np.testing.assert_allclose(treated["cost"].to_numpy(), want, rtol=0.01)
    assert share < 0.5  # so the check above tells depth × share from depth alone
    entry = r.stats["catalog"][name]
    assert entry["randomised"] is False and entry["status"] == "first_test"
    assert entry["category_share"] == pytest.approx(share, rel=1e-6)
    assert r.stats["spend"] <= budget
    # The feature off: no such arm, and the configured arms are all still there.
    set_plan(fresh, price_actions=0, first_test_mde=0.08)
    try:
        off = plan(fresh, AS_OF, budget=budget, horizon=HORIZON, features=f, prices=frame)
    finally:
        set_plan(fresh, price_actions=3, first_test_mde=0.02)
    assert name not in set(off.plan["planned"]) and name not in off.stats["catalog"]
    assert set(off.stats["catalog"]) == set(r.stats["catalog"]) - {name}


# ---------------------------------------------------------- pricing inside the plan


def price_shop(root: Path, seed: int = 0) -> Path:
    """Users, items, orders and lines of a shop whose "toys/blocks" prices move (true
    elasticity -2) and whose "food/tea" prices never do; 3,000 customers, few orders each."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", "2024-02-29", freq="D")
    orders, lines, items = [], [], []
    for cat, n_items, steps in (("toys/blocks", 8, 8), ("food/tea", 4, 0)):
        for i in range(n_items):
            item = f"{cat.split('/')[0]}{i:02d}"
            base = float(np.exp(rng.uniform(np.log(20), np.log(120))))
            shift = np.zeros(len(dates))
            for t in rng.choice(np.arange(20, len(dates)), steps, replace=False):
                shift[t:] += rng.normal(0, 0.15)
            price = np.round(base * np.exp(shift), 2)
            qty = rng.poisson(np.exp(np.log(2.0) - 2.0 * np.log(price / base)))
            items.append({"item_id": item, "category": cat, "price": base})
            for day, q, p in zip(dates, qty, price, strict=True):
                if q == 0:
                    continue
                oid = f"o{len(orders):06d}"
                ts = day + pd.Timedelta(hours=int(rng.integers(8, 22)))
                orders.append(
                    {"order_id": oid, "user_id": f"u{rng.integers(3000):04d}", "ts": ts,
                     "amount": float(q * p), "discount": 0.0, "status": "paid"}
                )  # fmt: skip
                lines.append({"order_id": oid, "item_id": item, "quantity": int(q), "price": p})
    root.mkdir(parents=True)
    o = pd.DataFrame(orders)
    o["ts"] = o["ts"].dt.tz_localize("UTC")
    o.to_parquet(root / "orders.parquet", index=False)
    pd.DataFrame(lines).to_parquet(root / "order_items.parquet", index=False)
    pd.DataFrame(items).to_parquet(root / "items.parquet", index=False)
    users = pd.DataFrame({"user_id": [f"u{i:04d}" for i in range(3000)]})
    users["signup_ts"] = pd.Timestamp("2022-12-01", tz="UTC")
    users.to_parquet(root / "users.parquet", index=False)
    return root


def test_plan_reads_the_suggestion_from_pricing(tmp_path: Path) -> None:
    """No pricing frame handed in: the plan asks `liucun pricing` itself, and a cheap-to-
    make range (30% cost share, e = -2: 40% off) enters the first test as an arm."""
    files = price_shop(tmp_path / "files")
    as_of = dt.date(2024, 3, 1)
    with liucun.Workspace(tmp_path / "ws") as ws:
        for t in ("users", "items", "orders", "order_items"):
            ws.ingest(t, files / f"{t}.parquet")
        toml = ws.path / "liucun.toml"
        text = toml.read_text(encoding="utf-8")
        assert "\ncost_share = 0.6\n" in text
        toml.write_text(text.replace("\ncost_share = 0.6\n", "\ncost_share = 0.3\n"), "utf-8")
        suggested = pricing(ws, as_of).frame
        cats = suggested[suggested["level"] == "category"].set_index("category")
        toys = cats.loc[["toys/blocks"]]
        depth = float(toys["suggested_discount"].item())
        assert depth > 0
        f = feature_frame(ws, as_of)
        r = plan(ws, as_of, budget=50_000.0, horizon=HORIZON, features=f)
        # 3,000 customers cannot give five arms the size to detect 2 points; at 10 they can.
        text = toml.read_text(encoding="utf-8")
        toml.write_text(text.replace("\nfirst_test_mde = 0.02\n", "\nfirst_test_mde = 0.1\n"))
        armed = plan(ws, as_of, budget=50_000.0, horizon=HORIZON, features=f)
    name = f"price_discount_{round(depth * 100)}_toys_blocks"
    assert r.stats["first_test"]
    assert r.stats["price_actions"] == [name]
    entry = r.stats["catalog"][name]
    assert entry["discount"] == pytest.approx(depth)
    assert entry["elasticity"] == pytest.approx(float(toys["elasticity"].item()))
    assert not any("food" in k for k in r.stats["catalog"])  # no suggestion, no action
    # Left out of the small first test like the other dear arms, and saying so.
    assert name in r.stats["test"]["not_tested"] and name not in set(r.plan["planned"])
    assert entry["status"] == "not_tested" and "left no arm" in entry["reason"]
    # Given room, it is an arm with its own control group, like every catalogue action.
    assert set(armed.stats["test"]["arms"]) == {*liucun.config.section("plan")["actions"], name}
    mine = armed.plan[armed.plan["planned"] == name]
    assert set(mine["action"]) == {name, "control"} and mine["explore"].all()
    assert armed.stats["catalog"][name]["status"] == "first_test"
