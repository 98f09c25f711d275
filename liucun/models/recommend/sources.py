"""Candidate sources: each scores every item for a batch of users.

A source is fitted on :class:`Interactions` and asked for ``scores(batch)``, a dense
(users × items) array, where a :class:`Batch` carries each user's training row (or -1
for a customer the models never saw), their item weights (training row plus anything
observed in real time) and their recent items in time order. Sources that read the
weights or the recent items react to real-time events without refitting.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from liucun.models.recommend.data import Interactions


@dataclass
class Batch:
    rows: np.ndarray  # training row per user, -1 if unknown
    weights: sp.csr_matrix  # users × items
    recent: list[np.ndarray]  # recent item indices per user, oldest first


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


class Source:
    name = "source"

    def fit(self, data: Interactions) -> Source:
        raise NotImplementedError

    def scores(self, batch: Batch) -> np.ndarray:
        raise NotImplementedError


class Popularity(Source):
    """Distinct users per item, or (``trending``) weights decayed by age."""

    def __init__(self, trending: bool = False) -> None:
        self.trending = trending
        self.name = "trending" if trending else "popular"

    def fit(self, data: Interactions) -> Popularity:
        v = data.item_trend if self.trending else data.item_users
        v = np.asarray(v, dtype=np.float32)
        self.vector_ = v / max(float(v.max()), 1e-9)
        return self

    def scores(self, batch: Batch) -> np.ndarray:
        return np.broadcast_to(self.vector_, (len(batch.rows), len(self.vector_))).copy()


class ItemKNN(Source):
    """Item-to-item neighbours on BM25-weighted co-occurrence (implicit's BM25Recommender)."""

    name = "itemknn"

    def __init__(self, k: int = 100, k1: float = 1.2, b: float = 0.75) -> None:
        self.k, self.k1, self.b = k, k1, b

    def fit(self, data: Interactions) -> ItemKNN:
        from implicit.nearest_neighbours import BM25Recommender

        model = BM25Recommender(K=self.k, K1=self.k1, B=self.b, num_threads=_threads())
        with warnings.catch_warnings():
            # implicit's own BM25 weighting hands its fit a COO matrix and then warns.
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            model.fit(_binary(data.matrix), show_progress=False)
        self.similarity_ = model.similarity.tocsr().astype(np.float32)
        return self

    def scores(self, batch: Batch) -> np.ndarray:
        return np.asarray((_binary(batch.weights) @ self.similarity_).todense(), dtype=np.float32)


class _Factors(Source):
    """Matrix factorisation: fitted users keep their factors; others get a least-squares fit."""

    def _fit_model(self, make: Callable[[], Any], data: Interactions) -> None:
        # implicit parallelises over users itself; BLAS threads on top of its threads
        # oversubscribe the cores, which is why its ALS warns ("OpenBLAS is configured to
        # use N threads...", checked when the model is built) in the middle of `liucun
        # demo`. One BLAS thread while it is built and fitted is what the warning asks
        # for, and leaves it no cause.
        with threadpool_limits(1, "blas"):
            model = make()
            model.fit(self._prepare(data.matrix), show_progress=False)
        uf, itf = model.user_factors, model.item_factors
        self.user_factors_ = np.asarray(getattr(uf, "to_numpy", lambda: uf)(), dtype=np.float32)
        self.item_factors_ = np.asarray(getattr(itf, "to_numpy", lambda: itf)(), dtype=np.float32)

    def _prepare(self, m: sp.csr_matrix) -> sp.csr_matrix:
        return _binary(m)

    def scores(self, batch: Batch) -> np.ndarray:
        uf = np.zeros((len(batch.rows), self.item_factors_.shape[1]), dtype=np.float32)
        known = batch.rows >= 0
        uf[known] = self.user_factors_[batch.rows[known]]
        unknown = np.flatnonzero(~known)
        if len(unknown):
            # A customer seen only in real time: the mean of their items' factors.
            w = _binary(batch.weights[unknown])
            counts = np.maximum(np.asarray(w.sum(axis=1)).ravel(), 1.0)
            uf[unknown] = np.asarray(w @ self.item_factors_) / counts[:, None]
        return uf @ self.item_factors_.T


class ALS(_Factors):
    """implicit's AlternatingLeastSquares on confidence 1 + alpha·weight."""

    name = "als"

    def __init__(
        self, factors: int = 64, regularization: float = 0.05, alpha: float = 2.0,
        iterations: int = 15, seed: int = 0,
    ) -> None:  # fmt: skip
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed = iterations, seed

    def _prepare(self, m: sp.csr_matrix) -> sp.csr_matrix:
        c = m.copy().astype(np.float32)
        c.data = np.log1p(c.data)
        return c

    def fit(self, data: Interactions) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares

        self._fit_model(
            lambda: AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
                num_threads=_threads(),
            ),
            data,
        )
        return self


class BPR(_Factors):
    """implicit's Bayesian Personalised Ranking (pairwise, optimises the ranking directly)."""

    name = "bpr"

    def __init__(
        self, factors: int = 64, learning_rate: float = 0.05, regularization: float = 0.01,
        iterations: int = 100, seed: int = 0,
    ) -> None:  # fmt: skip
        self.factors, self.learning_rate = factors, learning_rate
        self.regularization, self.iterations, self.seed = regularization, iterations, seed

    def fit(self, data: Interactions) -> BPR:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        self._fit_model(
            lambda: BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                iterations=self.iterations,
                random_state=self.seed,
                # Several threads update the factors without locks (hogwild): results then
                # vary run to run. One thread keeps recommendations reproducible.
                num_threads=1,
            ),
            data,
        )
        # implicit appends a bias column to the item factors and a 1 to the user factors.
        return self


class Transitions(Source):
    """What customers touch next: item → next-items counts, read from the recent items.

    The non-neural sequential baseline: the next ``window`` items after each item in a
    sequence count (the nearer, the more), rows normalised; a customer's score is the
    sum over their last ``last`` items, the latest weighing most.
    """

    name = "transitions"

    def __init__(self, window: int = 3, last: int = 5, decay: float = 0.6) -> None:
        self.window, self.last, self.decay = window, last, decay

    def fit(self, data: Interactions) -> Transitions:
        src, dst, val = [], [], []
        lengths = np.diff(data.seq_indptr)
        ts = data.seq_ts
        for gap in range(1, self.window + 1):
            for u in np.flatnonzero(lengths > gap):
                s = data.sequence(u)
                v = np.full(len(s) - gap, self.decay ** (gap - 1), dtype=np.float32)
                src.append(s[:-gap])
                dst.append(s[gap:])
                val.append(v)
                if ts is not None:
                    # Items with the same timestamp have no order between them (the rows
                    # are only sorted by id there): count those pairs both ways.
                    t = ts[data.seq_indptr[u] : data.seq_indptr[u + 1]]
                    same = t[:-gap] == t[gap:]
                    if same.any():
                        src.append(s[gap:][same])
                        dst.append(s[:-gap][same])
                        val.append(v[same])
        n = data.n_items
        if src:
            t = sp.csr_matrix(
                (np.concatenate(val), (np.concatenate(src), np.concatenate(dst))), shape=(n, n)
            )
            t.sum_duplicates()
            t.setdiag(0)
            t.eliminate_zeros()
            norm = np.asarray(t.sum(axis=1)).ravel()
            t = sp.diags(1.0 / np.maximum(norm, 1e-9)) @ t
        else:
            t = sp.csr_matrix((n, n), dtype=np.float32)
        self.matrix_ = t.tocsr().astype(np.float32)
        return self

    def scores(self, batch: Batch) -> np.ndarray:
        rows, cols, vals = [], [], []
        for r, items in enumerate(batch.recent):
            tail = items[-self.last :][::-1]
            for pos, it in enumerate(tail):
                rows.append(r)
                cols.append(it)
                vals.append(self.decay**pos)
        q = sp.csr_matrix(
            (np.asarray(vals, np.float32), (rows, cols)),
            shape=(len(batch.recent), self.matrix_.shape[0]),
        )
        return np.asarray((q @ self.matrix_).todense(), dtype=np.float32)


class Content(Source):
    """Items like the customer's recent ones by text (category, title, description).

    How a new item with no interactions enters the lists: its text is all it has.
    """

    name = "content"

    def __init__(self, last: int = 10, max_features: int = 20000) -> None:
        self.last, self.max_features = last, max_features

    def fit(self, data: Interactions) -> Content:
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [t if t.strip() else "" for t in data.item_text]
        self.n_items_ = data.n_items
        # No item text (interactions alone, no items table): nothing to compare by.
        self.enabled_ = any(texts)
        if self.enabled_:
            vec = TfidfVectorizer(max_features=self.max_features, token_pattern=r"(?u)\b\w+\b")
            self.tfidf_ = vec.fit_transform(texts).astype(np.float32).tocsr()
        return self

    def scores(self, batch: Batch) -> np.ndarray:
        n = len(batch.recent)
        if not self.enabled_:
            # Every item, no score: the source proposes no candidates rather than the
            # first items of the catalogue.
            return np.full((n, self.n_items_), -np.inf, np.float32)
        rows, cols = [], []
        for r, items in enumerate(batch.recent):
            tail = items[-self.last :]
            rows += [r] * len(tail)
            cols += list(tail)
        q = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(n, self.tfidf_.shape[0])
        )
        profile = q @ self.tfidf_
        return np.asarray((profile @ self.tfidf_.T).todense(), dtype=np.float32)


def _binary(m: sp.csr_matrix) -> sp.csr_matrix:
    b = m.copy().astype(np.float32)
    b.data[:] = 1.0
    return b
