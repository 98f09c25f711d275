"""Point in time at the output level: every command that takes ``--as-of`` writes the same
files whether or not the warehouse also holds rows at or after ``as_of``.

A tiny simulated shop is ingested twice: once whole, once with only the rows before
``AS_OF`` (Parquet files filtered by ``ts`` before ingesting; users by signup, order lines
by their order). Each command then runs through the CLI on both workspaces and the
outputs are compared, sorted by key. The same check runs on a slice of CDNOW, the real
data set the leakage was measured on (issue 17, item 1).

Equality is exact except where stated: the daily job's dashboard carries campaign
read-outs whose floats are sums over rows in warehouse order, which differs between the two
warehouses; those are compared with a relative tolerance of 1e-9 (last-bit noise, not
leakage: a leaked row moves them by whole orders).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from liucun.cli import app
from liucun.data.samples import is_available, sample_files

AS_OF = "2024-05-01"  # the shop runs 2024-01-01 .. 2024-05-29: four weeks of later rows
HORIZON = "30"
SIM = {"users": 300, "days": 150, "holdout_days": 0, "seed": 1}
TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")
# The daily job scores with [score] horizon_days: the same horizon lets it reuse the models
# `score` fitted (each workspace fits its own: the reuse key holds the warehouse content).
TOML = f"[score]\nhorizon_days = {HORIZON}\n"
# Output columns that name the run or the machine, not what was computed.
VOLATILE = {"run_id", "run_dir", "generated", "saved_at", "seconds", "previous_run", "path"}

runner = CliRunner()


def cli(ws: Path, *args: str) -> None:
    """Run ``liucun --workspace ws ARGS`` in process; fail with its output if it fails."""
    res = runner.invoke(app, ["--workspace", str(ws), *args])
    assert res.exit_code == 0, f"liucun {' '.join(args)}: {res.output}\n{res.exception!r}"


def truncate(src: Path, dst: Path, as_of: pd.Timestamp) -> None:
    """The shop's files as they stood at ``as_of``: only rows before it."""
    dst.mkdir(parents=True)
    orders = pd.read_parquet(src / "orders.parquet")
    kept = orders.loc[orders["ts"] < as_of, "order_id"]
    for t in TABLES:
        df = pd.read_parquet(src / f"{t}.parquet")
        if "ts" in df.columns:
            df = df[df["ts"] < as_of]
        if t == "users":
            df = df[df["signup_ts"].isna() | (df["signup_ts"] < as_of)]
        if t == "order_items":
            df = df[df["order_id"].isin(kept)]
        assert t in ("items",) or len(df) > 0
        df.to_parquet(dst / f"{t}.parquet", index=False)


def workspace(files: Path, path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "liucun.toml").write_text(TOML, encoding="utf-8")
    for t in TABLES:
        cli(path, "ingest", t, str(files / f"{t}.parquet"))
    return path


@pytest.fixture(scope="module")
def shops(
    simulated: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """(workspace with every row, workspace with the rows before AS_OF)."""
    src = simulated(**SIM)
    root = tmp_path_factory.mktemp("truncation")
    cut = pd.Timestamp(AS_OF, tz="UTC")
    orders = pd.read_parquet(src / "orders.parquet")
    assert (orders["ts"] >= cut).sum() > 10, "the shop needs rows after AS_OF to test anything"
    truncate(src, root / "before", cut)
    return workspace(src, root / "full"), workspace(root / "before", root / "truncated")


def frame(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    key = [c for c in ("user_id", "segment", "order_id", "item_id", "rank", "feature") if c in df]
    return df.sort_values(key or list(df.columns[:1]), kind="stable").reset_index(drop=True)


def assert_same_frame(a: Path, b: Path) -> None:
    x, y = frame(a), frame(b)
    pd.testing.assert_frame_equal(x, y, check_exact=True, obj=a.name)


def assert_same_json(a: Any, b: Any, where: str = "", tol: float = 0.0) -> None:
    """Equal JSON documents, volatile keys left out; floats within ``tol`` (relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (set(a) | set(b)) - VOLATILE
        for k in sorted(keys):
            assert k in a and k in b, f"{where}.{k} only on one side"
            assert_same_json(a[k], b[k], f"{where}.{k}", tol)
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_json(x, y, f"{where}[{i}]", tol)
    elif isinstance(a, float) and isinstance(b, float) and tol:
        assert math.isclose(a, b, rel_tol=tol, abs_tol=tol), f"{where}: {a} vs {b}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


@pytest.fixture(scope="module")
def outputs(shops: tuple[Path, Path]) -> Iterator[tuple[Path, Path]]:
    """Each --as-of command run on both workspaces; their output folders."""
    outs = []
    for ws in shops:
        out = ws.parent / f"{ws.name}-out"
        out.mkdir()
        cli(ws, "score", "--as-of", AS_OF, "--horizon", HORIZON, "--out", str(out / "score.csv"))
        cli(ws, "recommend", "--as-of", AS_OF, "--out", str(out / "recommend.csv"))
        cli(ws, "risk", "--as-of", AS_OF, "--out", str(out / "risk.csv"), "--orders",
            str(out / "risk_orders.csv"))  # fmt: skip
        cli(ws, "segments", "--as-of", AS_OF, "--out", str(out / "segments.csv"))
        cli(ws, "alerts", "--as-of", AS_OF, "--out", str(out / "alerts.csv"))
        cli(ws, "pricing", "--as-of", AS_OF, "--out", str(out / "pricing.csv"))
        cli(ws, "forecast", "--as-of", AS_OF, "--horizon", HORIZON, "--out",
            str(out / "forecast.csv"))  # fmt: skip
        outs.append(out)
    yield outs[0], outs[1]


@pytest.mark.parametrize(
    "name",
    ["score", "recommend", "risk", "risk_orders", "segments", "alerts", "pricing", "forecast"],
)
def test_command_output_ignores_later_rows(outputs: tuple[Path, Path], name: str) -> None:
    full, truncated = outputs
    assert_same_frame(full / f"{name}.csv", truncated / f"{name}.csv")


def test_plan_ignores_later_rows(shops: tuple[Path, Path], outputs: tuple[Path, Path]) -> None:
    for ws, out in zip(shops, outputs, strict=True):
        cli(ws, "plan", "--as-of", AS_OF, "--horizon", HORIZON, "--out", str(out / "plan.csv"))
    assert_same_frame(outputs[0] / "plan.csv", outputs[1] / "plan.csv")


def _runs(ws: Path) -> list[Path]:
    return sorted(p for p in (ws / "runs").iterdir() if p.is_dir())


def test_daily_job_outputs_ignore_later_rows(
    shops: tuple[Path, Path], outputs: tuple[Path, Path]
) -> None:
    """`segments --as-of` and `alerts --as-of` each run the job: every file of both runs."""
    full, truncated = (_runs(ws) for ws in shops)
    assert len(full) == len(truncated) == 2
    for a, b in zip(full, truncated, strict=True):
        names = sorted(p.name for p in a.iterdir())
        assert names == sorted(p.name for p in b.iterdir())
        for n in names:
            if n.endswith(".parquet"):
                assert_same_frame(a / n, b / n)
            elif n == "run.json":  # paths and timings apart
                ja, jb = (json.loads((r / n).read_text(encoding="utf-8")) for r in (a, b))
                assert_same_json(ja["stats"] | {"models": 0}, jb["stats"] | {"models": 0}, n)
                assert ja["as_of"] == jb["as_of"] and sorted(ja["outputs"]) == sorted(jb["outputs"])
            elif n == "dashboard.json":
                ja, jb = (json.loads((r / n).read_text(encoding="utf-8")) for r in (a, b))
                assert_same_json(ja, jb, n, tol=1e-9)
            else:
                assert (a / n).read_bytes() == (b / n).read_bytes(), n


def test_inventory_ignores_later_rows(
    simulated: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`inventory --as-of` (stock snapshots and the demand forecast) on a retail shop,
    whose daily snapshots run past AS_OF, and on the same shop cut at AS_OF."""
    tables = ("items", "orders", "order_items", "inventory")
    src = simulated(**SIM, scenario="retail")
    cut = pd.Timestamp(AS_OF, tz="UTC")
    kept = pd.read_parquet(src / "orders.parquet").query("ts < @cut")["order_id"]
    outs = []
    for name in ("full", "truncated"):
        root = tmp_path_factory.mktemp(f"inventory-{name}")
        for t in tables:
            path = src / f"{t}.parquet"
            if name == "truncated":
                df = pd.read_parquet(path)
                df = df[df["ts"] < cut] if "ts" in df.columns else df
                df = df[df["order_id"].isin(kept)] if t == "order_items" else df
                df.to_parquet(path := root / f"{t}.parquet", index=False)
            cli(root / "ws", "ingest", t, str(path))
        cli(root / "ws", "inventory", "--as-of", AS_OF, "--out", str(root / "inventory.csv"))
        outs.append(root / "inventory.csv")
    assert_same_frame(*outs)


# -- CDNOW: the data set the leakage was measured on -----------------------------------

CDNOW_AS_OF = "1997-10-01"
CDNOW_CUSTOMERS = 600  # of 23,570: the first ids, 1,900-odd orders


@pytest.mark.skipif(not is_available("cdnow"), reason="lifetimes' CDNOW file not installed")
def test_cdnow_score_ignores_later_orders(tmp_path: Path) -> None:
    """`score --as-of 1997-10-01 --horizon 273` on a CDNOW slice, with and without the
    orders from that day on: the same scores to the last bit."""
    [src] = sample_files("cdnow")
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], [ln for ln in lines[1:] if ln.strip()]
    rows = [ln for ln in rows if int(ln.split()[0]) <= CDNOW_CUSTOMERS]
    later = [ln for ln in rows if ln.split()[1] >= CDNOW_AS_OF.replace("-", "")]
    assert later, "the slice needs orders after as_of"
    results = []
    for name, keep in (("full", rows), ("truncated", [r for r in rows if r not in set(later)])):
        f = tmp_path / f"{name}.txt"
        f.write_text(header + "".join(keep), encoding="utf-8")
        ws = tmp_path / name
        cli(ws, "ingest", "orders", str(f), "--format", "cdnow")
        out = tmp_path / f"{name}.csv"
        cli(ws, "score", "--as-of", CDNOW_AS_OF, "--horizon", "273", "--out", str(out))
        [model] = (ws / "models").glob("score-*")
        results.append((out, json.loads((model / "meta.json").read_text(encoding="utf-8"))))
    (a, meta_a), (b, meta_b) = results
    assert meta_a["plan"] == meta_b["plan"]
    assert meta_a["metrics"] == meta_b["metrics"]
    assert_same_frame(a, b)
