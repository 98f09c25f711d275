"""Google Analytics 4 BigQuery export rows as JSON lines (``events_YYYYMMDD`` tables).

Layout: one event per line, as ``bq extract --destination_format NEWLINE_DELIMITED_JSON``
writes the ``events_*`` tables (the public ``ga4_obfuscated_sample_ecommerce`` sample)::

    {"event_date": "20201101", "event_timestamp": "1604249386702519",
     "event_name": "purchase",
     "event_params": [{"key": "ga_session_id", "value": {"string_value": null,
                       "int_value": "1604249386", "float_value": null, "double_value": null}}],
     "user_id": null, "user_pseudo_id": "1026454.4271112504",
     "device": {…}, "geo": {…}, "traffic_source": {…},
     "ecommerce": {"total_item_quantity": "2", "purchase_revenue": 48.0,
                   "transaction_id": "138583", …},
     "items": [{"item_id": "9195888", "item_name": "…", "price": 24.0, "quantity": "2", …}]}

Quirks this adapter handles:

- BigQuery writes INT64 as JSON strings ("1604249386702519", "2"); numbers are accepted too.
- ``event_timestamp`` is microseconds since 1970, UTC; ``event_date`` is the day in the
  property's time zone, so it is not used (it can differ from the UTC day).
- ``user_id`` is set only for signed-in users (always null in the public sample); the
  customer is ``user_id`` when present, else the browser's ``user_pseudo_id``.
- ``event_params`` is a key/value list; ``ga_session_id`` (unique per user, not globally)
  becomes ``session_id`` and all params are kept, flattened, in ``properties``.
- Most events are analytics, not customer actions (page_view, session_start, scroll,
  view_item_list, begin_checkout, …): they are quarantined as unmapped, never dropped.
- view_item/add_to_cart/remove_from_cart give one event per element of ``items``.
- GA4 writes the placeholder "(not set)": a purchase whose ``transaction_id`` is
  "(not set)" is quarantined in orders and order_items; "(not set)" item ids, names and
  categories count as missing.
- purchase places an order: amount is ``ecommerce.purchase_revenue`` (else the ``value``
  param; the ``*_in_usd`` fields are another currency), lines are ``items``.
- A transaction recorded twice (a reloaded thank-you page) is one order, with the latest
  event's lines; the earlier event's lines are quarantined as superseded.
- ``refund`` with a transaction id marks the order refunded, keeping the ts and amount it
  was placed with (see :func:`liucun.data.adapters.segment.orders_select`); its
  ``refund_value`` is the amount only for an order never seen.
- ``items`` (the catalogue) gets each item's latest name, brand, category and price.
- Item categories (``item_category`` … ``item_category5``) become the path "a/b/c"; a
  "/" inside a level ("Men's / Unisex") is written "-" so it does not split the level.
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

# GA4 event_name → canonical event_type; every other name is quarantined as unmapped.
EVENT_TYPES: dict[str, str] = {
    "view_item": "view",
    "add_to_cart": "add_to_cart",
    "remove_from_cart": "remove_from_cart",
    "purchase": "purchase",
    "refund": "refund",
    "view_search_results": "search",
    "search": "search",
    "login": "login",
}
PER_ITEM = ("view", "add_to_cart", "remove_from_cart")
NOT_SET = "(not set)"

_V = "VARCHAR"
_EVENT = {
    "event_timestamp": _V,
    "event_name": _V,
    "event_params": [
        {
            "key": _V,
            "value": {
                "string_value": _V,
                "int_value": "BIGINT",
                "float_value": "DOUBLE",
                "double_value": "DOUBLE",
            },
        }
    ],
    "user_id": _V,
    "user_pseudo_id": _V,
    "ecommerce": "JSON",
    "items": "JSON",
}
_ECOMMERCE = {
    "total_item_quantity": _V,
    "purchase_revenue": _V,
    "refund_value": _V,
    "transaction_id": _V,
}
_ITEM = {
    "item_id": _V,
    "item_name": _V,
    "item_brand": _V,
    "item_category": _V,
    "item_category2": _V,
    "item_category3": _V,
    "item_category4": _V,
    "item_category5": _V,
    "price": _V,
    "quantity": _V,
}


def ns(x: str) -> str:
    """SQL: text ``x``, NULL when blank or GA4's "(not set)" placeholder."""
    return f"NULLIF({nz(x)}, {sql_str(NOT_SET)})"


def _param(key: str) -> str:
    """SQL: the value struct of event param ``key`` (NULL when absent)."""
    return f"list_filter(g.event_params, lambda q: q.key = {sql_str(key)})[1].value"


def _param_text(key: str) -> str:
    v = _param(key)
    return (
        f"coalesce({nz(f'{v}.string_value')}, CAST({v}.int_value AS VARCHAR), "
        f"CAST({v}.double_value AS VARCHAR), CAST({v}.float_value AS VARCHAR))"
    )


def _json_num(x: str) -> str:
    return f"CASE WHEN isfinite({x}) THEN CAST(to_json({x}) AS VARCHAR) END"


# event_params flattened to {"key": value, …} (text built in SQL; keys escaped by to_json).
_PARAMS_JSON = (
    "coalesce('{' || array_to_string(list_transform("
    "list_filter(g.event_params, lambda q: q.key IS NOT NULL), "
    "lambda q: CAST(to_json(q.key) AS VARCHAR) || ':' || coalesce("
    "CAST(to_json(q.value.string_value) AS VARCHAR), CAST(q.value.int_value AS VARCHAR), "
    f"{_json_num('q.value.double_value')}, {_json_num('q.value.float_value')}, 'null')), ',')"
    " || '}', '{}')"
)


class Ga4Adapter(Adapter):
    name = "ga4"
    tables = ("events", "orders", "order_items", "items")
    description = "GA4 BigQuery export (events_* tables) as JSON lines"

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        read_json_lines(con, path, "_ga4_src", opts.encoding)
        # Parse each line once; ids and money stay text for the ingest's validation.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _ga4 AS "
            f"SELECT _row, line, _bad, g.event_name AS event_name, "
            f"{case_map('lower(trim(g.event_name))', EVENT_TYPES)} AS event_type, "
            f"coalesce({nz('g.user_id')}, {nz('g.user_pseudo_id')}) AS user_id, "
            f"{nz('g.event_timestamp')} AS ts_raw, "
            f"{_PARAMS_JSON} AS params, "
            f"{_param_text('ga_session_id')} AS session_id, "
            f"{_param_text('value')} AS value_param, "
            f"{ns(_param_text('coupon'))} AS coupon, "
            f"g.ecommerce AS ecommerce, "
            f"json_transform(g.ecommerce, {struct_spec(_ECOMMERCE)}) AS e, "
            f"json_transform(g.items, {struct_spec([_ITEM])}) AS its, "
            f"json_transform(g.items, {struct_spec(['JSON'])}) AS items_raw "
            f"FROM (SELECT _row, line, _bad, json_transform(j, {struct_spec(_EVENT)}) AS g "
            f"FROM _ga4_src)"
        )
        micros = (
            "coalesce(TRY_CAST(ts_raw AS BIGINT), TRY_CAST(TRY_CAST(ts_raw AS DOUBLE) AS BIGINT))"
        )
        tid = nz("e.transaction_id")
        # ts as ISO text in UTC ("…Z"), so no --tz can shift it.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _ga4_ev AS SELECT *, "
            f"CASE WHEN ts_raw IS NOT NULL AND ts IS NULL THEN "
            f"'unparsable event_timestamp ' || left(ts_raw, 40) || "
            f"' (expected microseconds since 1970)' END AS ts_reason, "
            f"CASE WHEN {tid} IS NULL THEN 'no ecommerce.transaction_id' "
            f"WHEN {tid} = {sql_str(NOT_SET)} THEN {sql_str(f'transaction_id {NOT_SET}')} "
            f"END AS tx_reason, "
            f"{{'t': coalesce(micros, 0), 'r': _row}} AS k "
            f"FROM (SELECT *, CASE WHEN micros BETWEEN 0 AND 253402300799999999 THEN "
            f"strftime(make_timestamp(micros), '%Y-%m-%dT%H:%M:%S.%fZ') END AS ts, "
            f"CASE event_type WHEN 'purchase' THEN coalesce({nz('e.purchase_revenue')}, "
            f"value_param) WHEN 'refund' THEN coalesce({nz('e.refund_value')}, value_param) "
            f"END AS amount "
            f"FROM (SELECT *, {micros} AS micros FROM _ga4))"
        )
        per_item = ", ".join(sql_str(t) for t in PER_ITEM)
        reason = (
            "CASE WHEN _bad IS NOT NULL THEN _bad "
            f"WHEN {nz('event_name')} IS NULL THEN 'ga4 row without event_name' "
            "WHEN event_type IS NULL THEN 'unmapped ga4 event ''' || event_name || '''' "
            "ELSE ts_reason END"
        )
        column = (
            "CASE WHEN _bad IS NOT NULL THEN 'line' "
            "WHEN event_type IS NULL THEN 'event_name' "
            "WHEN ts_reason IS NOT NULL THEN 'ts' END"
        )
        item_id = ns(
            "CASE WHEN i IS NOT NULL THEN its[i].item_id WHEN len(its) = 1 THEN its[1].item_id END"
        )
        events = (
            f"SELECT _row, user_id, ts, event_type, {item_id} AS item_id, session_id, "
            f"CASE WHEN i IS NOT NULL THEN its[i].price ELSE amount END AS value, "
            f"json_merge_patch('{{}}', json_object('event_name', event_name, "
            f"'params', CAST(params AS JSON), 'item', items_raw[i], "
            f"'ecommerce', CASE WHEN event_type IN ('purchase', 'refund') THEN ecommerce END"
            f")) AS properties, "
            f"line, {column} AS _reject_column, {reason} AS _reject_reason "
            f"FROM (SELECT *, unnest(CASE WHEN event_type IN ({per_item}) AND len(its) > 0 "
            f"THEN range(1, len(its) + 1) ELSE [NULL] END) AS i FROM _ga4_ev)"
        )
        # purchase places an order, refund marks it refunded (see orders_select).
        orders = orders_select(
            con,
            f"SELECT _row, {tid} AS order_id, user_id, ts, amount, "
            f"e.total_item_quantity AS quantity, "
            f"CASE event_type WHEN 'purchase' THEN 'paid' ELSE 'refunded' END AS status, "
            f"coupon AS coupon_code, NULL AS discount, k, event_type = 'purchase' AS placed, "
            f"CASE WHEN tx_reason IS NOT NULL THEN 'order_id' "
            f"WHEN ts_reason IS NOT NULL THEN 'ts' END AS _reject_column, "
            f"coalesce(event_name || ' with ' || tx_reason, ts_reason) AS _reject_reason "
            f"FROM _ga4_ev WHERE _bad IS NULL AND event_type IN ('purchase', 'refund')",
        )
        # Lines of each purchase; a transaction recorded twice keeps its latest event's lines.
        superseded = "tx_reason IS NULL AND _row <> win"
        not_set_item = f"trim(it.item_id) = {sql_str(NOT_SET)}"
        order_items = (
            f"SELECT _row, order_id, it.item_id AS item_id, it.quantity AS quantity, "
            f"it.price AS price, "
            f"CASE WHEN tx_reason IS NOT NULL OR {superseded} THEN 'order_id' "
            f"WHEN {not_set_item} THEN 'item_id' END AS _reject_column, "
            f"CASE WHEN tx_reason IS NOT NULL THEN 'purchase with ' || tx_reason "
            f"WHEN {superseded} THEN {sql_str(SUPERSEDED)} "
            f"WHEN {not_set_item} THEN {sql_str(f'item_id {NOT_SET}')} "
            f"END AS _reject_reason "
            f"FROM (SELECT _row, order_id, tx_reason, win, unnest(its) AS it FROM ("
            f"SELECT _row, {tid} AS order_id, tx_reason, its, "
            f"arg_max(_row, k) OVER (PARTITION BY {ns('e.transaction_id')}) AS win "
            f"FROM _ga4_ev WHERE _bad IS NULL AND event_type = 'purchase'))"
        )
        # The catalogue as last seen in this file: per item, the latest non-missing values.
        levels = ", ".join(
            f"replace({ns(f'it.{c}')}, '/', '-')"
            for c in ("item_category", *(f"item_category{n}" for n in range(2, 6)))
        )

        def last(col: str) -> str:
            return f"arg_max({col}, k) FILTER (WHERE {col} IS NOT NULL) AS {col}"

        items = (
            f"SELECT max(_row) AS _row, item_id, {last('title')}, {last('brand')}, "
            f"{last('category')}, {last('price')} "
            f"FROM (SELECT _row, k, {ns('it.item_id')} AS item_id, "
            f"{ns('it.item_name')} AS title, {ns('it.item_brand')} AS brand, "
            f"NULLIF(array_to_string(list_filter([{levels}], lambda c: c IS NOT NULL), '/'), "
            f"'') AS category, {nz('it.price')} AS price "
            f"FROM (SELECT _row, k, unnest(its) AS it FROM _ga4_ev WHERE _bad IS NULL)) "
            f"WHERE item_id IS NOT NULL GROUP BY item_id"
        )
        return {"events": events, "orders": orders, "order_items": order_items, "items": items}
