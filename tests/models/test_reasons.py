"""Reasons in words: templates from a customer's own values, and the top drivers picked."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from liucun.features import FEATURES
from liucun.models.reasons import MISSING, TEMPLATES, describe, top_reasons

MEANINGS = {f.name: f.meaning for f in FEATURES}
NAN = math.nan


@pytest.mark.parametrize(
    ("name", "row", "expected"),
    [
        (
            "recency_days",
            {"recency_days": 94.2, "gap_ratio": 3.14},
            "no order for 94 days — 3.1× longer than usual",
        ),
        ("recency_days", {"recency_days": 20.0, "gap_ratio": 1.2}, "ordered 20 days ago"),
        ("recency_days", {"recency_days": 40.0, "gap_ratio": NAN}, "no order for 40 days"),
        (
            "revenue_trend_30d",
            {"revenue_30d": 40.0, "revenue_trend_30d": -60.0},
            "spend down 60% vs the previous month",
        ),
        (
            "revenue_trend_30d",
            {"revenue_30d": 0.0, "revenue_trend_30d": 0.0},
            "no spend in the last two months",
        ),
        (
            "revenue_trend_30d",
            {"revenue_30d": 90.0, "revenue_trend_30d": 30.0},
            "spend up 30 vs the previous month",
        ),
        (
            "negative_review_share",
            {"negative_review_share": 0.5, "reviews_total": 4.0},
            "2 negative reviews",
        ),
        (
            "negative_review_share",
            {"negative_review_share": 0.25, "reviews_total": 4.0},
            "1 negative review",
        ),
        (
            "negative_review_share",
            {"negative_review_share": 0.0, "reviews_total": 3.0},
            "3 reviews, none negative",
        ),
        ("orders_trend_30d", {"orders_trend_30d": -2.0}, "2 fewer orders than the month before"),
        ("gap_ratio", {"gap_ratio": 2.5}, "overdue: 2.5× their usual time between orders"),
        ("days_since_last_event", {"days_since_last_event": 41.6}, "no visit for 42 days"),
        ("cart_abandon_rate_90d", {"cart_abandon_rate_90d": 0.75}, "abandoned 75% of carts"),
        ("top_category", {"top_category": "books"}, "mostly buys books"),
        ("btyd_p_alive", {"btyd_p_alive": 0.123}, "12% likely still buying"),
    ],
)
def test_templates_write_the_customers_own_values(name: str, row: dict, expected: str) -> None:
    text = describe(name, row, MEANINGS)
    assert text.startswith(expected), text
    assert "nan" not in text.lower()


@pytest.mark.parametrize("name", sorted(MISSING))
def test_missing_values_give_the_missing_phrase(name: str) -> None:
    assert describe(name, {name: NAN}, MEANINGS) == MISSING[name]
    assert describe(name, {name: None}, MEANINGS) == MISSING[name]
    assert describe(name, {}, MEANINGS) == MISSING[name]


def test_specific_missing_phrases() -> None:
    assert describe("recency_days", {"recency_days": NAN}, MEANINGS) == "has never ordered"
    assert describe("days_since_last_event", {}, MEANINGS) == "no site visits on record"
    assert describe("rating_mean", {"rating_mean": None}, MEANINGS) == "no ratings given"


def test_no_template_falls_back_to_the_documented_meaning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meanings = {"weird_feature": "a documented oddity"}
    assert describe("weird_feature", {"weird_feature": 0.123456}, meanings) == (
        "a documented oddity: 0.123"
    )
    assert describe("weird_feature", {"weird_feature": NAN}, meanings) == (
        "a documented oddity: none on record"
    )
    assert describe("other", {"other": "x"}, {}) == "other: x"
    # A template with nothing to say also falls back rather than print nothing, and the
    # meaning's "(NULL: ...)" note for analysts is left out.
    monkeypatch.setitem(TEMPLATES, "ipi_std_days", lambda r: None)
    text = describe("ipi_std_days", {"ipi_std_days": 0.0}, MEANINGS)
    assert text == "spread of the days between orders: 0"


def test_every_template_handles_a_value() -> None:
    for name, template in TEMPLATES.items():
        row = {n: 1.0 for n in TEMPLATES} | {"top_category": "books", "reviews_total": 2.0}
        out = template(row)
        assert out is None or (isinstance(out, str) and out), name


def _values() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "recency_days": [94.0, 3.0, 10.0],
            "gap_ratio": [3.1, NAN, 0.5],
            "ipi_mean_days": [30.0, NAN, 20.0],
            "revenue_30d": [40.0, 0.0, 10.0],
            "revenue_trend_30d": [-60.0, 0.0, 5.0],
            "orders_total": [5.0, 1.0, 2.0],
        }
    )


def test_top_reasons_picks_the_largest_contributions_with_their_direction() -> None:
    contrib = pd.DataFrame(
        {
            "recency_days": [-2.0, 0.1, -0.1],
            "gap_ratio": [-0.1, -0.9, 0.3],
            "ipi_mean_days": [0.2, -0.8, 0.0],
            "revenue_trend_30d": [-1.0, 0.0, -0.5],
            "orders_total": [0.5, 0.3, 0.1],
            "revenue_30d": [0.0, 0.0, 0.0],
        }
    )
    out = top_reasons(contrib, _values(), MEANINGS, k=2)
    assert len(out) == 3
    assert out[0] == "no order for 94 days — 3.1× longer than usual: raises risk; " + (
        "spend down 60% vs the previous month: raises risk"
    )
    # Row 1: gap_ratio and ipi_mean_days are both missing and say the same words: once only,
    # and the next largest takes the freed place.
    assert out[1].split("; ") == [
        "fewer than two orders: raises risk",
        "1 order in total: lowers risk",
    ]
    # Row 2: the largest either way; those raising the risk first.
    assert out[2].split("; ") == [
        "spend up 5 vs the previous month: raises risk",
        "not due yet: 0.5× their usual time between orders: lowers risk",
    ]
    # sign=+1: a positive contribution raises the risk (a model scoring churn itself); the
    # largest raising one is said even where a lowering one is larger.
    up = top_reasons(contrib, _values(), MEANINGS, k=2, sign=1)
    assert up[0] == (
        "5 orders in total: raises risk; no order for 94 days — 3.1× longer than usual: lowers risk"
    )


def test_top_reasons_respects_k_without_duplicates() -> None:
    cols = ["recency_days", "gap_ratio", "ipi_mean_days", "revenue_trend_30d", "orders_total"]
    contrib = pd.DataFrame([[-5.0, -4.0, -3.0, -2.0, -1.0]] * 3, columns=cols)
    for k in (1, 2, 3, 5):
        for text in top_reasons(contrib, _values(), MEANINGS, k=k):
            parts = text.split("; ")
            assert 1 <= len(parts) <= k
            assert len(parts) == len(set(parts))
            assert all(parts)
    three = top_reasons(contrib, _values(), MEANINGS, k=3)
    assert three[0].split("; ") == [
        "no order for 94 days — 3.1× longer than usual: raises risk",
        "overdue: 3.1× their usual time between orders: raises risk",
        "usually orders every 30 days: raises risk",
    ]


def test_values_missing_a_column_read_as_missing() -> None:
    contrib = pd.DataFrame({"days_since_last_event": [-1.0], "orders_total": [0.5]})
    values = pd.DataFrame({"orders_total": [3.0]})
    assert top_reasons(contrib, values, MEANINGS, k=2) == [
        "no site visits on record: raises risk; 3 orders in total: lowers risk"
    ]


def test_rows_where_nothing_raises_the_risk_say_what_lowers_it() -> None:
    contrib = pd.DataFrame({"recency_days": [0.5], "orders_total": [0.01], "ipi_mean_days": [2.0]})
    values = pd.DataFrame({"recency_days": [3.0], "orders_total": [4.0], "ipi_mean_days": [12.0]})
    assert top_reasons(contrib, values, MEANINGS, k=2) == [
        "usually orders every 12 days: lowers risk; ordered 3 days ago: lowers risk"
    ]
