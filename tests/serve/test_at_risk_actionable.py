"""The at-risk list to act on (issue 19), over a small hand-made run (no simulation, so the
file runs in seconds): prospects and customers gone for good are left out by default and
come back with their filters, the rest are ranked by value at stake (p_churn × 365-day
CLV) with recent buyers last, and the API, the dashboard page, its CSV and the report all
show that same list.
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from liucun.decide import at_risk
from liucun.report import churn_section, workspace_report
from liucun.serve.app import create_app
from liucun.serve.keys import KeyStore
from liucun.serve.snapshot import Snapshots

RUN_ID = "20250301T000000000000Z"
RAISES = "no order for 94 days — 3.1× longer than usual: raises risk"
LOWERS = "ordered twice in the last 30 days: lowers risk"
# id: (stage, p_churn, clv_365d, days since the last order, segment)
CUSTOMERS = {
    "p1": ("prospect", 0.99, 900.0, np.nan, "Prospects"),
    "p2": ("prospect", 0.98, 850.0, np.nan, "Prospects"),
    "g1": ("churned", 0.97, 800.0, 400.0, "Lost"),
    "champ": ("active", 0.50, 2000.0, 2.0, "Champions"),  # the largest stake, bought 2 days ago
    "a1": ("at-risk", 0.80, 500.0, 60.0, "At Risk"),
    "a2": ("dormant", 0.90, 300.0, 100.0, "At Risk"),
    "a3": ("active", 0.30, 1000.0, 40.0, "Champions"),
    "a4": ("new", 0.60, 100.0, 20.0, "New"),
    "a5": ("at-risk", 0.70, np.nan, 70.0, "At Risk"),
}
# The default list: value at stake first (a1 400, a3 300, a2 270, a4 60, a5 0), then the
# customers who ordered in the last RECENT_DAYS days (champ, 1,000 at stake).
DEFAULT = ["a1", "a3", "a2", "a4", "a5", "champ"]


def _band(p: float) -> str:
    return "high" if p >= 0.7 else "medium" if p >= 0.4 else "low"


def _frames() -> dict[str, pd.DataFrame]:
    ids = list(CUSTOMERS)
    stage, p, clv, days, segment = (list(x) for x in zip(*CUSTOMERS.values(), strict=True))
    scores = pd.DataFrame(
        {
            "user_id": ids,
            "p_churn": p,
            "expected_orders": 1.0,
            "expected_revenue": 100.0,
            "segment": segment,
            "lifecycle_stage": stage,
            "reasons": [f"{RAISES}; {LOWERS}"] * len(ids),
            "risk_band": [_band(x) for x in p],
            "next_order_date": pd.NaT,
            "clv_365d": clv,
        }
    )
    customers = pd.DataFrame(
        {
            "user_id": ids,
            "orders_total": [0 if s == "prospect" else 3 for s in stage],
            "revenue_total": 100.0,
            "recency_days": days,
            "segment": segment,
            "lifecycle_stage": stage,
        }
    )
    plan = pd.DataFrame(
        {
            "user_id": ["a1", "a2", "p1"],
            "action": ["coupon_pct", "control", "coupon_pct"],
            "expected_uplift": [12.5, 3.0, 40.0],
            "cost": [2.0, 0.0, 2.0],
        }
    )
    return {"scores": scores, "customers": customers, "plan": plan}


def _write(path: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """A workspace at ``path`` holding one run of ``frames``."""
    run_dir = path / "runs" / RUN_ID
    run_dir.mkdir(parents=True)
    for name, df in frames.items():
        df.to_parquet(run_dir / f"{name}.parquet", index=False)
    run = {"run_id": RUN_ID, "as_of": "2025-03-01", "stats": {}, "outputs": {}}
    (run_dir / "run.json").write_text(json.dumps(run), "utf-8")
    (path / "runs" / "latest.json").write_text(json.dumps({"run_id": RUN_ID}), "utf-8")
    return path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A workspace holding the hand-made run, and a key: (path, key)."""
    path = _write(tmp_path_factory.mktemp("actionable") / "ws", _frames())
    return path, KeyStore(path).create("actionable")


@pytest.fixture(scope="module")
def client(shop: tuple[Path, str]) -> TestClient:
    app = create_app(shop[0])
    app.state.snapshots = Snapshots(shop[0], check_seconds=0)
    c = TestClient(app)
    c.headers["Authorization"] = f"Bearer {shop[1]}"
    return c


def _ids(frames: dict[str, pd.DataFrame], f: at_risk.Filters) -> list[str]:
    s = frames["scores"]
    return list(s["user_id"].to_numpy()[at_risk.order(s, frames["customers"], f)])


# -- the shared logic ----------------------------------------------------------------------


def test_default_list_leaves_out_prospects_and_the_gone_and_ranks_by_value_at_stake() -> None:
    frames = _frames()
    assert _ids(frames, at_risk.Filters()) == DEFAULT
    # Each filter brings its group back, ranked by value at stake with the others.
    assert _ids(frames, at_risk.Filters(prospects=True)) == ["p1", "p2", *DEFAULT]
    assert _ids(frames, at_risk.Filters(gone=True)) == ["g1", *DEFAULT]
    both = _ids(frames, at_risk.Filters(prospects=True, gone=True))
    assert both == ["p1", "p2", "g1", *DEFAULT]
    # The band and segment filters still apply.
    assert _ids(frames, at_risk.Filters(band="high")) == ["a1", "a2", "a5"]
    assert _ids(frames, at_risk.Filters(segment="Champions")) == ["a3", "champ"]


def test_value_at_stake_is_p_churn_times_clv() -> None:
    s = _frames()["scores"]
    want = s["p_churn"] * s["clv_365d"].fillna(0)
    np.testing.assert_allclose(at_risk.value_at_risk(s), want.to_numpy())
    # Without the recent buyers, the list is in descending value at stake.
    frames = _frames()
    rows = at_risk.rows(
        s,
        frames["customers"],
        frames["plan"],
        at_risk.order(s, frames["customers"], at_risk.Filters()),
    )
    older = rows[rows["days_since_order"] > at_risk.RECENT_DAYS]
    assert older["value_at_risk"].is_monotonic_decreasing
    assert rows["value_at_risk"].iloc[-1] == pytest.approx(1000.0)  # champ, last


def test_rows_carry_the_plan_and_days_since_the_order() -> None:
    frames = _frames()
    s = frames["scores"]
    rows = at_risk.rows(
        s,
        frames["customers"],
        frames["plan"],
        at_risk.order(s, frames["customers"], at_risk.Filters()),
    )
    by = rows.set_index("user_id")
    assert by.at["a1", "action"] == "coupon_pct" and by.at["a1", "expected_uplift"] == 12.5
    assert by.at["a2", "action"] == "control"
    assert pd.isna(by.at["a3", "action"]) and pd.isna(by.at["a3", "expected_uplift"])
    assert by.at["a2", "days_since_order"] == 100.0 and by.at["champ", "days_since_order"] == 2.0


def test_left_out_counts_each_group_within_the_other_filters() -> None:
    frames = _frames()
    s, c = frames["scores"], frames["customers"]
    assert at_risk.left_out(s, c, at_risk.Filters()) == {"prospects": 2, "gone": 1}
    assert at_risk.left_out(s, c, at_risk.Filters(prospects=True)) == {"prospects": 0, "gone": 1}
    assert at_risk.left_out(s, c, at_risk.Filters(segment="Lost")) == {"prospects": 0, "gone": 1}


def test_without_a_lifecycle_stage_the_customers_recency_decides() -> None:
    """An old run: no order on record is a prospect; none for over a year is gone."""
    frames = _frames()
    frames["scores"] = frames["scores"].drop(columns="lifecycle_stage")
    frames["customers"] = frames["customers"].drop(columns="lifecycle_stage")
    assert _ids(frames, at_risk.Filters()) == DEFAULT
    assert set(_ids(frames, at_risk.Filters(prospects=True, gone=True))) == set(CUSTOMERS)


# -- the API -------------------------------------------------------------------------------


def test_api_serves_the_actionable_list_by_default(client: TestClient) -> None:
    def ids(**params: str) -> list[str]:
        r = client.get("/api/at-risk", params=params)
        assert r.status_code == 200, r.text
        return [x["user_id"] for x in r.json()["customers"]]

    assert ids() == DEFAULT
    assert ids(include_prospects="true") == ["p1", "p2", *DEFAULT]
    assert ids(include_gone="true") == ["g1", *DEFAULT]
    assert ids(include_prospects="true", include_gone="true", limit="3") == ["p1", "p2", "g1"]
    assert ids(offset="4", limit="10") == DEFAULT[4:]
    rows = client.get("/api/at-risk").json()["customers"]
    a1 = rows[0]
    assert a1["action"] == "coupon_pct" and a1["expected_uplift"] == 12.5
    assert a1["value_at_risk"] == pytest.approx(400.0) and a1["days_since_order"] == 60.0
    assert a1["reasons"] == f"{RAISES}; {LOWERS}"


def test_api_filters_are_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/at-risk"]["get"]["parameters"]}
    for name in ("include_prospects", "include_gone"):
        assert params[name]["schema"]["type"] == "boolean"
        assert params[name]["schema"].get("default") is False
        assert "left out by default" in params[name]["description"]
    assert "never ordered" in params["include_prospects"]["description"]
    assert "churned" in params["include_gone"]["description"]


# -- the dashboard page and its CSV ----------------------------------------------------------


def _rows(page: str) -> list[tuple[str, str]]:
    """(user_id, lifecycle stage) of each row of the at-risk table."""
    return re.findall(r'<tr data-band="[^"]*" data-stage="([^"]*)">.*?/customers/([^"]+)"', page)


def test_page_shows_the_actionable_list_and_brings_groups_back(client: TestClient) -> None:
    page = client.get("/at-risk").text
    assert [uid for _, uid in _rows(page)] == DEFAULT
    assert not {"prospect", "churned"} & {stage for stage, _ in _rows(page)}
    note = re.search(r'<p class="muted" id="left-out">(.*?)</p>', page, re.S)
    assert note and "never ordered (2)" in note.group(1) and "gone for good (1:" in note.group(1)
    assert "Tick a box above" in note.group(1)
    assert 'name="include_prospects" value="1" >' in page  # not ticked
    # Reasons are split into one item each, with their direction.
    cell = re.search(r'<td class="reasons">(.*?)</td>', page, re.S)
    assert cell and re.findall(r"<span>([^<]*)</span>", html.unescape(cell.group(1))) == [
        RAISES,
        LOWERS,
    ]

    back = client.get("/at-risk?include_prospects=1").text
    assert [uid for _, uid in _rows(back)] == ["p1", "p2", *DEFAULT]
    assert 'name="include_prospects" value="1" checked>' in back
    assert "include_prospects=1" in re.search(r'href="(/at-risk\.csv[^"]*)"', back).group(1)
    note = re.search(r'id="left-out">(.*?)</p>', back, re.S)
    assert note and "never ordered (0)" in note.group(1) and "gone for good (1:" in note.group(1)
    everyone = client.get("/at-risk?include_prospects=1&include_gone=1").text
    assert len(_rows(everyone)) == len(CUSTOMERS) and 'id="left-out"' not in everyone


def test_csv_follows_the_filters(client: TestClient) -> None:
    default = pd.read_csv(io.StringIO(client.get("/at-risk.csv").text))
    assert list(default["user_id"]) == DEFAULT
    assert {"days_since_order", "expected_uplift"} <= set(default.columns)
    gone = pd.read_csv(io.StringIO(client.get("/at-risk.csv?include_gone=1").text))
    assert list(gone["user_id"]) == ["g1", *DEFAULT]


# -- the reports -----------------------------------------------------------------------------


def test_report_at_risk_table_is_the_actionable_list(shop: tuple[Path, str], tmp_path: Path):
    out = workspace_report(SimpleNamespace(path=shop[0]), tmp_path / "report.html")
    text = out.read_text("utf-8")
    i = text.index("At-risk customers (top 50)")
    block = text[i : text.index("</table>", i)]
    rows = re.findall(r"<tr><td>([^<]*)</td>", block)
    assert rows == DEFAULT
    assert "never ordered (2)" in text and "gone for good (1:" in text
    assert "Tick a box" not in text  # the report has no boxes
    assert html.escape(RAISES) in block or RAISES in block


def test_report_says_nothing_is_left_out_only_when_so(tmp_path: Path) -> None:
    frames = _frames()
    keep = frames["scores"]["user_id"].isin(DEFAULT)
    frames = {k: df[df["user_id"].isin(DEFAULT)] if k != "plan" else df for k, df in frames.items()}
    assert keep.sum() == len(DEFAULT)
    path = _write(tmp_path / "ws", frames)
    text = workspace_report(SimpleNamespace(path=path), tmp_path / "r.html").read_text("utf-8")
    assert "At-risk customers (top 50)" in text and "gone for good" not in text


def test_demo_report_lists_high_risk_customers_to_act_on() -> None:
    section = churn_section(_frames()["scores"])
    listed = re.findall(r"<tr><td>([^<]*)</td>", section)
    # High band only, without prospects or the gone; no customers frame: no recency tier.
    assert listed == ["a1", "a2", "a5"]


def test_high_risk_kpi_counts_customers_to_act_on() -> None:
    """The dashboard's "High-risk customers" counts those the list holds; the high-risk
    prospects (p1, p2) and the customer gone for good (g1) are counted apart."""
    from liucun.pipeline.aggregates import frame_aggregates

    f = _frames()
    k = frame_aggregates(f["customers"], f["scores"], f["plan"])["kpis"]
    assert k["high_risk"] == 3  # a1, a2, a5 (p_churn ≥ 0.7, neither prospect nor gone)
    assert k["high_risk_prospects"] == 2 and k["high_risk_gone"] == 1
    band = at_risk.Filters(band="high")
    assert k["high_risk"] == len(at_risk.order(f["scores"], f["customers"], band))
