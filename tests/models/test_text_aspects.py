"""Aspects, clauses, topics and language detection on hand-written review texts."""

from __future__ import annotations

import numpy as np

from liucun.models.text.aspects import AspectLexicon, aspect_mentions, clauses
from liucun.models.text.lang import detect
from liucun.models.text.tokens import words
from liucun.models.text.topics import TopicModel


def test_clauses_split_at_punctuation_and_contrast_words() -> None:
    assert clauses("质量很好，就是物流太慢了！") == ["质量很好", "就是物流太慢了"]
    assert clauses("Great fit but the box was crushed.") == ["Great fit", "but the box was crushed"]
    assert clauses("") == []


def test_each_clause_gets_its_own_aspect_and_sentiment() -> None:
    texts = ["质量很好，就是物流太慢了", "The price is great but delivery took forever."]

    def score(cl):  # a stand-in model: negative when a complaint word is in the clause
        return np.array([0.1 if any(w in c for w in ("慢", "forever")) else 0.9 for c in cl])

    m = aspect_mentions(texts, score)
    got = {(int(d), a): p for d, a, p in m.itertuples(index=False)}
    assert got == {
        (0, "quality"): 0.9,
        (0, "delivery"): 0.1,
        (1, "price"): 0.9,
        (1, "delivery"): 0.1,
    }


def test_lexicon_extends_from_config_and_matches_english_at_word_starts() -> None:
    lex = AspectLexicon({"scent": ["香味", "smell"]})
    assert "scent" in lex.aspects
    assert lex.find("香味很淡") == ["scent"]
    # "fit" must not match inside "benefit"; "late" not inside "chocolate".
    assert lex.find("great benefit, chocolate flavour") == []
    assert lex.find("arrived late") == ["delivery"]


def test_language_detection_handles_mixed_scripts_and_no_letters() -> None:
    assert list(detect(["非常好用", "works great", "iPhone 壳不错", "👍👍", ""])) == [
        "zh", "en", "mixed", "", "",
    ]  # fmt: skip


def test_tokens_segment_chinese_and_drop_stop_words() -> None:
    toks = words("这个质量很好，物流也快！Love the colour.", stop=True)
    assert "质量" in toks and "物流" in toks and "love" in toks and "colour" in toks
    assert "的" not in toks and "the" not in toks


def test_topics_separate_what_reviews_talk_about() -> None:
    rng = np.random.default_rng(0)
    delivery = ["物流太慢了等了一周", "快递很慢，发货延迟", "物流速度慢，快递员态度差"]
    fit = ["尺码偏小穿着紧", "尺码标准很合身", "尺码偏大，版型一般"]
    texts = [str(rng.choice(delivery if i % 2 else fit)) for i in range(60)]
    tm = TopicModel(n_topics=2, top_words=3).fit(texts)
    flat = [set(t) for t in tm.topics_]
    assert any("物流" in t or "快递" in t for t in flat)
    assert any("尺码" in t for t in flat)
    weights = tm.transform(["物流太慢", "尺码偏小"])
    assert weights.shape == (2, 2) and weights[0].argmax() != weights[1].argmax()
