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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from liucun.errors import LiucunError

OUTPUTS = (
    "customers",
    "scores",
    "recommendations",
    "plan",
    "segments",
    "messages",
    # Review text outputs: interests is per customer; item quality and themes are per
    # item and per category, kept as plain frames.
    "interests",
    "item_quality",
    "themes",
)
JSON_OUTPUTS = ("topics",)  # small documents, kept as parsed JSON in Snapshot.docs


def _read(run_dir: Path, name: str) -> pd.DataFrame | None:
    path = run_dir / f"{name}.parquet"
    return pd.read_parquet(path) if path.exists() else None


def _py(v: Any) -> Any:
    """A JSON-ready value: NaN/NaT → None, numpy scalars and timestamps → Python."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.isoformat()
    if isinstance(v, float) and v != v:
        return None
    return None if v is pd.NaT or v is pd.NA else v


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows (per value, not a whole-frame cast: lookups stay sub-millisecond)."""
    return [{k: _py(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _value_at_risk(scores: pd.DataFrame) -> np.ndarray:
    clv = scores["clv_365d"].fillna(0) if "clv_365d" in scores else 1.0
    return (scores["p_churn"] * clv).to_numpy(dtype=float)


def _read_json(run_dir: Path, name: str) -> Any:
    path = run_dir / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _row(df: pd.DataFrame, user_id: str) -> dict[str, Any]:
    return {k: _py(v) for k, v in df.loc[user_id].items()}


@dataclass
class Snapshot:
    """One completed run's outputs. Frames are indexed by ``user_id`` where they have one."""

    run_id: str
    as_of: str
    run_dir: Path
    run: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    docs: dict[str, Any] = field(default_factory=dict)  # JSON outputs (topics), parsed
    # Data derived from this run (rankings, dashboard.json), computed once: it lives and
    # dies with the snapshot, so nothing needs evicting when a new run is served.
    _derived: dict[Any, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def derived(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()`` once per snapshot and key; later calls get the same object."""
        got = self._derived.get(key)
        if got is None:
            with self._lock:
                got = self._derived.get(key)
                if got is None:
                    got = self._derived[key] = make()
        return got

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
        docs = {n: d for n in JSON_OUTPUTS if (d := _read_json(run_dir, n)) is not None}
        return cls(str(run["run_id"]), str(run["as_of"]), run_dir, run, frames, docs)

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
                out.update(_row(f, user_id))
        if "plan" in self.frames and user_id in self.frames["plan"].index:
            out["planned_action"] = _row(self.frames["plan"], user_id)
        words = self.interest_keywords(user_id)
        if words:
            out["interest_keywords"] = words
        return out

    def interest_keywords(self, user_id: str) -> list[str]:
        """The customer's interest words, most telling first; [] when the run has none."""
        df = self.frames.get("interests")
        if df is None or user_id not in df.index:
            return []
        return str(_py(df.at[user_id, "keywords"]) or "").split()

    def recommendations(self, user_id: str, k: int = 10) -> list[dict[str, Any]]:
        recs = self.frames.get("recommendations")
        if recs is None or user_id not in recs.index:
            return []
        return _records(recs.loc[[user_id]].head(k).reset_index(drop=True))

    def _at_risk_order(self, segment: str | None, band: str | None) -> np.ndarray:
        s = self.frames.get("scores")
        if s is None:
            raise LiucunError(f"run {self.run_id} has no scores")
        keep = np.ones(len(s), bool)
        if segment:
            keep &= (s["segment"] == segment).to_numpy()
        if band:
            keep &= (s["risk_band"] == band).to_numpy()
        pos = np.flatnonzero(keep)
        value = _value_at_risk(s.iloc[pos])
        return pos[np.lexsort((s["user_id"].to_numpy()[pos], -value))]

    def at_risk_count(self, segment: str | None = None, band: str | None = None) -> int:
        return len(self.derived(("at_risk", segment, band),
                                lambda: self._at_risk_order(segment, band)))  # fmt: skip

    def at_risk(
        self,
        limit: int = 100,
        segment: str | None = None,
        band: str | None = None,
        offset: int = 0,
    ) -> pd.DataFrame:
        """The highest value at risk first: p_churn × expected revenue lost, with reasons
        and the planned action where the run planned one. Ranked once per snapshot and
        filter, so a request is a slice, not a sort of every customer."""
        order = self.derived(("at_risk", segment, band), lambda: self._at_risk_order(segment, band))
        s = self.frames["scores"].iloc[order[offset : offset + limit]].reset_index(drop=True)
        s = s.assign(value_at_risk=_value_at_risk(s))
        plan = self.frames.get("plan")
        if plan is not None:
            s = s.assign(action=s["user_id"].map(plan["action"]))
        return s

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
