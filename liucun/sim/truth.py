"""Exact expectations from the latent state: what would happen, with and without action.

The engine's process is Markov per customer, so expectations need no Monte Carlo. For a
customer alive at day D with daily purchase probability ``q_t`` and dropout ``p`` after
a purchase and ``h`` per day (the engine's order within a day):

    S_{t+1} = S_t (1 - q_t p) (1 - h)      P(alive at t)
    A_{t+1} = A_t (1 - q_t) (1 - h)        P(alive at t and no purchase yet)
    E[orders]        = Σ_t S_t q_t
    P(any purchase)  = Σ_t A_t q_t
    P(first in [0, W)) = Σ_{t<W} A_t q_t   (when a one-time coupon is redeemed)

An action contacted at D multiplies survival by ``1 - aversion`` at once and the rate by
``1 + lift`` for its window; its discount follows from the sums above. Lift and dropout
come from the scenario's :meth:`~liucun.sim.scenarios.Scenario.response`, the one the
engine uses, with each customer's contacts before D (fatigue) and hidden multiplier.

In a churn world (``state.latent``: hidden states, personal seasons) the same sums run
over a vector per customer, the chance of being alive and in each hidden state, started
from the customer's actual state at D (``state.phase``); with ``q_t[k]`` the day's
purchase chance in state k (its rate multiplier and the personal season included), ``M``
the customer's nightly move without a purchase and ``B`` the one after a purchase:

    A_{t+1} = (A_t ⊙ (1 - q_t)) M (1 - h)
    S_{t+1} = [(S_t ⊙ (1 - q_t)) M + (S_t ⊙ q_t (1 - p)) B] (1 - h)
    E[orders] = Σ_t S_t · q_t,   P(any purchase) = Σ_t A_t · q_t

In a retail world (:mod:`liucun.sim.retail`) every customer's rate on day t is also
multiplied by their basket index ``B_t`` at the day's prices (:class:`HoldoutPrices`), and
an order picks item j with ``w_j m_j,t / B_t``: ``truth/demand.parquet`` is uncensored
(what would sell with stock), and the customer truths count the purchases customers set
out to make, whether or not the shelf could serve them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from liucun.sim import actions as act
from liucun.sim.engine import NEVER, State
from liucun.sim.population import (
    MEAN_EXTRA_ITEMS,
    P_QTY2,
    SHIPPING_FEE,
    Catalog,
    Customers,
    LatentTraits,
    expected_dropout,
    expected_gross,
)
from liucun.sim.retail import RetailWorld, first_buy_at
from liucun.sim.scenarios import DEFAULT, Scenario


@dataclass
class HoldoutPrices:
    """A retail world's holdout prices as the truth needs them."""

    factor: np.ndarray  # customers x days: each customer's basket index
    mult: np.ndarray  # items x days: each item's demand multiplier

    @classmethod
    def of(cls, world: RetailWorld, lo: int, hi: int) -> HoldoutPrices:
        return cls(world.price_factor(lo, hi), world.book.mult[:, lo:hi])


def _paths(
    rate: np.ndarray,
    drop: np.ndarray,
    hazard: np.ndarray,
    season: np.ndarray,
    lift: np.ndarray | None = None,
    window: int = 0,
    survive0: np.ndarray | None = None,
    factor: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Expected outcomes over the days of ``season`` (``factor``: customers x days, a
    retail world's basket index multiplying the rate)."""
    n = len(rate)
    s = np.ones(n) if survive0 is None else survive0.copy()
    a = s.copy()
    orders = np.zeros(n)
    first = np.zeros(n)
    first_in_window = np.zeros(n)
    orders_in_window = np.zeros(n)
    for t, f in enumerate(season):
        m = 1.0 + lift if (lift is not None and t < window) else 1.0
        if factor is not None:
            m = m * factor[:, t]
        q = 1.0 - np.exp(-rate * f * m)
        orders += s * q
        first += a * q
        if t < window:
            first_in_window += a * q
            orders_in_window += s * q
        a = a * (1.0 - q) * (1.0 - hazard)
        s = s * (1.0 - q * drop) * (1.0 - hazard)
    return {
        "orders": orders,
        "p_any": first,
        "first_in_window": first_in_window,
        "orders_in_window": orders_in_window,
    }


def _latent_paths(
    traits: LatentTraits,
    idx: np.ndarray,
    start: np.ndarray,
    rate: np.ndarray,
    drop: np.ndarray,
    hazard: np.ndarray,
    season: np.ndarray,
    first_day: int,
    lift: np.ndarray | None = None,
    window: int = 0,
    arrival: np.ndarray | None = None,
    first_buy: np.ndarray | None = None,
    factor: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """:func:`_paths` for a churn world: the chain over hidden states, run exactly.

    ``start``: (n, K) chance of being alive in each state at ``first_day`` (zeros for the
    gone; the contact's keep chance already applied). ``arrival``: the horizon day a
    customer signs up (they start by the process's ``start`` and buy that day with
    ``first_buy``), -1 for none; then ``daily`` holds the expected orders per day.
    ``factor``: customers x days, a retail world's basket index multiplying the rate.
    """
    n, horizon = len(idx), len(season)
    state_rate, _, _, after = traits.spec.arrays()
    moves = traits.transitions(idx)  # (n, K, K), each customer's own pace
    personal = traits.season(idx, np.arange(first_day, first_day + horizon))
    s = start.copy()
    a = start.copy()
    out = {k: np.zeros(n) for k in ("orders", "p_any", "first_in_window", "orders_in_window")}
    daily = np.zeros((n, horizon)) if arrival is not None else None
    keep = (1.0 - hazard)[:, None]
    for t, f in enumerate(season):
        m = 1.0 + lift if (lift is not None and t < window) else 1.0
        if factor is not None:
            m = m * factor[:, t]
        x = (rate * traits.rate_mult[idx] * f * m * personal[:, t])[:, None] * state_rate[None, :]
        q = 1.0 - np.exp(-x)
        if arrival is not None and first_buy is not None:
            new = arrival == t
            s[new] = np.asarray(traits.spec.start)
            a[new] = np.asarray(traits.spec.start)
            fb = first_buy[new] if factor is None else first_buy_at(first_buy[new], factor[new, t])
            q[new] = fb[:, None]
        sq, aq = (s * q).sum(axis=1), (a * q).sum(axis=1)
        out["orders"] += sq
        out["p_any"] += aq
        if t < window:
            out["first_in_window"] += aq
            out["orders_in_window"] += sq
        if daily is not None:
            daily[:, t] = sq
        a = np.einsum("nk,nkj->nj", a * (1.0 - q), moves) * keep
        stay = np.einsum("nk,nkj->nj", s * (1.0 - q), moves)
        s = (stay + (s * q * (1.0 - drop)[:, None]) @ after) * keep
    if daily is not None:
        out["daily"] = daily
    return out


def _order_value(cust: Customers, cat: Catalog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(expected goods value, value incl. shipping, chance an order is paid) per customer."""
    gross = expected_gross(cust, cat.price)
    return gross, gross + SHIPPING_FEE, 1.0 - cust.cancel_rate - cust.refund_rate


def known_at(cust: Customers, day: int) -> np.ndarray:
    return np.flatnonzero(cust.arrival < day)


def customers_truth(
    cust: Customers,
    cat: Catalog,
    state: State,
    day: int,
    season: np.ndarray,
    scenario: Scenario = DEFAULT,
    prices: HoldoutPrices | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per known customer at ``day``: true outcomes over len(season) days, and effects.

    ``effects`` carries a ``contact_cost`` column only when the scenario changes a contact
    cost (the default world keeps today's columns); :func:`score_plan` reads it.
    """
    idx = known_at(cust, day)
    alive = state.alive[idx]
    rate = state.rate[idx] * alive  # the gone never buy again
    drop = expected_dropout(cust, cat)[idx]
    hazard = cust.hazard[idx]
    gross, value, paid = (x[idx] for x in _order_value(cust, cat))
    lat = state.latent
    factor = None if prices is None else prices.factor[idx]

    def paths(
        lift: np.ndarray | None = None, window: int = 0, keep: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Expected outcomes with an optional action (lift for ``window`` days, ``keep``)."""
        if lat is None:
            return _paths(rate, drop, hazard, season, lift, window, keep, factor)
        assert state.phase is not None
        start = np.eye(lat.spec.size)[state.phase[idx]] * alive[:, None]
        if keep is not None:
            start = start * keep[:, None]
        return _latent_paths(
            lat, idx, start, rate, drop, hazard, season, day, lift, window, factor=factor
        )

    base = paths()
    revenue0 = paid * base["orders"] * value
    horizon = len(season)
    rec = act.recency(state.last_purchase[idx], day, cust.arrival[idx])
    recent = scenario.recent_contacts(state.contacts, idx, day, cust.size)
    actions = scenario.actions
    own_costs = any(a.contact_cost != act.ACTIONS[k].contact_cost for k, a in actions.items())
    effects = []
    incr_fixed = None
    for name, a in actions.items():
        lift, driven_away = scenario.response(a, cust, idx, rec, recent)
        keep = 1.0 - driven_away
        p = paths(lift, a.window_days, keep)
        if a.kind == "fixed":
            disc = a.value * p["first_in_window"]
        elif a.kind == "pct":
            disc = a.value * gross * p["first_in_window"]
        elif a.kind == "free_shipping":
            disc = a.value * p["orders_in_window"]
        else:
            disc = np.zeros(len(idx))
        revenue = paid * (p["orders"] * value - disc)
        incr = revenue - revenue0
        if name == "coupon_fixed":
            incr_fixed = incr
        frame = pd.DataFrame(
            {
                "user_id": cust.user_id[idx],
                "action": name,
                "incremental_revenue": incr,
                "expected_cost": a.contact_cost + disc,
                "horizon_days": horizon,
            }
        )
        if own_costs:
            frame["contact_cost"] = a.contact_cost
        effects.append(frame)
    assert incr_fixed is not None
    averse = cust.contact_aversion[idx] > 0
    # Types by the fixed coupon's true effect: gone, driven away, buying anyway, moved.
    response = np.select(
        [
            ~alive | (base["p_any"] < 0.02),
            averse & (incr_fixed < 0),
            (base["p_any"] >= 0.5) & (incr_fixed <= 2.0),
            incr_fixed > 0.5,
        ],
        ["lost_cause", "sleeping_dog", "sure_thing", "persuadable"],
        default="lost_cause",
    )
    died = state.died_day[idx]
    customers = pd.DataFrame(
        {
            "user_id": cust.user_id[idx],
            "p_purchase_h": base["p_any"],
            "expected_orders_h": base["orders"],
            "expected_revenue_h": revenue0,
            "alive": alive,
            "churn_day": np.where(died > NEVER, died, np.nan),
            "purchase_rate": state.rate[idx],
            "dropout_p": drop,
            "daily_hazard": hazard,
            "discount_sensitivity": cust.discount_sensitivity[idx],
            "contact_aversion": cust.contact_aversion[idx],
            "response_type": response,
            "is_abuser": cust.abuse_kind[idx] != "",
            "abuse_kind": cust.abuse_kind[idx],
            "horizon_days": horizon,
        }
    )
    if lat is not None:  # a churn world: the hidden state at D ("gone" for the gone)
        assert state.phase is not None
        names = np.array(lat.spec.states, dtype=object)[state.phase[idx]]
        customers["latent_state"] = np.where(alive, names, "gone")
        # The customer's own rate, before their state's and season's multipliers.
        customers["purchase_rate"] = state.rate[idx] * lat.rate_mult[idx]
    return customers, pd.concat(effects, ignore_index=True)


def preferences_truth(cust: Customers, cat: Catalog, k: int = 20) -> pd.DataFrame:
    """Each customer's true top-k items by utility."""
    k = min(k, cust.candidates.shape[1])
    n = cust.size
    return pd.DataFrame(
        {
            "user_id": np.repeat(cust.user_id, k),
            "rank": np.tile(np.arange(1, k + 1), n),
            "item_id": cat.item_id[cust.candidates[:, :k].ravel()],
            "utility": cust.utility[:, :k].ravel(),
        }
    )


def demand_truth(
    cust: Customers,
    cat: Catalog,
    state: State,
    day: int,
    season: np.ndarray,
    dates: pd.DatetimeIndex,
    prices: HoldoutPrices | None = None,
) -> pd.DataFrame:
    """True expected units sold per item per day over the holdout (no new intervention;
    in a retail world at the holdout's prices and uncensored by stock)."""
    n, horizon = cust.size, len(season)
    drop = expected_dropout(cust, cat)
    there = (cust.arrival < day) & state.alive
    if state.latent is not None:
        assert state.phase is not None
        arrival = np.where(cust.arrival >= day, cust.arrival - day, -1)
        start = np.eye(state.latent.spec.size)[state.phase] * there[:, None]
        expected = _latent_paths(
            state.latent,
            np.arange(n),
            start,
            state.rate,
            drop,
            cust.hazard,
            season,
            day,
            arrival=arrival,
            first_buy=cust.first_buy,
            factor=None if prices is None else prices.factor,
        )["daily"]
        return _demand_frame(cust, cat, expected, dates, prices)
    expected = np.zeros((n, horizon))
    s = np.where(there, 1.0, 0.0)
    for t in range(horizon):
        arriving = cust.arrival == day + t
        x = state.rate * season[t]
        if prices is not None:
            x = x * prices.factor[:, t]
        q = 1.0 - np.exp(-x)
        first = (
            cust.first_buy if prices is None else first_buy_at(cust.first_buy, prices.factor[:, t])
        )
        q = np.where(arriving, first, q)
        s = np.where(arriving, 1.0, s)
        expected[:, t] = s * q
        s = s * (1.0 - q * drop) * (1.0 - cust.hazard)
    return _demand_frame(cust, cat, expected, dates, prices)


def _demand_frame(
    cust: Customers,
    cat: Catalog,
    expected: np.ndarray,
    dates: pd.DatetimeIndex,
    prices: HoldoutPrices | None = None,
) -> pd.DataFrame:
    """Expected orders per customer and day (n, H) → expected units per item and day
    (a retail world's orders pick item j with ``w_j m_j / B``)."""
    n, horizon = expected.shape
    if prices is not None:
        expected = expected / prices.factor
    units_per_order_line = (1.0 + MEAN_EXTRA_ITEMS) * (1.0 + P_QTY2)
    rows = np.repeat(np.arange(n), cust.candidates.shape[1])
    w = sparse.csr_matrix(
        (cust.weights.ravel(), (rows, cust.candidates.ravel())), shape=(n, cat.size)
    )
    units = np.asarray((w.T @ expected) * units_per_order_line)  # (items, days)
    if prices is not None:
        units = units * prices.mult
    return pd.DataFrame(
        {
            "date": np.tile(dates.date, cat.size),
            "item_id": np.repeat(cat.item_id, horizon),
            "expected_units": units.ravel(),
        }
    )


def score_plan(
    plan: pd.DataFrame, effects: pd.DataFrame, contact_cost: Mapping[str, float] | None = None
) -> dict[str, float]:
    """The true value of a plan: one action (or ``control``) per ``user_id``.

    Parameters
    ----------
    plan
        Columns ``user_id, action``; rows with ``action == "control"`` or an action the
        truth does not know earn nothing.
    effects
        ``truth/effects.parquet``.
    contact_cost
        Cost of one contact per action; default: the effects' ``contact_cost`` column
        where a scenario wrote one, else the default catalogue's.

    Returns
    -------
    dict
        ``incremental_revenue`` (true, after discounts), ``expected_cost`` (contact plus
        discounts), ``contact_cost``, ``net_value`` (incremental revenue minus contact
        cost: what the plan's objective maximises), ``customers`` treated.
    """
    treated = plan.loc[plan["action"] != "control", ["user_id", "action"]]
    merged = treated.merge(effects, on=["user_id", "action"], how="left")
    if contact_cost is not None:
        contact = merged["action"].map(dict(contact_cost)).astype(float).fillna(0.0)
    elif "contact_cost" in merged.columns:
        contact = merged["contact_cost"].astype(float).fillna(0.0)
    else:
        costs = {k: a.contact_cost for k, a in act.ACTIONS.items()}
        contact = merged["action"].map(costs).astype(float).fillna(0.0)
    incr = float(merged["incremental_revenue"].astype(float).fillna(0.0).sum())
    return {
        "incremental_revenue": incr,
        "expected_cost": float(merged["expected_cost"].astype(float).fillna(0.0).sum()),
        "contact_cost": float(contact.sum()),
        "net_value": incr - float(contact.sum()),
        "customers": len(treated),
    }
