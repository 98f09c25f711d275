"""Inline SVG charts for the backtest pages and the report, with no plotting dependency.

Pages are single HTML files; hand-built SVG keeps them small, offline and free of
matplotlib. One renderer (:func:`line_chart`) draws every chart in the shared look of
:mod:`liucun.look`: axes with tick labels and titles (``<g class="axis">``), a legend, one
colour per model name (:func:`liucun.look.model_color`, so a model reads the same on the
calibration, lift and Qini charts) and a ``viewBox`` at ``width="100%"`` so a chart shrinks
with its column instead of overflowing the page. Value axes get round ticks written like
money (``12.5k``, ``1.2M``), never in scientific notation.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from liucun.look import model_color, money

__all__ = [
    "Axis",
    "calibration_svg",
    "legend_svg",
    "lift_svg",
    "line_chart",
    "unit_axis",
    "value_axis",
]

LEFT, TOP, PLOT_W, PLOT_H = 76, 14, 260, 240  # plot area, in viewBox units
LEGEND_X = LEFT + PLOT_W + 20
WIDTH = LEGEND_X + 170
HEIGHT = TOP + PLOT_H + 48  # room below for tick labels and the x-axis title
ROW = 18  # legend row height
LEGEND_CHARS = 24  # longer names are cut (the full name stays in the row's <title>)
MAX_WIDTH_PX = 620  # a chart never grows past this on a wide page (text stays ~13 px)
REFERENCE = "#777"
TICKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

Series = Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Axis:
    """One axis: its title, the range drawn and the labelled ticks inside it."""

    title: str
    lo: float
    hi: float
    ticks: tuple[float, ...]
    labels: tuple[str, ...]


def unit_axis(title: str) -> Axis:
    """A share or probability axis from 0 to 1, ticked every 0.2."""
    return Axis(title, 0.0, 1.0, TICKS, tuple(f"{t:.1f}" for t in TICKS))


def _step(span: float, target: int) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``target`` ticks."""
    raw = span / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * (1 - 1e-9))


def _labels(ticks: Sequence[float], step: float) -> tuple[str, ...]:
    """Tick labels: ``12.5k`` style at steps of 1 or more (full digits when the short form
    would repeat a label), fixed decimals below; never scientific notation."""
    if step >= 1:
        short = tuple(money(t, short=True) for t in ticks)
        return short if len(set(short)) == len(short) else tuple(money(t) for t in ticks)
    digits = math.ceil(-math.log10(step) - 1e-9)
    out = []
    for t in ticks:
        s = f"{t:,.{digits}f}"
        out.append(s[1:] if s.startswith("-") and float(s.replace(",", "")) == 0 else s)
    return tuple(out)


def value_axis(title: str, values: Sequence[float], target: int = 5) -> Axis:
    """An axis over ``values`` and 0 (money or counts) with round ticks at both ends."""
    finite = [float(v) for v in values if math.isfinite(float(v))]
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    if hi - lo <= 0:
        hi = lo + 1.0
    step = _step(hi - lo, target)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = tuple(float(round(i * step, 12)) + 0.0 for i in range(first, last + 1))
    return Axis(title, ticks[0], ticks[-1], ticks, _labels(ticks, step))


def _px(axis: Axis, v: float, start: float, length: float, flip: bool) -> float:
    share = (min(max(v, axis.lo), axis.hi) - axis.lo) / (axis.hi - axis.lo)
    return start + ((1 - share) if flip else share) * length


def _short(name: str) -> str:
    return name if len(name) <= LEGEND_CHARS else name[: LEGEND_CHARS - 1] + "…"


def legend_svg(entries: Sequence[tuple[str, str, bool]]) -> list[str]:
    """Legend rows (name, colour, dashed) right of the plot area, in ``<g class="legend">``."""
    parts = ['<g class="legend">']
    for j, (name, color, dashed) in enumerate(entries):
        ly = TOP + 10 + ROW * j
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        label = str(name)
        parts += [
            f"<g><title>{html.escape(label)}</title>",
            f'<line x1="{LEGEND_X}" y1="{ly}" x2="{LEGEND_X + 22}" y2="{ly}" stroke="{color}" '
            f'stroke-width="2.5"{dash}/>',
            f'<text x="{LEGEND_X + 28}" y="{ly + 4}">{html.escape(_short(label))}</text></g>',
        ]
    parts.append("</g>")
    return parts


def _axes(x: Axis, y: Axis) -> list[str]:
    """Grid, both axes with ticks, tick labels and titles, and the zero line if inside."""
    e = html.escape
    bottom, right = TOP + PLOT_H, LEFT + PLOT_W
    grid, xa, ya = ['<g class="grid">'], ['<g class="axis x">'], ['<g class="axis y">']
    for t, label in zip(x.ticks, x.labels, strict=True):
        px = _px(x, t, LEFT, PLOT_W, flip=False)
        grid.append(f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{bottom}"/>')
        xa += [
            f'<line x1="{px:.1f}" y1="{bottom}" x2="{px:.1f}" y2="{bottom + 4}"/>',
            f'<text class="tick" x="{px:.1f}" y="{bottom + 16}" text-anchor="middle">'
            f"{e(label)}</text>",
        ]
    for t, label in zip(y.ticks, y.labels, strict=True):
        py = _px(y, t, TOP, PLOT_H, flip=True)
        grid.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{right}" y2="{py:.1f}"/>')
        ya += [
            f'<line x1="{LEFT - 4}" y1="{py:.1f}" x2="{LEFT}" y2="{py:.1f}"/>',
            f'<text class="tick" x="{LEFT - 7}" y="{py + 4:.1f}" text-anchor="end">'
            f"{e(label)}</text>",
        ]
    mid_y = TOP + PLOT_H / 2
    xa += [
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
        f'<text class="title" x="{LEFT + PLOT_W / 2}" y="{bottom + 36}" text-anchor="middle">'
        f"{e(x.title)}</text>",
        "</g>",
    ]
    ya += [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>',
        f'<text class="title" x="14" y="{mid_y}" text-anchor="middle" '
        f'transform="rotate(-90 14 {mid_y})">{e(y.title)}</text>',
        "</g>",
    ]
    if y.lo < 0 < y.hi:
        z = _px(y, 0.0, TOP, PLOT_H, flip=True)
        grid.append(f'<line class="zero" x1="{LEFT}" y1="{z:.1f}" x2="{right}" y2="{z:.1f}"/>')
    grid.append("</g>")
    return [*grid, *xa, *ya]


def line_chart(
    series: Mapping[str, Series],
    title: str,
    x: Axis,
    y: Axis,
    references: Mapping[str, Sequence[Series]] | None = None,
    dots: bool = False,
) -> str:
    """An SVG line chart: one solid line per series in its model colour, dashed grey
    reference lines (one legend row per name), axes, grid and legend."""
    e = html.escape

    def coords(pts: Series) -> str:
        return " ".join(
            f"{_px(x, a, LEFT, PLOT_W, False):.1f},{_px(y, b, TOP, PLOT_H, True):.1f}"
            for a, b in pts
            if math.isfinite(a) and math.isfinite(b)
        )

    legend: list[tuple[str, str, bool]] = []
    height = max(HEIGHT, TOP + 10 + ROW * (len(series) + len(references or {})))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" style="max-width:{MAX_WIDTH_PX}px" preserveAspectRatio="xMinYMin meet" '
        'font-family="system-ui, sans-serif" font-size="11" role="img">',
        f"<title>{e(title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="white"/>',
        *_axes(x, y),
    ]
    for name, lines in (references or {}).items():
        legend.append((name, REFERENCE, True))
        parts.append(f'<g class="reference" data-name="{e(str(name))}">')
        parts += [
            f'<polyline points="{c}" fill="none" stroke="{REFERENCE}" stroke-dasharray="4 3"/>'
            for c in map(coords, lines)
            if c
        ]
        parts.append("</g>")
    for name, pts in series.items():
        color = model_color(str(name))
        legend.append((str(name), color, False))
        parts.append(f'<g class="series" data-model="{e(str(name))}">')
        line = coords(pts)
        if line:
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        if dots:
            parts += [
                f'<circle cx="{_px(x, a, LEFT, PLOT_W, False):.1f}" '
                f'cy="{_px(y, b, TOP, PLOT_H, True):.1f}" r="2.5" fill="{color}"/>'
                for a, b in pts
                if math.isfinite(a) and math.isfinite(b)
            ]
        parts.append("</g>")
    parts += legend_svg(legend)
    parts.append("</svg>")
    return "\n".join(parts)


def _points(xs: pd.Series, ys: pd.Series) -> list[tuple[float, float]]:
    pairs = zip(xs.astype(float), ys.astype(float), strict=True)
    return [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]


def calibration_svg(
    table: pd.DataFrame | Mapping[str, pd.DataFrame], title: str = "Calibration"
) -> str:
    """Observed rate vs mean prediction per bin (``calibration_table`` output), one per model.

    Points on the diagonal are calibrated; above it the model under-predicts.
    """
    tables = {"model": table} if isinstance(table, pd.DataFrame) else dict(table)
    series = {name: _points(t["p_mean"], t["observed_rate"]) for name, t in tables.items()}
    diagonal = {"perfect": [[(0.0, 0.0), (1.0, 1.0)]]}
    x, y = unit_axis("mean predicted"), unit_axis("observed rate")
    return line_chart(series, title, x, y, references=diagonal, dots=True)


def lift_svg(curves: Mapping[str, pd.DataFrame], title: str = "Cumulative capture") -> str:
    """Share of positives captured vs share of customers contacted (``lift_curve`` output).

    The dashed diagonal is random targeting; the higher a curve bows above it, the better.
    """
    series = {
        name: [(0.0, 0.0), *_points(c["fraction"], c["capture"])] for name, c in curves.items()
    }
    diagonal = {"random": [[(0.0, 0.0), (1.0, 1.0)]]}
    x, y = unit_axis("share of customers (by score)"), unit_axis("share of positives")
    return line_chart(series, title, x, y, references=diagonal)
