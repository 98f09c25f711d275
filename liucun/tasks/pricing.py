"""Price elasticity per category (and item) and the discount depth worth offering.

Daily units and paid prices come from :func:`liucun.features.demand.daily_units` (the
shop's days, ``[shop] timezone``); the elasticity from :class:`PriceElasticity` (Poisson
fixed effects with weekday, season and promotion controls). The promotion controls are
per shop day: the share of orders that carried an offer (a coupon or a discount), and
flags for the marketplace festivals (11.11 and its warm-up, 6.18 and its ramp, 12.12,
3.8, the Spring Festival shutdown), when prices are cut and demand rises for reasons of
its own. Nothing at or after 00:00 of ``as_of`` in the shop's zone is read.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from liucun import config
from liucun.errors import LiucunError
from liucun.features.demand import QUARTER_HOUR_S, daily_units, shop_midnight_utc, shop_zone
from liucun.models.elasticity import NO_VARIATION, PriceElasticity, suggested_discount
from liucun.sim.calendar import CHINESE_NEW_YEAR

if TYPE_CHECKING:
    from liucun.workspace import Workspace

OUTPUT_COLUMNS = [
    "level",
    "category",
    "item_id",
    "elasticity",
    "lo",
    "hi",
    "n_price_changes",
    "suggested_discount",
    "note",
]
NO_CATEGORY = "(none)"
# Festival windows as (month, first day, last day): the day itself and its run-up apart,
# since a pre-sale lifts demand far less than the day.
FESTIVALS: dict[str, tuple[int, int, int]] = {
    "fest_1111": (11, 11, 11),
    "fest_1111_warmup": (11, 1, 10),
    "fest_618": (6, 18, 18),
    "fest_618_ramp": (6, 1, 17),
    "fest_1212": (12, 12, 12),
    "fest_38": (3, 8, 8),
}
CONTROLS = ("offer_share", *FESTIVALS, "spring_festival")


def pricing_config(ws: Workspace) -> dict[str, Any]:
    """``[pricing]`` of liucun.toml over its defaults, checked."""
    cfg = config.section("pricing", ws.config)
    if not 0 <= float(cfg["margin_floor"]) < 1:
        raise LiucunError("liucun.toml [pricing] margin_floor: expected 0 <= margin_floor < 1")
    if not 0 < float(cfg["cost_share"]) < 1:
        raise LiucunError("liucun.toml [pricing] cost_share: expected 0 < cost_share < 1")
    if not 0 <= float(cfg["max_discount"]) < 1:
        raise LiucunError("liucun.toml [pricing] max_discount: expected 0 <= max_discount < 1")
    if int(cfg["min_price_changes"]) < 1 or int(cfg["history_days"]) < 28:
        raise LiucunError(
            "liucun.toml [pricing]: expected min_price_changes >= 1 and history_days >= 28"
        )
    if not 0 < float(cfg["confidence"]) < 1:
        raise LiucunError("liucun.toml [pricing] confidence: expected a share between 0 and 1")
    return cfg


@dataclass
class PricingResult:
    frame: pd.DataFrame  # OUTPUT_COLUMNS, categories first within each category
    stats: dict[str, Any] = field(default_factory=dict)


def festival_flags(dates: pd.Series) -> pd.DataFrame:
    """One 0/1 column per festival window (:data:`FESTIVALS`) and the Spring Festival
    shutdown (3 days before Chinese New Year to 7 after, years 2015-2035)."""
    d = pd.to_datetime(dates)
    month, day = d.dt.month.to_numpy(), d.dt.day.to_numpy()
    out = {
        name: ((month == m) & (day >= lo) & (day <= hi)).astype(float)
        for name, (m, lo, hi) in FESTIVALS.items()
    }
    spring = np.zeros(len(d))
    for cny in CHINESE_NEW_YEAR.values():
        gap = (d - pd.Timestamp(cny)).dt.days.to_numpy()
        spring[(gap >= -3) & (gap <= 7)] = 1.0
    out["spring_festival"] = spring
    return pd.DataFrame(out, index=dates.index)


def offer_share(ws: Workspace, as_of: dt.date, days: int, tz: str) -> pd.DataFrame:
    """(date, offer_share): per shop day, the share of orders not cancelled that carried a
    coupon code or a discount. Summed per UTC quarter hour in Ibis, then per shop day."""
    o = ws.table("orders")
    hi = ibis.literal(shop_midnight_utc(as_of, tz), type="timestamp")
    lo = ibis.literal(shop_midnight_utc(as_of - dt.timedelta(days=days), tz), type="timestamp")
    o = o.filter((o.ts < hi) & (o.ts >= lo) & (o.status.isnull() | (o.status != "cancelled")))
    offered = (o.discount.fill_null(0) > 0) | (o.coupon_code.fill_null("") != "")
    o = o.mutate(
        bucket=(o.ts.epoch_seconds() // QUARTER_HOUR_S).cast("int64"),
        offered=offered.ifelse(1, 0),
    )
    agg = ws.warehouse.frame(
        o.group_by("bucket").aggregate(orders=o.count(), offered=o.offered.sum())
    )
    if agg.empty:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "offer_share": []})
    utc = pd.to_datetime(agg["bucket"].astype("int64") * QUARTER_HOUR_S, unit="s", utc=True)
    agg["date"] = utc.dt.tz_convert(shop_zone(tz)).dt.tz_localize(None).dt.normalize()
    day = agg.groupby("date", sort=True)[["orders", "offered"]].sum().reset_index()
    day["offer_share"] = day["offered"].astype(float) / day["orders"].astype(float)
    day["date"] = day["date"].astype("datetime64[ns]")
    return day[["date", "offer_share"]]


def item_catalogue(ws: Workspace) -> pd.DataFrame:
    """(item_id, category, cost_share): the category path ("(none)" when missing) and,
    where the items table has ``cost`` and ``price`` columns, cost / price."""
    cols = ws.warehouse.columns("items") if "items" in ws.warehouse.table_names() else []
    if "item_id" not in cols:
        return pd.DataFrame(columns=["item_id", "category", "cost_share"])
    t = ws.table("items")
    has_cost = "cost" in cols and "price" in cols
    share = (
        (t.cost.cast("float64") / t.price.cast("float64")).name("cost_share")
        if has_cost
        else ibis.null("float64").name("cost_share")
    )
    category = t.category if "category" in cols else ibis.null("string")
    items = ws.warehouse.frame(
        t.select(item_id=t.item_id.cast("string"), category=category, cost_share=share)
    )
    items["category"] = items["category"].fillna(NO_CATEGORY).replace("", NO_CATEGORY)
    bad = ~items["cost_share"].between(0, 1, inclusive="neither")
    items.loc[bad, "cost_share"] = np.nan
    return items.drop_duplicates("item_id").sort_values("item_id").reset_index(drop=True)


def censored_days(
    ws: Workspace, as_of: dt.date, days: int, tz: str, daily: pd.DataFrame
) -> pd.DataFrame:
    """(item_id, date): shop days on which an item's sales were capped by its stock, from
    the ``inventory`` snapshots (none without that table): the shelf opened empty, or what
    sold that day used up all that was there as it opened (a sell-out hides the rest of
    the demand). Stock-outs strike hardest on cheap days, so leaving them in makes demand
    look deaf to price. Only each shop day's first snapshot counts as its opening stock."""
    none = pd.DataFrame(
        {"item_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[ns]")}
    )
    if "inventory" not in ws.warehouse.table_names():
        return none
    t = ws.table("inventory")
    hi = ibis.literal(shop_midnight_utc(as_of, tz), type="timestamp")
    lo = ibis.literal(shop_midnight_utc(as_of - dt.timedelta(days=days), tz), type="timestamp")
    t = t.filter((t.ts < hi) & (t.ts >= lo) & t.on_hand.notnull())
    snap = ws.warehouse.frame(
        t.select(item_id=t.item_id.cast("string"), ts=t.ts, on_hand=t.on_hand)
    )
    if snap.empty:
        return none
    ts = pd.to_datetime(snap["ts"])
    ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    snap["date"] = ts.dt.tz_convert(shop_zone(tz)).dt.tz_localize(None).dt.normalize()
    snap["date"] = snap["date"].astype("datetime64[ns]")
    snap = snap.assign(_ts=ts).sort_values(["item_id", "_ts"], kind="stable")
    opening = snap.drop_duplicates(["item_id", "date"], keep="first")[
        ["item_id", "date", "on_hand"]
    ]
    sold = daily[["item_id", "date", "units"]].copy()
    sold["date"] = pd.to_datetime(sold["date"]).astype("datetime64[ns]")
    m = opening.merge(sold, on=["item_id", "date"], how="left").fillna({"units": 0.0})
    capped = (m["on_hand"] <= 0) | (m["units"] >= m["on_hand"])
    return m.loc[capped, ["item_id", "date"]].reset_index(drop=True)


def pricing(ws: Workspace, as_of: dt.date) -> PricingResult:
    """Elasticity and suggested discount per category and per item with enough changes."""
    started = time.perf_counter()
    cfg = pricing_config(ws)
    tz = str(config.section("shop", ws.config).get("timezone", "UTC"))
    days = int(cfg["history_days"])
    daily = daily_units(ws, as_of, days=days, tz=tz)
    items = item_catalogue(ws)
    daily = daily.merge(items[["item_id", "category"]], on="item_id", how="left")
    daily["category"] = daily["category"].fillna(NO_CATEGORY)
    daily = daily[daily["price"].notna() & (daily["price"] > 0) & (daily["units"] > 0)]
    stats: dict[str, Any] = {"as_of": as_of.isoformat(), "history_days": days, "timezone": tz}
    if daily.empty:
        frame = pd.DataFrame(columns=OUTPUT_COLUMNS)
        stats.update(categories=0, items=0, estimated=0, seconds=0.0)
        stats["note"] = "no priced sales in the history window"
        return PricingResult(frame, stats)
    span = pd.Series(pd.date_range(daily["date"].min(), daily["date"].max(), freq="D"))
    controls = pd.concat([span.rename("date"), festival_flags(span)], axis=1)
    offers = offer_share(ws, as_of, days, tz)
    controls = controls.merge(offers, on="date", how="left").fillna({"offer_share": 0.0})
    model = PriceElasticity(
        min_price_changes=int(cfg["min_price_changes"]),
        change_threshold=float(cfg["price_change_threshold"]),
        controls=CONTROLS,
        confidence=float(cfg["confidence"]),
    )
    censored = censored_days(ws, as_of, days, tz, daily)
    model.fit(daily, day_controls=controls, exclude=censored)
    est = model.estimates_.copy()
    frame = _with_discounts(est, items, cfg)
    estimated = frame["elasticity"].notna()
    stats.update(
        categories=int((frame["level"] == "category").sum()),
        categories_estimated=int((estimated & (frame["level"] == "category")).sum()),
        items=int(daily["item_id"].nunique()),
        items_estimated=int((estimated & (frame["level"] == "item")).sum()),
        discounts=int((frame["suggested_discount"] > 0).sum()),
        item_days=int(model.n_obs_),
        censored_item_days=len(censored),
        seconds=round(time.perf_counter() - started, 3),
    )
    return PricingResult(frame, stats)


def _with_discounts(est: pd.DataFrame, items: pd.DataFrame, cfg: dict[str, Any]) -> pd.DataFrame:
    """The contract's columns: each estimate with its suggested discount and note.

    The unit cost share is the item's (items ``cost`` / ``price``), a category's median
    over its items, else ``[pricing] cost_share``. No discount is suggested where the
    interval reaches 0: the data cannot tell that demand responds to price at all.
    """
    default = float(cfg["cost_share"])
    item_share = items.set_index("item_id")["cost_share"]
    cat_share = items.groupby("category")["cost_share"].median()
    discounts, notes = [], []
    for r in est.itertuples(index=False):
        share = item_share.get(r.item_id) if r.level == "item" else cat_share.get(r.category)
        share = default if share is None or not np.isfinite(share) else float(share)
        if r.note:
            depth, note = 0.0, r.note
        elif r.hi >= 0:
            depth, note = 0.0, "interval includes 0: no discount"
        else:
            depth, note = suggested_discount(
                r.elasticity, share, float(cfg["margin_floor"]), float(cfg["max_discount"])
            )
        discounts.append(depth)
        notes.append(note)
    out = est.assign(suggested_discount=discounts, note=notes)
    for c in ("elasticity", "lo", "hi"):
        out[c] = out[c].astype(float).round(4)
    out["n_price_changes"] = out["n_price_changes"].astype(int)
    out = out.sort_values(["category", "level", "item_id"], kind="stable")
    return out[OUTPUT_COLUMNS].reset_index(drop=True)


__all__ = ["NO_VARIATION", "OUTPUT_COLUMNS", "PricingResult", "pricing", "pricing_config"]
