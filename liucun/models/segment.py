"""Behavioural customer clusters: k-means over log-scaled features, k by silhouette, named.

RFM ranks buyers on three fixed axes; clusters find the groups the data actually holds
(window shoppers, discount seekers, big-basket occasionals), including customers who never
ordered. :class:`KMeansSegmenter` learns the feature scaling, the number of clusters, the
centres and a readable name per cluster; ``liucun.decide.segments.clusters`` wraps it into
the run's labels and report. Its defaults are ``[segments.clusters]`` in
``liucun.config.DEFAULT_TOML``.

The frame helpers here (:func:`customer_ids`, :func:`numeric`, :func:`sorted_order`) are
shared with the rest of the segments code, which sits in a higher layer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from liucun import config
from liucun.models.base import Estimator

PARAMS = (
    "features",
    "fill",
    "fill_default",
    "clip_z",
    "k_min",
    "k_max",
    "sample_size",
    "fit_sample_size",
    "n_init",
    "top_features",
    "name_features",
    "min_abs_z",
    "typical_name",
    "phrases",
    "archetype_min_z",
    "archetypes",
)
"""The keys of ``[segments.clusters]`` that are parameters of :class:`KMeansSegmenter`."""


# ---- frame helpers -------------------------------------------------------------------------
def customer_ids(frame: pd.DataFrame) -> pd.Series:
    """user_id as text, checked unique: every output is one row per customer."""
    if "user_id" not in frame.columns:
        raise ValueError("features need a user_id column")
    ids = frame["user_id"].astype(str)
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise ValueError(f"features must have one row per customer; {dup!r} repeats")
    return ids


def numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float (NaN where undefined or absent)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    v = pd.to_numeric(frame[column], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan, copy=True
    )
    v[~np.isfinite(v)] = np.nan
    return v


def sorted_order(ids: pd.Series) -> np.ndarray:
    """Positions that sort rows by user_id, so order-sensitive steps ignore input order."""
    return np.argsort(ids.to_numpy(dtype=str), kind="stable")


# ---- scaling and naming --------------------------------------------------------------------
def _fill_value(values: np.ndarray, how: str | float) -> float:
    ok = values[~np.isnan(values)]
    if isinstance(how, int | float) and not isinstance(how, bool):
        return float(how)
    if how == "zero" or ok.size == 0:
        return 0.0
    if how == "max":
        return float(ok.max())
    if how == "median":
        return float(np.median(ok))
    raise ValueError(f"clusters fill must be 'max', 'median', 'zero' or a number, not {how!r}")


def _filled(frame: pd.DataFrame, column: str, fill: float) -> np.ndarray:
    v = numeric(frame, column)
    return np.where(np.isnan(v), fill, v)


def _log(v: np.ndarray) -> np.ndarray:
    """sign(x)·log1p(|x|): spend and counts are heavy-tailed."""
    return np.sign(v) * np.log1p(np.abs(v))


def _tokens(zrow: Mapping[str, float], cfg: Mapping[str, Any]) -> list[str]:
    """Name parts of one cluster: a matching archetype, then phrases by |mean z|."""
    tokens: list[str] = []
    taken: set[str] = set()
    amz = cfg["archetype_min_z"]
    for arch in cfg["archetypes"]:
        hi, lo = list(arch.get("high", [])), list(arch.get("low", []))
        if not hi and not lo:
            continue
        if all(zrow.get(f, math.nan) >= amz for f in hi) and all(
            zrow.get(f, math.nan) <= -amz for f in lo
        ):
            tokens.append(arch["name"])
            taken |= set(hi) | set(lo) | set(arch.get("covers", []))
            break
    for f, z in sorted(zrow.items(), key=lambda kv: -abs(kv[1])):
        if f in taken or abs(z) < cfg["min_abs_z"]:
            continue
        low, high = cfg["phrases"].get(f, [f"low {f}", f"high {f}"])
        word = high if z > 0 else low
        if word and word not in tokens:
            tokens.append(word)
    return tokens


def _names(tokens: list[list[str]], first: int, typical: str) -> list[str]:
    """Unique names: colliding clusters take more of their tokens, then a number."""
    counts = [first] * len(tokens)

    def name(i: int) -> str:
        return " · ".join(tokens[i][: counts[i]]) or typical

    while True:
        names = [name(i) for i in range(len(tokens))]
        grown = False
        for nm in set(names):
            group = [i for i, x in enumerate(names) if x == nm]
            if len(group) > 1:
                for i in group:
                    if counts[i] < len(tokens[i]):
                        counts[i] += 1
                        grown = True
        if not grown:
            break
    seen: dict[str, int] = {}
    out = []
    for nm in names:
        seen[nm] = seen.get(nm, 0) + 1
        out.append(nm if seen[nm] == 1 else f"{nm} ({seen[nm]})")
    return out


# ---- the estimator -------------------------------------------------------------------------
class KMeansSegmenter(Estimator):
    """k-means clusters of customers, k chosen by silhouette, each described and named.

    Features are log-transformed (spend and counts are heavy-tailed), standardised so no
    unit dominates, and clipped at ±clip_z so a few extreme customers cannot claim a
    cluster each. k is the best silhouette in [k_min, k_max] on a seeded sample
    (silhouette is quadratic in rows); k-means with ``n_init`` restarts and
    ``random_state=seed``. Rows are sorted by user_id first, so the result depends on the
    data and the seed, never on row order. Clusters are numbered by size (0 = largest)
    and named from their most distinguishing features (largest |mean z|; see ``phrases``
    and ``archetypes``).

    Parameters
    ----------
    n_clusters
        A fixed k (None: chosen by silhouette in [k_min, k_max]).
    features, fill, fill_default, clip_z, k_min, k_max, sample_size, fit_sample_size
        Keyword-only, as documented in ``[segments.clusters]`` of
        ``liucun.config.DEFAULT_TOML``; None takes that default.
    n_init, top_features, name_features, min_abs_z, typical_name, phrases
        Likewise.
    archetype_min_z, archetypes
        Likewise.
    seed
        Seed of the samples and of k-means.

    Attributes
    ----------
    features_ : list of str
        The features used (present in the frame and not constant).
    fill_, mean_, scale_ : numpy.ndarray
        Per feature: the NaN fill, and the mean and standard deviation of the log values.
    kmeans_ : sklearn.cluster.KMeans or None
        The final model (None when there was nothing to cluster: one cluster).
    order_ : numpy.ndarray
        Cluster number of each k-means centre (by size; centres left empty come last).
    names_ : list of str
        Cluster name per cluster number.
    labels_ : numpy.ndarray
        Cluster number of each row of the frame fitted, in its row order.
    k_, silhouette_, k_scores_, n_rows_, sample_size_, clusters_
        What the run's report shows (see ``liucun.decide.segments.clusters``).
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        *,
        features: Sequence[str] | None = None,
        fill: Mapping[str, str | float] | None = None,
        fill_default: str | float | None = None,
        clip_z: float | None = None,
        k_min: int | None = None,
        k_max: int | None = None,
        sample_size: int | None = None,
        fit_sample_size: int | None = None,
        n_init: int | None = None,
        top_features: int | None = None,
        name_features: int | None = None,
        min_abs_z: float | None = None,
        typical_name: str | None = None,
        phrases: Mapping[str, Sequence[str]] | None = None,
        archetype_min_z: float | None = None,
        archetypes: Sequence[Mapping[str, Any]] | None = None,
        seed: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.features = features
        self.fill = fill
        self.fill_default = fill_default
        self.clip_z = clip_z
        self.k_min = k_min
        self.k_max = k_max
        self.sample_size = sample_size
        self.fit_sample_size = fit_sample_size
        self.n_init = n_init
        self.top_features = top_features
        self.name_features = name_features
        self.min_abs_z = min_abs_z
        self.typical_name = typical_name
        self.phrases = phrases
        self.archetype_min_z = archetype_min_z
        self.archetypes = archetypes
        self.seed = seed

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], seed: int = 0) -> Self:
        """A segmenter set up by a ``[segments.clusters]`` table (other keys ignored)."""
        return cls(**{k: cfg[k] for k in PARAMS if k in cfg}, seed=seed)

    def _settings(self) -> dict[str, Any]:
        """The parameters, None replaced by the documented defaults."""
        out = config.section("segments.clusters")
        out.update({k: getattr(self, k) for k in PARAMS if getattr(self, k) is not None})
        if self.n_clusters is not None:
            out["k_min"] = out["k_max"] = int(self.n_clusters)
        return out

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The learned scaling applied to ``frame`` (z, one column per feature)."""
        clip = self._settings()["clip_z"]
        zs = [
            np.clip((_log(_filled(frame, c, f)) - m) / sd, -clip, clip)
            for c, f, m, sd in zip(self.features_, self.fill_, self.mean_, self.scale_, strict=True)
        ]
        return np.column_stack(zs) if zs else np.zeros((len(frame), 0))

    def fit(self, features: pd.DataFrame) -> Self:
        """Scale, choose k, cluster, number clusters by size and name them.

        Parameters
        ----------
        features
            One row per customer with user_id; the configured feature columns that
            exist are used (NaN filled as configured).

        Returns
        -------
        self
        """
        cfg = self._settings()
        seed = self.seed
        ids = customer_ids(features)
        order = sorted_order(ids)
        frame = features.iloc[order]

        # Scaling: filled, log-transformed, standardised, clipped; constant features dropped
        # (they say nothing about who differs from whom).
        cols: list[str] = []
        fills: list[float] = []
        means: list[float] = []
        scales: list[float] = []
        raws: list[np.ndarray] = []
        zcols: list[np.ndarray] = []
        for c in cfg["features"]:
            if c not in frame.columns:
                continue
            v = numeric(frame, c)
            fv = _fill_value(v, cfg["fill"].get(c, cfg["fill_default"]))
            v = np.where(np.isnan(v), fv, v)
            t = _log(v)
            sd = t.std() if len(t) else 0.0
            if not sd > 1e-12:
                continue
            mean = t.mean()
            cols.append(c)
            fills.append(fv)
            means.append(mean)
            scales.append(sd)
            raws.append(v)
            zcols.append(np.clip((t - mean) / sd, -cfg["clip_z"], cfg["clip_z"]))
        n = len(frame)
        z = np.column_stack(zcols) if zcols else np.zeros((n, 0))
        raw = np.column_stack(raws) if raws else np.zeros((n, 0))

        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, size=min(n, int(cfg["sample_size"])), replace=False))
        zs = z[sample]

        distinct = len(np.unique(zs, axis=0)) if len(cols) else 1
        k_hi = min(int(cfg["k_max"]), distinct - 1, len(zs) - 1)
        k_lo = max(2, min(int(cfg["k_min"]), k_hi))
        k_scores: list[dict[str, Any]] = []
        best_k, best_s, best_model = 1, -math.inf, None
        # The sample is small: one thread is fastest, and threads spinning on a busy machine
        # cost 10-50x here (measured on 2 shared cores).
        with threadpool_limits(limits=1):
            for k in range(k_lo, k_hi + 1):
                km = KMeans(n_clusters=k, n_init=int(cfg["n_init"]), random_state=seed).fit(zs)
                s = (
                    float(silhouette_score(zs, km.labels_))
                    if 1 < len(np.unique(km.labels_)) < len(zs)
                    else -1.0
                )
                k_scores.append({"k": k, "silhouette": s})
                if s > best_s:
                    best_k, best_s, best_model = k, s, km

        model = best_model
        if best_model is None:
            raw_labels = np.zeros(n, dtype=int)
        else:
            if len(zs) != n:  # else the sample is everything: no need to fit again
                size = min(n, int(cfg["fit_sample_size"]))
                fit_rows = np.sort(rng.choice(n, size=size, replace=False))
                model = KMeans(n_clusters=best_k, n_init=int(cfg["n_init"]), random_state=seed)
                # Large: k-means' own (OpenMP) threads pay; BLAS threads inside them do not.
                with threadpool_limits(limits=1, user_api="blas"):
                    model.fit(z[fit_rows])
            with threadpool_limits(limits=1, user_api="blas"):
                raw_labels = model.predict(z)

        # Number clusters by size, largest first (ties: k-means' own order).
        ks, sizes = np.unique(raw_labels, return_counts=True)
        rank = {int(k): i for i, k in enumerate(ks[np.lexsort((ks, -sizes))])}
        labels = np.array([rank[int(k)] for k in raw_labels], dtype=int)
        k_final = len(ks)
        with threadpool_limits(limits=1):
            sil = (
                float(silhouette_score(zs, labels[sample]))
                if 1 < len(np.unique(labels[sample])) < len(zs)
                else math.nan
            )

        zrows, tokens = [], []
        for c in range(k_final):
            mz = z[labels == c].mean(axis=0) if len(cols) else np.zeros(0)
            zrow = {f: float(v) for f, v in zip(cols, mz, strict=True)}
            zrows.append(zrow)
            tokens.append(_tokens(zrow, cfg))
        names = _names(tokens, int(cfg["name_features"]), cfg["typical_name"])

        described = []
        for c in range(k_final):
            in_c = labels == c
            top = sorted(zrows[c].items(), key=lambda kv: -abs(kv[1]))[: int(cfg["top_features"])]
            described.append(
                {
                    "cluster": c,
                    "name": names[c],
                    "size": int(in_c.sum()),
                    "share": float(in_c.mean()),
                    "top_features": [{"feature": f, "mean_z": v} for f, v in top],
                    "means": {f: float(raw[in_c, j].mean()) for j, f in enumerate(cols)},
                }
            )

        back = np.empty(n, dtype=int)
        back[order] = np.arange(n)  # sorted position of each input row
        n_centres = 1 if model is None else int(model.n_clusters)
        empty = [k for k in range(n_centres) if k not in rank]  # centres no row went to
        rank.update({k: k_final + i for i, k in enumerate(empty)})

        self.features_ = cols
        self.fill_ = np.array(fills, dtype=float)
        self.mean_ = np.array(means, dtype=float)
        self.scale_ = np.array(scales, dtype=float)
        self.kmeans_ = model
        self.order_ = np.array([rank[k] for k in range(n_centres)], dtype=int)
        self.names_ = names
        self.labels_ = labels[back]
        self.k_ = k_final
        self.silhouette_ = sil
        self.k_scores_ = k_scores
        self.n_rows_ = n
        self.sample_size_ = len(sample)
        self.clusters_ = described
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Cluster number of each row: the nearest centre under the learned scaling.

        Parameters
        ----------
        features
            A feature frame with (at least) the columns in ``features_``.

        Returns
        -------
        numpy.ndarray
            Cluster numbers (int) in the input's row order; numbers of ``names_``, or
            above them for a centre that no fitted row went to.
        """
        self._check_fitted()
        if self.kmeans_ is None:
            return np.zeros(len(features), dtype=int)
        with threadpool_limits(limits=1, user_api="blas"):
            raw = self.kmeans_.predict(self._matrix(features))
        return self.order_[raw]
