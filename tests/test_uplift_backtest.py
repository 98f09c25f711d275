"""Uplift backtest on held-out campaigns: API, no leakage, report and `liucun backtest uplift`.

One simulated shop (2,000 customers, 330 days, seed 7; randomised campaigns on the 5th of
every month) is loaded once for the module and backtested once with a 60-day horizon:
campaigns up to 2024-09 have a complete outcome window by as_of, cmp-202409 is held out,
and training may only use contacts up to 60 days before 2024-09-05.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import liucun
from liucun.backtests.pages import uplift_report as write_report
from liucun.backtests.uplift import (
    DECILE_COLUMNS,
    MODELS,
    OUTCOMES,
    TABLE_COLUMNS,
    backtest_uplift,
    split_contacts,
)
from liucun.cli import app
from liucun.errors import LiucunError
from liucun.tasks import plan as planning

START = dt.date(2024, 1, 1)
AS_OF = START + dt.timedelta(days=330)  # 2024-11-26, the day after the data
HORIZON = 60
TABLES = ("users", "orders", "treatments")
runner = CliRunner()


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> Path:
    return simulated_workspace(TABLES, users=2000, days=330, holdout_days=0, seed=7, start=START)


@pytest.fixture(scope="module")
def result(shop: Path):
    with liucun.Workspace(shop) as ws:
        return backtest_uplift(ws, AS_OF, horizon=HORIZON)


def test_table_has_every_model_action_and_outcome(shop: Path, result) -> None:
    bt = result
    with liucun.Workspace(shop) as ws:
        actions = sorted(ws.table("treatments").execute()["action"].astype(str).unique())
    t = bt.table
    assert list(t.columns) == list(TABLE_COLUMNS)
    assert len(t) == len(MODELS) * len(actions) * len(OUTCOMES)
    got = set(zip(t["model"], t["action"], t["outcome"], strict=True))
    assert got == {(m, a, o) for m in MODELS for a in actions for o in OUTCOMES}
    for c in ("qini", "auuc", "auuc_random", "observed_uplift", "top_decile_uplift"):
        assert np.isfinite(t[c].to_numpy(dtype=float)).all(), c
    # The control group is shared: every row of an outcome has the same n_control.
    assert t["n_control"].nunique() == 1 and (t["n_treatment"] > 0).all()
    # A random ranking's AUUC is half the observed effect (ties interpolated exactly).
    assert np.allclose(t["auuc_random"], t["observed_uplift"] / 2)
    assert bt.test_campaigns == ["cmp-202409"]
    assert bt.train_campaigns[0] == "cmp-202401" and "cmp-202409" not in bt.train_campaigns
    assert set(bt.outcome) == set(OUTCOMES)


def test_counts_match_the_held_out_campaign(shop: Path, result) -> None:
    with liucun.Workspace(shop) as ws:
        tr = ws.table("treatments").execute()
    held = tr[tr["campaign_id"] == "cmp-202409"]
    n_c = int((held["arm"] == "control").sum())
    t = result.table
    assert (t["n_control"] <= n_c).all() and t["n_control"].iloc[0] >= 10
    per_action = held[held["arm"] == "treatment"].groupby("action").size()
    for r in t.itertuples():
        assert r.n_treatment <= per_action[r.action]
    assert result.test_contacts <= len(held)


def test_no_leakage_into_the_test_period(shop: Path, result) -> None:
    with liucun.Workspace(shop) as ws:
        from liucun.engines import workspace_tables

        rows = planning.training_rows(workspace_tables(ws), AS_OF, HORIZON, 14)
    train, test, start = split_contacts(rows, HORIZON, 1)
    assert start.date() == result.first_test_day == dt.date(2024, 9, 5)
    ends = pd.to_datetime(train["day"]) + pd.Timedelta(days=HORIZON)
    assert (ends <= start).all()
    assert (pd.to_datetime(test["day"]) >= start).all()
    key = ["user_id", "campaign_id"]
    assert train.merge(test[key], on=key).empty
    assert set(test["campaign_id"]) == {"cmp-202409"}
    assert len(train) == result.train_contacts and len(test) == result.test_contacts
    # Campaigns whose outcome window overlaps the test period are used by neither side.
    assert "cmp-202408" not in set(train["campaign_id"]) | set(test["campaign_id"])
    assert sorted(train["campaign_id"].unique()) == result.train_campaigns
    # The planner's own fit (planning.fit) saw exactly these contacts, nothing later.
    assert result.planner["contacts"] == len(train)
    assert result.planner["campaigns"] == train["campaign_id"].nunique()


def test_split_rejects_nothing_to_train_on() -> None:
    rows = pd.DataFrame(
        {
            "campaign_id": ["a", "a", "b"],
            "day": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-01-20"]),
        }
    )
    with pytest.raises(LiucunError, match="ends by"):
        split_contacts(rows, 30, 1)
    with pytest.raises(LiucunError, match="leaves none"):
        split_contacts(rows, 30, 2)
    train, test, _ = split_contacts(rows, 10, 1)
    assert len(train) == 2 and len(test) == 1


def test_deciles(result) -> None:
    d = result.deciles
    assert list(d.columns) == list(DECILE_COLUMNS)
    sizes = d.groupby(["model", "action", "outcome"]).size()
    assert len(sizes) == len(result.table) and (sizes == 10).all()
    for _, part in d.groupby(["model", "action", "outcome"]):
        assert list(part["decile"]) == list(range(1, 11))
        # Decile 1 holds the highest predictions (non-increasing up to rounding: a
        # prediction the evidence flattened to one value differs in the last bits).
        assert (part["predicted_mean"].diff().dropna() <= 1e-9).all()
        n = part["n_treatment"] + part["n_control"]
        assert n.max() - n.min() <= 1
    top = d[d["decile"] == 1].set_index(["model", "action", "outcome"])["observed_uplift"]
    t = result.table.set_index(["model", "action", "outcome"])["top_decile_uplift"]
    assert np.allclose(t.loc[top.index], top, equal_nan=True)


def test_report(result, tmp_path: Path) -> None:
    path = write_report(result, tmp_path / "uplift.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and "<svg" in text
    assert text.count("<svg") == len(result.curves) == 4 * len(OUTCOMES)
    for m in MODELS:
        assert m in text
    js = write_report(result, tmp_path / "uplift.json")
    assert '"table"' in js.read_text(encoding="utf-8")
    with pytest.raises(LiucunError):
        write_report(result, tmp_path / "uplift.csv")


def test_cli(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    args = ["--workspace", str(shop), "backtest", "uplift", "--as-of", AS_OF.isoformat()]
    args += ["--horizon", str(HORIZON), "--holdout-campaigns", "2", "--out", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "uplift backtest" in r.output and "dr_learner" in r.output
    assert "cmp-202408" in r.output and "cmp-202409" in r.output
    assert "<svg" in out.read_text(encoding="utf-8")
    r = runner.invoke(app, ["--workspace", str(shop), "backtest", "nope"])
    assert r.exit_code != 0
