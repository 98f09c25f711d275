"""Top-K ranking metrics against hand-computed small cases and their edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from liucun.evaluate import ranking_metrics, recommendation_lists

K = 5


def test_single_hit_at_rank_three() -> None:
    m = ranking_metrics({"u": ["a", "b", "c", "d", "e"]}, {"u": {"c"}}, k=K)
    assert m["users"] == 1
    assert m[f"ndcg@{K}"] == pytest.approx(1 / math.log2(4))
    assert m[f"mrr@{K}"] == pytest.approx(1 / 3)
    assert m[f"recall@{K}"] == 1.0
    assert m[f"hr@{K}"] == 1.0
    assert m[f"precision@{K}"] == pytest.approx(1 / K)


def test_two_users_averaged() -> None:
    rec = {"u1": ["a", "b", "c"], "u2": ["x", "y", "z"]}
    rel = {"u1": {"a", "c", "q"}, "u2": {"nope"}}
    m = ranking_metrics(rec, rel, k=3)
    # u1: hits at ranks 1 and 3 of 3 relevant; the ideal fills all three positions.
    dcg = 1 + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@3"] == pytest.approx((dcg / idcg + 0) / 2)
    assert m["recall@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["precision@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["hr@3"] == pytest.approx(0.5)
    assert m["mrr@3"] == pytest.approx(0.5)
    assert m["users"] == 2


def test_ideal_dcg_capped_at_k() -> None:
    """More relevant items than k: a list of k hits is perfect NDCG, recall is hits/|rel|."""
    m = ranking_metrics({"u": ["a", "b"]}, {"u": {"a", "b", "c", "d"}}, k=2)
    assert m["ndcg@2"] == pytest.approx(1.0)
    assert m["recall@2"] == pytest.approx(0.5)
    assert m["precision@2"] == pytest.approx(1.0)


def test_lists_are_cut_at_k() -> None:
    m = ranking_metrics({"u": ["a", "b", "c", "d"]}, {"u": {"d"}}, k=3)
    assert m["hr@3"] == m["ndcg@3"] == m["mrr@3"] == m["recall@3"] == 0.0


def test_repeated_item_counts_once() -> None:
    m = ranking_metrics({"u": ["a", "a", "b"]}, {"u": {"a"}}, k=3)
    assert m["precision@3"] == pytest.approx(1 / 3)
    assert m["ndcg@3"] == pytest.approx(1.0)


def test_user_missing_from_recommendations_counts_as_zero() -> None:
    rec = {"u1": ["a", "b"]}
    rel = {"u1": {"a"}, "u2": {"a"}}
    m = ranking_metrics(rec, rel, k=2)
    assert m["users"] == 2
    assert m["hr@2"] == pytest.approx(0.5)
    assert m["ndcg@2"] == pytest.approx(0.5)
    assert m["mrr@2"] == pytest.approx(0.5)


def test_users_without_relevant_items_are_not_evaluated() -> None:
    rec = {"u1": ["a"], "u2": ["a"], "u3": ["a"]}
    rel = {"u1": {"a"}, "u2": set()}  # u2 has nothing to find, u3 is not in the truth
    m = ranking_metrics(rec, rel, k=1)
    assert m["users"] == 1
    assert m["hr@1"] == 1.0


def test_no_relevant_items_at_all_gives_nan() -> None:
    m = ranking_metrics({"u": ["a"]}, {"u": set()}, k=1, n_items=10)
    assert m["users"] == 0
    for key in ("recall@1", "ndcg@1", "hr@1", "mrr@1", "precision@1", "coverage@1"):
        assert math.isnan(m[key]), key


def test_empty_recommendations() -> None:
    m = ranking_metrics({}, {"u": {"a"}}, k=3, n_items=5, item_category={"a": "x"})
    assert m["users"] == 1 and m["ndcg@3"] == 0.0 and m["coverage@3"] == 0.0
    assert math.isnan(m["diversity@3"])


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be"):
        ranking_metrics({"u": ["a"]}, {"u": {"a"}}, k=0)


def test_coverage_over_evaluated_users() -> None:
    rec = {"u1": ["a", "b"], "u2": ["b", "c"], "u3": ["z", "y"]}  # u3 is not evaluated
    rel = {"u1": {"a"}, "u2": {"q"}}
    m = ranking_metrics(rec, rel, k=2, n_items=10)
    assert m["coverage@2"] == pytest.approx(3 / 10)
    assert math.isnan(ranking_metrics(rec, rel, k=2)["coverage@2"])  # no catalogue size


def test_diversity() -> None:
    rec = {"u1": ["a", "b", "c", "d"], "u2": ["a", "b"]}
    rel = {"u1": {"a"}, "u2": {"a"}}
    cat = {"a": "drama", "b": "drama", "c": "comedy", "d": "horror"}
    m = ranking_metrics(rec, rel, k=4, item_category=cat)
    assert m["diversity@4"] == pytest.approx((3 / 4 + 1 / 2) / 2)
    # An item without a category is left out of its list's count.
    m = ranking_metrics({"u": ["a", "c", "zzz"]}, {"u": {"a"}}, k=3, item_category=cat)
    assert m["diversity@3"] == pytest.approx(1.0)
    assert math.isnan(ranking_metrics(rec, rel, k=4)["diversity@4"])


def test_novelty() -> None:
    pop = {"a": 50, "b": 25, "c": 25}  # shares 1/2, 1/4, 1/4 → 1, 2, 2 bits
    rel = {"u1": {"a"}, "u2": {"a"}}
    m = ranking_metrics({"u1": ["a", "b"], "u2": ["c"]}, rel, k=2, item_popularity=pop)
    assert m["novelty@2"] == pytest.approx((1.5 + 2.0) / 2)
    # Unknown or zero-popularity items get the least popular known item's share.
    pop0 = {**pop, "d": 0}
    m = ranking_metrics({"u1": ["d", "e"]}, {"u1": {"a"}}, k=2, item_popularity=pop0)
    assert m["novelty@2"] == pytest.approx(2.0)
    assert math.isnan(ranking_metrics({"u1": ["a"]}, rel, k=2)["novelty@2"])


def test_frame_input_matches_dict() -> None:
    """The ``liucun recommend`` frame, rows in any order, gives the same figures."""
    frame = pd.DataFrame(
        {
            "user_id": ["u2", "u1", "u1", "u2", "u1"],
            "rank": [2, 3, 1, 1, 2],
            "item_id": ["y", "c", "a", "x", "b"],
            "score": [0.1, 0.2, 0.9, 0.8, 0.5],
        }
    )
    assert recommendation_lists(frame) == {"u1": ["a", "b", "c"], "u2": ["x", "y"]}
    rel = {"u1": {"c"}, "u2": {"y"}}
    got = ranking_metrics(frame, rel, k=3, n_items=6)
    want = ranking_metrics({"u1": ["a", "b", "c"], "u2": ["x", "y"]}, rel, k=3, n_items=6)
    assert got == want
    assert got["mrr@3"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    with pytest.raises(ValueError, match="rank"):
        ranking_metrics(frame.drop(columns="rank"), rel, k=3)


def test_random_lists_against_a_direct_formula() -> None:
    """Leave-one-out on random lists: NDCG and MRR reduce to the hit's position."""
    rng = np.random.default_rng(3)
    items = [f"i{j}" for j in range(30)]
    rec, rel, ndcg, mrr = {}, {}, [], []
    for u in range(200):
        order = list(rng.permutation(items))
        target = items[rng.integers(len(items))]
        rec[f"u{u}"], rel[f"u{u}"] = order, {target}
        pos = order.index(target)
        ndcg.append(1 / math.log2(pos + 2) if pos < 10 else 0.0)
        mrr.append(1 / (pos + 1) if pos < 10 else 0.0)
    m = ranking_metrics(rec, rel, k=10)
    assert m["ndcg@10"] == pytest.approx(np.mean(ndcg))
    assert m["mrr@10"] == pytest.approx(np.mean(mrr))
    # One relevant item each: recall equals hit rate.
    assert m["recall@10"] == pytest.approx(m["hr@10"])
