"""Next best action: what each customer is expected to add under every action, and at what cost.

The estimator behind ``liucun plan`` (:mod:`liucun.tasks.plan` finds the training rows in
the warehouse and makes the budgeted choice). It is fitted on past randomised contacts
(features on the contact day plus their outcomes, see ``OUTCOME_COLUMNS``):

- a :class:`~liucun.models.uplift.LiftLearner` on the orders placed in the response
  window scores every customer × action; the same learner fitted with each campaign held
  out gives every past contact a score it never saw, and the horizon's net revenue,
  regressed on arm × that score (:mod:`liucun.models.uplift_calibration`), ties the
  predictions to the randomised evidence: the level is the measured effect, the
  targeting only as far as it held out (``expected_uplift`` with an interval);
- the action catalog (``[plan.actions]``) says what a contact costs and gives away;
  actions found only in the history get costs learned from it (:func:`catalog`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

import lightgbm as lgb
import numpy as np
import pandas as pd

from liucun.errors import LiucunError
from liucun.models.base import Estimator
from liucun.models.boosted import FeatureMatrix
from liucun.models.uplift import BASE_PARAMS, LiftLearner, cross_fit
from liucun.models.uplift_calibration import Calibration, by_band, calibrate, shrink_level

# What a training row knows besides the customer's features: the contact and its outcomes.
OUTCOME_COLUMNS = (
    "user_id",
    "campaign_id",
    "action",
    "arm",
    "cost",
    "day",
    "orders",
    "net_revenue",
    "purchased",
    "orders_window",
    "discount_window",
    "treatment",
)
KINDS = ("fixed", "pct", "free_shipping", "message")
POWER_Z = 0.8416  # z of 80% power: what the evidence could show, not only what it did


@dataclass(frozen=True)
class Action:
    """One catalog entry: what a contact costs and what it gives away."""

    name: str
    kind: str  # fixed | pct | free_shipping | message
    contact_cost: float = 0.0
    discount: float = 0.0  # money off per redeemed coupon, or the shipping fee waived
    discount_rate: float = 0.0  # share of the order off (pct)
    valid_days: int = 14
    channel: str = "email"
    exclude_risky: bool = True  # keep flagged accounts out (coupons are what abusers farm)
    learned: bool = False  # not in the catalog: costs learned from history

    @property
    def gives_discount(self) -> bool:
        return self.kind != "message"


def _kind(name: str, entry: Mapping[str, Any]) -> str:
    kind = entry.get("kind")
    if kind is None:
        if entry.get("discount_rate"):
            kind = "pct"
        elif "ship" in name:
            kind = "free_shipping"
        elif entry.get("discount"):
            kind = "fixed"
        else:
            kind = "message"
    if kind not in KINDS:
        raise LiucunError(f"[plan.actions.{name}] kind = {kind!r}: expected one of {KINDS}")
    return str(kind)


def catalog(cfg: Mapping[str, Any], history: pd.DataFrame | None = None) -> dict[str, Action]:
    """The catalog from liucun.toml, plus actions found only in randomised history.

    For those the contact cost is the mean ``treatments.cost`` of their treated contacts
    and the discount is the money off per redeemed order in their offer window beyond
    what the control group redeemed (welcome coupons and the like).
    """
    out: dict[str, Action] = {}
    for name, entry in dict(cfg.get("actions", {})).items():
        e = dict(entry)
        unknown = set(e) - (set(Action.__dataclass_fields__) - {"name", "learned"})
        if unknown:
            raise LiucunError(f"[plan.actions.{name}]: unknown key(s) {sorted(unknown)}")
        out[str(name)] = Action(**{**e, "name": str(name), "kind": _kind(str(name), e)})
    if history is None:
        return out
    control = history[history["treatment"] == "control"]
    base_disc = _discount_per_redeemer(control)
    for name, part in history[history["arm"] == "treatment"].groupby("action"):
        if name in out:
            continue
        cost = pd.to_numeric(part["cost"], errors="coerce").mean()
        disc = max(0.0, _discount_per_redeemer(part) - base_disc)
        out[str(name)] = Action(
            name=str(name),
            kind="fixed" if disc > 0 else "message",
            contact_cost=float(0.0 if np.isnan(cost) else cost),
            discount=round(disc, 4),
            learned=True,
        )
    return out


def _discount_per_redeemer(rows: pd.DataFrame) -> float:
    buyers = rows[rows["orders_window"] > 0]
    return float(buyers["discount_window"].mean()) if len(buyers) else 0.0


def residuals(X: pd.DataFrame, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """``y`` minus a cross-fitted prediction of it from the features alone (no arm).

    Randomised, so comparisons of these residuals between arms are as unbiased as of
    ``y`` itself, with most of the customer-to-customer variance taken out (the way CUPED
    does with a pre-period covariate).
    """
    y = np.asarray(y, dtype=float)
    M = FeatureMatrix.learn(X, exclude=set()).transform(X)
    return y - cross_fit({**BASE_PARAMS, "seed": seed}, M, y, rounds=200, folds=3, seed=seed)


def _column(features: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name not in features:
        return np.full(len(features), default)
    return pd.to_numeric(features[name], errors="coerce").to_numpy(dtype=float)


def order_value(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(expected paid amount of one more order, expected order amount) per customer.

    The customer's own average, shrunk towards the shop's (two orders' worth), times the
    share of orders that end up paid (cancelled and refunded ones earn nothing).
    """
    n = np.nan_to_num(_column(features, "orders_total", 0.0))
    aov = _column(features, "aov", np.nan)
    ok = np.isfinite(aov) & (n > 0)
    shop = float(np.average(aov[ok], weights=n[ok])) if ok.any() else 0.0
    # Customers whose orders were all refunded or cancelled have no paid average: their
    # amount is the shop's, but their own refund and cancel record still counts.
    own = np.where(ok, aov, shop)
    amount = (own * n + shop * 2.0) / (n + 2.0)
    lost = np.nan_to_num(_column(features, "refund_share", 0.0)) + np.nan_to_num(
        _column(features, "cancel_share", 0.0)
    )
    has = n > 0
    shop_lost = float(np.average(lost[has], weights=n[has])) if has.any() else 0.0
    paid = 1.0 - (lost * n + shop_lost * 2.0) / (n + 2.0)
    return amount * np.clip(paid, 0.0, 1.0), amount


@dataclasses.dataclass(frozen=True)
class Prediction:
    """Per customer (rows) and action (columns): what :meth:`NextBestAction.predict_all`
    gives."""

    uplift: pd.DataFrame
    cost: pd.DataFrame
    score: pd.DataFrame  # the window model's score the calibration maps
    lo: pd.DataFrame
    hi: pd.DataFrame


class TooLittleHistory(LiucunError):
    """Past campaigns exist but are too small to learn from."""


def judge(cal: Calibration, contact_cost: float, z: float) -> str:
    """``proven`` (net effect's lower bound above 0), ``targeted`` (the slope of realised
    on predicted uplift significantly above 0) or ``not_shown``."""
    net = cal.alpha - contact_cost
    if np.isfinite(net) and net - z * cal.alpha_se > 0:
        return "proven"
    if cal.beta_shrunk > 0 and cal.beta - z * cal.beta_se > 0:
        return "targeted"
    return "not_shown"


class NextBestAction(Estimator):
    """Expected net-revenue uplift (with an interval) and expected cost of every action.

    Parameters
    ----------
    actions
        The action catalog, ``[plan.actions]`` of liucun.toml (name → kind, costs, ...).
    horizon
        Days of outcome the training rows' ``net_revenue`` covers.
    window_days
        Days after a contact the rows' ``orders_window`` counts (the response window).
    seed
        Seeds the uplift model and the cross-fitting.
    confidence
        Two-sided level of ``uplift_lo``/``uplift_hi`` and of the evidence each action
        needs before it is planned, simultaneous over the catalog's actions (0.9 with
        four actions: an effect is "shown" when its one-sided 98.75% bound clears zero;
        0 turns the bar off: any measured gain counts).

    How it is fitted, and why:

    1. a :class:`~liucun.models.uplift.LiftLearner` on the orders in the response window
       scores every customer × action (extra orders × expected paid order value − the
       discount expected to be redeemed): the window is where a campaign's effect is
       visible enough to rank customers;
    2. the same learner is refitted with each campaign held out in turn (groups of
       campaigns; rows when there is one campaign), so every past contact gets a score
       from a model that never saw its campaign;
    3. per action, :func:`~liucun.models.uplift_calibration.calibrate` regresses the
       horizon's net revenue (variance-reduced) on arm × held-out score: the pooled
       effect α and the slope β of realised on predicted uplift. Predictions are
       ``α + β*·(score − mean)`` with β shrunk by its own noise: the level is the
       randomised evidence, the targeting only what held out;
    4. predicted discounts are calibrated the same way against the discounts the treated
       arm really redeemed beyond the control group's, with the relative standard error
       kept for the budget's margin.

    Learned: ``orders_`` (the LiftLearner on every contact), ``actions_`` (actions with
    randomised history and a known cost), ``catalog_``, ``calibration_`` (action →
    :class:`~liucun.models.uplift_calibration.Calibration`), ``status_`` (action →
    ``proven`` | ``targeted`` | ``not_shown``), ``cost_factor_``/``cost_rel_se_`` and
    ``training_`` (what the fit saw and measured, for read-outs).
    """

    def __init__(
        self,
        actions: Mapping[str, Mapping[str, Any]] | None = None,
        horizon: int = 90,
        window_days: int = 14,
        seed: int = 0,
        confidence: float = 0.9,
        targeting: str = "horizon",
    ) -> None:
        self.actions = actions
        self.horizon = horizon
        self.window_days = window_days
        self.seed = seed
        self.confidence = confidence
        self.targeting = targeting

    @property
    def z_(self) -> float:
        """Half-width in standard errors of the intervals, simultaneous over the catalog's
        actions (Bonferroni): they share one control group, so an unlucky control makes
        every action look good at once, and the plan acts on whichever looks best."""
        from scipy.stats import norm

        c = float(self.confidence)
        if c == 0:
            return 0.0
        k = max(1, len(getattr(self, "actions_", None) or []))
        return float(norm.ppf(1.0 - (1.0 - c) / (2 * k)))

    def fit(self, rows: pd.DataFrame, on_step: Callable[[str], None] = lambda s: None) -> Self:
        """Learn from past randomised contacts: features plus ``OUTCOME_COLUMNS``."""
        seed = int(self.seed)
        if not 0 <= float(self.confidence) < 1:
            raise LiucunError(f"confidence {self.confidence}: must be in [0, 1)")
        if self.targeting not in ("horizon", "window"):
            raise LiucunError(f"targeting {self.targeting!r}: expected horizon or window")
        X = rows.drop(columns=[c for c in OUTCOME_COLUMNS if c in rows.columns])
        t = rows["treatment"].to_numpy()
        if (t == "control").sum() < 10:
            raise TooLittleHistory(
                f"only {(t == 'control').sum()} control contacts in past campaigns: "
                "uplift needs a control group (treatments.arm = 'control')"
            )
        on_step(f"uplift model on {len(rows):,} past contacts")
        try:
            orders = LiftLearner(objective="poisson", seed=seed).fit(X, t, rows["orders_window"])
        except (lgb.basic.LightGBMError, LiucunError) as e:
            raise TooLittleHistory(
                f"{len(rows):,} past contacts with {int(rows['orders_window'].sum()):,} orders "
                f"in their response windows: too few to learn uplift from ({e})"
            ) from None
        cat = catalog({"actions": self.actions or {}}, rows)
        actions = [a for a in orders.actions_ if a in cat]
        self.orders_, self.actions_, self.catalog_ = orders, actions, cat
        on_step("held-out scores, campaign by campaign")
        oof, oof_disc, how = self._held_out_scores(rows, X, t)
        on_step("measured effects over the horizon")
        # A few big spenders dominate the variance of H days of revenue: capped at the
        # 99.5th percentile (the same cap for both arms) the comparison stays fair and
        # its standard error falls by about a third on the simulated shops.
        y = rows["net_revenue"].to_numpy(dtype=float)
        r = residuals(X, np.minimum(y, np.quantile(y, 0.995)), seed)
        r_w = None
        if self.targeting == "window":
            # The response window's net revenue (orders valued at the customer's expected
            # paid order value, less the discounts redeemed): where a campaign's effect is
            # measured precisely enough to show whether the ranking held out.
            value, _ = order_value(X)
            y_w = (
                rows["orders_window"].to_numpy(dtype=float) * value
                - pd.to_numeric(rows["discount_window"], errors="coerce").fillna(0).to_numpy()
            )
            r_w = residuals(X, y_w, seed)
        disc = pd.to_numeric(rows["discount_window"], errors="coerce").fillna(0).to_numpy()
        control = t == "control"
        base_disc = float(disc[control].mean()) if control.any() else 0.0
        self.calibration_: dict[str, Calibration] = {}
        self.status_: dict[str, str] = {}
        self.cost_factor_: dict[str, float] = {}
        self.cost_rel_se_: dict[str, float] = {}
        evidence: dict[str, dict[str, Any]] = {}
        z = self.z_
        for a in actions:
            m = ((t == a) | control) & np.isfinite(oof[a].to_numpy())
            s = oof[a].to_numpy()[m]
            cal = calibrate(r[m], s, t[m] == a)
            if r_w is not None:
                # Level from the horizon, slope from the window (errors taken as independent).
                w = calibrate(r_w[m], s, t[m] == a)
                cal = Calibration(
                    cal.alpha, w.beta, w.beta_shrunk,
                    ((cal.cov[0][0], 0.0), (0.0, w.cov[1][1])),
                    cal.center, cal.n_treated, cal.n_control, cal.s_min, cal.s_max,
                    cal.alpha_shrunk,
                )  # fmt: skip
            cal = self._level(cal)
            self.calibration_[a] = cal
            contact = cat[a].contact_cost
            net, se = cal.alpha - contact, cal.alpha_se
            status = judge(cal, contact, z)
            self.status_[a] = status
            # Discounts: what the treated arm redeemed beyond the controls vs predicted.
            tm = (t == a) & np.isfinite(oof_disc[a].to_numpy())
            pred = oof_disc[a].to_numpy()[tm]
            real = disc[tm] - base_disc
            factor, rel = 1.0, 0.0
            if cat[a].gives_discount and tm.sum() >= 2 and pred.mean() > 0:
                factor = float(np.clip(real.mean() / pred.mean(), 0.25, 4.0))
                rel = float(real.std(ddof=1) / np.sqrt(tm.sum()) / max(real.mean(), 1e-9))
                rel = float(min(rel, 1.0)) if real.mean() > 0 else 1.0
            self.cost_factor_[a], self.cost_rel_se_[a] = factor, rel
            evidence[a] = {
                "net_effect": round(net, 4),
                "net_effect_used": round(cal.predict(np.array([cal.center]))[0] - contact, 4),
                "lo": round(net - z * se, 4),
                "hi": round(net + z * se, 4),
                "se": round(se, 4),
                # The smallest net effect this much history would show 80% of the time.
                "detectable": round((z + POWER_Z) * se, 4),
                "slope": round(cal.beta, 4),
                "slope_se": round(cal.beta_se, 4),
                "slope_used": round(cal.beta_shrunk, 4),
                "status": status,
                "treated": cal.n_treated,
                "control": cal.n_control,
                "cost_factor": round(factor, 4),
                "bands": [
                    {k: round(v, 4) if isinstance(v, float) else v for k, v in b.items()}
                    for b in by_band(r[m], s, t[m] == a)
                ],
            }
        by_arm = rows.groupby("treatment")
        self.training_ = {
            "contacts": len(rows),
            "campaigns": int(rows["campaign_id"].nunique()),
            "by_arm": {str(k): int(v) for k, v in by_arm.size().items()},
            "mean_net_revenue": {
                str(k): round(float(v), 4) for k, v in by_arm["net_revenue"].mean().items()
            },
            "not_planned": sorted(set(orders.actions_) - set(actions)),
            "orders_in_window": {
                str(k): round(float(v), 4) for k, v in by_arm["orders_window"].mean().items()
            },
            "held_out_by": how,
            "confidence": float(self.confidence),
            "evidence": evidence,
        }
        return self

    def with_confidence(self, confidence: float) -> Self:
        """The same fitted models judged at another ``confidence`` (no refit): statuses
        and the evidence's bounds follow; a benchmark compares levels this way."""
        self._check_fitted()
        self.confidence = confidence
        z = self.z_
        for a, cal in list(self.calibration_.items()):
            cal = self.calibration_[a] = self._level(cal)
            contact = self.catalog_[a].contact_cost
            self.status_[a] = judge(cal, contact, z)
            ev = self.training_["evidence"][a]
            ev["lo"] = round(ev["net_effect"] - z * ev["se"], 4)
            ev["hi"] = round(ev["net_effect"] + z * ev["se"], 4)
            ev["detectable"] = round((z + POWER_Z) * ev["se"], 4)
            used = cal.predict(np.array([cal.center]))[0] - contact
            ev["net_effect_used"] = round(float(used), 4)
            ev["status"] = self.status_[a]
        self.training_["confidence"] = float(confidence)
        return self

    def _level(self, cal: Calibration) -> Calibration:
        """The level predictions use: the measured effect shrunk by its noise, or as
        measured when the evidence bar is off (confidence 0)."""
        level = cal.alpha if float(self.confidence) == 0 else shrink_level(cal.alpha, cal.alpha_se)
        return dataclasses.replace(cal, alpha_shrunk=level)

    def _held_out_scores(
        self, rows: pd.DataFrame, X: pd.DataFrame, t: np.ndarray
    ) -> tuple[pd.DataFrame, pd.DataFrame, str]:
        """Every contact's score (and predicted discount) from a model fitted without its
        campaign: campaigns in up to three groups, or rows when there is only one."""
        seed = int(self.seed)
        campaigns = rows.groupby("campaign_id")["day"].min().sort_values().index.to_numpy()
        if len(campaigns) >= 2:
            k = min(3, len(campaigns))
            group = dict(zip(campaigns, np.arange(len(campaigns)) % k, strict=True))
            fold = rows["campaign_id"].map(group).to_numpy()
            how = f"{len(campaigns)} campaigns in {k} held-out groups"
        else:
            k = 3
            fold = np.random.default_rng(seed).integers(0, k, len(rows))
            how = "one campaign: held-out thirds of its contacts"
        oof = pd.DataFrame(np.nan, index=rows.index, columns=self.actions_)
        oof_disc = oof.copy()
        y = rows["orders_window"].to_numpy(dtype=float)
        for f in range(k):
            test = fold == f
            train = ~test
            if (t[train] == "control").sum() < 10 or not (y[train] > 0).any():
                continue
            # Lighter than the final model: these only score contacts for calibration.
            model = LiftLearner(objective="poisson", seed=seed, folds=2, base_rounds=150)
            try:
                model.fit(X[train], t[train], y[train])
            except (lgb.basic.LightGBMError, LiucunError, ValueError):
                continue  # too few outcomes in this part (a tiny shop): its rows stay unscored
            acts = [a for a in self.actions_ if a in model.actions_]
            if not acts:
                continue
            s, d = self._scores(model, X[test], acts)
            oof.loc[test, acts] = s.to_numpy()
            oof_disc.loc[test, acts] = d.to_numpy()
        return oof, oof_disc, how

    def _scores(
        self, model: LiftLearner, features: pd.DataFrame, actions: list[str]
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(window score, expected discount) per customer and action from ``model``."""
        X = features.drop(columns=["user_id"], errors="ignore")
        arms = model.predict_arms(X)
        value, aov = order_value(features)
        base = arms["control"].to_numpy()
        score, disc_out = {}, {}
        for name in actions:
            a = self.catalog_[name]
            lam = np.clip(arms[name].to_numpy(), 0.0, None)
            redeem = 1.0 - np.exp(-lam)  # a coupon is used once: P(at least one order)
            if a.kind == "fixed":
                disc = a.discount * redeem
            elif a.kind == "pct":
                disc = a.discount_rate * aov * redeem
            elif a.kind == "free_shipping":
                disc = a.discount * lam  # every order in the window ships free
            else:
                disc = np.zeros(len(X))
            disc_out[name] = disc
            score[name] = (lam - base) * value - disc
        return pd.DataFrame(score, index=X.index), pd.DataFrame(disc_out, index=X.index)

    def predict(self, features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(expected_uplift, expected cost) per customer (rows) and action (columns)."""
        p = self.predict_all(features)
        return p.uplift, p.cost

    def predict_interval(
        self, features: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(score, lower, upper): each action's held-out score and the uplift interval at
        ``confidence``; the score is what :meth:`total_interval` needs."""
        p = self.predict_all(features)
        return p.score, p.lo, p.hi

    def predict_all(self, features: pd.DataFrame) -> Prediction:
        """Uplift, cost, score and interval from one pass of the uplift model (the plan
        needs all of them for every customer)."""
        self._check_fitted()
        s, disc = self._scores(self.orders_, features, self.actions_)
        z = self.z_
        out: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("uplift", "cost", "lo", "hi")}
        for a in self.actions_:
            cal, sa = self.calibration_[a], s[a].to_numpy()
            mid, se = cal.predict(sa), cal.se(sa)
            out["uplift"][a], out["lo"][a], out["hi"][a] = mid, mid - z * se, mid + z * se
            out["cost"][a] = (
                self.catalog_[a].contact_cost + self.cost_factor_[a] * disc[a].to_numpy()
            )
        frames = {k: pd.DataFrame(v, index=s.index) for k, v in out.items()}
        return Prediction(score=s, **frames)

    def total_interval(self, scores: Mapping[str, np.ndarray]) -> tuple[float, float, float]:
        """(total, lo, hi) of Σ expected uplift over planned customers, action → scores.

        Each action's customers share its measured α and β, so their errors add up rather
        than average out: the variance is that of the sum, per action, added over actions.
        """
        total, var = 0.0, 0.0
        for a, s in scores.items():
            cal = self.calibration_[a]
            total += float(cal.predict(s).sum())
            var += cal.total_var(s)
        half = self.z_ * float(np.sqrt(var))
        return total, total - half, total + half


__all__ = [
    "KINDS",
    "OUTCOME_COLUMNS",
    "Action",
    "NextBestAction",
    "Prediction",
    "TooLittleHistory",
    "catalog",
    "order_value",
    "residuals",
]
