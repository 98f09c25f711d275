"""Units sold per item and shop day: the history every demand forecast starts from.

Units sold = SUM(order_items.quantity) of orders whose status is not ``cancelled``, by the
shop's calendar day of the order's ``ts`` (``[shop] timezone``). Timestamps are stored in
UTC, so the day is found in two steps: Ibis sums the lines per item and quarter hour of
UTC (every time zone's offset is a whole number of quarter hours), then pandas converts
each quarter hour to the shop's day. Nothing at or after 00:00 of ``as_of`` in the shop's
zone is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ibis
import pandas as pd

from liucun.errors import LiucunError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from liucun.workspace import Workspace

COLUMNS = ["item_id", "date", "units", "price"]
QUARTER_HOUR_S = 900


def shop_zone(tz: str) -> ZoneInfo:
    """The shop's time zone, or one clear line naming the bad value."""
    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise LiucunError(
            f"liucun.toml [shop] timezone = {tz!r}: not a time zone name (e.g. Asia/Shanghai)"
        ) from None


def shop_midnight_utc(day: dt.date, tz: str) -> dt.datetime:
    """00:00 of ``day`` in the shop's zone as a naive UTC datetime (the warehouse's ts)."""
    local = dt.datetime.combine(day, dt.time(), tzinfo=shop_zone(tz))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _tables(ws_or_tables: Workspace | Mapping[str, ir.Table]) -> Mapping[str, ir.Table]:
    if isinstance(ws_or_tables, Mapping):
        return ws_or_tables
    from liucun.engines import workspace_tables

    return workspace_tables(ws_or_tables)


def daily_units(
    ws_or_tables: Workspace | Mapping[str, ir.Table],
    as_of: dt.date,
    days: int = 365 * 3,
    tz: str = "UTC",
) -> pd.DataFrame:
    """Units and mean paid unit price per item and shop day in ``[as_of - days, as_of)``.

    Returns ``item_id`` (str), ``date`` (datetime64, the shop's day), ``units`` (float),
    ``price`` (quantity-weighted mean of ``order_items.price`` that day, NaN if none);
    days without sales are left out (callers densify), sorted by item and date.
    """
    tables = _tables(ws_or_tables)
    empty = pd.DataFrame(
        {
            "item_id": pd.Series(dtype=str),
            "date": pd.Series(dtype="datetime64[s]"),
            "units": pd.Series(dtype=float),
            "price": pd.Series(dtype=float),
        }
    )
    if "orders" not in tables or "order_items" not in tables:
        return empty
    hi = shop_midnight_utc(as_of, tz)
    lo = shop_midnight_utc(as_of - dt.timedelta(days=days), tz)
    o, li = tables["orders"], tables["order_items"]
    o = o.filter(
        (o.ts < ibis.literal(hi, type="timestamp"))
        & (o.ts >= ibis.literal(lo, type="timestamp"))
        & (o.status.isnull() | (o.status != "cancelled"))
    )
    cols = set(li.columns)
    qty = li.quantity.cast("float64").fill_null(1.0) if "quantity" in cols else ibis.literal(1.0)
    price = li.price.cast("float64") if "price" in cols else ibis.null("float64")
    j = li.select(order_id=li.order_id, item_id=li.item_id.cast("string"), qty=qty, price=price)
    j = j.join(o.select("order_id", "ts"), "order_id")
    bucket = (j.ts.epoch_seconds() // QUARTER_HOUR_S).cast("int64")
    j = j.mutate(bucket=bucket, paid=j.price * j.qty, priced=j.price.notnull().ifelse(j.qty, 0.0))
    agg = j.group_by(["item_id", "bucket"]).aggregate(
        units=j.qty.sum(), paid=j.paid.sum(), priced=j.priced.sum()
    )
    df = agg.to_pandas()
    if df.empty:
        return empty
    utc = pd.to_datetime(df["bucket"].astype("int64") * QUARTER_HOUR_S, unit="s", utc=True)
    df["date"] = utc.dt.tz_convert(shop_zone(tz)).dt.tz_localize(None).dt.normalize()
    df["item_id"] = df["item_id"].astype(str)
    out = df.groupby(["item_id", "date"], sort=True)[["units", "paid", "priced"]].sum()
    out = out.reset_index()
    out["price"] = (out["paid"] / out["priced"].where(out["priced"] > 0)).round(6)
    out = out[out["units"] != 0]
    out["date"] = out["date"].astype("datetime64[s]")
    return out[COLUMNS].astype({"units": float}).reset_index(drop=True)


def item_categories(ws_or_tables: Workspace | Mapping[str, ir.Table]) -> dict[str, str]:
    """item_id → the items table's category path ("" where the table or value is missing)."""
    tables = _tables(ws_or_tables)
    t = tables.get("items")
    if t is None or "category" not in t.columns:
        return {}
    df = t.select(item_id=t.item_id.cast("string"), category=t.category.cast("string")).to_pandas()
    df = df.sort_values("item_id", kind="stable").drop_duplicates("item_id", keep="last")
    return {
        str(i): ("" if pd.isna(c) else str(c))
        for i, c in zip(df["item_id"], df["category"], strict=True)
    }
