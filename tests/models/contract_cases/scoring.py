"""Contract cases: scoring (churn/value model, the BTYD models and bundle, boosted trees).

The data are small and synthetic: a repeat-purchase summary drawn from a gamma-Poisson
shop for the BTYD models, a two-feature table for the boosted ones, and a 300-day orders
table (as an in-memory Ibis table) that the churn/value model builds its snapshots from.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import ibis
import numpy as np
import pandas as pd

from contract_cases import Case, Data
from liucun.features import build_features
from liucun.models.boosted import BoostedClassifier, BoostedRegressor
from liucun.models.btyd import BetaGeoModel, Btyd, GammaGammaModel, ParetoNBDModel
from liucun.models.churn import ChurnValueModel
from liucun.models.convert import ConversionModel

AS_OF = dt.date(2024, 10, 1)


@lru_cache(maxsize=1)
def _summary() -> pd.DataFrame:
    """Per customer: repeat purchase days, recency and age in days, mean repeat spend,
    drawn from a Pareto/NBD shop (gamma purchase rates, exponential lifetimes)."""
    rng = np.random.default_rng(11)
    n = 300
    T = rng.integers(30, 365, n).astype(float)
    rate = rng.gamma(0.8, 1 / 30, n)  # purchases a day
    alive = np.minimum(rng.exponential(200.0, n), T)
    frequency = rng.poisson(rate * alive).astype(float)
    recency = np.array(
        [
            np.floor(rng.uniform(0, a, int(f)).max()) if f else 0.0
            for a, f in zip(alive, frequency, strict=True)
        ]
    )
    monetary = np.where(frequency > 0, rng.gamma(3.0, 15.0, n), np.nan)
    users = [f"u{i:03d}" for i in range(n)]
    return pd.DataFrame(
        {"user_id": users, "frequency": frequency, "recency": recency, "T": T, "monetary": monetary}
    )


def _weekly() -> Data:
    s = _summary()
    args = (s["frequency"], s["recency"] / 7.0, s["T"] / 7.0)
    return Data(args, extra={"args": args})


def _spend() -> Data:
    s = _summary()
    rep = s[s["frequency"] > 0]
    return Data(
        (rep["frequency"], rep["monetary"]), extra={"args": (rep["frequency"], rep["monetary"])}
    )


def _bundle() -> Data:
    s = _summary()
    return Data((s,), extra={"users": pd.Series([*s["user_id"][:50], "nobody"])})


def _bundle_predict(model: Btyd, data: Data) -> dict[str, Any]:
    users = data.extra["users"]
    return {
        "expected": model.expected(90, users),
        "p_alive": model.p_alive(users),
        "value": model.value(users),
    }


@lru_cache(maxsize=1)
def _table() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    n = 800
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.uniform(size=n),
            "kind": rng.choice(["x", "y", "z"], n),
        }
    )
    logit = 1.5 * X["a"] - 2.0 * X["b"] + (X["kind"] == "x")
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    amount = rng.gamma(2.0, np.exp(0.5 * X["a"]).to_numpy()) * y
    return X, y, amount


def _boosted(target: int) -> Data:
    X, y, amount = _table()
    t = y if target == 0 else amount
    train, val = slice(0, 600), slice(600, None)
    return Data((X.iloc[train], t[train], X.iloc[val], t[val]), extra={"X": X})


@lru_cache(maxsize=1)
def _shop() -> tuple[dict[str, Any], pd.DataFrame]:
    """A 300-day orders table (400 customers, gamma rates, exponential lifetimes) and the
    features as of ``AS_OF``, in an in-memory DuckDB."""
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2024-01-01")
    rows = []
    for u in range(400):
        rate = rng.gamma(1.5, 1 / 40)  # orders a day
        first = rng.integers(0, 150)
        life = rng.exponential(200)
        t = float(first)
        while t < min(300, first + life):
            ts = start + pd.Timedelta(seconds=int(t * 86400))
            rows.append((f"u{u:04d}", ts, float(rng.gamma(2.0, 20.0))))
            t += rng.exponential(1 / rate)
    o = pd.DataFrame(rows, columns=["user_id", "ts", "amount"])
    o.insert(0, "order_id", [f"o{i:06d}" for i in range(len(o))])
    o["ts"] = o["ts"].dt.tz_localize("UTC")
    o["quantity"] = 1
    o["status"] = "paid"
    o["coupon_code"] = pd.Series([None] * len(o), dtype="string")
    o["discount"] = 0.0
    # One thread: DuckDB's parallel float sums (the BTYD summary's spend) differ in their
    # last bits run to run, and the models fitted on them with it.
    con = ibis.duckdb.connect(threads=1)
    con.con.register("orders_df", o)
    con.raw_sql("CREATE TABLE orders AS SELECT * FROM orders_df")
    con.con.unregister("orders_df")
    tables = {"orders": con.table("orders")}
    return tables, build_features(tables, AS_OF).execute()


def _churn() -> Data:
    tables, features = _shop()
    return Data((tables, AS_OF), extra={"features": features})


def _churn_model() -> ChurnValueModel:
    return ChurnValueModel(
        horizon=30, snapshots=3, min_snapshots=3, snapshot_step_days=30, min_history_days=60
    )


def prospects_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Synthetic prospects: visits, carts, tenure, a region and a channel (some missing),
    with the true P(first order) of each."""
    rng = np.random.default_rng(seed)
    visits = rng.poisson(1.5, n).astype(float)
    carts = rng.poisson(0.3 * visits).astype(float)
    tenure = rng.uniform(1, 300, n)
    last = np.where(visits > 0, rng.uniform(0, 90, n), np.nan)  # never visited: missing
    region = rng.choice(["east", "west", "north", None], n, p=[0.4, 0.3, 0.2, 0.1])
    channel = rng.choice(["ads", "organic", "deals"], n)
    z = -3.2 + 0.5 * np.log1p(visits) + 0.9 * np.log1p(carts) - 0.004 * tenure
    z = z + 0.6 * (channel == "deals")
    p = 1 / (1 + np.exp(-z))
    y = (rng.uniform(size=n) < p).astype(int)
    X = pd.DataFrame(
        {
            "sessions_90d": visits,
            "carts_90d": carts,
            "tenure_days": tenure,
            "days_since_last_event": last,
            "region": region,
            "channel": channel,
        }
    )
    return X, y, p


def _prospect_data() -> Data:
    X, y, _ = prospects_frame(1500, 1)
    return Data((X.iloc[:1000], y[:1000], X.iloc[1000:], y[1000:]), extra={"X": X})


CASES: list[Case] = [
    Case(
        "churn_value_model",
        _churn_model,
        _churn,
        lambda m, d: m.predict(d.extra["features"], reasons=True),
    ),
    Case("btyd_bundle", Btyd, _bundle, _bundle_predict),
    Case(
        "bgnbd",
        BetaGeoModel,
        _weekly,
        lambda m, d: m.expected_purchases(4.0, *d.extra["args"]),
    ),
    Case(
        "paretonbd",
        ParetoNBDModel,
        _weekly,
        lambda m, d: m.expected_purchases(4.0, *d.extra["args"]),
    ),
    Case(
        "gamma_gamma",
        GammaGammaModel,
        _spend,
        lambda m, d: m.expected_average_value(*d.extra["args"]),
    ),
    Case(
        "boosted_classifier",
        lambda: BoostedClassifier(seed=0),
        lambda: _boosted(0),
        lambda m, d: m.predict_proba(d.extra["X"]),
    ),
    Case(
        "boosted_regressor",
        lambda: BoostedRegressor(seed=0),
        lambda: _boosted(1),
        lambda m, d: m.predict(d.extra["X"]),
    ),
    Case(
        "conversion_model",
        lambda: ConversionModel(C=0.5, seed=0),
        _prospect_data,
        lambda m, d: m.predict_proba(d.extra["X"]),
    ),
]
