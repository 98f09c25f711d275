"""Demand calendar of the simulated shop: one multiplicative factor per UTC date.

Demand on a day is ``weekly x yearly x events``:

* **weekly** - Chinese marketplaces see more traffic at the weekend; Monday to Sunday
  here is 0.96, 0.95, 0.96, 0.97, 1.00, 1.08, 1.10, rescaled to a mean of exactly 1.
* **yearly** - a smooth annual cycle (two harmonics fitted to month anchors): low in late
  summer (August, the quietest month outside holidays), rising through Q4 to a December
  high. It is rescaled to a mean of exactly 1 over the year.
* **events** - promotions with pre-sale ramps, and the Spring Festival shutdown.

A *normal day* is a day outside every event window: its factor is ``weekly x yearly``,
which averages 1 over a year (so a normal day is worth 1 on average). Events add demand
on net (the promotions outweigh the Spring Festival dip), so a whole year averages a
little above 1 (about 1.02-1.03).

Where the event sizes come from (public figures, rounded; the simulator is deliberately
more conservative than the platform totals, because one shop's order count moves less
than platform GMV, which also counts pre-sale deposits paid on the day):

* Singles' Day (11.11): Alibaba reported RMB 268.4 bn GMV on 11 Nov 2019, against about
  RMB 6.6 trn for its China retail marketplaces in the fiscal year to March 2020, i.e.
  about RMB 18 bn on an average day: the platform's peak day is about 15x. Shop-level
  order counts are much flatter; we use 5x on Nov 11, a 1.3-1.6x warm-up on Nov 1-10
  (pre-sales, coupons) and a short hangover dip (0.85-0.97x) after it.
* 6.18 (JD's anniversary sale): JD reported RMB 201.5 bn GMV for Jun 1-18 2019, against
  about RMB 2.1 trn for the year (about RMB 5.7 bn a day): the 18-day festival runs at
  about 2x an average day and the last day far above that. We use 2.8x on Jun 18 and a
  ramp from 1.15x to 1.6x on Jun 1-17.
* 12.12: a smaller repeat of 11.11: 1.8x. Women's day (3.8, "Queen's day" sales): 1.3x.
* Spring Festival: couriers stop from a few days before Chinese New Year until about a
  week after, so orders fall to about half (0.45-0.55x from 3 days before New Year's
  Day through 7 days after) and recover over the next week. Chinese New Year dates are
  a table for 2015-2035 (checked against a lunar calendar); other years raise
  ``ValueError``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

__all__ = [
    "CHINESE_NEW_YEAR",
    "HOUR_WEIGHTS",
    "PROMO_PEAKS",
    "WEEKLY",
    "chinese_new_year",
    "day_multipliers",
    "promo_flags",
]

#: Chinese New Year's Day (first day of the first lunar month), 2015-2035.
CHINESE_NEW_YEAR: dict[int, dt.date] = {
    2015: dt.date(2015, 2, 19),
    2016: dt.date(2016, 2, 8),
    2017: dt.date(2017, 1, 28),
    2018: dt.date(2018, 2, 16),
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19),
    2035: dt.date(2035, 2, 8),
}

_WEEKLY_RAW = np.array([0.96, 0.95, 0.96, 0.97, 1.00, 1.08, 1.10])
#: Demand factor by weekday, Monday=0 ... Sunday=6; mean exactly 1.
WEEKLY: np.ndarray = _WEEKLY_RAW / _WEEKLY_RAW.mean()
WEEKLY.setflags(write=False)

# Mid-month anchors of the annual cycle, January..December (holiday effects excluded).
_MONTH_ANCHORS = np.array([1.00, 0.98, 1.00, 0.99, 0.99, 0.99, 0.95, 0.91, 0.93, 0.99, 1.07, 1.12])


def _fit_yearly() -> np.ndarray:
    """Least-squares fit of two annual harmonics to the month anchors, mean 1."""
    t = (np.arange(12) + 0.5) / 12.0
    design = np.column_stack(
        [
            np.ones(12),
            np.cos(2 * np.pi * t),
            np.sin(2 * np.pi * t),
            np.cos(4 * np.pi * t),
            np.sin(4 * np.pi * t),
        ]
    )
    coef, *_ = np.linalg.lstsq(design, _MONTH_ANCHORS, rcond=None)
    return coef / coef[0]


_YEARLY_COEF = _fit_yearly()


def _event_profile(lo: int, values: list[float]) -> tuple[int, np.ndarray]:
    return lo, np.asarray(values, dtype=np.float64)


# (month, day) -> (first offset, factors for offsets lo, lo+1, ...), offset 0 = the day.
_PROMOTIONS: dict[tuple[int, int], tuple[int, np.ndarray]] = {
    (11, 11): _event_profile(
        -10, [*np.linspace(1.3, 1.6, 10).tolist(), 5.0, 0.85, 0.90, 0.94, 0.97]
    ),
    (6, 18): _event_profile(-17, [*np.linspace(1.15, 1.6, 17).tolist(), 2.8, 0.90, 0.94, 0.97]),
    (12, 12): _event_profile(-2, [1.10, 1.25, 1.8, 0.95]),
    (3, 8): _event_profile(-1, [1.10, 1.30]),
}

# Offsets from Chinese New Year's Day: ramp down, shutdown (-3..+7), ramp back (+8..+14).
_SPRING_FESTIVAL = _event_profile(
    -6,
    [
        *[0.90, 0.80, 0.70],
        *[0.55, 0.52, 0.50],
        *[0.45, 0.45, 0.45, 0.45],
        *[0.48, 0.50, 0.53, 0.56],
        *np.linspace(0.66, 0.96, 7).tolist(),
    ],
)

#: The big promotion peaks flagged by :func:`promo_flags`.
PROMO_PEAKS: tuple[tuple[int, int], ...] = ((6, 18), (11, 11), (12, 12))

_HOUR_RAW = np.array(
    [
        3.0, 1.8, 1.0, 0.6, 0.45, 0.5, 0.9, 1.8, 2.8, 3.6, 4.2, 4.5,
        5.0, 4.8, 4.3, 4.2, 4.2, 4.3, 4.8, 5.6, 6.6, 7.0, 6.4, 4.8,
    ]
)  # fmt: skip
#: Share of sessions starting in each hour of the shop's local clock (0..23), summing to
#: 1: night trough 3-5h, lunch bump at 12h, evening peak 20-22h, late-night tail to 1h.
HOUR_WEIGHTS: np.ndarray = _HOUR_RAW / _HOUR_RAW.sum()
HOUR_WEIGHTS.setflags(write=False)


def chinese_new_year(year: int) -> dt.date:
    """Chinese New Year's Day of ``year``; ValueError outside 2015-2035."""
    try:
        return CHINESE_NEW_YEAR[year]
    except KeyError:
        lo, hi = min(CHINESE_NEW_YEAR), max(CHINESE_NEW_YEAR)
        raise ValueError(
            f"no Chinese New Year date for {year}: the demand calendar covers {lo}-{hi}"
        ) from None


def _days(start: dt.date, n_days: int) -> np.ndarray:
    if n_days < 0:
        raise ValueError(f"n_days must be >= 0, got {n_days}")
    return np.datetime64(start, "D") + np.arange(n_days, dtype=np.int64)


def _years(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[Y]").astype(np.int64) + 1970


def _apply(
    mult: np.ndarray, days: np.ndarray, anchor: dt.date, lo: int, values: np.ndarray
) -> None:
    """Multiply ``mult`` in place by ``values`` on the days ``lo..`` from ``anchor``."""
    offset = (days - np.datetime64(anchor, "D")).astype(np.int64) - lo
    hit = (offset >= 0) & (offset < len(values))
    mult[hit] *= values[offset[hit]]


def day_multipliers(start: dt.date, n_days: int) -> np.ndarray:
    """Demand factor for each of ``n_days`` UTC dates from ``start`` (float64)."""
    days = _days(start, n_days)
    if n_days == 0:
        return np.empty(0, dtype=np.float64)
    years = _years(days)
    year_start = days.astype("datetime64[Y]").astype("datetime64[D]")
    day_of_year = (days - year_start).astype(np.int64)
    year_len = np.where((years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0)), 366.0, 365.0)
    t = (day_of_year + 0.5) / year_len
    c = _YEARLY_COEF
    yearly = (
        c[0]
        + c[1] * np.cos(2 * np.pi * t)
        + c[2] * np.sin(2 * np.pi * t)
        + c[3] * np.cos(4 * np.pi * t)
        + c[4] * np.sin(4 * np.pi * t)
    )
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    mult = WEEKLY[weekday] * yearly
    for year in np.unique(years).tolist():
        cny = chinese_new_year(year)
        _apply(mult, days, cny, *_SPRING_FESTIVAL)
        for (month, day), (lo, values) in _PROMOTIONS.items():
            _apply(mult, days, dt.date(year, month, day), lo, values)
    return mult


def promo_flags(start: dt.date, n_days: int) -> np.ndarray:
    """True on the big promotion peaks (Jun 18, Nov 11, Dec 12) among the given days."""
    days = _days(start, n_days)
    month_start = days.astype("datetime64[M]")
    month = month_start.astype(np.int64) % 12 + 1
    day = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    flags = np.zeros(n_days, dtype=bool)
    for m, d in PROMO_PEAKS:
        flags |= (month == m) & (day == d)
    return flags
