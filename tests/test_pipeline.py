"""`liucun run`, `liucun segments`, `liucun profile` on a simulated shop."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import liucun
from liucun.pipeline.run import run
from liucun.sim import simulate
from liucun.tasks.segments import customer_profile


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pipe")
    simulate(root / "sim", users=1200, days=200, holdout_days=20, seed=11)
    with liucun.Workspace(root / "ws") as ws:
        for t in ("users", "items", "orders", "order_items", "events", "reviews", "treatments"):
            ws.ingest(t, root / "sim" / f"{t}.parquet")
    return root / "ws"


def cli(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liucun.cli", "--workspace", str(ws), *args],
        capture_output=True,
        text=True,
    )


def test_run_writes_tagged_outputs(loaded: Path) -> None:
    with liucun.Workspace(loaded) as ws:
        r = run(ws, dt.date(2024, 7, 1))
        out = Path(r.run_dir)
        assert out.parent == ws.path / "runs" and out.name == r.run_id
        for name in ("features", "customers", "segments"):
            assert Path(r.outputs[name]).is_file()
        features = pd.read_parquet(r.outputs["features"])
        customers = pd.read_parquet(r.outputs["customers"])
        segments = pd.read_parquet(r.outputs["segments"])
        # One row per known customer, each with one segment, stage and cluster.
        assert list(customers["user_id"]) == list(features["user_id"])
        assert customers[["segment", "lifecycle_stage", "cluster_name"]].notna().all().all()
        assert segments["customers"].sum() == len(customers)
        assert segments["revenue_share"].sum() == pytest.approx(1.0)
        assert {"segment", "customers", "revenue_share", "suggested_play"} <= set(segments)
        report = json.loads((out / "clusters.json").read_text())
        assert 3 <= report["k"] <= 8 and -1 <= report["silhouette"] <= 1
        latest = json.loads((ws.path / "runs" / "latest.json").read_text())
        assert latest == {"run_id": r.run_id, "as_of": "2024-07-01"}
        # Nothing after as_of is read: a customer who signed up later is not there.
        users = ws.table("users").execute()
        late = users.loc[users["signup_ts"] >= pd.Timestamp("2024-07-01"), "user_id"]
        assert not set(late) & set(customers["user_id"])
        p = customer_profile(ws, customers["user_id"].iloc[0])
        assert p["segment"] == customers["segment"].iloc[0]


def test_cli_run_segments_profile(loaded: Path, tmp_path: Path) -> None:
    r = cli(loaded, "run")  # default as_of: the day after the data
    assert r.returncode == 0, r.stderr
    assert "as of 2024-07-19" in r.stdout
    r = cli(loaded, "segments", "--out", str(tmp_path / "seg.csv"))
    assert r.returncode == 0, r.stderr
    seg = pd.read_csv(tmp_path / "seg.csv")
    assert {"segment", "customers", "revenue_share"} <= set(seg.columns)
    r = cli(loaded, "segments")
    assert r.returncode == 0 and "Champions" in r.stdout
    customers = pd.read_parquet(next((loaded / "runs").glob("*/customers.parquet")))
    uid = customers["user_id"].iloc[0]
    r = cli(loaded, "profile", uid)
    assert r.returncode == 0 and uid in r.stdout and "lifecycle_stage" in r.stdout
    r = cli(loaded, "profile", "nobody")
    assert r.returncode == 1 and r.stderr.startswith("error: no customer 'nobody'")
    r = cli(loaded, "run", "--as-of", "July 1st")
    assert r.returncode == 1 and "expected a date YYYY-MM-DD" in r.stderr


def test_run_on_an_empty_workspace_says_what_to_do(tmp_path: Path) -> None:
    r = cli(tmp_path / "empty", "run")
    assert r.returncode == 1
    assert (
        r.stderr.strip() == "error: the warehouse is empty: ingest data first (see `liucun ingest`)"
    )
