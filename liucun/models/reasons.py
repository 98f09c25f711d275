"""Per-customer reasons in plain words, each saying whether it raises or lowers the risk.

The churn model's contributions are on the log-odds of *purchasing*: a negative one pushes
the customer's churn risk up. A reason writes what the customer did, from their own values
("no order for 94 days — 3.1× longer than usual"), and which way it moved their score
(": raises risk" or ": lowers risk"), so a marketer reads why, not a feature's name.
Every documented feature has a phrase; one added later without a phrase falls back on its
documented meaning (never the bare column name where a meaning exists, never the
"(NULL: ...)" note written for analysts).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

Row = dict[str, float]

RAISES = "raises risk"
LOWERS = "lowers risk"
# Said when no feature moved the score at all (a model with nothing to tell them apart).
NOTHING = "nothing sets this customer apart: the usual risk"
# The windows features are counted over, in words.
_SPAN = {w: f"the last {w} days" for w in (30, 90, 180)} | {365: "the last year"}
_NULL_NOTE = re.compile(r"\s*\(NULL:[^)]*\)")


def _num(row: Row, name: str) -> float:
    v = row.get(name)
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return f


def _x(ratio: float) -> str:
    """A ratio as "3×" or "3.1×" (no trailing ".0")."""
    text = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}".rstrip("0").rstrip(".")
    return f"{text}×"


def _times(n: float) -> str:
    k = round(n)
    return {1: "once", 2: "twice"}.get(k, f"{k} times")


def _plural(n: float, word: str) -> str:
    k = round(n)
    return f"{k} {word}{'' if k == 1 else 's'}"


def _recency(r: Row) -> str | None:
    days, ratio = _num(r, "recency_days"), _num(r, "gap_ratio")
    if math.isnan(days):
        return "has never ordered"
    if days < 1:
        return "ordered today"
    if days < 2:
        return "ordered yesterday"
    if not math.isnan(ratio) and ratio >= 1.5:
        return f"no order for {days:.0f} days — {_x(ratio)} longer than usual"
    if days <= 30:
        return f"ordered {days:.0f} days ago"
    return f"no order for {days:.0f} days"


def _gap(r: Row) -> str | None:
    ratio = _num(r, "gap_ratio")
    if math.isnan(ratio):
        return None
    if ratio >= 1.5:
        return f"overdue: {_x(ratio)} their usual time between orders"
    if ratio >= 1.0:
        return f"due now: {_x(ratio)} their usual time between orders"
    if ratio < 0.1:
        return "not due yet: just ordered"
    return f"not due yet: {_x(ratio)} their usual time between orders"


def _spend_trend(r: Row) -> str | None:
    now, trend = _num(r, "revenue_30d"), _num(r, "revenue_trend_30d")
    if math.isnan(now) or math.isnan(trend):
        return None
    before = now - trend
    if before > 0 and trend < 0:
        return f"spend down {-trend / before:.0%} vs the previous month"
    if trend > 0:
        return f"spend up {trend:,.0f} vs the previous month"
    if before <= 0 and now <= 0:
        return "no spend in the last two months"
    return "spend steady vs the previous month"


def _orders_trend(r: Row) -> str | None:
    trend = _num(r, "orders_trend_30d")
    if math.isnan(trend):
        return None
    if trend == 0:
        return "as many orders as the month before"
    n = round(abs(trend))
    word = "fewer" if trend < 0 else "more"
    return f"{n} {word} order{'' if n == 1 else 's'} than the month before"


def _negative_reviews(r: Row) -> str | None:
    share, total = _num(r, "negative_review_share"), _num(r, "reviews_total")
    if math.isnan(share) or math.isnan(total):
        return None
    n = round(share * total)
    if round(total) == 0:
        return "no reviews"
    if n == 0:
        return f"{total:.0f} reviews, none negative"
    return f"{n} negative review{'s' if n != 1 else ''}"


def _orders_in(days: int) -> Callable[[Row], str | None]:
    def f(r: Row) -> str | None:
        n = _num(r, f"orders_{days}d")
        if math.isnan(n):
            return None
        return f"no orders in {_SPAN[days]}" if n < 0.5 else f"ordered {_times(n)} in {_SPAN[days]}"

    return f


def _spent_in(days: int) -> Callable[[Row], str | None]:
    def f(r: Row) -> str | None:
        v = _num(r, f"revenue_{days}d")
        if math.isnan(v):
            return None
        return f"no spend in {_SPAN[days]}" if v <= 0 else f"spent {v:,.0f} in {_SPAN[days]}"

    return f


def _decayed(
    name: str, window: Callable[[Row], str | None], what: str
) -> Callable[[Row], str | None]:
    """A time-decayed count, said as the plain count of its window where the row has it."""

    def f(r: Row) -> str | None:
        text = window(r)
        if text:
            return text
        v = _num(r, name)
        if math.isnan(v):
            return None
        return f"hardly any {what} lately" if v < 0.5 else f"regular {what} lately"

    return f


# The phrase for no events at all, per count feature: also said when the count is missing
# (a customer with no row in a table has none of its events).
_ZERO: dict[str, str] = {}


def _count(name: str, template: str, none: str) -> Callable[[Row], str | None]:
    """``none`` for zero, else ``template`` with ``{n}`` (the count), ``{s}`` (a plural
    "s") and ``{times}`` ("once", "twice", "3 times")."""
    _ZERO[name] = none

    def f(r: Row) -> str | None:
        v = _num(r, name)
        if math.isnan(v):
            return None
        n = round(v)
        return none if n == 0 else template.format(n=n, s="" if n == 1 else "s", times=_times(n))

    return f


def _fmt(name: str, template: str) -> Callable[[Row], str | None]:
    """``template`` with ``{v}`` (the value) and ``{days}`` ("1 day", "12 days")."""

    def f(r: Row) -> str | None:
        v = _num(r, name)
        if math.isnan(v):
            return None
        return template.format(v=v, days=_plural(v, "day"))

    return f


def _flag(name: str, yes: str, no: str) -> Callable[[Row], str | None]:
    def f(r: Row) -> str | None:
        v = _num(r, name)
        return None if math.isnan(v) else (yes if v >= 0.5 else no)

    return f


def _tone(name: str, what: str) -> Callable[[Row], str | None]:
    """A P(positive) of texts as their tone."""

    def f(r: Row) -> str | None:
        v = _num(r, name)
        if math.isnan(v):
            return None
        return f"{what} {'positive' if v >= 0.5 else 'negative'} in tone"

    return f


def _visit(r: Row) -> str | None:
    v = _num(r, "days_since_last_event")
    if math.isnan(v):
        return None
    if v < 1:
        return "visited the site today"
    return f"last visit {_plural(v, 'day')} ago" if v < 14 else f"no visit for {v:.0f} days"


def _categories(r: Row) -> str | None:
    n = _num(r, "categories_bought")
    if math.isnan(n):
        return None
    return f"bought from {round(n)} categor{'y' if round(n) == 1 else 'ies'}"


def _orders_total(r: Row) -> str | None:
    n = _num(r, "orders_total")
    if math.isnan(n):
        return None
    return "has never ordered" if round(n) == 0 else f"{_plural(n, 'order')} in total"


COMPLAINTS = {
    "quality": "quality",
    "delivery": "delivery",
    "service": "service",
    "price": "price",
    "size_fit": "size or fit",
    "description": "the description",
}

TEMPLATES: dict[str, Callable[[Row], str | None]] = {
    "recency_days": _recency,
    "gap_ratio": _gap,
    "revenue_trend_30d": _spend_trend,
    "orders_trend_30d": _orders_trend,
    "negative_review_share": _negative_reviews,
    "has_ordered": _flag("has_ordered", "has ordered before", "has never ordered"),
    "orders_total": _orders_total,
    **{f"orders_{w}d": _orders_in(w) for w in (30, 90, 180, 365)},
    **{f"revenue_{w}d": _spent_in(w) for w in (30, 90, 180, 365)},
    "revenue_total": lambda r: (
        None if math.isnan(v := _num(r, "revenue_total"))
        else "no paid orders" if v <= 0 else f"spent {v:,.0f} in total"
    ),
    "orders_decay_30d": _decayed("orders_decay_30d", _orders_in(30), "orders"),
    "orders_decay_90d": _decayed("orders_decay_90d", _orders_in(90), "orders"),
    "orders_decay_365d": _decayed("orders_decay_365d", _orders_in(365), "orders"),
    "revenue_decay_90d": _decayed("revenue_decay_90d", _spent_in(90), "spend"),
    "aov": _fmt("aov", "average order {v:,.0f}"),
    "tenure_days": _fmt("tenure_days", "customer for {days}"),
    "first_order_days": _fmt("first_order_days", "first order {days} ago"),
    "ipi_mean_days": _fmt("ipi_mean_days", "usually orders every {days}"),
    "ipi_std_days": _fmt("ipi_std_days", "time between orders varies by about {days}"),
    "prev_gap_days": _fmt("prev_gap_days", "{days} between the last two orders"),
    "refund_share": _fmt("refund_share", "{v:.0%} of orders refunded"),
    "cancel_share": _fmt("cancel_share", "{v:.0%} of orders cancelled"),
    "coupon_order_share": _fmt("coupon_order_share", "{v:.0%} of orders with a coupon"),
    "discount_share": _fmt("discount_share", "{v:.0%} of spend was discount"),
    "weekend_order_share": _fmt("weekend_order_share", "{v:.0%} of orders at weekends"),
    "evening_order_share": _fmt("evening_order_share", "{v:.0%} of orders in the evening"),
    "top_category": lambda r: (
        f"mostly buys {r['top_category']}" if isinstance(r.get("top_category"), str) else None
    ),
    "top_category_share": _fmt("top_category_share", "{v:.0%} of items from one category"),
    "categories_bought": _categories,
    "days_since_last_event": _visit,
    "sessions_30d": _count(
        "sessions_30d", "{n} visit{s} in the last 30 days", "no visits in the last 30 days"
    ),
    "sessions_90d": _count(
        "sessions_90d", "{n} visit{s} in the last 90 days", "no visits in the last 90 days"
    ),
    "views_30d": _count(
        "views_30d", "viewed {n} product{s} in the last 30 days",
        "no product views in the last 30 days",
    ),
    "views_90d": _count(
        "views_90d", "viewed {n} product{s} in the last 90 days",
        "no product views in the last 90 days",
    ),
    "searches_90d": _count(
        "searches_90d", "searched {times} in the last 90 days", "no searches in the last 90 days"
    ),
    "carts_90d": _count(
        "carts_90d", "added to cart {times} in the last 90 days",
        "nothing added to cart in the last 90 days",
    ),
    "cart_abandon_rate_90d": _fmt(
        "cart_abandon_rate_90d", "abandoned {v:.0%} of carts in the last 90 days"
    ),
    "logins_30d": _count(
        "logins_30d", "logged in {times} in the last 30 days", "no logins in the last 30 days"
    ),
    "support_90d": _count(
        "support_90d", "contacted support {times} in the last 90 days",
        "no support contacts in the last 90 days",
    ),
    "support_texts": _count(
        "support_texts", "wrote {n} support message{s}", "no support messages"
    ),
    "sentiment_support_mean": _tone("sentiment_support_mean", "support messages"),
    "reviews_total": _count("reviews_total", "wrote {n} review{s}", "no reviews written"),
    "rating_mean": _fmt("rating_mean", "average rating given {v:.1f}"),
    "review_sentiment_last": _tone("review_sentiment_last", "last review"),
    "review_sentiment_mean": _tone("review_sentiment_mean", "reviews"),
    "negative_text_share": _fmt("negative_text_share", "{v:.0%} of review texts negative"),
    "days_since_negative_text": _fmt("days_since_negative_text", "negative review {days} ago"),
    **{
        f"complaints_{k}": _count(
            f"complaints_{k}", f"complained about {w} in reviews ({{n}}×)",
            f"no complaints about {w}",
        )
        for k, w in COMPLAINTS.items()
    },
    "treatments_180d": _count(
        "treatments_180d", "reached by {n} campaign{s} in 180 days",
        "no campaign contact in 180 days",
    ),
    "days_since_last_treatment": _fmt(
        "days_since_last_treatment", "last campaign contact {days} ago"
    ),
    "coupon_response_rate": _fmt(
        "coupon_response_rate", "used a coupon after {v:.0%} of campaign contacts"
    ),
    "opted_out": _flag("opted_out", "opted out of marketing", "open to marketing"),
    "btyd_p_alive": _fmt("btyd_p_alive", "{v:.0%} likely still buying, by their order rhythm"),
    "btyd_expected": _fmt(
        "btyd_expected", "their order rhythm predicts about {v:.1f} orders soon"
    ),
    "btyd_value": _fmt("btyd_value", "orders usually worth about {v:,.0f}"),
}  # fmt: skip


# What a missing value says, per feature: a count's missing value is none at all.
MISSING: dict[str, str] = {
    **_ZERO,
    **{f"orders_{w}d": f"no orders in {_SPAN[w]}" for w in (30, 90, 180, 365)},
    **{f"revenue_{w}d": f"no spend in {_SPAN[w]}" for w in (30, 90, 180, 365)},
    **{f"orders_decay_{w}d": f"no orders in {_SPAN[w]}" for w in (30, 90, 365)},
    "revenue_decay_90d": f"no spend in {_SPAN[90]}",
    "orders_total": "has never ordered",
    "revenue_total": "no paid orders",
    "has_ordered": "has never ordered",
    "orders_trend_30d": "no orders in the last two months",
    "revenue_trend_30d": "no spend in the last two months",
    "opted_out": "open to marketing",
    "days_since_last_event": "no site visits on record",
    "days_since_last_treatment": "never reached by a campaign",
    "coupon_response_rate": "never reached by a campaign",
    "rating_mean": "no ratings given",
    "recency_days": "has never ordered",
    "first_order_days": "has never ordered",
    "top_category": "has never ordered",
    "top_category_share": "has never ordered",
    "categories_bought": "has never ordered",
    "ipi_mean_days": "fewer than two orders",
    "gap_ratio": "fewer than two orders",
    "prev_gap_days": "fewer than two orders",
    "ipi_std_days": "fewer than three orders",
    "aov": "no paid orders",
    "btyd_value": "no paid orders",
    "refund_share": "no orders",
    "cancel_share": "no orders",
    "coupon_order_share": "no orders",
    "weekend_order_share": "no orders",
    "evening_order_share": "no orders",
    "discount_share": "no paid orders",
    "cart_abandon_rate_90d": "no carts in the last 90 days",
    "negative_review_share": "no reviews",
    "review_sentiment_last": "no review texts",
    "review_sentiment_mean": "no review texts",
    "negative_text_share": "no review texts",
    "days_since_negative_text": "no negative review texts",
    "sentiment_support_mean": "no support messages",
    "tenure_days": "first seen date unknown",
    "btyd_p_alive": "no orders to judge their rhythm by",
    "btyd_expected": "no orders to judge their rhythm by",
}


def meaning(name: str, meanings: dict[str, str]) -> str:
    """The documented meaning of ``name`` without its "(NULL: ...)" note for analysts."""
    return _NULL_NOTE.sub("", meanings.get(name, name)).strip()


def describe(name: str, row: Row, meanings: dict[str, str]) -> str:
    """What the customer did for one feature, in words (no direction); the documented
    meaning and the value for a feature with no phrase."""
    v = row.get(name)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MISSING.get(name, f"{meaning(name, meanings)}: none on record")
    template = TEMPLATES.get(name)
    text = template(row) if template else None
    if text:
        return text
    if isinstance(v, float):
        return f"{meaning(name, meanings)}: {v:.3g}"
    return f"{meaning(name, meanings)}: {v}"


def directed(text: str, effect: float) -> str:
    """``text`` with the way it moved the churn risk: ``effect`` > 0 raises it."""
    return f"{text}: {RAISES if effect > 0 else LOWERS}"


def top_reasons(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    meanings: dict[str, str],
    k: int = 3,
    sign: int = -1,
) -> list[str]:
    """The ``k`` largest contributions of each row in words with their direction, joined
    with "; " (those raising the risk first, each group largest first). The largest one
    raising the risk is always said, in place of the smallest pick, where the row has one:
    a customer on an at-risk list gets at least one reason for the risk.

    ``sign`` is the sign of a contribution that raises churn risk: -1 when the model
    scores purchase, as the churn model does. A zero contribution says nothing (a row
    where nothing moved the score gets :data:`NOTHING`); a phrase two features share
    (both missing: "fewer than two orders") is said once, with the direction of the
    larger, and the next feature takes its place.
    """
    c = np.nan_to_num(contributions.to_numpy(dtype=float)) * sign  # > 0 raises risk
    names = list(contributions.columns)
    order = np.argsort(-np.abs(c), axis=1, kind="stable")
    # Every column is kept: some phrases read a second one (spend trend needs revenue_30d).
    records = values.to_dict("records")
    out: list[str] = []
    for i, row in enumerate(records):
        said: dict[str, float] = {}
        for j in order[i]:
            if len(said) == k or c[i, j] == 0:
                break
            said.setdefault(describe(names[j], row, meanings), float(c[i, j]))
        up = int(np.argmax(c[i])) if len(names) else 0
        if len(names) and c[i, up] > 0 and all(e <= 0 for e in said.values()):
            text = describe(names[up], row, meanings)
            if text not in said:
                if len(said) >= k:
                    said.pop(next(reversed(said)))
                said[text] = float(c[i, up])
        ranked = sorted(said.items(), key=lambda t: (t[1] <= 0, -abs(t[1])))
        out.append("; ".join(directed(text, e) for text, e in ranked) or NOTHING)
    return out


def btyd_reasons(values: pd.DataFrame, alive_split: float = 0.5) -> list[str]:
    """Reasons for a model with BTYD alone (no contributions to read): the days since the
    last order and BTYD's P(still buying), both raising the risk where P(still buying) is
    below ``alive_split`` and lowering it otherwise; "has never ordered" raises it."""
    out = []
    for row in values.to_dict("records"):
        alive = _num(row, "btyd_p_alive")
        if math.isnan(_num(row, "recency_days")):
            out.append(directed("has never ordered", 1.0))
            continue
        effect = 1.0 if math.isnan(alive) or alive < alive_split else -1.0
        parts = [describe("recency_days", row, {}), describe("btyd_p_alive", row, {})]
        out.append("; ".join(directed(p, effect) for p in dict.fromkeys(parts)))
    return out
