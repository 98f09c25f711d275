"""The daily run's demand stage: item and category forecasts, stock alerts, elasticities.

One forecast fit serves every output: items and categories (``forecast_items``,
``forecast_categories``) and the shop (``forecast_shop``) over ``[forecast] horizon`` days
(28 when liucun.toml does not say), and, where the warehouse holds stock snapshots before
as_of, the inventory policy (``inventory``), fed the same fit's per-day mean and spread
rather than a second forecast. The fit then reaches as far as inventory reads ahead
(``[inventory] horizon_days``, at least a lead time and a review); the forecast files
keep the first ``horizon`` days. Price elasticities (``pricing``) come from the orders'
own price changes. A part that cannot run (no orders, no stock snapshots, no price
changes) leaves a note in run.json and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun import config
from liucun.decide.inventory import horizon_needed
from liucun.errors import LiucunError
from liucun.outputs import clean
from liucun.runs import RunResult
from liucun.tasks.forecast import forecast_levels
from liucun.tasks.inventory import day_start_utc, inventory, inventory_config, snapshots
from liucun.tasks.pricing import pricing

if TYPE_CHECKING:
    from liucun.workspace import Workspace

DEFAULT_HORIZON = 28
DEFAULT_INTERVAL = 0.8
FORECAST_OUTPUTS = {"item": "forecast_items", "category": "forecast_categories"}
FORECAST_OUTPUTS["shop"] = "forecast_shop"
# What the forecast stats keep in run.json (the model's own figures are in its stats).
FORECAST_KEYS = ("timezone", "interval", "items", "history_days", "model", "train_rows")


def forecast_settings(ws: Workspace) -> tuple[bool, int, float]:
    """(in_run, horizon days, interval) from ``[forecast]`` of liucun.toml, if it has one."""
    cfg = config.section("forecast", ws.config)
    try:
        horizon = int(cfg.get("horizon", DEFAULT_HORIZON))
        interval = float(cfg.get("interval", DEFAULT_INTERVAL))
    except (TypeError, ValueError):
        raise LiucunError(
            "liucun.toml [forecast]: horizon must be a whole number of days and interval a "
            "share (e.g. horizon = 28, interval = 0.8)"
        ) from None
    return bool(cfg.get("in_run", True)), horizon, interval


NO_STOCK = "no inventory rows before as_of: ingest them with `liucun ingest inventory FILE`"


def _stock_days(ws: Workspace, day: dt.date) -> tuple[int | None, str]:
    """(forecast days the inventory policy reads, "") or (None, why there are no alerts):
    no stock snapshots before ``day`` (an older warehouse without the table has none), or
    settings in ``[inventory]`` that do not hold."""
    try:
        policy, horizon = inventory_config(ws)
        snap = snapshots(ws, day_start_utc(day, ws))
    except LiucunError as e:
        return None, str(e)
    if snap.empty:
        return None, NO_STOCK
    return max(horizon, horizon_needed(snap, policy)), ""


def _write(res: RunResult, name: str, df: pd.DataFrame) -> None:
    path = Path(res.run_dir) / f"{name}.parquet"
    df.to_parquet(path, index=False)
    res.outputs[name] = str(path)


def _first_days(frame: pd.DataFrame, day: dt.date, horizon: int) -> pd.DataFrame:
    """Rows dated in ``[day, day + horizon)`` (dates are YYYY-MM-DD text)."""
    end = (day + dt.timedelta(days=horizon)).isoformat()
    return frame[frame["date"] < end].reset_index(drop=True)


def demand_stage(
    ws: Workspace, day: dt.date, res: RunResult, on_step: Callable[[str], None]
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Write the demand outputs of the run in ``res``; their stats and notes (also set as
    ``res.stats["demand"]``) and the pricing output (empty without one), which the plan
    reads for its price offers instead of estimating the elasticities again. Never raises
    for a shop that lacks the data."""
    out: dict[str, Any] = {"notes": []}
    prices = pd.DataFrame({"level": [], "category": [], "suggested_discount": []})
    res.stats["demand"] = out
    try:
        in_run, horizon, interval = forecast_settings(ws)
    except LiucunError as e:
        out["notes"].append(f"no forecast: {e}")
        return out, prices
    if not in_run:
        out["notes"].append("demand stage off ([forecast] in_run = false)")
        return out, prices
    t0 = time.perf_counter()
    on_step(f"demand forecast, {horizon} days")
    stock_days, no_stock = _stock_days(ws, day)
    fit_days = max(horizon, stock_days or 0)
    try:
        levels = forecast_levels(ws, day, fit_days, ("item", "category", "shop"), interval)
    except LiucunError as e:
        out["notes"].append(f"no forecast: {e}")
        levels = None
    if levels is not None:
        for level, name in FORECAST_OUTPUTS.items():
            _write(res, name, _first_days(levels[level].frame, day, horizon))
        st = levels["item"].stats
        items = _first_days(levels["item"].frame, day, horizon)
        out["forecast"] = clean(
            {
                "horizon": horizon,
                "fitted_days": fit_days,
                **{k: st[k] for k in FORECAST_KEYS if k in st},
                "categories": int(levels["category"].frame["category"].nunique()),
                "total_forecast": round(float(items["forecast"].sum()), 6),
            }
        )
        res.seconds["forecast"] = round(time.perf_counter() - t0, 3)
    if stock_days is None:
        out["notes"].append(f"no stock alerts: {no_stock}")
    else:
        _stock_part(ws, day, res, out, levels, on_step)
    found = _pricing_part(ws, day, res, out, on_step)
    return out, prices if found is None else found


def _stock_part(
    ws: Workspace,
    day: dt.date,
    res: RunResult,
    out: dict[str, Any],
    levels: dict[str, Any] | None,
    on_step: Callable[[str], None],
) -> None:
    """Stock alerts from the forecast's own paths; a note without the forecast."""
    if levels is None:
        out["notes"].append("no stock alerts: they need the demand forecast")
        return
    t0 = time.perf_counter()
    on_step("stock alerts and reorder quantities")
    paths = levels["item"].paths[["item_id", "date", "forecast", "sd"]]
    try:
        r = inventory(ws, day, paths=paths)
    except LiucunError as e:
        out["notes"].append(f"no stock alerts: {e}")
        return
    _write(res, "inventory", r.frame)
    out["inventory"] = clean(r.stats)
    res.seconds["inventory"] = round(time.perf_counter() - t0, 3)


def _pricing_part(
    ws: Workspace,
    day: dt.date,
    res: RunResult,
    out: dict[str, Any],
    on_step: Callable[[str], None],
) -> pd.DataFrame | None:
    """Elasticities and discounts (the frame written, None without); a note when no
    priced sale lies before as_of."""
    t0 = time.perf_counter()
    on_step("price elasticities")
    try:
        r = pricing(ws, day)
    except LiucunError as e:
        out["notes"].append(f"no elasticities: {e}")
        return None
    if r.frame.empty:
        out["notes"].append(f"no elasticities: {r.stats.get('note') or 'no priced sales'}")
        return None
    _write(res, "pricing", r.frame)
    out["pricing"] = clean({k: v for k, v in r.stats.items() if k != "seconds"})
    res.seconds["pricing"] = round(time.perf_counter() - t0, 3)
    return r.frame
