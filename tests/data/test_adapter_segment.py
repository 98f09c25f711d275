"""The segment adapter on a Segment spec v2 export: events, orders and order lines."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from shared import read_errors

import liucun

FIXTURE = Path(__file__).parent / "fixtures" / "segment" / "segment_events.jsonl"
LINES = sum(1 for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip())
ORDER = "50314b8e9bcf000000000000"
ANON = "b4c2d1e8-6a3f-4f0e-9d57-2f1c8e0a7b61"


@pytest.fixture
def loaded(ws):
    results = ws.ingest("events", FIXTURE, format="segment")
    return ws, {r.table: r for r in results}


def rows(ws, sql: str, *params) -> list[tuple]:
    return ws.warehouse.con.execute(sql, list(params)).fetchall()


def test_every_table_balances_and_every_line_is_accounted_for(loaded):
    ws, res = loaded
    assert set(res) == {"events", "orders", "order_items"}
    for r in res.values():
        assert r.balanced, r
    ev = res["events"]
    assert (ev.read, ev.loaded, ev.quarantined) == (LINES, 15, 6)
    seen = rows(
        ws,
        "SELECT _row FROM events UNION SELECT row_number FROM quarantine "
        "WHERE table_name = 'events' ORDER BY 1",
    )
    assert [r[0] for r in seen] == list(range(1, LINES + 1))
    assert (res["orders"].read, res["orders"].loaded, res["orders"].quarantined) == (3, 2, 1)
    assert (res["order_items"].loaded, res["order_items"].quarantined) == (3, 1)


def test_a_known_customer_journey(loaded):
    ws, _ = loaded
    got = rows(
        ws,
        "SELECT event_type, item_id, value FROM events WHERE user_id = 'user_8412' ORDER BY ts",
    )
    assert [g[0] for g in got] == [
        "login",
        "view",
        "add_to_cart",
        "add_to_cart",
        "coupon_redeem",
        "purchase",
        "review",
    ]
    assert got[1] == ("view", "507f1f77bcf86cd799439011", pytest.approx(79.99))
    assert got[3] == ("add_to_cart", "G-32", pytest.approx(12.5))  # sku when no product_id
    assert got[4][2] == pytest.approx(9.25)  # coupon_redeem: the discount
    assert got[5][2] == pytest.approx(90.97)  # purchase: total, not revenue
    assert got[6] == ("review", "507f1f77bcf86cd799439011", pytest.approx(4.0))
    # before login the anonymousId is the customer
    assert rows(ws, "SELECT event_type FROM events WHERE user_id = ?", ANON) == [("search",)]


def test_numeric_user_id_offsets_session_and_snake_case_names(loaded):
    ws, _ = loaded
    got = rows(
        ws,
        "SELECT _row, ts, event_type, session_id FROM events WHERE user_id = '2077' "
        "AND session_id IS NOT NULL ORDER BY _row",
    )
    # "product_viewed" is Product Viewed; +08:00 local time is stored as UTC
    assert got[0] == (14, datetime(2024, 3, 6, 1, 14, 7), "view", "1709687647")
    assert [g[2] for g in got] == ["view", "add_to_cart", "remove_from_cart", "add_to_cart"]


def test_properties_are_the_original_properties(loaded):
    ws, _ = loaded
    (props,) = rows(ws, "SELECT properties FROM events WHERE event_type = 'review'")[0]
    assert json.loads(props) == {
        "product_id": "507f1f77bcf86cd799439011",
        "review_id": "rv_20931",
        "review_body": "Grippy on wet rock, runs half a size small.",
        "rating": 4,
    }
    (props,) = rows(ws, "SELECT properties FROM events WHERE event_type = 'search'")[0]
    assert json.loads(props) == {"query": "trail running shoes"}


def test_orders(loaded):
    ws, _ = loaded
    got = {
        r[0]: r[1:]
        for r in rows(
            ws,
            "SELECT order_id, user_id, ts, amount, quantity, status, coupon_code, discount "
            "FROM orders",
        )
    }
    assert got[ORDER] == (
        "user_8412",
        datetime(2024, 3, 5, 14, 6, 7, 482000),
        pytest.approx(90.97),
        2,
        "paid",
        "SPRING10",
        pytest.approx(9.25),
    )
    # revenue when there is no total; refunded later, still at the time it was placed
    assert got["ORD-1002"] == (
        "2077",
        datetime(2024, 3, 6, 1, 16, 17),
        pytest.approx(129.0),
        1,
        "refunded",
        None,
        None,
    )
    assert set(got) == {ORDER, "ORD-1002"}


def test_order_items(loaded):
    ws, _ = loaded
    got = rows(ws, "SELECT order_id, item_id, quantity, price FROM order_items ORDER BY 1, 2")
    assert got == [
        (ORDER, "507f1f77bcf86cd799439011", 1, pytest.approx(79.99)),
        (ORDER, "G-32", 1, pytest.approx(12.5)),
        ("ORD-1002", "prod_88213", 1, pytest.approx(129.0)),
    ]


def test_unmapped_and_bad_rows_are_quarantined_with_reasons(loaded):
    ws, _ = loaded
    got = rows(
        ws,
        "SELECT table_name, row_number, column_name, reason FROM quarantine ORDER BY 1, 2",
    )
    assert got == [
        ("events", 1, "type", "unmapped segment page call"),
        ("events", 3, "type", "unmapped segment identify call"),
        ("events", 8, "event", "unmapped segment event 'Cart Viewed'"),
        ("events", 9, "event", "unmapped segment event 'Checkout Started'"),
        ("events", 13, "messageId", "repeated segment messageId (a retried delivery)"),
        ("events", 18, "line", "not valid JSON"),
        ("order_items", 21, "order_id", "missing order_id"),
        ("orders", 21, "order_id", "missing order_id"),
    ]
    (raw,) = rows(ws, "SELECT raw FROM quarantine WHERE reason = 'not valid JSON'")[0]
    assert json.loads(raw)["line"].startswith('{"anonymousId":"7f3e9a20')


def test_reingesting_the_same_file_adds_nothing(loaded):
    ws, first = loaded
    before = {t: rows(ws, f"SELECT count(*) FROM {t}")[0][0] for t in first}
    for r in ws.ingest("events", FIXTURE, format="segment"):
        assert r.balanced, r
        assert (r.loaded, r.updated) == (0, 0), r
        assert r.duplicates == r.read - r.quarantined, r
        assert r.read == first[r.table].read
    assert {t: rows(ws, f"SELECT count(*) FROM {t}")[0][0] for t in first} == before
    assert rows(ws, "SELECT count(*) FROM orders_history") == [(0,)]


def test_table_argument_may_be_orders_or_order_items(ws):
    for table in ("orders", "order_items"):
        results = ws.ingest(table, FIXTURE, format="segment")
        assert results[0].table == table
        assert {r.table for r in results} == {"events", "orders", "order_items"}
    assert rows(ws, "SELECT count(*) FROM orders") == [(2,)]


def _message(event: str, ts: str, mid: str, **props) -> str:
    return json.dumps(
        {
            "anonymousId": "a-1",
            "event": event,
            "messageId": mid,
            "properties": props,
            "timestamp": ts,
            "type": "track",
            "userId": "u-9",
        }
    )


def test_a_refund_in_a_later_file_changes_the_status_only(ws, tmp_path):
    placed = tmp_path / "day1.jsonl"
    placed.write_text(
        _message(
            "Order Completed",
            "2024-04-01T10:00:00.000Z",
            "m1",
            order_id="A-1",
            total=60.0,
            coupon="WELCOME",
            discount=5.0,
            products=[{"product_id": "p1", "price": 30.0, "quantity": 2}],
        )
        + "\n"
    )
    refunded = tmp_path / "day9.jsonl"
    refunded.write_text(
        _message("Order Refunded", "2024-04-09T08:00:00Z", "m2", order_id="A-1") + "\n"
    )
    ws.ingest("events", placed, format="segment")
    # --tz reads naive times only: the stored UTC time of the order is not shifted
    res = {r.table: r for r in ws.ingest("events", refunded, format="segment", tz="Asia/Shanghai")}
    assert (res["orders"].read, res["orders"].updated) == (1, 1)
    order = "SELECT ts, amount, quantity, status, coupon_code, discount FROM orders"
    want = [(datetime(2024, 4, 1, 10), 60.0, 2, "refunded", "WELCOME", 5.0)]
    assert rows(ws, order) == want
    assert rows(ws, "SELECT status FROM orders_history") == [("paid",)]
    # an older export seen again does not undo the refund
    res = {r.table: r for r in ws.ingest("events", placed, format="segment")}
    assert (res["orders"].duplicates, res["orders"].updated) == (1, 0)
    assert rows(ws, order) == want


def test_order_cancelled_marks_the_order_and_quarantines_the_event(ws, tmp_path):
    f = tmp_path / "cancel.jsonl"
    f.write_text(
        _message("Order Completed", "2024-04-01T10:00:00Z", "m1", order_id="C-7", total=19.0)
        + "\n"
        + _message("Order Cancelled", "2024-04-01T11:00:00Z", "m2", order_id="C-7")
        + "\n"
        + _message("Order Refunded", "2024-04-02T09:00:00Z", "m3", order_id="X-404")
        + "\n"
    )
    res = {r.table: r for r in ws.ingest("events", f, format="segment")}
    assert res["events"].reasons == {"unmapped segment event 'Order Cancelled'": 1}
    # a refund of an order never seen, without a total, cannot make an orders row
    assert res["orders"].reasons == {"missing amount": 1}
    assert rows(ws, "SELECT order_id, ts, amount, status FROM orders") == [
        ("C-7", datetime(2024, 4, 1, 10), 19.0, "cancelled")
    ]


def test_cli_ingest_prints_the_counts(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "liucun.cli",
            "--workspace",
            str(tmp_path),
            "ingest",
            "events",
            str(FIXTURE),
            "--format",
            "segment",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "events: read 21 = loaded 15 + updated 0 + duplicates 0 + quarantined 6" in proc.stdout
    assert "orders: read 3 = loaded 2 + updated 0 + duplicates 0 + quarantined 1" in proc.stdout


def test_line_with_bad_bytes_is_quarantined_not_loaded(ws, tmp_path):
    lines = FIXTURE.read_bytes().split(b"\n")
    assert b"Search results" in lines[1]
    lines[1] = lines[1].replace(b"Search results", b"Search \xffresults")
    src = tmp_path / "segment_events.jsonl"
    src.write_bytes(b"\n".join(lines))
    clean = {r.table: r for r in ws.ingest("events", FIXTURE, format="segment")}["events"]
    ws2 = liucun.Workspace(tmp_path / "ws2")
    with ws2:
        bad = {r.table: r for r in ws2.ingest("events", src, format="segment")}["events"]
        assert bad.read == clean.read
        assert (bad.loaded, bad.quarantined) == (clean.loaded - 1, clean.quarantined + 1)
        assert read_errors(ws2) == [("events", 2, "line", "invalid utf-8 byte sequence")]
