"""The shop's demand calendar: promotions, Spring Festival, weekly and yearly shape."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from liucun.sim.calendar import (
    CHINESE_NEW_YEAR,
    HOUR_WEIGHTS,
    chinese_new_year,
    day_multipliers,
    promo_flags,
)

YEARS = range(2016, 2035)


def _year(year: int) -> np.ndarray:
    n = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    return day_multipliers(dt.date(year, 1, 1), n)


def _index(year: int, month: int, day: int) -> int:
    return (dt.date(year, month, day) - dt.date(year, 1, 1)).days


@pytest.mark.parametrize("year", YEARS)
def test_promotion_peaks_against_the_median_day(year: int) -> None:
    mult = _year(year)
    median = np.median(mult)
    assert mult[_index(year, 11, 11)] >= 3 * median  # designed for >= 4.5
    assert mult[_index(year, 6, 18)] >= 2 * median
    assert mult[_index(year, 12, 12)] >= 1.4 * median
    # Warm-up before 11.11 is above normal but far below the peak.
    warm = mult[_index(year, 11, 1) : _index(year, 11, 11)]
    assert 1.1 * median < warm.mean() < 0.5 * mult[_index(year, 11, 11)]
    # Hangover: the day after 11.11 is below the warm-up days.
    assert mult[_index(year, 11, 12)] < warm.min()


@pytest.mark.parametrize("year", YEARS)
def test_spring_festival_dip(year: int) -> None:
    mult = _year(year)
    median = np.median(mult)
    cny = _index(year, CHINESE_NEW_YEAR[year].month, CHINESE_NEW_YEAR[year].day)
    shutdown = mult[cny - 3 : cny + 8]
    assert (shutdown < 0.7 * median).all()
    # Ramp back: a fortnight later demand is normal again and rising through the week after.
    assert mult[cny + 21] > 0.85 * median
    assert mult[cny + 8 : cny + 15].mean() > shutdown.mean()


def test_weekend_beats_weekdays() -> None:
    start = dt.date(2016, 1, 4)  # a Monday
    mult = day_multipliers(start, 7 * 52 * 10)
    weekday = np.arange(len(mult)) % 7
    assert mult[weekday >= 5].mean() > 1.03 * mult[weekday < 5].mean()


@pytest.mark.parametrize("year", YEARS)
def test_annual_mean_near_one(year: int) -> None:
    assert 0.9 <= _year(year).mean() <= 1.25


def test_yearly_cycle_low_in_late_summer_high_in_december() -> None:
    mult = _year(2025)
    august = mult[_index(2025, 8, 1) : _index(2025, 9, 1)].mean()
    december = mult[_index(2025, 12, 14) : _index(2025, 12, 31)].mean()  # after 12.12
    april = mult[_index(2025, 4, 1) : _index(2025, 5, 1)].mean()
    assert august < april < december


def test_deterministic_and_consistent_across_windows() -> None:
    a = day_multipliers(dt.date(2024, 10, 1), 120)
    b = day_multipliers(dt.date(2024, 10, 1), 120)
    assert a.dtype == np.float64 and a.shape == (120,)
    np.testing.assert_array_equal(a, b)
    # A day's factor does not depend on where the window starts.
    c = day_multipliers(dt.date(2024, 11, 11), 1)
    assert c[0] == a[(dt.date(2024, 11, 11) - dt.date(2024, 10, 1)).days]
    assert day_multipliers(dt.date(2024, 1, 1), 0).shape == (0,)


def test_chinese_new_year_table() -> None:
    assert sorted(CHINESE_NEW_YEAR) == list(range(2015, 2036))
    assert chinese_new_year(2015) == dt.date(2015, 2, 19)
    assert chinese_new_year(2020) == dt.date(2020, 1, 25)
    assert chinese_new_year(2023) == dt.date(2023, 1, 22)
    assert chinese_new_year(2024) == dt.date(2024, 2, 10)
    assert chinese_new_year(2025) == dt.date(2025, 1, 29)
    assert chinese_new_year(2026) == dt.date(2026, 2, 17)
    assert chinese_new_year(2027) == dt.date(2027, 2, 6)
    assert chinese_new_year(2033) == dt.date(2033, 1, 31)
    assert chinese_new_year(2035) == dt.date(2035, 2, 8)
    # Chinese New Year always falls between Jan 21 and Feb 20.
    for day in CHINESE_NEW_YEAR.values():
        assert dt.date(day.year, 1, 21) <= day <= dt.date(day.year, 2, 20)


@pytest.mark.parametrize(
    ("start", "n_days"),
    [(dt.date(2014, 12, 1), 60), (dt.date(2035, 12, 1), 60), (dt.date(2040, 1, 1), 1)],
)
def test_years_outside_the_table_raise(start: dt.date, n_days: int) -> None:
    with pytest.raises(ValueError, match="Chinese New Year") as info:
        day_multipliers(start, n_days)
    assert "\n" not in str(info.value)


def test_negative_length_raises() -> None:
    with pytest.raises(ValueError):
        day_multipliers(dt.date(2025, 1, 1), -1)


def test_promo_flags() -> None:
    start = dt.date(2025, 1, 1)
    flags = promo_flags(start, 365)
    assert flags.dtype == bool and flags.shape == (365,)
    flagged = {start + dt.timedelta(days=int(i)) for i in np.flatnonzero(flags)}
    assert flagged == {dt.date(2025, 6, 18), dt.date(2025, 11, 11), dt.date(2025, 12, 12)}
    # 11.11 and 6.18 are the two biggest days of the year.
    mult = day_multipliers(start, 365)
    top2 = {start + dt.timedelta(days=int(i)) for i in np.argsort(mult)[-2:]}
    assert top2 == {dt.date(2025, 6, 18), dt.date(2025, 11, 11)}


def test_hour_weights() -> None:
    assert HOUR_WEIGHTS.shape == (24,)
    assert HOUR_WEIGHTS.sum() == pytest.approx(1.0)
    assert (HOUR_WEIGHTS > 0).all()
    assert 19 <= int(np.argmax(HOUR_WEIGHTS)) <= 22
    assert HOUR_WEIGHTS[3:6].max() < 0.5 * HOUR_WEIGHTS.mean()
    assert HOUR_WEIGHTS[12] > max(HOUR_WEIGHTS[10], HOUR_WEIGHTS[15])  # lunch bump
