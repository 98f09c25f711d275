"""Inline SVG charts for backtest reports, with no plotting dependency.

Reports are single HTML files; hand-built SVG keeps them small, offline and free of
matplotlib. Both charts are on the unit square, so one renderer serves them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import pandas as pd

__all__ = ["calibration_svg", "lift_svg"]

WIDTH, HEIGHT = 460, 300
LEFT, TOP, PLOT = 50, 20, 230  # plot area: a PLOT x PLOT square
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
TICKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

Series = Sequence[tuple[float, float]]


def _x(v: float) -> float:
    return LEFT + max(0.0, min(1.0, v)) * PLOT


def _y(v: float) -> float:
    return TOP + (1 - max(0.0, min(1.0, v))) * PLOT


def _points(xs: pd.Series, ys: pd.Series) -> list[tuple[float, float]]:
    pairs = zip(xs.astype(float), ys.astype(float), strict=True)
    return [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]


def _chart(
    series: Mapping[str, Series], title: str, xlabel: str, ylabel: str, diagonal: str, dots: bool
) -> str:
    """Axes, ticks, grid, a dashed reference diagonal, one line per series and a legend."""
    e = html.escape
    bottom, right = TOP + PLOT, LEFT + PLOT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11" role="img">',
        f"<title>{e(title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{PLOT}" height="{PLOT}" fill="white" stroke="#999"/>',
    ]
    for t in TICKS:
        x, y = _x(t), _y(t)
        parts += [
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}" stroke="#eee"/>',
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#eee"/>',
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#333"/>',
            f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{LEFT}" y2="{y:.1f}" stroke="#333"/>',
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{t:.1f}</text>',
            f'<text x="{LEFT - 7}" y="{y + 4:.1f}" text-anchor="end">{t:.1f}</text>',
        ]
    parts += [
        f'<text x="{LEFT + PLOT / 2}" y="{bottom + 34}" text-anchor="middle">{e(xlabel)}</text>',
        f'<text x="14" y="{TOP + PLOT / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + PLOT / 2})">{e(ylabel)}</text>',
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{TOP}" stroke="#777" '
        f'stroke-dasharray="4 3"/>',
    ]
    legend = [(diagonal, "#777", True)]
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        legend.append((name, color, False))
        coords = " ".join(f"{_x(x):.1f},{_y(y):.1f}" for x, y in pts)
        if coords:
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        if dots:
            parts += [
                f'<circle cx="{_x(x):.1f}" cy="{_y(y):.1f}" r="2.5" fill="{color}"/>'
                for x, y in pts
            ]
    parts += legend_svg(legend)
    parts.append("</svg>")
    return "\n".join(parts)


def legend_svg(entries: Sequence[tuple[str, str, bool]]) -> list[str]:
    """Legend rows (name, colour, dashed) right of the plot area."""
    lx = LEFT + PLOT + 20
    parts = []
    for j, (name, color, dashed) in enumerate(entries):
        ly = TOP + 10 + 18 * j
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        parts += [
            f'<line x1="{lx}" y1="{ly}" x2="{lx + 20}" y2="{ly}" stroke="{color}" '
            f'stroke-width="2"{dash}/>',
            f'<text x="{lx + 26}" y="{ly + 4}">{html.escape(str(name))}</text>',
        ]
    return parts


def calibration_svg(
    table: pd.DataFrame | Mapping[str, pd.DataFrame], title: str = "Calibration"
) -> str:
    """Observed rate vs mean prediction per bin (``calibration_table`` output), one per model.

    Points on the diagonal are calibrated; above it the model under-predicts.
    """
    tables = {"model": table} if isinstance(table, pd.DataFrame) else dict(table)
    series = {name: _points(t["p_mean"], t["observed_rate"]) for name, t in tables.items()}
    return _chart(series, title, "mean predicted", "observed rate", "perfect", dots=True)


def lift_svg(curves: Mapping[str, pd.DataFrame], title: str = "Cumulative capture") -> str:
    """Share of positives captured vs share of customers contacted (``lift_curve`` output).

    The dashed diagonal is random targeting; the higher a curve bows above it, the better.
    """
    series = {
        name: [(0.0, 0.0), *_points(c["fraction"], c["capture"])] for name, c in curves.items()
    }
    return _chart(
        series, title, "share of customers (by score)", "share of positives", "random", dots=False
    )
