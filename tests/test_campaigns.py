"""Campaign read-outs, test sizes and plan exports: API and `liucun campaign` commands.

One simulated shop (1,500 customers, 200 days, seed 5; monthly randomised campaigns) is
loaded once for the module. The read-out's no-time-travel property is checked against a
second workspace whose orders at or after ``as_of`` were rewritten.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import liucun
from liucun.cli import app
from liucun.decide.experiments import READOUT_COLUMNS
from liucun.decide.first_test import first_test
from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.features.readouts import campaign_frame
from liucun.models.nba import Action
from liucun.tasks.campaigns import export_plan, list_campaigns, plan_size, readout, record_plan

START = dt.date(2024, 1, 1)
CAMPAIGN = "cmp-202405"  # sent 2024-05-05; every action has a control group of 8+
SENT = dt.date(2024, 5, 5)
AS_OF = dt.date(2024, 7, 19)  # the day after the data
PLANNED = dt.date(2024, 5, 20)  # the cold-start shop's first test
HORIZON = 30
TABLES = ("users", "orders", "treatments")
runner = CliRunner()


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> Path:
    return simulated_workspace(TABLES, users=1500, days=200, holdout_days=0, seed=5, start=START)


@pytest.fixture(scope="module")
def complete(shop: Path):
    with liucun.Workspace(shop) as ws:
        return readout(ws, CAMPAIGN, AS_OF, horizon=HORIZON)


def test_readout_has_a_row_per_action_and_all(shop: Path, complete) -> None:
    r = complete
    with liucun.Workspace(shop) as ws:
        tr = ws.table("treatments").execute()
    mine = tr[tr["campaign_id"] == CAMPAIGN]
    actions = sorted(mine["action"].astype(str).unique())
    assert list(r.table.index) == [*actions, "all"]
    assert set(READOUT_COLUMNS) <= set(r.table.columns)
    assert r.complete and r.window_days == HORIZON and r.start == SENT
    assert r.contacts == len(mine)
    t = r.table
    assert t.loc["all", "n_treatment"] + t.loc["all", "n_control"] == len(mine)
    assert t.drop(index="all")[["n_treatment", "n_control"]].sum().sum() == len(mine)
    for lo, mid, hi in (
        ("ci_low", "lift", "ci_high"),
        ("cuped_ci_low", "cuped_lift", "cuped_ci_high"),
    ):
        assert np.isfinite(t[[lo, mid, hi]].to_numpy()).all()
        assert (t[lo] <= t[mid]).all() and (t[mid] <= t[hi]).all()
    assert t["p_value"].between(0, 1).all()
    # cost = contact cost + discounts of the treated; incremental revenue = lift × n_t.
    assert np.allclose(t["cost"], t["contact_cost"] + t["discount"])
    assert np.allclose(t["incremental_revenue"], t["lift"] * t["n_treatment"])
    ok = t["cost"] > 0
    roi = (t["incremental_revenue"] - t["cost"]) / t["cost"]
    assert np.allclose(t.loc[ok, "roi"], roi[ok])


def test_campaign_frame_windows_match_pandas(shop: Path) -> None:
    with liucun.Workspace(shop) as ws:
        f = campaign_frame(workspace_tables(ws), CAMPAIGN, AS_OF, HORIZON)
        o = ws.table("orders").execute()
    o["ts"] = pd.to_datetime(o["ts"]).dt.tz_localize(None)
    paid = o[o["status"] == "paid"]
    day = pd.Timestamp(SENT)
    after = paid[(paid["ts"] >= day) & (paid["ts"] < day + pd.Timedelta(days=HORIZON))]
    before = paid[(paid["ts"] >= day - pd.Timedelta(days=HORIZON)) & (paid["ts"] < day)]
    rev = after.groupby("user_id", observed=True)["amount"].sum()
    pre = before.groupby("user_id", observed=True)["amount"].sum()
    disc = after.groupby("user_id", observed=True)["discount"].sum()
    assert (f["day"] == day).all()
    assert np.allclose(f["revenue"], f["user_id"].map(rev).fillna(0.0))
    assert np.allclose(f["pre_revenue"], f["user_id"].map(pre).fillna(0.0))
    assert np.allclose(f["discount"], f["user_id"].map(disc).fillna(0.0))
    assert f["revenue"].sum() > 0 and f["pre_revenue"].sum() > 0


def test_readout_does_not_look_past_as_of(shop: Path, complete, tmp_path: Path) -> None:
    """As of a day inside the window, rewriting every later order changes nothing."""
    cut = SENT + dt.timedelta(days=12)
    with liucun.Workspace(shop) as ws:
        early = readout(ws, CAMPAIGN, cut, horizon=HORIZON)
        orders = ws.table("orders").execute()
        treatments = ws.table("treatments").execute()
    assert not early.complete and early.window_days == 12
    assert early.notes and "12 of 30 days" in early.notes[0]
    assert not early.table.equals(complete.table)

    orders["ts"] = pd.to_datetime(orders["ts"]).dt.tz_localize(None)  # naive = UTC
    late = orders["ts"] >= pd.Timestamp(cut)
    assert late.any()
    changed = orders.copy()
    changed.loc[late, "amount"] = changed.loc[late, "amount"] * 7 + 1
    changed.loc[late, "discount"] = 50.0
    changed = changed[~(late & (np.arange(len(changed)) % 3 == 0))]  # drop some later orders
    # a big later order for every contacted customer
    mine = treatments.loc[treatments["campaign_id"] == CAMPAIGN, "user_id"].astype(str)
    extra = pd.DataFrame(
        {
            "order_id": [f"x{i}" for i in range(len(mine))],
            "user_id": mine.to_numpy(),
            "ts": pd.Timestamp(cut),
            "amount": 999.0,
            "status": "paid",
            "discount": 9.0,
        }
    )
    cols = ["order_id", "user_id", "ts", "amount", "status", "discount"]
    changed = pd.concat([changed[cols].astype({"user_id": str}), extra], ignore_index=True)
    src = tmp_path / "src"
    src.mkdir()
    changed.to_parquet(src / "orders.parquet", index=False)
    cols_t = ["user_id", "ts", "campaign_id", "action", "arm", "cost"]
    treatments[cols_t].astype({"user_id": str}).to_parquet(src / "treatments.parquet")
    with liucun.Workspace(tmp_path / "ws2") as ws2:
        ws2.ingest("orders", src / "orders.parquet")
        ws2.ingest("treatments", src / "treatments.parquet")
        other = readout(ws2, CAMPAIGN, cut, horizon=HORIZON)
        later = readout(ws2, CAMPAIGN, AS_OF, horizon=HORIZON)
    pd.testing.assert_frame_equal(early.table, other.table)
    assert not later.table.equals(complete.table)  # the rewrite is visible later on


def test_unknown_and_future_campaigns_are_one_line_errors(shop: Path) -> None:
    with liucun.Workspace(shop) as ws:
        with pytest.raises(LiucunError, match=r"no campaign 'nope'.*cmp-2024"):
            readout(ws, "nope", AS_OF)
        with pytest.raises(LiucunError, match="starts on 2024-07-05"):
            readout(ws, "cmp-202407", dt.date(2024, 7, 5))
        with pytest.raises(LiucunError, match="horizon"):
            readout(ws, CAMPAIGN, AS_OF, horizon=0)


def test_small_control_arms_get_nan_rows_not_errors(shop: Path) -> None:
    with liucun.Workspace(shop) as ws:
        cl = list_campaigns(ws)
        r = readout(ws, "cmp-202401", AS_OF, horizon=HORIZON)
    assert list(cl["campaign_id"])[:2] == ["cmp-202407", "cmp-202406"]
    assert (cl["treated"] + cl["control"] == cl["contacts"]).all()
    per_action = r.table.drop(index="all")
    small = per_action.index[per_action["n_control"] < 2]
    assert len(small)  # seed 5: one action of the first campaign held out one customer
    assert r.table.loc[small, "lift"].isna().all()
    assert any("no read-out" in n for n in r.notes)
    assert math.isfinite(r.table.loc["all", "lift"])


def test_plan_size() -> None:
    s = plan_size(0.10, 0.02)
    assert s["n_treatment"] == s["n_control"] == 3841
    assert s["mde_at_n"] == pytest.approx(0.02, abs=1e-3)
    s = plan_size(0.10, 0.02, control_share=0.1, n=5000)
    assert s["n_treatment"] > 8 * s["n_control"] and s["mde_at_n"] > 0.02
    with pytest.raises(LiucunError):
        plan_size(1.5, 0.02)


# ---------------------------------------------------------------------------- export


def _plan(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    plan = pd.DataFrame(
        {
            "user_id": ["007", "u2", "u3", "u4", "u5"],
            "action": ["coupon_fixed", "control", "reco_push", "coupon_fixed", "control"],
            "expected_uplift": [12.5, 0.0, 3.0, 8.0, 0.0],
            "cost": [10.05, 0.0, 0.01, 10.05, 0.0],
            "p_churn": [0.7, 0.5, 0.4, 0.9, 0.2],
            "segment": ["at risk"] * 5,
            "reason": ["r"] * 5,
        }
    )
    plan.to_csv(folder / "plan.csv", index=False)
    return folder / "plan.csv"


def test_export_csv_and_json(tmp_path: Path) -> None:
    plan = _plan(tmp_path / "p")
    path, n = export_plan(plan, "csv", tmp_path / "out.csv", campaign_id="spring")
    df = pd.read_csv(path, dtype={"user_id": str})
    assert n == len(df) == 3 and "control" not in set(df["action"])
    assert df["user_id"].iloc[0] == "007"  # ids stay text
    assert (df["campaign_id"] == "spring").all() and (df["arm"] == "treatment").all()
    path, n = export_plan(plan, "json", tmp_path / "all.json", include_control=True)
    recs = json.loads(path.read_text(encoding="utf-8"))
    assert n == len(recs) == 5
    assert sum(r["arm"] == "control" for r in recs) == 2
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert {r["campaign_id"] for r in recs} == {f"plan-{today}"}
    with pytest.raises(LiucunError, match="--format"):
        export_plan(plan, "xml", tmp_path / "x.xml")
    with pytest.raises(LiucunError, match="no such plan"):
        export_plan(tmp_path / "missing.csv", "csv", tmp_path / "x.csv")


def test_export_latest_joins_messages(tmp_path: Path) -> None:
    with liucun.Workspace(tmp_path / "ws") as ws:
        run_dir = ws.path / "runs" / "20240719T000000000000Z"
        plan = pd.read_csv(_plan(run_dir), dtype={"user_id": str})
        plan.to_parquet(run_dir / "plan.parquet", index=False)
        (run_dir / "run.json").write_text(json.dumps({"as_of": "2024-07-19"}))
        (ws.path / "runs" / "latest.json").write_text(json.dumps({"run_id": run_dir.name}))
        pd.DataFrame(
            {
                "user_id": ["007", "u3"],
                "action": ["coupon_fixed", "reco_push"],
                "language": ["zh", "en"],
                "subject": ["送您一张优惠券", "Picked for you"],
                "body": ["满100减10", "New arrivals"],
                "source": ["template", "template"],
            }
        ).to_parquet(run_dir / "messages.parquet", index=False)
        path, n = export_plan("latest", "json", tmp_path / "m.json", ws=ws)
    text = path.read_text(encoding="utf-8")
    assert "送您一张优惠券" in text  # UTF-8, not \\u escapes
    recs = {r["user_id"]: r for r in json.loads(text)}
    assert n == 3 and set(recs) == {"007", "u3", "u4"}
    assert recs["007"]["subject"] == "送您一张优惠券" and recs["007"]["language"] == "zh"
    assert recs["u4"]["subject"] is None
    assert recs["u3"]["campaign_id"] == "plan-2024-07-19"


def test_record_plan_stores_every_row_once(tmp_path: Path) -> None:
    """A plan without ``planned`` / ``contact_cost``: control rows are recorded as
    ``control``, treated rows cost what ``[plan.actions]`` says a contact costs."""
    plan = _plan(tmp_path / "20240719T000000000000Z")
    (plan.parent / "run.json").write_text(json.dumps({"as_of": "2024-07-19"}))
    with liucun.Workspace(tmp_path / "ws") as ws:
        rec = record_plan(ws, plan, "spring")
        again = record_plan(ws, plan, "spring")
        tr = ws.table("treatments").execute()
        actions = ws.config["plan"]["actions"]
        left = list((ws.path / "tmp").iterdir())
    assert rec.rows == 5 and rec.control == 2 and rec.day == dt.date(2024, 7, 19)
    assert (rec.result.loaded, rec.result.duplicates) == (5, 0)
    assert (again.result.loaded, again.result.duplicates, again.result.updated) == (0, 5, 0)
    assert not left  # the temporary file is gone
    assert len(tr) == 5 and (tr["campaign_id"] == "spring").all()
    assert (pd.to_datetime(tr["ts"]).dt.strftime("%Y-%m-%d %H:%M") == "2024-07-19 00:00").all()
    tr = tr.set_index("user_id")
    assert list(tr.loc[["u2", "u5"], "arm"]) == ["control", "control"]
    assert list(tr.loc[["u2", "u5"], "action"]) == ["control", "control"]
    assert list(tr.loc[["u2", "u5"], "cost"]) == [0.0, 0.0]
    for uid, action in (("007", "coupon_fixed"), ("u3", "reco_push")):
        assert tr.loc[uid, "arm"] == "treatment" and tr.loc[uid, "action"] == action
        assert tr.loc[uid, "cost"] == pytest.approx(actions[action]["contact_cost"])
        # the plan's cost (contact + expected discount) is not what treatments records
    assert tr.loc["007", "cost"] < 10.05


@pytest.fixture(scope="module")
def cold_plan(simulated_workspace: Callable[..., Path]) -> tuple[Path, Path, dict]:
    """A shop without campaign history (users and orders only) and its first test, saved
    as the plan of a run dated PLANNED."""
    path = simulated_workspace(
        ("users", "orders"), users=1500, days=200, holdout_days=0, seed=5, start=START
    )
    with liucun.Workspace(path) as ws:
        users = ws.table("users").execute()[["user_id"]].astype(str)
        orders = ws.table("orders").execute()
    orders["ts"] = pd.to_datetime(orders["ts"]).dt.tz_localize(None)
    paid = orders[(orders["status"] == "paid") & (orders["ts"] < pd.Timestamp(PLANNED))]
    aov = paid.astype({"user_id": str}).groupby("user_id")["amount"].mean()
    users["aov"] = users["user_id"].map(aov)
    catalog = {
        "coupon_fixed": Action("coupon_fixed", "fixed", contact_cost=0.05, discount=10.0),
        "reco_push": Action("reco_push", "message", contact_cost=0.01),
    }
    plan, summary = first_test(
        users, catalog, 400.0, 0.1, mde=None, control_share=0.5, seed=3, max_share=0.8
    )
    run_dir = path / "runs" / "20240520T000000000000Z"
    run_dir.mkdir(parents=True)
    plan.to_parquet(run_dir / "plan.parquet", index=False)
    (run_dir / "run.json").write_text(json.dumps({"as_of": PLANNED.isoformat()}))
    (path / "runs" / "latest.json").write_text(json.dumps({"run_id": run_dir.name}))
    return path, run_dir / "plan.parquet", summary


def test_cli_export_records_the_campaign_once(cold_plan, tmp_path: Path) -> None:
    path, plan_file, summary = cold_plan
    plan = pd.read_parquet(plan_file)
    w = ["--workspace", str(path)]
    out = tmp_path / "contacts.csv"
    export = ["campaign", "export", "latest", "--out", str(out), "--campaign-id", "first"]
    for new, old in ((len(plan), 0), (0, len(plan))):  # exporting twice adds nothing
        r = runner.invoke(app, [*w, *export])
        assert r.exit_code == 0, r.output
        text = " ".join(r.output.split())  # rich wraps long lines
        assert f"{new:,} new, {old:,} already recorded" in text
    written = pd.read_csv(out, dtype={"user_id": str})
    assert len(written) == (plan["action"] != "control").sum()  # the file: no hold-out
    r = runner.invoke(app, [*w, *export[:-1], "dry", "--no-record"])
    assert r.exit_code == 0 and "recorded" not in r.output

    with liucun.Workspace(path) as ws:
        tr = ws.table("treatments").execute()
        cl = list_campaigns(ws)
    assert list(cl["campaign_id"]) == ["first"]  # the dry run recorded nothing
    assert len(tr) == len(plan) and not tr.duplicated(["user_id", "action"]).any()
    got = tr.astype({"user_id": str}).set_index("user_id").sort_index()
    want = plan.set_index("user_id").sort_index()
    assert list(got.index) == list(want.index)
    assert (got["action"] == want["planned"]).all()  # control rows under their arm's action
    assert (got["arm"] == np.where(want["action"] == "control", "control", "treatment")).all()
    assert np.allclose(got["cost"], want["contact_cost"])

    r = runner.invoke(
        app, [*w, "campaign", "readout", "first", "--as-of", AS_OF.isoformat(), "--horizon", "30"]
    )
    assert r.exit_code == 0, r.output
    assert "window complete" in r.output and "reco_push" in r.output
    with liucun.Workspace(path) as ws:
        ro = readout(ws, "first", AS_OF, horizon=30)
    assert ro.start == PLANNED and ro.contacts == len(plan)
    for action, arm in summary["arms"].items():
        assert ro.table.loc[action, "n_treatment"] == arm["n_treatment"]
        assert ro.table.loc[action, "n_control"] == arm["n_control"]


# ---------------------------------------------------------------------------- CLI


def test_cli_campaign_commands(shop: Path, tmp_path: Path) -> None:
    w = ["--workspace", str(shop)]
    r = runner.invoke(app, [*w, "campaign", "list"])
    assert r.exit_code == 0, r.output
    assert "campaigns" in r.output and "contacts" in r.output

    out = tmp_path / "readout.csv"
    args = ["campaign", "readout", CAMPAIGN, "--as-of", AS_OF.isoformat()]
    r = runner.invoke(app, [*w, *args, "--horizon", str(HORIZON), "--out", str(out)])
    assert r.exit_code == 0, r.output
    for text in ("all", "ROI", "CUPED", "p-value", "window complete", "wrote 5 rows"):
        assert text in r.output
    table = pd.read_csv(out)
    assert list(table["action"])[-1] == "all" and (table["campaign_id"] == CAMPAIGN).all()

    r = runner.invoke(app, [*w, "campaign", "readout", CAMPAIGN, "--as-of", "2024-05-10"])
    assert r.exit_code == 0 and "window incomplete" in r.output

    r = runner.invoke(app, [*w, "campaign", "readout", "nope", "--as-of", AS_OF.isoformat()])
    assert r.exit_code != 0 and isinstance(r.exception, LiucunError)

    plan = _plan(tmp_path / "p")
    dest = tmp_path / "contacts.json"
    with liucun.Workspace(shop) as ws:
        before = len(ws.table("treatments").execute())
    export = ["campaign", "export", str(plan), "--format", "json", "--out", str(dest)]
    r = runner.invoke(app, [*w, *export, "--no-record"])
    assert r.exit_code == 0, r.output
    assert "wrote 3 contacts" in r.output and len(json.loads(dest.read_text())) == 3
    assert "recorded" not in r.output
    with liucun.Workspace(shop) as ws:  # a dry run leaves the shop's campaigns alone
        assert len(ws.table("treatments").execute()) == before

    r = runner.invoke(app, ["campaign", "size", "--baseline-rate", "0.1", "--mde", "0.02"])
    assert r.exit_code == 0, r.output
    assert "3,841" in r.output and "minimum detectable effect" in r.output


def test_cli_export_of_an_empty_plan_records_nothing_and_succeeds(tmp_path: Path) -> None:
    """A plan that contacts nobody (no action showed a gain) exports as an empty list."""
    plan_file = tmp_path / "plan.csv"
    pd.DataFrame(columns=["user_id", "action", "expected_uplift", "cost"]).to_csv(
        plan_file, index=False
    )
    out = tmp_path / "contacts.csv"
    r = runner.invoke(
        app,
        ["--workspace", str(tmp_path / "ws"), "campaign", "export", str(plan_file), "--out",
         str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "nothing recorded" in r.output
    with liucun.Workspace(tmp_path / "ws") as ws:
        assert ws.warehouse.count("treatments") == 0
