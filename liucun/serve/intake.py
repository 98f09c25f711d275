"""The live recommender: the run's fitted recommender fed real-time events.

Recommendations react at once: :class:`LiveRecommender` holds the run's fitted
recommender and feeds it each item event (``Recommender.observe``); a customer with
events since the run gets their next list from it instead of the run's table. The events
themselves are written durably by :mod:`liucun.data.inbox`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun import config
from liucun.data.inbox import pending, text_or_none
from liucun.models.recommend import Recommender
from liucun.outputs import records
from liucun.tasks.recommend import DEFAULT_RECOMMEND_CONFIG

if TYPE_CHECKING:
    from liucun.models.recommend import Recommender
    from liucun.serve.snapshot import Snapshot


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
            item, etype = text_or_none(e.get("item_id")), e.get("event_type")
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

        return records(df.drop(columns=["user_id"]))
