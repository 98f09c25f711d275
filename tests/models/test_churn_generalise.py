"""What the churn/value model relies on to generalise beyond the rows it learned from.

- the known signs (recency, the BTYD outputs) are monotone constraints the trees keep;
- BG/NBD and Pareto/NBD are both stack members, and survive save/load;
- the trees are grown again on every cutoff with the rounds early stopping chose;
- nothing at or after ``as_of`` is read: adding later orders changes no prediction.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

from liucun.features import build_features
from liucun.features.btyd import summary_frame
from liucun.models.boosted import BoostedClassifier, BoostedRegressor
from liucun.models.btyd import Btyd
from liucun.models.btyd.bundle import PNBD_COLUMN, add_btyd_features
from liucun.models.churn import (
    PURCHASE_MONOTONE,
    REVENUE_MONOTONE,
    STACK_MEMBERS,
    ChurnValueModel,
)

AS_OF = dt.date(2024, 10, 1)
START = pd.Timestamp("2024-01-01", tz="UTC")


def _orders(days: int, seed: int = 7, users: int = 400) -> pd.DataFrame:
    """Orders of a gamma-rate, exponential-lifetime shop over ``days`` days from START."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        rate = rng.gamma(1.5, 1 / 40)  # orders a day
        first = rng.integers(0, 150)
        life = rng.exponential(200)
        t = float(first)
        while t < min(days, first + life):
            rows.append(
                (f"u{u:04d}", START + pd.Timedelta(seconds=int(t * 86400)), rng.gamma(2, 20))
            )
            t += rng.exponential(1 / rate)
    o = pd.DataFrame(rows, columns=["user_id", "ts", "amount"])
    o.insert(0, "order_id", [f"o{i:06d}" for i in range(len(o))])
    o["quantity"] = 1
    o["status"] = "paid"
    o["coupon_code"] = pd.Series([None] * len(o), dtype="string")
    o["discount"] = 0.0
    return o


def _tables(o: pd.DataFrame) -> dict[str, Any]:
    # One thread: DuckDB's parallel float sums differ in their last bits from run to run.
    con = ibis.duckdb.connect(threads=1)
    con.con.register("orders_df", o)
    con.raw_sql("CREATE TABLE orders AS SELECT * FROM orders_df")
    con.con.unregister("orders_df")
    return {"orders": con.table("orders")}


@lru_cache(maxsize=1)
def _shop() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders to 2024-12-31 (past AS_OF) and the orders before AS_OF only."""
    full = _orders(365)
    cut = full[full["ts"] < pd.Timestamp(AS_OF, tz="UTC")].reset_index(drop=True)
    assert len(cut) < len(full)  # there is something after as_of to leak
    return full, cut


def _model(**kw: Any) -> ChurnValueModel:
    return ChurnValueModel(
        horizon=30, snapshots=3, min_snapshots=3, snapshot_step_days=30, min_history_days=60, **kw
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[ChurnValueModel, pd.DataFrame]:
    _, cut = _shop()
    tables = _tables(cut)
    model = _model().fit(tables, AS_OF)
    feats = build_features(tables, AS_OF).execute().sort_values("user_id").reset_index(drop=True)
    return model, feats


# -- monotone constraints -----------------------------------------------------------------


def _u_shaped(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Purchase odds that fall with recency up to 60 days and rise again after: a sign the
    trees would follow unless told otherwise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"recency_days": rng.uniform(0, 120, n), "other": rng.normal(size=n)})
    z = 0.002 * (X["recency_days"] - 60) ** 2 - 2.0 + 0.5 * X["other"]
    return X, (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int).to_numpy()


def _recency_curve(model: BoostedClassifier) -> np.ndarray:
    grid = pd.DataFrame({"recency_days": np.linspace(0, 120, 61), "other": 0.0})
    return model.predict_proba(grid)[:, 1]


def test_monotone_constraint_holds_where_the_data_say_otherwise() -> None:
    (X, y), (Xv, yv) = _u_shaped(4000, 1), _u_shaped(1500, 2)
    free = BoostedClassifier(seed=0).fit(X, y, Xv, yv)
    held = BoostedClassifier(seed=0, monotone={"recency_days": -1}).fit(X, y, Xv, yv)
    # Unconstrained, the trees learn the rise after 60 days; constrained, never a rise.
    assert np.diff(_recency_curve(free)).max() > 1e-3
    assert np.diff(_recency_curve(held)).max() <= 1e-12
    # The constraint survives refitting on more rows.
    held.refit(pd.concat([X, Xv]), np.concatenate([y, yv]))
    assert np.diff(_recency_curve(held)).max() <= 1e-12


def test_monotone_directions_are_checked() -> None:
    X, y = _u_shaped(500, 3)
    with pytest.raises(ValueError, match="monotone"):
        BoostedClassifier(monotone={"recency_days": 2}).fit(X, y, X, y)


def test_the_churn_model_holds_the_known_signs(fitted) -> None:
    model, feats = fitted
    assert model.classifier_.monotone == PURCHASE_MONOTONE
    assert model.orders_.monotone == PURCHASE_MONOTONE
    assert model.revenue_.monotone == REVENUE_MONOTONE
    # Every other input fixed, a later last order never lowers P(purchase), orders or revenue.
    X = add_btyd_features(feats, model.btyd_, model.plan_.label_days).drop(columns=["user_id"])
    X = X[X["recency_days"].notna()].head(40)
    grid = np.linspace(0, 300, 31)
    rows = X.loc[X.index.repeat(len(grid))].copy()
    rows["recency_days"] = np.tile(grid, len(X))
    for predict in (model.stacked_purchase, model.orders_.predict, model.stacked_revenue):
        curves = np.asarray(predict(rows)).reshape(len(X), len(grid))
        assert np.diff(curves, axis=1).max() <= 1e-9, predict
    assert model.stack_["purchase"][0] > 0  # the stack keeps the boosted model's direction


# -- stack members --------------------------------------------------------------------------


def test_bgnbd_and_paretonbd_are_both_stack_members(fitted, tmp_path: Path) -> None:
    model, feats = fitted
    assert model.btyd_.bgnbd_ is not None and model.btyd_.pnbd_ is not None
    assert model.stack_["purchase_members"] == ["boosted", *STACK_MEMBERS]
    assert len(model.stack_["purchase"]) == len(STACK_MEMBERS) + 2  # + boosted, intercept
    assert model.stack_["revenue_member"] in STACK_MEMBERS
    # Pareto/NBD is a stack member, never a tree input.
    assert PNBD_COLUMN not in model.features_
    assert PNBD_COLUMN not in model.classifier_.matrix_.columns
    # Pareto/NBD moves the stacked probability: it is read, not just stored.
    X = add_btyd_features(feats, model.btyd_, model.plan_.label_days).drop(columns=["user_id"])
    shifted = X.copy()
    shifted[PNBD_COLUMN] = X[PNBD_COLUMN] * 3 + 0.5
    assert not np.allclose(model.stacked_purchase(X), model.stacked_purchase(shifted))
    # Saved and loaded, the same members give the same scores.
    loaded = ChurnValueModel.load(model.save(tmp_path / "m"))
    assert (tmp_path / "m" / "pnbd.json").exists() and loaded.btyd_.pnbd_ is not None
    a, b = model.predict(feats, reasons=False), loaded.predict(feats, reasons=False)
    cols = ["p_churn", "expected_orders", "expected_revenue"]
    np.testing.assert_allclose(a[cols].to_numpy(), b[cols].to_numpy(), rtol=1e-9)


def test_a_stack_saved_before_paretonbd_still_scores(fitted) -> None:
    model, feats = fitted
    X = add_btyd_features(feats, model.btyd_, model.plan_.label_days).drop(columns=["user_id"])
    old = _model()
    old.__dict__.update(model.__dict__)
    old.stack_ = {"purchase": [0.8, 0.3, -0.2]}  # [boosted, BG/NBD, intercept]: old layout
    q = 1 - np.exp(-np.nan_to_num(X["btyd_expected"].to_numpy()))
    q = np.clip(q, 1e-6, 1 - 1e-6)
    z = 0.8 * model.classifier_._raw(X) + 0.3 * np.log(q / (1 - q)) - 0.2
    np.testing.assert_allclose(old.stacked_purchase(X), 1 / (1 + np.exp(-z)), rtol=1e-12)


def test_paretonbd_expectations_fall_back_to_bgnbd() -> None:
    _, cut = _shop()
    summary = summary_frame(_tables(cut), AS_OF)
    users = summary["user_id"]
    both, bg_only = Btyd().fit(summary), Btyd(pareto=False).fit(summary)
    assert bg_only.pnbd_ is None and both.pnbd_ is not None
    bg = both.expected(30, users)
    np.testing.assert_array_equal(bg_only.expected(30, users, model="pnbd"), bg)
    pn = both.expected(30, users, model="pnbd")
    assert np.isfinite(pn).all() and not np.allclose(pn, bg)
    with pytest.raises(ValueError, match="pnbd"):
        both.expected(30, users, model="pareto")


# -- refitting on every cutoff ----------------------------------------------------------------


def test_refit_grows_the_early_stopped_rounds_on_more_rows() -> None:
    (X, y), (Xv, yv) = _u_shaped(3000, 4), _u_shaped(1500, 5)
    m = BoostedClassifier(seed=0).fit(X, y, Xv, yv)
    rounds, cal, before = m.best_iteration_, m.calibration_, m._raw(Xv)
    m.fit_explainer(X)
    m.refit(pd.concat([X, Xv]), np.concatenate([y, yv]))
    assert m.booster_.num_trees() == rounds == m.best_iteration_
    assert m.refit_rows_ == len(X) + len(Xv)
    assert m.calibration_ == cal  # fitted on held-out rows: kept
    assert not hasattr(m, "explainer_")  # it described the old trees
    assert not np.allclose(m._raw(Xv), before)  # the trees did change
    r = BoostedRegressor(seed=0).fit(X, y * 2.0, Xv, yv * 2.0)
    with pytest.raises(ValueError, match="non-negative"):
        r.refit(X, -np.ones(len(X)))


def _mean_prediction(m: BoostedClassifier | BoostedRegressor, X: pd.DataFrame) -> np.ndarray:
    return m.predict_proba(X)[:, 1] if isinstance(m, BoostedClassifier) else m.predict(X)


def test_refit_keeps_the_held_out_level_where_asked(tmp_path: Path) -> None:
    """The held-out rows buy more often than the earlier ones: trees refitted on all rows
    learn part of that, and the calibration fitted on those rows already holds it."""
    (X, y), (Xv, yv) = _u_shaped(3000, 6), _u_shaped(1500, 7)
    busy = np.where(yv == 0, (np.random.default_rng(8).uniform(size=len(yv)) < 0.25), 1)
    Xa, ya = pd.concat([X, Xv]), np.concatenate([y, busy])
    for cls in (BoostedClassifier, BoostedRegressor):
        level = _mean_prediction(cls(seed=0).fit(X, y, Xv, busy), Xv).mean()
        kept = cls(seed=0).fit(X, y, Xv, busy).refit(Xa, ya, keep_level_on=Xv)
        drifted = cls(seed=0).fit(X, y, Xv, busy).refit(Xa, ya)
        assert abs(_mean_prediction(kept, Xv).mean() - level) < 1e-6 and kept.offset_ != 0
        assert abs(_mean_prediction(drifted, Xv).mean() - level) > 0.01  # what it undoes
        # The shift is part of the model: saved and loaded, the same predictions.
        again = cls.load(kept.save(tmp_path / cls.__name__))
        np.testing.assert_allclose(_mean_prediction(again, Xv), _mean_prediction(kept, Xv))


def test_the_churn_model_refits_on_every_snapshot(fitted) -> None:
    model, _ = fitted
    m = model.metrics_
    assert m["refit_rows"] == m["train_rows"] + m["validation_rows"]
    for booster in (model.classifier_, model.orders_, model.revenue_):
        assert booster.refit_rows_ == m["refit_rows"]
    # Without refitting the held-out trees score, on fewer rows.
    _, cut = _shop()
    plain = _model(refit=False, monotone=False).fit(_tables(cut), AS_OF)
    assert plain.metrics_["refit_rows"] is None
    assert not hasattr(plain.classifier_, "refit_rows_")
    assert plain.classifier_.monotone is None


# -- truncation: nothing at or after as_of is read --------------------------------------------


def test_orders_at_or_after_as_of_change_nothing(fitted) -> None:
    model, feats = fitted
    full, _ = _shop()
    # Orders on as_of itself, and after it, added to the same shop.
    on_day = full.iloc[:5].copy()
    on_day["order_id"] = [f"x{i}" for i in range(5)]
    on_day["ts"] = pd.Timestamp(AS_OF, tz="UTC")
    tables = _tables(pd.concat([full, on_day], ignore_index=True))
    leaky = _model().fit(tables, AS_OF)
    plan = leaky.plan_
    assert plan.cutoffs[-1] + dt.timedelta(days=plan.label_days) <= AS_OF
    assert leaky.plan_ == model.plan_ and leaky.stack_ == model.stack_
    assert leaky.metrics_ == model.metrics_
    a, b = model.predict(feats, reasons=False), leaky.predict(feats, reasons=False)
    cols = ["p_churn", "expected_orders", "expected_revenue", "clv_365d"]
    np.testing.assert_array_equal(a[cols].to_numpy(), b[cols].to_numpy())
