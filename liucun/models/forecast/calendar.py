"""Calendar features of a target day: weekday, month, pay-cycle, and how far it lies from
the Chinese retail calendar's peaks (6.18, 11.11, 12.12, 3.8, Spring Festival).

A copy of the dates, not an import of ``liucun.sim.calendar``: forecasts of a real shop
must not depend on the simulator's module, only on the public calendar.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

#: Chinese New Year's Day, 2010-2040 (first day of the first lunar month).
CHINESE_NEW_YEAR: dict[int, dt.date] = {
    y: dt.date.fromisoformat(d)
    for y, d in {
        2010: "2010-02-14", 2011: "2011-02-03", 2012: "2012-01-23", 2013: "2013-02-10",
        2014: "2014-01-31", 2015: "2015-02-19", 2016: "2016-02-08", 2017: "2017-01-28",
        2018: "2018-02-16", 2019: "2019-02-05", 2020: "2020-01-25", 2021: "2021-02-12",
        2022: "2022-02-01", 2023: "2023-01-22", 2024: "2024-02-10", 2025: "2025-01-29",
        2026: "2026-02-17", 2027: "2027-02-06", 2028: "2028-01-26", 2029: "2029-02-13",
        2030: "2030-02-03", 2031: "2031-01-23", 2032: "2032-02-11", 2033: "2033-01-31",
        2034: "2034-02-19", 2035: "2035-02-08", 2036: "2036-01-28", 2037: "2037-02-15",
        2038: "2038-02-04", 2039: "2039-01-24", 2040: "2040-02-12",
    }.items()
}  # fmt: skip

#: Promotion days (month, day) whose distance is a feature.
PROMOTIONS: dict[str, tuple[int, int]] = {
    "d_1111": (11, 11),
    "d_618": (6, 18),
    "d_1212": (12, 12),
    "d_38": (3, 8),
}
# Distances are clipped: beyond a month and a half a promotion no longer moves demand.
CLIP = 45


def _signed_distance(days: pd.DatetimeIndex, anchors: list[pd.Timestamp]) -> np.ndarray:
    """Days from each day to the nearest anchor (negative before it), clipped to ±CLIP."""
    a = np.array([x.value for x in anchors], dtype=np.int64) // 86_400_000_000_000
    d = days.values.astype("datetime64[D]").astype(np.int64)
    diff = d[:, None] - a[None, :]
    best = diff[np.arange(len(d)), np.abs(diff).argmin(axis=1)]
    return np.clip(best, -CLIP, CLIP).astype(np.float64)


def calendar_features(days: pd.DatetimeIndex) -> pd.DataFrame:
    """One row per day: weekday, day of month, days to month end, month, and the signed
    distances to the promotions and to Spring Festival (CNY outside 2010-2040: NaN)."""
    days = pd.DatetimeIndex(days).normalize()
    years = range(days.year.min() - 1, days.year.max() + 2) if len(days) else range(0)
    out = pd.DataFrame(
        {
            "weekday": days.day_of_week.astype(np.float64),
            "day_of_month": days.day.astype(np.float64),
            "to_month_end": (days.days_in_month - days.day).astype(np.float64),
            "month": days.month.astype(np.float64),
        },
        index=range(len(days)),
    )
    for name, (m, d) in PROMOTIONS.items():
        out[name] = _signed_distance(days, [pd.Timestamp(y, m, d) for y in years])
    cny = [pd.Timestamp(CHINESE_NEW_YEAR[y]) for y in years if y in CHINESE_NEW_YEAR]
    out["d_cny"] = _signed_distance(days, cny) if cny else np.nan
    return out
