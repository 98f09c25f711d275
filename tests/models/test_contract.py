"""One contract over every estimator (scikit-learn's conventions, ``liucun.models.base``).

Each case builds an unfitted model, fits it on small data and predicts: ``clone`` works
and keeps the parameters, ``fit`` returns ``self``, predicting before ``fit`` raises
``NotFittedError``, the same seed refits to the same predictions, and save → load gives
equal predictions. The cases live beside this file, one module per model family.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from contract_cases import CASES, Case
from sklearn.base import clone
from sklearn.exceptions import NotFittedError


def _same(a: Any, b: Any) -> None:
    if isinstance(a, pd.DataFrame | pd.Series):
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
        else:
            pd.testing.assert_series_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.name)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def test_clone_keeps_parameters(case: Case) -> None:
    model = case.make()
    copy = clone(model)
    assert type(copy) is type(model)
    assert copy.get_params() == model.get_params()


def test_fit_returns_self_and_refits_the_same(case: Case) -> None:
    data = case.data()
    a = case.make()
    assert a.fit(*data.fit_args, **data.fit_kwargs) is a
    b = case.make()
    b.fit(*data.fit_args, **data.fit_kwargs)
    _same(case.predict(a, data), case.predict(b, data))


def test_unfitted_model_raises(case: Case) -> None:
    data = case.data()
    with pytest.raises(NotFittedError):
        case.predict(case.make(), data)


def test_save_load_predicts_the_same(case: Case, tmp_path: Path) -> None:
    data = case.data()
    model = case.make().fit(*data.fit_args, **data.fit_kwargs)
    path = model.save(tmp_path / "model")
    loaded = type(model).load(path)
    _same(case.predict(model, data), case.predict(loaded, data))
