"""PriceElasticity recovers a known elasticity where promotions confound price cuts, says
"not enough price variation" rather than guess, and the suggested discount keeps the
margin floor while maximising expected gross margin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from liucun.models.elasticity import (
    NO_VARIATION,
    PriceElasticity,
    count_price_changes,
    densify,
    suggested_discount,
)

TRUE_E = -1.8
PROMO_LIFT = 0.9  # log demand a promotion adds beside its 25% price cut


def synthetic(
    e: float = TRUE_E,
    items: int = 25,
    days: int = 450,
    level: float = 3.0,
    steps: int = 8,
    category: str = "a",
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(daily sales rows with units > 0, day controls): log-linear demand with item
    levels, weekday and season, ``steps`` random price steps per item, and promotion days
    that cut every price by 25% while lifting demand for reasons of their own."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=days, freq="D")
    promo = (rng.random(days) < 0.08).astype(float)
    weekend = np.asarray(dates.day_of_week) >= 5
    season = 0.3 * np.sin(2 * np.pi * np.asarray(dates.day_of_year) / 365.25)
    rows = []
    for i in range(items):
        base = float(np.exp(rng.uniform(np.log(20), np.log(200))))
        shift = np.zeros(days)
        for t in rng.choice(np.arange(20, days), steps, replace=False):
            shift[t:] += rng.normal(0, 0.12)
        price = np.round(base * np.exp(shift), 2) * np.where(promo > 0, 0.75, 1.0)
        log_mu = (
            np.log(level)
            + rng.normal(0, 0.4)
            + e * np.log(price / base)
            + 0.1 * weekend
            + season
            + PROMO_LIFT * promo
        )
        units = rng.poisson(np.exp(log_mu)).astype(float)
        rows.append(
            pd.DataFrame(
                {
                    "item_id": f"{category}{i:03d}",
                    "category": category,
                    "date": dates,
                    "units": units,
                    "price": price,
                }
            )
        )
    daily = pd.concat(rows, ignore_index=True)
    return daily[daily["units"] > 0].reset_index(drop=True), pd.DataFrame(
        {"date": dates, "promo": promo}
    )


def category_row(model: PriceElasticity, category: str = "a") -> pd.Series:
    est = model.estimates_
    [row] = est[(est["level"] == "category") & (est["category"] == category)].to_dict("records")
    return pd.Series(row)


@pytest.fixture(scope="module")
def confounded() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic()


def test_recovers_elasticity_where_a_naive_fit_is_biased(
    confounded: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    daily, days = confounded
    ours = category_row(PriceElasticity().fit(daily, day_controls=days))
    naive = category_row(PriceElasticity(controls=(), item_level=False).fit(daily))
    assert abs(ours["elasticity"] - TRUE_E) <= 0.3, ours.to_dict()
    assert ours["lo"] <= TRUE_E <= ours["hi"], ours.to_dict()
    assert ours["lo"] < ours["elasticity"] < ours["hi"]
    # Promotions cut prices on the days demand rises anyway: ignoring them overstates
    # how much price matters.
    assert naive["elasticity"] < TRUE_E - 0.5, naive.to_dict()


def test_item_estimates_centre_on_the_truth(
    confounded: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    daily, days = confounded
    est = PriceElasticity().fit(daily, day_controls=days).estimates_
    items = est[est["level"] == "item"]
    assert len(items) == daily["item_id"].nunique()  # every item has >= 5 changes here
    assert abs(items["elasticity"].median() - TRUE_E) <= 0.3
    covered = ((items["lo"] <= TRUE_E) & (items["hi"] >= TRUE_E)).mean()
    assert covered >= 0.8, covered


def test_zero_sales_days_are_kept() -> None:
    """About a unit a day: a third of the days sell nothing and stay in as zeros, at an
    imputed price, and the Poisson fit still finds the elasticity. (Slower movers, a
    quarter of a unit a day, come out shrunk towards 0 by about 0.5: their zero days'
    prices are guesses.)"""
    daily, days = synthetic(level=1.0, items=40, days=500, seed=3)
    dense = densify(daily)
    assert (dense["units"] == 0).mean() > 0.3
    row = category_row(PriceElasticity(item_level=False).fit(daily, day_controls=days))
    assert row["n_obs"] == len(dense)
    assert abs(row["elasticity"] - TRUE_E) <= 0.3, row.to_dict()


def test_too_few_price_changes_give_no_estimate() -> None:
    rich, days = synthetic(items=10, days=300, seed=1)
    poor, _ = synthetic(items=2, days=300, steps=1, category="b", seed=2)
    # Without promotions every one of b's changes is a step: 2 items x 1 step < 5.
    poor["price"] = poor.groupby("item_id")["price"].transform("max")
    first = poor["date"] >= poor["date"].min() + pd.Timedelta(days=150)
    poor.loc[first & (poor["item_id"] == "b000"), "price"] *= 0.9
    poor.loc[first & (poor["item_id"] == "b001"), "price"] *= 1.1
    model = PriceElasticity().fit(pd.concat([rich, poor]), day_controls=days)
    b = category_row(model, "b")
    assert b["n_price_changes"] == 2
    assert b["note"] == NO_VARIATION
    assert np.isnan(b["elasticity"]) and np.isnan(b["lo"]) and np.isnan(b["hi"])
    est = model.estimates_
    assert not ((est["level"] == "item") & (est["category"] == "b")).any()
    assert category_row(model, "a")["note"] == ""
    assert np.isnan(model.predict(pd.DataFrame({"item_id": ["b000"], "category": ["b"]})))[0]


def test_zero_days_get_the_regular_price_not_the_last_paid_one() -> None:
    """A one-day cut (day 3) is not carried into the quiet days after it."""
    dates = pd.date_range("2024-01-01", periods=12, freq="D")
    sold = [0, 2, 3, 6, 7, 8, 9, 11]
    d = pd.DataFrame(
        {
            "item_id": "x",
            "category": "c",
            "date": dates[sold],
            "units": 1.0,
            "price": [10.0, 10.0, 7.0, 10.0, 10.0, 10.0, 10.0, 9.0],
        }
    )
    dense = densify(d)
    assert len(dense) == 12 and dense["units"].sum() == 8
    price = dense.set_index("date")["price"]
    assert price[dates[3]] == 7.0 and price[dates[4]] == 10.0 and price[dates[5]] == 10.0
    # 10 -> 7, 7 -> 10 and 10 -> 9 count as changes.
    assert count_price_changes(dense, 0.01)["x"] == 3


@pytest.mark.parametrize("e", [-4.0, -3.0, -2.0, -1.5, -1.2])
@pytest.mark.parametrize("cost_share", [0.3, 0.5, 0.7])
def test_discount_maximises_margin_within_the_floor(e: float, cost_share: float) -> None:
    floor, cap = 0.2, 0.5
    depth, _ = suggested_discount(e, cost_share, floor, cap)
    assert 0 <= depth <= cap
    if depth > 0:
        price = 1 - depth
        assert (price - cost_share) / price >= floor - 1e-9
    grid = np.linspace(0, cap, 5001)
    price = 1 - grid
    ok = (price - cost_share) / price >= floor
    margin = price**e * (price - cost_share)
    if ok.any():
        best = grid[ok][np.argmax(margin[ok])]
        assert depth == pytest.approx(best, abs=2e-4)
    else:
        assert depth == 0


def test_no_discount_where_demand_is_inelastic_or_unknown() -> None:
    depth, note = suggested_discount(-0.6, 0.5, 0.15, 0.5)
    assert depth == 0 and "raising the price" in note
    assert suggested_discount(float("nan"), 0.5, 0.15, 0.5)[0] == 0
    assert suggested_discount(0.4, 0.5, 0.15, 0.5)[0] == 0
    # Cost at 90% of the list price and very elastic demand: margin peaks 5% off, but any
    # discount breaks a 15% floor.
    assert suggested_discount(-20.0, 0.9, 0.15, 0.5) == (0.0, "no discount keeps the margin floor")
    assert suggested_discount(-20.0, 0.9, 0.0, 0.5)[0] == pytest.approx(1 - 0.9 * 20 / 19, abs=1e-4)
    # Margin peaks above the list price: raise, not discount.
    assert "raise the price" in suggested_discount(-5.0, 0.9, 0.15, 0.5)[1]


def test_estimator_contract(tmp_path: Path) -> None:
    daily, days = synthetic(items=6, days=200, seed=4)
    model = PriceElasticity(harmonics=2)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        model.predict(daily)
    assert model.fit(daily, day_controls=days) is model
    again = PriceElasticity(harmonics=2).fit(daily, day_controls=days)
    np.testing.assert_array_equal(model.predict(daily), again.predict(daily))
    loaded = PriceElasticity.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(model.predict(daily), loaded.predict(daily))
    assert np.isfinite(model.predict(daily)).all()
