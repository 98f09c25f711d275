"""Stock alerts and reorder quantities for a shop as of a date (`liucun inventory`).

Each item's newest ``inventory`` snapshot before as_of (00:00 of that day in ``[shop]
timezone``) meets its demand forecast (``liucun.tasks.forecast.item_demand_paths``: a mean
and a standard deviation per day from as_of); the policy maths are
:mod:`liucun.decide.inventory`, the settings ``[inventory]`` in liucun.toml. Nothing at or
after as_of is read here, and the forecast reads nothing at or after it either.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ibis
import pandas as pd

from liucun import config
from liucun.decide.inventory import (
    OUTPUT_COLUMNS,
    Policy,
    horizon_needed,
    inventory_policy,
    policy_from_config,
)
from liucun.errors import LiucunError

if TYPE_CHECKING:
    from liucun.workspace import Workspace

NO_INVENTORY = "ingest an inventory table first: liucun ingest inventory FILE"


@dataclass
class InventoryResult:
    """Per item: :data:`OUTPUT_COLUMNS` (then the figures behind them); stats for the
    summary line and reports."""

    frame: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


def inventory_config(ws: Workspace) -> tuple[Policy, int]:
    """``[inventory]`` as a checked policy and the forecast horizon in days."""
    cfg = config.section("inventory", ws.config)
    policy = policy_from_config(cfg)
    horizon = int(cfg["horizon_days"])
    if horizon < 1:
        raise LiucunError(f"liucun.toml [inventory] horizon_days = {horizon}: expected >= 1")
    return policy, horizon


def day_start_utc(as_of: dt.date, ws: Workspace) -> dt.datetime:
    """00:00 of ``as_of`` in the shop's zone (``[shop] timezone``) as naive UTC: the
    warehouse's ``ts`` are naive UTC."""
    tz = str(config.section("shop", ws.config).get("timezone", "UTC"))
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise LiucunError(
            f"liucun.toml [shop] timezone = {tz!r}: not a time zone name (e.g. Asia/Shanghai)"
        ) from None
    local = dt.datetime.combine(as_of, dt.time(), tzinfo=zone)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def snapshots(ws: Workspace, cut: dt.datetime) -> pd.DataFrame:
    """Each item's newest snapshot with ts < ``cut`` (one per item: (item_id, ts) is the
    table's key)."""
    t = ws.table("inventory")
    b = t.filter(t.ts < ibis.literal(cut, type="timestamp"))
    w = ibis.window(group_by=b.item_id, order_by=[ibis.desc(b.ts)])
    latest = b.mutate(_n=ibis.row_number().over(w))
    latest = latest.filter(latest._n == 0).select(
        "item_id", "ts", "on_hand", "on_order", "lead_time_days"
    )
    return ws.warehouse.frame(latest.order_by("item_id"))


def demand_paths(ws: Workspace, as_of: dt.date, horizon: int) -> pd.DataFrame:
    """The forecast's per-item daily mean and sd (imported when called: the forecast
    module is the heavier one)."""
    try:
        from liucun.tasks.forecast import item_demand_paths
    except ImportError as e:  # the forecast lands separately (issue 20)
        raise LiucunError(
            f"demand forecasts are not available in this install ({e}); inventory needs them"
        ) from None
    return item_demand_paths(ws, as_of, horizon)


def inventory(ws: Workspace, as_of: dt.date, paths: pd.DataFrame | None = None) -> InventoryResult:
    """Alerts and order quantities per item with a snapshot before ``as_of``.

    ``paths`` (item_id, date, forecast, sd) replaces the forecast, for tests and for
    callers that already hold one.
    """
    policy, horizon = inventory_config(ws)
    cut = day_start_utc(as_of, ws)
    snap = snapshots(ws, cut)
    if snap.empty:
        raise LiucunError(f"no inventory rows before {as_of}: {NO_INVENTORY}")
    days = max(horizon, horizon_needed(snap, policy))
    if paths is None:
        paths = demand_paths(ws, as_of, days)
    frame = inventory_policy(snap, paths, as_of, policy, horizon, start=pd.Timestamp(cut))
    counts = frame["alert"].value_counts()
    stats: dict[str, Any] = {
        "items": len(frame),
        "stockout_risk": int(counts.get("stockout_risk", 0)),
        "overstock": int(counts.get("overstock", 0)),
        "ok": int(counts.get("ok", 0)),
        "to_order": int((frame["order_qty"] > 0).sum()),
        "units_to_order": int(frame["order_qty"].sum()),
        "stockout_within_horizon": int(frame["stockout_date"].notna().sum()),
        "without_forecast": int((~frame["has_forecast"]).sum()),
        "horizon_days": horizon,
        "service_level": policy.service_level,
        "oldest_snapshot": str(frame["snapshot_ts"].min()),
        "newest_snapshot": str(frame["snapshot_ts"].max()),
    }
    alert_rank = frame["alert"].map({"stockout_risk": 0, "ok": 1, "overstock": 2})
    order = frame.assign(_r=alert_rank).sort_values(
        ["_r", "days_of_cover", "item_id"], kind="stable"
    )
    out = order.drop(columns="_r").reset_index(drop=True)
    assert list(out.columns[: len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS
    return InventoryResult(out, stats)
