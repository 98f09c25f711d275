"""The inventory policy maths on hand-made frames, and its replay against true demand."""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from liucun.decide.inventory import (
    EXTRA_COLUMNS,
    OUTPUT_COLUMNS,
    Policy,
    demand_over,
    inventory_policy,
    latest_snapshots,
    levels,
    order_quantity,
    policy_from_config,
    replay,
)
from liucun.errors import LiucunError

AS_OF = dt.date(2024, 3, 1)
Z95 = NormalDist().inv_cdf(0.95)


def paths(rows: dict[str, tuple[list[float], list[float]]], start: dt.date = AS_OF) -> pd.DataFrame:
    """item → (daily forecasts, daily sds) as item_demand_paths frames."""
    out = []
    for item, (f, s) in rows.items():
        for i, (m, sd) in enumerate(zip(f, s, strict=True)):
            out.append((item, pd.Timestamp(start + dt.timedelta(days=i)), m, sd))
    return pd.DataFrame(out, columns=["item_id", "date", "forecast", "sd"])


def snaps(*rows: tuple) -> pd.DataFrame:
    """(item_id, ts, on_hand, on_order, lead_time_days) rows."""
    df = pd.DataFrame(rows, columns=["item_id", "ts", "on_hand", "on_order", "lead_time_days"])
    df["ts"] = pd.to_datetime(df["ts"], format="ISO8601")
    return df


def one(df: pd.DataFrame, item: str) -> pd.Series:
    return df.set_index("item_id").loc[item]


def test_safety_stock_is_z_times_the_root_of_summed_variances() -> None:
    sd = [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 5.0, 5.0, 5.0]
    f = [4.0, 5.0, 6.0, 4.0, 5.0, 6.0, 4.0, 9.0, 9.0, 9.0]
    pol = Policy(service_level=0.95, lead_time_days=4, review_days=3)
    got = one(
        inventory_policy(
            snaps(("a", "2024-02-29", 100, 0, None)), paths({"a": (f, sd)}), AS_OF, pol, 10
        ),
        "a",
    )
    safety = Z95 * math.sqrt(1 + 4 + 9 + 1)  # the first 4 days' variances
    assert got["safety_stock"] == pytest.approx(safety)
    assert got["lead_time_demand"] == pytest.approx(19.0)
    assert got["reorder_point"] == pytest.approx(19.0 + safety)
    up_to = sum(f[:7]) + Z95 * math.sqrt(sum(s * s for s in sd[:7]))  # L + R = 7 days
    assert got["order_up_to"] == pytest.approx(up_to)
    assert got["order_qty"] == 0  # 100 on hand covers it
    assert got["daily_demand"] == pytest.approx(np.mean(f))
    assert got["days_of_cover"] == pytest.approx(100 / np.mean(f))
    assert got["lead_time_days"] == 4.0  # the default when the snapshot gives none


def test_a_fractional_lead_time_counts_the_last_day_in_part() -> None:
    mean = np.array([[2.0, 2.0, 2.0, 10.0]])
    var = np.array([[1.0, 1.0, 1.0, 4.0]])
    mu, sd = demand_over(mean, var, np.array([2.5]))
    assert mu[0] == pytest.approx(2 + 2 + 0.5 * 2)
    assert sd[0] == pytest.approx(math.sqrt(1 + 1 + 0.5))


def test_lead_time_variability_adds_mean_demand_squared_times_its_variance() -> None:
    mean = np.full((1, 20), 3.0)
    var = np.full((1, 20), 3.0)
    exact = levels(mean, var, np.array([5.0]), Policy(lead_time_sd_days=0))
    vary = levels(mean, var, np.array([5.0]), Policy(lead_time_sd_days=2.0))
    assert exact["safety_stock"][0] == pytest.approx(Z95 * math.sqrt(15))
    assert vary["safety_stock"][0] == pytest.approx(Z95 * math.sqrt(15 + 9 * 4))
    assert vary["lead_time_demand"][0] == exact["lead_time_demand"][0] == pytest.approx(15)


def test_order_qty_tops_up_to_lead_time_plus_review_net_of_stock_and_orders() -> None:
    f, sd = [10.0] * 30, [0.0] * 30  # a certain 10 a day
    pol = Policy(lead_time_days=5, review_days=7)
    df = inventory_policy(
        snaps(
            ("low", "2024-02-29", 30, 20, None),
            ("none", "2024-02-29", 0, 0, None),
            ("full", "2024-02-29", 500, 0, None),
        ),
        paths({k: (f, sd) for k in ("low", "none", "full")}),
        AS_OF,
        pol,
        30,
    )
    assert one(df, "low")["order_qty"] == 120 - 30 - 20
    assert one(df, "none")["order_qty"] == 120
    assert one(df, "full")["order_qty"] == 0
    assert df["order_qty"].dtype == np.int64
    # whole units, rounded to the nearest (halves down): the continuity correction
    assert order_quantity(np.array([10.4, 10.5, 10.6, 3.0]), np.array([0, 0, 0, 5])).tolist() == [
        10,
        10,
        11,
        0,
    ]


def test_stockout_date_is_the_first_day_demand_exceeds_stock_and_arrivals() -> None:
    f, sd = [4.0] * 20, [1.0] * 20
    pol = Policy(lead_time_days=3, review_days=7)
    df = inventory_policy(
        snaps(
            # 10 on hand: days 0,1 use 8, day 2 wants 12 > 10 → 2024-03-03
            ("short", "2024-02-29", 10, 0, 3),
            # 10 on hand + 40 arriving 2024-02-29 + 3 days = day 2: lasts until 50 < 52 at day 12
            ("arriving", "2024-02-29", 10, 40, 3),
            # the same 40 arriving on day 5: short on day 2 already
            ("late", "2024-03-03", 10, 40, 3),
            ("plenty", "2024-02-29", 1000, 0, 3),
            ("empty", "2024-02-29", 0, 0, 3),
        ),
        paths({k: (f, sd) for k in ("short", "arriving", "late", "plenty", "empty")}),
        AS_OF,
        pol,
        20,
    )
    got = df.set_index("item_id")["stockout_date"].to_dict()
    assert got["short"] == "2024-03-03"
    assert got["arriving"] == "2024-03-13"
    assert got["late"] == "2024-03-03"
    assert pd.isna(got["plenty"])
    assert got["empty"] == "2024-03-01"


def test_alerts_stockout_risk_overstock_and_ok() -> None:
    f, sd = [2.0] * 60, [1.5] * 60
    pol = Policy(lead_time_days=7, review_days=7, overstock_days=30)
    rop = 14 + Z95 * 1.5 * math.sqrt(7)  # about 20.5
    df = inventory_policy(
        snaps(
            ("at_risk", "2024-02-29", 15, 0, None),
            ("saved_by_order", "2024-02-29", 15, 10, None),
            ("edge", "2024-02-29", 20, 0, None),
            ("overstock", "2024-02-29", 61, 0, None),
            ("ok", "2024-02-29", 40, 0, None),
            ("dead_stock", "2024-02-29", 5, 0, None),
            ("nothing", "2024-02-29", 0, 0, None),
        ),
        paths({k: (f, sd) for k in ("at_risk", "saved_by_order", "edge", "overstock", "ok")}),
        AS_OF,
        pol,
        60,
    )
    alert = df.set_index("item_id")["alert"].to_dict()
    assert 20 < rop < 21
    assert alert == {
        "at_risk": "stockout_risk",  # 15 <= 20.5
        "saved_by_order": "ok",  # 15 + 10 on order > 20.5
        "edge": "stockout_risk",
        "overstock": "overstock",  # 61 / 2 = 30.5 days > 30
        "ok": "ok",
        "dead_stock": "overstock",  # no expected demand: cover is infinite
        "nothing": "ok",  # nothing on hand, nothing expected: no risk
    }
    dead = one(df, "dead_stock")
    assert math.isinf(dead["days_of_cover"]) and not dead["has_forecast"]
    assert dead["safety_stock"] == 0 and dead["order_qty"] == 0
    assert list(df.columns) == OUTPUT_COLUMNS + EXTRA_COLUMNS


def test_an_item_at_risk_is_told_to_order_at_least_one_unit() -> None:
    """A slow mover whose order-up-to level rounds to its stock position still gets an
    order once it is at or below its reorder point."""
    f, sd = [0.01] * 30, [0.25] * 30
    pol = Policy(lead_time_days=7, review_days=1)
    got = one(
        inventory_policy(
            snaps(("slow", "2024-02-29", 0, 1, None)), paths({"slow": (f, sd)}), AS_OF, pol, 30
        ),
        "slow",
    )
    assert got["reorder_point"] > 1 and got["order_up_to"] < 1.5  # rounds to the position
    assert got["alert"] == "stockout_risk" and got["order_qty"] == 1


def test_latest_snapshot_is_the_newest_before_the_cut() -> None:
    rows = snaps(
        ("a", "2024-02-20", 5, 0, 3),
        ("a", "2024-02-29 23:00", 7, 1, 4),
        ("a", "2024-03-01 00:00", 999, 0, 9),  # at as_of: not read
        ("b", "2024-03-02", 1, 0, 1),  # only after: the item is absent
    )
    got = latest_snapshots(rows, pd.Timestamp(AS_OF))
    assert got["item_id"].tolist() == ["a"]
    assert got.iloc[0]["on_hand"] == 7 and got.iloc[0]["lead_time_days"] == 4


def test_policy_settings_are_checked() -> None:
    base = {
        "service_level": 0.95,
        "lead_time_days": 7,
        "lead_time_sd_days": 0,
        "review_days": 7,
        "overstock_days": 90,
    }
    assert policy_from_config(base).z == pytest.approx(Z95)
    for key, bad in [("service_level", 1.0), ("service_level", 0), ("lead_time_days", -1)]:
        with pytest.raises(LiucunError, match=f"\\[inventory\\] {key}"):
            policy_from_config(base | {key: bad})


# -- replay ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "lead", "review", "target"),
    [(5.0, 7, 7, 0.95), (2.0, 14, 7, 0.95), (20.0, 3, 7, 0.90), (0.5, 7, 7, 0.95)],
)
def test_replay_reaches_the_target_service_level_on_poisson_demand(
    rate: float, lead: int, review: int, target: float
) -> None:
    """With the true mean as forecast and Poisson sd, a long series lands within two
    points of the target cycle service level (lost sales and backorders)."""
    rng = np.random.default_rng(int(rate * 100) + lead)
    demand = rng.poisson(rate, 20_000)
    pol = Policy(service_level=target, lead_time_days=lead, review_days=review)
    for backorder in (False, True):
        r = replay(demand, rate, math.sqrt(rate), policy=pol, backorder=backorder)
        assert r.cycles > 2800
        assert abs(r.cycle_service_level - target) <= 0.02, (backorder, r)
        assert r.fill_rate > target  # units: most cycles short by a little, if at all
        assert r.orders > 0.9 * r.cycles


def test_replay_follows_seasonal_forecasts_and_fails_without_safety() -> None:
    rng = np.random.default_rng(3)
    days = np.arange(21_000)
    mean = 6 + 4 * np.sin(days * 2 * np.pi / 7)
    demand = rng.poisson(mean)
    pol = Policy(service_level=0.95, lead_time_days=6, review_days=7)
    r = replay(demand, mean, np.sqrt(mean), policy=pol)
    assert abs(r.cycle_service_level - 0.95) <= 0.02
    # the same policy told there is no uncertainty holds no safety stock: about half the
    # cycles run short
    blind = replay(demand, mean, 0.0, policy=pol)
    assert blind.cycle_service_level < 0.7 and blind.mean_on_hand < r.mean_on_hand


def test_replay_with_variable_lead_times_uses_their_spread() -> None:
    rng = np.random.default_rng(4)
    n = 10_000
    demand = rng.poisson(5.0, n)
    leads = rng.choice([5, 6, 7, 8, 9], n)
    spread = float(np.std([5, 6, 7, 8, 9]))
    careless = replay(demand, 5.0, math.sqrt(5), policy=Policy(lead_time_days=7), lead_times=leads)
    careful = replay(
        demand,
        5.0,
        math.sqrt(5),
        policy=Policy(lead_time_days=7, lead_time_sd_days=spread),
        lead_times=leads,
    )
    assert careful.cycle_service_level > careless.cycle_service_level + 0.02
    assert careful.cycle_service_level >= 0.92


def test_replay_takes_a_forecast_callable() -> None:
    demand = np.full(200, 3.0)
    calls: list[int] = []

    def outlook(t: int, days: int) -> tuple[np.ndarray, np.ndarray]:
        calls.append(t)
        return np.full(days, 3.0), np.zeros(days)

    r = replay(demand, outlook, policy=Policy(lead_time_days=2, review_days=5))
    assert calls[:3] == [0, 5, 10]
    assert r.cycle_service_level == 1.0 and r.fill_rate == 1.0 and r.lost_units == 0
