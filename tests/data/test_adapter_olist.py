"""The olist adapter: the Olist folder of CSVs → orders, lines, users, items, reviews."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from shared import read_errors

import liucun
from liucun.data.adapters.olist import FILES, NO_TEXT
from liucun.errors import SourceError

FIXTURES = Path(__file__).parent / "fixtures" / "olist"
ORDERS_FILE = FIXTURES / FILES["orders"]

FIRST = "e481f51cbdc54678b7cc49136f2d6af7"  # 3 payments: card 18.12 + vouchers 2 + 18.59
CANCELED = "6a4657045b013f0d50a80b71b61a5bfe"
UNAVAILABLE = "ab0fd361fde5c3625fe76007f204cc04"
MULTI_LINE = "00143d0f86d6fbd9f9b38ab440ac16f5"  # 3 units of one product
TWO_PRODUCTS = "5143dfd77b3a79d1965967e70ef045c7"
NO_PAYMENTS = "bfbd0f9bdef84302105ad712db648a6c"
REPEAT_BUYER = "7c396fd4830fd04220f754e42b4e5bff"  # 2 orders, 2 customer_ids, SP then RJ


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture folder, for tests that alter it."""
    dst = tmp_path / "olist"
    shutil.copytree(FIXTURES, dst)
    return dst


def by_table(results: list) -> dict:
    return {r.table: r for r in results}


def rows(ws: liucun.Workspace, sql: str) -> list[tuple]:
    return ws.warehouse.con.execute(sql).fetchall()


def n_rows(path: Path) -> int:
    return len(pd.read_csv(path, dtype=str))


def test_fills_six_tables_from_the_folder_and_every_result_balances(ws) -> None:
    res = by_table(ws.ingest("orders", FIXTURES, format="olist"))
    assert list(res) == ["orders", "order_items", "users", "items", "reviews", "events"]
    assert all(r.balanced for r in res.values())
    counts = {t: (r.read, r.loaded, r.quarantined) for t, r in res.items()}
    assert counts == {
        "orders": (13, 13, 0),
        "order_items": (17, 17, 0),
        "users": (12, 12, 0),  # 13 customer rows, one person twice
        "items": (12, 12, 0),
        "reviews": (10, 7, 3),
        "events": (10, 10, 0),  # every score is a rating, text or not
    }


def test_every_source_row_is_accounted_for(ws) -> None:
    res = by_table(ws.ingest("reviews", FIXTURES, format="olist"))
    for table, key in [
        ("orders", "orders"),
        ("order_items", "items"),
        ("items", "products"),
        ("reviews", "reviews"),
    ]:
        n = n_rows(FIXTURES / FILES[key])  # pandas reads the quoted newlines as one row
        assert res[table].read == n
        loaded = {r[0] for r in rows(ws, f"SELECT _row FROM {table}")}
        held = {
            r[0]
            for r in rows(ws, f"SELECT row_number FROM quarantine WHERE table_name = '{table}'")
        }
        assert not loaded & held
        assert loaded | held == set(range(1, n + 1)), table
    people = pd.read_csv(FIXTURES / FILES["customers"], dtype=str)["customer_unique_id"]
    assert {r[0] for r in rows(ws, "SELECT user_id FROM users")} == set(people)


def test_any_one_file_finds_its_siblings(ws) -> None:
    res = by_table(ws.ingest("orders", ORDERS_FILE, format="olist"))
    assert set(res) == {"orders", "order_items", "users", "items", "reviews", "events"}
    assert res["orders"].loaded == 13
    res = by_table(ws.ingest("reviews", FIXTURES / FILES["reviews"], format="olist"))
    assert all(r.loaded == 0 and r.updated == 0 for r in res.values())


def test_orders_amount_status_person_and_quantity(ws) -> None:
    ws.ingest("orders", FIXTURES, format="olist")
    df = ws.table("orders").execute().set_index("order_id")
    first = df.loc[FIRST]
    assert first["user_id"] == REPEAT_BUYER  # customer_unique_id, not customer_id
    assert first["amount"] == 38.71  # summed exactly
    assert (first["status"], first["quantity"]) == ("paid", 1)
    assert first["ts"] == pd.Timestamp("2017-10-02 10:56:33")
    assert df.loc[CANCELED, "status"] == "cancelled"
    assert df.loc[CANCELED, "amount"] == pytest.approx(105.23)
    assert df.loc[UNAVAILABLE, "status"] == "cancelled"
    assert pd.isna(df.loc[UNAVAILABLE, "quantity"])  # no lines
    assert df.loc[MULTI_LINE, "quantity"] == 3
    assert df.loc[MULTI_LINE, "amount"] == pytest.approx(109.29)
    assert df.loc[TWO_PRODUCTS, "amount"] == pytest.approx(150 + 38.53)  # card + voucher
    assert df.loc[TWO_PRODUCTS, "status"] == "paid"  # "shipped"
    # No payment row: the lines' price + freight.
    assert df.loc[NO_PAYMENTS, "amount"] == pytest.approx(3 * (44.99 + 2.83))
    assert set(df["status"]) == {"paid", "cancelled"}


def test_order_lines_are_one_unit_each(ws) -> None:
    ws.ingest("order_items", FIXTURES, format="olist")
    lines = rows(
        ws,
        f"SELECT item_id, quantity, price FROM order_items WHERE order_id = '{MULTI_LINE}'",
    )
    assert lines == [("e95ee6822b66ac6058e2e4aff656071a", 1, 21.33)] * 3
    two = rows(
        ws,
        f"SELECT price FROM order_items WHERE order_id = '{TWO_PRODUCTS}' ORDER BY _row",
    )
    assert two == [(99.9,), (59.0,)]


def test_users_are_people_with_their_latest_state(ws) -> None:
    ws.ingest("users", FIXTURES, format="olist")
    users = {r[0]: r[1:] for r in rows(ws, "SELECT user_id, region, attributes FROM users")}
    region, attrs = users[REPEAT_BUYER]
    assert region == "RJ"  # the 2018 order's address, not the 2017 one
    assert attrs == '{"city":"rio de janeiro","zip_code_prefix":"22790"}'
    region, attrs = users["72632f0f9dd73dfee390c9b22eb56dd6"]
    assert region == "SP"
    assert '"zip_code_prefix":"09195"' in attrs  # leading zero kept


def test_items_categories_in_english_and_latest_price(ws) -> None:
    ws.ingest("items", FIXTURES, format="olist")
    items = {r[0]: r[1:] for r in rows(ws, "SELECT item_id, category, price FROM items")}
    assert items["595fac2a385ac33a80bd5114aec74eb8"] == ("perfumery", 118.7)
    assert items["87285b34884572647811a353c7ac498a"] == ("housewares", 32.9)  # 29.99 in 2017
    assert items["a1804276d9941ac0733cfd409f5206eb"] == (None, 49.9)  # no category
    pc_gamer = [c for c, _ in items.values() if c == "pc_gamer"]
    assert pc_gamer == ["pc_gamer"]  # no translation: kept in Portuguese


def test_reviews_text_rating_item_and_person(ws) -> None:
    res = by_table(ws.ingest("reviews", FIXTURES, format="olist"))
    assert res["reviews"].reasons == {NO_TEXT: 3}
    df = ws.table("reviews").execute().set_index("item_id")
    newline = df.loc["65266b2da20d04dbe00c5c2d3bb7859e"]  # quoted CR/LF in the message
    assert newline["text"] == (
        "recomendo\nChegou antes do prazo.\r\nProduto de ótima qualidade, recomendo."
    )
    assert newline["rating"] == 5.0
    assert newline["user_id"] == "72632f0f9dd73dfee390c9b22eb56dd6"
    assert newline["ts"] == pd.Timestamp("2018-02-17")
    canceled = df.loc["4244733e06e7ecb4970a6e2683c13e61"]
    assert canceled["rating"] == 1.0
    assert canceled["text"].startswith("Não recebi\nComprei e a loja cancelou")
    assert df.loc["5a6b04657a4c5ee34285d1e4619a96b4", "text"] == "Ótimo"  # title only
    assert df.loc["e95ee6822b66ac6058e2e4aff656071a", "text"] == (
        "Recebi só 2 dos 3 produtos que comprei"  # message only
    )
    held = rows(
        ws,
        "SELECT row_number, column_name, reason FROM quarantine "
        "WHERE table_name = 'reviews' ORDER BY row_number",
    )
    assert held == [
        (3, "review_comment_message", NO_TEXT),  # score only
        (7, "review_comment_message", NO_TEXT),
        (10, "review_comment_message", NO_TEXT),  # blanks only
    ]


def test_reingest_adds_nothing(ws) -> None:
    ws.ingest("orders", FIXTURES, format="olist")
    again = ws.ingest("orders", FIXTURES, format="olist")
    for r in again:
        assert r.balanced
        assert (r.loaded, r.updated) == (0, 0), r
        assert r.duplicates + r.quarantined == r.read
    assert ws.warehouse.count("reviews") == 7


def test_unknown_orders_and_customers(ws, copy) -> None:
    ghost = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
    stranger = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"
    with open(copy / FILES["items"], "a", encoding="utf-8") as f:
        f.write(
            f"{ghost},1,87285b34884572647811a353c7ac498a,3504c0cb71d7fa48d967e0e4c94d59d9,"
            "2018-01-05 10:00:00,29.99,8.72\n"
        )
    with open(copy / FILES["reviews"], "a", encoding="utf-8") as f:
        f.write(f"{'1' * 32},{ghost},5,,Gostei,2018-01-10 00:00:00,2018-01-11 10:00:00\n")
    with open(copy / FILES["orders"], "a", encoding="utf-8") as f:
        f.write(
            f'{"2" * 32},"{stranger}",delivered,2018-01-02 10:00:00,2018-01-02 10:10:00,'
            ",,2018-01-20 00:00:00\n"
        )
    with open(copy / FILES["payments"], "a", encoding="utf-8") as f:
        f.write(f"{'2' * 32},1,credit_card,1,10.5\n")
    res = by_table(ws.ingest("orders", copy, format="olist"))
    assert all(r.balanced for r in res.values())
    # A line of an order the orders file lacks still loads: no foreign-key check.
    assert rows(ws, f"SELECT count(*) FROM order_items WHERE order_id = '{ghost}'") == [(1,)]
    assert res["reviews"].reasons == {NO_TEXT: 3, f"order not in {FILES['orders']}": 1}
    assert res["orders"].reasons == {f"customer_id not in {FILES['customers']}": 1}


def test_without_payments_amounts_come_from_the_lines(ws, copy) -> None:
    (copy / FILES["payments"]).unlink()
    [res, *_] = ws.ingest("orders", copy, format="olist")
    amount = dict(rows(ws, "SELECT order_id, amount FROM orders"))
    assert amount[FIRST] == pytest.approx(29.99 + 8.72)
    assert amount[MULTI_LINE] == pytest.approx(109.29)
    # The unavailable order has neither payments nor lines: nothing says what was paid.
    assert res.reasons == {"missing amount": 1}
    assert UNAVAILABLE not in amount


def test_missing_customers_file_is_one_line_error(ws, copy) -> None:
    (copy / FILES["customers"]).unlink()
    with pytest.raises(SourceError, match=FILES["customers"]) as e:
        ws.ingest("orders", copy / FILES["orders"], format="olist")
    assert "\n" not in str(e.value)
    assert ws.warehouse.count("orders") == 0


def test_products_alone_fill_items_only(ws, tmp_path) -> None:
    folder = tmp_path / "only"
    folder.mkdir()
    shutil.copy(FIXTURES / FILES["products"], folder)
    [res] = ws.ingest("items", folder / FILES["products"], format="olist")
    assert (res.table, res.loaded) == ("items", 12)
    with pytest.raises(SourceError, match=FILES["orders"]):
        ws.ingest("orders", folder, format="olist")


def test_a_file_with_another_name_is_refused(ws, tmp_path) -> None:
    f = tmp_path / "orders.csv"
    shutil.copy(ORDERS_FILE, f)
    with pytest.raises(SourceError, match="not an Olist file"):
        ws.ingest("orders", f, format="olist")


def test_times_are_read_in_the_ingest_time_zone(ws) -> None:
    ws.ingest("orders", FIXTURES, format="olist", tz="America/Sao_Paulo")
    [(ts,)] = rows(ws, f"SELECT ts FROM orders WHERE order_id = '{FIRST}'")
    assert ts == pd.Timestamp("2017-10-02 13:56:33")  # UTC-3


def test_cli_ingest(tmp_path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "liucun.cli",
            "--workspace",
            str(tmp_path),
            "ingest",
            "reviews",
            str(FIXTURES),
            "--format",
            "olist",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "reviews: read 10 = loaded 7" in proc.stdout
    assert "orders: read 13 = loaded 13" in proc.stdout


def test_row_with_bad_bytes_is_quarantined_not_loaded(ws, copy) -> None:
    products = copy / FILES["products"]
    data = products.read_bytes().split(b"\n")
    data[1] = data[1].replace(b"utilidades", b"utili\xffdades")
    products.write_bytes(b"\n".join(data))
    res = by_table(ws.ingest("items", products, format="olist"))
    items = res["items"]
    assert items.quarantined == 1 and items.loaded == items.read - 1
    assert read_errors(ws) == [("items", 1, None, "invalid utf-8 byte sequence")]
    assert "\ufffd" not in ws.table("items").execute().to_string()
