"""Discounts suggested by ``liucun pricing`` as candidate actions of ``liucun plan``.

A category whose pricing row has ``suggested_discount > 0`` (a depth that already keeps
``[pricing] margin_floor``) becomes a ``pct`` catalogue action
``price_discount_<percent>_<category>``. The discount cuts only the category's items, so
a redeemed offer is costed as depth × the category's share of the shop's sales × the
customer's expected order amount: the shop's share stands in for the customer's own.

Such an action has no randomised history, and :mod:`liucun.tasks.plan` treats it like
every action without it: never planned on evidence; in a first test a randomised arm with
its own control group; in a plan from history listed in ``stats["catalog"]`` with the
reason (``status`` ``untested``). Once a campaign recorded it under its name, it is
judged on that evidence like any action. ``[plan] price_actions = 0`` turns it off; a
shop whose pricing suggests nothing gets the same plan either way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun import config
from liucun.errors import LiucunError
from liucun.features.demand import daily_units
from liucun.models.nba import Action, NextBestAction, catalog
from liucun.tasks.pricing import NO_CATEGORY, item_catalogue, pricing

if TYPE_CHECKING:
    from liucun.workspace import Workspace

PRICE_ACTION_PREFIX = "price_discount_"


@dataclass(frozen=True)
class PriceOffer:
    """A category discount suggested by ``liucun pricing``, as a catalogue action."""

    action: Action  # kind pct: discount_rate = depth × share of the order it cuts
    category: str
    depth: float  # share of the list price off the category's items
    share: float  # the category's share of the shop's sales
    elasticity: float
    lo: float
    hi: float
    note: str


def price_action_name(category: str, depth: float) -> str:
    """``price_discount_<percent>_<category>``: the depth in the name, so an offer read out
    at one depth is never judged as another; the path's "/" and spaces as "_"."""
    slug = re.sub(r"\W+", "_", category).strip("_") or "uncategorised"
    return f"{PRICE_ACTION_PREFIX}{round(depth * 100)}_{slug}"


def _settings(cfg: Mapping[str, Any]) -> tuple[int, float]:
    """(``price_actions``, ``price_action_contact_cost``) of ``[plan]``, checked."""
    limit = int(cfg.get("price_actions") or 0)
    contact = float(cfg.get("price_action_contact_cost") or 0.0)
    if limit < 0 or contact < 0:
        raise LiucunError(
            f"[plan] price_actions = {limit}, price_action_contact_cost = {contact}: "
            "expected numbers >= 0"
        )
    return limit, contact


def price_offers(
    frame: pd.DataFrame,
    shares: Mapping[str, float],
    cfg: Mapping[str, Any],
    taken: Iterable[str] = (),
) -> dict[str, PriceOffer]:
    """Catalogue actions for the categories a pricing output suggests a discount for.

    Only category rows with ``suggested_discount > 0`` (the depth already respects
    ``[pricing] margin_floor``), at most ``[plan] price_actions`` of them, the
    best-selling first. The discount applies to the category's items only, so the share
    of an order it cuts is approximated by the category's share of the shop's sales
    (``shares``): ``discount_rate = depth × share`` of the customer's expected order
    amount per redeemed offer. A category without sales, or a name already in ``taken``
    (the configured catalogue wins), is left out.
    """
    limit, contact = _settings(cfg)
    if not limit or frame is None or frame.empty:
        return {}
    depth = pd.to_numeric(frame["suggested_discount"], errors="coerce")
    rows = frame[(frame["level"] == "category") & (depth > 0) & (depth < 1)]
    found = []
    for r in rows.itertuples(index=False):
        share = float(shares.get(str(r.category), 0.0) or 0.0)
        if 0 < share <= 1:
            found.append((share, str(r.category), float(r.suggested_discount), r))
    found.sort(key=lambda c: (-c[0], c[1]))
    out: dict[str, PriceOffer] = {}
    skip = set(taken)
    for share, category, d, r in found:
        if len(out) >= limit:
            break
        name = price_action_name(category, d)
        if name in skip or name in out:
            continue
        action = Action(name=name, kind="pct", contact_cost=contact, discount_rate=d * share)
        note = "" if pd.isna(r.note) else str(r.note)
        out[name] = PriceOffer(
            action, category, d, share, float(r.elasticity), float(r.lo), float(r.hi), note
        )
    return out


def category_shares(ws: Workspace, as_of: dt.date) -> dict[str, float]:
    """Each category's share of the shop's sales (units × paid price) over ``[pricing]
    history_days`` before ``as_of``, the window the suggestion was learned on."""
    days = int(config.section("pricing", ws.config)["history_days"])
    tz = str(config.section("shop", ws.config).get("timezone", "UTC"))
    d = daily_units(ws, as_of, days=days, tz=tz)
    cat = item_catalogue(ws).set_index("item_id")["category"]
    sales = (d["units"] * d["price"]).fillna(0.0)
    by = sales.groupby(d["item_id"].map(cat).fillna(NO_CATEGORY)).sum()
    total = float(by.sum())
    return {str(k): float(v) / total for k, v in by.items()} if total > 0 else {}


def plan_offers(
    ws: Workspace, as_of: dt.date, cfg: Mapping[str, Any], prices: pd.DataFrame | None
) -> tuple[dict[str, PriceOffer], str | None]:
    """The plan's price offers (``prices``: a pricing output, else ``liucun pricing`` as of
    ``as_of``) and, where pricing failed, why they were left out: the plan does not
    depend on them."""
    if not _settings(cfg)[0]:  # a bad setting is an error, a failing pricing a note
        return {}, None
    try:
        frame = pricing(ws, as_of).frame if prices is None else prices
        if not (pd.to_numeric(frame["suggested_discount"], errors="coerce") > 0).any():
            return {}, None
        offers = price_offers(frame, category_shares(ws, as_of), cfg, set(catalog(cfg)))
    except LiucunError as e:
        return {}, f"price actions left out: {e}"
    return offers, None


def offer_entry(o: PriceOffer, randomised: bool, status: str, reason: str) -> dict[str, Any]:
    """What ``stats["catalog"]`` says about a price offer."""
    return {
        "kind": o.action.kind,
        "learned": False,
        "source": "pricing",
        "category": o.category,
        "discount": o.depth,
        "category_share": o.share,
        "discount_rate": o.action.discount_rate,
        "contact_cost": o.action.contact_cost,
        "elasticity": o.elasticity,
        "elasticity_lo": o.lo,
        "elasticity_hi": o.hi,
        "randomised": randomised,
        "status": status,
        "reason": reason,
    }


def offer_stats(
    stats: dict[str, Any], offers: Mapping[str, PriceOffer], models: NextBestAction
) -> None:
    """A plan from history: each price offer in the catalogue, with why it is (not)
    planned, in place. One with randomised history is judged on it like any action."""
    for name, o in offers.items():
        if name in models.actions_:
            status = models.status_[name]
            entry = offer_entry(o, True, status, f"measured on past campaigns: {status}")
        else:
            entry = offer_entry(
                o,
                False,
                "untested",
                "no randomised history: not planned (actions are planned only on "
                "randomised evidence); a campaign with a control group measures it",
            )
        stats["catalog"][name] = {**stats["catalog"].get(name, {}), **entry}
    stats["price_actions"] = list(offers)


__all__ = [
    "PRICE_ACTION_PREFIX",
    "PriceOffer",
    "category_shares",
    "offer_entry",
    "offer_stats",
    "plan_offers",
    "price_action_name",
    "price_offers",
]
