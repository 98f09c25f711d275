"""The backtest pages in a real browser: the system Chromium driven by Playwright.

``liucun backtest --out`` and ``liucun backtest uplift --out`` write self-contained HTML.
Both are built here from small synthetic backtest results (no workspace: the pages, not
the models, are under test) and opened from disk at 1,280 x 800. Each must load with no
console error and no request at all (nothing to fetch), never be wider than the window,
keep every table inside a scroll box, and draw every chart with labelled axes whose text
stays inside the chart. Screenshots go to ``tests/artifacts/screenshots/`` (git-ignored)
for a human to look at.

Playwright's own browser download is never used: CI installs Debian's ``chromium``
(``.ci/run``); without it the module is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

from liucun import look  # noqa: E402
from liucun.backtests.pages import backtest_report, uplift_report  # noqa: E402
from liucun.backtests.uplift import UpliftBacktest, evaluate_scores  # noqa: E402
from liucun.evaluate import calibration_table, lift_curve  # noqa: E402
from liucun.evaluate.splits import summarise_backtest  # noqa: E402

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
CHURN_MODELS = ("recency", "bgnbd", "paretonbd", "boosted")
UPLIFT_MODELS = ("planner", "t_learner", "dr_learner")
ACTIONS = ("voucher_10", "voucher_20", "free_shipping", "call")

# Every chart: its box, its axes' tick labels and titles, its series colours, and any
# text drawn outside the chart's own box (a cut-off label or legend).
CHARTS_JS = """() => [...document.querySelectorAll('svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  const axis = name => {
    const g = svg.querySelector('g.axis.' + name);
    if (!g) return null;
    return {
      ticks: [...g.querySelectorAll('text.tick')].map(t => t.textContent),
      titles: [...g.querySelectorAll('text.title')].map(t => t.textContent),
    };
  };
  const outside = [...svg.querySelectorAll('text')].filter(t => {
    const r = t.getBoundingClientRect();
    return r.left < box.left - 1 || r.right > box.right + 1
      || r.top < box.top - 1 || r.bottom > box.bottom + 1;
  }).map(t => t.textContent);
  const series = Object.fromEntries([...svg.querySelectorAll('g.series')].map(
    g => [g.dataset.model, (g.querySelector('polyline') || {}).getAttribute?.call(
      g.querySelector('polyline'), 'stroke')]));
  return {
    cls: svg.getAttribute('class'), left: box.left, right: box.right,
    width: box.width, height: box.height, x: axis('x'), y: axis('y'),
    legend: svg.querySelectorAll('g.legend text').length, outside, series,
  };
})"""

PAGE_JS = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  bodyWidth: document.body.scrollWidth,
  tables: document.querySelectorAll('table').length,
  unboxed: [...document.querySelectorAll('table')].filter(t => !t.closest('.scroll')).length,
  widest: Math.max(0, ...[...document.querySelectorAll('main > *')].map(
    e => e.getBoundingClientRect().right)),
})"""


def _churn_result() -> dict[str, Any]:
    """A churn backtest result as ``liucun.backtests.churn.backtest`` returns it."""
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=3474) < 0.3).astype(int)
    noise = {"recency": 2.0, "bgnbd": 1.0, "paretonbd": 0.8, "boosted": 0.4}
    scores = {
        m: 1 / (1 + np.exp(-(2 * y - 1 + rng.normal(0, s, y.size)))) for m, s in noise.items()
    }
    cutoffs = [dt.date(2024, 7, 1), dt.date(2024, 8, 1), dt.date(2024, 9, 1)]
    rows = []
    for c in cutoffs:
        for m in CHURN_MODELS:
            rows.append(
                {
                    "cutoff": c.isoformat(),
                    "model": m,
                    "customers": 3474,
                    "roc_auc": 0.7 + rng.uniform(0, 0.1),
                    "pr_auc": 0.5 + rng.uniform(0, 0.1),
                    "brier": 0.2 + rng.uniform(0, 0.02),
                    "capture_5pct": rng.uniform(0.1, 0.2),
                    "lift_5pct": rng.uniform(2, 3),
                    "capture_10pct": rng.uniform(0.2, 0.3),
                    "lift_10pct": rng.uniform(2, 3),
                    "capture_20pct": rng.uniform(0.3, 0.5),
                    "lift_20pct": rng.uniform(1.5, 2.5),
                    "orders_mae": rng.uniform(0.5, 1.5) if m != "recency" else float("nan"),
                    "revenue_spearman": rng.uniform(0.3, 0.6) if m != "recency" else float("nan"),
                    "revenue_top10_share": rng.uniform(0.3, 0.5),
                    "revenue_top10_oracle": 0.62,
                }
            )
    return {
        "horizon_days": 60,
        "cutoffs": [c.isoformat() for c in cutoffs],
        "per_cutoff": pd.DataFrame(rows),
        "summary": summarise_backtest(rows),
        "calibration": {m: calibration_table(y, scores[m]) for m in CHURN_MODELS[1:]},
        "lift": {m: lift_curve(y, scores[m]) for m in CHURN_MODELS},
        "notes": ["2024-07-01: too few churners for the value model; the mean is used"],
    }


def _uplift_backtest() -> UpliftBacktest:
    """An uplift backtest of three models, four actions and two outcomes, with net revenue
    in the hundreds of thousands (a money axis that once read ``1.2e+05``)."""
    rng = np.random.default_rng(11)
    n = 3000
    x = rng.normal(size=n)
    treatment = rng.choice(["control", *ACTIONS], n)
    treated = treatment != "control"
    test = pd.DataFrame(
        {
            "treatment": treatment,
            "net_revenue": 1800 * (1 + treated * (0.3 + x) + rng.normal(0, 1, n)),
            "orders_window": rng.poisson(1 + 0.3 * treated * (x > 0)),
        }
    )
    rows, deciles, curves = [], [], {}
    for i, model in enumerate(UPLIFT_MODELS):
        scores = pd.DataFrame({a: x * (i + 1) / 3 + rng.normal(0, 1, n) for a in ACTIONS})
        r, d, c = evaluate_scores(scores, test, model)
        rows += r
        deciles += d
        for key, curve in c.items():
            curves.setdefault(key, {})[model] = curve
    return UpliftBacktest(
        table=pd.DataFrame(rows),
        deciles=pd.concat(deciles, ignore_index=True),
        curves=curves,
        train_campaigns=[f"cmp-2024{m:02d}-spring-reactivation" for m in range(1, 9)],
        test_campaigns=["cmp-202409-autumn-reactivation"],
        outcome={
            "net_revenue_h": "paid revenue net of discounts over the 60-day horizon",
            "orders_window": "orders in the 14-day response window",
        },
        as_of=dt.date(2024, 11, 26),
        horizon=60,
        window_days=14,
        first_test_day=dt.date(2024, 9, 1),
        train_contacts=123_456,
        test_contacts=n,
        notes=["planner: call showed neither a positive net effect nor targeting that held out"],
    )


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pages")
    return {
        "backtest": backtest_report(_churn_result(), out / "backtest.html"),
        "backtest_uplift": uplift_report(_uplift_backtest(), out / "uplift.html"),
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _open(browser: Any, path: Path, viewport: dict[str, int]) -> tuple[Any, Any, list[str]]:
    """The page loaded from disk, its context and every problem it ran into."""
    ctx = browser.new_context(viewport=viewport, locale="en-US")
    page = ctx.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    url = path.resolve().as_uri()
    page.on("request", lambda r: None if r.url == url else problems.append(f"request: {r.url}"))
    page.goto(url, wait_until="load")
    return page, ctx, problems


@pytest.mark.parametrize("name", ["backtest", "backtest_uplift"])
def test_backtest_page_in_a_browser(browser: Any, pages: dict[str, Path], name: str) -> None:
    page, ctx, problems = _open(browser, pages[name], VIEWPORT)
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        info = page.evaluate(PAGE_JS)
        charts = page.evaluate(CHARTS_JS)
    finally:
        ctx.close()
    assert problems == []
    assert info["scrollWidth"] <= VIEWPORT["width"], info
    assert info["widest"] <= VIEWPORT["width"], info
    assert info["tables"] >= 3 and info["unboxed"] == 0, info
    assert charts, "no chart"
    colours: dict[str, set[str]] = {}
    for i, c in enumerate(charts):
        where = f"chart {i}: {c}"
        assert c["cls"] == "plot", where
        assert c["width"] >= 300 and c["right"] <= VIEWPORT["width"] and c["height"] >= 200, where
        for axis in ("x", "y"):
            assert c[axis] is not None, where
            assert len(c[axis]["ticks"]) >= 3 and all(t.strip() for t in c[axis]["ticks"]), where
            assert not [t for t in c[axis]["ticks"] if "e+" in t or "e-" in t], where
            assert len(c[axis]["titles"]) == 1 and c[axis]["titles"][0], where
            assert len(set(c[axis]["ticks"])) == len(c[axis]["ticks"]), where
        assert c["legend"] >= 2 and c["outside"] == [], where
        for model, colour in c["series"].items():
            assert colour == look.model_color(model), where
            colours.setdefault(model, set()).add(colour)
    # One colour per model, whatever the chart; different models, different colours.
    assert all(len(v) == 1 for v in colours.values()), colours
    assert len({next(iter(v)) for v in colours.values()}) == len(colours), colours


@pytest.mark.parametrize("width", [900, 600])
def test_backtest_pages_fit_narrow_windows(
    browser: Any, pages: dict[str, Path], width: int
) -> None:
    for name, path in pages.items():
        page, ctx, problems = _open(browser, path, {"width": width, "height": 800})
        try:
            info = page.evaluate(PAGE_JS)
            charts = page.evaluate(CHARTS_JS)
        finally:
            ctx.close()
        assert problems == []
        assert info["scrollWidth"] <= width, (name, info)
        assert all(c["right"] <= width and c["outside"] == [] for c in charts), name
