"""The warehouse under DuckDB 2, a second writer, and runs killed half-way (issue 17).

- ``backtest`` without ``--cutoffs`` reads the data's first and last day through the
  warehouse; DuckDB 2 refused the next query when a result was fetched only in part.
- DuckDB lets one process write: a second writer waits for the lock, then says "busy".
- A run killed before ``run.json`` leaves a partial folder that no reader may use and
  the next run removes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

import liucun
from liucun.errors import LiucunError
from liucun.runs import latest_run, previous_run
from liucun.warehouse import Warehouse, WarehouseBusy

START = dt.date(2024, 1, 1)
SHOP = {"users": 200, "days": 240, "holdout_days": 0, "seed": 1, "start": START}
# Only the stages these tests need: the run stays a few seconds long.
SMALL_RUN_TOML = """
[recommend]
in_run = false
[plan]
in_run = false
[reviews]
in_run = false
[risk]
in_run = false
[dashboard]
model_health = false
[score]
snapshots = 1
"""
WAITING = "warehouse busy (another liucun process is writing); waiting up to 60 s"


def cli(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liucun.cli", "--workspace", str(ws), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def shop(tmp_path: Path, simulated: Callable[..., Path]) -> Path:
    """A fresh workspace holding the users and orders of a small simulated shop."""
    sim = simulated(**SHOP)
    path = tmp_path / "ws"
    with liucun.Workspace(path) as ws:
        for t in ("users", "orders"):
            ws.ingest(t, sim / f"{t}.parquet")
    return path


# -- item 4: DuckDB 2 and partly fetched results ------------------------------------------


def test_backtest_html_without_cutoffs(shop: Path) -> None:
    (shop / "liucun.toml").write_text(SMALL_RUN_TOML, encoding="utf-8")
    out = shop.parent / "bt.html"
    r = cli(shop, "backtest", "--horizon", "30", "--n", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "boosted" in html and "horizon 30 days" in html
    assert f"wrote {out}" in r.stdout.replace("\n", "")


def test_warehouse_reads_leave_the_connection_usable(shop: Path) -> None:
    with liucun.Workspace(shop) as ws:
        wh = ws.warehouse
        assert wh.first_activity() < wh.last_activity()
        assert wh.count("orders") > 0 and wh.summary()["customers"] > 0
        assert wh.fingerprint()["orders"][0] == wh.count("orders")
        # A relation (what Ibis runs) right after each: refused while a result is open.
        assert wh.con.sql("SELECT 1").fetchall() == [(1,)]
        assert ws.table("orders").count().execute() == wh.count("orders")


# -- item 15: one writer at a time -------------------------------------------------------


@pytest.fixture
def held(shop: Path) -> Iterator[Callable[[float], subprocess.Popen[str]]]:
    """``held(seconds)``: another process holding the shop's warehouse open for writing."""
    procs: list[subprocess.Popen[str]] = []
    code = (
        "import duckdb, sys, time\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "con.close()\n"
    )

    def hold(seconds: float) -> subprocess.Popen[str]:
        p = subprocess.Popen(
            [sys.executable, "-c", code, str(shop / "warehouse.duckdb"), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "locked"
        return p

    yield hold
    for p in procs:
        p.kill()
        p.wait()


def test_ingest_waits_for_a_writer_then_loads(shop: Path, held, simulated) -> None:
    sim = simulated(**SHOP)
    holder = held(2.0)
    t0 = time.monotonic()
    r = cli(shop, "ingest", "events", str(sim / "events.parquet"))
    waited = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert holder.wait(timeout=10) == 0
    assert r.stderr.count(WAITING) == 1, r.stderr
    assert waited > 1.0
    with liucun.Workspace(shop) as ws:
        assert ws.warehouse.count("events") == len(pd.read_parquet(sim / "events.parquet"))


def test_writer_gives_up_with_busy(shop: Path, held) -> None:
    held(5.0)
    told: list[str] = []
    wh = Warehouse(shop / "warehouse.duckdb", lock_timeout_s=0.3, on_wait=told.append)
    t0 = time.monotonic()
    with pytest.raises(WarehouseBusy) as e:
        wh.con  # noqa: B018 (opening is what waits)
    assert 0.25 < time.monotonic() - t0 < 3
    assert told == ["warehouse busy (another liucun process is writing); waiting up to 0.3 s"]
    msg = str(e.value)
    assert isinstance(e.value, LiucunError) and "\n" not in msg
    assert "busy" in msg and "retry" in msg
    # Said to API clients as is: no path, no executable, no process id.
    assert str(shop) not in msg and "PID" not in msg and sys.executable not in msg


def test_lock_timeout_default_is_documented() -> None:
    wh = Warehouse(Path("unused.duckdb"))
    assert wh.lock_timeout_s == 60.0


# -- item 16: only complete runs count ---------------------------------------------------


def _run_dir(ws: Path, run_id: str, complete: bool, owner_pid: int | None = None) -> Path:
    d = ws / "runs" / run_id
    d.mkdir(parents=True)
    pd.DataFrame({"user_id": ["u1"], "risk_band": ["high"]}).to_parquet(d / "scores.parquet")
    if complete:
        (d / "run.json").write_text(json.dumps({"run_id": run_id}), encoding="utf-8")
    if owner_pid is not None:
        owner = {"pid": owner_pid, "host": socket.gethostname()}
        (d / ".running").write_text(json.dumps(owner), encoding="utf-8")
    return d


def test_readers_see_complete_runs_only(tmp_path: Path) -> None:
    with liucun.Workspace(tmp_path / "ws") as ws:
        with pytest.raises(LiucunError, match="no run in"):
            latest_run(ws)
        done = _run_dir(ws.path, "20240101T000000000000Z", complete=True)
        _run_dir(ws.path, "20240102T000000000000Z", complete=False)
        # Even a pointer at a partial folder (a hand-edited or torn one) is not followed.
        pointer = {"run_id": "20240102T000000000000Z"}
        (ws.path / "runs" / "latest.json").write_text(json.dumps(pointer), encoding="utf-8")
        assert latest_run(ws) == done
        assert previous_run(ws, "20240103T000000000000Z") == done
        assert previous_run(ws, done.name) is None


def test_next_run_removes_partial_runs_and_alerts_ignore_them(shop: Path) -> None:
    (shop / "liucun.toml").write_text(SMALL_RUN_TOML, encoding="utf-8")
    # Killed long ago, and no mark: every customer "high", so alerts comparing against it
    # would report no one crossing.
    with liucun.Workspace(shop) as ws:
        ids = ws.table("users").select("user_id").execute()["user_id"]
    killed = _run_dir(shop, "20240101T000000000000Z", complete=False)
    pd.DataFrame({"user_id": ids, "risk_band": "high"}).to_parquet(killed / "scores.parquet")
    # Killed too: its process is gone (a child that has exited and been reaped).
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = _run_dir(shop, "29990101T000000000000Z", complete=False, owner_pid=int(gone.stdout))
    # Still being written by a live process (this one): left alone.
    live = _run_dir(shop, "29990102T000000000000Z", complete=False, owner_pid=os.getpid())

    r = cli(shop, "alerts")
    assert r.returncode == 0, r.stderr
    assert "first run" in r.stdout.replace("\n", " "), r.stdout
    assert not killed.exists() and not dead.exists() and live.exists()
    with liucun.Workspace(shop) as ws:
        newest = latest_run(ws)
        assert (newest / "run.json").exists() and not (newest / ".running").exists()
        assert previous_run(ws, "29991231T000000000000Z") == newest
