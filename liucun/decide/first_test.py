"""Cold start: the first randomised test of a shop that has no campaign history yet.

Without randomised history no action's effect can be estimated, so the uplift plan has
nothing to learn from. :func:`first_test` proposes what gives it that history: a
randomised arm per catalogue action, each with its own control group, sized with the
same maths as ``liucun campaign size`` (:func:`liucun.decide.experiments.arm_sizes`) and
kept inside the budget with a margin for the unknown redemption rate.

Choices (documented because they shape the read-out):

* **One control group per arm** (``planned`` = the arm's action, also on control rows).
  ``liucun campaign export`` records a control row under its planned action, so
  ``liucun campaign readout`` compares every action against its own hold-out. A shared
  control would need fewer customers but the read-out could not use it per action.
* **Costs.** A contacted customer is assumed to redeem the offer with probability
  ``baseline_rate × (1 + ASSUMED_LIFT)``; the budget is checked at the plausible upper
  end ``baseline_rate × (1 + HIGH_LIFT)`` (the offer doubling purchases). So the
  expected cost is at most ``budget / (1 + margin)`` with ``margin`` = high / expected - 1.
* **A budget too small for every arm.** Arms are kept at the required size cheapest
  first and the rest left out (named in the notes): a test that answers the question
  for two actions is readable; an even split too small to detect anything is not. When
  not even the cheapest arm fits, that arm alone gets every customer the budget buys and
  its achieved ``mde_at_n`` is reported. With ``mde=None`` there is no target: every
  arm gets an equal share of what the budget and the customers allow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun.decide import experiments
from liucun.errors import LiucunError

if TYPE_CHECKING:
    from liucun.models.nba import Action

__all__ = ["ASSUMED_LIFT", "FIRST_TEST_COLUMNS", "HIGH_LIFT", "first_test"]

ASSUMED_LIFT = 0.5
"""Redemption among contacted customers = baseline purchase rate × (1 + this)."""
HIGH_LIFT = 1.0
"""The budget check's upper plausible redemption: baseline × (1 + this), capped at 1."""
FIRST_TEST_COLUMNS = (
    "user_id",
    "action",
    "expected_uplift",
    "cost",
    "planned",
    "explore",
    "reason",
    "contact_cost",
)
KINDS = ("fixed", "pct", "free_shipping", "message")


@dataclass
class _Arm:
    """One catalogue action's arm: its per-contact costs and its size."""

    name: str
    kind: str
    contact: float
    give: float  # money given away per redemption (pct: rate; × aov per customer)
    expected: float = 0.0  # per contact, at the pool's mean aov
    high: float = 0.0
    n_t: int = 0
    n_c: int = 0


def _fail(msg: str) -> LiucunError:
    return LiucunError(f"first test: {msg}")


def _number(value: object, name: str) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _fail(f"{name} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise _fail(f"{name} {value!r} must be finite")
    return x


def _check_inputs(
    budget: float,
    baseline_rate: float,
    mde: float | None,
    alpha: float,
    power: float,
    control_share: float,
    max_share: float,
) -> None:
    if _number(budget, "budget") <= 0:
        raise _fail(f"budget {budget} must be more than 0")
    if not 0 < _number(baseline_rate, "baseline_rate") < 1:
        raise _fail(f"baseline_rate {baseline_rate} must be between 0 and 1 (0.05 = 5 %)")
    if mde is not None and not 0 < _number(mde, "mde") < 1 - baseline_rate:
        raise _fail(
            f"mde {mde} must be a positive change below {1 - baseline_rate:g} "
            f"(absolute: 0.02 = 2 points on a {baseline_rate:g} baseline)"
        )
    for name, v in (("alpha", alpha), ("power", power), ("control_share", control_share)):
        if not 0 < _number(v, name) < 1:
            raise _fail(f"{name} {v} must be between 0 and 1")
    if not 0 < _number(max_share, "max_share") <= 1:
        raise _fail(f"max_share {max_share} must be above 0 and at most 1")


def _arms(catalog: Mapping[str, Action]) -> list[_Arm]:
    if not catalog:
        raise _fail("the catalogue has no actions to test")
    out = []
    for name, a in catalog.items():
        if str(name) in ("control", "all", ""):
            raise _fail(f"action name {name!r} is reserved; rename it in [plan.actions]")
        kind = str(getattr(a, "kind", ""))
        if kind not in KINDS:
            raise _fail(f"action {name}: kind {kind!r} is not one of {', '.join(KINDS)}")
        contact = _number(getattr(a, "contact_cost", 0.0), f"action {name}: contact_cost")
        key = "discount_rate" if kind == "pct" else "discount"
        give = 0.0 if kind == "message" else _number(getattr(a, key, 0.0), f"action {name}: {key}")
        if contact < 0 or give < 0 or (kind == "pct" and give > 1):
            raise _fail(f"action {name}: costs must be >= 0 (a pct discount_rate at most 1)")
        out.append(_Arm(str(name), kind, contact, give))
    return out


def _users(users: pd.DataFrame, need_aov: list[str], notes: list[str]) -> pd.DataFrame:
    if not isinstance(users, pd.DataFrame) or "user_id" not in users.columns:
        raise _fail("users must be a table with a user_id column")
    ids = users["user_id"]
    if ids.isna().any() or (ids.astype(str).str.strip() == "").any():
        raise _fail("users has empty user_id values")
    ids = ids.astype(str)
    if ids.duplicated().any():
        raise _fail(f"users repeats user_id {ids[ids.duplicated()].iloc[0]!r}: one row each")
    if len(ids) < 4:
        raise _fail(f"{len(ids)} users: a test needs at least 4 (two arms of two)")
    out = pd.DataFrame({"user_id": ids.to_numpy()})
    if "aov" in users.columns:
        aov = pd.to_numeric(users["aov"], errors="coerce").to_numpy(dtype=float)
        if (aov[~np.isnan(aov)] < 0).any():
            raise _fail("users.aov has negative order amounts")
        missing = int(np.isnan(aov).sum())
        if missing == len(aov):
            aov = np.full(len(aov), np.nan)
        elif missing:
            aov = np.where(np.isnan(aov), float(np.nanmean(aov)), aov)
            notes.append(f"{missing:,} users without an aov got the mean aov")
        out["aov"] = aov
    else:
        out["aov"] = np.nan
    if need_aov and out["aov"].isna().all():
        raise _fail(
            f"pct action(s) {', '.join(need_aov)} need users.aov (expected order amount) "
            "to estimate the discount given away"
        )
    return out


MIN_ARM = 400  # customers (treated + control) below which a smaller arm is not worth it


def _max_split(arms: list[_Arm], pool: int, budget: float, control_share: float) -> int:
    """The largest per-arm size m (treated + control) with every arm at m inside the
    customers and the budget (at the high redemption); 0 when not even 2 fit."""

    def fits(m: int) -> bool:
        n_t, n_c = experiments.split_total(m, control_share)
        return len(arms) * (n_t + n_c) <= pool and n_t * sum(a.high for a in arms) <= budget

    lo, hi = 1, max(1, pool // len(arms))
    if not fits(2):
        return 0
    lo = 2
    while lo < hi:  # n_t(m) never decreases with m, so fits() is monotone
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


def _size(
    arms: list[_Arm],
    pool: int,
    budget: float,
    baseline_rate: float,
    mde: float | None,
    alpha: float,
    power: float,
    control_share: float,
    notes: list[str],
) -> tuple[list[_Arm], str]:
    """Pick the arms and their sizes; see the module's notes for the policy."""
    by_cost = sorted(arms, key=lambda a: (a.expected, a.name))
    if mde is None:
        m = _max_split(arms, pool, budget, control_share)
        if not m:
            raise _fail(f"budget {budget:,.2f} cannot pay one contact in every arm")
        for a in arms:
            a.n_t, a.n_c = experiments.split_total(m, control_share)
        return arms, "even_split"
    try:
        n_t, n_c = experiments.arm_sizes(baseline_rate, mde, alpha, power, control_share)
    except ValueError as e:
        raise _fail(str(e)) from None
    kept: list[_Arm] = []
    spent, used = 0.0, 0
    for a in by_cost:  # all arms have the same size: once one does not fit, none after it
        if used + n_t + n_c > pool or spent + n_t * a.high > budget:
            break
        a.n_t, a.n_c = n_t, n_c
        kept.append(a)
        spent, used = spent + n_t * a.high, used + n_t + n_c
    left = [a.name for a in by_cost if a not in kept]
    if kept:
        if left:
            why = "budget" if used + n_t + n_c <= pool else "customers"
            rest = [a for a in by_cost if a not in kept]
            # What is left of the budget still tests the dearer arms, smaller: the most
            # expensive drop out until each of the others gets at least MIN_ARM customers.
            while rest:
                m = _max_split(rest, pool - used, budget - spent, control_share)
                if m >= MIN_ARM:
                    break
                rest = rest[:-1]
            smaller = ""
            if rest:
                for a in rest:
                    a.n_t, a.n_c = experiments.split_total(m, control_share)
                kept += rest
                smaller = f"; {', '.join(a.name for a in rest)} tested smaller ({m:,} each)"
            untested = [a for a in left if a not in {k.name for k in kept}]
            notes.append(
                f"the {why} cannot give every arm the {n_t + n_c:,} customers it needs to "
                f"detect {mde * 100:.1f} points: the cheapest {len(kept) - len(rest)} arm(s) "
                f"at full size{smaller}"
                + (f"; not tested {', '.join(untested)}" if untested else "")
            )
        return kept, "required_n"
    cheapest = by_cost[0]
    m = _max_split([cheapest], pool, budget, control_share)
    if not m:
        raise _fail(f"budget {budget:,.2f} cannot pay one contact of {cheapest.name}")
    cheapest.n_t, cheapest.n_c = experiments.split_total(m, control_share)
    notes.append(
        f"not even the cheapest arm ({cheapest.name}) gets the {n_t + n_c:,} customers "
        f"needed to detect {mde * 100:.1f} points: it alone gets {m:,}, the most the budget "
        f"and the customers allow; not tested {', '.join(a.name for a in by_cost[1:]) or '-'}"
    )
    return [cheapest], "cheapest_at_max_n"


def _row_costs(a: _Arm, aov: np.ndarray, r: float) -> np.ndarray:
    give = a.give * aov if a.kind == "pct" else np.full(len(aov), a.give)
    return a.contact + give * r


def first_test(
    users: pd.DataFrame,
    catalog: Mapping[str, Action],
    budget: float,
    baseline_rate: float,
    *,
    mde: float | None,
    alpha: float = 0.05,
    power: float = 0.8,
    control_share: float,
    seed: int,
    max_share: float = 1.0,
    window_days: int = 14,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The first randomised test for a shop without campaign history.

    ``users``: ``user_id`` plus optionally ``aov`` (expected order amount; needed by pct
    actions). ``catalog``: name → :class:`liucun.models.nba.Action`. ``baseline_rate``:
    the ``window_days`` purchase rate without contact. ``mde``: the change to detect
    (absolute, 0.02 = 2 points) or None for the best the budget buys. ``control_share``
    of each arm is held out; at most ``max_share`` of ``users`` enter the test. Users
    are drawn at random (``seed``).

    Returns the plan (:data:`FIRST_TEST_COLUMNS`: ``expected_uplift`` is 0.0, unknown
    until the test is read out; ``cost`` the expected cost of the row, 0 for control;
    ``planned`` the arm's action, also on its control rows; ``explore`` True;
    ``contact_cost`` what the contact itself costs, the part ``treatments.cost`` records)
    and a summary: ``arms`` (per action ``n_treatment, n_control, n, mde_at_n,
    expected_cost, cost_high, cost_per_contact``), ``not_tested``, ``policy``,
    ``expected_cost``, ``cost_high``, ``budget``, ``margin``, the rates assumed and
    ``notes``. Bad input: :class:`LiucunError`.
    """
    _check_inputs(budget, baseline_rate, mde, alpha, power, control_share, max_share)
    if int(window_days) < 1:
        raise _fail(f"window_days {window_days} must be at least 1")
    notes: list[str] = [
        "expected_uplift is 0.0: without randomised history no action's effect is known; "
        "this test is what measures it",
        "each arm has its own control group (planned = its action), so `liucun campaign "
        "readout` reads every action against its own hold-out",
    ]
    arms = _arms(catalog)
    pct = [a.name for a in arms if a.kind == "pct"]
    people = _users(users, pct, notes)
    r_exp = min(1.0, baseline_rate * (1 + ASSUMED_LIFT))
    r_high = min(1.0, baseline_rate * (1 + HIGH_LIFT))

    rng = np.random.default_rng(int(seed))
    order = rng.permutation(len(people))
    pool = people.iloc[order[: math.floor(float(max_share) * len(people))]]
    pool = pool.reset_index(drop=True)
    if len(pool) < 2:
        raise _fail(f"max_share {max_share} of {len(people):,} users leaves fewer than 2")
    aov = pool["aov"].to_numpy(dtype=float)
    mean_aov = float(np.nanmean(aov)) if not np.isnan(aov).all() else 0.0
    for a in arms:
        a.expected = float(_row_costs(a, np.array([mean_aov]), r_exp)[0])
        a.high = float(_row_costs(a, np.array([mean_aov]), r_high)[0])

    chosen, policy = _size(
        arms, len(pool), float(budget), baseline_rate, mde, alpha, power, control_share, notes
    )
    chosen = sorted(chosen, key=lambda a: a.name)

    # Consecutive blocks of the shuffled pool: arm 1 treated, arm 1 control, arm 2 ...
    blocks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    at = 0
    for a in chosen:
        blocks[a.name] = (np.arange(at, at + a.n_t), np.arange(at + a.n_t, at + a.n_t + a.n_c))
        at += a.n_t + a.n_c
    # The sizes used the pool's mean aov; the drawn customers' own aov may cost a little
    # more. Trim the last-drawn treated rows (random order, so no bias) until it fits.
    high = {a.name: _row_costs(a, aov[blocks[a.name][0]], r_high) for a in chosen}
    over = sum(float(h.sum()) for h in high.values()) - float(budget)
    trimmed = 0
    while over > 1e-9 * float(budget):
        a = max(chosen, key=lambda x: (float(high[x.name].sum()), x.name))
        h = high[a.name]
        k = int(np.searchsorted(np.cumsum(h[::-1]), over - 1e-12)) + 1
        k = min(k, len(h) - 1)
        if k < 1:
            raise _fail(f"budget {budget:,.2f} cannot pay the drawn customers' offers")
        t_idx, c_idx = blocks[a.name]
        blocks[a.name] = (t_idx[:-k], c_idx)
        high[a.name] = h[:-k]
        a.n_t -= k
        trimmed += k
        over -= float(h[-k:].sum())
    if trimmed:
        notes.append(
            f"{trimmed:,} treated customers dropped: the drawn customers' order amounts "
            "made the offers dearer than the sizing's average"
        )

    frames = []
    arms_out: dict[str, dict[str, Any]] = {}
    for a in chosen:
        mde_n = experiments.minimum_detectable_effect(
            a.n_t, a.n_c, baseline_rate=baseline_rate, alpha=alpha, power=power
        )
        if math.isnan(mde_n):
            raise _fail(
                f"{a.n_t:,} treated and {a.n_c:,} control customers for {a.name} could not "
                "detect any change in the purchase rate: a test needs a larger budget or "
                "more customers"
            )
        t_idx, c_idx = blocks[a.name]
        exp = _row_costs(a, aov[t_idx], r_exp)
        reason = (
            f"first test: randomised arm of {a.n_t:,} for {a.name}, control {a.n_c:,}; "
            f"detects a change of {mde_n * 100:.1f} points in the {int(window_days)}-day "
            f"purchase rate at alpha {alpha:g}, power {power:.0%}"
        )
        ids = pool["user_id"].to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "user_id": np.concatenate([ids[t_idx], ids[c_idx]]),
                    "action": [a.name] * len(t_idx) + ["control"] * len(c_idx),
                    "expected_uplift": 0.0,
                    "cost": np.concatenate([exp, np.zeros(len(c_idx))]),
                    "planned": a.name,
                    "explore": True,
                    "reason": reason,
                    "contact_cost": [a.contact] * len(t_idx) + [0.0] * len(c_idx),
                }
            )
        )
        arms_out[a.name] = {
            "kind": a.kind,
            "n_treatment": a.n_t,
            "n_control": a.n_c,
            "n": a.n_t + a.n_c,
            "mde_at_n": mde_n,
            "expected_cost": float(exp.sum()),
            "cost_high": float(high[a.name].sum()),
            "cost_per_contact": a.expected,
        }
    plan = pd.concat(frames, ignore_index=True)[list(FIRST_TEST_COLUMNS)]
    expected = float(plan["cost"].sum())
    cost_high = sum(v["cost_high"] for v in arms_out.values())
    margin = max(0.0, cost_high / expected - 1) if expected > 0 else 0.0
    notes.append(
        f"cost assumes a redemption rate of {r_exp:.1%} (baseline × {1 + ASSUMED_LIFT:g}); "
        f"the budget holds at {r_high:.1%} (baseline × {1 + HIGH_LIFT:g}): expected "
        f"{expected:,.2f} <= budget / (1 + margin {margin:.0%}) = "
        f"{float(budget) / (1 + margin):,.2f}"
    )
    summary: dict[str, Any] = {
        "arms": arms_out,
        "not_tested": sorted(a.name for a in arms if a not in chosen),
        "policy": policy,
        "n_total": len(plan),
        "expected_cost": expected,
        "cost_high": cost_high,
        "budget": float(budget),
        "margin": margin,
        "baseline_rate": float(baseline_rate),
        "mde": None if mde is None else float(mde),
        "alpha": float(alpha),
        "power": float(power),
        "control_share": float(control_share),
        "redemption_rate": r_exp,
        "redemption_high": r_high,
        "users": len(people),
        "seed": int(seed),
        "notes": notes,
    }
    return plan, summary
