"""Stock alerts and reorder quantities from a demand forecast's distribution.

Per item, from its latest stock snapshot and its daily demand forecast (a mean and a
standard deviation per day, days independent):

- the lead time L (days from ordering to stock on the shelf) is the snapshot's
  ``lead_time_days``, else ``[inventory] lead_time_days``; a fractional L counts the last
  day in part (weight ``L - floor(L)`` on its mean and variance);
- lead-time demand μ_L = Σ forecast over the first L days; its variance σ²_L = Σ sd² over
  them, plus d̄² · sd_L² when the lead time itself varies (sd_L = ``lead_time_sd_days``,
  d̄ the mean daily forecast over L): the usual formula for a random lead time;
- ``safety_stock`` = z · σ_L with z = Φ⁻¹(service_level), ``reorder_point`` = μ_L + safety;
- ``order_qty``: an order today tops the stock position (on hand + on order) up to the
  order-up-to level S = μ_{L+R} + z · σ_{L+R}, the demand until the *next* order can
  arrive (R = ``review_days``) plus its safety stock; whole units (nearest), never
  negative, and at least one for an item at stock-out risk;
- ``stockout_date``: the first day whose cumulative expected demand from as_of exceeds
  what is on hand plus what is on order once it has arrived (taken to arrive L days after
  the snapshot: the latest it can come); empty when stock lasts the whole horizon;
- ``days_of_cover`` = on_hand / daily_demand (the mean daily forecast over the horizon;
  infinite for stock with no expected demand);
- ``alert``: ``stockout_risk`` when demand is expected and on hand + on order ≤ the reorder
  point, else ``overstock`` when the cover exceeds ``overstock_days``, else ``ok``.

``service_level`` is the cycle service level: the probability that a replenishment cycle
(from one order's arrival to the next) has no stock-out. :func:`replay` runs the same
policy day by day against a true demand series and reports the level it achieved, so a
benchmark can check it against the target.

Everything here is pure: frames in, frames out, no warehouse.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from liucun.errors import LiucunError

OUTPUT_COLUMNS = [
    "item_id",
    "on_hand",
    "daily_demand",
    "days_of_cover",
    "safety_stock",
    "reorder_point",
    "order_qty",
    "stockout_date",
    "alert",
]
# Appended after the contract columns: what the figures were computed from.
EXTRA_COLUMNS = [
    "on_order",
    "lead_time_days",
    "lead_time_demand",
    "order_up_to",
    "snapshot_ts",
    "has_forecast",
]
ALERTS = ("stockout_risk", "overstock", "ok")


@dataclass(frozen=True)
class Policy:
    """The settings of ``[inventory]`` the policy uses."""

    service_level: float = 0.95
    lead_time_days: float = 7.0
    lead_time_sd_days: float = 0.0
    review_days: float = 7.0
    overstock_days: float = 90.0

    @property
    def z(self) -> float:
        """The safety factor Φ⁻¹(service_level): 1.645 at 0.95."""
        return NormalDist().inv_cdf(self.service_level)


def policy_from_config(cfg: Mapping[str, Any]) -> Policy:
    """``[inventory]`` of liucun.toml as a :class:`Policy`, each value checked (a wrong
    one is named with its key rather than giving nonsense quantities)."""

    def number(key: str, ok: Callable[[float], bool], want: str) -> float:
        v = float(cfg[key])
        if not (math.isfinite(v) and ok(v)):
            raise LiucunError(f"liucun.toml [inventory] {key} = {v:g}: expected {want}")
        return v

    return Policy(
        service_level=number("service_level", lambda v: 0 < v < 1, "a share > 0 and < 1"),
        lead_time_days=number("lead_time_days", lambda v: v >= 0, "days >= 0"),
        lead_time_sd_days=number("lead_time_sd_days", lambda v: v >= 0, "days >= 0"),
        review_days=number("review_days", lambda v: v >= 0, "days >= 0"),
        overstock_days=number("overstock_days", lambda v: v > 0, "days > 0"),
    )


def latest_snapshots(rows: pd.DataFrame, cut: pd.Timestamp | dt.datetime) -> pd.DataFrame:
    """Each item's newest snapshot with ``ts < cut`` (rows at or after it are not read)."""
    cols = ["item_id", "ts", "on_hand", "on_order", "lead_time_days"]
    r = rows.loc[rows["ts"] < pd.Timestamp(cut), [c for c in cols if c in rows.columns]]
    r = r.sort_values(["item_id", "ts"], kind="stable").drop_duplicates("item_id", keep="last")
    for c in cols:
        if c not in r.columns:
            r[c] = np.nan
    return r[cols].reset_index(drop=True)


def day_weights(span: np.ndarray, days: int) -> np.ndarray:
    """(items × days) weights of each day inside a span of ``span`` days from day 0:
    1 for whole days, the fraction for a last partial day, 0 beyond."""
    d = np.arange(days, dtype=float)[None, :]
    return np.clip(np.asarray(span, dtype=float)[:, None] - d, 0.0, 1.0)


def demand_over(
    mean: np.ndarray, var: np.ndarray, span: np.ndarray, lead_sd: float | np.ndarray = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(μ, σ) of the demand over the first ``span`` days per item (rows of ``mean`` and
    ``var``, the daily forecast means and variances); a random lead time with standard
    deviation ``lead_sd`` days adds d̄² · lead_sd² to the variance."""
    w = day_weights(span, mean.shape[1])
    mu = (w * mean).sum(axis=1)
    v = (w * var).sum(axis=1)
    per_day = np.divide(mu, span, out=np.zeros_like(mu), where=np.asarray(span) > 0)
    v = v + (per_day * np.asarray(lead_sd, dtype=float)) ** 2
    return mu, np.sqrt(np.maximum(v, 0.0))


def levels(
    mean: np.ndarray, var: np.ndarray, lead: np.ndarray, policy: Policy
) -> dict[str, np.ndarray]:
    """Lead-time demand, safety stock, reorder point and order-up-to level per item."""
    z = policy.z
    mu_l, sd_l = demand_over(mean, var, lead, policy.lead_time_sd_days)
    mu_s, sd_s = demand_over(mean, var, lead + policy.review_days, policy.lead_time_sd_days)
    safety = np.maximum(z * sd_l, 0.0)
    return {
        "lead_time_demand": mu_l,
        "safety_stock": safety,
        "reorder_point": mu_l + safety,
        "order_up_to": mu_s + np.maximum(z * sd_s, 0.0),
    }


def order_quantity(order_up_to: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Whole units to order now: up to the order-up-to level, never negative.

    Rounded to the nearest unit (halves down), not up: demand comes in whole units, and
    P(D ≤ s) for a whole s is Φ((s + ½ − μ)/σ) (the continuity correction), so s =
    μ + zσ − ½ already meets the service level; rounding up would overshoot it by a
    unit, which for slow movers is several points of service level."""
    gap = np.asarray(order_up_to, float) - np.asarray(position, float)
    return np.maximum(np.ceil(gap - 0.5 - 1e-9), 0.0).astype(np.int64)


def stockout_day(
    mean: np.ndarray, on_hand: np.ndarray, on_order: np.ndarray, arrival: np.ndarray
) -> np.ndarray:
    """Index of the first day whose cumulative expected demand exceeds the stock then
    available (on_order counts from its ``arrival`` day on); -1 when none does."""
    cum = np.cumsum(mean, axis=1)
    d = np.arange(mean.shape[1])[None, :]
    have = on_hand[:, None] + np.where(d >= arrival[:, None], on_order[:, None], 0.0)
    short = cum > have + 1e-9
    first = short.argmax(axis=1)
    return np.where(short.any(axis=1), first, -1)


def _dense(
    paths: pd.DataFrame, items: pd.Series, as_of: dt.date, days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, variance, has_forecast) as (items × days) matrices over [as_of, as_of+days);
    a day without a forecast row counts as no expected demand."""
    mean = np.zeros((len(items), days))
    var = np.zeros((len(items), days))
    pos = pd.Index(items)
    if paths.empty:
        return mean, var, np.zeros(len(items), bool)
    p = paths.loc[paths["item_id"].isin(pos)]
    day = (pd.to_datetime(p["date"]) - pd.Timestamp(as_of)).dt.days.to_numpy()
    keep = (day >= 0) & (day < days)
    rows = pos.get_indexer(p["item_id"])[keep]
    cols = day[keep]
    f = np.nan_to_num(p["forecast"].to_numpy(float)[keep], nan=0.0)
    s = np.nan_to_num(p["sd"].to_numpy(float)[keep], nan=0.0)
    mean[rows, cols] = np.maximum(f, 0.0)
    var[rows, cols] = np.maximum(s, 0.0) ** 2
    has = np.zeros(len(items), bool)
    has[rows] = True
    return mean, var, has


def horizon_needed(snapshots: pd.DataFrame, policy: Policy) -> int:
    """Forecast days the policy reads: at least the longest lead time plus a review."""
    lead = snapshots["lead_time_days"].astype(float).fillna(policy.lead_time_days)
    longest = float(lead.max()) if len(lead) else policy.lead_time_days
    return math.ceil(longest + policy.review_days) + 1


def inventory_policy(
    snapshots: pd.DataFrame,
    paths: pd.DataFrame,
    as_of: dt.date,
    policy: Policy,
    horizon: int,
    start: pd.Timestamp | dt.datetime | None = None,
) -> pd.DataFrame:
    """One row per snapshot item: :data:`OUTPUT_COLUMNS` then :data:`EXTRA_COLUMNS`.

    ``snapshots``: each item's latest snapshot (item_id, ts, on_hand, on_order,
    lead_time_days; see :func:`latest_snapshots`). ``paths``: item_id, date, forecast, sd
    for days from ``as_of`` (``item_demand_paths``). ``horizon``: days looked ahead for the
    stock-out date and the daily demand; the lead time plus a review period is always
    covered (forecast days missing beyond the paths count as no demand). ``start``: the
    UTC moment day 0 begins (00:00 of as_of in the shop's zone; default 00:00 UTC), which
    snapshot times are measured from.
    """
    snap = snapshots.sort_values("item_id", kind="stable").reset_index(drop=True)
    days = max(int(horizon), horizon_needed(snap, policy))
    mean, var, has = _dense(paths, snap["item_id"], as_of, days)
    on_hand = snap["on_hand"].to_numpy(float)
    on_order = snap["on_order"].astype(float).fillna(0.0).to_numpy()
    lead = snap["lead_time_days"].astype(float).fillna(policy.lead_time_days).to_numpy()
    lv = levels(mean, var, lead, policy)
    daily = mean[:, : int(horizon)].mean(axis=1) if horizon > 0 else np.zeros(len(snap))
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(daily > 0, on_hand / daily, np.where(on_hand > 0, np.inf, 0.0))
    # On order arrives L days after the snapshot at the latest: from that day on.
    start = pd.Timestamp(as_of) if start is None else pd.Timestamp(start)
    since = (pd.to_datetime(snap["ts"]) - start).dt.total_seconds().to_numpy() / 86400.0
    arrival = np.maximum(np.ceil(since + lead - 1e-9), 0).astype(np.int64)
    first = stockout_day(mean[:, : int(horizon)], on_hand, on_order, arrival)
    stockout = [(as_of + dt.timedelta(days=int(i))).isoformat() if i >= 0 else None for i in first]
    position = on_hand + on_order
    risk = (daily > 0) & (position <= lv["reorder_point"] + 1e-9)
    # At or below the reorder point an order is due: at least one unit, even where the
    # order-up-to level rounds to the stock position (slow movers, short reviews).
    qty = order_quantity(lv["order_up_to"], position)
    qty = np.where(risk & (qty == 0), 1, qty)
    alert = np.where(
        risk, "stockout_risk", np.where(cover > policy.overstock_days, "overstock", "ok")
    )
    out = pd.DataFrame(
        {
            "item_id": snap["item_id"].astype(str),
            "on_hand": snap["on_hand"].astype("int64"),
            "daily_demand": daily,
            "days_of_cover": cover,
            "safety_stock": lv["safety_stock"],
            "reorder_point": lv["reorder_point"],
            "order_qty": qty.astype(np.int64),
            "stockout_date": pd.Series(stockout, dtype="string"),
            "alert": alert,
            "on_order": on_order.astype("int64"),
            "lead_time_days": lead,
            "lead_time_demand": lv["lead_time_demand"],
            "order_up_to": lv["order_up_to"],
            "snapshot_ts": pd.to_datetime(snap["ts"]),
            "has_forecast": has,
        }
    )
    return out[OUTPUT_COLUMNS + EXTRA_COLUMNS]


# -- replay: the policy against a true demand series ------------------------------------


@dataclass(frozen=True)
class ReplayResult:
    """What the policy achieved over a demand series.

    ``cycle_service_level`` (the share of replenishment cycles with no unmet demand) is the
    quantity ``service_level`` targets; ``fill_rate`` is the share of units served.
    """

    cycle_service_level: float
    fill_rate: float
    cycles: int
    stockout_days: int
    orders: int
    lost_units: float
    mean_on_hand: float


Outlook = Callable[[int, int], tuple[np.ndarray, np.ndarray]]


def replay(
    demand: np.ndarray,
    forecast: np.ndarray | float | Outlook,
    sd: np.ndarray | float | None = None,
    *,
    policy: Policy,
    lead_times: np.ndarray | None = None,
    initial_on_hand: float | None = None,
    backorder: bool = False,
) -> ReplayResult:
    """Run the reorder policy day by day against the true daily ``demand``.

    Every ``review_days`` (from day 0) the policy orders :func:`order_quantity` up to the
    order-up-to level of :func:`levels`, using the daily outlook from that day on:
    ``forecast`` and ``sd`` as per-day arrays (or constants) over the series, or a
    callable ``outlook(t, days) -> (mean, sd)`` for forecasts made at day ``t``. An order
    placed on day t is on the shelf from day t + lead time (``lead_times[t]`` when given,
    the realised lead times, else ``policy.lead_time_days`` rounded up). Each day the
    shelf serves what it can; the rest is lost (or backordered with ``backorder``).

    A cycle is the ``review_days`` from an order's planned arrival to the next one's; it
    counts when it lies wholly inside the series. Stock starts at the first order-up-to
    level unless ``initial_on_hand`` says otherwise.
    """
    demand = np.asarray(demand, dtype=float)
    n = len(demand)
    review = round(policy.review_days)
    if review < 1:
        raise ValueError("replay needs review_days >= 1")
    lead_plan = policy.lead_time_days
    span = math.ceil(lead_plan + review) + 1

    def outlook(t: int) -> tuple[np.ndarray, np.ndarray]:
        if callable(forecast):
            m, s = forecast(t, span)
            return np.asarray(m, float)[:span], np.asarray(s, float)[:span]
        idx = np.minimum(np.arange(t, t + span), n - 1)  # past the end: the last day again
        m = np.broadcast_to(np.asarray(forecast, float), (n,))[idx]
        s = np.broadcast_to(np.asarray(0.0 if sd is None else sd, float), (n,))[idx]
        return m, s

    longest = int(np.max(lead_times)) if lead_times is not None and len(lead_times) else 0
    arrivals = np.zeros(n + span + longest + 1)
    on_hand = initial_on_hand
    served = lost = stock_sum = 0.0
    short_day = np.zeros(n, bool)
    orders = 0
    backlog = 0.0
    for t in range(n):
        if t % review == 0:
            m, s = outlook(t)
            lv = levels(m[None, :], (s**2)[None, :], np.array([lead_plan]), policy)
            if on_hand is None:
                on_hand = float(order_quantity(lv["order_up_to"], np.zeros(1))[0])
            position = on_hand + arrivals[t:].sum() - backlog
            qty = int(order_quantity(lv["order_up_to"], np.array([position]))[0])
            if qty > 0:
                lt = lead_times[t] if lead_times is not None else math.ceil(lead_plan - 1e-9)
                arrivals[t + int(lt)] += qty
                orders += 1
        assert on_hand is not None
        on_hand += arrivals[t]
        if backorder and backlog:
            cleared = min(on_hand, backlog)
            on_hand -= cleared
            backlog -= cleared
        want = demand[t]
        got = min(on_hand, want)
        on_hand -= got
        served += got
        if want - got > 1e-9:
            short_day[t] = True
            if backorder:
                backlog += want - got
            else:
                lost += want - got
        stock_sum += on_hand
    if backorder:
        # Units served late still count as unmet on their day: the fill rate is on time.
        lost = float(demand.sum() - served)
    lead_days = math.ceil(lead_plan - 1e-9)
    starts = [t + lead_days for t in range(0, n, review) if t + lead_days + review <= n]
    hits = [not short_day[a : a + review].any() for a in starts]
    total = float(demand.sum())
    return ReplayResult(
        cycle_service_level=float(np.mean(hits)) if hits else float("nan"),
        fill_rate=served / total if total > 0 else 1.0,
        cycles=len(hits),
        stockout_days=int(short_day.sum()),
        orders=orders,
        lost_units=float(lost),
        mean_on_hand=stock_sum / n if n else 0.0,
    )
