"""RetailRocket adapter: events.csv → events (+ order_items from transactions)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from shared import read_errors

from liucun.errors import LiucunError, SourceError

FIX = Path(__file__).parent / "fixtures" / "retailrocket" / "events.csv"


def test_events_and_order_items(ws) -> None:
    ev, oi = ws.ingest("events", FIX, format="retailrocket")
    assert (ev.table, ev.read, ev.loaded, ev.quarantined) == ("events", 20, 19, 1)
    assert ev.reasons == {
        "unknown RetailRocket event 'click' (expected view, addtocart or transaction)": 1
    }
    # Transactions: 4 lines; the one without a transaction id cannot be an order line.
    assert (oi.table, oi.read, oi.loaded, oi.quarantined) == ("order_items", 4, 3, 1)
    assert oi.reasons == {"missing order_id": 1}
    assert ev.balanced and oi.balanced

    df = ws.table("events").execute()
    assert df["event_type"].value_counts().to_dict() == {
        "view": 12,
        "add_to_cart": 3,
        "purchase": 4,
    }
    first = df[df["_row"] == 1].iloc[0]
    assert (first["user_id"], first["item_id"]) == ("257597", "355908")
    assert first["ts"] == pd.Timestamp("2015-06-02 05:02:12.117")  # epoch milliseconds
    assert pd.isna(first["properties"])
    buy = df[df["_row"] == 13].iloc[0]
    assert (buy["event_type"], buy["user_id"]) == ("purchase", "599528")
    assert json.loads(buy["properties"]) == {"transactionid": "4000"}
    # The transaction without an id is still a purchase event.
    assert df[df["_row"] == 20]["event_type"].tolist() == ["purchase"]

    items = ws.table("order_items").execute().sort_values(["order_id", "item_id"])
    assert items[["order_id", "item_id", "quantity"]].values.tolist() == [
        ["11117", "15335", 1],
        ["11117", "380775", 1],
        ["4000", "356475", 1],
    ]
    # No prices in events.csv, so no orders are invented.
    assert ws.table("orders").count().execute() == 0


def test_every_line_is_accounted_for(ws) -> None:
    ws.ingest("events", FIX, format="retailrocket")
    con = ws.warehouse.con
    landed = {r for (r,) in con.execute("SELECT _row FROM events").fetchall()}
    bad = dict(
        con.execute(
            "SELECT row_number, reason FROM quarantine WHERE table_name = 'events'"
        ).fetchall()
    )
    n = len(FIX.read_text(encoding="utf-8").strip().splitlines()) - 1  # minus the header
    assert landed | set(bad) == set(range(1, n + 1))
    assert not landed & set(bad)
    assert bad[19].startswith("unknown RetailRocket event 'click'")
    raw = json.loads(
        con.execute("SELECT raw FROM quarantine WHERE table_name = 'events'").fetchone()[0]
    )
    assert raw["event_type"] == "click"  # the row as given
    q = con.execute(
        "SELECT row_number, column_name FROM quarantine WHERE table_name = 'order_items'"
    ).fetchall()
    assert q == [(20, "order_id")]


def test_reingest_is_all_duplicates(ws) -> None:
    first = ws.ingest("events", FIX, format="retailrocket")
    again = ws.ingest("events", FIX, format="retailrocket")
    for a, b in zip(first, again, strict=True):
        assert (b.read, b.loaded, b.updated, b.duplicates) == (a.read, 0, 0, a.loaded)
    assert ws.table("events").count().execute() == 19
    assert ws.table("order_items").count().execute() == 3


def test_wrong_header_is_one_clear_error(ws, tmp_path) -> None:
    f = tmp_path / "item_properties_part1.csv"
    f.write_text("timestamp,itemid,property,value\n1435460400000,460429,categoryid,1338\n")
    with pytest.raises(SourceError, match=r"not a RetailRocket events\.csv"):
        ws.ingest("events", f, format="retailrocket")


def test_orders_are_not_a_target(ws) -> None:
    with pytest.raises(LiucunError, match="fills events, order_items"):
        ws.ingest("orders", FIX, format="retailrocket")


def test_line_with_bad_bytes_is_quarantined_not_loaded(ws, tmp_path) -> None:
    src = tmp_path / "events.csv"
    src.write_bytes(
        b"timestamp,visitorid,event,itemid,transactionid\n"
        b"1433221332117,257597,view,355908,\n"
        b"1433224214164,99\xff2,view,248676,\n"
        b"1433221999827,111016,view,318965,\n"
    )
    res = {r.table: r for r in ws.ingest("events", src, format="retailrocket")}
    assert (res["events"].read, res["events"].loaded, res["events"].quarantined) == (3, 2, 1)
    assert ("events", 2, "line", "invalid utf-8 byte sequence") in read_errors(ws)
    assert sorted(ws.table("events").execute()["user_id"]) == ["111016", "257597"]
