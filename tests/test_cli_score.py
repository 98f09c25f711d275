"""`liucun score`, `liucun backtest` and `liucun alerts` from the command line.

One simulated shop (2,000 customers, 365 days, seed 3) is loaded once for the module;
`score` runs once and the other tests reuse its saved models where they can.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from shared import fixed_horizon

import liucun
from liucun.features import feature_frame

START = dt.date(2024, 1, 1)
AS_OF = START + dt.timedelta(days=270)
D1, D2 = START + dt.timedelta(days=240), AS_OF
TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")
CONTRACT = (
    "user_id",
    "p_churn",
    "expected_orders",
    "expected_revenue",
    "segment",
    "lifecycle_stage",
    "reasons",
)


def cli(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liucun.cli", "--workspace", str(ws), *args],
        capture_output=True,
        text=True,
    )


def _one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode != 0, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> Path:
    return simulated_workspace(TABLES, users=2000, days=365, holdout_days=0, seed=3, start=START)


@pytest.fixture(scope="module")
def scores_csv(shop: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = shop.parent / "out" / "scores.csv"
    r = cli(shop, "score", "--as-of", AS_OF.isoformat(), "--horizon", "90", "--out", str(out))
    return out, r


def test_score_writes_the_contract_columns(shop: Path, scores_csv) -> None:
    out, r = scores_csv
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    df = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert set(CONTRACT) <= set(df.columns)
    with liucun.Workspace(shop) as ws:
        users = feature_frame(ws, AS_OF)["user_id"]
    assert df["user_id"].is_unique and sorted(df["user_id"]) == sorted(users)
    assert df["p_churn"].between(0, 1).all()
    assert (df["expected_orders"] >= 0).all() and (df["expected_revenue"] >= 0).all()
    assert df["reasons"].notna().all() and (df["reasons"].str.strip() != "").all()
    assert set(df["risk_band"]) <= {"low", "medium", "high"}
    assert f"scored {len(df):,} customers as of {AS_OF} over 90 days" in r.stdout
    assert "fitted" in r.stdout and str(out) in r.stdout.replace("\n", "")


def test_score_again_reuses_and_writes_parquet(shop: Path, scores_csv) -> None:
    csv, first = scores_csv
    assert first.returncode == 0, first.stderr
    out = shop.parent / "out" / "scores.parquet"
    r = cli(shop, "score", "--as-of", AS_OF.isoformat(), "--horizon", "90", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "reused" in r.stdout
    a = pd.read_parquet(out)
    b = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    assert list(a["user_id"]) == list(b["user_id"])
    pd.testing.assert_series_equal(a["p_churn"], b["p_churn"], check_exact=False, rtol=1e-12)
    assert list(a["reasons"]) == list(b["reasons"])


def test_backtest_writes_html_with_plots(shop: Path) -> None:
    out = shop.parent / "out" / "bt.html"
    r = cli(
        shop,
        "backtest",
        "--cutoffs",
        f"{D1},{D2}",
        "--horizon",
        "60",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<svg" in html
    for model in ("recency", "bgnbd", "paretonbd", "boosted"):
        assert f"<td>{model}</td>" in html
    assert "boosted" in r.stdout and "recency" in r.stdout  # the table on the terminal
    assert D1.isoformat() in html and D2.isoformat() in html
    assert "horizon 60 days" in html
    assert f"wrote {out}" in r.stdout.replace("\n", "")


def test_backtest_writes_json(shop: Path) -> None:
    out = shop.parent / "out" / "bt.json"
    r = cli(shop, "backtest", "--cutoffs", D2.isoformat(), "--horizon", "60", "--out", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["horizon_days"] == 60 and doc["cutoffs"] == [D2.isoformat()]
    models = {row["model"] for row in doc["per_cutoff"]}
    assert models == {"recency", "bgnbd", "paretonbd", "boosted"}
    assert {row["model"] for row in doc["summary"]} == models
    for row in doc["per_cutoff"]:
        assert 0.6 < row["roc_auc"] <= 1.0, row
    assert set(doc["calibration"]) == {"bgnbd", "paretonbd", "boosted"}


def test_alerts_prints_a_line(shop: Path, scores_csv) -> None:
    fixed_horizon(shop, 90)  # the run's horizon is "auto" by default; scores_csv used 90
    r = cli(shop, "alerts", "--as-of", AS_OF.isoformat())
    assert r.returncode == 0, r.stderr
    first = r.stdout.strip().splitlines()[0]
    assert "crossed into the high band as of" in first and AS_OF.isoformat() in first
    n = int(first.split()[0].replace(",", ""))
    scores = pd.read_csv(scores_csv[0])
    if "first run" in first:
        assert n == int((scores["risk_band"] == "high").sum())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["score", "--as-of", "notadate", "--out", "{out}"], "--as-of notadate"),
        (["score", "--as-of", "{as_of}", "--horizon", "0", "--out", "{out}"], "horizon"),
        (["score", "--as-of", "{as_of}", "--horizon", "-5", "--out", "{out}"], "horizon"),
        (["score", "--as-of", "{as_of}", "--out", "{bad_out}"], "unknown output format"),
        (["backtest", "--cutoffs", "2024-13-01"], "--cutoffs 2024-13-01"),
        (["alerts", "--as-of", "2024/01/01"], "expected a date"),
    ],
)
def test_bad_input_is_one_line(
    shop: Path, scores_csv, tmp_path: Path, args: list[str], expected: str
) -> None:
    subs = {
        "{out}": str(tmp_path / "s.csv"),
        "{bad_out}": str(tmp_path / "s.xlsx"),
        "{as_of}": AS_OF.isoformat(),
    }
    r = cli(shop, *[subs.get(a, a) for a in args])
    line = _one_error_line(r)
    assert expected in line, line
    assert "--debug" not in line  # an anticipated error, not an internal one
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize(
    "args",
    [
        ["score", "--out", "{out}"],
        ["score", "--as-of", "2024-06-01", "--horizon", "90", "--out", "{out}"],
        ["backtest"],
        ["alerts", "--as-of", "2024-06-01"],
    ],
)
def test_empty_workspace_is_one_line(tmp_path: Path, args: list[str]) -> None:
    ws = tmp_path / "empty"
    out = tmp_path / "s.csv"
    r = cli(ws, *[str(out) if a == "{out}" else a for a in args])
    line = _one_error_line(r)
    # An anticipated error that says what to do, not an internal one with a type name.
    assert "--debug" not in line, line
    assert "empty" in line or "no orders" in line or "ingest" in line, line
    assert not out.exists()
