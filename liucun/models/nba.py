"""Next best action: what each customer is expected to add under every action, and at what cost.

The estimator behind ``liucun plan`` (:mod:`liucun.tasks.plan` finds the training rows in
the warehouse and makes the budgeted choice). It is fitted on past randomised contacts
(features on the contact day plus their outcomes, see ``OUTCOME_COLUMNS``):

- a :class:`~liucun.models.uplift.LiftLearner` on the orders placed in the response
  window gives each customer's expected orders under every action and under no contact;
  ``expected_uplift`` is the extra orders × the customer's expected paid order value −
  the discount expected to be redeemed (net revenue: discounts inside);
- each action's level is then tied to its effect over the whole horizon as measured in
  the randomised history (:func:`horizon_effects`, precision-weighted against the
  window's own estimate), so what happens after the window moves an action's size
  against the others, not the order of customers within it;
- the action catalog (``[plan.actions]``) says what a contact costs and gives away;
  actions found only in the history get costs learned from it (:func:`catalog`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd

from liucun.errors import LiucunError
from liucun.models.base import Estimator
from liucun.models.boosted import FeatureMatrix
from liucun.models.uplift import BASE_PARAMS, LiftLearner, cross_fit

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


def horizon_effects(
    X: pd.DataFrame, t: np.ndarray, y: np.ndarray, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """Average H-day effect of each action on net revenue and its standard error.

    Randomised, so a difference in means is unbiased; residuals of a cross-fitted revenue
    model (features only, no arm) take out most of the customer-to-customer variance,
    the way CUPED does with a pre-period covariate.
    """

    y = np.asarray(y, dtype=float)
    M = FeatureMatrix.learn(X, exclude=set()).transform(X)
    r = y - cross_fit({**BASE_PARAMS, "seed": seed}, M, y, rounds=200, folds=3, seed=seed)
    rc = r[t == "control"]
    out = {}
    for a in sorted(set(t) - {"control"}):
        ra = r[t == a]
        se = float(np.sqrt(ra.var(ddof=1) / len(ra) + rc.var(ddof=1) / len(rc)))
        out[str(a)] = (float(ra.mean() - rc.mean()), se)
    return out


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


class NextBestAction(Estimator):
    """Expected net-revenue uplift and expected cost of every action, per customer.

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

    Learned: ``orders_`` (the LiftLearner), ``actions_`` (planned actions: randomised
    history and a known cost), ``catalog_``, ``scale_`` (per action, the H-day effect over
    the window's prediction, in [0.2, 1.5]) and ``training_`` (what the fit saw).
    """

    def __init__(
        self,
        actions: Mapping[str, Mapping[str, Any]] | None = None,
        horizon: int = 90,
        window_days: int = 14,
        seed: int = 0,
    ) -> None:
        self.actions = actions
        self.horizon = horizon
        self.window_days = window_days
        self.seed = seed

    def fit(self, rows: pd.DataFrame, on_step: Callable[[str], None] = lambda s: None) -> Self:
        """Learn from past randomised contacts: features plus ``OUTCOME_COLUMNS``."""
        seed = int(self.seed)
        X = rows.drop(columns=[c for c in OUTCOME_COLUMNS if c in rows.columns])
        t = rows["treatment"].to_numpy()
        if (t == "control").sum() < 10:
            raise LiucunError(
                f"only {(t == 'control').sum()} control contacts in past campaigns: "
                "uplift needs a control group (treatments.arm = 'control')"
            )
        on_step(f"uplift model on {len(rows):,} past contacts")
        orders = LiftLearner(objective="poisson", seed=seed).fit(X, t, rows["orders_window"])
        cat = catalog({"actions": self.actions or {}}, rows)
        actions = [a for a in orders.actions_ if a in cat]
        by_arm = rows.groupby("treatment")
        on_step("measured effects over the horizon")
        effects = horizon_effects(X, t, rows["net_revenue"].to_numpy(), seed)
        self.orders_, self.actions_, self.catalog_ = orders, actions, cat
        # Level: the response window ranks customers, the measured H-day effect sets the size.
        treated = rows["treatment"].isin(actions).to_numpy()
        pred, _ = self._predict(rows.loc[treated].drop(columns=["treatment"]), {})
        arm = rows.loc[treated, "treatment"].to_numpy()
        scale: dict[str, float] = {}
        for a in actions:
            wm = float(pred[a].to_numpy()[arm == a].mean())
            ate, se = effects[a]
            if wm <= 0 or not np.isfinite(se) or se <= 0:
                scale[a] = 1.0
                continue
            # Precision-weighted: the window's prediction as a prior as wide as itself, the
            # measured effect as the data. Small shops keep the window's level, big ones
            # follow the measurement.
            post = (wm / wm**2 + ate / se**2) / (1 / wm**2 + 1 / se**2)
            # Never below a fifth: one noisy average does not write an action off.
            scale[a] = float(np.clip(post / wm, 0.2, 1.5))
        self.scale_ = scale
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
            "horizon_effect": {a: [round(m, 4), round(se, 4)] for a, (m, se) in effects.items()},
            "scale": {a: round(v, 4) for a, v in scale.items()},
        }
        return self

    def predict(self, features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(expected_uplift, expected cost) per customer (rows) and action (columns)."""
        self._check_fitted()
        return self._predict(features, self.scale_)

    def _predict(
        self, features: pd.DataFrame, scale: Mapping[str, float]
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        X = features.drop(columns=["user_id"], errors="ignore")
        arms = self.orders_.predict_arms(X)
        value, aov = order_value(features)
        base = arms["control"].to_numpy()
        costs, uplift = {}, {}
        for name in self.actions_:
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
            costs[name] = a.contact_cost + disc
            uplift[name] = ((lam - base) * value - disc) * scale.get(name, 1.0)
        return pd.DataFrame(uplift, index=X.index), pd.DataFrame(costs, index=X.index)


__all__ = [
    "KINDS",
    "OUTCOME_COLUMNS",
    "Action",
    "NextBestAction",
    "catalog",
    "horizon_effects",
    "order_value",
]
