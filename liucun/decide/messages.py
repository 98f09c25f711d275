"""Draft the message each planned customer receives, in the customer's language.

A plan says *who* gets *which* action; a marketer still has to write the words. Templates
per action kind (fixed coupon, percent coupon, free shipping, recommendation push, generic),
the customer's recency (bought lately: thanks and a next pick; lapsing: we miss you; never
bought: welcome) and language (zh or en, per customer) are filled with the shop, the offer
and the recommended items, so every row of a plan can be sent or reviewed as is.

What the models said about the customer (churn reasons such as "no purchase for 40 days",
scores, segments) is internal: it never enters the subject, the body or an LLM prompt; it
is kept in the ``internal_reasons`` column for the marketer. Optionally an OpenAI-compatible
chat-completions endpoint writes the words instead; any failure falls back to the template,
so drafting never blocks a campaign. Control rows get nothing: they are held out to
measure the campaign.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from liucun import config
from liucun.config import deep_merge
from liucun.errors import LiucunError
from liucun.models.text.lang import CJK

LANGUAGES = ("zh", "en")
# Recency groups: "" when the draft knows nothing about the customer's orders.
RECENCY = ("recent", "lapsing", "new")
OUTPUT_COLUMNS = [
    "user_id", "action", "language", "subject", "body", "source", "recency", "items",
    "internal_reasons",
]  # fmt: skip


def _t(subject: str, body: str) -> dict[str, str]:
    return {"subject": subject, "body": body}


# Per template key and language. A key is the action kind, "kind@recency" (recent, lapsing,
# new) or, where a user adds one, "kind@segment" / "kind@segment@recency". Plain "kind" is
# for a customer whose orders are unknown. The settings around them are [plan.messages].
TEMPLATES: dict[str, dict[str, dict[str, str]]] = {
    "fixed": {
        "zh": _t("{shop}送您一张{discount}优惠券",
                 "{greeting}送您一张{discount}优惠券，下次下单直接抵扣。{items}期待您常来逛逛～"),
        "en": _t("A coupon from {shop}: {discount} your next order",
                 "{greeting} Here's a coupon for {discount} your next order. {items}"
                 "Hope to see you soon!"),
    },
    "fixed@recent": {
        "zh": _t("感谢惠顾！{shop}送您一张{discount}优惠券",
                 "{greeting}送您一张{discount}优惠券，下次挑选时直接抵扣。{items}"),
        "en": _t("Thanks from {shop}: {discount} your next pick",
                 "{greeting} As a thank-you, here's {discount} your next order. {items}Enjoy!"),
    },
    "fixed@lapsing": {
        "zh": _t("好久不见！{shop}送您一张{discount}优惠券",
                 "{greeting}送您一张{discount}优惠券，下次下单直接抵扣。{items}期待您回来逛逛～"),
        "en": _t("We miss you at {shop}: {discount} your next order",
                 "{greeting} Here's a coupon for {discount} your next order. {items}"
                 "Hope to see you soon!"),
    },
    "fixed@new": {
        "zh": _t("欢迎光临{shop}！送您一张{discount}优惠券",
                 "{greeting}送您一张{discount}优惠券，首单直接抵扣。{items}祝您购物愉快！"),
        "en": _t("Welcome to {shop}: {discount} your first order",
                 "{greeting} Here's {discount} your first order. {items}Happy shopping!"),
    },
    "pct": {
        "zh": _t("{shop}送您一张{discount}券",
                 "{greeting}为您准备了一张{discount}券，挑喜欢的慢慢逛。{items}"),
        "en": _t("A treat from {shop}: {discount} your next order",
                 "{greeting} Enjoy {discount} your next order, on us. {items}See you soon!"),
    },
    "pct@recent": {
        "zh": _t("感谢惠顾！{shop}送您一张{discount}券",
                 "{greeting}为您准备了一张{discount}券，下次挑选更划算。{items}"),
        "en": _t("Thanks from {shop}: {discount} your next order",
                 "{greeting} Enjoy {discount} your next order, as a thank-you. {items}"),
    },
    "pct@lapsing": {
        "zh": _t("{shop}送您一张{discount}券，等您回来",
                 "{greeting}为您准备了一张{discount}券，挑喜欢的慢慢逛。{items}"),
        "en": _t("We miss you at {shop}: {discount} your next order",
                 "{greeting} Enjoy {discount} your next order, on us. {items}See you soon!"),
    },
    "pct@new": {
        "zh": _t("欢迎光临{shop}！首单{discount}",
                 "{greeting}为您准备了一张首单{discount}券。{items}祝您购物愉快！"),
        "en": _t("Welcome to {shop}: {discount} your first order",
                 "{greeting} Enjoy {discount} your first order. {items}Happy shopping!"),
    },
    "free_shipping": {
        "zh": _t("{shop}：您的下一单我们包邮",
                 "{greeting}您的下一单我们包邮，想买的放心下单。{items}"),
        "en": _t("Free shipping on your next order at {shop}",
                 "{greeting} Your next order ships free. {items}Happy shopping!"),
    },
    "free_shipping@recent": {
        "zh": _t("感谢惠顾！{shop}下一单为您包邮",
                 "{greeting}您的下一单我们包邮，想再添点什么都方便。{items}"),
        "en": _t("Thanks from {shop}: your next order ships free",
                 "{greeting} To say thanks, your next order ships free. {items}"),
    },
    "free_shipping@lapsing": {
        "zh": _t("想您啦！{shop}下一单为您包邮",
                 "{greeting}您的下一单我们包邮，想买的放心下单。{items}"),
        "en": _t("We miss you: free shipping at {shop}",
                 "{greeting} Your next order ships free. {items}Come back any time!"),
    },
    "free_shipping@new": {
        "zh": _t("欢迎光临{shop}！首单包邮",
                 "{greeting}您的第一单我们包邮，放心下单。{items}"),
        "en": _t("Welcome to {shop}: free shipping on your first order",
                 "{greeting} Your first order ships free. {items}Happy shopping!"),
    },
    "reco_push": {
        "zh": _t("{shop}为您挑了几件好物",
                 "{greeting}{items}有空来看看，说不定有您喜欢的～"),
        "en": _t("Picked for you at {shop}",
                 "{greeting} {items}Take a look when you have a moment."),
    },
    "reco_push@recent": {
        "zh": _t("{shop}为您挑好了下一件",
                 "{greeting}{items}下次想添置时来看看～"),
        "en": _t("Your next pick from {shop}",
                 "{greeting} {items}Something for next time, whenever you're ready."),
    },
    "reco_push@lapsing": {
        "zh": _t("好久不见！{shop}为您挑了几件好物",
                 "{greeting}{items}有空来看看，说不定有您喜欢的～"),
        "en": _t("We miss you at {shop}: picked for you",
                 "{greeting} {items}Take a look when you have a moment."),
    },
    "reco_push@new": {
        "zh": _t("欢迎光临{shop}！为您挑了几件好物",
                 "{greeting}{items}随便逛逛，总有您喜欢的～"),
        "en": _t("Welcome to {shop}: a few picks to start",
                 "{greeting} {items}Have a look around!"),
    },
    "generic": {
        "zh": _t("{shop}给您的问候", "{greeting}{items}欢迎随时来逛逛。"),
        "en": _t("News from {shop}", "{greeting} {items}We'd love to see you again soon."),
    },
    "generic@recent": {
        "zh": _t("{shop}感谢您的惠顾", "{greeting}{items}希望您喜欢，期待下次再见～"),
        "en": _t("Thank you from {shop}",
                 "{greeting} {items}We hope you love it, see you next time."),
    },
    "generic@lapsing": {
        "zh": _t("{shop}想您了", "{greeting}{items}欢迎随时回来逛逛，我们一直都在。"),
        "en": _t("We miss you at {shop}",
                 "{greeting} {items}Come back any time, we'd love to see you."),
    },
    "generic@new": {
        "zh": _t("欢迎光临{shop}", "{greeting}{items}随便逛逛，有问题随时找我们。"),
        "en": _t("Welcome to {shop}",
                 "{greeting} {items}Have a look around, we're glad you're here."),
    },
}  # fmt: skip
DEFAULT_MESSAGES_CONFIG: dict[str, Any] = deep_merge(
    config.section("plan.messages"), {"templates": TEMPLATES}
)

# The {greeting} of a template, by recency (and "" when the customer's orders are unknown).
GREETINGS = {
    "recent": {"zh": "感谢您最近的惠顾！", "en": "Thanks for your recent order!"},
    "lapsing": {"zh": "好久不见，想您啦！", "en": "We miss you!"},
    "new": {"zh": "欢迎来到{shop}！", "en": "Welcome to {shop}!"},
    "": {"zh": "您好！", "en": "Hi there!"},
}
_LINES = {  # the items sentence vanishes when the customer has no recommended items
    "items": {"zh": "为您挑了几件：{x}。", "en": "Picked for you: {x}. "},
    "sep": {"zh": "、", "en": ", "},
}
# Country codes and names a users `region` may hold; language settings match by prefix.
_ZH_PLACES = {"cn", "chn", "hk", "hkg", "tw", "twn", "mo", "mac", "china", "hong kong",
              "taiwan", "macau", "macao"}  # fmt: skip
_EN_PLACES = {"us", "usa", "gb", "gbr", "uk", "au", "aus", "nz", "nzl", "ie", "irl",
              "united states", "united kingdom", "australia", "new zealand", "ireland"}  # fmt: skip
_ZH_WORDS = {"chinese", "mandarin", "cantonese", "chs", "cht", "zho", "chi"}
_EN_WORDS = {"english", "eng"}


def messages_config(plan_cfg: Mapping[str, Any]) -> dict:
    """The [plan.messages] overrides on the defaults, plus the plan's action catalog, checked
    here so a bad template fails before a campaign runs rather than mid-draft."""
    cfg = deep_merge(DEFAULT_MESSAGES_CONFIG, plan_cfg.get("messages") or {})
    cfg.setdefault("actions", dict(plan_cfg.get("actions") or {}))
    _check_language(cfg["language"], "plan.messages.language")
    days = cfg.get("recent_days")
    if isinstance(days, bool) or not isinstance(days, int | float) or days < 0:
        raise LiucunError(f"plan.messages.recent_days is {days!r}; use a number of days >= 0")
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


def language_of(value: Any, place: bool = False) -> str | None:
    """ "zh" or "en" from a users setting ("zh-CN", "en_US", "English", "中文"), or from a
    region when ``place`` ("CN", "HK", "US", "华东"); None when it names neither."""
    s = _text(value).lower().replace("_", "-")
    if not s:
        return None
    if CJK.search(s):  # a setting or a region written in Chinese
        return "zh"
    if place:
        return "zh" if s in _ZH_PLACES else "en" if s in _EN_PLACES else None
    head = s.split("-")[0]
    if head == "zh" or s in _ZH_WORDS:
        return "zh"
    if head == "en" or s in _EN_WORDS:
        return "en"
    return None


def vote_language(users: Iterable[Any], langs: Iterable[Any]) -> pd.Series:
    """Each customer's language from the detected languages of their texts (in time order):
    the most frequent of zh and en, "mixed" counting as zh (whoever writes Chinese reads
    it), ties going to the latest text. Indexed by user_id."""
    df = pd.DataFrame({"user_id": list(users), "lang": list(langs)})
    df["lang"] = df["lang"].replace({"mixed": "zh"})
    df = df[df["lang"].isin(LANGUAGES)]
    if df.empty:
        return pd.Series(dtype=object, name="language")
    df["order"] = np.arange(len(df))
    g = df.groupby(["user_id", "lang"]).agg(n=("order", "size"), last=("order", "max"))
    g = g.reset_index().sort_values(["user_id", "n", "last"], ascending=[True, False, False])
    return g.drop_duplicates("user_id").set_index("user_id")["lang"].rename("language")


def recency_of(days: Any, recent_days: float) -> str:
    """ "recent" (ordered less than ``recent_days`` ago), "lapsing", or "new" (never)."""
    if days is None or pd.isna(days):
        return "new"
    return "recent" if float(days) < float(recent_days) else "lapsing"


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
    def __missing__(self, key: str) -> str:  # a typo (or {reasons}) renders empty
        return ""


def _items(value: Any) -> list[str]:
    if isinstance(value, str):
        return [s.strip() for s in value.split(";") if s.strip()]
    if value is None or not hasattr(value, "__iter__"):
        return []  # None, NaN, pd.NA: no items
    return [str(s).strip() for s in value if str(s).strip()]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if pd.api.types.is_list_like(value):  # reasons as a list
        return "; ".join(_items(value))
    return str(value).strip()


def _render(cfg: Mapping[str, Any], row: Mapping[str, Any]) -> tuple[dict[str, str], dict]:
    """Subject and body from the most specific template: segment and recency, segment,
    recency, the kind, then generic. The fields hold no model reasons (internal only)."""
    lang, action, rec = row["language"], str(row["action"]), row["recency"]
    params = (cfg.get("actions") or {}).get(action) or {}
    kind = action_kind(action, params)
    seg = _text(row.get("segment"))
    segs = list(dict.fromkeys([seg, re.sub(r"[^a-z0-9]+", "_", seg.lower())])) if seg else []
    keys = [f"{kind}@{s}@{rec}" for s in segs if rec] + [f"{kind}@{s}" for s in segs]
    keys += [f"{kind}@{rec}"] * bool(rec) + [kind] + [f"generic@{rec}"] * bool(rec)
    tpls = cfg["templates"]
    tpl = next(tpls[k][lang] for k in [*keys, "generic"] if lang in tpls.get(k, {}))
    items = _items(row.get("items"))[: int(cfg["max_items"])]
    shop = cfg["shop_name"]
    shop = "本店" if lang == "zh" and shop == DEFAULT_MESSAGES_CONFIG["shop_name"] else shop
    item_list = _LINES["sep"][lang].join(items)
    fields = _Blank(
        shop=shop,
        discount=_discount(params, kind, lang),
        segment=seg,
        recency=rec,
        greeting=GREETINGS[rec][lang].format(shop=shop),
        item_list=item_list,
        items=_LINES["items"][lang].format(x=item_list) if items else "",
    )
    out = {
        k: re.sub(r"[ \t]+", " ", tpl[k].format_map(fields)).strip() for k in ("subject", "body")
    }
    return out, fields


_ABOUT = {  # what the LLM is told about the customer: recency only, never model output
    "recent": "ordered recently: thank them and suggest a next pick",
    "lapsing": "has not ordered for a while: say the shop misses them",
    "new": "has never ordered: welcome them",
    "": "unknown order history: a friendly hello",
}


def _ask_llm(llm: Mapping[str, Any], row: Mapping[str, Any], draft: dict, fields: dict) -> dict:
    """One chat-completions call; raises on any HTTP, network or shape problem. The prompt
    carries the offer, items, recency and template draft, never scores or churn reasons."""
    lang = "Simplified Chinese" if row["language"] == "zh" else "English"
    facts = {
        "shop": fields["shop"], "action": row["action"], "offer": fields["discount"],
        "customer": _ABOUT[row["recency"]], "recommended_items": fields["item_list"],
        "draft": draft,
    }  # fmt: skip
    payload = {
        "model": llm["model"],
        "messages": [
            {"role": "system", "content": "You write short, warm retention messages for an "
             "e-commerce shop. Never invent offers or items, and never mention scores, "
             "predictions or data about the customer. Reply with JSON only: "
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


def _rows(plan: pd.DataFrame, context: pd.DataFrame | None, cfg: Mapping) -> list[dict]:
    """The contacted plan rows joined to their context, each with its recency group."""
    rows = plan.loc[plan["action"] != "control"].drop(columns=["reason"], errors="ignore")
    rows = rows.drop(columns=[c for c in ("recency", "items", "reasons") if c in rows])
    known = pd.Series(False, index=rows.index)
    if context is not None and len(rows):
        keep = ["user_id", "reasons", "items", "segment", "language", "days_since_order"]
        keep += ["recency"]
        ctx = context[[c for c in keep if c in context]].drop_duplicates("user_id")
        ctx = ctx.rename(columns={"segment": "_segment", "language": "_language"})
        rows = rows.merge(ctx.assign(_ctx=True), on="user_id", how="left")
        known = rows.pop("_ctx").eq(True)
        for col in ("segment", "language"):
            if f"_{col}" in rows:
                base = rows[col] if col in rows else pd.Series(None, index=rows.index)
                rows[col] = base.where(base.notna() & (base != ""), rows.pop(f"_{col}"))
    recs = rows.to_dict("records")
    for r, k in zip(recs, known.to_numpy(), strict=True):
        rec = _text(r.get("recency"))
        if not rec and k and "days_since_order" in r:
            rec = recency_of(r["days_since_order"], cfg["recent_days"])
        if rec and rec not in RECENCY:
            raise LiucunError(f"recency for customer {r['user_id']} is {rec!r}")
        r["recency"] = rec
    return recs


def draft_messages(
    plan: pd.DataFrame,
    context: pd.DataFrame | None = None,
    cfg: Mapping | None = None,
    language: str | None = None,
) -> pd.DataFrame:
    """One drafted message per contacted customer (control rows skipped), from templates
    or, when ``llm.base_url`` is set, from the endpoint for the first ``max_customers``.

    ``context`` (per user_id, all optional): language, days_since_order (NaN: never
    ordered) or recency, segment, items (titles, best first), reasons (kept internal)."""
    cfg = messages_config({"messages": dict(cfg or {})})
    if language is not None:
        _check_language(language, "language")
    recs = _rows(plan, context, cfg)
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
    n_items = int(cfg["max_items"])
    return pd.DataFrame(
        [
            {
                "user_id": r["user_id"],
                "action": r["action"],
                "language": r["language"],
                **o,
                "recency": r["recency"],
                "items": "; ".join(_items(r.get("items"))[:n_items]),
                "internal_reasons": _text(r.get("reasons")),
            }
            for r, o in zip(recs, out, strict=True)
        ],
        columns=OUTPUT_COLUMNS,
    )
