"""The feature families: each a function (tables, as_of) → one row per customer.

A family runs only when the tables it needs hold rows; a shop with orders only (CDNOW)
gets the order families and nothing else. Counts are filled with 0 later, in
``build_features``; ratios and averages stay NULL where undefined.

Every expression gives the same result on DuckDB and Spark (tests/features/
test_spark_parity.py): conditional counts go through ``count_if`` (never NULL), money is
cast to float before summing, durations use microsecond deltas, divisors that can be 0
are NULLed first (Spark 4 runs ANSI SQL: x / 0 raises), ties are broken by explicit keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ibis
import ibis.expr.types as ir

from liucun.features.base import Feature, before, count_if, days_between, since

WINDOWS = (30, 90, 180, 365)
# Exponentially decayed counts weigh each order by how recent it is: one number that
# ranks future buying better than any fixed window, and reads the same at any tenure.
DECAYS = (30, 90, 365)
F: list[Feature] = []


def _doc(name: str, family: str, meaning: str, window: str = "lifetime") -> None:
    F.append(Feature(name, family, meaning, window))


# -- orders: recency, frequency, monetary, rhythm, offers, returns, habits --------------
for w in WINDOWS:
    _doc(f"orders_{w}d", "orders", f"orders placed (any status) in the last {w} days", f"{w}d")
    _doc(f"revenue_{w}d", "orders", f"net revenue (paid orders) in the last {w} days", f"{w}d")
_doc("orders_total", "orders", "orders placed, any status")
_doc("revenue_total", "orders", "net revenue of paid orders")
_doc("has_ordered", "orders", "1 if the customer ever ordered")
_doc("recency_days", "orders", "days since the last order (NULL: never ordered)")
_doc("first_order_days", "orders", "days since the first order")
_doc("aov", "orders", "average paid order amount")
_doc("orders_trend_30d", "orders", "orders in the last 30 days minus the 30 before", "60d")
_doc("revenue_trend_30d", "orders", "revenue in the last 30 days minus the 30 before", "60d")
_doc("discount_share", "orders", "discounts / (net revenue + discounts)")
_doc("coupon_order_share", "orders", "share of orders that used a coupon or offer code")
_doc("refund_share", "orders", "share of orders refunded")
_doc("cancel_share", "orders", "share of orders cancelled")
_doc("weekend_order_share", "orders", "share of orders placed on Saturday or Sunday")
_doc("evening_order_share", "orders", "share of orders placed 18:00-24:00 UTC")
for tau in DECAYS:
    _doc(f"orders_decay_{tau}d", "orders", f"orders weighted by exp(-age / {tau} days)", "lifetime")
_doc("revenue_decay_90d", "orders", "paid revenue weighted by exp(-age / 90 days)", "lifetime")


def orders_family(t: Mapping[str, ir.Table], as_of: ir.TimestampScalar) -> ir.Table:
    o = before(t["orders"], as_of)
    paid = o.status == "paid"
    prev30 = (o.ts >= as_of - ibis.interval(days=60)) & (o.ts < as_of - ibis.interval(days=30))
    agg = {}
    for w in WINDOWS:
        agg[f"orders_{w}d"] = count_if(o, since(o, as_of, w))
        agg[f"revenue_{w}d"] = o.amount.cast("float64").sum(where=paid & since(o, as_of, w))
    age = days_between(as_of, o.ts)
    for tau in DECAYS:
        agg[f"orders_decay_{tau}d"] = (-age / tau).exp().sum()
    agg["revenue_decay_90d"] = (o.amount.cast("float64") * (-age / 90).exp()).sum(where=paid)
    agg.update(
        orders_total=o.count(),
        paid_orders=count_if(o, paid),
        revenue_total=o.amount.cast("float64").sum(where=paid),
        last_order=o.ts.max(),
        first_order=o.ts.min(),
        orders_prev30=count_if(o, prev30),
        revenue_prev30=o.amount.cast("float64").sum(where=paid & prev30),
        discount_total=o.discount.cast("float64").sum(),
        coupon_orders=count_if(o, o.coupon_code.notnull()),
        refunded=count_if(o, o.status == "refunded"),
        cancelled=count_if(o, o.status == "cancelled"),
        weekend=count_if(o, o.ts.day_of_week.index() >= 5),
        evening=count_if(o, o.ts.hour() >= 18),
    )
    g = o.group_by("user_id").aggregate(**agg)
    n = g.orders_total.cast("float64")
    rev = g.revenue_total.fill_null(0)
    return g.select(
        "user_id",
        *[f"orders_{w}d" for w in WINDOWS],
        *[g[f"revenue_{w}d"].fill_null(0).name(f"revenue_{w}d") for w in WINDOWS],
        "orders_total",
        revenue_total=rev,
        has_ordered=ibis.literal(1),
        recency_days=days_between(as_of, g.last_order),
        first_order_days=days_between(as_of, g.first_order),
        # Spark 4 runs in ANSI mode: x / 0 raises instead of giving inf, so NULL the divisor.
        aov=rev / g.paid_orders.cast("float64").nullif(0),
        orders_trend_30d=g.orders_30d - g.orders_prev30,
        revenue_trend_30d=g.revenue_30d.fill_null(0) - g.revenue_prev30.fill_null(0),
        discount_share=g.discount_total.fill_null(0)
        / (rev + g.discount_total.fill_null(0)).nullif(0),
        coupon_order_share=g.coupon_orders / n,
        refund_share=g.refunded / n,
        cancel_share=g.cancelled / n,
        weekend_order_share=g.weekend / n,
        evening_order_share=g.evening / n,
        **{f"orders_decay_{tau}d": g[f"orders_decay_{tau}d"] for tau in DECAYS},
        revenue_decay_90d=g.revenue_decay_90d.fill_null(0),
    )


_doc("ipi_mean_days", "rhythm", "mean days between consecutive orders (NULL: < 2 orders)")
_doc("ipi_std_days", "rhythm", "spread of the days between orders (NULL: < 3 orders)")
_doc("prev_gap_days", "rhythm", "days between the last order and the one before it")
_doc("gap_ratio", "rhythm", "days since the last order / the customer's mean interval")


def rhythm_family(t: Mapping[str, ir.Table], as_of: ir.TimestampScalar) -> ir.Table:
    o = before(t["orders"], as_of)
    # One window, one sort: the last order is the one with no next (order_id is unique).
    win = ibis.window(group_by="user_id", order_by=["ts", "order_id"])
    o = o.mutate(
        gap=days_between(o.ts, o.ts.lag().over(win)), is_last=o.order_id.lead().over(win).isnull()
    )
    g = o.group_by("user_id").aggregate(
        ipi_mean_days=o.gap.mean(),
        ipi_std_days=o.gap.std(),
        prev_gap_days=o.gap.max(where=o.is_last),
        last_order=o.ts.max(),
    )
    return g.select(
        "user_id",
        "ipi_mean_days",
        "ipi_std_days",
        "prev_gap_days",
        gap_ratio=days_between(as_of, g.last_order) / g.ipi_mean_days.nullif(0),
    )


# -- categories -----------------------------------------------------------------------
_doc("categories_bought", "categories", "distinct top-level categories ordered")
_doc("top_category", "categories", "the top-level category ordered most (text)")
_doc("top_category_share", "categories", "share of order lines in the top category")


def categories_family(t: Mapping[str, ir.Table], as_of: ir.TimestampScalar) -> ir.Table:
    o = before(t["orders"], as_of).select("order_id", "user_id")
    li = t["order_items"].select("order_id", "item_id")
    it = t["items"].select("item_id", "category")
    lines = li.join(o, "order_id").join(it, "item_id")
    lines = lines.mutate(top=lines.category.split("/")[0])
    per = lines.group_by(["user_id", "top"]).aggregate(n=lines.count())
    # The most bought category; ties go to the first name, the same on every engine.
    rank = ibis.row_number().over(group_by="user_id", order_by=[per.n.desc(), per.top])
    first = per.mutate(r=rank).filter(lambda x: x.r == 0)
    g = per.group_by("user_id").aggregate(
        categories_bought=per.top.nunique(),
        top_n=per.n.max(),
        lines_n=per.n.sum(),
    )
    g = g.join(first.select("user_id", top_category=first.top), "user_id")
    return g.select(
        "user_id",
        "categories_bought",
        "top_category",
        top_category_share=g.top_n.cast("float64") / g.lines_n,
    )


# -- behaviour: sessions, views, searches, carts, support, opt-out -------------------
for w in (30, 90):
    _doc(f"sessions_{w}d", "behaviour", f"sessions in the last {w} days", f"{w}d")
    _doc(f"views_{w}d", "behaviour", f"product views in the last {w} days", f"{w}d")
_doc("searches_90d", "behaviour", "searches in the last 90 days", "90d")
_doc("carts_90d", "behaviour", "add-to-cart events in the last 90 days", "90d")
_doc(
    "cart_abandon_rate_90d",
    "behaviour",
    "share of sessions with a cart and no purchase, last 90 days",
    "90d",
)
_doc("logins_30d", "behaviour", "logins in the last 30 days", "30d")
_doc("support_90d", "behaviour", "support contacts in the last 90 days", "90d")
_doc("opted_out", "behaviour", "1 if the customer opted out of contact")
_doc("days_since_last_event", "behaviour", "days since any click-stream event")


def behaviour_family(t: Mapping[str, ir.Table], as_of: ir.TimestampScalar) -> ir.Table:
    e = before(t["events"], as_of)
    et = e.event_type
    agg = {f"views_{w}d": count_if(e, (et == "view") & since(e, as_of, w)) for w in (30, 90)}
    agg.update(
        searches_90d=count_if(e, (et == "search") & since(e, as_of, 90)),
        carts_90d=count_if(e, (et == "add_to_cart") & since(e, as_of, 90)),
        logins_30d=count_if(e, (et == "login") & since(e, as_of, 30)),
        support_90d=count_if(e, (et == "support") & since(e, as_of, 90)),
        opted_out=count_if(e, et == "opt_out"),
        last_event=e.ts.max(),
    )
    g = e.group_by("user_id").aggregate(**agg)
    # Sessions are counted from the (user, session) aggregate of the last 90 days that the
    # cart figures need anyway: a distinct count per window (nunique(where=...)) costs a
    # second hash of every event in it (DuckDB plans COUNT(DISTINCT) FILTER as its own
    # grouping), half the CPU of the whole feature build at 10M events.
    recent = e.filter(since(e, as_of, 90) & e.session_id.notnull())
    s = recent.group_by(["user_id", "session_id"]).aggregate(
        last=recent.ts.max(),
        cart=count_if(recent, recent.event_type == "add_to_cart"),
        bought=count_if(recent, recent.event_type == "purchase"),
    )
    s = s.group_by("user_id").aggregate(
        sessions_30d=count_if(s, s.last >= as_of - ibis.interval(days=30)),
        sessions_90d=s.count(),
        cart_sessions=count_if(s, s.cart > 0),
        abandoned=count_if(s, (s.cart > 0) & (s.bought == 0)),
    )
    g = g.left_join(s, "user_id").drop("user_id_right")
    return g.select(
        "user_id",
        *[f"{k}_{w}d" for w in (30, 90) for k in ("sessions", "views")],
        *[k for k in agg if k not in ("last_event", "opted_out") and not k.startswith("views_")],
        opted_out=(g.opted_out > 0).cast("int64"),
        days_since_last_event=days_between(as_of, g.last_event),
        cart_abandon_rate_90d=g.abandoned.cast("float64") / g.cart_sessions.nullif(0),
    )


# -- reviews ---------------------------------------------------------------------------
_doc("reviews_total", "reviews", "reviews written")
_doc("rating_mean", "reviews", "mean rating given")
_doc("negative_review_share", "reviews", "share of reviews rated 2 or lower")


def reviews_family(t: Mapping[str, ir.Table], as_of: ir.TimestampScalar) -> ir.Table:
    r = before(t["reviews"], as_of)
    g = r.group_by("user_id").aggregate(
        reviews_total=r.count(),
        rating_mean=r.rating.mean(),
        negative=count_if(r, r.rating <= 2),
        # On Spark notnull() also drops NaN; ingest quarantines non-finite numbers, so
        # the warehouse holds none and both engines count the same rows.
        rated=count_if(r, r.rating.notnull()),
    )
    return g.select(
        "user_id",
        "reviews_total",
        "rating_mean",
        negative_review_share=g.negative.cast("float64") / g.rated.nullif(0),
    )


# -- review and support text (scored by the text model, see features/text.py) ----------
COMPLAINT_ASPECTS = ("quality", "delivery", "service", "price", "size_fit", "description")
_doc("review_sentiment_last", "text", "P(positive) of the last review's text")
_doc("review_sentiment_mean", "text", "mean P(positive) of review texts")
_doc("negative_text_share", "text", "share of review texts read as negative (P < 0.5)")
_doc("days_since_negative_text", "text", "days since the last review text read as negative")
for _a in COMPLAINT_ASPECTS:
    _doc(f"complaints_{_a}", "text", f"review clauses complaining about {_a.replace('_', '/')}")
_doc("support_texts", "text", "support messages written")
_doc("sentiment_support_mean", "text", "mean P(positive) of support messages")


def text_family(t: Mapping[str, ir.Table], as_of: ir.TimestampScalar) -> ir.Table:
    s = before(t["text_scores"], as_of)
    review = s.source == "review"
    negative = review & (s.p_positive < 0.5)
    # Ties on ts broken by the key, so "last" is the same whatever the ingest order.
    ranked = s.filter(review).mutate(
        _n=ibis.row_number().over(
            ibis.window(group_by="user_id", order_by=[ibis.desc("ts"), ibis.desc("_key")])
        )
    )
    last = ranked.filter(ranked._n == 0).select("user_id", review_sentiment_last=ranked.p_positive)
    aspects = s.negative_aspects.fill_null("")
    agg = {
        "review_texts": count_if(s, review),
        "review_sentiment_mean": s.p_positive.mean(where=review),
        "negative_texts": count_if(s, negative),
        "last_negative": s.ts.max(where=negative),
        "support_texts": count_if(s, s.source == "support"),
        "sentiment_support_mean": s.p_positive.mean(where=s.source == "support"),
    }
    for a in COMPLAINT_ASPECTS:
        agg[f"complaints_{a}"] = count_if(s, review & aspects.contains(f",{a},"))
    g = s.group_by("user_id").aggregate(**agg)
    g = g.left_join(last, "user_id").drop("user_id_right")
    return g.select(
        "user_id",
        "review_sentiment_last",
        "review_sentiment_mean",
        *[f"complaints_{a}" for a in COMPLAINT_ASPECTS],
        "support_texts",
        "sentiment_support_mean",
        negative_text_share=g.negative_texts.cast("float64") / g.review_texts.nullif(0),
        days_since_negative_text=days_between(as_of, g.last_negative),
    )


# -- campaigns -------------------------------------------------------------------------
_doc("treatments_180d", "campaigns", "campaign contacts received (treatment arm), 180 days", "180d")
_doc("days_since_last_treatment", "campaigns", "days since the last campaign contact")
_doc("coupon_response_rate", "campaigns", "coupon orders per campaign contact (capped at 1)")


def campaigns_family(t: Mapping[str, ir.Table], as_of: ir.TimestampScalar) -> ir.Table:
    tr = before(t["treatments"], as_of)
    tr = tr.filter(tr.arm.isnull() | (tr.arm == "treatment"))
    g = tr.group_by("user_id").aggregate(
        treatments_180d=count_if(tr, since(tr, as_of, 180)),
        contacts=tr.count(),
        last=tr.ts.max(),
    )
    g = g.select(
        "user_id",
        "treatments_180d",
        "contacts",
        days_since_last_treatment=days_between(as_of, g.last),
    )
    if "orders" in t:
        o = before(t["orders"], as_of)
        c = o.group_by("user_id").aggregate(coupon_orders=count_if(o, o.coupon_code.notnull()))
        g = g.left_join(c, "user_id").drop("user_id_right")
        rate = (g.coupon_orders.fill_null(0).cast("float64") / g.contacts).clip(upper=1.0)
    else:
        rate = ibis.null("float64")
    return g.select(
        "user_id", "treatments_180d", "days_since_last_treatment", coupon_response_rate=rate
    )


Family = Callable[[Mapping[str, ir.Table], ir.TimestampScalar], ir.Table]
# family → (function, tables it needs)
FAMILIES: dict[str, tuple[Family, tuple[str, ...]]] = {
    "orders": (orders_family, ("orders",)),
    "rhythm": (rhythm_family, ("orders",)),
    "categories": (categories_family, ("orders", "order_items", "items")),
    "behaviour": (behaviour_family, ("events",)),
    "reviews": (reviews_family, ("reviews",)),
    "text": (text_family, ("text_scores",)),
    "campaigns": (campaigns_family, ("treatments",)),
}
FEATURES: tuple[Feature, ...] = (
    Feature(
        "tenure_days", "profile", "days since first seen (signup or first activity)", "lifetime"
    ),
    *F,
)
