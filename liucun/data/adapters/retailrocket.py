"""RetailRocket ``events.csv`` (Kaggle "Retailrocket recommender system dataset").

Layout: a header ``timestamp,visitorid,event,itemid,transactionid``, then one line per
event: epoch *milliseconds*, visitor id, ``view`` | ``addtocart`` | ``transaction``, item
id, and a transaction id that is empty except on ``transaction`` lines (an order of
several items is several lines sharing one id). No quoting, ~2.76 M lines.

Mapping: view → view, addtocart → add_to_cart, transaction → purchase (properties
``{"transactionid": …}``). Any other event name is quarantined with its name.

Orders are deliberately *not* filled: events.csv has no prices (they hide, hashed and
time-versioned, in item_properties), so an order amount could only be invented, and a
made-up 0 would read as "free". Purchases therefore live in events, and each transaction
line also becomes an order_items row (order_id = transactionid, item_id, quantity 1; the
same item twice in one transaction is two lines). A transaction line without an id is
quarantined there ("missing order_id") while its purchase event still loads.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from liucun.data.adapters.base import Adapter, reject_sql
from liucun.data.sources import SourceOptions, first_line, read_lines
from liucun.errors import SourceError
from liucun.warehouse import sql_str

# A line the reader could not take as written (bytes that are not UTF-8) is quarantined
# with the reader's reason rather than loaded with U+FFFD in place of its bytes.
READ_RULE = ("_read_error IS NOT NULL", "line", "_read_error")

HEADER = ("timestamp", "visitorid", "event", "itemid", "transactionid")
EVENTS = {"view": "view", "addtocart": "add_to_cart", "transaction": "purchase"}


class RetailrocketAdapter(Adapter):
    name = "retailrocket"
    tables = ("events", "order_items")
    description = "RetailRocket events.csv: views, add-to-carts and transactions (ms epoch)"

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        read_lines(con, path, encoding=opts.encoding)
        skip, first = first_line(con)
        found = tuple(c.strip().lower() for c in first.split(","))
        if found != HEADER:
            raise SourceError(
                f"{path}: not a RetailRocket events.csv: expected the header "
                f"{','.join(HEADER)}, found {','.join(found)[:120] or 'an empty file'}"
            )
        # Data rows are numbered after the header line.
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW _rr AS SELECT _line - {skip} AS _row, "
            f"string_split(line, ',') AS f, len(string_split(line, ',')) AS n, _read_error "
            f"FROM _lines WHERE _line > {skip} AND line IS NOT NULL AND trim(line) <> ''"
        )
        event = "lower(trim(f[3]))"
        mapped = "CASE " + " ".join(
            f"WHEN {event} = {sql_str(k)} THEN {sql_str(v)}" for k, v in EVENTS.items()
        )
        ragged = ("n <> 5", "line", "'expected 5 comma-separated fields, found ' || n")
        unknown = (
            f"{event} <> '' AND {event} NOT IN ({', '.join(sql_str(k) for k in EVENTS)})",
            "event_type",
            "'unknown RetailRocket event ''' || left(f[3], 40) || "
            "''' (expected view, addtocart or transaction)'",
        )
        txn = "NULLIF(trim(f[5]), '')"
        events = (
            # An unknown name is passed on as given, so the quarantined row shows it.
            f"SELECT _row, f[2] AS user_id, f[1] AS ts, {mapped} ELSE f[3] END AS event_type, "
            f"f[4] AS item_id, CASE WHEN {txn} IS NOT NULL "
            f"THEN json_object('transactionid', {txn}) END AS properties, "
            f"{reject_sql([READ_RULE, ragged, unknown])} FROM _rr"
        )
        order_items = (
            f"SELECT _row, {txn} AS order_id, f[4] AS item_id, 1 AS quantity, "
            f"{reject_sql([READ_RULE, ragged])} FROM _rr WHERE {event} = 'transaction'"
        )
        return {"events": events, "order_items": order_items}
