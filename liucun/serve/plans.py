"""The campaign plans the API has computed, kept per served run and parameters.

A plan fits uplift models and takes from seconds to minutes (23-28 s on CDNOW), and the
answer for one run and one set of parameters does not change: a repeated
``POST /api/campaigns/plan`` is answered from here. The key holds the run, the
parameters and the workspace's settings (a changed ``liucun.toml`` plans again); a new
run is a new key, and the least recently used plans go past ``[serve] plan_cache_size``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from liucun import config


def settings_digest(workspace: Path) -> str:
    """A digest of the workspace's settings as loaded (a missing file is the defaults)."""
    cfg = config.load(Path(workspace) / "liucun.toml")
    text = json.dumps(cfg, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class PlanCache:
    """The ``size`` most recently used plans, by key; safe across threads."""

    def __init__(self, size: int) -> None:
        self.size = max(0, int(size))
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, workspace: Path, run_id: str, *params: Any) -> tuple[Any, ...]:
        return (run_id, *params, settings_digest(workspace))

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            got = self._items.get(key)
            if got is not None:
                self._items.move_to_end(key)
            return got

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
