"""Review texts: sentiment follows the rating, both languages, varied, deterministic."""

from __future__ import annotations

import re

import numpy as np
import pytest

from liucun.sim.text import CATEGORIES, NEGATIVE_WORDS, POSITIVE_WORDS, review_texts

N = 2000
CJK = re.compile(r"[\u4e00-\u9fff]")
LATE_CUES = {"zh": re.compile("慢"), "en": re.compile(r"\b(slow|late|delayed)\b", re.I)}


def _lexicon(lang: str) -> tuple[re.Pattern[str], dict[str, int]]:
    weight = {w: 1 for w in POSITIVE_WORDS[lang]} | {w: -1 for w in NEGATIVE_WORDS[lang]}
    # Longest first, so "不满意" / "not worth" win over "满意" / "worth" at the same place.
    alternation = "|".join(re.escape(w) for w in sorted(weight, key=len, reverse=True))
    pattern = alternation if lang == "zh" else rf"\b(?:{alternation})\b"
    return re.compile(pattern), weight


LEXICON = {lang: _lexicon(lang) for lang in ("zh", "en")}


def score(text: str, lang: str) -> int:
    """Positive minus negative cue words (leftmost-longest matches)."""
    pattern, weight = LEXICON[lang]
    return sum(weight[m] for m in pattern.findall(text.lower()))


def _categories(rng: np.random.Generator, n: int) -> np.ndarray:
    choices = np.array([*CATEGORIES, None], dtype=object)
    return choices[rng.integers(0, len(choices), n)]


def test_lexicons_do_not_overlap() -> None:
    for lang in ("zh", "en"):
        assert POSITIVE_WORDS[lang] and NEGATIVE_WORDS[lang]
        assert not set(POSITIVE_WORDS[lang]) & set(NEGATIVE_WORDS[lang])


def test_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(7)
    ratings = rng.integers(1, 6, 500)
    langs = np.where(rng.random(500) < 0.5, "zh", "en")
    cats = _categories(rng, 500)
    late = rng.random(500) < 0.2
    a = review_texts(np.random.default_rng(42), ratings, langs, cats, late)
    b = review_texts(np.random.default_rng(42), ratings, langs, cats, late)
    c = review_texts(np.random.default_rng(43), ratings, langs, cats, late)
    assert a == b
    assert a != c
    assert len(a) == 500 and all(isinstance(t, str) and t for t in a)


def test_scripts_per_language() -> None:
    rng = np.random.default_rng(1)
    ratings = rng.integers(1, 6, N)
    late = rng.random(N) < 0.2
    zh = review_texts(rng, ratings, np.full(N, "zh"), _categories(rng, N), late)
    en = review_texts(rng, ratings, np.full(N, "en"), _categories(rng, N), late)
    assert all(CJK.search(t) for t in zh)
    assert all(t.isascii() and not CJK.search(t) for t in en)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_lexicon_score_is_monotone_in_the_rating(lang: str) -> None:
    means = []
    for rating in (1, 2, 3, 4, 5):
        rng = np.random.default_rng(100 + rating)
        texts = review_texts(rng, np.full(N, rating), np.full(N, lang), _categories(rng, N))
        means.append(np.mean([score(t, lang) for t in texts]))
    assert means == sorted(means), means
    assert (np.diff(means) > 0.5).all(), means
    assert means[0] < -1 and means[4] > 1 and abs(means[2]) < 1, means


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_late_delivery_is_mentioned_negatively(lang: str) -> None:
    rng = np.random.default_rng(5)
    ratings = rng.integers(1, 6, N)
    cats = _categories(rng, N)
    late = review_texts(rng, ratings, np.full(N, lang), cats, np.ones(N, dtype=bool))
    assert all(LATE_CUES[lang].search(t) for t in late)
    # A late delivery pulls a five-star review's tone down.
    fives = np.full(N, 5)
    on_time = review_texts(rng, fives, np.full(N, lang), cats, np.zeros(N, dtype=bool))
    delayed = review_texts(rng, fives, np.full(N, lang), cats, np.ones(N, dtype=bool))
    assert np.mean([score(t, lang) for t in delayed]) < np.mean([score(t, lang) for t in on_time])


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("rating", [1, 3, 5])
def test_texts_are_varied(lang: str, rating: int) -> None:
    rng = np.random.default_rng(9)
    texts = review_texts(rng, np.full(N, rating), np.full(N, lang))
    assert len(set(texts)) >= 0.8 * N


def test_mixed_batch_is_varied() -> None:
    rng = np.random.default_rng(11)
    ratings = rng.integers(1, 6, N)
    langs = np.where(rng.random(N) < 0.7, "zh", "en")
    texts = review_texts(rng, ratings, langs, _categories(rng, N), rng.random(N) < 0.1)
    assert len(set(texts)) >= 0.8 * N


def test_category_aspects_appear() -> None:
    rng = np.random.default_rng(3)
    n = 400
    cues = {
        ("electronics", "en"): re.compile(r"battery|screen|charge|sound|laggy|bluetooth|hot"),
        ("apparel", "zh"): re.compile("尺码|面料|穿|版型|合身|色|起球|线头"),
        ("food", "zh"): re.compile("味|新鲜|吃|口感|过期|异物|咸"),
    }
    for (category, lang), cue in cues.items():
        texts = review_texts(
            rng, rng.integers(1, 6, n), np.full(n, lang), np.full(n, category, dtype=object)
        )
        assert np.mean([bool(cue.search(t)) for t in texts]) > 0.5, category


def test_empty_and_bad_input() -> None:
    rng = np.random.default_rng(0)
    empty = np.array([], dtype=np.int64)
    assert review_texts(rng, empty, np.array([], dtype=str)) == []
    with pytest.raises(ValueError, match="1-5"):
        review_texts(rng, np.array([6]), np.array(["zh"]))
    with pytest.raises(ValueError, match="zh"):
        review_texts(rng, np.array([5]), np.array(["fr"]))
    with pytest.raises(ValueError, match="langs"):
        review_texts(rng, np.array([5, 4]), np.array(["zh"]))
