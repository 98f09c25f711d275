"""Real-time event intake: an inbox of Parquet files, and the live recommender.

DuckDB has one writer, and a daily run may hold it for minutes, so a request never
writes to the warehouse. ``POST /api/events`` validates the events and writes them as one
Parquet file in ``<workspace>/inbox/`` (temp name, fsync, ``os.replace``: a reader sees a
whole file or none). The next ``liucun run`` loads pending files first through the
ordinary idempotent ingest (:func:`ingest_inbox`) and moves them to ``inbox/done/``; a
crash between the two only re-ingests a file, which adds nothing.

Recommendations react at once: :class:`LiveRecommender` holds the run's fitted
recommender and feeds it each item event (``Recommender.observe``); a customer with
events since the run gets their next list from it instead of the run's table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from liucun import config
from liucun.data.schema import EVENT_TYPES
from liucun.errors import LiucunError

if TYPE_CHECKING:
    from liucun.models.recommend import Recommender
    from liucun.serve.snapshot import Snapshot
    from liucun.workspace import Workspace

INBOX = "inbox"
PATTERN = "events-*.parquet"
SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("event_type", pa.string()),
        ("item_id", pa.string()),
        ("session_id", pa.string()),
        ("value", pa.float64()),
        ("properties", pa.string()),
    ]
)


class IntakeError(LiucunError):
    """Events that cannot be accepted; ``problems`` lists (index, field, message)."""

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        self.problems = problems
        shown = "; ".join(f"event {i}: {f}: {m}" for i, f, m in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} bad event(s): {shown}{more}")


def inbox_dir(workspace: str | Path) -> Path:
    return Path(workspace) / INBOX


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    s = str(v).strip()
    return s or None


def _timestamp(v: Any, tz: str) -> pd.Timestamp:
    """UTC; a naive time is read in ``tz``, a number as seconds since 1970."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        t = pd.Timestamp(v, unit="s", tz="UTC")
    else:
        t = pd.Timestamp(v)
    if t is pd.NaT:
        raise ValueError("empty")
    return t.tz_localize(tz).tz_convert("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def validate_events(
    events: Iterable[Mapping[str, Any]],
    tz: str = "UTC",
    future_hours: float = 24,
    now: dt.datetime | None = None,
) -> pd.DataFrame:
    """Canonical event rows (UTC ``ts``, JSON ``properties``) or :class:`IntakeError`.

    Checks what ingest would quarantine, so a client hears about it now: a user_id, a
    known event type, a parseable ``ts`` no more than ``future_hours`` ahead of ``now``.
    """
    now_ts = pd.Timestamp(now or dt.datetime.now(dt.UTC))
    now_ts = now_ts.tz_localize("UTC") if now_ts.tzinfo is None else now_ts.tz_convert("UTC")
    limit = now_ts + pd.Timedelta(hours=future_hours)
    rows: list[dict[str, Any]] = []
    problems: list[tuple[int, str, str]] = []
    for i, e in enumerate(events):
        user = _text(e.get("user_id"))
        if user is None:
            problems.append((i, "user_id", "missing"))
        etype = (_text(e.get("event_type")) or "").lower()
        if etype not in EVENT_TYPES:
            problems.append(
                (i, "event_type", f"{etype or 'missing'!r} is not one of {', '.join(EVENT_TYPES)}")
            )
        try:
            ts = _timestamp(e.get("ts"), tz)
        except Exception as err:  # pandas raises several kinds for a bad time
            problems.append((i, "ts", f"not a timestamp ({str(err).splitlines()[0][:80]})"))
            ts = None
        if ts is not None and ts > limit:
            problems.append((i, "ts", f"{ts.isoformat()} is more than {future_hours:g} h ahead"))
        value = e.get("value")
        try:
            value = None if value is None else float(value)
        except (TypeError, ValueError):
            problems.append((i, "value", f"{value!r} is not a number"))
        props = e.get("properties")
        if props is not None and not isinstance(props, str):
            props = json.dumps(props, ensure_ascii=False, sort_keys=True)
        rows.append(
            {
                "user_id": user,
                "ts": ts,
                "event_type": etype,
                "item_id": _text(e.get("item_id")),
                "session_id": _text(e.get("session_id")),
                "value": value,
                "properties": props,
            }
        )
    if problems:
        raise IntakeError(problems)
    return pd.DataFrame(rows, columns=SCHEMA.names)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not every platform opens folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def append_events(workspace: str | Path, events: Iterable[Mapping[str, Any]]) -> Path:
    """Validate ``events`` and write them durably as one new file in the inbox.

    ``events`` are mappings in the canonical shape (user_id, ts, event_type, item_id,
    session_id, value, properties). Returns ``inbox/events-<UTC time>-<uuid>.parquet``;
    raises :class:`IntakeError` (nothing written) if any event is bad.
    """
    cfg = config.load(Path(workspace) / "liucun.toml")["ingest"]
    frame = validate_events(
        events, tz=str(cfg["timezone"]), future_hours=float(cfg["future_tolerance_hours"])
    )
    if frame.empty:
        raise IntakeError([(0, "body", "no events")])
    folder = inbox_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"events-{stamp}-{uuid.uuid4().hex}.parquet"
    tmp = folder / f".{name}.tmp"
    table = pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(folder)
    return folder / name


def pending(workspace: str | Path) -> list[Path]:
    """Inbox files not ingested yet, oldest first (names start with their UTC time)."""
    return sorted(inbox_dir(workspace).glob(PATTERN))


def ingest_inbox(ws: Workspace) -> int:
    """Load every pending inbox file into ``events`` and move it to ``inbox/done/``.

    Returns the number of events read. A file the ingest cannot read at all is moved to
    ``inbox/failed/`` with a warning, so it does not block every later run; bad rows of
    a readable file go to quarantine as in any ingest.
    """
    files = pending(ws.path)
    n = 0
    for path in files:
        try:
            results = ws.ingest("events", path, format="parquet")
        except LiucunError as e:
            dest = inbox_dir(ws.path) / "failed"
            warnings.warn(f"{path.name}: not ingested, moved to {dest}: {e}", stacklevel=2)
        else:
            n += sum(r.read for r in results if r.table == "events")
            dest = inbox_dir(ws.path) / "done"
        dest.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest / path.name)
    return n


# -- real-time recommendations ---------------------------------------------------------


def recommender_path(snap: Snapshot) -> Path | None:
    """The recommender the run ``snap`` used, as its run.json records it."""
    path = snap.run.get("outputs", {}).get("recommender")
    return Path(path) if path and Path(path).exists() else None


@dataclass
class Observed:
    updated: bool
    users: list[str]
    note: str | None = None


class LiveRecommender:
    """The run's recommender, fed real-time events; reset when a new run is served.

    Loaded lazily on the first event after a run (and then given the inbox's pending
    events, which the run has not seen). Customers with observed item events are
    ``changed``: their lists come from here until the next run.
    """

    def __init__(self, workspace: str | Path) -> None:
        self.workspace = Path(workspace)
        self._lock = threading.RLock()
        self._run_id: str | None = None
        self._model: Recommender | None = None
        self._loaded = False
        self._note: str | None = None
        self.changed: set[str] = set()

    def _weights(self) -> dict[str, float]:
        from liucun.recommending import DEFAULT_RECOMMEND_CONFIG

        cfg = config.load(self.workspace / "liucun.toml").get("recommend", {})
        w = {**DEFAULT_RECOMMEND_CONFIG["event_weights"], **cfg.get("event_weights", {})}
        return {k: float(v) for k, v in w.items() if float(v) > 0}

    def _sync(self, snap: Snapshot) -> None:
        if snap.run_id != self._run_id:
            self._run_id, self._model, self._loaded, self._note = snap.run_id, None, False, None
            self.changed = set()

    def _load(self, snap: Snapshot, skip: Path | None = None) -> Recommender | None:
        if self._loaded:
            return self._model
        from liucun.models.recommend import Recommender

        self._loaded = True
        path = recommender_path(snap)
        if path is None:
            self._note = f"run {snap.run_id} saved no recommender: recommendations not updated"
            return None
        try:
            self._model = Recommender.load(path)
        except Exception as e:  # a model file half-removed by a clean-up
            self._note = f"{path.name} cannot be loaded ({e}): recommendations not updated"
            return None
        self.weights = self._weights()
        for f in pending(self.workspace):  # events since the run, not in its model yet
            if skip is not None and f.name == skip.name:
                continue
            try:
                rows = pd.read_parquet(f, columns=["user_id", "event_type", "item_id"])
            except (OSError, ValueError):
                continue
            self._feed(rows.to_dict("records"))
        return self._model

    def _feed(self, events: Iterable[Mapping[str, Any]]) -> set[str]:
        assert self._model is not None
        users = set()
        for e in events:
            item, etype = _text(e.get("item_id")), e.get("event_type")
            if item is None or etype not in self.weights:
                continue
            user = str(e["user_id"])
            if self._model.observe(user, item, etype, self.weights[etype]):
                users.add(user)
        self.changed |= users
        return users

    def observe(
        self, snap: Snapshot, events: Iterable[Mapping[str, Any]], file: Path | None = None
    ) -> Observed:
        """Feed item events to the live model (of the run ``snap``); ``file`` is the inbox
        file they were written to (not replayed when this call loads the model)."""
        with self._lock:
            self._sync(snap)
            if self._load(snap, skip=file) is None:
                return Observed(False, [], self._note)
            users = self._feed(events)
            note = None if users else "no event on an item the recommender knows"
            return Observed(True, sorted(users), note)

    def recommend(self, snap: Snapshot, user_id: str, k: int) -> list[dict[str, Any]] | None:
        """The live list of a changed customer; None for the others (use the run's)."""
        with self._lock:
            self._sync(snap)
            if user_id not in self.changed or self._model is None:
                return None
            df = self._model.recommend([user_id], k)
        from liucun.serve.snapshot import _records

        return _records(df.drop(columns=["user_id"]))
