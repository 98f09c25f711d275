"""Risk control: rules with reasons, the anomaly detector, point in time, supervised when
labelled, the CLI contract, and the planner keeping risky accounts out of coupons."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

import liucun
from liucun.errors import LiucunError
from liucun.models.risk import DEFAULT_RULES, RiskDetector
from liucun.tasks.risk import OUTPUT_COLUMNS, risk_config, risk_scores

TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")
START = dt.date(2024, 1, 1)
DAYS = 330
SIM = {"users": 2000, "days": DAYS, "holdout_days": 0, "seed": 7, "start": START}
AS_OF = START + dt.timedelta(days=DAYS)


def _frame(**cols: list) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {c: [0.0] * n for c in (
        "orders", "coupon_orders", "coupon_share", "discount_share", "refunded", "refund_share",
        "coupon_refunded", "cancelled", "cancel_share", "max_orders_24h", "first_discount_share",
        "days_since_first_order", "amount_max_ratio", "amount_max_shop_ratio", "shared_accounts",
    )}  # fmt: skip
    base["shared_signup_days"] = [np.nan] * n
    base["user_id"] = [f"u{i}" for i in range(n)]
    base.update(cols)
    return pd.DataFrame(base)


def test_rules_fire_with_reasons_and_combine() -> None:
    normal = {"orders": [2.0] * 200, "max_orders_24h": [1.0] * 200, "amount_max_ratio": [1.2] * 200}
    df = _frame(**normal)
    df.loc[0, ["shared_accounts", "shared_signup_days"]] = [6, 1.0]
    df.loc[1, ["coupon_refunded", "refund_share"]] = [2, 1.0]
    df.loc[2, "max_orders_24h"] = 9
    df.loc[3, ["shared_accounts", "shared_signup_days", "coupon_refunded", "refund_share"]] = [
        6, 1.0, 2, 1.0,
    ]  # fmt: skip
    s = RiskDetector().fit(df).score(df)
    assert "shares a device/address/payment with 6 other accounts" in s.loc[0, "risk_reasons"]
    assert "refunded 2 coupon order(s)" in s.loc[1, "risk_reasons"]
    assert "9 orders within 24 hours" in s.loc[2, "risk_reasons"]
    # Two rules beat either alone; ordinary accounts score low and give no reasons.
    assert s.loc[3, "risk_score"] > max(s.loc[0, "risk_score"], s.loc[1, "risk_score"])
    assert s.loc[0, "rule_score"] == pytest.approx(DEFAULT_RULES["shared_attribute"]["strength"])
    assert (s.loc[4:, "risk_score"] < 0.2).all() and (s.loc[4:, "risk_reasons"] == "").all()
    assert s["risk_score"].between(0, 1).all() and s["anomaly"].between(0, 1).all()


def test_thresholds_come_from_liucun_toml(ws: liucun.Workspace) -> None:
    (ws.path / "liucun.toml").write_text(
        "[risk.rules.velocity_burst]\nmin_orders_24h = 2\n[risk.rules.amount_outlier]\n"
        "enabled = false\n",
        encoding="utf-8",
    )
    cfg = risk_config(liucun.Workspace(ws.path))
    assert cfg["rules"]["velocity_burst"]["min_orders_24h"] == 2
    assert "amount_outlier" not in cfg["rules"] and "chargebacks" in cfg["rules"]
    (ws.path / "liucun.toml").write_text("[risk.rules.no_such_rule]\nx = 1\n", "utf-8")
    with pytest.raises(LiucunError, match="unknown rule"):
        risk_config(liucun.Workspace(ws.path))


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> Path:
    return simulated_workspace(TABLES, **SIM)


def test_abusers_rank_first_and_rings_are_caught(
    shop: Path, simulated: Callable[..., Path]
) -> None:
    truth = pd.read_parquet(simulated(**SIM) / "truth" / "customers.parquet")
    with liucun.Workspace(shop) as ws:
        r = risk_scores(ws, AS_OF)
    s = r.scores.merge(truth[["user_id", "is_abuser", "abuse_kind"]], on="user_id", how="left")
    s["is_abuser"] = s["is_abuser"].fillna(False).astype(bool)
    assert s["user_id"].is_unique and list(s.columns[:4]) == OUTPUT_COLUMNS
    assert s["risk_score"].is_monotonic_decreasing
    assert set(s["risk_band"]) <= {"high", "medium", "low"}
    ap = average_precision_score(s["is_abuser"], s["risk_score"])
    base_rate = s["is_abuser"].mean()
    assert ap > 10 * base_rate, (ap, base_rate)
    ring = s[s["abuse_kind"] == "multi_account"]
    assert len(ring) >= 5
    assert (ring["risk_band"] == "high").mean() >= 0.8
    assert ring["risk_reasons"].str.contains("shares a device").mean() >= 0.8
    # Flagged orders carry their reasons and belong to scored accounts.
    assert len(r.orders) and (r.orders["reasons"] != "").all()
    assert set(r.orders["user_id"]) <= set(s["user_id"])


def test_risk_reads_nothing_at_or_after_as_of(
    shop: Path, simulated_workspace: Callable[..., Path], tmp_path: Path
) -> None:
    mid = START + dt.timedelta(days=200)
    with liucun.Workspace(shop) as ws:
        before = risk_scores(ws, mid).scores
        user = before["user_id"].iloc[-1]
    # A burst of coupon orders on the as_of day itself must change nothing as of that day.
    pd.DataFrame(
        {
            "order_id": [f"late{i}" for i in range(6)],
            "user_id": user,
            "ts": pd.Timestamp(mid) + pd.to_timedelta(np.arange(6), unit="h"),
            "amount": 10.0,
            "status": "refunded",
            "coupon_code": "NEW10",
            "discount": 5.0,
        }
    ).to_csv(tmp_path / "late.csv", index=False)
    with liucun.Workspace(simulated_workspace(TABLES, **SIM)) as ws2:
        ws2.ingest("orders", tmp_path / "late.csv")
        again = risk_scores(ws2, mid).scores
        later = risk_scores(ws2, mid + dt.timedelta(days=1)).scores.set_index("user_id")
    pd.testing.assert_frame_equal(before, again)
    assert later.loc[user, "risk_band"] == "high"
    assert "6 orders within 24 hours" in later.loc[user, "risk_reasons"]


def test_labels_train_a_supervised_model_reported_alongside(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 400
    bad = rng.random(n) < 0.1
    users = pd.DataFrame(
        {
            "user_id": [f"u{i:03d}" for i in range(n)],
            "signup_ts": "2024-01-01",
            "attributes": [json.dumps({"label": int(b)}) for b in bad],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "user_id": users["user_id"],
            "ts": "2024-02-01",
            "amount": np.where(bad, 500.0, 50.0) * rng.uniform(0.8, 1.2, n),
            "status": np.where(bad & (rng.random(n) < 0.7), "refunded", "paid"),
            "discount": np.where(bad, 20.0, 0.0),
        }
    )
    users.to_csv(tmp_path / "users.csv", index=False)
    orders.to_csv(tmp_path / "orders.csv", index=False)
    with liucun.Workspace(tmp_path / "ws") as ws:
        ws.ingest("users", tmp_path / "users.csv")
        ws.ingest("orders", tmp_path / "orders.csv")
        r = risk_scores(ws, dt.date(2024, 3, 1))
    sup = r.stats["supervised"]
    assert sup["labelled"] == n and sup["positives"] == int(bad.sum())
    assert sup["cv_roc_auc"] > 0.9
    assert r.scores["p_fraud_supervised"].between(0, 1).all()


def test_planner_keeps_the_high_band_out_of_coupons(shop: Path) -> None:
    from liucun.tasks.plan import plan

    with liucun.Workspace(shop) as ws:
        high = risk_scores(ws, AS_OF).high()
        free = plan(ws, AS_OF, budget=2000.0, risky=[])
        kept = plan(ws, AS_OF, budget=2000.0)  # risky=None: the high band, per liucun.toml
    cat = kept.models.catalog_
    discount = {a for a in cat if cat[a].gives_discount}
    to_risky = kept.plan[kept.plan["user_id"].isin(high)]
    assert not to_risky["action"].isin(discount).any()
    assert kept.stats["risky_excluded"] > 0 and free.stats["risky_excluded"] == 0


def test_risk_cli_writes_the_contract_columns(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "risk.csv"
    r = subprocess.run(
        [sys.executable, "-m", "liucun.cli", "--workspace", str(shop), "risk",
         "--as-of", AS_OF.isoformat(), "--out", str(out), "--orders", str(tmp_path / "o.csv")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out, dtype={"user_id": str})
    assert list(df.columns[:4]) == ["user_id", "risk_score", "risk_band", "risk_reasons"]
    assert "high" in r.stdout and (tmp_path / "o.csv").is_file()
