"""Intent classification and FAQ retrieval for service questions, zh and en.

The held-out questions below are not in the seed examples or the sample FAQ: they measure
how the shipped models generalise to a customer's own words.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from liucun.errors import LiucunError
from liucun.models.text.faq import FaqIndex, bigrams, default_faq_path, read_faq
from liucun.models.text.intent import (
    DEFAULT_INTENTS,
    IntentClassifier,
    default_intent_examples,
    merge_examples,
    read_examples,
)
from liucun.models.text.lang import detect

HELD_OUT_INTENT = [
    ("钱怎么还没退回来", "refund"),
    ("退货流程是什么", "refund"),
    ("鞋子磨脚想退掉", "refund"),
    ("快递几天能到", "delivery"),
    ("我买的东西发货了没有", "delivery"),
    ("满200减30的券怎么不能用", "coupon"),
    ("优惠码在哪输入", "coupon"),
    ("我穿38码的鞋，这双买多大", "size"),
    ("这件T恤偏大吗", "size"),
    ("手机号换了怎么登录", "account"),
    ("密码忘了", "account"),
    ("I still haven't received my money back", "refund"),
    ("how do I send back a damaged item", "refund"),
    ("my package is late", "delivery"),
    ("has my parcel shipped yet", "delivery"),
    ("discount code not accepted at checkout", "coupon"),
    ("can I stack vouchers", "coupon"),
    ("which size fits a 32 inch waist", "size"),
    ("do these jeans run big", "size"),
    ("reset my login password", "account"),
    ("verification email never arrived", "account"),
]

# A customer's paraphrase -> the sample FAQ question it should retrieve first.
HELD_OUT_FAQ = [
    ("我的退款什么时候到账", "退款多久能到账？"),
    ("退款要几天才能收到", "退款多久能到账？"),
    ("退货怎么弄", "怎么申请退货退款？"),
    ("寄回去的运费谁付", "退货运费谁承担？"),
    ("几天之内可以退货", "收到后多少天内可以退换？"),
    ("下单后多久发货", "一般几天发货，多久能收到？"),
    ("怎么看快递到哪了", "我的快递到哪了？怎么查物流？"),
    ("优惠券用不了", "优惠券为什么用不了？"),
    ("买多大尺码合适", "尺码怎么选？"),
    ("密码忘记了怎么登录", "忘记密码怎么办？"),
    ("能开票吗", "可以开发票吗？"),
    ("where is my parcel", "Where is my order? How can I track it?"),
    ("when will I get my refund", "How long does a refund take?"),
    ("how do I send something back", "How do I return an item?"),
    ("how many days until my order arrives", "How long does delivery take?"),
    ("the promo code doesn't work", "Why isn't my coupon working?"),
    ("which size should I get", "How do I choose my size?"),
    ("forgot password", "I forgot my password"),
    ("do you take Apple Pay", "What payment methods do you accept?"),
    ("courier says delivered but nothing arrived", "My package says delivered but I didn't get it"),
]

UNRELATED = [
    "今天天气怎么样",
    "中国的首都是哪里",
    "帮我写一首诗",
    "what's the capital of France",
    "who is the president of the United States",
    "can you recommend a good restaurant",
]


@pytest.fixture(scope="module")
def clf() -> IntentClassifier:
    ex = default_intent_examples()
    return IntentClassifier().fit(ex["text"].tolist(), ex["intent"].tolist())


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex.from_file(default_faq_path())


# --- intents ---------------------------------------------------------------------------


def test_seed_examples_cover_every_intent_in_both_languages() -> None:
    ex = default_intent_examples()
    assert list(ex.columns) == ["text", "intent", "lang"]
    assert set(ex["intent"]) == set(DEFAULT_INTENTS)
    for intent, rows in ex.groupby("intent"):
        assert 25 <= len(rows) <= 70, intent
        assert (rows["lang"] == "zh").sum() >= 10 and (rows["lang"] == "en").sum() >= 10, intent
    assert not ex["text"].str.lower().duplicated().any()
    held = {t for t, _ in HELD_OUT_INTENT} | {q for q, _ in HELD_OUT_FAQ} | set(UNRELATED)
    assert not held & set(ex["text"]) - {"优惠券用不了", "我的退款什么时候到账"}


def test_held_out_questions_get_the_right_intent(clf: IntentClassifier) -> None:
    texts, truth = zip(*HELD_OUT_INTENT, strict=True)
    pred = clf.predict(list(texts))
    right = pred == np.array(truth)
    langs = detect(texts)
    misses = [(t, p) for t, p, r in zip(texts, pred, right, strict=True) if not r]
    assert right.mean() >= 0.8, misses  # measured 18/21
    for lang in ("zh", "en"):
        assert right[langs == lang].mean() >= 0.6, (lang, misses)


def test_proba_and_other_fallback(clf: IntentClassifier) -> None:
    p = clf.predict_proba(["我的退款什么时候到账？", "where is my parcel"])
    assert p.shape == (2, len(DEFAULT_INTENTS)) and np.allclose(p.sum(axis=1), 1)
    assert list(clf.classes_[p.argmax(axis=1)]) == ["refund", "delivery"]
    assert clf.predict(UNRELATED[:1]).tolist() == ["other"]
    unsure = IntentClassifier(threshold=1.01).fit(clf.texts_, clf.labels_)
    assert set(unsure.predict(["where is my parcel", "优惠券用不了"])) == {"other"}


def test_configured_intents_fold_the_rest_into_other() -> None:
    ex = default_intent_examples()
    small = IntentClassifier(intents=("refund", "delivery", "other"))
    small.fit(ex["text"].tolist(), ex["intent"].tolist())
    assert sorted(small.classes_) == ["delivery", "other", "refund"]
    assert small.predict(["优惠券用不了", "my coupon code is invalid"]).tolist() == ["other"] * 2
    with pytest.raises(ValueError, match="two intents"):
        IntentClassifier().fit(["a", "b"], ["refund", "refund"])


def test_user_examples_extend_and_override(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [{"text": t, "intent": "payment"} for t in (
        "付款失败怎么办", "可以用信用卡付款吗", "支持微信支付吗", "扣款了但订单没付款成功",
        "My payment failed", "Do you accept PayPal?", "card declined at checkout",
        "charged twice for one order",
    )]  # fmt: skip
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    mine = read_examples(path)
    assert set(mine["lang"]) == {"zh", "en"}  # detected when the file has no lang column
    ex = merge_examples(default_intent_examples(), mine)
    assert (ex.loc[ex["text"] == "My payment failed", "intent"] == "payment").all()
    assert ex["text"].str.lower().duplicated().sum() == 0
    clf = IntentClassifier(intents=(*DEFAULT_INTENTS, "payment"))
    clf.fit(ex["text"].tolist(), ex["intent"].tolist())
    assert (
        clf.predict(["我的付款一直失败", "my card payment failed again"]).tolist()
        == ["payment"] * 2
    )


def test_save_load_round_trip(clf: IntentClassifier, tmp_path: Path) -> None:
    clf.save(tmp_path / "intent.json")
    back = IntentClassifier.load(tmp_path / "intent.json")
    qs = [q for q, _ in HELD_OUT_INTENT]
    assert back.get_params() == {**clf.get_params(), "intents": list(clf.intents)}
    assert np.allclose(back.predict_proba(qs), clf.predict_proba(qs))
    (tmp_path / "x.json").write_text('{"model": "Other"}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a IntentClassifier"):
        IntentClassifier.load(tmp_path / "x.json")


# --- FAQ retrieval ----------------------------------------------------------------------


def test_sample_faq_is_bilingual_and_complete() -> None:
    faq = read_faq(default_faq_path())
    assert 25 <= len(faq) <= 40
    assert set(faq["lang"]) == {"zh", "en"}
    assert {"refund", "delivery", "coupon", "size", "account", "payment", "invoice"} <= set(
        faq["intent"]
    )


def test_every_faq_question_retrieves_itself(index: FaqIndex) -> None:
    for i, q in enumerate(index.faq["question"]):
        top = index.search(q, k=1)[0]
        assert top.index == i and 0.4 < top.score <= 1.0, (q, top)


def test_paraphrases_retrieve_the_right_entry(clf: IntentClassifier, index: FaqIndex) -> None:
    got = []
    for q, want in HELD_OUT_FAQ:
        hits = index.search(q, k=3, intent=str(clf.predict([q])[0]))
        assert len(hits) == 3 and all(0 <= h.score <= 1 for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        got.append(hits[0].question == want)
    misses = [q for (q, _), ok in zip(HELD_OUT_FAQ, got, strict=True) if not ok]
    assert np.mean(got) >= 0.75, misses  # measured 17/20
    for must in ("where is my parcel", "我的退款什么时候到账", "优惠券用不了"):
        assert must not in misses


def test_question_language_picks_the_faq_language(index: FaqIndex) -> None:
    zh = index.search("退款多久到账", k=5)
    en = index.search("how long is a refund", k=5)
    assert {index.faq.at[h.index, "lang"] for h in zh if h.score > 0} == {"zh"}
    assert {index.faq.at[h.index, "lang"] for h in en if h.score > 0} == {"en"}


def test_unrelated_questions_score_low(index: FaqIndex) -> None:
    for q in UNRELATED:
        assert index.search(q, k=1)[0].score < 0.25, q
    assert index.search("", k=1)[0].score == 0.0


def test_intent_boost_is_small_and_capped(index: FaqIndex) -> None:
    plain = index.scores("优惠券用不了")
    boosted = index.scores("优惠券用不了", intent="coupon")
    coupon = index.faq["intent"].to_numpy() == "coupon"
    zh = index.faq["lang"].to_numpy() == "zh"
    assert np.allclose(boosted[~coupon], plain[~coupon])
    assert np.allclose(boosted[coupon & zh], np.minimum(plain[coupon & zh] + 0.1, 1))
    assert np.allclose(index.scores("优惠券用不了", intent="other"), plain)


def test_faq_index_indexes_in_fit(index: FaqIndex) -> None:
    with pytest.raises(NotFittedError):
        FaqIndex().search("退款多久到账")
    fitted = FaqIndex(boost=0.2)
    assert fitted.fit(read_faq(default_faq_path())) is fitted
    assert fitted.get_params()["boost"] == 0.2 and len(fitted) == len(index)
    q = "优惠券用不了"
    np.testing.assert_array_equal(FaqIndex().fit(index.faq).scores(q), index.scores(q))


def test_bigrams_split_chinese_and_keep_words() -> None:
    assert bigrams("退款多久 refund") == ["退款", "款多", "多久", "refund"]
    assert bigrams("钱") == ["钱"]


# --- FAQ and example files --------------------------------------------------------------


def test_jsonl_faq(tmp_path: Path) -> None:
    path = tmp_path / "faq.jsonl"
    rows = [
        {"question": "多久发货", "answer": "48小时内发货"},
        {"question": "How long is delivery?", "answer": "3-5 days", "intent": "Delivery"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    idx = FaqIndex.from_file(path)
    assert idx.faq["lang"].tolist() == ["zh", "en"]
    assert idx.faq["intent"].tolist() == ["", "delivery"]
    assert idx.search("什么时候发货", k=1)[0].answer == "48小时内发货"


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("none.csv", None, "not found"),
        ("cols.csv", "q,answer\nhi,there\n", "lacks column.*question"),
        ("empty.csv", "question,answer\n", "no rows"),
        ("blank.csv", "question,answer\nhi,\n", "row 1 has an empty answer"),
        ("bad.jsonl", '{"question": "hi", "answer": "x"}\n{oops\n', "cannot be read"),
        ("list.jsonl", '["question", "answer"]\n', "cannot be read"),
        ("latin1.csv", "question,answer\ncaf\xe9,x\n".encode("latin-1"), "cannot be read"),
    ],
)
def test_bad_faq_file_names_the_file(
    tmp_path: Path, name: str, content: str | bytes | None, match: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(LiucunError, match=match) as e:
        read_faq(path)
    assert name in str(e.value) and "\n" not in str(e.value)


def test_bad_examples_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ex.csv"
    path.write_text("text,label\nhi,refund\n", encoding="utf-8")
    with pytest.raises(LiucunError, match=r"examples file .*ex\.csv lacks column\(s\) intent"):
        read_examples(path)
