"""The churn horizon read from the shop's own repeat gaps, and where it shows (issue 19).

A hand-made shop has known gaps between repeat orders: 30 customers come back every 20
days, 10 every 60 days, 5 heavy buyers every 3 days (40 gaps each), 20 buy once. Weighing
each repeat buyer once, 78% of the weight lies at or below 20 days and the 90th
percentile is 60 days: 9 weeks, 63 days (pooling the gaps instead would let the heavy
buyers pull it to 20). Then: ``--horizon`` and a number in liucun.toml win, ``plan`` keeps
90 days, later rows change nothing, and a daily run on a small simulated shop records the
horizon, writes ``p_convert`` for prospects only, and shows lift and calibration per
p_churn band on the model page.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import liucun
from liucun.cli import app as cli_app
from liucun.decide.horizon import choose_horizon, gap_counts
from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.pipeline.run import run
from liucun.serve.app import create_app
from liucun.serve.keys import KeyStore
from liucun.serve.snapshot import Snapshots
from liucun.tasks.campaigns import campaign_horizon
from liucun.tasks.plan import plan_config
from liucun.tasks.score import resolve_horizon, score_config

D = dt.date
START = D(2024, 1, 1)
AS_OF = D(2024, 6, 1)


def _orders(later: bool = False) -> pd.DataFrame:
    """The hand-made shop's orders; ``later`` adds rows on and after AS_OF that would
    move the horizon if they were read (long gaps, and many new slow repeat buyers)."""
    rows: list[tuple[str, pd.Timestamp]] = []

    def buy(user: str, day0: int, gaps: list[int]) -> None:
        t = pd.Timestamp(START) + pd.Timedelta(days=day0, hours=10)
        rows.append((user, t))
        for g in gaps:
            t = t + pd.Timedelta(days=g)
            rows.append((user, t))

    for i in range(30):
        buy(f"reg{i:02d}", i, [20, 20])
        rows.append((f"reg{i:02d}", pd.Timestamp(START) + pd.Timedelta(days=i, hours=15)))
    for i in range(10):
        buy(f"slow{i:02d}", i, [60, 60])
    for i in range(5):
        buy(f"heavy{i}", i, [3] * 40)
    for i in range(20):
        buy(f"once{i:02d}", 10 + i, [])
    if later:
        for i in range(30):  # a 200-day gap closes after AS_OF
            rows.append((f"reg{i:02d}", pd.Timestamp(AS_OF) + pd.Timedelta(days=100 + i)))
        for i in range(80):  # new customers returning every 150 days, all after AS_OF
            buy(f"late{i:02d}", (AS_OF - START).days + i % 7, [150])
    df = pd.DataFrame(rows, columns=["user_id", "ts"])
    df.insert(0, "order_id", [f"o{i:05d}" for i in range(len(df))])
    df["amount"] = 10.0
    return df


def _workspace(path: Path, orders: pd.DataFrame, toml: str | None = None) -> liucun.Workspace:
    ws = liucun.Workspace(path)
    if toml is not None:
        (ws.path / "liucun.toml").write_text(toml, encoding="utf-8")
    f = path / "orders.csv"
    orders.to_csv(f, index=False)
    ws.ingest("orders", f)
    return ws


def _set(ws: liucun.Workspace, text: str) -> None:
    (ws.path / "liucun.toml").write_text(text, encoding="utf-8")


# -- the rule ----------------------------------------------------------------------------


def test_horizon_from_known_gaps(tmp_path: Path) -> None:
    with _workspace(tmp_path / "w", _orders()) as ws:
        counts = gap_counts(workspace_tables(ws), AS_OF)
        choice = resolve_horizon(ws, AS_OF)
    # Day grain: the second order of the regulars' first day is no gap of 0 days.
    assert set(counts["gap_days"]) == {3, 20, 60}
    assert choice.source == "auto" and choice.repeat_buyers == 45
    assert choice.gaps == 30 * 2 + 10 * 2 + 5 * 40
    assert choice.gap_days == 60 and choice.days == 63 and "9 weeks" in choice.why
    # The 80th percentile of the same shop still sits at 60 (78% of buyers at ≤ 20 days),
    # the 70th at 20: 21 days. The quantile setting moves the horizon.
    assert choose_horizon(counts, quantile=0.7).days == 21


def test_bounds_and_the_fallback() -> None:
    def counts(gap: int, buyers: int) -> pd.DataFrame:
        return pd.DataFrame({"gap_days": [gap], "n": [1], "count": [buyers]})

    assert choose_horizon(counts(2, 100)).days == 14
    assert choose_horizon(counts(600, 100)).days == 365
    few = choose_horizon(counts(40, 29), fallback=75)
    assert few.source == "fallback" and few.days == 75 and "29 repeat buyers" in few.why
    assert choose_horizon(counts(40, 30)).days == 42
    empty = choose_horizon(counts(1, 1).iloc[:0])
    assert empty.source == "fallback" and empty.days == 90
    with pytest.raises(ValueError):
        choose_horizon(counts(40, 100), quantile=1.0)


# -- what wins ---------------------------------------------------------------------------


def test_an_explicit_horizon_wins(tmp_path: Path) -> None:
    with _workspace(tmp_path / "w", _orders()) as ws:
        default = (ws.path / "liucun.toml").read_text(encoding="utf-8")
        assert score_config(ws)["horizon"] == "auto"
        assert resolve_horizon(ws, AS_OF).days == 63
        # --horizon wins over everything.
        got = resolve_horizon(ws, AS_OF, 30)
        assert (got.days, got.source) == (30, "argument")
        # A number in liucun.toml wins over "auto", and --horizon over it.
        _set(ws, default.replace('horizon = "auto"', "horizon = 21"))
        got = resolve_horizon(ws, AS_OF)
        assert (got.days, got.source) == (21, "setting") and "[score] horizon = 21" in got.why
        assert resolve_horizon(ws, AS_OF, 45).days == 45
        # "auto" falls back on horizon_days when too few customers came back.
        _set(ws, default.replace("horizon_min_repeat_buyers = 30", "horizon_min_repeat_buyers = 46")
             .replace("horizon_days = 90", "horizon_days = 70"))  # fmt: skip
        got = resolve_horizon(ws, AS_OF)
        assert (got.days, got.source) == (70, "fallback")
        # A liucun.toml from before "auto": a horizon_days chosen by hand stays fixed; the
        # 90 every such file was created with reads as "auto".
        _set(ws, "[score]\nhorizon_days = 45\n")
        got = resolve_horizon(ws, AS_OF)
        assert (got.days, got.source) == (45, "setting") and "horizon_days" in got.why
        _set(ws, "[score]\nhorizon_days = 90\n")
        assert resolve_horizon(ws, AS_OF).source == "auto"
        _set(ws, '[score]\nhorizon = "soon"\n')
        with pytest.raises(LiucunError, match='expected "auto" or a whole number'):
            resolve_horizon(ws, AS_OF)
        _set(ws, "[score]\nhorizon = 0\n")
        with pytest.raises(LiucunError, match="horizon = 0"):
            resolve_horizon(ws, AS_OF)


def test_plan_keeps_its_own_90_days(tmp_path: Path) -> None:
    with _workspace(tmp_path / "w", _orders()) as ws:
        default = (ws.path / "liucun.toml").read_text(encoding="utf-8")
        for text in (default, default.replace('horizon = "auto"', "horizon = 21")):
            _set(ws, text)
            assert resolve_horizon(ws, AS_OF).days in (63, 21)
            assert plan_config(ws)["horizon_days"] == 90
            assert campaign_horizon(ws) == 90


# -- point in time -----------------------------------------------------------------------


def test_later_rows_do_not_change_the_auto_horizon(tmp_path: Path) -> None:
    with (
        _workspace(tmp_path / "cut", _orders()) as cut,
        _workspace(tmp_path / "all", _orders(later=True)) as whole,
    ):
        a, b = resolve_horizon(cut, AS_OF), resolve_horizon(whole, AS_OF)
        assert a == b and a.days == 63
        # The later rows do count once they lie before the date: a different horizon.
        later = resolve_horizon(whole, AS_OF + dt.timedelta(days=400))
        assert later.days != a.days and later.repeat_buyers > a.repeat_buyers


# -- the daily run on a small simulated shop ---------------------------------------------

RUN_START = D(2024, 1, 1)
RUN_DAYS = 240
RUN_AS_OF = RUN_START + dt.timedelta(days=RUN_DAYS)
# Stages this test does not look at, off (each replacement must find its setting).
FAST = {
    "very large shops).\nin_run = true": "very large shops).\nin_run = false",
    "[reviews]\nin_run = true": "[reviews]\nin_run = false",
    "[risk]\nin_run = true": "[risk]\nin_run = false",
    "exclude_from_coupons = true": "exclude_from_coupons = false",
}


@pytest.fixture(scope="module")
def ran(simulated_workspace: Callable[..., Path]) -> tuple[Path, str]:
    """A run of an 800-customer shop without campaigns (the plan is a first test)."""
    tables = ("users", "items", "orders", "order_items", "events")
    path = simulated_workspace(
        tables, users=800, days=RUN_DAYS, holdout_days=0, seed=4, start=RUN_START
    )
    toml = path / "liucun.toml"
    text = toml.read_text(encoding="utf-8")
    for old, new in FAST.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    toml.write_text(text, encoding="utf-8")
    with liucun.Workspace(path) as ws:
        res = run(ws, RUN_AS_OF)
    return path, res.run_id


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_run_records_the_horizon_and_plan_keeps_90(ran: tuple[Path, str]) -> None:
    path, run_id = ran
    stats = _json(path / "runs" / run_id / "run.json")["stats"]
    hz = stats["horizon_choice"]
    with liucun.Workspace(path) as ws:
        want = resolve_horizon(ws, RUN_AS_OF)
    assert hz["source"] == "auto" and hz["days"] == stats["horizon"] == want.days
    assert hz["days"] % 7 == 0 and f"-h{hz['days']}-" in stats["models"]
    assert stats["plan"]["horizon_days"] == 90 != stats["horizon"]
    dash = _json(path / "runs" / run_id / "dashboard.json")
    assert dash["horizon"] == hz and dash["model"]["plan"]["horizon"] == hz["days"]


def test_p_convert_for_prospects_only(ran: tuple[Path, str]) -> None:
    path, run_id = ran
    scores = pd.read_parquet(path / "runs" / run_id / "scores.parquet")
    features = pd.read_parquet(path / "runs" / run_id / "features.parquet")
    never = features.set_index("user_id")["orders_total"].reindex(scores["user_id"]) == 0
    assert 50 < never.sum() < len(scores)
    pc = scores["p_convert"]
    assert pc.notna().to_numpy().tolist() == never.to_numpy().tolist()
    assert pc.dropna().between(0, 1).all() and pc.dropna().std() > 0
    p = scores["p_churn"].to_numpy(float)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    conv = _json(path / "runs" / run_id / "run.json")["stats"]["convert"]
    assert conv["prospects"] == never.sum()
    assert conv["expected_conversions"] == pytest.approx(pc.sum())
    kpis = _json(path / "runs" / run_id / "dashboard.json")["kpis"]
    assert kpis["prospects"] == never.sum()


def test_model_health_per_band(ran: tuple[Path, str]) -> None:
    path, run_id = ran
    val = _json(path / "runs" / run_id / "dashboard.json")["model"]["validation"]
    dec, bands = val["deciles"], val["bands"]
    assert [r["band"] for r in dec] == list(range(1, 11))
    assert (
        sum(r["customers"] for r in dec) == val["customers"] == sum(r["customers"] for r in bands)
    )
    # The bands partition the validation customers: their churn rates average to the
    # overall rate, and lift is each band's rate over it.
    n = val["customers"]
    for table in (dec, bands):
        assert sum(r["churn_rate"] * r["customers"] for r in table) / n == pytest.approx(
            val["churn_rate"]
        )
        for r in table:
            assert r["lift"] == pytest.approx(r["churn_rate"] / val["churn_rate"])
    # Ranked highest first: the top tenth is predicted and churns more than the bottom.
    assert dec[0]["p_mean"] >= dec[-1]["p_mean"] and dec[0]["lift"] > dec[-1]["lift"]
    assert {r["band"] for r in bands} <= {"high", "medium", "low"}
    assert f"churned {dec[0]['lift']:.1f}× as often as average" in val["headline"]


def test_model_page_shows_horizon_bands_and_p_convert(ran: tuple[Path, str]) -> None:
    path, run_id = ran
    app = create_app(path)
    app.state.snapshots = Snapshots(path, check_seconds=0)
    client = TestClient(app)
    key = {"Authorization": f"Bearer {KeyStore(path).create('horizon-tests')}"}
    dash = _json(path / "runs" / run_id / "dashboard.json")
    top = dash["model"]["validation"]["deciles"][0]
    en = client.get("/model?lang=en", headers=key)
    assert en.status_code == 200
    page = en.text
    assert "percentile of the days between repeat orders" in page
    assert f"churned {top['lift']:.1f}× as often as average" in page
    assert 'id="deciles"' in page and 'id="risk-bands"' in page and "top 0–10%" in page
    assert "Prospects: p_convert" in page and "who never ordered" in page
    zh = client.get("/model?lang=zh", headers=key).text
    assert "复购间隔天数" in zh and f"平均的 {top['lift']:.1f} 倍" in zh
    data = page.split('id="chart-data"')[1].split(">", 1)[1].split("</script>")[0]
    assert "band-rates" in {c["id"] for c in json.loads(data)}


def test_score_prints_how_the_horizon_was_chosen(ran: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = ran
    out = tmp_path / "scores.csv"
    res = CliRunner().invoke(
        cli_app, ["--workspace", str(path), "score", "--as-of", str(RUN_AS_OF), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "horizon: auto: 90th percentile of the days between repeat orders" in res.output
    assert "p_convert for" in res.output and "reused" in res.output
    df = pd.read_csv(out)
    assert "p_convert" in df.columns and df["p_convert"].notna().any()
