"""Files as shops write them are read as written: issue 17, reading side.

Every test goes through ``liucun ingest`` (or the side-input reader of ``sentiment --in``)
on a tiny file shaped like a real export, and checks each value against what the file said.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

import liucun
from liucun.cli import app
from liucun.data.sources import error_reason, read_frame

HEADER = "order_id,user_id,ts,amount,status\n"


def ingest(ws: Path, *args: str) -> str:
    """`liucun ingest ...` in process, which must succeed; its output."""
    r = CliRunner().invoke(app, ["--workspace", str(ws), "ingest", *args])
    assert r.exit_code == 0, (r.output, r.exception)
    return r.output


def rows(ws: Path, sql: str) -> list[tuple]:
    with liucun.Workspace(ws) as w:
        return w.warehouse.con.execute(sql).fetchall()


def orders(ws: Path) -> list[tuple]:
    return rows(ws, "SELECT order_id, user_id, amount FROM orders ORDER BY _row")


def quarantined(ws: Path) -> list[tuple]:
    return rows(ws, "SELECT row_number, reason FROM quarantine ORDER BY row_number")


def order_lines(n: int, start: int = 1) -> list[str]:
    return [
        f"#{1000 + i},u{i},2024-03-0{1 + i % 9} 10:00:00,{i}.50,paid\n" for i in range(start, n)
    ]


# -- item 5: ids starting with '#' are ids, not comments ---------------------------------
def test_shopify_hash_ids_are_all_loaded(tmp_path: Path) -> None:
    ids = [f"#{1000 + i}" if i % 10 == 0 else str(1000 + i) for i in range(100)]
    f = tmp_path / "shopify.csv"
    f.write_text(
        HEADER
        + "".join(
            f"{o},u{i},2024-03-0{1 + i % 9} 10:00:00,{i}.50,paid\n" for i, o in enumerate(ids)
        )
    )
    ingest(tmp_path / "ws", "orders", str(f))
    assert [r[0] for r in orders(tmp_path / "ws")] == ids
    assert quarantined(tmp_path / "ws") == []


# -- item 3: a one-column text file is read whole, whatever punctuation it holds ----------
def test_one_column_text_keeps_semicolons_commas_and_quotes(tmp_path: Path) -> None:
    texts = [f"review {i} fine" for i in range(40)]
    texts[25] = "好评&#160;;包装;很好;物流;快;推荐;五星;满意"
    texts[30] = 'said "great", would buy | again\tok'
    f = tmp_path / "reviews.csv"
    pd.DataFrame({"text": texts}).to_csv(f, index=False)
    df = read_frame(f)
    assert list(df.columns) == ["text"]
    assert df["text"].tolist() == texts
    assert df.attrs["read_errors"] == []


# -- item 11: --encoding reads any Python codec -------------------------------------------
@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16", "latin-1", "utf-8-sig"])
def test_encoded_exports_load_exactly(tmp_path: Path, encoding: str) -> None:
    names = ["张三", "李四", "王五"] if encoding != "latin-1" else ["José", "Zoë", "Ångström"]
    text = HEADER + "".join(
        f"o{i},{n},2024-03-0{i + 1} 10:00:00,{i}.25,paid\n" for i, n in enumerate(names)
    )
    f = tmp_path / "export.csv"
    f.write_bytes(text.encode(encoding))
    ingest(tmp_path / "ws", "orders", str(f), "--encoding", encoding)
    assert orders(tmp_path / "ws") == [(f"o{i}", n, i + 0.25) for i, n in enumerate(names)]


def test_unknown_encoding_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "o1,u1,2024-03-01,1,paid\n")
    r = CliRunner().invoke(
        app, ["--workspace", str(tmp_path / "ws"), "ingest", "orders", str(f), "--encoding", "x9"]
    )
    assert r.exit_code != 0
    assert "unknown encoding 'x9'" in r.output + str(r.exception)


# -- item 12 / 3: a ragged row or an undecodable line costs that row only -----------------
def test_ragged_row_is_quarantined_and_the_rest_loads(tmp_path: Path) -> None:
    lines = order_lines(9)
    lines[4] = "#1005,u5,2024-03-05 10:00:00,5.50,paid,EXTRA\n"
    lines[6] = "#1007,u7\n"
    f = tmp_path / "ragged.csv"
    f.write_text(HEADER + "".join(lines))
    ingest(tmp_path / "ws", "orders", str(f))
    assert [r[0] for r in orders(tmp_path / "ws")] == [f"#{1000 + i}" for i in (1, 2, 3, 4, 6, 8)]
    assert quarantined(tmp_path / "ws") == [
        (5, "expected 5 fields, found 6"),
        (7, "expected 5 fields, found 2"),
    ]


def test_quoted_fields_with_delimiters_and_newlines_stay_one_row(tmp_path: Path) -> None:
    f = tmp_path / "quoted.csv"
    f.write_text(
        HEADER + '"#1","Smith, ""J""",2024-03-01,1,paid\n"#2","two\nlines",2024-03-02,2,paid\n'
    )
    ingest(tmp_path / "ws", "orders", str(f))
    assert orders(tmp_path / "ws") == [("#1", 'Smith, "J"', 1.0), ("#2", "two\nlines", 2.0)]


def test_invalid_utf8_line_is_quarantined_and_the_rest_loads(tmp_path: Path) -> None:
    data = (HEADER + "".join(order_lines(6))).encode()
    bad = b"#1099,\xe5\xbc,2024-03-09 10:00:00,9.50,paid\n"  # a truncated UTF-8 character
    f = tmp_path / "cut.csv"
    f.write_bytes(data + bad + "#1100,张,2024-03-09 10:00:00,1.00,paid\n".encode())
    ingest(tmp_path / "ws", "orders", str(f))
    got = orders(tmp_path / "ws")
    assert [r[0] for r in got] == [f"#{1000 + i}" for i in range(1, 6)] + ["#1100"]
    assert got[-1][1] == "张"
    assert quarantined(tmp_path / "ws") == [(6, "invalid utf-8 byte sequence")]


# -- items 6, 7, 12: JSON lines as written -------------------------------------------------
def test_jsonl_big_ids_mixed_columns_and_a_broken_line(tmp_path: Path) -> None:
    big = [18446744073709551615, 18446744073709551614, 9007199254740993]
    lines = [
        json.dumps({"order_id": big[0], "user_id": "i1", "ts": "2024-03-01", "amount": 1.5}),
        json.dumps({"order_id": big[1], "user_id": 7, "ts": "2024-03-02", "amount": 2}),
        "",
        '{"order_id": 1, "user_id": "u3", "ts": ',  # cut off
        json.dumps({"order_id": big[2], "user_id": "u4", "ts": "2024-03-04", "amount": 4}),
    ]
    f = tmp_path / "orders.jsonl"
    f.write_text("\n".join(lines) + "\n")
    ingest(tmp_path / "ws", "orders", str(f))
    assert orders(tmp_path / "ws") == [
        (str(big[0]), "i1", 1.5),
        (str(big[1]), "7", 2.0),
        (str(big[2]), "u4", 4.0),
    ]
    assert quarantined(tmp_path / "ws") == [(4, "not valid JSON")]


# -- item 8: extra event columns are kept, whatever properties holds -----------------------
def test_extra_event_columns_join_properties(tmp_path: Path) -> None:
    f = tmp_path / "events.csv"
    f.write_text(
        "user_id,ts,event_type,properties,channel\n"
        "u1,2024-03-01 10:00:00,view,,app\n"
        'u2,2024-03-01 11:00:00,view,"{""page"": ""home""}",web\n'
        'u3,2024-03-01 12:00:00,view,"[1, 2]",web\n'
        "u4,2024-03-01 13:00:00,view,{},mail\n"
    )
    ingest(tmp_path / "ws", "events", str(f))
    got = rows(tmp_path / "ws", "SELECT user_id, properties FROM events ORDER BY _row")
    assert [(u, json.loads(p)) for u, p in got] == [
        ("u1", {"channel": "app"}),
        ("u2", {"page": "home", "channel": "web"}),
        ("u4", {"channel": "mail"}),
    ]
    ((row, reason),) = quarantined(tmp_path / "ws")
    assert row == 3 and "not a JSON object" in reason and "channel" in reason


# -- item 12: a NaN in an optional Parquet column costs no file ----------------------------
def test_parquet_nan_in_optional_float_column(tmp_path: Path) -> None:
    f = tmp_path / "o.parquet"
    pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "user_id": ["u1", "u2", "u3"],
            "ts": pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-03"]),
            "amount": [1.0, 2.0, 3.0],
            "discount": [0.0, math.nan, 1.0],
        }
    ).to_parquet(f)
    ingest(tmp_path / "ws", "orders", str(f))
    assert [r[0] for r in orders(tmp_path / "ws")] + [r[0] for r in quarantined(tmp_path / "ws")]


# -- item 14: whole reasons, and a named pipe refused at once ------------------------------
def test_engine_errors_keep_the_whole_reason_on_one_line(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n1,2,3\n")
    with pytest.raises(duckdb.Error) as e:
        duckdb.sql(
            f"SELECT * FROM read_csv('{f}', strict_mode=true, auto_detect=false, "
            "columns={'a': 'VARCHAR', 'b': 'VARCHAR'}, header=true)"
        ).fetchall()
    reason = error_reason(e.value)
    assert "\n" not in reason
    assert "Expected Number of Columns: 2 Found: 3" in reason
    assert "file =" not in reason


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "orders.csv"
    os.mkfifo(fifo)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "liucun.cli",
            "--workspace",
            str(tmp_path / "ws"),
            "ingest",
            "orders",
            str(fifo),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a regular file" in lines[0], r.stderr
