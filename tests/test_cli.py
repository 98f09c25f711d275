"""The command line: counts, one-line errors, quarantine listing, summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def liucun(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liucun.cli", "--workspace", str(ws), *args],
        capture_output=True,
        text=True,
    )


@pytest.fixture
def orders_csv(tmp_path: Path) -> Path:
    f = tmp_path / "orders.csv"
    f.write_text(
        "order_id,user_id,ts,amount\n"
        "o1,007,2024-01-01,10\n"
        "o2,008,2024-01-02,abc\n"
        "o3,007,2024-01-05,2.5\n",
        encoding="utf-8",
    )
    return f


def test_help_lists_only_working_commands(tmp_path: Path) -> None:
    r = liucun(tmp_path, "--help")
    assert r.returncode == 0
    for cmd in ("ingest", "quarantine", "samples", "summary"):
        assert cmd in r.stdout


def test_ingest_prints_balanced_counts_and_warns(tmp_path: Path, orders_csv: Path) -> None:
    r = liucun(tmp_path / "ws", "ingest", "orders", str(orders_csv))
    assert r.returncode == 0, r.stderr
    assert "orders: read 3 = loaded 2 + updated 0 + duplicates 0 + quarantined 1" in r.stdout
    assert "row 2, column amount: non-numeric amount abc" in r.stderr
    r = liucun(tmp_path / "ws", "ingest", "orders", str(orders_csv))
    assert "loaded 0 + updated 0 + duplicates 2 + quarantined 1" in r.stdout


def test_workspace_from_environment(tmp_path: Path, orders_csv: Path) -> None:
    env = {"LIUCUN_WORKSPACE": str(tmp_path / "envws"), "PATH": ""}
    r = subprocess.run(
        [sys.executable, "-m", "liucun.cli", "ingest", "orders", str(orders_csv)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "envws" / "warehouse.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ingest", "orders", "{missing_col}"], "missing required column(s) amount"),
        (["ingest", "orders", "{nofile}"], "no such file"),
        (["ingest", "orders", "{orders}", "--format", "xml"], "unknown format 'xml'"),
        (["ingest", "carts", "{orders}"], "unknown table 'carts'"),
        (["ingest", "orders", "{orders}", "--strict"], "--strict loaded nothing"),
        (["ingest", "orders", "{orders}", "--tz", "Mars/Olympus"], "unknown time zone"),
        (["ingest", "orders", "{orders}", "--map", "nocolon"], "expected SRC:DST"),
    ],
)
def test_errors_are_one_line_without_traceback(
    tmp_path: Path, orders_csv: Path, args: list[str], expected: str
) -> None:
    missing = tmp_path / "m.csv"
    missing.write_text("order_id,user_id,ts\no1,u1,2024-01-01\n", encoding="utf-8")
    subs = {
        "{missing_col}": str(missing),
        "{nofile}": str(tmp_path / "nope.csv"),
        "{orders}": str(orders_csv),
    }
    r = liucun(tmp_path / "ws", *[subs.get(a, a) for a in args])
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in r.stderr


def test_debug_shows_traceback(tmp_path: Path) -> None:
    r = liucun(tmp_path / "ws", "--debug", "ingest", "orders", str(tmp_path / "nope.csv"))
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_quarantine_and_summary(tmp_path: Path, orders_csv: Path) -> None:
    liucun(tmp_path / "ws", "ingest", "orders", str(orders_csv))
    r = liucun(tmp_path / "ws", "quarantine")
    assert r.returncode == 0 and "non-numeric amount abc" in r.stdout
    out = tmp_path / "q.csv"
    r = liucun(tmp_path / "ws", "quarantine", "--out", str(out))
    assert r.returncode == 0 and "row_number" in out.read_text()
    r = liucun(tmp_path / "ws", "summary")
    assert r.returncode == 0
    assert "customers 1" in r.stdout and "revenue 12.50" in r.stdout
