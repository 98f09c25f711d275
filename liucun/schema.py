"""The canonical data model of DESIGN.md, as data.

Every other module reads table and column facts from here, so the model is written once.
Column kinds decide how a value is parsed and validated during ingest:

- ``id``: text, trimmed; empty means missing (ids are text always: "00001" is not 1)
- ``ts``: a UTC timestamp (naive ones are taken in the ingest's ``--tz``)
- ``float`` / ``int``: numbers; a non-numeric value is a bad row
- ``text``: free text, kept as given
- ``enum``: lower-cased and checked against ``values``
- ``json``: a JSON document kept as text (``properties``, free user attributes)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from liucun.errors import LiucunError

EVENT_TYPES: tuple[str, ...] = (
    "view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "purchase",
    "review",
    "rate",
    "support",
    "coupon_redeem",
    "login",
    "refund",
    "opt_out",
)
ORDER_STATUSES: tuple[str, ...] = ("paid", "refunded", "cancelled")
ARMS: tuple[str, ...] = ("treatment", "control")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # id | ts | float | int | text | enum | json
    required: bool = False
    values: tuple[str, ...] = ()  # allowed values of an enum
    default: str | None = None  # used for a missing enum value

    @property
    def sql_type(self) -> str:
        return {
            "id": "VARCHAR",
            "ts": "TIMESTAMP",
            "float": "DOUBLE",
            "int": "BIGINT",
            "text": "VARCHAR",
            "enum": "VARCHAR",
            "json": "VARCHAR",
        }[self.kind]


@dataclass(frozen=True)
class Table:
    """A canonical table.

    ``key`` names the columns that identify a row. With ``unique_key`` the key is a
    natural id (an order id, or an item's stock at one moment): a second row with the same
    key is the same entity, so it is either a duplicate or an update. A natural key of one
    column is stored as that column; one of several is stored digested in ``_key``.
    Without ``unique_key`` the key is derived from the key columns plus the row's
    occurrence number within the file, so repeated identical rows in one file are all kept
    while re-ingesting the file adds nothing.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    unique_key: bool
    extras_column: str | None = None  # unknown source columns are packed here as JSON
    derived_id: str | None = None  # an id column derived from content when absent
    doc: str = ""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def id_column(self) -> str | None:
        """The one column that is the natural key, if there is one (it is not stored twice
        in ``_key``)."""
        return self.key[0] if self.unique_key and len(self.key) == 1 else None

    @property
    def required(self) -> tuple[str, ...]:
        """Columns a source must provide (a derived id may be absent)."""
        return tuple(c.name for c in self.columns if c.required and c.name != self.derived_id)


def _c(name: str, kind: str, required: bool = False, **kw: object) -> Column:
    return Column(name, kind, required, **kw)  # type: ignore[arg-type]


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "events",
            (
                _c("user_id", "id", True),
                _c("ts", "ts", True),
                _c("event_type", "enum", True, values=EVENT_TYPES),
                _c("item_id", "id"),
                _c("session_id", "id"),
                _c("value", "float"),
                _c("properties", "json"),
            ),
            key=("user_id", "ts", "event_type", "item_id", "session_id", "value", "properties"),
            unique_key=False,
            extras_column="properties",
            doc="What customers did: views, carts, purchases, ratings, logins, opt-outs.",
        ),
        Table(
            "orders",
            (
                _c("order_id", "id", True),
                _c("user_id", "id", True),
                _c("ts", "ts", True),
                _c("amount", "float", True),
                _c("quantity", "int"),
                _c("status", "enum", values=ORDER_STATUSES, default="paid"),
                _c("coupon_code", "id"),
                _c("discount", "float"),
            ),
            key=("order_id",),
            unique_key=True,
            derived_id="order_id",
            doc="One row per order; amount is what the customer paid after offers.",
        ),
        Table(
            "order_items",
            (
                _c("order_id", "id", True),
                _c("item_id", "id", True),
                _c("quantity", "int"),
                _c("price", "float"),
            ),
            key=("order_id", "item_id"),
            unique_key=False,
            doc="The lines of each order.",
        ),
        Table(
            "users",
            (
                _c("user_id", "id", True),
                _c("signup_ts", "ts"),
                _c("region", "text"),
                _c("channel", "text"),
                _c("attributes", "json"),
            ),
            key=("user_id",),
            unique_key=True,
            extras_column="attributes",
            doc="Customers; free attributes are kept as JSON.",
        ),
        Table(
            "items",
            (
                _c("item_id", "id", True),
                _c("category", "text"),
                _c("price", "float"),
                _c("brand", "text"),
                _c("title", "text"),
                _c("description", "text"),
            ),
            key=("item_id",),
            unique_key=True,
            doc="The catalogue; category is a path 'a/b/c'.",
        ),
        Table(
            "reviews",
            (
                _c("user_id", "id", True),
                _c("ts", "ts", True),
                _c("text", "text", True),
                _c("item_id", "id"),
                _c("rating", "float"),
            ),
            key=("user_id", "ts", "item_id"),
            unique_key=False,
            doc="Review text with an optional rating.",
        ),
        Table(
            "treatments",
            (
                _c("user_id", "id", True),
                _c("ts", "ts", True),
                _c("campaign_id", "id", True),
                _c("action", "id", True),
                _c("arm", "enum", values=ARMS, default="treatment"),
                _c("cost", "float"),
            ),
            key=("user_id", "ts", "campaign_id", "action"),
            unique_key=False,
            doc="Campaign exposures, randomised or not, with their control groups.",
        ),
        Table(
            "inventory",
            (
                _c("item_id", "id", True),
                _c("ts", "ts", True),
                _c("on_hand", "int", True),
                _c("on_order", "int"),
                _c("lead_time_days", "float"),
            ),
            # One stock count per item and moment: a second row for them is the same
            # snapshot again (a duplicate) or a correction (an update, kept in history).
            key=("item_id", "ts"),
            unique_key=True,
            doc="Stock snapshots: units on hand and on order, with the supplier's lead time.",
        ),
    )
}

# Bookkeeping columns added to every canonical table in the warehouse. ``_key`` identifies a
# row of a table without a natural id; in a table with one (orders, users, items) the id
# column is the key and ``_key`` is NULL; a natural key of several columns (inventory's
# item_id and ts) is a digest of them in ``_key``.
META_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_key", "VARCHAR"),
    ("_source", "VARCHAR"),
    ("_row", "BIGINT"),
    ("_ingest_id", "BIGINT"),
)


# Tables the warehouse derives from the canonical ones (not ingested): review and support
# texts scored by the sentiment model.
TEXT_SCORES = "text_scores"
DERIVED = (TEXT_SCORES,)


def get_table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise LiucunError(f"unknown table '{name}': expected one of {', '.join(TABLES)}") from None
