"""One customer's timeline: orders, campaign contacts, reviews and events, newest first.

The dashboard's customer 360 reads it. DuckDB has one writer, and a daily run or an
ingest may hold the warehouse while the server answers, so :func:`read_timeline` opens
the file read-only and gives up at once (``None``) when it cannot: the page then says the
timeline is unavailable during a run rather than wait for the lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from liucun.warehouse import Warehouse

__all__ = ["COLUMNS", "customer_timeline", "read_timeline"]

COLUMNS = ("ts", "kind", "what", "item_id", "amount", "detail")


# table → (kind, what, item_id, amount, detail): which columns say what, per table.
PARTS: dict[str, tuple[str, str, str, str, str]] = {
    "orders": ("order", "status", "order_id", "amount", "coupon_code"),
    "treatments": ("campaign", "action", "campaign_id", "cost", "arm"),
    "reviews": ("review", "rating", "item_id", "rating", "text"),
    "events": ("event", "event_type", "item_id", "value", "session_id"),
}


def _part(t: ir.Table, user_id: str, table: str) -> ir.Table:
    kind, what, item, amount, detail = PARTS[table]
    x = t.filter(t.user_id == user_id)
    w = x[what].cast("string")
    return x.select(
        ts=x.ts,
        kind=ibis.literal(kind),
        what=w.fill_null("paid") if table == "orders" else w,  # status is optional
        item_id=x[item].cast("string"),
        amount=x[amount].cast("float64"),
        detail=x[detail].cast("string"),
    )


def customer_timeline(
    tables: Mapping[str, ir.Table], user_id: str, limit: int = 200
) -> pd.DataFrame:
    """The newest ``limit`` rows of each table for ``user_id``, merged, newest first (per
    table, so a flood of page views never hides the orders).

    Columns :data:`COLUMNS`: ``kind`` is order / campaign / review / event; ``what`` the
    order status, action, rating or event type; ``item_id`` the order, campaign or item;
    ``amount`` what was paid, the contact cost, the rating or the event value.
    """
    frames = []
    for name in PARTS:
        if name in tables:
            expr = _part(tables[name], user_id, name).order_by(lambda t: t.ts.desc()).limit(limit)
            frames.append(expr.execute())
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    out = pd.concat(frames, ignore_index=True)[list(COLUMNS)]
    return out.sort_values("ts", ascending=False, kind="stable").reset_index(drop=True)


def read_timeline(warehouse: Path, user_id: str, limit: int = 200) -> pd.DataFrame | None:
    """:func:`customer_timeline` from a DuckDB file opened read-only; ``None`` when the
    file is missing or locked by a writer (a run or an ingest in progress)."""
    path = Path(warehouse)
    if not path.exists():
        return None
    try:
        with Warehouse.read_only(path) as (backend, names):
            tables = {n: backend.table(n) for n in PARTS if n in names}
            return customer_timeline(tables, user_id, limit)
    except Exception:  # locked by a writer, or opened with other settings in this process
        return None
