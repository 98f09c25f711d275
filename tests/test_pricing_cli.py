"""`liucun pricing` end to end: a hand-made shop whose prices move (the elasticity comes
back through ingest, the shop's days and the promotion controls), and the simulated shop
(whose few price changes give "not enough price variation", not a guess)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from liucun.cli import app
from liucun.config import defaults
from liucun.tasks.pricing import NO_VARIATION, OUTPUT_COLUMNS

runner = CliRunner()
TRUE_E = -2.0
AS_OF = "2024-03-01"


def cli(ws: Path, *args: str) -> str:
    res = runner.invoke(app, ["--workspace", str(ws), *args])
    assert res.exit_code == 0, f"liucun {' '.join(args)}: {res.output}\n{res.exception!r}"
    return res.output


def shop_files(root: Path, seed: int = 0) -> Path:
    """Orders, lines and items of a shop with two categories: "toys" moves prices (8 steps
    per item, and coupon days that cut every price by 25% while demand rises anyway),
    "tea" never changes a price. One order per item and day with sales."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", "2024-03-31", freq="D")
    promo = rng.random(len(dates)) < 0.08
    orders, lines, items = [], [], []
    for cat, n_items, steps in (("toys/blocks", 12, 8), ("food/tea", 4, 0)):
        for i in range(n_items):
            item = f"{cat.split('/')[0]}{i:02d}"
            base = float(np.exp(rng.uniform(np.log(20), np.log(150))))
            shift = np.zeros(len(dates))
            for t in rng.choice(np.arange(20, len(dates)), steps, replace=False):
                shift[t:] += rng.normal(0, 0.15)
            cut = promo if steps else np.zeros(len(dates), bool)
            price = np.round(base * np.exp(shift) * np.where(cut, 0.75, 1.0), 2)
            mu = np.exp(np.log(3.0) + TRUE_E * np.log(price / base) + 0.9 * cut)
            qty = rng.poisson(mu)
            items.append({"item_id": item, "category": cat, "price": base})
            for day, q, p, c in zip(dates, qty, price, cut, strict=True):
                if q == 0:
                    continue
                oid = f"o{len(orders):06d}"
                orders.append(
                    {
                        "order_id": oid,
                        "user_id": f"u{rng.integers(500):03d}",
                        "ts": day + pd.Timedelta(hours=int(rng.integers(8, 22))),
                        "amount": float(q * p),
                        "discount": 5.0 if c else 0.0,
                        "status": "paid",
                    }
                )
                lines.append({"order_id": oid, "item_id": item, "quantity": int(q), "price": p})
    root.mkdir(parents=True)
    o = pd.DataFrame(orders)
    o["ts"] = o["ts"].dt.tz_localize("UTC")
    o.to_parquet(root / "orders.parquet", index=False)
    pd.DataFrame(lines).to_parquet(root / "order_items.parquet", index=False)
    pd.DataFrame(items).to_parquet(root / "items.parquet", index=False)
    return root


def test_pricing_recovers_the_elasticity_end_to_end(tmp_path: Path) -> None:
    files = shop_files(tmp_path / "files")
    ws = tmp_path / "ws"
    for t in ("items", "orders", "order_items"):
        cli(ws, "ingest", t, str(files / f"{t}.parquet"))
    out = tmp_path / "pricing.csv"
    said = cli(ws, "pricing", "--as-of", AS_OF, "--out", str(out))
    assert f"pricing as of {AS_OF}: 2 categories (1 with enough price variation)" in said
    df = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(df.columns) == OUTPUT_COLUMNS
    toys = df[(df["level"] == "category") & (df["category"] == "toys/blocks")].iloc[0]
    assert abs(toys["elasticity"] - TRUE_E) <= 0.3, toys.to_dict()
    assert toys["lo"] < TRUE_E < toys["hi"]
    assert toys["n_price_changes"] >= 5
    tea = df[df["category"] == "food/tea"]
    assert list(tea["level"]) == ["category"]  # no item rows without price changes
    assert tea["note"].item() == NO_VARIATION and np.isnan(tea["elasticity"].item())
    assert tea["suggested_discount"].item() == 0
    item_rows = df[df["level"] == "item"]
    assert len(item_rows) == 12 and item_rows["item_id"].str.startswith("toys").all()
    assert abs(item_rows["elasticity"].median() - TRUE_E) <= 0.3
    # e = -2 at a 60% cost share: margin peaks at 1.2x the list price, so no discount.
    assert (df["suggested_discount"] == 0).all()
    assert toys["note"].startswith("margin is highest above the list price")


def test_discount_keeps_the_margin_floor(tmp_path: Path) -> None:
    """A cheap-to-make range (20% cost share) with e = -2: Lerner's rule says 60% off,
    [pricing] max_discount and margin_floor cap it."""
    files = shop_files(tmp_path / "files", seed=1)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "liucun.toml").write_text(
        "[pricing]\ncost_share = 0.2\nmargin_floor = 0.6\nmax_discount = 0.55\n", encoding="utf-8"
    )
    for t in ("items", "orders", "order_items"):
        cli(ws, "ingest", t, str(files / f"{t}.parquet"))
    out = tmp_path / "pricing.parquet"
    cli(ws, "pricing", "--as-of", AS_OF, "--out", str(out))
    df = pd.read_parquet(out)
    toys = df[(df["level"] == "category") & (df["category"] == "toys/blocks")].iloc[0]
    assert toys["suggested_discount"] > 0
    price = 1 - df["suggested_discount"]
    assert ((price - 0.2) / price >= 0.6 - 1e-9).all()
    assert toys["suggested_discount"] == 0.5  # 1 - 0.2 / (1 - 0.6): the floor binds
    assert "margin floor" in toys["note"]


def test_pricing_on_the_simulated_shop(simulated: Callable[..., Path], tmp_path: Path) -> None:
    src = simulated(users=300, days=150, holdout_days=0, seed=1)
    ws = tmp_path / "ws"
    for t in ("users", "items", "orders", "order_items"):
        cli(ws, "ingest", t, str(src / f"{t}.parquet"))
    out = tmp_path / "pricing.csv"
    said = cli(ws, "pricing", "--as-of", "2024-05-01", "--out", str(out))
    assert said.startswith("pricing as of 2024-05-01:")
    df = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(df.columns) == OUTPUT_COLUMNS
    cats = df[df["level"] == "category"]
    assert len(cats) > 5 and cats["category"].is_unique
    few = df["n_price_changes"] < int(defaults()["pricing"]["min_price_changes"])
    assert few.any()
    assert (df.loc[few, "note"] == NO_VARIATION).all()
    assert df.loc[few, "elasticity"].isna().all() and df.loc[few, "lo"].isna().all()
    assert (df.loc[few, "suggested_discount"] == 0).all()
    assert df["suggested_discount"].between(0, 0.5).all()
