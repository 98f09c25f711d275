"""Review and support text in the warehouse: which texts still need a score, and the
derived table ``text_scores`` that holds them.

Scores come from a text model fitted outside the shop's history (or on a labelled file
the user gives), so a review's score is known from the moment it is written: the feature
family reads it with the review's own timestamp, and ``ts < as_of`` keeps it point in time.
``text_scores`` is derived data: it is rebuilt when the sentiment model changes
(``model_id``), and never ingested or exported as a canonical table.

The reads are Ibis expressions; the writes (creating the table, dropping another model's
scores, appending new ones) are the warehouse's own.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from liucun.schema import TEXT_SCORES

if TYPE_CHECKING:
    from liucun.workspace import Workspace

TABLE = TEXT_SCORES
COLUMNS = ("_key", "source", "user_id", "ts", "item_id", "lang", "p_positive",
           "negative_aspects", "aspects", "model_id")  # fmt: skip


@ibis.udf.scalar.builtin
def trim(s: str) -> str:  # type: ignore[empty-body]
    """SQL's ``trim``: spaces only, on DuckDB and Spark (Ibis's ``strip`` takes all
    whitespace, which would let a review of only a newline through)."""


def _json_text(doc: ir.JSONValue, key: str) -> ir.StringValue:
    """The value under ``key`` of a JSON object as text (NULL when absent or JSON null),
    as DuckDB's ``json_extract_string``: a string unquoted, anything else as JSON text."""
    v = doc[key]
    raw = v.cast("string")
    return ibis.cases((raw == "null", ibis.null("string")), else_=ibis.coalesce(v.str, raw))


def text_rows(ws: Workspace) -> ir.Table:
    """(_key, source, user_id, ts, item_id, text) of every review with text and every support
    event whose properties carry one in ``text`` or ``message``."""
    r = ws.table("reviews")
    r = r.filter(r.text.notnull() & (trim(r.text) != ""))
    reviews = r.select("_key", source=ibis.literal("review"), user_id=r.user_id, ts=r.ts,
                       item_id=r.item_id, text=r.text)  # fmt: skip
    e = ws.table("events")
    doc = e.properties.try_cast("json")
    said = ibis.coalesce(_json_text(doc, "text"), _json_text(doc, "message"))
    e = e.filter((e.event_type == "support") & e.properties.notnull() & doc.notnull())
    e = e.mutate(text=said).filter(lambda t: t.text.notnull())
    support = e.select("_key", source=ibis.literal("support"), user_id=e.user_id, ts=e.ts,
                       item_id=e.item_id, text=e.text)  # fmt: skip
    return reviews.union(support, distinct=False)


def scores_table(ws: Workspace) -> ir.Table:
    """``text_scores`` as Ibis (created empty when nothing was scored yet)."""
    ws.warehouse.ensure_text_scores()
    return ws.table(TABLE)


def unscored_texts(ws: Workspace, model_id: str) -> pd.DataFrame:
    """Review and support texts without a score from ``model_id``, in key order.

    Scores from another model are dropped first: one model scores every row.
    """
    ws.warehouse.keep_text_scores(model_id)
    t = text_rows(ws)
    s = ws.table(TABLE)
    todo = t.anti_join(s, [t._key == s._key, t.source == s.source])
    return ws.warehouse.frame(todo.order_by(["source", "_key"]))


def store_text_scores(ws: Workspace, scores: pd.DataFrame) -> int:
    """Append scored rows (the columns of ``text_scores``); returns how many."""
    if scores.empty:
        return 0
    return ws.warehouse.append_text_scores(scores[list(COLUMNS)])


def scored_reviews(ws: Workspace, as_of: object) -> pd.DataFrame:
    """Scored reviews written before ``as_of`` with their rating, item and category."""
    cut = ibis.literal(_timestamp(as_of), type="timestamp")
    s, r, i = scores_table(ws), ws.table("reviews"), ws.table("items")
    s = s.filter((s.source == "review") & (s.ts < cut))
    j = s.join(r, s._key == r._key).left_join(i, s.item_id == i.item_id)
    out = j.select(
        user_id=s.user_id, ts=s.ts, item_id=s.item_id, lang=s.lang, p_positive=s.p_positive,
        aspects=s.aspects, negative_aspects=s.negative_aspects, rating=r.rating,
        text=r.text, category=i.category, _key=s._key,
    )  # fmt: skip
    out = out.order_by(["ts", "user_id", "_key"]).drop("_key")
    return ws.warehouse.frame(out)


def _timestamp(as_of: object) -> dt.datetime:
    return pd.Timestamp(as_of).to_pydatetime()
