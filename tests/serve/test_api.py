"""The REST API on a small simulated shop: keys, routes, intake, live recs, run swaps."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from shared import lenient_plan, split_reason_text
from typer.testing import CliRunner

import liucun
from liucun.data.inbox import IntakeError, append_events, ingest_inbox, pending
from liucun.pipeline.run import run
from liucun.serve.app import create_app
from liucun.serve.keys import KeyStore
from liucun.serve.snapshot import Snapshots

AS_OF = dt.date(2024, 7, 19)  # the day after the simulated data
TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> tuple[Path, str]:
    """A workspace with one completed run: (path, run_id)."""
    path = simulated_workspace(TABLES, users=600, days=200, holdout_days=0, seed=5)
    lenient_plan(path)  # a 600-customer shop shows no effect at the default level
    with liucun.Workspace(path) as ws:
        return path, run(ws, AS_OF).run_id


def _app(path: Path):
    app = create_app(path)
    app.state.snapshots = Snapshots(path, check_seconds=0)  # see a new run at once
    return app


@pytest.fixture(scope="module")
def client(shop: tuple[Path, str]) -> TestClient:
    return TestClient(_app(shop[0]))


@pytest.fixture(scope="module")
def auth(shop: tuple[Path, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {KeyStore(shop[0]).create('tests')}"}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _events(path: Path) -> int:
    with liucun.Workspace(path) as ws:
        return int(ws.table("events").count().execute())


def _scores(shop: tuple[Path, str]) -> pd.DataFrame:
    return pd.read_parquet(shop[0] / "runs" / shop[1] / "scores.parquet")


# -- keys ------------------------------------------------------------------------------


def test_health_needs_no_key(client: TestClient, shop: tuple[Path, str]) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "run_id": shop[1], "as_of": AS_OF.isoformat()}


def test_api_needs_a_valid_key(client: TestClient, shop: tuple[Path, str]) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        r = client.get("/api/segments", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "apikey create" in r.json()["detail"]
    keys = KeyStore(shop[0])
    old = keys.create("old")
    assert client.get("/api/segments", headers={"Authorization": f"Bearer {old}"}).is_success
    keys.revoke("old")
    r = client.get("/api/segments", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 403 and "revoked" in r.json()["detail"]
    # Only hashes are stored.
    stored = (shop[0] / "apikeys.json").read_text()
    assert old not in stored
    assert keys.check(old) == "revoked" and keys.check("nope") == "unknown"


def test_key_required_before_the_body_is_read(client: TestClient) -> None:
    r = client.post("/api/events", content=b"x" * 1000)
    assert r.status_code == 401


# -- read routes -----------------------------------------------------------------------


def test_customer_profile(client: TestClient, auth: dict[str, str], shop: tuple[Path, str]) -> None:
    row = _scores(shop).iloc[0]
    r = client.get(f"/api/customers/{row['user_id']}", headers=auth)
    assert r.status_code == 200
    p = r.json()
    assert p["user_id"] == row["user_id"] and p["run_id"] == shop[1]
    assert p["p_churn"] == pytest.approx(row["p_churn"])
    assert p["segment"] == row["segment"] and p["reasons"] == row["reasons"]
    assert {"lifecycle_stage", "cluster_name", "expected_revenue", "risk_band"} <= set(p)
    r = client.get("/api/customers/nobody", headers=auth)
    assert r.status_code == 404 and "no customer 'nobody'" in r.json()["detail"]


def test_customer_interest_keywords(
    client: TestClient, auth: dict[str, str], shop: tuple[Path, str]
) -> None:
    """From the run's interests.parquet; absent for a customer with none."""
    interests = pd.read_parquet(shop[0] / "runs" / shop[1] / "interests.parquet")
    assert len(interests) and interests["user_id"].is_unique
    row = interests[interests["keywords"].str.len() > 0].iloc[0]
    p = client.get(f"/api/customers/{row['user_id']}", headers=auth).json()
    assert p["interest_keywords"] == row["keywords"].split()
    missing = sorted(set(_scores(shop)["user_id"]) - set(interests["user_id"]))
    if missing:
        p = client.get(f"/api/customers/{missing[0]}", headers=auth).json()
        assert p.get("interest_keywords") is None


def test_recommendations_from_the_run(
    client: TestClient, auth: dict[str, str], shop: tuple[Path, str]
) -> None:
    recs = pd.read_parquet(shop[0] / "runs" / shop[1] / "recommendations.parquet")
    user = recs["user_id"].iloc[0]
    r = client.get(f"/api/customers/{user}/recommendations?k=3", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["live"] is False and body["k"] == 3 and len(body["items"]) == 3
    mine = recs[recs["user_id"] == user].sort_values("rank")
    assert [i["item_id"] for i in body["items"]] == list(mine["item_id"][:3])
    assert [i["rank"] for i in body["items"]] == [1, 2, 3]
    for k in (0, 101):
        r = client.get(f"/api/customers/{user}/recommendations?k={k}", headers=auth)
        assert r.status_code == 422
    r = client.get("/api/customers/nobody/recommendations", headers=auth)
    assert r.status_code == 404 and "nobody" in r.json()["detail"]


def test_segments(client: TestClient, auth: dict[str, str], shop: tuple[Path, str]) -> None:
    r = client.get("/api/segments", headers=auth)
    assert r.status_code == 200
    rows = r.json()["segments"]
    seg = pd.read_parquet(shop[0] / "runs" / shop[1] / "segments.parquet")
    assert [x["segment"] for x in rows] == list(seg["segment"])
    assert sum(x["customers"] for x in rows) == len(_scores(shop))
    assert sum(x["revenue_share"] for x in rows) == pytest.approx(1.0)


def test_at_risk(client: TestClient, auth: dict[str, str]) -> None:
    r = client.get("/api/at-risk?limit=5", headers=auth)
    assert r.status_code == 200
    rows = r.json()["customers"]
    assert len(rows) == 5
    values = [x["value_at_risk"] for x in rows]
    assert values == sorted(values, reverse=True)
    assert all(x["reasons"] for x in rows)
    high = client.get("/api/at-risk?limit=50&band=high", headers=auth).json()["customers"]
    assert high and all(x["risk_band"] == "high" for x in high)
    seg = rows[0]["segment"]
    same = client.get("/api/at-risk", params={"segment": seg}, headers=auth).json()["customers"]
    assert same and all(x["segment"] == seg for x in same)
    assert client.get("/api/at-risk?band=purple", headers=auth).status_code == 422
    assert client.get("/api/at-risk?limit=0", headers=auth).status_code == 422


# -- risk --------------------------------------------------------------------------------

RISK_FIELDS = {"user_id", "risk_score", "risk_band", "risk_reasons", "rule_score", "anomaly"}


def _risk(shop: tuple[Path, str]) -> pd.DataFrame:
    """The run's risk scores, riskiest first (ties by user_id)."""
    run_json = json.loads((shop[0] / "runs" / shop[1] / "run.json").read_text("utf-8"))
    assert {"risk", "risk_orders"} <= set(run_json["outputs"])  # the run wrote them
    risk = pd.read_parquet(shop[0] / "runs" / shop[1] / "risk.parquet")
    return risk.sort_values(["risk_score", "user_id"], ascending=[False, True], kind="stable")


def test_risk_needs_a_key(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = client.get("/api/risk", headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_risk(client: TestClient, auth: dict[str, str], shop: tuple[Path, str]) -> None:
    risk = _risk(shop)
    r = client.get("/api/risk?limit=7", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["run_id"] == shop[1] and body["as_of"] == AS_OF.isoformat()
    assert body["total"] == len(risk)
    rows = body["rows"]
    assert len(rows) == 7 and all(set(x) >= RISK_FIELDS for x in rows)
    values = [x["risk_score"] for x in rows]
    assert values == sorted(values, reverse=True)
    assert [x["user_id"] for x in rows] == risk["user_id"].head(7).tolist()
    top = risk.iloc[0]
    assert rows[0]["risk_score"] == pytest.approx(top["risk_score"])
    assert rows[0]["risk_band"] == top["risk_band"] == "high"
    assert (
        rows[0]["risk_reasons"] == split_reason_text(top["risk_reasons"])
        and rows[0]["risk_reasons"]
    )
    assert rows[0]["rule_score"] == pytest.approx(top["rule_score"])
    assert rows[0]["anomaly"] == pytest.approx(top["anomaly"])
    # The default limit, and paging with offset.
    assert len(client.get("/api/risk", headers=auth).json()["rows"]) == min(100, len(risk))
    six = [x["user_id"] for x in client.get("/api/risk?limit=6", headers=auth).json()["rows"]]
    page = client.get("/api/risk?limit=3&offset=3", headers=auth).json()["rows"]
    assert [x["user_id"] for x in page] == six[3:]
    # The band filter.
    for band in ("high", "medium", "low"):
        mine = risk[risk["risk_band"] == band]
        assert len(mine), band  # the simulated shop has accounts in every band
        got = client.get(f"/api/risk?band={band}&limit=1000", headers=auth).json()
        assert got["total"] == len(mine)
        assert [x["user_id"] for x in got["rows"]] == mine["user_id"].head(1000).tolist()
        assert {x["risk_band"] for x in got["rows"]} == {band}
    for query in ("limit=0", "limit=1001", "band=purple", "offset=-1"):
        assert client.get(f"/api/risk?{query}", headers=auth).status_code == 422, query
    assert client.get("/api/risk?limit=1000", headers=auth).status_code == 200


def test_customer_fraud_risk(
    client: TestClient, auth: dict[str, str], shop: tuple[Path, str]
) -> None:
    """fraud_risk is the account's risk; risk_band stays the churn band."""
    risk = _risk(shop)
    scores = _scores(shop).set_index("user_id")
    for row in (risk.iloc[0], risk[risk["risk_band"] == "low"].iloc[0]):
        p = client.get(f"/api/customers/{row['user_id']}", headers=auth).json()
        assert p["fraud_risk"] == {
            "risk_score": pytest.approx(row["risk_score"]),
            "risk_band": row["risk_band"],
            "risk_reasons": split_reason_text(row["risk_reasons"]),
        }
        assert p["risk_band"] == scores.loc[row["user_id"], "risk_band"]


def test_risk_without_risk_outputs(
    shop: tuple[Path, str], auth: dict[str, str], tmp_path: Path
) -> None:
    """A run made with [risk] in_run = false (or before risk existed): 404, no fraud_risk."""
    path, run_id = shop
    ws_path = tmp_path / "old"
    shutil.copytree(path / "runs" / run_id, ws_path / "runs" / run_id)
    for name in ("risk.parquet", "risk_orders.parquet"):
        (ws_path / "runs" / run_id / name).unlink()
    (ws_path / "runs" / "latest.json").write_text(json.dumps({"run_id": run_id}))
    shutil.copy(path / "apikeys.json", ws_path / "apikeys.json")
    c = TestClient(_app(ws_path))
    r = c.get("/api/risk", headers=auth)
    assert r.status_code == 404 and "no risk scores" in r.json()["detail"]
    assert run_id in r.json()["detail"]
    uid = _scores(shop)["user_id"].iloc[0]
    p = c.get(f"/api/customers/{uid}", headers=auth)
    assert p.status_code == 200 and p.json()["fraud_risk"] is None


def test_plan(client: TestClient, auth: dict[str, str], shop: tuple[Path, str]) -> None:
    r = client.post("/api/campaigns/plan", headers=auth, json={"budget": 5.0, "rows": 3})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["run_id"] == shop[1] and p["as_of"] == AS_OF.isoformat()
    assert p["spend"] <= 5.0 + 1e-9 and p["planned"] == sum(p["by_action"].values())
    assert len(p["rows"]) == min(3, p["total_rows"])
    assert {"user_id", "action", "expected_uplift", "cost"} <= set(p["rows"][0])
    # No randomised campaign with a complete 365-day window: effects are measured over
    # the longest outcome some campaign completed, and the plan says which.
    r = client.post("/api/campaigns/plan", headers=auth, json={"budget": 5.0, "horizon": 365})
    assert r.status_code == 200, r.text
    assert client.post("/api/campaigns/plan", headers=auth, json={"budget": 0}).status_code == 422


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {
        "/health",
        "/api/events",
        "/api/customers/{user_id}/recommendations",
        "/api/sentiment",
        "/api/risk",
    } <= set(spec["paths"])
    body = spec["paths"]["/api/sentiment"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["texts"]["maxItems"] == 1000
    body = spec["paths"]["/api/events"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["maxItems"] == 10_000


# -- sentiment -------------------------------------------------------------------------

OBVIOUS = {
    "非常满意，五星好评": ("positive", "zh"),
    "质量太差了，退货": ("negative", "zh"),
    "Love it, works great": ("positive", "en"),
    "Terrible, broke after a day": ("negative", "en"),
}


def test_sentiment_needs_a_key(client: TestClient) -> None:
    body = {"texts": ["非常满意"]}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = client.post("/api/sentiment", headers=headers, json=body)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    # The key is checked before the body is read, however large or broken it is.
    assert client.post("/api/sentiment", content=b"x" * 100_000).status_code == 401


def test_sentiment_rejects_bad_bodies(client: TestClient, auth: dict[str, str]) -> None:
    cases = {
        "empty": {"texts": []},
        "too_many": {"texts": ["ok"] * 1001},
        "too_long": {"texts": ["好" * 5001]},
        "missing": {},
        "not_text": {"texts": [{"a": 1}]},
        "extra": {"texts": ["ok"], "lang": "zh"},
    }
    for what, body in cases.items():
        r = client.post("/api/sentiment", headers=auth, json=body)
        assert r.status_code == 422, what
        assert r.json()["detail"][0]["loc"][0] == "body", what
    assert client.post("/api/sentiment", headers=auth, content=b"{").status_code == 422
    # The limits themselves are fine.
    r = client.post("/api/sentiment", headers=auth, json={"texts": ["好" * 5000] + ["ok"] * 999})
    assert r.status_code == 200 and len(r.json()["results"]) == 1000


def test_sentiment_labels(client: TestClient, auth: dict[str, str]) -> None:
    texts = list(OBVIOUS)
    r = client.post("/api/sentiment", headers=auth, json={"texts": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body["model"], str) and body["model"]
    assert [x["text"] for x in body["results"]] == texts  # in the order sent
    for x in body["results"]:
        label, lang = OBVIOUS[x["text"]]
        assert (x["label"], x["lang"]) == (label, lang), x
        assert 0.0 <= x["p_positive"] <= 1.0
        assert (x["p_positive"] >= 0.5) == (label == "positive"), x
    # The same model answers the next request: loaded once per server.
    again = client.post("/api/sentiment", headers=auth, json={"texts": texts[:1]}).json()
    assert again["model"] == body["model"]
    assert again["results"][0]["p_positive"] == body["results"][0]["p_positive"]


def test_sentiment_while_a_writer_holds_the_warehouse(
    shop: tuple[Path, str], auth: dict[str, str]
) -> None:
    """A fresh server loads the model during a run: the model is a file, no DuckDB."""
    c = TestClient(_app(shop[0]))
    with liucun.Workspace(shop[0]) as ws:
        ws.warehouse.con  # noqa: B018 (open read-write, as a run would)
        r = c.post("/api/sentiment", headers=auth, json={"texts": ["Love it"]})
    assert r.status_code == 200, r.text


def test_sentiment_model_reloads_when_the_file_changes(tmp_path: Path) -> None:
    """Needs no run; a new model file (a retrain) is picked up without a restart."""
    from liucun.models.text.sentiment import SentimentModel
    from liucun.tasks.reviews import MODEL_FILE

    app = _app(tmp_path)
    c = TestClient(app)
    auth = {"Authorization": f"Bearer {KeyStore(tmp_path).create('k')}"}
    first = c.post("/api/sentiment", headers=auth, json={"texts": ["Love it"]})
    assert first.status_code == 200, first.text
    holder = app.state.sentiment
    model = holder.current()[0]
    assert c.post("/api/sentiment", headers=auth, json={"texts": ["ok"]}).status_code == 200
    assert holder.current()[0] is model  # cached, not loaded per request
    path = tmp_path / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    SentimentModel.lexicon_only().save(path)
    holder.check_seconds = 0
    second = c.post("/api/sentiment", headers=auth, json={"texts": ["Love it"]}).json()
    assert second["model"] != first.json()["model"] and second["model"].startswith("file-")
    assert holder.current()[0] is not model


# -- events ----------------------------------------------------------------------------


def test_bad_events_are_422_and_write_nothing(
    client: TestClient, auth: dict[str, str], shop: tuple[Path, str]
) -> None:
    before = pending(shop[0])
    good = {"user_id": "u1", "ts": _now(), "event_type": "view", "item_id": "i1"}
    cases = {
        "event_type": [{**good, "event_type": "teleport"}],
        "user_id": [{k: v for k, v in good.items() if k != "user_id"}],
        "ts": [{**good, "ts": "2999-01-01T00:00:00Z"}],
        "too_long": [good] * 10_001,
        "too_short": [],
    }
    for what, body in cases.items():
        r = client.post("/api/events", headers=auth, json=body)
        assert r.status_code == 422, what
        detail = r.json()["detail"]
        assert detail and all(d["msg"] for d in detail)
        if what in ("event_type", "user_id", "ts"):
            assert detail[0]["loc"] == ["body", 0, what], detail
    r = client.post("/api/events", headers=auth, content=b"[{")
    assert r.status_code == 422
    assert pending(shop[0]) == before


def test_events_update_recommendations_at_once(
    client: TestClient, auth: dict[str, str], shop: tuple[Path, str]
) -> None:
    recs = pd.read_parquet(shop[0] / "runs" / shop[1] / "recommendations.parquet")
    user = recs["user_id"].iloc[-1]
    top = list(recs.loc[recs["user_id"] == user].sort_values("rank")["item_id"][:3])
    events = [
        {"user_id": user, "ts": _now(), "event_type": "purchase", "item_id": i, "value": 9.5}
        for i in top
    ]
    r = client.post("/api/events", headers=auth, json=events)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["accepted"] == 3 and body["recommendations_updated"] is True
    assert body["users_updated"] == [user]
    assert (shop[0] / "inbox" / body["file"]).is_file()
    saved = pd.read_parquet(shop[0] / "inbox" / body["file"])
    assert list(saved["item_id"]) == top and str(saved["ts"].dt.tz) == "UTC"
    r = client.get(f"/api/customers/{user}/recommendations?k=10", headers=auth)
    after = r.json()
    assert after["live"] is True and len(after["items"]) == 10
    assert not set(top) & {i["item_id"] for i in after["items"]}  # bought: not again
    # Events without a known item are accepted; recommendations stay the run's.
    r = client.post(
        "/api/events", headers=auth, json=[{"user_id": "new", "ts": _now(), "event_type": "login"}]
    )
    assert r.status_code == 202 and r.json()["users_updated"] == []


def test_new_run_is_served_without_failing_requests(
    client: TestClient, auth: dict[str, str], shop: tuple[Path, str]
) -> None:
    path, first = shop
    client.post(
        "/api/events",
        headers=auth,
        json=[{"user_id": "u0001", "ts": _now(), "event_type": "view", "item_id": "i001"}] * 2,
    )
    files = pending(path)
    assert files
    posted = sum(len(pd.read_parquet(f)) for f in files)
    n_before = _events(path)
    user = _scores(shop)["user_id"].iloc[0]
    statuses: list[int] = []
    runs: set[str] = set()
    stop = threading.Event()

    def hammer() -> None:
        c = TestClient(client.app)
        while not stop.is_set():
            for url in (f"/api/customers/{user}", f"/api/customers/{user}/recommendations"):
                r = c.get(url, headers=auth)
                statuses.append(r.status_code)
                runs.add(r.json().get("run_id", "?"))
            time.sleep(0.05)

    t = threading.Thread(target=hammer)
    t.start()
    try:
        with liucun.Workspace(path) as ws:
            second = run(ws, AS_OF).run_id
        time.sleep(0.2)
    finally:
        stop.set()
        t.join()
    assert statuses and set(statuses) == {200}
    assert runs <= {first, second}
    assert client.get("/health").json()["run_id"] == second
    assert client.get(f"/api/customers/{user}", headers=auth).json()["run_id"] == second
    # The run ingested the inbox first and moved its files to done/.
    assert _events(path) == n_before + posted
    assert not pending(path)
    assert all((path / "inbox" / "done" / f.name).is_file() for f in files)


# -- no run, intake, CLI ---------------------------------------------------------------


def test_before_the_first_run(tmp_path: Path) -> None:
    c = TestClient(_app(tmp_path))
    auth = {"Authorization": f"Bearer {KeyStore(tmp_path).create('k')}"}
    assert c.get("/health").json() == {"status": "no run", "run_id": None, "as_of": None}
    for route in ("/api/segments", "/api/risk"):
        r = c.get(route, headers=auth)
        assert r.status_code == 503 and "liucun run" in r.json()["detail"]
    r = c.post(
        "/api/events", headers=auth, json=[{"user_id": "a", "ts": _now(), "event_type": "view"}]
    )
    assert r.status_code == 202 and r.json()["recommendations_updated"] is False
    assert len(pending(tmp_path)) == 1


def test_intake_files(tmp_path: Path) -> None:
    ev = [
        {"user_id": " 001 ", "ts": "2024-05-01 08:00:00", "event_type": "VIEW", "item_id": 7},
        {"user_id": "002", "ts": 1714550400, "event_type": "rate", "value": 4, "properties": {}},
    ]
    (tmp_path / "liucun.toml").write_text('[ingest]\ntimezone = "Asia/Shanghai"\n')
    df = pd.read_parquet(append_events(tmp_path, ev))
    assert list(df["user_id"]) == ["001", "002"] and list(df["event_type"]) == ["view", "rate"]
    assert df["ts"].iloc[0] == pd.Timestamp("2024-05-01 00:00", tz="UTC")  # naive: local zone
    assert df["ts"].iloc[1] == pd.Timestamp("2024-05-01 08:00", tz="UTC")
    assert df["item_id"].iloc[0] == "7" and json.loads(df["properties"].iloc[1]) == {}
    with pytest.raises(IntakeError) as e:
        append_events(tmp_path, [{"user_id": "a", "ts": "soon", "event_type": "view"}])
    assert e.value.problems[0][:2] == (0, "ts")
    assert not list((tmp_path / "inbox").glob(".*"))  # no temp file left
    # An unreadable file does not block later runs: it moves to failed/.
    bad = tmp_path / "inbox" / "events-0-bad.parquet"
    bad.write_bytes(b"not parquet")
    with liucun.Workspace(tmp_path) as ws, pytest.warns(UserWarning, match="not ingested"):
        assert ingest_inbox(ws) == 2
        assert ws.table("events").count().execute() == 2
    assert (tmp_path / "inbox" / "failed" / bad.name).is_file()
    assert len(list((tmp_path / "inbox" / "done").iterdir())) == 1


def test_cli_apikey(tmp_path: Path) -> None:
    from liucun.cli import app

    runner = CliRunner()
    ws = ["--workspace", str(tmp_path)]
    r = runner.invoke(app, [*ws, "apikey", "create", "shop"])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    key = lines[-1]
    assert "shown once" in lines[-2] and len(key) >= 43 and " " not in key
    assert KeyStore(tmp_path).check(key) == "ok"
    r = runner.invoke(app, [*ws, "apikey", "list"])
    assert r.exit_code == 0 and "shop" in r.output and key not in r.output
    assert KeyStore(tmp_path).list()[0].sha256 not in r.output
    r = runner.invoke(app, [*ws, "apikey", "revoke", "shop"])
    assert r.exit_code == 0 and "revoked 1 key" in r.output
    assert KeyStore(tmp_path).check(key) == "revoked"


def test_assist_answers_hands_over_and_needs_a_key(
    client: TestClient, auth: dict[str, str]
) -> None:
    assert client.post("/api/assist", json={"question": "where is my parcel"}).status_code == 401
    r = client.post("/api/assist", json={"question": "where is my parcel"}, headers=auth)
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["intent"] == "delivery" and not a["handover"] and a["source"] == "faq"
    assert a["answers"] and 0 <= a["answers"][0]["score"] <= 1 and a["reply"]
    r = client.post("/api/assist", json={"question": "今天天气怎么样"}, headers=auth)
    assert r.status_code == 200 and r.json()["handover"] and r.json()["source"] == "handover"
    assert client.post("/api/assist", json={"question": ""}, headers=auth).status_code == 422
    assert client.post("/api/assist", json={"q": "x"}, headers=auth).status_code == 422
