"""Aspects of a review (quality, price, delivery, ...) and the sentiment of each.

A review is cut into clauses at punctuation and at contrast words ("但是", "就是", "but"),
because one review often praises one thing and complains about another ("质量很好，就是物流
太慢"). A clause mentions an aspect when it holds one of the aspect's cue words; the clause's
sentiment is the sentiment model's P(positive) for the clause alone. The lexicon is plain
data: ``[reviews.aspects]`` in liucun.toml adds cue words or whole aspects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

# Cue words per aspect, Chinese and English (English matched as lower-cased word starts).
ASPECTS: dict[str, tuple[str, ...]] = {
    "quality": (
        "质量", "品质", "做工", "材质", "质感", "用料", "耐用", "结实", "劣质", "次品", "瑕疵",
        "开线", "掉色", "起球", "坏了", "破损", "正品", "假货",
        "quality", "durable", "sturdy", "flimsy", "cheaply made", "broke", "broken",
        "defect", "fake", "genuine", "material", "stitching", "fell apart",
    ),
    "price": (
        "价格", "价钱", "性价比", "便宜", "贵", "划算", "实惠", "值得", "物有所值", "不值",
        "降价", "优惠", "价位",
        "price", "priced", "value", "worth", "cheap", "expensive", "overpriced", "bargain",
        "deal", "money",
    ),
    "delivery": (
        "物流", "快递", "发货", "送货", "配送", "到货", "送达", "运输", "速度快", "太慢",
        "很慢", "延迟", "迟迟", "几天才到", "顺丰", "包邮",
        "delivery", "delivered", "shipping", "shipped", "arrived", "arrival", "courier",
        "late", "delay", "delayed", "took weeks", "took forever", "tracking", "parcel",
    ),
    "service": (
        "客服", "服务", "态度", "售后", "回复", "卖家", "店家", "商家", "退款", "退货", "换货",
        "customer service", "service", "seller", "support", "refund", "return", "replied",
        "response", "helpful", "rude", "responsive",
    ),
    "packaging": (
        "包装", "盒子", "纸箱", "外包装", "包得", "包裹", "压坏", "漏了",
        "packaging", "package", "packaged", "box", "wrapped", "wrapping", "crushed",
    ),
    "size_fit": (
        "尺码", "尺寸", "大小", "码数", "偏大", "偏小", "合身", "版型", "太大", "太小", "长度",
        "size", "sizing", "fit", "fits", "fitted", "too small", "too big", "too large",
        "runs small", "runs large", "tight", "loose",
    ),
    "description": (
        "描述", "图片", "实物", "色差", "与描述", "和图片", "跟图片", "不符", "一致", "货不对板",
        "description", "described", "as pictured", "picture", "photo", "listing",
        "not as advertised", "as advertised", "color", "colour",
    ),
    "performance": (
        "效果", "功能", "电池", "续航", "屏幕", "音质", "味道", "口感", "新鲜", "舒服", "舒适",
        "好用", "难用", "性能", "信号", "充电", "气味",
        "works", "working", "performance", "battery", "screen", "sound", "taste", "tastes",
        "fresh", "comfortable", "comfort", "smell", "easy to use", "stopped working",
    ),
}  # fmt: skip

# Clause boundaries: punctuation, and contrast words that start a new clause.
_SPLIT = re.compile(
    r"[，。！？；;!?\n~～…]+|,|\.(?:\s|$)|(?=但是|但|就是|不过|可是|只是)"
    r"|\b(?=but\b|however\b|although\b|though\b|except\b)",
    re.IGNORECASE,
)


def clauses(text: str) -> list[str]:
    """The review cut at punctuation and contrast words; empty pieces dropped."""
    return [c.strip() for c in _SPLIT.split(text or "") if c and c.strip()]


class AspectLexicon:
    """Cue words per aspect, matched in one pass per clause (longest cue first)."""

    def __init__(self, extra: Mapping[str, Iterable[str]] | None = None) -> None:
        lex = {a: list(cues) for a, cues in ASPECTS.items()}
        for aspect, cues in (extra or {}).items():
            lex.setdefault(str(aspect), []).extend(str(c).lower() for c in cues)
        self.aspects: tuple[str, ...] = tuple(lex)
        cue_to_aspect: dict[str, str] = {}
        for aspect, cues in lex.items():
            for cue in cues:
                cue_to_aspect.setdefault(cue.lower(), aspect)
        self._aspect = cue_to_aspect
        alts = []
        for cue in sorted(cue_to_aspect, key=len, reverse=True):
            esc = re.escape(cue)
            alts.append(rf"\b{esc}" if cue[:1].isascii() and cue[:1].isalpha() else esc)
        self._pattern = re.compile("|".join(alts))

    def find(self, clause: str) -> list[str]:
        """Aspects the clause mentions, in order of first mention, each once."""
        seen: dict[str, None] = {}
        for m in self._pattern.finditer(clause.lower()):
            seen.setdefault(self._aspect[m.group(0)], None)
        return list(seen)


def aspect_mentions(
    texts: Sequence[str],
    score: Callable[[Sequence[str]], np.ndarray],
    lexicon: AspectLexicon | None = None,
) -> pd.DataFrame:
    """One row per (text, aspect) mention: ``doc`` (position in ``texts``), ``aspect``,
    ``p_positive`` (the mentioning clause's sentiment; the mean if several clauses).

    ``score`` maps clauses to P(positive); it is called once, on all mentioning clauses.
    """
    lex = lexicon or AspectLexicon()
    docs: list[int] = []
    aspects: list[str] = []
    pieces: list[str] = []
    for i, text in enumerate(texts):
        for clause in clauses(text):
            for aspect in lex.find(clause):
                docs.append(i)
                aspects.append(aspect)
                pieces.append(clause)
    if not pieces:
        return pd.DataFrame({"doc": pd.Series(dtype="int64"), "aspect": pd.Series(dtype=str),
                             "p_positive": pd.Series(dtype="float64")})  # fmt: skip
    p = np.asarray(score(pieces), dtype=float)
    out = pd.DataFrame({"doc": docs, "aspect": aspects, "p_positive": p})
    return out.groupby(["doc", "aspect"], as_index=False, sort=True)["p_positive"].mean()
