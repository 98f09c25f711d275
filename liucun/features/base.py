"""What every feature family shares: the point in time, durations, the customer base.

Feature code is written once as Ibis expressions so it runs on any Ibis backend (DuckDB
by default, Spark for scale). ``as_of`` is 00:00 UTC of a day; nothing at or after it is
read: every family filters ``ts < as_of`` before anything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from liucun.errors import LiucunError

DAY_US = 86_400_000_000


class NoCustomers(LiucunError, ValueError):
    """Nothing in the warehouse names a customer (a ValueError too, for callers that
    treat "no data" as empty)."""


@dataclass(frozen=True)
class Feature:
    name: str
    family: str
    meaning: str
    window: str  # "30d", "90d", "lifetime", ...


def as_of_value(as_of: dt.date | dt.datetime | str) -> ibis.expr.types.TimestampScalar:
    """``as_of`` as a timestamp literal: a date means 00:00 UTC that day."""
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    if not isinstance(as_of, dt.datetime):
        as_of = dt.datetime.combine(as_of, dt.time())
    return ibis.literal(as_of.replace(tzinfo=None), type="timestamp")


def days_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    """Fractional days from ``earlier`` to ``later``, the same on every engine."""
    return later.delta(earlier, unit="microsecond").cast("float64") / DAY_US


def count_if(t: ir.Table, cond: ir.BooleanValue) -> ir.IntegerScalar:
    """Rows of the group where ``cond`` holds: 0, never NULL, on every engine.

    Spark compiles a conditional count to ``SUM(CAST(cond AS BIGINT))``, which is NULL
    when ``cond`` is NULL on every row of a group (a customer whose reviews all lack a
    rating); DuckDB's ``COUNT(*) FILTER (WHERE cond)`` gives 0. ``fill_null(0)`` agrees.
    """
    return t.count(where=cond).fill_null(0)


def since(t: ir.Table, as_of: ir.TimestampScalar, days: int) -> ir.BooleanValue:
    """Rows in the window [as_of - days, as_of)."""
    return t.ts >= as_of - ibis.interval(days=days)


def before(t: ir.Table, as_of: ir.TimestampScalar, column: str = "ts") -> ir.Table:
    return t.filter(t[column] < as_of)


def known_customers(tables: Mapping[str, ir.Table], as_of: ir.TimestampScalar) -> ir.Table:
    """One row per customer known as of ``as_of`` with when they were first seen.

    Known: a users row with signup before ``as_of`` (or no signup date), or any row of
    any table before it.
    """
    parts = []
    for name, t in tables.items():
        if name == "users":
            u = t.filter(t.signup_ts.isnull() | (t.signup_ts < as_of))
            parts.append(u.select(user_id=u.user_id, first_seen=u.signup_ts))
        elif "user_id" in t.columns and "ts" in t.columns:
            b = before(t, as_of)
            parts.append(b.select(user_id=b.user_id, first_seen=b.ts))
    if not parts:
        raise NoCustomers(
            f"no customers as of {as_of}: the warehouse holds no users, orders or events "
            "(see `liucun ingest`)"
        )
    allrows = ibis.union(*parts, distinct=False)
    return allrows.group_by("user_id").aggregate(first_seen=allrows.first_seen.min())
