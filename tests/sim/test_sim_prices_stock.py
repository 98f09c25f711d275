"""The retail world (issue 20): prices and promotions with true elasticities, stock that
runs out and comes back after a lead time, and truth files to score forecasts, pricing and
inventory alerts against."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from liucun.sim import SCENARIOS, simulate
from liucun.sim.calendar import promo_flags
from liucun.sim.population import TOP_CATEGORIES

# One retail shop for the whole file: enough units per category to see the elasticities.
RUN = {"users": 8000, "days": 300, "holdout_days": 30, "seed": 5}
SMALL = {"users": 600, "days": 90, "holdout_days": 20}
INVENTORY_COLUMNS = ["item_id", "ts", "on_hand", "on_order", "lead_time_days"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("retail")
    simulate(root, scenario="retail", **RUN)
    return root


def _sales(root: Path, holdout: bool = False) -> pd.DataFrame:
    """Order lines with the UTC day their order was placed (cancelled ones included: the
    shelf served them)."""
    base = root / "truth" / "holdout" if holdout else root
    lines = pd.read_parquet(base / "order_items.parquet")
    orders = pd.read_parquet(base / "orders.parquet", columns=["order_id", "ts"])
    lines["item_id"] = lines["item_id"].astype(str)
    m = lines.merge(orders, on="order_id", how="inner", validate="many_to_one")
    m["date"] = m["ts"].dt.tz_convert(None).dt.normalize().dt.date
    return m


def _stock(root: Path) -> pd.DataFrame:
    st = pd.read_parquet(root / "truth" / "stock.parquet")
    st["date"] = pd.to_datetime(st["date"]).dt.date
    return st


def _items(root: Path) -> pd.DataFrame:
    items = pd.read_parquet(root / "items.parquet")
    items["top"] = items["category"].str.split("/").str[0]
    return items


def _fit_elasticity(units: np.ndarray, exposure: np.ndarray, price: np.ndarray, item) -> float:
    """Poisson log-log fit with item fixed effects: units ~ exposure x a_item x price^e,
    profiled over e on a grid (the item effects have a closed form)."""
    codes = pd.factorize(pd.Series(item))[0]
    total = np.bincount(codes, units)
    lp = np.log(price)
    grid = np.linspace(-4.0, 1.0, 501)
    ll = [
        (units * e * lp).sum()
        - (total * np.log(np.bincount(codes, exposure * np.exp(e * lp)))).sum()
        for e in grid
    ]
    return float(grid[int(np.argmax(ll))])


# -- prices, promotions and elasticities ---------------------------------------------------
def test_elasticities_truth_and_a_category_whose_prices_never_move(shop: Path) -> None:
    el = pd.read_parquet(shop / "truth" / "elasticities.parquet")
    assert list(el.columns[:3]) == ["category", "elasticity", "n_price_changes"]
    assert sorted(el["category"]) == sorted(TOP_CATEGORIES)
    assert el["elasticity"].between(-2.5, -0.5).all()
    assert el["elasticity"].nunique() == len(el)  # drawn per category, not one for all
    changes = el.set_index("category")["n_price_changes"]
    assert changes["books"] == 0  # never changes, never on promotion
    assert (changes.drop("books") >= 5).all()
    assert changes["apparel"] > changes["toys"]  # some categories move often, some rarely
    # The count is what the history's shelf prices show.
    st = _stock(shop)
    items = _items(shop)
    hist = st[st["date"] < dt.date(2024, 1, 1) + dt.timedelta(days=RUN["days"])]
    hist = hist.merge(items[["item_id", "top"]], on="item_id").sort_values(["item_id", "date"])
    moved = hist.groupby("item_id")["price"].diff().fillna(0) != 0
    assert moved.groupby(hist["top"]).sum().to_dict() == changes.to_dict()


def test_order_lines_carry_the_price_paid_that_day(shop: Path) -> None:
    sales = _sales(shop)
    st = _stock(shop)
    joined = sales.merge(st[["item_id", "date", "price"]], on=["item_id", "date"], how="left")
    assert joined["price_y"].notna().all()
    assert np.allclose(joined["price_x"], joined["price_y"])
    items = _items(shop).set_index("item_id")
    listed = items.loc[sales["item_id"], "price"].to_numpy()
    top = items.loc[sales["item_id"], "top"].to_numpy()
    books = top == "books"
    assert books.any() and np.allclose(sales["price"].to_numpy()[books], listed[books])
    assert (sales["price"].to_numpy()[~books] != listed[~books]).mean() > 0.2
    # 6.18 is a promotion: every category but books sells below its regular price.
    peak = dt.date(2024, 6, 18)
    day = st[st["date"] == peak].set_index("item_id")["price"]
    before = st[st["date"] == peak - dt.timedelta(days=1)].set_index("item_id")["price"]
    cut = (day < before).groupby(items["top"]).mean()
    assert cut["books"] == 0 and (cut.drop("books") > 0.8).all()


def test_elasticities_are_recoverable_from_the_sales(shop: Path) -> None:
    """Within categories whose prices move often, a log-log fit of the units wanted (sold
    plus lost to empty shelves) on the paid price, with item effects, promotion days left
    out and the day's units of the other categories as exposure, lands near the truth."""
    sales = _sales(shop)
    st = _stock(shop)
    items = _items(shop)
    last = dt.date(2024, 1, 1) + dt.timedelta(days=RUN["days"] - 1)
    st = st[st["date"] <= last].merge(items[["item_id", "top"]], on="item_id")
    units = sales.groupby(["item_id", "date"])["quantity"].sum()
    key = pd.MultiIndex.from_frame(st[["item_id", "date"]])
    st["units"] = units.reindex(key).fillna(0).to_numpy()
    assert st["units"].sum() == sales["quantity"].sum()
    st["units"] += st["lost_units"]  # censoring would pull the fit towards zero
    days = sorted(st["date"].unique())
    promo = set(np.array(days)[promo_flags(days[0], len(days))])
    el = pd.read_parquet(shop / "truth" / "elasticities.parquet").set_index("category")
    often = [c for c in el.index if el.loc[c, "changes_per_item_year"] >= 8]
    assert len(often) >= 2
    errors = {}
    for category in often:
        other = st[st["top"] != category].groupby("date")["units"].sum()
        c = st[(st["top"] == category) & ~st["date"].isin(promo)].copy()
        c["exposure"] = c["date"].map(other)
        g = c.groupby(["item_id", "price"], as_index=False)[["units", "exposure"]].sum()
        g = g[g.groupby("item_id")["units"].transform("sum") > 0]
        fit = _fit_elasticity(
            g["units"].to_numpy(), g["exposure"].to_numpy(), g["price"].to_numpy(), g["item_id"]
        )
        errors[category] = fit - el.loc[category, "elasticity"]
    print(errors)
    assert all(abs(e) < 0.5 for e in errors.values()), errors
    assert np.mean(np.abs(list(errors.values()))) < 0.3, errors


# -- stock ---------------------------------------------------------------------------------
def test_stock_outs_censor_sales(shop: Path) -> None:
    st = _stock(shop)
    sold = _sales(shop).groupby(["item_id", "date"])["quantity"].sum()
    key = pd.MultiIndex.from_frame(st[["item_id", "date"]])
    st["sold"] = sold.reindex(key).fillna(0).to_numpy()
    hist = st[st["date"] < dt.date(2024, 1, 1) + dt.timedelta(days=RUN["days"])]
    empty = hist["on_hand"] == 0
    assert empty.mean() > 0.005  # shelves do run empty ...
    assert hist.loc[empty, "sold"].sum() == 0  # ... and an empty shelf sells nothing
    assert (hist["sold"] <= hist["on_hand"]).all()
    assert (hist.loc[hist["lost_units"] > 0, "stockout"]).all()
    assert hist.loc[empty, "stockout"].all()
    lost_share = hist["lost_units"].sum() / (hist["lost_units"].sum() + hist["sold"].sum())
    assert 0.01 < lost_share < 0.3, lost_share
    # Stock moves only by sales and deliveries: tomorrow's shelf is today's minus sales
    # plus what arrived, and deliveries come from orders placed at least a lead time ago.
    inv = pd.read_parquet(shop / "inventory.parquet")
    inv["item_id"] = inv["item_id"].astype(str)
    inv = inv.sort_values(["item_id", "ts"]).reset_index(drop=True)
    hist = hist.sort_values(["item_id", "date"]).reset_index(drop=True)
    assert (inv["on_hand"].to_numpy() == hist["on_hand"].to_numpy()).all()
    nxt = inv.groupby("item_id")["on_hand"].shift(-1)
    arrived = nxt - (inv["on_hand"] - hist["sold"])
    assert (arrived.dropna() >= 0).all()
    assert (arrived.dropna() > 0).sum() > 100  # replenishment happens


def test_inventory_file_columns_and_types(shop: Path) -> None:
    inv = pd.read_parquet(shop / "inventory.parquet")
    assert list(inv.columns) == INVENTORY_COLUMNS
    assert str(inv["ts"].dtype) == "datetime64[us, UTC]"
    for c in ("on_hand", "on_order", "lead_time_days"):
        assert inv[c].dtype == np.int64, c
        assert (inv[c] >= 0).all(), c
    ids = inv["item_id"].astype(str)
    assert ids.str.fullmatch(r"i\d+").all()
    n_items = len(pd.read_parquet(shop / "items.parquet"))
    assert len(inv) == n_items * RUN["days"] and ids.nunique() == n_items
    start = pd.Timestamp("2024-01-01", tz="UTC")
    assert inv["ts"].min() == start
    assert inv["ts"].max() == start + pd.Timedelta(days=RUN["days"] - 1)
    assert (inv["ts"] == inv["ts"].dt.normalize()).all()  # as the shop opens, 00:00 UTC
    lead = inv.groupby(ids)["lead_time_days"]
    assert (lead.nunique() == 1).all() and lead.first().between(3, 21).all()
    assert lead.first().nunique() > 10
    assert (inv["on_order"] > 0).mean() > 0.05
    hold = pd.read_parquet(shop / "truth" / "holdout" / "inventory.parquet")
    assert list(hold.columns) == INVENTORY_COLUMNS
    assert hold["ts"].min() == start + pd.Timedelta(days=RUN["days"])
    assert len(hold) == n_items * RUN["holdout_days"]
    st = pd.read_parquet(shop / "truth" / "stock.parquet")
    assert list(st.columns[:5]) == ["item_id", "date", "on_hand", "stockout", "lost_units"]
    assert st["stockout"].dtype == bool and st["lost_units"].dtype == np.int64
    assert len(st) == n_items * (RUN["days"] + RUN["holdout_days"])


def test_demand_truth_is_uncensored_and_follows_the_promotion(shop: Path) -> None:
    demand = pd.read_parquet(shop / "truth" / "demand.parquet")
    demand["date"] = pd.to_datetime(demand["date"]).dt.date
    st = _stock(shop)
    hold = _sales(shop, holdout=True)
    days = set(demand["date"])
    expected = demand["expected_units"].sum()
    sold = hold["quantity"].sum()
    lost = st.loc[st["date"].isin(days), "lost_units"].sum()
    # Units are lumpy (1 + Poisson lines, quantity 1 or 2): a variance of ~2 per unit.
    sd = np.sqrt(2.0 * expected)
    print(expected, sold, lost)
    assert abs(sold + lost - expected) < 4 * sd  # what would sell with stock ...
    assert lost > 2 * sd  # ... which the shelves did not all serve: a truth of the units
    assert abs(sold + lost - expected) < abs(sold - expected)  # sold would miss it
    # 11.11 lies in the holdout: discounted categories jump more than books do.
    items = _items(shop).set_index("item_id")["top"]
    demand["top"] = demand["item_id"].map(items)
    by = demand.groupby(["date", "top"])["expected_units"].sum().unstack()
    peak, before = dt.date(2024, 11, 11), dt.date(2024, 11, 4)
    jump = by.loc[peak] / by.loc[before]
    assert (jump.drop("books") > jump["books"]).all(), jump


# -- determinism and the other worlds -------------------------------------------------------
def test_same_seed_same_world_and_no_retail_files_elsewhere(tmp_path: Path) -> None:
    for name, seed in (("a", 2), ("b", 2), ("c", 3)):
        simulate(tmp_path / name, scenario="retail", seed=seed, **SMALL)
    files = (
        "inventory.parquet",
        "order_items.parquet",
        "truth/stock.parquet",
        "truth/elasticities.parquet",
        "truth/demand.parquet",
        "truth/holdout/inventory.parquet",
    )
    for f in files:
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "a" / f), pd.read_parquet(tmp_path / "b" / f), obj=f
        )
    el_a = pd.read_parquet(tmp_path / "a" / "truth" / "elasticities.parquet")
    el_c = pd.read_parquet(tmp_path / "c" / "truth" / "elasticities.parquet")
    assert not np.allclose(el_a["elasticity"], el_c["elasticity"])
    assert SCENARIOS["retail"].retail is not None and SCENARIOS["default"].retail is None
    simulate(tmp_path / "d", seed=2, **SMALL)
    assert not (tmp_path / "d" / "inventory.parquet").exists()
    assert not (tmp_path / "d" / "truth" / "stock.parquet").exists()
    assert not (tmp_path / "d" / "truth" / "elasticities.parquet").exists()
