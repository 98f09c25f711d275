"""Simulated shops shared by the simulator tests: each is simulated once per test session.

- ``sim20k``: 20,000 customers, 365 days of history and a 90-day holdout, seed 7 (about
  6 s): the stylised facts and the truth-consistency checks need this many customers for
  their sampling error to be small next to the effects they look for.
- ``sim_small``: 2,000 customers, 120 days, a 30-day holdout, seed 3 (under a second):
  layout, columns, time windows and ingest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from liucun.sim import SimResult, simulate

TABLES = ("users", "items", "events", "orders", "order_items", "reviews", "treatments")
ID_COLUMNS = ("user_id", "item_id", "order_id", "session_id")


@dataclass
class SimRun:
    """One simulated shop on disk, with cached readers for its files."""

    path: Path
    result: SimResult
    _cache: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(dt.date.fromisoformat(self.result.start), tz="UTC")

    @property
    def cut(self) -> pd.Timestamp:
        """Day D at 00:00 UTC: the first instant of the holdout."""
        return self.start + pd.Timedelta(days=self.result.days)

    @property
    def end(self) -> pd.Timestamp:
        """Day D + H at 00:00 UTC: the first instant after the holdout."""
        return self.cut + pd.Timedelta(days=self.result.holdout_days)

    def day(self, date: dt.date) -> int:
        """The day index (0 = start) of a calendar date."""
        return (date - dt.date.fromisoformat(self.result.start)).days

    def _read(self, file: Path, columns: tuple[str, ...] | None) -> pd.DataFrame:
        key = (str(file), *(columns or ()))
        if key not in self._cache:
            df = pd.read_parquet(file, columns=list(columns) if columns else None)
            for c in ID_COLUMNS:  # ids are text; the files dictionary-encode some of them
                if c in df.columns:
                    df[c] = df[c].astype(object).where(df[c].notna(), None)
            if "event_type" in df.columns:
                df["event_type"] = df["event_type"].astype(str)
            self._cache[key] = df
        return self._cache[key].copy()

    def history(self, table: str, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
        """A canonical file of days [start, D)."""
        return self._read(self.path / f"{table}.parquet", columns)

    def holdout(self, table: str, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
        """A canonical file of days [D, D + H) from ``truth/holdout``."""
        return self._read(self.path / "truth" / "holdout" / f"{table}.parquet", columns)

    def truth(self, name: str) -> pd.DataFrame:
        """``truth/<name>.parquet``."""
        return self._read(self.path / "truth" / f"{name}.parquet", None)


def _run(root: Path, **kw: object) -> SimRun:
    return SimRun(root, simulate(root, **kw))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sim20k(tmp_path_factory: pytest.TempPathFactory) -> SimRun:
    root = tmp_path_factory.mktemp("sim20k")
    return _run(root, users=20_000, days=365, holdout_days=90, seed=7)


@pytest.fixture(scope="session")
def sim_small(tmp_path_factory: pytest.TempPathFactory) -> SimRun:
    root = tmp_path_factory.mktemp("sim_small")
    return _run(root, users=2_000, days=120, holdout_days=30, seed=3)
