"""The churn horizon a shop's own rhythm suggests: from its repeat-purchase gaps.

"Churned" means "no purchase in the next H days". A fixed 90 days fits a shop whose
customers come back every few weeks; in a shop where a normal repeat takes four months it
calls every healthy customer churned (and the p_churn histogram piles up near 1). So by
default (``[score] horizon = "auto"``) H is read from the shop itself:

- the gaps are the days between a customer's consecutive *order days* before ``as_of``
  (two orders on one day are one basket, not a repeat);
- each repeat buyer weighs one, spread over their gaps: pooled gaps would let the few
  heaviest buyers (dozens of short gaps each) set the horizon for everyone;
- H is the ``quantile`` (default 0.9) of that distribution: a customer still buying as
  usual shows their next order within H nine times in ten, so "no order in H days" is
  evidence of leaving rather than an ordinary pause. A high quantile also offsets the
  right-censoring of the gaps seen so far (long gaps still open at ``as_of`` are not
  counted yet, so observed gaps run short);
- rounded to whole weeks (a weekly rhythm does not shift the window by a day or two) and
  kept within ``bounds`` (default [14, 365] days: shorter is noise, longer is no forecast
  a shop acts on);
- with fewer than ``min_repeat_buyers`` repeat buyers the quantile says little, and the
  ``fallback`` (``[score] horizon_days``, 90) is used instead, with a note saying so.

Only orders with ``ts < as_of`` are read: the same warehouse with or without later rows
chooses the same horizon.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from liucun.features.base import as_of_value, before, days_between

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["HorizonChoice", "auto_horizon", "choose_horizon", "gap_counts", "gap_quantile"]

WEEK = 7


@dataclass(frozen=True)
class HorizonChoice:
    """The churn horizon in days and how it was chosen.

    ``source`` is "argument" (``--horizon``), "setting" (a number in liucun.toml), "auto"
    (from the repeat gaps) or "fallback" (auto, but too few repeat buyers to go by).
    """

    days: int
    source: str
    why: str
    quantile: float | None = None
    gap_days: float | None = None  # the quantile of the gaps, before rounding
    repeat_buyers: int = 0
    gaps: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON for run.json and dashboard.json."""
        return asdict(self)


def gap_counts(tables: Mapping[str, ir.Table], as_of: dt.date | dt.datetime | str) -> pd.DataFrame:
    """Repeat gaps before ``as_of``, counted: columns ``gap_days`` (whole days between a
    customer's consecutive order days), ``n`` (how many gaps that customer has) and
    ``count`` (gaps of that length among customers with ``n`` gaps).

    Counting by (gap, n) keeps the result small at any scale and lets each customer's
    weight (1/n per gap) be summed exactly in Python, identically on every engine.
    """
    cols = ["gap_days", "n", "count"]
    if "orders" not in tables:
        return pd.DataFrame(columns=cols)
    o = before(tables["orders"], as_of_value(as_of))
    d = o.select("user_id", day=o.ts.truncate("D")).distinct()
    w = ibis.window(group_by=d.user_id, order_by=d.day)
    d = d.mutate(prev=d.day.lag().over(w))
    g = d.filter(d.prev.notnull())
    g = g.mutate(gap_days=days_between(g.day, g.prev).round().cast("int64"))
    per = g.group_by("user_id").aggregate(n=g.count())
    g = g.inner_join(per, "user_id")
    out = g.group_by(["gap_days", "n"]).aggregate(count=g.count()).execute()
    out = out.astype({"gap_days": "int64", "n": "int64", "count": "int64"})
    return out.sort_values(["gap_days", "n"], kind="stable").reset_index(drop=True)[cols]


def gap_quantile(counts: pd.DataFrame, q: float) -> tuple[float | None, int, int]:
    """(the ``q`` quantile of the gaps with each repeat buyer weighing one, repeat
    buyers, gaps); the quantile is None without any gap."""
    if counts.empty:
        return None, 0, 0
    w = counts.assign(w=counts["count"] / counts["n"])  # sorted input: the same sums each time
    c = w.groupby("gap_days", sort=True)["w"].sum()
    buyers = round(float(w["w"].sum()))
    gaps = int(counts["count"].sum())
    share = np.cumsum(c.to_numpy(float)) / float(c.sum())
    # The smallest gap whose cumulative weight reaches q (tolerant of float sums).
    i = int(np.searchsorted(share, q - 1e-12, side="left"))
    return float(c.index[min(i, len(c) - 1)]), buyers, gaps


def choose_horizon(
    counts: pd.DataFrame,
    *,
    quantile: float = 0.9,
    bounds: Sequence[float] = (14, 365),
    min_repeat_buyers: int = 30,
    fallback: int = 90,
) -> HorizonChoice:
    """The horizon the gap ``counts`` (:func:`gap_counts`) suggest, by the rules of this
    module's docstring."""
    if not 0 < quantile < 1:
        raise ValueError(f"horizon quantile {quantile}: must be between 0 and 1")
    lo, hi = int(bounds[0]), int(bounds[1])
    gap, buyers, gaps = gap_quantile(counts, quantile)
    pct = f"{quantile * 100:g}th percentile"
    if gap is None or buyers < min_repeat_buyers:
        return HorizonChoice(
            fallback,
            "fallback",
            f"[score] horizon_days: {buyers:,} repeat buyers before as_of, fewer than the "
            f"{min_repeat_buyers:,} the repeat-gap rule needs",
            quantile,
            gap,
            buyers,
            gaps,
        )
    weeks = max(1, math.floor(gap / WEEK + 0.5))
    days = min(max(weeks * WEEK, lo), hi)
    clamp = "" if days == weeks * WEEK else f", kept within [{lo}, {hi}]"
    why = (
        f"auto: {pct} of the days between repeat orders ({gap:g} days over {buyers:,} "
        f"repeat buyers), rounded to {weeks} weeks{clamp}"
    )
    return HorizonChoice(days, "auto", why, quantile, gap, buyers, gaps)


def auto_horizon(
    tables: Mapping[str, ir.Table],
    as_of: dt.date | dt.datetime | str,
    cfg: Mapping[str, Any],
) -> HorizonChoice:
    """The horizon for ``as_of`` from the ``[score]`` settings ``cfg``: ``horizon_quantile``,
    ``horizon_bounds``, ``horizon_min_repeat_buyers``, fallback ``horizon_days``."""
    return choose_horizon(
        gap_counts(tables, as_of),
        quantile=float(cfg["horizon_quantile"]),
        bounds=[float(b) for b in cfg["horizon_bounds"]],
        min_repeat_buyers=int(cfg["horizon_min_repeat_buyers"]),
        fallback=int(cfg["horizon_days"]),
    )
