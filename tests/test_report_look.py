"""The demo's report and `liucun report` in the shared look (issue 23).

One small simulated shop after one run (recommendations and the plan stage off: neither
is read here). What is checked is what an analyst reads: chart axes with tick labels and
plain dates, an RFM grid whose every column holds buyers, a quality list of items with
evidence, churn lift where it means something, ROI as a percentage, and the shared page.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import liucun
from liucun import look
from liucun.pipeline.run import run
from liucun.report import MIN_ORDERS, MIN_REVIEWS, summary_report, workspace_report

START = dt.date(2024, 1, 1)
DAYS = 300
TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")


def quick_stages(ws_path: Path, *sections: str) -> None:
    """Turn the named stages' ``in_run`` off in the workspace's liucun.toml."""
    toml = ws_path / "liucun.toml"
    text, on = toml.read_text(encoding="utf-8"), "\nin_run = true\n"
    for name in sections:
        head = text.index(f"\n[{name}]\n")
        at = text.index(on, head)
        assert "\n[" not in text[head + 2 : at], f"[{name}] has no in_run of its own"
        text = text[:at] + "\nin_run = false\n" + text[at + len(on) :]
    toml.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> tuple[Path, Path]:
    """A workspace after one run: (workspace, run folder)."""
    path = simulated_workspace(TABLES, users=900, days=DAYS, holdout_days=0, seed=5, start=START)
    quick_stages(path, "recommend", "plan")
    with liucun.Workspace(path) as ws:
        res = run(ws, START + dt.timedelta(days=DAYS))
    return path, Path(res.run_dir)


@pytest.fixture(scope="module")
def report(shop: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    with liucun.Workspace(shop[0]) as ws:
        workspace_report(ws, out)
    return out.read_text(encoding="utf-8")


def _block(text: str, start: str, end: str = "</table>") -> str:
    i = text.index(start)
    return text[i : text.index(end, i)]


def _cells(row: str, tag: str = "td") -> list[str]:
    return [html.unescape(c) for c in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", row)]


def _rows(block: str) -> list[str]:
    """The body rows of every table in ``block``."""
    bodies = re.findall(r"<tbody>(.*?)</tbody>", block, re.S)
    return [r for b in bodies for r in re.findall(r"<tr>(.*?)</tr>", b)]


# -- the demo's summary report -----------------------------------------------------------


def _summary(first: str, last: str) -> dict:
    """What Warehouse.summary() returns: ISO timestamps with a T and seconds."""
    tables = {"orders": 1234, "users": 500, "events": 98765}
    return {"tables": tables, "customers": 500, "revenue": 123456.789, "first_order": first,
            "last_order": last, "quarantined": 3}  # fmt: skip


@pytest.mark.parametrize("dated", [True, False], ids=["date-index", "plain-index"])
def test_summary_report_has_axes_and_plain_dates(tmp_path: Path, dated: bool) -> None:
    days = pd.date_range("2024-01-01", "2024-06-30", freq="D")
    counts = pd.Series(range(len(days)), index=days if dated else None, dtype=float) % 17
    summary = _summary("2024-01-01T08:13:05", "2024-06-30T21:40:00.123456")
    path = summary_report(tmp_path / "r.html", "demo", summary, counts, ["a note"])
    text = path.read_text(encoding="utf-8")
    assert look.stylesheet() in text  # the shared look
    assert "T08:" not in text and "T21:" not in text and "T00:" not in text
    assert "2024-01-01" in text and "2024-06-30" in text  # first and last order as dates
    assert "123,457" in text and "98,765" in text and "1,234" in text
    svg = _block(text, "<svg", "</svg>")
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', svg)
    months = [t for t in ticks if re.fullmatch(r"2024-0[1-6]", t)]
    assert months == [f"2024-0{m}" for m in range(1, 7)], ticks
    counts_axis = [t for t in ticks if re.fullmatch(r"\d+", t)]
    assert counts_axis[0] == "0" and int(counts_axis[-1]) >= 16, ticks
    assert re.search(r'class="title"[^>]*>orders</text>', svg)
    assert re.search(r'class="title"[^>]*>day</text>', svg)


def test_summary_report_fills_days_without_orders(tmp_path: Path) -> None:
    # Orders on three days a fortnight apart: the axis spans them all, by date.
    days = pd.to_datetime(["2024-03-01", "2024-03-15", "2024-03-29"])
    s = pd.Series([3.0, 5.0, 4.0], index=days)
    path = summary_report(tmp_path / "r.html", "t", _summary("2024-03-01", "2024-03-29"), s, [])
    svg = _block(path.read_text(encoding="utf-8"), "<svg", "</svg>")
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', svg)
    assert [t for t in ticks if "Mar" in t] == ["1 Mar", "8 Mar", "15 Mar", "22 Mar", "29 Mar"]
    lines = re.findall(r'<polyline[^>]*points="([^"]*)"', svg)
    assert lines and len(lines[0].split()) == 29  # one point per day, empty days at 0


# -- the workspace report -----------------------------------------------------------------


def test_report_is_a_page_in_the_shared_look(report: str) -> None:
    assert report.startswith("<!doctype html>") and look.stylesheet() in report
    assert report.count("<style>") == 1 and "<script" not in report
    assert "https://" not in report and "http://" not in report.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    for svg in re.findall(r"<svg.*?</svg>", report, re.S):
        ticks = re.findall(r"<text[^>]*>\s*(-?[\d.,]+%?)\s*</text>", svg)
        assert len(ticks) >= 3, svg[:200]  # every chart has a readable axis


def test_rfm_grid_columns_all_hold_buyers(report: str, shop: tuple[Path, Path]) -> None:
    customers = pd.read_parquet(shop[1] / "customers.parquet")
    buyers = customers.dropna(subset=["f_score"])
    table = _block(report, "<h2>RFM grid</h2>")
    heads = _cells(table.split("</thead>")[0], "th")[1:]
    grid = [[int(c.replace(",", "")) for c in _cells(r)] for r in _rows(table)]
    assert grid and all(len(r) == len(heads) for r in grid)
    totals = [sum(col) for col in zip(*grid, strict=True)]
    # The raw F2 column of this shop is all zeros: ties of one order take F1, two take F3.
    assert 2 not in set(buyers["f_score"].astype(int))
    assert all(t > 0 for t in totals), dict(zip(heads, totals, strict=True))
    assert sum(totals) == len(buyers)
    # Columns named by the order counts they hold, in order, covering every buyer.
    ranges = []
    for h in heads:
        m = re.fullmatch(r"F(\d) · (\d+)(?:–(\d+))? orders?", h)
        assert m, h
        ranges.append((int(m[2]), int(m[3] or m[2])))
    for (_, hi), (lo, _) in itertools.pairwise(ranges):
        assert lo == hi + 1
    assert ranges[0][0] == buyers["orders_total"].min()
    assert ranges[-1][1] == buyers["orders_total"].max()
    for (lo, hi), total in zip(ranges, totals, strict=True):
        assert total == buyers["orders_total"].between(lo, hi).sum()


def test_lowest_quality_items_have_evidence(shop: tuple[Path, Path], tmp_path: Path) -> None:
    path = shop[1] / "item_quality.parquet"
    original = path.read_bytes()
    q = pd.read_parquet(path)
    bare = (q["reviews"].fillna(0) == 0) & (q["orders"].fillna(0) == 0)
    assert bare.any(), "the shop has items nobody reviewed or ordered"
    # A poor category's mean puts its unseen items first, as on a shop's own catalogue.
    q.loc[bare, "quality_score"] = 0.01
    q.sort_values("quality_score", kind="stable").to_parquet(path, index=False)
    try:
        with liucun.Workspace(shop[0]) as ws:
            text = workspace_report(ws, tmp_path / "r.html").read_text("utf-8")
    finally:
        path.write_bytes(original)
    table = _block(text, "Lowest quality items")
    listed = [_cells(r)[0] for r in _rows(table)]
    assert len(listed) == 20
    assert not set(listed) & set(q.loc[bare, "item_id"])
    shown = q.set_index("item_id").loc[listed]
    assert ((shown["reviews"] >= MIN_REVIEWS) | (shown["orders"] >= MIN_ORDERS)).all()
    assert f"at least {MIN_REVIEWS} review or {MIN_ORDERS} orders" in table
    weak = (q["reviews"].fillna(0) < MIN_REVIEWS) & (q["orders"].fillna(0) < MIN_ORDERS)
    assert f"{int(weak.sum())} with less are left out" in table


def test_churn_lift_by_band(report: str, shop: tuple[Path, Path]) -> None:
    dash = json.loads((shop[1] / "dashboard.json").read_text("utf-8"))
    val = dash["model"]["validation"]
    base = val["churn_rate"]
    cal = pd.DataFrame(val["calibration"])
    table = _block(report, "Churn by p_churn band")
    rows = [_cells(r) for r in _rows(table)]
    assert len(rows) == len(cal)
    for row, (_, c) in zip(rows, cal.iterrows(), strict=True):
        assert row[3] == look.percent(c["observed_rate"])
        assert row[4] == f"{c['observed_rate'] / base:.2f}×"
    lifts = [float(r[4].rstrip("×")) for r in rows]
    assert lifts[0] < 1 < lifts[-1] <= 1 / base + 0.005  # shown to two decimals
    line = html.unescape(re.search(r'<p id="churn-lift">(.*?)</p>', report).group(1))
    assert look.percent(base) in line and f"{1 / base:.2f}×" in line
    if base >= 0.5:  # most churn: the low end is where the model shows
        assert f"stayed {(1 - cal['observed_rate'].iloc[0]) / (1 - base):.2f}×" in line
    # The capture curve capped at 1 / base is gone.
    assert "Churners captured" not in report and "capture_top" not in report


def test_cohorts_scroll_and_roi_is_a_percentage(report: str, shop: tuple[Path, Path]) -> None:
    assert re.search(r'<div class="scroll"><table class="heat" id="cohort-heatmap">', report)
    dash = json.loads((shop[1] / "dashboard.json").read_text("utf-8"))
    actions = [a for r in dash["readouts"] if not r.get("error") for a in r["actions"]]
    assert any(abs(a["roi"]) > 1 for a in actions if a.get("roi") is not None)
    roi = [_cells(row)[-1] for row in _rows(_block(report, "Campaign read-outs", "<h2"))]
    # Every read-out row, in order: its ROI as on the CLI (-6,062.0%), not -60.62.
    assert roi == [look.percent(a.get("roi")) for a in actions]
