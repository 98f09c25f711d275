"""Draft the message each planned customer receives, in Chinese or English.

A plan says *who* gets *which* action; a marketer still has to write the words. Templates
per action kind (fixed coupon, percent coupon, free shipping, recommendation push, generic)
and segment are filled with the shop, the offer, the customer's churn reasons and
recommended items, so every row of a plan can be sent or reviewed as is. Optionally an
OpenAI-compatible chat-completions endpoint writes them instead; any failure falls back to
the template, so drafting never blocks a campaign. Control rows get nothing: they are held
out to measure the campaign.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from liucun import config
from liucun.config import deep_merge
from liucun.errors import LiucunError

LANGUAGES = ("zh", "en")
OUTPUT_COLUMNS = ["user_id", "action", "language", "subject", "body", "source"]


def _t(subject: str, body: str) -> dict[str, str]:
    return {"subject": subject, "body": body}


# Per action kind (and "kind@segment" where a user adds one) and language; the settings
# around them are [plan.messages] of liucun.toml.
TEMPLATES: dict[str, dict[str, dict[str, str]]] = {
    "fixed": {
        "zh": _t(
            "好久不见！{shop}送您一张{discount}优惠券",
            "好久不见！{reason_line}送您一张{discount}优惠券，下次下单直接抵扣。"
            "{items}期待您回来逛逛～",
        ),
        "en": _t(
            "A coupon from {shop}: {discount} your next order",
            "Hi there! {reason_line}Here's a coupon for {discount} your next order. "
            "{items}Hope to see you soon!",
        ),
    },
    "pct": {
        "zh": _t(
            "{shop}送您一张{discount}券，等您回来",
            "好久不见！{reason_line}为您准备了一张{discount}券，挑喜欢的慢慢逛。{items}",
        ),
        "en": _t(
            "A treat from {shop}: {discount} your next order",
            "Hi there! {reason_line}Enjoy {discount} your next order, on us. {items}See you soon!",
        ),
    },
    "free_shipping": {
        "zh": _t(
            "{shop}：您的下一单我们包邮",
            "想您啦！{reason_line}您的下一单我们包邮，想买的放心下单。{items}",
        ),
        "en": _t(
            "Free shipping on your next order at {shop}",
            "Hi there! {reason_line}Your next order ships free. {items}Happy shopping!",
        ),
    },
    "reco_push": {
        "zh": _t(
            "{shop}为您挑了几件好物",
            "好久不见！{reason_line}{items}有空来看看，说不定有您喜欢的～",
        ),
        "en": _t(
            "Picked for you at {shop}",
            "Hi there! {reason_line}{items}Take a look when you have a moment.",
        ),
    },
    "generic": {
        "zh": _t(
            "{shop}想您了",
            "好久不见！{reason_line}{items}欢迎随时回来逛逛，我们一直都在。",
        ),
        "en": _t(
            "We miss you at {shop}",
            "Hi there! {reason_line}{items}Come back any time, we'd love to see you.",
        ),
    },
}
DEFAULT_MESSAGES_CONFIG: dict[str, Any] = deep_merge(
    config.section("plan.messages"), {"templates": TEMPLATES}
)

_LINES = {  # sentences that vanish when the customer has no reasons / items
    "reason": {"zh": "注意到您最近{x}，特地来问候一下。", "en": "It's been a while ({x}). "},
    "items": {"zh": "为您挑了几件：{x}。", "en": "Picked for you: {x}. "},
    "sep": {"zh": "、", "en": ", "},
}


def messages_config(plan_cfg: Mapping[str, Any]) -> dict:
    """The [plan.messages] overrides on the defaults, plus the plan's action catalog, checked
    here so a bad template fails before a campaign runs rather than mid-draft."""
    cfg = deep_merge(DEFAULT_MESSAGES_CONFIG, plan_cfg.get("messages") or {})
    cfg.setdefault("actions", dict(plan_cfg.get("actions") or {}))
    _check_language(cfg["language"], "plan.messages.language")
    for key, langs in cfg["templates"].items():
        for lang, tpl in langs.items() if isinstance(langs, Mapping) else [("", langs)]:
            name = ".".join(x for x in ("plan.messages.templates", key, lang) if x)
            bad = [p for p in ("subject", "body") if not isinstance(tpl, Mapping) or p not in tpl]
            bad += [f"{p}={tpl[p]!r}" for p in ("subject", "body") if p not in bad
                    and not isinstance(tpl[p], str)]  # fmt: skip
            if bad:
                raise LiucunError(f"template {name} needs subject and body strings ({bad[0]})")
    return cfg


def _check_language(lang: Any, where: str) -> str:
    if lang not in LANGUAGES:
        raise LiucunError(f"{where} is {lang!r}; use one of {', '.join(LANGUAGES)}")
    return str(lang)


def action_kind(action: str, params: Mapping[str, Any] | None = None) -> str:
    """Which template family fits an action: named in the catalog, else guessed from it."""
    params = params or {}
    # The planner's catalog kind "message" (no discount) says nothing about the wording.
    if params.get("kind") and params["kind"] != "message":
        return str(params["kind"])
    name = action.lower()
    if "pct" in name or "percent" in name or params.get("discount_rate"):
        return "pct"
    if "ship" in name:
        return "free_shipping"
    if any(w in name for w in ("reco", "push", "recommend")):
        return "reco_push"
    return "fixed" if params.get("discount") or "fixed" in name else "generic"


def _discount(params: Mapping[str, Any], kind: str, lang: str) -> str:
    """The offer as words: "10.00 off" / "10% off", "10元" / "9折"."""
    rate, amount = float(params.get("discount_rate") or 0), float(params.get("discount") or 0)
    if kind == "pct" and rate:
        zh = f"{(1 - rate) * 10:.1f}".rstrip("0").rstrip(".") + "折"
        return zh if lang == "zh" else f"{rate * 100:g}% off"
    if amount:
        return f"{amount:g}元" if lang == "zh" else f"{amount:.2f} off"
    if lang == "zh":
        return "专属折扣" if kind == "pct" else "专属"
    return "a little extra off"


class _Blank(dict):
    def __missing__(self, key: str) -> str:  # a typo in a user template renders empty
        return ""


def _items(value: Any) -> list[str]:
    if isinstance(value, str):
        return [s.strip() for s in value.split(";") if s.strip()]
    if value is None or not hasattr(value, "__iter__"):
        return []  # None, NaN, pd.NA: no items
    return [str(s).strip() for s in value if str(s).strip()]


def _text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(value).strip()


def _render(cfg: Mapping[str, Any], row: Mapping[str, Any]) -> tuple[dict[str, str], dict]:
    """Subject and body from the segment's template (else the kind's, else generic)."""
    lang, action = row["language"], str(row["action"])
    params = (cfg.get("actions") or {}).get(action) or {}
    kind = action_kind(action, params)
    seg = _text(row.get("segment"))
    keys = [f"{kind}@{seg}", f"{kind}@{re.sub(r'[^a-z0-9]+', '_', seg.lower())}", kind, "generic"]
    tpls = cfg["templates"]
    tpl = next(tpls[k][lang] for k in keys if lang in tpls.get(k, {}) and (seg or "@" not in k))
    items = _items(row.get("items"))[: int(cfg["max_items"])]
    reasons = _text(row.get("reasons"))
    shop = cfg["shop_name"]
    item_list = _LINES["sep"][lang].join(items)
    fields = _Blank(
        shop="本店" if lang == "zh" and shop == DEFAULT_MESSAGES_CONFIG["shop_name"] else shop,
        discount=_discount(params, kind, lang),
        segment=seg,
        reasons=reasons,
        item_list=item_list,
        reason_line=_LINES["reason"][lang].format(x=reasons) if reasons else "",
        items=_LINES["items"][lang].format(x=item_list) if items else "",
    )
    out = {
        k: re.sub(r"[ \t]+", " ", tpl[k].format_map(fields)).strip() for k in ("subject", "body")
    }
    return out, fields


def _ask_llm(llm: Mapping[str, Any], row: Mapping[str, Any], draft: dict, fields: dict) -> dict:
    """One chat-completions call; raises on any HTTP, network or shape problem."""
    lang = "Simplified Chinese" if row["language"] == "zh" else "English"
    facts = {
        "shop": fields["shop"], "action": row["action"], "offer": fields["discount"],
        "segment": fields["segment"], "churn_reasons": fields["reasons"],
        "recommended_items": fields["item_list"], "draft": draft,
    }  # fmt: skip
    payload = {
        "model": llm["model"],
        "messages": [
            {"role": "system", "content": "You write short, warm retention messages for an "
             "e-commerce shop. Never invent offers or items. Reply with JSON only: "
             '{"subject": "...", "body": "..."}'},
            {"role": "user", "content": f"Write the message in {lang} for this customer:\n"
             + json.dumps(facts, ensure_ascii=False)},
        ],
        "temperature": 0.7,
    }  # fmt: skip
    headers = {"Content-Type": "application/json"}
    if key := os.environ.get(str(llm["api_key_env"])):
        headers["Authorization"] = f"Bearer {key}"
    url = str(llm["base_url"]).rstrip("/") + "/chat/completions"
    req = urllib.request.Request(url, json.dumps(payload).encode(), headers, method="POST")
    with urllib.request.urlopen(req, timeout=float(llm["timeout_s"])) as resp:
        content = json.loads(resp.read())["choices"][0]["message"]["content"].strip()
    content = re.sub(r"^```(?:json)?\s*|\s*```$", "", content)
    try:
        out = json.loads(content)
        return {"subject": str(out["subject"]).strip(), "body": str(out["body"]).strip()}
    except (ValueError, KeyError, TypeError):
        subject, _, body = content.partition("\n")
        if not subject.strip():
            raise ValueError("empty reply") from None
        return {"subject": subject.strip(), "body": body.strip()}


def draft_messages(
    plan: pd.DataFrame,
    context: pd.DataFrame | None = None,
    cfg: Mapping | None = None,
    language: str | None = None,
) -> pd.DataFrame:
    """One drafted message per contacted customer (control rows skipped), from templates
    or, when ``llm.base_url`` is set, from the endpoint for the first ``max_customers``."""
    cfg = messages_config({"messages": dict(cfg or {})})
    if language is not None:
        _check_language(language, "language")
    rows = plan.loc[plan["action"] != "control"].drop(columns=["reason"], errors="ignore")
    if context is not None and len(rows):
        keep = [c for c in ("user_id", "reasons", "items", "segment", "language") if c in context]
        ctx = context[keep].drop_duplicates("user_id").rename(columns={"segment": "_segment"})
        rows = rows.merge(ctx, on="user_id", how="left")
        if "_segment" in rows:
            base = rows["segment"] if "segment" in rows else pd.Series(None, index=rows.index)
            rows["segment"] = base.where(base.notna() & (base != ""), rows.pop("_segment"))
    recs = rows.to_dict("records")
    for r in recs:
        lang = language or _text(r.get("language")) or cfg["language"]
        r["language"] = _check_language(lang, f"language for customer {r['user_id']}")
    drafts = [_render(cfg, r) for r in recs]
    out = [{**d, "source": "template"} for d, _ in drafts]
    llm = cfg["llm"]
    n_llm = min(len(recs), int(llm["max_customers"])) if llm.get("base_url") else 0
    errors: list[Exception] = []

    def ask(i: int) -> None:
        try:
            out[i] = {**_ask_llm(llm, recs[i], *drafts[i]), "source": "llm"}
        except Exception as e:  # network, HTTP, timeout or reply shape: keep the template
            if isinstance(e, urllib.error.HTTPError):
                e.close()  # it holds the response's socket
            errors.append(e)

    if n_llm:
        ask(0)  # probe: a dead endpoint costs one timeout, not one per customer
        if not errors:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(ask, range(1, n_llm)))
    if errors:
        warnings.warn(
            f"LLM endpoint {llm['base_url']} failed for {len(errors)} customer(s) "
            f"({type(errors[0]).__name__}: {errors[0]}); used templates instead",
            stacklevel=2,
        )
    return pd.DataFrame(
        [
            {"user_id": r["user_id"], "action": r["action"], "language": r["language"], **o}
            for r, o in zip(recs, out, strict=True)
        ],
        columns=OUTPUT_COLUMNS,
    )
