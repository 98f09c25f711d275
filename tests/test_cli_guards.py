"""Implausible arguments are refused before any work, and a stale --as-of is flagged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from liucun.cli import app
from liucun.errors import LiucunError
from liucun.workspace import Workspace, stale_as_of

ORDERS = (
    "order_id,user_id,ts,amount\no1,u1,2024-01-05,10\no2,u2,2024-02-01,20\no3,u1,2024-03-01,5\n"
)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    f = tmp_path / "orders.csv"
    f.write_text(ORDERS, encoding="utf-8")
    with Workspace(path) as w:
        w.ingest("orders", f)
    return path


def run(ws: Path, *args: str) -> tuple[int, str]:
    """Exit code and the one-line error the CLI's ``main`` prints for a LiucunError."""
    r = CliRunner().invoke(app, ["--workspace", str(ws), *args])
    if isinstance(r.exception, LiucunError):
        return 1, str(r.exception)
    return r.exit_code, r.output


@pytest.mark.parametrize("command", ["score", "plan", "backtest"])
def test_horizon_over_ten_years_is_refused(ws: Path, tmp_path: Path, command: str) -> None:
    code, out = run(ws, command, "--horizon", "100000", "--out", str(tmp_path / "o.csv"))
    assert code == 1
    assert "--horizon 100000: at most 3650 days" in out
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("budget", ["inf", "nan", "-5", "0"])
def test_budget_must_be_positive_and_finite(ws: Path, tmp_path: Path, budget: str) -> None:
    code, out = run(ws, "plan", f"--budget={budget}", "--out", str(tmp_path / "p.csv"))
    assert code == 1
    assert "must be a positive, finite amount" in out


def test_as_of_long_after_the_data_is_flagged(ws: Path) -> None:
    with Workspace(ws) as w:
        assert stale_as_of(w, dt.date(2024, 3, 20), 90) is None  # within a horizon
        msg = stale_as_of(w, dt.date(2027, 1, 1), 90)
    assert msg is not None
    assert "days after the newest data (2024-03-01)" in msg


@pytest.mark.parametrize("command", ["plan", "score"])
def test_as_of_on_an_empty_workspace_is_one_line(tmp_path: Path, command: str) -> None:
    code, out = run(tmp_path / "empty", command, "--as-of", "2024-04-01", "--out",
                    str(tmp_path / "o.csv"))  # fmt: skip
    assert code == 1
    assert "ingest" in out and "Error" not in out
