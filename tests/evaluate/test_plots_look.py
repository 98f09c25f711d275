"""The shared look on the backtest charts and pages (issue 23).

A model keeps one colour on the calibration, lift and Qini charts; every chart has axes
with tick labels and titles and a legend; money axes read ``50k``, never ``1.23e+05``;
the backtest pages are built by ``liucun.look.page`` with counts written ``3,474``, money
with separators and every table in its own scroll box.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from liucun import look
from liucun.backtests.pages import backtest_report, uplift_report
from liucun.backtests.uplift import UpliftBacktest, evaluate_scores
from liucun.evaluate import calibration_table, lift_curve, plots, qini_curve
from liucun.evaluate.plots import calibration_svg, lift_svg
from liucun.evaluate.splits import summarise_backtest
from liucun.evaluate.uplift import qini_svg

SVG = "{http://www.w3.org/2000/svg}"
MODELS = ("recency", "bgnbd", "paretonbd", "boosted")


def _stroke(svg: str, model: str) -> str:
    """The stroke colour of ``model``'s line in a chart."""
    root = ET.fromstring(svg)
    groups = [g for g in root.iter(f"{SVG}g") if g.get("data-model") == model]
    assert len(groups) == 1, f"{model}: {len(groups)} series groups"
    line = groups[0].find(f"{SVG}polyline")
    assert line is not None, model
    return str(line.get("stroke"))


def _legend_colour(svg: str, name: str) -> str:
    """The colour of the legend line just before the legend text ``name``."""
    for parent in ET.fromstring(svg).iter():
        kids = list(parent)
        for before, el in itertools.pairwise(kids):
            if el.tag == f"{SVG}text" and el.text == name and before.tag == f"{SVG}line":
                return str(before.get("stroke"))
    raise AssertionError(f"no legend row for {name}")


def _axis_texts(svg: str) -> dict[str, dict[str, list[str]]]:
    """Per axis ('x', 'y'): its tick labels and its title."""
    root = ET.fromstring(svg)
    out: dict[str, dict[str, list[str]]] = {}
    for g in root.iter(f"{SVG}g"):
        classes = (g.get("class") or "").split()
        if "axis" in classes:
            name = "x" if "x" in classes else "y"
            texts = list(g.iter(f"{SVG}text"))
            out[name] = {
                "ticks": [str(t.text) for t in texts if t.get("class") == "tick"],
                "title": [str(t.text) for t in texts if t.get("class") == "title"],
            }
    return out


@pytest.fixture(scope="module")
def churn() -> dict[str, pd.DataFrame]:
    """Churn labels and four models' scores (better models see more of the truth)."""
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=3474) < 0.3).astype(int)
    noise = {"recency": 2.0, "bgnbd": 1.0, "paretonbd": 0.8, "boosted": 0.4}
    return {
        m: pd.DataFrame({"y": y, "p": 1 / (1 + np.exp(-(2 * y - 1 + rng.normal(0, s, y.size))))})
        for m, s in noise.items()
    }


def _uplift_curves(scale: float) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(5)
    n = 4000
    x = rng.normal(size=n)
    t = rng.integers(0, 2, n)
    y = scale * (1 + t * (0.5 + x) + rng.normal(0, 1, n))
    return {
        "boosted": qini_curve(y, t, x, points=20),
        "recency": qini_curve(y, t, rng.normal(size=n), points=20),
    }


def test_a_model_keeps_its_colour_on_every_chart(churn: dict[str, pd.DataFrame]) -> None:
    cal = calibration_svg(
        {m: calibration_table(churn[m]["y"], churn[m]["p"]) for m in ("bgnbd", "boosted")}
    )
    # The other order, and another model first: a colour by position would move.
    lift = lift_svg({m: lift_curve(churn[m]["y"], churn[m]["p"]) for m in reversed(MODELS)})
    qini = qini_svg(_uplift_curves(100.0))
    for model in ("bgnbd", "boosted"):
        assert _legend_colour(cal, model) == _legend_colour(lift, model)
        assert _stroke(cal, model) == _stroke(lift, model) == look.model_color(model)
    assert _legend_colour(qini, "boosted") == _legend_colour(lift, "boosted")
    assert _stroke(qini, "boosted") == _stroke(lift, "boosted")
    assert _stroke(qini, "recency") == _stroke(lift, "recency") == look.model_color("recency")
    colours = {_stroke(lift, m) for m in MODELS}
    assert len(colours) == len(MODELS), "two backtest models share a colour"


def test_every_chart_has_axes_ticks_titles_and_a_legend(churn: dict[str, pd.DataFrame]) -> None:
    charts = {
        "calibration": calibration_svg(
            calibration_table(churn["boosted"]["y"], churn["boosted"]["p"])
        ),
        "lift": lift_svg({"boosted": lift_curve(churn["boosted"]["y"], churn["boosted"]["p"])}),
        "qini": qini_svg(_uplift_curves(1.0)),
        "empty qini": qini_svg({}),
    }
    for name, svg in charts.items():
        root = ET.fromstring(svg)
        assert "plot" in (root.get("class") or "").split(), name
        assert root.get("width") == "100%" and re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox", ""))
        axes = _axis_texts(svg)
        assert set(axes) == {"x", "y"}, name
        for axis in axes.values():
            assert len(axis["ticks"]) >= 3 and all(axis["ticks"]), name
            assert len(axis["title"]) == 1 and axis["title"][0], name
        legend = [g for g in root.iter(f"{SVG}g") if g.get("class") == "legend"]
        assert len(legend) == 1 and list(legend[0].iter(f"{SVG}text")), name


@pytest.mark.parametrize("scale", [1.0, 1_000.0, 123_456.0, 5e7])
def test_money_axes_are_round_and_never_scientific(scale: float) -> None:
    svg = qini_svg(_uplift_curves(scale))
    texts = [str(t.text) for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert not [t for t in texts if re.search(r"\de[+-]?\d", t)], texts
    ticks = _axis_texts(svg)["y"]["ticks"]
    assert not [t for t in ticks if "e" in t.lower()], ticks
    values = [v for c in _uplift_curves(scale).values() for v in c["qini"]]
    axis = plots.value_axis("y", values)
    assert list(axis.labels) == ticks
    assert axis.lo <= min(values) and axis.hi >= max(values)
    assert axis.lo <= 0 <= axis.hi and len(set(ticks)) == len(ticks)
    steps = np.diff(axis.ticks)
    assert np.allclose(steps, steps[0])
    # A round step (1, 2 or 5 times a power of ten) and labels as look.money writes them.
    mantissa = steps[0] / 10 ** np.floor(np.log10(steps[0]))
    assert round(float(mantissa), 9) in (1.0, 2.0, 5.0)
    if steps[0] >= 1:
        assert ticks == [look.money(t, short=True) for t in axis.ticks]


def test_value_axis_labels() -> None:
    big = plots.value_axis("money", [0.0, 123_456.0])
    assert big.labels[-1] == "150k" and big.labels[0] == "0"
    assert plots.value_axis("money", [-52_000.0, 18_000.0]).labels[0] == "-60k"
    assert plots.value_axis("money", [0.0, 2.4e6]).labels[-2:] == ("2M", "2.5M")
    small = plots.value_axis("orders", [0.0, 0.37])
    assert small.labels == ("0.0", "0.1", "0.2", "0.3", "0.4")
    assert plots.value_axis("orders", [0.0, 0.037]).labels[1] == "0.01"


def _churn_result(churn: dict[str, pd.DataFrame]) -> dict[str, object]:
    cutoffs = [dt.date(2024, 8, 1), dt.date(2024, 9, 1)]
    rows = [
        {"cutoff": c.isoformat(), "model": m, "customers": 3474, "roc_auc": 0.7 + i / 100}
        for c in cutoffs
        for i, m in enumerate(MODELS)
    ]
    return {
        "horizon_days": 60,
        "cutoffs": [c.isoformat() for c in cutoffs],
        "per_cutoff": pd.DataFrame(rows),
        "summary": summarise_backtest(rows),  # customers becomes a float mean here
        "calibration": {
            m: calibration_table(churn[m]["y"], churn[m]["p"]) for m in MODELS if m != "recency"
        },
        "lift": {m: lift_curve(churn[m]["y"], churn[m]["p"]) for m in MODELS},
        "notes": ["a note <with> markup"],
    }


def test_backtest_page_reads_well(churn: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    result = _churn_result(churn)
    text = backtest_report(result, tmp_path / "bt.html").read_text(encoding="utf-8")
    assert "3474.0" not in text and ">3,474<" in text
    assert text.startswith("<!doctype html>") and look.stylesheet() in text
    assert '<body class="doc">' in text
    assert "0.700" in text and "0.7000" not in text
    for m in MODELS:
        assert f"<td>{m}</td>" in text
        assert f"--model:{look.model_color(m)}" in text
    tables = re.findall(r"<table[^>]*>", text)
    wrapped = re.findall(r'<div class="scroll(?: tall)?"><table class="(?:data|kv)">', text)
    assert len(tables) == len(wrapped) >= 3
    assert "a note &lt;with&gt; markup" in text
    assert text.count("<svg") == 2 and "e+" not in text


def test_uplift_page_reads_well(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n = 2500
    x = rng.normal(size=n)
    treatment = rng.choice(["control", "voucher", "call"], n)
    treated = treatment != "control"
    test = pd.DataFrame(
        {
            "treatment": treatment,
            "net_revenue": 800 * (1 + treated * (0.3 + x) + rng.normal(0, 1, n)),
            "orders_window": rng.poisson(1 + 0.3 * treated * (x > 0)),
        }
    )
    rows, deciles, curves = [], [], {}
    for model in ("planner", "t_learner"):
        scores = pd.DataFrame({"voucher": x + rng.normal(0, 0.5, n), "call": rng.normal(size=n)})
        r, d, c = evaluate_scores(scores, test, model)
        rows += r
        deciles += d
        for key, curve in c.items():
            curves.setdefault(key, {})[model] = curve
    bt = UpliftBacktest(
        table=pd.DataFrame(rows),
        deciles=pd.concat(deciles, ignore_index=True),
        curves=curves,
        train_campaigns=["cmp-1", "cmp-2"],
        test_campaigns=["cmp-3"],
        outcome={"net_revenue_h": "paid revenue over 60 days", "orders_window": "orders"},
        as_of=dt.date(2024, 11, 26),
        horizon=60,
        window_days=14,
        first_test_day=dt.date(2024, 9, 1),
        train_contacts=12_345,
        test_contacts=n,
    )
    bt.table.loc[:1, "qini"] = -1e-4  # rounds to zero: no "-0.00" / "-0.000"
    text = uplift_report(bt, tmp_path / "u.html").read_text(encoding="utf-8")
    assert not re.search(r">-0\.0+<", text) and re.search(r">0\.000?<", text)
    assert text.startswith("<!doctype html>") and look.stylesheet() in text
    assert "12,345 contacts" in text and "2,500 contacts" in text
    n_control = int((treatment == "control").sum())
    assert f'<td class="n">{n_control:,}</td>' in text
    money = bt.table.loc[bt.table["outcome"] == "net_revenue_h", "observed_uplift"].iloc[0]
    assert f'<td class="n">{look.money(money, 2)}</td>' in text
    assert text.count("<svg") == len(curves) == 4
    assert "e+" not in text and "e-0" not in text
    for model in ("planner", "t_learner"):
        assert f"--model:{look.model_color(model)}" in text
    tables = re.findall(r"<table[^>]*>", text)
    assert len(tables) == len(re.findall(r'<div class="scroll(?: tall)?"><table ', text))
