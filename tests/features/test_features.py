"""Point-in-time features: exact values, no time travel, families that fit the data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import liucun
from liucun.engines import workspace_tables
from liucun.features import FEATURES, build_features, feature_frame, snapshots
from liucun.features.labels import build_labels
from liucun.sim import simulate
from liucun.tasks.reviews import score_warehouse_texts

AS_OF = dt.date(2024, 4, 1)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> liucun.Workspace:
    """A small simulated shop with every table, loaded once."""
    root = tmp_path_factory.mktemp("shop")
    simulate(root / "sim", users=1500, days=150, holdout_days=30, seed=5)
    ws = liucun.Workspace(root / "ws")
    for t in ("users", "items", "orders", "order_items", "events", "reviews", "treatments"):
        ws.ingest(t, root / "sim" / f"{t}.parquet")
    score_warehouse_texts(ws)  # the review text family reads these scores
    return ws


def _truncated(ws: liucun.Workspace, cut: dt.date) -> dict:
    """The same warehouse as it looked before ``cut``: what a shop had on that morning."""
    ts = pd.Timestamp(cut)
    out = {}
    tables = workspace_tables(ws)
    for name, t in tables.items():
        if name == "users":
            out[name] = t.filter(t.signup_ts.isnull() | (t.signup_ts < ts))
        elif "ts" in t.columns:
            out[name] = t.filter(t.ts < ts)
        else:
            out[name] = t
    orders = out["orders"]
    li = tables["order_items"]
    out["order_items"] = li.semi_join(orders, li.order_id == orders.order_id)
    return out


def test_no_time_travel(shop: liucun.Workspace) -> None:
    full = build_features(workspace_tables(shop), AS_OF).execute()
    cut = build_features(_truncated(shop, AS_OF), AS_OF).execute()
    pd.testing.assert_frame_equal(full.reset_index(drop=True), cut.reset_index(drop=True))


def test_every_documented_feature_is_built(shop: liucun.Workspace) -> None:
    df = feature_frame(shop, AS_OF)
    names = [f.name for f in FEATURES]
    assert len(names) >= 40 and len(set(names)) == len(names)
    assert set(names) <= set(df.columns)
    assert df["user_id"].is_unique and df["user_id"].is_monotonic_increasing
    counts = [c for c in df.columns if c.startswith(("orders_", "views_", "sessions_"))]
    assert not df[counts].isna().any().any()


def test_known_customers_include_silent_signups_only_before_as_of(shop) -> None:
    df = feature_frame(shop, AS_OF)
    users = shop.table("users").execute()
    before = users.loc[users["signup_ts"] < pd.Timestamp(AS_OF), "user_id"]
    after = users.loc[users["signup_ts"] >= pd.Timestamp(AS_OF), "user_id"]
    assert set(before) <= set(df["user_id"])
    orders = shop.table("orders").execute()
    early = set(orders.loc[orders["ts"] < pd.Timestamp(AS_OF), "user_id"])
    assert not (set(after) - early) & set(df["user_id"])


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_order_features_by_hand(ws: liucun.Workspace, tmp_path: Path) -> None:
    ws.ingest(
        "orders",
        _write(
            tmp_path / "o.csv",
            (
                "order_id,user_id,ts,amount,status,coupon_code,discount\n"
                "1,a,2024-01-01 10:00:00,100,paid,,0\n"
                "2,a,2024-01-11 10:00:00,50,refunded,,0\n"
                "3,a,2024-01-31 10:00:00,30,paid,X,10\n"
                "4,a,2024-02-20 10:00:00,999,paid,,0\n"  # after as_of: invisible
                "5,b,2024-01-30 12:00:00,20,paid,,0\n"
            ),
        ),
    )
    df = feature_frame(ws, "2024-02-01").set_index("user_id")
    a = df.loc["a"]
    assert a["orders_total"] == 3 and a["orders_30d"] == 2 and a["revenue_total"] == 130
    assert a["recency_days"] == pytest.approx(14 / 24)
    assert a["ipi_mean_days"] == pytest.approx(15.0)
    assert a["prev_gap_days"] == pytest.approx(20.0)
    assert a["refund_share"] == pytest.approx(1 / 3)
    assert a["discount_share"] == pytest.approx(10 / 140)
    assert a["aov"] == pytest.approx(65.0)
    assert df.loc["b", "orders_total"] == 1 and pd.isna(df.loc["b", "ipi_mean_days"])
    # An orders-only shop (like CDNOW) gets the order families and nothing else.
    assert "views_30d" not in df.columns and "rating_mean" not in df.columns
    labels = build_labels(workspace_tables(ws), "2024-02-01", 30).execute()
    assert labels.set_index("user_id").loc["a", "revenue_h"] == 999


def test_snapshots_stack_cutoffs(shop: liucun.Workspace) -> None:
    cuts = [dt.date(2024, 3, 1), dt.date(2024, 4, 1)]
    snap = snapshots(workspace_tables(shop), cuts, horizon_days=30)
    assert list(snap["as_of"].drop_duplicates()) == [pd.Timestamp(c) for c in cuts]
    assert set(snap["purchased"].unique()) <= {0, 1}
    later = snap[snap["as_of"] == pd.Timestamp(cuts[1])]
    assert len(later) >= len(snap) - len(later)  # the base only grows
