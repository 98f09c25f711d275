"""`liucun forecast` end to end on a tiny simulated shop: the contract's columns at every
level, a row per day for every item sold in the year before as_of, non-negative bounds
around the forecast, levels that add up, the same output without the later rows, and one
clear line for each bad option."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from liucun.cli import app
from liucun.errors import LiucunError

AS_OF = "2024-05-01"
HORIZON = 10
SIM = {"users": 300, "days": 150, "holdout_days": 0, "seed": 1}
TABLES = ("items", "orders", "order_items")
runner = CliRunner()


def cli(ws: Path, *args: str) -> str:
    res = runner.invoke(app, ["--workspace", str(ws), *args])
    assert res.exit_code == 0, f"liucun {' '.join(args)}: {res.output}\n{res.exception!r}"
    return res.output


def ingest(ws: Path, files: Path, toml: str = "") -> Path:
    ws.mkdir(parents=True)
    (ws / "liucun.toml").write_text(toml, encoding="utf-8")
    for t in TABLES:
        cli(ws, "ingest", t, str(files / f"{t}.parquet"))
    return ws


@pytest.fixture(scope="module")
def shop(simulated: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory):
    src = simulated(**SIM)
    root = tmp_path_factory.mktemp("forecast")
    ws = ingest(root / "ws", src)
    out = {}
    for level in ("item", "category", "shop"):
        f = root / f"{level}.csv"
        line = cli(ws, "forecast", "--as-of", AS_OF, "--horizon", str(HORIZON), "--level", level,
                   "--out", str(f))  # fmt: skip
        assert f"× {HORIZON} days" in line and str(f.name) in line
        out[level] = pd.read_csv(f, dtype={"item_id": str, "category": str}, keep_default_na=False)
    return src, root, out


def _sold_in_year(src: Path) -> set[str]:
    o = pd.read_parquet(src / "orders.parquet")
    li = pd.read_parquet(src / "order_items.parquet")
    cut = pd.Timestamp(AS_OF, tz="UTC")
    o = o[
        (o["ts"] < cut) & (o["ts"] >= cut - pd.Timedelta(days=365)) & (o["status"] != "cancelled")
    ]
    return set(li.loc[li["order_id"].isin(o["order_id"]), "item_id"].astype(str))


def test_contract_columns_and_rows(shop) -> None:
    src, _root, out = shop
    keys = {"item": ["item_id"], "category": ["category"], "shop": []}
    days = pd.date_range(AS_OF, periods=HORIZON, freq="D").strftime("%Y-%m-%d").tolist()
    for level, df in out.items():
        assert list(df.columns) == [*keys[level], "date", "forecast", "lo", "hi"], level
        assert (df[["forecast", "lo", "hi"]] >= 0).all().all()
        assert (df["lo"] <= df["forecast"] + 1e-9).all() and (
            df["forecast"] <= df["hi"] + 1e-9
        ).all()
        per = df.groupby(keys[level])["date"].apply(list) if keys[level] else [df["date"].tolist()]
        assert all(sorted(d) == days for d in per), level
    assert set(out["item"]["item_id"]) == _sold_in_year(src)
    items = pd.read_parquet(src / "items.parquet")
    cats = set(items.loc[items["item_id"].isin(_sold_in_year(src)), "category"])
    assert set(out["category"]["category"]) == cats
    # Bottom-up: categories and the shop add up to the items.
    total = out["item"].groupby("date")["forecast"].sum()
    assert out["shop"].set_index("date")["forecast"].to_numpy() == pytest.approx(total.to_numpy())
    assert out["category"]["forecast"].sum() == pytest.approx(out["item"]["forecast"].sum())
    assert out["shop"]["forecast"].sum() > 0


def test_later_rows_change_nothing(shop) -> None:
    src, root, out = shop
    cut = pd.Timestamp(AS_OF, tz="UTC")
    before = root / "before"
    before.mkdir()
    o = pd.read_parquet(src / "orders.parquet")
    assert (o["ts"] >= cut).sum() > 10
    o[o["ts"] < cut].to_parquet(before / "orders.parquet", index=False)
    li = pd.read_parquet(src / "order_items.parquet")
    li[li["order_id"].isin(o.loc[o["ts"] < cut, "order_id"])].to_parquet(
        before / "order_items.parquet", index=False
    )
    pd.read_parquet(src / "items.parquet").to_parquet(before / "items.parquet", index=False)
    ws = ingest(root / "ws-before", before)
    f = root / "item-before.csv"
    cli(ws, "forecast", "--as-of", AS_OF, "--horizon", str(HORIZON), "--out", str(f))
    got = pd.read_csv(f, dtype={"item_id": str})
    pd.testing.assert_frame_equal(got, out["item"], check_exact=True)


def test_shop_timezone_from_toml(shop) -> None:
    src, root, _out = shop
    ws = ingest(root / "ws-sh", src, '[shop]\ntimezone = "Asia/Shanghai"\n')
    line = cli(ws, "forecast", "--as-of", AS_OF, "--horizon", "3", "--level", "shop")
    assert "(Asia/Shanghai)" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--level", "brand"], "--level brand: expected one of item, category, shop"),
        (["--interval", "1.5"], "--interval 1.5: must lie strictly between 0 and 1"),
        (["--interval", "0"], "--interval 0.0: must lie strictly between 0 and 1"),
        (["--horizon", "0"], "--horizon 0: must be at least 1 day"),
        (["--as-of", "2020-01-01"], "no orders before 2020-01-01"),
    ],
)
def test_bad_options_say_so_in_one_line(shop, args: list[str], message: str) -> None:
    _src, root, _out = shop
    res = runner.invoke(app, ["--workspace", str(root / "ws"), "forecast", *args])
    # The CLI's main prints a LiucunError as its one line (see test_cli_guards).
    assert isinstance(res.exception, LiucunError), res.output
    assert message in str(res.exception) and "\n" not in str(res.exception)
