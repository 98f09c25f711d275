"""Next best action under a budget: evidence from past campaigns first, then the choice.

1. Training rows: every randomised contact in ``treatments`` whose H-day outcome window
   ends before ``as_of``, with the customer's features on the contact day (point in
   time) and what they did next (:mod:`liucun.features.campaigns`). A shop whose
   campaigns are all younger than H days is measured over 60 or 30 days or the response
   window instead, and says so; a shop without any gets a first test instead of a plan
   (:func:`liucun.decide.first_test.first_test`).
2. :class:`~liucun.models.nba.NextBestAction`: a LiftLearner on the offer window ranks
   customers per action; refitted with each campaign held out it scores every past
   contact, and the H-day net revenue regressed on arm × held-out score gives each
   action's measured effect (with an interval) and how much of the ranking held out. The
   expected uplift is that measured effect, tilted by the ranking only as far as it held
   out, with ``uplift_lo``/``uplift_hi``. Costs (contact + discounts expected to be
   redeemed) are calibrated against the discounts the treated arms really redeemed.
3. Guardrails: an action whose measured net effect is not shown positive (at
   ``[plan] confidence``) is planned only for customers where its targeting held out and
   their own lower bound clears the contact cost; otherwise not at all. Doing nothing is
   always a candidate, so the plan never expects to lose money.
4. The choice (:func:`liucun.decide.allocate.choose`): each customer gets the action with
   the largest ``expected_uplift − contact cost − λ·cost`` if positive, λ found by
   bisection so that Σ cost ≤ the budget less a margin for the uncertainty of the costs
   (``cost_margin`` plus the calibration's own error). A random ``control_share`` of each
   action's customers is held out as ``action = control`` (cost 0, ``planned`` says for
   what), and ``explore_share`` of the plan goes to a randomised exploration arm (random
   customers, actions whose effect may still be positive, half control; ``explore``).

Customers who opted out, were contacted ``max_contacts`` times in the last
``contact_window_days``, or were contacted less than ``min_days_between_contacts`` ago
are never planned; accounts flagged as risky are kept out of discount actions.

Discounts that ``liucun pricing`` suggests for a category join the catalogue as ``pct``
actions (:mod:`liucun.tasks.price_actions`, ``[plan] price_actions``). They have no
randomised history, so like every such action they are never planned on evidence: a
first test gives each a randomised arm with its own control group, and a plan from
history lists them in ``stats["catalog"]`` with the reason.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun import config
from liucun.decide.allocate import choose
from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.features import build_features, feature_frame
from liucun.features.campaigns import contact_outcomes, recent_contacts
from liucun.models.nba import Action, NextBestAction, TooLittleHistory, catalog, order_value
from liucun.tasks.price_actions import PriceOffer, offer_entry, offer_stats, plan_offers
from liucun.tasks.reviews import ensure_text_scores
from liucun.tasks.risk import risk_config, risk_scores
from liucun.workspace import check_budget, check_horizon

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from liucun.workspace import Workspace

PLAN_COLUMNS = (
    "user_id",
    "action",
    "expected_uplift",
    "cost",
    "expected_cost",
    "p_churn",
    "segment",
    "reason",
    "uplift_lo",
    "uplift_hi",
    "planned",
    "explore",
)


class NoCampaignHistory(LiucunError):
    """No randomised contact with a complete outcome: nothing to learn uplift from."""


def plan_config(ws: Workspace) -> dict[str, Any]:
    """``[plan]`` of liucun.toml over its documented defaults."""
    return config.section("plan", ws.config)


def training_rows(
    tables: Mapping[str, ir.Table],
    as_of: dt.date,
    horizon: int,
    window_days: int = 14,
    max_contacts: int | None = None,
    seed: int = 0,
    on_step: Callable[[str], None] = lambda s: None,
) -> pd.DataFrame:
    """Past randomised contacts with their features on the campaign day and outcomes."""

    if "treatments" not in tables or "orders" not in tables:
        raise NoCampaignHistory("planning needs past campaigns (treatments) and orders")
    rows = contact_outcomes(tables, as_of, horizon, window_days)
    if rows.empty:
        raise NoCampaignHistory(
            f"no randomised campaign (treatments with arm) whose {horizon}-day outcome "
            f"window ends before {as_of}: nothing to learn uplift from"
        )
    if max_contacts and len(rows) > max_contacts:
        keep = np.random.default_rng(seed).choice(len(rows), max_contacts, replace=False)
        rows = rows.iloc[np.sort(keep)].reset_index(drop=True)
    frames = []
    for day, part in rows.groupby("day", sort=True):
        on_step(f"features on campaign day {day.date()}")
        f = build_features(tables, day.date()).execute()
        frames.append(part.merge(f, on="user_id", how="inner"))
    out = pd.concat(frames, ignore_index=True)
    out["treatment"] = np.where(out["arm"] == "treatment", out["action"], "control")
    return out


def response_window(cfg: Mapping[str, Any], horizon: int) -> int:
    """Days after a contact whose orders train the uplift model: ``response_days``, else
    the catalog's longest ``valid_days``; within the horizon."""
    cat = catalog(cfg)
    window = int(cfg.get("response_days") or max([a.valid_days for a in cat.values()] or [14]))
    if not 1 <= window <= horizon:
        raise LiucunError(f"[plan] response_days = {window}: must be in [1, horizon {horizon}]")
    return window


def fit(
    tables: Mapping[str, ir.Table],
    as_of: dt.date,
    horizon: int,
    cfg: Mapping[str, Any],
    on_step: Callable[[str], None] = lambda s: None,
) -> NextBestAction:
    """The planner's models, fitted on the randomised contacts whose outcomes are complete
    before ``as_of``: every action with randomised history and a known cost.

    Effects are measured over ``[plan] outcome_days`` (default: the horizon). When no
    campaign is yet that old (a shop that started testing lately),
    the outcomes are measured over the longest of 60 or 30 days or the response window
    that some campaign has completed, and the model says so (``outcome_days_``): its
    effects then understate what the horizon would show, never overstate by waiting.
    """

    seed = int(cfg.get("seed", 0))
    window = response_window(cfg, horizon)
    cap = int(cfg.get("max_training_contacts") or 0)
    first = int(cfg.get("outcome_days") or horizon)
    if not window <= first <= horizon:
        raise LiucunError(
            f"[plan] outcome_days = {first}: must be in [response window {window}, horizon "
            f"{horizon}]"
        )
    days = sorted({first, *(d for d in (60, 30, window) if window <= d < first)}, reverse=True)
    for i, h in enumerate(days):
        try:
            rows = training_rows(tables, as_of, h, window, cap, seed, on_step)
            break
        except NoCampaignHistory:
            if i == len(days) - 1:
                raise
    model = NextBestAction(
        cfg.get("actions", {}),
        horizon=horizon,
        window_days=window,
        seed=seed,
        confidence=float(cfg.get("confidence", 0.9)),
        targeting=str(cfg.get("targeting", "horizon")),
    )
    try:
        model.fit(rows, on_step=on_step)
    except TooLittleHistory as e:
        raise NoCampaignHistory(str(e)) from None
    model.outcome_days_ = h
    return model


def eligibility(
    features: pd.DataFrame,
    actions: list[str],
    cat: Mapping[str, Action],
    recent: Mapping[str, int],
    cfg: Mapping[str, Any],
    risky: Iterable[str] = (),
) -> tuple[np.ndarray, dict[str, int]]:
    """Boolean (customers × actions) of what may be planned, and counts of exclusions."""
    n = len(features)
    ok = np.ones(n, bool)
    why: dict[str, int] = {}
    if "opted_out" in features:
        opted = features["opted_out"].fillna(0).to_numpy() > 0
        why["opted_out"] = int(opted.sum())
        ok &= ~opted
    n_recent = features["user_id"].map(dict(recent)).fillna(0).to_numpy()
    capped = n_recent >= int(cfg["max_contacts"])
    why["contact_cap"] = int((capped & ok).sum())
    ok &= ~capped
    if "days_since_last_treatment" in features:
        d = features["days_since_last_treatment"].to_numpy(dtype=float)
        soon = np.isfinite(d) & (d < float(cfg["min_days_between_contacts"]))
        why["contacted_recently"] = int((soon & ok).sum())
        ok &= ~soon
    allowed = np.repeat(ok[:, None], len(actions), axis=1)
    flagged = features["user_id"].isin(set(risky)).to_numpy()
    if flagged.any():
        for j, a in enumerate(actions):
            if cat[a].exclude_risky and cat[a].gives_discount:
                allowed[:, j] &= ~flagged
        why["risky_no_coupon"] = int((flagged & ok).sum())
    return allowed, why


@dataclass
class PlanResult:
    plan: pd.DataFrame
    models: NextBestAction | None  # None: a first test, no history to learn from
    seconds: dict[str, float]
    stats: dict[str, Any]


def _reasons(
    plan: pd.DataFrame, second: pd.Series, second_value: pd.Series, models: NextBestAction
) -> list[str]:
    out = []
    for r, a2, u2 in zip(plan.itertuples(), second, second_value, strict=True):
        if r.explore:
            what = "control of" if r.action == "control" else "given"
            out.append(
                f"exploration: {what} {r.planned} at random so the next read-out can learn "
                f"its effect (expected {r.expected_uplift:+.2f})"
            )
            continue
        if r.action == "control":
            out.append(f"held out at random as the control group for {r.planned}")
            continue
        ev = models.training_["evidence"][r.action]
        s = (
            f"{r.expected_uplift:+.2f} expected net revenue in {models.horizon} days "
            f"({r.uplift_lo:+.2f} to {r.uplift_hi:+.2f}; discounts inside) for "
            f"{r.expected_cost:.2f} expected cost; measured on past campaigns "
            f"{ev['net_effect']:+.2f} per contact"
        )
        if ev["status"] == "targeted":
            s += ", chosen for the customers where its targeting held out"
        if isinstance(a2, str):
            s += f"; next best {a2} {u2:+.2f}"
        if np.isfinite(r.p_churn):
            s += f"; churn risk {r.p_churn:.0%}"
        out.append(s)
    return out


def _cost_margin(
    models: NextBestAction, costs: pd.DataFrame, allowed: np.ndarray, floor: float
) -> float:
    """Share of the budget kept back for the uncertainty of predicted costs: the floor
    plus z × the largest relative error of an allowed action's calibrated discounts,
    weighted by the discount's share of that action's cost."""
    margin = 0.0
    for j, a in enumerate(models.actions_):
        if not allowed[:, j].any():
            continue
        c = costs[a].to_numpy()[allowed[:, j]]
        contact = models.catalog_[a].contact_cost
        share = float(np.clip(1.0 - contact / max(float(c.mean()), 1e-12), 0.0, 1.0))
        margin = max(margin, models.z_ * models.cost_rel_se_[a] * share)
    return float(floor) + margin


def _add_context(rows: pd.DataFrame, context: pd.DataFrame | None) -> None:
    """``p_churn`` and ``segment`` of each planned customer from ``context``, in place."""
    ctx = context if context is not None else pd.DataFrame(columns=["user_id"])
    ctx = ctx.drop_duplicates("user_id").set_index("user_id")
    p_churn = rows["user_id"].map(ctx["p_churn"]) if "p_churn" in ctx else np.nan
    rows["p_churn"] = pd.Series(p_churn, index=rows.index).astype(float)
    rows["segment"] = rows["user_id"].map(ctx["segment"]) if "segment" in ctx else None


def _explore(
    rng: np.random.Generator,
    free: np.ndarray,
    allowed: np.ndarray,
    costs: np.ndarray,
    budget: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Random customers among ``free`` and a random allowed action each, until ``budget``:
    (rows, action indices)."""
    rows, acts, spent = [], [], 0.0
    for i in rng.permutation(free):
        ok = np.flatnonzero(allowed[i])
        if not len(ok):
            continue
        j = int(rng.choice(ok))
        c = costs[i, j]  # counted for the controls too: the arm as designed fits
        if spent + c > budget:
            break
        spent += c
        rows.append(i)
        acts.append(j)
    return np.asarray(rows, dtype=int), np.asarray(acts, dtype=int)


def plan(
    ws: Workspace,
    as_of: dt.date,
    budget: float | None = None,
    horizon: int | None = None,
    features: pd.DataFrame | None = None,
    context: pd.DataFrame | None = None,
    risky: Iterable[str] | None = None,
    models: NextBestAction | None = None,
    on_step: Callable[[str], None] = lambda s: None,
    prices: pd.DataFrame | None = None,
) -> PlanResult:
    """The contract's plan: user_id, action, expected_uplift, cost (+ context columns).

    ``context`` (optional) has ``user_id`` with ``p_churn`` and ``segment``; ``risky``
    are accounts kept out of coupon actions (None: the high risk band as of ``as_of``
    when ``[risk] exclude_from_coupons``); ``models`` fitted for the same as_of and
    horizon skip the fit; ``prices`` is a ``liucun pricing`` output for the same as_of
    (None: computed here while ``[plan] price_actions`` is on). Without randomised
    history the plan is a first test (:func:`liucun.decide.first_test.first_test`).
    """

    cfg = plan_config(ws)
    budget = float(cfg["budget"] if budget is None else budget)
    H = int(cfg["horizon_days"] if horizon is None else horizon)
    check_budget(budget)
    check_horizon(H)
    share = float(cfg["control_share"])
    if not 0 <= share < 1:
        raise LiucunError(f"[plan] control_share = {share}: must be in [0, 1)")
    explore_share = float(cfg["explore_share"])
    if not 0 <= explore_share < 0.5:
        raise LiucunError(f"[plan] explore_share = {explore_share}: must be in [0, 0.5)")

    ensure_text_scores(ws)
    if risky is None:
        risky = risk_scores(ws, as_of).high() if risk_config(ws)["exclude_from_coupons"] else []
    tables = workspace_tables(ws)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if features is None:
        on_step(f"features as of {as_of}")
        features = feature_frame(ws, as_of)
    features = features.reset_index(drop=True)
    recent = recent_contacts(tables, as_of, int(cfg["contact_window_days"]))
    recent_map = dict(zip(recent["user_id"], recent["contacts"], strict=True))
    if int(cfg.get("price_actions") or 0):
        on_step("discounts suggested by pricing")
    offers, offers_note = plan_offers(ws, as_of, cfg, prices)
    if models is None or models.horizon != H:
        try:
            models = fit(tables, as_of, H, cfg, on_step=on_step)
        except NoCampaignHistory as e:
            r = _first_test(
                cfg, features, recent_map, risky, budget, H, as_of, str(e), context, offers
            )
            if offers_note:
                r.stats["price_actions_note"] = offers_note
            return r
    seconds["fit"] = round(time.perf_counter() - t0, 3)
    if not models.actions_:
        raise LiucunError("no action with randomised history has a cost: nothing to plan")

    t0 = time.perf_counter()
    on_step(f"uplift and costs for {len(features):,} customers")
    pred = models.predict_all(features)
    uplift, costs, score, lo, hi = pred.uplift, pred.cost, pred.score, pred.lo, pred.hi
    allowed, excluded = eligibility(
        features, models.actions_, models.catalog_, recent_map, cfg, risky
    )
    contact = np.array([models.catalog_[a].contact_cost for a in models.actions_])
    value = uplift.to_numpy() - contact[None, :]
    eligible = allowed.copy()
    # Guardrails: an action is planned for everyone only where its measured net effect is
    # shown positive; where only its targeting held out, for customers whose own lower
    # bound clears the contact cost; otherwise not at all.
    guard = {"not_shown": 0, "below_bound": 0}
    for j, a in enumerate(models.actions_):
        status = models.status_[a]
        if status == "not_shown":
            guard["not_shown"] += int(allowed[:, j].sum())
            allowed[:, j] = False
        elif status == "targeted":
            low = lo[a].to_numpy() - contact[j] <= 0
            guard["below_bound"] += int((allowed[:, j] & low).sum())
            allowed[:, j] &= ~low
    margin = _cost_margin(models, costs, allowed, float(cfg["cost_margin"]))
    main_budget = budget * (1.0 - explore_share) / (1.0 + margin)
    choice, lam = choose(np.where(allowed, value, -np.inf), costs.to_numpy(), main_budget)
    picked = np.flatnonzero(choice >= 0)
    a_idx = choice[picked]
    # Exploration: actions whose measured effect may still be positive (upper bound above
    # the contact cost), for customers the main plan left out, sized to the plan.
    ev = models.training_["evidence"]
    explorable = np.array([ev[a]["hi"] > 0 for a in models.actions_])
    spent = float(costs.to_numpy()[picked, a_idx].sum())
    rng = np.random.default_rng(int(cfg["seed"]))
    free = np.setdiff1d(np.flatnonzero(eligible.any(axis=1)), picked)
    x_budget = explore_share / (1.0 - explore_share) * spent if explore_share else 0.0
    x_rows, x_act = _explore(
        rng, free, eligible & explorable[None, :], costs.to_numpy(), x_budget / (1 + margin)
    )
    rows = np.concatenate([picked, x_rows])
    acts = np.concatenate([a_idx, x_act]).astype(int)
    actions = np.asarray(models.actions_, dtype=object)
    out = pd.DataFrame(
        {
            "user_id": features["user_id"].to_numpy()[rows],
            "action": actions[acts],
            "expected_uplift": uplift.to_numpy()[rows, acts],
            "cost": costs.to_numpy()[rows, acts],
            "uplift_lo": lo.to_numpy()[rows, acts],
            "uplift_hi": hi.to_numpy()[rows, acts],
            "explore": np.arange(len(rows)) >= len(picked),
            "score": score.to_numpy()[rows, acts],
        }
    )
    out["expected_cost"] = out["cost"]
    out["planned"] = out["action"]
    # Controls: a random share of each action's main customers, every other explorer.
    for _, part in out[~out["explore"]].groupby("action", sort=True):
        k = round(share * len(part))
        if k:
            out.loc[rng.choice(part.index.to_numpy(), k, replace=False), "action"] = "control"
    xi = out.index[out["explore"]]
    out.loc[xi[1::2], "action"] = "control"
    out.loc[out["action"] == "control", "cost"] = 0.0
    _add_context(out, context)
    # The runner-up among the actions the customer was allowed (value is −inf elsewhere).
    rest = np.where(allowed, value, -np.inf)[rows].copy()
    rest[np.arange(len(rows)), acts] = -np.inf
    j2 = rest.argmax(axis=1) if len(rows) else np.zeros(0, int)
    has2 = np.isfinite(rest[np.arange(len(rows)), j2])
    second = pd.Series(np.where(has2, actions[j2], None), dtype=object)
    second_u = pd.Series(uplift.to_numpy()[rows, j2], dtype=float)
    out["reason"] = _reasons(out, second, second_u, models)
    treated = out["action"] != "control"
    by = out[treated].groupby("action")["score"]
    _, t_lo, t_hi = models.total_interval({a: s.to_numpy() for a, s in by})
    out = out.sort_values(
        ["explore", "action", "expected_uplift", "user_id"], ascending=[True, True, False, True]
    )
    seconds["plan"] = round(time.perf_counter() - t0, 3)
    stats = {
        "as_of": as_of.isoformat(),
        "horizon_days": H,
        "outcome_days": int(getattr(models, "outcome_days_", H)),
        "budget": budget,
        "cost_margin": round(margin, 4),
        "spend": round(float(out["cost"].sum()), 4),
        "customers": len(features),
        "eligible": int(eligible.any(axis=1).sum()),
        "excluded": excluded,
        "guardrails": guard,
        "risky_excluded": int(excluded.get("risky_no_coupon", 0)),
        "planned": int(treated.sum()),
        "control": int((~treated).sum()),
        "explore": int(out["explore"].sum()),
        "by_action": {str(k): int(v) for k, v in out.loc[treated, "action"].value_counts().items()},
        "expected_uplift": round(float(out.loc[treated, "expected_uplift"].sum()), 2),
        "expected_uplift_lo": round(t_lo, 2),
        "expected_uplift_hi": round(t_hi, 2),
        "budget_price": round(lam, 6),
        "catalog": {k: {"kind": a.kind, "learned": a.learned} for k, a in models.catalog_.items()},
        **models.training_,
    }
    if offers:
        offer_stats(stats, offers, models)
    if offers_note:
        stats["price_actions_note"] = offers_note
    return PlanResult(out[list(PLAN_COLUMNS)].reset_index(drop=True), models, seconds, stats)


def _first_test(
    cfg: Mapping[str, Any],
    features: pd.DataFrame,
    recent: Mapping[str, int],
    risky: Iterable[str],
    budget: float,
    horizon: int,
    as_of: dt.date,
    why: str,
    context: pd.DataFrame | None,
    offers: Mapping[str, PriceOffer] | None = None,
) -> PlanResult:
    """No randomised history: the plan is the first test that will create it, price
    offers included as arms like any catalogue action."""
    from liucun.decide.first_test import first_test

    offers = offers or {}
    cat = {**catalog(cfg), **{k: o.action for k, o in offers.items()}}
    if not cat:
        raise LiucunError(f"{why}; and [plan.actions] is empty: nothing to test")
    names = sorted(cat)
    allowed, excluded = eligibility(features, names, cat, recent, cfg, risky)
    ok = allowed.all(axis=1)
    users = features.loc[ok, ["user_id"]].copy()
    users["aov"] = order_value(features.loc[ok])[1]
    window = response_window(cfg, horizon)
    rate30 = pd.to_numeric(features.get("orders_30d"), errors="coerce")
    lam = float(np.nanmean(rate30)) if rate30 is not None and len(rate30) else 0.0
    baseline = float(np.clip(1.0 - np.exp(-lam * window / 30.0), 0.005, 0.95))
    t0 = time.perf_counter()
    rows, info = first_test(
        users,
        cat,
        budget,
        baseline,
        mde=float(cfg["first_test_mde"]),
        control_share=max(float(cfg["control_share"]), 0.2),
        seed=int(cfg["seed"]),
    )
    rows = rows.copy()
    for name, o in offers.items():
        mine = rows["planned"] == name
        rows.loc[mine, "reason"] = rows.loc[mine, "reason"] + (
            f"; offer: {o.depth * 100:g}% off {o.category}, suggested by liucun pricing "
            f"(elasticity {o.elasticity:.2f} [{o.lo:.2f}, {o.hi:.2f}]); no randomised "
            "history yet"
        )
    _add_context(rows, context)
    rows["expected_cost"] = rows["cost"]
    rows["uplift_lo"] = np.nan
    rows["uplift_hi"] = np.nan
    treated = rows["action"] != "control"
    stats = {
        "as_of": as_of.isoformat(),
        "horizon_days": horizon,
        "budget": budget,
        "first_test": True,
        "why": why,
        "spend": round(float(rows["cost"].sum()), 4),
        "customers": len(features),
        "eligible": int(ok.sum()),
        "excluded": excluded,
        "risky_excluded": int(excluded.get("risky_no_coupon", 0)),
        "planned": int(treated.sum()),
        "control": int((~treated).sum()),
        "explore": int(rows["explore"].sum()),
        "by_action": {
            str(k): int(v) for k, v in rows.loc[treated, "action"].value_counts().items()
        },
        "expected_uplift": 0.0,
        "test": info,
        "catalog": {k: {"kind": a.kind, "learned": a.learned} for k, a in cat.items()},
    }
    for name, o in offers.items():
        armed = name in info["arms"]
        stats["catalog"][name] = offer_entry(
            o,
            False,
            "first_test" if armed else "not_tested",
            "no randomised history: a first-test arm with its own control group measures it"
            if armed
            else "no randomised history; the first test's budget or customers left no arm for it",
        )
    if offers:
        stats["price_actions"] = list(offers)
    seconds = {"plan": round(time.perf_counter() - t0, 3)}
    return PlanResult(rows[list(PLAN_COLUMNS)].reset_index(drop=True), None, seconds, stats)
