"""Contract cases: learners (uplift, the planner's next best action, risk, recommendations).

Small seeded synthetic data, each case fitting in well under a few seconds: the contract
is about the estimator's mechanics (clone, fit, refit, unfitted, save/load), not quality.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from contract_cases import Case, Data
from liucun.models.nba import NextBestAction
from liucun.models.recommend import Recommender
from liucun.models.risk import DETECTOR_COLUMNS, RiskDetector
from liucun.models.uplift import DRLearner, LiftLearner, TLearner

ARMS = ("control", "coupon", "push")


def _customers(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "orders_total": rng.poisson(3.0, n).astype(float),
            "aov": rng.gamma(4.0, 10.0, n),
            "recency": rng.integers(1, 200, n).astype(float),
            "refund_share": rng.uniform(0.0, 0.2, n),
            "cancel_share": rng.uniform(0.0, 0.1, n),
            "channel": pd.Categorical(rng.choice(["web", "app"], n)),
        }
    )


def _uplift_data(outcome: str) -> Data:
    """600 contacts, three arms at random; counts (``orders``) or amounts (``revenue``)."""
    rng = np.random.default_rng(0)
    n = 600
    X = _customers(n, rng)
    t = rng.choice(ARMS, n)
    rate = 0.3 + 0.1 * X["orders_total"].to_numpy() + 0.3 * (t == "coupon")
    orders = rng.poisson(rate).astype(float)
    y = orders if outcome == "orders" else orders * X["aov"].to_numpy() + rng.normal(0, 5, n)
    return Data((X, t, y), extra={"X": X.iloc[:50]})


def _plan_data() -> Data:
    """Past randomised contacts as ``liucun.tasks.plan.training_rows`` returns them."""
    rng = np.random.default_rng(1)
    n = 600
    rows = _customers(n, rng)
    t = rng.choice(ARMS, n)
    orders_window = rng.poisson(0.3 + 0.05 * rows["orders_total"] + 0.3 * (t == "coupon"))
    rows = rows.assign(
        user_id=[f"u{i:04d}" for i in range(n)],
        campaign_id=rng.choice(["c1", "c2"], n),
        action=np.where(t == "control", rng.choice(ARMS[1:], n), t),
        arm=np.where(t == "control", "control", "treatment"),
        cost=np.where(t == "push", 0.01, 0.05),
        day=pd.Timestamp("2024-03-01"),
        orders=orders_window + rng.poisson(1.0, n),
        net_revenue=orders_window * rows["aov"] + rng.normal(0, 10, n),
        purchased=(orders_window > 0).astype(int),
        orders_window=orders_window.astype(float),
        discount_window=np.where((t == "coupon") & (orders_window > 0), 5.0, 0.0),
        treatment=t,
    )
    features = rows[list(_customers(0, rng).columns)].assign(user_id=rows["user_id"]).iloc[:80]
    return Data((rows,), extra={"features": features})


PLAN_ACTIONS = {
    "coupon": {"kind": "fixed", "contact_cost": 0.05, "discount": 5.0},
    "push": {"kind": "message", "contact_cost": 0.01, "channel": "push"},
}


def _plan_predict(model: NextBestAction, data: Data) -> dict[str, pd.DataFrame]:
    uplift, cost = model.predict(data.extra["features"])
    return {"uplift": uplift, "cost": cost}


def _risk_data() -> Data:
    """300 accounts of ordinary behaviour and a few abusive ones."""
    rng = np.random.default_rng(2)
    n = 300
    f = pd.DataFrame({c: rng.poisson(1.0, n).astype(float) for c in DETECTOR_COLUMNS})
    for c in ("coupon_share", "discount_share", "refund_share", "cancel_share"):
        f[c] = rng.uniform(0.0, 0.3, n)
    f["first_discount_share"] = rng.uniform(0.0, 0.3, n)
    f["max_orders_24h"] = rng.integers(1, 3, n).astype(float)
    f.loc[:9, ["coupon_orders", "coupon_share", "max_orders_24h"]] = [6.0, 1.0, 6.0]
    f["shared_signup_days"] = np.where(f["shared_accounts"] > 1, 3.0, np.nan)
    f["days_since_first_order"] = rng.integers(1, 300, n).astype(float)
    f.insert(0, "user_id", [f"a{i:04d}" for i in range(n)])
    return Data((f,), extra={"features": f})


def _recs_data() -> Data:
    """60 customers walking item chains (views then purchases) over 40 items."""
    rng = np.random.default_rng(3)
    t0 = pd.Timestamp("2024-01-01")
    rows: list[tuple[str, str, pd.Timestamp, str]] = []
    for u in range(60):
        start = int(rng.integers(0, 36))
        ts = t0 + pd.Timedelta(hours=int(rng.integers(0, 500)))
        for step in range(int(rng.integers(3, 6))):
            item = f"i{(start + step) % 40:02d}"
            kind = "purchase" if rng.random() < 0.5 else "view"
            rows.append((f"u{u:03d}", item, ts + pd.Timedelta(hours=step), kind))
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "ts", "event_type"])
    items = pd.DataFrame(
        {
            "item_id": [f"i{j:02d}" for j in range(40)],
            "category": [f"cat{j % 4}" for j in range(40)],
            "price": [10.0 + j for j in range(40)],
        }
    )
    users = [f"u{u:03d}" for u in range(0, 60, 3)] + ["nobody"]
    return Data((df, items), {"as_of": pd.Timestamp("2024-02-15")}, {"users": users})


def _recommend(model: Recommender, data: Data) -> Any:
    return model.recommend(data.extra["users"], k=5)


CASES: list[Case] = [
    Case(
        "lift_learner",
        lambda: LiftLearner(rounds=10, base_rounds=20, seed=0),
        lambda: _uplift_data("orders"),
        lambda m, d: m.predict(d.extra["X"]),
    ),
    Case(
        "t_learner",
        lambda: TLearner(rounds=20, seed=0),
        lambda: _uplift_data("revenue"),
        lambda m, d: m.predict(d.extra["X"]),
    ),
    Case(
        "dr_learner",
        lambda: DRLearner(rounds=20, seed=0),
        lambda: _uplift_data("revenue"),
        lambda m, d: m.predict(d.extra["X"]),
    ),
    Case(
        "next_best_action",
        lambda: NextBestAction(PLAN_ACTIONS, horizon=90, window_days=14, seed=0),
        _plan_data,
        _plan_predict,
    ),
    Case(
        "risk_detector",
        lambda: RiskDetector(n_estimators=50, random_state=0),
        _risk_data,
        lambda m, d: m.score(d.extra["features"]),
    ),
    Case(
        "recommender",
        lambda: Recommender(
            sources=("popular", "trending", "itemknn", "transitions"),
            candidates=10,
            ranker_rounds=10,
            max_per_category=2,
            seed=0,
        ),
        _recs_data,
        _recommend,
    ),
]
