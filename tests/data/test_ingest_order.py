"""A load stores its rows in file order, whichever merge path it takes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import liucun

N = 300_000  # several row groups, so a parallel scan could reorder


def _write(tmp_path: Path, fmt: str, sql: str) -> Path:
    path = tmp_path / f"orders.{fmt}"
    con = duckdb.connect()
    opts = "FORMAT parquet, ROW_GROUP_SIZE 50000" if fmt == "parquet" else "FORMAT csv, HEADER"
    con.execute(f"COPY ({sql}) TO '{path}' ({opts})")
    con.close()
    return path


def _orders(n: int, start: int = 0, bad_every: int = 0, repeat_every: int = 0) -> str:
    oid = f"CASE WHEN {repeat_every} > 0 AND i % {repeat_every} = 1 THEN i - 1 ELSE i END"
    amount = f"CASE WHEN {bad_every} > 0 AND i % {bad_every} = 7 THEN 'x' ELSE '10.5' END"
    return (
        f"SELECT 'o' || lpad(CAST({oid} AS VARCHAR), 8, '0') AS order_id, "
        f"'u' || CAST(i % 997 AS VARCHAR) AS user_id, "
        f"TIMESTAMP '2024-01-01' + to_seconds(i) AS ts, {amount} AS amount "
        f"FROM range({start}, {start + n}) t(i) ORDER BY i"
    )


def _stored_rows(ws: liucun.Workspace) -> list[int]:
    return [r[0] for r in ws.warehouse.con.execute("SELECT _row FROM orders").fetchall()]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_fresh_load_is_in_file_order(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path, fmt, _orders(N, bad_every=1000))
    with liucun.Workspace(tmp_path / "ws") as ws:
        (res,) = ws.ingest("orders", path)
        assert res.quarantined == N // 1000 and res.loaded == N - N // 1000
        stored = _stored_rows(ws)
    assert stored == sorted(stored) and len(stored) == res.loaded


def test_in_file_repeats_and_later_loads_keep_file_order(tmp_path: Path) -> None:
    first = _write(tmp_path, "parquet", _orders(N, repeat_every=10))
    with liucun.Workspace(tmp_path / "ws") as ws:
        (res,) = ws.ingest("orders", first)
        assert res.duplicates + res.updated == N // 10 and res.loaded == N - N // 10
        stored = _stored_rows(ws)
        assert stored == sorted(stored)
        # A second file overlapping half of the first (whose repeated ids it now has once,
        # and whose repeats had won with other content): new and changed rows come in its order.
        second = tmp_path / "more.parquet"
        _write(tmp_path, "parquet", _orders(N, start=N // 2)).rename(second)
        (res,) = ws.ingest("orders", second)
        assert (res.loaded, res.updated, res.duplicates) == (165_000, 15_000, 120_000)
        (count,) = ws.warehouse.con.execute(
            "SELECT count(*) FROM orders WHERE _ingest_id = 2"
        ).fetchone()
        later = [
            r[0]
            for r in ws.warehouse.con.execute(
                "SELECT _row FROM orders WHERE _ingest_id = 2"
            ).fetchall()
        ]
    assert count == len(later) and later == sorted(later)
