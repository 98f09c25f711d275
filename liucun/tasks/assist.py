"""The service assistant: answer a customer's question from the shop's FAQ, or hand it over.

A question (Chinese or English) gets an intent from ``IntentClassifier`` and the best FAQ
entries from ``FaqIndex``; entries whose FAQ intent matches get a small boost. When the best
score is below ``threshold`` (or the question is empty) the assistant does not guess: it
says a person will follow up, in the question's language, and ``handover`` is true. With an
OpenAI-compatible endpoint configured (``[assist.llm]``, off by default) the reply is drafted
from the retrieved answers only; any endpoint failure falls back to the FAQ answer, so the
assistant never blocks on a model.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from liucun import config
from liucun.errors import LiucunError
from liucun.models.text.faq import FaqIndex, Hit, default_faq_path, read_faq
from liucun.models.text.intent import (
    OTHER,
    IntentClassifier,
    default_intent_examples,
    merge_examples,
    read_examples,
)
from liucun.models.text.lang import detect

HANDOVER = {
    "zh": "这个问题我暂时没法准确回答，已经帮您转给人工客服，请稍等，我们会尽快回复您。",
    "en": "I'm not sure I can answer that correctly, so I've passed your question to a member "
    "of our team. They'll get back to you shortly.",
}

SYSTEM_PROMPT = (
    "You are the customer-service assistant of an online shop. Answer the customer's "
    "question using only the FAQ answers you are given; never invent policies, amounts, "
    "dates, links or promises. If the FAQ answers do not answer the question, say that a "
    "member of staff will follow up. Reply in {language}, in plain text, in at most three "
    "short sentences."
)


def assistant_config(cfg: Mapping[str, Any] | None = None, root: str | Path | None = None) -> dict:
    """The ``[assist]`` section of liucun.toml over the defaults, checked so a typo fails at
    start-up rather than on a customer's question. Relative ``faq`` and ``examples`` paths
    are taken from ``root`` (the workspace) when given.

    The default ``threshold`` (0.25) was measured on 40 paraphrased questions and 16
    off-topic ones against the sample FAQ: 30 were answered with the right entry, 1 with a
    wrong one and no off-topic question was answered (the highest off-topic score was
    0.196); 0.2 answered 3 more right but 2 more wrong.
    """
    defaults = config.section("assist")
    section = (cfg or {}).get("assist") or {}
    if not isinstance(section, Mapping):
        raise LiucunError("[assist] in liucun.toml must be a table")
    unknown = sorted(set(section) - set(defaults))
    if unknown:
        raise LiucunError(f"assist.{unknown[0]} is not a setting; use {', '.join(defaults)}")
    llm_in = section.get("llm") or {}
    if not isinstance(llm_in, Mapping):
        raise LiucunError("[assist.llm] in liucun.toml must be a table")
    bad_llm = sorted(set(llm_in) - set(defaults["llm"]))
    if bad_llm:
        raise LiucunError(
            f"assist.llm.{bad_llm[0]} is not a setting; use {', '.join(defaults['llm'])}"
        )
    out = config.deep_merge(defaults, {**section, "llm": llm_in})

    for key in ("faq", "examples"):
        if not isinstance(out[key], str):
            raise LiucunError(f"assist.{key} must be a file path (a string), not {out[key]!r}")
        if out[key] and root is not None and not Path(out[key]).is_absolute():
            out[key] = str(Path(root) / out[key])
    intents = out["intents"]
    if (
        isinstance(intents, str)
        or not isinstance(intents, Sequence)
        or not intents
        or not all(isinstance(i, str) and i.strip() for i in intents)
    ):
        raise LiucunError(f"assist.intents must be a list of intent names, not {intents!r}")
    names = list(dict.fromkeys(i.strip().lower() for i in intents))
    if names == [OTHER]:
        raise LiucunError(f"assist.intents needs at least one intent besides {OTHER!r}")
    out["intents"] = names if OTHER in names else [*names, OTHER]
    out["threshold"] = _number(out["threshold"], "assist.threshold", 0.0, 1.0)
    k = out["k"]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise LiucunError(f"assist.k must be a whole number of answers ≥ 1, not {k!r}")
    llm = out["llm"]
    for key in ("base_url", "model", "api_key_env"):
        if not isinstance(llm[key], str):
            raise LiucunError(f"assist.llm.{key} must be a string, not {llm[key]!r}")
    llm["timeout_s"] = _number(llm["timeout_s"], "assist.llm.timeout_s", 0.0, None)
    if llm["base_url"] and not llm["model"]:
        raise LiucunError("assist.llm.base_url is set but assist.llm.model is empty")
    return out


def _number(v: Any, name: str, lo: float, hi: float | None) -> float:
    ok = isinstance(v, int | float) and not isinstance(v, bool)
    if not ok or v < lo or (hi is not None and v > hi) or (hi is None and v <= lo):
        span = f"between {lo:g} and {hi:g}" if hi is not None else f"above {lo:g}"
        raise LiucunError(f"{name} must be a number {span}, not {v!r}")
    return float(v)


def _stamp(path: str) -> tuple[str, int, int]:
    """Path, mtime and size, so a cache entry goes stale when the file is edited."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return str(p), 0, 0  # read_table raises the user-facing error
    return str(p), st.st_mtime_ns, st.st_size


@lru_cache(maxsize=8)
def _faq_index(stamp: tuple[str, int, int]) -> FaqIndex:
    return FaqIndex().fit(read_faq(stamp[0]))


@lru_cache(maxsize=8)
def _classifier(intents: tuple[str, ...], stamp: tuple[str, int, int] | None) -> IntentClassifier:
    """Seed examples plus the shop's, fitted once per process and settings (about a second
    with jieba's start-up), so a server answers later questions in milliseconds."""
    extra = read_examples(stamp[0]) if stamp else None
    ex = merge_examples(default_intent_examples(), extra)
    have = set(ex["intent"])
    missing = [i for i in intents if i != OTHER and i not in have]
    if missing:
        where = f"the examples file {stamp[0]}" if stamp else "an examples file (assist.examples)"
        raise LiucunError(
            f"assist.intents lists {missing[0]!r} but no example has that intent; "
            f"add some to {where}"
        )
    return IntentClassifier(intents=intents).fit(ex["text"].tolist(), ex["intent"].tolist())


class Assistant:
    """Answers one question at a time from a FAQ; built from ``assistant_config(...)``."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = dict(config) if config is not None else assistant_config({})
        faq = self.config["faq"] or str(default_faq_path())
        self.faq = _faq_index(_stamp(faq))
        ex = self.config["examples"]
        self.classifier = _classifier(tuple(self.config["intents"]), _stamp(ex) if ex else None)

    def answer(self, question: str) -> dict[str, Any]:
        """question, language, intent, intent_p, answers (top k: question, answer, score),
        handover, reply and source ("llm", "faq" or "handover"). ``intent_p`` is the model's
        probability of the reported intent, so a low value next to "other" means the
        classifier was unsure, not that the question is surely off-topic."""
        q = (question or "").strip()
        lang = str(detect([q])[0]) if q else ""
        out: dict[str, Any] = {
            "question": q,
            "language": lang,
            "intent": OTHER,
            "intent_p": 0.0,
            "answers": [],
            "handover": True,
            "reply": HANDOVER[_reply_language(q)],
            "source": "handover",
        }
        if not q:
            return out
        clf = self.classifier
        proba = clf.predict_proba([q])[0]
        intent = str(clf.predict([q])[0])
        hit = [i for i, c in enumerate(clf.classes_) if c == intent]
        hits = [h for h in self.faq.search(q, int(self.config["k"]), intent) if h.score > 0]
        out["intent"] = intent
        out["intent_p"] = round(float(proba[hit[0]]), 3) if hit else 0.0
        out["answers"] = [
            {"question": h.question, "answer": h.answer, "score": round(h.score, 3)} for h in hits
        ]
        threshold = float(self.config["threshold"])
        if not hits or hits[0].score < threshold:
            return out
        out.update(handover=False, reply=hits[0].answer, source="faq")
        llm = self.config["llm"]
        if llm.get("base_url"):
            try:
                good = [h for h in hits if h.score >= threshold]
                out.update(reply=_ask_llm(llm, q, _reply_language(q), good), source="llm")
            except Exception as e:  # network, HTTP, timeout or reply shape: keep the FAQ answer
                if isinstance(e, urllib.error.HTTPError):
                    e.close()  # it holds the response's socket
                warnings.warn(
                    f"LLM endpoint {llm['base_url']} failed ({type(e).__name__}: {e}); "
                    "replied with the FAQ answer instead",
                    stacklevel=2,
                )
        return out


def _reply_language(question: str) -> str:
    """zh when the question has any Chinese in it (mixed included), else en."""
    return "zh" if detect([question])[0] in ("zh", "mixed") else "en"


def _ask_llm(llm: Mapping[str, Any], question: str, lang: str, hits: list[Hit]) -> str:
    """One chat-completions call; raises on any HTTP, network or shape problem."""
    language = "Simplified Chinese" if lang == "zh" else "English"
    faq = "\n".join(f"{i}. Q: {h.question}\n   A: {h.answer}" for i, h in enumerate(hits, 1))
    payload = {
        "model": llm["model"],
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT.format(language=language)},
            {
                "role": "user",
                "content": f"Customer question: {question}\n\nFAQ answers:\n{faq}",
            },
        ],
        "temperature": 0.2,
    }
    headers = {"Content-Type": "application/json"}
    if key := os.environ.get(str(llm["api_key_env"])):
        headers["Authorization"] = f"Bearer {key}"
    url = str(llm["base_url"]).rstrip("/") + "/chat/completions"
    data = json.dumps(payload, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data, headers, method="POST")
    with urllib.request.urlopen(req, timeout=float(llm["timeout_s"])) as resp:
        content = json.loads(resp.read())["choices"][0]["message"]["content"]
    reply = re.sub(r"^```\w*\s*|\s*```$", "", str(content).strip()).strip()
    if not reply:
        raise ValueError("empty reply")
    return reply
