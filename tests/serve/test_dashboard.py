"""The dashboard and `liucun report` on a small simulated shop (one pipeline run).

Pages, key handling (bearer, cookie, login redirect, revoked), the language switch, the
at-risk filters and CSV export, the vendored chart library (no external URLs anywhere),
the self-contained report, the run's dashboard.json, and monthly cohort retention
reading nothing at or after as_of.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import ibis
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from shared import lenient_plan, split_reason_text
from typer.testing import CliRunner

import liucun
from liucun.cli import app as cli
from liucun.decide.at_risk import RECENT_DAYS
from liucun.features.cohorts import cohort_frame, cohort_matrix
from liucun.pipeline.aggregates import dashboard_aggregates
from liucun.pipeline.run import run
from liucun.serve import i18n
from liucun.serve.app import create_app
from liucun.serve.i18n import EN, ZH
from liucun.serve.keys import KeyStore
from liucun.serve.snapshot import Snapshots
from liucun.serve.web import CSV_COLUMNS, KEY_COOKIE, LANG_COOKIE

START = dt.date(2024, 1, 1)
DAYS = 300
AS_OF = START + dt.timedelta(days=DAYS)  # the day after the data
TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")
PAGES = ("/", "/segments", "/at-risk", "/campaigns", "/reviews", "/risk", "/model")
REVIEW_OUTPUTS = ("item_quality.parquet", "themes.parquet", "topics.json", "interests.parquet")
RISK_OUTPUTS = ("risk.parquet", "risk_orders.parquet")


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> tuple[Path, str]:
    """A workspace with one completed run: (path, run_id)."""
    path = simulated_workspace(TABLES, users=1500, days=DAYS, holdout_days=0, seed=11, start=START)
    lenient_plan(path)  # a 1,500-customer shop shows no effect at the default level
    with liucun.Workspace(path) as ws:
        res = run(ws, AS_OF)
    return path, res.run_id


def _client(path: Path) -> TestClient:
    app = create_app(path)
    app.state.snapshots = Snapshots(path, check_seconds=0)
    return TestClient(app)


@pytest.fixture(scope="module")
def client(shop: tuple[Path, str]) -> TestClient:
    return _client(shop[0])


@pytest.fixture(scope="module")
def key(shop: tuple[Path, str]) -> str:
    return KeyStore(shop[0]).create("dashboard-tests")


@pytest.fixture(scope="module")
def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def scores(shop: tuple[Path, str]) -> pd.DataFrame:
    return pd.read_parquet(shop[0] / "runs" / shop[1] / "scores.parquet")


@pytest.fixture(scope="module")
def dash(shop: tuple[Path, str]) -> dict:
    return json.loads((shop[0] / "runs" / shop[1] / "dashboard.json").read_text("utf-8"))


def _buyer(scores: pd.DataFrame) -> str:
    s = scores[scores["lifecycle_stage"] == "active"].sort_values("user_id")
    return str(s["user_id"].iloc[0])


# -- the run's aggregates --------------------------------------------------------------


def test_run_writes_dashboard_json(shop: tuple[Path, str], dash: dict, scores: pd.DataFrame):
    run_json = json.loads((shop[0] / "runs" / shop[1] / "run.json").read_text("utf-8"))
    assert run_json["outputs"]["dashboard"].endswith("dashboard.json")
    assert dash["run_id"] == shop[1] and dash["as_of"] == AS_OF.isoformat()
    assert dash["notes"] == []
    k = dash["kpis"]
    assert k["customers"] == len(scores)
    assert sum(s["customers"] for s in dash["stages"]) == len(scores)
    assert sum(b["customers"] for b in dash["bands"]) == len(scores)
    high = scores["risk_band"] == "high"
    away = scores["lifecycle_stage"].isin(["prospect", "churned"])
    assert k["high_risk"] == int((high & ~away).sum())
    assert k["high_risk"] + k["high_risk_prospects"] + k["high_risk_gone"] == int(high.sum())
    var = (scores["p_churn"] * scores["clv_365d"].fillna(0)).sum()
    assert k["revenue_at_risk"] == pytest.approx(var)
    assert sum(sum(r) for r in dash["rfm_grid"]["counts"]) == k["buyers"]
    assert dash["cohorts"]["cohorts"] and all(r[0] == 1.0 for r in dash["cohorts"]["shares"])
    assert dash["plan"]["by_action"] and dash["readouts"]
    val = dash["model"]["validation"]
    # The validation slice reproduces the model's own recorded metric.
    auc = dash["model"]["metrics"]["retained"]["roc_auc"]
    assert val["metrics"]["roc_auc"] == pytest.approx(auc, abs=1e-9)
    assert val["calibration"] and val["lift"]
    assert dash["previous_run"] is None and dash["flow"] is None


def test_flow_and_drift_against_a_previous_run(shop: tuple[Path, str], tmp_path: Path) -> None:
    """A copy of the run, older and with stages and recency shifted, is the previous run."""
    path, run_id = shop
    ws_path = tmp_path / "ws"
    (ws_path / "runs").mkdir(parents=True)
    shutil.copy(path / "liucun.toml", ws_path / "liucun.toml")
    src = path / "runs" / run_id
    for name in ("scores", "customers", "features"):
        (ws_path / "runs" / "20000101T000000000000Z").mkdir(exist_ok=True)
        shutil.copy(src / f"{name}.parquet", ws_path / "runs" / "20000101T000000000000Z")
    prev = ws_path / "runs" / "20000101T000000000000Z"
    (prev / "run.json").write_text(json.dumps({"as_of": "2000-01-01"}))
    customers = pd.read_parquet(src / "customers.parquet")
    features = pd.read_parquet(src / "features.parquet")
    old = customers.copy()
    moved = old["lifecycle_stage"] == "active"
    old.loc[moved, "lifecycle_stage"] = "dormant"
    old = old.iloc[10:]  # ten customers were not known then
    old.to_parquet(prev / "customers.parquet", index=False)
    shifted = features.assign(recency_days=features["recency_days"] * 3 + 50)
    shifted.to_parquet(prev / "features.parquet", index=False)
    with liucun.Workspace(ws_path) as ws:
        d = dashboard_aggregates(
            ws,
            AS_OF,
            features,
            customers,
            pd.read_parquet(src / "scores.parquet"),
            None,
            run_id=run_id,
        )
    assert d["previous_run"] == "20000101T000000000000Z"
    f = d["flow"]
    assert f["from"][-1] == "(not known)" and sum(f["counts"][-1]) == 10
    assert sum(map(sum, f["counts"])) == len(customers)
    i, j = f["from"].index("dormant"), f["to"].index("active")
    assert f["counts"][i][j] == int(moved.iloc[10:].sum())
    drift = {r["feature"]: r for r in d["drift"]}
    assert drift["recency_days"]["warning"] and drift["recency_days"]["psi"] > 0.2
    assert drift["orders_total"]["psi"] == pytest.approx(0.0, abs=1e-9)


# -- keys ------------------------------------------------------------------------------


def test_every_page_renders_with_a_bearer_key(
    client: TestClient, auth: dict[str, str], scores: pd.DataFrame
) -> None:
    for page in (*PAGES, f"/customers/{_buyer(scores)}", "/at-risk?band=high&offset=10"):
        r = client.get(page, headers=auth)
        assert r.status_code == 200, page
        assert r.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["content-security-policy"]


def test_login_sets_an_httponly_strict_cookie(client: TestClient, shop, key: str) -> None:
    c = _client(shop[0])
    r = c.post("/login", data={"key": key, "next": "/segments"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/segments"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{KEY_COOKIE}=") and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    for page in PAGES:
        assert c.get(page, follow_redirects=False).status_code == 200, page
    # Never an open redirect.
    r = c.post("/login", data={"key": key, "next": "//evil.example"}, follow_redirects=False)
    assert r.headers["location"] == "/"
    # A wrong key sets nothing.
    r = _client(shop[0]).post("/login", data={"key": "nope"}, follow_redirects=False)
    assert r.status_code == 401 and "set-cookie" not in r.headers


def test_no_key_or_unknown_key_redirects_to_login(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        for page in (*PAGES, "/at-risk.csv", "/customers/u1"):
            r = client.get(page, headers=headers, follow_redirects=False)
            assert r.status_code == 303, page
            assert r.headers["location"].startswith("/login?next=")
    r = client.get("/at-risk?band=high", follow_redirects=False)
    assert r.headers["location"] == "/login?next=%2Fat-risk%3Fband%3Dhigh"
    assert client.get("/login").status_code == 200


def test_revoked_key_gets_403(client: TestClient, shop: tuple[Path, str]) -> None:
    keys = KeyStore(shop[0])
    old = keys.create("to-revoke")
    assert client.get("/", headers={"Authorization": f"Bearer {old}"}).status_code == 200
    keys.revoke("to-revoke")
    r = client.get("/", headers={"Authorization": f"Bearer {old}"}, follow_redirects=False)
    assert r.status_code == 403 and "revoked" in r.text
    c = _client(shop[0])
    c.cookies.set(KEY_COOKIE, old)
    assert c.get("/segments", follow_redirects=False).status_code == 403
    assert c.post("/login", data={"key": old}).status_code == 403


# -- language --------------------------------------------------------------------------


def test_language_switch(shop: tuple[Path, str], key: str) -> None:
    assert set(ZH) == set(EN)
    c = _client(shop[0])
    c.cookies.set(KEY_COOKIE, key)
    en = c.get("/").text
    assert EN["kpi_active"] in en and ZH["kpi_active"] not in en
    r = c.get("/?lang=zh")
    assert ZH["kpi_active"] in r.text and EN["kpi_active"] not in r.text
    assert '<html lang="zh-CN">' in r.text
    assert f"{LANG_COOKIE}=zh" in r.headers["set-cookie"]
    # Remembered without the parameter, on every page.
    for page in PAGES:
        assert ZH["nav_overview"] in c.get(page).text, page
    assert EN["kpi_active"] in c.get("/?lang=en").text
    assert EN["kpi_active"] in c.get("/").text
    # Accept-Language picks Chinese when nothing else says.
    c2 = _client(shop[0])
    c2.cookies.set(KEY_COOKIE, key)
    assert ZH["kpi_active"] in c2.get("/", headers={"Accept-Language": "zh-CN,zh"}).text


# -- at risk ---------------------------------------------------------------------------


def _bands(page: str) -> list[str]:
    return re.findall(r'<tr data-band="([^"]*)"', page)


def _listed(scores: pd.DataFrame) -> pd.DataFrame:
    """The customers the at-risk list holds by default: no prospects, none gone for good."""
    return scores[~scores["lifecycle_stage"].isin(["prospect", "churned"])]


def test_at_risk_filters_narrow_the_rows(
    client: TestClient, auth: dict[str, str], scores: pd.DataFrame
) -> None:
    listed = _listed(scores)
    everyone = _bands(client.get("/at-risk?limit=500", headers=auth).text)
    assert len(everyone) == min(500, len(listed)) and len(set(everyone)) > 1
    for band in ("high", "low"):
        rows = _bands(client.get(f"/at-risk?band={band}&limit=500", headers=auth).text)
        n = int((listed["risk_band"] == band).sum())
        assert rows == [band] * min(n, 500)
    seg = listed["segment"].value_counts().index[-1]  # the smallest segment listed
    page = client.get("/at-risk", params={"segment": seg, "limit": 500}, headers=auth).text
    assert len(_bands(page)) == int((listed["segment"] == seg).sum())
    # Paging: the second page starts where the first ended.
    first = client.get("/at-risk?limit=20", headers=auth).text
    second = client.get("/at-risk?limit=20&offset=20", headers=auth).text
    ids = lambda p: re.findall(r'href="/customers/([^"]+)"', p)  # noqa: E731
    both = client.get("/at-risk?limit=40", headers=auth).text
    assert ids(first) + ids(second) == ids(both)


def test_csv_export(client: TestClient, auth: dict[str, str], scores: pd.DataFrame) -> None:
    r = client.get("/at-risk.csv?band=medium", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert len(rows) == int((_listed(scores)["risk_band"] == "medium").sum())
    assert {x["risk_band"] for x in rows} == {"medium"}
    # Value at stake first, except that customers who ordered in the last few days come last.
    recent = [
        bool(x["days_since_order"]) and float(x["days_since_order"]) <= RECENT_DAYS for x in rows
    ]
    assert recent == sorted(recent) and not all(recent)
    values = [float(x["value_at_risk"]) for x, r in zip(rows, recent, strict=True) if not r]
    assert values == sorted(values, reverse=True)
    listed = pd.read_csv(io.StringIO(client.get("/at-risk.csv", headers=auth).text))
    assert set(listed["user_id"].astype(str)) == set(_listed(scores)["user_id"])
    url = "/at-risk.csv?include_prospects=1&include_gone=1"
    everyone = pd.read_csv(io.StringIO(client.get(url, headers=auth).text))
    assert len(everyone) == len(scores) and set(everyone["user_id"].astype(str)) == set(
        scores["user_id"]
    )


# -- customer 360 ------------------------------------------------------------------------


def test_customer_360(
    client: TestClient, auth: dict[str, str], scores: pd.DataFrame, shop: tuple[Path, str]
) -> None:
    uid = _buyer(scores)
    page = client.get(f"/customers/{uid}", headers=auth).text
    assert uid in page and 'id="timeline"' in page and ">order<" in page
    reason = split_reason_text(scores.set_index("user_id").loc[uid, "reasons"])[0]
    assert reason and reason in page.replace("&#39;", "'").replace("&gt;", ">")
    assert 'id="recommendations"' in page
    r = client.get("/customers?user_id=" + uid, headers=auth, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/customers/{uid}"
    assert client.get("/customers/no-such-customer", headers=auth).status_code == 404
    # While a writer holds the warehouse the page still renders, without the timeline.
    with liucun.Workspace(shop[0]) as ws:
        ws.warehouse.con  # noqa: B018 (open read-write, as a run would)
        busy = client.get(f"/customers/{uid}", headers=auth)
    assert busy.status_code == 200 and "Timeline unavailable" in busy.text

    # Interest keywords from the run's interests.parquet.
    interests = pd.read_parquet(shop[0] / "runs" / shop[1] / "interests.parquet")
    words = interests.set_index("user_id")["keywords"].get(uid, "").split()
    assert words  # an active buyer browsed and bought lately
    row = re.search(r'<td id="interests">(.*?)</td>', page, re.S)
    assert row and re.findall(r'<span class="tag">([^<]*)</span>', row.group(1)) == words


# -- reviews -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reviews_page(
    client: TestClient, auth: dict[str, str], shop: tuple[Path, str], lang: str
) -> None:
    run_dir = shop[0] / "runs" / shop[1]
    run_json = json.loads((run_dir / "run.json").read_text("utf-8"))
    assert {"item_quality", "themes", "topics", "interests"} <= set(run_json["outputs"])
    themes = pd.read_parquet(run_dir / "themes.parquet")
    quality = pd.read_parquet(run_dir / "item_quality.parquet")
    topics = json.loads((run_dir / "topics.json").read_text("utf-8"))
    assert len(themes) and len(quality) and topics
    r = client.get(f"/reviews?lang={lang}", headers=auth)
    assert r.status_code == 200
    page = html.unescape(r.text)
    words = ZH if lang == "zh" else EN
    for key in ("reviews_title", "aspects_title", "worst_items_title", "topics_title"):
        assert words[key] in page, key
    assert f'<a href="/reviews" class="on">{words["nav_reviews"]}</a>' in page
    assert words["reviews_none"] not in page
    # Aspects: every aspect of the run, in the table, the grid and the chart.
    aspects = themes.groupby("aspect")["mentions"].sum()
    table = re.search(r'<table class="data" id="aspects">(.*?)</table>', page, re.S).group(1)
    shown = re.findall(r"<tr><td>([^<]*)</td><td class=\"n\">([^<]*)</td>", table)
    assert len(shown) == len(aspects)
    names = {i18n.value(lang, a): a for a in aspects.index}
    assert {names[n]: int(m.replace(",", "")) for n, m in shown} == aspects.to_dict()
    grid = re.search(r'<table class="heat" id="aspect-grid">(.*?)</table>', page, re.S).group(1)
    assert grid.split("<tbody>")[1].count("<tr><th>") == themes["group"].nunique()
    chart = next(c for c in _chart_data(page) if c["id"] == "aspects-chart")
    neg = (themes["negative_share"] * themes["mentions"]).groupby(themes["aspect"]).sum()
    expect = (neg / aspects).to_dict()
    got = dict(zip(chart["labels"], chart["datasets"][0]["data"], strict=True))
    assert {names[k]: v for k, v in got.items()} == pytest.approx(expect)
    assert 'id="aspects-chart"' in page
    # The worst 20 items, worst first, with their evidence.
    worst = quality[quality["quality_score"].notna()].head(20)
    rows = re.search(r'<table class="data" id="worst-items">(.*?)</table>', page, re.S).group(1)
    ids = re.findall(r'<tr><td class="n">\d+</td><td>([^<]*)</td>', rows)
    assert ids == worst["item_id"].astype(str).tolist()
    assert f"{worst['quality_score'].iloc[0]:.2f}" in rows
    # Topics with their words.
    table = re.search(r'<table class="data" id="topics">(.*?)</table>', page, re.S).group(1)
    assert table.count("<tr><td") == len(topics)
    for w in topics[0]["words"]:
        assert f'<span class="tag">{w}</span>' in table


def _chart_data(page: str) -> list[dict]:
    m = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1)) if m else []


def test_reviews_page_without_review_outputs(
    shop: tuple[Path, str], key: str, tmp_path: Path
) -> None:
    """A run made before review outputs existed (or a shop with no reviews) still renders."""
    path, run_id = shop
    ws_path = tmp_path / "old"
    shutil.copytree(path / "runs" / run_id, ws_path / "runs" / run_id)
    for name in REVIEW_OUTPUTS:
        (ws_path / "runs" / run_id / name).unlink()
    (ws_path / "runs" / "latest.json").write_text(json.dumps({"run_id": run_id}))
    shutil.copy(path / "apikeys.json", ws_path / "apikeys.json")
    c = _client(ws_path)
    auth = {"Authorization": f"Bearer {key}"}
    for lang, words in (("en", EN), ("zh", ZH)):
        r = c.get(f"/reviews?lang={lang}", headers=auth)
        assert r.status_code == 200
        assert words["reviews_none"] in r.text and 'id="worst-items"' not in r.text
        assert 'id="chart-data"' not in r.text
    uid = str(pd.read_parquet(ws_path / "runs" / run_id / "scores.parquet")["user_id"].iloc[0])
    r = c.get(f"/customers/{uid}", headers=auth)
    assert r.status_code == 200 and '<td id="interests">–</td>' in r.text
    # Outputs written but empty (a shop without reviews): the same note.
    pd.DataFrame(columns=["group", "aspect", "mentions", "review_share", "review_p_positive",
                          "negative_share", "reviews", "keywords"]).to_parquet(
        ws_path / "runs" / run_id / "themes.parquet"
    )  # fmt: skip
    pd.DataFrame(columns=["item_id", "quality_score"]).to_parquet(
        ws_path / "runs" / run_id / "item_quality.parquet"
    )
    (ws_path / "runs" / run_id / "topics.json").write_text("[]")
    c = _client(ws_path)
    r = c.get("/reviews", headers=auth)
    assert r.status_code == 200 and EN["reviews_none"] in r.text


# -- risk ------------------------------------------------------------------------------


def _table(page: str, table_id: str) -> str:
    m = re.search(rf'<table class="data" id="{table_id}">(.*?)</table>', page, re.S)
    assert m, table_id
    return m.group(1)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_risk_page(
    client: TestClient, auth: dict[str, str], shop: tuple[Path, str], lang: str
) -> None:
    run_dir = shop[0] / "runs" / shop[1]
    run_json = json.loads((run_dir / "run.json").read_text("utf-8"))
    assert {"risk", "risk_orders"} <= set(run_json["outputs"])  # written by the run
    stats, plan = run_json["stats"]["risk"], run_json["stats"]["plan"]
    risk = pd.read_parquet(run_dir / "risk.parquet")
    orders = pd.read_parquet(run_dir / "risk_orders.parquet")
    r = client.get(f"/risk?lang={lang}", headers=auth)
    assert r.status_code == 200
    page = html.unescape(r.text)
    words = ZH if lang == "zh" else EN
    for k in ("risk_title", "rule_hits_title", "risky_accounts_title", "flagged_orders_title"):
        assert words[k] in page, k
    assert f'<a href="/risk" class="on">{words["nav_risk"]}</a>' in page
    assert words["risk_none"] not in page
    # KPIs: the run's stats, which agree with the parquet files.
    assert stats["accounts"] == len(risk)
    assert stats["high"] == int((risk["risk_band"] == "high").sum())
    assert stats["medium"] == int((risk["risk_band"] == "medium").sum())
    assert stats["flagged_orders"] == len(orders)
    kpis = re.search(r'<section class="kpis" id="risk-kpis">(.*?)</section>', page, re.S)
    shown = dict(
        (label, value)
        for value, label in re.findall(
            r'<div class="k">([^<]*)</div><div class="l">([^<]*)</div>', kpis.group(1)
        )
    )
    assert shown == {
        words["kpi_risk_accounts"]: f"{len(risk):,}",
        words["kpi_risk_high"]: f"{stats['high']:,}",
        words["kpi_risk_medium"]: f"{stats['medium']:,}",
        words["kpi_flagged_orders"]: f"{len(orders):,}",
        words["kpi_risky_excluded"]: f"{plan['risky_excluded']:,}",
    }
    # Rule hits: every rule of the run, in the table and the chart, counted from the file.
    hits = {c[5:]: int(risk[c].sum()) for c in risk.columns if re.match(r"rule_(?!score)", c)}
    assert stats["rule_hits"] == hits and sum(hits.values()) > 0
    table = _table(page, "rule-hits")
    got = re.findall(r'<tr data-rule="([^"]*)"><td>([^<]*)</td><td class="n">([^<]*)</td>', table)
    assert {rule: int(n.replace(",", "")) for rule, _, n in got} == hits
    assert all(label == i18n.value(lang, rule) for rule, label, _ in got)
    chart = next(c for c in _chart_data(page) if c["id"] == "rule-hits-chart")
    assert dict(zip(chart["labels"], chart["datasets"][0]["data"], strict=True)) == {
        i18n.value(lang, k): v for k, v in hits.items()
    }
    # The riskiest accounts: high, then medium, riskiest first, linked to their page.
    risky = risk[risk["risk_band"].isin(["high", "medium"])].sort_values(
        ["risk_score", "user_id"], ascending=[False, True], kind="stable"
    )
    assert len(risky)
    table = _table(page, "risk-accounts")
    ids = re.findall(r'<a href="/customers/([^"]+)">', table)
    assert ids == risky["user_id"].head(50).tolist()
    assert re.findall(r'<tr data-band="([^"]*)"', table) == risky["risk_band"].head(50).tolist()
    top = risky.iloc[0]
    for reason in split_reason_text(top["risk_reasons"]):
        assert f"<span>{reason}</span>" in table
    assert f"{top['risk_score']:.3f}" in table
    # Flagged orders: the top 50, riskiest accounts first.
    table = _table(page, "risk-orders")
    assert table.count("<tr><td>") == min(50, len(orders))
    score = orders["user_id"].map(risk.set_index("user_id")["risk_score"])
    first = orders.assign(score=score).sort_values(["score", "ts"], ascending=False).iloc[0]
    assert re.search(r"<tr><td>([^<]*)</td>", table).group(1) == first["order_id"]
    # The supervised line only when the run fitted one.
    assert ('id="supervised"' in page) == ("supervised" in stats)


def test_customer_page_shows_fraud_risk(
    client: TestClient, auth: dict[str, str], shop: tuple[Path, str]
) -> None:
    risk = pd.read_parquet(shop[0] / "runs" / shop[1] / "risk.parquet")
    for band in ("high", "medium", "low"):
        row = risk[risk["risk_band"] == band].iloc[0]
        for lang, words in (("en", EN), ("zh", ZH)):
            r = client.get(f"/customers/{row['user_id']}?lang={lang}", headers=auth)
            assert r.status_code == 200
            page = html.unescape(r.text)
            if band == "low":
                assert 'id="fraud-risk"' not in page
                continue
            block = re.search(r'<div id="fraud-risk">(.*?)</div>', page, re.S).group(1)
            assert words["fraud_risk"] in block
            assert f'<span class="band {band}">{i18n.value(lang, band)}</span>' in block
            reasons = split_reason_text(row["risk_reasons"])
            assert reasons
            for reason in reasons:
                assert f"<li>{reason}</li>" in block


def test_risk_page_without_risk_outputs(shop: tuple[Path, str], key: str, tmp_path: Path) -> None:
    """A run made with [risk] in_run = false, or before risk existed, still renders."""
    path, run_id = shop
    ws_path = tmp_path / "old"
    shutil.copytree(path / "runs" / run_id, ws_path / "runs" / run_id)
    risky = str(pd.read_parquet(ws_path / "runs" / run_id / "risk.parquet")["user_id"].iloc[0])
    for name in RISK_OUTPUTS:
        (ws_path / "runs" / run_id / name).unlink()
    (ws_path / "runs" / "latest.json").write_text(json.dumps({"run_id": run_id}))
    shutil.copy(path / "apikeys.json", ws_path / "apikeys.json")
    c = _client(ws_path)
    auth = {"Authorization": f"Bearer {key}"}
    for lang, words in (("en", EN), ("zh", ZH)):
        r = c.get(f"/risk?lang={lang}", headers=auth)
        assert r.status_code == 200
        page = html.unescape(r.text)
        assert words["risk_none"] in page and 'id="risk-accounts"' not in page
        assert 'id="chart-data"' not in page
    r = c.get(f"/customers/{risky}", headers=auth)
    assert r.status_code == 200 and 'id="fraud-risk"' not in r.text


# -- assets and offline ------------------------------------------------------------------

ATTR = re.compile(r"""(?:src|href|action)\s*=\s*["']([^"']*)["']""", re.I)


def test_vendored_chart_library_and_no_external_urls(
    client: TestClient, auth: dict[str, str], scores: pd.DataFrame
) -> None:
    r = client.get("/static/chart.umd.min.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "Chart.js v4" in r.text[:200]
    assert client.get("/static/chart.js.LICENSE.md").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/nope.js").status_code == 404
    for page in (*PAGES, f"/customers/{_buyer(scores)}", "/login", "/?lang=zh"):
        text = client.get(page, headers=auth).text
        for url in ATTR.findall(text):
            assert url.startswith(("/", "#", "?", "data:")) and not url.startswith("//"), (
                page,
                url,
            )
        assert "http://" not in text and "https://" not in text, page
        if page in ("/", "/segments", "/campaigns", "/risk", "/model", "/?lang=zh"):
            assert '<script src="/static/chart.umd.min.js"></script>' in text, page
            assert '<script type="application/json" id="chart-data">' in text, page
    assert 'id="cohort-heatmap"' in client.get("/", headers=auth).text


def test_a_run_without_dashboard_json_still_renders(
    shop: tuple[Path, str], key: str, tmp_path: Path
) -> None:
    path, run_id = shop
    ws_path = tmp_path / "old"
    shutil.copytree(path / "runs" / run_id, ws_path / "runs" / run_id)
    (ws_path / "runs" / run_id / "dashboard.json").unlink()
    (ws_path / "runs" / "latest.json").write_text(json.dumps({"run_id": run_id}))
    shutil.copy(path / "apikeys.json", ws_path / "apikeys.json")
    c = _client(ws_path)
    for page in PAGES:
        r = c.get(page, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, page
    # Aggregates from the frames; what needs the warehouse says to re-run.
    page = c.get("/", headers={"Authorization": f"Bearer {key}"}).text
    assert 'id="cohort-heatmap"' not in page and "re-run" in page
    assert 'id="rfm-grid"' in c.get("/segments", headers={"Authorization": f"Bearer {key}"}).text


# -- the report --------------------------------------------------------------------------


def test_report_command_writes_a_self_contained_file(shop: tuple[Path, str], tmp_path: Path):
    out = tmp_path / "report.html"
    res = CliRunner().invoke(cli, ["--workspace", str(shop[0]), "report", "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text("utf-8")
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text and "<link" not in text and "url(" not in text
    assert 'id="cohort-heatmap"' in text and "<svg" in text
    assert "Calibration" in text and "At-risk customers" in text
    assert EN["worst_items_title"] in text and EN["topics_title"] in text
    assert f'<h2 id="risk">{EN["risk_title"]}</h2>' in text
    risk = pd.read_parquet(shop[0] / "runs" / shop[1] / "risk.parquet")
    assert f"<td>{risk['user_id'].iloc[0]}</td>" in text  # the riskiest account
    zh = tmp_path / "zh.html"
    res = CliRunner().invoke(
        cli, ["--workspace", str(shop[0]), "report", "--out", str(zh), "--lang", "zh"]
    )
    assert res.exit_code == 0 and ZH["cohorts_title"] in zh.read_text("utf-8")


# -- cohorts ---------------------------------------------------------------------------


def test_cohorts_read_nothing_at_or_after_as_of(shop: tuple[Path, str]) -> None:
    with liucun.Workspace(shop[0]) as ws:
        orders = ws.table("orders").execute()
    cut = dt.date(2024, 8, 15)
    before = orders[orders["ts"] < pd.Timestamp(cut)]
    later = orders[orders["ts"] >= pd.Timestamp(cut)]
    assert len(later) > 0
    full = cohort_frame({"orders": ibis.memtable(orders)}, cut)
    trunc = cohort_frame({"orders": ibis.memtable(before)}, cut)
    pd.testing.assert_frame_equal(full, trunc)
    # Against a plain pandas computation.
    o = before.assign(month=before["ts"].dt.to_period("M"))
    first = o.groupby("user_id")["month"].min().rename("cohort")
    o = o.join(first, on="user_id")
    o["since"] = (o["month"] - o["cohort"]).apply(lambda d: d.n)
    got = o.groupby(["cohort", "since"])["user_id"].nunique()
    size = first.value_counts()
    expect = (got / size.reindex(got.index.get_level_values(0)).to_numpy()).rename("share")
    expect.index = expect.index.set_levels(expect.index.levels[0].astype(str), level=0)
    mine = full.set_index(["cohort", "months_since"])["share"]
    assert len(mine) == len(expect)
    for (c, m), share in expect.items():
        assert mine[(c, m)] == pytest.approx(share)
    # The heatmap leaves months a cohort has not reached empty, and starts at 100%.
    mat = cohort_matrix(full)
    assert mat["cohorts"][-1] == "2024-08" and mat["shares"][-1][1:] == [None] * (
        len(mat["months"]) - 1
    )
    assert all(row[0] == 1.0 for row in mat["shares"])
    # Only the newest `months` cohorts.
    assert cohort_frame({"orders": ibis.memtable(orders)}, cut, months=3)["cohort"].nunique() == 3
