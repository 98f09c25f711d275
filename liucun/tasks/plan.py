"""Next best action under a budget: uplift models from past campaigns, then the choice.

1. Training rows: every randomised contact in ``treatments`` whose H-day outcome window
   ends before ``as_of``, with the customer's features on the contact day (point in
   time) and what they did next (:mod:`liucun.features.campaigns`).
2. :class:`~liucun.models.nba.NextBestAction`: a LiftLearner on the orders placed in the
   offer window (``valid_days`` of the catalog, 14 by default) gives each customer's
   expected orders under every action and under no contact. ``expected_uplift`` is the
   extra orders × the customer's expected paid order value − the discount expected to be
   redeemed (net revenue: discounts inside). The window is where a campaign's effect is:
   over the whole horizon the same effect drowns in 90 days of ordinary buying. On a
   20,000-customer simulated shop (ad hoc comparison) plans from uplift models of 90-day
   revenue (T-, DR- and LiftLearner alike) earned 0.15-0.25 of the oracle's true value,
   plans from the window 0.33. The window ranks the customers; each action's level is
   then tied to its effect over the whole horizon as measured in the randomised history
   (:func:`~liucun.models.nba.horizon_effects`, precision-weighted against the window's
   own estimate), so what happens after the window (a contact that drives a customer
   away) moves an action's size against the others, not the order of customers within it.
   ``response_days`` in ``[plan]`` widens the window up to the horizon.
   ``cost`` is the contact cost plus the expected discount redeemed.
3. The choice (:func:`choose`): each customer gets the action with the largest
   ``expected_uplift − contact cost − λ·cost`` if positive, where λ ≥ 0 is the price of
   budget found by bisection so that Σ cost ≤ budget (a Lagrangian relaxation: it trades
   actions across customers and within a customer, which a greedy pass over each
   customer's single best action cannot), then leftover budget is filled greedily by
   value per cost. A random ``control_share`` of each action's customers is held out as
   ``action = control`` (cost 0).

Customers who opted out, were contacted ``max_contacts`` times in the last
``contact_window_days``, or were contacted less than ``min_days_between_contacts`` ago
are never planned; accounts flagged as risky are kept out of discount actions.
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
from liucun.decide.messages import draft_messages, messages_config
from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.features import build_features, feature_frame
from liucun.features.campaigns import contact_outcomes, recent_contacts
from liucun.features.interactions import item_frame
from liucun.models.nba import Action, NextBestAction, catalog
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
)


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
        raise LiucunError("planning needs past campaigns (treatments) and orders")
    rows = contact_outcomes(tables, as_of, horizon, window_days)
    if rows.empty:
        raise LiucunError(
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
    before ``as_of``: every action with randomised history and a known cost."""

    seed = int(cfg.get("seed", 0))
    window = response_window(cfg, horizon)
    rows = training_rows(
        tables, as_of, horizon, window, int(cfg.get("max_training_contacts") or 0), seed, on_step
    )
    model = NextBestAction(cfg.get("actions", {}), horizon=horizon, window_days=window, seed=seed)
    return model.fit(rows, on_step=on_step)


def choose(
    value: np.ndarray,
    cost: np.ndarray,
    budget: float,
    iterations: int = 60,
) -> tuple[np.ndarray, float]:
    """Action index per customer (−1 = none) maximising Σ value s.t. Σ cost ≤ budget.

    ``value`` (n × k) is uplift minus contact cost, −inf where not allowed; ``cost``
    (n × k) positive. Returns the choice and λ, the value of one more unit of budget.
    """
    value = np.asarray(value, dtype=float)
    cost = np.maximum(np.asarray(cost, dtype=float), 1e-9)
    n = len(value)
    rows = np.arange(n)

    def pick(lam: float) -> tuple[np.ndarray, float]:
        s = value - lam * cost
        best = np.argmax(s, axis=1)
        take = s[rows, best] > 0
        choice = np.where(take, best, -1)
        return choice, float(cost[rows, best][take].sum())

    choice, spend = pick(0.0)
    if spend <= budget or n == 0:
        return choice, 0.0
    ratio = np.where(np.isfinite(value), value / cost, 0.0)
    lo, hi = 0.0, float(max(ratio.max(), 0.0)) + 1.0
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if pick(mid)[1] > budget:
            lo = mid
        else:
            hi = mid
    choice, spend = pick(hi)
    # Fill what is left, best value per cost first, over every (customer, action) pair of
    # customers still without one; a pair that no longer fits is skipped, not the end.
    left = budget - spend
    free = np.flatnonzero(choice < 0)
    if len(free) and left > 0:
        r = np.where(np.isfinite(value[free]), value[free] / cost[free], -np.inf)
        i, j = np.nonzero((r > 0) & (cost[free] <= left))
        cand, act = free[i], j
        order = np.lexsort((act, cand, -r[i, j]))
        cmin = float(cost[cand, act].min()) if len(cand) else np.inf
        for k in order:
            if left < cmin:
                break
            c_ = cost[cand[k], act[k]]
            if choice[cand[k]] < 0 and c_ <= left:
                choice[cand[k]] = act[k]
                left -= c_
    # One affordable customer worth more than the whole selection (tiny shops, big
    # coupons): taking the better of the two bounds the loss to half the optimum.
    ok = np.isfinite(value) & (cost <= budget) & (value > 0)
    if ok.any():
        v1 = np.where(ok, value, -np.inf)
        i1, j1 = np.unravel_index(np.argmax(v1), v1.shape)
        total = float(value[rows, choice][choice >= 0].sum())
        if v1[i1, j1] > total:
            choice[:] = -1
            choice[i1] = j1
    return choice, hi


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
    models: NextBestAction
    seconds: dict[str, float]
    stats: dict[str, Any]


def _reasons(
    plan: pd.DataFrame, second: pd.Series, second_value: pd.Series, window: int
) -> list[str]:
    out = []
    for r, a2, u2 in zip(plan.itertuples(), second, second_value, strict=True):
        if r.action == "control":
            out.append(f"held out at random as the control group for {r.planned}")
            continue
        s = f"+{r.expected_uplift:.2f} expected net revenue (extra orders in {window} days,"
        s += f" discounts inside) for {r.expected_cost:.2f} expected cost"
        if isinstance(a2, str):
            s += f"; next best {a2} {u2:+.2f}"
        if np.isfinite(r.p_churn):
            s += f"; churn risk {r.p_churn:.0%}"
        out.append(s)
    return out


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
) -> PlanResult:
    """The contract's plan: user_id, action, expected_uplift, cost (+ context columns).

    ``context`` (optional) has ``user_id`` with ``p_churn`` and ``segment``; ``risky``
    are accounts kept out of coupon actions (None: the high risk band as of ``as_of``
    when ``[risk] exclude_from_coupons``); ``models`` fitted for the same as_of and
    horizon skip the fit.
    """

    cfg = plan_config(ws)
    budget = float(cfg["budget"] if budget is None else budget)
    H = int(cfg["horizon_days"] if horizon is None else horizon)
    check_budget(budget)
    check_horizon(H)
    share = float(cfg["control_share"])
    if not 0 <= share < 1:
        raise LiucunError(f"[plan] control_share = {share}: must be in [0, 1)")

    ensure_text_scores(ws)
    if risky is None:
        risky = risk_scores(ws, as_of).high() if risk_config(ws)["exclude_from_coupons"] else []
    tables = workspace_tables(ws)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if models is None or models.horizon != H:
        models = fit(tables, as_of, H, cfg, on_step=on_step)
    seconds["fit"] = round(time.perf_counter() - t0, 3)
    if not models.actions_:
        raise LiucunError("no action with randomised history has a cost: nothing to plan")

    t0 = time.perf_counter()
    if features is None:
        on_step(f"features as of {as_of}")
        features = feature_frame(ws, as_of)
    features = features.reset_index(drop=True)
    on_step(f"uplift and costs for {len(features):,} customers")
    uplift, costs = models.predict(features)
    recent = recent_contacts(tables, as_of, int(cfg["contact_window_days"]))
    allowed, excluded = eligibility(
        features,
        models.actions_,
        models.catalog_,
        dict(zip(recent["user_id"], recent["contacts"], strict=True)),
        cfg,
        risky,
    )
    contact = np.array([models.catalog_[a].contact_cost for a in models.actions_])
    value = uplift.to_numpy() - contact[None, :]
    value = np.where(allowed, value, -np.inf)
    choice, lam = choose(value, costs.to_numpy(), budget)
    picked = np.flatnonzero(choice >= 0)
    a_idx = choice[picked]
    actions = np.asarray(models.actions_, dtype=object)
    out = pd.DataFrame(
        {
            "user_id": features["user_id"].to_numpy()[picked],
            "action": actions[a_idx],
            "expected_uplift": uplift.to_numpy()[picked, a_idx],
            "cost": costs.to_numpy()[picked, a_idx],
        }
    )
    out["expected_cost"] = out["cost"]
    out["planned"] = out["action"]
    rng = np.random.default_rng(int(cfg["seed"]))
    for _, part in out.groupby("action", sort=True):
        k = round(share * len(part))
        if k:
            held = rng.choice(part.index.to_numpy(), k, replace=False)
            out.loc[held, "action"] = "control"
            out.loc[held, "cost"] = 0.0
    ctx = context if context is not None else pd.DataFrame(columns=["user_id"])
    ctx = ctx.drop_duplicates("user_id").set_index("user_id")
    out["p_churn"] = out["user_id"].map(ctx["p_churn"]) if "p_churn" in ctx else np.nan
    out["p_churn"] = out["p_churn"].astype(float)
    out["segment"] = out["user_id"].map(ctx["segment"]) if "segment" in ctx else None
    # The runner-up among the actions the customer was allowed (value is −inf elsewhere).
    rest = value[picked].copy()
    rest[np.arange(len(picked)), a_idx] = -np.inf
    j2 = rest.argmax(axis=1)
    has2 = np.isfinite(rest[np.arange(len(picked)), j2])
    second = pd.Series(np.where(has2, actions[j2], None), dtype=object)
    second_u = pd.Series(uplift.to_numpy()[picked, j2], dtype=float)
    out["reason"] = _reasons(out, second, second_u, models.window_days)
    out = out.sort_values(["action", "expected_uplift", "user_id"], ascending=[True, False, True])
    seconds["plan"] = round(time.perf_counter() - t0, 3)
    treated = out["action"] != "control"
    stats = {
        "as_of": as_of.isoformat(),
        "horizon_days": H,
        "budget": budget,
        "spend": round(float(out["cost"].sum()), 4),
        "customers": len(features),
        "eligible": int(allowed.any(axis=1).sum()),
        "excluded": excluded,
        "risky_excluded": int(excluded.get("risky_no_coupon", 0)),
        "planned": int(treated.sum()),
        "control": int((~treated).sum()),
        "by_action": {str(k): int(v) for k, v in out.loc[treated, "action"].value_counts().items()},
        "expected_uplift": round(float(out.loc[treated, "expected_uplift"].sum()), 2),
        "budget_price": round(lam, 6),
        "catalog": {k: {"kind": a.kind, "learned": a.learned} for k, a in models.catalog_.items()},
        **models.training_,
    }
    return PlanResult(out[list(PLAN_COLUMNS)].reset_index(drop=True), models, seconds, stats)


def message_context(
    ws: Workspace, scores: pd.DataFrame, recommendations: pd.DataFrame | None = None
) -> pd.DataFrame:
    """What message drafts are filled with: churn reasons, segment, recommended titles."""

    cols = [c for c in ("user_id", "segment", "reasons") if c in scores]
    ctx = scores[cols].copy()
    if recommendations is not None and len(recommendations):
        items = item_frame(workspace_tables(ws))
        recs = recommendations.sort_values(["user_id", "rank"])
        if items is not None:
            title = items.set_index("item_id")["title"]
            recs = recs.assign(title=recs["item_id"].map(title).fillna(recs["item_id"]))
        else:
            recs = recs.assign(title=recs["item_id"])
        ctx = ctx.merge(
            recs.groupby("user_id")["title"].agg(list).rename("items"),
            left_on="user_id",
            right_index=True,
            how="left",
        )
    return ctx


def drafts(ws: Workspace, plan: pd.DataFrame, context: pd.DataFrame | None = None) -> pd.DataFrame:
    """Message drafts for the planned customers (templates, or the LLM set in liucun.toml)."""

    cfg = messages_config(plan_config(ws))
    return draft_messages(plan, context, cfg)
