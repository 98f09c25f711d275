"""Reasons a marketer can read (issue 19): what the customer did, in plain words, and
whether it raises or lowers their churn risk, from the sign of its contribution; never a
feature's column name, an analyst's "(NULL: ...)" note or a model's jargon.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from liucun.features import FEATURES
from liucun.models.reasons import (
    LOWERS,
    NOTHING,
    RAISES,
    btyd_reasons,
    describe,
    top_reasons,
)

MEANINGS = {f.name: f.meaning for f in FEATURES}
MODEL_INPUTS = [*MEANINGS, "btyd_p_alive", "btyd_expected", "btyd_value"]
NAN = math.nan
DIRECTION = re.compile(rf": ({RAISES}|{LOWERS})$")
# Words only an analyst would write.
JARGON = ("NULL", "BG/NBD", "decay", "exp(", "nan", "None", "P(active)")


def _value(name: str, rng: np.random.Generator) -> object:
    if name == "top_category":
        return str(rng.choice(["books", "toys"]))
    if name in ("has_ordered", "opted_out"):
        return float(rng.integers(0, 2))
    if name.endswith(("_share", "_rate", "_rate_90d")) or name.startswith(("btyd_p", "review_s")):
        return float(rng.uniform(0, 1))
    return float(rng.choice([0.0, 1.0, 2.0, rng.uniform(0, 400)]))


def _customers(n: int = 200, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature values (a fifth of them missing) and contributions for every model input."""
    rng = np.random.default_rng(seed)
    rows = [
        {c: (NAN if rng.random() < 0.2 else _value(c, rng)) for c in MODEL_INPUTS} for _ in range(n)
    ]
    values = pd.DataFrame(rows)
    contrib = pd.DataFrame(rng.normal(0, 1, (n, len(MODEL_INPUTS))), columns=MODEL_INPUTS)
    return values, contrib


def test_every_reason_says_which_way_it_moves_the_risk() -> None:
    values, contrib = _customers()
    for i, text in enumerate(top_reasons(contrib, values, MEANINGS, k=3)):
        parts = text.split("; ")
        assert len(parts) == 3, text
        assert all(DIRECTION.search(p) for p in parts), text
        # Those raising the risk come first.
        ups = [p.endswith(RAISES) for p in parts]
        assert ups == sorted(ups, reverse=True), text
        # The direction is the contribution's: negative on P(purchase) raises churn risk.
        c = contrib.iloc[i]
        name = c.abs().idxmax()
        phrase = describe(name, values.iloc[i].to_dict(), MEANINGS)
        want = RAISES if c[name] < 0 else LOWERS
        assert f"{phrase}: {want}" in parts, (name, text)


@pytest.mark.parametrize("name", MODEL_INPUTS)
def test_no_reason_shows_a_feature_name_or_jargon(name: str) -> None:
    values, _ = _customers(n=60, seed=len(name))
    texts = [describe(name, row, MEANINGS) for row in values.to_dict("records")]
    for text in texts:
        assert text and name not in text, text
        assert not any(j in text for j in JARGON), text
        assert not re.search(r"\b1 (days|orders|visits|times)\b", text), text


def test_the_issues_examples() -> None:
    """'no order for 94 days — 3× longer than usual: raises risk'; 'ordered twice this
    month: lowers risk'."""
    values = pd.DataFrame(
        {
            "recency_days": [94.0],
            "gap_ratio": [3.1],
            "orders_30d": [2.0],
            "ipi_std_days": [NAN],
            "revenue_decay_90d": [70.0],
            "revenue_90d": [NAN],
        }
    )
    contrib = pd.DataFrame(
        {
            "recency_days": [-1.5],
            "orders_30d": [0.8],
            "ipi_std_days": [-0.5],
            "revenue_decay_90d": [0.1],
        }
    )
    out = top_reasons(contrib, values, MEANINGS, k=4)[0].split("; ")
    assert out == [
        "no order for 94 days — 3.1× longer than usual: raises risk",
        "fewer than three orders: raises risk",
        "ordered twice in the last 30 days: lowers risk",
        "regular spend lately: lowers risk",
    ]


def test_the_largest_reason_for_the_risk_is_always_said() -> None:
    """Three small-risk features and larger protective ones: the largest raiser takes the
    smallest protective one's place, and comes first."""
    values = pd.DataFrame(
        {"orders_30d": [2.0], "sessions_30d": [6.0], "days_since_last_event": [3.0]}
        | {"support_90d": [2.0], "rating_mean": [2.1]}
    )
    contrib = pd.DataFrame(
        {"orders_30d": [0.9], "sessions_30d": [0.7], "days_since_last_event": [0.5]}
        | {"support_90d": [-0.2], "rating_mean": [-0.3]}
    )
    assert top_reasons(contrib, values, MEANINGS, k=3)[0].split("; ") == [
        "average rating given 2.1: raises risk",
        "ordered twice in the last 30 days: lowers risk",
        "6 visits in the last 30 days: lowers risk",
    ]


def test_a_model_scoring_churn_itself_flips_the_direction() -> None:
    values = pd.DataFrame({"orders_30d": [2.0]})
    contrib = pd.DataFrame({"orders_30d": [0.8]})
    assert top_reasons(contrib, values, MEANINGS, k=1, sign=1) == [
        "ordered twice in the last 30 days: raises risk"
    ]


def test_zero_contributions_say_nothing() -> None:
    values = pd.DataFrame({"orders_30d": [2.0, 1.0], "recency_days": [3.0, 5.0]})
    contrib = pd.DataFrame({"orders_30d": [0.0, 0.0], "recency_days": [0.0, -0.2]})
    assert top_reasons(contrib, values, MEANINGS, k=2) == [
        NOTHING,
        "ordered 5 days ago: raises risk",
    ]


def test_btyd_reasons_carry_a_direction() -> None:
    values = pd.DataFrame(
        {
            "recency_days": [NAN, 120.0, 3.0],
            "gap_ratio": [NAN, 4.0, 0.2],
            "btyd_p_alive": [NAN, 0.1, 0.9],
        }
    )
    out = btyd_reasons(values)
    assert out[0] == "has never ordered: raises risk"
    assert out[1] == (
        "no order for 120 days — 4× longer than usual: raises risk; "
        "10% likely still buying, by their order rhythm: raises risk"
    )
    assert out[2] == (
        "ordered 3 days ago: lowers risk; "
        "90% likely still buying, by their order rhythm: lowers risk"
    )
