"""The daily run's demand stage (issue 20) on a tiny simulated retail shop: item, category
and shop forecasts over ``[forecast] horizon`` days, stock alerts from the same forecast
(not a second one), elasticities, and notes rather than a failed run where a part has no
data to work from."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import liucun
import liucun.pipeline.demand as stage
from liucun.decide.inventory import OUTPUT_COLUMNS as INVENTORY_COLUMNS
from liucun.pipeline.run import run
from liucun.runs import RunResult
from liucun.serve import demand, i18n
from liucun.serve.snapshot import Snapshot
from liucun.tasks.pricing import OUTPUT_COLUMNS as PRICING_COLUMNS

SIM = {"users": 300, "days": 150, "holdout_days": 0, "seed": 1, "scenario": "retail"}
AS_OF = dt.date(2024, 5, 1)
HORIZON = 14
TABLES = ("users", "items", "orders", "order_items")
# Only the stages this file is about: the others have their own tests.
TOML = f"""[forecast]
horizon = {HORIZON}
[recommend]
in_run = false
[reviews]
in_run = false
[risk]
in_run = false
[plan]
in_run = false
"""


Ran = tuple[RunResult, list[int]]  # the run, and the horizons the forecast was fitted at


@pytest.fixture(scope="module")
def src(simulated: Callable[..., Path]) -> Path:
    return simulated(**SIM)


def _workspace(src: Path, path: Path, tables: tuple[str, ...]) -> Path:
    path.mkdir(parents=True)
    (path / "liucun.toml").write_text(TOML, encoding="utf-8")
    with liucun.Workspace(path) as ws:
        for t in tables:
            ws.ingest(t, src / f"{t}.parquet")
    return path


@pytest.fixture(scope="module")
def retail_run(src: Path, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """The run of a shop with stock snapshots, and the horizons the forecast was fitted at."""
    path = _workspace(src, tmp_path_factory.mktemp("demand") / "ws", (*TABLES, "inventory"))
    fits: list[int] = []
    real = stage.forecast_levels

    def counted(ws: liucun.Workspace, day: dt.date, horizon: int, *args: Any) -> Any:
        fits.append(horizon)
        return real(ws, day, horizon, *args)

    mp = pytest.MonkeyPatch()
    mp.setattr(stage, "forecast_levels", counted)
    try:
        with liucun.Workspace(path) as ws:
            res = run(ws, AS_OF)
    finally:
        mp.undo()
    return res, fits


def _stage_only(ws: liucun.Workspace, run_dir: Path) -> RunResult:
    """The demand stage alone, into ``run_dir`` (the other stages do not feed it)."""
    run_dir.mkdir()
    res = RunResult("test", AS_OF.isoformat(), str(run_dir))
    stage.demand_stage(ws, AS_OF, res, lambda step: None)
    return res


def test_run_writes_forecasts_for_the_configured_horizon(retail_run: Ran) -> None:
    res, _ = retail_run
    days = {(AS_OF + dt.timedelta(days=i)).isoformat() for i in range(HORIZON)}
    items = pd.read_parquet(res.outputs["forecast_items"])
    cats = pd.read_parquet(res.outputs["forecast_categories"])
    shop = pd.read_parquet(res.outputs["forecast_shop"])
    assert list(items.columns) == ["item_id", "date", "forecast", "lo", "hi"]
    assert list(cats.columns) == ["category", "date", "forecast", "lo", "hi"]
    assert list(shop.columns) == ["date", "forecast", "lo", "hi"]
    for f in (items, cats, shop):
        assert set(f["date"]) == days
        assert (f[["forecast", "lo", "hi"]] >= 0).all().all()
        assert (f["lo"] <= f["forecast"] + 1e-9).all() and (f["hi"] >= f["forecast"] - 1e-9).all()
    assert items.groupby("item_id").size().eq(HORIZON).all()
    # Categories and the shop are sums of the items (bottom up).
    assert cats["forecast"].sum() == pytest.approx(items["forecast"].sum(), rel=1e-9)
    assert shop["forecast"].sum() == pytest.approx(items["forecast"].sum(), rel=1e-9)
    st = json.loads((Path(res.run_dir) / "run.json").read_text("utf-8"))["stats"]
    assert st["demand"]["forecast"]["horizon"] == HORIZON
    assert st["demand"]["forecast"]["items"] == items["item_id"].nunique()


def test_stock_alerts_come_from_the_same_forecast(retail_run: Ran, src: Path) -> None:
    res, fits = retail_run
    assert len(fits) == 1  # one fit for forecasts and stock alerts
    # ... reaching as far as inventory reads ahead ([inventory] horizon_days, 90)
    assert fits[0] >= 90 > HORIZON
    inv = pd.read_parquet(res.outputs["inventory"])
    assert list(inv.columns[: len(INVENTORY_COLUMNS)]) == INVENTORY_COLUMNS
    snaps = pd.read_parquet(src / "inventory.parquet")
    before = snaps[snaps["ts"] < pd.Timestamp(AS_OF, tz="UTC")]
    assert sorted(inv["item_id"]) == sorted(before["item_id"].astype(str).unique())
    assert set(inv["alert"]) <= {"stockout_risk", "overstock", "ok"}
    st = json.loads((Path(res.run_dir) / "run.json").read_text("utf-8"))["stats"]
    assert st["demand"]["inventory"]["items"] == len(inv)
    assert "no stock alerts" not in st["demand_note"]


def test_pricing_is_written_with_its_notes(retail_run: Ran) -> None:
    res, _ = retail_run
    p = pd.read_parquet(res.outputs["pricing"])
    assert list(p.columns) == PRICING_COLUMNS
    assert (p["level"] == "category").any()
    thin = p[p["n_price_changes"] < 5]
    assert thin["elasticity"].isna().all()
    assert thin["note"].str.contains("not enough price variation").all()


def test_parts_without_data_leave_notes_not_failures(src: Path, tmp_path: Path) -> None:
    """No inventory table rows: forecasts and pricing, and a note saying how to get alerts;
    orders without their lines (no units sold): a note for each part, the rest of the
    run as always."""
    path = _workspace(src, tmp_path / "nostock", TABLES)
    with liucun.Workspace(path) as ws:
        res = _stage_only(ws, tmp_path / "nostock-run")
    assert "forecast_items" in res.outputs and "pricing" in res.outputs
    assert "inventory" not in res.outputs
    [note] = res.stats["demand"]["notes"]
    assert note.startswith("no stock alerts: ") and "liucun ingest inventory" in note
    assert not (Path(res.run_dir) / "inventory.parquet").exists()

    path = _workspace(src, tmp_path / "nolines", ("users", "orders"))
    with liucun.Workspace(path) as ws:
        res = run(ws, AS_OF)
    assert "customers" in res.outputs
    assert not any(n in res.outputs for n in ("forecast_items", "inventory", "pricing"))
    note = res.stats["demand_note"]
    assert "no forecast: no orders before 2024-05-01" in note
    assert "no stock alerts" in note and "no elasticities" in note


def test_the_stage_can_be_turned_off(src: Path, tmp_path: Path) -> None:
    path = _workspace(src, tmp_path / "off", TABLES)
    toml = TOML.replace(f"horizon = {HORIZON}", "in_run = false")
    (path / "liucun.toml").write_text(toml, encoding="utf-8")
    with liucun.Workspace(path) as ws:
        res = _stage_only(ws, tmp_path / "off-run")
    assert not res.outputs
    assert res.stats["demand"]["notes"] == ["demand stage off ([forecast] in_run = false)"]


def test_the_page_and_the_report_read_the_run(retail_run: Ran) -> None:
    """The served shapes over the real outputs: every alert of the file listed in order,
    the shop's series charted, the report's three tables."""
    res, _ = retail_run
    snap = Snapshot.load(Path(res.run_dir))
    data = demand.page_data(snap, None, alert_rows=10_000)
    inv = pd.read_parquet(res.outputs["inventory"])
    flagged = inv[inv["alert"] != "ok"]
    assert sorted(a["item_id"] for a in data["alerts"]) == sorted(flagged["item_id"])
    ranks = [0 if a["alert"] == "stockout_risk" else 1 for a in data["alerts"]]
    assert ranks == sorted(ranks)
    shop = pd.read_parquet(res.outputs["forecast_shop"])
    assert [p["forecast"] for p in data["points"]] == list(shop["forecast"])
    assert data["horizon"] == HORIZON and data["interval"] == 0.8
    t = i18n.strings("en")
    titles = [p[0] for p in demand.report_parts(snap, t)]
    assert titles == [t.forecast_by_category, t.stock_title, t.prices_title]
