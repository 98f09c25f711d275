"""`liucun inventory --as-of DATE --out FILE`: the contract columns per item with a stock
snapshot, the summary line, the one-line error without inventory, and nothing read at or
after as_of (00:00 in the shop's zone)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import liucun
import liucun.tasks.inventory as task
from liucun.cli import app
from liucun.decide.inventory import ALERTS, OUTPUT_COLUMNS
from liucun.errors import LiucunError

AS_OF = "2024-03-01"
INVENTORY = """item_id,ts,on_hand,on_order,lead_time_days
a,2024-02-20,50,0,3
a,2024-02-28,4,0,3
b,2024-02-28,500,0,
c,2024-02-28,30,10,5
d,2024-02-29 17:00:00,1,0,2
a,2024-03-01,999,0,3
e,2024-03-05,10,0,2
"""
# shop-day 2024-03-01 starts at 2024-02-29 16:00 UTC in Shanghai: d's snapshot is later
SHANGHAI = '[shop]\ntimezone = "Asia/Shanghai"\n'


def fake_paths(ws: object, as_of: dt.date, horizon: int) -> pd.DataFrame:
    """A forecast of 2 units a day (sd 1) for a, b, c and d: a stand-in for the model."""
    days = [(as_of + dt.timedelta(days=i)).isoformat() for i in range(horizon)]
    return pd.DataFrame(
        [(i, d, 2.0, 1.0) for i in ("a", "b", "c", "d") for d in days],
        columns=["item_id", "date", "forecast", "sd"],
    )


def make_ws(path: Path, text: str = INVENTORY, toml: str = "") -> Path:
    path.mkdir(parents=True)
    if toml:
        (path / "liucun.toml").write_text(toml, encoding="utf-8")
    f = path.parent / f"{path.name}.csv"
    f.write_text(text, encoding="utf-8")
    with liucun.Workspace(path) as ws:
        [r] = ws.ingest("inventory", f)
        assert r.quarantined == 0
    return path


def cli(ws: Path, *args: str) -> tuple[int, str]:
    """Exit code and output; a LiucunError as the one line ``main`` would print."""
    r = CliRunner().invoke(app, ["--workspace", str(ws), *args])
    if isinstance(r.exception, LiucunError):
        return 1, str(r.exception)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.output


def test_inventory_task_reads_only_snapshots_before_as_of(tmp_path: Path) -> None:
    day = dt.date.fromisoformat(AS_OF)
    with liucun.Workspace(make_ws(tmp_path / "utc")) as ws:
        r = task.inventory(ws, day, paths=fake_paths(ws, day, 120))
    df = r.frame.set_index("item_id")
    assert list(r.frame.columns[: len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS
    assert sorted(df.index) == ["a", "b", "c", "d"]  # e has no snapshot before as_of
    assert df.loc["a", "on_hand"] == 4  # the newest before as_of, not the 999 on it
    assert df.loc["d", "on_hand"] == 1  # 17:00 UTC on 02-29 is before 03-01 in UTC
    assert df.loc["b", "alert"] == "overstock"  # 500 / 2 = 250 days > 90
    assert df.loc["a", "alert"] == "stockout_risk"  # 4 <= 6 + 1.645·√3
    assert df.loc["a", "stockout_date"] == "2024-03-03"  # 2 + 2 + 2 > 4 on the third day
    st = r.stats
    assert st["items"] == 4 and st["stockout_risk"] + st["overstock"] + st["ok"] == 4
    assert r.frame["alert"].iloc[0] == "stockout_risk"  # the urgent first
    # In Shanghai the day starts 8 hours earlier: d's snapshot is on as_of, so not read.
    with liucun.Workspace(make_ws(tmp_path / "sh", toml=SHANGHAI)) as ws:
        r_sh = task.inventory(ws, day, paths=fake_paths(ws, day, 120))
    assert sorted(r_sh.frame["item_id"]) == ["a", "b", "c"]


def test_the_same_output_without_the_later_rows(tmp_path: Path) -> None:
    day = dt.date.fromisoformat(AS_OF)
    early = "\n".join(ln for ln in INVENTORY.splitlines() if not ln.startswith(("a,2024-03", "e,")))
    frames = []
    for name, text in (("full", INVENTORY), ("cut", early + "\n")):
        with liucun.Workspace(make_ws(tmp_path / name, text)) as ws:
            frames.append(task.inventory(ws, day, paths=fake_paths(ws, day, 120)).frame)
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_no_inventory_before_as_of_is_one_clear_line(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "late", "item_id,ts,on_hand\na,2024-03-05,3\n")
    code, out = cli(ws, "inventory", "--as-of", AS_OF, "--out", str(tmp_path / "o.csv"))
    assert code == 1
    assert out == (
        "no inventory rows before 2024-03-01: ingest an inventory table first: "
        "liucun ingest inventory FILE"
    )
    assert not (tmp_path / "o.csv").exists()


def test_cli_writes_the_contract_and_a_summary_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end through the CLI with the forecast stood in (the policy is the same)."""
    monkeypatch.setattr(task, "demand_paths", fake_paths)
    ws = make_ws(tmp_path / "w")
    out = tmp_path / "inventory.csv"
    code, text = cli(ws, "inventory", "--as-of", AS_OF, "--out", str(out))
    assert code == 0, text
    df = pd.read_csv(out, dtype={"item_id": str})
    assert list(df.columns[: len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS
    n = df["alert"].value_counts()
    # The summary line (a console narrower than a long temporary path may wrap it).
    line = " ".join(text.split())
    line = line[line.index(f"inventory as of {AS_OF}") :]
    assert line.startswith(
        f"inventory as of {AS_OF}: 4 items, stockout_risk {n.get('stockout_risk', 0)}, "
        f"overstock {n.get('overstock', 0)}, ok {n.get('ok', 0)}"
    )
    assert (
        f"{int((df['order_qty'] > 0).sum())} to order ({int(df['order_qty'].sum())} units)" in line
    )
    parquet = tmp_path / "inventory.parquet"
    assert cli(ws, "inventory", "--as-of", AS_OF, "--out", str(parquet))[0] == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(parquet)[["item_id", "order_qty", "alert"]],
        df[["item_id", "order_qty", "alert"]],
        check_dtype=False,
    )


def test_bad_settings_are_named(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "bad", toml="[inventory]\nservice_level = 1.5\n")
    code, out = cli(ws, "inventory", "--as-of", AS_OF)
    assert code == 1 and "[inventory] service_level = 1.5" in out


# -- with the real demand forecast ------------------------------------------------------

SIM = {"users": 300, "days": 150, "holdout_days": 0, "seed": 1, "scenario": "retail"}
SIM_AS_OF = "2024-05-01"


def test_cli_on_a_simulated_shop_with_the_forecast(
    simulated: Callable[..., Path], tmp_path: Path
) -> None:
    pytest.importorskip("liucun.tasks.forecast")
    src = simulated(**SIM)
    ws = tmp_path / "shop"
    for t in ("items", "orders", "order_items", "inventory"):
        code, text = cli(ws, "ingest", t, str(src / f"{t}.parquet"))
        assert code == 0, text
    out = tmp_path / "inventory.csv"
    code, text = cli(ws, "inventory", "--as-of", SIM_AS_OF, "--out", str(out))
    assert code == 0, text
    df = pd.read_csv(out, dtype={"item_id": str})
    inv = pd.read_parquet(src / "inventory.parquet")
    before = inv[inv["ts"] < pd.Timestamp(SIM_AS_OF, tz="UTC")]
    assert sorted(df["item_id"]) == sorted(before["item_id"].astype(str).unique())
    assert list(df.columns[: len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS
    assert set(df["alert"]) <= set(ALERTS)
    latest = before.sort_values("ts").groupby("item_id", observed=True).last()["on_hand"]
    got = df.set_index("item_id")["on_hand"]
    assert (got == latest.rename(index=str).reindex(got.index)).all()
    for c in ("daily_demand", "safety_stock", "reorder_point", "order_qty", "days_of_cover"):
        assert (df[c] >= 0).all(), c
    assert (df["reorder_point"] >= df["safety_stock"] - 1e-9).all()
    dated = df["stockout_date"].dropna()
    assert (dated >= SIM_AS_OF).all()
    # an item out of stock with expected demand runs out on as_of itself
    gone = df[(df["on_hand"] == 0) & (df["daily_demand"] > 0) & (df["on_order"] == 0)]
    assert (gone["stockout_date"] == SIM_AS_OF).all()
    assert math.isfinite(df.loc[df["daily_demand"] > 0, "days_of_cover"].max())
    assert "stockout_risk" in text
