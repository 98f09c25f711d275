"""The simulated shop's action catalog and how each customer responds to each action.

Responses are heterogeneous and depend on what can be observed, so uplift is learnable:

- the lift on the purchase rate grows with discount sensitivity (visible through coupon
  use, the deals channel and cheap baskets) and with how long ago the customer last bought
  (recency), and for a recommendation push with how focused their tastes are;
- a contact drives some customers away (they drop out at once, often with an opt-out):
  contact-averse customers are more common among frequent, loyal buyers, and an
  irrelevant push annoys more than a relevant one.

So the four response types arise naturally: persuadables (sensitive, lapsing), sure
things (buy anyway; a coupon only gives money away), lost causes (already gone) and
sleeping dogs (contact-averse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liucun.sim.population import SHIPPING_FEE, Customers


@dataclass(frozen=True)
class Action:
    name: str
    contact_cost: float
    kind: str  # fixed | pct | free_shipping | none
    value: float  # money off (fixed), a rate (pct), or the shipping fee waived
    base_lift: float
    aversion: float  # dropout chance at contact for a fully contact-averse customer
    window_days: int = 14


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("coupon_fixed", 0.05, "fixed", 10.0, 2.2, 0.3),
        Action("coupon_pct", 0.05, "pct", 0.10, 1.8, 0.3),
        Action("free_shipping", 0.05, "free_shipping", SHIPPING_FEE, 1.1, 0.3),
        Action("reco_push", 0.01, "none", 0.0, 2.5, 0.2),
    )
}
ACTION_NAMES: tuple[str, ...] = tuple(ACTIONS)
CAMPAIGN_SHARE = 0.3  # share of known customers targeted by a monthly campaign
CONTROL_SHARE = 0.15  # share of the targeted held out as control
OPT_OUT_SHARE = 0.7  # of customers a contact drives away, this share opts out visibly


def taste_focus(cust: Customers, idx: np.ndarray) -> np.ndarray:
    """How concentrated the customer's choices are (0 spread .. 1 one item)."""
    w = cust.weights[idx]
    return np.clip((w**2).sum(axis=1) * 4.0, 0.0, 1.0)


def lift(action: Action, cust: Customers, idx: np.ndarray, recency_days: np.ndarray) -> np.ndarray:
    """Multiplicative lift minus one on the daily purchase rate during the window."""
    lapse = 0.4 + 0.6 * np.clip(recency_days / 90.0, 0.0, 1.0)
    sens = cust.discount_sensitivity[idx]
    if action.kind == "fixed":
        return action.base_lift * sens * lapse
    if action.kind == "pct":
        return action.base_lift * sens * lapse
    if action.kind == "free_shipping":
        return action.base_lift * (0.3 + 0.7 * sens) * lapse
    return action.base_lift * taste_focus(cust, idx) * lapse


def aversion(action: Action, cust: Customers, idx: np.ndarray) -> np.ndarray:
    """Chance that being contacted makes the customer drop out at once."""
    base = cust.contact_aversion[idx] * action.aversion
    if action.kind == "none":
        return np.clip(base * (1.3 - taste_focus(cust, idx)), 0.0, 1.0)
    return base


def recency(last_purchase: np.ndarray, day: int, arrival: np.ndarray) -> np.ndarray:
    """Days since the last purchase (or since arrival, for those who never bought)."""
    since = np.where(last_purchase > -(10**8), last_purchase, arrival)
    return np.maximum(day - since, 0).astype(float)
