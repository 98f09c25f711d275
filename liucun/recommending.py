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

from liucun.errors import LiucunError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from liucun.models.recommend import Recommender
    from liucun.workspace import Workspace

DEFAULT_RECOMMEND_CONFIG: dict[str, Any] = {
    "k": 10,
    "sources": ["popular", "trending", "itemknn", "als", "bpr", "transitions", "content"],
    "candidates": 30,
    "ranker": True,
    "max_per_category": 0,  # 0: no cap
    "blocked_items": [],
    "boost_items": {},
    "in_run": True,
    "seed": 0,
    "event_weights": {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0, "review": 4.0, "rate": 4.0},
}


def recommend_config(ws: Workspace) -> dict[str, Any]:
    from liucun.config import _merge

    return _merge(DEFAULT_RECOMMEND_CONFIG, ws.config.get("recommend", {}))


def build_recommender(cfg: Mapping[str, Any]) -> Recommender:
    from liucun.models.recommend import Recommender

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
    from liucun.features.interactions import consumed_frame, interaction_frame, item_frame

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
    from liucun.features import workspace_tables
    from liucun.models.recommend import Recommender

    cfg = recommend_config(ws)
    path = model_dir(ws, as_of, cfg)
    if (path / "meta.json").exists():
        on_step(f"reusing {path.name}")
        return Recommender.load(path), path, True
    rec = fit(workspace_tables(ws), as_of, cfg, on_step)
    rec.save(path)
    return rec, path, False


def known_users(tables: Mapping[str, ir.Table], as_of: dt.date) -> list[str]:
    from liucun.features.base import as_of_value, known_customers

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
) -> RecommendResult:
    """Top-k items per customer (every known customer unless ``users`` is given)."""
    from liucun.features import workspace_tables

    cfg = recommend_config(ws)
    k = int(k if k is not None else cfg["k"])
    if k < 1:
        raise LiucunError(f"--k {k}: must be at least 1")
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

BASELINES: dict[str, dict[str, Any]] = {
    "popular": {"sources": ["popular"], "ranker": False},
    "itemknn": {"sources": ["itemknn"], "ranker": False},
    "als": {"sources": ["als"], "ranker": False},
    "bpr": {"sources": ["bpr"], "ranker": False},
}


def backtest(
    tables: Mapping[str, ir.Table],
    cutoffs: Sequence[dt.date],
    horizon: int,
    cfg: Mapping[str, Any] | None = None,
    k: int = 10,
    on_step: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """At each cutoff: fit on what came before, judge on the next ``horizon`` days.

    Relevant items: what a customer bought, rated or reviewed in the window and had not
    consumed before the cutoff (what a shop would want to have recommended).
    """
    from liucun.evaluate.backtest import summarise_backtest
    from liucun.evaluate.ranking import ranking_metrics
    from liucun.features.interactions import consumed_frame, interaction_frame, item_frame

    cfg = {**DEFAULT_RECOMMEND_CONFIG, **(cfg or {})}
    rows_out: list[dict[str, Any]] = []
    items = item_frame(tables)
    for cut in sorted(cutoffs):
        end = cut + dt.timedelta(days=horizon)
        before = consumed_frame(tables, cut)
        after = consumed_frame(tables, end)
        seen = set(zip(before["user_id"], before["item_id"], strict=True))
        new = after[
            [(u, i) not in seen for u, i in zip(after["user_id"], after["item_id"], strict=True)]
        ]
        relevant: dict[str, set[str]] = {}
        for u, i in zip(new["user_id"].astype(str), new["item_id"].astype(str), strict=True):
            relevant.setdefault(u, set()).add(i)
        if not relevant:
            continue
        inter = interaction_frame(tables, cut, cfg["event_weights"])
        pop = inter.groupby("item_id")["user_id"].nunique()
        pop_share = (pop / pop.sum()).to_dict()
        cats = (
            dict(zip(items["item_id"].astype(str), items["top_category"], strict=True))
            if items is not None
            else None
        )
        users = sorted(relevant)
        models = {**BASELINES, "liucun": {}}
        for name, over in models.items():
            on_step(f"cutoff {cut}: {name}")
            t0 = time.perf_counter()
            rec = build_recommender({**cfg, **over}).fit(inter, items, before, pd.Timestamp(cut))
            out = rec.recommend(users, k)
            m = ranking_metrics(
                out,
                relevant,
                k,
                n_items=rec.data_.n_items,
                item_popularity=pop_share,
                item_category=cats,
            )
            rows_out.append(
                {
                    "cutoff": cut.isoformat(),
                    "model": name,
                    "seconds": round(time.perf_counter() - t0, 3),
                    **m,
                }
            )
    if not rows_out:
        raise LiucunError("no customer consumed a new item after any cutoff: nothing to judge")
    per = pd.DataFrame(rows_out)
    return {
        "horizon_days": horizon,
        "k": k,
        "cutoffs": [c.isoformat() for c in sorted(cutoffs)],
        "per_cutoff": per,
        "summary": summarise_backtest(rows_out),
    }
