"""What an analyst reads from the CLI (issue 23): piped output that is never cut, no "nan"
in a table, ROI as a percentage, rate changes in percentage points, no library warning in
the middle of the demo, and a demo that ends with where things are and what comes next.

The commands run as a user runs them: their own process, stdout and stderr piped (not a
terminal), no COLUMNS and no OPENBLAS_NUM_THREADS set for them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import liucun
from liucun.cli import app
from liucun.demo import DemoResult, closing_lines
from liucun.look import percent, points

runner = CliRunner()


def piped(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``liucun ARGS`` in ``cwd`` with its output going to a pipe, as in ``liucun … | cat``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COLUMNS", "LINES", "OPENBLAS_NUM_THREADS", "LIUCUN_WORKSPACE")
    }
    return subprocess.run(
        [sys.executable, "-m", "liucun.cli", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, subprocess.CompletedProcess[str]]]:
    """``liucun demo`` in a fresh folder (so the workspace is the default ``./.liucun``)."""
    cwd = tmp_path_factory.mktemp("analyst")
    r = piped(cwd, "demo", "--users", "400", "--days", "90")
    assert r.returncode == 0, r.stderr
    yield cwd, r


def _row(out: str, label: str) -> list[str]:
    """The cells after ``label`` in a Rich table row of ``out``."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[1] == label:
            return cells[2:-1]
    raise AssertionError(f"no row {label!r} in:\n{out}")


def test_piped_lines_are_never_cut(tmp_path: Path) -> None:
    """`liucun ingest … | cat` printed "quarantined \\n0": Rich laid out 80 columns."""
    n = 10_000
    pd.DataFrame(
        {
            "order_id": [f"o{i // 2}" for i in range(n)],
            "item_id": [f"i{i % 50}" for i in range(n)],
            "quantity": 1,
            "price": 9.5,
        }
    ).to_csv(tmp_path / "order_items.csv", index=False)
    r = piped(tmp_path, "--workspace", "ws", "ingest", "order_items", "order_items.csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    want = f"order_items: read {n:,} = loaded {n:,} + updated 0 + duplicates 0 + quarantined 0"
    assert len(want) > 80 and lines == [want]
    # Tables still render, as wide as their content.
    r = piped(tmp_path, "--workspace", "ws", "summary")
    assert r.returncode == 0, r.stderr
    assert "┏" in r.stdout and "order_items" in r.stdout
    assert all(len(line) < 200 for line in r.stdout.splitlines())


def test_campaign_size_speaks_in_percentage_points() -> None:
    from liucun.tasks.campaigns import plan_size

    r = runner.invoke(
        app, ["campaign", "size", "--baseline-rate", "0.1", "--mde", "0.01", "--n", "1000"]
    )
    assert r.exit_code == 0, r.output
    s = plan_size(0.1, 0.01, 0.05, 0.8, 0.5, 1000)
    assert "to detect +1.00 pp on a 10.00% baseline" in r.output
    assert f"minimum detectable effect is {points(s['mde_at_n'])}" in r.output
    assert not re.search(r"[+-]\d+\.\d+%", r.output)  # a change of a rate is never "+1.00%"


def test_demo_has_no_library_warning_and_ends_with_next_steps(demo) -> None:
    cwd, r = demo
    assert "OpenBLAS" not in r.stderr and "RuntimeWarning" not in r.stderr, r.stderr
    lines = r.stdout.splitlines()
    # A long sentence stays one line when piped.
    holdout = [ln for ln in lines if "Against the simulator's holdout" in ln]
    assert len(holdout) == 1 and "true purchase probability gives" in holdout[0]
    ws = (cwd / ".liucun").resolve()
    where = [ln for ln in lines if ln.startswith("workspace ")]
    assert where == [f"workspace {ws} " + where[0].split(f"{ws} ", 1)[1]]
    assert "hidden" in where[0] and "ls -a" in where[0]
    report = next(ln for ln in lines if ln.startswith("run ")).split(" report ", 1)[1]
    assert Path(report).is_absolute() and Path(report).is_file()
    steps = lines[lines.index("next steps:") :]
    text = "\n".join(steps)
    assert Path(report).as_uri() in text
    assert "liucun apikey create" in text and "liucun serve" in text
    assert "http://127.0.0.1:8000" in text
    assert steps == lines[-len(steps) :]  # the last thing printed


def test_closing_lines_of_a_visible_workspace(tmp_path: Path) -> None:
    r = DemoResult("r1", tmp_path / "shop/sim", tmp_path / "shop/sim/truth", tmp_path, tmp_path)
    lines = closing_lines(r, tmp_path / "shop", "liucun --workspace shop")
    assert lines[1] == f"workspace {(tmp_path / 'shop').resolve()}"  # not hidden: no note
    assert any("liucun --workspace shop serve" in ln for ln in lines)


def test_segments_show_no_nan(demo) -> None:
    """A segment without orders (Prospect) has no recency: "–", not "nan"."""
    from liucun.runs import read_output

    cwd, _ = demo
    with liucun.Workspace(cwd / ".liucun") as ws:
        table = read_output(ws, "segments")
    empty = table.loc[table["avg_recency_days"].isna(), "segment"].tolist()
    assert empty, "the demo shop should have customers without orders"
    r = piped(cwd, "segments")
    assert r.returncode == 0, r.stderr
    assert not re.search(r"\bnan\b", r.stdout, re.IGNORECASE), r.stdout
    for seg in empty:
        assert _row(r.stdout, seg)[2] == "–"


def test_readout_roi_is_a_percentage_and_lift_in_points(demo) -> None:
    from liucun.tasks.campaigns import list_campaigns, readout

    cwd, _ = demo
    with liucun.Workspace(cwd / ".liucun") as ws:
        cid = str(list_campaigns(ws)["campaign_id"].iloc[-1])  # the oldest: most outcome
        ro = readout(ws, cid, None, None, 0.05)
    r = piped(cwd, "campaign", "readout", cid)
    assert r.returncode == 0, r.stderr
    roi = ro.table["roi"].astype(float)
    assert np.isfinite(roi).any()
    assert _row(r.stdout, "ROI") == [percent(v) for v in roi]
    assert all(
        c.endswith("%") for c, v in zip(_row(r.stdout, "ROI"), roi, strict=True) if np.isfinite(v)
    )
    lift = _row(r.stdout, "conversion lift")
    assert lift == [points(v, 1) for v in ro.table["conversion_lift"]]
    assert not re.search(r"\bnan\b", r.stdout, re.IGNORECASE), r.stdout


def test_risk_and_profile_show_no_nan(demo) -> None:
    cwd, _ = demo
    with liucun.Workspace(cwd / ".liucun") as ws:
        users = ws.table("users").user_id.execute().astype(str)
        buyers = set(ws.table("orders").user_id.execute().astype(str))
    prospect = next(u for u in users if u not in buyers)
    for args in (["risk", "--limit", "5"], ["profile", prospect]):
        r = piped(cwd, *args)
        assert r.returncode == 0, r.stderr
        assert not re.search(r"\bnan\b", r.stdout, re.IGNORECASE), (args, r.stdout)


def test_tables_write_missing_values_as_a_dash() -> None:
    """Every table printed from a frame (risk, themes, item quality...) goes through here."""
    from liucun.cli._common import console, show_or_write

    df = pd.DataFrame(
        {
            "user_id": ["a", "b"],
            "score": [0.5, np.nan],
            "when": [pd.Timestamp("2024-01-01"), pd.NaT],
            "reasons": [None, pd.NA],
        }
    )
    with console.capture() as cap:
        show_or_write(df, None, "t", 5)
    out = cap.get()
    assert _row(out, "a") == ["0.50", "2024-01-01 00:00:00", "–"]
    assert _row(out, "b") == ["–", "–", "–"]


def test_recommender_fit_leaves_openblas_no_cause_to_warn() -> None:
    """implicit's ALS warns when BLAS runs several threads; the fit runs it on one."""
    import implicit.utils
    from threadpoolctl import threadpool_info, threadpool_limits

    from liucun.models.recommend.data import Interactions
    from liucun.models.recommend.sources import ALS

    rng = np.random.default_rng(0)
    rows = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in rng.integers(0, 30, 300)],
            "item_id": [f"i{i}" for i in rng.integers(0, 20, 300)],
            "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(300), "h"),
            "weight": 1.0,
        }
    )
    data = Interactions.build(rows)
    checked = implicit.utils._checked_blas_config
    implicit.utils._checked_blas_config = False  # implicit checks once per process
    try:
        with threadpool_limits(2, "blas"):  # the cause the warning names, on any machine
            assert any(a["user_api"] == "blas" and a["num_threads"] > 1 for a in threadpool_info())
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ALS(factors=4, iterations=2).fit(data)
    finally:
        implicit.utils._checked_blas_config = checked
    assert not [w for w in caught if "BLAS" in str(w.message)]
