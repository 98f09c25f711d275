"""Contract cases: text models (review sentiment, service intents, FAQ retrieval, topics).

Small seeded review texts from the simulator and the packaged seed examples and sample FAQ:
the contract is about the estimator's mechanics (clone, fit, refit, unfitted, save/load),
not quality, which the text models' own tests measure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from contract_cases import Case, Data
from liucun.models.text.faq import FaqIndex, default_faq_path, read_faq
from liucun.models.text.intent import IntentClassifier, default_intent_examples
from liucun.models.text.sentiment import SentimentModel
from liucun.models.text.topics import TopicModel
from liucun.sim.text import review_texts

QUESTIONS = [
    "我的退款什么时候到账",
    "快递几天能到",
    "优惠券用不了",
    "where is my parcel",
    "which size should I get",
    "forgot password",
    "今天天气怎么样",
    "",
]


def _reviews(n: int, lang: str, seed: int) -> tuple[list[str], np.ndarray]:
    """Simulated reviews rated 1, 2 (negative) or 4, 5 (positive)."""
    rng = np.random.default_rng(seed)
    ratings = rng.choice([1, 2, 4, 5], n)
    return review_texts(rng, ratings, np.full(n, lang)), (ratings >= 4).astype(int)


def _sentiment_data() -> Data:
    """120 Chinese and 80 English reviews: enough for both languages' own models."""
    zh, y_zh = _reviews(120, "zh", 1)
    en, y_en = _reviews(80, "en", 2)
    new = _reviews(20, "zh", 3)[0] + _reviews(20, "en", 4)[0]
    texts = [*new, "质量很好 nice and solid", "质量太差 really terrible", "", "👍👍"]
    return Data((zh + en, np.r_[y_zh, y_en]), extra={"texts": texts})


def _sentiment_predict(m: Any, d: Data) -> dict[str, Any]:
    return {"proba": m.predict_proba(d.extra["texts"]), "label": m.predict(d.extra["texts"])}


def _intent_data() -> Data:
    ex = default_intent_examples()
    return Data((ex["text"].tolist(), ex["intent"].tolist()), extra={"texts": QUESTIONS})


def _faq_data() -> Data:
    return Data((read_faq(default_faq_path()),), extra={"texts": QUESTIONS})


def _faq_predict(m: Any, d: Data) -> np.ndarray:
    return np.vstack([m.scores(q, intent="refund") for q in d.extra["texts"]])


def _topic_data() -> Data:
    """Reviews about delivery or about sizes, in turn."""
    rng = np.random.default_rng(0)
    delivery = ["物流太慢了等了一周", "快递很慢，发货延迟", "物流速度慢，快递员态度差"]
    fit = ["尺码偏小穿着紧", "尺码标准很合身", "尺码偏大，版型一般"]
    texts = [str(rng.choice(delivery if i % 2 else fit)) for i in range(60)]
    return Data((texts,), extra={"texts": ["物流太慢", "尺码偏小", "快递很快，尺码合适"]})


CASES: list[Case] = [
    Case(
        "sentiment",
        lambda: SentimentModel(min_en_per_class=20, random_state=0),
        _sentiment_data,
        _sentiment_predict,
    ),
    Case(
        "intent_classifier",
        lambda: IntentClassifier(threshold=0.3),
        _intent_data,
        lambda m, d: m.predict_proba(d.extra["texts"]),
    ),
    Case("faq_index", lambda: FaqIndex(weight=0.5), _faq_data, _faq_predict),
    Case(
        "topics",
        lambda: TopicModel(n_topics=2, top_words=3, random_state=0),
        _topic_data,
        lambda m, d: m.transform(d.extra["texts"]),
    ),
]
