"""Topics over review texts: NMF on TF-IDF of jieba/English words.

NMF rather than LDA: on short texts (a review is 10-60 words) NMF on TF-IDF gives
tighter, more readable topics and is deterministic for a seed with ``init="nndsvda"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer

from liucun.models.base import Estimator
from liucun.models.text.tokens import words


def _tokens(text: str) -> list[str]:
    return [w for w in words(text, stop=True) if len(w) > 1 and not w.isdigit()]


class TopicModel(Estimator):
    """``fit(texts)`` learns ``n_topics`` topics; ``topics_`` holds each one's top words.

    ``save``/``load`` are the base class's (a pickle of the fitted model).
    """

    def __init__(
        self, n_topics: int = 8, top_words: int = 8, min_df: int = 2, random_state: int = 0
    ) -> None:
        self.n_topics = n_topics
        self.top_words = top_words
        self.min_df = min_df
        self.random_state = random_state

    def fit(self, texts: Sequence[str], y: None = None) -> Self:
        """Learn the vocabulary (terms in ``min_df`` texts, at most half of them) and the
        topics; fewer topics than asked when the texts are too few or too alike."""
        self.vectorizer_ = TfidfVectorizer(
            analyzer=_tokens, min_df=self.min_df, max_df=0.5, sublinear_tf=True
        )
        x = self.vectorizer_.fit_transform(list(texts))
        k = max(1, min(self.n_topics, x.shape[1] - 1, x.shape[0] - 1))
        self.nmf_ = NMF(n_components=k, init="nndsvda", random_state=self.random_state,
                        max_iter=400)  # fmt: skip
        self.nmf_.fit(x)
        vocab = np.array(self.vectorizer_.get_feature_names_out())
        self.topics_: list[list[str]] = [
            vocab[np.lexsort((vocab, -comp))[: self.top_words]].tolist()
            for comp in self.nmf_.components_
        ]
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Topic weights per text, shape (n, n_topics)."""
        self._check_fitted()
        return self.nmf_.transform(self.vectorizer_.transform(list(texts)))
