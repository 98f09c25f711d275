"""Risk control for a shop as of a date: account scores with reasons, flagged orders, and
the list the planner keeps out of coupon actions.

Rules and thresholds come from ``[risk]`` in liucun.toml over DEFAULT_RULES. When the shop
has labels (a users ``label`` / ``is_fraud`` column or attribute), a supervised model is
cross-fitted on the same features and reported alongside, never in place of the rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun import config
from liucun.errors import LiucunError
from liucun.features.risk import account_labels, order_rows, risk_features
from liucun.models.risk import DEFAULT_RULES, RiskDetector, detector_matrix

if TYPE_CHECKING:
    from liucun.workspace import Workspace

OUTPUT_COLUMNS = ["user_id", "risk_score", "risk_band", "risk_reasons"]


def risk_config(ws: Workspace) -> dict[str, Any]:
    """``[risk]`` of liucun.toml over its defaults, checked; ``rules`` complete (the
    overrides laid on DEFAULT_RULES, disabled ones dropped)."""
    cfg = config.section("risk", ws.config)
    if not 0 < float(cfg["medium"]) <= float(cfg["high"]) <= 1:
        raise LiucunError("liucun.toml [risk]: expected 0 < medium <= high <= 1")
    rules = {k: dict(v) for k, v in DEFAULT_RULES.items()}
    for name, over in dict(cfg["rules"]).items():
        if name not in rules:
            raise LiucunError(
                f"liucun.toml [risk.rules.{name}]: unknown rule; expected one of {', '.join(rules)}"
            )
        if over is False or (isinstance(over, dict) and over.get("enabled") is False):
            del rules[name]
            continue
        bad = set(over) - set(rules[name]) - {"enabled"}
        if bad:
            raise LiucunError(f"liucun.toml [risk.rules.{name}]: unknown key(s) {sorted(bad)}")
        rules[name].update({k: v for k, v in over.items() if k != "enabled"})
    cfg["rules"] = rules
    return cfg


@dataclass
class RiskResult:
    scores: pd.DataFrame  # user_id, risk_score, risk_band, risk_reasons, rule/anomaly parts
    orders: pd.DataFrame  # flagged orders with reasons
    stats: dict[str, Any] = field(default_factory=dict)

    def high(self) -> list[str]:
        return self.scores.loc[self.scores["risk_band"] == "high", "user_id"].tolist()


def _bands(score: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    return np.where(score >= cfg["high"], "high", np.where(score >= cfg["medium"], "medium", "low"))


def _supervised(features: pd.DataFrame, labels: pd.DataFrame) -> tuple[np.ndarray, dict] | None:
    """Cross-fitted P(fraud) where the shop labelled enough accounts of both kinds."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = features[["user_id"]].merge(labels, on="user_id", how="left")["label"]
    known = y.notna().to_numpy()
    yk = y[known].astype(int).to_numpy()
    if known.sum() < 50 or yk.sum() < 10 or (yk == 0).sum() < 10:
        return None
    x = detector_matrix(features)
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    p_known = cross_val_predict(model, x[known], yk, cv=folds, method="predict_proba")[:, 1]
    p = np.full(len(features), np.nan)
    p[known] = p_known
    if (~known).any():
        p[~known] = model.fit(x[known], yk).predict_proba(x[~known])[:, 1]
    return p, {
        "labelled": int(known.sum()),
        "positives": int(yk.sum()),
        "cv_roc_auc": round(float(roc_auc_score(yk, p_known)), 4),
        "cv_pr_auc": round(float(average_precision_score(yk, p_known)), 4),
    }


def flagged_orders(ws: Workspace, as_of: dt.date, scores: pd.DataFrame) -> pd.DataFrame:
    """Orders worth a look: every order of a high-risk account, and any order that was
    refunded after a coupon, or is far above the shop's usual amounts."""

    o = order_rows(ws, as_of)
    cols = ["order_id", "user_id", "ts", "amount", "discount", "status", "reasons"]
    if o.empty:
        return pd.DataFrame(columns=cols)
    band = o["user_id"].map(scores.set_index("user_id")["risk_band"])
    reasons = [[] for _ in range(len(o))]
    amount = o["amount"].astype(float)
    p99 = float(np.nanquantile(amount, 0.99)) if amount.notna().any() else np.nan
    coupon = o["coupon_code"].notna() | (o["discount"].astype(float) > 0)
    checks = (
        ((band == "high").to_numpy(), "account in the high risk band"),
        ((coupon & (o["status"] == "refunded")).to_numpy(), "coupon order refunded"),
        (
            (amount >= 3 * p99).to_numpy()
            if np.isfinite(p99) and p99 > 0
            else np.zeros(len(o), bool),
            "amount ≥ 3× the shop's 99th percentile",
        ),
    )
    for hit, text in checks:
        for i in np.flatnonzero(hit):
            reasons[i].append(text)
    o["reasons"] = ["; ".join(r) for r in reasons]
    return o.loc[o["reasons"] != "", cols].reset_index(drop=True)


def risk_scores(ws: Workspace, as_of: dt.date) -> RiskResult:
    """Score every account known before ``as_of`` (rules + anomaly; supervised if labelled)."""

    cfg = risk_config(ws)
    feats = risk_features(ws, as_of, cfg["shared_attributes"])
    if feats.empty:
        raise LiucunError(f"no accounts before {as_of}: nothing to score for risk")
    det = RiskDetector(cfg["rules"], anomaly_weight=float(cfg["anomaly_weight"])).fit(feats)
    s = det.score(feats)
    s["risk_band"] = _bands(s["risk_score"].to_numpy(), cfg)
    stats: dict[str, Any] = {
        "accounts": len(s),
        "high": int((s["risk_band"] == "high").sum()),
        "medium": int((s["risk_band"] == "medium").sum()),
        "rule_hits": {
            c[5:]: int(s[c].sum()) for c in s.columns if c.startswith("rule_") and c != "rule_score"
        },
    }
    sup = _supervised(feats, account_labels(ws))
    if sup is not None:
        s["p_fraud_supervised"], stats["supervised"] = sup
    orders = flagged_orders(ws, as_of, s)
    stats["flagged_orders"] = len(orders)
    front = [*OUTPUT_COLUMNS, "rule_score", "anomaly"]
    s = s[front + [c for c in s.columns if c not in front]]
    s = s.sort_values(["risk_score", "user_id"], ascending=[False, True], kind="stable")
    return RiskResult(s.reset_index(drop=True), orders, stats)


def write_outputs(res: RiskResult, run_dir: Path) -> dict[str, str]:
    paths = {"risk": run_dir / "risk.parquet", "risk_orders": run_dir / "risk_orders.parquet"}
    res.scores.to_parquet(paths["risk"], index=False)
    res.orders.to_parquet(paths["risk_orders"], index=False)
    return {k: str(v) for k, v in paths.items()}
