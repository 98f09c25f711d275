"""Demand forecasts as of a date: units per item, category or the whole shop and day over
``[as_of, as_of + horizon)``, with central intervals.

Units are counted by the shop's calendar day (``[shop] timezone``) from orders that are not
cancelled, read strictly before 00:00 of ``as_of`` there. Every item sold in the 365 days
before ``as_of`` gets a row per day. Item forecasts come from liucun's global LightGBM
model (``liucun.models.forecast.DemandGBM``); categories and the shop are the sums of their
items' forecasts (bottom-up, so the levels always add up), their intervals calibrated on
their own held-out residuals (the item residuals summed per category or shop and day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun import config
from liucun.errors import LiucunError
from liucun.features.demand import daily_units, item_categories
from liucun.models.forecast import Conformal, DemandGBM

if TYPE_CHECKING:
    from liucun.workspace import Workspace

LEVELS = ("item", "category", "shop")
ACTIVE_DAYS = 365
HISTORY_DAYS = 365 * 3
KEYS = {"item": ["item_id"], "category": ["category"], "shop": []}


def output_columns(level: str) -> list[str]:
    """The contract's columns at ``level``."""
    return [*KEYS[level], "date", "forecast", "lo", "hi"]


@dataclass
class ForecastResult:
    frame: pd.DataFrame  # the contract columns at the requested level
    stats: dict[str, Any] = field(default_factory=dict)
    # Item level always: item_id, date, forecast, lo, hi, sd (per-day predictive deviation).
    paths: pd.DataFrame | None = None


def shop_timezone(ws: Workspace) -> str:
    """``[shop] timezone`` of liucun.toml (default UTC)."""
    return str(config.section("shop", ws.config).get("timezone", "UTC") or "UTC")


def check_options(level: str, interval: float) -> None:
    """One clear line for a level or interval the contract does not know."""
    if level not in LEVELS:
        raise LiucunError(f"--level {level}: expected one of {', '.join(LEVELS)}")
    if not 0.0 < float(interval) < 1.0:
        raise LiucunError(f"--interval {interval}: must lie strictly between 0 and 1 (e.g. 0.8)")


def _fit(
    ws: Workspace, as_of: dt.date, horizon: int, interval: float
) -> tuple[DemandGBM, dict[str, str], dict[str, Any]]:
    """The item model as of ``as_of`` on the items sold in the 365 days before it."""
    from liucun.workspace import check_horizon

    check_horizon(horizon)
    tz = shop_timezone(ws)
    hist = daily_units(ws, as_of, days=HISTORY_DAYS, tz=tz)
    if hist.empty:
        raise LiucunError(
            f"no orders before {as_of} with lines in order_items (units sold are counted "
            "from them): nothing to forecast from (ingest order_items, or pick a later "
            "--as-of)"
        )
    since = pd.Timestamp(as_of) - pd.Timedelta(days=ACTIVE_DAYS)
    active = hist.loc[(hist["date"] >= since) & (hist["units"] > 0), "item_id"].unique()
    if len(active) == 0:
        raise LiucunError(
            f"no item sold in the {ACTIVE_DAYS} days before {as_of}: nothing to forecast"
        )
    hist = hist[hist["item_id"].isin(active)]
    cats = item_categories(ws)
    model = DemandGBM(horizon=horizon, interval=interval)
    model.fit(hist, origin=pd.Timestamp(as_of), categories=cats)
    stats = {
        "as_of": as_of.isoformat(),
        "timezone": tz,
        "horizon": horizon,
        "interval": interval,
        "items": len(model.items_),
        "history_days": int(model.panel_[0].shape[1]),
        **model.stats_,
    }
    return model, cats, stats


def _aggregate(
    model: DemandGBM, paths: pd.DataFrame, cats: dict[str, str], level: str, interval: float
) -> pd.DataFrame:
    """Category or shop rows: summed item forecasts, intervals from summed residuals."""
    keys = KEYS[level]
    p = paths.copy()
    cal = model.calibration_.copy()
    if level == "category":
        p["category"] = p["item_id"].map(cats).fillna("")
        cal["category"] = cal["item_id"].map(cats).fillna("")
    g = p.groupby([*keys, "date"], sort=True, as_index=False)["forecast"].sum()
    if len(cal):
        c = cal.groupby([*keys, "origin", "step"], as_index=False)[["f", "y"]].sum()
        conf = Conformal(c["f"].to_numpy(float), c["y"].to_numpy(float), c["step"].to_numpy(int))
    else:
        conf = Conformal(np.array([]), np.array([]), np.array([]))
    step = ((pd.to_datetime(g["date"]) - model.origin_) / pd.Timedelta(days=1)).astype(int)
    lo, hi, _sd = conf.bounds(g["forecast"].to_numpy(float), step.to_numpy(), interval)
    g["lo"], g["hi"] = lo, hi
    return g


def forecast_levels(
    ws: Workspace,
    as_of: dt.date,
    horizon: int,
    levels: tuple[str, ...] = LEVELS,
    interval: float = 0.8,
) -> dict[str, ForecastResult]:
    """One fit, every level asked for (what ``forecast`` and the benchmark share)."""
    for level in levels:
        check_options(level, interval)
    model, cats, stats = _fit(ws, as_of, horizon, interval)
    paths = model.predict(horizon, interval)
    text_paths = paths.assign(date=paths["date"].dt.strftime("%Y-%m-%d"))
    out = {}
    for level in levels:
        frame = paths if level == "item" else _aggregate(model, paths, cats, level, interval)
        frame = frame.assign(date=pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d"))
        frame = frame[output_columns(level)].reset_index(drop=True)
        st = dict(stats)
        st.update(
            level=level,
            series=int(len(frame) // horizon),
            rows=len(frame),
            total_forecast=float(frame["forecast"].sum()),
        )
        out[level] = ForecastResult(frame, st, text_paths.reset_index(drop=True))
    return out


def forecast(
    ws: Workspace, as_of: dt.date, horizon: int, level: str = "item", interval: float = 0.8
) -> ForecastResult:
    """Forecasts at ``level`` for ``horizon`` days from ``as_of`` (see the module docstring)."""
    return forecast_levels(ws, as_of, horizon, (level,), interval)[level]


def item_demand_paths(ws: Workspace, as_of: dt.date, horizon: int) -> pd.DataFrame:
    """Per item and day: ``item_id, date`` (YYYY-MM-DD), ``forecast`` (expected units) and
    ``sd`` (the per-day predictive standard deviation, >= 0): what inventory needs to
    size safety stock over a lead time."""
    r = forecast(ws, as_of, horizon, level="item")
    assert r.paths is not None
    return r.paths[["item_id", "date", "forecast", "sd"]]
