"""The dashboard in a real browser: the system Chromium driven by Playwright.

The real app (``liucun.serve.app.create_app``) is served by uvicorn in a background
thread on 127.0.0.1 over a simulated shop after one daily run. Every page must load with
no console error, no failed request and nothing fetched from another origin (the
dashboard works offline), every chart must be drawn (a model in its own colour), and no
page may scroll sideways in a 1280×800 window, nor may the pages of a wide shop (long
ids and action names, three years of cohorts: the hand-made run of
``test_dashboard_look``). Screenshots of each page go to ``tests/artifacts/screenshots/``
(git-ignored) for a human to look at.

Playwright's own browser download is never used: CI installs Debian's ``chromium``
(``.ci/run``); without it the module is skipped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

import liucun  # noqa: E402
from liucun.serve import i18n  # noqa: E402

TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
CJK = re.compile(r"[\u4e00-\u9fff]")
VIEWPORT = {"width": 1280, "height": 800}
# Pages and whether they must show at least one chart.
PAGES = {
    "overview": ("/", True),
    "segments": ("/segments", True),
    "at_risk": ("/at-risk", False),
    "customer": (None, False),  # the top customer of the at-risk list
    "campaigns": ("/campaigns", True),
    "reviews": ("/reviews", True),
    "risk": ("/risk", True),
    "model": ("/model", True),
}

# Every <canvas> with its size, whether Chart.js owns it and whether anything was drawn
# (its pixels differ from a blank canvas of the same size); every <svg> with its children.
CHARTS_JS = """() => {
  const canvases = [...document.querySelectorAll('canvas')].map(c => {
    const blank = document.createElement('canvas');
    blank.width = c.width; blank.height = c.height;
    return {
      id: c.id, width: c.width, height: c.height,
      chartjs: !!(window.Chart && window.Chart.getChart(c)),
      drawn: c.width > 0 && c.height > 0 && c.toDataURL() !== blank.toDataURL(),
    };
  });
  const svgs = [...document.querySelectorAll('main svg')].map(s => ({
    id: s.id, width: s.getBoundingClientRect().width,
    height: s.getBoundingClientRect().height, children: s.childElementCount,
  }));
  const data = document.getElementById('chart-data');
  const declared = data ? JSON.parse(data.textContent).length : 0;
  return {canvases, svgs, declared};
}"""

# How wide the page is: wider than the window means a sideways scroll bar.
PAGE_WIDTH_JS = "() => document.documentElement.scrollWidth"

# The colours Chart.js drew each chart's datasets in, by canvas id.
CHART_COLOURS_JS = """() => Object.fromEntries([...document.querySelectorAll('canvas')].map(c => {
  const chart = window.Chart && window.Chart.getChart(c);
  return [c.id, chart ? chart.data.datasets.map(d => [d.borderColor, d.backgroundColor]) : null];
}))"""

ALL_DRAWN_JS = """() => {
  const cs = [...document.querySelectorAll('canvas')];
  return cs.every(c => {
    if (!(c.width > 0 && c.height > 0)) return false;
    const blank = document.createElement('canvas');
    blank.width = c.width; blank.height = c.height;
    return c.toDataURL() !== blank.toDataURL();
  });
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serve(path: Path) -> Iterator[str]:
    """The real app on 127.0.0.1 over the workspace at ``path``: its URL."""
    import uvicorn

    from liucun.serve.app import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(path), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def served(simulated_workspace: Callable[..., Path]) -> Iterator[dict[str, Any]]:
    """The real app on 127.0.0.1 over a simulated shop after one run, and a key."""
    from liucun.pipeline.run import run
    from liucun.serve.keys import KeyStore

    start = dt.date(2024, 1, 1)
    days = 300
    path = simulated_workspace(TABLES, users=1500, days=days, holdout_days=0, seed=11, start=start)
    with liucun.Workspace(path) as ws:
        res = run(ws, start + dt.timedelta(days=days))
    key = KeyStore(path).create("browser")
    with _serve(path) as url:
        yield {"url": url, "key": key, "ws": path, "run_id": res.run_id}


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app over the hand-made run of a wide shop (tests/serve/test_dashboard_look.py)."""
    from test_dashboard_look import PAGES as WIDE_PAGES
    from test_dashboard_look import write_run

    from liucun.serve.keys import KeyStore

    path = tmp_path_factory.mktemp("wide") / "ws"
    write_run(path)
    key = KeyStore(path).create("browser")
    with _serve(path) as url:
        yield {"url": url, "key": key, "pages": WIDE_PAGES}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


class Problems(list):
    """Console errors, uncaught page errors, failed requests and requests to any other
    origin, as they happen in a page."""

    def watch(self, page: Any, origin: str) -> Any:
        page.on(
            "console",
            lambda m: self.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.append(f"request failed: {r.url} ({r.failure})"))
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith((origin, "data:", "blob:", "about:"))
                else self.append(f"request to another origin: {r.url}")
            ),
        )
        return page


@pytest.fixture
def anonymous(browser: Any, served: dict[str, Any]) -> Iterator[tuple[Any, Problems]]:
    """A fresh page with no key, and the problems it runs into."""
    ctx = browser.new_context(viewport=VIEWPORT, locale="en-US")
    problems = Problems()
    page = problems.watch(ctx.new_page(), served["url"])
    try:
        yield page, problems
    finally:
        ctx.close()


@pytest.fixture
def signed_in(browser: Any, served: dict[str, Any]) -> Iterator[tuple[Any, Problems]]:
    """A fresh page holding the ``liucun_key`` cookie, as ``/login`` sets it."""
    ctx = browser.new_context(viewport=VIEWPORT, locale="en-US")
    ctx.add_cookies(
        [{"name": "liucun_key", "value": served["key"], "url": served["url"], "httpOnly": True}]
    )
    problems = Problems()
    page = problems.watch(ctx.new_page(), served["url"])
    try:
        yield page, problems
    finally:
        ctx.close()


def _open(page: Any, url: str) -> Any:
    resp = page.goto(url, wait_until="load")
    assert resp is not None and resp.status == 200, (url, resp and resp.status)
    return resp


def _no_sideways_scroll(page: Any, name: str) -> None:
    """The page fits the window's width: nothing pushes it past 1280 px (a wide table
    scrolls inside its own box)."""
    width = page.evaluate(PAGE_WIDTH_JS)
    assert width <= VIEWPORT["width"], f"{name}: the page is {width}px wide"


def _chart_colours(page: Any) -> None:
    """Every colour the page's chart data names (a model's, from liucun.look) is the one
    Chart.js drew: the dataset, the series, the reference line, the interval's point."""
    node = page.locator("#chart-data")
    if not node.count():
        return
    specs = {s["id"]: s for s in json.loads(node.text_content())}
    drawn = page.evaluate(CHART_COLOURS_JS)
    for cid, spec in specs.items():
        got = drawn.get(cid)
        want: dict[int, str] = {}
        if spec["kind"] == "bar":
            want = {i: d["color"] for i, d in enumerate(spec["datasets"]) if d.get("color")}
            got = got and [[b, b] for _, b in got]  # a bar's colour is its fill
        elif spec["kind"] == "unit":
            want = {i + 1: x["color"] for i, x in enumerate(spec["series"]) if x.get("color")}
            if spec.get("reference_color"):
                want[0] = spec["reference_color"]
        elif spec.get("color"):
            want = {0: spec["color"]}
        for i, colour in want.items():
            assert got and got[i][0] == colour, (cid, i, colour, got)


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _charts(page: Any) -> dict[str, Any]:
    """Waits for every canvas to be drawn (Chart.js animates), then describes them."""
    if page.locator("canvas").count():
        # A timeout is reported by the caller's assertions, canvas by canvas.
        with contextlib.suppress(sync_api.TimeoutError):
            page.wait_for_function(ALL_DRAWN_JS, timeout=10_000)
    return page.evaluate(CHARTS_JS)


def _top_customer(page: Any, served: dict[str, Any]) -> str:
    _open(page, served["url"] + "/at-risk")
    href = page.locator("#at-risk tbody tr a").first.get_attribute("href")
    assert href and href.startswith("/customers/"), href
    return href


def test_login_form_sets_the_key(anonymous: tuple[Any, Problems], served) -> None:
    page, problems = anonymous
    page.goto(served["url"] + "/segments")
    assert urlparse(page.url).path == "/login"  # no key: sent to sign in, then back
    assert parse_qs(urlparse(page.url).query)["next"] == ["/segments"]
    _no_sideways_scroll(page, "login")
    page.fill("input[name=key]", served["key"])
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    assert urlparse(page.url).path == "/segments"
    assert page.locator("h1").first.is_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["liucun_key"]["httpOnly"] is True
    _no_sideways_scroll(page, "segments")
    assert problems == []
    _shot(page, "login_done")


@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_and_draws(signed_in: tuple[Any, Problems], served, name: str) -> None:
    page, problems = signed_in
    path, wants_chart = PAGES[name]
    if path is None:
        path = _top_customer(page, served)
    _open(page, served["url"] + path)
    assert page.locator("h1").first.is_visible()
    assert served["run_id"] in page.inner_text("body")  # the run it serves is named
    charts = _charts(page)
    _shot(page, name)
    canvases, svgs = charts["canvases"], charts["svgs"]
    if wants_chart:
        assert canvases or svgs, f"{name}: no chart"
    # Every chart declared in the page's data is on it.
    assert len(canvases) + len(svgs) >= charts["declared"], charts
    for c in canvases:
        assert c["width"] > 0 and c["height"] > 0, (name, c)
        assert c["chartjs"], f"{name}: canvas {c['id']!r} is not a Chart.js chart"
        assert c["drawn"], f"{name}: canvas {c['id']!r} is blank"
    for s in svgs:
        assert s["width"] > 0 and s["height"] > 0 and s["children"] > 0, (name, s)
    _chart_colours(page)
    _no_sideways_scroll(page, name)
    assert problems == [], problems


def test_a_wide_shop_never_scrolls_sideways(browser: Any, wide: dict[str, Any]) -> None:
    """Long ids and action names, three years of cohorts: every table scrolls in its own
    box, in either language."""
    ctx = browser.new_context(viewport=VIEWPORT, locale="en-US")
    ctx.add_cookies([{"name": "liucun_key", "value": wide["key"], "url": wide["url"]}])
    problems = Problems()
    page = problems.watch(ctx.new_page(), wide["url"])
    try:
        for path in wide["pages"]:
            for lang in ("en", "zh"):
                _open(page, f"{wide['url']}{path}?lang={lang}")
                _no_sideways_scroll(page, f"{path} ({lang})")
        _shot(page, "wide_customer_zh")
    finally:
        ctx.close()
    assert problems == [], problems


def test_at_risk_filter(signed_in: tuple[Any, Problems], served) -> None:
    page, problems = signed_in
    _open(page, served["url"] + "/at-risk")
    rows = page.locator("#at-risk tbody tr")
    before = rows.count()
    assert before > 0
    bands = [
        v
        for v in page.locator("select[name=band] option").evaluate_all("os => os.map(o => o.value)")
    ]
    band = "high" if "high" in bands else next(b for b in bands if b)
    page.select_option("select[name=band]", band)
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert parse_qs(urlparse(page.url).query)["band"] == [band]
    assert page.locator("select[name=band]").input_value() == band
    n = rows.count()
    assert 0 < n <= before
    shown = rows.evaluate_all("rs => rs.map(r => r.dataset.band)")
    assert shown == [band] * n
    labels = page.locator("#at-risk tbody tr span.band").all_inner_texts()
    assert set(labels) == {i18n.value("en", band)}
    _shot(page, "at_risk_filtered")

    # A segment as well: every row is in it, and in the band.
    segments = page.locator("select[name=segment] option").evaluate_all(
        "os => os.map(o => o.value).filter(v => v)"
    )
    assert segments
    col = page.locator("#at-risk thead th").all_inner_texts().index(i18n.strings("en").segment)
    for segment in segments:
        page.select_option("select[name=segment]", segment)
        with page.expect_navigation():
            page.click("form.filters button[type=submit]")
        m = rows.count()
        assert m <= n
        if m:
            break
    cells = rows.evaluate_all(f"rs => rs.map(r => r.cells[{col}].innerText.trim())")
    assert cells == [segment] * m
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.band)") == [band] * m
    assert problems == [], problems


def test_at_risk_is_the_actionable_list(signed_in: tuple[Any, Problems], served) -> None:
    """By default no prospects and no customers gone for good, recent buyers not first,
    every reason in words with its direction; ticking "Show prospects" brings them back."""
    from liucun.decide.at_risk import RECENT_DAYS
    from liucun.features import FEATURES
    from liucun.models.reasons import NOTHING

    page, problems = signed_in
    en = i18n.strings("en")
    _open(page, served["url"] + "/at-risk")
    rows = page.locator("#at-risk tbody tr")
    assert rows.count() > 0
    stages = rows.evaluate_all("rs => rs.map(r => r.dataset.stage)")
    assert not {"prospect", "churned"} & set(stages), stages
    assert page.locator("#left-out").is_visible()
    col = page.locator("#at-risk thead th").all_inner_texts().index(en.recency_days)
    days = rows.evaluate_all(f"rs => rs.map(r => r.cells[{col}].innerText.trim())")
    assert float(days[0].replace(",", "")) > RECENT_DAYS, days[:5]  # a recent buyer is not first
    reasons = page.locator("#at-risk td.reasons span").all_inner_texts()
    assert reasons
    direction = re.compile(rf": (raises|lowers) risk$|^{re.escape(NOTHING)}$")
    names = [f.name for f in FEATURES if "_" in f.name]
    for text in reasons:
        assert direction.search(text), text
        assert "NULL" not in text and not any(n in text for n in names), text
    _shot(page, "at_risk_actionable")

    # The prospects (segment "Prospect" in this shop) are left out until the box is ticked.
    segments = page.locator("select[name=segment] option").evaluate_all(
        "os => os.map(o => o.value)"
    )
    assert "Prospect" in segments
    page.select_option("select[name=segment]", "Prospect")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert rows.count() == 0
    assert page.locator("#left-out").is_visible()
    box = page.locator("input[name=include_prospects]")
    assert not box.is_checked()
    box.check()
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert parse_qs(urlparse(page.url).query)["include_prospects"] == ["1"]
    assert page.locator("input[name=include_prospects]").is_checked()
    assert rows.count() > 0
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.stage)")) == {"prospect"}
    assert all(
        direction.search(t) for t in page.locator("#at-risk td.reasons span").all_inner_texts()
    )
    csv = page.locator("a[download]").get_attribute("href")
    assert csv and "include_prospects=1" in csv
    _shot(page, "at_risk_prospects")
    # Unticked again, they are gone.
    page.locator("input[name=include_prospects]").uncheck()
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert rows.count() == 0
    assert problems == [], problems


def test_language_switch(signed_in: tuple[Any, Problems], served) -> None:
    page, problems = signed_in
    en, zh = i18n.strings("en"), i18n.strings("zh")
    _open(page, served["url"] + "/at-risk")
    assert page.locator("html").get_attribute("lang") == "en"
    assert not CJK.search(page.locator("nav").inner_text())
    with page.expect_navigation():
        page.click("a.lang")
    assert parse_qs(urlparse(page.url).query)["lang"] == ["zh"]
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    nav = page.locator("nav").inner_text()
    assert zh.nav_at_risk in nav and zh.nav_overview in nav and CJK.search(nav)
    assert CJK.search(page.locator("h1").first.inner_text())
    _no_sideways_scroll(page, "at_risk (zh)")
    _shot(page, "at_risk_zh")
    # Remembered: the next page, with no ?lang, is still in Chinese; charts still draw.
    _open(page, served["url"] + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert CJK.search(page.locator("h1").first.inner_text())
    assert all(c["drawn"] for c in _charts(page)["canvases"])
    _no_sideways_scroll(page, "overview (zh)")
    _shot(page, "overview_zh")
    # And back.
    with page.expect_navigation():
        page.click("a.lang")
    assert page.locator("html").get_attribute("lang") == "en"
    assert en.nav_at_risk in page.locator("nav").inner_text()
    assert problems == [], problems
