"""Rolling-origin backtest cutoffs and the summary of metrics over them.

A label for cutoff ``c`` and horizon ``H`` reads ``[c, c + H)``, so a cutoff is usable only
when ``c + H <= last``, where ``last`` is the day after the last day of data. Scoring several
cutoffs, not one, shows whether a model wins consistently or got lucky on one season.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

__all__ = ["parse_cutoffs", "rolling_cutoffs", "summarise_backtest"]


def rolling_cutoffs(
    first: dt.date,
    last: dt.date,
    horizon_days: int,
    n: int,
    step_days: int | None = None,
    min_history_days: int = 90,
) -> list[dt.date]:
    """Up to ``n`` cutoffs, latest ``last - horizon``, stepping back ``step_days``; ascending.

    ``first`` is the first day of data and ``last`` the day after the last one. ``step_days``
    defaults to the horizon so label windows do not overlap and each cutoff is a separate test.
    Cutoffs earlier than ``first + min_history_days`` are dropped (features need history);
    fewer than ``n`` may come back, but never none.
    """
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be >= 1, got {horizon_days}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    step = horizon_days if step_days is None else step_days
    if step < 1:
        raise ValueError(f"step_days must be >= 1, got {step}")
    if min_history_days < 0:
        raise ValueError(f"min_history_days must be >= 0, got {min_history_days}")
    latest = last - dt.timedelta(days=horizon_days)
    earliest = first + dt.timedelta(days=min_history_days)
    cutoffs = [latest - dt.timedelta(days=i * step) for i in range(n)]
    fitting = sorted(c for c in cutoffs if c >= earliest)
    if not fitting:
        raise ValueError(
            f"no backtest cutoff fits: data spans {first} to {last} (exclusive), which is "
            f"{(last - first).days} days, but {min_history_days} days of history plus a "
            f"{horizon_days}-day label window need {min_history_days + horizon_days}"
        )
    return fitting


def parse_cutoffs(text: str) -> list[dt.date]:
    """Cutoffs from a CLI option like ``"2024-06-01,2024-09-01"``: sorted, duplicates dropped."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ValueError(f"no cutoff dates in {text!r}; expected e.g. 2024-06-01,2024-09-01")
    dates = set()
    for part in parts:
        try:
            dates.add(dt.date.fromisoformat(part))
        except ValueError:
            raise ValueError(f"bad cutoff date {part!r}; expected YYYY-MM-DD") from None
    return sorted(dates)


def summarise_backtest(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per model: ``cutoffs`` scored and the mean of each numeric metric over them.

    ``rows`` are long records such as ``{"cutoff": ..., "model": ..., "roc_auc": ...}``.
    Models keep their first-seen order; NaN metrics (a one-class fold) are skipped in the mean.
    """
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame(columns=["model", "cutoffs"])
    if "model" not in frame.columns:
        raise ValueError("backtest rows need a 'model' key")
    metrics = [
        c
        for c in frame.columns
        if c not in ("model", "cutoff") and pd.api.types.is_numeric_dtype(frame[c])
    ]
    grouped = frame.groupby("model", sort=False)
    counts = (grouped["cutoff"].nunique() if "cutoff" in frame.columns else grouped.size()).rename(
        "cutoffs"
    )
    summary = pd.concat([counts, grouped[metrics].mean()], axis=1).reset_index()
    return summary[["model", "cutoffs", *metrics]]
