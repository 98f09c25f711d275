"""The daily run: warehouse → features → segments → outputs tagged with a run_id.

Each stage reads what the one before wrote (one direction). Outputs of a run live in
``runs/<run_id>/``; ``runs/latest.json`` names the newest, which the CLI and the API
serve from.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun.errors import LiucunError

if TYPE_CHECKING:
    from liucun.workspace import Workspace

STAGES = ("features", "segments")


@dataclass
class RunResult:
    run_id: str
    as_of: str
    run_dir: str
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def parse_as_of(value: str | dt.date | None, ws: Workspace) -> dt.date:
    """``--as-of``: a date; by default the day after the newest row in the warehouse."""
    if isinstance(value, dt.date):
        return value
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise LiucunError(f"--as-of {value}: expected a date YYYY-MM-DD") from None
    last = ws.warehouse.last_activity()
    if last is None:
        raise LiucunError("the warehouse is empty: ingest data first (see `liucun ingest`)")
    return last.date() + dt.timedelta(days=1)


def run(
    ws: Workspace,
    as_of: str | dt.date | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> RunResult:
    """Run every stage that exists as of ``as_of`` and write the run's outputs."""
    from liucun.features import feature_frame

    day = parse_as_of(as_of, ws)
    run_id = new_run_id()
    run_dir = ws.path / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    res = RunResult(run_id, day.isoformat(), str(run_dir))
    cfg = segments_config(ws)

    t0 = time.perf_counter()
    on_step(f"features as of {day}")
    features = feature_frame(ws, day)
    res.seconds["features"] = round(time.perf_counter() - t0, 3)
    _write(res, "features", features)

    t0 = time.perf_counter()
    on_step("segments, lifecycle stages, clusters, profiles")
    customers, summary, report = segment_customers(features, cfg)
    res.seconds["segments"] = round(time.perf_counter() - t0, 3)
    _write(res, "customers", customers)
    _write(res, "segments", summary)
    (run_dir / "clusters.json").write_text(
        json.dumps(report, indent=2, default=str), encoding="utf-8"
    )
    res.outputs["clusters"] = str(run_dir / "clusters.json")
    res.stats = {
        "customers": len(features),
        "features": len(features.columns) - 1,
        "segments": len(summary),
        "clusters": report.get("k"),
        "silhouette": report.get("silhouette"),
    }
    (run_dir / "run.json").write_text(json.dumps(asdict(res), indent=2), encoding="utf-8")
    (ws.path / "runs" / "latest.json").write_text(
        json.dumps({"run_id": run_id, "as_of": res.as_of}), encoding="utf-8"
    )
    return res


def _write(res: RunResult, name: str, df: pd.DataFrame) -> None:
    path = Path(res.run_dir) / f"{name}.parquet"
    df.to_parquet(path, index=False)
    res.outputs[name] = str(path)


def segments_config(ws: Workspace) -> dict[str, Any]:
    """``[segments]`` of liucun.toml over the defaults (a partial section is fine)."""
    from liucun.config import _merge
    from liucun.decide.segments import DEFAULT_SEGMENTS_CONFIG

    return _merge(DEFAULT_SEGMENTS_CONFIG, ws.config.get("segments", {}))


PROFILE_FACTS = ("orders_total", "revenue_total", "recency_days", "tenure_days", "top_category")


def segment_customers(
    features: pd.DataFrame, cfg: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(one row per customer with segment, stage, cluster, tags; segment table; cluster report)."""
    from liucun.decide import segments as seg

    rfm = seg.rfm(features, cfg)
    stage = seg.lifecycle(features, cfg)
    clusters, report = seg.clusters(features, cfg, seed=int(cfg.get("seed", 0)))
    facts = [c for c in PROFILE_FACTS if c in features.columns]
    out = (
        features[["user_id", *facts]]
        .merge(rfm, on="user_id", how="left")
        .merge(stage.rename("lifecycle_stage"), left_on="user_id", right_index=True, how="left")
        .merge(clusters, on="user_id", how="left")
    )
    context = features.merge(
        out[["user_id", "rfm_segment", "lifecycle_stage", "cluster_name"]], on="user_id", how="left"
    )
    thresholds = seg.tag_thresholds(features, cfg)
    out["tags"] = seg.tags(context, cfg, thresholds).map(", ".join).to_numpy()
    out = out.rename(columns={"rfm_segment": "segment"})
    return out, seg.segment_summary(features, rfm, cfg), report


def customer_profile(ws: Workspace, user_id: str) -> dict[str, Any]:
    """The customer 360 of ``user_id`` from the latest run."""
    from liucun.decide import segments as seg

    features = read_output(ws, "features")
    customers = read_output(ws, "customers").set_index("user_id")
    if user_id not in customers.index:
        raise LiucunError(f"no customer '{user_id}' in the latest run ({latest_run(ws).name})")
    cfg = segments_config(ws)
    row = features.loc[features["user_id"] == user_id].iloc[0]
    c = customers.loc[user_id]
    return seg.profile(
        row,
        {
            "r_score": c["r_score"],
            "f_score": c["f_score"],
            "m_score": c["m_score"],
            "rfm_segment": c["segment"],
        },
        c["lifecycle_stage"],
        c["cluster_name"],
        cfg,
        seg.tag_thresholds(features, cfg),
    )


def latest_run(ws: Workspace) -> Path:
    """The newest run's folder; one clear line if there is none."""
    pointer = ws.path / "runs" / "latest.json"
    if not pointer.exists():
        raise LiucunError(f"no run in {ws.path}: run `liucun run --as-of DATE` first")
    run_id = json.loads(pointer.read_text(encoding="utf-8"))["run_id"]
    return ws.path / "runs" / run_id


def read_output(ws: Workspace, name: str) -> pd.DataFrame:
    path = latest_run(ws) / f"{name}.parquet"
    if not path.exists():
        raise LiucunError(f"{path}: the latest run has no {name} output")
    return pd.read_parquet(path)
