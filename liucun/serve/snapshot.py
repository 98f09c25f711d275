"""What the API and the dashboard read: the latest completed run's outputs, in memory.

DuckDB has one writer, and a daily run or an ingest may be writing while the server
answers. So the server never opens the warehouse for reading customers: it serves the
Parquet outputs of the last completed run (``runs/latest.json`` is replaced atomically
when a run completes), loaded once into frames indexed by ``user_id``. :class:`Snapshots`
notices a new run and swaps the whole :class:`Snapshot` in one assignment, so a request
sees either the old run or the new one, never a mix, and none fails during a run.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from liucun.errors import LiucunError

OUTPUTS = ("customers", "scores", "recommendations", "plan", "segments", "messages")


def _read(run_dir: Path, name: str) -> pd.DataFrame | None:
    path = run_dir / f"{name}.parquet"
    return pd.read_parquet(path) if path.exists() else None


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: NaN → None, numpy scalars and timestamps → Python."""
    out = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    for row in out:
        for k, v in row.items():
            if isinstance(v, np.generic):
                row[k] = v.item()
            elif isinstance(v, pd.Timestamp):
                row[k] = v.isoformat()
    return out


@dataclass
class Snapshot:
    """One completed run's outputs. Frames are indexed by ``user_id`` where they have one."""

    run_id: str
    as_of: str
    run_dir: Path
    run: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(cls, run_dir: Path) -> Snapshot:
        run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        frames = {}
        for name in OUTPUTS:
            df = _read(run_dir, name)
            if df is None:
                continue
            if "user_id" in df.columns:
                df["user_id"] = df["user_id"].astype(str)
                if name == "recommendations":
                    df = df.sort_values(["user_id", "rank"], kind="stable")
                df = df.set_index("user_id", drop=False)
            frames[name] = df
        return cls(str(run["run_id"]), str(run["as_of"]), run_dir, run, frames)

    def has(self, name: str) -> bool:
        return name in self.frames

    def customer(self, user_id: str) -> dict[str, Any] | None:
        """Profile (segment, stage, cluster, tags), scores and reasons; None if unknown."""
        rows = [self.frames[n] for n in ("customers", "scores") if n in self.frames]
        if not rows or all(user_id not in f.index for f in rows):
            return None
        out: dict[str, Any] = {"user_id": user_id}
        for f in rows:
            if user_id in f.index:
                out.update(_records(f.loc[[user_id]])[0])
        if "plan" in self.frames and user_id in self.frames["plan"].index:
            out["planned_action"] = _records(self.frames["plan"].loc[[user_id]])[0]
        return out

    def recommendations(self, user_id: str, k: int = 10) -> list[dict[str, Any]]:
        recs = self.frames.get("recommendations")
        if recs is None or user_id not in recs.index:
            return []
        return _records(recs.loc[[user_id]].head(k).reset_index(drop=True))

    def at_risk(
        self, limit: int = 100, segment: str | None = None, band: str | None = None
    ) -> pd.DataFrame:
        """The highest value at risk first: p_churn × expected revenue lost, with reasons
        and the planned action where the run planned one."""
        s = self.frames.get("scores")
        if s is None:
            raise LiucunError(f"run {self.run_id} has no scores")
        s = s.reset_index(drop=True)
        if segment:
            s = s[s["segment"] == segment]
        if band:
            s = s[s["risk_band"] == band]
        value = s["p_churn"] * s["clv_365d"].fillna(0) if "clv_365d" in s else s["p_churn"]
        s = s.assign(value_at_risk=value)
        s = s.sort_values(["value_at_risk", "user_id"], ascending=[False, True]).head(limit)
        plan = self.frames.get("plan")
        if plan is not None:
            s = s.assign(action=s["user_id"].map(plan["action"]))
        return s.reset_index(drop=True)

    def records(self, name: str) -> list[dict[str, Any]]:
        df = self.frames.get(name)
        return [] if df is None else _records(df.reset_index(drop=True))


class Snapshots:
    """The current snapshot of a workspace, reloaded when a newer run completes.

    ``check_seconds`` bounds how often the pointer file is looked at (a stat per request
    would be cheap, but a reload check per request is not needed).
    """

    def __init__(self, workspace: Path, check_seconds: float = 2.0) -> None:
        self.pointer = Path(workspace) / "runs" / "latest.json"
        self.check_seconds = check_seconds
        self._snap: Snapshot | None = None
        self._seen: tuple[float, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> Snapshot:
        """The latest completed run; raises LiucunError when there is none yet."""
        now = time.monotonic()
        if self._snap is None or now - self._checked >= self.check_seconds:
            self._refresh(now)
        if self._snap is None:
            raise LiucunError(f"no run in {self.pointer.parent.parent}: run `liucun run` first")
        return self._snap

    def _refresh(self, now: float) -> None:
        with self._lock:
            self._checked = now
            try:
                st = self.pointer.stat()
            except FileNotFoundError:
                return
            key = (st.st_mtime, st.st_size)
            if key == self._seen and self._snap is not None:
                return
            try:
                run_id = json.loads(self.pointer.read_text(encoding="utf-8"))["run_id"]
                if self._snap is None or run_id != self._snap.run_id:
                    snap = Snapshot.load(self.pointer.parent / run_id)
                    self._snap = snap  # one assignment: requests see old or new
            except (OSError, ValueError, KeyError):
                return  # a half-written or vanished run: keep serving the one we have
            self._seen = key
