"""Where a person looks at demand (issue 20): the API's forecast, stock-alert and pricing
endpoints, the dashboard's Demand page and the report's section, all over one small
hand-made run (no simulation: the file runs in seconds), and what each says for a run
without those outputs."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from liucun.report import workspace_report
from liucun.serve.app import create_app
from liucun.serve.keys import KeyStore
from liucun.serve.snapshot import Snapshots

RUN_ID = "20250301T000000000000Z"
AS_OF = "2025-03-01"
DAYS = [f"2025-03-0{d}" for d in range(1, 5)]
HORIZON, INTERVAL = len(DAYS), 0.8
ITEMS = {"i1": ("Home/Kitchen", 2.0), "i2": ("Home/Kitchen", 0.5), "i3": ("Toys", 3.0)}
# item: (alert, on_hand, daily_demand, days_of_cover, order_qty, stockout_date)
STOCK = {
    "a": ("stockout_risk", 6, 2.0, 3.0, 20, "2025-03-04"),
    "b": ("stockout_risk", 1, 1.0, 1.0, 12, "2025-03-02"),
    "c": ("ok", 40, 2.0, 20.0, 0, None),
    "d": ("overstock", 500, 0.0, np.inf, 0, None),
    "e": ("stockout_risk", 30, 0.5, 60.0, 9, None),
    "f": ("overstock", 900, 5.0, 180.0, 0, None),
}
# Stock-out risk first, soonest out first (none in the horizon last), then overstock by
# days of cover.
ALERT_ORDER = ["b", "a", "e", "f", "d"]


def _series(level_key: str | None, key: str | None, base: float) -> pd.DataFrame:
    f = np.array([base * (1 + i / 10) for i in range(HORIZON)])
    df = pd.DataFrame({"date": DAYS, "forecast": f, "lo": f * 0.5, "hi": f * 1.6})
    if level_key:
        df.insert(0, level_key, key)
    return df


def _frames() -> dict[str, pd.DataFrame]:
    # Written days out of order: the API gives them by date.
    items = pd.concat([_series("item_id", i, b) for i, (_, b) in ITEMS.items()])
    items = items.iloc[::-1].reset_index(drop=True)
    cats: dict[str, float] = {}
    for c, b in ITEMS.values():
        cats[c] = cats.get(c, 0.0) + b
    categories = pd.concat([_series("category", c, b) for c, b in cats.items()])
    shop = _series(None, None, sum(cats.values()))
    inv = pd.DataFrame(
        [
            {
                "item_id": i,
                "on_hand": s[1],
                "daily_demand": s[2],
                "days_of_cover": s[3],
                "safety_stock": 1.0,
                "reorder_point": 5.0,
                "order_qty": s[4],
                "stockout_date": s[5],
                "alert": s[0],
            }
            for i, s in STOCK.items()
        ]
    )
    pricing = pd.DataFrame(
        {
            "level": ["category", "item", "category"],
            "category": ["Home/Kitchen", "Home/Kitchen", "Toys"],
            "item_id": [None, "i1", None],
            "elasticity": [-1.8, -2.2, np.nan],
            "lo": [-2.5, -3.0, np.nan],
            "hi": [-1.1, -1.4, np.nan],
            "n_price_changes": [12, 7, 2],
            "suggested_discount": [0.1, 0.15, 0.0],
            "note": ["", "", "not enough price variation"],
        }
    )
    return {
        "forecast_items": items,
        "forecast_categories": categories,
        "forecast_shop": shop,
        "inventory": inv,
        "pricing": pricing,
    }


def _write(path: Path, frames: dict[str, pd.DataFrame], stats: dict) -> Path:
    run_dir = path / "runs" / RUN_ID
    run_dir.mkdir(parents=True)
    for name, df in frames.items():
        df.to_parquet(run_dir / f"{name}.parquet", index=False)
    run = {"run_id": RUN_ID, "as_of": AS_OF, "stats": stats, "outputs": {}}
    (run_dir / "run.json").write_text(json.dumps(run), "utf-8")
    (path / "runs" / "latest.json").write_text(json.dumps({"run_id": RUN_ID}), "utf-8")
    return path


STATS = {"demand": {"forecast": {"horizon": HORIZON, "interval": INTERVAL}, "notes": []}}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = _write(tmp_path_factory.mktemp("demand") / "ws", _frames(), STATS)
    return path, KeyStore(path).create("demand")


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A run from before the demand stage (or of a shop without the data)."""
    scores = pd.DataFrame({"user_id": ["u1"], "p_churn": [0.5], "risk_band": ["medium"]})
    path = _write(tmp_path_factory.mktemp("bare") / "ws", {"scores": scores}, {})
    return path, KeyStore(path).create("bare")


def _client(shop: tuple[Path, str]) -> TestClient:
    app = create_app(shop[0])
    app.state.snapshots = Snapshots(shop[0], check_seconds=0)
    c = TestClient(app)
    c.headers["Authorization"] = f"Bearer {shop[1]}"
    return c


@pytest.fixture(scope="module")
def client(shop: tuple[Path, str]) -> TestClient:
    return _client(shop)


@pytest.fixture(scope="module")
def empty(bare: tuple[Path, str]) -> TestClient:
    return _client(bare)


def _expected(frame: str, key: str | None, value: str | None) -> list[dict]:
    df = _frames()[frame]
    if key:
        df = df[df[key] == value]
    return df.sort_values("date")[["date", "forecast", "lo", "hi"]].to_dict("records")


# -- API -------------------------------------------------------------------------------------


def test_forecast_of_an_item_a_category_and_the_shop(client: TestClient) -> None:
    r = client.get("/api/forecast", params={"item_id": "i3"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["run_id"] == RUN_ID and body["as_of"] == AS_OF
    assert body["level"] == "item" and body["item_id"] == "i3"
    assert body["interval"] == INTERVAL
    assert body["rows"] == _expected("forecast_items", "item_id", "i3")
    assert [p["date"] for p in body["rows"]] == DAYS  # by date, whatever the file order

    body = client.get("/api/forecast", params={"category": "Home/Kitchen"}).json()
    assert body["level"] == "category"
    assert body["rows"] == _expected("forecast_categories", "category", "Home/Kitchen")

    body = client.get("/api/forecast").json()
    assert body["level"] == "shop" and body["item_id"] is None and body["category"] is None
    assert body["rows"] == _expected("forecast_shop", None, None)


def test_unknown_ids_are_404_with_a_clear_message(client: TestClient) -> None:
    r = client.get("/api/forecast", params={"item_id": "nope"})
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert "no item 'nope'" in detail and RUN_ID in detail and "365 days" in detail
    r = client.get("/api/forecast", params={"category": "Garden"})
    assert r.status_code == 404 and "no category 'Garden'" in r.json()["detail"]
    r = client.get("/api/forecast", params={"item_id": "i1", "category": "Toys"})
    assert r.status_code == 422 and "not both" in r.json()["detail"]


def test_endpoints_need_a_key(client: TestClient) -> None:
    for url in ("/api/forecast", "/api/inventory/alerts", "/api/pricing"):
        r = client.get(url, headers={"Authorization": ""})
        assert r.status_code == 401, url


def test_alerts_are_the_urgent_items_first_without_the_ok(client: TestClient) -> None:
    body = client.get("/api/inventory/alerts").json()
    assert [r["item_id"] for r in body["rows"]] == ALERT_ORDER
    assert body["total"] == len(ALERT_ORDER) and body["items"] == len(STOCK)
    rows = {r["item_id"]: r for r in body["rows"]}
    assert rows["b"]["stockout_date"] == "2025-03-02" and rows["b"]["order_qty"] == 12
    assert rows["d"]["days_of_cover"] is None  # no demand: never runs out (inf in the file)
    page = client.get("/api/inventory/alerts", params={"limit": 2, "offset": 1}).json()
    assert [r["item_id"] for r in page["rows"]] == ALERT_ORDER[1:3]
    assert page["total"] == len(ALERT_ORDER)


def test_pricing_rows_with_their_notes(client: TestClient) -> None:
    rows = client.get("/api/pricing").json()["rows"]
    assert [(r["level"], r["category"], r["item_id"]) for r in rows] == [
        ("category", "Home/Kitchen", None),
        ("item", "Home/Kitchen", "i1"),
        ("category", "Toys", None),
    ]
    assert rows[0]["elasticity"] == -1.8 and rows[0]["suggested_discount"] == 0.1
    assert rows[2]["elasticity"] is None and rows[2]["note"] == "not enough price variation"
    items = client.get("/api/pricing", params={"level": "item"}).json()["rows"]
    assert [r["item_id"] for r in items] == ["i1"]


def test_a_run_without_the_outputs_says_what_fills_them(empty: TestClient) -> None:
    for url, words in (
        ("/api/forecast", "liucun run"),
        ("/api/inventory/alerts", "liucun ingest inventory"),
        ("/api/pricing", "price changes"),
    ):
        r = empty.get(url)
        assert r.status_code == 404, url
        assert RUN_ID in r.json()["detail"] and words in r.json()["detail"], url


def test_endpoints_are_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/forecast", "/api/inventory/alerts", "/api/pricing"):
        op = spec["paths"][path]["get"]
        assert op["tags"] == ["demand"] and op["description"], path
        assert "404" in op["responses"] and op.get("security"), path
    params = {p["name"] for p in spec["paths"]["/api/forecast"]["get"]["parameters"]}
    assert params == {"item_id", "category"}
    ok = spec["paths"]["/api/forecast"]["get"]["responses"]["200"]["content"]
    assert ok["application/json"]["schema"]["$ref"].endswith("/ForecastSeries")


# -- the Demand page ---------------------------------------------------------------------------


def _charts(page: str) -> dict[str, dict]:
    m = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert m, "no chart data on the page"
    return {c["id"]: c for c in json.loads(html.unescape(m.group(1)))}


def _table(page: str, table_id: str) -> str:
    m = re.search(rf'<table class="data" id="{table_id}">(.*?)</table>', page, re.S)
    assert m, f"no table {table_id}"
    return m.group(1)


def test_page_draws_the_shop_forecast_and_picks_a_category(client: TestClient) -> None:
    page = client.get("/demand").text
    assert 'href="/demand" class="on"' in page  # the nav link, marked as the page
    chart = _charts(page)["forecast-chart"]
    shop = _expected("forecast_shop", None, None)
    assert chart["kind"] == "interval" and chart["labels"] == DAYS
    assert chart["mid"] == pytest.approx([p["forecast"] for p in shop])
    assert chart["low"] == pytest.approx([p["lo"] for p in shop])
    assert chart["high"] == pytest.approx([p["hi"] for p in shop])
    assert chart["interval"] == "80% interval"
    picker = re.search(r'<select name="category".*?</select>', page, re.S).group(0)
    # the shop, then the categories by forecast units (Home/Kitchen sells less than Toys)
    assert re.findall(r'<option value="([^"]*)"', picker) == ["", "Toys", "Home/Kitchen"]

    page = client.get("/demand", params={"category": "Home/Kitchen"}).text
    chart = _charts(page)["forecast-chart"]
    cat = _expected("forecast_categories", "category", "Home/Kitchen")
    assert chart["mid"] == pytest.approx([p["forecast"] for p in cat])
    assert '<option value="Home/Kitchen" selected>' in page
    assert len(re.findall(r"<tr>", _table(page, "forecast-table"))) == 1 + HORIZON


def test_page_lists_stock_alerts_and_elasticities(client: TestClient) -> None:
    page = client.get("/demand").text
    alerts = _table(page, "stock-alerts")
    assert re.findall(r'data-item="([^"]+)"', alerts) == ALERT_ORDER
    assert "stock-out risk" in alerts and 'data-item="c"' not in alerts
    kpis = re.search(r'id="stock-kpis">(.*?)</section>', page, re.S).group(1)
    assert [int(n) for n in re.findall(r'class="k">\s*(\d+)', kpis)] == [3, 2, 3]
    prices = _table(page, "elasticities")
    assert "-1.80" in prices and "[-2.50, -1.10]" in prices and "10%" in prices
    assert "not enough price variation" in prices

    zh = client.get("/demand", params={"lang": "zh"}).text
    assert ">需求<" in zh and "缺货风险" in zh and "调价不足" in zh


def test_page_without_the_outputs_says_which_command_fills_them(empty: TestClient) -> None:
    r = empty.get("/demand")
    assert r.status_code == 200
    page = html.unescape(r.text)
    assert "`liucun run` forecasts demand" in page and 'id="no-forecast"' in page
    assert "`liucun ingest inventory FILE`" in page and 'id="no-stock"' in page
    assert "`liucun pricing --as-of DATE --out FILE`" in page and 'id="no-pricing"' in page
    assert 'id="chart-data"' not in page


# -- the report --------------------------------------------------------------------------------


def test_report_has_the_demand_section(shop: tuple[Path, str], tmp_path: Path) -> None:
    out = workspace_report(SimpleNamespace(path=shop[0]), tmp_path / "report.html")
    text = out.read_text("utf-8")
    assert '<h2 id="demand">Demand, stock and prices</h2>' in text
    section = text[text.index('id="demand"') :]
    assert "Forecast by category" in section and "Stock-out list" in section
    # categories by units over the horizon: Toys (3.0/day base) before Home/Kitchen (2.5)
    assert section.index("Toys") < section.index("Home/Kitchen")
    # alerts in their order, without the item that is ok
    cells = re.findall(r"<tr><td>([a-f])</td>", section)
    assert cells == ALERT_ORDER
    assert "not enough price variation" in section and "[-2.50, -1.10]" in section
    zh = workspace_report(SimpleNamespace(path=shop[0]), tmp_path / "zh.html", lang="zh")
    assert "需求、库存与价格" in zh.read_text("utf-8")


def test_report_leaves_the_section_out_without_outputs(
    bare: tuple[Path, str], tmp_path: Path
) -> None:
    text = workspace_report(SimpleNamespace(path=bare[0]), tmp_path / "r.html").read_text("utf-8")
    assert 'id="demand"' not in text and "Stock-out list" not in text
