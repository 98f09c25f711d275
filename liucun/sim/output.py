"""Engine records → canonical Parquet files, split at day D into history and holdout.

Rows are cut by their own timestamp: a review written after D of an order placed before
D belongs to the holdout. An order's status is what was known at the cut: an order
refunded after D is ``paid`` in the history and comes back in the holdout as an update
(same ``order_id``, status ``refunded``), exactly as a shop's next export would carry it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from liucun.sim import actions as act
from liucun.sim.population import CHANNELS, REGIONS, TOP_CATEGORIES, Catalog, Customers

TS = pa.timestamp("us", tz="UTC")


def _ids(prefix: str, n: np.ndarray) -> pa.Array:
    return pa.array(np.char.add(prefix, np.asarray(n).astype(str)))


def _take(values: np.ndarray, idx: np.ndarray) -> pa.Array:
    """Strings by index, dictionary-encoded (cheap for millions of repeated ids)."""
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(values))


def _nullable_take(values: np.ndarray, idx: np.ndarray) -> pa.Array:
    mask = idx < 0
    return pa.DictionaryArray.from_arrays(
        pa.array(np.where(mask, 0, idx).astype(np.int32), mask=mask), pa.array(values)
    )


def _write(table: pa.Table, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


def _window(ts: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return (ts >= lo) & (ts < hi)


def users_table(cust: Customers, day0_us: int, sel: np.ndarray) -> pa.Table:
    signup = day0_us + (cust.arrival[sel] * 86_400 + cust.signup_offset_s[sel]) * 1_000_000
    attrs = np.char.add(
        np.char.add(np.char.add('{"device_id": "', cust.device_id[sel]), '", "lang": "'),
        np.char.add(cust.lang[sel], '"}'),
    )
    return pa.table(
        {
            "user_id": pa.array(cust.user_id[sel]),
            "signup_ts": pa.array(signup, TS),
            "region": pa.array(np.array(REGIONS)[cust.region[sel]]),
            "channel": pa.array(np.array(CHANNELS)[cust.channel[sel]]),
            "attributes": pa.array(attrs),
        }
    )


def items_table(cat: Catalog) -> pa.Table:
    return pa.table(
        {
            "item_id": pa.array(cat.item_id),
            "category": pa.array(cat.category),
            "price": pa.array(cat.price),
            "brand": pa.array(cat.brand),
            "title": pa.array(cat.title),
        }
    )


def events_table(
    ev: dict[str, np.ndarray], cust: Customers, cat: Catalog, sel: np.ndarray
) -> pa.Table:
    order = np.lexsort((ev["ts"][sel], ev["user"][sel]))
    idx = np.flatnonzero(sel)[order]
    props = ev["props"][idx]
    session = ev["session"][idx]
    return pa.table(
        {
            "user_id": _take(cust.user_id, ev["user"][idx]),
            "ts": pa.array(ev["ts"][idx], TS),
            # Object arrays go to Arrow directly: a numpy str copy of millions of rows
            # would be the largest allocation of the whole run.
            "event_type": pa.array(ev["type"][idx], pa.string()).dictionary_encode(),
            "item_id": _nullable_take(cat.item_id, ev["item"][idx]),
            "session_id": pc.if_else(
                pa.array(session < 0),
                pa.scalar(None, pa.string()),
                pc.binary_join_element_wise("s", pa.array(session).cast(pa.string()), ""),
            ).dictionary_encode(),
            "value": pa.array(ev["value"][idx], mask=np.isnan(ev["value"][idx])),
            "properties": pa.array(props, pa.string(), mask=props == ""),
        }
    )


def orders_table(
    o: dict[str, np.ndarray], cust: Customers, idx: np.ndarray, status: np.ndarray
) -> pa.Table:
    code = o["code"][idx]
    return pa.table(
        {
            "order_id": _ids("o", o["order"][idx]),
            "user_id": _take(cust.user_id, o["user"][idx]),
            "ts": pa.array(o["ts"][idx], TS),
            "amount": pa.array(o["amount"][idx]),
            "quantity": pa.array(o["quantity"][idx]),
            "status": pa.array(status.astype(str)),
            "coupon_code": pa.array(code.astype(str), mask=code == ""),
            "discount": pa.array(o["discount"][idx]),
        }
    )


def lines_table(li: dict[str, np.ndarray], cat: Catalog, sel: np.ndarray) -> pa.Table:
    return pa.table(
        {
            "order_id": _ids("o", li["order"][sel]),
            "item_id": _take(cat.item_id, li["item"][sel]),
            "quantity": pa.array(li["qty"][sel].astype(np.int64)),
            "price": pa.array(li["price"][sel]),
        }
    )


def reviews_table(
    rv: dict[str, np.ndarray], texts: list[str], cust: Customers, cat: Catalog, sel: np.ndarray
) -> pa.Table:
    idx = np.flatnonzero(sel)
    return pa.table(
        {
            "user_id": _take(cust.user_id, rv["user"][idx]),
            "ts": pa.array(rv["ts"][idx], TS),
            "text": pa.array([texts[i] for i in idx], pa.string()),
            "item_id": _take(cat.item_id, rv["item"][idx]),
            "rating": pa.array(rv["rating"][idx].astype(float)),
        }
    )


def treatments_table(tr: dict[str, np.ndarray], cust: Customers) -> pa.Table:
    return pa.table(
        {
            "user_id": _take(cust.user_id, tr["user"]),
            "ts": pa.array(tr["ts"], TS),
            "campaign_id": pa.array(tr["campaign"].astype(str)),
            "action": pa.array(tr["action"].astype(str)),
            "arm": pa.array(tr["arm"].astype(str)),
            "cost": pa.array(tr["cost"].astype(float)),
        }
    )


def write_period(
    folder: Path,
    records: dict[str, dict[str, np.ndarray]],
    texts: list[str],
    cust: Customers,
    cat: Catalog,
    day0_us: int,
    lo_day: int,
    hi_day: int,
    first_period: bool,
) -> dict[str, int]:
    """Write the canonical files for days [lo_day, hi_day); returns rows per table."""
    lo = day0_us + lo_day * 86_400 * 1_000_000
    hi = day0_us + hi_day * 86_400 * 1_000_000
    counts: dict[str, int] = {}
    arrived = (
        (cust.arrival < hi_day)
        if first_period
        else (cust.arrival >= lo_day) & (cust.arrival < hi_day)
    )
    counts["users"] = _write(
        users_table(cust, day0_us, np.flatnonzero(arrived)), folder / "users.parquet"
    )
    counts["items"] = _write(items_table(cat), folder / "items.parquet")
    ev = records["events"]
    counts["events"] = _write(
        events_table(ev, cust, cat, _window(ev["ts"], lo, hi)), folder / "events.parquet"
    )
    o = records["orders"]
    placed = _window(o["ts"], lo, hi)
    changed = (o["change_ts"] >= 0) & (o["change_ts"] < hi)
    status = np.where(changed, o["status"], "paid")
    # Orders placed in the period, plus earlier orders whose status changed in it.
    update = (o["ts"] < lo) & (o["change_ts"] >= lo) & (o["change_ts"] < hi)
    idx = np.flatnonzero(placed | update)
    idx = idx[np.lexsort((o["ts"][idx], o["user"][idx]))]
    counts["orders"] = _write(orders_table(o, cust, idx, status[idx]), folder / "orders.parquet")
    li = records["lines"]
    placed_ids = np.zeros(len(o["order"]) + 1, bool)
    placed_ids[o["order"][placed]] = True
    counts["order_items"] = _write(
        lines_table(li, cat, placed_ids[li["order"]]), folder / "order_items.parquet"
    )
    rv = records["reviews"]
    counts["reviews"] = _write(
        reviews_table(rv, texts, cust, cat, _window(rv["ts"], lo, hi)), folder / "reviews.parquet"
    )
    tr = records["treatments"]
    if first_period and len(tr.get("user", [])):
        counts["treatments"] = _write(treatments_table(tr, cust), folder / "treatments.parquet")
    else:
        empty = {
            "user": np.zeros(0, np.int64),
            "ts": np.zeros(0, np.int64),
            "campaign": np.zeros(0, object),
            "action": np.zeros(0, object),
            "arm": np.zeros(0, object),
            "cost": np.zeros(0),
        }
        counts["treatments"] = _write(treatments_table(empty, cust), folder / "treatments.parquet")
    return counts


def top_category_names(cat: Catalog, items: np.ndarray) -> np.ndarray:
    return np.array(list(TOP_CATEGORIES))[cat.top[items]]


__all__ = ["act", "top_category_names", "write_period"]
