"""Scenario worlds: the same simulated shop under different truths.

One world is easy to overfit: a planner tuned on it may fail where actions lose money,
effects are weak, contacts drive customers away, customers tire of contacts, the response
hangs on something nobody can observe, or there is little or no campaign history to learn
from. A :class:`Scenario` names such a world; ``simulate(..., scenario=NAME)`` builds it
and ``truth/effects.parquet`` stays exact in it (the engine and the truth read the same
scenario object and call the same :meth:`Scenario.response`). Nothing here mutates a
module global: the action catalogue and the campaign shares a run uses are the scenario's.

What each parameter does (defaults: the ``default`` world, byte for byte today's shop):

- ``action_overrides``: per action, a new ``base_lift``, ``aversion``, ``contact_cost`` or
  ``value`` (so some actions can lose money on average);
- ``lift_scale``: multiplies every action's lift (weak effects);
- ``aversion_prevalence``: multiplies the share of contact-averse customers (25% of the
  loyal, 8% of the rest, capped at 1); ``aversion_strength`` multiplies every action's
  dropout chance at contact (capped at 1): sleeping dogs;
- fatigue: each contact in the previous ``fatigue_days`` days multiplies the next
  contact's lift by ``fatigue_lift`` and its keep chance by ``1 - fatigue_aversion``;
  contacts before the cut count in the truth too;
- hidden response: ``hidden_share`` of the lift is driven by a per-customer multiplier
  (gamma, mean 1, shape ``hidden_shape``) drawn from its own random stream, so it is
  independent of everything observable; it lives in ``Customers.hidden_response`` and is
  written to no file;
- ``campaign_months``: ``None`` every month, ``0`` none (no treatments rows), ``k`` only
  the last ``k`` monthly campaigns; ``campaign_share`` / ``control_share``: who a
  campaign targets and how many of them it holds out.

Churn worlds (issue 19): the purchase and dropout process is parameterised by
``rate_scale`` (every daily purchase rate), ``dropout_scale`` (the dropout chance after a
purchase, capped at 1) and ``hazard_scale`` (the daily hazard), applied in
:func:`liucun.sim.population.make_customers`, and by ``latent``
(:class:`~liucun.sim.population.Latent`): hidden states that multiply the purchase and
browse rates and move day by day (engaged → cooling → lapsed and back; the stages of a
replenishment cycle), personal buying seasons, noisy visits (a per-customer browse
propensity; the gone still visit) and the spread of purchase rates. The engine draws and
moves them (``Engine.step``) and ``liucun.sim.truth`` runs the same chain forward from each
customer's state at D, so ``p_purchase_h`` stays the exact chance of buying in the holdout
and the truth's AUC is a real ceiling. The worlds below are tuned so that it lies where
real shops are (0.75-0.85 at 20,000 customers, 365 days and a 90-day holdout, seeds 0-2;
``benchmarks/churn_sim.py`` reports it); the default shop's is about 0.98.

Retail worlds (issue 20): ``retail`` (:class:`~liucun.sim.retail.Retail`) gives the shop
a price book (regular price changes by category, none in ``books``; discounts on 6.18,
11.11 and 12.12), a true own-price elasticity per top category that purchases and item
choice answer, and stock with per-item lead times and a reorder policy whose stock-outs
censor sales. The ``retail`` world writes ``inventory.parquet`` and
``truth/{elasticities,stock}.parquet`` besides the usual files; its draws come from a
stream of their own, and without it nothing is drawn.

A new process (a competitor opening, a hazard that rises after day X) adds a field here
with a neutral default, reads it where the engine draws purchases and dropouts and mirrors
it in ``liucun.sim.truth``. A field at its default must draw no random number and change
no value, so the ``default`` world keeps its bytes (``tests/sim/test_scenarios.py`` checks
that).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from liucun.sim import actions as act
from liucun.sim.actions import Action
from liucun.sim.population import SHIPPING_FEE, Customers, Latent
from liucun.sim.retail import Retail

_OVERRIDABLE = ("base_lift", "aversion", "contact_cost", "value")


@dataclass(frozen=True)
class ActionOverride:
    """New values for some of one catalogue action's parameters (``None``: unchanged)."""

    action: str
    base_lift: float | None = None
    aversion: float | None = None
    contact_cost: float | None = None
    value: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A named world: the simulator's truth parameters (see the module docstring)."""

    name: str
    description: str
    action_overrides: tuple[ActionOverride, ...] = ()
    lift_scale: float = 1.0
    aversion_prevalence: float = 1.0
    aversion_strength: float = 1.0
    fatigue_days: int = 0
    fatigue_lift: float = 1.0
    fatigue_aversion: float = 0.0
    hidden_share: float = 0.0
    hidden_shape: float = 0.5
    campaign_months: int | None = None
    campaign_share: float = act.CAMPAIGN_SHARE
    control_share: float = act.CONTROL_SHARE
    # The purchase and dropout process (churn worlds, issue 19).
    rate_scale: float = 1.0
    dropout_scale: float = 1.0
    hazard_scale: float = 1.0
    # A hidden process behind purchases and visits (``None``: none, today's shop).
    latent: Latent | None = None
    # Prices, promotions and stock (issue 20; ``None``: list prices, endless stock).
    retail: Retail | None = None

    def __post_init__(self) -> None:
        problems = []
        for o in self.action_overrides:
            if o.action not in act.ACTIONS:
                problems.append(f"unknown action {o.action!r}")
            for k in _OVERRIDABLE:
                v = getattr(o, k)
                if v is not None and not (np.isfinite(v) and v >= 0):
                    problems.append(f"{o.action}.{k} = {v!r} must be finite and >= 0")
            if o.aversion is not None and o.aversion > 1:
                problems.append(f"{o.action}.aversion = {o.aversion!r} must be <= 1")
        positive = ("lift_scale", "aversion_prevalence", "aversion_strength", "hidden_shape")
        for k in (*positive, "rate_scale", "dropout_scale", "hazard_scale"):
            v = getattr(self, k)
            if not (np.isfinite(v) and v >= 0) or (k in positive and v == 0):
                problems.append(
                    f"{k} = {v!r} must be finite and {'>' if k in positive else '>='} 0"
                )
        for k in ("fatigue_lift", "fatigue_aversion", "hidden_share", "campaign_share"):
            if not 0 <= getattr(self, k) <= 1:
                problems.append(f"{k} = {getattr(self, k)!r} must be in [0, 1]")
        if not 0 <= self.control_share < 1:
            problems.append(f"control_share = {self.control_share!r} must be in [0, 1)")
        if self.fatigue_days < 0:
            problems.append(f"fatigue_days = {self.fatigue_days!r} must be >= 0")
        if self.campaign_months is not None and self.campaign_months < 0:
            problems.append(f"campaign_months = {self.campaign_months!r} must be >= 0 or None")
        if problems:
            raise ValueError(f"scenario {self.name!r}: " + "; ".join(problems))

    # -- the world's catalogue -----------------------------------------------------------
    @property
    def actions(self) -> dict[str, Action]:
        """The action catalogue in this world: overrides, then the global scales."""
        over = {o.action: o for o in self.action_overrides}
        out: dict[str, Action] = {}
        for name, a in act.ACTIONS.items():
            o = over.get(name)
            if o is not None:
                a = replace(
                    a, **{k: getattr(o, k) for k in _OVERRIDABLE if getattr(o, k) is not None}
                )
            if self.lift_scale != 1.0:
                a = replace(a, base_lift=a.base_lift * self.lift_scale)
            if self.aversion_strength != 1.0:
                a = replace(a, aversion=min(a.aversion * self.aversion_strength, 1.0))
            out[name] = a
        return out

    def contact_costs(self) -> dict[str, float]:
        """Cost of one contact per action (what ``score_plan`` subtracts)."""
        return {k: a.contact_cost for k, a in self.actions.items()}

    def parameters(self) -> dict[str, Any]:
        """Every parameter but the name and description, JSON-ready.

        ``latent`` and ``retail`` appear only in a world that has them, so a world without
        keeps the ``simulation.json`` it always wrote.
        """
        d = asdict(self)
        d.pop("name")
        d.pop("description")
        for k in ("latent", "retail"):
            if d[k] is None:
                d.pop(k)
        return d

    @property
    def churn_world(self) -> bool:
        """Whether this world changes the purchase and dropout process (issue 19)."""
        return self.latent is not None or any(
            getattr(self, k) != 1.0 for k in ("rate_scale", "dropout_scale", "hazard_scale")
        )

    # -- how a contacted customer responds ----------------------------------------------
    def response(
        self,
        action: Action,
        cust: Customers,
        idx: np.ndarray,
        recency_days: np.ndarray,
        recent: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(lift minus one on the purchase rate, dropout chance at contact) for ``idx``.

        ``recent``: each customer's contacts in the previous ``fatigue_days`` days (see
        :meth:`recent_contacts`). The engine and the truth both call this, so they agree.
        """
        lift = act.lift(action, cust, idx, recency_days)
        drop = act.aversion(action, cust, idx)
        if self.hidden_share > 0:
            h = cust.hidden_response[idx]
            lift = lift * ((1.0 - self.hidden_share) + self.hidden_share * h)
        if self.fatigue_days > 0 and recent is not None:
            lift = lift * self.fatigue_lift**recent
            drop = 1.0 - (1.0 - drop) * (1.0 - self.fatigue_aversion) ** recent
        return lift, drop

    def recent_contacts(
        self, contacts: list[tuple[int, np.ndarray]], idx: np.ndarray, day: int, size: int
    ) -> np.ndarray | None:
        """Contacts of ``idx`` in days [day - fatigue_days, day); ``None`` without fatigue."""
        if self.fatigue_days <= 0:
            return None
        count = np.zeros(size)
        for d, who in contacts:
            if day - self.fatigue_days <= d < day:
                np.add.at(count, who, 1.0)
        return count[idx]

    def hidden(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Per-customer latent response multiplier (mean 1); ones when there is none."""
        if self.hidden_share <= 0:
            return np.ones(n)
        return rng.gamma(self.hidden_shape, 1.0 / self.hidden_shape, n)

    def campaigns(self, days: dict[int, str]) -> dict[int, str]:
        """The monthly campaign days this world keeps (all, none or the last k)."""
        if self.campaign_months is None:
            return days
        keep = sorted(days)[len(days) - self.campaign_months :] if self.campaign_months else []
        return {t: days[t] for t in keep}


DEFAULT = Scenario("default", "Today's shop: monthly randomised campaigns, ordinary responses.")

# Visits in every churn world: frequent (several per order, as in an app) but noisy (a
# per-customer propensity), and the gone still drop by now and then: a visit does not
# prove a customer alive, and their hidden state shows only through the visit rate.
_VISITS = {"browse_noise": 0.3, "browse_gone": 0.02}
_RESET = (1.0, 0.0, 0.0, 0.0)  # a purchase restarts a replenishment cycle

CHURN_WORLDS: tuple[Scenario, ...] = (
    Scenario(
        "bgnbd_like",
        "BG/NBD-like churn: buy at a steady rate (one order in ~4 months on average) until "
        "a hidden drop-out after some purchase; frequent, noisy visits.",
        rate_scale=0.3,
        dropout_scale=0.25,
        hazard_scale=0.0,
        latent=Latent(browse=(5.0,), rate_shape=4.0, **_VISITS),
    ),
    Scenario(
        "hidden_chain",
        "Hidden engagement: engaged, cooling and lapsed states (lapsed return sometimes, "
        "a purchase re-engages) set purchase and visit rates; the features see neither.",
        rate_scale=0.3,
        dropout_scale=0.05,
        hazard_scale=0.2,
        latent=Latent(
            states=("engaged", "cooling", "lapsed"),
            rate=(1.5, 0.5, 0.1),
            browse=(6.0, 1.5, 0.15),
            move=(
                (1 - 1 / 75, 1 / 75, 0.0),
                (1 / 200, 1 - 1 / 200 - 1 / 45, 1 / 45),
                (1 / 300, 1 / 200, 1 - 1 / 300 - 1 / 200),
            ),
            bought=((1.0, 0.0, 0.0), (0.7, 0.3, 0.0), (0.4, 0.6, 0.0)),
            start=(0.8, 0.2, 0.0),
            pace_shape=2.0,
            rate_shape=4.0,
            **_VISITS,
        ),
    ),
    Scenario(
        "seasonal",
        "Seasonal buyers: 60% buy and browse mostly in their own time of year (peak 2.4x, "
        "trough 0.2x the mean), so a year-old last order can mean an order soon.",
        rate_scale=0.3,
        dropout_scale=0.05,
        hazard_scale=0.1,
        latent=Latent(
            browse=(6.0,),
            season_share=0.6,
            season_kappa=1.2,
            rate_shape=8.0,
            browse_noise=0.25,
            browse_gone=0.02,
        ),
    ),
    Scenario(
        "replenishment",
        "Replenishment: fresh, stocked, running low, due every ~2-3 months at each one's "
        "pace; a due customer reorders, or buys elsewhere and starts over.",
        rate_scale=0.35,
        dropout_scale=0.1,
        hazard_scale=0.3,
        latent=Latent(
            states=("fresh", "stocked", "running_low", "due"),
            rate=(0.02, 0.02, 0.2, 3.0),
            browse=(1.0, 1.5, 3.0, 8.0),
            move=(
                (0.95, 0.05, 0.0, 0.0),
                (0.0, 0.95, 0.05, 0.0),
                (0.0, 0.0, 0.95, 0.05),
                (0.03, 0.0, 0.0, 0.97),  # due: bought elsewhere, starts over unseen
            ),
            bought=(_RESET, _RESET, _RESET, _RESET),
            start=(1.0, 0.0, 0.0, 0.0),
            pace_shape=6.0,
            rate_shape=6.0,
            browse_noise=0.25,
            browse_gone=0.02,
        ),
    ),
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        DEFAULT,
        Scenario(
            "losing_actions",
            "Free shipping and the push lose money on average; the fixed coupon earns, "
            "the percentage coupon about breaks even.",
            action_overrides=(
                # Free shipping barely moves anyone yet waives the fee on every order.
                ActionOverride("free_shipping", base_lift=0.12, value=SHIPPING_FEE),
                # A push that hardly persuades and annoys: it drives good customers away.
                ActionOverride("reco_push", base_lift=0.6, aversion=0.5),
                ActionOverride("coupon_pct", base_lift=1.5),
            ),
        ),
        Scenario(
            "weak_effects",
            "Every action moves purchases half as much: little signal, and a coupon "
            "mostly pays sure things.",
            lift_scale=0.5,
        ),
        Scenario(
            "sleeping_dogs",
            "Contact-averse customers are 2.5 times as common and coupon messages drive "
            "them away 1.5 times as easily: the coupons lose on average, the gentle "
            "in-app push still earns.",
            action_overrides=(ActionOverride("reco_push", aversion=0.05),),
            aversion_prevalence=2.5,
            aversion_strength=1.5,
        ),
        Scenario(
            "fatigue",
            "Customers tire of contacts: each one in the last 60 days halves the next "
            "one's lift and adds a 2% chance it drives them away; campaigns reach 60%.",
            fatigue_days=60,
            fatigue_lift=0.5,
            fatigue_aversion=0.02,
            campaign_share=0.6,
        ),
        Scenario(
            "hidden_response",
            "70% of the lift follows a per-customer trait nothing observable reveals.",
            hidden_share=0.7,
            hidden_shape=0.5,
        ),
        Scenario(
            "short_history",
            "Campaigns ran only in the last three months: little randomised history.",
            campaign_months=3,
        ),
        Scenario(
            "no_history",
            "No campaign ever ran: no treatments, the first plan must be a test.",
            campaign_months=0,
        ),
        *CHURN_WORLDS,
        Scenario(
            "retail",
            "Prices move and promotions discount, each category with its true elasticity "
            "(books never change); stock runs out and comes back after a lead time.",
            retail=Retail(),
        ),
    )
}


def get_scenario(name: str | Scenario) -> Scenario:
    """The scenario called ``name`` (a ``Scenario`` passes through)."""
    if isinstance(name, Scenario):
        return name
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return SCENARIOS[name]
