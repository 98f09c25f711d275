"""Answer retrieval over a shop's FAQ, for Chinese and English questions.

Two signals, each in [0, 1], are mixed so that one threshold means the same thing on any FAQ:

* BM25 over ``words()`` tokens (jieba for Chinese), divided by the score the question would
  get against itself as a document, so an FAQ question with the same words scores 1 and one
  sharing only a filler word scores near 0. Question words the FAQ never uses count at the
  highest IDF: "what's the capital of France" is mostly unknown words, so it scores low.
* cosine over character bigrams (IDF-weighted, unknown bigrams kept in the question's
  norm), because Chinese paraphrases often share characters but not jieba words
  ("退款多久到账" vs "钱什么时候退回来" segment differently; "到账"/"退款" bigrams survive).

Questions are matched against FAQ entries in their own language when the FAQ has any, so an
English question gets the English answer of a bilingual FAQ.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, Self

import numpy as np
import pandas as pd
from scipy import sparse

from liucun.errors import LiucunError
from liucun.models.base import Estimator
from liucun.models.text.lang import detect
from liucun.models.text.tokens import WORD, words

FAQ_COLUMNS = ("question", "answer", "intent", "lang")


class Hit(NamedTuple):
    """One retrieved FAQ entry: its row in the FAQ file (0-based, header excluded)."""

    index: int
    question: str
    answer: str
    score: float


def read_table(
    path: str | Path, required: Sequence[str], optional: Sequence[str] = (), what: str = "file"
) -> pd.DataFrame:
    """A CSV (any extension but .jsonl/.ndjson/.json) or JSON-lines file (or a .json array)
    as strings, with the ``required`` columns non-blank and ``optional`` ones filled with "".
    Every problem is a one-line LiucunError naming the file, so a shop can fix its own FAQ."""
    path = Path(path)
    if not path.is_file():
        raise LiucunError(f"{what} file {path} not found")
    try:
        if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            text = path.read_text(encoding="utf-8-sig")
            if text.lstrip().startswith("["):  # a .json array of objects
                recs = json.loads(text)
            else:
                recs = [json.loads(line) for line in text.splitlines() if line.strip()]
            if not all(isinstance(r, dict) for r in recs):
                raise ValueError("every line must be a JSON object")
            df = pd.DataFrame.from_records(recs)
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise LiucunError(f"{what} file {path} cannot be read ({msg})") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise LiucunError(
            f"{what} file {path} lacks column(s) {', '.join(missing)} "
            f"(has {', '.join(df.columns) or 'none'})"
        )
    if df.empty:
        raise LiucunError(f"{what} file {path} has no rows")
    for c in optional:
        if c not in df.columns:
            df[c] = ""
    cols = [*required, *optional]
    df = df[cols].map(lambda v: "" if v is None or v != v else str(v).strip())
    for c in required:
        blank = np.flatnonzero(df[c].to_numpy() == "")
        if len(blank):
            raise LiucunError(f"{what} file {path} row {blank[0] + 1} has an empty {c}")
    return df.reset_index(drop=True)


def read_faq(path: str | Path) -> pd.DataFrame:
    """A FAQ file (CSV or JSONL): question, answer, optional intent and lang (detected)."""
    df = read_table(path, ("question", "answer"), ("intent", "lang"), what="FAQ")
    df["intent"] = df["intent"].str.lower()
    df["lang"] = df["lang"].str.lower()
    missing = df["lang"] == ""
    if missing.any():
        df.loc[missing, "lang"] = detect(df.loc[missing, "question"])
    return df


def default_faq_path() -> Path:
    """The packaged sample FAQ (zh + en), for demos and as the assistant's default."""
    return Path(str(resources.files("liucun.models.text").joinpath("data", "faq.csv")))


def bigrams(text: str) -> list[str]:
    """Character bigrams within each CJK run (a lone character kept); Latin words and
    numbers stay whole (letter bigrams retrieved no better on the sample FAQ)."""
    out: list[str] = []
    for run in WORD.findall((text or "").lower()):
        if "\u3400" <= run[0] <= "\ufaff" and len(run) > 1:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


class _Vocab:
    """Term counts of token lists as a CSC matrix (BM25 reads columns) and each term's
    document frequency; unknown query terms are the caller's to weigh."""

    def __init__(self, docs: list[list[str]]) -> None:
        self.ids: dict[str, int] = {}
        rows, cols, vals = [], [], []
        for r, doc in enumerate(docs):
            for term, n in Counter(doc).items():
                rows.append(r)
                cols.append(self.ids.setdefault(term, len(self.ids)))
                vals.append(n)
        shape = (len(docs), max(len(self.ids), 1))
        self.tf = sparse.csc_matrix((vals, (rows, cols)), shape=shape, dtype=float)
        self.df = np.asarray((self.tf > 0).sum(axis=0)).ravel()


class FaqIndex(Estimator):
    """BM25 + character-bigram retrieval over FAQ rows: ``fit`` indexes a DataFrame from
    ``read_faq`` (``from_file`` reads and indexes a file in one step).

    ``weight``: share of BM25 in the mix (the rest is bigram cosine). ``boost``: added to
    rows whose FAQ intent equals the intent passed to ``search``. ``k1``, ``b``: BM25.
    ``answers``: index each answer with its question; answers carry the words customers
    use ("parcel", "到账") that short FAQ questions lack.
    """

    def __init__(
        self,
        *,
        weight: float = 0.5,
        boost: float = 0.1,
        k1: float = 1.2,
        b: float = 0.75,
        answers: bool = True,
    ) -> None:
        self.weight = weight
        self.boost = boost
        self.k1 = k1
        self.b = b
        self.answers = answers

    def fit(self, faq: pd.DataFrame, y: None = None) -> Self:
        """Index the FAQ rows (question, answer, optional intent and lang)."""
        self.faq_ = faq.reset_index(drop=True)
        texts = self.faq_["question"].tolist()
        if self.answers:
            texts = [f"{q} {a}" for q, a in zip(texts, self.faq_["answer"], strict=True)]
        toks = [words(t, stop=True) for t in texts]
        self.words_ = _Vocab(toks)
        n = len(toks)
        self.idf_ = np.log1p((n - self.words_.df + 0.5) / (self.words_.df + 0.5))
        self.idf_unknown_ = math.log1p((n + 0.5) / 0.5)
        self.len_ = np.array([len(t) for t in toks], dtype=float)
        self.avglen_ = max(self.len_.mean(), 1.0)
        self.chars_ = _Vocab([bigrams(t) for t in texts])
        self.cidf_ = np.log((n + 1) / (self.chars_.df + 1)) + 1  # scikit-learn's smooth idf
        self.cidf_unknown_ = math.log(n + 1) + 1
        w = self.chars_.tf.multiply(self.cidf_).tocsr()
        norms = np.sqrt(np.asarray(w.multiply(w).sum(axis=1)).ravel())
        self.cmat_ = sparse.diags(1 / np.maximum(norms, 1e-12)) @ w
        langs = self.faq_["lang"].to_numpy() if "lang" in self.faq_ else np.full(n, "")
        self.lang_ = np.asarray(langs, dtype=str)
        intents = self.faq_["intent"] if "intent" in self.faq_ else pd.Series([""] * n)
        self.intent_ = intents.to_numpy(dtype=str)
        return self

    @classmethod
    def from_file(cls, path: str | Path, **kw: Any) -> Self:
        """An index over a CSV or JSONL FAQ file; LiucunError names the file on problems."""
        return cls(**kw).fit(read_faq(path))

    @property
    def faq(self) -> pd.DataFrame:
        """The indexed FAQ rows (``Hit.index`` is a row of it)."""
        self._check_fitted()
        return self.faq_

    def __len__(self) -> int:
        return len(self.faq)

    def _bm25(self, q: list[str]) -> np.ndarray:
        """BM25 of each row divided by the question's score against itself, clipped to 1."""
        counts = Counter(q)
        if not counts:
            return np.zeros(len(self))
        norm = self.k1 * (1 - self.b + self.b * self.len_ / self.avglen_)
        score, self_score = np.zeros(len(self)), 0.0
        self_norm = self.k1 * (1 - self.b + self.b * len(q) / self.avglen_)
        for term, qtf in counts.items():
            j = self.words_.ids.get(term)
            idf = self.idf_[j] if j is not None else self.idf_unknown_
            self_score += qtf * idf * (self.k1 + 1) / (1 + self_norm)
            if j is not None:
                tf = self.words_.tf[:, [j]].toarray().ravel()
                score += qtf * idf * tf * (self.k1 + 1) / (tf + norm)
        return np.clip(score / self_score, 0.0, 1.0)

    def _chars_cos(self, text: str) -> np.ndarray:
        counts = Counter(bigrams(text))
        if not counts:
            return np.zeros(len(self))
        vec = np.zeros(self.cmat_.shape[1])
        unknown = 0.0
        for g, n in counts.items():
            j = self.chars_.ids.get(g)
            if j is None:
                unknown += (n * self.cidf_unknown_) ** 2
            else:
                vec[j] = n * self.cidf_[j]
        qnorm = math.sqrt(float(vec @ vec) + unknown)
        return np.clip(self.cmat_ @ vec / qnorm, 0.0, 1.0)

    def scores(self, question: str, intent: str | None = None) -> np.ndarray:
        """Every row's score in [0, 1]; rows in another language than the question's score 0
        when the FAQ has rows in the question's language."""
        self._check_fitted()
        s = self.weight * self._bm25(words(question, stop=True))
        s += (1 - self.weight) * self._chars_cos(question)
        if intent and intent != "other" and self.boost:
            s = np.where(self.intent_ == intent, np.minimum(s + self.boost, 1.0), s)
        lang = detect([question])[0]
        if lang in ("zh", "en") and (self.lang_ == lang).any():
            s = np.where(np.isin(self.lang_, [lang, "mixed", ""]), s, 0.0)
        return s

    def search(self, question: str, k: int = 3, intent: str | None = None) -> list[Hit]:
        """The ``k`` best rows, best first, as (index, question, answer, score)."""
        s = self.scores(question, intent)
        top = np.argsort(-s, kind="stable")[:k]
        return [
            Hit(int(i), self.faq.at[i, "question"], self.faq.at[i, "answer"], float(s[i]))
            for i in top
        ]
