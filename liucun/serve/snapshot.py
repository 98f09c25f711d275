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

from liucun import outputs
from liucun.decide import at_risk
from liucun.errors import LiucunError
from liucun.outputs import json_value

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
    # Risk control: account scores (riskiest first) and the orders worth a look.
    "risk",
    "risk_orders",
    # Demand (liucun.pipeline.demand): forecasts per item, category and the shop; stock
    # alerts per item; elasticities per category and item. Served by liucun.serve.demand.
    "forecast_items",
    "forecast_categories",
    "forecast_shop",
    "inventory",
    "pricing",
)
JSON_OUTPUTS = ("topics",)  # small documents, kept as parsed JSON in Snapshot.docs


def _read(run_dir: Path, name: str) -> pd.DataFrame | None:
    path = run_dir / f"{name}.parquet"
    return pd.read_parquet(path) if path.exists() else None


def _read_json(run_dir: Path, name: str) -> Any:
    path = run_dir / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _row(df: pd.DataFrame, user_id: str) -> dict[str, Any]:
    return {k: json_value(v) for k, v in df.loc[user_id].items()}


# Brackets a reason may hold a ";" inside: "unusual behaviour (top 0.1%; orders 4× ...)".
_OPEN = "([{（［｛【〔《〈「『"
_CLOSE = ")]}）］｝】〕》〉」』"
_SEPARATORS = ";；"


def split_reasons(text: Any) -> list[str]:
    """A run's "; "-joined reasons as a list (empty for none), split only at a ";" (or a
    full-width "；") outside every bracket, so a reason that itself holds one stays whole.

    The one place reasons are split, so the API and every dashboard page agree.
    An unmatched closing bracket is ignored; an unclosed one keeps the rest together."""
    text = json_value(text)
    if not text:
        return []
    parts: list[str] = []
    depth, start = 0, 0
    s = str(text)
    for i, ch in enumerate(s):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
        elif ch in _SEPARATORS and depth == 0:
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    return [p.strip() for p in parts if p.strip()]


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
    # Reentrant: a make() may itself ask for derived data (the risk page ranks accounts).
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

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
        fraud = self.fraud_risk(user_id)
        if fraud is not None:
            out["fraud_risk"] = fraud
        return out

    def fraud_risk(self, user_id: str) -> dict[str, Any] | None:
        """The account's risk score, band and reasons; None when the run scored none.

        Named apart from ``risk_band`` in the scores, which is the churn risk band."""
        df = self.frames.get("risk")
        if df is None or user_id not in df.index:
            return None
        return {
            "risk_score": json_value(df.at[user_id, "risk_score"]),
            "risk_band": json_value(df.at[user_id, "risk_band"]),
            "risk_reasons": split_reasons(df.at[user_id, "risk_reasons"]),
        }

    def interest_keywords(self, user_id: str) -> list[str]:
        """The customer's interest words, most telling first; [] when the run has none."""
        df = self.frames.get("interests")
        if df is None or user_id not in df.index:
            return []
        return str(json_value(df.at[user_id, "keywords"]) or "").split()

    def recommendations(self, user_id: str, k: int = 10) -> list[dict[str, Any]]:
        recs = self.frames.get("recommendations")
        if recs is None or user_id not in recs.index:
            return []
        return outputs.records(recs.loc[[user_id]].head(k).reset_index(drop=True))

    def _at_risk_order(self, f: at_risk.Filters) -> np.ndarray:
        s = self.frames.get("scores")
        if s is None:
            raise LiucunError(f"run {self.run_id} has no scores")
        return at_risk.order(s, self.frames.get("customers"), f)

    def _at_risk_ranked(self, f: at_risk.Filters) -> np.ndarray:
        return self.derived(("at_risk", f), lambda: self._at_risk_order(f))

    def at_risk_count(
        self,
        segment: str | None = None,
        band: str | None = None,
        *,
        prospects: bool = False,
        gone: bool = False,
    ) -> int:
        """Customers on the list for these filters (:mod:`liucun.decide.at_risk`)."""
        return len(self._at_risk_ranked(at_risk.Filters(segment, band, prospects, gone)))

    def at_risk_left_out(
        self,
        segment: str | None = None,
        band: str | None = None,
        *,
        prospects: bool = False,
        gone: bool = False,
    ) -> dict[str, int]:
        """How many prospects and customers gone for good these filters leave out."""
        f = at_risk.Filters(segment, band, prospects, gone)
        if "scores" not in self.frames:
            raise LiucunError(f"run {self.run_id} has no scores")
        return self.derived(
            ("at_risk_left_out", f),
            lambda: at_risk.left_out(self.frames["scores"], self.frames.get("customers"), f),
        )

    def at_risk(
        self,
        limit: int = 100,
        segment: str | None = None,
        band: str | None = None,
        offset: int = 0,
        *,
        prospects: bool = False,
        gone: bool = False,
    ) -> pd.DataFrame:
        """The list to act on (:mod:`liucun.decide.at_risk`): by default without prospects
        and customers gone for good, value at stake (p_churn × 365-day CLV) first, recent
        buyers last; with reasons, days since the last order and the planned action and
        its expected uplift where the run planned one. Ranked once per snapshot and
        filter, so a request is a slice, not a sort of every customer."""
        order = self._at_risk_ranked(at_risk.Filters(segment, band, prospects, gone))
        return at_risk.rows(
            self.frames["scores"],
            self.frames.get("customers"),
            self.frames.get("plan"),
            order[offset : offset + limit],
        )

    def _risk_order(self, bands: tuple[str, ...] | None) -> np.ndarray:
        r = self.frames.get("risk")
        if r is None:
            raise LiucunError(
                f"run {self.run_id} (as of {self.as_of}) has no risk scores: risk scoring "
                "is off ([risk] in_run = false in liucun.toml) or the run predates it; "
                "re-run `liucun run`"
            )
        pos = np.arange(len(r))
        if bands:
            pos = np.flatnonzero(r["risk_band"].isin(bands).to_numpy())
        score = pd.to_numeric(r["risk_score"].iloc[pos], errors="coerce").fillna(-1.0)
        return pos[np.lexsort((r["user_id"].to_numpy()[pos], -score.to_numpy(float)))]

    def risk_count(self, bands: tuple[str, ...] | None = None) -> int:
        """Accounts scored for risk (in ``bands`` when given); LiucunError without scores."""
        return len(self.derived(("risk", bands), lambda: self._risk_order(bands)))

    def risk(
        self, limit: int = 100, bands: tuple[str, ...] | None = None, offset: int = 0
    ) -> pd.DataFrame:
        """The riskiest accounts first (risk_score, then user_id), in ``bands`` when given.
        Ranked once per snapshot and filter; LiucunError when the run scored no risk."""
        order = self.derived(("risk", bands), lambda: self._risk_order(bands))
        return self.frames["risk"].iloc[order[offset : offset + limit]].reset_index(drop=True)

    def risk_orders(self, limit: int = 50) -> pd.DataFrame | None:
        """Flagged orders of the riskiest accounts first (then newest first); None when the
        run wrote none."""
        o = self.frames.get("risk_orders")
        if o is None:
            return None

        def rank() -> np.ndarray:
            r = self.frames.get("risk")
            score = (
                o["user_id"].map(r["risk_score"]).astype(float).fillna(-1.0).to_numpy()
                if r is not None
                else np.zeros(len(o))
            )
            ts = pd.to_datetime(o["ts"], errors="coerce")
            ns = ts.to_numpy("datetime64[ns]").astype("int64").astype(float)
            newest = np.where(ts.isna().to_numpy(), np.inf, -ns)  # NaT last
            return np.lexsort((o["order_id"].astype(str).to_numpy(), newest, -score))

        order = self.derived("risk_orders", rank)
        return o.iloc[order[:limit]].reset_index(drop=True)

    def records(self, name: str) -> list[dict[str, Any]]:
        df = self.frames.get(name)
        return [] if df is None else outputs.records(df.reset_index(drop=True))


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
