"""The online_retail adapter: UCI Online Retail I/II invoice lines → four canonical tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from shared import read_errors

import liucun
from liucun.data.adapters.online_retail import (
    BAD_DEBT,
    BAD_NUMBER,
    NO_CUSTOMER,
    STOCK_ADJUSTMENT,
)
from liucun.errors import SourceError

FIXTURES = Path(__file__).parent / "fixtures" / "online_retail"
RETAIL_II = FIXTURES / "online_retail_II.csv"
RETAIL_I = FIXTURES / "data.csv"
HEADER_II = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"


def by_table(results: list) -> dict:
    return {r.table: r for r in results}


def rows(ws: liucun.Workspace, sql: str) -> list[tuple]:
    return ws.warehouse.con.execute(sql).fetchall()


def source_lines(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_fills_four_tables_and_every_result_balances(ws) -> None:
    res = by_table(ws.ingest("orders", RETAIL_II, format="online_retail"))
    assert list(res) == ["orders", "order_items", "users", "items"]  # the named table first
    assert all(r.balanced for r in res.values())
    counts = {t: (r.read, r.loaded, r.quarantined) for t, r in res.items()}
    assert counts == {
        "order_items": (27, 21, 6),
        "orders": (15, 10, 5),
        "users": (8, 8, 0),
        "items": (24, 24, 0),
    }


def test_every_line_and_invoice_is_loaded_or_quarantined(ws) -> None:
    ws.ingest("order_items", RETAIL_II, format="online_retail")
    src = source_lines(RETAIL_II)
    loaded = {r[0] for r in rows(ws, "SELECT _row FROM order_items")}
    held = {
        r[0] for r in rows(ws, "SELECT row_number FROM quarantine WHERE table_name='order_items'")
    }
    assert not loaded & held
    assert loaded | held == set(range(1, len(src) + 1))

    invoices = set(src["Invoice"])
    loaded_orders = {r[0] for r in rows(ws, "SELECT order_id FROM orders")}
    held_orders = {
        json.loads(r[0])["order_id"]
        for r in rows(ws, "SELECT raw FROM quarantine WHERE table_name='orders'")
    }
    assert not loaded_orders & held_orders
    assert loaded_orders | held_orders == invoices


def test_invoice_amounts_status_and_customer_ids(ws) -> None:
    ws.ingest("orders", RETAIL_II, format="online_retail")
    df = ws.table("orders").execute().set_index("order_id")
    first = df.loc["489434"]
    assert first["user_id"] == "13085"  # "13085.0" in the file
    assert first["amount"] == pytest.approx(376.2)  # 12*6.95 + 2*12*6.75 + 48*2.1 + 24*1.25
    assert (first["quantity"], first["status"]) == (108, "paid")
    assert first["ts"] == pd.Timestamp("2009-12-01 07:45:00")
    cancel = df.loc["C489449"]
    assert cancel["status"] == "cancelled"
    assert cancel["amount"] == pytest.approx(62.3)  # |-12*2.95 - 6*1.65 - 4*4.25|
    assert cancel["quantity"] == 22
    assert (df.loc["C489535", "status"], df.loc["C489535", "amount"]) == ("cancelled", 9.0)
    assert df.loc["489825", "amount"] == pytest.approx(15.0)  # a free (price 0) line + 12*1.25
    assert (df["amount"] >= 0).all()


def test_lines_keep_duplicates_and_absolute_quantities(ws) -> None:
    ws.ingest("order_items", RETAIL_II, format="online_retail")
    lines = rows(
        ws, "SELECT item_id, quantity, price FROM order_items WHERE order_id='489517' ORDER BY _row"
    )
    assert lines == [("21912", 1, 3.75), ("21912", 1, 3.75), ("22130", 6, 0.85)]
    cancelled = rows(
        ws, "SELECT item_id, quantity FROM order_items WHERE order_id='C489449' ORDER BY _row"
    )
    assert cancelled == [("22087", 12), ("85206A", 6), ("21895", 4)]
    assert rows(ws, "SELECT price FROM order_items WHERE item_id='22076'") == [(0.0,)]


def test_quarantine_reasons(ws) -> None:
    res = by_table(ws.ingest("orders", RETAIL_II, format="online_retail"))
    assert res["order_items"].reasons == {STOCK_ADJUSTMENT: 3, NO_CUSTOMER: 2, BAD_DEBT: 1}
    assert res["orders"].reasons == {STOCK_ADJUSTMENT: 3, NO_CUSTOMER: 1, BAD_DEBT: 1}
    held = dict(
        rows(
            ws,
            "SELECT row_number, reason FROM quarantine WHERE table_name='order_items'",
        )
    )
    assert held == {
        14: STOCK_ADJUSTMENT,  # 489463 "short", -240, no customer
        15: STOCK_ADJUSTMENT,  # 489464 "85123a mixed"
        21: NO_CUSTOMER,  # 489597: a real sale without a customer id
        22: NO_CUSTOMER,
        23: STOCK_ADJUSTMENT,  # 489655, no description
        27: BAD_DEBT,  # A506401 "Adjust bad debt"
    }
    orders = dict(
        rows(ws, "SELECT row_number, column_name FROM quarantine WHERE table_name='orders'")
    )
    assert orders == {
        14: "Quantity",
        15: "Quantity",
        21: "Customer ID",
        23: "Quantity",
        27: "Invoice",
    }


def test_users_take_the_latest_country(ws) -> None:
    ws.ingest("users", RETAIL_II, format="online_retail")
    region = dict(rows(ws, "SELECT user_id, region FROM users"))
    assert region["12370"] == "Austria"  # Cyprus on 2009-12-01, Austria on 2009-12-14
    assert region["16321"] == "Australia"
    assert region["12636"] == "USA"
    assert len(region) == 8  # lines without a customer make no user


def test_items_take_latest_sale_price_and_description(ws) -> None:
    ws.ingest("items", RETAIL_II, format="online_retail")
    items = {r[0]: r[1:] for r in rows(ws, "SELECT item_id, title, price FROM items")}
    assert items["22139"] == ("RETRO SPOT TEA SET CERAMIC 11 PC", 4.25)  # 4.95 earlier
    assert items["21871"] == ("SAVE THE WORLD NOTEBOOK", 2.57)  # sold without a customer
    assert items["79323W"] == ("WHITE CHERRY LIGHTS", 6.75)  # leading blank trimmed
    assert items["22076"] == ("6 RIBBONS EMPIRE", 0.0)  # only ever free
    assert items["71477"] == ("short", None)  # only seen in a stock adjustment
    assert items["B"] == ("Adjust bad debt", None)
    assert items["20683"] == (None, None)


def test_reingest_adds_nothing(ws) -> None:
    ws.ingest("orders", RETAIL_II, format="online_retail")
    again = ws.ingest("orders", RETAIL_II, format="online_retail")
    for r in again:
        assert r.balanced
        assert (r.loaded, r.updated) == (0, 0), r
        assert r.duplicates + r.quarantined == r.read
    assert ws.warehouse.count("orders") == 10
    assert ws.warehouse.count("order_items") == 21


def test_online_retail_one_layout(ws) -> None:
    res = by_table(ws.ingest("orders", RETAIL_I, format="online_retail"))
    assert all(r.balanced for r in res.values())
    assert (res["order_items"].read, res["order_items"].loaded) == (15, 10)
    assert res["orders"].reasons == {BAD_DEBT: 2, NO_CUSTOMER: 2, STOCK_ADJUSTMENT: 1}
    df = ws.table("orders").execute().set_index("order_id")
    assert df.loc["536365", "ts"] == pd.Timestamp("2010-12-01 08:26:00")  # 12/1/2010 8:26
    assert df.loc["536365", "user_id"] == "17850"
    assert df.loc["536365", "amount"] == pytest.approx(6 * 2.55 + 6 * 3.39 + 8 * 2.75)
    assert df.loc["536370", "amount"] == pytest.approx(24 * 3.75 + 3 * 18)
    assert tuple(df.loc["C536379", ["status", "amount"]]) == ("cancelled", 27.5)
    assert dict(rows(ws, "SELECT user_id, region FROM users"))["12583"] == "France"


def test_bad_numbers_and_dates_are_quarantined_with_their_invoice(ws, tmp_path) -> None:
    f = tmp_path / "online_retail_II.csv"
    f.write_text(
        HEADER_II
        + "500001,22423,REGENCY CAKESTAND 3 TIER,two,2010-03-01 10:00:00,12.75,14911.0,EIRE\n"
        + "500001,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-03-01 10:00:00,2.55,14911.0,"
        + "EIRE\n"
        + "500002,22423,REGENCY CAKESTAND 3 TIER,1,yesterday,12.75,14911.0,EIRE\n",
        encoding="utf-8",
    )
    res = by_table(ws.ingest("orders", f, format="online_retail", max_bad_share=1))
    assert res["order_items"].reasons == {"non-numeric quantity two": 1}
    assert res["orders"].reasons == {BAD_NUMBER: 1, "unparsable timestamp yesterday": 1}
    held = rows(
        ws, "SELECT row_number, column_name FROM quarantine WHERE table_name = 'orders' ORDER BY 1"
    )
    assert held == [(1, "Quantity"), (3, "InvoiceDate")]
    assert all(r.balanced for r in res.values())


def test_naive_times_are_read_in_the_ingest_time_zone(ws, tmp_path) -> None:
    f = tmp_path / "online_retail_II.csv"
    f.write_text(
        HEADER_II + "500003,22423,REGENCY CAKESTAND 3 TIER,1,2010-06-01 10:00:00,12.75,"
        "14911.0,EIRE\n",
        encoding="utf-8",
    )
    ws.ingest("orders", f, format="online_retail", tz="Europe/London")
    assert rows(ws, "SELECT ts FROM orders") == [(pd.Timestamp("2010-06-01 09:00:00"),)]


def test_a_file_without_the_columns_is_refused(ws, tmp_path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("order_id,user_id,ts,amount\no1,u1,2024-01-01,3\n", encoding="utf-8")
    with pytest.raises(SourceError, match="not an Online Retail CSV: no column Invoice"):
        ws.ingest("orders", f, format="online_retail")
    assert ws.warehouse.count("orders") == 0


def test_a_table_the_format_does_not_fill_is_refused(ws) -> None:
    with pytest.raises(liucun.errors.LiucunError, match="not reviews"):
        ws.ingest("reviews", RETAIL_II, format="online_retail")


def test_cli_ingest(tmp_path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "liucun.cli",
            "--workspace",
            str(tmp_path),
            "ingest",
            "orders",
            str(RETAIL_II),
            "--format",
            "online_retail",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "orders: read 15 = loaded 10" in proc.stdout
    assert "order_items: read 27 = loaded 21" in proc.stdout


def test_line_with_bad_bytes_is_quarantined_not_loaded(ws, tmp_path) -> None:
    src = tmp_path / "online_retail_II.csv"
    src.write_bytes(
        b"Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        b"489434,85048,GLASS BALL,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom\n"
        b"489435,79323P,PINK \xffLIGHTS,12,2009-12-01 07:46:00,6.75,13086.0,France\n"
        b"489436,22041,RECORD FRAME,48,2009-12-01 07:47:00,2.10,13087.0,Spain\n"
    )
    res = {r.table: r for r in ws.ingest("orders", src, format="online_retail")}
    lines = res["order_items"]
    assert (lines.read, lines.loaded, lines.quarantined) == (3, 2, 1)
    assert ("order_items", 2, None, "invalid utf-8 byte sequence") in read_errors(ws)
    assert ("orders", 2, None, "invalid utf-8 byte sequence") in read_errors(ws)
    assert sorted(ws.table("orders").execute()["order_id"]) == ["489434", "489436"]
    assert sorted(ws.table("users").execute()["user_id"]) == ["13085", "13087"]
    assert sorted(ws.table("items").execute()["item_id"]) == ["22041", "85048"]
