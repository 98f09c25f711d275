"""Time-split backtest of recommendations: popularity, item-kNN, ALS, BPR and liucun."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun.errors import LiucunError
from liucun.evaluate.ranking import ranking_metrics
from liucun.evaluate.splits import summarise_backtest
from liucun.features.interactions import consumed_frame, interaction_frame, item_frame
from liucun.tasks.recommend import DEFAULT_RECOMMEND_CONFIG, build_recommender

if TYPE_CHECKING:
    import ibis.expr.types as ir


BASELINES: dict[str, dict[str, Any]] = {
    "popular": {"sources": ["popular"], "ranker": False},
    "itemknn": {"sources": ["itemknn"], "ranker": False},
    "als": {"sources": ["als"], "ranker": False},
    "bpr": {"sources": ["bpr"], "ranker": False},
}


def backtest(
    tables: Mapping[str, ir.Table],
    cutoffs: Sequence[dt.date],
    horizon: int,
    cfg: Mapping[str, Any] | None = None,
    k: int = 10,
    on_step: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """At each cutoff: fit on what came before, judge on the next ``horizon`` days.

    Relevant items: what a customer bought, rated or reviewed in the window and had not
    consumed before the cutoff (what a shop would want to have recommended).
    """
    cfg = {**DEFAULT_RECOMMEND_CONFIG, **(cfg or {})}
    rows_out: list[dict[str, Any]] = []
    items = item_frame(tables)
    for cut in sorted(cutoffs):
        end = cut + dt.timedelta(days=horizon)
        before = consumed_frame(tables, cut)
        after = consumed_frame(tables, end)
        seen = set(zip(before["user_id"], before["item_id"], strict=True))
        new = after[
            [(u, i) not in seen for u, i in zip(after["user_id"], after["item_id"], strict=True)]
        ]
        relevant: dict[str, set[str]] = {}
        for u, i in zip(new["user_id"].astype(str), new["item_id"].astype(str), strict=True):
            relevant.setdefault(u, set()).add(i)
        if not relevant:
            continue
        inter = interaction_frame(tables, cut, cfg["event_weights"])
        pop = inter.groupby("item_id")["user_id"].nunique()
        pop_share = (pop / pop.sum()).to_dict()
        cats = (
            dict(zip(items["item_id"].astype(str), items["top_category"], strict=True))
            if items is not None
            else None
        )
        users = sorted(relevant)
        models = {**BASELINES, "liucun": {}}
        for name, over in models.items():
            on_step(f"cutoff {cut}: {name}")
            t0 = time.perf_counter()
            rec = build_recommender({**cfg, **over}).fit(inter, items, before, pd.Timestamp(cut))
            out = rec.recommend(users, k)
            m = ranking_metrics(
                out,
                relevant,
                k,
                n_items=rec.data_.n_items,
                item_popularity=pop_share,
                item_category=cats,
            )
            rows_out.append(
                {
                    "cutoff": cut.isoformat(),
                    "model": name,
                    "seconds": round(time.perf_counter() - t0, 3),
                    **m,
                }
            )
    if not rows_out:
        raise LiucunError("no customer consumed a new item after any cutoff: nothing to judge")
    per = pd.DataFrame(rows_out)
    return {
        "horizon_days": horizon,
        "k": k,
        "cutoffs": [c.isoformat() for c in sorted(cutoffs)],
        "per_cutoff": per,
        "summary": summarise_backtest(rows_out),
    }
