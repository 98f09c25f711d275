"""Point-in-time customer features, labels and training snapshots.

``build_features(tables, as_of)`` is an Ibis expression (any backend); ``feature_frame``
runs it on a workspace and returns pandas, one row per known customer sorted by user_id.
"""

from liucun.features.base import Feature
from liucun.features.build import build_features, feature_frame
from liucun.features.families import FAMILIES, FEATURES
from liucun.features.labels import build_labels, snapshots

__all__ = [
    "FAMILIES",
    "FEATURES",
    "Feature",
    "build_features",
    "build_labels",
    "feature_frame",
    "snapshots",
]
