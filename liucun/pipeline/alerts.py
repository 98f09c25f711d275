"""Early warning: who crossed into the high-risk band since the previous run, and drift."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from liucun.evaluate.drift import DRIFT_FEATURES, PSI_WARNING, psi_table
from liucun.pipeline.run import run
from liucun.runs import RunResult, previous_run, read_output

if TYPE_CHECKING:
    from liucun.workspace import Workspace


@dataclass
class Alerts:
    run: RunResult
    previous: str | None
    alerts: pd.DataFrame
    drift: pd.DataFrame

    @property
    def drifted(self) -> list[str]:
        return list(self.drift.loc[self.drift["psi"] > PSI_WARNING, "feature"])


def alerts(
    ws: Workspace,
    as_of: str | dt.date | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> Alerts:
    """Runs the job as of ``as_of``; who crossed into the high band since the previous run.

    Value at risk = the customer's revenue of the last 365 days × p_churn. Feature drift
    between the two runs is the PSI of the main features.
    """
    res = run(ws, as_of, on_step=on_step)
    now = pd.read_parquet(res.outputs["scores"])
    feats = pd.read_parquet(res.outputs["features"])
    prev_dir = previous_run(ws, res.run_id)
    if prev_dir is None:
        was_high: set[str] = set()
        drift = pd.DataFrame(columns=["feature", "psi"])
    else:
        before = read_output(ws, "scores", prev_dir)
        was_high = set(before.loc[before["risk_band"] == "high", "user_id"])
        old = read_output(ws, "features", prev_dir)
        cols = [c for c in DRIFT_FEATURES if c in feats.columns and c in old.columns]
        drift = psi_table(old, feats, cols)
    crossed = now[(now["risk_band"] == "high") & ~now["user_id"].isin(was_high)].copy()
    spend = feats.set_index("user_id").get("revenue_365d")
    year = spend.reindex(crossed["user_id"]).fillna(0).to_numpy() if spend is not None else 0.0
    crossed["value_at_risk"] = year * crossed["p_churn"].to_numpy()
    crossed = crossed.sort_values(["value_at_risk", "p_churn"], ascending=False, kind="stable")
    cols = ["user_id", "p_churn", "value_at_risk", "clv_365d", "segment", "lifecycle_stage"]
    crossed = crossed[[*cols, "reasons"]].reset_index(drop=True)
    run_dir = Path(res.run_dir)
    crossed.to_parquet(run_dir / "alerts.parquet", index=False)
    drift.to_parquet(run_dir / "drift.parquet", index=False)
    return Alerts(res, prev_dir.name if prev_dir else None, crossed, drift)
