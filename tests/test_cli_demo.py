"""`liucun simulate` and `liucun demo` from the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd


def liucun(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liucun.cli", *args], capture_output=True, text=True
    )


def test_simulate_writes_the_contract_layout(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    r = liucun(
        "simulate",
        "--users",
        "400",
        "--days",
        "60",
        "--holdout-days",
        "20",
        "--seed",
        "3",
        "--out",
        str(out),
        "--start",
        "2024-10-01",
        "--lang",
        "en",
    )
    assert r.returncode == 0, r.stderr
    for t in ("events", "orders", "order_items", "users", "items", "reviews", "treatments"):
        assert (out / f"{t}.parquet").is_file()
        assert (out / "truth" / "holdout" / f"{t}.parquet").is_file()
    for f in ("customers", "effects", "preferences", "demand"):
        assert (out / "truth" / f"{f}.parquet").is_file()
    orders = pd.read_parquet(out / "orders.parquet")
    assert orders["ts"].min() >= pd.Timestamp("2024-10-01", tz="UTC")
    assert orders["ts"].max() < pd.Timestamp("2024-11-30", tz="UTC")
    assert "truth" in r.stdout


def test_simulate_rejects_bad_options(tmp_path: Path) -> None:
    r = liucun("simulate", "--out", str(tmp_path / "s"), "--start", "2024-13-01")
    assert r.returncode != 0 and r.stderr.strip().splitlines() == [
        "error: --start 2024-13-01: expected a date YYYY-MM-DD"
    ]
    r = liucun("simulate", "--out", str(tmp_path / "s"), "--lang", "fr")
    assert r.returncode != 0 and "expected zh, en or mixed" in r.stderr


def test_demo_runs_end_to_end_and_is_repeatable(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    r = liucun("--workspace", str(ws), "demo", "--users", "500", "--days", "90")
    assert r.returncode == 0, r.stderr
    assert "quarantined 0" in r.stdout and "quarantined 1" not in r.stdout
    reports = list((ws / "runs").glob("*/report.html"))
    assert len(reports) == 1 and "Daily orders" in reports[0].read_text(encoding="utf-8")
    assert (ws / "sim" / "truth" / "effects.parquet").is_file()
    # A second demo over the same workspace loads nothing twice.
    r = liucun("--workspace", str(ws), "demo", "--users", "500", "--days", "90")
    assert r.returncode == 0, r.stderr
    assert "loaded 0 " in r.stdout
