"""The recommender: candidate sources chained with fallbacks, a LambdaRank ranker, rules.

``fit`` learns every source on the interactions; the ranker (LightGBM LambdaRank) learns
to order the union of the sources' candidates from each customer's last new item, held
out and predicted from the rest (a per-customer time split). ``recommend`` scores a batch
of customers: candidates from every source, features, ranker, then the business rules
(consumed, blocked items, category cap, campaign boosts). Customers nobody has seen get
trending items; ``observe`` records an event so the next call already reflects it.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from liucun.models.base import Estimator
from liucun.models.recommend.data import Interactions
from liucun.models.recommend.sources import (
    ALS,
    BPR,
    Batch,
    Content,
    ItemKNN,
    Popularity,
    Source,
    Transitions,
)

CONSUMING_EVENTS = ("purchase", "review", "rate")
DEFAULT_WEIGHTS = {
    "view": 1.0,
    "add_to_cart": 3.0,
    "purchase": 5.0,
    "review": 4.0,
    "rate": 4.0,
}
SOURCES = ("popular", "trending", "itemknn", "als", "bpr", "transitions", "content")
WHY = {
    "popular": "popular in the shop",
    "trending": "trending now",
    "itemknn": "bought together with {item}",
    "als": "customers like you liked it",
    "bpr": "customers like you liked it",
    "transitions": "often comes next after {item}",
    "content": "similar to {item}",
}
# The same reasons when no other item of the customer's explains the recommendation.
WHY_NO_ANCHOR = {
    "itemknn": "bought together with your items",
    "transitions": "often comes next after your recent items",
    "content": "similar to your recent items",
}


def make_source(name: str, params: Mapping[str, Any], seed: int) -> Source:
    p = dict(params.get(name, {}))
    if name == "popular":
        return Popularity(trending=False)
    if name == "trending":
        return Popularity(trending=True)
    if name == "itemknn":
        return ItemKNN(**p)
    if name == "als":
        return ALS(seed=seed, **p)
    if name == "bpr":
        return BPR(seed=seed, **p)
    if name == "transitions":
        return Transitions(**p)
    if name == "content":
        return Content(**p)
    raise ValueError(f"unknown candidate source {name!r}: expected one of {', '.join(SOURCES)}")


class Recommender(Estimator):
    """Top-K items per customer from several candidate sources and a learned ranker.

    Parameters
    ----------
    sources
        Candidate sources by name (see ``SOURCES``); ``source_params`` holds their settings.
    candidates
        Items taken from each source per customer before ranking.
    ranker
        Learn a LambdaRank ranker over the candidates (else sources are blended by rank).
        ``ranker_users`` customers train it in ``ranker_rounds`` boosting rounds (fewer
        rounds: faster batch scoring, which the ranker dominates).
    max_per_category
        Diversity: at most this many items of one category in a list (None: no cap).
    blocked_items, boost_items
        Never recommended (out of stock, banned); score multipliers (on campaign).
    cold_source
        The order customers with no history get (they are not what the ranker learned).
    """

    def __init__(
        self,
        sources: Sequence[str] = ("popular", "trending", "itemknn", "als", "bpr", "transitions"),
        source_params: Mapping[str, Mapping[str, Any]] | None = None,
        candidates: int = 30,
        ranker: bool = True,
        ranker_users: int = 50_000,
        ranker_rounds: int = 80,
        max_per_category: int | None = None,
        blocked_items: Iterable[str] = (),
        boost_items: Mapping[str, float] | None = None,
        recent: int = 20,
        cold_source: str = "trending",
        seed: int = 0,
    ) -> None:
        self.sources = sources
        self.source_params = source_params
        self.candidates = candidates
        self.ranker = ranker
        self.ranker_users = ranker_users
        self.ranker_rounds = ranker_rounds
        self.max_per_category = max_per_category
        self.blocked_items = blocked_items
        self.boost_items = boost_items
        self.recent = recent
        self.cold_source = cold_source
        self.seed = seed

    # -- fitting -----------------------------------------------------------------------

    def fit(
        self,
        interactions: pd.DataFrame,
        items: pd.DataFrame | None = None,
        consumed: pd.DataFrame | None = None,
        as_of: pd.Timestamp | None = None,
    ) -> Self:
        """Learn from (user_id, item_id, ts, event_type, weight) rows before ``as_of``."""
        rows = interactions.copy()
        if "weight" not in rows:
            rows["weight"] = rows["event_type"].map(DEFAULT_WEIGHTS).fillna(1.0)
        rows = rows[rows["weight"] > 0]
        for s in self.sources:
            if s not in SOURCES:
                raise ValueError(f"unknown candidate source {s!r}: expected one of {SOURCES}")
        self.data_ = Interactions.build(rows, items, as_of)
        self._index()
        if consumed is None:
            consumed = rows.loc[rows["event_type"].isin(CONSUMING_EVENTS), ["user_id", "item_id"]]
        self.consumed_: dict[str, set[int]] = {}
        idx = self.item_index_.get_indexer(consumed["item_id"].astype(str))
        for user, it in zip(consumed["user_id"].astype(str), idx, strict=True):
            if it >= 0:
                self.consumed_.setdefault(user, set()).add(int(it))
        self.ranker_model_ = None
        self.ranker_metrics_: dict[str, Any] = {}
        if self.ranker:
            self._fit_ranker()
        self.sources_ = self._fit_sources(self.data_)
        self.live_: dict[str, list[tuple[int, float]]] = {}
        return self

    def _index(self) -> None:
        self.user_index_ = pd.Index(self.data_.user_ids)
        self.item_index_ = pd.Index(self.data_.item_ids)
        self.blocked_ = set(self.item_index_.get_indexer([str(i) for i in self.blocked_items]))
        self.blocked_.discard(-1)
        self.boost_ = np.ones(self.data_.n_items, dtype=np.float32)
        for it, f in (self.boost_items or {}).items():
            j = self.item_index_.get_indexer([str(it)])[0]
            if j >= 0:
                self.boost_[j] = float(f)

    def _fit_sources(self, data: Interactions) -> dict[str, Source]:
        params = self.source_params or {}
        return {name: make_source(name, params, self.seed).fit(data) for name in self.sources}

    def _fit_ranker(self) -> None:
        """LambdaRank on each sampled customer's held-out last new item."""
        import lightgbm as lgb

        reduced, target = self.data_.without_last()
        users = np.flatnonzero(target >= 0)
        if len(users) < 20:
            self.ranker_metrics_ = {"skipped": f"{len(users)} customers with a held-out item"}
            return
        rng = np.random.default_rng(self.seed)
        if len(users) > self.ranker_users:
            users = np.sort(rng.choice(users, self.ranker_users, replace=False))
        sources = self._fit_sources(reduced)
        frames, labels, groups = [], [], []
        hits = 0
        for chunk in np.array_split(users, max(1, len(users) // 2000)):
            batch = _batch_of(reduced, chunk)
            rr, cc, X = self._candidates(sources, reduced, batch, self._seen(reduced, chunk))
            y = (cc == target[chunk][rr]).astype(np.int32)
            sizes = np.bincount(rr, minlength=len(chunk))
            found = np.bincount(rr, weights=y, minlength=len(chunk)) > 0
            keep = found[rr]
            hits += int(found.sum())
            frames.append(X[keep])
            labels.append(y[keep])
            groups += [int(g) for g in sizes[found]]
        self.ranker_metrics_ = {
            "train_customers": len(users),
            "target_in_candidates": round(hits / max(len(users), 1), 4),
        }
        if hits < 20:
            self.ranker_metrics_["skipped"] = "too few held-out items among the candidates"
            return
        X = np.vstack(frames)
        y = np.concatenate(labels)
        params = {
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [10],
            "learning_rate": 0.1,
            "num_leaves": 15,
            "min_data_in_leaf": 50,
            "lambdarank_truncation_level": 20,
            "verbose": -1,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
        }
        ds = lgb.Dataset(X, label=y, group=groups, feature_name=self._feature_names())
        self.ranker_model_ = lgb.train(params, ds, num_boost_round=self.ranker_rounds)

    # -- candidates and features -------------------------------------------------------

    def _feature_names(self) -> list[str]:
        names = []
        for s in self.sources:
            names += [f"{s}_score", f"{s}_rank"]
        return [
            *names,
            "item_log_users",
            "item_trend",
            "item_price_ratio",
            "category_affinity",
            "user_log_items",
        ]

    @staticmethod
    def _seen(data: Interactions, rows: np.ndarray) -> list[set[int]]:
        """Items in the (reduced) training rows: the held-out item stays a candidate."""
        return [set(int(i) for i in data.matrix[u].indices) for u in rows]

    def _candidates(
        self,
        sources: Mapping[str, Source],
        data: Interactions,
        batch: Batch,
        exclude: list[set[int]],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate pairs (batch row, item) sorted by row then item, and their features.

        Vectorised over the batch: a customer's candidates are the union of every
        source's top ``candidates`` items that are not excluded.
        """
        n, n_items = len(batch.rows), data.n_items
        kk = min(self.candidates, n_items)
        mask = np.zeros((n, n_items), bool)
        for r, ex in enumerate(exclude):
            if ex:
                mask[r, list(ex)] = True
        if self.blocked_:
            mask[:, list(self.blocked_)] = True
        chosen = np.zeros((n, n_items), bool)
        all_scores, all_ranks = [], []
        ar = np.arange(n)[:, None]
        for name in self.sources:
            sc = sources[name].scores(batch).astype(np.float32)
            sc[mask] = -np.inf
            if kk < n_items:
                top = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]
            else:
                top = np.broadcast_to(np.arange(n_items), (n, n_items)).copy()
            order = np.argsort(-sc[ar, top], axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            ok = np.isfinite(np.take_along_axis(sc, top, axis=1))
            # An item the source cannot score (excluded, or a source with nothing to go
            # on) has no rank there: it is not that source's candidate.
            ranks = np.full(sc.shape, np.nan, dtype=np.float32)
            at = np.where(ok, np.arange(1, kk + 1, dtype=np.float32)[None, :], np.nan)
            np.put_along_axis(ranks, top, at.astype(np.float32), 1)
            chosen[np.repeat(np.arange(n), kk)[ok.ravel()], top.ravel()[ok.ravel()]] = True
            all_scores.append(sc)
            all_ranks.append(ranks)
        rr, cc = np.nonzero(chosen)  # row-major: sorted by row, then item
        cols = []
        for sc, rk in zip(all_scores, all_ranks, strict=True):
            v = sc[rr, cc]
            cols += [np.where(np.isfinite(v), v, np.nan), rk[rr, cc]]
        # Customer facts: category affinity (share of their weight) and price level.
        f = self._item_facts(data)
        w = batch.weights.tocsr()
        totals = np.maximum(np.asarray(w.sum(axis=1)).ravel(), 1e-9)
        aff = np.asarray((w @ f["onehot"]).todense()) / totals[:, None]
        cat_c = f["codes"][cc]
        affinity = np.where(cat_c >= 0, aff[rr, np.maximum(cat_c, 0)], np.nan)
        wb = w.copy()
        wb.data[:] = 1.0
        n_priced = wb @ f["priced"]
        p_sum = wb @ f["price0"]
        with np.errstate(invalid="ignore", divide="ignore"):
            p_user = np.where(n_priced > 0, p_sum / np.maximum(n_priced, 1), np.nan)
            ratio = data.item_price[cc] / p_user[rr]
        n_user_items = np.diff(wb.indptr).astype(np.float32)
        cols += [
            f["log_users"][cc],
            f["log_trend"][cc],
            ratio,
            affinity,
            np.log1p(n_user_items)[rr],
        ]
        X = np.column_stack(cols).astype(np.float32) if len(rr) else np.zeros((0, len(cols)))
        return rr, cc, X

    def _item_facts(self, data: Interactions) -> dict[str, Any]:
        """Per-item arrays the features read, computed once per data set."""
        cache = self.__dict__.setdefault("_facts_cache", {})
        key = id(data)
        if key not in cache:
            codes, uniques = pd.factorize(pd.Series(data.item_category, dtype=object))
            codes = np.asarray(codes)
            has = codes >= 0
            onehot = sp.csr_matrix(
                (np.ones(int(has.sum()), np.float32), (np.flatnonzero(has), codes[has])),
                shape=(data.n_items, max(len(uniques), 1)),
            )
            priced = np.isfinite(data.item_price)
            cache.clear()
            cache[key] = {
                "codes": codes,
                "onehot": onehot,
                "priced": priced.astype(np.float32),
                "price0": np.where(priced, data.item_price, 0.0),
                "log_users": np.log1p(data.item_users).astype(np.float32),
                "log_trend": np.log1p(data.item_trend).astype(np.float32),
            }
        return cache[key]

    # -- recommending ------------------------------------------------------------------

    def _check(self) -> None:
        if not hasattr(self, "sources_"):
            raise NotFittedError("Recommender is not fitted: call fit() first")

    def observe(
        self, user_id: str, item_id: str, event_type: str = "view", weight: float | None = None
    ) -> bool:
        """Record a real-time event; the next ``recommend`` for this customer reflects it.

        Returns False for an item the models do not know (it is ignored).
        """
        self._check()
        j = int(self.item_index_.get_indexer([str(item_id)])[0])
        if j < 0:
            return False
        w = float(weight if weight is not None else DEFAULT_WEIGHTS.get(event_type, 1.0))
        self.live_.setdefault(str(user_id), []).append((j, w))
        if event_type in CONSUMING_EVENTS:
            self.consumed_.setdefault(str(user_id), set()).add(j)
        return True

    def _batch(self, users: Sequence[str]) -> Batch:
        data = self.data_
        rows = self.user_index_.get_indexer(list(users)).astype(np.int64)
        base = data.matrix[np.maximum(rows, 0)].tolil()
        recent: list[np.ndarray] = []
        for r, (u, row) in enumerate(zip(users, rows, strict=True)):
            if row < 0:
                base.rows[r], base.data[r] = [], []
                seq = np.zeros(0, np.int64)
            else:
                seq = data.sequence(row)
            live = self.live_.get(u)
            if live:
                for j, w in live:
                    base[r, j] = base[r, j] + w
                seq = np.concatenate([seq, [j for j, _ in live]])
            recent.append(seq[-self.recent :])
        return Batch(rows, base.tocsr(), recent)

    def recommend(
        self,
        users: Sequence[str],
        k: int = 10,
        exclude_consumed: bool = True,
        batch_size: int = 2000,
    ) -> pd.DataFrame:
        """Columns user_id, rank, item_id, score, source (the source that ranked it best)."""
        self._check()
        users = [str(u) for u in users]
        chunks = [users[i : i + batch_size] for i in range(0, len(users), batch_size)]
        workers = min(len(chunks), os.cpu_count() or 1, 4)
        if workers > 1:
            # numpy, scipy and LightGBM release the GIL in the heavy parts: threads over
            # batches use every core (each ranker call then runs on one thread).
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                out = list(
                    pool.map(lambda c: self._recommend_batch(c, k, exclude_consumed, 1), chunks)
                )
        else:
            out = [self._recommend_batch(c, k, exclude_consumed) for c in chunks]
        if not out:
            return pd.DataFrame(columns=["user_id", "rank", "item_id", "score", "source"])
        return pd.concat(out, ignore_index=True)

    def _recommend_batch(
        self, users: list[str], k: int, exclude_consumed: bool, threads: int = 0
    ) -> pd.DataFrame:
        data = self.data_
        batch = self._batch(users)
        exclude = [set(self.consumed_.get(u, set())) if exclude_consumed else set() for u in users]
        rr, cc, X = self._candidates(self.sources_, data, batch, exclude)
        n_src = len(self.sources)
        ranks = X[:, 1 : 2 * n_src : 2]
        if self.ranker_model_ is not None and len(rr):
            score = self.ranker_model_.predict(X, num_threads=threads)
        else:
            score = np.nansum(1.0 / (60.0 + np.nan_to_num(ranks, nan=1e9)), axis=1)
        best = np.argmin(np.where(np.isnan(ranks), np.inf, ranks), axis=1) if len(rr) else rr
        # Customers with no history at all: the ranker learned from customers with one,
        # so they get the cold-start source's order (trending by default), and that
        # source's own score and name: no sentinel score, no borrowed reason.
        key = score
        cold = np.diff(batch.weights.tocsr().indptr) == 0
        if cold.any() and self.cold_source in self.sources:
            j = self.sources.index(self.cold_source)
            rank = np.nan_to_num(X[:, 2 * j + 1], nan=1e9)
            key = np.where(cold[rr], 1e6 - rank, score)
            score = np.where(cold[rr], np.nan_to_num(X[:, 2 * j], nan=0.0), score)
            best = np.where(cold[rr], j, best)
        boost = np.log(self.boost_[cc])
        key, score = key + boost, score + boost
        # Per customer: highest key first, ties by item index (deterministic).
        order = np.lexsort((cc, -key, rr))
        rr, cc, score, best = rr[order], cc[order], score[order], best[order]
        starts = np.searchsorted(rr, np.arange(len(users) + 1))
        rec_u, rec_r, rec_i, rec_s, rec_src = [], [], [], [], []
        for r, u in enumerate(users):
            lo, hi = starts[r], starts[r + 1]
            if lo == hi:
                continue
            picked = self._diversify(np.arange(lo, hi), cc, k)
            rec_u += [u] * len(picked)
            rec_r += list(range(1, len(picked) + 1))
            rec_i.append(data.item_ids[cc[picked]])
            rec_s.append(score[picked])
            rec_src += [self.sources[int(j)] for j in best[picked]]
        if not rec_u:
            return pd.DataFrame(columns=["user_id", "rank", "item_id", "score", "source"])
        return pd.DataFrame(
            {
                "user_id": rec_u,
                "rank": rec_r,
                "item_id": np.concatenate(rec_i),
                "score": np.concatenate(rec_s).astype(float),
                "source": rec_src,
            }
        )

    def _diversify(self, positions: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
        """The first k positions, at most ``max_per_category`` of one category."""
        cap = self.max_per_category
        if cap is None:
            return positions[:k]
        picked, counts, spill = [], {}, []
        for p in positions:
            c = self.data_.item_category[items[p]]
            if c is not None and counts.get(c, 0) >= cap:
                spill.append(p)
                continue
            counts[c] = counts.get(c, 0) + 1
            picked.append(p)
            if len(picked) == k:
                break
        return np.asarray((picked + spill)[:k], dtype=np.int64)

    def explain(self, user_id: str, item_id: str, source: str) -> str:
        """Why an item was recommended, in words ("often comes next after Toy Story")."""
        self._check()
        template = WHY.get(source, source)
        if "{item}" not in template:
            return template
        batch = self._batch([str(user_id)])
        j = int(self.item_index_.get_indexer([str(item_id)])[0])
        # The anchor is another item: an item is never its own reason (a viewed item is
        # most similar to itself).
        src = self.sources_.get(source)
        recent = [int(it) for it in batch.recent[0]]
        if isinstance(src, ItemKNN):
            # item-kNN reads all the customer's items, not only the recent ones.
            older = set(batch.weights[0].indices.tolist()) - set(recent)
            recent = sorted(older) + recent
        recent = [it for it in recent if it != j]
        if j < 0 or not recent:
            return WHY_NO_ANCHOR.get(source, WHY["popular"])
        sim = None
        if isinstance(src, ItemKNN):
            sim = np.asarray(src.similarity_[:, j].todense()).ravel()
        elif isinstance(src, Transitions):
            sim = np.asarray(src.matrix_[:, j].todense()).ravel()
        elif isinstance(src, Content):
            sim = (
                np.asarray((src.tfidf_ @ src.tfidf_[j].T).todense()).ravel()
                if src.enabled_
                else np.zeros(self.data_.n_items)
            )
        if sim is None:
            return template.format(item=self.item_name(recent[-1]))
        # The most related recent item, the latest among equals; none related: no name.
        anchor = max(reversed(recent), key=lambda it: sim[it])
        if not sim[anchor] > 0:
            return WHY_NO_ANCHOR.get(source, WHY["popular"])
        return template.format(item=self.item_name(anchor))

    def item_name(self, j: int) -> str:
        """The item's id with its title when the catalogue has one."""
        titles = getattr(self.data_, "item_title", None) or []
        title = titles[j].strip() if j < len(titles) else ""
        iid = str(self.data_.item_ids[j])
        return f"{iid} ({title[:40]})" if title else iid

    # -- persistence -------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the fitted recommender to the folder ``path`` (state, ranker, meta.json)."""
        self._check()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {
            k: v for k, v in self.__dict__.items() if k not in ("ranker_model_", "_facts_cache")
        }
        with open(path / "recommender.pkl", "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        if self.ranker_model_ is not None:
            self.ranker_model_.save_model(str(path / "ranker.txt"))
        meta = {
            "class": "Recommender",
            "sources": list(self.sources),
            "ranker": self.ranker_metrics_,
            "users": int(self.data_.n_users),
            "items": int(self.data_.n_items),
        }
        (path / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """A recommender written by :meth:`save` (the folder)."""
        import lightgbm as lgb

        path = Path(path)
        with open(path / "recommender.pkl", "rb") as fh:
            state = pickle.load(fh)  # our own file, written by save()
        rec = cls.__new__(cls)
        rec.__dict__.update(state)
        rec.ranker_model_ = (
            lgb.Booster(model_file=str(path / "ranker.txt"))
            if (path / "ranker.txt").exists()
            else None
        )
        return rec


def _batch_of(data: Interactions, rows: np.ndarray) -> Batch:
    recent = [data.sequence(u)[-20:] for u in rows]
    return Batch(rows.astype(np.int64), data.matrix[rows].tocsr(), recent)


__all__ = ["Recommender", "make_source"]
