"""What adapters of tracking-event streams (Segment, GA4) share.

Both arrive as JSON lines read as text (one bad line is one quarantined row), and both
describe orders through events: placing, refunding and cancelling, possibly repeated.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from liucun.data.sources import read_lines
from liucun.schema import TABLES
from liucun.warehouse import sql_str


def nz(x: str) -> str:
    """SQL: text ``x`` trimmed, NULL when blank (so coalesce skips it)."""
    return f"NULLIF(trim({x}), '')"


def case_map(x: str, mapping: dict[str, str]) -> str:
    """SQL: ``x`` looked up in ``mapping`` (NULL when absent)."""
    whens = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in mapping.items())
    return f"CASE {x} {whens} END"


def read_json_lines(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, encoding: str | None = None
) -> None:
    """Temp table ``name`` (_row, line, _bad, j): one row per non-blank line of the file.

    Lines are read as text, not with ``read_json``: one bad line is then one quarantined
    row instead of a failed file, and nested objects keep their own keys (``read_json``
    widens every object to the union of all rows' keys). ``_row`` is the physical line
    number; ``j`` is the line when it is a readable JSON object, else ``_bad`` says why
    not (the reader's ``_read_error`` first, e.g. bytes that are not UTF-8) and ``line``
    keeps its text for the quarantine. gzip is read through by the file name.
    """
    lines = f"{name}_lines"
    read_lines(con, path, name=lines, encoding=encoding)
    t = f"trim(replace(line, {sql_str(chr(0xFEFF))}, ''))"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS "
        f"SELECT _row, CASE WHEN _read_error IS NOT NULL OR NOT json_valid(t) "
        f"OR json_type(t) <> 'OBJECT' THEN left(t, 2000) END AS line, "
        f"coalesce(_read_error, CASE WHEN NOT json_valid(t) THEN 'not valid JSON' "
        f"WHEN json_type(t) <> 'OBJECT' THEN 'not a JSON object' END) AS _bad, "
        f"CAST(CASE WHEN _read_error IS NULL AND json_valid(t) AND json_type(t) = 'OBJECT' "
        f"THEN t END AS JSON) AS j "
        f"FROM (SELECT _line AS _row, {t} AS t, _read_error FROM {lines}) "
        f"WHERE t IS NOT NULL AND t <> '' ORDER BY _row"
    )


def struct_spec(spec: dict) -> str:
    """SQL: the json_transform structure for ``spec``."""
    return sql_str(json.dumps(spec))


SUPERSEDED = "superseded by a later event placing the same order"
_RECORD = ("user_id", "ts", "amount", "quantity", "coupon_code", "discount")


def orders_select(con: duckdb.DuckDBPyConnection, rows: str) -> str:
    """One orders row per order id in the file: the order as placed, at its latest status.

    ``rows`` yields ``_row``, ``order_id``, ``status``, ``k`` (sort key: time, then row),
    ``placed`` (the row places the order rather than changing its status), the reject
    columns and the canonical columns in ``_RECORD``. A refund or cancellation is a
    status change, not a new purchase: the order keeps the ts, amount, quantity and
    offers it was placed with (from this file's latest placing row, else the order
    already stored, else the event's own values), so a refund days later does not move
    the purchase in time. A file that shows an order only as paid does not undo a stored
    refund or cancellation, so re-ingesting an older export changes nothing. Rows without
    an order id, or already rejected, pass through one by one for the ingest to quarantine.
    """
    rec = "{" + ", ".join(f"'{c}': CAST({c} AS VARCHAR)" for c in _RECORD) + "}"
    stored_rec = (
        "{"
        + ", ".join(
            f"'{c}': strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ')"
            if c == "ts"
            else f"'{c}': CAST({c} AS VARCHAR)"
            for c in _RECORD
        )
        + "}"
    )
    has_orders = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'orders' AND NOT temporary"
    ).fetchall()[0][0]
    if has_orders:
        stored = "orders"
    else:  # a bare connection (no warehouse): nothing is stored
        cols = ", ".join(
            f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in TABLES["orders"].columns
        )
        stored = f"(SELECT {cols} WHERE false)"
    out = ", ".join(f"o.{c} AS {c}" for c in _RECORD)
    return (
        f"WITH r AS ({rows}), "
        f"g AS (SELECT * FROM r WHERE order_id IS NOT NULL AND _reject_reason IS NULL), "
        f"pl AS (SELECT order_id, arg_max({rec}, k) AS rec FROM g WHERE placed "
        f"GROUP BY order_id), "
        f"st AS (SELECT order_id, arg_max(_row, k) AS _row, arg_max(status, k) AS status, "
        f"arg_max({rec}, k) AS rec FROM g GROUP BY order_id), "
        f"w AS (SELECT order_id, status, {stored_rec} AS rec FROM {stored} "
        f"WHERE order_id IN (SELECT order_id FROM g)) "
        f"SELECT _row, order_id, {out}, status, _reject_column, _reject_reason FROM ("
        f"SELECT st._row, st.order_id, coalesce(pl.rec, w.rec, st.rec) AS o, "
        f"CASE WHEN st.status = 'paid' AND w.status IN ('refunded', 'cancelled') "
        f"THEN w.status ELSE st.status END AS status, "
        f"CAST(NULL AS VARCHAR) AS _reject_column, CAST(NULL AS VARCHAR) AS _reject_reason "
        f"FROM st LEFT JOIN pl USING (order_id) LEFT JOIN w USING (order_id)) "
        f"UNION ALL "
        f"SELECT _row, order_id, {', '.join(f'CAST({c} AS VARCHAR)' for c in _RECORD)}, "
        f"status, _reject_column, _reject_reason FROM r "
        f"WHERE order_id IS NULL OR _reject_reason IS NOT NULL"
    )
