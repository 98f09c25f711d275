"""Account risk: transparent rules for known abuse patterns plus an IsolationForest for
behaviour that is merely unusual, combined into one score with reasons.

Rules carry most of the weight because each names what it saw (shared device, redeem
then refund, a burst of orders); the anomaly detector ranks the accounts no rule caught
and breaks ties between those it did. The score is 1 - (1 - rules)(1 - w·anomaly): any
one strong rule makes an account risky, and anomaly alone lifts it at most to ``w``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from liucun.features.risk import RISK_FEATURES
from liucun.models.base import Estimator

# Columns the anomaly detector reads (counts log-scaled, shares and ratios as they are).
DETECTOR_COLUMNS = (
    "orders",
    "coupon_orders",
    "coupon_share",
    "discount_share",
    "refunded",
    "refund_share",
    "coupon_refunded",
    "cancelled",
    "cancel_share",
    "max_orders_24h",
    "first_discount_share",
    "amount_max_ratio",
    "amount_max_shop_ratio",
    "shared_accounts",
)
_LOG = {
    "orders",
    "coupon_orders",
    "refunded",
    "coupon_refunded",
    "cancelled",
    "max_orders_24h",
    "amount_max_ratio",
    "amount_max_shop_ratio",
    "shared_accounts",
}

ANOMALY_REASON = 0.94  # anomaly percentile from which the reasons name it (medium needs ~0.946)
DEFAULT_RULES: dict[str, dict[str, float]] = {
    "shared_attribute": {"min_accounts": 3, "strength": 0.9},
    "redeem_then_refund": {"min_coupon_refunds": 1, "min_refund_share": 0.5, "strength": 0.45},
    "coupon_heavy": {"min_coupon_orders": 3, "min_coupon_share": 0.8, "strength": 0.5},
    "velocity_burst": {"min_orders_24h": 4, "strength": 0.6},
    "discount_then_silence": {"min_discount_share": 0.2, "min_days_silent": 30, "strength": 0.4},
    "amount_outlier": {"min_ratio": 5.0, "min_orders": 3, "min_shop_ratio": 3.0, "strength": 0.4},
    "chargebacks": {"min_cancelled": 2, "min_cancel_share": 0.5, "strength": 0.7},
}


@dataclass
class _Rule:
    name: str
    strength: float
    hit: np.ndarray
    text: list[str]


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").fillna(0).to_numpy(float)


def apply_rules(df: pd.DataFrame, rules: Mapping[str, Mapping[str, float]]) -> list[_Rule]:
    """Each configured rule: which accounts it fires on and the words for each of them."""
    out = []
    n = len(df)

    def add(name: str, hit: np.ndarray, words: Any) -> None:
        idx = np.flatnonzero(hit)
        text = [""] * n
        for i in idx:
            text[i] = words(i)
        out.append(_Rule(name, float(rules[name]["strength"]), hit, text))

    if (r := rules.get("shared_attribute")) is not None:
        shared = _num(df, "shared_accounts")
        days = pd.to_numeric(df["shared_signup_days"], errors="coerce").to_numpy(float)
        add(
            "shared_attribute",
            shared + 1 >= r["min_accounts"],
            lambda i: (
                f"shares a device/address/payment with {int(shared[i])} other accounts"
                + (f" signed up within {days[i]:.0f} days" if np.isfinite(days[i]) else "")
            ),
        )
    if (r := rules.get("redeem_then_refund")) is not None:
        cr, rs = _num(df, "coupon_refunded"), _num(df, "refund_share")
        add(
            "redeem_then_refund",
            (cr >= r["min_coupon_refunds"]) & (rs >= r["min_refund_share"]),
            lambda i: f"refunded {int(cr[i])} coupon order(s) ({rs[i]:.0%} of orders refunded)",
        )
    if (r := rules.get("coupon_heavy")) is not None:
        co, cs = _num(df, "coupon_orders"), _num(df, "coupon_share")
        add(
            "coupon_heavy",
            (co >= r["min_coupon_orders"]) & (cs >= r["min_coupon_share"]),
            lambda i: f"{int(co[i])} orders, {cs[i]:.0%} of them with a coupon",
        )
    if (r := rules.get("velocity_burst")) is not None:
        b = _num(df, "max_orders_24h")
        add(
            "velocity_burst",
            b >= r["min_orders_24h"],
            lambda i: f"{int(b[i])} orders within 24 hours",
        )
    if (r := rules.get("discount_then_silence")) is not None:
        o, fd = _num(df, "orders"), _num(df, "first_discount_share")
        silent = _num(df, "days_since_first_order")
        add(
            "discount_then_silence",
            (o == 1) & (fd >= r["min_discount_share"]) & (silent >= r["min_days_silent"]),
            lambda i: f"one order at {fd[i]:.0%} off, then nothing for {silent[i]:.0f} days",
        )
    if (r := rules.get("amount_outlier")) is not None:
        ratio, shop, o = (
            _num(df, "amount_max_ratio"),
            _num(df, "amount_max_shop_ratio"),
            _num(df, "orders"),
        )
        hit = ((ratio >= r["min_ratio"]) & (o >= r["min_orders"])) | (shop >= r["min_shop_ratio"])
        add(
            "amount_outlier",
            hit,
            lambda i: (
                f"an order of {ratio[i]:.1f}× their usual, "
                f"{shop[i]:.1f}× the shop's 99th percentile"
            ),
        )
    if (r := rules.get("chargebacks")) is not None:
        c, cs = _num(df, "cancelled"), _num(df, "cancel_share")
        add(
            "chargebacks",
            (c >= r["min_cancelled"]) & (cs >= r["min_cancel_share"]),
            lambda i: f"{int(c[i])} orders cancelled or charged back ({cs[i]:.0%})",
        )
    return out


def detector_matrix(df: pd.DataFrame) -> np.ndarray:
    cols = []
    for c in DETECTOR_COLUMNS:
        v = _num(df, c)
        cols.append(np.log1p(np.maximum(v, 0)) if c in _LOG else v)
    return np.column_stack(cols)


class RiskDetector(Estimator):
    """``fit(features)`` learns what usual behaviour looks like; ``score(features)`` gives
    ``risk_score`` in [0, 1], ``anomaly`` (the detector's percentile), ``rule_score`` and
    ``risk_reasons`` per account.

    Parameters
    ----------
    rules
        Name → thresholds and strength (None: ``DEFAULT_RULES``).
    anomaly_weight
        The most an unusual account without rule hits can score.
    n_estimators, random_state
        Of the IsolationForest.
    """

    def __init__(
        self,
        rules: Mapping[str, Mapping[str, float]] | None = None,
        anomaly_weight: float = 0.25,
        n_estimators: int = 200,
        random_state: int = 0,
    ) -> None:
        self.rules = rules
        self.anomaly_weight = anomaly_weight
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, features: pd.DataFrame) -> Self:
        """Learn the shop's usual behaviour from its accounts' risk features."""
        x = detector_matrix(features)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators, random_state=self.random_state, n_jobs=1
        ).fit(x)
        # Reference distribution of raw scores, for percentiles on any later batch.
        self.reference_ = np.sort(-self.forest_.score_samples(x))
        # Robust centre and scale per column, to name what makes an account unusual.
        q25, self.median_, q75 = np.percentile(x, [25, 50, 75], axis=0)
        self.scale_ = np.where(q75 - q25 > 0, q75 - q25, np.maximum(x.std(axis=0), 1e-9))
        return self

    def _most_unusual(self, x: np.ndarray) -> str:
        j = int(np.argmax(np.abs(x - self.median_) / self.scale_))
        name = DETECTOR_COLUMNS[j]
        value = np.expm1(x[j]) if name in _LOG else x[j]
        return f"{RISK_FEATURES.get(name, name)}: {value:.3g}"

    def anomaly(self, features: pd.DataFrame) -> np.ndarray:
        """Percentile of each account's anomaly among the fitted accounts (ties: midrank,
        so a shop of identical accounts reads 0.5, not 1)."""
        self._check_fitted()
        raw = -self.forest_.score_samples(detector_matrix(features))
        ref = self.reference_
        lo, hi = np.searchsorted(ref, raw, side="left"), np.searchsorted(ref, raw, side="right")
        return (lo + hi) / (2 * len(ref))

    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        """Rules and anomaly combined, with the reasons, one row per account."""
        self._check_fitted()
        rules = apply_rules(features, self.rules or DEFAULT_RULES)
        n = len(features)
        keep = np.ones(n)
        reasons: list[list[tuple[float, str]]] = [[] for _ in range(n)]
        for r in rules:
            keep *= np.where(r.hit, 1 - r.strength, 1.0)
            for i in np.flatnonzero(r.hit):
                reasons[i].append((r.strength, r.text[i]))
        rule_score = 1 - keep
        anomaly = self.anomaly(features) if n else np.zeros(0)
        score = 1 - (1 - rule_score) * (1 - self.anomaly_weight * anomaly**4)
        # Named wherever the anomaly alone could lift an account into the medium band.
        x = detector_matrix(features) if n else np.zeros((0, len(DETECTOR_COLUMNS)))
        for i in np.flatnonzero(anomaly >= ANOMALY_REASON):
            top = max(1 - anomaly[i], 0.001)
            reasons[i].append(
                (0.0, f"unusual behaviour (top {top:.1%}; {self._most_unusual(x[i])})")
            )
        text = ["; ".join(t for _, t in sorted(rs, key=lambda x: -x[0])) for rs in reasons]
        hits = {f"rule_{r.name}": r.hit for r in rules}
        return pd.DataFrame(
            {
                "user_id": features["user_id"].astype(str).to_numpy(),
                "risk_score": score,
                "rule_score": rule_score,
                "anomaly": anomaly,
                "risk_reasons": text,
                **hits,
            }
        )
