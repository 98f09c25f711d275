"""Language of each text: Chinese, English or mixed, from the scripts it is written in.

Reviews on Chinese shops mix scripts freely ("质量很好 nice", "iPhone 壳不错"), so the
decision is a share, not a flag: a Latin word carries about as much meaning as two Chinese
characters, so letters count a quarter each against CJK characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
# Below ZH_SHARE the text is mixed; below EN_SHARE it is English.
ZH_SHARE = 0.8
EN_SHARE = 0.2


def cjk_share(text: str) -> float:
    """CJK characters / (CJK characters + Latin letters / 4); NaN for text with neither."""
    cjk = len(CJK.findall(text))
    lat = len(LATIN.findall(text)) / 4
    return cjk / (cjk + lat) if cjk + lat else float("nan")


def detect(texts: Iterable[str]) -> np.ndarray:
    """Per text "zh", "en", "mixed", or "" (no letters at all: emoji, digits, empty)."""
    shares = np.array([cjk_share(t or "") for t in texts], dtype=float)
    out = np.full(len(shares), "", dtype=object)
    out[shares >= ZH_SHARE] = "zh"
    out[(shares > EN_SHARE) & (shares < ZH_SHARE)] = "mixed"
    out[shares <= EN_SHARE] = "en"
    return out.astype(str)
