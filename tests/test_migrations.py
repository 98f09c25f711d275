"""A warehouse written by the previous release opens and is migrated in place (issue 17).

The fixture builds a version-1 warehouse with the DDL of commit 93a374d (the last release
before versions were recorded), copied here as text so that a later change to today's
DDL cannot change what "version 1" means. Every row must survive migration unchanged,
a reopen must change nothing, a newer file is refused, and a migration that fails or is
killed half-way leaves the file at version 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

import liucun
from liucun import migrations
from liucun.errors import LiucunError
from liucun.migrations import SCHEMA_VERSION, STEPS
from liucun.warehouse import Warehouse

# `git show 93a374d:liucun/warehouse.py` (table_ddl over liucun/data/schema.py,
# QUARANTINE_DDL, INGESTS_DDL) and `git show 93a374d:liucun/features/text.py` (DDL).
V1_DDL = (
    'CREATE TABLE events ("user_id" VARCHAR, "ts" TIMESTAMP, "event_type" VARCHAR, "item_id" VARCHAR, "session_id" VARCHAR, "value" DOUBLE, "properties" VARCHAR, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT)',  # noqa: E501
    'CREATE TABLE events_history ("user_id" VARCHAR, "ts" TIMESTAMP, "event_type" VARCHAR, "item_id" VARCHAR, "session_id" VARCHAR, "value" DOUBLE, "properties" VARCHAR, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT, _superseded_at TIMESTAMP)',  # noqa: E501
    'CREATE TABLE orders ("order_id" VARCHAR, "user_id" VARCHAR, "ts" TIMESTAMP, "amount" DOUBLE, "quantity" BIGINT, "status" VARCHAR, "coupon_code" VARCHAR, "discount" DOUBLE, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT)',  # noqa: E501
    'CREATE TABLE orders_history ("order_id" VARCHAR, "user_id" VARCHAR, "ts" TIMESTAMP, "amount" DOUBLE, "quantity" BIGINT, "status" VARCHAR, "coupon_code" VARCHAR, "discount" DOUBLE, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT, _superseded_at TIMESTAMP)',  # noqa: E501
    'CREATE TABLE order_items ("order_id" VARCHAR, "item_id" VARCHAR, "quantity" BIGINT, "price" DOUBLE, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT)',  # noqa: E501
    'CREATE TABLE order_items_history ("order_id" VARCHAR, "item_id" VARCHAR, "quantity" BIGINT, "price" DOUBLE, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT, _superseded_at TIMESTAMP)',  # noqa: E501
    'CREATE TABLE users ("user_id" VARCHAR, "signup_ts" TIMESTAMP, "region" VARCHAR, "channel" VARCHAR, "attributes" VARCHAR, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT)',  # noqa: E501
    'CREATE TABLE users_history ("user_id" VARCHAR, "signup_ts" TIMESTAMP, "region" VARCHAR, "channel" VARCHAR, "attributes" VARCHAR, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT, _superseded_at TIMESTAMP)',  # noqa: E501
    'CREATE TABLE items ("item_id" VARCHAR, "category" VARCHAR, "price" DOUBLE, "brand" VARCHAR, "title" VARCHAR, "description" VARCHAR, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT)',  # noqa: E501
    'CREATE TABLE items_history ("item_id" VARCHAR, "category" VARCHAR, "price" DOUBLE, "brand" VARCHAR, "title" VARCHAR, "description" VARCHAR, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT, _superseded_at TIMESTAMP)',  # noqa: E501
    'CREATE TABLE reviews ("user_id" VARCHAR, "ts" TIMESTAMP, "text" VARCHAR, "item_id" VARCHAR, "rating" DOUBLE, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT)',  # noqa: E501
    'CREATE TABLE reviews_history ("user_id" VARCHAR, "ts" TIMESTAMP, "text" VARCHAR, "item_id" VARCHAR, "rating" DOUBLE, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT, _superseded_at TIMESTAMP)',  # noqa: E501
    'CREATE TABLE treatments ("user_id" VARCHAR, "ts" TIMESTAMP, "campaign_id" VARCHAR, "action" VARCHAR, "arm" VARCHAR, "cost" DOUBLE, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT)',  # noqa: E501
    'CREATE TABLE treatments_history ("user_id" VARCHAR, "ts" TIMESTAMP, "campaign_id" VARCHAR, "action" VARCHAR, "arm" VARCHAR, "cost" DOUBLE, _key VARCHAR, _source VARCHAR, _row BIGINT, _ingest_id BIGINT, _superseded_at TIMESTAMP)',  # noqa: E501
    """CREATE TABLE quarantine (ingest_id BIGINT, table_name VARCHAR, source_file VARCHAR,
        row_number BIGINT, column_name VARCHAR, reason VARCHAR, raw VARCHAR,
        quarantined_at TIMESTAMP)""",
    """CREATE TABLE ingests (ingest_id BIGINT, table_name VARCHAR, source_file VARCHAR,
        format VARCHAR, started_at TIMESTAMP, read BIGINT, loaded BIGINT, updated BIGINT,
        duplicates BIGINT, quarantined BIGINT)""",
    """CREATE TABLE text_scores (_key VARCHAR, source VARCHAR, user_id VARCHAR,
        ts TIMESTAMP, item_id VARCHAR, lang VARCHAR, p_positive DOUBLE,
        negative_aspects VARCHAR, aspects VARCHAR, model_id VARCHAR)""",
)

T = dt.datetime
# The rows of the version-1 warehouse: ids as files wrote them ('007', '#1001', '0002').
ORDERS = [
    ("#1001", "007", T(2024, 1, 3, 10), 25.5, 2, "paid", "WELCOME", 5.0, None, "orders.csv", 1, 2),
    ("0002", "00042", T(2024, 1, 5), 12.0, 1, "refunded", None, None, None, "orders.csv", 2, 2),
    ("o-3", "u 3", T(2024, 1, 7, 8, 30), 40.25, None, "paid", None, 0.0, None, "orders.csv", 3, 2),
]
USERS = [
    ("007", T(2023, 12, 1), "north", "web", '{"vip": true, "device": "d1"}', None, "u.csv", 1, 1),
    ("00042", None, None, None, None, None, "u.csv", 2, 1),
]
# Events and reviews keyed as the old ingest keyed them: a digest of the key columns and
# the occurrence number (liucun.data.ingest._key_sql at 93a374d).
EVENTS = [
    ("007", T(2024, 1, 2, 9), "view", "i-01", "s1", None, '{"utm": "mail", "text": "你好"}'),
    ("00042", T(2024, 1, 6), "support", None, None, None, '{"message": "where is #1001?"}'),
    ("007", T(2024, 1, 3, 10), "purchase", "i-01", "s1", 25.5, None),
]
EVENT_KEY = (
    "substr(md5(concat_ws(chr(31), "
    + ", ".join(
        f"coalesce(CAST({c} AS VARCHAR), chr(0))"
        for c in ("user_id", "ts", "event_type", "item_id", "session_id", "value", "properties")
    )
    + ")), 1, 20) || '-1'"
)
INSERTS = [
    ("orders", ORDERS),
    (
        "orders_history",
        [(*ORDERS[0][:3], 20.0, *ORDERS[0][4:11], 1, T(2024, 1, 8))],
    ),
    ("order_items", [("#1001", "i-01", 2, 12.75, "k-oi-1", "order_items.csv", 1, 3)]),
    ("users", USERS),
    ("items", [("i-01", "a/b", 12.75, "Acme", "Mug", None, None, "items.csv", 1, 3)]),
    ("reviews", [("007", T(2024, 1, 6), "很好 great mug", "i-01", 5.0, "rk-1", "r.csv", 1, 5)]),
    (
        "treatments",
        [("00042", T(2024, 1, 4), "c-1", "coupon10", "control", 0.0, "tk-1", "t.csv", 1, 5)],
    ),
    (
        "quarantine",
        [
            (
                2,
                "orders",
                "orders.csv",
                4,
                "amount",
                "non-numeric amount abc",
                '{"amount":"abc"}',
                T(2024, 1, 9),
            )
        ],
    ),
    (
        "ingests",
        [
            (i, t, f, "csv", T(2024, 1, 9, 0, i), n, n, 0, 0, q)
            for i, t, f, n, q in [
                (1, "users", "u.csv", 2, 0),
                (2, "orders", "orders.csv", 4, 1),
                (3, "items", "items.csv", 1, 0),
                (4, "events", "events.csv", 3, 0),
                (5, "reviews", "r.csv", 1, 0),
            ]
        ],
    ),
    (
        "text_scores",
        [("rk-1", "review", "007", T(2024, 1, 6), "i-01", "zh", 0.93, "[]", '["quality"]', "m1")],
    ),
]


def make_v1(ws_path: Path) -> Path:
    """A workspace folder whose warehouse the previous release wrote."""
    ws_path.mkdir(parents=True)
    path = ws_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    for ddl in V1_DDL:
        con.execute(ddl)
    for table, rows in INSERTS:
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", [list(r) for r in rows])
    for i, row in enumerate(EVENTS, start=1):
        con.execute(
            "INSERT INTO events SELECT *, "
            f"{EVENT_KEY}, 'events.csv', {i}, 4 FROM (SELECT ?::VARCHAR AS user_id, "
            "?::TIMESTAMP AS ts, ?::VARCHAR AS event_type, ?::VARCHAR AS item_id, "
            "?::VARCHAR AS session_id, ?::DOUBLE AS value, ?::VARCHAR AS properties)",
            list(row),
        )
    con.close()
    return path


def snapshot(path: Path) -> dict[str, tuple[list[tuple], list[tuple]]]:
    """Every table's (columns with types, rows in a fixed order), read with DuckDB alone."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables ORDER BY table_name"
            ).fetchall()
        ]
        return {
            n: (
                con.execute(f'DESCRIBE "{n}"').fetchall(),
                con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall(),
            )
            for n in names
        }
    finally:
        con.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    return make_v1(tmp_path / "old")


def test_v1_fixture_is_what_the_previous_release_wrote(v1: Path) -> None:
    """The fixture has no version table and holds the rows as given (ids as text)."""
    snap = snapshot(v1)
    assert "schema_version" not in snap
    assert len(snap) == len(V1_DDL)
    assert [r[0] for r in snap["orders"][1]] == sorted(r[0] for r in ORDERS)
    assert {r[0] for r in snap["users"][1]} == {"007", "00042"}


def test_v1_workspace_opens_migrated_with_every_row(v1: Path) -> None:
    before = snapshot(v1)
    with liucun.Workspace(v1.parent) as ws:
        assert ws.warehouse.schema_version() == SCHEMA_VERSION
        log = ws.warehouse.con.execute("SELECT version, note FROM schema_version").fetchall()
    assert log == [
        (v + 1, f"migrated from version {v}: " + migrations._summary(STEPS[v]))
        for v in range(1, SCHEMA_VERSION)
    ]
    after = snapshot(v1)
    # Every old table: same columns, same types, same rows, value for value.
    assert {n: after[n] for n in before} == before
    # v3 adds inventory (empty) and its history.
    assert set(after) == set(before) | {"schema_version", "inventory", "inventory_history"}
    assert after["inventory"][1] == []
    # Spelled out for the ids and JSON this wave cares about.
    orders = {r[0]: r for r in after["orders"][1]}
    assert orders["#1001"][1] == "007" and orders["0002"][1] == "00042"
    assert orders["#1001"][3] == 25.5 and orders["#1001"][6] == "WELCOME"
    props = {r[2]: r[6] for r in after["events"][1]}
    assert props["view"] == '{"utm": "mail", "text": "你好"}'
    assert props["support"] == '{"message": "where is #1001?"}'
    assert after["text_scores"][1][0][6] == 0.93


def test_migrated_workspace_ingests_and_summarises(v1: Path, tmp_path: Path) -> None:
    orders_csv = tmp_path / "orders.csv"
    # '#1001' exactly as the old release loaded it (a duplicate), one new order '0003'.
    orders_csv.write_text(
        "order_id,user_id,ts,amount,quantity,status,coupon_code,discount\n"
        "#1001,007,2024-01-03 10:00:00,25.5,2,paid,WELCOME,5.0\n"
        "0003,0099,2024-01-10 12:00:00,7.75,1,paid,,\n",
        encoding="utf-8",
    )
    events_csv = tmp_path / "events.csv"
    # The old release's view event again (keyed the same way: nothing added), one new one.
    events_csv.write_text(
        "user_id,ts,event_type,item_id,session_id,value,properties\n"
        '007,2024-01-02 09:00:00,view,i-01,s1,,"{""utm"": ""mail"", ""text"": ""你好""}"\n'
        '0099,2024-01-10 11:00:00,view,i-01,s9,,"{""utm"": ""ads""}"\n',
        encoding="utf-8",
    )
    with liucun.Workspace(v1.parent) as ws:
        (orders,) = ws.ingest("orders", orders_csv)
        (events,) = ws.ingest("events", events_csv)
        assert (orders.loaded, orders.duplicates, orders.updated) == (1, 1, 0)
        assert (events.loaded, events.duplicates, events.updated) == (1, 1, 0)
        ids = {r[0] for r in ws.warehouse.con.execute("SELECT order_id FROM orders").fetchall()}
        assert ids == {r[0] for r in ORDERS} | {"0003"}
        new_ingest = ws.warehouse.con.execute("SELECT max(ingest_id) FROM ingests").fetchall()
        assert new_ingest == [(7,)]  # numbered after the old release's five
        summary = ws.warehouse.summary()
    user_ids = {r[1] for r in ORDERS} | {r[0] for r in USERS} | {r[0] for r in EVENTS} | {"0099"}
    paid = sum(r[3] for r in ORDERS if r[5] == "paid") + 7.75
    assert summary["customers"] == len(user_ids)
    assert summary["revenue"] == pytest.approx(paid)
    assert summary["tables"]["orders"] == len(ORDERS) + 1
    assert summary["tables"]["events"] == len(EVENTS) + 1
    assert summary["quarantined"] == 1
    assert summary["first_order"] == "2024-01-03T10:00:00"


def test_reopen_is_a_no_op(v1: Path) -> None:
    with liucun.Workspace(v1.parent) as ws:
        ws.warehouse.con  # noqa: B018 (opening migrates)
    migrated, log = digest(v1), snapshot(v1)["schema_version"]
    for _ in range(2):
        with liucun.Workspace(v1.parent) as ws:
            assert ws.warehouse.schema_version() == SCHEMA_VERSION
    assert snapshot(v1)["schema_version"] == log
    assert digest(v1) == migrated  # not a byte written


def test_fresh_workspace_is_created_at_the_current_version(tmp_path: Path, v1: Path) -> None:
    with liucun.Workspace(tmp_path / "new") as ws:
        assert ws.warehouse.schema_version() == SCHEMA_VERSION
        log = ws.warehouse.con.execute("SELECT version, note FROM schema_version").fetchall()
        ws.warehouse.ensure_text_scores()  # made when texts are first scored
    assert log == [(SCHEMA_VERSION, f"created at version {SCHEMA_VERSION}")]
    with liucun.Workspace(v1.parent) as ws:
        ws.warehouse.con  # noqa: B018
    # A migrated warehouse has exactly a fresh one's layout: a change to the DDL without a
    # migration step fails here.
    fresh = {n: cols for n, (cols, _) in snapshot(tmp_path / "new" / "warehouse.duckdb").items()}
    migrated = {n: cols for n, (cols, _) in snapshot(v1).items()}
    assert migrated == fresh


def _set_version(path: Path, version: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?, now()::TIMESTAMP, 'later')", [version])
    con.close()


def test_newer_warehouse_is_refused(tmp_path: Path) -> None:
    with liucun.Workspace(tmp_path / "ws") as ws:
        ws.warehouse.con  # noqa: B018
    path = tmp_path / "ws" / "warehouse.duckdb"
    _set_version(path, SCHEMA_VERSION + 1)
    before = digest(path)
    with liucun.Workspace(tmp_path / "ws") as ws:
        for _ in range(2):  # refused every time, never left half open
            with pytest.raises(LiucunError) as e:
                ws.warehouse.con  # noqa: B018
            msg = str(e.value)
            assert "\n" not in msg
            assert str(path) in msg
            assert f"schema version {SCHEMA_VERSION + 1}" in msg
            assert f"version {SCHEMA_VERSION} that this liucun supports" in msg
            assert msg.endswith("upgrade liucun")
    with pytest.raises(LiucunError, match="upgrade liucun"), Warehouse.read_only(path):
        pass
    assert digest(path) == before


@pytest.mark.parametrize("failure", ["python", "duckdb"])
def test_failed_migration_leaves_v1_intact(
    v1: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    before = snapshot(v1)
    real = STEPS[1]

    def half_done(con: duckdb.DuckDBPyConnection) -> None:
        real(con)  # the step's work is done, then it fails
        con.execute("DELETE FROM orders")
        if failure == "python":
            raise RuntimeError("boom")
        con.execute("SELECT * FROM no_such_table")

    monkeypatch.setitem(STEPS, 1, half_done)
    with liucun.Workspace(v1.parent) as ws:
        if failure == "python":
            with pytest.raises(RuntimeError, match="boom"):
                ws.warehouse.con  # noqa: B018
        else:
            with pytest.raises(LiucunError) as e:
                ws.warehouse.con  # noqa: B018
            msg = str(e.value)
            assert f"migrating from schema version 1 to {SCHEMA_VERSION} failed" in msg
            assert "the warehouse is unchanged" in msg and "\n" not in msg
        ws.warehouse.close()
        assert snapshot(v1) == before  # still version 1: no version table, every row
        monkeypatch.setitem(STEPS, 1, real)
        assert ws.warehouse.schema_version() == SCHEMA_VERSION  # the same object retries
    assert {n: v for n, v in snapshot(v1).items() if n in before} == before


def test_killed_migration_leaves_v1_intact(v1: Path) -> None:
    before = snapshot(v1)
    script = textwrap.dedent(
        f"""
        import os
        from liucun import migrations
        from liucun.warehouse import Warehouse
        real = migrations.STEPS[1]
        def killed(con):
            real(con)
            con.execute("DELETE FROM events")
            os._exit(17)
        migrations.STEPS[1] = killed
        Warehouse({str(v1)!r}).con
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert r.returncode == 17, r.stderr
    assert snapshot(v1) == before
    with liucun.Workspace(v1.parent) as ws:
        assert ws.warehouse.schema_version() == SCHEMA_VERSION
        assert ws.warehouse.count("events") == len(EVENTS)


def test_read_only_open_reads_v1_without_migrating(
    v1: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = digest(v1)
    with Warehouse.read_only(v1) as (backend, names):
        assert "schema_version" not in names
        assert backend.table("orders").count().execute() == len(ORDERS)
    assert digest(v1) == before
    # Were version 1 no longer readable as is, readers would say how to migrate.
    monkeypatch.setattr(migrations, "READABLE_FROM", 2)
    with pytest.raises(LiucunError) as e, Warehouse.read_only(v1):
        pass
    msg = str(e.value)
    assert str(v1) in msg and "schema version 1" in msg
    assert "run any liucun command that writes, e.g. `liucun ingest`, to migrate" in msg
    assert digest(v1) == before


def test_unknown_layout_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "odd" / "warehouse.duckdb"
    path.parent.mkdir()
    con = duckdb.connect(str(path))
    con.execute(V1_DDL[2].replace('"amount" DOUBLE', '"amount" VARCHAR'))
    con.execute("INSERT INTO orders (order_id, amount) VALUES ('#1', '12,50')")
    con.close()
    before = snapshot(path)
    with pytest.raises(LiucunError) as e:
        Warehouse(path).con  # noqa: B018
    msg = str(e.value)
    assert "table orders: column amount is VARCHAR, expected DOUBLE" in msg
    assert snapshot(path) == before


def _race(path: Path, openers: int = 4) -> tuple[list[BaseException], list[tuple]]:
    """Open ``path`` for writing from several threads at once: (errors, version rows)."""
    whs = [Warehouse(path) for _ in range(openers)]
    barrier = threading.Barrier(openers)
    errors: list[BaseException] = []

    def open_one(wh: Warehouse) -> None:
        barrier.wait()
        try:
            wh.con  # noqa: B018
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=open_one, args=(wh,)) for wh in whs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    rows: Any = whs[0].con.execute("SELECT version FROM schema_version").fetchall()
    for wh in whs:
        wh.close()
    return errors, rows


@pytest.mark.parametrize("start", ["v1", "fresh"])
def test_openers_racing_in_one_process_migrate_once(tmp_path: Path, start: str) -> None:
    """Threads of one process opening the same file at once: one creates or migrates it,
    the others find it current (over a few rounds, as the interleaving varies)."""
    for round_ in range(3):
        folder = tmp_path / f"{start}{round_}"
        path = make_v1(folder) if start == "v1" else folder / "warehouse.duckdb"
        errors, rows = _race(path)
        assert not errors
        # migrated once: one row per step from v1; a fresh file records its creation
        first = 2 if start == "v1" else SCHEMA_VERSION
        assert sorted(rows) == [(v,) for v in range(first, SCHEMA_VERSION + 1)]
