"""Top-K metrics that judge recommendation lists against held-out items.

The protocol they serve is full ranking: every user gets one list over the whole catalogue
(consumed items excluded by the recommender), one or more held-out items per user are the
relevant set, and relevance is binary. Accuracy metrics are averaged over the users who
have something to find (at least one relevant item); a user the recommender skipped counts
as a miss rather than disappearing, so a model cannot look better by abstaining. Beyond
accuracy, coverage, diversity and novelty say whether the lists are the same few
blockbusters for everyone, which is what a shop's long tail cares about.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ranking_metrics", "recommendation_lists"]

NAN = float("nan")
FRAME_COLUMNS = ("user_id", "rank", "item_id")


def recommendation_lists(
    recommended: Mapping[Hashable, Sequence[Hashable]] | pd.DataFrame,
) -> dict[Hashable, list[Hashable]]:
    """Lists per user from a dict or a ``user_id, rank, item_id`` frame (``liucun recommend``).

    Frames are ordered by rank within each user, so the row order on disk does not matter.
    """
    if isinstance(recommended, pd.DataFrame):
        missing = [c for c in FRAME_COLUMNS if c not in recommended.columns]
        if missing:
            raise ValueError(f"recommendations frame lacks column(s): {', '.join(missing)}")
        frame = recommended.sort_values(["user_id", "rank"], kind="stable")
        return {u: list(g) for u, g in frame.groupby("user_id", sort=False)["item_id"]}
    return {u: list(items) for u, items in recommended.items()}


def _top_k(items: Sequence[Hashable], k: int) -> list[Hashable]:
    """The first k items, each once: a repeated item must not score twice."""
    seen: set[Hashable] = set()
    out: list[Hashable] = []
    for item in items[:k]:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _novelty_bits(item_popularity: Mapping[Hashable, float]) -> tuple[dict[Hashable, float], float]:
    """−log2 of each item's popularity share, and the value for unknown or unseen items.

    An item with no (or zero) popularity gets the share of the least popular known item,
    so novelty stays finite and such items still count as the most novel.
    """
    pops = {i: float(p) for i, p in item_popularity.items() if p is not None and p > 0}
    total = sum(pops.values())
    if total <= 0:
        return {}, NAN
    bits = {i: -math.log2(p / total) for i, p in pops.items()}
    return bits, max(bits.values())


def ranking_metrics(
    recommended: Mapping[Hashable, Sequence[Hashable]] | pd.DataFrame,
    relevant: Mapping[Hashable, set[Hashable] | Sequence[Hashable]],
    k: int,
    n_items: int | None = None,
    item_popularity: Mapping[Hashable, float] | None = None,
    item_category: Mapping[Hashable, Hashable] | None = None,
) -> dict[str, Any]:
    """Recall, NDCG, hit rate, MRR, precision, coverage, diversity and novelty at k.

    - ``recall@k``: hits / |relevant| per user; ``precision@k``: hits / k.
    - ``ndcg@k``: binary gains, DCG = Σ 1/log2(rank + 1) over hits, ideal DCG over
      min(|relevant|, k) positions, so a user with more relevant items than k can reach 1.
    - ``hr@k``: share of users with at least one hit; ``mrr@k``: 1 / rank of the first hit.
    - ``coverage@k``: distinct items in the evaluated users' lists / ``n_items``.
    - ``diversity@k``: mean over users of distinct categories / list length, counting the
      items with a known category (users with none are skipped).
    - ``novelty@k``: mean over users of the mean −log2 popularity share of their items.
    - ``users``: evaluated users, those with at least one relevant item; a user missing from
      ``recommended`` counts as zeros. Users with recommendations but nothing relevant are
      not evaluated.

    Lists are cut at k and a repeated item counts once. Metrics that cannot be computed
    (no evaluated users, or no ``n_items`` / ``item_category`` / ``item_popularity``) are NaN.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    lists = recommendation_lists(recommended)
    users = [u for u, rel in relevant.items() if len(rel) > 0]
    # The discount of every position once; ideal DCG is its running sum.
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)

    recall, ndcg, hit, rr, precision = (np.zeros(len(users)) for _ in range(5))
    shown: set[Hashable] = set()
    diversity: list[float] = []
    novelty: list[float] = []
    bits, unseen_bits = _novelty_bits(item_popularity) if item_popularity is not None else ({}, NAN)
    for n, user in enumerate(users):
        rel = set(relevant[user])
        top = _top_k(lists.get(user, []), k)
        ranks = [r for r, item in enumerate(top) if item in rel]  # 0-based
        if ranks:
            hits = len(ranks)
            recall[n] = hits / len(rel)
            precision[n] = hits / k
            hit[n] = 1.0
            rr[n] = 1.0 / (ranks[0] + 1)
            ndcg[n] = discount[ranks].sum() / ideal[min(len(rel), k) - 1]
        if not top:
            continue
        shown.update(top)
        if item_category is not None:
            cats = [item_category[i] for i in top if i in item_category]
            if cats:
                diversity.append(len(set(cats)) / len(cats))
        if item_popularity is not None and bits:
            novelty.append(float(np.mean([bits.get(i, unseen_bits) for i in top])))

    def mean(x: np.ndarray | list[float]) -> float:
        return float(np.mean(x)) if len(x) else NAN

    return {
        f"recall@{k}": mean(recall),
        f"ndcg@{k}": mean(ndcg),
        f"hr@{k}": mean(hit),
        f"mrr@{k}": mean(rr),
        f"precision@{k}": mean(precision),
        f"coverage@{k}": len(shown) / n_items if n_items and users else NAN,
        f"diversity@{k}": mean(diversity),
        f"novelty@{k}": mean(novelty),
        "users": len(users),
    }
