"""Per-customer reasons in words from SHAP contributions.

The churn model's contributions are on the log-odds of *purchasing*; the features that
push a customer's score down the most are the drivers of their churn risk. Each driver is
written from the customer's own values ("no purchase for 94 days, 3.1× longer than
usual"), falling back to the feature's documented meaning.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

Row = dict[str, float]


def _num(row: Row, name: str) -> float:
    v = row.get(name)
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return f


def _recency(r: Row) -> str | None:
    days, ratio = _num(r, "recency_days"), _num(r, "gap_ratio")
    if math.isnan(days):
        return "has never ordered"
    text = f"no purchase for {days:.0f} days"
    if not math.isnan(ratio) and ratio >= 1.5:
        text += f", {ratio:.1f}× longer than usual"
    return text


def _gap(r: Row) -> str | None:
    ratio = _num(r, "gap_ratio")
    if math.isnan(ratio):
        return None
    if ratio >= 1.0:
        return f"current gap {ratio:.1f}× the usual time between orders"
    return f"current gap {ratio:.1f}× the usual time between orders (not yet overdue)"


def _spend_trend(r: Row) -> str | None:
    now, trend = _num(r, "revenue_30d"), _num(r, "revenue_trend_30d")
    if math.isnan(now) or math.isnan(trend):
        return None
    before = now - trend
    if before > 0 and trend < 0:
        return f"spend down {-trend / before:.0%} vs the previous month"
    if trend > 0:
        return f"spend up {trend:.0f} vs the previous month"
    return "no spend in the last two months" if before <= 0 and now <= 0 else None


def _orders_trend(r: Row) -> str | None:
    trend = _num(r, "orders_trend_30d")
    if math.isnan(trend) or trend == 0:
        return None
    word = "fewer" if trend < 0 else "more"
    return f"{abs(trend):.0f} {word} orders than the month before"


def _negative_reviews(r: Row) -> str | None:
    share, total = _num(r, "negative_review_share"), _num(r, "reviews_total")
    if math.isnan(share) or math.isnan(total):
        return None
    n = round(share * total)
    if n == 0:
        return f"{total:.0f} reviews, none negative"
    return f"{n} negative review{'s' if n != 1 else ''}"


def _fmt(template: str, name: str) -> Callable[[Row], str | None]:
    def f(r: Row) -> str | None:
        v = _num(r, name)
        return None if math.isnan(v) else template.format(v=v)

    return f


TEMPLATES: dict[str, Callable[[Row], str | None]] = {
    "recency_days": _recency,
    "gap_ratio": _gap,
    "revenue_trend_30d": _spend_trend,
    "orders_trend_30d": _orders_trend,
    "negative_review_share": _negative_reviews,
    "rating_mean": _fmt("mean rating {v:.1f}", "rating_mean"),
    "days_since_last_event": _fmt("no visit for {v:.0f} days", "days_since_last_event"),
    "sessions_30d": _fmt("{v:.0f} sessions in the last 30 days", "sessions_30d"),
    "sessions_90d": _fmt("{v:.0f} sessions in the last 90 days", "sessions_90d"),
    "views_30d": _fmt("{v:.0f} product views in the last 30 days", "views_30d"),
    "views_90d": _fmt("{v:.0f} product views in the last 90 days", "views_90d"),
    "orders_total": _fmt("{v:.0f} orders in total", "orders_total"),
    "orders_365d": _fmt("{v:.0f} orders in the last year", "orders_365d"),
    **{
        f"orders_{w}d": _fmt(f"{{v:.0f}} orders in the last {w} days", f"orders_{w}d")
        for w in (30, 90, 180)
    },
    "revenue_365d": _fmt("spent {v:.0f} in the last year", "revenue_365d"),
    **{
        f"revenue_{w}d": _fmt(f"spent {{v:.0f}} in the last {w} days", f"revenue_{w}d")
        for w in (30, 90, 180)
    },
    "revenue_total": _fmt("spent {v:.0f} in total", "revenue_total"),
    "cart_abandon_rate_90d": _fmt("abandoned {v:.0%} of carts (90 days)", "cart_abandon_rate_90d"),
    "support_90d": _fmt("{v:.0f} support contacts in 90 days", "support_90d"),
    "tenure_days": _fmt("customer for {v:.0f} days", "tenure_days"),
    "first_order_days": _fmt("first order {v:.0f} days ago", "first_order_days"),
    "ipi_mean_days": _fmt("usually orders every {v:.0f} days", "ipi_mean_days"),
    "refund_share": _fmt("{v:.0%} of orders refunded", "refund_share"),
    "cancel_share": _fmt("{v:.0%} of orders cancelled", "cancel_share"),
    "coupon_order_share": _fmt("{v:.0%} of orders with a coupon", "coupon_order_share"),
    "top_category": lambda r: (
        f"mostly buys {r['top_category']}" if isinstance(r.get("top_category"), str) else None
    ),
    "discount_share": _fmt("{v:.0%} of spend was discount", "discount_share"),
    "days_since_last_treatment": _fmt(
        "last campaign contact {v:.0f} days ago", "days_since_last_treatment"
    ),
    "aov": _fmt("average order {v:.0f}", "aov"),
    "btyd_value": _fmt("expected order value {v:.0f}", "btyd_value"),
    "orders_decay_30d": _fmt("{v:.1f} recent orders (30-day decay)", "orders_decay_30d"),
    "orders_decay_90d": _fmt("{v:.1f} recent orders (90-day decay)", "orders_decay_90d"),
    "orders_decay_365d": _fmt("{v:.1f} orders, 365-day decay", "orders_decay_365d"),
    "revenue_decay_90d": _fmt("{v:.0f} recent spend (90-day decay)", "revenue_decay_90d"),
    "btyd_p_alive": _fmt("BG/NBD P(active) {v:.0%}", "btyd_p_alive"),
    "btyd_expected": _fmt("BG/NBD expects {v:.1f} orders", "btyd_expected"),
    "treatments_180d": _fmt("{v:.0f} campaign contacts in 180 days", "treatments_180d"),
}


MISSING: dict[str, str] = {
    "days_since_last_event": "no site visits on record",
    "days_since_last_treatment": "never reached by a campaign",
    "rating_mean": "no ratings given",
    "recency_days": "has never ordered",
    "ipi_mean_days": "fewer than two orders",
    "gap_ratio": "fewer than two orders",
    "aov": "no paid orders",
    "btyd_p_alive": "no orders for BG/NBD to judge",
    "btyd_expected": "no orders for BG/NBD to judge",
}


def describe(name: str, row: Row, meanings: dict[str, str]) -> str:
    """One driver in words; the documented meaning and the value when no template fits."""
    v = row.get(name)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MISSING.get(name, f"{meanings.get(name, name)}: none on record")
    template = TEMPLATES.get(name)
    text = template(row) if template else None
    if text:
        return text
    meaning = meanings.get(name, name)
    if isinstance(v, float):
        return f"{meaning}: {v:.3g}"
    return f"{meaning}: {v}"


def top_reasons(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    meanings: dict[str, str],
    k: int = 3,
    sign: int = -1,
) -> list[str]:
    """The ``k`` features pushing each row's score in ``sign``'s direction, as text.

    ``sign=-1`` picks the most negative contributions (drivers of churn when the model
    scores purchase). Rows where nothing pushes that way get the largest absolute ones.
    """
    c = contributions.to_numpy(dtype=float) * sign
    names = list(contributions.columns)
    order = np.argsort(-c, axis=1, kind="stable")[:, :k]
    # Every column is kept: some phrases read a second one (spend trend needs revenue_30d).
    records = values.to_dict("records")
    out: list[str] = []
    for i, row in enumerate(records):
        picked = [j for j in order[i] if c[i, j] > 0] or [int(np.argmax(np.abs(c[i])))]
        texts = list(dict.fromkeys(describe(names[j], row, meanings) for j in picked))
        out.append("; ".join(texts))
    return out
