"""Churn / CLV scoring on a simulated shop: contract, no time travel, reuse, fallbacks.

One shop (2,000 customers, 365 days, seed 3) is simulated and loaded once for the module;
the scores as of ``AS_OF`` are fitted once and shared. ``AS_OF`` leaves 240 days of
history, too few for 90-day labels at five monthly snapshots, so it also exercises the
shorter label window that the BTYD time shape stretches to the horizon.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shared import fixed_horizon
from sklearn.metrics import roc_auc_score

import liucun
from liucun.backtests.churn import MODELS, Predictions, backtest, btyd_predictions, evaluate
from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.features import feature_frame
from liucun.features.btyd import order_span, summary_frame
from liucun.features.labels import build_labels
from liucun.pipeline.alerts import DRIFT_FEATURES, alerts
from liucun.runs import previous_run
from liucun.sim import simulate
from liucun.tasks.score import (
    DEFAULT_SCORE_CONFIG,
    ScoreResult,
    model_dir,
    plan_training,
    risk_band,
    score,
    score_config,
)

D = dt.date
START = D(2024, 1, 1)
DAYS = 365
AS_OF = START + dt.timedelta(days=240)
LATER = AS_OF + dt.timedelta(days=30)
SHORT = START + dt.timedelta(days=45)
H = 90
TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")
CONTRACT = (
    "user_id",
    "p_churn",
    "expected_orders",
    "expected_revenue",
    "segment",
    "lifecycle_stage",
    "reasons",
)
NUMBERS = ("p_churn", "expected_orders", "expected_revenue", "clv_365d")


@dataclass
class Shop:
    sim: Path
    ws: liucun.Workspace
    root: Path


def _ingest(ws: liucun.Workspace, folder: Path) -> None:
    for t in TABLES:
        ws.ingest(t, folder / f"{t}.parquet")


def _copy_before(sim: Path, out: Path, cut: dt.date, since: dt.date | None = None) -> Path:
    """The simulated files as a shop held them on the morning of ``cut``.

    With ``since``, only the rows in [since, cut) of the tables with timestamps instead:
    what a later ingest adds.
    """
    out.mkdir(parents=True, exist_ok=True)
    ts = pd.Timestamp(cut, tz="UTC")
    lo = pd.Timestamp(since, tz="UTC") if since else None
    orders = pd.read_parquet(sim / "orders.parquet")
    for t in TABLES:
        df = pd.read_parquet(sim / f"{t}.parquet")
        if t == "users":
            keep = df["signup_ts"].isna() | (df["signup_ts"] < ts)
        elif "ts" in df.columns:
            keep = df["ts"] < ts
            if lo is not None:
                keep &= df["ts"] >= lo
        elif t == "order_items":
            ok = orders.loc[orders["ts"] < ts, "order_id"]
            keep = df["order_id"].isin(ok)
        else:
            keep = pd.Series(True, index=df.index)
        df[keep.to_numpy()].to_parquet(out / f"{t}.parquet", index=False)
    return out


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("scoring")
    simulate(root / "sim", users=2000, days=DAYS, holdout_days=0, seed=3, start=START)
    with liucun.Workspace(root / "ws") as ws:
        _ingest(ws, root / "sim")
        yield Shop(root / "sim", ws, root)


@pytest.fixture(scope="module")
def scored(shop: Shop) -> ScoreResult:
    return score(shop.ws, AS_OF, H)


@pytest.fixture(scope="module")
def truncated(shop: Shop) -> Iterator[liucun.Workspace]:
    files = _copy_before(shop.sim, shop.root / "cut", AS_OF)
    with liucun.Workspace(shop.root / "ws_cut") as ws:
        _ingest(ws, files)
        yield ws


@pytest.fixture(scope="module")
def short(shop: Shop) -> Iterator[liucun.Workspace]:
    files = _copy_before(shop.sim, shop.root / "short", SHORT)
    with liucun.Workspace(shop.root / "ws_short") as ws:
        _ingest(ws, files)
        yield ws


def _check_contract(scores: pd.DataFrame, users: pd.Series) -> None:
    assert set(CONTRACT) <= set(scores.columns)
    assert scores["user_id"].is_unique
    assert sorted(scores["user_id"]) == sorted(users)
    p = scores["p_churn"].to_numpy(dtype=float)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    for c in ("expected_orders", "expected_revenue"):
        v = scores[c].to_numpy(dtype=float)
        assert np.isfinite(v).all() and (v >= 0).all(), c
    assert scores[["segment", "lifecycle_stage"]].notna().all().all()
    assert scores["reasons"].map(lambda s: isinstance(s, str) and s.strip() != "").all()


# -- (1) the contract ------------------------------------------------------------------


def test_scores_follow_the_contract(shop: Shop, scored: ScoreResult) -> None:
    s = scored.scores
    users = feature_frame(shop.ws, AS_OF)["user_id"]
    _check_contract(s, users)
    cfg = score_config(shop.ws)
    assert scored.plan.mode == "boosted" and scored.plan.horizon == H
    # Bands follow the configured thresholds, and this shop has customers in all three.
    bands = cfg["risk_bands"]
    p = s["p_churn"].to_numpy()
    want = np.where(p >= bands["high"], "high", np.where(p >= bands["medium"], "medium", "low"))
    assert (s["risk_band"].to_numpy() == want).all()
    assert set(s["risk_band"]) == {"low", "medium", "high"}
    # At most `reasons` drivers each, none repeated.
    parts = s["reasons"].str.split("; ")
    assert parts.map(len).between(1, int(cfg["reasons"])).all()
    assert parts.map(lambda x: len(x) == len(set(x))).all()
    # More expected orders, less churn risk; revenue needs orders.
    assert s["p_churn"].corr(s["expected_orders"], method="spearman") < -0.5
    assert (s["expected_revenue"] >= 0).all() and (
        s["clv_365d"] >= s["expected_revenue"] - 1e-9
    ).all()


def test_p_churn_predicts_the_next_horizon(shop: Shop, scored: ScoreResult) -> None:
    """The warehouse holds the days after AS_OF: p_churn ranks and sizes real churn."""
    labels = build_labels(workspace_tables(shop.ws), AS_OF, H).execute()
    bought = scored.scores["user_id"].isin(labels["user_id"]).to_numpy()
    churned = ~bought
    assert roc_auc_score(churned, scored.scores["p_churn"]) > 0.75
    assert abs(scored.scores["p_churn"].mean() - churned.mean()) < 0.1
    orders = labels.set_index("user_id")["orders_h"].reindex(scored.scores["user_id"]).fillna(0)
    assert scored.scores["expected_orders"].sum() == pytest.approx(orders.sum(), rel=0.35)


def test_shorter_history_gives_a_shorter_label_window(scored: ScoreResult) -> None:
    plan = scored.plan
    assert plan.mode == "boosted"
    assert 14 <= plan.label_days < H
    assert str(plan.label_days) in plan.why and str(H) in plan.why
    assert plan.cutoffs == sorted(plan.cutoffs) and len(plan.cutoffs) >= 5
    # Every label window closes before as_of.
    assert plan.cutoffs[-1] + dt.timedelta(days=plan.label_days) <= AS_OF


# -- (2) no time travel ----------------------------------------------------------------


def test_scores_equal_those_of_a_warehouse_cut_at_as_of(
    scored: ScoreResult, truncated: liucun.Workspace
) -> None:
    cut = score(truncated, AS_OF, H)
    assert not cut.reused
    assert cut.plan.cutoffs == scored.plan.cutoffs
    assert cut.plan.label_days == scored.plan.label_days
    a = scored.scores.sort_values("user_id").reset_index(drop=True)
    b = cut.scores.sort_values("user_id").reset_index(drop=True)
    assert list(a["user_id"]) == list(b["user_id"])
    for c in NUMBERS:
        np.testing.assert_allclose(a[c], b[c], rtol=0, atol=1e-9, err_msg=c)
    for c in ("reasons", "risk_band", "segment", "lifecycle_stage"):
        assert (a[c] == b[c]).all(), c


# -- (3) reuse -------------------------------------------------------------------------


def test_second_score_reuses_the_saved_models(shop: Shop, scored: ScoreResult) -> None:
    assert (scored.model_path / "meta.json").is_file()
    assert (scored.model_path / "classifier" / "booster.txt").is_file()
    again = score(shop.ws, AS_OF, H)
    assert again.reused and again.model_path == scored.model_path
    assert again.plan == scored.plan
    pd.testing.assert_frame_equal(again.scores, scored.scores, check_exact=True)
    # Another horizon or as_of is another model.
    assert model_dir(shop.ws, AS_OF, 60) != scored.model_path
    assert model_dir(shop.ws, LATER, H) != scored.model_path


def test_an_ingest_that_changes_data_invalidates_reuse(shop: Shop, short) -> None:
    first = score(short, SHORT, H)
    assert score(short, SHORT, H).reused
    # The same file again changes nothing: still reused.
    short.ingest("orders", shop.root / "short" / "orders.parquet")
    assert score(short, SHORT, H).reused
    # New rows (here after as_of) change the warehouse: fitted afresh, same point-in-time scores.
    later = _copy_before(shop.sim, shop.root / "short_more", SHORT + dt.timedelta(days=10), SHORT)
    short.ingest("orders", later / "orders.parquet")
    fresh = score(short, SHORT, H)
    assert not fresh.reused and fresh.model_path != first.model_path
    pd.testing.assert_frame_equal(fresh.scores, first.scores)


# -- (4) short history -----------------------------------------------------------------


def test_short_history_falls_back_to_btyd(short: liucun.Workspace) -> None:
    first, last = order_span(workspace_tables(short), SHORT)
    assert first is not None and last is not None and first <= last < SHORT
    assert (SHORT - first).days <= 45
    r = score(short, SHORT, H)
    assert r.plan.mode == "btyd"
    assert "BTYD" in r.plan.why and "history" in r.plan.why
    _check_contract(r.scores, feature_frame(short, SHORT)["user_id"])
    assert set(r.scores["risk_band"]) <= {"low", "medium", "high"}
    # Customers who never ordered get the largest p_churn, and no orders are expected of them.
    never = r.scores["reasons"].str.startswith("has never ordered")
    assert never.any() and (~never).any()
    assert r.scores.loc[~never, "p_churn"].mean() < r.scores.loc[never, "p_churn"].min() + 1e-12
    # BTYD's reasons say which way each one pushes, in words.
    assert r.scores["reasons"].str.contains(r": (?:raises|lowers) risk", regex=True).all()
    assert not r.scores["reasons"].str.contains("BG/NBD P(active)", regex=False).any()


@pytest.mark.parametrize("horizon", [0, -5])
def test_horizon_below_one_day_is_rejected(short: liucun.Workspace, horizon: int) -> None:
    with pytest.raises(LiucunError, match="horizon"):
        score(short, SHORT, horizon)


def test_no_orders_before_as_of_is_one_clear_error(short: liucun.Workspace) -> None:
    with pytest.raises(LiucunError, match="no orders before"):
        score(short, START, H)


# -- (5) plan_training -----------------------------------------------------------------


def test_plan_full_history() -> None:
    plan = plan_training(D(2024, 1, 1), D(2025, 1, 1), 90, DEFAULT_SCORE_CONFIG)
    assert plan.mode == "boosted" and plan.label_days == 90 and plan.why == ""
    assert plan.cutoffs == [
        D(2024, 5, 6),
        D(2024, 6, 5),
        D(2024, 7, 5),
        D(2024, 8, 4),
        D(2024, 9, 3),
        D(2024, 10, 3),
    ]


def test_plan_shortens_labels_then_gives_up() -> None:
    cfg = DEFAULT_SCORE_CONFIG
    first = D(2024, 1, 1)
    p = plan_training(first, first + dt.timedelta(days=240), 90, cfg)
    assert p.mode == "boosted" and p.label_days == 60 and "labels over 60 days" in p.why
    assert p.cutoffs == [first + dt.timedelta(days=d) for d in (60, 90, 120, 150, 180)]
    # The shortest history that still labels: min_history + 4 steps + min_label = 194 days.
    p = plan_training(first, first + dt.timedelta(days=194), 90, cfg)
    assert p.mode == "boosted" and p.label_days == 14 and len(p.cutoffs) == 5
    p = plan_training(first, first + dt.timedelta(days=193), 90, cfg)
    assert p.mode == "btyd" and p.cutoffs == [] and p.label_days == 90
    assert "193 days of history" in p.why and "need 194" in p.why
    p = plan_training(first, first + dt.timedelta(days=40), 30, cfg)
    assert p.mode == "btyd" and p.horizon == 30


def test_plan_follows_the_settings() -> None:
    cfg = {
        **DEFAULT_SCORE_CONFIG,
        "snapshots": 3,
        "min_snapshots": 2,
        "snapshot_step_days": 7,
        "min_history_days": 14,
        "min_label_days": 7,
    }
    p = plan_training(D(2024, 1, 1), D(2024, 3, 1), 30, cfg)
    assert p.mode == "boosted" and p.label_days == 30
    assert p.cutoffs == [D(2024, 1, 17), D(2024, 1, 24), D(2024, 1, 31)]


@pytest.mark.parametrize("horizon", [7, 30, 90, 180])
def test_plan_invariants(horizon: int) -> None:
    cfg = DEFAULT_SCORE_CONFIG
    first = D(2023, 1, 1)
    for span in range(0, 600, 3):
        as_of = first + dt.timedelta(days=span)
        p = plan_training(first, as_of, horizon, cfg)
        assert p.as_of == as_of and p.horizon == horizon
        if p.mode == "btyd":
            assert p.cutoffs == [] and p.why
            continue
        assert cfg["min_label_days"] <= p.label_days <= horizon
        assert cfg["min_snapshots"] <= len(p.cutoffs) <= cfg["snapshots"]
        assert p.cutoffs == sorted(p.cutoffs)
        assert p.cutoffs[-1] + dt.timedelta(days=p.label_days) == as_of
        assert all((c - first).days >= cfg["min_history_days"] for c in p.cutoffs)
        steps = {(b - a).days for a, b in zip(p.cutoffs, p.cutoffs[1:], strict=False)}
        assert steps == {cfg["snapshot_step_days"]}
        assert (p.why == "") == (p.label_days == horizon)


def test_risk_band_thresholds() -> None:
    p = np.array([0.0, 0.29, 0.3, 0.69, 0.7, 1.0])
    bands = risk_band(p, {"medium": 0.3, "high": 0.7})
    assert list(bands) == ["low", "low", "medium", "medium", "high", "high"]


def test_risk_bands_come_from_the_workspace_settings(tmp_path: Path) -> None:
    with liucun.Workspace(tmp_path / "w") as ws:
        assert score_config(ws)["risk_bands"] == {"medium": 0.5, "high": 0.8}
        toml = ws.path / "liucun.toml"
        toml.write_text(
            toml.read_text(encoding="utf-8").replace("high = 0.8", "high = 0.9"), encoding="utf-8"
        )
        cfg = score_config(ws)
        assert cfg["risk_bands"] == {"medium": 0.5, "high": 0.9}
        assert cfg["horizon_days"] == DEFAULT_SCORE_CONFIG["horizon_days"]


# -- (6) the BTYD summary --------------------------------------------------------------


def test_btyd_summary_by_hand(ws: liucun.Workspace, tmp_path: Path) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(
        "order_id,user_id,ts,amount,status\n"
        "1,a,2024-01-01 09:00:00,10,paid\n"
        "2,a,2024-01-01 18:00:00,5,paid\n"  # same day as order 1: one transaction
        "3,a,2024-01-05 10:00:00,20,paid\n"
        "4,a,2024-01-11 23:00:00,30,refunded\n"  # a purchase day, no paid value
        "5,a,2024-01-25 10:00:00,99,paid\n"  # after as_of: invisible
        "6,b,2024-01-15 12:00:00,40,paid\n"
        "7,c,2024-01-20 00:00:00,70,paid\n"  # at as_of: invisible
        "8,d,2024-01-10 08:00:00,8,paid\n"
        "9,d,2024-01-12 08:00:00,12,paid\n",
        encoding="utf-8",
    )
    ws.ingest("orders", f)
    tables = workspace_tables(ws)
    s = summary_frame(tables, "2024-01-20")
    assert list(s["user_id"]) == ["a", "b", "d"]
    s = s.set_index("user_id")
    a, b, d = s.loc["a"], s.loc["b"], s.loc["d"]
    assert a["frequency"] == 2 and a["recency"] == pytest.approx(10.0)
    assert a["T"] == pytest.approx(19.0)  # from the first order *day* to as_of
    assert a["monetary"] == pytest.approx((20 + 0) / 2)
    assert b["frequency"] == 0 and b["recency"] == 0 and b["T"] == pytest.approx(5.0)
    assert math.isnan(b["monetary"])
    assert d["frequency"] == 1 and d["recency"] == pytest.approx(2.0)
    assert d["T"] == pytest.approx(10.0) and d["monetary"] == pytest.approx(12.0)
    assert order_span(tables, "2024-01-20") == (D(2024, 1, 1), D(2024, 1, 15))
    assert order_span(tables, "2024-01-01") == (None, None)
    # Later, the rows that were hidden count.
    later = summary_frame(tables, "2024-02-01").set_index("user_id")
    assert later.loc["a", "frequency"] == 3 and "c" in later.index


# -- (7) backtest ----------------------------------------------------------------------


def test_backtest_compares_the_four_models(shop: Shop) -> None:
    tables = workspace_tables(shop.ws)
    cut = LATER
    res = backtest(tables, [cut], 90, score_config(shop.ws))
    per = res["per_cutoff"]
    assert set(per["model"]) == set(MODELS) and len(per) == len(MODELS)
    assert (per["cutoff"] == cut.isoformat()).all()
    auc = per.set_index("model")["roc_auc"]
    assert np.isfinite(auc).all() and (auc > 0.6).all(), auc.to_dict()
    assert auc["boosted"] > 0.7
    assert set(res["summary"]["model"]) == set(MODELS)
    assert set(res["calibration"]) == {"bgnbd", "paretonbd", "boosted"}
    assert set(res["lift"]) == set(MODELS)
    assert res["horizon_days"] == 90 and res["cutoffs"] == [cut.isoformat()]
    assert (per["customers"] == len(feature_frame(shop.ws, cut))).all()
    # Revenue: BTYD and boosted rank next-horizon spend better than chance.
    rev = per.set_index("model")["revenue_spearman"]
    assert (rev.drop("recency") > 0.2).all() and math.isnan(rev["recency"])


def test_btyd_predictions_are_coherent(shop: Shop) -> None:
    summary = summary_frame(workspace_tables(shop.ws), AS_OF)
    users = pd.Series([*summary["user_id"].iloc[:50], "nobody"])
    for kind in ("bgnbd", "paretonbd"):
        p = btyd_predictions(summary, users, 90, kind)
        assert p.orders is not None and p.revenue is not None
        assert ((p.p_purchase >= 0) & (p.p_purchase <= 1)).all()
        assert (p.orders >= 0).all() and (p.revenue >= 0).all()
        np.testing.assert_allclose(p.p_purchase, 1 - np.exp(-p.orders))
        assert p.orders[-1] == 0 and p.revenue[-1] == 0  # never ordered: nothing expected
        longer = btyd_predictions(summary, users, 180, kind)
        assert (longer.orders[:-1] > p.orders[:-1]).all()


def test_evaluate_scores_a_perfect_and_a_useless_model() -> None:
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0] * 10)
    rev = y * np.arange(1, 101, dtype=float)
    truth = pd.DataFrame({"purchased": y, "active": y, "orders_h": y * 2.0, "revenue_h": rev})
    good = evaluate(truth, Predictions(y * 0.9 + 0.05, y * 2.0, rev))
    assert good["roc_auc"] == pytest.approx(1.0) and good["orders_mae"] == pytest.approx(0.0)
    assert good["revenue_top10_share"] == pytest.approx(good["revenue_top10_oracle"])
    flat = evaluate(truth, Predictions(np.full(len(y), 0.3), None, None))
    assert flat["roc_auc"] == pytest.approx(0.5)
    assert math.isnan(flat["orders_mae"]) and math.isnan(flat["revenue_spearman"])


# -- (8) alerts ------------------------------------------------------------------------


def test_alerts_name_who_crossed_into_the_high_band(shop: Shop, scored: ScoreResult) -> None:
    ws = shop.ws
    fixed_horizon(ws.path, H)  # the run's horizon is "auto" by default; `scored` used H
    first = alerts(ws, AS_OF)
    assert first.previous is None and first.drift.empty
    assert first.run.stats["models_reused"]  # the models fitted for `scored`
    now = pd.read_parquet(first.run.outputs["scores"])
    assert sorted(first.alerts["user_id"]) == sorted(now.loc[now["risk_band"] == "high", "user_id"])

    second = alerts(ws, LATER)
    assert second.previous == first.run.run_id
    assert previous_run(ws, second.run.run_id) == Path(first.run.run_dir)
    before = pd.read_parquet(first.run.outputs["scores"]).set_index("user_id")["risk_band"]
    after = pd.read_parquet(second.run.outputs["scores"]).set_index("user_id")["risk_band"]
    a = second.alerts
    assert len(a) > 0
    assert (after.reindex(a["user_id"]) == "high").all()
    assert not (before.reindex(a["user_id"]) == "high").any()
    # Everyone who is high now and was not before is listed (new customers included).
    crossed = set(after.index[after == "high"]) - set(before.index[before == "high"])
    assert set(a["user_id"]) == crossed
    assert {"user_id", "p_churn", "value_at_risk", "reasons"} <= set(a.columns)
    assert (a["value_at_risk"] >= 0).all()
    assert a["value_at_risk"].is_monotonic_decreasing
    feats = pd.read_parquet(second.run.outputs["features"]).set_index("user_id")
    spend = feats["revenue_365d"].reindex(a["user_id"]).fillna(0).to_numpy()
    np.testing.assert_allclose(a["value_at_risk"], spend * a["p_churn"])
    d = second.drift
    assert {"feature", "psi"} <= set(d.columns) and len(d) > 0
    assert set(d["feature"]) <= set(DRIFT_FEATURES)
    assert np.isfinite(d["psi"]).all() and (d["psi"] >= 0).all()
    run_dir = Path(second.run.run_dir)
    assert (run_dir / "alerts.parquet").is_file() and (run_dir / "drift.parquet").is_file()
    assert len(pd.read_parquet(run_dir / "alerts.parquet")) == len(a)
