"""Contract cases: segments."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from contract_cases import Case, Data
from liucun.models.segment import KMeansSegmenter


def _customers() -> Data:
    rng = np.random.default_rng(0)
    n = 120
    buyer = rng.random(n) >= 0.25
    orders = np.where(buyer, rng.geometric(0.45, n), 0)
    frame = pd.DataFrame(
        {
            "user_id": [f"u{i:03d}" for i in range(n)],
            "has_ordered": buyer.astype(int),
            "recency_days": np.where(buyer, rng.uniform(0, 400, n), np.nan),
            "orders_total": orders,
            "revenue_total": orders * rng.lognormal(3.5, 0.6, n),
            "views_90d": rng.poisson(np.where(buyer, 10, 25), n),
        }
    )
    return Data((frame,))


def _predict(model: KMeansSegmenter, data: Data) -> Any:
    return model.predict(data.fit_args[0])


CASES: list[Case] = [
    Case(
        "kmeans_segmenter",
        lambda: KMeansSegmenter(k_min=2, k_max=4, sample_size=80, n_init=3, seed=0),
        _customers,
        _predict,
    ),
]
