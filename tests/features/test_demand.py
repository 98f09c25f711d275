"""daily_units: units by the shop's calendar day, cancelled orders out, nothing at or after
00:00 of as_of in the shop's zone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import liucun
from liucun.errors import LiucunError
from liucun.features.demand import daily_units, item_categories, shop_midnight_utc


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> liucun.Workspace:
    root = tmp_path_factory.mktemp("demand")
    orders = pd.DataFrame(
        {
            "order_id": ["a", "b", "c", "d", "e"],
            "user_id": ["u1", "u2", "u3", "u4", "u5"],
            # a: 23:30 UTC on Jan 9 = 07:30 on Jan 10 in Shanghai.
            "ts": pd.to_datetime(
                [
                    "2024-01-09 23:30",
                    "2024-01-09 10:00",
                    "2024-01-09 11:00",
                    "2024-01-10 15:59",  # 23:59 Jan 10 Shanghai: before as_of there
                    "2024-01-10 16:00",  # 00:00 Jan 11 Shanghai: at as_of, never read
                ]
            ),
            "amount": [10.0, 20.0, 5.0, 8.0, 9.0],
            "status": ["paid", "paid", "cancelled", "refunded", "paid"],
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": ["a", "b", "b", "c", "d", "e"],
            "item_id": ["i1", "i1", "i2", "i1", "i2", "i2"],
            "quantity": [2, 1, 3, 5, 1, 4],
            "price": [10.0, 16.0, 1.0, 1.0, 3.0, 2.0],
        }
    )
    items = pd.DataFrame({"item_id": ["i1", "i2"], "category": ["food/tea", None]})
    w = liucun.Workspace(root / "ws")
    for name, df in (("orders", orders), ("order_items", lines), ("items", items)):
        f = root / f"{name}.csv"
        df.to_csv(f, index=False)
        w.ingest(name, f)
    return w


def _rows(df: pd.DataFrame) -> set[tuple[str, str, float]]:
    return {(r.item_id, r.date.strftime("%Y-%m-%d"), r.units) for r in df.itertuples()}


def test_utc_days(ws: liucun.Workspace) -> None:
    d = daily_units(ws, dt.date(2024, 1, 11))
    assert list(d.columns) == ["item_id", "date", "units", "price"]
    assert _rows(d) == {
        ("i1", "2024-01-09", 3.0),  # a (2) + b (1); cancelled c left out
        ("i2", "2024-01-09", 3.0),
        ("i2", "2024-01-10", 5.0),  # d (refunded counts) + e
    }
    i1 = d[d["item_id"] == "i1"].iloc[0]
    assert i1["price"] == pytest.approx((2 * 10.0 + 16.0) / 3)


def test_shop_timezone_moves_the_day_and_the_cut(ws: liucun.Workspace) -> None:
    d = daily_units(ws, dt.date(2024, 1, 11), tz="Asia/Shanghai")
    assert _rows(d) == {
        ("i1", "2024-01-09", 1.0),  # b at 18:00 Shanghai
        ("i1", "2024-01-10", 2.0),  # a at 23:30 UTC lands on the next day
        ("i2", "2024-01-09", 3.0),
        ("i2", "2024-01-10", 1.0),  # d; e is at 00:00 of as_of in Shanghai: not read
    }
    assert shop_midnight_utc(dt.date(2024, 1, 11), "Asia/Shanghai") == dt.datetime(2024, 1, 10, 16)


def test_window_and_bad_zone(ws: liucun.Workspace) -> None:
    assert daily_units(ws, dt.date(2024, 1, 10)).shape[0] == 2  # Jan 9 only
    assert daily_units(ws, dt.date(2024, 1, 11), days=1)["date"].nunique() == 1
    assert daily_units(ws, dt.date(2023, 1, 1)).empty
    with pytest.raises(LiucunError, match="time zone"):
        daily_units(ws, dt.date(2024, 1, 11), tz="Mars/Olympus")


def test_item_categories(ws: liucun.Workspace, tmp_path: Path) -> None:
    assert item_categories(ws) == {"i1": "food/tea", "i2": ""}
