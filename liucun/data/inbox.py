"""Real-time event intake files: an inbox of Parquet files under the workspace.

DuckDB has one writer, and a daily run may hold it for minutes, so a request never
writes to the warehouse. ``POST /api/events`` validates the events and writes them as one
Parquet file in ``<workspace>/inbox/`` (temp name, fsync, ``os.replace``: a reader sees a
whole file or none). The next ``liucun run`` loads pending files first through the
ordinary idempotent ingest (:func:`ingest_inbox`) and moves them to ``inbox/done/``; a
crash between the two only re-ingests a file, which adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from liucun import config
from liucun.errors import LiucunError
from liucun.schema import EVENT_TYPES

if TYPE_CHECKING:
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


def text_or_none(v: Any) -> str | None:
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
        user = text_or_none(e.get("user_id"))
        if user is None:
            problems.append((i, "user_id", "missing"))
        etype = (text_or_none(e.get("event_type")) or "").lower()
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
                "item_id": text_or_none(e.get("item_id")),
                "session_id": text_or_none(e.get("session_id")),
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
