"""Drafted campaign messages: templates in zh/en, context filling, and the LLM endpoint
(against a local fake OpenAI-compatible server) with its fallbacks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fake_llm import FakeLLM

from liucun.config import defaults
from liucun.decide.messages import (
    DEFAULT_MESSAGES_CONFIG,
    GREETINGS,
    LANGUAGES,
    RECENCY,
    TEMPLATES,
    action_kind,
    draft_messages,
    language_of,
    messages_config,
    recency_of,
    vote_language,
)
from liucun.errors import LiucunError

SIM_ACTIONS = ["coupon_fixed", "coupon_pct", "free_shipping", "reco_push"]
REASONS = "no order for 120 days; orders fell by half"


def make_plan(actions: list[str], segment: str | None = None) -> pd.DataFrame:
    n = len(actions)
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "action": actions,
            "expected_uplift": [1.0] * n,
            "cost": [0.05] * n,
            "expected_cost": [0.5] * n,
            "p_churn": [0.7] * n,
            "segment": [segment] * n,
            "reason": ["x"] * n,
        }
    )


def make_context(plan: pd.DataFrame, **extra: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": plan["user_id"],
            "reasons": REASONS,
            "items": [["Green Tea", "Clay Mug", "Bamboo Tray", "Fourth Item"]] * len(plan),
            **extra,
        }
    )


# Fragments of what churn models say about a customer; none may reach the customer.
REASON_FRAGMENTS = re.compile(
    r"×|no (?:purchase|order)s? for|p_churn|BG/NBD|orders fell|current gap|\d+(?:\.\d+)? ?days?\b"
    r"|\d+ ?天"
)
LAPSING = re.compile(r"been a while|miss you|好久不见|想您")


def assert_no_reasons(text: str) -> None:
    assert not REASON_FRAGMENTS.search(text), text


@pytest.fixture
def cfg() -> dict:
    return messages_config(defaults()["plan"])


def test_config_merges_overrides_and_carries_catalog() -> None:
    plan_cfg = {
        "actions": {"coupon_fixed": {"discount": 5.0}},
        "messages": {"shop_name": "Tea House", "llm": {"model": "m"}},
    }
    cfg = messages_config(plan_cfg)
    assert cfg["shop_name"] == "Tea House"
    assert cfg["llm"]["model"] == "m"
    assert cfg["llm"]["api_key_env"] == DEFAULT_MESSAGES_CONFIG["llm"]["api_key_env"]
    assert cfg["actions"]["coupon_fixed"]["discount"] == 5.0
    assert set(cfg["templates"]) >= {"fixed", "pct", "free_shipping", "reco_push", "generic"}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_templates_render_for_each_sim_action(cfg: dict, language: str) -> None:
    plan = make_plan(SIM_ACTIONS)
    out = draft_messages(plan, make_context(plan), cfg, language=language)
    assert list(out.columns) == [
        "user_id", "action", "language", "subject", "body", "source", "recency", "items",
        "internal_reasons",
    ]  # fmt: skip
    assert list(out["action"]) == SIM_ACTIONS
    assert (out["language"] == language).all() and (out["source"] == "template").all()
    for r in out.itertuples():
        assert r.subject and r.body and "{" not in r.subject + r.body
        assert "Green Tea" in r.body and "Bamboo Tray" in r.body
        assert "Fourth Item" not in r.body  # max_items = 3
        assert r.items == "Green Tea; Clay Mug; Bamboo Tray"
        # The model's reasons are the marketer's, never the customer's.
        assert r.internal_reasons == REASONS
        assert_no_reasons(r.subject + " " + r.body)
    body = dict(zip(out["action"], out["body"], strict=True))
    if language == "en":
        assert "10.00 off" in body["coupon_fixed"] and "10% off" in body["coupon_pct"]
        assert "ships free" in body["free_shipping"]
    else:
        assert "10元" in body["coupon_fixed"] and "9折" in body["coupon_pct"]
        assert "包邮" in body["free_shipping"] and "、" in body["reco_push"]


def test_no_context_still_renders_without_reason_or_items(cfg: dict) -> None:
    out = draft_messages(make_plan(SIM_ACTIONS), None, cfg)
    assert len(out) == 4 and out["body"].str.len().gt(0).all()
    assert not out["body"].str.contains("Picked for you|It's been a while").any()
    assert not out["body"].str.contains("  ").any()


def test_control_rows_skipped_and_unknown_action_generic(cfg: dict) -> None:
    plan = make_plan(["control", "coupon_fixed", "mystery_box", "control"])
    out = draft_messages(plan, make_context(plan), cfg, language="en")
    assert list(out["user_id"]) == ["u1", "u2"]
    generic = DEFAULT_MESSAGES_CONFIG["templates"]["generic"]["en"]["subject"]
    assert out.loc[out["action"] == "mystery_box", "subject"].item() == generic.format(
        shop="our shop"
    )
    assert draft_messages(make_plan(["control"]), None, cfg).empty


def test_action_kind_from_name_and_catalog() -> None:
    assert action_kind("coupon_fixed", {"discount": 10.0}) == "fixed"
    assert action_kind("coupon_pct") == "pct"
    assert action_kind("free_shipping", {"discount": 6.0}) == "free_shipping"
    assert action_kind("reco_push", {"discount": 0.0}) == "reco_push"
    assert action_kind("vip_call") == "generic"
    assert action_kind("vip_call", {"kind": "reco_push"}) == "reco_push"


def test_segment_variant_and_typo_tolerance(cfg: dict) -> None:
    over = {
        "templates": {
            "fixed@at_risk": {"en": {"subject": "Stay {nme}!", "body": "{discount} for you"}}
        }
    }
    cfg = messages_config({"actions": cfg["actions"], "messages": over})
    plan = make_plan(["coupon_fixed", "coupon_fixed"]).assign(segment=["At Risk", "x"])
    subjects, bodies = draft_messages(plan, None, cfg, language="en")[["subject", "body"]].T.values
    assert subjects[0] == "Stay !"  # an unknown field renders empty
    assert bodies[0] == "10.00 off for you"
    assert subjects[1].startswith("A coupon from")  # no variant: falls back to the kind


def test_language_precedence_and_validation(cfg: dict) -> None:
    plan = make_plan(["coupon_fixed", "coupon_pct", "reco_push"])
    ctx = make_context(plan, language=["zh", None, "en"])
    out = draft_messages(plan, ctx, {**cfg, "language": "en"})
    assert list(out["language"]) == ["zh", "en", "en"]
    assert "优惠券" in out["body"].iloc[0]
    out = draft_messages(plan, ctx, {**cfg, "language": "zh"})
    assert list(out["language"]) == ["zh", "zh", "en"]
    assert (draft_messages(plan, ctx, cfg, language="zh")["language"] == "zh").all()
    with pytest.raises(LiucunError, match="fr"):
        draft_messages(plan, None, cfg, language="fr")
    with pytest.raises(LiucunError, match="u1"):
        draft_messages(plan, make_context(plan, language=["en", "de", "en"]), cfg)
    with pytest.raises(LiucunError, match="language"):
        messages_config({"messages": {"language": "jp"}})


def test_every_kind_has_zh_and_en_for_every_greeting() -> None:
    for kind in ("fixed", "pct", "free_shipping", "reco_push", "generic"):
        for key in (kind, *(f"{kind}@{r}" for r in RECENCY)):
            assert set(TEMPLATES[key]) == set(LANGUAGES), key
    assert set(GREETINGS) == {*RECENCY, ""}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_greeting_follows_recency(cfg: dict, language: str) -> None:
    """Bought yesterday: thanked, never "it's been a while"; lapsing: missed; never: welcome."""
    actions = [*SIM_ACTIONS, "mystery_box"]
    plan = make_plan(actions * 3)
    days = [1.0] * 5 + [45.0] * 5 + [float("nan")] * 5
    out = draft_messages(plan, make_context(plan, days_since_order=days), cfg, language=language)
    assert list(out["recency"]) == ["recent"] * 5 + ["lapsing"] * 5 + ["new"] * 5
    text = out["subject"] + " " + out["body"]
    recent, lapsing, new = text[:5], text[5:10], text[10:]
    assert not recent.str.contains(LAPSING).any(), recent.tolist()
    assert not new.str.contains(LAPSING).any(), new.tolist()
    assert lapsing.str.contains(LAPSING).all(), lapsing.tolist()
    assert recent.str.contains("感谢" if language == "zh" else "Thank").all()
    assert new.str.contains("欢迎" if language == "zh" else "Welcome").all()
    for t in text:
        assert_no_reasons(t)
    # Without anything known about the customer: a neutral hello.
    neutral = draft_messages(make_plan(actions), None, cfg, language=language)
    assert (neutral["recency"] == "").all()
    assert not (neutral["subject"] + neutral["body"]).str.contains(LAPSING).any()


def test_recent_days_setting_and_recency_column(cfg: dict) -> None:
    assert recency_of(13.9, 14) == "recent" and recency_of(14, 14) == "lapsing"
    assert recency_of(float("nan"), 14) == "new" and recency_of(None, 14) == "new"
    plan = make_plan(["coupon_fixed", "coupon_fixed"])
    ctx = make_context(plan, days_since_order=[20.0, 20.0])
    assert set(draft_messages(plan, ctx, cfg)["recency"]) == {"lapsing"}
    wide = messages_config({"actions": cfg["actions"], "messages": {"recent_days": 30}})
    assert set(draft_messages(plan, ctx, wide)["recency"]) == {"recent"}
    # A given recency group wins over the days.
    ctx2 = ctx.assign(recency=["new", "recent"])
    assert list(draft_messages(plan, ctx2, cfg)["recency"]) == ["new", "recent"]
    with pytest.raises(LiucunError, match="recent_days"):
        messages_config({"messages": {"recent_days": -1}})
    with pytest.raises(LiucunError, match="u0"):
        draft_messages(plan, ctx.assign(recency=["soon", "new"]), cfg)


def test_user_template_cannot_leak_reasons(cfg: dict) -> None:
    tpl = {"subject": "Hi {reasons}", "body": "{reason_line}{greeting} {discount}"}
    over = {"templates": {"fixed": {"en": tpl}}}
    c = messages_config({"actions": cfg["actions"], "messages": over})
    plan = make_plan(["coupon_fixed"])
    out = draft_messages(plan, make_context(plan), c, language="en")
    assert out["subject"].item() == "Hi" and out["body"].item() == "Hi there! 10.00 off"
    assert out["internal_reasons"].item() == REASONS


def test_segment_and_recency_variant(cfg: dict) -> None:
    over = {
        "templates": {
            "fixed@vip@recent": {"en": {"subject": "VIP thanks", "body": "b"}},
            "fixed@vip": {"en": {"subject": "VIP {greeting}", "body": "b"}},
        }
    }
    c = messages_config({"actions": cfg["actions"], "messages": over})
    plan = make_plan(["coupon_fixed"] * 3, segment="VIP")
    ctx = make_context(plan, days_since_order=[1.0, 50.0, float("nan")])
    out = draft_messages(plan, ctx, c, language="en")
    assert list(out["subject"]) == ["VIP thanks", "VIP We miss you!", "VIP Welcome to our shop!"]


@pytest.mark.parametrize(
    ("value", "place", "expected"),
    [
        ("zh-CN", False, "zh"), ("zh_TW", False, "zh"), ("ZH", False, "zh"),
        ("Chinese", False, "zh"), ("简体中文", False, "zh"), ("en-US", False, "en"),
        ("english", False, "en"), ("fr-FR", False, None), ("", False, None),
        (None, False, None), ("CN", True, "zh"), ("us", True, "en"), ("华东", True, "zh"),
        ("east", True, None), ("ca", True, None), ("cn", False, None),
    ],
)  # fmt: skip
def test_language_of(value: object, place: bool, expected: str | None) -> None:
    assert language_of(value, place=place) == expected


def test_vote_language_majority_mixed_and_ties() -> None:
    users = ["a", "a", "a", "b", "b", "c", "d", "d"]
    langs = ["en", "zh", "en", "mixed", "en", "", "zh", "en"]
    got = vote_language(users, langs)
    # a: 2 en vs 1 zh; b: mixed counts as zh, 1-1 tie goes to the latest (en); c: nothing;
    # d: tie, latest en.
    assert got.to_dict() == {"a": "en", "b": "en", "d": "en"}
    assert vote_language(["x", "x"], ["en", "mixed"]).to_dict() == {"x": "zh"}
    assert vote_language([], []).empty


@pytest.mark.parametrize(
    "templates",
    [
        {"fixed": {"en": {"subject": 3, "body": "x"}}},
        {"fixed": {"zh": "just a string"}},
        {"mine": {"en": {"subject": "s"}}},
    ],
)
def test_bad_template_raises(templates: dict) -> None:
    with pytest.raises(LiucunError, match=r"plan\.messages\.templates\.(fixed|mine)"):
        messages_config({"messages": {"templates": templates}})


# --- LLM mode against a local fake OpenAI-compatible server -------------------------------


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    reply = {"subject": "来自模型的标题", "body": "模型写的正文"}
    f = FakeLLM(json.dumps(reply, ensure_ascii=False))
    yield f
    f.close()


def llm_cfg(cfg: dict, url: str, **llm: Any) -> dict:
    return {**cfg, "llm": {**cfg["llm"], "base_url": url, "model": "tiny", "timeout_s": 2, **llm}}


def test_llm_writes_messages(cfg: dict, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIUCUN_LLM_API_KEY", "sk-test")
    plan = make_plan(["coupon_fixed", "control", "reco_push"])
    ctx = make_context(plan, days_since_order=[2.0, 3.0, 90.0])
    out = draft_messages(plan, ctx, llm_cfg(cfg, fake.url), language="zh")
    assert (out["source"] == "llm").all()
    assert (out["subject"] == "来自模型的标题").all() and (out["body"] == "模型写的正文").all()
    assert len(fake.requests) == 2 and fake.auth == ["Bearer sk-test"] * 2
    req = fake.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["model"] == "tiny"
    assert [m["role"] for m in req["messages"]] == ["system", "user"]
    assert "Green Tea" in req["messages"][1]["content"]
    # The prompt carries recency, never the model's reasons or numbers about the customer.
    for m in req["messages"]:
        assert_no_reasons(m["content"])
        assert "churn" not in m["content"]
    assert "ordered recently" in fake.requests[0]["messages"][1]["content"]


def test_llm_plain_text_reply_and_no_key(cfg: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIUCUN_LLM_API_KEY", raising=False)
    f = FakeLLM("Come back!\nWe kept your cart warm.")
    try:
        out = draft_messages(make_plan(["coupon_pct"]), None, llm_cfg(cfg, f.url))
    finally:
        f.close()
    assert out[["subject", "body", "source"]].iloc[0].tolist() == [
        "Come back!",
        "We kept your cart warm.",
        "llm",
    ]
    assert f.auth == [None]


@pytest.mark.parametrize("server", [{"status": 500}, {"raw": b"<html>not json</html>"}])
def test_llm_failure_falls_back_with_one_warning(cfg: dict, server: dict) -> None:
    f = FakeLLM(**server)
    plan = make_plan(SIM_ACTIONS)
    try:
        with pytest.warns(UserWarning, match="127.0.0.1") as rec:
            out = draft_messages(plan, None, llm_cfg(cfg, f.url), language="en")
    finally:
        f.close()
    assert len(rec) == 1, [str(w.message) for w in rec]
    assert (out["source"] == "template").all()
    assert out.equals(draft_messages(plan, None, cfg, language="en"))


def test_unreachable_endpoint_falls_back(cfg: dict) -> None:
    f = FakeLLM()
    url = f.url
    f.close()  # nothing listens there any more
    with pytest.warns(UserWarning, match="URLError"):
        out = draft_messages(make_plan(["coupon_fixed"]), None, llm_cfg(cfg, url))
    assert out["source"].tolist() == ["template"]


def test_llm_max_customers(cfg: dict, fake: FakeLLM) -> None:
    plan = make_plan(["coupon_fixed"] * 7 + ["control"])
    out = draft_messages(plan, None, llm_cfg(cfg, fake.url, max_customers=3))
    assert len(fake.requests) == 3
    assert out["source"].tolist() == ["llm"] * 3 + ["template"] * 4


def test_no_network_by_default(cfg: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a: Any, **k: Any) -> None:
        raise AssertionError("network called")

    monkeypatch.setattr("urllib.request.urlopen", boom)
    out = draft_messages(make_plan(SIM_ACTIONS), None, cfg)
    assert (out["source"] == "template").all()
