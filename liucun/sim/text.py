"""Review texts whose sentiment follows the rating, in Chinese and English.

Real review text is what sentiment models and "negative review -> churn" features are
trained on, so the simulator writes texts with the structure of real ones rather than a
few fixed sentences. Each text is composed from parts:

* an opener ("五星好评！", "Absolutely love it!"),
* one to three aspect clauses - quality, logistics, price/value, packaging, service,
  match with the description, and the item category's own aspects (fit and fabric for
  apparel, battery and screen for electronics, taste and freshness for food ...),
* connectors ("而且", "就是", "but", "The only downside is that"),
* an optional closer (repurchase intent, recommendation).

Polarity follows the rating: 1-2 negative, 3 mixed, 4-5 positive; 1 and 5 use strong
adverbs, more clauses and more openers/closers than 2 and 4, while 4 and 2 sometimes carry
a caveat of the opposite sign ("就是包装有点简陋"). A late delivery always adds a clause
that complains about slow shipping (物流慢), whatever the rating. Chinese follows the
style of Taobao/JD reviews, English that of Amazon reviews. The phrase banks are data,
in :mod:`liucun.sim.data.phrases_zh` and :mod:`liucun.sim.data.phrases_en`.

Randomness comes only from the ``numpy.random.Generator`` passed in: a fixed block of
uniforms is drawn per review, so the texts are deterministic for a seed.
``POSITIVE_WORDS`` / ``NEGATIVE_WORDS`` (from :mod:`liucun.sim.data.lexicons`) are small
cue lexicons per language (negated forms such as "不满意" / "not worth" are listed as
negative) for lexicon scoring with leftmost-longest matching.
"""

from __future__ import annotations

import numpy as np

from liucun.sim.data import phrases_en as en
from liucun.sim.data import phrases_zh as zh
from liucun.sim.data.lexicons import NEGATIVE_WORDS, POSITIVE_WORDS

__all__ = ["CATEGORIES", "NEGATIVE_WORDS", "POSITIVE_WORDS", "review_texts"]

CATEGORIES: tuple[str, ...] = (
    "apparel",
    "beauty",
    "electronics",
    "home",
    "food",
    "sports",
    "books",
    "toys",
)

_Bank = dict[str, tuple[str, ...]]
_Adverbs = dict[tuple[str, bool], tuple[str, ...]]

# ---------------------------------------------------------------- composition

_LANG = {
    "zh": (zh.ADV, zh.OPENERS, zh.CLOSERS, zh.ASPECTS, zh.CATEGORY, zh.LATE, zh.MID),
    "en": (en.ADV, en.OPENERS, en.CLOSERS, en.ASPECTS, en.CATEGORY, en.LATE, en.MID),
}


def _add_soft(banks: dict[str, _Bank]) -> None:
    """Add "pos_soft"/"neg_soft": the templates an adverb softens, for caveats."""
    for bank in banks.values():
        for sign in ("pos", "neg"):
            soft = tuple(t for t in bank[sign] if "{a}" in t)
            bank[sign + "_soft"] = soft or bank[sign]


# In place, once at import: every bank of the data modules gains its soft templates.
for _banks in (zh.ASPECTS, zh.CATEGORY, en.ASPECTS, en.CATEGORY):
    _add_soft(_banks)

_GENERAL = ("quality", "logistics", "price", "packaging", "service", "match")
_GENERAL_NO_LOGISTICS = tuple(a for a in _GENERAL if a != "logistics")

# Per rating: polarity level (-2..2), P(opener), aspect-count weights for 1/2/3 clauses,
# P(closer), P(caveat of the opposite sign).
_PLAN = {
    5: (2, 0.85, (0.1, 0.5, 0.4), 0.7, 0.0),
    4: (1, 0.7, (0.5, 0.5, 0.0), 0.45, 0.3),
    3: (0, 0.75, (1.0, 0.0, 0.0), 0.4, 1.0),
    2: (-1, 0.7, (0.5, 0.5, 0.0), 0.45, 0.3),
    1: (-2, 0.85, (0.1, 0.5, 0.4), 0.7, 0.0),
}
_N_UNIFORMS = 32  # fixed draws per review; the longest text uses about 22


class _Draw:
    """Picks from sequences using a fixed row of uniforms."""

    __slots__ = ("i", "u")

    def __init__(self, u: list[float]) -> None:
        self.u = u
        self.i = 0

    def next(self) -> float:
        x = self.u[self.i]
        self.i += 1
        return x

    def pick(self, seq: tuple[str, ...] | list[str]) -> str:
        return seq[int(self.next() * len(seq))]

    def chance(self, p: float) -> bool:
        return self.next() < p


def _clause(
    d: _Draw, bank: _Bank, sign: str, strong: bool, adv: _Adverbs, soft: bool = False
) -> str:
    template = d.pick(bank[sign + "_soft" if soft else sign])
    a = d.pick(adv[(sign, strong)])
    return template.replace("{a}", a) if "{a}" in template else template


def _compose(
    d: _Draw,
    lang: str,
    rating: int,
    category: str | None,
    late: bool,
) -> str:
    adv, openers, closers, aspects, cat_banks, late_bank, mid = _LANG[lang]
    level, p_open, n_weights, p_close, p_caveat = _PLAN[rating]
    sign = "pos" if level > 0 else "neg"
    strong = abs(level) == 2
    pool = list(_GENERAL_NO_LOGISTICS if late else _GENERAL)
    cat_bank = cat_banks.get(category) if category is not None else None
    if cat_bank is not None:
        pool.append("cat")

    def bank_of(name: str) -> _Bank:
        return cat_bank if name == "cat" and cat_bank is not None else aspects[name]

    def take_aspect(prefer_cat: bool) -> str:
        if prefer_cat and "cat" in pool and d.chance(0.65):
            pool.remove("cat")
            return "cat"
        return pool.pop(int(d.next() * len(pool)))

    # (polarity sign of the clause: +1, 0, -1; text)
    clauses: list[tuple[int, str]] = []
    if level == 0:
        # Mixed: a mild good point against a mild bad point, or a neutral remark.
        if d.chance(0.75):
            good = _clause(d, bank_of(take_aspect(True)), "pos", False, adv, soft=True)
            bad = _clause(d, bank_of(take_aspect(False)), "neg", False, adv, soft=True)
            pair = [(1, good), (-1, bad)] if d.chance(0.6) else [(-1, bad), (1, good)]
            clauses.extend(pair)
        else:
            clauses.append((0, d.pick(mid)))
            if d.chance(0.5):
                clauses.append((1, _clause(d, bank_of(take_aspect(True)), "pos", False, adv)))
    else:
        x = d.next()
        n = 1 if x < n_weights[0] else (2 if x < n_weights[0] + n_weights[1] else 3)
        s = 1 if level > 0 else -1
        for k in range(n):
            clauses.append((s, _clause(d, bank_of(take_aspect(k == 0)), sign, strong, adv)))
        if d.chance(p_caveat) and pool:
            other = "neg" if level > 0 else "pos"
            caveat = _clause(d, bank_of(take_aspect(False)), other, False, adv, soft=True)
            clauses.append((-s, caveat))
    if late:
        late_text = d.pick(late_bank).replace("{a}", d.pick(adv[("neg", True)]))
        clauses.append((-1, late_text))

    opener = d.pick(openers[level]) if d.chance(p_open) else ""
    closer = d.pick(closers[level]) if d.chance(p_close) else ""
    if lang == "zh":
        return _join_zh(d, level, opener, clauses, closer)
    return _join_en(d, level, opener, clauses, closer)


def _connector(
    d: _Draw,
    prev: int,
    s: int,
    add: tuple[str, ...],
    to_bad: tuple[str, ...],
    to_good: tuple[str, ...],
) -> str:
    """Connector before a clause of sign ``s`` after one of sign ``prev``."""
    if s < 0 <= prev:
        return d.pick(to_bad)
    if s > 0 >= prev:
        return d.pick(to_good)
    return d.pick(add)


def _join_zh(d: _Draw, level: int, opener: str, clauses: list[tuple[int, str]], closer: str) -> str:
    parts: list[str] = []
    prev, last = 0, ""
    for k, (s, text) in enumerate(clauses):
        if k == 0:
            parts.append(text)
        else:
            conn = _connector(d, prev, s, zh.ADD, zh.TO_BAD, zh.TO_GOOD)
            if conn == last:
                conn = ""
            parts.append(conn + text)
            last = conn
        prev = s
    body = "，".join(parts)
    end = d.pick(zh.END[level] if level >= 0 else zh.END_NEG)
    out = body + end
    if opener:
        sep = "" if opener[-1] in "！。!~" else "，"
        out = opener + sep + out
    if closer:
        if out[-1] not in "！。!~…":
            out += "，"
        out += closer
        if closer[-1] not in "！。!~":
            out += "！" if level == 2 or level == -2 else "。"
    return out


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join_en(d: _Draw, level: int, opener: str, clauses: list[tuple[int, str]], closer: str) -> str:
    out = ""
    prev, last = 0, ""
    for k, (s, text) in enumerate(clauses):
        if k == 0:
            out = _sentence_start(text)
        else:
            conn = _connector(d, prev, s, en.ADD, en.TO_BAD, en.TO_GOOD)
            if conn == last:
                conn = ". "
            out += conn + (_sentence_start(text) if conn.endswith(". ") else text)
            last = conn
        prev = s
    out += d.pick(en.END[level] if level >= 0 else en.END_NEG)
    if opener:
        out = opener + " " + out
    if closer:
        out += " " + closer
    return out


def review_texts(
    rng: np.random.Generator,
    ratings: np.ndarray,
    langs: np.ndarray,
    categories: np.ndarray | None = None,
    late: np.ndarray | None = None,
) -> list[str]:
    """One review text per rating (1-5), in its language ("zh"/"en").

    ``categories`` (top-level category name or None per review) lets the text mention
    category aspects; ``late`` (bool per review) adds a slow-delivery complaint.
    """
    ratings_list = np.asarray(ratings).astype(np.int64).tolist()
    n = len(ratings_list)
    langs_list = [str(x) for x in np.asarray(langs, dtype=object).tolist()]
    if len(langs_list) != n:
        raise ValueError(f"langs has {len(langs_list)} entries for {n} ratings")
    cats: list[str | None]
    if categories is None:
        cats = [None] * n
    else:
        cats = [None if c is None else str(c) for c in np.asarray(categories, dtype=object)]
        if len(cats) != n:
            raise ValueError(f"categories has {len(cats)} entries for {n} ratings")
    late_list: list[bool]
    if late is None:
        late_list = [False] * n
    else:
        late_list = np.asarray(late, dtype=bool).tolist()
        if len(late_list) != n:
            raise ValueError(f"late has {len(late_list)} entries for {n} ratings")
    bad_rating = sorted({r for r in ratings_list if r not in _PLAN})
    if bad_rating:
        raise ValueError(f"ratings must be 1-5, got {bad_rating[:5]}")
    bad_lang = sorted({x for x in langs_list if x not in _LANG})
    if bad_lang:
        raise ValueError(f"langs must be 'zh' or 'en', got {bad_lang[:5]}")
    uniforms = rng.random((n, _N_UNIFORMS)).tolist()
    return [
        _compose(_Draw(uniforms[i]), langs_list[i], ratings_list[i], cats[i], late_list[i])
        for i in range(n)
    ]
