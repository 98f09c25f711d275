"""The contract test's cases, one module per model family (kept apart so each family's
data stays small and readable)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Data:
    fit_args: tuple[Any, ...]
    fit_kwargs: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # what predict needs besides the model


@dataclass
class Case:
    name: str
    make: Callable[[], Any]  # an unfitted estimator with a fixed seed
    data: Callable[[], Data]  # small, deterministic training (and prediction) data
    predict: Callable[[Any, Data], Any]  # the estimator's main output on that data


from contract_cases.demand import CASES as _DEMAND  # noqa: E402
from contract_cases.learners import CASES as _LEARNERS  # noqa: E402
from contract_cases.learners_text import CASES as _TEXT  # noqa: E402
from contract_cases.scoring import CASES as _SCORING  # noqa: E402
from contract_cases.segments import CASES as _SEGMENTS  # noqa: E402

CASES: list[Case] = [*_SCORING, *_LEARNERS, *_TEXT, *_SEGMENTS, *_DEMAND]
