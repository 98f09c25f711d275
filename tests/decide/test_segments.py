"""RFM, lifecycle stages, clusters, profiles and the segment summary on synthetic features."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liucun import config
from liucun.decide.segments import (
    DEFAULT_SEGMENTS_CONFIG,
    STAGES,
    clusters,
    lifecycle,
    profile,
    rfm,
    segment_summary,
    tag_thresholds,
    tags,
    typical_interval,
)
from liucun.models.segment import KMeansSegmenter

RULE_NAMES = [r["name"] for r in DEFAULT_SEGMENTS_CONFIG["rfm"]["rules"]]


def make_features(n: int = 400, seed: int = 0, prospects: float = 0.2) -> pd.DataFrame:
    """A feature frame shaped like liucun.features': buyers, repeaters and never-ordered."""
    rng = np.random.default_rng(seed)
    ids = [f"u{i:05d}" for i in range(n)]
    buyer = rng.random(n) >= prospects
    orders = np.where(buyer, rng.geometric(0.45, n), 0)
    aov = np.where(buyer, rng.lognormal(3.5, 0.6, n), np.nan)
    revenue = np.where(buyer, orders * aov, 0.0)
    recency = np.where(buyer, rng.uniform(0, 400, n).round(1), np.nan)
    ipi = np.where(orders >= 2, rng.uniform(7, 120, n), np.nan)
    tenure = np.where(buyer, recency + np.nan_to_num(ipi) * (orders - 1), 0) + rng.uniform(0, 60, n)
    sessions = rng.poisson(np.where(buyer, 4, 6), n)
    views = sessions * rng.poisson(5, n)
    carts = rng.poisson(np.where(buyer, 2, 1), n)
    coupon = np.where(buyer, rng.integers(0, orders + 1) / np.maximum(orders, 1), np.nan)
    return pd.DataFrame(
        {
            "user_id": ids,
            "tenure_days": tenure,
            "has_ordered": buyer.astype(int),
            "recency_days": recency,
            "orders_total": orders,
            "orders_30d": np.where(recency <= 30, 1, 0),
            "revenue_total": revenue,
            "aov": aov,
            "ipi_mean_days": ipi,
            "prev_gap_days": np.where(orders >= 2, ipi, np.nan),
            "discount_share": np.where(buyer, rng.beta(1, 4, n), np.nan),
            "coupon_order_share": coupon,
            "refund_share": np.where(
                buyer, rng.binomial(orders, 0.05) / np.maximum(orders, 1), np.nan
            ),
            "sessions_30d": rng.poisson(1.5, n),
            "sessions_90d": sessions,
            "views_90d": views,
            "carts_90d": carts,
            "cart_abandon_rate_90d": np.where(carts > 0, rng.random(n), np.nan),
            "categories_bought": np.where(buyer, np.minimum(orders, rng.integers(1, 5, n)), 0),
            "top_category": np.where(buyer, rng.choice(["books", "toys", "food"], n), None),
            "top_category_share": np.where(buyer, rng.uniform(0.3, 1.0, n), np.nan),
            "support_90d": rng.poisson(0.2, n),
            "negative_review_share": np.where(rng.random(n) < 0.3, rng.random(n), np.nan),
            "opted_out": (rng.random(n) < 0.05).astype(int),
        }
    )


@pytest.fixture(scope="module")
def feats() -> pd.DataFrame:
    return make_features()


@pytest.fixture(scope="module")
def clustered(feats: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    return clusters(feats, None, seed=7)


# ---- RFM -----------------------------------------------------------------------------------
def _check_rfm(f: pd.DataFrame, out: pd.DataFrame) -> None:
    assert list(out.columns) == ["user_id", "r_score", "f_score", "m_score", "rfm_segment"]
    assert out["user_id"].tolist() == f["user_id"].astype(str).tolist()
    buyers = f["has_ordered"].to_numpy() == 1
    for col, by, sign in (
        ("r_score", "recency_days", -1),
        ("f_score", "orders_total", 1),
        ("m_score", "revenue_total", 1),
    ):
        s = out.loc[buyers, col]
        assert s.isin([1.0, 2.0, 3.0, 4.0, 5.0]).all()
        assert out.loc[~buyers, col].isna().all()
        # Monotone: a better value never gets a lower score.
        v = sign * f.loc[buyers, by].to_numpy()
        order = np.argsort(v, kind="stable")
        assert np.all(np.diff(s.to_numpy()[order]) >= 0)
    assert out["rfm_segment"].notna().all()
    assert (out.loc[~buyers, "rfm_segment"] == "Prospect").all()
    assert out.loc[buyers, "rfm_segment"].isin(RULE_NAMES).all()


@pytest.mark.parametrize("ties", ["min", "first"])
def test_rfm_scores_monotone_and_one_segment_each(feats: pd.DataFrame, ties: str) -> None:
    out = rfm(feats, {"rfm": {"ties": ties}})
    _check_rfm(feats, out)
    assert out["rfm_segment"].nunique() >= 6


def test_rfm_ties_min_gives_identical_customers_identical_scores(feats: pd.DataFrame) -> None:
    out = rfm(feats)
    one = (feats["orders_total"] == 1).to_numpy()
    assert out.loc[one, "f_score"].nunique() == 1
    assert out.loc[one, "f_score"].iloc[0] == 1


def test_rfm_first_gives_exact_quintiles(feats: pd.DataFrame) -> None:
    out = rfm(feats, {"rfm": {"ties": "first"}})
    counts = out["f_score"].value_counts()
    assert counts.max() - counts.min() <= 1


def test_champions_beat_lost(feats: pd.DataFrame) -> None:
    out = rfm(feats)
    g = out.groupby("rfm_segment")[["r_score", "f_score"]].mean()
    assert g.loc["Champions", "r_score"] > g.loc["Lost", "r_score"]
    assert g.loc["Champions", "f_score"] > g.loc["Lost", "f_score"]


def test_default_rules_tile_the_grid() -> None:
    rules = DEFAULT_SEGMENTS_CONFIG["rfm"]["rules"]
    for r in range(1, 6):
        for fm in np.arange(1.0, 5.01, 0.5):
            hits = [
                x["name"]
                for x in rules
                if x["r"][0] <= r <= x["r"][1] and x["fm"][0] <= fm <= x["fm"][1]
            ]
            assert hits, (r, fm)


def test_rfm_row_order_invariant(feats: pd.DataFrame) -> None:
    shuffled = feats.sample(frac=1.0, random_state=3)
    for ties in ("min", "first"):
        a = rfm(feats, {"rfm": {"ties": ties}}).set_index("user_id")
        b = rfm(shuffled, {"rfm": {"ties": ties}}).set_index("user_id").loc[a.index]
        pd.testing.assert_frame_equal(a, b)


def test_rfm_rejects_duplicate_customers(feats: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="one row per customer"):
        rfm(pd.concat([feats.head(3), feats.head(1)]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 500)),  # recency; None: never ordered
            st.integers(1, 30),
            st.floats(0, 5000, allow_nan=False),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_rfm_property(rows: list[tuple[int | None, int, float]]) -> None:
    buyer = [r is not None for r, _, _ in rows]
    f = pd.DataFrame(
        {
            "user_id": [f"c{i}" for i in range(len(rows))],
            "has_ordered": [int(b) for b in buyer],
            "recency_days": [np.nan if r is None else float(r) for r, _, _ in rows],
            "orders_total": [n if b else 0 for (_, n, _), b in zip(rows, buyer, strict=True)],
            "revenue_total": [m if b else 0.0 for (_, _, m), b in zip(rows, buyer, strict=True)],
        }
    )
    _check_rfm(f, rfm(f))


# ---- lifecycle -----------------------------------------------------------------------------
def _row(uid: str, **kw: float) -> dict:
    base = {
        "user_id": uid,
        "tenure_days": 1000.0,
        "has_ordered": 1,
        "orders_total": 5,
        "recency_days": 10.0,
        "ipi_mean_days": 60.0,
        "prev_gap_days": 60.0,
    }
    base.update(kw)
    return base


def lifecycle_frame() -> pd.DataFrame:
    rows = [
        _row("active", recency_days=30.0),  # 0.5 × rhythm
        _row("at_risk", recency_days=120.0),  # 2 ×
        _row("dormant", recency_days=200.0),  # 3.3 ×
        _row("churned", recency_days=300.0),  # 5 ×
        _row("weekly_gone", ipi_mean_days=7.0, recency_days=35.0),  # 5 ×, floors apply
        _row("new", tenure_days=10.0, orders_total=1, recency_days=10.0, ipi_mean_days=None),
        _row("old_one_timer", orders_total=1, recency_days=400.0, ipi_mean_days=None),
        _row("prospect", has_ordered=0, orders_total=0, recency_days=None, ipi_mean_days=None),
        # 20, 20, then 300 days away, back 5 days ago: mean gap 113 hides the long gap.
        _row("back", orders_total=4, ipi_mean_days=340 / 3, prev_gap_days=300.0, recency_days=5.0),
        _row("steady", orders_total=4, ipi_mean_days=20.0, prev_gap_days=20.0, recency_days=5.0),
    ]
    return pd.DataFrame(rows)


def test_lifecycle_follows_the_rhythm() -> None:
    f = lifecycle_frame()
    s = lifecycle(f)
    assert s.name == "lifecycle_stage"
    assert s.index.tolist() == f["user_id"].tolist()
    assert s["active"] == "active"
    assert s["at_risk"] == "at-risk"
    assert s["dormant"] == "dormant"
    assert s["churned"] == "churned"
    # A weekly buyer gone 35 days: past the 30-day active floor, within the at-risk one.
    assert s["weekly_gone"] == "at-risk"
    assert s["new"] == "new"
    assert s["old_one_timer"] == "churned"
    assert s["prospect"] == "prospect"
    assert s["back"] == "reactivated"
    assert s["steady"] == "active"
    assert set(s) <= set(STAGES)


def test_lifecycle_without_prev_gap_never_reactivates() -> None:
    f = lifecycle_frame().drop(columns="prev_gap_days")
    s = lifecycle(f)
    assert "reactivated" not in set(s)
    assert s["back"] == "active"


def test_lifecycle_thresholds_configurable() -> None:
    f = lifecycle_frame()
    s = lifecycle(f, {"lifecycle": {"k_dormant": 6.0}})
    assert s["churned"] == "dormant"  # 300 ≤ 6 × 60
    s = lifecycle(f, {"lifecycle": {"new_days": 5}})
    assert s["new"] == "active"


def test_one_timers_use_the_typical_interval(feats: pd.DataFrame) -> None:
    t = typical_interval(feats)
    assert 14 <= t <= 120
    rep = feats[(feats["orders_total"] >= 2)]
    assert t == pytest.approx(np.clip(rep["ipi_mean_days"].median(), 14, 120))
    rows = pd.DataFrame(
        [
            _row("r1", ipi_mean_days=50.0, orders_total=3),
            _row("r2", ipi_mean_days=50.0, orders_total=3),
            _row("o1", orders_total=1, ipi_mean_days=None, recency_days=0.5 * 50),
            _row("o2", orders_total=1, ipi_mean_days=None, recency_days=5 * 50),
        ]
    )
    assert typical_interval(rows) == 50.0
    s = lifecycle(rows)
    assert s["o1"] == "active"
    assert s["o2"] == "churned"
    assert (
        typical_interval(rows.head(0))
        == DEFAULT_SEGMENTS_CONFIG["lifecycle"]["typical_ipi_fallback_days"]
    )


@settings(max_examples=40, deadline=None)
@given(st.floats(1, 200), st.lists(st.floats(0, 2000), min_size=2, max_size=20))
def test_lifecycle_monotone_in_recency(ipi: float, recencies: list[float]) -> None:
    recencies = sorted(recencies)
    f = pd.DataFrame(
        [_row(f"c{i}", ipi_mean_days=ipi, recency_days=r) for i, r in enumerate(recencies)]
    )
    order = ["active", "at-risk", "dormant", "churned"]
    stages = [order.index(x) for x in lifecycle(f.drop(columns="prev_gap_days"))]
    assert stages == sorted(stages)
    assert stages[0] == 0 or recencies[0] > 30


# ---- clusters ------------------------------------------------------------------------------
def test_clusters_shape_and_report(feats: pd.DataFrame, clustered: tuple) -> None:
    labels, report = clustered
    assert list(labels.columns) == ["user_id", "cluster", "cluster_name"]
    assert labels["user_id"].tolist() == feats["user_id"].tolist()
    assert 3 <= report["k"] <= 8
    assert labels["cluster"].nunique() == report["k"]
    assert -1 <= report["silhouette"] <= 1
    assert [s["k"] for s in report["k_scores"]] == list(range(3, 9))
    names = [c["name"] for c in report["clusters"]]
    assert len(set(names)) == len(names) and all(names)
    assert sum(c["size"] for c in report["clusters"]) == len(feats)
    sizes = [c["size"] for c in report["clusters"]]
    assert sizes == sorted(sizes, reverse=True)
    for c in report["clusters"]:
        assert len(c["top_features"]) == 3
        zs = [abs(t["mean_z"]) for t in c["top_features"]]
        assert zs == sorted(zs, reverse=True)
    assert dict(zip(labels["cluster"], labels["cluster_name"], strict=True)) == {
        c["cluster"]: c["name"] for c in report["clusters"]
    }
    json.dumps(report)  # plain Python types


def test_clusters_deterministic_and_row_order_invariant(
    feats: pd.DataFrame, clustered: tuple
) -> None:
    labels, report = clustered
    again, report2 = clusters(feats, None, seed=7)
    pd.testing.assert_frame_equal(labels, again)
    assert report == report2
    shuffled = feats.sample(frac=1.0, random_state=11).reset_index(drop=True)
    lab3, report3 = clusters(shuffled, None, seed=7)
    assert report3 == report
    pd.testing.assert_frame_equal(
        lab3.set_index("user_id").loc[labels["user_id"]], labels.set_index("user_id")
    )


def test_clusters_never_ordered_stand_apart(feats: pd.DataFrame, clustered: tuple) -> None:
    labels, _ = clustered
    never = feats["has_ordered"].to_numpy() == 0
    # Customers who never ordered are clustered, and mostly among themselves.
    share = labels.loc[never, "cluster"].value_counts(normalize=True).iloc[0]
    assert share > 0.8
    top = labels.loc[never, "cluster"].value_counts().index[0]
    assert (labels.loc[~never, "cluster"] == top).mean() < 0.1


def test_clusters_sampled_and_bounded(feats: pd.DataFrame) -> None:
    cfg = {"clusters": {"sample_size": 150, "fit_sample_size": 200, "k_min": 2, "k_max": 4}}
    labels, report = clusters(feats, cfg, seed=1)
    assert 2 <= report["k"] <= 4
    assert report["sample_size"] == 150
    assert labels["cluster"].between(0, report["k"] - 1).all()
    again, _ = clusters(feats.iloc[::-1], cfg, seed=1)
    pd.testing.assert_frame_equal(
        again.set_index("user_id").loc[labels["user_id"]], labels.set_index("user_id")
    )


def test_clusters_degenerate_inputs() -> None:
    tiny = make_features(n=3, seed=2, prospects=0.0)
    labels, report = clusters(tiny, None, seed=0)
    assert len(labels) == 3 and report["k"] >= 1
    same = pd.DataFrame({"user_id": ["a", "b", "c", "d"], "orders_total": [1, 1, 1, 1]})
    labels, report = clusters(same, None, seed=0)
    assert report["k"] == 1 and math.isnan(report["silhouette"])
    assert labels["cluster_name"].eq("typical").all()


def test_clusters_are_the_segmenters(feats: pd.DataFrame, clustered: tuple) -> None:
    labels, report = clustered
    model = KMeansSegmenter(seed=7).fit(feats)
    assert model.k_ == report["k"] and model.names_ == [c["name"] for c in report["clusters"]]
    np.testing.assert_array_equal(model.labels_, labels["cluster"].to_numpy())
    # New rows go to the nearest centre; the fitted rows get their own clusters back.
    np.testing.assert_array_equal(model.predict(feats), labels["cluster"].to_numpy())
    shuffled = feats.sample(frac=1.0, random_state=3)
    np.testing.assert_array_equal(
        model.predict(shuffled), labels.set_index(feats.index)["cluster"].loc[shuffled.index]
    )


def test_segmenter_fixed_k(feats: pd.DataFrame) -> None:
    model = KMeansSegmenter(3, seed=0).fit(feats)
    assert model.k_ == 3 and [s["k"] for s in model.k_scores_] == [3]
    assert set(model.predict(feats)) == {0, 1, 2}


def test_empty_frame_gives_empty_results() -> None:
    f = make_features().head(0)
    assert rfm(f).empty and lifecycle(f).empty and tags(f).empty
    labels, report = clusters(f)
    assert labels.empty and report["k"] == 0
    assert segment_summary(f, rfm(f)).empty


def test_clusters_orders_only_shop(feats: pd.DataFrame) -> None:
    orders_only = feats[["user_id", "has_ordered", "recency_days", "orders_total", "revenue_total"]]
    labels, report = clusters(orders_only, None, seed=0)
    assert set(report["features"]) <= set(orders_only.columns)
    assert labels["cluster_name"].str.len().gt(0).all()


# ---- tags and profile ----------------------------------------------------------------------
def test_tag_thresholds(feats: pd.DataFrame) -> None:
    th = tag_thresholds(feats)
    buyers = feats[feats["has_ordered"] == 1]
    assert th["high_value_revenue"] == pytest.approx(buyers["revenue_total"].quantile(0.8))
    assert th["frequent_browser_sessions"] >= 3
    assert math.isnan(
        tag_thresholds(feats.drop(columns="sessions_30d"))["frequent_browser_sessions"]
    )


def crafted() -> pd.DataFrame:
    base = {
        "tenure_days": 500.0,
        "has_ordered": 1,
        "orders_total": 4,
        "revenue_total": 100.0,
        "aov": 25.0,
        "recency_days": 20.0,
        "coupon_order_share": 0.0,
        "top_category": "books",
        "top_category_share": 0.4,
        "cart_abandon_rate_90d": 0.1,
        "carts_90d": 1,
        "sessions_30d": 1,
        "support_90d": 0,
        "negative_review_share": np.nan,
        "refund_share": 0.0,
        "opted_out": 0,
    }
    rows = {
        "plain": {},
        "whale": {"revenue_total": 10_000.0},
        "hunter": {"coupon_order_share": 0.6},
        "coupon_only": {"coupon_order_share": 1.0},
        "one_coupon": {"coupon_order_share": 1.0, "orders_total": 1},
        "lover": {"top_category_share": 0.8},
        "abandoner": {"cart_abandon_rate_90d": 0.75, "carts_90d": 4},
        "browser": {"sessions_30d": 40},
        "angry": {"support_90d": 2},
        "unhappy": {"negative_review_share": 0.5},
        "refunder": {"refund_share": 0.5},
        "quiet": {"opted_out": 1},
    }
    out = [{"user_id": k, **base, **v} for k, v in rows.items()]
    return pd.DataFrame(out)


def test_profile_tags_fire_on_crafted_rows() -> None:
    f = crafted()
    th = {"high_value_revenue": 1000.0, "frequent_browser_sessions": 10.0}
    got = {
        r["user_id"]: profile(r, None, "active", "typical", None, th)["tags"]
        for _, r in f.iterrows()
    }
    assert got["plain"] == []
    assert got["whale"] == ["high-value"]
    assert got["hunter"] == ["discount-seeker"]
    assert got["coupon_only"] == ["discount-seeker", "coupon-only"]
    assert got["one_coupon"] == []
    assert got["lover"] == ["category-lover"]
    assert got["abandoner"] == ["cart-abandoner"]
    assert got["browser"] == ["frequent-browser"]
    assert got["angry"] == ["complainer"]
    assert got["unhappy"] == ["complainer"]
    assert got["refunder"] == ["refunder"]
    assert got["quiet"] == ["opted-out"]
    # Without thresholds, population tags stay silent.
    whale = f.iloc[1]
    assert profile(whale, None, "active", "typical")["tags"] == []
    # Stage- and segment-driven tags.
    assert profile(f.iloc[0], None, "new", "x")["tags"] == ["new"]
    assert profile(f.iloc[0], None, "at-risk", "x")["tags"] == ["at-risk"]
    assert profile(f.iloc[0], {"rfm_segment": "Can't Lose"}, "dormant", "x")["tags"] == ["at-risk"]
    # The vectorised form agrees.
    vec = tags(f, None, th)
    assert dict(zip(f["user_id"], vec, strict=True))["coupon_only"] == got["coupon_only"]


def test_profile_is_a_json_ready_360(feats: pd.DataFrame, clustered: tuple) -> None:
    r = rfm(feats)
    st_ = lifecycle(feats)
    labels, _ = clustered
    th = tag_thresholds(feats)
    for i in (0, 1, int(np.flatnonzero(feats["has_ordered"] == 0)[0])):
        p = profile(feats.iloc[i], r.iloc[i], st_.iloc[i], labels["cluster_name"].iloc[i], None, th)
        json.dumps(p, allow_nan=False)
        assert p["user_id"] == feats["user_id"].iloc[i]
        assert p["segment"] == r["rfm_segment"].iloc[i]
        assert p["lifecycle_stage"] == st_.iloc[i]
        assert p["cluster"] == labels["cluster_name"].iloc[i]
        assert list(p["facts"])[:5] == [
            "tenure_days",
            "orders_total",
            "revenue_total",
            "aov",
            "recency_days",
        ]
        assert "ipi_std_days" not in p["facts"]  # configured but absent from the frame
        if p["segment"] == "Prospect":
            assert p["rfm"]["r_score"] is None and p["facts"]["recency_days"] is None


# ---- segment summary -----------------------------------------------------------------------
def test_segment_summary(feats: pd.DataFrame) -> None:
    r = rfm(feats)
    s = segment_summary(feats, r)
    assert list(s.columns) == [
        "segment",
        "customers",
        "revenue_share",
        "avg_recency_days",
        "avg_orders",
        "avg_revenue",
        "suggested_play",
    ]
    assert s["customers"].sum() == len(feats)
    assert s["revenue_share"].sum() == pytest.approx(1.0)
    assert set(s["segment"]) == set(r["rfm_segment"])
    assert s["segment"].is_unique and "Prospect" in set(s["segment"])
    assert s["suggested_play"].str.len().gt(0).all()
    prospect = s.set_index("segment").loc["Prospect"]
    assert math.isnan(prospect["avg_recency_days"]) and prospect["revenue_share"] == 0
    champ = s.set_index("segment").loc["Champions"]
    assert champ["suggested_play"] == "reward, early access, ask for reviews"
    # Segments follow the configured rule order, Prospect after them.
    known = [x for x in [*RULE_NAMES, "Prospect"] if x in set(s["segment"])]
    assert s["segment"].tolist() == known


def test_segment_summary_without_revenue() -> None:
    f = pd.DataFrame(
        {
            "user_id": ["a", "b"],
            "has_ordered": [1, 0],
            "recency_days": [3.0, np.nan],
            "orders_total": [1, 0],
            "revenue_total": [0.0, 0.0],
        }
    )
    s = segment_summary(f, rfm(f))
    assert s["customers"].sum() == 2 and (s["revenue_share"] == 0).all()


# ---- configuration -------------------------------------------------------------------------
def _toml_types(v: object, path: str = "segments") -> None:
    if isinstance(v, dict):
        for k, x in v.items():
            assert isinstance(k, str), path
            _toml_types(x, f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _toml_types(x, f"{path}[{i}]")
    else:
        assert isinstance(v, str | int | float | bool), f"{path} is not TOML: {v!r}"


def test_default_config_is_toml_shaped() -> None:
    _toml_types(DEFAULT_SEGMENTS_CONFIG)
    assert set(DEFAULT_SEGMENTS_CONFIG["plays"]) >= {*RULE_NAMES, "Prospect"}


def test_defaults_are_the_documented_toml() -> None:
    # One source: the [segments] tables of liucun.config.DEFAULT_TOML.
    assert config.section("segments") == DEFAULT_SEGMENTS_CONFIG
    assert DEFAULT_SEGMENTS_CONFIG["clusters"] == config.section("segments.clusters")


def test_partial_config_keeps_other_defaults(feats: pd.DataFrame) -> None:
    a = lifecycle(feats)
    b = lifecycle(feats, {"lifecycle": {"reactivated_days": 30}, "unrelated": 1})
    pd.testing.assert_series_equal(a, b)
    rules = [{"name": "Everyone", "r": [1, 5], "fm": [1.0, 5.0]}]
    out = rfm(feats, {"rfm": {"rules": rules}})
    assert set(out["rfm_segment"]) == {"Everyone", "Prospect"}
    assert DEFAULT_SEGMENTS_CONFIG["rfm"]["rules"][0]["name"] == "Champions"  # untouched
