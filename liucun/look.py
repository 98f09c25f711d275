"""One look for everything a person reads: the dashboard, the report and the backtest pages.

The stylesheet (``look.css``) is served to the dashboard as ``/static/dashboard.css`` and
inlined into the self-contained HTML files; a model keeps one colour on every chart; money
and counts are written the same way everywhere (no scientific notation, no "3474.000").
"""

from __future__ import annotations

import html
import math
import zlib
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "MODEL_COLORS",
    "count",
    "model_color",
    "money",
    "page",
    "percent",
    "points",
    "stylesheet",
]

# Fixed colours for the names liucun draws; any other name gets a stable one from PALETTE.
MODEL_COLORS: dict[str, str] = {
    "liucun": "#c0392b",
    "boosted": "#c0392b",
    "p_churn": "#c0392b",
    "planner": "#c0392b",
    "plan": "#c0392b",
    "uplift": "#c0392b",
    "lift": "#c0392b",
    "pareto_nbd": "#1f77b4",
    "paretonbd": "#1f77b4",
    "bg_nbd": "#2ca02c",
    "bgnbd": "#2ca02c",
    "t_learner": "#9467bd",
    "dr_learner": "#8c564b",
    "recency": "#ff7f0e",
    "rfm": "#9467bd",
    "logistic": "#8c564b",
    "risk": "#ff7f0e",
    "risk targeting": "#ff7f0e",
    "random": "#7f7f7f",
    "oracle": "#17becf",
    "truth": "#17becf",
    "popular": "#7f7f7f",
}
PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")


@cache
def stylesheet() -> str:
    """The shared CSS text (package data beside this module)."""
    return resources.files("liucun").joinpath("look.css").read_text(encoding="utf-8")


def model_color(name: str) -> str:
    """The colour of a model (or policy) by name: the same in every chart and page."""
    key = str(name).strip().lower()
    if key in MODEL_COLORS:
        return MODEL_COLORS[key]
    return PALETTE[zlib.crc32(key.encode("utf-8")) % len(PALETTE)]


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def money(v: Any, digits: int = 0, short: bool = False) -> str:
    """Money as people write it: ``12,345`` or ``-1,204.50``; ``short`` gives ``12.3k``/``4.5M``
    for chart axes. Missing values are "–"."""
    f = _finite(v)
    if f is None:
        return "–"
    if short:
        for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(f) >= size:
                return f"{f / size:,.1f}{unit}".replace(".0" + unit, unit)
        return f"{f:,.0f}" if abs(f) >= 10 or f == int(f) else f"{f:,.1f}"
    return f"{f:,.{digits}f}"


def count(v: Any) -> str:
    """A count of customers, orders, rows: a whole number with thousands separators."""
    f = _finite(v)
    return "–" if f is None else f"{round(f):,}"


def percent(v: Any, digits: int = 1) -> str:
    """A share or ratio (0.25) as a percentage ("25.0%"): ROI and rates read the same way."""
    f = _finite(v)
    return "–" if f is None else f"{f * 100:,.{digits}f}%"


def points(v: Any, digits: int = 2) -> str:
    """A difference of two rates (0.01) in percentage points ("+1.00 pp"), never "%"."""
    f = _finite(v)
    return "–" if f is None else f"{f * 100:+,.{digits}f} pp"


def page(title: str, body: str, lang: str = "en") -> str:
    """A self-contained HTML page (no external assets) in the shared look."""
    return (
        f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{stylesheet()}</style></head>"
        f'<body class="doc"><main>{body}</main></body></html>'
    )
