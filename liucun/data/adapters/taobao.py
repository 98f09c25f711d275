"""Taobao user behaviour (Tianchi ``UserBehavior.csv``, Alibaba, ~100 M lines, 3.5 GB).

Layout: no header, comma-separated, no quoting: user id, item id, category id,
behaviour (``pv`` | ``buy`` | ``cart`` | ``fav``), unix seconds. A header line
``user_id,…`` found in some re-shared copies is skipped.

Mapping: pv → view, cart → add_to_cart, buy → purchase. ``fav`` (a favourite/wish-list
mark) has no event type of its own: it is kept as ``view`` with properties
``{"behavior": "fav"}``, so the signal is neither lost nor mistaken for a cart. Every
event's properties carry its ``category_id``. Unknown behaviours are quarantined.

Quirk: some timestamps fall outside the 2017-11-25..2017-12-03 window (negative or far
off). They are valid epoch seconds and are kept as such; the ingest quarantines those in
the future. They are converted here (always seconds, whatever their size) rather than
left to the generic epoch parser, which reads short values as unparsable and values
above 1e11 as milliseconds.

Items are derived: one row per distinct (item, category) pair, numbered by its first
line. Every line is accounted for in events; a malformed line feeds no item.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from liucun.data.adapters.base import Adapter, reject_sql
from liucun.data.sources import SourceOptions, first_line, read_lines
from liucun.warehouse import sql_str

# A line the reader could not take as written (bytes that are not UTF-8) is quarantined
# with the reader's reason rather than loaded with U+FFFD in place of its bytes.
READ_RULE = ("_read_error IS NOT NULL", "line", "_read_error")

BEHAVIORS = {"pv": "view", "cart": "add_to_cart", "buy": "purchase", "fav": "view"}
# Beyond this many seconds (year ~5100) a value is noise, and too big to convert safely.
MAX_ABS_EPOCH = 1e11


class TaobaoAdapter(Adapter):
    name = "taobao"
    tables = ("events", "items")
    description = "Tianchi UserBehavior.csv: user, item, category, pv|buy|cart|fav, unix seconds"

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        read_lines(con, path, encoding=opts.encoding)
        at, first = first_line(con)
        is_header = first.split(",")[0].strip().lower() in ("user_id", "userid", "user")
        skip = at if is_header else 0
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW _tb AS SELECT _line - {skip} AS _row, f, len(f) AS n, "
            f"lower(trim(f[4])) AS b, TRY_CAST(NULLIF(trim(f[5]), '') AS DOUBLE) AS secs, "
            f"_read_error "
            f"FROM (SELECT _line, string_split(line, ',') AS f, _read_error FROM _lines "
            f"WHERE _line > {skip} AND line IS NOT NULL AND trim(line) <> '')"
        )
        mapped = (
            "CASE "
            + " ".join(f"WHEN b = {sql_str(k)} THEN {sql_str(v)}" for k, v in BEHAVIORS.items())
            + " ELSE f[4] END"  # an unknown one is passed on as given, for the quarantine
        )
        shown = "left(trim(f[5]), 40)"
        rules = [
            READ_RULE,
            ("n <> 5", "line", "'expected 5 comma-separated fields, found ' || n"),
            (
                f"b <> '' AND b NOT IN ({', '.join(sql_str(k) for k in BEHAVIORS)})",
                "event_type",
                "'unknown Taobao behavior_type ''' || left(f[4], 40) || "
                "''' (expected pv, buy, cart or fav)'",
            ),
            (
                "trim(f[5]) <> '' AND secs IS NULL",
                "ts",
                f"'non-numeric timestamp ''' || {shown} || ''''",
            ),
            (
                f"abs(secs) >= {MAX_ABS_EPOCH:.0f} OR isnan(secs)",
                "ts",
                f"'timestamp out of range ''' || {shown} || ''''",
            ),
        ]
        category = "NULLIF(trim(f[3]), '')"
        properties = (
            f"CASE WHEN b = 'fav' THEN json_object('behavior', 'fav', 'category_id', {category}) "
            f"WHEN {category} IS NOT NULL THEN json_object('category_id', {category}) END"
        )
        # to_timestamp: always seconds; only called on values in range.
        ts = f"CASE WHEN abs(secs) < {MAX_ABS_EPOCH:.0f} THEN to_timestamp(secs) END"
        events = (
            f"SELECT _row, f[1] AS user_id, f[2] AS item_id, {mapped} AS event_type, "
            f"{ts} AS ts, {properties} AS properties, {reject_sql(rules)} FROM _tb"
        )
        items = (
            f"SELECT min(_row) AS _row, trim(f[2]) AS item_id, {category} AS category "
            f"FROM _tb WHERE n = 5 AND _read_error IS NULL AND trim(f[2]) <> '' GROUP BY 2, 3"
        )
        return {"events": events, "items": items}
