"""UCI Online Retail (I and II): one CSV line per invoice line of a UK gift wholesaler.

Layouts read (CSV only; the UCI originals are .xlsx workbooks: export the sheet(s) to CSV):

- Online Retail II (``online_retail_II.csv``): ``Invoice,StockCode,Description,Quantity,
  InvoiceDate,Price,Customer ID,Country``; dates ``2009-12-01 07:45:00``; the customer id
  is float-formatted (``13085.0``), so the ``.0`` is stripped.
- Online Retail I (Kaggle's ``data.csv``): ``InvoiceNo,...,UnitPrice,CustomerID,Country``;
  dates ``12/1/2010 8:26`` (month first). Pass ``--encoding latin-1`` if it is not UTF-8.

One source yields four tables: ``order_items`` (one per line), ``orders`` (one per
invoice, ``_row`` = its first line), ``users`` (one per customer, ``region`` = the country
of their latest line) and ``items`` (one per StockCode, latest description and price).

Quirks of the real data, and what becomes of them:

- ``C`` invoices (``C489449``) cancel goods with negative quantities. They become orders
  with status ``cancelled`` and absolute amounts/quantities; the data does not link them
  to the invoice they cancel, which stays ``paid``.
- Non-``C`` lines with a negative quantity are stock adjustments (damaged, lost, "mixed
  up" goods, nearly all with price 0 and no customer): quarantined, they are not sales.
- ``A`` invoices / negative prices (StockCode ``B``, "Adjust bad debt") are accounting
  entries: quarantined.
- About a quarter of the lines have no customer id: quarantined ("no customer id"), and
  so is an invoice with none (it cannot be attributed to a person).
- Price 0 lines (free samples, gifts) are valid sales. Exact duplicate lines exist and
  are all kept (order_items rows are keyed by occurrence within the file).
- Timestamps are UK local time: ingest with ``--tz Europe/London`` to convert them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from liucun.data.adapters.base import Adapter
from liucun.data.sources import SourceOptions, ident, read_file
from liucun.errors import SourceError
from liucun.warehouse import sql_str

# Canonical role → accepted header names (II first, then I), compared case-insensitively.
COLUMNS: dict[str, tuple[str, ...]] = {
    "invoice": ("Invoice", "InvoiceNo"),
    "code": ("StockCode",),
    "descr": ("Description",),
    "qty": ("Quantity",),
    "date": ("InvoiceDate",),
    "price": ("Price", "UnitPrice"),
    "customer": ("Customer ID", "CustomerID"),
    "country": ("Country",),
}
OPTIONAL = ("descr", "country")

NO_CUSTOMER = "no customer id"
BAD_DEBT = "accounting adjustment (A invoice or negative price), not a sale"
STOCK_ADJUSTMENT = "stock adjustment: negative quantity on an invoice that is not a C cancellation"
BAD_NUMBER = "the invoice has a line with a non-numeric Quantity or Price (see order_items)"
# Online Retail I writes month first (12/1/2010 8:26); ISO dates are read by a cast.
DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")

# Latest first: what "last" means for a customer's country or an item's price.
LATEST = "ORDER BY ts DESC NULLS LAST, _row DESC"


def _resolve(found: list[str], path: Path) -> dict[str, str | None]:
    """Role → the file's column name (None for an absent optional column)."""
    lower = {c.strip().lower(): c for c in found}
    out: dict[str, str | None] = {}
    missing = []
    for role, names in COLUMNS.items():
        src = next((lower[n.lower()] for n in names if n.lower() in lower), None)
        if src is None and role not in OPTIONAL:
            missing.append(names[0])
        out[role] = src
    if missing:
        raise SourceError(
            f"{path}: not an Online Retail CSV: no column {', '.join(missing)} (expected "
            f"Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country "
            f"or the InvoiceNo/UnitPrice/CustomerID header of Online Retail I)"
        )
    return out


class OnlineRetailAdapter(Adapter):
    name = "online_retail"
    tables = ("order_items", "orders", "users", "items")
    description = "UCI Online Retail I/II as CSV: invoice lines → orders, lines, customers, items"

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        found = read_file(con, path, "csv", name="_or", sep=opts.sep, encoding=opts.encoding)
        c = _resolve(found, path)

        def col(role: str) -> str:
            src = c[role]
            return f"CAST({ident(src)} AS VARCHAR)" if src else "CAST(NULL AS VARCHAR)"

        # Customers, items and invoice headers come only from lines read as written.
        readable = "_read_error IS NULL"
        fmts = "[" + ", ".join(sql_str(f) for f in DATE_FORMATS) + "]"
        # Step 1: rename to neutral names (source names like "Price" would clash with ours).
        con.execute(
            "CREATE OR REPLACE TEMP VIEW _or_named AS SELECT _row, "
            f"trim({col('invoice')}) AS inv, trim({col('code')}) AS code, "
            f"NULLIF(trim({col('descr')}), '') AS descr, trim({col('qty')}) AS qty_s, "
            f"trim({col('date')}) AS date_s, trim({col('price')}) AS price_s, "
            f"trim({col('customer')}) AS cust_s, NULLIF(trim({col('country')}), '') AS country, "
            "_read_error FROM _or"
        )
        # Step 2: parse once, and judge each line once; every table reads this.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _or_lines AS "
            # A line the reader could not take as written is rejected with its reason first.
            "SELECT *, CASE WHEN _read_error IS NOT NULL THEN _read_error "
            f"WHEN upper(inv) LIKE 'A%' OR price < 0 THEN {sql_str(BAD_DEBT)} "
            f"WHEN NOT is_cancel AND qty < 0 THEN {sql_str(STOCK_ADJUSTMENT)} "
            f"WHEN customer IS NULL THEN {sql_str(NO_CUSTOMER)} END AS reason, "
            "CASE WHEN _read_error IS NOT NULL THEN NULL "
            "WHEN upper(inv) LIKE 'A%' THEN 'Invoice' WHEN price < 0 THEN 'Price' "
            "WHEN NOT is_cancel AND qty < 0 THEN 'Quantity' "
            "WHEN customer IS NULL THEN 'Customer ID' END AS reason_column "
            "FROM (SELECT *, "
            "TRY_CAST(qty_s AS DECIMAL(18, 6)) AS qty, "
            "TRY_CAST(price_s AS DECIMAL(18, 6)) AS price, "
            "coalesce(TRY_CAST(date_s AS TIMESTAMP), "
            f"try_strptime(date_s, {fmts})) AS ts, "
            "NULLIF(regexp_replace(cust_s, '\\.0+$', ''), '') AS customer, "
            "upper(inv) LIKE 'C%' AS is_cancel "
            "FROM _or_named)"
        )
        # A cancellation's quantity loses its sign as text, so a bad value reaches
        # validation exactly as written.
        order_items = (
            "SELECT _row, inv AS order_id, code AS item_id, "
            "CASE WHEN qty < 0 THEN ltrim(qty_s, '-') ELSE qty_s END AS quantity, "
            "price_s AS price, "
            "reason_column AS _reject_column, reason AS _reject_reason "
            "FROM _or_lines"
        )
        # Totals come from the invoice's accepted lines; an invoice with none is rejected
        # for the reason its lines were ("no customer id" if any was a real sale).
        orders = (
            "SELECT _row, order_id, user_id, ts, "
            "CAST(abs(amt) AS DOUBLE) AS amount, CAST(abs(q) AS BIGINT) AS quantity, "
            "CASE WHEN is_cancel THEN 'cancelled' ELSE 'paid' END AS status, "
            "CASE WHEN n_ok = 0 THEN CASE WHEN any_no_customer THEN 'Customer ID' "
            "ELSE first_column END "
            "WHEN n_bad > 0 THEN CASE WHEN bad_qty THEN 'Quantity' ELSE 'Price' END "
            "WHEN ts IS NULL THEN 'InvoiceDate' END "
            "AS _reject_column, "
            f"CASE WHEN n_ok = 0 THEN CASE WHEN any_no_customer THEN {sql_str(NO_CUSTOMER)} "
            "ELSE first_reason END "
            f"WHEN n_bad > 0 THEN {sql_str(BAD_NUMBER)} "
            "WHEN ts IS NULL THEN 'unparsable timestamp ' || coalesce(date_s, '') END "
            "AS _reject_reason "
            "FROM (SELECT inv AS order_id, min(_row) AS _row, "
            f"max(customer) FILTER (WHERE {readable}) AS user_id, "
            f"min(ts) FILTER (WHERE {readable}) AS ts, "
            f"min(date_s) FILTER (WHERE {readable}) AS date_s, bool_or(is_cancel) AS is_cancel, "
            "count(*) FILTER (WHERE reason IS NULL) AS n_ok, "
            "count(*) FILTER (WHERE reason IS NULL AND (qty IS NULL OR price IS NULL)) "
            "AS n_bad, "
            "bool_or(reason IS NULL AND qty IS NULL) AS bad_qty, "
            "sum(qty * price) FILTER (WHERE reason IS NULL) AS amt, "
            "sum(qty) FILTER (WHERE reason IS NULL) AS q, "
            f"bool_or(reason = {sql_str(NO_CUSTOMER)}) AS any_no_customer, "
            "arg_min(reason, _row) AS first_reason, "
            "arg_min(reason_column, _row) AS first_column "
            "FROM _or_lines GROUP BY inv)"
        )
        users = (
            "SELECT min(_row) AS _row, customer AS user_id, "
            f"first(country {LATEST}) FILTER (WHERE country IS NOT NULL) AS region "
            f"FROM _or_lines WHERE customer IS NOT NULL AND {readable} GROUP BY customer"
        )
        # Titles and prices come from sales, not adjustments ("damaged", price 0), when
        # the item has any; a positive price wins over a free sample's 0.
        sale = f"(reason IS NULL OR reason = {sql_str(NO_CUSTOMER)})"
        items = (
            "SELECT min(_row) AS _row, code AS item_id, "
            f"coalesce(first(descr {LATEST}) FILTER (WHERE {sale} AND descr IS NOT NULL), "
            f"first(descr {LATEST}) FILTER (WHERE descr IS NOT NULL)) AS title, "
            f"CAST(coalesce(first(price {LATEST}) FILTER (WHERE {sale} AND price > 0), "
            f"first(price {LATEST}) FILTER (WHERE {sale} AND price >= 0)) AS DOUBLE) "
            "AS price "
            f"FROM _or_lines WHERE {readable} GROUP BY code"
        )
        return {"order_items": order_items, "orders": orders, "users": users, "items": items}
