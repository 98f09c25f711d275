"""Behavioural clusters of the run: :class:`liucun.models.segment.KMeansSegmenter` fitted on
every customer, as labels and a JSON-ready report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from liucun.decide.segments.common import section
from liucun.models.segment import KMeansSegmenter


def clusters(
    features: pd.DataFrame, config: Mapping[str, Any] | None = None, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Behavioural clusters with k chosen by silhouette, each described and named.

    RFM ranks buyers on three fixed axes; clusters find the groups the data actually
    holds (window shoppers, discount seekers, big-basket occasionals), including
    customers who never ordered. The k-means, its scaling and the naming are
    :class:`~liucun.models.segment.KMeansSegmenter`'s; rows are sorted by user_id first,
    so the result depends on the data and the seed, never on row order. Clusters are
    numbered by size (0 = largest).

    Parameters
    ----------
    features
        The feature frame; the numeric columns in ``config["clusters"]["features"]``
        that exist are used (NaN filled as configured).
    config
        The ``[segments]`` config; its ``clusters`` section is read.
    seed
        Seed of the samples and of k-means.

    Returns
    -------
    labels : pandas.DataFrame
        ``user_id, cluster, cluster_name`` in the input's row order.
    report : dict
        ``k``, ``silhouette`` (of the final clusters on the selection sample; NaN with a
        single cluster), ``k_scores`` (silhouette per k tried), ``features`` (used),
        ``rows``, ``sample_size``, ``seed`` and ``clusters``: per cluster ``cluster``,
        ``name``, ``size``, ``share``, ``top_features`` (``feature``, ``mean_z``) and
        ``means`` (raw means of the filled features). Plain Python types throughout.
    """
    model = KMeansSegmenter.from_config(section(config, "clusters"), seed=seed).fit(features)
    report = {
        "k": model.k_,
        "silhouette": model.silhouette_,
        "k_scores": model.k_scores_,
        "features": model.features_,
        "rows": model.n_rows_,
        "sample_size": model.sample_size_,
        "seed": seed,
        "clusters": model.clusters_,
    }
    labels = model.labels_
    out = pd.DataFrame(
        {
            "user_id": features["user_id"].astype(str).to_numpy(),
            "cluster": labels,
            "cluster_name": np.array(model.names_, dtype=object)[labels],
        }
    )
    return out, report
