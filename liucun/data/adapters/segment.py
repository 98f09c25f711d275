"""Segment e-commerce events (spec v2) as JSON lines, one message per line.

Layout: the raw message of a Segment export (S3/GCS destination, webhook log, replay)::

    {"type": "track", "event": "Order Completed", "userId": "u1", "anonymousId": "…",
     "messageId": "ajs-…", "timestamp": "2024-03-05T14:03:22.123Z",
     "properties": {"order_id": "…", "total": 81.98, "products": [{"product_id": …}]},
     "context": {"library": {…}, "page": {…}, "ip": "…"}, "originalTimestamp": …}

Quirks this adapter handles:

- ``userId`` is absent before login (``anonymousId`` is used then) and some server
  libraries send it as a JSON number; ids are read as text either way.
- ``timestamp`` is ISO 8601 with ``Z`` or an offset; ``originalTimestamp`` is the fallback.
- Event names are free text: spec names are matched case- and ``_``-insensitively
  ("product_viewed" is "Product Viewed"), plus the v1 names ("Completed Order").
- Segment delivers at least once: a repeated ``messageId`` is quarantined, so a retried
  "Order Completed" adds no second purchase event nor second set of order lines.
- identify/page/screen/group/alias calls and track events outside the vocabulary
  ("Checkout Started") are quarantined with a reason, never dropped.
- ``total`` is what the customer paid (``revenue`` excludes shipping and tax), so an
  order's amount is ``total``, falling back to ``revenue``.
- "Order Completed" places an order (orders + one order_items row per ``products[]``);
  "Order Refunded"/"Order Cancelled" with an ``order_id`` change its status but keep the
  ts and amount it was placed with (see :func:`orders_select`). "Order Cancelled" has no
  event type, so its events row is quarantined while the order is marked cancelled.
- An order sent twice with different messageIds keeps only the latest message's lines.

Helpers shared with the GA4 adapter (JSON-lines reading, the orders merge) live here.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from liucun.data.adapters.base import Adapter
from liucun.data.adapters.tracking import (
    SUPERSEDED,
    case_map,
    nz,
    orders_select,
    read_json_lines,
    struct_spec,
)
from liucun.data.sources import SourceOptions
from liucun.warehouse import sql_str

# Normalised event name (lower case, "_" as " ") → canonical event_type.
EVENT_TYPES: dict[str, str] = {
    "product viewed": "view",
    "viewed product": "view",
    "products searched": "search",
    "searched products": "search",
    "product added": "add_to_cart",
    "added product": "add_to_cart",
    "wishlist product added to cart": "add_to_cart",
    "product removed": "remove_from_cart",
    "removed product": "remove_from_cart",
    "order completed": "purchase",
    "completed order": "purchase",
    "order refunded": "refund",
    "coupon applied": "coupon_redeem",
    "product reviewed": "review",
    "signed in": "login",
    "unsubscribed": "opt_out",
    "email unsubscribed": "opt_out",
}
# Normalised event name → the orders status it records.
ORDER_STATUS: dict[str, str] = {
    "order completed": "paid",
    "completed order": "paid",
    "order refunded": "refunded",
    "order cancelled": "cancelled",
    "order canceled": "cancelled",
}

_V = "VARCHAR"
_MESSAGE = {
    "type": _V,
    "event": _V,
    "userId": _V,
    "anonymousId": _V,
    "messageId": _V,
    "timestamp": _V,
    "originalTimestamp": _V,
    "properties": "JSON",
    "context": "JSON",
}
_PRODUCT = {"product_id": _V, "id": _V, "sku": _V, "price": _V, "quantity": _V}
_PROPERTIES = {
    **_PRODUCT,
    "order_id": _V,
    "total": _V,
    "revenue": _V,
    "discount": _V,
    "coupon": _V,
    "rating": _V,
    "session_id": _V,
    "sessionId": _V,
    "products": [_PRODUCT],
}
_CONTEXT = {"session_id": _V, "sessionId": _V}


def _product(x: str) -> str:
    """SQL: the item id of product struct ``x``: product_id, else v1's id, else sku."""
    return f"coalesce({nz(f'{x}.product_id')}, {nz(f'{x}.id')}, {nz(f'{x}.sku')})"


class SegmentAdapter(Adapter):
    name = "segment"
    tables = ("events", "orders", "order_items")
    description = "Segment e-commerce spec v2 messages as JSON lines (track/identify/page)"

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        read_json_lines(con, path, "_seg_src", opts.encoding)
        # Parse each line once into typed fields; everything stays text for validation.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _seg AS "
            f"SELECT _row, line, _bad, m.properties AS properties, "
            f"lower(coalesce({nz('m.type')}, CASE WHEN {nz('m.event')} IS NOT NULL "
            f"THEN 'track' END)) AS call, "
            f"m.event AS event, "
            f"lower(trim(regexp_replace(m.event, '[\\s_]+', ' ', 'g'))) AS ename, "
            f"coalesce({nz('m.userId')}, {nz('m.anonymousId')}) AS user_id, "
            f"coalesce({nz('m.timestamp')}, {nz('m.originalTimestamp')}) AS ts, "
            f"{nz('m.messageId')} AS message_id, "
            f"json_transform(m.properties, {struct_spec(_PROPERTIES)}) AS p, "
            f"json_transform(m.context, {struct_spec(_CONTEXT)}) AS c "
            f"FROM (SELECT _row, line, _bad, json_transform(j, {struct_spec(_MESSAGE)}) AS m "
            f"FROM _seg_src)"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _seg_ev AS SELECT *, "
            f"{case_map('ename', EVENT_TYPES)} AS event_type, "
            f"{case_map('ename', ORDER_STATUS)} AS order_status, "
            f"coalesce({nz('p.total')}, {nz('p.revenue')}) AS order_amount, "
            f"CASE WHEN message_id IS NOT NULL THEN min(_row) OVER (PARTITION BY message_id) "
            f"END AS first_row "
            f"FROM _seg"
        )
        reason = (
            "CASE WHEN _bad IS NOT NULL THEN _bad "
            "WHEN first_row < _row THEN 'repeated segment messageId (a retried delivery)' "
            "WHEN call IS NULL THEN 'segment message without type or event' "
            "WHEN call <> 'track' THEN 'unmapped segment ' || call || ' call' "
            f"WHEN {nz('event')} IS NULL THEN 'segment track call without an event name' "
            "WHEN event_type IS NULL THEN 'unmapped segment event ''' || event || '''' END"
        )
        column = (
            "CASE WHEN _bad IS NOT NULL THEN 'line' WHEN first_row < _row THEN 'messageId' "
            "WHEN call IS NULL OR call <> 'track' THEN 'type' "
            "WHEN event_type IS NULL THEN 'event' END"
        )
        single = f"CASE WHEN len(p.products) = 1 THEN {_product('p.products[1]')} END"
        events = (
            f"SELECT _row, user_id, ts, event_type, "
            f"coalesce({_product('p')}, {single}) AS item_id, "
            f"coalesce({nz('p.session_id')}, {nz('p.sessionId')}, {nz('c.session_id')}, "
            f"{nz('c.sessionId')}) AS session_id, "
            f"CASE event_type WHEN 'review' THEN p.rating WHEN 'coupon_redeem' THEN p.discount "
            f"WHEN 'purchase' THEN order_amount WHEN 'refund' THEN order_amount "
            f"ELSE p.price END AS value, "
            f"properties, "
            f"CASE WHEN _bad IS NOT NULL THEN line END AS line, message_id, "
            f"{column} AS _reject_column, {reason} AS _reject_reason "
            f"FROM _seg_ev"
        )
        # Orders: Order Completed places an order, Refunded/Cancelled move its status.
        order_id = nz("p.order_id")
        key = "{'t': coalesce(epoch_us(TRY_CAST(ts AS TIMESTAMPTZ)), 0), 'r': _row}"
        valid = (
            "_bad IS NULL AND call = 'track' AND order_status IS NOT NULL "
            "AND coalesce(first_row, _row) = _row"
        )
        orders = orders_select(
            con,
            f"SELECT _row, {order_id} AS order_id, user_id, ts, order_amount AS amount, "
            f"list_sum(list_transform(p.products, "
            f"lambda x: TRY_CAST(x.quantity AS DOUBLE))) AS quantity, "
            f"order_status AS status, {nz('p.coupon')} AS coupon_code, "
            f"p.discount AS discount, {key} AS k, order_status = 'paid' AS placed, "
            f"NULL AS _reject_column, NULL AS _reject_reason FROM _seg_ev WHERE {valid}",
        )
        # Lines of each order: an order sent twice keeps only its latest message's lines.
        superseded = "order_id IS NOT NULL AND _row <> win"
        order_items = (
            f"SELECT _row, order_id, {_product('x')} AS item_id, "
            f"x.quantity AS quantity, x.price AS price, "
            f"CASE WHEN {superseded} THEN 'order_id' END AS _reject_column, "
            f"CASE WHEN {superseded} THEN {sql_str(SUPERSEDED)} END AS _reject_reason "
            f"FROM (SELECT _row, order_id, win, unnest(products) AS x FROM ("
            f"SELECT _row, {order_id} AS order_id, p.products AS products, "
            f"arg_max(_row, {key}) OVER (PARTITION BY {order_id}) AS win "
            f"FROM _seg_ev WHERE {valid} AND order_status = 'paid'))"
        )
        return {"events": events, "orders": orders, "order_items": order_items}
