"""The ingest contract: validated, idempotent, atomic, every row accounted for."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

import liucun
from liucun.errors import SourceError, StrictRejected

ORDERS_CSV = """order_id,user_id,ts,amount,quantity,status
o1,00001,2024-01-01 10:00:00,10.5,1,paid
o2,00002,2024-01-02T08:00:00Z,0,2,paid
o3,00001,2024-01-03 09:30:00,-4.0,1,refunded
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows(ws: liucun.Workspace, sql: str) -> list[tuple]:
    return ws.warehouse.con.execute(sql).fetchall()


def test_workspace_layout(ws: liucun.Workspace) -> None:
    ws.table("orders")  # opens the warehouse
    names = {p.name for p in ws.path.iterdir()}
    assert {"warehouse.duckdb", "liucun.toml", "models", "runs"} <= names
    assert ws.config["ingest"]["timezone"] == "UTC"


def test_loads_typed_rows_and_keeps_ids_as_text(ws, tmp_path) -> None:
    [r] = ws.ingest("orders", write(tmp_path / "o.csv", ORDERS_CSV))
    assert (r.read, r.loaded, r.quarantined) == (3, 3, 0)
    df = ws.table("orders").order_by("order_id").execute()
    assert df["user_id"].tolist() == ["00001", "00002", "00001"]
    assert df["amount"].tolist() == [10.5, 0.0, -4.0]
    assert df["status"].tolist() == ["paid", "paid", "refunded"]
    assert df["ts"].iloc[1] == pd.Timestamp("2024-01-02 08:00:00")


def test_reingest_adds_nothing_and_overlap_adds_only_new(ws, tmp_path) -> None:
    f = write(tmp_path / "o.csv", ORDERS_CSV)
    ws.ingest("orders", f)
    [again] = ws.ingest("orders", f)
    assert (again.loaded, again.duplicates, again.updated) == (0, 3, 0)
    overlap = write(
        tmp_path / "o2.csv",
        ORDERS_CSV + "o4,00003,2024-01-04 00:00:00,7,1,paid\n",
    )
    [r] = ws.ingest("orders", overlap)
    assert (r.read, r.loaded, r.duplicates) == (4, 1, 3)
    assert ws.warehouse.count("orders") == 4


def test_bad_rows_are_quarantined_with_file_row_column_reason(ws, tmp_path) -> None:
    future = datetime.utcnow().year + 2
    text = (
        "order_id,user_id,ts,amount,quantity,status\n"
        "a1,u1,2024-01-01,10,1,paid\n"  # good
        "a2,,2024-01-01,10,1,paid\n"  # missing user id
        "a3,u3,not a date,10,1,paid\n"  # bad timestamp
        "a4,u4,2024-01-01,ten,1,paid\n"  # non-numeric amount
        "a5,u5,2024-01-01,10,-2,paid\n"  # negative quantity, not a refund
        f"a6,u6,{future}-01-01,10,1,paid\n"  # in the future
        "a7,u7,2024-01-01,10,1,lost\n"  # unknown status
        "a8,u8,2024-01-01,10,-1,refunded\n"  # negative quantity on a refund: fine
    )
    f = write(tmp_path / "bad.csv", text)
    [r] = ws.ingest("orders", f, max_bad_share=1)
    assert r.balanced
    assert (r.read, r.loaded, r.quarantined) == (8, 2, 6)
    q = rows(
        ws,
        "SELECT row_number, column_name, reason, source_file FROM quarantine ORDER BY row_number",
    )
    assert [(n, c) for n, c, _, _ in q] == [
        (2, "user_id"),
        (3, "ts"),
        (4, "amount"),
        (5, "quantity"),
        (6, "ts"),
        (7, "status"),
    ]
    reasons = [x[2] for x in q]
    assert reasons[0] == "missing user_id"
    assert reasons[1] == "unparsable timestamp not a date"
    assert reasons[2] == "non-numeric amount ten"
    assert reasons[3] == "negative quantity outside refunds"
    assert "future" in reasons[4]
    assert reasons[5] == "unknown status lost"
    assert all(x[3] == str(f) for x in q)
    assert r.first_problem == f"{f}: row 2, column user_id: missing user_id"
    raw = json.loads(rows(ws, "SELECT raw FROM quarantine WHERE row_number = 4")[0][0])
    assert raw["amount"] == "ten"
    # A second ingest of the same file counts the same bad rows, stores them once.
    [r2] = ws.ingest("orders", f, max_bad_share=1)
    assert (r2.loaded, r2.duplicates, r2.quarantined) == (0, 2, 6)
    assert ws.warehouse.count("quarantine") == 6


def test_missing_required_column_fails_and_changes_nothing(ws, tmp_path) -> None:
    ws.ingest("orders", write(tmp_path / "o.csv", ORDERS_CSV))
    f = write(tmp_path / "x.csv", "order_id,user_id,when,paid\no9,u1,2024-01-01,3\n")
    with pytest.raises(SourceError) as e:
        ws.ingest("orders", f)
    msg = str(e.value)
    assert "\n" not in msg
    assert str(f) in msg and "ts, amount" in msg and "when, paid" in msg
    assert ws.warehouse.count("orders") == 3
    assert rows(ws, "SELECT count(*) FROM ingests")[0][0] == 1


def test_strict_rejects_whole_file(ws, tmp_path) -> None:
    f = write(tmp_path / "o.csv", ORDERS_CSV + "o9,,2024-01-01,1,1,paid\n")
    with pytest.raises(StrictRejected, match="row 4, column user_id"):
        ws.ingest("orders", f, strict=True)
    assert ws.warehouse.count("orders") == 0
    assert ws.warehouse.count("quarantine") == 0


def test_update_keeps_previous_version_in_history(ws, tmp_path) -> None:
    ws.ingest("orders", write(tmp_path / "o.csv", ORDERS_CSV))
    changed = ORDERS_CSV.replace(
        "o1,00001,2024-01-01 10:00:00,10.5,1,paid", "o1,00001,2024-01-01 10:00:00,10.5,1,refunded"
    )
    [r] = ws.ingest("orders", write(tmp_path / "o2.csv", changed))
    assert (r.loaded, r.updated, r.duplicates) == (0, 1, 2)
    assert rows(ws, "SELECT status FROM orders WHERE order_id = 'o1'") == [("refunded",)]
    assert rows(ws, "SELECT status FROM orders_history WHERE order_id = 'o1'") == [("paid",)]
    assert ws.warehouse.count("orders") == 3


def test_repeated_natural_key_in_one_file_last_wins(ws, tmp_path) -> None:
    text = (
        ORDERS_CSV + "o1,00001,2024-01-01 10:00:00,10.5,1,paid\n"
        "o2,00002,2024-01-02T08:00:00Z,0,2,cancelled\n"
    )
    [r] = ws.ingest("orders", write(tmp_path / "o.csv", text))
    assert r.balanced and (r.read, r.loaded, r.duplicates, r.updated) == (5, 3, 1, 1)
    assert rows(ws, "SELECT status FROM orders WHERE order_id = 'o2'") == [("cancelled",)]
    assert rows(ws, "SELECT status FROM orders_history WHERE order_id = 'o2'") == [("paid",)]
    # Ingesting the same file again changes nothing, history included.
    [again] = ws.ingest("orders", tmp_path / "o.csv")
    assert (again.loaded, again.updated, again.duplicates) == (0, 0, 5)
    assert ws.warehouse.count("orders_history") == 1


def test_identical_rows_in_one_file_are_kept_without_natural_key(ws, tmp_path) -> None:
    text = (
        "user_id,ts,event_type,item_id\n"
        "u1,2024-01-01 10:00:00,view,i1\n"
        "u1,2024-01-01 10:00:00,view,i1\n"
        "u1,2024-01-01 10:05:00,add_to_cart,i1\n"
    )
    f = write(tmp_path / "e.csv", text)
    [r] = ws.ingest("events", f)
    assert (r.loaded, r.duplicates) == (3, 0)
    [r] = ws.ingest("events", f)
    assert (r.loaded, r.duplicates) == (0, 3)
    assert ws.warehouse.count("events") == 3


def test_orders_without_id_get_a_derived_one(ws, tmp_path) -> None:
    text = "user_id,ts,amount\nu1,2024-01-01,5\nu1,2024-01-01,5\nu2,2024-01-01,7\n"
    f = write(tmp_path / "o.csv", text)
    [r] = ws.ingest("orders", f)
    assert r.loaded == 3
    ids = [x[0] for x in rows(ws, "SELECT order_id FROM orders")]
    assert len(set(ids)) == 3 and all(ids)
    [r] = ws.ingest("orders", f)
    assert r.duplicates == 3


def test_unknown_event_type_and_extra_columns(ws, tmp_path) -> None:
    text = (
        "user_id,ts,event_type,item_id,page,referrer\n"
        "u1,2024-01-01 10:00:00,view,i1,/p/1,google\n"
        "u1,2024-01-01 10:01:00,teleport,i1,/p/1,\n"
    )
    [r] = ws.ingest("events", write(tmp_path / "e.csv", text))
    assert (r.loaded, r.quarantined) == (1, 1)
    props = json.loads(rows(ws, "SELECT properties FROM events")[0][0])
    assert props == {"page": "/p/1", "referrer": "google"}
    assert rows(ws, "SELECT reason FROM quarantine") == [("unknown event_type teleport",)]


def test_time_zones_and_epochs(ws, tmp_path) -> None:
    text = (
        "user_id,ts,event_type\n"
        "u1,2024-03-01 08:00:00,login\n"  # naive: read in --tz
        "u2,2024-03-01T08:00:00+02:00,login\n"  # explicit offset wins
        "u3,1709280000,login\n"  # epoch seconds
        "u4,1709280000000,login\n"  # epoch milliseconds
        "u5,20240301,login\n"
    )  # compact date
    ws.ingest("events", write(tmp_path / "e.csv", text), tz="Asia/Shanghai")
    got = dict(rows(ws, "SELECT user_id, strftime(ts, '%Y-%m-%d %H:%M') FROM events"))
    assert got == {
        "u1": "2024-03-01 00:00",
        "u2": "2024-03-01 06:00",
        "u3": "2024-03-01 08:00",
        "u4": "2024-03-01 08:00",
        "u5": "2024-02-29 16:00",
    }


def test_map_and_aliases(ws, tmp_path) -> None:
    text = "Kunde,timestamp,Umsatz\nk1,2024-01-01,3.5\n"
    [r] = ws.ingest(
        "orders", write(tmp_path / "o.csv", text), mapping={"Kunde": "user_id", "Umsatz": "amount"}
    )
    assert r.loaded == 1
    assert rows(ws, "SELECT user_id, amount FROM orders") == [("k1", 3.5)]


def test_parquet_jsonl_and_gzip(ws, tmp_path) -> None:
    df = pd.DataFrame(
        {
            "user_id": ["1", "2"],
            "signup_ts": pd.to_datetime(["2024-01-01", None]),
            "region": ["east", "west"],
            "vip": [True, False],
        }
    )
    df.to_parquet(tmp_path / "u.parquet")
    [r] = ws.ingest("users", tmp_path / "u.parquet")
    assert (r.loaded, r.quarantined) == (2, 0)
    assert json.loads(rows(ws, "SELECT attributes FROM users WHERE user_id='1'")[0][0]) == {
        "vip": True
    }
    lines = [{"item_id": "i1", "price": 9.9, "title": "杯子"}, {"item_id": "i2", "price": "x"}]
    with gzip.open(tmp_path / "items.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    [r] = ws.ingest("items", tmp_path / "items.jsonl.gz")
    assert (r.read, r.loaded, r.quarantined) == (2, 1, 1)
    assert rows(ws, "SELECT title FROM items") == [("杯子",)]


def test_ibis_table_is_the_engine_boundary(ws, tmp_path) -> None:
    ws.ingest("orders", write(tmp_path / "o.csv", ORDERS_CSV))
    t = ws.table("orders")
    per_user = t.group_by("user_id").aggregate(n=t.count()).order_by("user_id").execute()
    assert per_user["n"].tolist() == [2, 1]


@pytest.mark.parametrize(
    "point", ["after_stage", "after_quarantine", "after_insert", "before_commit"]
)
def test_kill_9_mid_ingest_leaves_warehouse_unchanged(tmp_path, point) -> None:
    wsdir = tmp_path / "ws"
    first = write(tmp_path / "o.csv", ORDERS_CSV)
    second = write(
        tmp_path / "o2.csv", "order_id,user_id,ts,amount\nz1,u9,2024-02-01,1\nz2,,2024-02-01,1\n"
    )
    cmd = [sys.executable, "-m", "liucun.cli", "--workspace", str(wsdir), "ingest", "orders"]
    assert subprocess.run([*cmd, str(first)], capture_output=True).returncode == 0
    env = {**os.environ, "LIUCUN_TEST_KILL_AT": point}
    killed = subprocess.run([*cmd, str(second)], capture_output=True, env=env)
    assert killed.returncode == -9
    with liucun.Workspace(wsdir) as w:
        assert w.warehouse.count("orders") == 3
        assert w.warehouse.count("quarantine") == 0
        assert w.warehouse.count("ingests") == 1
        [r] = w.ingest("orders", second)  # and the file still loads afterwards
        assert (r.loaded, r.quarantined) == (1, 1)
