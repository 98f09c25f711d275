"""The demo's report and `liucun report` in a real browser (the system Chromium).

Both reports of a small simulated shop are opened from disk (file://) at 1280 × 800, as
an analyst opens a mailed report: no console error and nothing fetched from anywhere, no
horizontal overflow (a long cohort table scrolls in its box), and every chart has axis
tick labels. Screenshots go to ``tests/artifacts/screenshots/`` (git-ignored).

Playwright's own browser download is never used: CI installs Debian's ``chromium``
(``.ci/run``); without it the module is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

import liucun  # noqa: E402
from liucun.pipeline.run import run  # noqa: E402
from liucun.report import summary_report, workspace_report  # noqa: E402

TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
START, DAYS = dt.date(2024, 1, 1), 300
WIDTH = 1280

# Per <svg> in the page: its box and the texts that read as tick labels (numbers, shares,
# ratios, dates such as 2024-03 or 5 Mar).
CHARTS_JS = r"""() => [...document.querySelectorAll('main svg')].map(s => {
  const r = s.getBoundingClientRect();
  const texts = [...s.querySelectorAll('text')].map(t => t.textContent.trim());
  const tick = /^(-?[\d.,]+(%|×|k|M)?|\d{4}-\d{2}|\d{1,2} [A-Z][a-z]{2})$/;
  return {label: s.getAttribute('aria-label') || s.querySelector('title')?.textContent,
          left: r.left, right: r.right, width: r.width, height: r.height,
          ticks: texts.filter(t => tick.test(t))};
})"""


def _quick(ws_path: Path, *sections: str) -> None:
    """Turn the named stages' ``in_run`` off in liucun.toml (neither is drawn here)."""
    toml = ws_path / "liucun.toml"
    text, on = toml.read_text(encoding="utf-8"), "\nin_run = true\n"
    for name in sections:
        at = text.index(on, text.index(f"\n[{name}]\n"))
        text = text[:at] + "\nin_run = false\n" + text[at + len(on) :]
    toml.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def reports(
    simulated_workspace: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Both reports of a shop after one run: the demo's summary and `liucun report`
    in English and Chinese."""
    path = simulated_workspace(TABLES, users=700, days=DAYS, holdout_days=0, seed=5, start=START)
    _quick(path, "recommend", "plan")
    out = tmp_path_factory.mktemp("reports")
    with liucun.Workspace(path) as ws:
        res = run(ws, START + dt.timedelta(days=DAYS))
        orders = ws.table("orders")
        daily = orders.group_by(day=orders.ts.truncate("D")).aggregate(n=orders.count()).execute()
        summary = summary_report(
            out / "summary.html",
            "liucun demo — simulated shop",
            ws.warehouse.summary(),
            daily.set_index("day")["n"].sort_index(),
            [f"run {res.run_id}"],
        )
        return {
            "summary": summary,
            "report_en": workspace_report(ws, out / "report_en.html"),
            "report_zh": workspace_report(ws, out / "report_zh.html", lang="zh"),
        }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A fresh 1280 × 800 page and the problems it runs into: console errors, page
    errors, failed requests and any request that is not the file itself."""
    ctx = browser.new_context(viewport={"width": WIDTH, "height": 800}, locale="en-US")
    pg, problems = ctx.new_page(), []
    pg.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else 0)
    pg.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    pg.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    pg.on("request", lambda r: None if r.url.startswith("file:") else problems.append(r.url))
    try:
        yield pg, problems
    finally:
        ctx.close()


def _overflow(pg: Any) -> int:
    return int(pg.evaluate("document.documentElement.scrollWidth"))


@pytest.mark.parametrize("name", ["summary", "report_en", "report_zh"])
def test_report_in_a_browser(name: str, reports: dict[str, Path], page: Any) -> None:
    pg, problems = page
    pg.goto(reports[name].resolve().as_uri(), wait_until="load")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert problems == []
    assert _overflow(pg) <= WIDTH
    charts = pg.evaluate(CHARTS_JS)
    # The summary: daily orders; the report: stages, risk bands, calibration, churn by band.
    assert len(charts) == (1 if name == "summary" else 4), [c["label"] for c in charts]
    for c in charts:
        assert c["width"] > 200 and c["height"] > 150, c
        assert c["left"] >= 0 and c["right"] <= WIDTH, c
        assert len(c["ticks"]) >= 5, c  # both axes carry labels
    if name == "summary":
        ticks = charts[0]["ticks"]
        assert sum(t.startswith("2024-") for t in ticks) >= 6, ticks  # months on the x axis
        assert "T00:" not in pg.inner_text("main")


def test_long_cohort_table_scrolls_in_its_box(reports: dict[str, Path], page: Any) -> None:
    """A shop with years of history has many more cohort months than the simulated one:
    the table scrolls inside its box, the page does not grow wider."""
    pg, problems = page
    pg.goto(reports["report_en"].resolve().as_uri(), wait_until="load")
    pg.evaluate(
        """() => {
      const t = document.getElementById('cohort-heatmap');
      for (const row of t.rows) for (let i = 0; i < 30; i++)
        row.appendChild(row.cells[row.cells.length - 1].cloneNode(true));
    }"""
    )
    box = pg.evaluate(
        """() => { const b = document.getElementById('cohort-heatmap').parentElement;
      return {cls: b.className, scroll: b.scrollWidth, client: b.clientWidth}; }"""
    )
    assert box["cls"] == "scroll" and box["scroll"] > box["client"], box
    assert _overflow(pg) <= WIDTH
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / "report_long_cohorts.png"), full_page=False)
    assert problems == []
