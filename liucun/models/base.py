"""The estimator contract every liucun model keeps (scikit-learn's conventions).

Parameters are set in ``__init__`` and only stored there; ``fit`` learns, sets attributes
ending in ``_`` and returns ``self``; a prediction before ``fit`` raises scikit-learn's
``NotFittedError``; ``save``/``load`` round-trip a fitted model to equal predictions.
The same set-up is refit at every backtest cutoff, so ``sklearn.base.clone`` must work.
One contract test (``tests/models/test_contract.py``) runs over every estimator.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Self

from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from liucun.errors import LiucunError

FILE = "model.pkl"


class Estimator(BaseEstimator):
    """Base of liucun's models: scikit-learn parameters, a fitted check, save and load."""

    def _check_fitted(self) -> None:
        """Raise ``NotFittedError`` unless ``fit`` has run (learned attributes end in ``_``)."""
        check_is_fitted(self)

    def __sklearn_is_fitted__(self) -> bool:
        return any(k.endswith("_") and not k.startswith("__") for k in vars(self))

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (a file, or a folder that gets ``model.pkl``)."""
        self._check_fitted()
        path = Path(path)
        if path.suffix != ".pkl":
            path.mkdir(parents=True, exist_ok=True)
            path = path / FILE
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """A model written by :meth:`save`; one clear line if the file holds something else."""
        path = Path(path)
        if path.is_dir():
            path = path / FILE
        try:
            with path.open("rb") as f:
                obj: Any = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as e:
            raise LiucunError(f"{path}: cannot load a {cls.__name__} ({e})") from None
        if not isinstance(obj, cls):
            raise LiucunError(f"{path}: holds a {type(obj).__name__}, not a {cls.__name__}")
        return obj
