"""The run store: each daily run writes ``runs/<run_id>/``; ``runs/latest.json`` names the
newest completed one, which the CLI, the API, the dashboard and the report read.

A run is complete once its ``run.json`` exists (written last, atomically). A run in
progress holds ``.running`` (its process id and host) so that a folder left by a killed
run can be told from one still being written; only complete runs are ever read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun.errors import LiucunError

if TYPE_CHECKING:
    from liucun.workspace import Workspace


# The stages of the daily run, in order.
STAGES = (
    "texts", "features", "segments", "scores", "recommendations", "reviews", "risk", "demand",
    "plan",
)  # fmt: skip


@dataclass
class RunResult:
    run_id: str
    as_of: str
    run_dir: str
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


# The file a run writes last: its folder is a complete run once this exists.
DONE = "run.json"
# The file a run in progress holds: {"pid": ..., "host": ...}.
RUNNING = ".running"


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def is_complete(run_dir: Path) -> bool:
    """Whether the run in ``run_dir`` finished (a killed run never wrote ``run.json``)."""
    return (run_dir / DONE).is_file()


def complete_runs(ws: Workspace) -> list[Path]:
    """The folders of complete runs, oldest first (run ids sort by time)."""
    root = ws.path / "runs"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and is_complete(p))


def start_run(ws: Workspace, run_id: str) -> Path:
    """Create ``runs/<run_id>/`` marked as in progress by this process."""
    run_dir = ws.path / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    owner = {"pid": os.getpid(), "host": socket.gethostname()}
    (run_dir / RUNNING).write_text(json.dumps(owner), encoding="utf-8")
    return run_dir


def finish_run(ws: Workspace, run_dir: Path, doc: dict[str, Any]) -> None:
    """Write ``run.json`` (the completion mark) atomically, then point ``latest.json`` at
    the run: a reader sees the old run or this whole one, never a part."""
    _write_atomic(run_dir / DONE, json.dumps(doc, indent=2))
    (run_dir / RUNNING).unlink(missing_ok=True)
    pointer = {"run_id": run_dir.name, "as_of": doc.get("as_of")}
    _write_atomic(ws.path / "runs" / "latest.json", json.dumps(pointer))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _owner_alive(run_dir: Path) -> bool:
    """Whether the process that started this run may still be writing it.

    No mark (or an unreadable one) means a killed run; a mark from another host, or on a
    system where a process cannot be probed safely, counts as alive.
    """
    try:
        owner = json.loads((run_dir / RUNNING).read_text(encoding="utf-8"))
        pid, host = int(owner["pid"]), str(owner["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if host != socket.gethostname() or sys.platform == "win32":
        return True  # os.kill(pid, 0) would terminate the process on Windows
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def clean_partial_runs(ws: Workspace) -> list[str]:
    """Remove the folders of runs that never completed: those older than the newest
    complete run and those whose process is gone. Returns the removed run ids.

    Called at the start of a run, while it holds the warehouse's write lock.
    """
    root = ws.path / "runs"
    if not root.is_dir():
        return []
    done = complete_runs(ws)
    newest = done[-1].name if done else ""
    removed = []
    for p in sorted(root.iterdir()):
        if not p.is_dir() or p.name.startswith(".") or is_complete(p):
            continue
        if p.name < newest or not _owner_alive(p):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
    return removed


def latest_run(ws: Workspace) -> Path:
    """The newest complete run's folder (the one ``latest.json`` names, or the newest
    complete one when that is gone); one clear line if there is none."""
    pointer = ws.path / "runs" / "latest.json"
    if pointer.exists():
        try:
            run_id = str(json.loads(pointer.read_text(encoding="utf-8"))["run_id"])
        except (ValueError, KeyError, TypeError):
            run_id = ""
        run_dir = ws.path / "runs" / run_id
        if run_id and "/" not in run_id and is_complete(run_dir):
            return run_dir
    done = complete_runs(ws)
    if not done:
        raise LiucunError(f"no run in {ws.path}: run `liucun run --as-of DATE` first")
    return done[-1]


def read_output(ws: Workspace, name: str, run_dir: Path | None = None) -> pd.DataFrame:
    path = (run_dir or latest_run(ws)) / f"{name}.parquet"
    if not path.exists():
        raise LiucunError(f"{path}: the latest run has no {name} output")
    return pd.read_parquet(path)


def previous_run(ws: Workspace, before: str) -> Path | None:
    """The newest complete run older than run ``before`` that wrote scores."""
    older = [p for p in complete_runs(ws) if p.name < before and (p / "scores.parquet").exists()]
    return older[-1] if older else None
