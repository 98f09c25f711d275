"""The service assistant: config, answers from the FAQ, handover, and the LLM endpoint
(against a local fake OpenAI-compatible server) with its fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_llm import FakeLLM

from liucun.config import defaults
from liucun.errors import LiucunError
from liucun.models.text.faq import default_faq_path
from liucun.tasks.assist import HANDOVER, Assistant, assistant_config

KEYS = {"question", "language", "intent", "intent_p", "answers", "handover", "reply", "source"}


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    return Assistant(assistant_config(defaults()))


def faq_answer(question: str) -> str:
    import pandas as pd

    faq = pd.read_csv(default_faq_path())
    return str(faq.loc[faq["question"] == question, "answer"].iloc[0])


# --- config -------------------------------------------------------------------------------


def test_config_defaults_and_overrides(tmp_path: Path) -> None:
    cfg = assistant_config(defaults())
    assert cfg["threshold"] == 0.25 and cfg["k"] == 3 and cfg["faq"] == ""
    assert cfg["intents"] == ["refund", "delivery", "coupon", "size", "account", "other"]
    assert cfg["llm"]["base_url"] == "" and cfg["llm"]["api_key_env"] == "LIUCUN_LLM_API_KEY"
    over = {
        "assist": {
            "faq": "faq.jsonl",
            "intents": ["Refund", "payment"],
            "k": 5,
            "threshold": 0.4,
            "llm": {"base_url": "http://x/v1", "model": "m", "timeout_s": 3},
        }
    }
    cfg = assistant_config(over, root=tmp_path)
    assert cfg["faq"] == str(tmp_path / "faq.jsonl") and cfg["examples"] == ""
    assert cfg["intents"] == ["refund", "payment", "other"]
    assert (cfg["k"], cfg["threshold"], cfg["llm"]["timeout_s"]) == (5, 0.4, 3.0)
    assert cfg["llm"]["api_key_env"] == "LIUCUN_LLM_API_KEY"


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"treshold": 0.3}, r"assist\.treshold is not a setting"),
        ({"threshold": 1.5}, r"assist\.threshold must be a number between 0 and 1"),
        ({"threshold": "high"}, r"assist\.threshold"),
        ({"k": 0}, r"assist\.k must be"),
        ({"intents": "refund"}, r"assist\.intents must be a list"),
        ({"intents": ["other"]}, r"assist\.intents needs at least one intent besides"),
        ({"faq": 3}, r"assist\.faq must be a file path"),
        ({"llm": {"url": "x"}}, r"assist\.llm\.url is not a setting"),
        ({"llm": {"base_url": "http://x/v1"}}, r"assist\.llm\.model is empty"),
        ({"llm": {"timeout_s": 0}}, r"assist\.llm\.timeout_s must be a number above 0"),
    ],
)
def test_bad_config_raises(section: dict, match: str) -> None:
    with pytest.raises(LiucunError, match=match):
        assistant_config({"assist": section})


# --- answers ------------------------------------------------------------------------------


def test_answers_a_chinese_question_from_the_faq(assistant: Assistant) -> None:
    out = assistant.answer("我的退款什么时候到账？")
    assert set(out) == KEYS
    assert (out["language"], out["intent"], out["handover"], out["source"]) == (
        "zh",
        "refund",
        False,
        "faq",
    )
    assert 0.5 < out["intent_p"] <= 1
    assert out["answers"][0]["question"] == "退款多久能到账？"
    assert out["reply"] == faq_answer("退款多久能到账？") == out["answers"][0]["answer"]
    assert len(out["answers"]) == 3 and set(out["answers"][0]) == {"question", "answer", "score"}
    assert out["answers"][0]["score"] >= 0.25


@pytest.mark.parametrize(
    ("question", "intent", "faq_question"),
    [
        ("where is my parcel", "delivery", "Where is my order? How can I track it?"),
        ("优惠券用不了", "coupon", "优惠券为什么用不了？"),
        ("I forgot my password!", "account", "I forgot my password"),
    ],
)
def test_issue_examples(
    assistant: Assistant, question: str, intent: str, faq_question: str
) -> None:
    out = assistant.answer(question)
    assert (out["intent"], out["handover"]) == (intent, False)
    assert out["reply"] == faq_answer(faq_question)


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("今天天气怎么样", "zh"),
        ("what's the capital of France", "en"),
        ("推荐一部好看的电影", "zh"),
        ("who won the football match last night", "en"),
    ],
)
def test_unrelated_questions_hand_over_in_their_language(
    assistant: Assistant, question: str, lang: str
) -> None:
    out = assistant.answer(question)
    assert out["handover"] is True and out["source"] == "handover"
    assert out["reply"] == HANDOVER[lang]
    assert all(a["score"] < 0.25 for a in out["answers"])  # candidates for the person


@pytest.mark.parametrize("question", ["", "   ", None])
def test_empty_question_hands_over(assistant: Assistant, question: Any) -> None:
    out = assistant.answer(question)
    assert out["handover"] is True and out["answers"] == [] and out["reply"] == HANDOVER["en"]
    assert (out["question"], out["language"], out["intent"]) == ("", "", "other")


def test_threshold_decides_handover() -> None:
    strict = Assistant(assistant_config({"assist": {"threshold": 1.0, "k": 1}}))
    out = strict.answer("我的退款什么时候到账？")
    assert out["handover"] is True and len(out["answers"]) == 1
    assert out["reply"] == HANDOVER["zh"]


def test_own_faq_and_examples(tmp_path: Path) -> None:
    (tmp_path / "faq.jsonl").write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {"question": "支持哪些付款方式？", "answer": "微信和支付宝。", "intent": "payment"},
                {
                    "question": "Do you gift wrap?",
                    "answer": "Yes, for 2 dollars.",
                    "intent": "other",
                },
            ]
        ),
        encoding="utf-8",
    )
    (tmp_path / "ex.csv").write_text(
        "text,intent\n付款失败怎么办,payment\n可以用信用卡付款吗,payment\n支持微信支付吗,payment\n"
        "My payment failed,payment\nDo you accept PayPal?,payment\ncard declined,payment\n",
        encoding="utf-8",
    )
    cfg = {"assist": {"faq": "faq.jsonl", "examples": "ex.csv", "intents": ["payment"]}}
    out = Assistant(assistant_config(cfg, root=tmp_path)).answer("可以用支付宝付款吗")
    assert (out["intent"], out["reply"], out["handover"]) == ("payment", "微信和支付宝。", False)
    with pytest.raises(LiucunError, match=r"'returns' but no example has that intent.*ex\.csv"):
        Assistant(assistant_config({"assist": {**cfg["assist"], "intents": ["returns"]}}, tmp_path))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, r"FAQ file .*shop_faq\.csv not found"),
        ("q,a\nhi,there\n", r"FAQ file .*shop_faq\.csv lacks column\(s\) question, answer"),
    ],
)
def test_bad_faq_file_names_it(tmp_path: Path, content: str | None, match: str) -> None:
    if content is not None:
        (tmp_path / "shop_faq.csv").write_text(content, encoding="utf-8")
    cfg = assistant_config({"assist": {"faq": "shop_faq.csv"}}, root=tmp_path)
    with pytest.raises(LiucunError, match=match):
        Assistant(cfg)


# --- LLM mode against a local fake OpenAI-compatible server -------------------------------


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    f = FakeLLM("```\n退款审核通过后1-3个工作日原路退回。\n```")
    yield f
    f.close()


def llm_assistant(url: str) -> Assistant:
    llm = {"base_url": url, "model": "tiny", "timeout_s": 2}
    return Assistant(assistant_config({"assist": {"llm": llm}}))


def test_llm_drafts_the_reply(fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIUCUN_LLM_API_KEY", "sk-test")
    out = llm_assistant(fake.url).answer("我的退款什么时候到账？")
    assert (out["source"], out["handover"]) == ("llm", False)
    assert out["reply"] == "退款审核通过后1-3个工作日原路退回。"
    assert len(fake.requests) == 1 and fake.auth == ["Bearer sk-test"]
    req = fake.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["model"] == "tiny"
    system, user = req["messages"]
    assert system["role"] == "system" and "only the FAQ answers" in system["content"]
    assert "Simplified Chinese" in system["content"] and "follow up" in system["content"]
    assert "我的退款什么时候到账？" in user["content"]
    assert faq_answer("退款多久能到账？") in user["content"]


def test_llm_not_asked_when_handing_over(fake: FakeLLM) -> None:
    out = llm_assistant(fake.url).answer("what's the capital of France")
    assert out["source"] == "handover" and fake.requests == []


@pytest.mark.parametrize("server", [{"status": 500}, {"content": "   "}])
def test_llm_failure_falls_back_to_the_faq_answer(server: dict) -> None:
    f = FakeLLM(**server)
    try:
        with pytest.warns(UserWarning, match="127.0.0.1") as rec:
            out = llm_assistant(f.url).answer("where is my parcel")
    finally:
        f.close()
    assert len(rec) == 1 and len(f.requests) == 1
    assert (out["source"], out["handover"]) == ("faq", False)
    assert out["reply"] == faq_answer("Where is my order? How can I track it?")


def test_no_network_by_default(assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a: Any, **k: Any) -> None:
        raise AssertionError("network called")

    monkeypatch.setattr("urllib.request.urlopen", boom)
    assert assistant.answer("where is my parcel")["source"] == "faq"
