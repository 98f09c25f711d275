"""Serving under abuse and offline: body limits, work off the event loop, the plan cache,
path-free 503s, and API docs that load nothing from another origin.

No pipeline run here (seconds, not a minute): a run is its ``run.json`` and the
``runs/latest.json`` pointer, which is all the server reads before the plan, and the
plan task is replaced by a counting stand-in where a test is about the server around it.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from liucun.serve import api
from liucun.serve.app import create_app
from liucun.serve.keys import KeyStore
from liucun.serve.snapshot import Snapshots

AS_OF = "2024-07-19"
MIB = 1024 * 1024


def _publish_run(ws: Path, run_id: str) -> None:
    """A completed run as the server sees it: its folder's run.json and the pointer."""
    run_dir = ws / "runs" / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"run_id": run_id, "as_of": AS_OF}))
    (ws / "runs" / "latest.json").write_text(json.dumps({"run_id": run_id}))


def _app(ws: Path, toml: str = "") -> Any:
    if toml:
        (ws / "liucun.toml").write_text(toml, encoding="utf-8")
    app = create_app(ws)
    app.state.snapshots = Snapshots(ws, check_seconds=0)
    return app


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    path = tmp_path / "shop"
    path.mkdir()
    return path


@pytest.fixture
def auth(ws: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {KeyStore(ws).create('tests')}"}


@pytest.fixture
def client(ws: Path) -> Iterator[TestClient]:
    """One event loop for every request (``with``), as under uvicorn."""
    _publish_run(ws, "r1")
    with TestClient(_app(ws)) as c:
        yield c


class FakePlan:
    """Stands in for the campaign planner (23-28 s on a real shop): counts its calls and
    can hold one until released."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, ws: Any, as_of: Any, budget: float, horizon: int | None, **kw: Any) -> Any:
        self.calls.append((str(as_of), budget, horizon))
        self.entered.set()
        assert self.release.wait(10)
        users = [f"u{i}" for i in range(5)]
        df = pd.DataFrame(
            {
                "user_id": users,
                "action": ["coupon_pct"] * 4 + ["control"],
                "expected_uplift": [0.4, 0.3, 0.2, 0.1, 0.0],
                "cost": [budget / 8] * 4 + [0.0],
            }
        )
        stats = {
            "budget": budget,
            "horizon_days": horizon or 90,
            "spend": budget / 2,
            "planned": 4,
            "control": 1,
            "by_action": {"coupon_pct": 4},
            "expected_uplift": 1.0,
        }
        return SimpleNamespace(plan=df, stats=stats)


@pytest.fixture
def fake_plan(monkeypatch: pytest.MonkeyPatch) -> FakePlan:
    fake = FakePlan()
    monkeypatch.setattr(api, "plan", fake)
    return fake


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def go() -> None:
        out["value"] = fn()

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, out


def _health_answers(c: TestClient, within: float = 5.0) -> bool:
    """/health answered within ``within`` seconds (asked from another thread)."""
    t, out = _in_thread(lambda: c.get("/health"))
    t.join(within)
    return not t.is_alive() and out["value"].status_code == 200


# -- item 17: body limits --------------------------------------------------------------


@pytest.mark.parametrize("route", ["/api/assist", "/api/campaigns/plan", "/login"])
def test_oversized_body_is_413_at_once(
    client: TestClient, auth: dict[str, str], route: str
) -> None:
    body = json.dumps({"question": "x" * (2 * MIB)}).encode()
    t = time.perf_counter()
    r = client.post(route, content=body, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413, r.text[:200]
    assert time.perf_counter() - t < 2.0
    detail = r.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "1,048,576" in detail


def test_chunked_body_is_counted_while_it_streams(client: TestClient, auth: dict[str, str]) -> None:
    """No Content-Length to check: the bytes are counted as they come."""
    sent = []

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(64):  # 4 MiB in all, unless the server stops reading
            sent.append(1)
            yield b"x" * 65536
        yield b'"}'

    r = client.post(
        "/api/assist", content=chunks(), headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code == 413 and "1,048,576" in r.json()["detail"]


def test_limits_come_from_liucun_toml(ws: Path, auth: dict[str, str]) -> None:
    toml = "[serve]\nmax_body_bytes = 2000\nmax_bulk_body_bytes = 50000\n"
    with TestClient(_app(ws, toml)) as c:
        r = c.post("/api/assist", headers=auth, json={"question": "y" * 3000})
        assert r.status_code == 413 and "2,000" in r.json()["detail"]
        events = [{"user_id": "u1", "ts": "2024-07-01T00:00:00Z", "event_type": "view"}] * 800
        r = c.post("/api/events", headers=auth, json=events)  # about 60 kB
        assert r.status_code == 413 and "50,000" in r.json()["detail"]
        r = c.post("/api/events", headers=auth, json=events[:10])
        assert r.status_code == 202, r.text


def test_bad_body_errors_are_short(client: TestClient, auth: dict[str, str]) -> None:
    """A body of many unknown fields is a short 422, not one error per field echoing the
    input (which took seconds of the event loop to encode)."""
    fields = ",".join(f'"k{i}": 0' for i in range(20_000))
    r = client.post(
        "/api/assist",
        content=("{" + fields + "}").encode(),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert len(r.content) < 10_000 and "input" not in r.json()["detail"][0]


# -- item 17: heavy work off the event loop -------------------------------------------


BODIES = {
    "/api/assist": {"question": ""},
    "/api/campaigns/plan": {"budget": -1},
    "/api/sentiment": {"texts": []},
    "/api/events": [],
}


@pytest.mark.parametrize("route", list(BODIES))
def test_bodies_are_validated_off_the_event_loop(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """While a body is being validated, other requests are answered."""
    entered, release = threading.Event(), threading.Event()
    real = api._validate

    def slow(adapter: Any, body: bytes) -> Any:
        entered.set()
        release.wait(10)
        return real(adapter, body)

    monkeypatch.setattr(api, "_validate", slow)
    t, out = _in_thread(lambda: client.post(route, headers=auth, json=BODIES[route]))
    try:
        assert entered.wait(10), "the body was not validated by api._validate"
        assert _health_answers(client), "/health waited for a body's validation"
    finally:
        release.set()
        t.join(20)
    assert out["value"].status_code == 422


def test_health_answers_while_a_plan_runs(
    client: TestClient, auth: dict[str, str], fake_plan: FakePlan
) -> None:
    fake_plan.release.clear()
    body = {"budget": 8}
    t, out = _in_thread(lambda: client.post("/api/campaigns/plan", headers=auth, json=body))
    try:
        assert fake_plan.entered.wait(10)
        assert _health_answers(client)
    finally:
        fake_plan.release.set()
        t.join(20)
    assert out["value"].status_code == 200, out["value"].text


# -- item 17: the plan cache -----------------------------------------------------------


def test_a_repeated_plan_is_served_from_the_cache(
    ws: Path, client: TestClient, auth: dict[str, str], fake_plan: FakePlan
) -> None:
    def post(**body: Any) -> dict[str, Any]:
        r = client.post("/api/campaigns/plan", headers=auth, json=body)
        assert r.status_code == 200, r.text
        return r.json()

    first = post(budget=8, rows=3)
    assert post(budget=8, rows=3) == first and len(fake_plan.calls) == 1
    # Fewer rows of the same plan: still the cache; the rows are its first ones.
    assert post(budget=8, rows=2)["rows"] == first["rows"][:2] and len(fake_plan.calls) == 1
    # Other parameters are another plan.
    assert post(budget=9, rows=3)["budget"] == 9 and len(fake_plan.calls) == 2
    post(budget=8, horizon=30)
    assert len(fake_plan.calls) == 3
    # A new run is another plan, and so is a changed liucun.toml.
    _publish_run(ws, "r2")
    assert post(budget=8, rows=3)["run_id"] == "r2" and len(fake_plan.calls) == 4
    (ws / "liucun.toml").write_text("[plan]\ncontrol_share = 0.2\n", encoding="utf-8")
    post(budget=8, rows=3)
    assert len(fake_plan.calls) == 5


# -- item 15: busy is "busy, retry", details in the server log ------------------------


HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.read()
"""


def test_busy_warehouse_is_a_plain_503(
    ws: Path,
    client: TestClient,
    auth: dict[str, str],
    fake_plan: FakePlan,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A writer in another process holds the warehouse (a run, an ingest)."""
    (ws / "liucun.toml").write_text("[warehouse]\nlock_timeout_s = 0\n", encoding="utf-8")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(ws / "warehouse.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with caplog.at_level(logging.WARNING, logger="liucun"):
            r = client.post("/api/campaigns/plan", headers=auth, json={"budget": 8})
    finally:
        holder.communicate("")
    assert r.status_code == 503
    assert r.json() == {"detail": "busy, retry"} and int(r.headers["retry-after"]) > 0
    # The details stay in the server's log.
    assert "/api/campaigns/plan: 503" in caplog.text and "warehouse" in caplog.text
    assert not fake_plan.calls


def test_no_run_yet_names_no_path(tmp_path: Path) -> None:
    key = KeyStore(tmp_path).create("k")
    with TestClient(_app(tmp_path)) as c:
        r = c.get("/api/segments", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 503 and "retry-after" in r.headers
    assert str(tmp_path) not in r.text and "liucun run" in r.json()["detail"]


# -- item 18: API docs offline ---------------------------------------------------------


URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_only_from_this_server(client: TestClient, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "http://" not in r.text and "https://" not in r.text and "//cdn" not in r.text
    urls = {a or b for a, b in URL.findall(r.text)}
    assert any(u.endswith(".js") for u in urls), urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        got = client.get(url)
        assert got.status_code == 200 and len(got.content) > 100, url
        if url.endswith(".js"):
            assert "javascript" in got.headers["content-type"]
    spec = next(u for u in re.findall(r"['\"](/[^'\"]*openapi[^'\"]*)['\"]", r.text))
    assert client.get(spec).json()["info"]["title"] == "liucun"


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium (.ci/run installs it)")
def test_docs_render_in_a_browser_cut_off_from_other_origins(ws: Path) -> None:
    """Swagger UI lists the routes and ReDoc draws the reference with every request to
    another origin refused, as on a machine with no network."""
    import socket

    import uvicorn

    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(ws), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    origin = f"http://127.0.0.1:{port}"
    elsewhere: list[str] = []
    errors: list[str] = []

    def only_here(route: Any) -> None:
        if route.request.url.startswith((origin, "data:", "blob:")):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"]
            )
            try:
                page = browser.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.route("**/*", only_here)
                page.goto(f"{origin}/docs")
                page.wait_for_selector(".opblock", timeout=20_000)
                assert page.locator(".opblock").count() >= 8  # one per route
                page.goto(f"{origin}/redoc")
                page.wait_for_selector("h1", timeout=20_000)
                assert "liucun" in page.locator("h1").first.inner_text()
                assert "/api/campaigns/plan" in page.content()
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not elsewhere and not errors
