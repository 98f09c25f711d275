"""Message drafts for a plan: what each contacted customer is told, gathered from the shop.

:func:`message_context` collects, per contacted customer, what the wording depends on:

* ``language``: a users column or ``attributes`` key of ``[plan.messages] language_from``
  ("zh-CN", "en", a country), else the language most of the customer's reviews before
  ``as_of`` are written in, else left empty (the shop's ``language`` applies);
* ``days_since_order`` (the features' ``recency_days``; NaN: never ordered) and its
  ``recency`` group (recent / lapsing / new), which picks the greeting: a customer who
  bought yesterday is thanked, not told "it's been a while";
* ``segment``, and the titles of the top recommended items (computed for the contacted
  customers when the caller has none);
* ``reasons``: the churn model's reasons, kept for the marketer's ``internal_reasons``
  column and never put into the customer's text.

:func:`drafts` renders them (:func:`liucun.decide.messages.draft_messages`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from liucun import config
from liucun.decide.messages import (
    draft_messages,
    language_of,
    messages_config,
    recency_of,
    vote_language,
)
from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.features.base import as_of_value, before, days_between
from liucun.features.interactions import item_frame
from liucun.models.text.lang import detect
from liucun.tasks.recommend import recommend

if TYPE_CHECKING:
    from liucun.workspace import Workspace

CONTEXT_COLUMNS = [
    "user_id", "language", "days_since_order", "recency", "segment", "items", "reasons",
]  # fmt: skip
PLACE_SETTINGS = ("region", "country")  # read as countries, not language names


def _config(ws: Workspace) -> dict:
    return messages_config(config.section("plan", ws.config))


def _date(as_of: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    return as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))


def user_languages(ws: Workspace, users: list[str], names: list[str]) -> pd.Series:
    """Language per customer from the users settings ``names`` (first that names zh or en
    wins, in the order given), indexed by user_id; customers without one are left out."""
    out = pd.Series(dtype=object, name="language")
    want = set(users)
    for name in names:
        todo = want - set(out.index)
        if not todo:
            break
        df = ws.warehouse.account_labels([name])
        if df is None:
            return out
        df = df[df["user_id"].astype(str).isin(todo)]
        place = name in PLACE_SETTINGS
        lang = df["label"].map(lambda v, place=place: language_of(v, place=place))
        found = pd.Series(lang.to_numpy(), index=df["user_id"].astype(str)).dropna()
        out = pd.concat([out, found[~found.index.duplicated()]])
    return out.rename("language")


def review_languages(ws: Workspace, as_of: dt.date, users: list[str]) -> pd.Series:
    """Language per customer from their reviews before ``as_of`` (majority, mixed counting
    as zh), indexed by user_id; customers without a review in zh or en are left out."""
    tables = workspace_tables(ws)
    if not users or "reviews" not in tables:
        return pd.Series(dtype=object, name="language")
    r = before(tables["reviews"], as_of_value(as_of))
    r = r.filter(r.user_id.isin(users)).select("user_id", "ts", "text").order_by(["ts"])
    df = r.execute()
    return vote_language(df["user_id"].astype(str), detect(df["text"].fillna("").astype(str)))


def days_since_order(ws: Workspace, as_of: dt.date, users: list[str]) -> pd.Series:
    """Days from each customer's last order to ``as_of`` (the features' ``recency_days``),
    for callers without a features frame; customers who never ordered are left out."""
    tables = workspace_tables(ws)
    if not users or "orders" not in tables:
        return pd.Series(dtype=float, name="days_since_order")
    cut = as_of_value(as_of)
    o = before(tables["orders"], cut)
    g = o.filter(o.user_id.isin(users)).group_by("user_id").aggregate(last_order=o.ts.max())
    df = g.select("user_id", days=days_between(cut, g.last_order)).execute()
    return pd.Series(df["days"].to_numpy(float), index=df["user_id"].astype(str))


def item_titles(ws: Workspace, recommendations: pd.DataFrame, k: int) -> pd.Series:
    """The titles of each customer's top ``k`` recommended items (item id without one),
    best first, indexed by user_id."""
    if recommendations is None or recommendations.empty:
        return pd.Series(dtype=object, name="items")
    recs = recommendations.sort_values(["user_id", "rank"]).groupby("user_id").head(k)
    items = item_frame(workspace_tables(ws))
    title = recs["item_id"]
    if items is not None and "title" in items:
        names = items.drop_duplicates("item_id").set_index("item_id")["title"]
        title = recs["item_id"].map(names).where(lambda s: s.notna() & (s != ""), title)
    recs = recs.assign(title=title.astype(str), user_id=recs["user_id"].astype(str))
    return recs.groupby("user_id", sort=False)["title"].agg(list).rename("items")


def message_context(
    ws: Workspace,
    as_of: dt.date | dt.datetime | str,
    plan: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    recommendations: pd.DataFrame | None = None,
    features: pd.DataFrame | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> pd.DataFrame:
    """What the drafts of ``plan``'s contacted customers are filled with (columns
    :data:`CONTEXT_COLUMNS`, one row per customer).

    ``recommendations`` (user_id, item_id, rank): None computes them for the contacted
    customers (none when the recommender cannot be fitted); an empty frame means no items.
    ``features``: the frame the plan used, for ``recency_days``; None queries the orders.
    """
    day = _date(as_of)
    cfg = _config(ws)
    users = list(dict.fromkeys(plan.loc[plan["action"] != "control", "user_id"].astype(str)))
    ctx = pd.DataFrame({"user_id": users})
    if not users:
        return pd.DataFrame(columns=CONTEXT_COLUMNS)

    on_step("message drafts: customers' languages")
    lang = user_languages(ws, users, list(cfg["language_from"]))
    rest = [u for u in users if u not in lang.index]
    lang = pd.concat([lang, review_languages(ws, day, rest)])
    ctx["language"] = ctx["user_id"].map(lang)

    if features is not None and "recency_days" in features:
        days = features.assign(user_id=features["user_id"].astype(str))
        days = days.drop_duplicates("user_id").set_index("user_id")["recency_days"]
    else:
        days = days_since_order(ws, day, users)
    ctx["days_since_order"] = ctx["user_id"].map(days).astype(float)
    ctx["recency"] = [recency_of(d, cfg["recent_days"]) for d in ctx["days_since_order"]]

    by_user = (
        scores.assign(user_id=scores["user_id"].astype(str)).drop_duplicates("user_id")
        if scores is not None
        else pd.DataFrame(columns=["user_id"])
    ).set_index("user_id")
    for col in ("segment", "reasons"):
        ctx[col] = ctx["user_id"].map(by_user[col]) if col in by_user else None

    if recommendations is None:
        on_step("message drafts: recommended items")
        try:
            recommendations = recommend(ws, day, users=users, on_step=on_step).recommendations
        except LiucunError:  # no interactions to learn from: drafts without items
            recommendations = None
    titles = item_titles(ws, recommendations, int(cfg["max_items"]))
    ctx["items"] = ctx["user_id"].map(titles)
    return ctx[CONTEXT_COLUMNS]


def drafts(ws: Workspace, plan: pd.DataFrame, context: pd.DataFrame | None = None) -> pd.DataFrame:
    """Message drafts for the planned customers (templates, or the LLM set in liucun.toml),
    in each customer's language; model reasons only in ``internal_reasons``."""
    return draft_messages(plan, context, _config(ws))
