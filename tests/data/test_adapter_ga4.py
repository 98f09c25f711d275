"""The ga4 adapter on GA4 BigQuery export rows: events, orders, order lines, items."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from shared import read_errors

import liucun

FIXTURE = Path(__file__).parent / "fixtures" / "ga4" / "ga4_events.jsonl"
LINES = sum(1 for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip())
USER_A = "1026454.4271112504"  # pseudo id: never signs in
USER_C = "1494019.1207314985"


@pytest.fixture
def loaded(ws):
    results = ws.ingest("events", FIXTURE, format="ga4")
    return ws, {r.table: r for r in results}


def rows(ws, sql: str, *params) -> list[tuple]:
    return ws.warehouse.con.execute(sql, list(params)).fetchall()


def test_every_table_balances_and_every_line_is_accounted_for(loaded):
    ws, res = loaded
    assert set(res) == {"events", "orders", "order_items", "items"}
    for r in res.values():
        assert r.balanced, r
    # one event per item of the two-item add_to_cart: 27 rows from 26 lines
    ev = res["events"]
    assert (ev.read, ev.loaded, ev.quarantined) == (LINES + 1, 14, 13)
    seen = rows(
        ws,
        "SELECT _row FROM events UNION SELECT row_number FROM quarantine "
        "WHERE table_name = 'events' ORDER BY 1",
    )
    assert [r[0] for r in seen] == list(range(1, LINES + 1))
    assert (res["orders"].read, res["orders"].loaded, res["orders"].quarantined) == (3, 2, 1)
    assert (res["order_items"].loaded, res["order_items"].quarantined) == (3, 3)
    assert res["items"].loaded == 3


def test_a_known_customer_journey(loaded):
    ws, _ = loaded
    got = rows(
        ws,
        "SELECT ts, event_type, item_id, session_id, value FROM events WHERE user_id = ? "
        "ORDER BY ts",
        USER_A,
    )
    assert [g[1] for g in got] == ["view", "add_to_cart", "purchase", "refund"]
    # microseconds since 1970, kept to the microsecond
    assert got[0] == (
        datetime(2020, 11, 1, 16, 50, 24, 446061),
        "view",
        "9195888",
        "1604249386",
        pytest.approx(24.0),
    )
    assert got[2][2:] == ("9195888", "1604249386", pytest.approx(48.0))  # single-item purchase
    assert got[3][4] == pytest.approx(48.0)  # refund_value


def test_user_id_when_signed_in_else_pseudo_id(loaded):
    ws, _ = loaded
    got = rows(ws, "SELECT event_type FROM events WHERE user_id = 'u-50211' ORDER BY ts, item_id")
    assert [g[0] for g in got] == [
        "login",
        "search",
        "view",
        "add_to_cart",
        "add_to_cart",
        "remove_from_cart",
        "purchase",
        "purchase",
        "purchase",
    ]
    carts = rows(
        ws,
        "SELECT item_id, value FROM events WHERE event_type = 'add_to_cart' AND _row = 13 "
        "ORDER BY item_id",
    )
    assert carts == [("GGOEGAEB110917", 42.0), ("GGOEGDHC018299", 16.0)]


def test_ts_comes_from_event_timestamp_not_event_date(loaded):
    ws, _ = loaded
    # event_date "20201101" is the property's (Los Angeles) day; the event is Nov 2 UTC
    line = json.loads(FIXTURE.read_text().splitlines()[21])
    assert line["event_date"] == "20201101"
    assert rows(ws, "SELECT ts, item_id FROM events WHERE user_id = ?", USER_C) == [
        (datetime(2020, 11, 2, 3, 6, 38, 104862), "GGOEGDHC018299")
    ]


def test_properties_hold_the_params_and_the_item(loaded):
    ws, _ = loaded
    (props,) = rows(ws, "SELECT properties FROM events WHERE event_type = 'search'")[0]
    p = json.loads(props)
    assert p["event_name"] == "view_search_results"
    assert p["params"]["search_term"] == "hoodie"
    assert p["params"]["ga_session_id"] == 1604398325
    (props,) = rows(ws, "SELECT properties FROM events WHERE _row = 12")[0]
    assert json.loads(props)["item"]["item_name"] == "Google Crewneck Sweatshirt Navy"


def test_orders(loaded):
    ws, _ = loaded
    got = rows(ws, "SELECT order_id, user_id, ts, amount, quantity, status FROM orders ORDER BY 1")
    assert got == [
        # refunded a week later; the order stays at the time it was placed
        ("138583", USER_A, datetime(2020, 11, 1, 16, 53, 18, 445967), 48.0, 2, "refunded"),
        # the reloaded thank-you page is the same transaction: one order
        ("487310", "u-50211", datetime(2020, 11, 3, 10, 19, 31, 118368), 74.0, 3, "paid"),
    ]


def test_order_items_and_catalogue(loaded):
    ws, _ = loaded
    got = rows(ws, "SELECT order_id, item_id, quantity, price FROM order_items ORDER BY 1, 2")
    assert got == [
        ("138583", "9195888", 2, 24.0),
        ("487310", "GGOEGAEB110917", 1, 42.0),
        ("487310", "GGOEGDHC018299", 2, 16.0),
    ]
    got = rows(ws, "SELECT item_id, title, brand, category, price FROM items ORDER BY 1")
    assert got == [
        ("9195888", "Google Navy Speckled Tee", "Google", "Apparel/Men's - Unisex", 24.0),
        (
            "GGOEGAEB110917",
            "Google Crewneck Sweatshirt Navy",
            "Google",
            "Apparel/Men's - Unisex",
            42.0,
        ),
        ("GGOEGDHC018299", "Google 22 oz Water Bottle", "Google", "Drinkware", 16.0),
    ]


def test_unmapped_and_bad_rows_are_quarantined_with_reasons(loaded):
    ws, res = loaded
    assert res["events"].reasons == {
        "unmapped ga4 event 'session_start'": 3,
        "unmapped ga4 event 'page_view'": 2,
        "missing user_id": 1,
        "not valid JSON": 1,
        "unmapped ga4 event 'begin_checkout'": 1,
        "unmapped ga4 event 'first_visit'": 1,
        "unmapped ga4 event 'scroll'": 1,
        "unmapped ga4 event 'user_engagement'": 1,
        "unmapped ga4 event 'view_item_list'": 1,
        "unmapped ga4 event 'view_promotion'": 1,
    }
    got = rows(
        ws,
        "SELECT table_name, row_number, column_name, reason FROM quarantine "
        "WHERE table_name <> 'events' ORDER BY 1, 2",
    )
    assert got == [
        ("order_items", 15, "order_id", "purchase with transaction_id (not set)"),
        ("order_items", 16, "order_id", "superseded by a later event placing the same order"),
        ("order_items", 16, "order_id", "superseded by a later event placing the same order"),
        ("orders", 15, "order_id", "purchase with transaction_id (not set)"),
    ]
    got = rows(ws, "SELECT column_name FROM quarantine WHERE row_number = 2")
    assert got == [("event_name",)]


def test_reingesting_the_same_file_adds_nothing(loaded):
    ws, first = loaded
    before = {t: rows(ws, f"SELECT count(*) FROM {t}")[0][0] for t in first}
    for r in ws.ingest("events", FIXTURE, format="ga4"):
        assert r.balanced, r
        assert (r.loaded, r.updated) == (0, 0), r
        assert r.duplicates == r.read - r.quarantined, r
        assert r.read == first[r.table].read
    assert {t: rows(ws, f"SELECT count(*) FROM {t}")[0][0] for t in first} == before


def test_gzip_export_reads_the_same(ws, tmp_path):
    gz = tmp_path / "events_20201101.json.gz"
    with open(FIXTURE, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    res = {r.table: r for r in ws.ingest("events", gz, format="ga4")}
    assert (res["events"].read, res["events"].loaded) == (LINES + 1, 14)


def test_numbers_as_numbers_and_nulls_left_out(ws, tmp_path):
    """Other exporters write INT64 as JSON numbers and omit null fields."""
    row = {
        "event_date": "20201105",
        "event_timestamp": 1604577600000001,
        "event_name": "add_to_cart",
        "event_params": [{"key": "ga_session_id", "value": {"int_value": 1604577590}}],
        "user_pseudo_id": "777.888",
        "items": [{"item_id": "GGOEGXXX0906", "price": 3.5, "quantity": 4}],
    }
    bad = dict(row, event_timestamp="yesterday")
    f = tmp_path / "events.jsonl"
    f.write_text(json.dumps(row) + "\n\n" + json.dumps(bad) + "\n")
    res = {r.table: r for r in ws.ingest("events", f, format="ga4")}
    assert rows(ws, "SELECT user_id, ts, event_type, item_id, session_id, value FROM events") == [
        (
            "777.888",
            datetime(2020, 11, 5, 12, 0, 0, 1),
            "add_to_cart",
            "GGOEGXXX0906",
            "1604577590",
            3.5,
        )
    ]
    assert res["events"].reasons == {
        "unparsable event_timestamp yesterday (expected microseconds since 1970)": 1
    }
    assert rows(ws, "SELECT row_number FROM quarantine") == [(3,)]  # blank line 2 skipped


def test_cli_ingest_prints_the_counts(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "liucun.cli",
            "--workspace",
            str(tmp_path),
            "ingest",
            "orders",
            str(FIXTURE),
            "--format",
            "ga4",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "orders: read 3 = loaded 2 + updated 0 + duplicates 0 + quarantined 1" in proc.stdout
    assert "events: read 27 = loaded 14 + updated 0 + duplicates 0 + quarantined 13" in proc.stdout


def test_line_with_bad_bytes_is_quarantined_not_loaded(ws, tmp_path):
    lines = FIXTURE.read_bytes().split(b"\n")
    at = next(i for i, ln in enumerate(lines) if b'"event_name":"view_item"' in ln)
    lines[at] = lines[at].replace(b'"event_date":"', b'"event_date":"\xff', 1)
    src = tmp_path / "ga4_events.jsonl"
    src.write_bytes(b"\n".join(lines))
    clean = {r.table: r for r in ws.ingest("events", FIXTURE, format="ga4")}["events"]
    ws2 = liucun.Workspace(tmp_path / "ws2")
    with ws2:
        bad = {r.table: r for r in ws2.ingest("events", src, format="ga4", max_bad_share=1)}[
            "events"
        ]
        assert bad.read == clean.read
        assert (bad.loaded, bad.quarantined) == (clean.loaded - 1, clean.quarantined + 1)
        assert read_errors(ws2) == [("events", at + 1, "line", "invalid utf-8 byte sequence")]
