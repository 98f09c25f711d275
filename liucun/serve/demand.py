"""The served run's demand outputs, shaped once for the API, the Demand page and the report.

The run's demand stage (:mod:`liucun.pipeline.demand`) writes forecasts per item, category
and the whole shop, stock alerts per item and elasticities; the snapshot holds them as
frames. A series is found through an index made once per snapshot, and the alert list is
sorted once, so a request is a lookup and a slice. A run without an output (a shop with no
stock snapshots, a run from before the stage) raises :class:`NotInRun`, whose message says
which command fills it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from liucun.decide.inventory import OUTPUT_COLUMNS as INVENTORY_COLUMNS
from liucun.errors import LiucunError
from liucun.outputs import records
from liucun.serve import schemas as s
from liucun.serve.snapshot import Snapshot
from liucun.tasks.pricing import OUTPUT_COLUMNS as PRICING_OUTPUT

Level = Literal["item", "category", "shop"]
FRAMES: dict[str, str] = {
    "item": "forecast_items",
    "category": "forecast_categories",
    "shop": "forecast_shop",
}
KEYS: dict[str, str | None] = {"item": "item_id", "category": "category", "shop": None}
POINT = ["date", "forecast", "lo", "hi"]
# The alert list leads with the alert; the pricing rows are the task's own columns.
ALERT_COLUMNS = [
    "item_id",
    "alert",
    *(c for c in INVENTORY_COLUMNS if c not in ("item_id", "alert")),
]
PRICING_COLUMNS = list(PRICING_OUTPUT)
ALERT_RANK = {"stockout_risk": 0, "overstock": 1}
FORECAST_CMD = "`liucun run` forecasts once the warehouse holds orders and order_items"
STOCK_CMD = "ingest stock snapshots (`liucun ingest inventory FILE`), then `liucun run`"
PRICING_CMD = "`liucun run` estimates them from price changes in order_items"


class NotInRun(LiucunError):
    """The served run has no such output (what fills it is in the message)."""


class UnknownSeries(LookupError):
    """No forecast series of that id in the served run."""


# -- response bodies of the API ------------------------------------------------------------


class ForecastPoint(s._Out):
    date: str = Field(description="The shop's calendar day, YYYY-MM-DD.")
    forecast: float = Field(description="Expected units sold that day.")
    lo: float = Field(description="Lower end of the central interval.")
    hi: float = Field(description="Upper end of the central interval.")


class ForecastSeries(s.RunRef):
    """One series' daily forecast over the run's horizon."""

    level: Level = Field(description="item, category or shop (neither id given).")
    item_id: str | None = None
    category: str | None = None
    interval: float | None = Field(None, description="Coverage of [lo, hi], e.g. 0.8.")
    rows: list[ForecastPoint]


class StockAlert(s._Out):
    item_id: str
    alert: Literal["stockout_risk", "overstock"]
    on_hand: float | None = None
    daily_demand: float | None = Field(None, description="Mean forecast units per day.")
    days_of_cover: float | None = Field(
        None, description="on_hand / daily_demand; null where no demand is expected."
    )
    safety_stock: float | None = None
    reorder_point: float | None = None
    order_qty: float | None = Field(None, description="Units to order now (0: none).")
    stockout_date: str | None = Field(
        None, description="First day the forecast empties the stock; null: not in the horizon."
    )


class StockAlertList(s.RunRef):
    total: int = Field(description="Items with an alert (stockout_risk or overstock).")
    items: int = Field(description="Items with a stock snapshot.")
    rows: list[StockAlert]


class PricingRow(s._Out):
    level: Literal["category", "item"]
    category: str | None = None
    item_id: str | None = None
    elasticity: float | None = Field(None, description="Null: not enough price variation.")
    lo: float | None = None
    hi: float | None = None
    n_price_changes: int
    suggested_discount: float | None = Field(None, description="Share of the list price.")
    note: str | None = None


class PricingList(s.RunRef):
    rows: list[PricingRow]


# -- reading the run -------------------------------------------------------------------------


def _frame(snap: Snapshot, name: str, what: str, fill: str) -> pd.DataFrame:
    df = snap.frames.get(name)
    if df is None:
        raise NotInRun(f"run {snap.run_id} (as of {snap.as_of}) has no {what}: {fill}")
    return df


def _positions(snap: Snapshot, level: str) -> dict[str, np.ndarray]:
    """Row positions of each series of ``level`` (made once per snapshot)."""

    def make() -> dict[str, np.ndarray]:
        df = snap.frames[FRAMES[level]]
        keys = df[KEYS[level]].fillna("").astype(str)
        return {str(k): np.asarray(v) for k, v in keys.groupby(keys, sort=False).indices.items()}

    return snap.derived(("forecast_index", level), make)


def interval(snap: Snapshot) -> float | None:
    """The forecast interval's coverage the run used (None when it did not say)."""
    st = ((snap.run.get("stats") or {}).get("demand") or {}).get("forecast") or {}
    return st.get("interval")


def horizon(snap: Snapshot) -> int | None:
    st = ((snap.run.get("stats") or {}).get("demand") or {}).get("forecast") or {}
    return st.get("horizon")


def forecast_series(
    snap: Snapshot, item_id: str | None = None, category: str | None = None
) -> tuple[Level, pd.DataFrame]:
    """(level, rows ``date, forecast, lo, hi`` by date) of an item, a category or, with
    neither, the shop. NotInRun without forecasts; UnknownSeries for an id not forecast."""
    level: Level = "item" if item_id is not None else "category" if category is not None else "shop"
    df = _frame(snap, FRAMES[level], f"{level} forecast", FORECAST_CMD)
    if level == "shop":
        return level, df[POINT].sort_values("date").reset_index(drop=True)
    key = str(item_id if level == "item" else category)
    pos = _positions(snap, level).get(key)
    if pos is None:
        why = (
            "only items sold in the 365 days before as-of are forecast"
            if level == "item"
            else "categories are the items table's category paths"
        )
        raise UnknownSeries(
            f"no {level} {key!r} in the forecast of run {snap.run_id} (as of {snap.as_of}): {why}"
        )
    return level, df.iloc[pos][POINT].sort_values("date").reset_index(drop=True)


def categories(snap: Snapshot) -> list[dict[str, Any]]:
    """Each forecast category with its units over the horizon, the largest first."""

    def make() -> list[dict[str, Any]]:
        df = snap.frames.get(FRAMES["category"])
        if df is None or df.empty:
            return []
        g = df.groupby("category", sort=False).agg(
            units=("forecast", "sum"), lo=("lo", "sum"), hi=("hi", "sum"), days=("date", "size")
        )
        g = g.assign(per_day=g["units"] / g["days"]).reset_index()
        g = g.sort_values(["units", "category"], ascending=[False, True], kind="stable")
        return records(g[["category", "units", "per_day", "days"]])

    return snap.derived("forecast_categories", make)


def _alert_order(inv: pd.DataFrame) -> pd.DataFrame:
    """Alerts only: stock-out risk first, soonest out first (no date last), then overstock."""
    a = inv[inv["alert"].isin(list(ALERT_RANK))]
    rank = a["alert"].map(ALERT_RANK)
    out = a[[c for c in ALERT_COLUMNS if c in a]].copy()
    out["item_id"] = out["item_id"].astype(str)
    cover = pd.to_numeric(out["days_of_cover"], errors="coerce")
    order = out.assign(_r=rank, _d=out["stockout_date"].fillna("9999"), _c=cover)
    order = order.sort_values(["_r", "_d", "_c", "item_id"], kind="stable")
    return order.drop(columns=["_r", "_d", "_c"]).reset_index(drop=True)


def alerts(snap: Snapshot) -> pd.DataFrame:
    """Items with an alert, most urgent first (sorted once per snapshot)."""
    inv = _frame(snap, "inventory", "stock alerts", STOCK_CMD)
    return snap.derived("stock_alerts", lambda: _alert_order(inv))


def alert_counts(snap: Snapshot) -> dict[str, int]:
    """Items per alert, items with a snapshot, items to order (0s without inventory)."""
    inv = snap.frames.get("inventory")
    if inv is None:
        return {}
    n = inv["alert"].value_counts()
    return {
        "items": len(inv),
        "stockout_risk": int(n.get("stockout_risk", 0)),
        "overstock": int(n.get("overstock", 0)),
        "to_order": int((pd.to_numeric(inv["order_qty"], errors="coerce") > 0).sum()),
    }


def pricing(snap: Snapshot) -> pd.DataFrame:
    """Elasticities per category, then its items (as the run wrote them)."""
    df = _frame(snap, "pricing", "elasticities", PRICING_CMD)
    return df[[c for c in PRICING_COLUMNS if c in df]]


def json_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON (inf, which days_of_cover holds for no demand, becomes null)."""
    return records(df, strict=True)


# -- what the page and the report show -------------------------------------------------------


def report_parts(snap: Snapshot, t: Any, top: int = 20) -> list[tuple[str, str, str, list[Any]]]:
    """The report's demand section as (title, note, table spec, rows) for its ``_grid``:
    forecast by category, the stock-out list, elasticities; [] for a run without any."""
    days = horizon(snap) or 0
    out: list[tuple[str, str, str, list[Any]]] = []
    cats = categories(snap)
    if cats:
        spec = "category forecast/units:f1 forecast_daily/per_day:f2"
        out.append((t.forecast_by_category, _fill(t.forecast_report_help, days, snap), spec, cats))
    if snap.has("inventory"):
        rows = json_rows(alerts(snap).head(top))
        note = t.stock_help if rows else t.stock_all_ok
        spec = "item/item_id alert:v on_hand:count daily_demand:f2 days_of_cover:f1 "
        spec += "reorder_point:f1 order_qty:count stockout_date"
        out.append((t.stock_title, note, spec, rows))
    if snap.has("pricing"):
        spec = "level:v category item/item_id elasticity:f2 elasticity_interval/interval "
        spec += "n_price_changes:count suggested_discount:pct0 note:v"
        rows = [
            {
                **r,
                "interval": f"[{r['lo']:.2f}, {r['hi']:.2f}]"
                if r["elasticity"] is not None
                else "–",
            }
            for r in json_rows(pricing(snap).head(top * 5))
        ]
        out.append((t.prices_title, t.prices_help, spec, rows))
    return out


def _fill(text: str, days: int, snap: Snapshot) -> str:
    share = interval(snap)
    return text.replace("{days}", str(days)).replace("{interval}", f"{share:.0%}" if share else "")


def page_data(snap: Snapshot, category: str | None, alert_rows: int = 50) -> dict[str, Any]:
    """The Demand page: the chosen series (the shop, else a category) and its points, the
    categories to pick from, the first alerts and their counts, the elasticities."""
    cats = categories(snap)
    names = [c["category"] for c in cats]
    has_shop = snap.has(FRAMES["shop"])
    chosen = category if category in names else None
    if chosen is None and not has_shop and names:
        chosen = names[0]
    points: list[dict[str, Any]] = []
    if chosen is not None or has_shop:
        points = json_rows(forecast_series(snap, category=chosen)[1])
    inv = snap.frames.get("inventory")
    alert_list = alerts(snap) if inv is not None else None
    price = pricing(snap) if snap.has("pricing") else None
    return {
        "has_forecast": bool(points),
        "category": chosen,
        "categories": cats,
        "has_shop": has_shop,
        "points": points,
        "horizon": horizon(snap) or len(points),
        "interval": interval(snap),
        "has_inventory": inv is not None,
        "alerts": [] if alert_list is None else json_rows(alert_list.head(alert_rows)),
        "alerts_total": 0 if alert_list is None else len(alert_list),
        "counts": alert_counts(snap),
        "has_pricing": price is not None,
        "pricing": [] if price is None else json_rows(price),
    }
