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

__all__ = ["COLUMNS", "customer_timeline", "read_timeline"]

COLUMNS = ("ts", "kind", "what", "item_id", "amount", "detail")


def _orders(t: ir.Table, user_id: str) -> ir.Table:
    o = t.filter(t.user_id == user_id)
    return o.select(
        ts=o.ts,
        kind=ibis.literal("order"),
        what=o.status.fill_null("paid").cast("string"),
        item_id=o.order_id.cast("string"),
        amount=o.amount.cast("float64"),
        detail=o.coupon_code.cast("string"),
    )


def _events(t: ir.Table, user_id: str) -> ir.Table:
    e = t.filter(t.user_id == user_id)
    return e.select(
        ts=e.ts,
        kind=ibis.literal("event"),
        what=e.event_type.cast("string"),
        item_id=e.item_id.cast("string"),
        amount=e.value.cast("float64"),
        detail=e.session_id.cast("string"),
    )


def _treatments(t: ir.Table, user_id: str) -> ir.Table:
    c = t.filter(t.user_id == user_id)
    return c.select(
        ts=c.ts,
        kind=ibis.literal("campaign"),
        what=c.action.cast("string"),
        item_id=c.campaign_id.cast("string"),
        amount=c.cost.cast("float64"),
        detail=c.arm.cast("string"),
    )


def _reviews(t: ir.Table, user_id: str) -> ir.Table:
    r = t.filter(t.user_id == user_id)
    return r.select(
        ts=r.ts,
        kind=ibis.literal("review"),
        what=r.rating.cast("string"),
        item_id=r.item_id.cast("string"),
        amount=r.rating.cast("float64"),
        detail=r.text.cast("string"),
    )


PARTS = {"orders": _orders, "treatments": _treatments, "reviews": _reviews, "events": _events}


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
    for name, part in PARTS.items():
        if name in tables:
            expr = part(tables[name], user_id).order_by(lambda t: t.ts.desc()).limit(limit)
            frames.append(expr.execute())
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    out = pd.concat(frames, ignore_index=True)[list(COLUMNS)]
    return out.sort_values("ts", ascending=False, kind="stable").reset_index(drop=True)


def read_timeline(warehouse: Path, user_id: str, limit: int = 200) -> pd.DataFrame | None:
    """:func:`customer_timeline` from a DuckDB file opened read-only; ``None`` when the
    file is missing or locked by a writer (a run or an ingest in progress)."""
    import duckdb

    path = Path(warehouse)
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except Exception:  # locked by a writer, or opened with other settings in this process
        return None
    try:
        con.execute("SET TimeZone='UTC'")
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        names = {r[0] for r in rows}
        backend = ibis.duckdb.from_connection(con)
        tables = {n: backend.table(n) for n in PARTS if n in names}
        return customer_timeline(tables, user_id, limit)
    except Exception:
        return None
    finally:
        con.close()
