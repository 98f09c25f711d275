"""Recommendations for a workspace as of a date: fit (or reuse), recommend, explain, backtest.

Reads the warehouse through the feature layer (interactions, consumed items, items,
known customers) — nothing at or after ``as_of`` — and hands pandas frames to
:class:`liucun.models.recommend.Recommender`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun import config
from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.features.base import as_of_value, known_customers
from liucun.features.interactions import consumed_frame, interaction_frame, item_frame
from liucun.models.recommend import Recommender

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from liucun.models.recommend import Recommender
    from liucun.workspace import Workspace

# ``[recommend]`` of the documented defaults (liucun.config.DEFAULT_TOML).
DEFAULT_RECOMMEND_CONFIG: dict[str, Any] = config.section("recommend")


def recommend_config(ws: Workspace) -> dict[str, Any]:
    """``[recommend]`` of liucun.toml over its documented defaults."""
    return config.section("recommend", ws.config)


def build_recommender(cfg: Mapping[str, Any]) -> Recommender:

    cap = int(cfg.get("max_per_category") or 0)
    return Recommender(
        sources=tuple(cfg["sources"]),
        source_params=cfg.get("source_params"),
        candidates=int(cfg["candidates"]),
        ranker=bool(cfg["ranker"]),
        max_per_category=cap or None,
        blocked_items=[str(i) for i in cfg.get("blocked_items", [])],
        boost_items={str(k): float(v) for k, v in dict(cfg.get("boost_items", {})).items()},
        seed=int(cfg.get("seed", 0)),
    )


def fit(
    tables: Mapping[str, ir.Table],
    as_of: dt.date,
    cfg: Mapping[str, Any] | None = None,
    on_step: Callable[[str], None] = lambda s: None,
) -> Recommender:
    """Fit the recommender on interactions before ``as_of``."""

    cfg = {**DEFAULT_RECOMMEND_CONFIG, **(cfg or {})}
    on_step(f"interactions before {as_of}")
    try:
        rows = interaction_frame(tables, as_of, cfg["event_weights"])
        consumed = consumed_frame(tables, as_of)
    except ValueError as e:
        raise LiucunError(f"recommendations need item interactions: {e}") from None
    if rows.empty:
        raise LiucunError(f"no item interactions before {as_of}: nothing to recommend from")
    items = item_frame(tables)
    on_step(f"recommenders on {len(rows):,} interactions")
    return build_recommender(cfg).fit(rows, items, consumed, pd.Timestamp(as_of))


def model_dir(ws: Workspace, as_of: dt.date, cfg: Mapping[str, Any]) -> Path:
    key = json.dumps({"state": ws.warehouse.fingerprint(), "cfg": cfg}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return ws.path / "models" / f"recs-{as_of.isoformat()}-{digest}"


def fitted(
    ws: Workspace, as_of: dt.date, on_step: Callable[[str], None] = lambda s: None
) -> tuple[Recommender, Path, bool]:
    """The recommender for ``as_of``: reused from the workspace when data and settings match."""

    cfg = recommend_config(ws)
    path = model_dir(ws, as_of, cfg)
    if (path / "meta.json").exists():
        on_step(f"reusing {path.name}")
        return Recommender.load(path), path, True
    rec = fit(workspace_tables(ws), as_of, cfg, on_step)
    rec.save(path)
    return rec, path, False


def known_users(tables: Mapping[str, ir.Table], as_of: dt.date) -> list[str]:

    users = known_customers(tables, as_of_value(as_of)).select("user_id").execute()["user_id"]
    return sorted(str(u) for u in users)


@dataclass
class RecommendResult:
    recommendations: pd.DataFrame
    model: Recommender
    model_path: Path
    reused: bool
    seconds: dict[str, float]


def recommend(
    ws: Workspace,
    as_of: dt.date,
    k: int | None = None,
    users: Sequence[str] | None = None,
    on_step: Callable[[str], None] = lambda s: None,
    known_only: bool = False,
) -> RecommendResult:
    """Top-k items per customer (every known customer unless ``users`` is given).

    ``known_only``: a given customer nobody knows as of ``as_of`` is an error (an explicit
    lookup, where a cold-start list would pass a typo off as an answer).
    """

    cfg = recommend_config(ws)
    k = int(k if k is not None else cfg["k"])
    if k < 1:
        raise LiucunError(f"--k {k}: must be at least 1")
    if known_only and users is not None:
        known = set(known_users(workspace_tables(ws), as_of))
        missing = [u for u in users if str(u) not in known]
        if missing:
            raise LiucunError(f"no customer {missing[0]!r} known as of {as_of}")
    t0 = time.perf_counter()
    rec, path, reused = fitted(ws, as_of, on_step)
    seconds = {"fit": round(time.perf_counter() - t0, 3)}
    if users is None:
        users = known_users(workspace_tables(ws), as_of)
    t0 = time.perf_counter()
    on_step(f"recommending for {len(users):,} customers")
    out = rec.recommend(list(users), k)
    seconds["recommend"] = round(time.perf_counter() - t0, 3)
    return RecommendResult(out, rec, path, reused, seconds)


def read_users(path: Path) -> list[str]:
    """A --users file: CSV/Parquet with a user_id column, or one id per line."""
    if not path.exists():
        raise LiucunError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        df = pd.read_parquet(path)
    elif path.suffix.lower() == ".csv":
        df = pd.read_csv(path, dtype=str)
    else:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        return [ln for ln in lines if ln]
    if "user_id" not in df.columns:
        raise LiucunError(f"{path}: no user_id column (columns: {', '.join(df.columns)})")
    return [str(u) for u in df["user_id"].dropna()]


# -- backtest --------------------------------------------------------------------------
