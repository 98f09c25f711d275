"""Taobao adapter: Tianchi UserBehavior.csv → events and items."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from shared import read_errors

FIX = Path(__file__).parent / "fixtures" / "taobao" / "UserBehavior.csv"
N_LINES = 21


def test_events_and_items(ws) -> None:
    ev, it = ws.ingest("events", FIX, format="taobao")
    assert (ev.read, ev.loaded, ev.quarantined) == (N_LINES, 17, 4)
    assert ev.reasons == {
        "non-numeric timestamp '15116x7452'": 1,
        "ts before 1970: 1902-05-07 22:32:46": 1,
        "ts more than a day in the future": 1,
        "unknown Taobao behavior_type 'like' (expected pv, buy, cart or fav)": 1,
    }
    assert ev.balanced and it.balanced
    df = ws.table("events").execute()
    assert df["event_type"].value_counts().to_dict() == {
        "view": 12,  # 11 pv + 1 fav (the 1902 pv is quarantined)
        "purchase": 3,
        "add_to_cart": 2,
    }
    first = df[df["_row"] == 1].iloc[0]
    assert (first["user_id"], first["item_id"]) == ("1", "2268318")
    assert first["ts"] == pd.Timestamp("2017-11-24 17:21:10")  # 1511544070 UTC
    assert json.loads(first["properties"]) == {"category_id": "2520377"}
    fav = df[df["_row"] == 12].iloc[0]
    assert fav["event_type"] == "view"
    assert json.loads(fav["properties"]) == {"behavior": "fav", "category_id": "2951233"}
    # Two identical buy lines are two purchases.
    assert len(df[(df["user_id"] == "100") & (df["item_id"] == "2971043")]) == 2
    # A time before 1970 (-2134949234) is quarantined; a small epoch is seconds, kept.
    ts = df.set_index("_row")["ts"]
    assert 17 not in ts.index
    q17 = ws.warehouse.con.execute(
        "SELECT column_name FROM quarantine WHERE table_name = 'events' AND row_number = 17"
    ).fetchall()
    assert q17 == [("ts",)]
    assert ts[18] == pd.Timestamp("1970-01-15 00:42:09")  # 1212129 seconds, not ms

    assert (it.table, it.read, it.loaded, it.quarantined) == ("items", 15, 15, 0)
    items = ws.table("items").execute().set_index("item_id")
    assert items.loc["2268318", "category"] == "2520377"
    assert items.loc["2971043", "category"] == "4869428"
    assert items.loc["2971043", "_row"] == 15  # the item's first line


def test_every_line_is_accounted_for(ws) -> None:
    ws.ingest("events", FIX, format="taobao")
    con = ws.warehouse.con
    landed = {r for (r,) in con.execute("SELECT _row FROM events").fetchall()}
    bad = dict(
        con.execute(
            "SELECT row_number, column_name FROM quarantine WHERE table_name = 'events'"
        ).fetchall()
    )
    assert len(FIX.read_text().strip().splitlines()) == N_LINES
    assert landed | set(bad) == set(range(1, N_LINES + 1))
    assert not landed & set(bad)
    assert bad == {17: "ts", 19: "ts", 20: "event_type", 21: "ts"}


def test_reingest_is_all_duplicates(ws) -> None:
    first = ws.ingest("events", FIX, format="taobao")
    again = ws.ingest("events", FIX, format="taobao")
    for a, b in zip(first, again, strict=True):
        assert (b.read, b.loaded, b.updated, b.duplicates) == (a.read, 0, 0, a.loaded)
    assert ws.table("events").count().execute() == 17


def test_header_line_and_ragged_line(ws, tmp_path) -> None:
    f = tmp_path / "ub.csv"
    f.write_text(
        "user_id,item_id,category_id,behavior_type,timestamp\n"
        "1,2268318,2520377,pv,1511544070\n"
        "1,2333346,2520771,pv\n"
    )
    ev, it = ws.ingest("events", f, format="taobao")
    assert (ev.read, ev.loaded, ev.quarantined) == (2, 1, 1)
    assert ev.reasons == {"expected 5 comma-separated fields, found 4": 1}
    assert (it.read, it.loaded) == (1, 1)  # a malformed line feeds no item
    assert ws.table("events").execute()["_row"].tolist() == [1]


def test_cli_ingest(tmp_path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "liucun.cli",
            "--workspace",
            str(tmp_path),
            "ingest",
            "events",
            str(FIX),
            "--format",
            "taobao",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "events: read 21 = loaded 17 + updated 0 + duplicates 0 + quarantined 4" in proc.stdout
    assert "items: read 15 = loaded 15" in proc.stdout
    assert "4 events rows quarantined" in proc.stderr


def test_line_with_bad_bytes_is_quarantined_not_loaded(ws, tmp_path) -> None:
    src = tmp_path / "UserBehavior.csv"
    src.write_bytes(b"1,10,3,pv,1511544070\n2,1\xff1,3,pv,1511544071\n3,12,6,buy,1511544072\n")
    res = {r.table: r for r in ws.ingest("events", src, format="taobao")}
    assert (res["events"].read, res["events"].loaded, res["events"].quarantined) == (3, 2, 1)
    assert read_errors(ws) == [("events", 2, "line", "invalid utf-8 byte sequence")]
    assert sorted(ws.table("events").execute()["item_id"]) == ["10", "12"]
    assert sorted(ws.table("items").execute()["item_id"]) == ["10", "12"]
