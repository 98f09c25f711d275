"""Helpers the test files share (import as ``from shared import ...``; ``tests/`` is on
the path because of ``tests/conftest.py``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def run_cli(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``liucun --workspace ws ARGS`` as a user runs it: its own process, a wide terminal
    (tables not folded), BLAS on one thread."""
    env = {**os.environ, "COLUMNS": "200", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "liucun.cli", "--workspace", str(ws), *args],
        capture_output=True,
        text=True,
        env=env,
    )


def read_errors(ws) -> list[tuple]:
    """(table, row, column, reason) of the quarantined rows whose bytes did not decode."""
    return ws.warehouse.con.execute(
        "SELECT table_name, row_number, column_name, reason FROM quarantine "
        "WHERE reason LIKE 'invalid utf-8%' ORDER BY ALL"
    ).fetchall()


def lenient_plan(ws_path: Path) -> None:
    """Turn the planner's evidence bar off in a small test shop's liucun.toml.

    A shop of a few thousand customers cannot show a campaign's effect at the default
    90% level, so its plan is empty (tests/test_planning.py checks that); tests of what
    happens to a plan downstream (API, pipeline, exports) run with any measured gain over
    the 14-day response window counting.
    """
    toml = Path(ws_path) / "liucun.toml"
    text = toml.read_text(encoding="utf-8")
    assert "\nconfidence = 0.9\n" in text
    toml.write_text(
        text.replace("\nconfidence = 0.9\n", "\nconfidence = 0.0\noutcome_days = 14\n"), "utf-8"
    )


def fixed_horizon(ws_path: Path, days: int) -> None:
    """Fix the daily run's churn horizon ([score] horizon, "auto" by default) in a test
    shop's liucun.toml, for tests that compare the run with `score --horizon days`."""
    toml = Path(ws_path) / "liucun.toml"
    text = toml.read_text(encoding="utf-8")
    assert '\nhorizon = "auto"\n' in text
    toml.write_text(text.replace('\nhorizon = "auto"\n', f"\nhorizon = {int(days)}\n"), "utf-8")


def split_reason_text(text: str) -> list[str]:
    """The reasons in a run's text, independently of liucun's own splitter: pieces between
    ";" glued back while a bracket is open ("unusual behaviour (top 0.5%; discounts /
    (paid + discounts): 1)" is one reason)."""
    out = [""]
    for i, piece in enumerate(re.split(r"([;；])", str(text))):
        is_open = len(re.findall(r"[(（\[]", out[-1])) > len(re.findall(r"[)）\]]", out[-1]))
        if i % 2 and not is_open:
            out.append("")
        else:
            out[-1] += piece
    return [x.strip() for x in out if x.strip()]
