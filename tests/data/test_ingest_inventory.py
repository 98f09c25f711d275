"""Ingest of the ``inventory`` table: stock snapshots keyed by (item_id, ts).

Every row is loaded, a duplicate, an update (a corrected count for the same item and
moment) or quarantined with its reason; re-ingesting a file changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import liucun
from liucun.cli import app
from liucun.schema import get_table

INVENTORY_CSV = """item_id,ts,on_hand,on_order,lead_time_days
sku-001,2024-03-01,40,0,7
sku-001,2024-03-08,12,30,7
sku-002,2024-03-08,-3,0,5
sku-003,2024-03-08,2.5,,
sku-004,2024-03-08,9,-1,
sku-005,2024-03-08,8,,-2
sku-006,,5,,
0007,2024-03-08 10:00:00,0,10,3.5
sku-008,2024-03-08,1,,
sku-009,2024-03-08,100,0,14
sku-010,2024-03-08,0,0,0
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def quarantine(ws: liucun.Workspace) -> dict[int, tuple[str, str]]:
    rows = ws.warehouse.con.execute(
        "SELECT row_number, column_name, reason FROM quarantine WHERE table_name = 'inventory'"
    ).fetchall()
    return {int(r): (c, why) for r, c, why in rows}


def test_inventory_is_a_canonical_table() -> None:
    t = get_table("inventory")
    assert t.required == ("item_id", "ts", "on_hand")
    assert t.key == ("item_id", "ts") and t.unique_key and t.id_column is None


def test_bad_rows_are_quarantined_with_reasons_and_the_rest_loaded(
    ws: liucun.Workspace, tmp_path: Path
) -> None:
    [r] = ws.ingest("inventory", write(tmp_path / "inv.csv", INVENTORY_CSV))
    assert r.balanced
    assert (r.read, r.loaded, r.updated, r.duplicates, r.quarantined) == (11, 6, 0, 0, 5)
    bad = quarantine(ws)
    # _row counts data rows from 1 (the header is not a row)
    assert set(bad) == {3, 4, 5, 6, 7}
    assert bad[3] == ("on_hand", "negative on_hand")
    assert bad[4][0] == "on_hand" and bad[4][1].startswith("non-integer on_hand")
    assert bad[5] == ("on_order", "negative on_order")
    assert bad[6] == ("lead_time_days", "negative lead_time_days")
    assert bad[7] == ("ts", "missing ts")
    df = ws.table("inventory").order_by(["item_id", "ts"]).execute().head(3)
    assert df["item_id"].tolist() == ["0007", "sku-001", "sku-001"]  # ids stay text
    assert df["on_hand"].tolist() == [0, 40, 12]
    assert df["on_order"].tolist() == [10, 0, 30]
    assert df["lead_time_days"].tolist() == [3.5, 7.0, 7.0]
    assert df["ts"].iloc[0] == pd.Timestamp("2024-03-08 10:00:00")


def test_reingest_is_idempotent_and_a_corrected_count_is_an_update(
    ws: liucun.Workspace, tmp_path: Path
) -> None:
    f = write(tmp_path / "inv.csv", INVENTORY_CSV)
    ws.ingest("inventory", f)
    [again] = ws.ingest("inventory", f)
    assert (again.loaded, again.updated, again.duplicates, again.quarantined) == (0, 0, 6, 5)
    assert ws.warehouse.count("inventory") == 6
    assert ws.warehouse.count("quarantine") == 5  # not repeated
    # The same item and moment with another count: the newer file wins, the old is history.
    fix = write(
        tmp_path / "fix.csv",
        "item_id,ts,on_hand,on_order,lead_time_days\n"
        "sku-001,2024-03-08,11,30,7\n"
        "sku-001,2024-03-15,20,0,7\n",
    )
    [r] = ws.ingest("inventory", fix)
    assert (r.loaded, r.updated, r.duplicates) == (1, 1, 0)
    df = ws.table("inventory").filter(lambda t: t.item_id == "sku-001").order_by("ts").execute()
    assert df["on_hand"].tolist() == [40, 11, 20]
    hist = ws.warehouse.con.execute("SELECT on_hand FROM inventory_history").fetchall()
    assert hist == [(12,)]


def test_a_repeated_snapshot_in_one_file_keeps_the_last(
    ws: liucun.Workspace, tmp_path: Path
) -> None:
    f = write(
        tmp_path / "rep.csv",
        "item_id,ts,on_hand\nA,2024-03-01,5\nA,2024-03-01,6\nA,2024-03-01,6\nB,2024-03-01,1\n",
    )
    [r] = ws.ingest("inventory", f)
    assert r.balanced and r.read == 4 and r.loaded == 2
    got = ws.table("inventory").order_by("item_id").execute()
    assert got["on_hand"].tolist() == [6, 1]
    [again] = ws.ingest("inventory", f)
    assert (again.loaded, again.updated) == (0, 0) and again.duplicates == 4


def test_parquet_and_cli_ingest(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "sku": ["a", "b", "c"],
            "date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-02"]),
            "on_hand": [3.0, 0.0, -1.0],
            "on_order": [None, 4.0, None],
        }
    )
    path = tmp_path / "inv.parquet"
    df.to_parquet(path, index=False)
    res = CliRunner().invoke(
        app, ["--workspace", str(tmp_path / "w"), "ingest", "inventory", str(path)]
    )
    assert res.exit_code == 0, res.output
    assert "inventory: read 3 = loaded 2 + updated 0 + duplicates 0 + quarantined 1" in (
        res.output.replace("\n", " ")
    )
    with liucun.Workspace(tmp_path / "w") as ws:
        assert quarantine(ws) == {3: ("on_hand", "negative on_hand")}


@pytest.mark.parametrize("missing", ["on_hand", "ts"])
def test_a_missing_required_column_is_refused(
    ws: liucun.Workspace, tmp_path: Path, missing: str
) -> None:
    cols = ["item_id", "ts", "on_hand"]
    cols.remove(missing)
    f = write(tmp_path / "x.csv", ",".join(cols) + "\n" + ",".join("1" for _ in cols) + "\n")
    with pytest.raises(liucun.LiucunError, match=f"missing required column.*{missing}"):
        ws.ingest("inventory", f)
    assert ws.warehouse.count("inventory") == 0


def test_a_warehouse_from_before_inventory_is_migrated(tmp_path: Path) -> None:
    """A version-2 warehouse (no inventory table) gains it on opening: every command that
    lists the canonical tables would otherwise fail on it."""
    import duckdb

    from liucun.engines import workspace_tables
    from liucun.migrations import SCHEMA_VERSION

    orders = write(tmp_path / "o.csv", "order_id,user_id,ts,amount\no1,u1,2024-01-01,5\n")
    with liucun.Workspace(tmp_path / "w") as ws:
        ws.ingest("orders", orders)
    path = tmp_path / "w" / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE inventory")
    con.execute("DROP TABLE inventory_history")
    con.execute("DELETE FROM schema_version")
    con.execute("INSERT INTO schema_version VALUES (2, now()::TIMESTAMP, 'v2')")
    con.close()
    with liucun.Workspace(tmp_path / "w") as ws:
        assert ws.warehouse.schema_version() == SCHEMA_VERSION == 3
        assert set(workspace_tables(ws)) == {"orders"}
        [r] = ws.ingest(
            "inventory", write(tmp_path / "i.csv", "item_id,ts,on_hand\na,2024-01-01,3\n")
        )
        assert r.loaded == 1 and ws.warehouse.count("orders") == 1
