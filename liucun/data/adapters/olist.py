"""Olist (Brazilian e-commerce, Kaggle ``olistbr/brazilian-ecommerce``): one CSV per relation.

FILE is the folder, or any one of its files; the others are found next to it by their
standard names:

- ``olist_orders_dataset.csv``: order_id, customer_id, order_status,
  order_purchase_timestamp, order_approved_at, order_delivered_carrier_date,
  order_delivered_customer_date, order_estimated_delivery_date
- ``olist_customers_dataset.csv``: customer_id, customer_unique_id,
  customer_zip_code_prefix, customer_city, customer_state
- ``olist_order_items_dataset.csv``: order_id, order_item_id (the line number),
  product_id, seller_id, shipping_limit_date, price, freight_value
- ``olist_order_payments_dataset.csv``: order_id, payment_sequential, payment_type,
  payment_installments, payment_value
- ``olist_order_reviews_dataset.csv``: review_id, order_id, review_score,
  review_comment_title, review_comment_message, review_creation_date,
  review_answer_timestamp
- ``olist_products_dataset.csv``: product_id, product_category_name, and sizes
  (``product_name_lenght``: the typo is the real header)
- ``product_category_name_translation.csv`` (optional): Portuguese → English category

Quirks:

- ``customer_id`` is per order; the person is ``customer_unique_id``, so orders and
  reviews need the customers file to name their user (ingest stops if it is missing).
- Ids are 32-hex text; values that start with a digit are quoted, zip prefixes keep their
  leading zeros. Review messages hold quoted CR/LF line breaks, so that file is read
  with the serial CSV reader.
- About 58% of reviews are a score without any text: ``reviews`` needs text, so they are
  quarantined there ("review without text"); every score is also a ``rate`` event in
  ``events`` (value = the score), so no rating is lost.
- Timestamps are Brazilian local time: ingest with ``--tz America/Sao_Paulo``.

Tables, each from the files it needs (a table whose file is absent is not filled):
``orders`` (amount = sum of payment_value, else of price + freight; canceled and
unavailable → cancelled, every other status → paid; quantity = number of lines),
``order_items`` (one unit per line; lines of orders missing from the orders file still
load: there is no foreign-key check), ``users`` (region = state of the customer's latest
order, city and zip prefix in ``attributes``), ``items`` (category in English when the
translation file is there; price = the latest line price) and ``reviews`` (text = title
and message, item = the order's first product). Quarantine row numbers count data rows
of the file each table comes from (orders → orders file, and so on).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from liucun.data.adapters.base import Adapter
from liucun.data.sources import SourceOptions, read_file
from liucun.errors import SourceError
from liucun.warehouse import sql_str

FILES: dict[str, str] = {
    "orders": "olist_orders_dataset.csv",
    "customers": "olist_customers_dataset.csv",
    "items": "olist_order_items_dataset.csv",
    "payments": "olist_order_payments_dataset.csv",
    "reviews": "olist_order_reviews_dataset.csv",
    "products": "olist_products_dataset.csv",
    "translation": "product_category_name_translation.csv",
}
# The columns each file must have for what this adapter reads from it.
NEEDED: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "customer_id", "order_status", "order_purchase_timestamp"),
    "customers": (
        "customer_id",
        "customer_unique_id",
        "customer_zip_code_prefix",
        "customer_city",
        "customer_state",
    ),
    "items": (
        "order_id",
        "order_item_id",
        "product_id",
        "shipping_limit_date",
        "price",
        "freight_value",
    ),
    "payments": ("order_id", "payment_value"),
    "reviews": (
        "order_id",
        "review_score",
        "review_comment_title",
        "review_comment_message",
        "review_creation_date",
    ),
    "products": ("product_id", "product_category_name"),
    "translation": (),  # read by position: its first header cell may carry a BOM
}

NO_TEXT = "review without text"
WS = "' ' || chr(9) || chr(13) || chr(10)"  # blanks trimmed from ids and review text


# A row the reader could not take as written (bytes that are not UTF-8, a ragged row) is
# quarantined with the reader's reason; lookups (people, lines, payments) skip it.
_READ_REJECT = "NULL AS _reject_column, _read_error AS _reject_reason"


def _t(x: str) -> str:
    """SQL: a trimmed text value, NULL when blank."""
    return f"NULLIF(trim({x}, {WS}), '')"


def _find(path: Path) -> tuple[Path, dict[str, Path]]:
    """The folder and the standard files present in it."""
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.is_dir():
        folder = path
    elif path.name in FILES.values():
        folder = path.parent
    else:
        raise SourceError(
            f"{path}: not an Olist file; pass the folder or one of {', '.join(FILES.values())}"
        )
    found = {k: folder / n for k, n in FILES.items() if (folder / n).is_file()}
    return folder, found


# The file whose rows each canonical table numbers (its quarantine row numbers refer to it).
_TABLE_FILE = {
    "orders": "orders",
    "order_items": "items",
    "users": "customers",
    "items": "products",
    "reviews": "reviews",
    "events": "reviews",
}


class OlistAdapter(Adapter):
    name = "olist"
    tables = ("orders", "order_items", "users", "items", "reviews", "events")
    description = "Olist folder (orders, items, customers, payments, reviews, products CSVs)"

    def source_of(self, table: str, path: Path) -> str:
        return getattr(self, "_files", {}).get(table, str(path))

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        folder, found = _find(path)
        self._files = {t: str(found[f]) for t, f in _TABLE_FILE.items() if f in found}
        # Tables this folder can fill, and the files each one cannot do without.
        needs = {
            "orders": ("orders", "customers"),
            "order_items": ("items",),
            "users": ("customers",),
            "items": ("products",),
            "reviews": ("reviews", "orders", "customers"),
            "events": ("reviews", "orders", "customers"),
        }
        wanted = [t for t, files in needs.items() if t == opts.table or files[0] in found]
        for t in wanted:
            for f in needs[t]:
                if f not in found:
                    raise SourceError(
                        f"{folder}: no {FILES[f]} next to the Olist files; {t} needs it"
                        + (" to find each order's person" if f == "customers" else "")
                    )
        if "orders" in wanted and not {"payments", "items"} & found.keys():
            raise SourceError(
                f"{folder}: no {FILES['payments']} or {FILES['items']}; "
                "orders need one of them for the amount"
            )

        for key, file in found.items():
            name = f"_ol_{key}"
            cols = read_file(con, file, "csv", name=name, encoding=opts.encoding)
            missing = [c for c in NEEDED[key] if c not in cols]
            if missing:
                raise SourceError(
                    f"{file}: no column {', '.join(missing)}; is this the Olist {FILES[key]}?"
                )
            if key == "translation" and len(cols) < 2:
                raise SourceError(f"{file}: expected 2 columns (Portuguese, English category)")
            if key == "translation":
                con.execute(
                    f"CREATE OR REPLACE TEMP VIEW _ol_en AS SELECT {_t('pt')} AS pt, "
                    f"first({_t('en')} ORDER BY _row DESC) AS en "
                    f"FROM (SELECT _row, #1 AS pt, #2 AS en FROM _ol_translation "
                    f"WHERE _read_error IS NULL) "
                    f"GROUP BY ALL"
                )

        def present(key: str) -> bool:
            return key in found

        if present("customers"):
            # customer_id → the person; one row per customer_id (the file's last wins).
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW _ol_person AS SELECT {_t('customer_id')} AS cid, "
                f"{_t('customer_unique_id')} AS uid FROM _ol_customers "
                f"WHERE _read_error IS NULL "
                f"QUALIFY row_number() OVER (PARTITION BY cid ORDER BY _row DESC) = 1"
            )
        if present("items"):
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW _ol_lines AS SELECT _row, {_t('order_id')} AS oid, "
                f"TRY_CAST(trim(order_item_id) AS BIGINT) AS n, {_t('product_id')} AS pid, "
                "TRY_CAST(trim(shipping_limit_date) AS TIMESTAMP) AS limit_ts, "
                "TRY_CAST(trim(price) AS DECIMAL(18, 4)) AS price, "
                "TRY_CAST(trim(freight_value) AS DECIMAL(18, 4)) AS freight FROM _ol_items "
                "WHERE _read_error IS NULL"
            )

        out: dict[str, str] = {}
        if "orders" in wanted:
            out["orders"] = self._orders(present("payments"), present("items"))
        if "order_items" in wanted:
            out["order_items"] = (
                f"SELECT _row, {_t('order_id')} AS order_id, {_t('product_id')} AS item_id, "
                f"1 AS quantity, price, {_READ_REJECT} FROM _ol_items"
            )
        if "users" in wanted:
            out["users"] = self._users(present("orders"))
        if "items" in wanted:
            out["items"] = self._items(present("translation"), present("items"))
        if "reviews" in wanted:
            out["reviews"] = self._reviews(present("items"))
        if "events" in wanted:
            # Every score is a rating, with or without text: kept as a `rate` event.
            out["events"] = self._reviews(present("items"), as_rating=True)
        return out

    @staticmethod
    def _orders(payments: bool, items: bool) -> str:
        joins, amount, bad = [], [], "false"
        if payments:
            # Summed as decimals: cents stay exact (18.12 + 2 + 18.59 = 38.71).
            joins.append(
                f"LEFT JOIN (SELECT {_t('order_id')} AS oid, "
                "sum(TRY_CAST(trim(payment_value) AS DECIMAL(18, 4))) AS paid, "
                "count(*) FILTER (WHERE TRY_CAST(trim(payment_value) AS DECIMAL(18, 4)) "
                f"IS NULL AND {_t('payment_value')} IS NOT NULL) AS bad "
                "FROM _ol_payments WHERE _read_error IS NULL GROUP BY 1) p ON p.oid = o.oid"
            )
            amount.append("p.paid")
            bad = "coalesce(p.bad, 0) > 0"
        quantity = "NULL"
        if items:
            joins.append(
                "LEFT JOIN (SELECT oid, count(*) AS lines, sum(price + freight) AS total "
                "FROM _ol_lines GROUP BY oid) i ON i.oid = o.oid"
            )
            amount.append("i.total")
            quantity = "i.lines"
        amount_sql = f"CAST(coalesce({', '.join(amount)}) AS DOUBLE)"
        unknown = "o.cid IS NOT NULL AND c.cid IS NULL"
        return (
            f"SELECT o._row, o.oid AS order_id, c.uid AS user_id, o.ts, {amount_sql} AS amount, "
            f"{quantity} AS quantity, "
            "CASE WHEN o.status IN ('canceled', 'cancelled', 'unavailable') THEN 'cancelled' "
            "ELSE 'paid' END AS status, "
            f"CASE WHEN o._read_error IS NOT NULL THEN NULL "
            f"WHEN {unknown} THEN 'customer_id' WHEN {bad} THEN 'payment_value' END "
            "AS _reject_column, "
            f"CASE WHEN o._read_error IS NOT NULL THEN o._read_error "
            f"WHEN {unknown} THEN {sql_str('customer_id not in ' + FILES['customers'])} "
            f"WHEN {bad} THEN {sql_str('non-numeric payment_value in ' + FILES['payments'])} "
            "END AS _reject_reason "
            f"FROM (SELECT _row, {_t('order_id')} AS oid, {_t('customer_id')} AS cid, "
            f"lower(trim(order_status)) AS status, order_purchase_timestamp AS ts, _read_error "
            "FROM _ol_orders) o LEFT JOIN _ol_person c ON c.cid = o.cid " + " ".join(joins)
        )

    @staticmethod
    def _users(orders: bool) -> str:
        # A person may have several customer rows (one per order): keep the latest order's.
        last = (
            f"LEFT JOIN (SELECT {_t('customer_id')} AS cid, "
            "max(TRY_CAST(trim(order_purchase_timestamp) AS TIMESTAMP)) AS last_ts "
            "FROM _ol_orders WHERE _read_error IS NULL GROUP BY 1) o ON o.cid = c.cid"
            if orders
            else "LEFT JOIN (SELECT NULL::VARCHAR AS cid, NULL::TIMESTAMP AS last_ts) o ON false"
        )
        rows = (
            f"SELECT c._row, c.uid, c.state, c.attrs, c._read_error, o.last_ts FROM "
            f"(SELECT _row, {_t('customer_id')} AS cid, {_t('customer_unique_id')} AS uid, "
            f"{_t('customer_state')} AS state, CAST(to_json(struct_pack("
            f"city := {_t('customer_city')}, zip_code_prefix := "
            f"{_t('customer_zip_code_prefix')})) AS VARCHAR) AS attrs, _read_error "
            f"FROM _ol_customers) c {last}"
        )
        latest = "ORDER BY last_ts DESC NULLS LAST, _row DESC"
        # Rows without a person id, or that could not be read, pass through one by one,
        # to be quarantined.
        alone = "uid IS NULL OR _read_error IS NOT NULL"
        return (
            f"WITH r AS ({rows}) "
            f"SELECT min(_row) AS _row, uid AS user_id, first(state {latest}) AS region, "
            f"first(attrs {latest}) AS attributes, NULL AS _reject_column, "
            f"NULL AS _reject_reason FROM r WHERE NOT ({alone}) GROUP BY uid "
            f"UNION ALL SELECT _row, uid, state, attrs, {_READ_REJECT} FROM r WHERE {alone}"
        )

    @staticmethod
    def _items(translation: bool, lines: bool) -> str:
        pt = _t("product_category_name")
        category = f"coalesce(t.en, {pt})" if translation else pt
        sql = (
            f"SELECT p._row, {_t('product_id')} AS item_id, {category} AS category, "
            f"NULL AS _reject_column, p._read_error AS _reject_reason"
        )
        joins = ""
        if translation:
            joins += f" LEFT JOIN _ol_en t ON t.pt = {pt}"
        if lines:
            sql += ", CAST(l.price AS DOUBLE) AS price"
            joins += (
                " LEFT JOIN (SELECT pid, first(price ORDER BY limit_ts DESC NULLS LAST, "
                "_row DESC) AS price FROM _ol_lines WHERE price IS NOT NULL GROUP BY pid) l "
                f"ON l.pid = {_t('product_id')}"
            )
        return f"{sql} FROM _ol_products p{joins}"

    @staticmethod
    def _reviews(lines: bool, as_rating: bool = False) -> str:
        title = _t("review_comment_title")
        message = _t("review_comment_message")
        first_item = (
            "LEFT JOIN (SELECT oid, first(pid ORDER BY n NULLS LAST, _row) AS pid "
            "FROM _ol_lines GROUP BY oid) fi ON fi.oid = o.oid"
            if lines
            else "LEFT JOIN (SELECT NULL::VARCHAR AS oid, NULL::VARCHAR AS pid) fi ON false"
        )
        text = f"NULLIF(concat_ws(chr(10), {title}, {message}), '')"
        if as_rating:
            fields = (
                "'rate' AS event_type, r.review_score AS value, "
                "to_json({'review_id': r.review_id, 'order_id': r.order_id}) AS properties"
            )
            no_text = "false"
        else:
            fields = f"{text} AS text, r.review_score AS rating"
            no_text = f"{text} IS NULL"
        return (
            f"SELECT r._row, c.uid AS user_id, r.review_creation_date AS ts, {fields}, "
            "fi.pid AS item_id, "
            "CASE WHEN r._read_error IS NOT NULL THEN NULL "
            "WHEN o.oid IS NULL THEN 'order_id' WHEN c.cid IS NULL THEN 'customer_id' "
            f"WHEN {no_text} THEN 'review_comment_message' END AS _reject_column, "
            "CASE WHEN r._read_error IS NOT NULL THEN r._read_error WHEN o.oid IS NULL THEN "
            f"{sql_str('order not in ' + FILES['orders'])} "
            "WHEN c.cid IS NULL THEN "
            f"{sql_str('the order' + chr(39) + 's customer_id not in ' + FILES['customers'])} "
            f"WHEN {no_text} THEN {sql_str(NO_TEXT)} END AS _reject_reason "
            "FROM _ol_reviews r "
            f"LEFT JOIN (SELECT {_t('order_id')} AS oid, "
            f"first({_t('customer_id')} ORDER BY _row DESC) AS cid "
            "FROM _ol_orders WHERE _read_error IS NULL GROUP BY 1) o "
            f"ON o.oid = {_t('r.order_id')} "
            "LEFT JOIN _ol_person c ON c.cid = o.cid " + first_item
        )
