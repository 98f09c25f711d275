"""Exports as shops write them, through `liucun ingest`: dates, statuses, money, bad shares.

Each file is a tiny copy of a real layout (a Shopify orders export, an ERP's day-first
dates, a Taobao GBK export); every row is loaded as the file said or quarantined with its
reason, and a file liucun cannot read for sure is refused with one line saying why.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import liucun
from liucun.cli import app

HEADER = "order_id,user_id,ts,amount,status\n"


def run(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`liucun` as a user runs it: exit code, stdout, the one-line stderr."""
    return subprocess.run(
        [sys.executable, "-m", "liucun.cli", "--workspace", str(ws), *args],
        capture_output=True,
        text=True,
    )


def ingest_ok(ws: Path, *args: str) -> str:
    """`liucun ingest ...` in process (fast), which must succeed; its output."""
    r = CliRunner().invoke(app, ["--workspace", str(ws), "ingest", *args])
    assert r.exit_code == 0, (r.output, r.exception)
    return r.output


def orders(ws: Path) -> list[tuple]:
    with liucun.Workspace(ws) as w:
        return w.warehouse.con.execute(
            "SELECT order_id, user_id, ts, amount, status FROM orders ORDER BY _ingest_id, _row"
        ).fetchall()


def quarantined(ws: Path) -> list[tuple]:
    with liucun.Workspace(ws) as w:
        return w.warehouse.con.execute(
            "SELECT row_number, column_name, reason FROM quarantine ORDER BY row_number"
        ).fetchall()


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and "Exception" not in r.stderr
    assert "Error:" not in r.stderr.replace("error:", "")
    return lines[0]


# -- item 9: day-first dates, ambiguity, --date-format, offsets --------------------------

ERP = (
    HEADER + "E1,u1,03/04/2024 10:15,10.00,paid\n"
    "E2,u2,25/04/2024 09:00,12.50,paid\n"
    "E3,u1,12/05/2024 18:30,7.25,paid\n"
    "E4,u3,31/05/2024 23:59,3.00,paid\n"
)


def test_day_first_dates_are_read_day_first_in_every_row(tmp_path: Path) -> None:
    f = tmp_path / "erp_orders.csv"
    f.write_text(ERP, encoding="utf-8")
    out = ingest_ok(tmp_path / "ws", "orders", str(f))
    assert "loaded 4" in out and "quarantined 0" in out
    assert [r[2] for r in orders(tmp_path / "ws")] == [
        dt.datetime(2024, 4, 3, 10, 15),  # 03/04 is 3 April, not 4 March
        dt.datetime(2024, 4, 25, 9, 0),
        dt.datetime(2024, 5, 12, 18, 30),
        dt.datetime(2024, 5, 31, 23, 59),
    ]


def test_month_first_dates_are_read_month_first(tmp_path: Path) -> None:
    f = tmp_path / "us.csv"
    f.write_text(HEADER + "A1,u1,04/03/2024 3:04 PM,1,paid\nA2,u2,12/31/2023,2,paid\n")
    ingest_ok(tmp_path / "ws", "orders", str(f))
    assert [r[2] for r in orders(tmp_path / "ws")] == [
        dt.datetime(2024, 4, 3, 15, 4),
        dt.datetime(2023, 12, 31),
    ]


def test_ambiguous_dates_are_refused_until_date_format_says(tmp_path: Path) -> None:
    f = tmp_path / "erp_april.csv"
    f.write_text(HEADER + "E1,u1,03/04/2024 10:15,10,paid\nE2,u2,05/04/2024 09:00,12,paid\n")
    line = one_line_error(run(tmp_path / "ws", "ingest", "orders", str(f)))
    assert "erp_april.csv" in line and "column ts" in line and "--date-format" in line
    assert orders(tmp_path / "ws") == []
    ingest_ok(tmp_path / "ws", "orders", str(f), "--date-format", "%d/%m/%Y %H:%M")
    assert [r[2] for r in orders(tmp_path / "ws")] == [
        dt.datetime(2024, 4, 3, 10, 15),
        dt.datetime(2024, 4, 5, 9, 0),
    ]


def test_date_format_setting_in_liucun_toml(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    liucun.Workspace(ws).close()
    toml = ws / "liucun.toml"
    toml.write_text(toml.read_text().replace('date_format = ""', 'date_format = "%m/%d/%Y %H:%M"'))
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "E1,u1,03/04/2024 10:15,10,paid\n")
    ingest_ok(ws, "orders", str(f))
    assert orders(ws)[0][2] == dt.datetime(2024, 3, 4, 10, 15)


def test_a_file_mixing_both_orders_is_refused_whole(tmp_path: Path) -> None:
    f = tmp_path / "mixed.csv"
    f.write_text(HEADER + "E1,u1,25/04/2024,1,paid\nE2,u2,04/25/2024,1,paid\n")
    line = one_line_error(run(tmp_path / "ws", "ingest", "orders", str(f)))
    assert "mixed.csv" in line and "row 1" in line and "row 2" in line
    assert orders(tmp_path / "ws") == []


def test_bad_date_format_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_text(ERP)
    line = one_line_error(run(tmp_path / "ws", "ingest", "orders", str(f), "--date-format", "%Q"))
    assert "--date-format" in line and "%Q" in line


def test_offsets_are_applied(tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_text(
        HEADER + "Z1,u1,2024-03-01 10:00:00 +0800,1,paid\n"
        "Z2,u1,2024-03-01 10:00:00+08:00,1,paid\n"
        "Z3,u1,2024-03-01T10:00:00-0400,1,paid\n"
        "Z4,u1,25/03/2024 10:00 +0800,1,paid\n"
    )
    ingest_ok(tmp_path / "ws", "orders", str(f))
    assert [r[2] for r in orders(tmp_path / "ws")] == [
        dt.datetime(2024, 3, 1, 2, 0),
        dt.datetime(2024, 3, 1, 2, 0),
        dt.datetime(2024, 3, 1, 14, 0),
        dt.datetime(2024, 3, 25, 2, 0),
    ]


# -- item 10: statuses and money as exports write them -------------------------------------

SHOPIFY = (
    "Name,Email,Financial Status,Total,Created at\n"
    "#1001,a@example.com,Paid,$15.00,2024-03-01 10:00:00 +0800\n"
    '#1002,b@example.com,Completed,"$1,299.00",2024-03-02 11:00:00 -0400\n'
    "#1003,a@example.com,Refunded,-$15.00,2024-03-03 12:00:00 +0800\n"
    "#1004,c@example.com,Canceled,¥1299,2024-03-04 13:00:00 +0000\n"
    "#1005,d@example.com,RETURNED,15.00 USD,2024-03-05 13:00:00 +0000\n"
    '#1006,d@example.com,shipped,"€ 12,50",2024-03-06 14:00:00 +0000\n'
    "#1007,e@example.com,pending,$9.00,2024-03-07 14:00:00 +0000\n"
)
SHOPIFY_MAP = (
    "--map",
    "Name:order_id",
    "--map",
    "Email:user_id",
    "--map",
    "Financial Status:status",
    "--map",
    "Total:amount",
    "--map",
    "Created at:ts",
)


def test_shopify_statuses_and_amounts(tmp_path: Path) -> None:
    f = tmp_path / "orders_export.csv"
    f.write_text(SHOPIFY, encoding="utf-8")
    out = ingest_ok(tmp_path / "ws", "orders", str(f), *SHOPIFY_MAP)
    assert "read 7 = loaded 5" in out and "quarantined 2" in out
    got = [(r[0], r[3], r[4]) for r in orders(tmp_path / "ws")]
    assert got == [
        ("#1001", 15.0, "paid"),
        ("#1002", 1299.0, "paid"),
        ("#1003", -15.0, "refunded"),
        ("#1004", 1299.0, "cancelled"),
        ("#1005", 15.0, "refunded"),
    ]
    bad = quarantined(tmp_path / "ws")
    assert [(r[0], r[1]) for r in bad] == [(6, "amount"), (7, "status")]
    assert "€ 12,50" in bad[0][2] and "decimal comma" in bad[0][2]
    assert bad[1][2] == "unknown status pending"


def test_status_synonyms_extend_in_liucun_toml(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    liucun.Workspace(ws).close()
    # Every key is optional: a file holding only the new synonym keeps the shipped ones.
    (ws / "liucun.toml").write_text(
        '[ingest.status_synonyms]\n"partially refunded" = "refunded"\n', encoding="utf-8"
    )
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "P1,u1,2024-01-01,5,Partially Refunded\nP2,u1,2024-01-02,5,Completed\n")
    ingest_ok(ws, "orders", str(f))
    assert [r[4] for r in orders(ws)] == ["refunded", "paid"]


def test_taobao_gbk_export_with_encoding(tmp_path: Path) -> None:
    f = tmp_path / "taobao.csv"
    text = (
        "订单编号,买家会员名,订单创建时间,实付金额,订单状态\n"
        'T1,张三,2024/03/01 10:00:00,"1,299.00",交易成功\n'
        "T2,李四,2024/03/02 11:30:00,￥15.00,退款成功\n"
    )
    f.write_bytes(text.encode("gbk"))
    ingest_ok(
        tmp_path / "ws",
        "orders",
        str(f),
        "--encoding",
        "gbk",
        *("--map", "订单编号:order_id", "--map", "买家会员名:user_id"),
        *("--map", "订单创建时间:ts", "--map", "实付金额:amount", "--map", "订单状态:status"),
    )
    assert orders(tmp_path / "ws") == [
        ("T1", "张三", dt.datetime(2024, 3, 1, 10, 0), 1299.0, "paid"),
        ("T2", "李四", dt.datetime(2024, 3, 2, 11, 30), 15.0, "refunded"),
    ]


# -- item 13: a mostly bad file is refused -------------------------------------------------


def test_mostly_bad_file_is_refused_whole(tmp_path: Path) -> None:
    f = tmp_path / "wrong_columns.csv"
    f.write_text(
        HEADER + "B1,u1,2024-01-01,ten,paid\nB2,u1,2024-01-02,eleven,paid\n"
        "B3,u2,yesterday,3,paid\nB4,u3,2024-01-04,4,paid\n"
    )
    line = one_line_error(run(tmp_path / "ws", "ingest", "orders", str(f)))
    assert "wrong_columns.csv" in line and "3 of 4" in line and "--max-bad-share" in line
    assert "non-numeric amount ten" in line and "unparsable timestamp yesterday" in line
    assert orders(tmp_path / "ws") == [] and quarantined(tmp_path / "ws") == []
    out = ingest_ok(tmp_path / "ws", "orders", str(f), "--max-bad-share", "1")
    assert "loaded 1" in out and "quarantined 3" in out


# -- item 19: implausible values ------------------------------------------------------------


def test_implausible_values_are_quarantined(tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_text(
        HEADER + "G1,u1,2024-01-01,1,paid\nG2,u1,2024-01-02,2,paid\nG3,u1,2024-01-03,3,paid\n"
        "G4,u1,2024-01-04,4,paid\nG5,u1,2024-01-05,5,paid\n"
        "X1,u2,0001-01-01 00:00:00,10,paid\n"
        "X2,u2,1969-12-31 23:59:59,10,paid\n"
        "X3,u2,2024-01-01,1e308,paid\n"
        "X4,u2,2024-01-01,NaN,paid\n"
        "X5,u2,2024-01-01,inf,paid\n"
    )
    out = ingest_ok(tmp_path / "ws", "orders", str(f))
    assert "loaded 5" in out and "quarantined 5" in out
    reasons = [r[2] for r in quarantined(tmp_path / "ws")]
    assert reasons[0].startswith("ts before 1970") and reasons[1].startswith("ts before 1970")
    assert "1e308 above the ceiling" in reasons[2] and "max_amount" in reasons[2]
    assert reasons[3:] == ["non-finite amount NaN", "non-finite amount inf"]


# -- item 14: config errors and --workspace ---------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ('threads = "four"', "[warehouse] threads"),
        ('memory_limit = "lots"', "[warehouse] memory_limit"),
    ],
)
def test_config_errors_name_the_setting_and_file(tmp_path: Path, setting: str, named: str) -> None:
    ws = tmp_path / "ws"
    liucun.Workspace(ws).close()
    toml = ws / "liucun.toml"
    key = setting.split(" = ")[0]
    text = "\n".join(
        setting if line.startswith(f"{key} = ") else line for line in toml.read_text().splitlines()
    )
    toml.write_text(text)
    f = tmp_path / "o.csv"
    f.write_text(ERP)
    line = one_line_error(run(ws, "ingest", "orders", str(f)))
    assert named in line and str(toml) in line
    assert "ValueError" not in line and "ParserException" not in line


def test_bad_status_synonym_names_the_setting(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    liucun.Workspace(ws).close()
    (ws / "liucun.toml").write_text('[ingest.status_synonyms]\ndone = "finished"\n')
    f = tmp_path / "o.csv"
    f.write_text(ERP)
    line = one_line_error(run(ws, "ingest", "orders", str(f)))
    assert "status_synonyms" in line and "done" in line and "liucun.toml" in line


def test_workspace_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    line = one_line_error(run(not_a_folder, "summary"))
    assert "notes.txt" in line and "not a folder" in line and "FileExistsError" not in line
