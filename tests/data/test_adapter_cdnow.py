"""CDNOW_master.txt: blank-aligned columns, CRLF, optional header, no order id."""

from __future__ import annotations

from pathlib import Path

from shared import read_errors

import liucun

FIXTURES = Path(__file__).parent / "fixtures" / "cdnow"


def test_cdnow_layout_and_bad_lines(tmp_path: Path) -> None:
    with liucun.Workspace(tmp_path) as ws:
        [r] = ws.ingest("orders", FIXTURES / "CDNOW_master.txt", format="cdnow")
        assert (r.read, r.loaded, r.quarantined) == (9, 6, 3)
        df = ws.table("orders").order_by("_row").execute()
        assert df["user_id"].tolist()[:3] == ["00001", "00002", "00002"]
        assert df["amount"].tolist()[:3] == [11.77, 12.0, 77.0]
        assert df["quantity"].tolist()[:3] == [1, 1, 5]
        assert str(df["ts"].iloc[0]) == "1997-01-01 00:00:00"
        # Two orders by one customer on one day are separate orders.
        assert df["order_id"].nunique() == 6
        q = dict(
            ws.warehouse.con.execute(
                "SELECT row_number, reason FROM quarantine ORDER BY row_number"
            ).fetchall()
        )
        assert q == {
            7: "date not YYYYMMDD: 1997011",
            8: "expected 4 fields, found 3",
            9: "non-numeric amount abc",
        }
        [again] = ws.ingest("orders", FIXTURES / "CDNOW_master.txt", format="cdnow")
        assert (again.loaded, again.duplicates, again.quarantined) == (0, 6, 3)


def test_cdnow_without_header_keeps_repeated_lines(tmp_path: Path) -> None:
    with liucun.Workspace(tmp_path) as ws:
        [r] = ws.ingest("orders", FIXTURES / "CDNOW_no_header.txt", format="cdnow")
        assert (r.read, r.loaded) == (3, 3)
        assert (
            ws.warehouse.con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE temporary"
            ).fetchone()[0]
            == 0
        )


def test_line_with_bad_bytes_is_quarantined_not_loaded(tmp_path: Path) -> None:
    src = tmp_path / "CDNOW_master.txt"
    src.write_bytes(
        b"00001 19970101 1 11.77\r\n00002 1997\xff0102 1 12.00\r\n00003 19970103 2 20.00\r\n"
    )
    with liucun.Workspace(tmp_path / "ws") as ws:
        [r] = ws.ingest("orders", src, format="cdnow")
        assert (r.read, r.loaded, r.quarantined) == (3, 2, 1)
        assert read_errors(ws) == [("orders", 2, "line", "invalid utf-8 byte sequence")]
        assert ws.table("orders").order_by("_row").execute()["user_id"].tolist() == [
            "00001",
            "00003",
        ]
