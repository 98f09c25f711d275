"""Review and support text in the warehouse: which texts still need a score, and the
derived table ``text_scores`` that holds them.

Scores come from a text model fitted outside the shop's history (or on a labelled file
the user gives), so a review's score is known from the moment it is written: the feature
family reads it with the review's own timestamp, and ``ts < as_of`` keeps it point in time.
``text_scores`` is derived data: it is rebuilt when the sentiment model changes
(``model_id``), and never ingested or exported as a canonical table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from liucun.workspace import Workspace

TABLE = "text_scores"
DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    _key VARCHAR,
    source VARCHAR,
    user_id VARCHAR,
    ts TIMESTAMP,
    item_id VARCHAR,
    lang VARCHAR,
    p_positive DOUBLE,
    negative_aspects VARCHAR,
    aspects VARCHAR,
    model_id VARCHAR
)"""

# Support events carry their text, when they have one, in properties.text or .message.
_SUPPORT_TEXT = "coalesce(json_extract_string(properties, '$.text'), " \
    "json_extract_string(properties, '$.message'))"  # fmt: skip


def _texts_sql() -> str:
    return f"""
        SELECT _key, 'review' AS source, user_id, ts, item_id, text
        FROM reviews WHERE text IS NOT NULL AND trim(text) <> ''
        UNION ALL
        SELECT _key, 'support' AS source, user_id, ts, item_id, {_SUPPORT_TEXT} AS text
        FROM events
        WHERE event_type = 'support' AND properties IS NOT NULL
          AND try(json_valid(properties)) AND {_SUPPORT_TEXT} IS NOT NULL"""


def unscored_texts(ws: Workspace, model_id: str) -> pd.DataFrame:
    """Review and support texts without a score from ``model_id``, in key order.

    Scores from another model are dropped first: one model scores every row.
    """
    con = ws.warehouse.con
    con.execute(DDL)
    con.execute(f"DELETE FROM {TABLE} WHERE model_id IS DISTINCT FROM ?", [model_id])
    return con.execute(
        f"""SELECT t.* FROM ({_texts_sql()}) t
            ANTI JOIN {TABLE} s ON s._key = t._key AND s.source = t.source
            ORDER BY t.source, t._key"""
    ).df()


def store_text_scores(ws: Workspace, scores: pd.DataFrame) -> int:
    """Append scored rows (the columns of ``text_scores``); returns how many."""
    if scores.empty:
        return 0
    con = ws.warehouse.con
    con.execute(DDL)
    cols = ["_key", "source", "user_id", "ts", "item_id", "lang", "p_positive",
            "negative_aspects", "aspects", "model_id"]  # fmt: skip
    frame = scores[cols]
    with ws.warehouse.transaction() as tx:
        tx.register("_scored", frame)
        try:
            tx.execute(f"INSERT INTO {TABLE} SELECT {', '.join(cols)} FROM _scored")
        finally:
            tx.unregister("_scored")
    return len(frame)


def scored_reviews(ws: Workspace, as_of: object) -> pd.DataFrame:
    """Scored reviews written before ``as_of`` with their rating, item and category."""
    con = ws.warehouse.con
    con.execute(DDL)
    return con.execute(
        f"""SELECT s.user_id, s.ts, s.item_id, s.lang, s.p_positive, s.aspects,
                   s.negative_aspects, r.rating, r.text, i.category
            FROM {TABLE} s JOIN reviews r ON r._key = s._key
            LEFT JOIN items i ON i.item_id = s.item_id
            WHERE s.source = 'review' AND s.ts < ?
            ORDER BY s.ts, s.user_id, s._key""",
        [pd.Timestamp(as_of).to_pydatetime()],
    ).df()
