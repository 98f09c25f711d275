"""What ``simulate`` writes: layout, columns, time windows, ingestibility, determinism."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

import liucun
from liucun.schema import TABLES
from liucun.sim import ACTIONS, simulate
from liucun.sim.population import make_catalog, make_customers

if TYPE_CHECKING:
    from conftest import SimRun  # tests/sim/conftest.py

CANONICAL = ("users", "items", "events", "orders", "order_items", "reviews", "treatments")
TRUTH_FILES = ("customers", "effects", "preferences", "demand", "items")
CJK = re.compile(r"[\u4e00-\u9fff]")
SMALL = {"users": 2_000, "days": 120, "holdout_days": 30, "seed": 3}  # as sim_small


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# -- determinism ----------------------------------------------------------------------
def test_same_seed_same_bytes(sim_small: SimRun, tmp_path: Path) -> None:
    again = tmp_path / "again"
    simulate(again, **SMALL)
    first, second = _digests(sim_small.path), _digests(again)
    assert len(first) == 2 * len(CANONICAL) + len(TRUTH_FILES) + 1
    assert first == second  # every file, truth/simulation.json included


def test_other_seed_other_shop(sim_small: SimRun, tmp_path: Path) -> None:
    other = tmp_path / "other"
    simulate(other, **{**SMALL, "seed": 4})
    first, second = _digests(sim_small.path), _digests(other)
    for name in ("events", "orders", "users", "truth/customers", "truth/effects"):
        assert first[f"{name}.parquet"] != second[f"{name}.parquet"], name


# -- layout and columns ----------------------------------------------------------------
def test_one_file_per_table_with_canonical_columns(sim_small: SimRun) -> None:
    for folder in (sim_small.path, sim_small.path / "truth" / "holdout"):
        for table in CANONICAL:
            path = folder / f"{table}.parquet"
            assert path.is_file(), path
            cols = pd.read_parquet(path).columns.tolist()
            canonical = TABLES[table].column_names
            assert cols == [c for c in canonical if c in cols], (table, cols)
            missing = set(canonical) - set(cols)
            assert missing <= ({"description"} if table == "items" else set()), (table, missing)
        assert sorted(p.name for p in folder.glob("*.parquet")) == sorted(
            f"{t}.parquet" for t in CANONICAL
        )
    counts = sim_small.result.counts
    assert all(counts[t] > 0 for t in CANONICAL)
    assert sim_small.result.holdout_counts["treatments"] == 0  # no new intervention


def test_truth_files(sim_small: SimRun) -> None:
    customers = sim_small.truth("customers")
    for col in (
        "p_purchase_h",
        "expected_orders_h",
        "expected_revenue_h",
        "alive",
        "is_abuser",
        "abuse_kind",
        "response_type",
    ):
        assert col in customers.columns, col
    users = sim_small.history("users", ("user_id", "signup_ts"))
    assert (users["signup_ts"] < sim_small.cut).all()
    assert customers["user_id"].is_unique
    assert set(customers["user_id"]) == set(users["user_id"])  # everyone known at D
    p = customers["p_purchase_h"]
    assert p.between(0, 1).all()
    assert (customers["expected_orders_h"] >= p - 1e-12).all()
    assert (customers["expected_revenue_h"] >= 0).all()
    assert (customers["is_abuser"] == (customers["abuse_kind"] != "")).all()
    assert set(customers["abuse_kind"]) <= {"", "multi_account", "refund_abuser", "fraud"}
    assert set(customers["response_type"]) <= {
        "persuadable",
        "sure_thing",
        "lost_cause",
        "sleeping_dog",
    }

    effects = sim_small.truth("effects")
    assert effects.columns.tolist() == [
        "user_id",
        "action",
        "incremental_revenue",
        "expected_cost",
        "horizon_days",
    ]
    assert len(effects) == len(customers) * len(ACTIONS)

    prefs = sim_small.truth("preferences")
    assert {"user_id", "rank", "item_id"} <= set(prefs.columns)
    items = sim_small.history("items", ("item_id",))
    assert prefs["item_id"].isin(items["item_id"]).all()
    assert set(customers["user_id"]) <= set(prefs["user_id"])
    assert (prefs.groupby("user_id")["rank"].min() == 1).all()

    demand = sim_small.truth("demand")
    assert {"date", "item_id", "expected_units"} <= set(demand.columns)
    assert len(demand) == len(items) * sim_small.result.holdout_days


# -- time windows -------------------------------------------------------------------------
def test_history_ends_before_the_cut(sim_small: SimRun) -> None:
    cut = sim_small.cut
    assert (sim_small.history("users", ("signup_ts",))["signup_ts"] < cut).all()
    for table in ("events", "orders", "reviews", "treatments"):
        ts = sim_small.history(table, ("ts",))["ts"]
        assert ts.between(sim_small.start, cut, inclusive="left").all(), table
    orders = sim_small.history("orders", ("order_id",))
    lines = sim_small.history("order_items", ("order_id",))
    assert lines["order_id"].isin(orders["order_id"]).all()


def test_holdout_stays_inside_its_window(sim_small: SimRun) -> None:
    cut, end = sim_small.cut, sim_small.end
    signup = sim_small.holdout("users", ("signup_ts",))["signup_ts"]
    assert signup.between(cut, end, inclusive="left").all()
    for table in ("events", "reviews"):
        ts = sim_small.holdout(table, ("ts",))["ts"]
        assert ts.between(cut, end, inclusive="left").all(), table
    assert len(sim_small.holdout("treatments")) == 0
    orders = sim_small.holdout("orders")
    assert (orders["ts"] < end).all()
    # Orders placed before D come back only as updates: paid then, refunded/cancelled now.
    older = orders[orders["ts"] < cut]
    assert len(older) > 0
    before = sim_small.history("orders").set_index("order_id").loc[older["order_id"]]
    assert (before["status"] == "paid").all()
    assert older["status"].isin(["refunded", "cancelled"]).all()
    lines = sim_small.holdout("order_items", ("order_id",))
    placed = orders.loc[orders["ts"] >= cut, "order_id"]
    assert lines["order_id"].isin(placed).all()


def test_events_agree_with_orders(sim_small: SimRun) -> None:
    events = sim_small.history("events", ("event_type",))["event_type"].value_counts()
    orders = sim_small.history("orders", ("status", "coupon_code"))
    lines = sim_small.history("order_items", ("order_id",))
    assert events["purchase"] == len(lines)  # one purchase event per order line
    assert events["refund"] == (orders["status"] == "refunded").sum()
    assert events["coupon_redeem"] == orders["coupon_code"].notna().sum()


# -- ingest ---------------------------------------------------------------------------------
def test_files_ingest_cleanly(sim_small: SimRun, ws: liucun.Workspace) -> None:
    for table in CANONICAL:
        (res,) = ws.ingest(table, sim_small.path / f"{table}.parquet")
        assert res.quarantined == 0, (table, res.first_problem)
        assert res.read == res.loaded == sim_small.result.counts[table], table
    holdout_orders = sim_small.holdout("orders", ("ts",))
    updates = int((holdout_orders["ts"] < sim_small.cut).sum())
    n_items = sim_small.result.counts["items"]
    for table in CANONICAL:
        (res,) = ws.ingest(table, sim_small.path / "truth" / "holdout" / f"{table}.parquet")
        assert res.quarantined == 0, (table, res.first_problem)
        assert res.balanced
        assert res.read == sim_small.result.holdout_counts[table]
        if table == "orders":
            assert res.updated == updates > 0
            assert res.loaded == res.read - updates
        elif table == "items":  # the same catalogue again
            assert res.duplicates == n_items and res.loaded == 0
        else:
            assert res.loaded == res.read, table
    total = sim_small.result.counts["orders"] + sim_small.result.holdout_counts["orders"]
    assert ws.warehouse.count("orders") == total - updates


# -- abusers and languages ------------------------------------------------------------------
def _devices(run: SimRun) -> pd.DataFrame:
    cols = ("user_id", "signup_ts", "attributes")
    users = pd.concat([run.history("users", cols), run.holdout("users", cols)])
    attrs = users["attributes"].map(json.loads)
    return users.assign(
        device_id=attrs.map(lambda a: a["device_id"]), lang=attrs.map(lambda a: a["lang"])
    )


@pytest.mark.parametrize("run", ["sim_small", "sim20k"])
def test_abusers(run: str, request: pytest.FixtureRequest) -> None:
    sim: SimRun = request.getfixturevalue(run)
    customers = sim.truth("customers")
    share = customers["is_abuser"].mean()
    kinds = customers["abuse_kind"].value_counts()
    print(run, f"abuser share {share:.4f}", kinds.to_dict())
    assert 0.005 <= share <= 0.015
    if run == "sim20k":
        assert set(kinds.index) == {"", "multi_account", "refund_abuser", "fraud"}
    # Multi-account rings: fresh accounts on one device, signed up within a few days.
    users = _devices(sim)
    ring = set(customers.loc[customers["abuse_kind"] == "multi_account", "user_id"])
    assert ring
    per_device = users.groupby("device_id")["user_id"].agg(list)
    shared = per_device[per_device.map(len) > 1]
    assert ring <= {u for members in shared for u in members}
    known_kind = customers.set_index("user_id")["abuse_kind"]
    for members in shared:
        kinds_here = {known_kind.get(u, "multi_account") for u in members}
        assert kinds_here == {"multi_account"}, members  # only rings share a device
    span = users[users["device_id"].isin(shared.index)].groupby("device_id")["signup_ts"]
    assert ((span.max() - span.min()) < pd.Timedelta(days=3)).all()


def test_review_languages_mixed(sim_small: SimRun) -> None:
    reviews = sim_small.history("reviews", ("user_id", "text"))
    lang = _devices(sim_small).set_index("user_id")["lang"]
    zh = reviews["text"].map(lambda t: bool(CJK.search(t))).to_numpy()
    user_lang = reviews["user_id"].map(lang).to_numpy()
    assert 0 < zh.mean() < 1
    assert np.array_equal(zh, user_lang == "zh")  # each customer writes in their language
    assert (reviews["text"].str.len() > 0).all()


def test_review_languages_zh(tmp_path: Path) -> None:
    result = simulate(tmp_path, users=600, days=60, holdout_days=14, seed=5, lang="zh")
    assert result.counts["reviews"] > 0
    texts = pd.read_parquet(tmp_path / "reviews.parquet")["text"]
    assert texts.map(lambda t: bool(CJK.search(t))).all()
    attrs = pd.read_parquet(tmp_path / "users.parquet")["attributes"].map(json.loads)
    assert (attrs.map(lambda a: a["lang"]) == "zh").all()


@pytest.mark.parametrize("seed", range(1, 15))
def test_rings_of_fake_accounts_share_devices(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cat = make_catalog(rng, 250)
    c = make_customers(rng, 2000, np.ones(150), cat)
    ring = pd.Series(c.device_id[c.abuse_kind == "multi_account"])
    assert len(ring) > 0 and (ring.value_counts() >= 2).all()
