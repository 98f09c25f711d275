"""Quotes the CSV engine cannot parse (``"a"b``: text after a closing quote) cost that
row only: it is quarantined with its line, every other row loads as written and keeps
its number. Before, the whole file was refused as "not utf-8 encoded"."""

from __future__ import annotations

from pathlib import Path

import liucun
from liucun.data.sources import read_frame

FILE = (
    "user_id,ts,text\n"
    'u1,2024-01-01,他说"好"的\n'
    'u2,2024-01-02,"好"的东西\n'
    "u3,2024-01-03,ok\n"
    'u4,2024-01-04,"multi\nline, fine"\n'
    "u5,not a date,late\n"
    "u6,2024-01-06,last\n"
)


def test_bad_quoting_costs_its_row_only(tmp_path: Path) -> None:
    f = tmp_path / "reviews.csv"
    f.write_text(FILE, encoding="utf-8")
    with liucun.Workspace(tmp_path / "ws") as ws:
        [r] = ws.ingest("reviews", f, max_bad_share=1)
        assert (r.read, r.loaded, r.quarantined) == (6, 4, 2) and r.balanced
        got = ws.warehouse.con.execute(
            "SELECT user_id, text FROM reviews ORDER BY user_id"
        ).fetchall()
        _, q = ws.warehouse.quarantine("reviews")
    assert got == [
        ("u1", '他说"好"的'),
        ("u3", "ok"),
        ("u4", "multi\nline, fine"),
        ("u6", "last"),
    ]
    rows = dict(zip(q["row_number"], q["reason"], strict=True))
    assert set(rows) == {2, 5}  # numbers as in the file, after the bad row too
    assert rows[2].startswith("unreadable quoting") and '"好"的东西' in rows[2]


def test_one_column_text_file_with_a_leading_quote(tmp_path: Path) -> None:
    f = tmp_path / "texts.csv"
    f.write_text('text\n"好"的\nplain, with comma; and semicolon\n', encoding="utf-8")
    df = read_frame(f)
    assert df["text"].tolist() == ["plain, with comma; and semicolon"]
    assert len(df.attrs["read_errors"]) == 1
    assert df.attrs["read_errors"][0].startswith("row 1: unreadable quoting")
