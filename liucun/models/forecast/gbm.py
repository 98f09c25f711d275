"""liucun's demand forecaster: one LightGBM model over every item (a global model).

Direct multi-horizon: each training row is (item, forecast origin, step h) with features
known at the origin (recent means over 7/28/91/365 days, same-weekday means, days since
the last sale, age, share of days with a sale, price against the item's recent price,
the category's and the shop's recent level, item and category as categoricals) and the
calendar of the target day (weekday, day of month, month, distance to 6.18, 11.11, 12.12,
3.8 and Spring Festival) plus h itself; the target is the units sold on origin + h. Rows
come from many past origins (every ``origin_step`` days), so nothing a row sees lies at or
after its own origin. Loss: Tweedie (counts with many zeros).

Intervals are split-conformal: a first model is fitted on the targets before the last
``calib_origins`` origins, its residuals there are kept (``calibration_``), then the final
model is refitted on everything. Too little history for any training origin: the 28-day
mean with Poisson intervals (``fallback_``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from liucun.models.forecast.base import DAY, Conformal, Forecaster, Panel, to_long
from liucun.models.forecast.calendar import PROMOTIONS, calendar_features

MIN_HISTORY = 28  # days of history an origin needs before it
# Month and day-of-year effects are learned only from more than a year of targets; with
# less, a month never seen would be read as the nearest seen one (a trend, not a season).
YEARLY_DAYS = 400
CATEGORICAL = ["category"]
# The offset every row's prediction multiplies: the item's recent level, floored so an item
# that has not sold lately can still get demand from its category (a GLM offset; the trees
# learn corrections to it, so no item needs its own id as a feature).
FLOOR_SHARE = 0.2
FLOOR = 1e-3


def _window_mean(cum: np.ndarray, o: int, days: int, age: np.ndarray) -> np.ndarray:
    """Mean daily units over the last ``days`` before column ``o`` (cumsum ``cum`` with a
    leading zero column), over the days the item has existed (at most ``days``)."""
    lo = max(o - days, 0)
    span = np.clip(np.minimum(age, o - lo), 1, None)
    return (cum[:, o] - cum[:, lo]) / span


def origin_features(
    units: np.ndarray,
    price: np.ndarray,
    cum: np.ndarray,
    first: np.ndarray,
    cat_codes: np.ndarray,
    o: int,
) -> dict[str, np.ndarray]:
    """Per-item features known at origin column ``o`` (columns before it only)."""
    n = units.shape[0]
    age = np.clip(o - first, 0, None).astype(float)
    # Capped: beyond half a year, age would only stand for calendar time.
    f: dict[str, np.ndarray] = {"age": np.minimum(age, 182.0)}
    for d in (7, 28, 91, 365):
        f[f"mean_{d}"] = _window_mean(cum, o, d, age)
    past = units[:, max(o - 365, 0) : o]
    sold = past > 0
    last = np.where(sold.any(axis=1), past.shape[1] - 1 - np.argmax(sold[:, ::-1], axis=1), -1)
    f["since_sale"] = np.where(last >= 0, past.shape[1] - last, 366).astype(float)
    f["sale_share_91"] = (units[:, max(o - 91, 0) : o] > 0).mean(axis=1)
    for weeks in (4, 13):
        w = units[:, max(o - 7 * weeks, 0) : o]
        if w.shape[1] < 7 * weeks:
            w = np.hstack([np.zeros((n, 7 * weeks - w.shape[1])), w])
        f[f"wd_{weeks}"] = w.reshape(n, weeks, 7).mean(axis=1)  # (n, 7): by step % 7
    p91 = price[:, max(o - 91, 0) : o]
    q91 = units[:, max(o - 91, 0) : o]
    known = ~np.isnan(p91)
    paid = np.where(known, p91 * q91, 0.0).sum(axis=1)
    qty = np.where(known, q91, 0.0).sum(axis=1)
    ref = np.where(qty > 0, paid / np.where(qty > 0, qty, 1.0), np.nan)
    last_col = np.where(known.any(axis=1), known.shape[1] - 1 - np.argmax(known[:, ::-1], 1), -1)
    last_price = np.where(last_col >= 0, p91[np.arange(n), np.maximum(last_col, 0)], np.nan)
    f["price_rel"] = np.round(last_price / ref, 4)
    f["log_price"] = np.round(np.log1p(ref), 4)
    m28 = f["mean_28"]
    cat_sum = np.bincount(cat_codes, weights=m28, minlength=cat_codes.max() + 1)
    cat_n = np.bincount(cat_codes, minlength=cat_codes.max() + 1)
    f["category_mean_28"] = (cat_sum / np.maximum(cat_n, 1))[cat_codes]
    shop7 = (cum[:, o] - cum[:, max(o - 7, 0)]).sum() / max(min(o, 7), 1)
    shop28 = (cum[:, o] - cum[:, max(o - 28, 0)]).sum() / max(min(o, 28), 1)
    f["shop_trend"] = np.full(n, shop7 / shop28 if shop28 > 0 else 1.0)
    return f


def design(
    feats: dict[str, np.ndarray],
    steps: np.ndarray,
    cal: pd.DataFrame,
    item_codes: np.ndarray,
    cat_codes: np.ndarray,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """Rows (item x step) of one origin: its item features, the step, the target day's
    calendar (``cal``, one row per step)."""
    idx = np.arange(len(item_codes)) if rows is None else rows
    n, k = len(idx), len(steps)
    out: dict[str, np.ndarray] = {
        "category": np.repeat(cat_codes[idx], k),
        "step": np.tile(steps, n).astype(float),
    }
    base = np.maximum(
        (feats["mean_28"] + feats["mean_91"]) / 2, FLOOR_SHARE * feats["category_mean_28"]
    )
    out["base"] = np.repeat(np.maximum(base, FLOOR)[idx], k)
    for name, v in feats.items():
        if v.ndim == 2:  # same-weekday means: the column of each step's weekday
            out[name] = v[idx][:, steps % 7].ravel()
        else:
            out[name] = np.repeat(v[idx], k)
    for c in cal.columns:
        out[c] = np.tile(cal[c].to_numpy(), n)
    df = pd.DataFrame(out)
    for c in CATEGORICAL:
        df[c] = df[c].astype("int32")
    return df


class DemandGBM(Forecaster):
    """Global LightGBM demand model with conformal intervals (see the module docstring)."""

    def __init__(
        self,
        horizon: int = 28,
        interval: float = 0.8,
        objective: str = "tweedie",
        n_estimators: int = 250,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        origin_step: int = 7,
        max_origins: int = 52,
        calib_origins: int = 4,
        max_steps: int = 28,
        max_rows: int = 400_000,
        seed: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.horizon = horizon
        self.interval = interval
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.origin_step = origin_step
        self.max_origins = max_origins
        self.calib_origins = calib_origins
        self.max_steps = max_steps
        self.max_rows = max_rows
        self.seed = seed
        self.n_jobs = n_jobs

    # -- fitting -------------------------------------------------------------------------
    def fit(
        self,
        history: pd.DataFrame,
        origin: pd.Timestamp | None = None,
        categories: Mapping[str, str] | None = None,
    ) -> DemandGBM:
        """Learn from the days before ``origin``; ``categories`` maps item → category."""
        self.categories_ = dict(categories or {})
        return super().fit(history, origin)  # type: ignore[return-value]

    def _lgbm(self, seed: int):
        import lightgbm as lgb

        return lgb.LGBMRegressor(
            objective=self.objective,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=40,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            reg_lambda=1.0,
            random_state=seed,
            n_jobs=self.n_jobs,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def _train(self, x: pd.DataFrame, y: np.ndarray):
        """LightGBM on ``x`` (its ``base`` column the log offset)."""
        offset = np.log(x["base"].to_numpy())
        return self._lgbm(self.seed).fit(
            x.drop(columns="base"), y, init_score=offset, categorical_feature=CATEGORICAL
        )

    @staticmethod
    def _apply(model, x: pd.DataFrame) -> np.ndarray:
        """Expected units: exp(trees + log offset), non-negative."""
        raw = model.predict(x.drop(columns="base"), raw_score=True)
        return np.exp(raw + np.log(x["base"].to_numpy()))

    def _calendar(self, days: pd.DatetimeIndex) -> pd.DataFrame:
        cal = calendar_features(days)
        if self.yearly_:
            return cal
        return cal.drop(columns=["month", *PROMOTIONS, "d_cny"])

    def _train_steps(self) -> np.ndarray:
        h = max(int(self.horizon), 1)
        if h <= self.max_steps:
            return np.arange(h)
        return np.unique(np.linspace(0, h - 1, self.max_steps).round().astype(int))

    def _fit_panel(self, panel: Panel) -> None:
        units, price = panel.units, panel.price
        n, t_len = units.shape
        cats = [self.categories_.get(str(i), "") or "" for i in panel.items]
        self.category_names_ = np.array(sorted(set(cats)), dtype=object)
        self.cat_codes_ = np.searchsorted(self.category_names_, np.array(cats, dtype=object))
        self.item_codes_ = np.arange(n)
        self.yearly_ = t_len >= YEARLY_DAYS
        sold = units > 0
        self.first_ = np.where(sold.any(axis=1), sold.argmax(axis=1), t_len)
        cum = np.hstack([np.zeros((n, 1)), np.cumsum(units, axis=1)])
        steps = self._train_steps()
        origins = [o for o in range(t_len - 1, MIN_HISTORY - 1, -self.origin_step)]
        origins = origins[: self.max_origins]
        self.fallback_ = len(origins) < 2
        self.panel_ = (units, price, cum)
        if self.fallback_:
            self.model_ = None
            self.level_ = units[:, max(t_len - 28, 0) :].mean(axis=1) if t_len else np.zeros(n)
            self.calibration_ = pd.DataFrame(columns=["item_id", "origin", "step", "f", "y"])
            self.conformal_ = Conformal(np.array([]), np.array([]), np.array([]))
            self.stats_ = {"model": "moving_average_28 (short history)", "train_rows": 0}
            return
        rng = np.random.default_rng(self.seed)
        per_origin = max(1, self.max_rows // max(len(origins), 1))
        blocks, meta = [], []
        for o in origins:
            st = steps[o + steps < t_len]
            if len(st) == 0:
                continue
            active = np.flatnonzero((self.first_ < o) & (cum[:, o] - cum[:, max(o - 365, 0)] > 0))
            if len(active) == 0:
                continue
            if len(active) * len(st) > per_origin:
                keep = max(1, per_origin // len(st))
                active = np.sort(rng.choice(active, size=keep, replace=False))
            feats = origin_features(units, price, cum, self.first_, self.cat_codes_, o)
            days = pd.date_range(panel.start + o * DAY, periods=int(st.max()) + 1, freq="D")[st]
            x = design(feats, st, self._calendar(days), self.item_codes_, self.cat_codes_, active)
            y = units[np.repeat(active, len(st)), np.tile(o + st, len(active))]
            blocks.append((x, y))
            meta.append((o, active, st))
        self.fallback_ = len(blocks) < 2
        if self.fallback_:
            self.model_ = None
            self.level_ = units[:, max(t_len - 28, 0) :].mean(axis=1)
            self.calibration_ = pd.DataFrame(columns=["item_id", "origin", "step", "f", "y"])
            self.conformal_ = Conformal(np.array([]), np.array([]), np.array([]))
            self.stats_ = {"model": "moving_average_28 (short history)", "train_rows": 0}
            return
        # Calibration: the latest origins; the first model sees only targets before them.
        n_cal = min(self.calib_origins, len(blocks) // 2)
        cut = min(o for o, *_ in meta[:n_cal])
        early = []
        for (x, y), (o, _a, st) in zip(blocks[n_cal:], meta[n_cal:], strict=True):
            mask = np.tile(o + st < cut, len(x) // len(st))
            early.append((x[mask], y[mask]))
        xe = pd.concat([x for x, _ in early], ignore_index=True)
        ye = np.concatenate([y for _, y in early])
        cal_rows = []
        if len(xe) > 200 and ye.sum() > 0:
            first = self._train(xe, ye)
            for (x, y), (o, active, st) in zip(blocks[:n_cal], meta[:n_cal], strict=True):
                f = self._apply(first, x)
                cal_rows.append(
                    pd.DataFrame(
                        {
                            "item_id": np.repeat(panel.items[active], len(st)),
                            "origin": panel.start + o * DAY,
                            "step": np.tile(st, len(active)),
                            "f": f,
                            "y": y,
                        }
                    )
                )
        self.calibration_ = (
            pd.concat(cal_rows, ignore_index=True)
            if cal_rows
            else pd.DataFrame(columns=["item_id", "origin", "step", "f", "y"])
        )
        c = self.calibration_
        self.conformal_ = Conformal(
            c["f"].to_numpy(float), c["y"].to_numpy(float), c["step"].to_numpy(int)
        )
        x_all = pd.concat([x for x, _ in blocks], ignore_index=True)
        y_all = np.concatenate([y for _, y in blocks])
        self.model_ = self._train(x_all, y_all)
        self.stats_ = {
            "model": f"lightgbm_{self.objective}",
            "train_rows": len(x_all),
            "origins": len(blocks),
            "calibration_rows": len(c),
        }

    # -- predicting ----------------------------------------------------------------------
    def _predict_matrix(self, horizon: int) -> np.ndarray:
        units, price, cum = self.panel_
        n, t_len = units.shape
        if self.fallback_:
            return np.repeat(self.level_[:, None], horizon, axis=1)
        steps = np.arange(horizon)
        feats = origin_features(units, price, cum, self.first_, self.cat_codes_, t_len)
        days = pd.date_range(self.origin_, periods=horizon, freq="D")
        # Steps beyond the trained ones read as the last trained step.
        x = design(feats, steps, self._calendar(days), self.item_codes_, self.cat_codes_)
        x["step"] = np.minimum(x["step"], float(self._train_steps().max()))
        return self._apply(self.model_, x).reshape(n, horizon)

    def predict(self, horizon: int | None = None, interval: float | None = None) -> pd.DataFrame:
        """``item_id, date, forecast, lo, hi, sd`` (sd: per-day predictive deviation)."""
        self._check_fitted()
        horizon = int(self.horizon if horizon is None else horizon)
        f = self._predict_matrix(horizon)
        lo, hi, sd = self.conformal_.bounds(
            f, np.arange(horizon)[None, :], self.interval if interval is None else interval
        )
        return to_long(self.items_, self.origin_, {"forecast": f, "lo": lo, "hi": hi, "sd": sd})
