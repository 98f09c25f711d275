"""The run store: each daily run writes ``runs/<run_id>/``; ``runs/latest.json`` names the
newest completed one, which the CLI, the API, the dashboard and the report read."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun.errors import LiucunError

if TYPE_CHECKING:
    from liucun.workspace import Workspace


# The stages of the daily run, in order.
STAGES = (
    "texts", "features", "segments", "scores", "recommendations", "reviews", "risk", "plan"
)  # fmt: skip


@dataclass
class RunResult:
    run_id: str
    as_of: str
    run_dir: str
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def latest_run(ws: Workspace) -> Path:
    """The newest run's folder; one clear line if there is none."""
    pointer = ws.path / "runs" / "latest.json"
    if not pointer.exists():
        raise LiucunError(f"no run in {ws.path}: run `liucun run --as-of DATE` first")
    run_id = json.loads(pointer.read_text(encoding="utf-8"))["run_id"]
    return ws.path / "runs" / run_id


def read_output(ws: Workspace, name: str, run_dir: Path | None = None) -> pd.DataFrame:
    path = (run_dir or latest_run(ws)) / f"{name}.parquet"
    if not path.exists():
        raise LiucunError(f"{path}: the latest run has no {name} output")
    return pd.read_parquet(path)


def previous_run(ws: Workspace, before: str) -> Path | None:
    """The newest run older than run ``before`` that wrote scores."""
    runs = sorted(p for p in (ws.path / "runs").glob("*") if (p / "scores.parquet").exists())
    older = [p for p in runs if p.name < before]
    return older[-1] if older else None
