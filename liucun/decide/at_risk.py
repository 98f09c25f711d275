"""The at-risk list to act on: who to reach first, and who is left out until asked for.

One ranking for ``GET /api/at-risk``, the dashboard's At-risk page and its CSV, and the
report's at-risk table, so all of them open with the same customers.

Left out by default (each group comes back with its own filter):

* **prospects** — ``lifecycle_stage`` is ``prospect``: they never ordered, so there is no
  customer to keep yet (acquisition, not retention).
* **gone for good** — ``lifecycle_stage`` is ``churned``: no order for longer than
  ``k_dormant`` × their own usual time between orders and at least
  ``floor_dormant_days`` (4× and 120 days by default, ``[segments.lifecycle]`` in
  liucun.toml), the same rule the dashboard's lifecycle chart counts by. A win-back
  campaign may still want them; a retention list opened by them is not one to act on.

A run written without a lifecycle stage falls back on the customers' own columns: no
order on record is a prospect, no order for more than :data:`GONE_FALLBACK_DAYS` is gone.

Rank: **value at stake** = p_churn × 365-day CLV (a missing CLV counts as 0), largest
first, except that customers who ordered in the last :data:`RECENT_DAYS` days come after
everyone else: their next order is not due yet, so a high p_churn right after an order
mostly says "not within the horizon", and a Champion who bought yesterday is not the
first call to make. The plan's action and its ``expected_uplift`` are shown beside each
customer but do not scale the rank: the plan holds only the customers its budget chose
(and its control group, whose uplift is that of the action held back), so multiplying by
it would put every customer the budget could not reach below those it could, whatever
their risk; and it is net revenue over the scoring horizon, not over the CLV's year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PROSPECT_STAGES = ("prospect",)
"""Lifecycle stages of customers who never ordered."""
GONE_STAGES = ("churned",)
"""Lifecycle stages of customers gone for good (see the module's docstring)."""
GONE_FALLBACK_DAYS = 365.0
"""Without a lifecycle stage: no order for more than this many days is gone for good."""
RECENT_DAYS = 14.0
"""Customers who ordered at most this many days ago are ranked after everyone else."""
GROUPS = ("prospects", "gone")
"""The groups left out by default, as ``Filters`` fields and query parameters."""


@dataclass(frozen=True)
class Filters:
    """Which customers the list holds: a segment and a risk band (None = any), and
    whether prospects and customers gone for good are brought back."""

    segment: str | None = None
    band: str | None = None
    prospects: bool = False
    gone: bool = False


def by_user(frame: pd.DataFrame | None, column: str, scores: pd.DataFrame) -> pd.Series | None:
    """``frame[column]`` lined up with ``scores``' rows by user_id (None without it); the
    frame is indexed by user_id (as in a snapshot) or has a user_id column."""
    if frame is None or column not in frame.columns:
        return None
    col = frame[column]
    if frame.index.name != "user_id" and "user_id" in frame.columns:
        col = col.set_axis(frame["user_id"].astype(str).to_numpy())
    col = col[~col.index.duplicated()]
    return col.reindex(scores["user_id"].astype(str).to_numpy())


def _stage(scores: pd.DataFrame, customers: pd.DataFrame | None) -> pd.Series | None:
    if "lifecycle_stage" in scores.columns:
        return scores["lifecycle_stage"].astype("string")
    stage = by_user(customers, "lifecycle_stage", scores)
    return None if stage is None else stage.astype("string")


def days_since_order(scores: pd.DataFrame, customers: pd.DataFrame | None) -> np.ndarray:
    """Days since each scored customer's last order (NaN: never, or not known)."""
    days = by_user(customers, "recency_days", scores)
    if days is None:
        return np.full(len(scores), np.nan)
    return pd.to_numeric(days, errors="coerce").to_numpy(dtype=float)


def groups(scores: pd.DataFrame, customers: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """(prospect, gone for good) masks over ``scores`` (rules in the module docstring)."""
    stage = _stage(scores, customers)
    if stage is not None:
        prospect = stage.isin(PROSPECT_STAGES).fillna(False).to_numpy(dtype=bool)
        gone = stage.isin(GONE_STAGES).fillna(False).to_numpy(dtype=bool)
        return prospect, gone
    if by_user(customers, "recency_days", scores) is None:
        none = np.zeros(len(scores), bool)
        return none, none.copy()
    days = days_since_order(scores, customers)
    return np.isnan(days), days > GONE_FALLBACK_DAYS


def value_at_risk(scores: pd.DataFrame) -> np.ndarray:
    """p_churn × 365-day CLV per row (a missing CLV counts as 0; no CLV column: p_churn)."""
    p = pd.to_numeric(scores["p_churn"], errors="coerce").fillna(0.0)
    if "clv_365d" not in scores.columns:
        return p.to_numpy(dtype=float)
    clv = pd.to_numeric(scores["clv_365d"], errors="coerce").fillna(0.0)
    return (p * clv).to_numpy(dtype=float)


def _kept(scores: pd.DataFrame, customers: pd.DataFrame | None, f: Filters) -> np.ndarray:
    keep = np.ones(len(scores), bool)
    if f.segment:
        keep &= (scores["segment"] == f.segment).fillna(False).to_numpy(dtype=bool)
    if f.band:
        keep &= (scores["risk_band"] == f.band).fillna(False).to_numpy(dtype=bool)
    prospect, gone = groups(scores, customers)
    if not f.prospects:
        keep &= ~prospect
    if not f.gone:
        keep &= ~gone
    return keep


def order(scores: pd.DataFrame, customers: pd.DataFrame | None, f: Filters) -> np.ndarray:
    """Positions in ``scores`` of the customers ``f`` keeps, in the list's order: those
    who did not order in the last RECENT_DAYS days first, then value at stake, largest
    first, then user_id."""
    pos = np.flatnonzero(_kept(scores, customers, f))
    sub = scores.iloc[pos]
    recent = days_since_order(sub, customers) <= RECENT_DAYS  # NaN compares False
    ids = scores["user_id"].astype(str).to_numpy()[pos]
    return pos[np.lexsort((ids, -value_at_risk(sub), recent))]


def left_out(scores: pd.DataFrame, customers: pd.DataFrame | None, f: Filters) -> dict[str, int]:
    """How many customers of ``f``'s segment and band each default exclusion hides now
    (0 for a group ``f`` brings back)."""
    base = Filters(f.segment, f.band, prospects=True, gone=True)
    keep = _kept(scores, customers, base)
    prospect, gone = groups(scores, customers)
    return {
        "prospects": 0 if f.prospects else int((keep & prospect).sum()),
        "gone": 0 if f.gone else int((keep & gone & ~prospect).sum()),
    }


def rows(
    scores: pd.DataFrame,
    customers: pd.DataFrame | None,
    plan: pd.DataFrame | None,
    positions: np.ndarray,
) -> pd.DataFrame:
    """The scores at ``positions`` with ``value_at_risk``, ``days_since_order`` and, where
    the run planned, the ``action`` and its ``expected_uplift``."""
    s = scores.iloc[positions]
    out = s.reset_index(drop=True).assign(
        value_at_risk=value_at_risk(s), days_since_order=days_since_order(s, customers)
    )
    for column in ("action", "expected_uplift"):
        got = by_user(plan, column, out)
        if got is not None:
            out[column] = got.to_numpy()
    return out
