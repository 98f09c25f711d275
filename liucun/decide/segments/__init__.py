"""Customer segments from the feature frame: RFM, lifecycle stage, clusters, customer 360.

Everything here is plain pandas / numpy / scikit-learn over the frame that
``liucun.features`` builds (one row per known customer as of a date, NaN where a value is
undefined), so it runs the same on a workspace's output, on a snapshot or on a hand-made
frame in a test, and never touches the warehouse. Missing feature families (a shop with
orders only has no sessions) simply switch off what needs them, as in the features.

Every function takes ``config``: the ``[segments]`` section of ``liucun.toml`` as a dict
(``None`` = the defaults). It is laid over :data:`DEFAULT_SEGMENTS_CONFIG` (the
``[segments]`` tables of ``liucun.config.DEFAULT_TOML``) key by key, so a workspace file
may set only what it changes; lists (the RFM rules, the tag rules, the cluster features)
replace the default list as a whole.

Results come back in the input's row order and are deterministic whatever that order is:
anything order-sensitive (tie breaks, samples, k-means) works on rows sorted by user_id.
"""

from liucun.decide.segments.clusters import clusters
from liucun.decide.segments.common import DEFAULT_SEGMENTS_CONFIG, NO_ORDER_FEATURES
from liucun.decide.segments.lifecycle import STAGES, lifecycle, typical_interval
from liucun.decide.segments.profile import profile
from liucun.decide.segments.rfm import rfm
from liucun.decide.segments.summary import segment_summary
from liucun.decide.segments.tags import tag_thresholds, tags

__all__ = [
    "DEFAULT_SEGMENTS_CONFIG",
    "NO_ORDER_FEATURES",
    "STAGES",
    "clusters",
    "lifecycle",
    "profile",
    "rfm",
    "segment_summary",
    "tag_thresholds",
    "tags",
    "typical_interval",
]
